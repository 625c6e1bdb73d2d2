//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/npy"
)

// Direct streaming: a plain call on a C-order file (no noise shape, no
// region, no bias or residual) from a regular file to a regular file reads
// and writes with direct I/O (O_DIRECT), the disk moving the data straight
// to and from the program's buffers. Buffered I/O copies every byte twice
// more (from the page cache and into it), fills the page cache with two
// copies of the file, and leaves the writes to the kernel's writeback and
// the final fsync: on an 8 GiB file that was 18 to 29 s of system time,
// most of the run. Here the buffers are blocks of the output file, aligned
// for direct I/O: block j holds the output's bytes [j*B, (j+1)*B) (block 0
// begins with the header), read from the input at the same data offsets,
// computed in place and written back, a few reads and writes in flight at
// once so that the disk always has work queued.

const (
	directBlock   = 32 << 20 // bytes per block, at most
	directMin     = 2 << 20  // smaller blocks (a --max-memory under 64 MiB): buffered streaming
	directReaders = 4        // reads in flight
	directWriters = 4        // writes in flight
	directSets    = directReaders + directWriters + 2
)

// streamDirectHook, when set (by tests), is called when a job streams with
// direct I/O, with whether the input is read directly too.
var streamDirectHook func(readDirect bool)

// dblock is a block of the output file being read, computed or written.
type dblock struct {
	buf   []byte // aligned for direct I/O
	m     []byte // forward: the block's stored mask
	j     int    // block index
	n     int    // bytes of the output file in the block
	ready chan error
}

// directIO streams the job with direct I/O when it can, and reports
// whether it did; it returns false, having changed nothing, when the job,
// the files or the file systems do not allow it.
func (s *streamJob) directIO(out *npy.File, mw *maskWriter) (bool, error) {
	h := s.src.Header
	if os.Getenv("DROPOUT_STREAM_DIRECT") == "0" || s.regions || s.fortran || s.bias != nil || s.res != nil ||
		!h.Native() || !s.src.Seekable() || s.src.File() == nil || h.DataOff%int64(s.esz) != 0 {
		return false, nil
	}
	tmp, err := out.Direct()
	if err != nil || tmp == nil {
		return false, err
	}
	ofd := int(tmp.Fd())
	var ost unix.Stat_t
	if err := unix.Fstat(ofd, &ost); err != nil {
		return false, nil
	}
	hOut, hIn := ost.Size, h.DataOff
	align := max(4096, dioAlign(ofd), dioAlign(int(s.src.File().Fd())))
	if dioAlign(ofd) == 0 || hOut%int64(s.esz) != 0 || hIn < hOut || (hIn-hOut)%int64(align) != 0 {
		return false, nil
	}
	B := s.directBlockSize(align)
	if B == 0 {
		return false, nil
	}
	// An input mostly in the page cache is read from there (preads into
	// the aligned blocks), not from the disk.
	in, readDirect := s.src.File(), false
	if !cached(in) {
		f, err := openDirect(in)
		if err == nil && f != nil && dioAlign(int(f.Fd())) == 0 {
			f.Close()
			f = nil
		}
		if f != nil {
			defer f.Close()
			in, readDirect = f, true
		}
	}
	hdr := make([]byte, hOut)
	if _, err := tmp.ReadAt(hdr, 0); err != nil {
		return false, nil
	}
	flags, err := unix.FcntlInt(uintptr(ofd), unix.F_GETFL, 0)
	if err != nil {
		return false, nil
	}
	if _, err := unix.FcntlInt(uintptr(ofd), unix.F_SETFL, flags|unix.O_DIRECT); err != nil {
		return false, nil
	}
	defer unix.FcntlInt(uintptr(ofd), unix.F_SETFL, flags)
	d := directCopy{s: s, mw: mw, in: in, out: tmp, hdr: hdr, shift: hIn - hOut, B: B, align: align,
		total: hOut + h.Bytes()}
	// Reserve the output's blocks: a full disk fails here, not half way,
	// and the file is laid out in one piece where the file system can.
	if err := unix.Fallocate(ofd, 0, 0, d.total); err != nil && !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) {
		return true, fmt.Errorf("%s: %v", out.Path, err)
	}
	if streamDirectHook != nil {
		streamDirectHook(readDirect)
	}
	if err := d.run(); err != nil {
		return true, err
	}
	if err := tmp.Truncate(d.total); err != nil {
		return true, fmt.Errorf("%s: %v", out.Path, err)
	}
	return true, nil
}

// directBlockSize returns the block size: directBlock, or less as the
// memory budget asks (DROPOUT_STREAM_CHUNK, in elements, forces it), a
// multiple of align; 0 when it would be too small to be worth it.
func (s *streamJob) directBlockSize(align int) int {
	if f := forcedChunk(); f > 0 {
		return (f*s.esz + align - 1) / align * align
	}
	budget := s.maxMem
	if lim := memLimit(); lim.Bytes >= 0 && lim.Bytes < budget {
		budget = lim.Bytes
	}
	per := int64(directSets)
	if s.params.Mask != dropout.MaskNone {
		// The blocks' masks, backward's and the mask writer's buffers:
		// at most a byte an element, of at least two bytes.
		per += (directSets + 2) / 2
	}
	b := min(int64(directBlock), budget/2/per) / int64(align) * int64(align)
	if b < directMin {
		return 0
	}
	return int(b)
}

// dioAlign returns the alignment direct I/O needs on the open file fd
// (offsets, lengths and memory), or 0 where the file system does not
// support it or does not say.
func dioAlign(fd int) int {
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &st); err != nil ||
		st.Mask&unix.STATX_DIOALIGN == 0 || st.Dio_offset_align == 0 {
		return 0
	}
	return int(max(st.Dio_offset_align, st.Dio_mem_align))
}

// cached reports whether most of the file f is in the page cache: reading
// it through the cache is then faster than from the disk.
func cached(f *os.File) bool {
	st, err := f.Stat()
	if err != nil || st.Size() <= 0 || int64(int(st.Size())) != st.Size() {
		return false
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return false
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return false
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return in > len(vec)/2
}

// openDirect opens the file f is open on again, for direct reads: nil if
// it cannot, or if its path now leads to another file.
func openDirect(f *os.File) (*os.File, error) {
	fd, err := unix.Open(f.Name(), unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Fstat(fd, &b) != nil || a.Dev != b.Dev || a.Ino != b.Ino {
		unix.Close(fd)
		return nil, nil
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// directCopy is one direct streaming of a job.
type directCopy struct {
	s       *streamJob
	mw      *maskWriter
	in, out *os.File
	hdr     []byte // the output's header
	shift   int64  // input offset less output offset of a data byte
	B       int    // block size
	align   int
	total   int64 // the output's size
}

func (d *directCopy) run() error {
	s := d.s
	fl := newFailer()
	defer fl.cancel()
	ctx, fail := fl.ctx, fl.fail
	nb := int((d.total + int64(d.B) - 1) / int64(d.B))
	free := make(chan *dblock, directSets)
	for range directSets {
		b := &dblock{buf: alignedTo(d.B, d.align), ready: make(chan error, 1)}
		if s.forward && s.params.Mask != dropout.MaskNone {
			b.m = make([]byte, s.params.Mask.Bytes(d.B/s.esz))
		}
		free <- b
	}
	order := make(chan *dblock, directSets)
	reads := make(chan *dblock, directSets)
	writes := make(chan *dblock, directSets)
	var wg sync.WaitGroup
	wg.Add(1 + directReaders + directWriters)
	go func() { // dispatcher: blocks in order to the readers and to compute
		defer wg.Done()
		defer close(order)
		defer close(reads)
		for j := range nb {
			var b *dblock
			select {
			case b = <-free:
			case <-ctx.Done():
				return
			}
			b.j, b.n = j, int(min(int64(d.B), d.total-int64(j)*int64(d.B)))
			order <- b // neither send blocks: they hold at most directSets blocks
			reads <- b
		}
	}()
	for range directReaders {
		go func() {
			defer wg.Done()
			for b := range reads {
				if ctx.Err() != nil {
					b.ready <- ctx.Err()
					continue
				}
				b.ready <- d.read(b)
			}
		}()
	}
	for range directWriters {
		go func() {
			defer wg.Done()
			for b := range writes {
				if ctx.Err() == nil {
					if err := d.write(b); err != nil {
						fail(err)
					}
				}
				free <- b
			}
		}()
	}
	var c computer
	for b := range order {
		err := <-b.ready
		if err == nil && ctx.Err() == nil {
			err = d.compute(&c, b)
		}
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				fail(err)
			}
			free <- b
			continue
		}
		s.bar.step(1, "streaming")
		writes <- b
	}
	close(writes)
	wg.Wait()
	return fl.err
}

// read fills block b from the input: the bytes at the same data offsets,
// rounded up to the alignment (the last block ends at the input's end). A
// short read goes on only from an aligned offset (a direct read at an
// unaligned one fails).
func (d *directCopy) read(b *dblock) error {
	off := int64(b.j)*int64(d.B) + d.shift
	want := (b.n + d.align - 1) / d.align * d.align
	fd := int(d.in.Fd())
	for got := 0; got < b.n; {
		n, err := unix.Pread(fd, b.buf[got:want], off+int64(got))
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("%s: %v", d.s.src.Name, err)
		}
		got += n
		if got < b.n && (n == 0 || got%d.align != 0) {
			return fmt.Errorf("%s: %w: truncated data", d.s.src.Name, npy.ErrFormat)
		}
	}
	return nil
}

// write writes block b to the output, rounded up to the alignment (the
// file is truncated to its size at the end).
func (d *directCopy) write(b *dblock) error {
	want := (b.n + d.align - 1) / d.align * d.align
	if _, err := d.out.WriteAt(b.buf[:want], int64(b.j)*int64(d.B)); err != nil {
		return fmt.Errorf("%s: %v", d.s.out, err)
	}
	return nil
}

// compute writes the header's part of block b and runs the backend, in
// place, on its data: a plain call at the data's first element.
func (d *directCopy) compute(c *computer, b *dblock) error {
	s := d.s
	start := int64(b.j) * int64(d.B)
	end := start + int64(b.n)
	hOut := int64(len(d.hdr))
	if start < hOut {
		copy(b.buf, d.hdr[start:min(end, hOut)])
	}
	if end <= hOut {
		return nil
	}
	d0 := max(start, hOut) - hOut // data bytes [d0, d1) of the block
	d1 := end - hOut
	x := b.buf[d0+hOut-start : d1+hOut-start]
	e0, k := int(d0)/s.esz, int(d1-d0)/s.esz
	p := s.params
	p.Shape = []int{k}
	p.Offset += uint64(e0)
	xt := npy.View(s.src.Header.DType, x)
	var err error
	if s.forward {
		var mt dropout.Tensor
		if p.Mask != dropout.MaskNone {
			mt = dropout.Bytes(b.m[:p.Mask.Bytes(k)])
		}
		err = s.b.Forward(xt, xt, mt, p)
		if err == nil && d.mw != nil {
			if err := d.mw.add(b.m, e0, e0+k); err != nil {
				return err
			}
		}
	} else {
		var mt dropout.Tensor
		if p.Mask != dropout.MaskNone {
			mb := p.Mask.Bytes(k)
			if len(c.m) < mb {
				c.m = make([]byte, p.Mask.Bytes(d.B/s.esz))
			}
			if err := s.mask.block(c.m[:mb], nil, nil, e0, e0+k); err != nil {
				return err
			}
			mt = dropout.Bytes(c.m[:mb])
		}
		err = s.b.Backward(xt, xt, mt, p)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", s.b.Name(), err)
	}
	return nil
}

// alignedTo returns n bytes whose address is a multiple of align (a power
// of two).
func alignedTo(n, align int) []byte {
	b := make([]byte, n+align)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b)))) & (align - 1)
	return b[off : off+n : off+n]
}
