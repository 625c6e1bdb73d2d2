//go:build cgo && !novulkan

package vulkan

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/internal/exec/exectest"
	"github.com/gpudropout/dropout/internal/half"
	"github.com/gpudropout/dropout/internal/philox"
)

// This file tests Queue.Launch directly against a model of exec.Args'
// semantics written here from their documentation: every kernel, data
// type (16-bit ones included), alpha dropout, the fused bias and residual,
// and the region word maps of the mask kernels, with NaN, infinities,
// signed zeros and subnormals among the inputs.

// launchCase is one launch of the table.
type launchCase struct {
	k        exec.Kernel
	dt       dropout.DType
	n        int
	p        float64
	g0       uint64
	alpha    bool
	bias     int // bias elements, 0 for none
	resid    bool
	i0       int64
	dims     []exec.Dim     // Apply kernels
	words    []exec.WordDim // Mask kernels
	copyKept bool           // p = 0 with a mask
}

func (c launchCase) String() string {
	return fmt.Sprintf("%v/%v/n=%d/p=%g/g0=%#x/alpha=%v/bias=%d/resid=%v/i0=%d/dims=%v/words=%v",
		c.k, c.dt, c.n, c.p, c.g0, c.alpha, c.bias, c.resid, c.i0, c.dims, c.words)
}

// specials are float64 values every data type's inputs include.
var specials = []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -1,
	0x1p-149, -0x1p-140, 0x1p-127, 0x1.fffffep-127, 0x1p-126, 0x1p-120, 0x1p-24, 0x1p-14, 65504, 65520, 3e38}

// randBits returns n random elements of dt as raw bits, specials first.
func randBits(r *rand.Rand, dt dropout.DType, n int) []uint64 {
	v := make([]uint64, n)
	for i := range v {
		var f float64
		switch {
		case i < len(specials):
			f = specials[i]
		case i%7 == 0: // raw bit patterns: subnormals, NaNs with payloads, anything
			switch dt {
			case dropout.Float64:
				v[i] = r.Uint64()
			case dropout.Float32:
				v[i] = uint64(r.Uint32() >> (r.IntN(2) * 8))
			default:
				v[i] = uint64(r.Uint32() & 0xffff >> (r.IntN(2) * 6))
			}
			continue
		default:
			f = r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20))
		}
		switch dt {
		case dropout.Float64:
			v[i] = math.Float64bits(f)
		case dropout.Float32:
			v[i] = uint64(math.Float32bits(float32(f)))
		case dropout.Float16:
			v[i] = uint64(half.Float32ToFloat16(float32(f)))
		case dropout.BFloat16:
			v[i] = uint64(half.Float32ToBFloat16(float32(f)))
		}
	}
	return v
}

func pack(dt dropout.DType, v []uint64) []byte {
	es := dt.Size()
	b := make([]byte, (len(v)*es+3)&^3)
	for i, x := range v {
		switch es {
		case 8:
			binary.LittleEndian.PutUint64(b[8*i:], x)
		case 4:
			binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(x))
		}
	}
	return b
}

func unpack(dt dropout.DType, b []byte, n int) []uint64 {
	v := make([]uint64, n)
	for i := range v {
		switch dt.Size() {
		case 8:
			v[i] = binary.LittleEndian.Uint64(b[8*i:])
		case 4:
			v[i] = uint64(binary.LittleEndian.Uint32(b[4*i:]))
		case 2:
			v[i] = uint64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return v
}

// model computes in the compute type: float64 for Float64, float32 otherwise.
type model struct {
	dt dropout.DType
	a  *exec.Args
}

func (m model) wid(x uint64) float64 {
	switch m.dt {
	case dropout.Float64:
		return math.Float64frombits(x)
	case dropout.Float32:
		return float64(math.Float32frombits(uint32(x)))
	case dropout.Float16:
		return float64(half.Float16ToFloat32(uint16(x)))
	}
	return float64(half.BFloat16ToFloat32(uint16(x)))
}

func (m model) nar(v float64) uint64 {
	switch m.dt {
	case dropout.Float64:
		return math.Float64bits(v)
	case dropout.Float32:
		return uint64(math.Float32bits(float32(v)))
	case dropout.Float16:
		return uint64(half.Float32ToFloat16(float32(v)))
	}
	return uint64(half.Float32ToBFloat16(float32(v)))
}

// op rounds a product or sum of compute-type values to the compute type.
func (m model) op(v float64) float64 {
	if m.dt == dropout.Float64 {
		return v
	}
	return float64(float32(v))
}

func (m model) mul(x, c float64) float64 {
	if m.dt == dropout.Float64 {
		return x * c
	}
	return float64(float32(x) * float32(c)) // one float32 product, correctly rounded
}

func (m model) add(x, c float64) float64 {
	if m.dt == dropout.Float64 {
		return x + c
	}
	return float64(float32(x) + float32(c))
}

func (m model) rnd(v float64) float64 { return m.wid(m.nar(m.op(v))) }

func (m model) coef() (s, b, d float64) {
	a := m.a
	if m.dt == dropout.Float64 {
		if a.Alpha {
			return a.A64, a.B64, a.D64
		}
		return a.Scale64, 0, 0
	}
	if a.Alpha {
		return float64(a.A32), float64(a.B32), float64(a.D32)
	}
	return float64(a.Scale32), 0, 0
}

// elem is y of one element per exec.Args' documentation.
func (m model) elem(x uint64, keep bool, b, r uint64, hasB, hasR bool) uint64 {
	a := m.a
	s, B, D := m.coef()
	if !hasB && !hasR {
		switch {
		case a.Alpha && a.DropAll, !keep && !a.Alpha:
			return 0
		case !keep:
			return m.nar(D)
		case a.CopyKept:
			return x
		case a.Alpha:
			return m.nar(m.add(m.mul(m.wid(x), s), B))
		}
		return m.nar(m.mul(m.wid(x), s))
	}
	t := m.wid(x)
	if hasB {
		t = m.rnd(m.add(t, m.wid(b)))
	}
	var u float64
	switch {
	case a.Alpha && a.DropAll, !keep && !a.Alpha:
		u = 0
	case !keep:
		u = m.rnd(D)
	case a.CopyKept:
		u = t
	case a.Alpha:
		u = m.rnd(m.add(m.mul(t, s), B))
	default:
		u = m.rnd(m.mul(t, s))
	}
	if hasR {
		u = m.add(m.wid(r), u)
	}
	return m.nar(u)
}

func word(a *exec.Args, i int64) uint64 {
	if a.Words == nil {
		return a.G0 + uint64(i)
	}
	k := uint64(a.I0 + i)
	g := a.G0
	for d := len(a.Words) - 1; d >= 0; d-- {
		n := uint64(a.Words[d].Size)
		g += k % n * a.Words[d].Stride
		k /= n
	}
	return g
}

func streamKeep(a *exec.Args, i int64) bool {
	return !a.DropAll && philox.Word(a.Seed, word(a, i)) >= a.Thresh
}

func maskKeep(f dropout.MaskFormat, m []byte, j int64) bool {
	if f == dropout.MaskBits {
		return m[j/8]>>(j%8)&1 != 0
	}
	return m[j] != 0
}

func TestLaunchModel(t *testing.T) {
	b := openTest(t, dropout.Options{})
	d := b.dev
	q, err := d.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Release()
	r := rand.New(rand.NewPCG(1, 2))
	var cases []launchCase
	dts := []dropout.DType{dropout.Float32, dropout.Float16, dropout.BFloat16}
	if d.f64 {
		dts = append(dts, dropout.Float64)
	}
	for _, dt := range dts {
		// Every pipeline is compiled on first use (lavapipe compiles each
		// specialization, the bulk of this test's time): float32 runs
		// every kernel, the other types one of each shader.
		ks := []exec.Kernel{exec.GenNone, exec.GenBits, exec.GenBytes, exec.ReadBits, exec.ReadBytes, exec.ApplyBits, exec.ApplyBytes}
		if dt != dropout.Float32 {
			ks = []exec.Kernel{exec.GenNone, exec.ReadBytes, exec.ApplyBits}
		}
		for _, k := range ks {
			for _, n := range []int{1, 7, 37, 333} {
				g0 := []uint64{0, 5, ^uint64(0) - 9, 1 << 40}[n%4]
				cases = append(cases,
					launchCase{k: k, dt: dt, n: n, p: 0.3, g0: g0},
					launchCase{k: k, dt: dt, n: n, p: 0.5, g0: g0 + 2, alpha: true},
				)
				if k == exec.GenNone || k == exec.GenBits || k == exec.GenBytes || k == exec.ApplyBits {
					cases = append(cases,
						launchCase{k: k, dt: dt, n: n, p: 0.2, g0: g0 + 1, bias: 5, i0: 3},
						launchCase{k: k, dt: dt, n: n, p: 0.2, g0: g0, resid: true},
						launchCase{k: k, dt: dt, n: n, p: 0.7, g0: g0 + 3, bias: 64, resid: true, i0: 100, alpha: n%2 == 0},
						launchCase{k: k, dt: dt, n: n, p: 0, g0: g0, bias: 3, resid: true, copyKept: true},
						launchCase{k: k, dt: dt, n: n, p: 1, g0: g0, bias: 2, resid: true, alpha: true},
					)
				}
				if k != exec.GenNone {
					cases = append(cases,
						launchCase{k: k, dt: dt, n: n, p: 0, g0: g0, copyKept: true, alpha: n%2 == 1},
						launchCase{k: k, dt: dt, n: n, p: 1, g0: g0, alpha: n%2 == 0},
					)
				}
			}
		}
	}
	for _, k := range []exec.Kernel{exec.MaskBits, exec.MaskBytes} {
		cases = append(cases,
			launchCase{k: k, n: 77, p: 0.4, g0: 3},
			launchCase{k: k, n: 100, p: 0.4, g0: ^uint64(0) - 50, words: []exec.WordDim{{Size: 10, Stride: 1000}, {Size: 10, Stride: 1}}},
			launchCase{k: k, n: 64, p: 0.5, g0: 7, i0: 13, words: []exec.WordDim{{Size: 4, Stride: 1 << 62}, {Size: 5, Stride: 17}, {Size: 6, Stride: 3}}},
			launchCase{k: k, n: 40, p: 0.5, g0: 1, i0: 200, words: []exec.WordDim{{Size: 2, Stride: 1e9}, {Size: 3, Stride: 1e7}, {Size: 4, Stride: 1e5}, {Size: 5, Stride: 1e3}, {Size: 6, Stride: 1}}},
			launchCase{k: k, n: 33, p: 1, g0: 1, words: []exec.WordDim{{Size: 33, Stride: 2}}},
		)
	}
	for _, c := range cases {
		if c.k == exec.ApplyBits || c.k == exec.ApplyBytes {
			c.dims = []exec.Dim{{Size: 3, Stride: 0}, {Size: 4, Stride: 1}, {Size: 1000, Stride: 0}}
			c.i0 = int64(r.IntN(50))
		}
		if err := runLaunch(q, d, r, c); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	if err := d.validated(nil); err != nil {
		t.Fatal(err)
	}
}

// runLaunch runs case c on q and compares with the model.
func runLaunch(q exec.Queue, d *vkDevice, r *rand.Rand, c launchCase) error {
	dt := c.dt
	if dt == 0 {
		dt = dropout.Float32
	}
	n := int64(c.n)
	f := c.k.Format()
	a := &exec.Args{N: n, DType: dt, Seed: r.Uint64(), G0: c.g0, I0: c.i0, Dims: c.dims, Words: c.words,
		DropAll: c.p == 1, CopyKept: c.copyKept, Scale32: dropout.Scale32(c.p), Scale64: dropout.Scale64(c.p)}
	if th := dropout.Threshold(c.p); th < 1<<32 {
		a.Thresh = uint32(th)
	}
	if c.alpha {
		A, B, D := dropout.AlphaCoefficients(c.p)
		a.Alpha = true
		a.A32, a.B32, a.D32 = float32(A), float32(B), float32(D)
		a.A64, a.B64, a.D64 = A, B, D
	}
	alloc := func(b []byte) (exec.View, error) {
		mem, err := d.Alloc(int64(max(len(b), 4)) + 64)
		if err != nil {
			return exec.View{}, err
		}
		v := exec.View{Mem: mem, Off: 64} // not at the buffer's start
		if len(b) > 0 {
			return v, q.Upload(v, b)
		}
		return v, nil
	}
	var mems []exec.View
	defer func() {
		for _, v := range mems {
			d.Free(v.Mem)
		}
	}()
	view := func(b []byte) exec.View {
		v, err := alloc(b)
		if err == nil {
			mems = append(mems, v)
		}
		return v
	}
	data := c.k != exec.MaskBits && c.k != exec.MaskBytes
	var x, bias, res []uint64
	mlen := n
	if c.dims != nil {
		mlen = 4
		a.MaskLen = mlen
	}
	mbytes := make([]byte, exec.MaskWords(f, mlen))
	if c.k.ReadsMask() {
		for j := range mlen {
			if r.IntN(2) == 1 {
				if f == dropout.MaskBits {
					mbytes[j/8] |= 1 << (j % 8)
				} else {
					mbytes[j] = byte(1 + r.IntN(255))
				}
			}
		}
	}
	if f != dropout.MaskNone {
		a.M = view(mbytes)
	}
	if data {
		x = randBits(r, dt, c.n)
		a.X = view(pack(dt, x))
		a.Y = view(pack(dt, randBits(r, dt, c.n+1)))
		if c.bias > 0 {
			bias = randBits(r, dt, c.bias)
			a.HasBias, a.BiasLen, a.B = true, int64(c.bias), view(pack(dt, bias))
		}
		if c.resid {
			res = randBits(r, dt, c.n)
			a.HasResid, a.R = true, view(pack(dt, res))
		}
	}
	for _, v := range mems {
		if v.Mem == nil {
			return fmt.Errorf("allocation failed")
		}
	}
	yOld := make([]byte, 0)
	if data {
		yOld = make([]byte, (c.n+1)*dt.Size()+4)
		if err := q.Download(yOld[:len(yOld)-4], a.Y); err != nil {
			return err
		}
	}
	if err := q.Launch(c.k, a); err != nil {
		return err
	}
	var yb []byte
	if data {
		yb = make([]byte, len(yOld)-4)
		if err := q.Download(yb, a.Y); err != nil {
			return err
		}
	}
	mout := make([]byte, len(mbytes))
	if f != dropout.MaskNone {
		if err := q.Download(mout, a.M); err != nil {
			return err
		}
	}
	if err := q.Wait(); err != nil {
		return err
	}
	// the mask
	keeps := make([]bool, mlen)
	for j := range mlen {
		if c.k.ReadsMask() {
			keeps[j] = maskKeep(f, mbytes, j)
		} else {
			keeps[j] = streamKeep(a, j)
		}
	}
	if f != dropout.MaskNone && !c.k.ReadsMask() {
		want := make([]byte, len(mbytes))
		for j := range mlen {
			if keeps[j] {
				if f == dropout.MaskBits {
					want[j/8] |= 1 << (j % 8)
				} else {
					want[j] = 1
				}
			}
		}
		for i := range want {
			if want[i] != mout[i] {
				return fmt.Errorf("mask byte %d: got %#x, want %#x", i, mout[i], want[i])
			}
		}
	}
	if !data {
		return nil
	}
	m := model{dt, a}
	got := unpack(dt, yb, c.n+1)
	old := unpack(dt, yOld, c.n+1)
	for i := range n {
		j := i
		if c.dims != nil {
			j = 0
			k, st := c.i0+i, int64(1)
			for dd := len(c.dims) - 1; dd >= 0; dd-- {
				sz := c.dims[dd].Size
				if c.dims[dd].Stride != 0 {
					j += k % sz * st
					st *= sz
				}
				k /= sz
			}
		}
		var bv, rv uint64
		if c.bias > 0 {
			bv = bias[(c.i0+i)%int64(c.bias)]
		}
		if c.resid {
			rv = res[i]
		}
		want := m.elem(x[i], keeps[j], bv, rv, c.bias > 0, c.resid)
		if got[i] != want && !(isNaN(dt, got[i]) && isNaN(dt, want)) {
			return fmt.Errorf("element %d (x %#x, keep %v, b %#x, r %#x): got %#x, want %#x", i, x[i], keeps[j], bv, rv, got[i], want)
		}
	}
	if got[n] != old[n] {
		return fmt.Errorf("element %d after the launch changed from %#x to %#x", n, old[n], got[n])
	}
	return nil
}

func isNaN(dt dropout.DType, v uint64) bool {
	switch dt {
	case dropout.Float64:
		return math.IsNaN(math.Float64frombits(v))
	case dropout.Float32:
		return math.IsNaN(float64(math.Float32frombits(uint32(v))))
	case dropout.Float16:
		return v&0x7c00 == 0x7c00 && v&0x3ff != 0
	}
	return v&0x7f80 == 0x7f80 && v&0x7f != 0
}

// TestOps checks 16-bit data, alpha dropout, the fused op and regions
// through the executor (exectest.CheckOps: every data type, mask format,
// p in {0, 0.3, 1}, host tensors and buffers, forward and backward)
// against the reference backend, on lavapipe under the validation layer,
// with the default launches and (short: p = 0.3, one mask format and
// placement per case) with small chunks.
func TestOps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  dropout.Options
		short bool
	}{
		{"lavapipe", dropout.Options{}, false},
		{"SmallChunks", dropout.Options{MaxChunkBytes: 256}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exectest.CheckOps(t, openTest(t, tc.opts), exectest.OpCases(), tc.short)
		})
	}
}
