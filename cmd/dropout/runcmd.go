package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/npy"
)

// barBytes is the input size above which run and backward show a progress
// bar on a terminal (about a second of reading, computing and writing).
const barBytes = 256 << 20

// common holds the flags run and backward share.
type common struct {
	out, backend, device, noise string
	p                           *float64
	seed, offset                string
	format                      string
}

func (c *common) register(fs *flag.FlagSet, in string) {
	fs.StringVar(&c.out, "out", "", "output .npy `file` (required; - for standard output)")
	c.p = newFloat(fs, "p", 0, "drop probability in [0, 1] (required)")
	fs.StringVar(&c.seed, "seed", "", "Philox `seed`, a 64-bit unsigned integer (decimal, or hex with 0x)")
	fs.StringVar(&c.offset, "offset", "0", "stream `offset` of mask element 0")
	fs.StringVar(&c.backend, "backend", "auto", "`backend`: auto, reference, cpu, opencl or vulkan")
	fs.StringVar(&c.device, "device", "", "device `index or name` (default: the backend's best)")
	fs.StringVar(&c.noise, "noise-shape", "", "mask `shape` D0,D1,... with 1 on broadcast axes (default: the "+in+"'s shape)")
	fs.StringVar(&c.format, "mask-format", "bits", "mask file `format`: bits (uint8, ceil(n/8) bytes, LSB first) or bytes (uint8 0/1)")
}

// job is what run and backward share after parsing: the input, whose data
// is read once the memory it needs is known to be there, the parameters
// and the backend.
type job struct {
	in     string
	src    *npy.Input
	shape  []int
	x      *npy.Array
	params dropout.Params
	b      dropout.Backend
	bar    *bar
}

// load opens the input and reads its header, and checks the noise shape
// and the parameters; no data is read yet.
func (c *common) load(fs *flag.FlagSet, stderr io.Writer, in string, p *dropout.Params) (*job, error) {
	src, err := openInput(in)
	if err != nil {
		return nil, err
	}
	j := &job{in: in, src: src}
	if err := src.CheckArray(); err != nil {
		j.close()
		return nil, err
	}
	h := src.Header
	j.shape = h.Shape
	if j.shape == nil {
		j.shape = []int{}
	}
	if h.Bytes() >= barBytes {
		j.bar = newBar(stderr, 3, "dropout")
	}
	p.Shape = j.shape
	if isSet(fs, "noise-shape") {
		noise, err := parseShape(c.noise)
		if err != nil {
			j.close()
			return nil, fmt.Errorf("--noise-shape %q: %v", c.noise, err)
		}
		if err := checkNoise(in, j.shape, noise); err != nil {
			j.close()
			return nil, err
		}
		p.NoiseShape = noise
	}
	if err := p.Validate(h.N); err != nil {
		j.close()
		return nil, fmt.Errorf("%s: %v", in, err)
	}
	j.params = *p
	return j, nil
}

// read checks that need bytes (the input, the output and the masks) fit
// in the memory available, then reads the input and opens the backend.
func (j *job) read(c *common, need int64, what string) error {
	if err := memLimit().Check(dropout.ErrOutOfMemory, what, need); err != nil {
		return oomError{err}
	}
	x, err := j.src.ReadArray()
	j.src.Close()
	if err != nil {
		return err
	}
	j.x = x
	j.bar.step(1, "dropout")
	j.b, err = openBackend(c.backend, c.device)
	return err
}

func (j *job) close() {
	j.src.Close()
	if j.b != nil {
		j.b.Close()
	}
	j.bar.finish()
}

// oomError is a memory check's error without the "dropout: " prefix of
// dropout.ErrOutOfMemory's text, which main adds once.
type oomError struct{ err error }

func (e oomError) Error() string { return strings.TrimPrefix(e.err.Error(), "dropout: ") }
func (e oomError) Unwrap() error { return e.err }

// sum adds byte counts that may each be near the int64 limit.
func sum(ns ...int64) int64 {
	var t int64
	for _, n := range ns {
		if t > math.MaxInt64-n {
			return math.MaxInt64
		}
		t += n
	}
	return t
}

// noiseOrShape is the shape the mask is drawn over.
func (j *job) noiseOrShape() []int {
	if j.params.NoiseShape != nil {
		return j.params.NoiseShape
	}
	return j.shape
}

// output is a file to write once everything has been computed.
type output struct {
	path  string
	shape []int
	data  dropout.Tensor
}

// writeAll writes every output, and replaces the regular files only once
// every output is complete: on an error before that none is replaced.
// Outputs that are streams ("-" for stdout, a FIFO, a device) are written
// after the regular files' temporary files and before those are renamed.
func writeAll(stdout io.Writer, outs ...output) error {
	files := make([]*npy.File, 0, len(outs))
	abort := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	for _, o := range outs {
		f, err := createOutput(stdout, o.path)
		if err != nil {
			abort()
			return err
		}
		files = append(files, f)
	}
	for _, streams := range []bool{false, true} {
		for i, f := range files {
			if f.IsStream() != streams {
				continue
			}
			err := f.Write(outs[i].shape, outs[i].data)
			if err == nil && streams {
				err = f.Commit()
			}
			if err != nil {
				abort()
				return err
			}
		}
	}
	for i, f := range files {
		if f.IsStream() {
			continue
		}
		if err := f.Commit(); err != nil {
			abort()
			var done []string
			for k, g := range files[:i] {
				if !g.IsStream() {
					done = append(done, outs[k].path)
				}
			}
			if len(done) > 0 {
				return fmt.Errorf("%w (already written: %s)", err, strings.Join(done, ", "))
			}
			return err
		}
	}
	return nil
}

func alloc(t dropout.Tensor) dropout.Tensor {
	if t.DType() == dropout.Float64 {
		return make(dropout.Float64s, t.Len())
	}
	return make(dropout.Float32s, t.Len())
}

// infoWriter is where the summary goes: stdout, unless an output is.
func infoWriter(stdout, stderr io.Writer, outs ...string) io.Writer {
	if slices.Contains(outs, "-") {
		return stderr
	}
	return stdout
}

func cmdRun(stdout, stderr io.Writer, args []string) error {
	fs := newFlags("run", stderr, "--in X.npy --out Y.npy --p P [flags]")
	var c common
	in := fs.String("in", "", "input .npy `file` (float32 or float64, any shape, C or Fortran order; - for standard input) (required)")
	maskOut := fs.String("mask-out", "", "write the mask to this .npy `file` (- for standard output)")
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
	if err := checkP(*c.p); err != nil {
		return fmt.Errorf("run: %v", err)
	}
	p := dropout.Params{P: *c.p}
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
	seeded := isSet(fs, "seed")
	if seeded {
		if p.Seed, err = parseSeed("seed", c.seed); err != nil {
			return fmt.Errorf("run: %v", err)
		}
	}
	if err := checkPaths(stdout, []namedPath{{"--in", *in}}, []namedPath{{"--out", c.out}, {"--mask-out", *maskOut}}); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	info := infoWriter(stdout, stderr, c.out, *maskOut)
	if !seeded {
		p.Seed = rand.Uint64()
		fmt.Fprintf(stderr, "dropout: random seed %d (pass --seed %d to repeat this run)\n", p.Seed, p.Seed)
	}
	j, err := c.load(fs, stderr, *in, &p)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer j.close()
	h := j.src.Header
	m := p.MaskLen(h.N)
	maskBytes := int64(0)
	if p.Mask != dropout.MaskNone {
		maskBytes = int64(p.Mask.Bytes(m))
	}
	what := fmt.Sprintf("%s (%v %s) with its output and mask", j.in, h.DType, npy.ShapeString(j.shape))
	if err := j.read(&c, sum(h.Bytes(), h.Bytes(), maskBytes), what); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	y := alloc(j.x.Data)
	var mask dropout.Bytes
	var maskT dropout.Tensor
	if p.Mask != dropout.MaskNone {
		mask = make(dropout.Bytes, maskBytes)
		maskT = mask
	}
	if err := j.b.Forward(y, j.x.Data, maskT, p); err != nil {
		return fmt.Errorf("run: %s: %v", j.b.Name(), err)
	}
	j.bar.step(2, "writing")
	outs := []output{{c.out, j.shape, y}}
	if mask != nil {
		outs = append(outs, output{*maskOut, npy.MaskShape(p.Mask, j.noiseOrShape()), mask})
	}
	if err := writeAll(stdout, outs...); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	j.bar.finish()
	fmt.Fprintf(info, "wrote %s: %v %s, p=%v seed=%d offset=%d, %d mask elements (next offset %d), backend %s\n",
		c.out, j.x.Data.DType(), npy.ShapeString(j.shape), p.P, p.Seed, p.Offset, m, p.Offset+uint64(m), j.b.Name())
	if mask != nil {
		fmt.Fprintf(info, "wrote %s: %v mask, uint8 %s, mask shape %s: %d of %d kept\n",
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
	grad := fs.String("grad", "", "upstream gradient .npy `file` (- for standard input) (required)")
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
	if err := checkP(*c.p); err != nil {
		return fmt.Errorf("backward: %v", err)
	}
	p := dropout.Params{P: *c.p}
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
	if err := checkPaths(stdout, []namedPath{{"--grad", *grad}, {"--mask", *maskIn}}, []namedPath{{"--out", c.out}}); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	info := infoWriter(stdout, stderr, c.out)
	j, err := c.load(fs, stderr, *grad, &p)
	if err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	defer j.close()
	h := j.src.Header
	var mask *npy.Input
	maskBytes := int64(0)
	if p.Mask != dropout.MaskNone {
		if mask, err = openInput(*maskIn); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		defer mask.Close()
		if err := mask.CheckMask(p.Mask, j.noiseOrShape()); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		maskBytes = mask.Header.Bytes()
	}
	what := fmt.Sprintf("%s (%v %s) with its output and mask", j.in, h.DType, npy.ShapeString(j.shape))
	if err := j.read(&c, sum(h.Bytes(), h.Bytes(), maskBytes), what); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	var maskT dropout.Tensor
	if mask != nil {
		m, err := mask.ReadMask(p.Mask, j.noiseOrShape())
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
	if err := writeAll(stdout, output{c.out, j.shape, dx}); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	j.bar.finish()
	src := fmt.Sprintf("regenerated from seed=%d offset=%d", p.Seed, p.Offset)
	if p.Mask != dropout.MaskNone {
		src = fmt.Sprintf("from the %v mask %s", p.Mask, *maskIn)
	}
	fmt.Fprintf(info, "wrote %s: %v %s, p=%v, mask %s, backend %s\n",
		c.out, j.x.Data.DType(), npy.ShapeString(j.shape), p.P, src, j.b.Name())
	return nil
}
