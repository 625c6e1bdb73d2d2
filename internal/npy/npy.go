// Package npy reads and writes NumPy .npy files for the dropout command.
//
// The header (magic, version, dtype descr, fortran_order, shape) is parsed
// with codeberg.org/sbinet/npyio; the data block is moved in bulk, straight
// between the file and the memory of a []float32, []float64 or []byte (no
// per-element reflection), with byte swapping for data whose byte order is
// not the machine's.
//
// Reading accepts float32 and float64 data (and uint8/bool for masks) of any
// shape, including 0-d and empty arrays, in C or Fortran order, little- or
// big-endian; Fortran-order data is transposed so that the returned slice is
// always in row-major (C) order, the flat index of the dropout stream
// contract. Writing produces version 1.0 files (2.0 for huge headers),
// little-endian, C order, header padded to 64 bytes as NumPy does, through a
// temporary file in the destination's directory that is renamed into place
// only when complete.
//
// Every error names the file and the problem on one line.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"codeberg.org/sbinet/npyio"

	"github.com/gpudropout/dropout"
)

// Errors matched by errors.Is; every error of this package wraps one.
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
)

// maxHeader caps the header length a file may declare, so that a corrupt
// length cannot make us allocate gigabytes.
const maxHeader = 1 << 20

// Header is the parsed header of a .npy file.
type Header struct {
	Descr   string           // the dtype descr as in the file, such as "<f4"
	DType   dropout.DType    // Float32, Float64 or Uint8 (uint8 and bool)
	Order   binary.ByteOrder // byte order of the data
	Fortran bool             // data in column-major order
	Shape   []int            // nil or empty for a 0-d array
	N       int              // number of elements
	DataOff int64            // offset of the data block in the file
}

// Array is an array in row-major order: Data is dropout.Float32s,
// dropout.Float64s or dropout.Bytes of product(Shape) elements.
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
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		if errors.Is(err, io.EOF) {
			return Header{}, fmt.Errorf("%w: empty file", ErrFormat)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
		}
		return Header{}, err
	}
	if !bytes.Equal(pre[:6], npyio.Magic[:]) {
		return Header{}, fmt.Errorf("%w: bad magic (not a NumPy file)", ErrFormat)
	}
	major := pre[6]
	var lenBytes int
	switch major {
	case 1:
		lenBytes = 2
	case 2, 3:
		lenBytes = 4
	default:
		return Header{}, fmt.Errorf("%w: unknown format version %d.%d", ErrFormat, major, pre[7])
	}
	if _, err := io.ReadFull(r, pre[8:8+lenBytes]); err != nil {
		return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	var hlen uint64
	if lenBytes == 2 {
		hlen = uint64(binary.LittleEndian.Uint16(pre[8:]))
	} else {
		var b [4]byte
		copy(b[:], pre[8:12])
		hlen = uint64(binary.LittleEndian.Uint32(b[:]))
	}
	if hlen > maxHeader {
		return Header{}, fmt.Errorf("%w: corrupt header (declares %d bytes)", ErrFormat, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Header{}, fmt.Errorf("%w: truncated header", ErrFormat)
	}
	if bytes.IndexByte(hdr, '\n') < 0 || bytes.IndexByte(hdr, '{') < 0 || bytes.IndexByte(hdr, '}') < 0 {
		return Header{}, fmt.Errorf("%w: corrupt header", ErrFormat)
	}
	h, err := parseHeader(major, hdr)
	if err != nil {
		return Header{}, err
	}
	h.DataOff = int64(8 + lenBytes + len(hdr))
	return h, nil
}

// parseHeader parses the header dictionary with npyio.
func parseHeader(major byte, hdr []byte) (h Header, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: corrupt header", ErrFormat)
		}
	}()
	// npyio reads versions 1 and 2; version 3 differs only in allowing
	// UTF-8 in the header, so it is parsed as version 2.
	var buf bytes.Buffer
	buf.Write(npyio.Magic[:])
	if major == 1 {
		buf.Write([]byte{1, 0})
		binary.Write(&buf, binary.LittleEndian, uint16(len(hdr)))
	} else {
		buf.Write([]byte{2, 0})
		binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	}
	buf.Write(hdr)
	rd, err := npyio.NewReader(&buf)
	if err != nil {
		return Header{}, fmt.Errorf("%w: corrupt header (%v)", ErrFormat, oneLine(err))
	}
	h.Fortran = rd.Header.Descr.Fortran
	h.Shape = rd.Header.Descr.Shape
	if h.N, err = numElems(h.Shape); err != nil {
		return Header{}, err
	}
	descr := strings.TrimSpace(rd.Header.Descr.Type)
	if len(descr) < 2 || (descr[0] != '\'' && descr[0] != '"') || descr[len(descr)-1] != descr[0] {
		return Header{}, fmt.Errorf("%w %s (structured arrays are not supported; want float32 or float64)", ErrDType, descr)
	}
	descr = descr[1 : len(descr)-1]
	h.Descr = descr
	if err := h.classify(); err != nil {
		return Header{}, err
	}
	return h, nil
}

// classify sets DType and Order from Descr.
func (h *Header) classify() error {
	t, err := typeFrom(h.Descr)
	if err != nil || t == nil {
		return fmt.Errorf("%w %q (want float32 or float64)", ErrDType, h.Descr)
	}
	name := t.String()
	switch t.Kind() {
	case reflect.Float32:
		h.DType = dropout.Float32
	case reflect.Float64:
		h.DType = dropout.Float64
	case reflect.Uint8, reflect.Bool:
		h.DType = dropout.Uint8
		if t.Kind() == reflect.Bool {
			name = "bool"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Errorf("%w: integer data (%s, %q); want float32 or float64", ErrDType, name, h.Descr)
	case reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("%w: complex data (%s, %q); want float32 or float64", ErrDType, name, h.Descr)
	case reflect.Interface:
		return fmt.Errorf("%w: object array (%q); want float32 or float64", ErrDType, h.Descr)
	default:
		if strings.Contains(name, "float16") {
			return fmt.Errorf("%w: float16 data (%q) is not supported yet; want float32 or float64", ErrDType, h.Descr)
		}
		return fmt.Errorf("%w %s (%q); want float32 or float64", ErrDType, name, h.Descr)
	}
	switch h.Descr[0] {
	case '>':
		h.Order = binary.BigEndian
	case '<':
		h.Order = binary.LittleEndian
	default: // '|', '=' or no prefix: native order
		h.Order = nativeOrder
	}
	return nil
}

// typeFrom wraps npyio.TypeFrom, which panics on descrs it cannot parse.
func typeFrom(descr string) (t reflect.Type, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return npyio.TypeFrom(descr), nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

var nativeOrder binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// ReadFile reads a float32 or float64 array from the .npy file at path.
// Errors name the file.
func ReadFile(path string) (*Array, error) {
	a, err := readFile(path, func(h Header) error {
		if h.DType == dropout.Uint8 {
			return fmt.Errorf("%w: integer data (%q); want float32 or float64", ErrDType, h.Descr)
		}
		return nil
	})
	if err != nil {
		return nil, fileErr(path, err)
	}
	return a, nil
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

// readFile reads the array at path; check vets the header before any data
// is read.
func readFile(path string, check func(Header) error) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory, not a .npy file")
	}
	h, err := ReadHeader(f)
	if err != nil {
		return nil, err
	}
	if err := check(h); err != nil {
		return nil, err
	}
	return readData(f, st.Size(), h)
}

// readData reads the data block described by h from r, whose whole size
// (header included) is size, and returns it in row-major order.
func readData(r io.Reader, size int64, h Header) (*Array, error) {
	esz := h.DType.Size()
	if h.N > math.MaxInt/esz {
		return nil, fmt.Errorf("%w: shape %s is too large", ErrFormat, ShapeString(h.Shape))
	}
	want := int64(h.N) * int64(esz)
	if have := size - h.DataOff; have < want {
		return nil, fmt.Errorf("%w: truncated data (%d of %d bytes for %s %s)", ErrFormat, have, want, h.Descr, ShapeString(h.Shape))
	} else if have > want {
		return nil, fmt.Errorf("%w: %d bytes of unexpected data after the array (%s %s)", ErrFormat, have-want, h.Descr, ShapeString(h.Shape))
	}
	data := alloc(h.DType, h.N)
	if h.Fortran && len(h.Shape) > 1 && h.N > 1 {
		// Scatter column-major data into row-major order as it arrives,
		// through a small buffer: no second whole-array copy.
		var err error
		switch d := data.(type) {
		case dropout.Float32s:
			err = readFortran(r, d, h)
		case dropout.Float64s:
			err = readFortran(r, d, h)
		case dropout.Bytes:
			err = readFortran(r, d, h)
		}
		if err != nil {
			return nil, err
		}
	} else if err := readAll(r, bytesOf(data), h); err != nil {
		return nil, err
	}
	shape := h.Shape
	if shape == nil {
		shape = []int{}
	}
	return &Array{Shape: shape, Data: data}, nil
}

// readAll reads b in bulk and fixes its byte order.
func readAll(r io.Reader, b []byte, h Header) error {
	if n, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated data (%d of %d bytes)", ErrFormat, n, len(b))
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

func alloc(dt dropout.DType, n int) dropout.Tensor {
	switch dt {
	case dropout.Float32:
		return make(dropout.Float32s, n)
	case dropout.Float64:
		return make(dropout.Float64s, n)
	}
	return make(dropout.Bytes, n)
}

// bytesOf returns the memory of a host tensor as bytes.
func bytesOf(t dropout.Tensor) []byte {
	b, _ := dropout.RawBytes(t)
	return b
}

// swap reverses the byte order of every esz-byte element of b in place.
func swap(b []byte, esz int) {
	switch esz {
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

// header returns the header bytes of a little-endian C-order array:
// magic, version, length and the dictionary padded with spaces and a
// newline so that the data starts at a multiple of 64 bytes.
func header(descr string, shape []int) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, ShapeString(shape))
	pre := 10
	if len(dict)+1+pre > 65535+10 {
		pre = 12
	}
	total := (pre + len(dict) + 1 + 63) / 64 * 64
	pad := total - pre - len(dict) - 1
	b := make([]byte, 0, total)
	b = append(b, npyio.Magic[:]...)
	hl := len(dict) + pad + 1
	if pre == 10 {
		b = append(b, 1, 0)
		b = binary.LittleEndian.AppendUint16(b, uint16(hl))
	} else {
		b = append(b, 2, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(hl))
	}
	b = append(b, dict...)
	b = append(b, bytes.Repeat([]byte{' '}, pad)...)
	return append(b, '\n')
}

func descrOf(t dropout.Tensor) (string, error) {
	switch t.(type) {
	case dropout.Float32s:
		return "<f4", nil
	case dropout.Float64s:
		return "<f8", nil
	case dropout.Bytes:
		return "|u1", nil
	}
	return "", fmt.Errorf("%w: cannot write %T", ErrDType, t)
}

// Write writes data, of the given row-major shape, as a .npy file to w.
func Write(w io.Writer, shape []int, data dropout.Tensor) error {
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
	if _, err := w.Write(header(descr, shape)); err != nil {
		return err
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

// File is an output file being written: the data goes to a temporary file
// in the destination's directory, renamed to the destination by Commit and
// removed by Abort, so that no partial file ever has the destination's name.
type File struct {
	Path string
	tmp  *os.File
}

// Create starts writing the file at path.
func Create(path string) (*File, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: directory %s does not exist", path, dir)
	}
	tmp, err := live.create(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fileErr(path, err)
	}
	return &File{Path: path, tmp: tmp}, nil
}

// live holds the names of the temporary files of this process that are
// neither committed nor aborted, so that RemoveTemps can remove them when
// the process is interrupted. Signals are process-wide, and so is this set.
var live = tempSet{names: map[string]bool{}}

type tempSet struct {
	mu      sync.Mutex
	names   map[string]bool
	stopped bool // RemoveTemps ran: no new temporary files
}

// create makes a temporary file and records it, under the lock, so that
// RemoveTemps either sees it or runs before it exists; after RemoveTemps it
// fails without making a file.
func (s *tempSet) create(dir, pattern string) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, errors.New("interrupted")
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	s.names[f.Name()] = true
	return f, nil
}

func (s *tempSet) remove(name string) {
	s.mu.Lock()
	delete(s.names, name)
	s.mu.Unlock()
}

// RemoveTemps removes every temporary file that Create made and that was
// not yet committed or aborted, and returns how many it removed; from then
// on Create fails. A program calls it when interrupted (SIGINT, SIGTERM),
// before it exits, so that no partial output is left behind even under a
// hidden name.
func RemoveTemps() int {
	live.mu.Lock()
	defer live.mu.Unlock()
	live.stopped = true
	n := 0
	for name := range live.names {
		if os.Remove(name) == nil {
			n++
		}
		delete(live.names, name)
	}
	return n
}

// Write writes the array to the temporary file.
func (f *File) Write(shape []int, data dropout.Tensor) error {
	if err := Write(f.tmp, shape, data); err != nil {
		return fileErr(f.Path, err)
	}
	return nil
}

// Raw returns the temporary file, for writing something other than an
// array (a table, a plot) with the same commit-or-abort discipline.
func (f *File) Raw() io.Writer { return f.tmp }

// Commit closes the temporary file and renames it to Path.
func (f *File) Commit() error {
	if f.tmp == nil {
		return fmt.Errorf("%s: already closed", f.Path)
	}
	name := f.tmp.Name()
	defer live.remove(name)
	err := f.tmp.Chmod(0o644)
	if err == nil {
		err = f.tmp.Close()
	} else {
		f.tmp.Close()
	}
	f.tmp = nil
	if err == nil {
		err = os.Rename(name, f.Path)
	}
	if err != nil {
		os.Remove(name)
		return fileErr(f.Path, err)
	}
	return nil
}

// Abort removes the temporary file. It is harmless after Commit.
func (f *File) Abort() {
	if f.tmp == nil {
		return
	}
	name := f.tmp.Name()
	f.tmp.Close()
	os.Remove(name)
	live.remove(name)
	f.tmp = nil
}

// WriteFile writes data with the given shape to path, atomically.
func WriteFile(path string, shape []int, data dropout.Tensor) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	if err := f.Write(shape, data); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
