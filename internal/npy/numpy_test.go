package npy

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// numpyPython returns a python3 that imports numpy. Without one the test
// is skipped, unless DROPOUT_REQUIRE_DEVICES=1 (make test), where it fails.
func numpyPython(t *testing.T) string {
	t.Helper()
	cands := []string{"python3", "/usr/bin/python3"}
	if p := os.Getenv("DROPOUT_PYTHON"); p != "" {
		cands = append([]string{p}, cands...)
	}
	var tried []string
	for _, c := range cands {
		out, err := exec.Command(c, "-c", "import numpy; print(numpy.__version__)").CombinedOutput()
		if err == nil {
			t.Logf("%s: numpy %s", c, strings.TrimSpace(string(out)))
			return c
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", c, lastLine(string(out), err)))
	}
	msg := fmt.Sprintf("no python3 that imports numpy; tried %s; install python3-numpy (make deps) or set DROPOUT_PYTHON", strings.Join(tried, ", "))
	if os.Getenv("DROPOUT_REQUIRE_DEVICES") == "1" {
		t.Fatal(msg + " (DROPOUT_REQUIRE_DEVICES=1 makes this a failure)")
	}
	t.Skip(msg)
	return ""
}

func lastLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if l := lines[len(lines)-1]; l != "" {
		return l
	}
	return err.Error()
}

// numpyHeaders reads every header with numpy.lib.format, as np.load does.
const numpyHeaders = `
import io, json, struct, sys, inspect, warnings
warnings.simplefilter("ignore")
import numpy as np
try:
    from numpy.lib import _format_impl as F
except ImportError:
    from numpy.lib import format as F
kw = {}
if "max_header_size" in inspect.signature(F._read_array_header).parameters:
    kw["max_header_size"] = 1 << 30
data = open(sys.argv[1], "rb").read()
out, pos = [], 0
while pos < len(data):
    v = data[pos]
    n = struct.unpack("<I", data[pos+1:pos+5])[0]
    h = data[pos+5:pos+5+n]
    pos += 5 + n
    if v == 1:
        pre = b"\x93NUMPY\x01\x00" + struct.pack("<H", n)
    else:
        pre = b"\x93NUMPY" + bytes([v, 0]) + struct.pack("<I", n)
    f = io.BytesIO(pre + h)
    try:
        ver = F.read_magic(f)
        shape, fortran, dt = F._read_array_header(f, ver, **kw)
        out.append({"ok": True, "shape": [int(x) for x in shape], "fortran": bool(fortran),
                    "dtype": dt.str, "fields": dt.names is not None or dt.subdtype is not None})
    except Exception as e:
        # Did the descr alone fail? Read again with any descr accepted.
        real, F.descr_to_dtype = F.descr_to_dtype, lambda d: np.dtype("f4")
        try:
            f.seek(0)
            F._read_array_header(f, F.read_magic(f), **kw)
            descr = True
        except Exception:
            descr = False
        F.descr_to_dtype = real
        out.append({"ok": False, "descr": descr, "err": type(e).__name__ + ": " + str(e)[:300]})
json.dump(out, sys.stdout)
`

type npResult struct {
	OK      bool          `json:"ok"`
	Shape   []json.Number `json:"shape"`
	Fortran bool          `json:"fortran"`
	DType   string        `json:"dtype"`
	Fields  bool          `json:"fields"`
	Descr   bool          `json:"descr"`
	Err     string        `json:"err"`
}

type headerCase struct {
	version byte
	text    []byte
}

// runNumPyHeaders has numpy read every case's header.
func runNumPyHeaders(t *testing.T, py string, cases []headerCase) []npResult {
	t.Helper()
	var in bytes.Buffer
	for _, c := range cases {
		in.WriteByte(c.version)
		binary.Write(&in, binary.LittleEndian, uint32(len(c.text)))
		in.Write(c.text)
	}
	p := filepath.Join(t.TempDir(), "headers.bin")
	if err := os.WriteFile(p, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", numpyHeaders, p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	d := json.NewDecoder(bytes.NewReader(out))
	d.UseNumber()
	var res []npResult
	if err := d.Decode(&res); err != nil || len(res) != len(cases) {
		t.Fatalf("python output: %v, %d results for %d cases", err, len(res), len(cases))
	}
	return res
}

// headerVariants generates headers NumPy may or may not accept: a valid
// header varied one feature at a time (key order, quotes, spacing,
// comments, shapes, descrs, bools, junk), then random edits of valid ones.
func headerVariants() []headerCase {
	var out []headerCase
	add := func(v byte, s string) { out = append(out, headerCase{v, []byte(s)}) }
	type parts struct {
		pre, post        string // around the braces
		keys             [3]string
		descr, ord, shp  string
		sep, colon, tail string
	}
	base := parts{keys: [3]string{"'descr'", "'fortran_order'", "'shape'"}, descr: "'<f4'", ord: "False", shp: "(6, 1)",
		sep: ", ", colon: ": ", tail: ", ", post: "\n"}
	render := func(p parts, order []int) string {
		vals := [3]string{p.descr, p.ord, p.shp}
		var items []string
		for _, i := range order {
			items = append(items, p.keys[i]+p.colon+vals[i])
		}
		return p.pre + "{" + strings.Join(items, p.sep) + p.tail + "}" + p.post
	}
	std := []int{0, 1, 2}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		add(1, render(base, order))
	}
	vary := func(f func(p *parts, s string), vals ...string) {
		for _, s := range vals {
			p := base
			f(&p, s)
			add(1, render(p, std))
		}
	}
	vary(func(p *parts, s string) { p.shp = s },
		"()", "(3,)", "(3)", "3", "(6, 1)", "(6,1,)", "(6 ,1 , )", "(0,)", "(2, 3, 4)", "(3L,)", "(3 L,)", "(3 L L,)", "(3LL,)",
		"(3l,)", "(0x3,)", "(0X_3,)", "(0o7,)", "(0b11,)", "(1_0,)", "(1__0,)", "(1_,)", "(+3,)", "(-0,)", "(-3,)", "(- 3,)",
		"(--3,)", "(+-3,)", "(True, 2)", "(False,)", "(3.0,)", "(3.,)", "(3e0,)", "(3j,)", "[3]", "[]", "(3,,)", "(,)",
		"((3,),)", "('3',)", "(99999999999999999999,)", "(9223372036854775807,)", "(9223372036854775808,)",
		"(4294967296, 4294967296)", "(None,)", "(3, None)", "(00,)", "(0_0,)", "(01,)", "(09,)", "{3}", "set()", "(\n3,\n)",
		"(3, # c\n)", "(3,\\\n)", "( 3 , )", "(\t3,)", "(3L, 4L)", "(0x3L,)", "(3 L, 4)", "(3\\\nL,)", "(3 # c\nL,)",
		"(1+2j,)", "(3, *a)", "(3) + (4,)", "(3,)[0]", "(3 ,)", "(1e3L,)", "(-(3),)", "(-(-3),)", "(~3,)", "(3 if 1 else 2,)",
		"("+strings.Repeat("(", 198)+strings.Repeat(")", 198)+")", "("+strings.Repeat("(", 199)+strings.Repeat(")", 199)+")",
		"("+strings.Repeat("[", 199)+strings.Repeat("]", 199)+",)")
	vary(func(p *parts, s string) { p.ord = s },
		"True", "False", "0", "1", "'False'", "None", "true", "(False)", "False,", "not True", "FALSE", "Fals", "False L")
	vary(func(p *parts, s string) { p.descr = s },
		"'<f4'", "'>f4'", "'|f4'", "'=f4'", "'f4'", "'f'", "'<f'", "'>f'", "'float32'", "'single'", "'<f8'", "'>f8'", "'f8'",
		"'d'", "'>d'", "'float'", "'float64'", "'double'", "'float_'", "'|u1'", "'u1'", "'<u1'", "'>u1'", "'B'", "'=B'",
		"'uint8'", "'ubyte'", "'|b1'", "'b1'", "'?'", "'>?'", "'bool'", "'bool_'", "'bool8'", "'<i4'", "'i4'", "'int32'",
		"'<i8'", "'int'", "'|i1'", "'b'", "'<u2'", "'<f2'", "'e'", "'half'", "'float16'", "'<f16'", "'g'", "'longdouble'",
		"'<c8'", "'<c16'", "'D'", "'complex'", "'|O'", "'O'", "'object'", "'|S3'", "'<U3'", "'|V4'", "'<M8[ns]'", "'m8'",
		"'a3'", "'<zz'", "'F4'", "'<F4'", "'Float64'", "'<float32'", "' <f4'", "'<f4 '", "'<f4,'", "'<f4,<f4'", "'(2,)<f4'",
		"'f8\\x00'", "''", "'<'", "'\\x3cf4'", "'\\u003cf4'", "'\\U0000003cf4'", "'\\74f4'", "'<\\f4'", "'<f\\64'", "r'<f4'",
		"u'<f4'", "U'<f4'", "R'<f4'", "'''<f4'''", "\"\"\"<f4\"\"\"", "\"<f4\"", "'<' 'f4'", "'<' \"f4\"", "'<'\n'f4'",
		"'<' # c\n'f4'", "b'<f4'", "B'<f4'", "br'<f4'", "'<' b'f4'", "f'<f4'", "rf'<f4'", "'<' f'f4'", "ur'<f4'", "'<f4'L",
		"[('a', '<f4')]", "[('a', '<f4'), ('b', '<i4')]", "('<f4', (2,))", "('<f4', 2)", "3", "None", "['<f4']", "{'a': 1}",
		"('<f4',)", "'<f4' if 1 else 2", "'<f4'[0]", "'<f4' + ''", "'<f4' * 1", "'<f4\\\n'", "'<f\\\n4'", "'<f4\n'",
		"'''<f4\n'''", "\"<f4'", "'<f4", "'\\'<f4'", "'\\q'", "'\\x3'", "'\\x3g'")
	vary(func(p *parts, s string) { p.sep = s }, ",", " , ", ",\n", ",\n  ", ",\t", ", # comment\n", ",\\\n", ",\f", ",\v",
		" ,", ",,", "", ";", ",\x00", ", \xa0")
	vary(func(p *parts, s string) { p.colon = s }, ":", " : ", ":\n", ": # c\n", ":\\\n", "=", "::", ":=")
	vary(func(p *parts, s string) { p.tail = s }, "", ",", ", ", " ,\n", ",\n", ",,", ", # c\n", ", \\\n")
	vary(func(p *parts, s string) { p.pre = s }, " ", "\t", "\f", "  \t ", "\n", "\n ", "\n\n", "\f ", " \f", "\n\f",
		"# c\n", "# c\n ", "\\\n", " \\\n", "\\\n\\\n", "\ufeff", "\x00", "(", "x", "\v", "{", "1,")
	vary(func(p *parts, s string) { p.post = s }, "", " ", "\n", "\n\n", strings.Repeat(" ", 40)+"\n", "\n   \n", " # c", " # c\n",
		"\n# c\n", "\\", "\\\n", " \\\n", "\n\\\n", "\n1", " 1", ",", ",\n", "\x00", "\x00\n", "junk", ")", "}", "\t\n", "\f\n",
		"\n\t", "\n ", "\n \n", "\n  # x\n", ";", "\x0b")
	vary(func(p *parts, s string) { p.keys[0] = s }, "\"descr\"", "'''descr'''", "u'descr'", "r'descr'", "'d' 'escr'",
		"'des\\\ncr'", "'\\x64escr'", "b'descr'", "'Descr'", "descr", "'descr '", "('descr')", "'descr'L")
	vary(func(p *parts, s string) { p.keys[2] = s }, "\"shape\"", "'shap!'", "'shape' ''", "'sh' \"ape\"", "'shape\\t'")
	// Extra, missing and repeated keys; non-dicts.
	for _, s := range []string{
		"{'descr': '<f4', 'fortran_order': False}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (), 1: 2}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'descr': '<f8'}",
		"{'descr': [1], 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': {[1]}, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': {1: {2}}, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 1+2j, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': -1-2.5j, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 2j+1, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 1+-2j, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': (1+2j)+3j, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': ..., 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': set(), 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': set(1), 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': {**{}}, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': b'\\xff\\777', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 'caf\xe9', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': b'caf\xe9', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': '\\ud800', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': '\\U00110000', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 0_7, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 1.5e-3_0, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 1._5, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 1..real, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': None, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': 0b12, 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
		"{('descr'): '<f4', 'fortran_order': False, 'shape': ()}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': ()},",
		"({'descr': '<f4', 'fortran_order': False, 'shape': ()})",
		"[{'descr': '<f4', 'fortran_order': False, 'shape': ()}]",
		"{'descr': '<f4', 'fortran_order': False, 'shape': ()}{}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': ()} {}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': ()}\n{}",
		"{}", "", "   ", "\n", "# just a comment\n", "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)", "abc\n",
		"{'descr':'<f4','fortran_order':False,'shape':(3,)}",
		"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1)}",
		"{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (6, 1)}\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), }" + strings.Repeat(" ", 20000) + "\n",
	} {
		add(1, s)
	}
	// Versions 2.0 and 3.0; latin-1 against UTF-8.
	for _, s := range []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), } # caf\xc3\xa9\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), } # caf\xe9\n",
		"{'descr': 'caf\xc3\xa9', 'fortran_order': False, 'shape': (6, 1), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), }\xc2\xa0\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), }\xa0\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }\n",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (\xef\xbc\x93,), }\n",
		"{'descr': '<f4', 'fortran_order': False, '\xe9': 1, 'shape': (3,), }\n",
		"\xef\xbb\xbf{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n",
	} {
		for _, v := range []byte{1, 2, 3} {
			add(v, s)
		}
	}
	// Random edits of valid headers.
	valid := []string{
		"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 1), }",
		"{'fortran_order': True, 'shape': (2, 3L), 'descr': '>f8'}",
		"{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (0x10,)}\n",
		"{'descr':'float32',# c\n'fortran_order':False,'shape':()}",
		"{'descr': '<f4', 'fortran_order': False, 'shape': (1_0, -0), 'descr': 'f8'}",
		"\n{'descr' : r'<f4' , 'fortran_order' : 0 , 'shape' : ( 3 , ) , 'x' : 1.5e3j, }  # ok\n",
		"{'descr': u'\\x3cf4', 'fortran_order': False, 'shape': (3L, 0o7, True), } \\\n\n",
	}
	const alphabet = " \t\n\f\\#'\",:()[]{}0123456789LjexXob_+-.TFNs\x00\x0b\r"
	seed := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("DROPOUT_HEADER_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	n := 4000
	if v, err := strconv.Atoi(os.Getenv("DROPOUT_HEADER_EDITS")); err == nil {
		n = v // more random edits, for a longer search
	}
	for range n {
		s := []byte(valid[rng.IntN(len(valid))])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(s) + 1)
			c := alphabet[rng.IntN(len(alphabet))]
			switch rng.IntN(3) {
			case 0:
				s = slices.Insert(s, i, c)
			case 1:
				if i < len(s) {
					s = slices.Delete(s, i, i+1)
				}
			default:
				if i < len(s) {
					s[i] = c
				}
			}
		}
		v := byte(1)
		if rng.IntN(4) == 0 {
			v = byte(2 + rng.IntN(2))
		}
		out = append(out, headerCase{v, s})
	}
	return out
}

// npSupported maps NumPy's dtype.str of the dtypes we read to ours.
var npSupported = map[string]struct {
	dt    dropout.DType
	order binary.ByteOrder
}{
	"<f4": {dropout.Float32, binary.LittleEndian}, ">f4": {dropout.Float32, binary.BigEndian},
	"<f8": {dropout.Float64, binary.LittleEndian}, ">f8": {dropout.Float64, binary.BigEndian},
	"|u1": {dropout.Uint8, nil}, "|b1": {dropout.Uint8, nil},
	"<f2": {dropout.Float16, binary.LittleEndian}, ">f2": {dropout.Float16, binary.BigEndian},
	// uint16 headers parse as bfloat16 bits; Input.CheckArray refuses
	// them unless Input.AsBFloat16 accepts them.
	"<u2": {dropout.BFloat16, binary.LittleEndian}, ">u2": {dropout.BFloat16, binary.BigEndian},
}

// knownDifference reports the documented differences from NumPy (see
// header.go): a CR, which Python 3.11's tokenizer mishandles in version
// 1.0 and 2.0 headers.
func knownDifference(c headerCase) bool {
	return c.version < 3 && bytes.IndexByte(c.text, '\r') >= 0
}

// TestHeaderMatchesNumPy generates header variants and checks that we
// accept exactly those NumPy accepts, with the same shape, order and
// dtype.
func TestHeaderMatchesNumPy(t *testing.T) {
	py := numpyPython(t)
	cases := headerVariants()
	res := runNumPyHeaders(t, py, cases)
	bad, accepted, known := 0, 0, 0
	for i, c := range cases {
		r := res[i]
		h, err := parseHeader(c.version, c.text)
		fail := func(format string, a ...any) {
			if knownDifference(c) {
				known++
				if os.Getenv("DROPOUT_HEADER_DEBUG") != "" {
					t.Logf("documented difference: v%d %q: %s", c.version, c.text, fmt.Sprintf(format, a...))
				}
				return
			}
			bad++
			if bad <= 40 {
				t.Errorf("v%d %q: %s", c.version, c.text, fmt.Sprintf(format, a...))
			}
		}
		if !r.OK {
			switch {
			case err == nil:
				fail("accepted (shape %v, %s), NumPy rejects: %s", h.Shape, h.Descr, r.Err)
			case !r.Descr && !errors.Is(err, ErrFormat):
				fail("rejected with %v, NumPy rejects the header: %s", err, r.Err)
			}
			continue
		}
		accepted++
		// NumPy accepts it: a shape too large or negative for us, an
		// unsupported dtype, or the same array.
		shape, shapeOK := make([]int, len(r.Shape)), true
		n := big.NewInt(1)
		for k, d := range r.Shape {
			v, ok := new(big.Int).SetString(d.String(), 10)
			if !ok || v.Sign() < 0 || !v.IsInt64() || v.Int64() > math.MaxInt {
				shapeOK = false
				break
			}
			shape[k] = int(v.Int64())
			n.Mul(n, v)
		}
		if shapeOK && (!n.IsInt64() || n.Int64() > math.MaxInt/8) {
			shapeOK = false
		}
		want, supported := npSupported[r.DType]
		switch {
		case !shapeOK:
			if err == nil || !errors.Is(err, ErrFormat) {
				fail("shape %v: got %v, want a shape error", r.Shape, err)
			}
		case !supported || r.Fields:
			if !errors.Is(err, ErrDType) {
				fail("NumPy dtype %s: got %v, want an unsupported-dtype error", r.DType, err)
			}
		case err != nil:
			// Comma and subarray strings ('<f4,') mean different things
			// in NumPy 1.x and 2.x: we do not read them.
			if !(errors.Is(err, ErrDType) && strings.ContainsAny(h.Descr+err.Error(), ",(")) {
				fail("rejected with %v, NumPy reads %s %v", err, r.DType, r.Shape)
			}
		default:
			if !slices.Equal(h.Shape, shape) || h.Fortran != r.Fortran || h.DType != want.dt || want.order != nil && h.Order != want.order {
				fail("read as %s %v fortran=%v (%v, %v), NumPy reads %s %v fortran=%v", h.Descr, h.Shape, h.Fortran, h.DType, h.Order, r.DType, r.Shape, r.Fortran)
			}
		}
	}
	t.Logf("%d headers, %d accepted by NumPy, %d disagreements, %d documented ones (a CR in a version 1.0 or 2.0 header)", len(cases), accepted, bad, known)
}

// TestNumPyFiles writes arrays and checks that numpy.load reads them back
// exactly, and reads files NumPy wrote in every layout.
func TestNumPyFiles(t *testing.T) {
	py := numpyPython(t)
	dir := t.TempDir()
	type arr struct {
		name  string
		shape []int
		data  dropout.Tensor
	}
	var ours []arr
	for si, shape := range [][]int{{}, {0}, {3}, {2, 3}, {2, 0, 3}, {3, 1, 4, 5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ours = append(ours,
			arr{fmt.Sprintf("f32-%d", si), shape, dropouttest.Data(dropout.Float32, n, 1)},
			arr{fmt.Sprintf("f64-%d", si), shape, dropouttest.Data(dropout.Float64, n, 2)},
			arr{fmt.Sprintf("u8-%d", si), shape, dropout.Bytes(bytes.Repeat([]byte{7}, n))})
	}
	for _, a := range ours {
		if err := WriteFile(filepath.Join(dir, a.name+".npy"), a.shape, a.data); err != nil {
			t.Fatal(err)
		}
	}
	// numpy loads ours and writes its own: C and Fortran order, both
	// byte orders, bool, versions 1.0, 2.0 and 3.0.
	script := `
import sys, os, json, numpy as np
try:
    from numpy.lib import _format_impl as F
except ImportError:
    from numpy.lib import format as F
d = sys.argv[1]
out = {}
for name in sorted(os.listdir(d)):
    a = np.load(os.path.join(d, name))
    out[name] = {"shape": list(a.shape), "dtype": a.dtype.str, "data": a.astype("<f8").tobytes().hex()}
def save(name, a, version=None):
    with open(os.path.join(d, "np-" + name + ".npy"), "wb") as f:
        F.write_array(f, a, version=version)
x = (np.arange(24, dtype="<f8").reshape(2, 3, 4) * 1.5 - 7)
save("c-f4", x.astype("<f4"))
save("c-f8be", x.astype(">f8"))
save("f-f4", np.asfortranarray(x.astype("<f4")))
save("f-f8be", np.asfortranarray(x.astype(">f8")))
save("v2", x.astype("<f4"), (2, 0))
save("v3", x.astype("<f4"), (3, 0))
save("scalar", np.array(2.5, dtype="<f8"))
save("empty", np.zeros((3, 0), dtype="<f4"))
save("bool", np.array([[True, False], [False, True]]))
save("u8", np.arange(6, dtype="u1").reshape(2, 3))
json.dump(out, sys.stdout)
`
	cmd := exec.Command(py, "-c", script, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var loaded map[string]struct {
		Shape []int  `json:"shape"`
		DType string `json:"dtype"`
		Data  string `json:"data"`
	}
	if err := json.Unmarshal(out, &loaded); err != nil {
		t.Fatal(err)
	}
	for _, a := range ours {
		l, ok := loaded[a.name+".npy"]
		wantDT := map[dropout.DType]string{dropout.Float32: "<f4", dropout.Float64: "<f8", dropout.Uint8: "|u1"}[a.data.DType()]
		raw, _ := hex.DecodeString(l.Data)
		if !ok || !slices.Equal(l.Shape, a.shape) || l.DType != wantDT || len(raw) != 8*a.data.Len() {
			t.Errorf("%s: numpy read %+v, want %s %v", a.name, l, wantDT, a.shape)
			continue
		}
		for i := range a.data.Len() {
			v := math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			var w float64
			switch d := a.data.(type) {
			case dropout.Float32s:
				w = float64(d[i])
			case dropout.Float64s:
				w = d[i]
			case dropout.Bytes:
				w = float64(d[i])
			}
			if v != w && !(math.IsNaN(v) && math.IsNaN(w)) {
				t.Errorf("%s: element %d is %v in numpy, %v here", a.name, i, v, w)
				break
			}
		}
	}
	x := make([]float64, 24)
	for i := range x {
		x[i] = float64(i)*1.5 - 7
	}
	for _, name := range []string{"c-f4", "c-f8be", "f-f4", "f-f8be", "v2", "v3"} {
		a, err := ReadFile(filepath.Join(dir, "np-"+name+".npy"))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !slices.Equal(a.Shape, []int{2, 3, 4}) {
			t.Errorf("%s: shape %v", name, a.Shape)
		}
		for i := range x {
			var v float64
			switch d := a.Data.(type) {
			case dropout.Float32s:
				v = float64(d[i])
			case dropout.Float64s:
				v = d[i]
			}
			if v != x[i] {
				t.Errorf("%s: element %d is %v, want %v", name, i, v, x[i])
				break
			}
		}
	}
	if a, err := ReadFile(filepath.Join(dir, "np-scalar.npy")); err != nil || len(a.Shape) != 0 || a.Data.(dropout.Float64s)[0] != 2.5 {
		t.Errorf("scalar: %v %v", a, err)
	}
	if a, err := ReadFile(filepath.Join(dir, "np-empty.npy")); err != nil || !slices.Equal(a.Shape, []int{3, 0}) {
		t.Errorf("empty: %v %v", a, err)
	}
	if m, err := ReadMask(filepath.Join(dir, "np-bool.npy"), dropout.MaskBytes, []int{2, 2}); err != nil || !slices.Equal([]byte(m), []byte{1, 0, 0, 1}) {
		t.Errorf("bool mask: %v %v", m, err)
	}
	if m, err := ReadMask(filepath.Join(dir, "np-u8.npy"), dropout.MaskBits, []int{2, 3, 8}); err == nil {
		t.Errorf("u8 (2, 3) read as a bits mask of 48 elements: %v", m)
	}
}
