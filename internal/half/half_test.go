package half

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// f16Value is the definition of a binary16's value, in float64.
func f16Value(h uint16) float64 {
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	var v float64
	switch e {
	case 0x1f:
		if m != 0 {
			return math.NaN()
		}
		v = math.Inf(1)
	case 0:
		v = math.Ldexp(m, -24)
	default:
		v = math.Ldexp(1+m/1024, e-15)
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

func TestFloat16ToFloat32(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := Float16ToFloat32(h), f16Value(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Errorf("%#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Errorf("%#04x: got %v, want %v", h, got, want)
		}
	}
}

// TestFloat16RoundTrip: every binary16 survives widening and narrowing; a
// NaN stays a NaN of the same sign, quiet.
func TestFloat16RoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := Float32ToFloat16(Float16ToFloat32(h))
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if want := h | 0x200; got != want {
				t.Errorf("NaN %#04x: got %#04x, want %#04x", h, got, want)
			}
			continue
		}
		if got != h {
			t.Errorf("%#04x: round trip gives %#04x", h, got)
		}
	}
}

// TestFloat16Rounding checks narrowing at, just below and just above the
// midpoint between every pair of neighbouring binary16 values (the largest
// finite one's neighbour being 2^16, which rounds to infinity): ties go to
// the even one. Every midpoint is exact in float32.
func TestFloat16Rounding(t *testing.T) {
	for i := 0; i < 0x7c00; i++ {
		for _, sign := range []uint16{0, 0x8000} {
			lo := uint16(i) | sign
			hi := lo + 1
			a := float64(Float16ToFloat32(lo))
			b := f16Value(uint16(i+1) | sign)
			if i+1 == 0x7c00 {
				b = math.Copysign(65536, a)
			}
			mid := float32((a + b) / 2)
			if float64(mid) != (a+b)/2 {
				t.Fatalf("%#04x: midpoint %v not exact in float32", lo, (a+b)/2)
			}
			even := lo
			if lo&1 == 1 {
				even = hi
			}
			mb := math.Float32bits(mid)
			for _, c := range []struct {
				f    float32
				want uint16
			}{
				{float32(a), lo},
				{mid, even},
				{math.Float32frombits(mb - 1), lo},
				{math.Float32frombits(mb + 1), hi},
			} {
				if i == 0 && c.f == 0 && c.want != lo {
					continue
				}
				if got := Float32ToFloat16(c.f); got != c.want {
					t.Errorf("%v (%#08x): got %#04x, want %#04x", c.f, math.Float32bits(c.f), got, c.want)
				}
			}
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{math.MaxFloat32, 0x7c00},
		{-65520, 0xfc00},
		{0x1p-25, 0},
		{-0x1p-25, 0x8000},
		{math.SmallestNonzeroFloat32, 0},
		{float32(math.Copysign(0, -1)), 0x8000},
	} {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("%v: got %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

// TestNaNStaysNaN: NaNs whose payload lies in bits that narrowing drops.
func TestNaNStaysNaN(t *testing.T) {
	for _, b := range []uint32{0x7f800001, 0xff800001, 0x7f801fff, 0x7fc00000, 0x7fbfffff, 0x7f80ffff, 0xffffffff} {
		f := math.Float32frombits(b)
		if h := Float32ToFloat16(f); h&0x7c00 != 0x7c00 || h&0x3ff == 0 || h&0x8000 != uint16(b>>16)&0x8000 {
			t.Errorf("float16 of NaN %#08x: %#04x", b, h)
		}
		if h := Float32ToBFloat16(f); h&0x7f80 != 0x7f80 || h&0x7f == 0 || h&0x8000 != uint16(b>>16)&0x8000 {
			t.Errorf("bfloat16 of NaN %#08x: %#04x", b, h)
		}
	}
}

// TestFloat16NumPy compares with NumPy's astype(float16) on float32 values
// around midpoints, edges and at random (testdata/gen_numpy_float16.py).
func TestFloat16NumPy(t *testing.T) {
	f, err := os.Open("testdata/numpy_float16.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		in, out, _ := strings.Cut(sc.Text(), " ")
		b, err1 := strconv.ParseUint(in, 16, 32)
		w, err2 := strconv.ParseUint(out, 16, 16)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		lines++
		got, want := Float32ToFloat16(math.Float32frombits(uint32(b))), uint16(w)
		if isNaN16(want) && isNaN16(got) {
			continue
		}
		if got != want {
			t.Errorf("%#08x: got %#04x, NumPy %#04x", b, got, want)
		}
	}
	if err := sc.Err(); err != nil || lines < 1000 {
		t.Fatalf("read %d lines: %v", lines, err)
	}
}

func isNaN16(h uint16) bool { return h&0x7c00 == 0x7c00 && h&0x3ff != 0 }

func TestBFloat16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BFloat16ToFloat32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("%#04x widens to %#08x", h, math.Float32bits(f))
		}
		got := Float32ToBFloat16(f)
		if h&0x7f80 == 0x7f80 && h&0x7f != 0 {
			if got != h|0x40 {
				t.Errorf("NaN %#04x: got %#04x", h, got)
			}
			continue
		}
		if got != h {
			t.Errorf("%#04x: round trip gives %#04x", h, got)
		}
		if h&0x7fff >= 0x7f80 {
			continue
		}
		// the midpoint to the next value up in magnitude (past the largest
		// finite one, infinity), and its neighbours
		mid := uint32(h)<<16 | 0x8000
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		for _, c := range []struct {
			b    uint32
			want uint16
		}{{mid, even}, {mid - 1, h}, {mid + 1, h + 1}} {
			if got := Float32ToBFloat16(math.Float32frombits(c.b)); got != c.want {
				t.Errorf("%#08x: got %#04x, want %#04x", c.b, got, c.want)
			}
		}
	}
}
