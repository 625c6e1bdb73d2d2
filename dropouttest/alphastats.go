package dropouttest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gpudropout/dropout"
)

// AlphaMoments is PyTorch's own test of alpha dropout (test_AlphaDropout)
// with bounds derived from n instead of a fixed tolerance: it runs alpha
// dropout at p over n standard normal inputs of type dt (the output of a
// SELU network, mean 0 and variance 1) and checks that the output keeps
// mean 0 and variance 1.
//
// The bounds. With q the keep probability (KeepProb(p)) and A, B, D the
// coefficients as the backend rounds them (to float32, or float64 for
// float64 data), one output is A·x+B with probability q and D otherwise,
// x ~ N(0, 1) independent of the mask, so its moments are exactly
//
//	μ  = E[y]  = q·B + (1−q)·D
//	m2 = E[y²] = q·(A² + B²) + (1−q)·D²
//	m4 = E[y⁴] = q·(3A⁴ + 6A²B² + B⁴) + (1−q)·D⁴
//
// (alpha dropout's coefficients make μ = 0 and m2 = 1 up to their rounding,
// which the check also asserts, within 1e-6). The sample mean of n
// independent outputs has standard deviation σ/√n, σ² = m2 − μ²; the
// sample second moment Σy²/n has variance (m4 − m2²)/n, and the sample
// variance Σy²/n − ȳ² differs from it by ȳ², of order σ²/n. Each bound is
// Z() standard deviations (false-alarm rate Alpha) plus the rounding of the
// outputs: each output is rounded once more to dt (relative error u = 2^-24
// for float32, 2^-11 float16, 2^-8 bfloat16), which moves the mean by at
// most u·E|y| ≤ u·√m2 and the second moment by at most (2u+u²)·m2; the
// float64 sums add a relative n·2^-53.
func AlphaMoments(b dropout.Backend, dt dropout.DType, p float64, n int, seed uint64) (mean, variance Check, err error) {
	r := rand.New(rand.NewPCG(seed, 0xa1fa))
	x := Zeros(dt, n)
	for i := range n {
		set(x, i, r.NormFloat64())
	}
	y := Zeros(dt, n)
	if err := b.Forward(y, x, nil, dropout.Params{P: p, Seed: seed, Alpha: true}); err != nil {
		return Check{}, Check{}, err
	}
	var s1, s2 float64
	for i := range n {
		v := get(y, i)
		s1 += v
		s2 += v * v
	}
	fn := float64(n)
	ybar := s1 / fn
	sampleVar := s2/fn - ybar*ybar

	a := arithOf(dt)
	_, A, B, D := coefficients(a, p)
	q := KeepProb(p)
	mu := q*B + (1-q)*D
	m2 := q*(A*A+B*B) + (1-q)*D*D
	m4 := q*(3*A*A*A*A+6*A*A*B*B+B*B*B*B) + (1-q)*D*D*D*D
	sigma2 := m2 - mu*mu
	if math.Abs(mu) > 1e-6 || math.Abs(sigma2-1) > 1e-6 {
		return Check{}, Check{}, fmt.Errorf("alpha dropout p=%v (%v): the coefficients give mean %v and variance %v, want 0 and 1", p, dt, mu, sigma2)
	}
	u := map[dropout.DType]float64{dropout.Float64: 0x1p-53, dropout.Float32: 0x1p-24, dropout.Float16: 0x1p-11, dropout.BFloat16: 0x1p-8}[dt]
	sums := fn * 0x1p-53
	name := fmt.Sprintf("alpha dropout %v p=%v n=%d", dt, p, n)
	mean = newCheck(name+" mean", ybar, mu, Z()*math.Sqrt(sigma2/fn)+u*math.Sqrt(m2)+sums*math.Sqrt(m2))
	variance = newCheck(name+" variance", sampleVar, sigma2,
		Z()*math.Sqrt((m4-m2*m2)/fn)+sigma2/fn*(Z()*Z()+1)+(2*u+u*u)*m2+sums*m2)
	return mean, variance, nil
}

// AlphaStatistics runs AlphaMoments on b at several p for every type the
// backend claims, if it claims alpha dropout.
func AlphaStatistics(t *testing.T, b dropout.Backend) {
	caps := b.Device().Caps
	if !caps.Alpha {
		return
	}
	n := 1 << 20
	if raceEnabled {
		n = 1 << 18 // the bounds derive from n (AlphaMoments)
	}
	for _, dt := range caps.DTypes {
		for _, p := range []float64{0.05, 0.2, 0.5, 0.8} {
			mean, variance, err := AlphaMoments(b, dt, p, n, 0xa1fa+uint64(p*100))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []Check{mean, variance} {
				if !c.Pass {
					t.Error(c)
				}
			}
		}
	}
}
