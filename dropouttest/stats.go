package dropouttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/gpudropout/dropout"
)

// Alpha is the false-alarm rate of the statistical checks: each bound is
// the two-sided normal quantile of 1-Alpha/2 standard deviations (about
// 4.9). The checks use fixed seeds, so they are deterministic; Alpha says
// how unlikely a correct generator is to fail one.
const Alpha = 1e-6

// Z returns the number of standard deviations of the checks' bounds.
func Z() float64 { return distuv.UnitNormal.Quantile(1 - Alpha/2) }

// Check is the outcome of one statistical check.
type Check struct {
	Name string
	Got  float64 // the measured value
	Want float64 // its expectation under the contract
	Tol  float64 // the allowed |Got-Want|, derived from the variance
	Pass bool
}

func (c Check) String() string {
	verdict := "ok"
	if !c.Pass {
		verdict = "FAIL"
	}
	return fmt.Sprintf("%s: got %.9g, want %.9g ± %.3g: %s", c.Name, c.Got, c.Want, c.Tol, verdict)
}

func newCheck(name string, got, want, tol float64) Check {
	return Check{Name: name, Got: got, Want: want, Tol: tol, Pass: math.Abs(got-want) <= tol}
}

// KeepProb returns the exact probability that an element is kept at drop
// probability p: 1 - floor(p·2^32)/2^32.
func KeepProb(p float64) float64 {
	return 1 - float64(dropout.Threshold(p))/(1<<32)
}

// KeepRate runs b.Forward over n elements with a byte mask and checks that
// the number of kept elements lies inside the binomial bound
// n·q ± Z·sqrt(n·q·(1-q)), q = KeepProb(p).
func KeepRate(b dropout.Backend, p float64, n int, seed uint64) (Check, error) {
	x := make(dropout.Float32s, n)
	mask := make(dropout.Bytes, n)
	if err := b.Forward(x, x, mask, dropout.Params{P: p, Seed: seed, Mask: dropout.MaskBytes}); err != nil {
		return Check{}, err
	}
	kept := 0
	for _, m := range mask {
		kept += int(m)
	}
	q := KeepProb(p)
	fn := float64(n)
	return newCheck(fmt.Sprintf("keep rate p=%v n=%d", p, n), float64(kept), fn*q, Z()*math.Sqrt(fn*q*(1-q))), nil
}

// SeedExample is the 10-element layer output of the seed document.
var SeedExample = []float32{0.27, -1.03, 0.67, 0.99, 0.05, -0.37, -2.01, 1.13, -0.07, 0.73}

// MeanSum applies dropout to x trials times, drawing successive masks from
// one Generator, and checks that the mean of the sums of the outputs is the
// expected sum q·s·Σx within Z standard errors, where the variance of one
// sum is s²·q·(1-q)·Σx² (s = Scale32(p), q = KeepProb(p)). This is the
// seed document's mean-sum check.
func MeanSum(b dropout.Backend, x []float32, p float64, trials int, seed uint64) (Check, error) {
	g := dropout.NewGenerator(seed)
	y := make(dropout.Float32s, len(x))
	sums := make([]float64, trials)
	for t := range sums {
		if _, err := g.Forward(b, y, dropout.Float32s(x), nil, dropout.Params{P: p}); err != nil {
			return Check{}, err
		}
		var s float64
		for _, v := range y {
			s += float64(v)
		}
		sums[t] = s
	}
	return meanSumCheck(fmt.Sprintf("mean sum n=%d p=%v trials=%d", len(x), p, trials), x, p, stat.Mean(sums, nil), trials), nil
}

func meanSumCheck(name string, x []float32, p, mean float64, trials int) Check {
	s := float64(dropout.Scale32(p))
	q := KeepProb(p)
	var sum, sum2, sumAbs float64
	for _, v := range x {
		sum += float64(v)
		sum2 += float64(v) * float64(v)
		sumAbs += math.Abs(float64(v))
	}
	sd := math.Sqrt(s * s * q * (1 - q) * sum2 / float64(trials))
	// Each kept output is x·s rounded to float32 (relative error <= 2^-24);
	// the float64 sums add at most n·2^-53 relative error more.
	round := s * sumAbs * (0x1p-24 + float64(len(x))*0x1p-53)
	return newCheck(name, mean, q*s*sum, Z()*sd+round)
}

// MeanSumLarge checks the sum of one dropout pass over a large random
// tensor (normal, mean 1 and deviation 1, like a layer's activations)
// against q·s times the sum of its input, within Z standard deviations.
func MeanSumLarge(b dropout.Backend, n int, p float64, seed uint64) (Check, error) {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make(dropout.Float32s, n)
	for i := range x {
		x[i] = float32(1 + r.NormFloat64())
	}
	y := make(dropout.Float32s, n)
	if err := b.Forward(y, x, nil, dropout.Params{P: p, Seed: seed}); err != nil {
		return Check{}, err
	}
	var sum float64
	for _, v := range y {
		sum += float64(v)
	}
	return meanSumCheck(fmt.Sprintf("sum of a random tensor n=%d p=%v", n, p), x, p, sum, 1), nil
}

// Statistics runs the statistical checks on b: keep rates at several p over
// about 10^7 elements, the seed document's mean-sum example over 10,000
// trials, the sum of a large random tensor, and, where b claims alpha
// dropout, AlphaStatistics.
func Statistics(t *testing.T, b dropout.Backend) {
	// The bounds of KeepRate and MeanSumLarge derive from n; under the
	// race detector the samples are smaller (and the bounds wider).
	n, large := 10_000_000, 1<<22
	if raceEnabled {
		n, large = 2_000_000, 1<<20
	}
	for _, p := range []float64{0.001, 0.1, 0.2, 0.5, 0.9} {
		c, err := KeepRate(b, p, n, 0x5eed+uint64(p*1000))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Pass {
			t.Error(c)
		}
	}
	for _, p := range []float64{0.2, 0.5} {
		c, err := MeanSum(b, SeedExample, p, 10_000, 2024)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Pass {
			t.Error(c)
		}
		c, err = MeanSumLarge(b, large, p, 99)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Pass {
			t.Error(c)
		}
	}
	AlphaStatistics(t, b)
}
