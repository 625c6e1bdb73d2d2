package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// raw builds a .npy file by hand: version 1.0 header with the given
// dictionary entries and data bytes.
func raw(descr string, fortran bool, shape []int, data []byte) []byte {
	f := "False"
	if fortran {
		f = "True"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, f, ShapeString(shape))
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	b := append([]byte{}, magic...)
	b = append(b, 1, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)))
	b = append(b, dict...)
	return append(b, data...)
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func f32bytes(order binary.AppendByteOrder, v []float32) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64bytes(order binary.AppendByteOrder, v []float64) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for si, shape := range [][]int{{}, {0}, {1}, {3}, {2, 3}, {2, 0, 3}, {3, 1, 4, 5}, {1000}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		for _, data := range []dropout.Tensor{dropouttest.Data(dropout.Float32, n, 1), dropouttest.Data(dropout.Float64, n, 2)} {
			p := filepath.Join(dir, fmt.Sprintf("%v-%d.npy", data.DType(), si))
			if err := WriteFile(p, shape, data); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(b)-data.Len()*data.DType().Size() != int(b[8])+int(b[9])<<8+10 || (int(b[8])+10)%64 != 0 {
				t.Errorf("%s: header not 64-byte aligned", p)
			}
			// The header is the one NumPy writes (and TestNumPyFiles
			// has NumPy read it).
			descr, _ := descrOf(data)
			if want := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + ShapeString(shape) + ", }"; !bytes.HasPrefix(b[10:], []byte(want)) {
				t.Errorf("header %q, want %q", b[10:10+len(want)], want)
			}
			a, err := ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, shape) {
				t.Errorf("shape %v, want %v", a.Shape, shape)
			}
			if err := dropouttest.Equal(a.Data, data); err != nil {
				t.Errorf("%v %v: %v", data.DType(), shape, err)
			}
		}
	}
	if es, _ := os.ReadDir(dir); len(es) != 16 {
		t.Errorf("%d files in the directory, want 16 (no temporary files left)", len(es))
	}
}

func TestBigEndianAndFortran(t *testing.T) {
	v := []float32{1, 2, 3, 4, 5, 6}
	// C order (2, 3), big-endian.
	a, err := ReadFile(writeTemp(t, "be.npy", raw(">f4", false, []int{2, 3}, f32bytes(binary.BigEndian, v))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal([]float32(a.Data.(dropout.Float32s)), v) {
		t.Errorf("big-endian: got %v", a.Data)
	}
	// Fortran order (2, 3): columns stored first: [[1,2,3],[4,5,6]] is 1,4,2,5,3,6.
	a, err = ReadFile(writeTemp(t, "f.npy", raw("<f4", true, []int{2, 3}, f32bytes(binary.LittleEndian, []float32{1, 4, 2, 5, 3, 6}))))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal([]float32(a.Data.(dropout.Float32s)), v) || !slices.Equal(a.Shape, []int{2, 3}) {
		t.Errorf("fortran: got %v %v", a.Shape, a.Data)
	}
	// Fortran, big-endian float64, 3-d (2, 3, 4): element (i,j,k) = 100i+10j+k.
	shape := []int{2, 3, 4}
	var fort []float64
	for k := range 4 {
		for j := range 3 {
			for i := range 2 {
				fort = append(fort, float64(100*i+10*j+k))
			}
		}
	}
	a, err = ReadFile(writeTemp(t, "f3.npy", raw(">f8", true, shape, f64bytes(binary.BigEndian, fort))))
	if err != nil {
		t.Fatal(err)
	}
	d := a.Data.(dropout.Float64s)
	o := 0
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				if d[o] != float64(100*i+10*j+k) {
					t.Fatalf("fortran 3-d: element %d is %v, want %v", o, d[o], 100*i+10*j+k)
				}
				o++
			}
		}
	}
	// Larger Fortran arrays through both paths: tiled columns, and
	// columns longer than the buffer.
	for _, shape := range [][]int{{3001, 7, 5}, {1<<20 + 1, 2}, {1, 1, 9}, {9, 1}} {
		n := shape[0] * shape[1]
		if len(shape) > 2 {
			n *= shape[2]
		}
		// value = row-major index of the element; write in column-major order.
		fort := make([]float32, 0, n)
		k := len(shape)
		idx := make([]int, k)
		for range n {
			rm := 0
			for a := range k {
				rm = rm*shape[a] + idx[a]
			}
			fort = append(fort, float32(rm))
			for a := 0; a < k; a++ {
				idx[a]++
				if idx[a] < shape[a] {
					break
				}
				idx[a] = 0
			}
		}
		a, err := ReadFile(writeTemp(t, "big.npy", raw("<f4", true, shape, f32bytes(binary.LittleEndian, fort))))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range a.Data.(dropout.Float32s) {
			if v != float32(i) {
				t.Fatalf("fortran %v: element %d is %v", shape, i, v)
			}
		}
	}
	// Native-order and bool/uint8 descrs.
	if _, err := ReadFile(writeTemp(t, "n.npy", raw("=f8", false, []int{1}, f64bytes(binary.LittleEndian, []float64{1})))); err != nil {
		t.Error(err)
	}
}

func TestBadFiles(t *testing.T) {
	good := raw("<f4", false, []int{2, 3}, f32bytes(binary.LittleEndian, make([]float32, 6)))
	v2 := append([]byte{}, magic...)
	v2 = append(v2, 2, 0, 0xff, 0xff, 0xff, 0x7f)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
		msg  string
	}{
		{"int32", raw("<i4", false, []int{2}, make([]byte, 8)), ErrDType, "integer data"},
		{"uint8", raw("|u1", false, []int{2}, make([]byte, 2)), ErrDType, "integer data"},
		{"int64", raw("<i8", false, []int{2}, make([]byte, 16)), ErrDType, "integer data"},
		{"complex", raw("<c8", false, []int{2}, make([]byte, 16)), ErrDType, "complex data"},
		{"object", raw("|O", false, []int{2}, make([]byte, 16)), ErrDType, "unsupported dtype"},
		{"uint16", raw("<u2", false, []int{2}, make([]byte, 4)), ErrDType, "--dtype bfloat16"},
		{"garbage dtype", raw("<zz", false, []int{2}, make([]byte, 4)), ErrDType, "unsupported dtype"},
		{"empty", nil, ErrFormat, "empty file"},
		{"bad magic", []byte("PK\x03\x04 this is a zip file"), ErrFormat, "bad magic"},
		{"short", good[:5], ErrFormat, "truncated header"},
		{"truncated header", good[:40], ErrFormat, "truncated header"},
		{"truncated data", good[:len(good)-3], ErrFormat, "truncated data"},
		{"trailing data", append(slices.Clone(good), 1, 2, 3, 4), ErrFormat, "unexpected data"},
		{"huge header", v2, ErrFormat, "corrupt header"},
		{"version 9", append(append([]byte{}, magic...), 9, 0, 0, 0), ErrFormat, "version"},
		{"no dict", append(append(append([]byte{}, magic...), 1, 0, 4, 0), "abc\n"...), ErrFormat, "corrupt header"},
		{"bad order", bytes.Replace(good, []byte("False"), []byte("Maybe"), 1), ErrFormat, "corrupt header"},
		{"bad shape", bytes.Replace(good, []byte("(2, 3)"), []byte("(2, x)"), 1), ErrFormat, "corrupt header"},
		{"negative shape", bytes.Replace(good, []byte("(2, 3)"), []byte("(2,-3)"), 1), ErrFormat, "negative"},
		{"overflow shape", raw("<f4", false, []int{1 << 40, 1 << 40}, nil), ErrFormat, "too large"},
		{"overflow bytes", raw("<f8", false, []int{1 << 61}, nil), ErrFormat, "too large"},
		{"huge axis", bytes.Replace(good, []byte("(2, 3)"), []byte("(99999999999999999999,)"), 1), ErrFormat, "too large"},
		{"shape beyond the file", raw("<f4", false, []int{1 << 30}, nil), ErrFormat, "truncated data (0 of 4294967296 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, "bad.npy", tc.b)
			_, err := ReadFile(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), p+": ") {
				t.Errorf("error %q, want %v containing %q and naming the file", err, tc.want, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.npy")); err == nil || !strings.HasSuffix(err.Error(), "missing.npy: no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadFile(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}

// Every prefix of a valid file, and every single-byte corruption of its
// header, gives an error or a valid array, never a panic.
func TestNoPanics(t *testing.T) {
	good := raw("<f8", true, []int{2, 2}, f64bytes(binary.LittleEndian, []float64{1, 2, 3, 4}))
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	for i := range len(good) {
		os.WriteFile(p, good[:i], 0o644)
		if _, err := ReadFile(p); err == nil {
			t.Errorf("prefix of %d bytes read without error", i)
		}
	}
	for i := range 128 {
		for _, c := range []byte{0, '\n', '}', '{', '(', ')', ',', '\'', 'x', '9', 0xff} {
			b := slices.Clone(good)
			b[i] = c
			os.WriteFile(p, b, 0o644)
			ReadFile(p)
			ReadMask(p, dropout.MaskBytes, []int{4})
		}
	}
}

func TestMasks(t *testing.T) {
	dir := t.TempDir()
	put := func(name string, shape []int, b []byte) string {
		p := filepath.Join(dir, name)
		if err := WriteFile(p, shape, dropout.Bytes(b)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// 10 elements: 2 bytes of bits, padding bits zero.
	if m, err := ReadMask(put("bits.npy", []int{2}, []byte{0xff, 0x03}), dropout.MaskBits, []int{2, 5}); err != nil || len(m) != 2 {
		t.Errorf("bits: %v %v", m, err)
	}
	if _, err := ReadMask(put("pad.npy", []int{2}, []byte{0xff, 0x07}), dropout.MaskBits, []int{10}); !errors.Is(err, ErrMask) {
		t.Errorf("set padding bits: %v", err)
	}
	if _, err := ReadMask(put("bits3.npy", []int{3}, []byte{0, 0, 0}), dropout.MaskBits, []int{10}); !errors.Is(err, ErrShape) {
		t.Errorf("bits of the wrong length: %v", err)
	}
	if m, err := ReadMask(put("bytes.npy", []int{2, 3}, []byte{0, 1, 1, 0, 0, 1}), dropout.MaskBytes, []int{2, 3}); err != nil || len(m) != 6 {
		t.Errorf("bytes: %v %v", m, err)
	}
	if _, err := ReadMask(put("bytes2.npy", []int{6}, []byte{0, 1, 1, 0, 0, 1}), dropout.MaskBytes, []int{2, 3}); !errors.Is(err, ErrShape) {
		t.Errorf("bytes of the wrong shape: %v", err)
	}
	if _, err := ReadMask(put("bytes7.npy", []int{2}, []byte{0, 7}), dropout.MaskBytes, []int{2}); !errors.Is(err, ErrMask) {
		t.Errorf("bytes not 0/1: %v", err)
	}
	if _, err := ReadMask(writeTemp(t, "bool.npy", raw("|b1", false, []int{2}, []byte{1, 0})), dropout.MaskBytes, []int{2}); err != nil {
		t.Errorf("bool mask: %v", err)
	}
	f := filepath.Join(dir, "f.npy")
	WriteFile(f, []int{2}, dropout.Float32s{1, 0})
	if _, err := ReadMask(f, dropout.MaskBytes, []int{2}); !errors.Is(err, ErrDType) {
		t.Errorf("float mask: %v", err)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.npy")
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Write([]int{3}, dropout.Float32s{1, 2}); !errors.Is(err, ErrShape) {
		t.Errorf("shape mismatch: %v", err)
	}
	f.Abort()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("files left: %v", es)
	}
	if err := WriteFile(filepath.Join(dir, "nodir", "x.npy"), []int{1}, dropout.Float32s{1}); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

const benchN = 256 << 20 / 4 // 256 MiB of float32

func BenchmarkWrite256MiB(b *testing.B) {
	x := make(dropout.Float32s, benchN)
	p := filepath.Join(b.TempDir(), "x.npy")
	b.SetBytes(benchN * 4)
	for b.Loop() {
		if err := WriteFile(p, []int{benchN}, x); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead256MiB(b *testing.B) {
	p := filepath.Join(b.TempDir(), "x.npy")
	if err := WriteFile(p, []int{benchN}, make(dropout.Float32s, benchN)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchN * 4)
	for b.Loop() {
		if _, err := ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
}
