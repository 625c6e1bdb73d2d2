package npy

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gpudropout/dropout"
)

// supported maps every descr string that NumPy (numpy.dtype(descr), as
// numpy.lib.format.descr_to_dtype calls it) reads as float32, float64,
// float16, uint16 (bfloat16 bits), uint8 or bool to its dtype. Type codes take a byte-order prefix (< > =
// |), names do not. float_ and bool8 are names of older NumPy versions.
var supported = func() map[string]descrInfo {
	m := map[string]descrInfo{}
	add := func(dt dropout.DType, isBool bool, names, codes []string) {
		for _, n := range names {
			m[n] = descrInfo{dt, isBool}
		}
		for _, c := range codes {
			for _, p := range []string{"", "<", ">", "=", "|"} {
				m[p+c] = descrInfo{dt, isBool}
			}
		}
	}
	add(dropout.Float32, false, []string{"float32", "single"}, []string{"f", "f4"})
	add(dropout.Float64, false, []string{"float64", "double", "float", "float_"}, []string{"d", "f8"})
	add(dropout.Float16, false, []string{"float16", "half"}, []string{"e", "f2"})
	// uint16 is read only as bfloat16 bits (Input.AsBFloat16): NumPy has
	// no bfloat16 dtype. Until then it is refused as integer data.
	add(dropout.BFloat16, false, []string{"uint16", "ushort"}, []string{"H", "u2"})
	add(dropout.Uint8, false, []string{"uint8", "ubyte"}, []string{"B", "u1"})
	add(dropout.Uint8, true, []string{"bool", "bool_", "bool8"}, []string{"?", "b1"})
	return m
}()

type descrInfo struct {
	dt     dropout.DType
	isBool bool
}

// Names NumPy gives the dtypes this program does not handle, for messages:
// type codes (with a byte-order prefix or none) and names.
var (
	otherCodes = map[string]string{
		"b": "int8", "h": "int16", "i": "int32", "l": "int64", "q": "int64", "p": "int64", "n": "int64",
		"H": "uint16", "I": "uint32", "L": "uint64", "Q": "uint64", "P": "uint64", "N": "uint64",
		"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
		"u2": "uint16", "u4": "uint32", "u8": "uint64",
		"e": "float16", "f2": "float16", "g": "longdouble", "f16": "longdouble", "f12": "longdouble",
		"F": "complex64", "D": "complex128", "G": "complex256", "c8": "complex64", "c16": "complex128", "c32": "complex256",
		"O": "object", "O8": "object",
	}
	otherNames = map[string]string{
		"int8": "int8", "byte": "int8", "int16": "int16", "short": "int16", "int32": "int32", "intc": "int32",
		"int64": "int64", "int": "int64", "int_": "int64", "intp": "int64", "long": "int64", "longlong": "int64",
		"uint16": "uint16", "ushort": "uint16", "uint32": "uint32", "uintc": "uint32", "uint64": "uint64",
		"uint": "uint64", "uintp": "uint64", "ulong": "uint64", "ulonglong": "uint64",
		"float16": "float16", "half": "float16", "longdouble": "longdouble", "longfloat": "longdouble", "float128": "longdouble",
		"complex64": "complex64", "csingle": "complex64", "singlecomplex": "complex64",
		"complex128": "complex128", "complex": "complex128", "cdouble": "complex128", "cfloat": "complex128", "complex_": "complex128",
		"complex256": "complex256", "clongdouble": "complex256", "clongfloat": "complex256", "longcomplex": "complex256",
		"object": "object", "object_": "object",
	}
	// Flexible and time types: a letter and an optional size or unit.
	otherKinds = map[byte]string{'S': "byte string", 'a': "byte string", 'U': "unicode string", 'V': "void",
		'M': "datetime64", 'm': "timedelta64"}
)

// classify sets DType and Order from the descr: the parsed value d, whose
// text in the header is src.
func (h *Header) classify(d pyValue, src string) error {
	switch d.kind {
	case pyStr:
	case pyList:
		return fmt.Errorf("%w %s (structured arrays are not supported; want float32, float64 or float16)", ErrDType, src)
	case pyTuple:
		return fmt.Errorf("%w %s (subarray dtypes are not supported; want float32, float64 or float16)", ErrDType, src)
	default:
		return fmt.Errorf("%w %s (want float32, float64 or float16)", ErrDType, src)
	}
	if info, ok := supported[h.Descr]; ok {
		h.DType = info.dt
		switch h.Descr[0] {
		case '>':
			h.Order = binary.BigEndian
		case '<':
			h.Order = binary.LittleEndian
		default: // '|', '=' or no prefix: this machine's order
			h.Order = nativeOrder
		}
		return nil
	}
	name := otherNames[h.Descr]
	if name == "" {
		code := strings.TrimLeft(h.Descr, "<>=|")
		if len(h.Descr)-len(code) <= 1 {
			name = otherCodes[code]
			if name == "" && code != "" {
				if kind, ok := otherKinds[code[0]]; ok && flexibleTail(code[1:]) {
					return fmt.Errorf("%w: %s data (%q); want float32, float64 or float16", ErrDType, kind, h.Descr)
				}
			}
		}
	}
	switch {
	case name == "":
		if strings.ContainsAny(h.Descr, ",(") {
			return fmt.Errorf("%w %q (structured and subarray dtypes are not supported; want float32, float64 or float16)", ErrDType, h.Descr)
		}
		return fmt.Errorf("%w %q (want float32, float64 or float16)", ErrDType, h.Descr)
	case strings.Contains(name, "int"):
		return fmt.Errorf("%w: integer data (%s, %q); want float32, float64 or float16", ErrDType, name, h.Descr)
	case strings.HasPrefix(name, "complex"):
		return fmt.Errorf("%w: complex data (%s, %q); want float32, float64 or float16", ErrDType, name, h.Descr)
	case name == "object":
		return fmt.Errorf("%w: object array (%q); want float32, float64 or float16", ErrDType, h.Descr)
	}
	return fmt.Errorf("%w: %s data (%q); want float32, float64 or float16", ErrDType, name, h.Descr)
}

// flexibleTail reports whether s is an optional size and an optional
// unit in brackets: "", "10", "8[ns]", "[D]".
func flexibleTail(s string) bool {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	s = s[i:]
	return s == "" || len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' && !strings.ContainsAny(s[1:len(s)-1], "[]")
}
