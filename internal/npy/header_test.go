package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
)

// rawHeader builds a version-major .npy file from a header text and data.
func rawHeader(major byte, text string, data []byte) []byte {
	b := append([]byte{}, magic...)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(text)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
	}
	return append(append(b, text...), data...)
}

// TestHeaderLikeNumPy reads headers that NumPy reads, and rejects those it
// rejects, with their data; see TestHeaderMatchesNumPy for the
// comparison with NumPy itself.
func TestHeaderLikeNumPy(t *testing.T) {
	f32 := func(n int) []byte { return make([]byte, 4*n) }
	for _, tc := range []struct {
		name    string
		major   byte
		text    string
		data    []byte
		shape   []int // nil: rejected
		fortran bool
		want    error // for a rejected header
	}{
		{"no trailing comma", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1)}", f32(6), []int{6, 1}, false, nil},
		{"no newline or padding", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f32(6), []int{2, 3}, false, nil},
		{"keys in any order", 1, "{'shape': (2, 3), 'descr': '<f4', 'fortran_order': True}\n", f32(6), []int{2, 3}, true, nil},
		{"double quotes", 1, `{"descr": "<f4", "fortran_order": False, "shape": (3,)}` + "\n", f32(3), []int{3}, false, nil},
		{"no spaces", 1, "{'descr':'<f4','fortran_order':False,'shape':(3,)}", f32(3), []int{3}, false, nil},
		{"python 2 long", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L), }\n", f32(6), []int{3, 2}, false, nil},
		{"python 2 long v2", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }\n", f32(3), []int{3}, false, nil},
		{"newlines and comments", 1, "{'descr': '<f4',  # dtype\n 'fortran_order': False,\n\t'shape': (\n2,\n3,\n),\n}\n", f32(6), []int{2, 3}, false, nil},
		{"escapes and prefixes", 1, `{u'descr': '\x3cf4', r'fortran_order': False, 'sh' "ape": (3,)}`, f32(3), []int{3}, false, nil},
		{"a name", 1, "{'descr': 'float32', 'fortran_order': False, 'shape': (3,)}", f32(3), []int{3}, false, nil},
		{"repeated key", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), 'descr': '<f4'}", f32(3), []int{3}, false, nil},
		{"hex and underscores", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0x2, 1_0)}", f32(20), []int{2, 10}, false, nil},
		{"True is 1", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 3)}", f32(3), []int{1, 3}, false, nil},
		{"version 3 UTF-8", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} # café\n", f32(3), []int{3}, false, nil},
		{"0-d", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", f32(1), []int{}, false, nil},

		{"NUL", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\x00\x00\x00\n", f32(3), nil, false, ErrFormat},
		{"NUL inside", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)\x00, }\n", f32(3), nil, false, ErrFormat},
		{"junk after", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }junk\n", f32(3), nil, false, ErrFormat},
		{"junk before", 1, "junk{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", f32(3), nil, false, ErrFormat},
		{"list shape", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }\n", f32(3), nil, false, ErrFormat},
		{"bare int shape", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': 3}", f32(3), nil, false, ErrFormat},
		{"float shape", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3.0,)}", f32(3), nil, false, ErrFormat},
		{"long in version 3", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,)}", f32(3), nil, false, ErrFormat},
		{"int order", 1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", f32(3), nil, false, ErrFormat},
		{"extra key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", f32(3), nil, false, ErrFormat},
		{"missing key", 1, "{'descr': '<f4', 'shape': (3,)}", f32(3), nil, false, ErrFormat},
		{"a tuple of the dict", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)},", f32(3), nil, false, ErrFormat},
		{"indented second line", 1, "\n {'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", f32(3), nil, false, ErrFormat},
		{"unclosed", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)\n", f32(3), nil, false, ErrFormat},
		{"a call", 1, "{'descr': str('<f4'), 'fortran_order': False, 'shape': (3,)}", f32(3), nil, false, ErrFormat},
		{"minor version", 0, "", nil, nil, false, ErrFormat},
		{"invalid UTF-8", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} # \xff\n", f32(3), nil, false, ErrFormat},
		{"bytes descr", 1, "{'descr': b'<f4', 'fortran_order': False, 'shape': (3,)}", f32(3), nil, false, ErrDType},
		{"comma descr", 1, "{'descr': '<f4,', 'fortran_order': False, 'shape': (3,)}", f32(3), nil, false, ErrDType},
		{"prefixed name", 1, "{'descr': '<float32', 'fortran_order': False, 'shape': (3,)}", f32(3), nil, false, ErrDType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := rawHeader(tc.major, tc.text, tc.data)
			if tc.major == 0 { // version 1.1
				b = rawHeader(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", f32(3))
				b[7] = 1
			}
			p := writeTemp(t, "h.npy", b)
			a, err := ReadFile(p)
			if tc.shape == nil {
				if err == nil || !errors.Is(err, tc.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("got %v, %v; want a one-line %v error", a, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Shape, tc.shape) {
				t.Errorf("shape %v, want %v", a.Shape, tc.shape)
			}
			in, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			in.Close()
			if in.Header.Fortran != tc.fortran {
				t.Errorf("fortran_order %v", in.Header.Fortran)
			}
		})
	}
}

// TestDescrs checks the descr strings NumPy reads as our dtypes, with
// their byte order, and the messages for the others.
func TestDescrs(t *testing.T) {
	for descr, want := range map[string]struct {
		dt    dropout.DType
		order binary.ByteOrder
	}{
		"<f4": {dropout.Float32, binary.LittleEndian}, ">f4": {dropout.Float32, binary.BigEndian}, "|f4": {dropout.Float32, nativeOrder},
		"=f4": {dropout.Float32, nativeOrder}, "f": {dropout.Float32, nativeOrder}, "float32": {dropout.Float32, nativeOrder},
		"single": {dropout.Float32, nativeOrder}, ">d": {dropout.Float64, binary.BigEndian}, "float": {dropout.Float64, nativeOrder},
		"double": {dropout.Float64, nativeOrder}, "<f8": {dropout.Float64, binary.LittleEndian}, "B": {dropout.Uint8, nativeOrder},
		"|u1": {dropout.Uint8, nativeOrder}, ">u1": {dropout.Uint8, binary.BigEndian}, "?": {dropout.Uint8, nativeOrder},
		"bool": {dropout.Uint8, nativeOrder}, "|b1": {dropout.Uint8, nativeOrder},
		"<f2": {dropout.Float16, binary.LittleEndian}, ">f2": {dropout.Float16, binary.BigEndian}, "e": {dropout.Float16, nativeOrder},
		"half": {dropout.Float16, nativeOrder}, "<u2": {dropout.BFloat16, binary.LittleEndian}, ">u2": {dropout.BFloat16, binary.BigEndian},
		"uint16": {dropout.BFloat16, nativeOrder},
	} {
		h := Header{Descr: descr}
		if err := h.classify(pyValue{kind: pyStr, str: descr}, pyRepr(descr)); err != nil || h.DType != want.dt || h.Order != want.order {
			t.Errorf("%q: %v %v %v, want %v %v", descr, h.DType, h.Order, err, want.dt, want.order)
		}
	}
	for descr, msg := range map[string]string{
		"<i4": `integer data (int32, "<i4")`, "int64": `integer data (int64, "int64")`, "<c16": `complex data (complex128, "<c16")`,
		"|O": `object array ("|O")`, "|S3": `byte string data ("|S3")`,
		"<M8[ns]": `datetime64 data ("<M8[ns]")`, "g": `longdouble data ("g")`, "<zz": `unsupported dtype "<zz"`,
		"<float32": `unsupported dtype "<float32"`, "<f4,<f4": `structured and subarray dtypes are not supported`,
	} {
		h := Header{Descr: descr}
		err := h.classify(pyValue{kind: pyStr, str: descr}, pyRepr(descr))
		if !errors.Is(err, ErrDType) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", descr, err, msg)
		}
	}
}

// FuzzHeader parses arbitrary header texts: no panic, and a header that
// is accepted reads back the same after formatting it.
func FuzzHeader(f *testing.F) {
	for i, c := range headerVariants() {
		if i%7 == 0 || i < 400 {
			f.Add(c.version, c.text)
		}
	}
	f.Fuzz(func(t *testing.T, version byte, text []byte) {
		major := 1 + version%3
		h, err := parseHeader(major, text)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		b := formatHeader(h.Descr, h.Fortran, h.Shape)
		if len(b)%64 != 0 {
			t.Errorf("formatted header of %d bytes", len(b))
		}
		h2, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%q: formatted as %q, which does not parse: %v", text, b, err)
		}
		if h2.Descr != h.Descr || h2.DType != h.DType || h2.Order != h.Order || h2.Fortran != h.Fortran ||
			!slices.Equal(h2.Shape, h.Shape) || h2.N != h.N || h2.DataOff != int64(len(b)) {
			t.Fatalf("%q: read back as %+v, want %+v", text, h2, h)
		}
	})
}

// TestFormatHeader checks the header we write byte for byte, as NumPy
// writes it.
func TestFormatHeader(t *testing.T) {
	got := string(formatHeader("<f4", false, []int{2, 3}))
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
	want := "\x93NUMPY\x01\x00v\x00" + dict + strings.Repeat(" ", 128-10-len(dict)-1) + "\n"
	if got != want {
		t.Errorf("header %q\nwant %q", got, want)
	}
	// A huge shape needs version 2.0.
	shape := make([]int, 30000)
	b := formatHeader("<f4", true, shape)
	if b[6] != 2 || len(b)%64 != 0 {
		t.Errorf("version %d, %d bytes", b[6], len(b))
	}
	h, err := ReadHeader(bytes.NewReader(b))
	if err != nil || len(h.Shape) != 30000 || !h.Fortran {
		t.Errorf("%v %v", len(h.Shape), err)
	}
}
