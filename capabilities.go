package dropout

import (
	"fmt"
	"slices"
	"strings"
)

// Capabilities describe what a backend can do on one device, so that
// programs (and `dropout verify` and `dropout bench`) ask instead of
// trying: a DeviceInfo carries them, from Driver.Devices before opening as
// from Backend.Device after.
//
// Operations beyond Forward, Backward and Copy arrive as optional
// interfaces that a Backend may implement, checked with a type assertion
// the way io.WriterTo is; Capabilities say whether the device can run them.
type Capabilities struct {
	// DTypes are the data types Forward and Backward take.
	DTypes []DType
	// MaskFormats are the mask formats Forward writes and Backward reads.
	MaskFormats []MaskFormat
	// NoiseShape reports whether a mask may be broadcast over the tensor.
	NoiseShape bool
	// Alpha reports whether the device runs alpha dropout (Params.Alpha).
	Alpha bool
	// Fused reports whether the backend runs the fused bias + dropout +
	// residual op (it implements Fuser; see ForwardFused).
	Fused bool
	// Regions reports whether the backend runs calls over a block of a
	// larger tensor (Params.Global and Params.Start).
	Regions bool
	// MaxElements is the largest tensor one call takes, 0 for no limit
	// beyond memory.
	MaxElements int64
	// Foreign reports whether the backend can wrap the caller's own
	// device objects (contexts, queues, buffers).
	Foreign bool
}

// Supports reports whether the device runs a call over tensors of dt with
// the given mask format, noise shape (broadcast) and alpha dropout; when it
// does not, reason says why in a user's words.
func (c Capabilities) Supports(dt DType, f MaskFormat, broadcast, alpha bool) (ok bool, reason string) {
	switch {
	case !slices.Contains(c.DTypes, dt):
		return false, fmt.Sprintf("%v data is not supported (the device takes %s)", dt, joinTypes(c.DTypes))
	case !slices.Contains(c.MaskFormats, f):
		return false, fmt.Sprintf("the %v mask format is not supported", f)
	case broadcast && !c.NoiseShape:
		return false, "noise shapes are not supported"
	case alpha && !c.Alpha:
		return false, "alpha dropout is not supported"
	}
	return true, ""
}

// String lists the capabilities in one line, as `dropout devices` prints
// them.
func (c Capabilities) String() string {
	var parts []string
	parts = append(parts, "dtypes "+joinTypes(c.DTypes))
	masks := make([]string, len(c.MaskFormats))
	for i, f := range c.MaskFormats {
		masks[i] = f.String()
	}
	parts = append(parts, "masks "+strings.Join(masks, ","))
	var ops []string
	if c.NoiseShape {
		ops = append(ops, "noise-shape")
	}
	if c.Alpha {
		ops = append(ops, "alpha")
	}
	if c.Fused {
		ops = append(ops, "fused")
	}
	if c.Regions {
		ops = append(ops, "regions")
	}
	if c.Foreign {
		ops = append(ops, "foreign-objects")
	}
	if len(ops) > 0 {
		parts = append(parts, strings.Join(ops, ","))
	}
	if c.MaxElements > 0 {
		parts = append(parts, fmt.Sprintf("max %d elements", c.MaxElements))
	}
	return strings.Join(parts, "; ")
}

func joinTypes(ts []DType) string {
	if len(ts) == 0 {
		return "none"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ",")
}

// AllMaskFormats returns the mask formats every backend of this module
// writes and reads (a new slice each time).
func AllMaskFormats() []MaskFormat { return []MaskFormat{MaskNone, MaskBits, MaskBytes} }
