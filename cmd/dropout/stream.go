package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/memlimit"
	"github.com/gpudropout/dropout/internal/npy"
)

// Streaming: run and backward on a file larger than --max-memory (or than
// the memory available) read, compute and write it a chunk at a time, in
// the file's own memory order, through a pipeline of buffer sets: a
// goroutine reads chunk k+1 while the backend computes chunk k and another
// goroutine writes chunk k-1.
//
// A chunk is a block of the tensor that is contiguous in the file: along
// the memory order's outer axes, a run of rows full on the inner ones. It
// runs as one call: a region of the tensor (Params.Global and Start, so
// that noise shapes and stored masks come out as the whole call's), or,
// for a whole C-order tensor without a noise shape, a plain call at the
// chunk's Offset. Fortran-order data is transposed chunk by chunk to the
// row-major order the contract indexes, computed, and transposed back, so
// the output keeps the input's memory order.
//
// On Linux, a plain call from a regular file to a regular file streams with
// direct I/O instead (stream_linux.go, directIO), unless
// DROPOUT_STREAM_DIRECT=0.

// streamSets is the number of buffer sets in the pipeline: one being read,
// one computed, one written.
const streamSets = 3

// maxChunkBytes caps a chunk. Small chunks stream faster: the chunk just
// read is still in the processor's caches when the backend computes it, and
// the result when the writer copies it to the page cache (a 1 GiB file on
// cpu: 2.2 s with 2 MiB chunks, 8 to 12 s with 32 MiB ones; PoCL and
// lavapipe twice as fast too).
const maxChunkBytes = 2 << 20

// minChunkElems is the smallest chunk worth streaming with.
const minChunkElems = 1024

// forcedChunk returns the chunk size, in elements, that the environment
// variable DROPOUT_STREAM_CHUNK forces (tests use it to stream small
// files through tiny chunks), or 0.
func forcedChunk() int {
	v, err := strconv.Atoi(os.Getenv("DROPOUT_STREAM_CHUNK"))
	if err != nil || v <= 0 {
		return 0
	}
	return v
}

// streamJob is a run or backward being streamed.
type streamJob struct {
	*job
	forward bool
	out     string         // output path
	maskOut string         // forward: mask output path, or ""
	bias    dropout.Tensor // forward: the fused op's bias, or nil
	res     *npy.Input     // forward: the fused op's residual, or nil
	maskIn  *npy.Input     // backward: the stored mask, or nil
	kept    int            // forward: kept elements of the stored mask

	esz     int
	regions bool  // chunks are regions (else plain calls at an Offset)
	maskSp  []int // the stored mask's shape: 1 where the noise broadcasts
	chunk   int   // elements per chunk
	mask    maskSource
}

// set is one buffer set of the pipeline, with the chunk it holds.
type set struct {
	x, r   []byte // the chunk's data (and residual) in the file's memory order
	m      []byte // forward: the chunk's stored mask
	o, l   []int  // the chunk's block in row-major coordinates
	n      int
	ms, me int // the block's range of the stored mask
}

// run streams the job. memErr is the in-memory path's memory check error,
// reported if streaming cannot run either.
func (s *streamJob) run(stdout io.Writer, memErr error) error {
	h := s.src.Header
	s.esz = h.DType.Size()
	s.regions = s.needRegions()
	p := s.params
	caps := s.b.Device().Caps
	if s.regions && len(caps.DTypes) > 0 && !caps.Regions {
		why := "a Fortran-order file"
		switch {
		case p.IsRegion():
			why = "a block of a larger tensor"
		case p.NoiseShape != nil:
			why = "a noise shape"
		}
		err := fmt.Errorf("streaming %s %s needs regions, which backend %s does not support", s.in, why, s.b.Name())
		if memErr != nil {
			return fmt.Errorf("%w; %v", memErr, err)
		}
		return err
	}
	if s.res != nil && s.res.Header.Fortran != h.Fortran && len(s.shape) > 1 {
		return fmt.Errorf("%s: --residual is in %s order, the input in %s: streaming reads both in one order", s.res.Name, order(s.res.Header.Fortran), order(h.Fortran))
	}
	s.maskSp = slices.Clone(s.shape)
	for a, d := range p.NoiseShape {
		if d == 1 {
			s.maskSp[a] = 1
		}
	}
	if err := s.size(memErr); err != nil {
		return err
	}
	if s.maskIn != nil {
		var err error
		if s.mask, err = s.openMask(); err != nil {
			return err
		}
	}
	outs, err := s.create(stdout)
	if err != nil {
		return err
	}
	abort := func() {
		for _, f := range outs {
			if f != nil {
				f.Abort()
			}
		}
	}
	if err := s.pipeline(outs[0], outs[1]); err != nil {
		abort()
		return err
	}
	// Streams first, then the regular files, as writeAll does.
	for _, streams := range []bool{true, false} {
		for i, f := range outs {
			if f == nil || f.IsStream() != streams {
				continue
			}
			if err := f.Commit(); err != nil {
				abort()
				return err
			}
			outs[i] = nil
		}
	}
	return nil
}

func order(fortran bool) string {
	if fortran {
		return "Fortran"
	}
	return "C"
}

// size picks the chunk size: the buffer sets in at most half of
// --max-memory (and of the memory available), the other half left to the
// program, the backend and the mask a Fortran-order backward keeps.
func (s *streamJob) size(memErr error) error {
	budget := s.maxMem
	lim := memLimit()
	if lim.Bytes >= 0 && lim.Bytes < budget {
		budget = lim.Bytes
	}
	if s.maskIn != nil && s.fortran {
		// A Fortran-order chunk's mask is scattered over the file: the
		// stored mask is read into memory.
		mb := s.maskIn.Header.Bytes()
		if mb > budget/4 {
			err := fmt.Errorf("streaming the Fortran-order %s keeps its %v mask %s in memory: %s, more than a quarter of %s",
				s.in, s.params.Mask, s.maskIn.Name, memlimit.Bytes(mb), memlimit.Bytes(budget))
			if memErr != nil {
				return fmt.Errorf("%w; %v", memErr, err)
			}
			return err
		}
		budget -= mb
	}
	perElem := int64(streamSets * s.esz)
	if s.res != nil {
		perElem += streamSets * int64(s.esz)
	}
	if s.fortran {
		perElem += int64(s.esz) // transposition scratch
		if s.res != nil {
			perElem += int64(s.esz)
		}
	}
	if s.params.Mask != dropout.MaskNone {
		perElem += streamSets + 2 // the sets' masks, a read or pass buffer
	}
	s.chunk = int(min(budget/2/perElem, maxChunkBytes/int64(s.esz)))
	if f := forcedChunk(); f > 0 {
		s.chunk = f
	} else if s.chunk < minChunkElems {
		if memErr != nil {
			return memErr
		}
		return oomError{fmt.Errorf("%w: streaming %s needs at least %s, but --max-memory or the memory available leaves %s",
			dropout.ErrOutOfMemory, s.in, memlimit.Bytes(2*minChunkElems*perElem), memlimit.Bytes(budget))}
	}
	s.chunk = min(s.chunk, s.src.Header.N)
	return nil
}

// create starts the outputs and writes their headers, after checking that
// the file system has room for them.
func (s *streamJob) create(stdout io.Writer) ([2]*npy.File, error) {
	var outs [2]*npy.File
	h := s.src.Header
	p := s.params
	paths := []string{s.out, s.maskOut}
	sizes := []int64{h.Bytes(), 0}
	if s.forward && s.maskOut != "" {
		sizes[1] = int64(p.Mask.Bytes(p.MaskLen(h.N)))
	} else {
		paths = paths[:1]
	}
	abort := func() {
		for _, f := range outs {
			if f != nil {
				f.Abort()
			}
		}
	}
	for i, path := range paths {
		f, err := createOutput(stdout, path)
		if err != nil {
			abort()
			return outs, err
		}
		outs[i] = f
		// Both outputs may share a file system: check the sum on each.
		if avail := f.Avail(); avail >= 0 && sum(sizes...) > avail {
			abort()
			return outs, fmt.Errorf("%s: not enough disk space: the outputs need %s, but only %s are free there",
				path, memlimit.Bytes(sum(sizes...)), memlimit.Bytes(avail))
		}
	}
	if err := outs[0].WriteHeader(h.DType, s.fortran, s.shape); err != nil {
		abort()
		return outs, err
	}
	if outs[1] != nil {
		if err := outs[1].WriteHeader(dropout.Uint8, false, npy.MaskShape(p.Mask, s.maskShape())); err != nil {
			abort()
			return outs, err
		}
	}
	return outs, nil
}

// pipeline reads, computes and writes every chunk.
func (s *streamJob) pipeline(out, maskOut *npy.File) error {
	fl := newFailer()
	defer fl.cancel()
	ctx, fail := fl.ctx, fl.fail
	var mw *maskWriter
	if maskOut != nil {
		mw = &maskWriter{f: maskOut, format: s.params.Mask, total: s.params.MaskLen(s.src.Header.N)}
		if s.fortran {
			// The stored mask is in row-major order, which a
			// Fortran-order chunk is not: write it in a pass of its own.
			if err := s.maskPass(mw); err != nil {
				return err
			}
		}
	}
	if ok, err := s.directIO(out, mw); ok {
		if err != nil {
			return err
		}
		return s.finishMask(mw)
	}
	n := s.chunk
	free := make(chan *set, streamSets)
	for range streamSets {
		st := &set{x: alignedBytes(n * s.esz)}
		if s.res != nil {
			st.r = alignedBytes(n * s.esz)
		}
		if mw != nil && !s.fortran {
			st.m = make([]byte, s.params.Mask.Bytes(n))
		}
		free <- st
	}
	work := make(chan *set, streamSets)
	done := make(chan *set, streamSets)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // reader
		defer wg.Done()
		defer close(work)
		err := s.blocks(func(o, l []int) error {
			var st *set
			select {
			case st = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			st.o, st.l, st.n = o, l, prod(l)
			if err := s.src.ReadRaw(st.x[:st.n*s.esz]); err != nil {
				return err
			}
			if s.res != nil {
				if err := s.res.ReadRaw(st.r[:st.n*s.esz]); err != nil {
					return err
				}
			}
			select {
			case work <- st:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err == nil {
			err = s.src.Finish()
		}
		if err == nil && s.res != nil {
			err = s.res.Finish()
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			fail(err)
		}
	}()
	go func() { // writer
		defer wg.Done()
		for st := range done {
			if ctx.Err() != nil {
				continue // drain
			}
			err := out.WriteRaw(st.x[:st.n*s.esz], s.esz)
			if err == nil && mw != nil && !s.fortran {
				err = mw.add(st.m, st.ms, st.me)
			}
			if err != nil {
				fail(err)
				continue
			}
			s.bar.step(1, "streaming")
			free <- st
		}
	}()
	var c computer
	for st := range work {
		if ctx.Err() != nil {
			continue // drain
		}
		if err := s.compute(&c, st); err != nil {
			fail(err)
			continue
		}
		done <- st
	}
	close(done)
	wg.Wait()
	if fl.err != nil {
		return fl.err
	}
	return s.finishMask(mw)
}

// failer cancels a pipeline on its first error, which it keeps.
type failer struct {
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

func newFailer() *failer {
	f := &failer{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

func (f *failer) fail(err error) {
	f.once.Do(func() { f.err = err; f.cancel() })
}

// finishMask completes the stored mask, if any, and counts its kept
// elements.
func (s *streamJob) finishMask(mw *maskWriter) error {
	if mw == nil {
		return nil
	}
	if err := mw.finish(); err != nil {
		return err
	}
	s.kept = mw.kept
	return nil
}

// computer holds the compute stage's own buffers.
type computer struct {
	t, tr []byte // Fortran order: the chunk (and residual) transposed
	m     []byte // backward: the chunk's stored mask
}

// compute runs the backend on one chunk, in place.
func (s *streamJob) compute(c *computer, st *set) error {
	h := s.src.Header
	p := s.chunkParams(st.o, st.l)
	nb := st.n * s.esz
	x := st.x[:nb]
	var r []byte
	if s.res != nil {
		r = st.r[:nb]
	}
	if s.fortran {
		// The chunk is in column-major order over its block: make it
		// row-major, as the contract indexes it.
		if c.t == nil {
			c.t = alignedBytes(s.chunk * s.esz)
		}
		npy.TransposeRev(c.t[:nb], x, s.esz, reversed(st.l))
		x = c.t[:nb]
		if r != nil {
			if c.tr == nil {
				c.tr = alignedBytes(s.chunk * s.esz)
			}
			npy.TransposeRev(c.tr[:nb], r, s.esz, reversed(st.l))
			r = c.tr[:nb]
		}
	}
	xt := npy.View(h.DType, x)
	st.ms, st.me = s.maskRange(st.o, st.l, p)
	var err error
	switch {
	case s.forward:
		var mt dropout.Tensor
		switch {
		case p.Mask == dropout.MaskNone:
		case s.fortran:
			p.Mask = dropout.MaskNone // the mask pass writes it
		default:
			mt = dropout.Bytes(st.m[:p.Mask.Bytes(st.me-st.ms)])
		}
		if s.bias != nil || s.res != nil {
			var rt dropout.Tensor
			if r != nil {
				rt = npy.View(h.DType, r)
			}
			err = dropout.ForwardFused(s.b, xt, xt, s.biasFor(st.o, st.l), rt, mt, p)
		} else {
			err = s.b.Forward(xt, xt, mt, p)
		}
	default:
		var mt dropout.Tensor
		if p.Mask != dropout.MaskNone {
			mb := p.Mask.Bytes(st.me - st.ms)
			if len(c.m) < mb {
				c.m = make([]byte, p.Mask.Bytes(s.chunk))
			}
			if err := s.mask.block(c.m[:mb], st.o, st.l, st.ms, st.me); err != nil {
				return err
			}
			mt = dropout.Bytes(c.m[:mb])
		}
		err = s.b.Backward(xt, xt, mt, p)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", s.b.Name(), err)
	}
	if s.fortran {
		npy.TransposeRev(st.x[:nb], x, s.esz, st.l)
	}
	return nil
}

// chunkParams returns the Params of the call over the block at o of shape
// l: a region of the whole call, or for a whole C-order tensor without a
// noise shape a plain call at the block's Offset.
func (s *streamJob) chunkParams(o, l []int) dropout.Params {
	p := s.params
	p.Shape = l
	switch {
	case !s.regions:
		p.Offset += uint64(flatIndex(o, s.shape))
	case p.IsRegion():
		start := make([]int, len(o))
		for a := range o {
			start[a] = p.Start[a] + o[a]
		}
		p.Start = start
	default:
		p.Global, p.Start = s.shape, o
	}
	return p
}

// maskRange returns the range of the stored mask (row-major over
// s.maskSp) that the block at o of shape l uses: one run, since the block
// is full on the axes after its first one longer than 1.
func (s *streamJob) maskRange(o, l []int, p dropout.Params) (int, int) {
	po := make([]int, len(o))
	for a := range o {
		if s.maskSp[a] != 1 {
			po[a] = o[a]
		}
	}
	ms := flatIndex(po, s.maskSp)
	return ms, ms + p.MaskLen(prod(l))
}

// biasFor returns the part of the bias that the block at o of shape l
// adds: the positions of its last axis.
func (s *streamJob) biasFor(o, l []int) dropout.Tensor {
	if s.bias == nil || len(l) == 0 {
		return s.bias
	}
	k := len(l) - 1
	if l[k] == s.shape[k] {
		return s.bias
	}
	b, _ := driver.RawBytes(s.bias)
	return npy.View(s.bias.DType(), b[o[k]*s.esz:(o[k]+l[k])*s.esz])
}

// maskPass writes the stored mask of a Fortran-order forward in row-major
// order: calls over the blocks of the mask's own shape (1 on broadcast
// axes, so each call's mask is exactly its block) on a scratch tensor.
func (s *streamJob) maskPass(mw *maskWriter) error {
	h := s.src.Header
	n := s.chunk
	dummy := alignedBytes(n * s.esz)
	m := make([]byte, s.params.Mask.Bytes(n))
	return forBlocks(s.maskSp, n, func(o, l []int) error {
		k := prod(l)
		p := s.chunkParams(o, l)
		p.Alpha = false
		xt := npy.View(h.DType, dummy[:k*s.esz])
		ms, me := s.maskRange(o, l, p)
		mt := dropout.Bytes(m[:p.Mask.Bytes(me-ms)])
		if err := s.b.Forward(xt, xt, mt, p); err != nil {
			return fmt.Errorf("%s: %v", s.b.Name(), err)
		}
		return mw.add(mt, ms, me)
	})
}

// blocks calls f with every chunk of the input, in the file's memory
// order, as blocks in row-major coordinates.
func (s *streamJob) blocks(f func(o, l []int) error) error {
	if !s.fortran {
		return forBlocks(s.shape, s.chunk, f)
	}
	// Column-major memory is the row-major order of the reversed shape.
	return forBlocks(reversed(s.shape), s.chunk, func(o, l []int) error {
		return f(reversed(o), reversed(l))
	})
}

// forBlocks calls f, in row-major order, with blocks that partition shape
// (start o, shape l, both new slices), each contiguous in row-major order
// and of at most chunk elements: runs of rows along the first axis whose
// inner rows fit a chunk, at every index of the axes before it.
func forBlocks(shape []int, chunk int, f func(o, l []int) error) error {
	d := len(shape)
	if prod(shape) == 0 {
		return nil
	}
	if d == 0 {
		return f([]int{}, []int{})
	}
	k, inner := d-1, 1
	for k > 0 && inner*shape[k] <= chunk {
		inner *= shape[k]
		k--
	}
	rows := max(1, chunk/inner)
	lead := make([]int, k)
	for {
		for r := 0; r < shape[k]; r += rows {
			o := make([]int, d)
			copy(o, lead)
			o[k] = r
			l := make([]int, d)
			for a := range k {
				l[a] = 1
			}
			l[k] = min(rows, shape[k]-r)
			copy(l[k+1:], shape[k+1:])
			if err := f(o, l); err != nil {
				return err
			}
		}
		a := k - 1
		for ; a >= 0; a-- {
			lead[a]++
			if lead[a] < shape[a] {
				break
			}
			lead[a] = 0
		}
		if a < 0 {
			return nil
		}
	}
}

// maskWriter writes the stored mask of a streamed forward: chunks come
// with their range [ms, me) of the mask, which may overlap what was
// written (a broadcast mask is used again) but never leaves a gap.
type maskWriter struct {
	f       *npy.File
	format  dropout.MaskFormat
	total   int // mask elements
	w       int // elements written
	pending byte
	nbits   int // bits MaskBits holds in pending
	kept    int
	buf     []byte
}

func (mw *maskWriter) add(m []byte, ms, me int) error {
	if ms > mw.w {
		return fmt.Errorf("internal error: mask elements %d to %d skipped", mw.w, ms)
	}
	if me <= mw.w {
		return nil
	}
	from, to := mw.w-ms, me-ms
	mw.w = me
	if mw.format == dropout.MaskBytes {
		b := m[from:to]
		mw.kept += ones(b) // bytes of 0 or 1: their sum
		return mw.f.WriteRaw(b, 1)
	}
	if mw.nbits == 0 && from%8 == 0 {
		// Whole bytes, as they are; a last partial one waits.
		b := m[from/8 : from/8+(to-from)/8]
		if r := (to - from) % 8; r != 0 {
			mw.pending, mw.nbits = m[from/8+len(b)]&(1<<r-1), r
		}
		mw.kept += ones(b)
		return mw.f.WriteRaw(b, 1)
	}
	// Bits [from, to) of m, appended after the nbits pending bits.
	nb := to - from
	if cap(mw.buf) < nb/8+2 {
		mw.buf = make([]byte, nb/8+2)
	}
	out := mw.buf[:0]
	acc, na := uint(mw.pending), uint(mw.nbits)
	for i := from; i < to; {
		// Take up to 8 bits starting at bit i of m.
		sh := uint(i % 8)
		v := uint(m[i/8]) >> sh
		take := min(8-int(sh), to-i)
		v &= 1<<uint(take) - 1
		acc |= v << na
		na += uint(take)
		i += take
		if na >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			na -= 8
		}
	}
	mw.pending, mw.nbits = byte(acc), int(na)
	mw.kept += ones(out)
	return mw.f.WriteRaw(out, 1)
}

// ones returns the number of bits set in b.
func ones(b []byte) int {
	n := 0
	for ; len(b) >= 8; b = b[8:] {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(b))
	}
	for _, v := range b {
		n += bits.OnesCount8(v)
	}
	return n
}

func (mw *maskWriter) finish() error {
	if mw.w != mw.total {
		return fmt.Errorf("internal error: %d of %d mask elements written", mw.w, mw.total)
	}
	if mw.nbits > 0 {
		mw.kept += bits.OnesCount8(mw.pending)
		mw.nbits = 0
		return mw.f.WriteRaw([]byte{mw.pending}, 1)
	}
	return nil
}

// maskSource gives a streamed backward the stored mask of each chunk.
type maskSource interface {
	// block fills dst with the mask of the block at o of shape l, whose
	// range of the stored mask is [ms, me).
	block(dst []byte, o, l []int, ms, me int) error
}

// openMask opens the stored mask of a backward: read a chunk at a time
// from a regular file when the chunks are row-major, otherwise (a stream,
// or Fortran-order chunks, whose masks are scattered) read whole.
func (s *streamJob) openMask() (maskSource, error) {
	in, f := s.maskIn, s.params.Mask
	total := s.params.MaskLen(s.src.Header.N)
	if in.Seekable() && !s.fortran && !in.Header.Fortran {
		if f == dropout.MaskBits && total%8 != 0 {
			var last [1]byte
			if err := in.ReadAt(last[:], in.Header.Bytes()-1); err != nil {
				return nil, err
			}
			if pad := last[0] >> (total % 8); pad != 0 {
				return nil, fmt.Errorf("%s: %w: %d padding bits after element %d are set (want zero)", in.Name, npy.ErrMask, bits.OnesCount8(pad), total-1)
			}
		}
		return &fileMask{in: in, format: f}, nil
	}
	m, err := in.ReadMask(f, s.maskShape())
	if err != nil {
		return nil, err
	}
	return &memMask{m: m, format: f, space: s.maskSp, fortran: s.fortran}, nil
}

// fileMask reads a chunk's mask, one run, from a regular file.
type fileMask struct {
	in     *npy.Input
	format dropout.MaskFormat
	buf    []byte
}

func (fm *fileMask) block(dst []byte, o, l []int, ms, me int) error {
	if fm.format == dropout.MaskBytes {
		if err := fm.in.ReadAt(dst[:me-ms], int64(ms)); err != nil {
			return err
		}
		for i, v := range dst[:me-ms] {
			if v > 1 {
				return fmt.Errorf("%s: %w: byte %d is %d, want 0 or 1", fm.in.Name, npy.ErrMask, ms+i, v)
			}
		}
		return nil
	}
	b0, b1 := ms/8, (me+7)/8
	if cap(fm.buf) < b1-b0 {
		fm.buf = make([]byte, b1-b0)
	}
	src := fm.buf[:b1-b0]
	if err := fm.in.ReadAt(src, int64(b0)); err != nil {
		return err
	}
	shiftBits(dst, src, ms%8, me-ms)
	return nil
}

// memMask cuts chunks' masks out of a stored mask held in memory.
type memMask struct {
	m       dropout.Bytes
	format  dropout.MaskFormat
	space   []int // the stored mask's shape
	fortran bool
}

func (mm *memMask) block(dst []byte, o, l []int, ms, me int) error {
	if !mm.fortran {
		if mm.format == dropout.MaskBytes {
			copy(dst, mm.m[ms:me])
		} else {
			shiftBits(dst, mm.m[ms/8:], ms%8, me-ms)
		}
		return nil
	}
	// The block's mask, row-major over its own mask shape, gathered
	// element by element from the stored mask.
	d := len(l)
	ml, po := make([]int, d), make([]int, d)
	for a := range d {
		ml[a], po[a] = l[a], o[a]
		if mm.space[a] == 1 {
			ml[a], po[a] = 1, 0
		}
	}
	stride := make([]int, d)
	st := 1
	for a := d - 1; a >= 0; a-- {
		stride[a] = st
		st *= mm.space[a]
	}
	idx := make([]int, d)
	g := flatIndex(po, mm.space)
	k := 0
	if mm.format == dropout.MaskBits {
		clear(dst)
	}
	for n := prod(ml); k < n; k++ {
		if mm.format == dropout.MaskBytes {
			dst[k] = mm.m[g]
		} else {
			dst[k/8] |= (mm.m[g/8] >> (g % 8) & 1) << (k % 8)
		}
		for a := d - 1; a >= 0; a-- {
			idx[a]++
			g += stride[a]
			if idx[a] < ml[a] {
				break
			}
			g -= stride[a] * ml[a]
			idx[a] = 0
		}
	}
	return nil
}

// shiftBits sets dst to n bits of src starting at bit sh (< 8), padding
// bits zero.
func shiftBits(dst, src []byte, sh, n int) {
	nb := (n + 7) / 8
	for i := range nb {
		v := src[i] >> sh
		if sh > 0 && i+1 < len(src) {
			v |= src[i+1] << (8 - sh)
		}
		dst[i] = v
	}
	if r := n % 8; r != 0 {
		dst[nb-1] &= 1<<r - 1
	}
}

// alignedBytes returns n bytes aligned for any element type.
func alignedBytes(n int) []byte {
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// flatIndex returns the row-major index of coordinates o in shape.
func flatIndex(o, shape []int) int {
	f := 0
	for a, c := range o {
		f = f*shape[a] + c
	}
	return f
}

func reversed(s []int) []int {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}
