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
	dtype                       string
	alpha                       bool
	global, start               string
	maxMem                      string
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
	fs.StringVar(&c.dtype, "dtype", "", "data `type`: empty for the file's (float32, float64 or float16), or bfloat16 to read and write uint16 data as bfloat16 bits")
	fs.BoolVar(&c.alpha, "alpha", false, "alpha dropout (PyTorch's alpha_dropout, for SELU networks)")
	fs.StringVar(&c.global, "global-shape", "", "the "+in+" is a block of a tensor of this global `shape` G0,G1,... and gets the global tensor's mask (with --start)")
	fs.StringVar(&c.start, "start", "", "`index` S0,S1,... of the block's first element in the global tensor (with --global-shape)")
	fs.StringVar(&c.maxMem, "max-memory", "1G", "memory `bound` for the data: a larger file is streamed in chunks (bytes, or with K, M or G)")
}

// job is what run and backward share after parsing: the input, whose data
// is read once the memory it needs is known to be there, the parameters
// and the backend.
type job struct {
	in      string
	src     *npy.Input
	shape   []int
	dt      dropout.DType
	fortran bool // the input is in Fortran order: so is the output
	x       *npy.Array
	params  dropout.Params
	b       dropout.Backend
	bar     *bar
	maxMem  int64
	extra   []*npy.Input // other inputs (residual, bias, mask), closed by close
}

// load opens the input and reads its header, and checks the noise shape
// and the parameters; no data is read yet.
func (c *common) load(fs *flag.FlagSet, stderr io.Writer, in string, p *dropout.Params) (*job, error) {
	src, err := openInput(in)
	if err != nil {
		return nil, err
	}
	j := &job{in: in, src: src}
	fail := func(err error) (*job, error) {
		j.close()
		return nil, err
	}
	switch c.dtype {
	case "":
	case "bfloat16":
		if err := src.AsBFloat16(); err != nil {
			return fail(err)
		}
	default:
		return fail(fmt.Errorf("--dtype %q: want bfloat16 (other types come from the file)", c.dtype))
	}
	if err := src.CheckArray(); err != nil {
		return fail(err)
	}
	h := src.Header
	j.dt = h.DType
	j.shape = h.Shape
	if j.shape == nil {
		j.shape = []int{}
	}
	j.fortran = h.Fortran && len(j.shape) > 1
	if j.maxMem, err = parseBytes(c.maxMem); err != nil {
		return fail(fmt.Errorf("--max-memory %q: %v", c.maxMem, err))
	}
	p.Shape = j.shape
	p.Alpha = c.alpha
	whole, what := j.shape, "the array's shape"
	switch {
	case isSet(fs, "global-shape") != isSet(fs, "start"):
		return fail(errors.New("--global-shape and --start go together"))
	case isSet(fs, "global-shape"):
		g, err := parseShape(c.global)
		if err != nil {
			return fail(fmt.Errorf("--global-shape %q: %v", c.global, err))
		}
		o, err := parseShape(c.start)
		if err != nil {
			return fail(fmt.Errorf("--start %q: %v", c.start, err))
		}
		if err := checkRegion(in, j.shape, g, o); err != nil {
			return fail(err)
		}
		p.Global, p.Start = g, o
		whole, what = g, "--global-shape"
	}
	if isSet(fs, "noise-shape") {
		noise, err := parseShape(c.noise)
		if err != nil {
			return fail(fmt.Errorf("--noise-shape %q: %v", c.noise, err))
		}
		if err := checkNoise(in, whole, noise, what); err != nil {
			return fail(err)
		}
		p.NoiseShape = noise
	}
	if err := p.Validate(h.N); err != nil {
		return fail(fmt.Errorf("%s: %v", in, err))
	}
	if h.Bytes() >= barBytes {
		j.bar = newBar(stderr, 3, "dropout")
	}
	j.params = *p
	return j, nil
}

// checkRegion checks --global-shape g and --start o for a block of the
// file's shape.
func checkRegion(path string, shape, g, o []int) error {
	if len(g) != len(shape) || len(o) != len(shape) {
		return fmt.Errorf("%s: --global-shape %s and --start %s must have the %d axes of the array's shape %s", path,
			npy.ShapeString(g), npy.ShapeString(o), len(shape), npy.ShapeString(shape))
	}
	for i := range g {
		if o[i] > g[i] || shape[i] > g[i]-o[i] {
			return fmt.Errorf("%s: the block %s at --start %s does not fit --global-shape %s: axis %d ends at %d, past %d", path,
				npy.ShapeString(shape), npy.ShapeString(o), npy.ShapeString(g), i, o[i]+shape[i], g[i])
		}
	}
	return nil
}

// open opens the backend and checks that its device can run the job:
// the data type, mask format, noise shape, alpha dropout, and where asked
// the fused op and regions, by its capabilities, with an error that names
// the backend and what it lacks.
func (j *job) open(c *common, fused bool) error {
	b, err := openBackend(c.backend, c.device)
	if err != nil {
		return err
	}
	j.b = b
	p := j.params
	caps := b.Device().Caps
	if len(caps.DTypes) == 0 {
		return nil // a backend that states no capabilities reports its own errors
	}
	if ok, why := caps.Supports(j.dt, p.Mask, p.NoiseShape != nil, p.Alpha); !ok {
		return fmt.Errorf("backend %s: %s", b.Name(), why)
	}
	_, isFuser := b.(dropout.Fuser)
	if fused && (!caps.Fused || !isFuser) {
		return fmt.Errorf("backend %s: the fused bias+dropout+residual op (--bias, --residual) is not supported", b.Name())
	}
	if p.IsRegion() && !caps.Regions {
		return fmt.Errorf("backend %s: regions (--global-shape, --start) are not supported", b.Name())
	}
	return nil
}

// needRegions reports whether streaming the job needs region calls: a
// chunk of a region, of a noise-shaped call or of Fortran-order data is a
// block that one Offset cannot describe.
func (j *job) needRegions() bool {
	return j.params.IsRegion() || j.params.NoiseShape != nil || j.fortran
}

// stream decides between the in-memory path and streaming: the data of
// need bytes is processed in memory when it fits both --max-memory and
// the memory available, and streamed otherwise (always with
// DROPOUT_STREAM_CHUNK set). memErr is the in-memory check's error, what
// the command reports when streaming cannot run either.
func (j *job) stream(need int64, what string) (stream bool, memErr error) {
	if len(j.shape) == 0 || j.src.Header.N == 0 {
		return false, nil // nothing worth streaming
	}
	if forcedChunk() > 0 {
		return true, nil
	}
	memErr = memLimit().Check(dropout.ErrOutOfMemory, what, need)
	if memErr != nil {
		memErr = oomError{memErr}
	}
	if memErr == nil && need <= j.maxMem {
		return false, nil
	}
	return true, memErr
}

// read checks that need bytes (the input, the output and the masks) fit
// in the memory available, then reads the input.
func (j *job) read(need int64, what string) error {
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
	return nil
}

func (j *job) close() {
	j.src.Close()
	for _, in := range j.extra {
		in.Close()
	}
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

// maskShape is the shape of the job's stored mask: the noise shape, or the
// array's shape, or for a block of a larger tensor the block of the
// global mask.
func (j *job) maskShape() []int {
	if s := j.params.MaskShape(); s != nil {
		return s
	}
	return []int{}
}

// output is a file to write once everything has been computed.
type output struct {
	path    string
	shape   []int
	data    dropout.Tensor
	fortran bool // written in Fortran order
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
			err := f.WriteOrder(outs[i].shape, outs[i].data, outs[i].fortran)
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
	return npy.Alloc(t.DType(), t.Len())
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
	in := fs.String("in", "", "input .npy `file` (float32, float64 or float16, any shape, C or Fortran order; - for standard input) (required)")
	maskOut := fs.String("mask-out", "", "write the mask to this .npy `file` (- for standard output)")
	biasIn := fs.String("bias", "", "add this bias .npy `file` (the length of the input's last axis, its dtype) before dropout: residual + dropout(x + bias)")
	resIn := fs.String("residual", "", "add this residual .npy `file` (the input's shape and dtype) after dropout: residual + dropout(x + bias)")
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
	fused := *biasIn != "" || *resIn != ""
	if fused && c.alpha {
		return errors.New("run: --alpha does not combine with --bias or --residual")
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
	if err := checkPaths(stdout, []namedPath{{"--in", *in}, {"--bias", *biasIn}, {"--residual", *resIn}},
		[]namedPath{{"--out", c.out}, {"--mask-out", *maskOut}}); err != nil {
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
	var bias dropout.Tensor
	var res *npy.Input
	if *biasIn != "" {
		if bias, err = j.readBias(*biasIn); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	if *resIn != "" {
		if res, err = j.openResidual(*resIn); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	if err := j.open(&c, fused); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	m := p.MaskLen(h.N)
	maskBytes := int64(0)
	if p.Mask != dropout.MaskNone {
		maskBytes = int64(p.Mask.Bytes(m))
	}
	need := sum(h.Bytes(), h.Bytes(), maskBytes)
	if res != nil {
		need = sum(need, h.Bytes())
	}
	if j.fortran {
		need = sum(need, h.Bytes()) // the output's transposed copy
	}
	what := fmt.Sprintf("%s (%v %s) with its output and mask", j.in, h.DType, npy.ShapeString(j.shape))
	streaming, memErr := j.stream(need, what)
	keptN := 0
	if streaming {
		sj := &streamJob{job: j, forward: true, out: c.out, maskOut: *maskOut, bias: bias, res: res}
		if err := sj.run(stdout, memErr); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		j.bar.finish()
		keptN = sj.kept
	} else {
		if err := j.read(need, what); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		var r dropout.Tensor
		if res != nil {
			a, err := res.ReadArray()
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			r = a.Data
		}
		y := alloc(j.x.Data)
		var maskT dropout.Tensor
		var mask dropout.Bytes
		if p.Mask != dropout.MaskNone {
			mask = make(dropout.Bytes, maskBytes)
			maskT = mask
		}
		if fused {
			err = dropout.ForwardFused(j.b, y, j.x.Data, bias, r, maskT, p)
		} else {
			err = j.b.Forward(y, j.x.Data, maskT, p)
		}
		if err != nil {
			return fmt.Errorf("run: %s: %v", j.b.Name(), err)
		}
		j.bar.step(2, "writing")
		outs := []output{{c.out, j.shape, y, j.fortran}}
		if mask != nil {
			outs = append(outs, output{path: *maskOut, shape: npy.MaskShape(p.Mask, j.maskShape()), data: mask})
		}
		if err := writeAll(stdout, outs...); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		j.bar.finish()
		keptN = kept(mask, p.Mask)
	}
	op := ""
	switch {
	case p.Alpha:
		op = " alpha"
	case fused:
		op = " fused"
	}
	fmt.Fprintf(info, "wrote %s: %v %s,%s p=%v seed=%d offset=%d, %d mask elements (next offset %d), backend %s\n",
		c.out, h.DType, npy.ShapeString(j.shape), op, p.P, p.Seed, p.Offset, m, p.Offset+uint64(p.StreamLen(h.N)), j.b.Name())
	if p.IsRegion() {
		fmt.Fprintf(info, "block at %s of the global shape %s\n", npy.ShapeString(p.Start), npy.ShapeString(p.Global))
	}
	if *maskOut != "" {
		fmt.Fprintf(info, "wrote %s: %v mask, uint8 %s, mask shape %s: %d of %d kept\n",
			*maskOut, p.Mask, npy.ShapeString(npy.MaskShape(p.Mask, j.maskShape())), npy.ShapeString(j.maskShape()), keptN, m)
	}
	return nil
}

// readBias reads the fused op's bias: the input's dtype, one element per
// position along its last axis.
func (j *job) readBias(path string) (dropout.Tensor, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if j.dt == dropout.BFloat16 {
		if err := in.AsBFloat16(); err != nil {
			return nil, err
		}
	}
	if err := j.match(in, "--bias"); err != nil {
		return nil, err
	}
	want := j.params.BiasLen(j.src.Header.N)
	if in.Header.N != want {
		return nil, fmt.Errorf("%s: --bias has %d elements %s, want %d (the last axis of %s)", path, in.Header.N,
			npy.ShapeString(in.Header.Shape), want, npy.ShapeString(j.shape))
	}
	a, err := in.ReadArray()
	if err != nil {
		return nil, err
	}
	return a.Data, nil
}

// openResidual opens the fused op's residual, of the input's dtype and
// shape.
func (j *job) openResidual(path string) (*npy.Input, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	j.extra = append(j.extra, in)
	if j.dt == dropout.BFloat16 {
		if err := in.AsBFloat16(); err != nil {
			return nil, err
		}
	}
	if err := j.match(in, "--residual"); err != nil {
		return nil, err
	}
	if !slices.Equal(in.Header.Shape, j.src.Header.Shape) {
		return nil, fmt.Errorf("%s: --residual has shape %s, the input %s", path, npy.ShapeString(in.Header.Shape), npy.ShapeString(j.shape))
	}
	return in, nil
}

// match checks that another input holds the input's data type.
func (j *job) match(in *npy.Input, flag string) error {
	if err := in.CheckArray(); err != nil {
		return err
	}
	if in.Header.DType != j.dt {
		return fmt.Errorf("%s: %s is %v (%q), the input %v", in.Name, flag, in.Header.DType, in.Header.Descr, j.dt)
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
		j.extra = append(j.extra, mask)
		if err := mask.CheckMask(p.Mask, j.maskShape()); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		maskBytes = mask.Header.Bytes()
	}
	if err := j.open(&c, false); err != nil {
		return fmt.Errorf("backward: %w", err)
	}
	need := sum(h.Bytes(), h.Bytes(), maskBytes)
	if j.fortran {
		need = sum(need, h.Bytes())
	}
	what := fmt.Sprintf("%s (%v %s) with its output and mask", j.in, h.DType, npy.ShapeString(j.shape))
	streaming, memErr := j.stream(need, what)
	if streaming {
		sj := &streamJob{job: j, out: c.out, maskIn: mask}
		if err := sj.run(stdout, memErr); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		j.bar.finish()
	} else {
		if err := j.read(need, what); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		var maskT dropout.Tensor
		if mask != nil {
			m, err := mask.ReadMask(p.Mask, j.maskShape())
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
		if err := writeAll(stdout, output{c.out, j.shape, dx, j.fortran}); err != nil {
			return fmt.Errorf("backward: %w", err)
		}
		j.bar.finish()
	}
	src := fmt.Sprintf("regenerated from seed=%d offset=%d", p.Seed, p.Offset)
	if p.Mask != dropout.MaskNone {
		src = fmt.Sprintf("from the %v mask %s", p.Mask, *maskIn)
	}
	op := ""
	if p.Alpha {
		op = " alpha,"
	}
	fmt.Fprintf(info, "wrote %s: %v %s,%s p=%v, mask %s, backend %s\n",
		c.out, h.DType, npy.ShapeString(j.shape), op, p.P, src, j.b.Name())
	return nil
}
