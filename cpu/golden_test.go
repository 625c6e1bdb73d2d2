package cpu_test

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// goldenCase is one op of testdata/golden16.txt: every element's result if
// kept and if dropped, as NumPy computes them (gen_golden16.py).
type goldenCase struct {
	dtype         string
	x, b, r       []uint32
	p             float64
	op            string
	kept, dropped []uint32
}

func readGolden(t *testing.T) []goldenCase {
	t.Helper()
	f, err := os.Open("testdata/golden16.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hexes := func(fields []string) []uint32 {
		v := make([]uint32, len(fields))
		for i, s := range fields {
			u, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				t.Fatalf("bad hex %q", s)
			}
			v[i] = uint32(u)
		}
		return v
	}
	var cases []goldenCase
	var cur goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		switch fs[0] {
		case "dtype":
			cur = goldenCase{dtype: fs[1]}
		case "x":
			cur.x = hexes(fs[1:])
		case "b":
			cur.b = hexes(fs[1:])
		case "r":
			cur.r = hexes(fs[1:])
		default:
			c := cur
			c.p, err = strconv.ParseFloat(fs[0], 64)
			if err != nil || len(fs) != 2+2*len(cur.x)+1 {
				t.Fatalf("bad line %q", sc.Text())
			}
			c.op = fs[1]
			c.kept = hexes(fs[2 : 2+len(cur.x)])
			c.dropped = hexes(fs[3+len(cur.x):])
			cases = append(cases, c)
		}
	}
	if len(cases) != 3*3*4 {
		t.Fatalf("read %d cases", len(cases))
	}
	return cases
}

// goldenTensor builds a tensor of the case's dtype from bits.
func goldenTensor(dtype string, v []uint32) dropout.Tensor {
	switch dtype {
	case "f16", "bf16":
		u := make([]uint16, len(v))
		for i, b := range v {
			u[i] = uint16(b)
		}
		if dtype == "f16" {
			return dropout.Float16s(u)
		}
		return dropout.BFloat16s(u)
	}
	f := make(dropout.Float32s, len(v))
	for i, b := range v {
		f[i] = math.Float32frombits(b)
	}
	return f
}

// tensorBits returns element i of a float32 or 16-bit tensor as bits, and
// whether it is a NaN.
func tensorBits(t dropout.Tensor, i int) (uint32, bool) {
	switch t := t.(type) {
	case dropout.Float32s:
		return math.Float32bits(t[i]), t[i] != t[i]
	case dropout.Float16s:
		return uint32(t[i]), t[i]&0x7c00 == 0x7c00 && t[i]&0x3ff != 0
	case dropout.BFloat16s:
		return uint32(t[i]), t[i]&0x7f80 == 0x7f80 && t[i]&0x7f != 0
	}
	panic("tensorBits: unexpected type")
}

func isNaNBits(dtype string, b uint32) bool {
	switch dtype {
	case "f16":
		return b&0x7c00 == 0x7c00 && b&0x3ff != 0
	case "bf16":
		return b&0x7f80 == 0x7f80 && b&0x7f != 0
	}
	return b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0
}

// TestGolden16 checks the backends against NumPy's float32 and float16
// arithmetic: plain dropout, alpha dropout forward and backward and the
// fused op on float16, bfloat16 and float32 data, including NaN, ±Inf,
// ±0, subnormals and overflow.
func TestGolden16(t *testing.T) {
	cases := readGolden(t)
	for _, b := range []struct {
		name string
		be   dropout.Backend
	}{
		{"reference", cpu.NewReference()},
		{"cpu", cpu.New(dropout.Options{})},
		{"portable", cpu.New(dropout.Options{Portable: true, Threads: 3})},
	} {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				runGolden(t, b.be, c)
			}
		})
	}
}

func runGolden(t *testing.T, be dropout.Backend, c goldenCase) {
	t.Helper()
	n := len(c.x)
	x := goldenTensor(c.dtype, c.x)
	y := goldenTensor(c.dtype, make([]uint32, n))
	mask := make(dropout.Bytes, n)
	p := dropout.Params{P: c.p, Seed: 0x5eed, Offset: 1<<64 - 11, Mask: dropout.MaskBytes, Shape: []int{n / 8, 8}}
	var err error
	switch c.op {
	case "scale":
		err = be.Forward(y, x, mask, p)
	case "alpha":
		p.Alpha = true
		err = be.Forward(y, x, mask, p)
	case "alphaback":
		p.Alpha = true
		for i := range mask {
			mask[i] = byte(i % 3 % 2)
		}
		err = be.Backward(y, x, mask, p)
	case "fused":
		err = dropout.ForwardFused(be, y, x, goldenTensor(c.dtype, c.b), goldenTensor(c.dtype, c.r), mask, p)
	}
	if err != nil {
		t.Fatalf("%s %s p=%v: %v", c.dtype, c.op, c.p, err)
	}
	kept := 0
	for i := 0; i < n; i++ {
		k := mask[i] == 1
		if c.op != "alphaback" && k != dropout.Keep(p.Seed, p.Offset, uint64(i), p.P) {
			t.Fatalf("%s %s p=%v: mask[%d] = %d", c.dtype, c.op, c.p, i, mask[i])
		}
		want := c.dropped[i]
		if k {
			want = c.kept[i]
			kept++
		}
		got, nan := tensorBits(y, i)
		if got != want && !(nan && isNaNBits(c.dtype, want)) {
			t.Errorf("%s %s p=%v: y[%d] = %#x, want %#x (x %#x, kept %v)", c.dtype, c.op, c.p, i, got, want, c.x[i], k)
		}
	}
	if kept == 0 || kept == n {
		t.Errorf("%s %s p=%v: %d of %d kept: the case tests one side only", c.dtype, c.op, c.p, kept, n)
	}
}
