package driver_test

import (
	"errors"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

func TestRawBytes(t *testing.T) {
	buf, err := driver.NewHostBuffer(dropout.Float64, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		t    dropout.Tensor
		size int
		ok   bool
	}{
		{dropout.Float32s{1, 2}, 8, true},
		{dropout.Float64s{1}, 8, true},
		{dropout.Float16s{1, 2, 3}, 6, true},
		{dropout.BFloat16s{1}, 2, true},
		{dropout.Bytes{1, 2, 3}, 3, true},
		{dropout.Float32s{}, 0, true},
		{buf, 24, true},
	} {
		b, ok := driver.RawBytes(tc.t)
		if ok != tc.ok || len(b) != tc.size {
			t.Errorf("RawBytes(%T[%d]) = %d bytes, %v; want %d, %v", tc.t, tc.t.Len(), len(b), ok, tc.size, tc.ok)
		}
	}
	// The bytes are the tensor's own memory, little-endian on this machine.
	x := dropout.Float32s{1}
	b, _ := driver.RawBytes(x)
	b[3] = 0x40 // 1.0 = 0x3f800000 -> 0x40800000 = 4.0
	if x[0] != 4 {
		t.Errorf("RawBytes copied: x = %v after writing its bytes", x)
	}
	buf.Release()
	if _, ok := driver.RawBytes(buf); ok {
		t.Error("RawBytes of a released buffer succeeded")
	}
}

func TestCheckCopy(t *testing.T) {
	for _, tc := range []struct {
		dst, src dropout.Tensor
		want     error
	}{
		{dropout.Float32s{0, 0}, dropout.Float32s{1, 2}, nil},
		{dropout.Float32s{0}, dropout.Float32s{1, 2}, dropout.ErrLength},
		{dropout.Float64s{0, 0}, dropout.Float32s{1, 2}, dropout.ErrDType},
		{nil, dropout.Float32s{1}, dropout.ErrLength},
	} {
		err := driver.CheckCopy(tc.dst, tc.src)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("CheckCopy(%v, %v) = %v, want %v", tc.dst, tc.src, err, tc.want)
		}
	}
}

func TestHostBufferSlice(t *testing.T) {
	root, err := driver.NewHostBuffer(dropout.Float32, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Write(dropout.Float32s{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ off, n int }{{-1, 2}, {0, -1}, {11, 0}, {5, 6}, {10, 1}} {
		if _, err := root.Slice(tc.off, tc.n); !errors.Is(err, dropout.ErrLength) {
			t.Errorf("Slice(%d, %d) of 10 elements: got %v, want ErrLength", tc.off, tc.n, err)
		}
	}
	v, err := root.Slice(3, 5) // elements 3..7
	if err != nil {
		t.Fatal(err)
	}
	if v.Len() != 5 || v.DType() != dropout.Float32 {
		t.Fatalf("Slice(3, 5) is %v[%d]", v.DType(), v.Len())
	}
	w, err := v.Slice(1, 3) // elements 4..6
	if err != nil {
		t.Fatal(err)
	}
	// a ranged Write through the view of a view lands in the root
	if err := w.Write(dropout.Float32s{40, 50, 60}); err != nil {
		t.Fatal(err)
	}
	got := make(dropout.Float32s, 10)
	if err := root.Read(got); err != nil {
		t.Fatal(err)
	}
	if want := (dropout.Float32s{0, 1, 2, 3, 40, 50, 60, 7, 8, 9}); !equal32(got, want) {
		t.Errorf("root after a Write of its view's view = %v, want %v", got, want)
	}
	gv := make(dropout.Float32s, 5)
	if err := v.Read(gv); err != nil || !equal32(gv, dropout.Float32s{3, 40, 50, 60, 7}) {
		t.Errorf("Read of the view = %v, %v", gv, err)
	}
	if h, ok := driver.Host(w); !ok || !equal32(h.(dropout.Float32s), dropout.Float32s{40, 50, 60}) {
		t.Errorf("Host(view of a view) = %v, %v", h, ok)
	}
	if b, ok := driver.RawBytes(w); !ok || len(b) != 12 {
		t.Errorf("RawBytes(view of a view) = %d bytes, %v; want 12", len(b), ok)
	}
	// an empty view at the end
	e, err := root.Slice(10, 0)
	if err != nil || e.Len() != 0 {
		t.Fatalf("Slice(10, 0) = %v, %v", e, err)
	}
	if err := e.Read(dropout.Float32s{}); err != nil {
		t.Errorf("Read of an empty view: %v", err)
	}
	// Releasing a view (even one that was sliced again) touches nothing else.
	if err := v.Release(); err != nil {
		t.Fatal(err)
	}
	if err := v.Read(gv); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Read of a released view: got %v, want ErrReleased", err)
	}
	if _, err := v.Slice(0, 1); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Slice of a released view: got %v, want ErrReleased", err)
	}
	if _, err := driver.HostOperand(v); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("HostOperand of a released view: got %v, want ErrReleased", err)
	}
	if err := w.Read(make(dropout.Float32s, 3)); err != nil {
		t.Errorf("Read of a view whose parent view was released: %v", err)
	}
	if err := root.Read(got); err != nil {
		t.Errorf("Read of the root after releasing a view: %v", err)
	}
	// Releasing the root makes every view unusable.
	if err := root.Release(); err != nil {
		t.Fatal(err)
	}
	for _, b := range []dropout.Buffer{w, e} {
		if err := b.Write(make(dropout.Float32s, b.Len())); !errors.Is(err, dropout.ErrReleased) {
			t.Errorf("Write of a view of a released buffer: got %v, want ErrReleased", err)
		}
		if _, ok := driver.Host(b); ok {
			t.Error("Host of a view of a released buffer succeeded")
		}
		if err := b.Release(); err != nil {
			t.Errorf("Release of a view of a released buffer: %v", err)
		}
	}
}

func equal32(a, b dropout.Float32s) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCheckOverlap(t *testing.T) {
	s := make(dropout.Float32s, 16)
	m := make(dropout.Bytes, 16)
	buf, err := driver.NewHostBuffer(dropout.Float32, 16)
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := buf.Slice(1, 8)
	v0, _ := buf.Slice(0, 8)
	v1b, _ := buf.Slice(1, 8)
	v8, _ := buf.Slice(8, 8)
	h, _ := driver.Host(buf)
	asBytes, _ := driver.RawBytes(s)
	for _, tc := range []struct {
		name string
		ts   []dropout.Tensor
		want bool // ErrOverlap
	}{
		{"the same host slice", []dropout.Tensor{s, s}, false},
		{"disjoint host slices", []dropout.Tensor{s[:8], s[8:]}, false},
		{"shifted host slices", []dropout.Tensor{s[1:9], s[:8]}, true},
		{"a host slice inside another", []dropout.Tensor{s, s[2:4]}, true},
		{"the same memory, other lengths", []dropout.Tensor{s[:4], s[:5]}, true},
		{"bytes over float data", []dropout.Tensor{s, dropout.Bytes(asBytes[60:])}, true},
		{"bytes next to float data", []dropout.Tensor{s[:15], dropout.Bytes(asBytes[60:])}, false},
		{"an empty slice inside another", []dropout.Tensor{s, s[3:3]}, false},
		{"nil operands", []dropout.Tensor{nil, s, nil, m}, false},
		{"the same view", []dropout.Tensor{v1, v1}, false},
		{"two views of the same elements", []dropout.Tensor{v1, v1b}, false},
		{"shifted views", []dropout.Tensor{v1, v0}, true},
		{"adjacent views", []dropout.Tensor{v0, v8}, false},
		{"a view and its root", []dropout.Tensor{buf, v0}, true},
		{"a view and the root's host slice", []dropout.Tensor{h, v1}, true},
		{"the third and fifth", []dropout.Tensor{m, v8, v0, s, v1}, true},
	} {
		names := []string{"a", "b", "c", "d", "e"}[:len(tc.ts)]
		err := driver.CheckOverlap(names, tc.ts)
		if got := errors.Is(err, dropout.ErrOverlap); got != tc.want {
			t.Errorf("CheckOverlap(%s) = %v, want ErrOverlap: %v", tc.name, err, tc.want)
		}
	}
	// The calls' validation checks overlap after the rest.
	p := dropout.Params{P: 0.5}
	if _, err := driver.NewPlan(s[1:9], s[:8], nil, p); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("NewPlan of shifted dst and src: got %v, want ErrOverlap", err)
	}
	if _, err := driver.NewPlan(s[:8], s[:8], nil, p); err != nil {
		t.Errorf("NewPlan in place: %v", err)
	}
	if _, err := driver.NewPlan(s[:8], s[:8], dropout.Bytes(asBytes[28:29]), dropout.Params{P: 0.5, Mask: dropout.MaskBits}); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("NewPlan with a mask inside the data: got %v, want ErrOverlap", err)
	}
	if _, err := driver.NewPlan(s[:8], s[:8], dropout.Bytes(asBytes[28:29]), p); err != nil {
		t.Errorf("NewPlan with MaskNone ignores the mask tensor: %v", err)
	}
	if _, err := driver.NewFusedPlan(s[:8], s[8:], s[7:15], nil, nil, p); !errors.Is(err, dropout.ErrOverlap) {
		t.Errorf("NewFusedPlan with the bias over dst and x: got %v, want ErrOverlap", err)
	}
	if _, err := driver.NewFusedPlan(s[:8], s[8:], nil, s[:8], nil, p); err != nil {
		t.Errorf("NewFusedPlan with dst = residual: %v", err)
	}
}
