package dropout

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this module wrap one of these, so
// callers can test the kind of failure with errors.Is.
var (
	// ErrP reports a drop probability outside [0, 1] or NaN.
	ErrP = errors.New("dropout: p must be in [0, 1]")
	// ErrLength reports tensors whose lengths disagree.
	ErrLength = errors.New("dropout: length mismatch")
	// ErrShape reports a malformed shape or noise shape.
	ErrShape = errors.New("dropout: bad shape")
	// ErrDType reports a data type that the call or backend does not support.
	ErrDType = errors.New("dropout: unsupported dtype")
	// ErrMaskFormat reports an unknown mask format or a mask tensor that does
	// not fit its format.
	ErrMaskFormat = errors.New("dropout: bad mask")
	// ErrUnknownBackend reports a backend name that no driver has.
	ErrUnknownBackend = errors.New("dropout: unknown backend")
	// ErrUnavailable reports a backend or device that this machine lacks.
	ErrUnavailable = errors.New("dropout: backend unavailable")
	// ErrClosed reports use of a closed backend, or of a buffer of a closed
	// backend.
	ErrClosed = errors.New("dropout: backend closed")
	// ErrReleased reports use of a buffer after its Release: as an operand
	// of Forward, Backward or Copy, or through its Read or Write.
	ErrReleased = errors.New("dropout: buffer released")
	// ErrOutOfMemory reports an allocation that the device, or for host
	// memory the machine or its cgroup, cannot give. The message names the
	// bytes wanted and the bytes available.
	ErrOutOfMemory = errors.New("dropout: out of memory")
	// ErrUnsupported reports a feature a backend does not implement yet.
	ErrUnsupported = errors.New("dropout: not supported by this backend")
	// ErrForeignBuffer reports a Buffer passed to a backend that did not make it.
	ErrForeignBuffer = errors.New("dropout: buffer belongs to another backend")
	// ErrOverlap reports operands of one call that share memory without
	// being the same tensor: tensors of a call are either exactly the same
	// (dst and x of an in-place call) or disjoint, as views and host slices
	// may otherwise overlap in part.
	ErrOverlap = errors.New("dropout: tensors overlap")
)

// UnavailableError says why a backend cannot be used here and what would fix
// it. It matches ErrUnavailable under errors.Is.
type UnavailableError struct {
	Backend string // registry name, such as "opencl"
	Reason  string // what is missing, in a user's words
	Fix     string // what would fix it, such as a package to install; may be empty
	Err     error  // the underlying error, if any
}

func (e *UnavailableError) Error() string {
	s := fmt.Sprintf("dropout: backend %s unavailable: %s", e.Backend, e.Reason)
	if e.Fix != "" {
		s += " (" + e.Fix + ")"
	}
	return s
}

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }
