package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

func u16bytes(order binary.AppendByteOrder, v []uint16) []byte {
	var b []byte
	for _, x := range v {
		b = order.AppendUint16(b, x)
	}
	return b
}

// TestSixteenBit reads float16 in both byte orders and both memory orders,
// uint16 as bfloat16 bits only when asked, and writes both back with
// their descrs.
func TestSixteenBit(t *testing.T) {
	v := []uint16{0x3c00, 0x7e00, 0x8001, 0xfbff, 0x0000, 0x7c00} // 1, NaN, -subnormal, -max, 0, +Inf
	for _, tc := range []struct {
		descr   string
		order   binary.ByteOrder
		fortran bool
		data    []uint16 // in file memory order
	}{
		{"<f2", binary.LittleEndian, false, v},
		{">f2", binary.BigEndian, false, v},
		{"e", binary.LittleEndian, false, v},
		{"<f2", binary.LittleEndian, true, []uint16{v[0], v[3], v[1], v[4], v[2], v[5]}},
		{">f2", binary.BigEndian, true, []uint16{v[0], v[3], v[1], v[4], v[2], v[5]}},
	} {
		a, err := ReadFile(writeTemp(t, "h.npy", raw(tc.descr, tc.fortran, []int{2, 3}, u16bytes(tc.order.(binary.AppendByteOrder), tc.data))))
		if err != nil {
			t.Fatalf("%s fortran=%v: %v", tc.descr, tc.fortran, err)
		}
		got, ok := a.Data.(dropout.Float16s)
		if !ok || !slices.Equal([]uint16(got), v) {
			t.Errorf("%s fortran=%v: %T %v, want float16 %v", tc.descr, tc.fortran, a.Data, a.Data, v)
		}
	}
	// uint16 is integer data unless it is accepted as bfloat16 bits.
	for _, descr := range []string{"<u2", ">u2"} {
		order := binary.ByteOrder(binary.LittleEndian)
		if descr[0] == '>' {
			order = binary.BigEndian
		}
		p := writeTemp(t, "b.npy", raw(descr, false, []int{6}, u16bytes(order.(binary.AppendByteOrder), v)))
		in, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.CheckArray(); !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), "--dtype bfloat16") {
			t.Errorf("%s without AsBFloat16: %v", descr, err)
		}
		if err := in.AsBFloat16(); err != nil {
			t.Fatal(err)
		}
		a, err := in.ReadArray()
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := a.Data.(dropout.BFloat16s); !ok || !slices.Equal([]uint16(got), v) {
			t.Errorf("%s as bfloat16: %T %v", descr, a.Data, a.Data)
		}
	}
	in, err := Open(writeTemp(t, "f.npy", raw("<f2", false, []int{1}, []byte{0, 0})))
	if err != nil {
		t.Fatal(err)
	}
	if err := in.AsBFloat16(); !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), `got "<f2"`) {
		t.Errorf("AsBFloat16 of float16 data: %v", err)
	}
	in.Close()
	// Writing: float16 as <f2, bfloat16 as <u2.
	dir := t.TempDir()
	for _, tc := range []struct {
		data  dropout.Tensor
		descr string
	}{{dropout.Float16s(v), "<f2"}, {dropout.BFloat16s(v), "<u2"}} {
		p := filepath.Join(dir, tc.descr[1:]+".npy")
		if err := WriteFile(p, []int{3, 2}, tc.data); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		if !bytes.Contains(b, []byte("'descr': '"+tc.descr+"'")) || !bytes.HasSuffix(b, u16bytes(binary.LittleEndian, v)) {
			t.Errorf("%v written as %q", tc.data.DType(), b)
		}
	}
}

// TestWriteOrderFortran writes row-major data in Fortran order: the header
// says so, the bytes are column-major, and reading gives the data back.
func TestWriteOrderFortran(t *testing.T) {
	shape := []int{2, 3, 4}
	data := make(dropout.Float32s, 24)
	for i := range data {
		data[i] = float32(i)
	}
	p := filepath.Join(t.TempDir(), "f.npy")
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteOrder(shape, data, true); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !bytes.Contains(b, []byte("'fortran_order': True")) {
		t.Errorf("header %q", b[:80])
	}
	// Column-major: element (i, j, k) at i + 2j + 6k holds 12i + 4j + k.
	var want []float32
	for k := range 4 {
		for j := range 3 {
			for i := range 2 {
				want = append(want, float32(12*i+4*j+k))
			}
		}
	}
	if !bytes.HasSuffix(b, f32bytes(binary.LittleEndian, want)) {
		t.Errorf("data not in column-major order")
	}
	a, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Data.(dropout.Float32s), data) {
		t.Errorf("read back %v", a.Data)
	}
}

// TestTransposeRev checks the transposition against its definition, and
// that it is its own inverse with the shape reversed.
func TestTransposeRev(t *testing.T) {
	for _, shape := range [][]int{{5}, {3, 7}, {40, 33}, {2, 3, 4}, {1, 5, 1, 3}, {3, 1, 2, 2, 5}, {0, 3}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		for _, esz := range []int{1, 2, 4, 8} {
			src := make([]byte, n*esz)
			for i := range src {
				src[i] = byte(i*7 + i/esz)
			}
			dst := make([]byte, n*esz)
			TransposeRev(dst, src, esz, shape)
			// dst[reverse(c)] = src[c]
			k := len(shape)
			idx := make([]int, k)
			for i := range n {
				o := 0
				for a := k - 1; a >= 0; a-- {
					o = o*shape[a] + idx[a]
				}
				if !bytes.Equal(dst[o*esz:(o+1)*esz], src[i*esz:(i+1)*esz]) {
					t.Fatalf("shape %v esz %d: element %d misplaced", shape, esz, i)
				}
				for a := k - 1; a >= 0; a-- {
					idx[a]++
					if idx[a] < shape[a] {
						break
					}
					idx[a] = 0
				}
			}
			back := make([]byte, n*esz)
			rev := slices.Clone(shape)
			slices.Reverse(rev)
			TransposeRev(back, dst, esz, rev)
			if !bytes.Equal(back, src) {
				t.Errorf("shape %v esz %d: not its own inverse", shape, esz)
			}
		}
	}
}

// TestReadRaw reads data in chunks, sequentially (swapping big-endian
// data) and at offsets, and checks the end of the data.
func TestReadRaw(t *testing.T) {
	v := make([]float32, 1000)
	for i := range v {
		v[i] = float32(i) - 0.5
	}
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		descr := "<f4"
		if order == binary.BigEndian {
			descr = ">f4"
		}
		file := raw(descr, false, []int{1000}, f32bytes(order, v))
		for _, stream := range []bool{false, true} {
			var in *Input
			var err error
			if stream {
				in, err = OpenReader(bytes.NewReader(append(slices.Clone(file), 9)), "stdin")
			} else {
				in, err = Open(writeTemp(t, "x.npy", file))
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			for done := 0; done < 1000; {
				c := min(333, 1000-done)
				b := make([]byte, 4*c)
				if err := in.ReadRaw(b); err != nil {
					t.Fatal(err)
				}
				got = append(got, as[float32](b)...)
				done += c
			}
			if !slices.Equal(got, v) {
				t.Errorf("%s stream=%v: chunks differ", descr, stream)
			}
			if err := in.ReadRaw(make([]byte, 4)); err == nil {
				t.Errorf("%s stream=%v: read past the end", descr, stream)
			}
			err = in.Finish()
			if stream != (err != nil) || stream && !strings.Contains(fmt.Sprint(err), "1 bytes of unexpected data") {
				t.Errorf("%s stream=%v: Finish: %v", descr, stream, err)
			}
			if !stream {
				b := make([]byte, 8)
				if err := in.ReadAt(b, 4*500); err != nil || !slices.Equal(as[float32](b), v[500:502]) {
					t.Errorf("%s: ReadAt: %v %v", descr, as[float32](b), err)
				}
				if err := in.ReadAt(b, 4*999); err == nil {
					t.Errorf("%s: ReadAt past the end", descr)
				}
			}
			in.Close()
		}
	}
	in, err := Open(writeTemp(t, "x.npy", raw("<f4", false, []int{4}, make([]byte, 16))))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	in.ReadRaw(make([]byte, 8))
	if err := in.Finish(); err == nil || !strings.Contains(err.Error(), "8 of 16 data bytes read") {
		t.Errorf("Finish after half the data: %v", err)
	}
}

// TestNumPyReadsSixteenBit has NumPy load our float16, bfloat16 (uint16)
// and Fortran-order files.
func TestNumPyReadsSixteenBit(t *testing.T) {
	py := numpyPython(t)
	dir := t.TempDir()
	v := dropout.Float16s{0x3c00, 0xc000, 0x7c00, 0x0001, 0x8000, 0x3555}
	if err := WriteFile(filepath.Join(dir, "h.npy"), []int{2, 3}, v); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "b.npy"), []int{6}, dropout.BFloat16s(v)); err != nil {
		t.Fatal(err)
	}
	f, err := Create(filepath.Join(dir, "f.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteOrder([]int{2, 3}, v, true); err != nil {
		t.Fatal(err)
	}
	f.Commit()
	script := `import numpy as np, sys
d = sys.argv[1]
h = np.load(d + '/h.npy'); b = np.load(d + '/b.npy'); f = np.load(d + '/f.npy')
assert h.dtype == np.float16 and h.shape == (2, 3), h
assert h.view(np.uint16).ravel().tolist() == [0x3c00, 0xc000, 0x7c00, 1, 0x8000, 0x3555], h
assert b.dtype == np.uint16 and b.tolist() == h.view(np.uint16).ravel().tolist(), b
assert f.flags['F_CONTIGUOUS'] and not f.flags['C_CONTIGUOUS'] and (f.view(np.uint16) == h.view(np.uint16)).all(), f
print('ok')
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("numpy: %v: %s", err, out)
	}
}

// TestDirect writes an output's data at offsets of the file Direct returns,
// after WriteHeader: Commit makes it the file ReadFile reads back. A
// stream has no such file. Native tells the byte orders ReadRaw converts.
func TestDirect(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "y.npy")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.WriteHeader(dropout.Float32, false, []int{3}); err != nil {
		t.Fatal(err)
	}
	tmp, err := f.Direct()
	if err != nil || tmp == nil {
		t.Fatalf("Direct: %v %v", tmp, err)
	}
	st, err := tmp.Stat()
	if err != nil {
		t.Fatal(err)
	}
	hdr := st.Size()
	if hdr == 0 || hdr%64 != 0 {
		t.Fatalf("Direct flushed %d header bytes, want a multiple of 64", hdr)
	}
	v := []float32{1.5, -2, 3.25}
	// Out of order, as direct streaming writes its blocks.
	if _, err := tmp.WriteAt(f32bytes(binary.LittleEndian, v[2:]), hdr+8); err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteAt(f32bytes(binary.LittleEndian, v[:2]), hdr); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	a, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{3}) || !slices.Equal([]float32(a.Data.(dropout.Float32s)), v) {
		t.Errorf("read back %v %v, want [3] %v", a.Shape, a.Data, v)
	}
	if _, err := f.Direct(); err == nil {
		t.Errorf("Direct after Commit: no error")
	}
	var b bytes.Buffer
	s := NewStream(&b, "stdout")
	if err := s.WriteHeader(dropout.Float32, false, []int{3}); err != nil {
		t.Fatal(err)
	}
	if tmp, err := s.Direct(); tmp != nil || err != nil {
		t.Errorf("Direct of a stream: %v %v, want nil", tmp, err)
	}

	le := nativeOrder == binary.LittleEndian
	for descr, want := range map[string]bool{"<f4": le, ">f4": !le, "<f2": le, ">f8": !le, "|u1": true} {
		in, err := OpenReader(bytes.NewReader(raw(descr, false, []int{0}, nil)), "x.npy")
		if err != nil {
			t.Fatal(err)
		}
		if got := in.Header.Native(); got != want {
			t.Errorf("%s: Native() = %v, want %v", descr, got, want)
		}
	}
}
