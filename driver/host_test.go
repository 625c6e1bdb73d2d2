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
