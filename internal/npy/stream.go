package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/gpudropout/dropout"
)

// Streaming: a file larger than memory is read, and its output written, a
// chunk at a time in the file's own memory order (C or Fortran), the data
// bytes moved as they are apart from byte swapping.

// ReadRaw reads the next len(b) bytes of the input's data block into b, in
// the file's memory order, and converts them to this machine's byte order.
// len(b) must be a multiple of the element size. Reading past the data
// block, or a file that ends early, is an error that names the file.
func (in *Input) ReadRaw(b []byte) error {
	h := in.Header
	if in.read {
		return fileErr(in.Name, errors.New("data already read"))
	}
	if int64(len(b)) > h.Bytes()-in.done {
		return fileErr(in.Name, fmt.Errorf("reading %d bytes past the end of the data", int64(len(b))-(h.Bytes()-in.done)))
	}
	n, err := io.ReadFull(in.r, b)
	in.done += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fileErr(in.Name, fmt.Errorf("%w: truncated data (%d of %d bytes for %s %s)", ErrFormat, in.done, h.Bytes(), h.Descr, ShapeString(h.Shape)))
		}
		return fileErr(in.Name, err)
	}
	if h.Order != nativeOrder {
		swap(b, h.DType.Size())
	}
	return nil
}

// Finish ends a read by ReadRaw: all of the data must have been read, and
// a stream must have nothing after it.
func (in *Input) Finish() error {
	h := in.Header
	if in.done != h.Bytes() {
		return fileErr(in.Name, fmt.Errorf("%d of %d data bytes read", in.done, h.Bytes()))
	}
	in.read = true
	if in.size >= 0 {
		return nil
	}
	const most = 1 << 20
	n, err := io.Copy(io.Discard, io.LimitReader(in.r, most+1))
	switch {
	case n > most:
		return fileErr(in.Name, fmt.Errorf("%w: more than %d bytes of unexpected data after the array (%s %s)", ErrFormat, most, h.Descr, ShapeString(h.Shape)))
	case n > 0:
		return fileErr(in.Name, fmt.Errorf("%w: %d bytes of unexpected data after the array (%s %s)", ErrFormat, n, h.Descr, ShapeString(h.Shape)))
	case err != nil:
		return fileErr(in.Name, err)
	}
	return nil
}

// Seekable reports whether ReadAt works: the input is a regular file.
func (in *Input) Seekable() bool { return in.f != nil && in.size >= 0 }

// ReadAt reads len(b) bytes of the data block from byte off of the data
// (not of the file) into b, converting the byte order, without moving the
// sequential position. The input must be Seekable.
func (in *Input) ReadAt(b []byte, off int64) error {
	h := in.Header
	if !in.Seekable() {
		return fileErr(in.Name, errors.New("not a regular file: cannot read at an offset"))
	}
	if off < 0 || off+int64(len(b)) > h.Bytes() {
		return fileErr(in.Name, fmt.Errorf("bytes %d to %d are outside the %d bytes of data", off, off+int64(len(b)), h.Bytes()))
	}
	if _, err := in.f.ReadAt(b, h.DataOff+off); err != nil {
		if errors.Is(err, io.EOF) {
			return fileErr(in.Name, fmt.Errorf("%w: truncated data", ErrFormat))
		}
		return fileErr(in.Name, err)
	}
	if h.Order != nativeOrder {
		swap(b, h.DType.Size())
	}
	return nil
}

// Native reports whether the data is in this machine's byte order (or of
// one-byte elements): ReadRaw has nothing to convert.
func (h Header) Native() bool {
	return h.Order == nativeOrder || h.DType.Size() == 1
}

// Direct returns the temporary file of a replacement output, everything
// written so far (the header) flushed to it, for a caller that writes the
// data itself at offsets of the file (WriteAt) instead of with WriteRaw;
// Commit then syncs and renames the file as it would. It returns nil for
// a stream, which is written in place through its buffer.
func (f *File) Direct() (*os.File, error) {
	if f.done {
		return nil, fmt.Errorf("%s: already closed", f.Path)
	}
	if f.tmp == nil {
		return nil, nil
	}
	if err := f.w.Flush(); err != nil {
		return nil, fileErr(f.Path, err)
	}
	return f.tmp, nil
}

// Descr returns the descr string this package writes for data of type dt:
// bfloat16 is written as uint16 ("<u2").
func Descr(dt dropout.DType) (string, error) {
	return descrOf(Alloc(dt, 0))
}

// WriteHeader writes the header of an array of type dt and the given shape
// in C order, or in Fortran order when fortran is true; the data follows
// with WriteRaw, in that memory order.
func (f *File) WriteHeader(dt dropout.DType, fortran bool, shape []int) error {
	if f.done {
		return fmt.Errorf("%s: already closed", f.Path)
	}
	if dt == dropout.Uint8 {
		fortran = false
	}
	descr, err := Descr(dt)
	if err != nil {
		return fileErr(f.Path, err)
	}
	if _, err := numElems(shape); err != nil {
		return fileErr(f.Path, err)
	}
	if _, err := f.w.Write(formatHeader(descr, fortran, shape)); err != nil {
		return fileErr(f.Path, err)
	}
	return nil
}

// WriteRaw writes data bytes in this machine's byte order, elements of esz
// bytes, converting them to little-endian; b itself is not changed.
func (f *File) WriteRaw(b []byte, esz int) error {
	if f.done {
		return fmt.Errorf("%s: already closed", f.Path)
	}
	if nativeOrder != binary.LittleEndian && esz > 1 {
		c := make([]byte, len(b))
		copy(c, b)
		swap(c, esz)
		b = c
	}
	if _, err := f.w.Write(b); err != nil {
		return fileErr(f.Path, err)
	}
	return nil
}

// TransposeRev writes into dst the array src, of elements of esz bytes in
// row-major order over shape, in row-major order over the reversed shape
// (dst[c_k-1, ..., c_0] = src[c_0, ..., c_k-1]): the column-major order of
// shape. Applied with the reversed shape it is its own inverse. dst and src
// must not overlap.
func TransposeRev(dst, src []byte, esz int, shape []int) {
	switch esz {
	case 1:
		transposeRev(dst, src, shape)
	case 2:
		transposeRev(as[uint16](dst), as[uint16](src), shape)
	case 4:
		transposeRev(as[uint32](dst), as[uint32](src), shape)
	case 8:
		transposeRev(as[uint64](dst), as[uint64](src), shape)
	default:
		panic(fmt.Sprintf("npy: TransposeRev of %d-byte elements", esz))
	}
}

func as[T any](b []byte) []T {
	var z T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(z)))
}

// transposeRev is TransposeRev on typed slices: it walks src in order and
// scatters, an innermost run at a time, along the destination's stride of
// the last source axis.
func transposeRev[T any](dst, src []T, shape []int) {
	// Squeeze out axes of size 1: they change no element's place.
	var sh []int
	n := 1
	for _, d := range shape {
		n *= d
		if d != 1 {
			sh = append(sh, d)
		}
	}
	if n == 0 {
		return
	}
	if len(sh) <= 1 {
		copy(dst, src[:n])
		return
	}
	k := len(sh)
	// In dst, axis a of the source has stride prod(sh[:a]).
	stride := make([]int, k)
	s := 1
	for a := 0; a < k; a++ {
		stride[a] = s
		s *= sh[a]
	}
	if k == 2 {
		// A matrix transpose, in tiles.
		r, c := sh[0], sh[1]
		const tile = 32
		for i0 := 0; i0 < r; i0 += tile {
			i1 := min(i0+tile, r)
			for j0 := 0; j0 < c; j0 += tile {
				j1 := min(j0+tile, c)
				for i := i0; i < i1; i++ {
					row := src[i*c : (i+1)*c]
					for j := j0; j < j1; j++ {
						dst[j*r+i] = row[j]
					}
				}
			}
		}
		return
	}
	idx := make([]int, k)
	last, ls := sh[k-1], stride[k-1]
	off := 0
	for i := 0; i < n; i += last {
		o := off
		for _, v := range src[i : i+last] {
			dst[o] = v
			o += ls
		}
		for a := k - 2; a >= 0; a-- {
			idx[a]++
			off += stride[a]
			if idx[a] < sh[a] {
				break
			}
			off -= stride[a] * sh[a]
			idx[a] = 0
		}
	}
}

// View returns the bytes b, in this machine's byte order, as a host tensor
// of type dt that shares their memory (Uint8 for any other type). b must be
// aligned for dt.
func View(dt dropout.DType, b []byte) dropout.Tensor {
	switch dt {
	case dropout.Float32:
		return dropout.Float32s(as[float32](b))
	case dropout.Float64:
		return dropout.Float64s(as[float64](b))
	case dropout.Float16:
		return dropout.Float16s(as[uint16](b))
	case dropout.BFloat16:
		return dropout.BFloat16s(as[uint16](b))
	}
	return dropout.Bytes(b)
}
