package verify

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
)

// The checks of 16-bit data, alpha dropout, the fused op and regions: each
// runs where the device's capabilities claim the feature, and is reported
// as skipped, with the reason, where they do not.

// skipped is a check that does not apply to the device.
type skipped struct{ reason string }

func (s skipped) Error() string { return s.reason }

func skip(format string, a ...any) error { return skipped{fmt.Sprintf(format, a...)} }

// sixteen checks float16 or bfloat16 forward and backward against the
// reference: every size, p, offset and mask format of the grid, with the
// special values dropouttest.Data puts in (NaN, ±Inf, −0, subnormals).
func sixteen(dt dropout.DType) func(b dropout.Backend, c *Config) (string, error) {
	return func(b dropout.Backend, c *Config) (string, error) {
		if ok, why := b.Device().Caps.Supports(dt, dropout.MaskNone, false, false); !ok {
			return "", skip("%s", why)
		}
		if isRef(b) {
			return "is the reference (checked against NumPy's rounding in its tests)", nil
		}
		cases, err := grid(b, c, dt, false)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d cases equal (%v forward and backward, %d sizes, %d p, %d offsets, 3 mask formats)", cases, dt, len(c.Sizes), len(c.Ps), len(c.Offsets)), nil
	}
}

// grid compares forward (and backward from each mask format and
// regenerated) with the reference over the grid of sizes, p, offsets and
// mask formats, for data of type dt, alpha dropout when alpha is set.
func grid(b dropout.Backend, c *Config, dt dropout.DType, alpha bool) (int, error) {
	ref := cpu.NewReference()
	cases := 0
	for _, n := range c.Sizes {
		x := dropouttest.Data(dt, n, uint64(n)+3)
		for _, p := range c.Ps {
			for _, off := range c.Offsets {
				for _, f := range formats {
					pr := dropout.Params{P: p, Seed: 0x16 + uint64(n), Offset: off, Mask: f, Alpha: alpha}
					if err := compare(b, x, pr); err != nil {
						return 0, err
					}
					m := dropouttest.NewMask(f, n)
					if f != dropout.MaskNone {
						if err := ref.Forward(dropouttest.Zeros(dt, n), x, m, pr); err != nil {
							return 0, err
						}
					}
					want, got := dropouttest.Zeros(dt, n), dropouttest.Zeros(dt, n)
					if err := ref.Backward(want, x, m, pr); err != nil {
						return 0, err
					}
					if err := b.Backward(got, x, m, pr); err != nil {
						return 0, err
					}
					if err := dropouttest.Equal(got, want); err != nil {
						return 0, fail("%v backward n=%d p=%v offset=%d mask %v: %v", dt, n, p, off, f, err)
					}
					cases++
				}
			}
		}
	}
	return cases, nil
}

// alpha checks alpha dropout: bit for bit against the reference on the
// grid, for float32 and every 16-bit type the device takes, and its
// moments (mean 0, variance 1 for SELU-normal input) within their bounds.
func alpha(b dropout.Backend, c *Config) (string, error) {
	caps := b.Device().Caps
	if ok, why := caps.Supports(dropout.Float32, dropout.MaskNone, false, true); !ok {
		return "", skip("%s", why)
	}
	cases := 0
	var types []dropout.DType
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float16, dropout.BFloat16} {
		if ok, _ := caps.Supports(dt, dropout.MaskNone, false, true); ok {
			types = append(types, dt)
		}
	}
	if !isRef(b) {
		for _, dt := range types {
			k, err := grid(b, c, dt, true)
			if err != nil {
				return "", err
			}
			cases += k
		}
	}
	detail := ""
	for _, p := range c.KeepPs {
		mean, variance, err := dropouttest.AlphaMoments(b, dropout.Float32, p, c.KeepN, 0xa1fa)
		if err != nil {
			return "", err
		}
		for _, ch := range []dropouttest.Check{mean, variance} {
			if !ch.Pass {
				return "", fail("%v", ch)
			}
		}
		detail += fmt.Sprintf("; p=%v: mean %.4f, variance %.4f", p, mean.Got, variance.Got)
	}
	return fmt.Sprintf("%d cases equal (%v)%s (n=%d, %.1fσ)", cases, types, detail, c.KeepN, dropouttest.Z()), nil
}

// fused checks the fused bias + dropout + residual op against the
// reference's: with bias and residual, each alone, every mask format,
// shapes whose rows cross vector widths, float32 and the 16-bit types.
func fused(b dropout.Backend, c *Config) (string, error) {
	caps := b.Device().Caps
	_, ok := b.(dropout.Fuser)
	if !caps.Fused || !ok {
		return "", skip("the fused bias+dropout+residual op is not supported")
	}
	if isRef(b) {
		return "is the reference", nil
	}
	ref := cpu.NewReference()
	cases := 0
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16} {
		if ok, _ := caps.Supports(dt, dropout.MaskNone, false, false); !ok {
			continue
		}
		for _, shape := range [][]int{{1, 1}, {3, 5}, {7, 33}, {4, 1027}, {1, 1 << 16}} {
			n := shape[0] * shape[1]
			x := dropouttest.Data(dt, n, 1)
			bias := dropouttest.Data(dt, shape[1], 2)
			res := dropouttest.Data(dt, n, 3)
			for _, p := range []float64{0, 0.3, 1} {
				for i, f := range formats {
					pr := dropout.Params{P: p, Seed: 99, Offset: c.Offsets[i%len(c.Offsets)], Mask: f, Shape: shape}
					for _, br := range [][2]dropout.Tensor{{bias, res}, {bias, nil}, {nil, res}} {
						want, got := dropouttest.Zeros(dt, n), dropouttest.Zeros(dt, n)
						wm, gm := dropouttest.NewMask(f, n), dropouttest.NewMask(f, n)
						if err := dropout.ForwardFused(ref, want, x, br[0], br[1], wm, pr); err != nil {
							return "", err
						}
						if err := dropout.ForwardFused(b, got, x, br[0], br[1], gm, pr); err != nil {
							return "", err
						}
						if err := dropouttest.Equal(got, want); err != nil {
							return "", fail("%v %v p=%v mask %v bias=%v residual=%v: %v", dt, shape, p, f, br[0] != nil, br[1] != nil, err)
						}
						if f != dropout.MaskNone {
							if err := dropouttest.Equal(gm, wm); err != nil {
								return "", fail("%v %v p=%v mask %v: mask: %v", dt, shape, p, f, err)
							}
						}
						cases++
					}
				}
			}
		}
	}
	return fmt.Sprintf("%d cases equal (bias and residual, each alone; 3 mask formats)", cases), nil
}

// regions cuts random global tensors (1–4-d, noise shapes included) into
// blocks, runs each block as a region on the device, and checks that the
// reassembled output and each block's mask equal one global call of the
// reference; backward from each block's mask too.
func regions(b dropout.Backend, c *Config) (string, error) {
	if !b.Device().Caps.Regions {
		return "", skip("regions (Params.Global and Start) are not supported")
	}
	ref := cpu.NewReference()
	r := rand.New(rand.NewPCG(9, 14))
	blocks := 0
	const trials = 40
	for trial := range trials {
		global, _, _ := dropouttest.RandomRegion(r, 9)
		noise := dropouttest.RandomNoise(r, global)
		f := formats[trial%len(formats)]
		n := 1
		for _, d := range global {
			n *= d
		}
		x := dropouttest.Data(dropout.Float32, n, uint64(trial))
		whole := dropout.Params{P: 0.4, Seed: r.Uint64(), Offset: uint64(trial) * (1<<32 - 3), Mask: f, Shape: global, NoiseShape: noise}
		want := dropouttest.Zeros(dropout.Float32, n)
		wm := dropouttest.NewMask(f, whole.MaskLen(n))
		if err := ref.Forward(want, x, wm, whole); err != nil {
			return "", err
		}
		got := dropouttest.Zeros(dropout.Float32, n)
		for _, blk := range partition(r, global) {
			start, shape := blk[0], blk[1]
			p := whole
			p.Shape, p.Global, p.Start = shape, global, start
			k := 1
			for _, d := range shape {
				k *= d
			}
			xb := dropouttest.Block(x, global, start, shape)
			yb := dropouttest.Zeros(dropout.Float32, k)
			mb := dropouttest.NewMask(f, p.MaskLen(k))
			if err := b.Forward(yb, xb, mb, p); err != nil {
				return "", err
			}
			dropouttest.PutBlock(got, global, start, shape, yb)
			if f != dropout.MaskNone {
				if err := dropouttest.Equal(mb, dropouttest.MaskBlock(wm, f, global, noise, start, shape)); err != nil {
					return "", fail("global %v noise %v block %v at %v: mask: %v", global, noise, shape, start, err)
				}
			}
			// Backward of the block from its mask (or regenerated)
			// equals the block of the forward output.
			dx := dropouttest.Zeros(dropout.Float32, k)
			if err := b.Backward(dx, xb, mb, p); err != nil {
				return "", err
			}
			if err := dropouttest.Equal(dx, dropouttest.Block(want, global, start, shape)); err != nil {
				return "", fail("global %v noise %v block %v at %v: backward: %v", global, noise, shape, start, err)
			}
			blocks++
		}
		if err := dropouttest.Equal(got, want); err != nil {
			return "", fail("global %v noise %v mask %v: reassembled blocks differ from one call: %v", global, noise, f, err)
		}
	}
	return fmt.Sprintf("%d random tensors in %d blocks (1-wide, edge, whole; noise shapes; 3 mask formats) reassemble to one global call", trials, blocks), nil
}

// partition cuts shape into blocks: each axis split at up to two random
// points. It returns (start, shape) pairs.
func partition(r *rand.Rand, shape []int) [][2][]int {
	cuts := make([][]int, len(shape))
	for a, d := range shape {
		c := []int{0, d}
		for range r.IntN(3) {
			c = append(c, r.IntN(d+1))
		}
		slices.Sort(c)
		cuts[a] = slices.Compact(c)
	}
	var out [][2][]int
	idx := make([]int, len(shape))
	for {
		start, sh := make([]int, len(shape)), make([]int, len(shape))
		empty := false
		for a := range shape {
			start[a], sh[a] = cuts[a][idx[a]], cuts[a][idx[a]+1]-cuts[a][idx[a]]
			empty = empty || sh[a] == 0
		}
		if !empty {
			out = append(out, [2][]int{start, sh})
		}
		a := len(shape) - 1
		for ; a >= 0; a-- {
			idx[a]++
			if idx[a] < len(cuts[a])-1 {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return out
		}
	}
}

// isSkip reports whether err is a skipped check.
func isSkip(err error) (string, bool) {
	var s skipped
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}
