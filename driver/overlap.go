package driver

import (
	"fmt"
	"unsafe"

	"github.com/gpudropout/dropout"
)

// Extent is where a tensor lies: the allocation it is part of and the
// bytes [Lo, Hi) it covers there. Two tensors share memory iff their Mems
// are equal and their byte ranges intersect.
type Extent struct {
	// Mem identifies the allocation and must be comparable: a device
	// buffer's root, say; host tensors all have one Mem of this package's,
	// and addresses as Lo and Hi.
	Mem    any
	Lo, Hi int64
}

// hostMem is the Mem of every host tensor's Extent: host memory is one
// address space.
type hostMem struct{}

// Extenter is a buffer that can say where it lies, so that CheckOverlap
// sees two views of one device allocation share memory. Host tensors and
// host buffers (NewHostBuffer, HostMemory) need not implement it.
type Extenter interface {
	// Extent returns the buffer's extent, or false where it has none (a
	// released buffer, whose use the call reports by itself).
	Extent() (Extent, bool)
}

// TensorExtent returns the extent of t: the memory of a host tensor or live
// host buffer, or an Extenter's; false for anything else, and for an empty
// tensor, which shares memory with nothing.
func TensorExtent(t dropout.Tensor) (Extent, bool) {
	if t == nil || t.Len() == 0 {
		return Extent{}, false
	}
	if e, ok := t.(Extenter); ok {
		return e.Extent()
	}
	b, ok := RawBytes(t)
	if !ok || len(b) == 0 {
		return Extent{}, false
	}
	lo := int64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	return Extent{Mem: hostMem{}, Lo: lo, Hi: lo + int64(len(b))}, true
}

// CheckOverlap checks that the tensors ts of one call, named by names (in
// the same order), are pairwise either the same tensor exactly (the same
// memory, bytes and type: dst and x of an in-place call) or disjoint, and
// otherwise returns an error wrapping dropout.ErrOverlap that names both
// and their byte ranges. Nil and empty tensors, and tensors whose extent
// is unknown (TensorExtent), are skipped. NewPlan and NewFusedPlan call
// it; a backend's Copy may too.
func CheckOverlap(names []string, ts []dropout.Tensor) error {
	var ext [8]Extent
	var ok [8]bool
	if len(ts) > len(ext) {
		return fmt.Errorf("%w: CheckOverlap of %d tensors", dropout.ErrUnsupported, len(ts))
	}
	for i, t := range ts {
		ext[i], ok[i] = TensorExtent(t)
	}
	for i := range ts {
		for j := i + 1; j < len(ts); j++ {
			a, b := ext[i], ext[j]
			if !ok[i] || !ok[j] || a.Mem != b.Mem || a.Hi <= b.Lo || b.Hi <= a.Lo {
				continue
			}
			if a == b && ts[i].DType() == ts[j].DType() {
				continue // the same tensor
			}
			where := "host memory"
			if _, host := a.Mem.(hostMem); host {
				base := min(a.Lo, b.Lo) // addresses mean nothing to the reader
				a.Lo, a.Hi, b.Lo, b.Hi = a.Lo-base, a.Hi-base, b.Lo-base, b.Hi-base
			} else {
				where = "one allocation"
			}
			return fmt.Errorf("%w: %s (%v[%d], bytes [%d, %d)) and %s (%v[%d], bytes [%d, %d)) share %s without being the same tensor",
				dropout.ErrOverlap, names[i], ts[i].DType(), ts[i].Len(), a.Lo, a.Hi,
				names[j], ts[j].DType(), ts[j].Len(), b.Lo, b.Hi, where)
		}
	}
	return nil
}
