//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// TestMapHost checks calls on large host tensors on lavapipe, whose memory
// is the host's: tensors that start on exec.MapAlign bytes are imported in
// place (VK_EXT_external_memory_host, counted by the device), at any
// offset in their pages, others staged; both match the reference bit for
// bit, in place and not, with every mask format, under the validation
// layer, and no byte around the tensors changes.
func TestMapHost(t *testing.T) {
	b := openTest(t, dropout.Options{})
	if !b.dev.info.HostMemory {
		t.Skip("not a host-memory device")
	}
	if _, ok := b.dev.execDevice().(exec.HostMapper); !ok {
		t.Fatalf("%s: no %s: host tensors are staged", b.dev.info.Name, "VK_EXT_external_memory_host")
	}
	if a := b.dev.m.Phys.HostImportAlign; a == 0 || a&(a-1) != 0 {
		t.Fatalf("minImportedHostPointerAlignment %d", a)
	}
	ref := cpu.NewReference()
	const n, guard = 1<<16 + 64, 64 // elements of the tensors, and of sentinels either side
	for _, c := range []struct {
		f    dropout.MaskFormat
		skip int  // float32 elements cut from the front of the host slices (moving them in their pages)
		maps bool // whether the call maps
	}{
		{dropout.MaskNone, 0, true}, {dropout.MaskBits, 0, true}, {dropout.MaskBytes, 0, true},
		{dropout.MaskNone, 32, true}, {dropout.MaskBytes, 1056, true}, // 128 bytes into the first or second page
		{dropout.MaskBits, 1, false}, {dropout.MaskBytes, 3, false},
	} {
		name := fmt.Sprintf("%v/skip%d", c.f, c.skip)
		xs := dropouttest.Data(dropout.Float32, c.skip+n+guard, 3).(dropout.Float32s)
		ys := make(dropout.Float32s, c.skip+n+guard)
		for i := range ys {
			ys[i] = float32(i) - 0.5
		}
		x, y := xs[c.skip:c.skip+n], ys[c.skip:c.skip+n]
		yWant := slices.Clone(ys)
		if uintptr(unsafe.Pointer(&x[0]))%exec.MapAlign == 0 != c.maps {
			t.Fatalf("%s: x at %p", name, &x[0])
		}
		wy := make(dropout.Float32s, n)
		p := dropout.Params{P: 0.3, Seed: 11, Offset: 1<<64 - 1000, Mask: c.f}
		var m, wm dropout.Tensor
		var ms dropout.Bytes
		if c.f != dropout.MaskNone {
			ms = dropouttest.NewMask(c.f, c.skip*4+n+guard).(dropout.Bytes)
			m, wm = ms[c.skip*4:c.skip*4+c.f.Bytes(n)], dropouttest.NewMask(c.f, n)
		}
		msWant := slices.Clone(ms)
		before := b.dev.imports.Load()
		if err := errors.Join(b.Forward(y, x, m, p), ref.Forward(wy, x, wm, p)); err != nil {
			t.Fatal(err)
		}
		want := int64(0) // x, y and a byte mask (a bit mask is under exec.MinMapBytes)
		if c.maps {
			want = 2
			if c.f == dropout.MaskBytes {
				want++
			}
		}
		if got := b.dev.imports.Load() - before; got != want {
			t.Errorf("%s: forward imported %d host tensors, want %d", name, got, want)
		}
		err := dropouttest.Equal(y, wy)
		if m != nil {
			err = errors.Join(err, dropouttest.Equal(m, wm))
		}
		if err != nil {
			t.Errorf("%s: forward: %v", name, err)
		}
		before = b.dev.imports.Load()
		if err := errors.Join(b.Backward(y, y, m, p), ref.Backward(wy, wy, wm, p)); err != nil {
			t.Fatal(err)
		}
		if want > 0 {
			want-- // y in place of x: one import
		}
		if got := b.dev.imports.Load() - before; got != want {
			t.Errorf("%s: backward imported %d host tensors, want %d", name, got, want)
		}
		if err := dropouttest.Equal(y, wy); err != nil {
			t.Errorf("%s: backward in place: %v", name, err)
		}
		if !slices.Equal(ys[:c.skip], yWant[:c.skip]) || !slices.Equal(ys[c.skip+n:], yWant[c.skip+n:]) {
			t.Errorf("%s: bytes around dst changed", name)
		}
		if ms != nil {
			k := c.skip*4 + c.f.Bytes(n)
			if !slices.Equal(ms[:c.skip*4], msWant[:c.skip*4]) || !slices.Equal(ms[k:], msWant[k:]) {
				t.Errorf("%s: bytes around the mask changed", name)
			}
		}
	}
}

// TestMapHost16 checks 16-bit host tensors on lavapipe, whose shaders read
// and write 16-bit data in whole 32-bit words (exec.Info.WordData): an
// even length is used in place, and an odd one, whose last word is half
// another object's, is staged (the executor does not map it); both match
// the reference, with the elements after dst intact.
func TestMapHost16(t *testing.T) {
	b := openTest(t, dropout.Options{})
	if _, ok := b.dev.execDevice().(exec.HostMapper); !ok {
		t.Skip("host tensors are staged")
	}
	ref := cpu.NewReference()
	for _, dt := range []dropout.DType{dropout.Float16, dropout.BFloat16} {
		for _, n := range []int{1 << 16, 1<<16 + 1} {
			name := fmt.Sprintf("%v/%d", dt, n)
			xs := dropouttest.Data(dt, n+8, 5)
			ys := dropouttest.Data(dt, n+8, 6)
			x, y := slice16(xs, n), slice16(ys, n)
			tail := slices.Clone(hostBytes(ys)[2*n:])
			wy := dropouttest.Data(dt, n, 7)
			p := dropout.Params{P: 0.4, Seed: 5, Offset: 77, Mask: dropout.MaskBytes}
			m, wm := dropouttest.NewMask(dropout.MaskBytes, n), dropouttest.NewMask(dropout.MaskBytes, n)
			before := b.dev.imports.Load()
			if err := errors.Join(b.Forward(y, x, m, p), ref.Forward(wy, x, wm, p)); err != nil {
				t.Fatal(err)
			}
			want := int64(3) // x, y and the mask in place; of odd length, all staged
			if n%2 != 0 {
				want = 0
			}
			if got := b.dev.imports.Load() - before; got != want {
				t.Errorf("%s: forward imported %d host tensors, want %d", name, got, want)
			}
			if err := errors.Join(dropouttest.Equal(y, wy), dropouttest.Equal(m, wm)); err != nil {
				t.Errorf("%s: forward: %v", name, err)
			}
			if err := errors.Join(b.Backward(y, y, m, p), ref.Backward(wy, wy, wm, p)); err != nil {
				t.Fatal(err)
			}
			if err := dropouttest.Equal(y, wy); err != nil {
				t.Errorf("%s: backward in place: %v", name, err)
			}
			if !slices.Equal(hostBytes(ys)[2*n:], tail) {
				t.Errorf("%s: elements after dst changed", name)
			}
		}
	}
}

// slice16 returns the first n elements of the 16-bit tensor t.
func slice16(t dropout.Tensor, n int) dropout.Tensor {
	switch u := t.(type) {
	case dropout.Float16s:
		return u[:n]
	case dropout.BFloat16s:
		return u[:n]
	}
	panic("not 16-bit")
}
