package dropouttest

import (
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
)

// wrongAlpha is a broken alpha dropout: it computes the outputs of drop
// probability p+dp while masking at p, or drops to 0 instead of D.
type wrongAlpha struct {
	dropout.Backend
	dp     float64
	zeroed bool
}

func (w wrongAlpha) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if err := w.Backend.Forward(dst, x, mask, p); err != nil {
		return err
	}
	a := arithOf(dst.DType())
	_, A, B, D := coefficients(a, p.P)
	_, A2, B2, D2 := coefficients(a, p.P+w.dp)
	for i := range dst.Len() {
		v := get(dst, i)
		if v == a.out(D) {
			if w.zeroed {
				set(dst, i, 0)
			} else {
				set(dst, i, D2)
			}
			continue
		}
		set(dst, i, (v-B)/A*A2+B2)
	}
	return nil
}

func TestAlphaMomentsCatchBrokenBackends(t *testing.T) {
	ref := cpu.NewReference()
	for _, dt := range []dropout.DType{dropout.Float32, dropout.Float16, dropout.BFloat16} {
		for _, p := range []float64{0.2, 0.5} {
			m, v, err := AlphaMoments(ref, dt, p, 1<<20, 1)
			if err != nil || !m.Pass || !v.Pass {
				t.Errorf("the reference fails: %v %v %v", m, v, err)
			}
			m, v, err = AlphaMoments(wrongAlpha{Backend: ref, dp: 0.02}, dt, p, 1<<20, 1)
			if err != nil || m.Pass && v.Pass {
				t.Errorf("a backend using the coefficients of p+0.02 passes: %v %v %v", m, v, err)
			}
			m, v, err = AlphaMoments(wrongAlpha{Backend: ref, zeroed: true}, dt, p, 1<<20, 1)
			if err != nil || m.Pass && v.Pass {
				t.Errorf("a backend dropping to 0 passes: %v %v %v", m, v, err)
			}
		}
	}
}
