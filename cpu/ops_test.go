package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// opsBackends are fast backends that split small tensors over workers of
// odd sizes, on both kernel sets.
func opsBackends() []*cpu.CPU {
	return []*cpu.CPU{
		cpu.NewForTest(1, 32, true),
		cpu.NewForTest(3, 96, true),
		cpu.NewForTest(3, 64, false),
		cpu.NewForTest(2, 1<<20, false),
	}
}

// opsCase is one call of the new operations, compared between the fast
// backend and the reference.
type opsCase struct {
	dt        dropout.DType
	op        string // "plain", "alpha", "fused"
	bias, res bool
	p         dropout.Params
	n         int
}

func (c opsCase) String() string {
	return fmt.Sprintf("%v %s bias=%v res=%v n=%d p=%v off=%#x mask=%v shape=%v noise=%v global=%v start=%v",
		c.dt, c.op, c.bias, c.res, c.n, c.p.P, c.p.Offset, c.p.Mask, c.p.Shape, c.p.NoiseShape, c.p.Global, c.p.Start)
}

// randomOpsCase draws sizes that cross the tile (2048), 32 and 8 element
// boundaries, offsets near 2^64 and not multiples of 4, noise shapes and
// regions.
func randomOpsCase(r *rand.Rand) opsCase {
	c := opsCase{dt: allDTypes[r.IntN(len(allDTypes))], op: []string{"plain", "alpha", "fused"}[r.IntN(3)],
		bias: r.IntN(2) == 0, res: r.IntN(2) == 0}
	c.p = dropout.Params{P: []float64{0, 0.1, 0.5, 0.77, 1}[r.IntN(5)], Seed: r.Uint64(), Mask: dropout.MaskFormat(r.IntN(3))}
	switch r.IntN(3) {
	case 0:
		c.p.Offset = ^uint64(0) - uint64(r.IntN(5000))
	case 1:
		c.p.Offset = uint64(r.IntN(1000))
	default:
		c.p.Offset = r.Uint64()
	}
	sizes := []int{0, 1, 3, 7, 8, 9, 31, 33, 63, 65, 2047, 2048, 2049, 4096 + 37, 3*2048 + 5, 9000}
	switch r.IntN(4) {
	case 0: // flat
		c.n = sizes[r.IntN(len(sizes))]
	case 1: // 2-d with a noise shape
		rows, cols := 1+r.IntN(70), sizes[r.IntN(len(sizes))]%300+1
		c.p.Shape = []int{rows, cols}
		c.p.NoiseShape = [][]int{{rows, 1}, {1, cols}, {rows, cols}, {1, 1}}[r.IntN(4)]
		c.n = rows * cols
	default: // a region, with or without a noise shape
		rank := 1 + r.IntN(3)
		g, st, sh := make([]int, rank), make([]int, rank), make([]int, rank)
		for d := range g {
			g[d] = 1 + r.IntN([]int{12000, 150, 30}[rank-1])
			st[d] = r.IntN(g[d])
			sh[d] = 1 + r.IntN(g[d]-st[d])
			if r.IntN(4) == 0 {
				st[d], sh[d] = 0, g[d]
			}
		}
		c.p.Global, c.p.Start, c.p.Shape = g, st, sh
		if r.IntN(2) == 0 {
			c.p.NoiseShape = make([]int, rank)
			for d := range g {
				c.p.NoiseShape[d] = g[d]
				if r.IntN(2) == 0 {
					c.p.NoiseShape[d] = 1
				}
			}
		}
		c.n = prod(sh)
	}
	c.p.Alpha = c.op == "alpha"
	return c
}

// runOps runs c's forward call and then its backward calls (from the
// stored mask in each format, and regenerated) on be, returning y, the
// mask and the dxs.
func runOps(be dropout.Backend, c opsCase, x, bias, res, dy dropout.Tensor) (out []dropout.Tensor, err error) {
	m := c.p.MaskLen(c.n)
	y := dropouttest.Zeros(c.dt, c.n)
	mask := make(dropout.Bytes, c.p.Mask.Bytes(m))
	for i := range mask {
		mask[i] = 0xee // garbage that a backend must overwrite
	}
	if c.op == "fused" {
		err = dropout.ForwardFused(be, y, x, bias, res, mask, c.p)
	} else {
		err = be.Forward(y, x, mask, c.p)
	}
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	out = append(out, y, mask)
	bp := c.p
	bp.Alpha = c.op == "alpha"
	for _, f := range []dropout.MaskFormat{c.p.Mask, dropout.MaskNone} {
		bp.Mask = f
		dx := dropouttest.Zeros(c.dt, c.n)
		if err := be.Backward(dx, dy, mask, bp); err != nil {
			return nil, fmt.Errorf("backward (%v): %w", f, err)
		}
		out = append(out, dx)
	}
	// in place: dx aliases dy
	bp.Mask = c.p.Mask
	dx := dropouttest.Zeros(c.dt, c.n)
	for i := 0; i < c.n; i++ {
		setBits(dx, i, getBits(dy, i))
	}
	if err := be.Backward(dx, dx, mask, bp); err != nil {
		return nil, fmt.Errorf("backward in place: %w", err)
	}
	return append(out, dx), nil
}

// opsInputs draws c's tensors: x, dy, and the fused op's bias and
// residual where c has them.
func opsInputs(r *rand.Rand, c opsCase) (x, dy, bias, res dropout.Tensor) {
	x, dy = randomTensor(r, c.dt, c.n), randomTensor(r, c.dt, c.n)
	if c.op == "fused" && c.bias {
		bias = randomTensor(r, c.dt, c.p.BiasLen(c.n))
	}
	if c.op == "fused" && c.res {
		res = randomTensor(r, c.dt, c.n)
	}
	return x, dy, bias, res
}

var opsOutputs = []string{"y", "mask", "dx (stored)", "dx (regenerated)", "dx (in place)"}

// compareOps runs c on the reference and on each backend, and reports the
// first output that differs.
func compareOps(t testing.TB, r *rand.Rand, c opsCase, backends ...*cpu.CPU) {
	t.Helper()
	x, dy, bias, res := opsInputs(r, c)
	want, err := runOps(cpu.NewReference(), c, x, bias, res, dy)
	if err != nil {
		t.Fatalf("%v: reference: %v", c, err)
	}
	for _, be := range backends {
		got, err := runOps(be, c, x, bias, res, dy)
		if err != nil {
			t.Fatalf("%v: %s: %v", c, be.Kernels(), err)
		}
		for k := range want {
			if i := sameTensor(got[k], want[k]); i >= 0 {
				t.Fatalf("%v: %s: %s[%d] = %#x, reference %#x", c, be.Kernels(), opsOutputs[k], i, getBits(got[k], i), getBits(want[k], i))
			}
		}
	}
}

// TestOpsVsReference compares the fast backend with the reference on
// random calls of every data type, operation, mask format, noise shape
// and region.
func TestOpsVsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	iters := 400
	if testing.Short() {
		iters = 100
	}
	backends := opsBackends()
	for it := 0; it < iters; it++ {
		compareOps(t, r, randomOpsCase(r), backends...)
	}
}

// TestFastRegions: blocks on the fast backends, reassembled, equal the
// reference's global call.
func TestFastRegions(t *testing.T) {
	var blocks []dropout.Backend
	for _, b := range opsBackends() {
		blocks = append(blocks, b)
	}
	checkRegions(t, cpu.NewReference(), blocks, 300, 2)
}

// TestFusedInPlace: dst may be x or the residual.
func TestFusedInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ref := cpu.NewReference()
	for _, dt := range allDTypes {
		for _, be := range []dropout.Backend{ref, cpu.NewForTest(3, 64, false)} {
			n := 5000
			p := dropout.Params{P: 0.4, Seed: 9, Offset: 3, Shape: []int{50, 100}}
			x, b, res := randomTensor(r, dt, n), randomTensor(r, dt, 100), randomTensor(r, dt, n)
			want := dropouttest.Zeros(dt, n)
			if err := dropout.ForwardFused(ref, want, x, b, res, nil, p); err != nil {
				t.Fatal(err)
			}
			for _, alias := range []string{"x", "residual"} {
				x2, r2 := dropouttest.Zeros(dt, n), dropouttest.Zeros(dt, n)
				for i := 0; i < n; i++ {
					setBits(x2, i, getBits(x, i))
					setBits(r2, i, getBits(res, i))
				}
				dst := x2
				if alias == "residual" {
					dst = r2
				}
				if err := dropout.ForwardFused(be, dst, x2, b, r2, nil, p); err != nil {
					t.Fatal(err)
				}
				if i := sameTensor(dst, want); i >= 0 {
					t.Errorf("%s %v dst = %s: element %d differs", be.Name(), dt, alias, i)
				}
			}
		}
	}
}

// TestEmptyOps: an empty tensor whose noise shape is not empty still
// writes its whole stored mask, for every operation and data type, and the
// backward pass reads it.
func TestEmptyOps(t *testing.T) {
	ref := cpu.NewReference()
	for _, dt := range allDTypes {
		for _, op := range []string{"plain", "alpha", "fused"} {
			for _, f := range dropout.AllMaskFormats() {
				for _, p := range []float64{0, 0.5, 1} {
					c := opsCase{dt: dt, op: op, bias: true, res: true, n: 0,
						p: dropout.Params{P: p, Seed: 5, Offset: ^uint64(0) - 2, Mask: f, Shape: []int{3, 0, 4}, NoiseShape: []int{3, 1, 4}, Alpha: op == "alpha"}}
					x := dropouttest.Zeros(dt, 0)
					var bias dropout.Tensor
					if op == "fused" {
						bias = dropouttest.Zeros(dt, 4)
					}
					want, err := runOps(ref, c, x, bias, x, x)
					if err != nil {
						t.Fatalf("%v: reference: %v", c, err)
					}
					if m := want[1].(dropout.Bytes); len(m) != f.Bytes(12) {
						t.Fatalf("%v: mask of %d bytes", c, len(m))
					}
					for _, be := range opsBackends() {
						got, err := runOps(be, c, x, bias, x, x)
						if err != nil {
							t.Fatalf("%v: %v", c, err)
						}
						if i := sameTensor(got[1], want[1]); i >= 0 {
							t.Fatalf("%v: mask byte %d = %#x, reference %#x", c, i, getBits(got[1], i), getBits(want[1], i))
						}
					}
				}
			}
		}
	}
}

// TestHalfBuffers: both backends allocate float16 and bfloat16 buffers,
// copy them, and run every operation with buffers as operands.
func TestHalfBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	ref := cpu.NewReference()
	for _, be := range []interface {
		dropout.Backend
		dropout.Fuser
	}{ref, cpu.New(dropout.Options{})} {
		for _, dt := range []dropout.DType{dropout.Float16, dropout.BFloat16} {
			const n = 3000
			x := randomTensor(r, dt, n)
			alloc := func(dt dropout.DType, n int) dropout.Buffer {
				b, err := be.Alloc(dt, n)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			bx, by, bb, bm := alloc(dt, n), alloc(dt, n), alloc(dt, 30), alloc(dropout.Uint8, n)
			if err := bx.Write(x); err != nil {
				t.Fatal(err)
			}
			if err := be.Copy(by, bx); err != nil {
				t.Fatal(err)
			}
			back := dropouttest.Zeros(dt, n)
			if err := by.Read(back); err != nil {
				t.Fatal(err)
			}
			if i := sameTensor(back, x); i >= 0 || getBits(back, 7) != getBits(x, 7) {
				t.Fatalf("%s %v: Copy differs at %d", be.Name(), dt, i)
			}
			p := dropout.Params{P: 0.3, Seed: 1, Mask: dropout.MaskBytes, Shape: []int{100, 30}}
			if err := be.ForwardFused(by, bx, bb, bx, bm, p); err != nil {
				t.Fatalf("%s %v: fused on buffers: %v", be.Name(), dt, err)
			}
			p.Alpha = true
			if err := be.Forward(by, bx, bm, p); err != nil {
				t.Fatalf("%s %v: forward on buffers: %v", be.Name(), dt, err)
			}
			if err := be.Backward(by, bx, bm, p); err != nil {
				t.Fatalf("%s %v: backward on buffers: %v", be.Name(), dt, err)
			}
			// the same call on host slices gives the same bits
			y, m := dropouttest.Zeros(dt, n), make(dropout.Bytes, n)
			if err := ref.Forward(y, x, m, p); err != nil {
				t.Fatal(err)
			}
			if err := ref.Backward(y, x, m, p); err != nil {
				t.Fatal(err)
			}
			if err := by.Read(back); err != nil {
				t.Fatal(err)
			}
			if i := sameTensor(back, y); i >= 0 {
				t.Fatalf("%s %v: buffer call differs at %d", be.Name(), dt, i)
			}
		}
	}
}
