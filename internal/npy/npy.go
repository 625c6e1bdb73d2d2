// Package npy reads and writes NumPy .npy files for the dropout command.
//
// The header (magic, version, and the dictionary of dtype descr,
// fortran_order and shape) is parsed as NumPy parses it (see header.go):
// a header is accepted exactly when numpy.lib.format accepts it. The data
// block is moved in bulk, straight between the file and the memory of a
// []float32, []float64 or []byte (no per-element reflection), with byte
// swapping for data whose byte order is not the machine's.
//
// Reading accepts float32, float64 and float16 data (uint16 data as
// bfloat16 bits, on request: NumPy has no bfloat16 dtype; uint8/bool for
// masks) of any shape, including 0-d and empty arrays, in C or Fortran
// order, little- or big-endian; Fortran-order data is transposed so that
// the returned slice is always in row-major (C) order, the flat index of
// the dropout stream contract. Large files are read a chunk at a time with
// ReadRaw in their own memory order (see stream.go). Input may be a regular file or a stream (a pipe, a FIFO,
// standard input): the data's size is checked against a regular file's
// size, and the memory it needs against the memory available
// (internal/memlimit), before anything is allocated.
//
// Writing produces version 1.0 files (2.0 for huge headers), little-endian,
// C order unless asked for Fortran order (WriteOrder), header padded to 64
// bytes as NumPy does; bfloat16 data is written as uint16 ("<u2"). An output that is a
// regular file (or does not exist yet) is replaced atomically; other
// outputs (a character device, a FIFO) are written in place. See Create.
//
// Every error names the file and the problem on one line.
package npy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// magic starts every .npy file.
var magic = []byte("\x93NUMPY")

// Errors matched by errors.Is; every error of this package wraps one (or
// dropout.ErrOutOfMemory, or an os error).
var (
	// ErrFormat reports a file that is not a valid .npy file: bad magic,
	// corrupt header, truncated data, trailing data.
	ErrFormat = errors.New("not a valid .npy file")
	// ErrDType reports a dtype this program does not handle.
	ErrDType = errors.New("unsupported dtype")
	// ErrShape reports an array whose shape is not the one required.
	ErrShape = errors.New("wrong shape")
	// ErrMask reports mask values that are not a valid mask.
	ErrMask = errors.New("invalid mask")
	// ErrSameFile reports two paths that name the same file where they
	// must not (an output and an input, or two outputs).
	ErrSameFile = errors.New("the same file")
)

// maxHeader caps the header length a file may declare, so that a corrupt
// length cannot make us allocate gigabytes.
const maxHeader = 1 << 20

// memLimit tells how much memory reading may allocate; tests replace it.
var memLimit = memlimit.System

// Header is the parsed header of a .npy file.
type Header struct {
	Descr   string           // the dtype descr string, such as "<f4"
	DType   dropout.DType    // Float32, Float64, Float16, BFloat16 (uint16 data) or Uint8 (uint8 and bool)
	Order   binary.ByteOrder // byte order of the data
	Fortran bool             // data in column-major order
	Shape   []int            // empty for a 0-d array
	N       int              // number of elements
	DataOff int64            // offset of the data block in the file
}

// Bytes is the size of the data block.
func (h Header) Bytes() int64 { return int64(h.N) * int64(h.DType.Size()) }

// Array is an array in row-major order: Data is dropout.Float32s,
// dropout.Float64s, dropout.Float16s, dropout.BFloat16s or dropout.Bytes of
// product(Shape) elements.
type Array struct {
	Shape []int
	Data  dropout.Tensor
}

// ShapeString formats a shape as NumPy does: (), (3,), (2, 3).
func ShapeString(shape []int) string {
	switch len(shape) {
	case 0:
		return "()"
	case 1:
		return "(" + strconv.Itoa(shape[0]) + ",)"
	}
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = strconv.Itoa(d)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// numElems returns the product of shape, or an error on overflow or a
// negative axis.
func numElems(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("%w: negative axis in shape %s", ErrFormat, ShapeString(shape))
		}
	}
	for _, d := range shape {
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("%w: shape %s is too large", ErrFormat, ShapeString(shape))
		}
		n *= d
	}
	return n, nil
}

// ReadHeader reads the header of a .npy file from r, leaving r at the first
// byte of the data block.
func ReadHeader(r io.Reader) (Header, error) {
	var pre [12]byte
	if n, err := io.ReadFull(r, pre[:8]); err != nil {
		if errors.Is(err, io.EOF) {
			return Header{}, fmt.Errorf("%w: empty file", ErrFormat)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			if n < len(magic) && string(pre[:n]) != string(magic[:n]) {
				return Header{}, fmt.Errorf("%w: bad magic (not a NumPy file)", ErrFormat)
			}
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		return Header{}, err
	}
	if string(pre[:6]) != string(magic) {
		return Header{}, fmt.Errorf("%w: bad magic (not a NumPy file)", ErrFormat)
	}
	major, minor := pre[6], pre[7]
	var lenBytes int
	switch {
	case major == 1 && minor == 0:
		lenBytes = 2
	case (major == 2 || major == 3) && minor == 0:
		lenBytes = 4
	default:
		return Header{}, fmt.Errorf("%w: unknown format version %d.%d", ErrFormat, major, minor)
	}
	if _, err := io.ReadFull(r, pre[8:8+lenBytes]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		return Header{}, err
	}
	var hlen uint64
	if lenBytes == 2 {
		hlen = uint64(binary.LittleEndian.Uint16(pre[8:]))
	} else {
		hlen = uint64(binary.LittleEndian.Uint32(pre[8:]))
	}
	if hlen > maxHeader {
		return Header{}, fmt.Errorf("%w: corrupt header (declares %d bytes)", ErrFormat, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		return Header{}, err
	}
	h, err := parseHeader(major, hdr)
	if err != nil {
		return Header{}, err
	}
	h.DataOff = int64(8 + lenBytes + len(hdr))
	return h, nil
}

// parseHeader parses the header dictionary of a file of version major and
// classifies its descr.
func parseHeader(major byte, hdr []byte) (Header, error) {
	h, descr, src, err := parseHeaderText(major, hdr)
	if err != nil {
		return Header{}, err
	}
	if h.N, err = numElems(h.Shape); err != nil {
		return Header{}, err
	}
	if err := h.classify(descr, src); err != nil {
		return Header{}, err
	}
	if h.N > math.MaxInt/h.DType.Size() {
		return Header{}, fmt.Errorf("%w: shape %s is too large", ErrFormat, ShapeString(h.Shape))
	}
	return h, nil
}

var nativeOrder binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// Input is a .npy input whose header has been read: a file or a stream.
type Input struct {
	Name   string // the path, or a name for a stream, for messages
	Header Header
	r      io.Reader
	c      io.Closer
	f      *os.File // the open file, nil for a reader
	size   int64    // size of a regular file; -1 for a stream
	read   bool     // the data was read
	bf16   bool     // uint16 data accepted as bfloat16 bits (AsBFloat16)
	done   int64    // data bytes read by ReadRaw
}

// Open opens the .npy file at path and reads its header. A regular file's
// size must be the header's plus its data's; any other file (a FIFO, a
// character device) is read as a stream. Errors name the file.
func Open(path string) (*Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileErr(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fileErr(path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a .npy file", path)
	}
	size := int64(-1)
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	in, err := open(f, path, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.c, in.f = f, f
	return in, nil
}

// OpenReader reads the header of a .npy stream from r (standard input, a
// pipe); name names it in messages.
func OpenReader(r io.Reader, name string) (*Input, error) {
	return open(r, name, -1)
}

func open(r io.Reader, name string, size int64) (*Input, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, fileErr(name, err)
	}
	in := &Input{Name: name, Header: h, r: r, size: size}
	if size >= 0 {
		// A regular file: its size must fit the header, before any
		// memory is allocated for the data.
		want := h.Bytes()
		if have := size - h.DataOff; have < want {
			return nil, fileErr(name, fmt.Errorf("%w: truncated data (%d of %d bytes for %s %s)", ErrFormat, have, want, h.Descr, ShapeString(h.Shape)))
		} else if have > want {
			return nil, fileErr(name, fmt.Errorf("%w: %d bytes of unexpected data after the array (%s %s)", ErrFormat, have-want, h.Descr, ShapeString(h.Shape)))
		}
	}
	return in, nil
}

// File returns the open file of an input opened by Open, nil for a reader.
func (in *Input) File() *os.File { return in.f }

// Close closes the file of an input opened by Open.
func (in *Input) Close() error {
	if in.c == nil {
		return nil
	}
	c := in.c
	in.c = nil
	return c.Close()
}

// CheckArray checks that the input is float32, float64 or float16 data, or
// uint16 data accepted as bfloat16 bits by AsBFloat16.
func (in *Input) CheckArray() error {
	switch h := in.Header; {
	case h.DType == dropout.Uint8:
		return fileErr(in.Name, fmt.Errorf("%w: integer data (%q); want float32, float64 or float16", ErrDType, h.Descr))
	case h.DType == dropout.BFloat16 && !in.bf16:
		return fileErr(in.Name, fmt.Errorf("%w: integer data (uint16, %q); want float32, float64 or float16 (or --dtype bfloat16 for bfloat16 bits stored as uint16)", ErrDType, h.Descr))
	}
	return nil
}

// AsBFloat16 accepts the input's uint16 data as bfloat16 bits, the way
// bfloat16 tensors travel in .npy files (NumPy has no bfloat16 dtype).
// Any other dtype is an error that names it.
func (in *Input) AsBFloat16() error {
	if h := in.Header; h.DType != dropout.BFloat16 {
		return fileErr(in.Name, fmt.Errorf("%w: --dtype bfloat16 wants uint16 data (bfloat16 bits, \"<u2\"), got %q", ErrDType, h.Descr))
	}
	in.bf16 = true
	return nil
}

// ReadArray reads the float32 or float64 data of the input, after checking
// that the memory it needs is available.
func (in *Input) ReadArray() (*Array, error) {
	if err := in.CheckArray(); err != nil {
		return nil, err
	}
	a, err := in.readData()
	if err != nil {
		return nil, fileErr(in.Name, err)
	}
	return a, nil
}

// ReadFile reads a float32 or float64 array from the .npy file at path.
// Errors name the file.
func ReadFile(path string) (*Array, error) {
	in, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return in.ReadArray()
}

func fileErr(path string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%s: no such file", path)
		case errors.Is(err, os.ErrPermission):
			return fmt.Errorf("%s: permission denied", path)
		}
		return fmt.Errorf("%s: %s %w", path, pe.Op, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readData reads the data block described by the header and returns it in
// row-major order.
func (in *Input) readData() (*Array, error) {
	if in.read {
		return nil, errors.New("data already read")
	}
	in.read = true
	h := in.Header
	want := h.Bytes()
	if err := memLimit().Check(dropout.ErrOutOfMemory, fmt.Sprintf("reading %s %s", h.Descr, ShapeString(h.Shape)), want); err != nil {
		return nil, err
	}
	cr := &countingReader{r: in.r}
	truncated := func(err error) error {
		if errors.Is(err, errTruncated) {
			return fmt.Errorf("%w: truncated data (%d of %d bytes for %s %s)", ErrFormat, cr.n, want, h.Descr, ShapeString(h.Shape))
		}
		return err
	}
	data := Alloc(h.DType, h.N)
	if h.Fortran && len(h.Shape) > 1 && h.N > 1 {
		// Scatter column-major data into row-major order as it arrives,
		// through a small buffer: no second whole-array copy.
		var err error
		switch d := data.(type) {
		case dropout.Float32s:
			err = readFortran(cr, d, h)
		case dropout.Float64s:
			err = readFortran(cr, d, h)
		case dropout.Float16s:
			err = readFortran(cr, d, h)
		case dropout.BFloat16s:
			err = readFortran(cr, d, h)
		case dropout.Bytes:
			err = readFortran(cr, d, h)
		}
		if err != nil {
			return nil, truncated(err)
		}
	} else if err := readAll(cr, bytesOf(data), h); err != nil {
		return nil, truncated(err)
	}
	if in.size < 0 {
		// A stream: nothing may follow the data.
		const most = 1 << 20
		n, err := io.Copy(io.Discard, io.LimitReader(in.r, most+1))
		switch {
		case n > most:
			return nil, fmt.Errorf("%w: more than %d bytes of unexpected data after the array (%s %s)", ErrFormat, most, h.Descr, ShapeString(h.Shape))
		case n > 0:
			return nil, fmt.Errorf("%w: %d bytes of unexpected data after the array (%s %s)", ErrFormat, n, h.Descr, ShapeString(h.Shape))
		case err != nil:
			return nil, err
		}
	}
	shape := h.Shape
	if shape == nil {
		shape = []int{}
	}
	return &Array{Shape: shape, Data: data}, nil
}

// errTruncated reports data that ended early.
var errTruncated = errors.New("truncated")

// readAll reads b in bulk and fixes its byte order.
func readAll(r io.Reader, b []byte, h Header) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errTruncated
		}
		return err
	}
	if h.Order != nativeOrder {
		swap(b, h.DType.Size())
	}
	return nil
}

// readFortran reads column-major data of h.Shape from r into dst in
// row-major order, a buffer at a time.
func readFortran[T any](r io.Reader, dst []T, h Header) error {
	shape := h.Shape
	k := len(shape)
	// stride[a] is the row-major stride of axis a; the source runs
	// through axis 0 fastest.
	stride := make([]int, k)
	s := 1
	for a := k - 1; a >= 0; a-- {
		stride[a] = s
		s *= shape[a]
	}
	idx := make([]int, k)
	off := 0
	d0, s0 := shape[0], stride[0]
	if d0 > 1<<20 {
		// Few, huge columns: s0 is small, so scattering element by
		// element is nearly sequential.
		buf := make([]T, 1<<16)
		for done := 0; done < len(dst); {
			c := min(len(buf), len(dst)-done)
			if err := readAll(r, rawBytes(buf[:c]), h); err != nil {
				return err
			}
			for _, v := range buf[:c] {
				dst[off] = v
				for a := 0; a < k; a++ {
					idx[a]++
					off += stride[a]
					if idx[a] < shape[a] {
						break
					}
					off -= stride[a] * shape[a]
					idx[a] = 0
				}
			}
			done += c
		}
		return nil
	}
	// Read whole columns (runs along axis 0) a buffer at a time and write
	// them out in tiles, so that neighbouring columns fill neighbouring
	// destination elements.
	cols := len(dst) / d0
	per := max(1, min(cols, (1<<20)/d0))
	buf := make([]T, per*d0)
	bases := make([]int, per)
	for col := 0; col < cols; {
		nc := min(per, cols-col)
		if err := readAll(r, rawBytes(buf[:nc*d0]), h); err != nil {
			return err
		}
		for c := range nc {
			bases[c] = off
			for a := 1; a < k; a++ {
				idx[a]++
				off += stride[a]
				if idx[a] < shape[a] {
					break
				}
				off -= stride[a] * shape[a]
				idx[a] = 0
			}
		}
		const tile = 32
		for i0 := 0; i0 < d0; i0 += tile {
			i1 := min(i0+tile, d0)
			for c := range nc {
				src, b := buf[c*d0:(c+1)*d0], bases[c]
				for i := i0; i < i1; i++ {
					dst[b+i*s0] = src[i]
				}
			}
		}
		col += nc
	}
	return nil
}

// rawBytes returns the memory of s as bytes.
func rawBytes[T any](s []T) []byte {
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// Alloc returns a host tensor of n elements of type dt (Uint8 for any
// other type).
func Alloc(dt dropout.DType, n int) dropout.Tensor {
	switch dt {
	case dropout.Float32:
		return make(dropout.Float32s, n)
	case dropout.Float64:
		return make(dropout.Float64s, n)
	case dropout.Float16:
		return make(dropout.Float16s, n)
	case dropout.BFloat16:
		return make(dropout.BFloat16s, n)
	}
	return make(dropout.Bytes, n)
}

// bytesOf returns the memory of a host tensor as bytes.
func bytesOf(t dropout.Tensor) []byte {
	b, _ := driver.RawBytes(t)
	return b
}

// swap reverses the byte order of every esz-byte element of b in place.
func swap(b []byte, esz int) {
	switch esz {
	case 2:
		w := unsafe.Slice((*uint16)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/2)
		for i, v := range w {
			w[i] = bits.ReverseBytes16(v)
		}
	case 4:
		w := unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
		for i, v := range w {
			w[i] = bits.ReverseBytes32(v)
		}
	case 8:
		w := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
		for i, v := range w {
			w[i] = bits.ReverseBytes64(v)
		}
	}
}

func descrOf(t dropout.Tensor) (string, error) {
	switch t.(type) {
	case dropout.Float32s:
		return "<f4", nil
	case dropout.Float64s:
		return "<f8", nil
	case dropout.Float16s:
		return "<f2", nil
	case dropout.BFloat16s:
		return "<u2", nil // bfloat16 bits: NumPy has no bfloat16
	case dropout.Bytes:
		return "|u1", nil
	}
	return "", fmt.Errorf("%w: cannot write %T", ErrDType, t)
}

// Write writes data, of the given row-major shape, as a .npy file to w.
func Write(w io.Writer, shape []int, data dropout.Tensor) error {
	return WriteOrder(w, shape, data, false)
}

// WriteOrder writes data, of the given row-major shape, as a .npy file to
// w, in Fortran (column-major) order when fortran is true: the array NumPy
// reads is the same, its memory order is the one asked for.
func WriteOrder(w io.Writer, shape []int, data dropout.Tensor, fortran bool) error {
	descr, err := descrOf(data)
	if err != nil {
		return err
	}
	n, err := numElems(shape)
	if err != nil {
		return err
	}
	if n != data.Len() {
		return fmt.Errorf("%w: shape %s has %d elements, data has %d", ErrShape, ShapeString(shape), n, data.Len())
	}
	if _, err := w.Write(formatHeader(descr, fortran, shape)); err != nil {
		return err
	}
	if fortran && len(shape) > 1 && n > 1 {
		// Column-major memory is the row-major order of the reversed
		// shape: transpose a copy.
		t := Alloc(data.DType(), n)
		TransposeRev(bytesOf(t), bytesOf(data), data.DType().Size(), shape)
		data = t
	}
	b := bytesOf(data)
	esz := data.DType().Size()
	if nativeOrder == binary.LittleEndian || esz == 1 {
		_, err = w.Write(b)
		return err
	}
	// A big-endian machine: swap through a small buffer.
	buf := make([]byte, 1<<20)
	for len(b) > 0 {
		c := copy(buf, b)
		swap(buf[:c], esz)
		if _, err := w.Write(buf[:c]); err != nil {
			return err
		}
		b = b[c:]
	}
	return nil
}
