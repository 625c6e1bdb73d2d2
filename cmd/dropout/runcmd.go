package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/npy"
)

// barBytes is the input size above which run and backward show a progress
// bar on a terminal (about a second of reading, computing and writing).
const barBytes = 256 << 20

// common holds the flags run and backward share.
type common struct {
	out, backend, device, noise string
	p                           float64
	seed, offset                string
	format                      string
}

func (c *common) register(fs *flag.FlagSet, in string) {
	fs.StringVar(&c.out, "out", "", "output .npy `file` (required)")
	fs.Float64Var(&c.p, "p", 0, "drop probability in [0, 1] (required)")
	fs.StringVar(&c.seed, "seed", "", "Philox `seed`, a 64-bit unsigned integer")
	fs.StringVar(&c.offset, "offset", "0", "stream `offset` of mask element 0")
	fs.StringVar(&c.backend, "backend", "auto", "`backend`: auto, reference, cpu, opencl or vulkan")
	fs.StringVar(&c.device, "device", "", "device `index or name` (default: the backend's best)")
	fs.StringVar(&c.noise, "noise-shape", "", "mask `shape` D0,D1,... with 1 on broadcast axes (default: the "+in+"'s shape)")
	fs.StringVar(&c.format, "mask-format", "bits", "mask file `format`: bits (uint8, ceil(n/8) bytes, LSB first) or bytes (uint8 0/1)")
}

// job is what run and backward share after parsing: the input array, the
// parameters and the backend.
type job struct {
	in     string
	x      *npy.Array
	params dropout.Params
	b      dropout.Backend
	bar    *bar
}

// load reads the input, checks the noise shape and opens the backend.
func (c *common) load(fs *flag.FlagSet, stderr io.Writer, in string, p *dropout.Params) (*job, error) {
	x, err := npy.ReadFile(in)
	if err != nil {
		return nil, err
	}
	j := &job{in: in, x: x}
	if bytes := x.Data.Len() * x.Data.DType().Size(); bytes >= barBytes {
		j.bar = newBar(stderr, 3, "dropout")
	}
	p.Shape = x.Shape
	if isSet(fs, "noise-shape") {
		noise, err := parseShape(c.noise)
		if err != nil {
			return nil, fmt.Errorf("--noise-shape %q: %v", c.noise, err)
		}
		if err := checkNoise(in, x.Shape, noise); err != nil {
			return nil, err
		}
		p.NoiseShape = noise
	}
	if err := p.Validate(x.Data.Len()); err != nil {
		return nil, fmt.Errorf("%s: %v", in, err)
	}
	j.bar.step(1, "dropout")
	if j.b, err = openBackend(c.backend, c.device); err != nil {
		return nil, err
	}
	j.params = *p
	return j, nil
}

// noiseOrShape is the shape the mask is drawn over.
func (j *job) noiseOrShape() []int {
	if j.params.NoiseShape != nil {
		return j.params.NoiseShape
	}
	return j.x.Shape
}

// output is a file to write once everything has been computed.
type output struct {
	path  string
	shape []int
	data  dropout.Tensor
}

// writeAll writes every output to a temporary file and renames them all
// only when every one is complete; on any error none is left behind.
func writeAll(outs ...output) error {
	for i, o := range outs {
		for _, p := range outs[:i] {
			if samePath(p.path, o.path) {
				return fmt.Errorf("%s: given as two outputs", o.path)
			}
		}
	}
	var files []*npy.File
	abort := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	for _, o := range outs {
		f, err := npy.Create(o.path)
		if err != nil {
			abort()
			return err
		}
		files = append(files, f)
		if err := f.Write(o.shape, o.data); err != nil {
			abort()
			return err
		}
	}
	for i, f := range files {
		if err := f.Commit(); err != nil {
			abort()
			for _, done := range files[:i] {
				os.Remove(done.Path) // no partial set of outputs either
			}
			return err
		}
	}
	return nil
}

func samePath(a, b string) bool {
	x, err1 := filepath.Abs(a)
	y, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && x == y
}

func alloc(t dropout.Tensor) dropout.Tensor {
	if t.DType() == dropout.Float64 {
		return make(dropout.Float64s, t.Len())
	}
	return make(dropout.Float32s, t.Len())
}

func cmdRun(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("run", stderr, "--in X.npy --out Y.npy --p P [flags]")
	var c common
	in := fs.String("in", "", "input .npy `file` (float32 or float64, any shape, C or Fortran order) (required)")
	maskOut := fs.String("mask-out", "", "write the mask to this .npy `file`")
	c.register(fs, "input")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *in == "":
		return errors.New("run: --in is required")
	case c.out == "":
		return errors.New("run: --out is required")
	case !isSet(fs, "p"):
		return errors.New("run: --p is required")
	}
	if err := checkP(c.p); err != nil {
		return fmt.Errorf("run: %v", err)
	}
	p := dropout.Params{P: c.p}
	if *maskOut != "" {
		f, err := dropout.ParseMaskFormat(c.format)
		if err != nil || f == dropout.MaskNone {
			return fmt.Errorf("run: --mask-format %q: want bits or bytes", c.format)
		}
		p.Mask = f
	} else if isSet(fs, "mask-format") {
		return errors.New("run: --mask-format needs --mask-out")
	}
	var err error
	if p.Offset, err = parseSeed("offset", c.offset); err != nil {
		return fmt.Errorf("run: %v", err)
	}
	if isSet(fs, "seed") {
		if p.Seed, err = parseSeed("seed", c.seed); err != nil {
			return fmt.Errorf("run: %v", err)
		}
	} else {
		p.Seed = rand.Uint64()
		fmt.Fprintf(stderr, "dropout: random seed %d (pass --seed %d to repeat this run)\n", p.Seed, p.Seed)
	}
	j, err := c.load(fs, stderr, *in, &p)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer j.b.Close()
	defer j.bar.finish()
	n := j.x.Data.Len()
	m := p.MaskLen(n)
	y := alloc(j.x.Data)
	var mask dropout.Bytes
	var maskT dropout.Tensor
	if p.Mask != dropout.MaskNone {
		mask = make(dropout.Bytes, p.Mask.Bytes(m))
		maskT = mask
	}
	if err := j.b.Forward(y, j.x.Data, maskT, p); err != nil {
		return fmt.Errorf("run: %s: %v", j.b.Name(), err)
	}
	j.bar.step(2, "writing")
	outs := []output{{c.out, j.x.Shape, y}}
	if mask != nil {
		outs = append(outs, output{*maskOut, npy.MaskShape(p.Mask, j.noiseOrShape()), mask})
	}
	if err := writeAll(outs...); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	j.bar.finish()
	fmt.Fprintf(stdout, "wrote %s: %v %s, p=%v seed=%d offset=%d, %d mask elements (next offset %d), backend %s\n",
		c.out, j.x.Data.DType(), npy.ShapeString(j.x.Shape), p.P, p.Seed, p.Offset, m, p.Offset+uint64(m), j.b.Name())
	if mask != nil {
		fmt.Fprintf(stdout, "wrote %s: %v mask, uint8 %s, mask shape %s: %d of %d kept\n",
			*maskOut, p.Mask, npy.ShapeString(outs[1].shape), npy.ShapeString(j.noiseOrShape()), kept(mask, p.Mask), m)
	}
	return nil
}

// kept counts the kept elements of a mask.
func kept(m dropout.Bytes, f dropout.MaskFormat) int {
	k := 0
	for _, v := range m {
		if f == dropout.MaskBits {
			k += bits.OnesCount8(v)
		} else {
			k += int(v)
		}
	}
	return k
}

func cmdBackward(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("backward", stderr, "--grad DY.npy --out DX.npy --p P (--mask M.npy [--mask-format bits|bytes] | --seed S [--offset O]) [flags]")
	var c common
	grad := fs.String("grad", "", "upstream gradient .npy `file` (required)")
	maskIn := fs.String("mask", "", "the forward call's mask .npy `file` (or give --seed to regenerate it)")
	c.register(fs, "gradient")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *grad == "":
		return errors.New("backward: --grad is required")
	case c.out == "":
		return errors.New("backward: --out is required")
	case !isSet(fs, "p"):
		return errors.New("backward: --p is required")
	case *maskIn != "" && isSet(fs, "seed"):
		return errors.New("backward: give --mask or --seed, not both")
	case *maskIn == "" && !isSet(fs, "seed"):
		return errors.New("backward: give --mask M.npy (a stored mask) or --seed S (to regenerate the mask)")
	case *maskIn != "" && isSet(fs, "offset"):
		return errors.New("backward: --offset goes with --seed, not --mask")
	case *maskIn == "" && isSet(fs, "mask-format"):
		return errors.New("backward: --mask-format needs --mask")
	}
	if err := checkP(c.p); err != nil {
		return fmt.Errorf("backward: %v", err)
	}
	p := dropout.Params{P: c.p}
	var err error
	if *maskIn != "" {
		if p.Mask, err = dropout.ParseMaskFormat(c.format); err != nil || p.Mask == dropout.MaskNone {
			return fmt.Errorf("backward: --mask-format %q: want bits or bytes", c.format)
		}
	} else {
		if p.Seed, err = parseSeed("seed", c.seed); err != nil {
			return fmt.Errorf("backward: %v", err)
		}
		if p.Offset, err = parseSeed("offset", c.offset); err != nil {
			return fmt.Errorf("backward: %v", err)
		}
	}
	j, err := c.load(fs, stderr, *grad, &p)
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	defer j.b.Close()
	defer j.bar.finish()
	var maskT dropout.Tensor
	if p.Mask != dropout.MaskNone {
		m, err := npy.ReadMask(*maskIn, p.Mask, j.noiseOrShape())
		if err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		maskT = m
	}
	dx := alloc(j.x.Data)
	if err := j.b.Backward(dx, j.x.Data, maskT, p); err != nil {
		return fmt.Errorf("backward: %s: %v", j.b.Name(), err)
	}
	j.bar.step(2, "writing")
	if err := writeAll(output{c.out, j.x.Shape, dx}); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	j.bar.finish()
	src := fmt.Sprintf("regenerated from seed=%d offset=%d", p.Seed, p.Offset)
	if p.Mask != dropout.MaskNone {
		src = fmt.Sprintf("from the %v mask %s", p.Mask, *maskIn)
	}
	fmt.Fprintf(stdout, "wrote %s: %v %s, p=%v, mask %s, backend %s\n",
		c.out, j.x.Data.DType(), npy.ShapeString(j.x.Shape), p.P, src, j.b.Name())
	return nil
}
