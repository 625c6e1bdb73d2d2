package npy

// The header of a .npy file is the text of a Python dictionary literal,
// which NumPy reads with ast.literal_eval (numpy.lib.format
// read_array_header_1_0 and _2_0). This file parses that text the way
// NumPy does, so that a header is accepted exactly when NumPy accepts it:
//
//   - version 1.0 and 2.0 headers are latin-1, version 3.0 headers UTF-8;
//   - in version 1.0 and 2.0 headers, an L after a number (Python 2's long
//     integers: 3L) is dropped, as numpy.lib.format._filter_header does;
//   - the text is a Python expression: any whitespace, newlines inside
//     brackets, comments, backslash continuations, string literals in
//     either quote, triple-quoted, with prefixes (r, u, b) and escapes,
//     implicitly concatenated; integers in any base with underscores,
//     signs; tuples, lists, sets, dicts, True/False/None, set() and the
//     other constants ast.literal_eval accepts. Anything else (a name, a
//     call, an operator, a NUL byte, junk after the dictionary) is not a
//     literal and rejects the header;
//   - the value is a dict whose keys are exactly 'descr', 'fortran_order'
//     and 'shape' (a repeated key keeps its last value, as in Python);
//     shape is a tuple of ints (True and False count as 1 and 0, as
//     isinstance(True, int) holds), fortran_order is True or False.
//
// The only differences from NumPy are deliberate: a header longer than
// maxHeader is rejected (NumPy's default limit, 10000 characters, is
// lower; it lifts it for trusted files); \N{NAME} escapes in string
// literals are rejected (a descr never needs one); and a carriage return
// always counts as a line break, as in Python 3.12 and later (Python 3.11's
// tokenizer, which numpy uses to drop the Ls, rejects some version 1.0 and
// 2.0 headers with a bare CR at the start of a line). Descrs are then
// classified by classify: see there for the dtypes this program handles.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pyKind is the type of a Python literal value.
type pyKind int

const (
	pyStr pyKind = iota
	pyBytes
	pyInt
	pyFloat
	pyComplex
	pyBool
	pyNone
	pyEllipsis
	pyTuple
	pyList
	pySet
	pyDict
)

// pyNode is how the value was written, which ast.literal_eval cares about:
// a sign or a + is allowed only around number constants.
type pyNode int

const (
	nodeConst   pyNode = iota
	nodeUnary          // +x or -x
	nodeBinOp          // x + yj or x - yj
	nodeDisplay        // tuple, list, set, dict or set()
)

// pyValue is a Python literal value.
type pyValue struct {
	kind pyKind
	node pyNode
	str  string    // pyStr, pyBytes: the value
	num  int       // pyInt, pyBool: the value, when it fits an int
	big  bool      // pyInt: the magnitude does not fit an int
	elts []pyValue // pyTuple, pyList, pySet, pyDict (keys)
	vals []pyValue // pyDict values
	pos  int       // offset of the value's text in the header (runes)
	end  int
}

// hashable reports whether Python can hash v (be a dict key or set member).
func (v *pyValue) hashable() bool {
	switch v.kind {
	case pyList, pySet, pyDict:
		return false
	case pyTuple:
		for i := range v.elts {
			if !v.elts[i].hashable() {
				return false
			}
		}
	}
	return true
}

// syntaxError is a header that is not a Python literal.
type syntaxError struct {
	pos int // rune offset
	msg string
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at character %d", e.msg, e.pos) }

// maxNesting is Python's limit on nested brackets (MAXLEVEL in the
// tokenizer): the 201st open bracket is a syntax error.
const maxNesting = 200

type tokKind int

const (
	tEOF     tokKind = iota
	tNewline         // end of the logical line, outside brackets
	tNumber
	tString
	tName
	tOp
)

type token struct {
	kind   tokKind
	pos    int
	end    int
	text   string // tName, tOp: the text
	nkind  pyKind // tNumber: pyInt, pyFloat or pyComplex
	num    int    // tNumber of pyInt: the value
	big    bool   // tNumber of pyInt: too large for an int
	bytes  bool   // tString: a bytes literal
	fstr   bool   // tString: an f-string
	strval string // tString: the decoded value
}

// lexer splits a header into Python tokens, following CPython's tokenizer
// for the subset that can appear in a literal.
type lexer struct {
	src        []rune
	i          int
	depth      int  // bracket nesting
	lineStart  bool // at the start of a physical line outside brackets
	onLine     bool // a token was seen on the current logical line
	filterL    bool // drop an L after a number (versions 1.0 and 2.0)
	prevNumber bool // the previous token was a number
	sentNL     bool // the final implicit newline was sent
}

func (lx *lexer) errorf(pos int, format string, a ...any) error {
	return &syntaxError{pos: pos, msg: fmt.Sprintf(format, a...)}
}

func (lx *lexer) peek(k int) rune {
	if lx.i+k < len(lx.src) {
		return lx.src[lx.i+k]
	}
	return -1
}

func isDigit(c rune) bool { return c >= '0' && c <= '9' }
func isIdentStart(c rune) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 128
}
func isIdentChar(c rune) bool { return isIdentStart(c) || isDigit(c) }

// next returns the next token.
func (lx *lexer) next() (token, error) {
	for {
		if lx.lineStart && lx.depth == 0 {
			// Indentation of a new line: only blank lines (whitespace
			// and comments) may be indented, since eval input has no
			// blocks.
			col, ws := 0, 0
			for ; lx.i < len(lx.src); ws++ {
				c := lx.src[lx.i]
				if c == ' ' {
					col++
				} else if c == '\t' {
					col = (col/8 + 1) * 8
				} else if c == '\f' {
					col = 0
				} else {
					break
				}
				lx.i++
			}
			// A line continued with backslashes is blank if what
			// follows them is.
			j := lx.i
			for j+1 < len(lx.src) && lx.src[j] == '\\' && lx.src[j+1] == '\n' {
				j += 2
				for j < len(lx.src) && (lx.src[j] == ' ' || lx.src[j] == '\t' || lx.src[j] == '\f') {
					j++
				}
			}
			if j >= len(lx.src) {
				if j > lx.i && lx.src[lx.i] == '\\' {
					return token{}, lx.errorf(j, "unexpected end of header after line continuation")
				}
				// A last line of whitespace, without a newline, still
				// indents (numpy's filter for versions 1.0 and 2.0
				// drops it).
				if col > 0 && !lx.filterL {
					return token{}, lx.errorf(lx.i, "unexpected indent")
				}
				lx.i = j
				break
			}
			switch lx.src[j] {
			case '#':
				lx.prevNumber = false
				lx.i = j
				for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
					lx.i++
				}
				continue
			case '\n':
				lx.prevNumber = false
				lx.i = j + 1
				continue
			}
			// numpy's filter for versions 1.0 and 2.0 rewrites leading
			// whitespace as spaces: there even a form feed indents.
			if col > 0 || lx.filterL && ws > 0 {
				return token{}, lx.errorf(lx.i, "unexpected indent")
			}
			lx.lineStart = false
		}
		for lx.i < len(lx.src) && (lx.src[lx.i] == ' ' || lx.src[lx.i] == '\t' || lx.src[lx.i] == '\f') {
			lx.i++
		}
		if lx.i >= len(lx.src) {
			break
		}
		start := lx.i
		c := lx.src[lx.i]
		switch {
		case c == '\\':
			if lx.peek(1) != '\n' {
				return token{}, lx.errorf(start, "unexpected character after line continuation character")
			}
			lx.i += 2
			if lx.i >= len(lx.src) {
				return token{}, lx.errorf(start, "unexpected end of header after line continuation")
			}
			continue
		case c == '#':
			lx.prevNumber = false
			for lx.i < len(lx.src) && lx.src[lx.i] != '\n' {
				lx.i++
			}
			continue
		case c == '\n':
			lx.prevNumber = false
			lx.i++
			if lx.depth > 0 {
				continue
			}
			lx.lineStart = true
			if lx.onLine {
				lx.onLine = false
				return token{kind: tNewline, pos: start, end: lx.i}, nil
			}
			continue
		}
		t, skip, err := lx.token(start)
		if err != nil {
			return token{}, err
		}
		if skip {
			continue
		}
		lx.onLine = true
		lx.prevNumber = t.kind == tNumber
		return t, nil
	}
	// End of input: a logical line still open ends here.
	if lx.depth > 0 {
		return token{}, lx.errorf(len(lx.src), "unexpected end of header inside brackets")
	}
	if lx.onLine && !lx.sentNL {
		lx.sentNL = true
		return token{kind: tNewline, pos: len(lx.src), end: len(lx.src)}, nil
	}
	return token{kind: tEOF, pos: len(lx.src), end: len(lx.src)}, nil
}

// token lexes the token at start, which is not whitespace, a comment or a
// newline; skip reports a dropped L.
func (lx *lexer) token(start int) (t token, skip bool, err error) {
	c := lx.src[start]
	switch {
	case isDigit(c) || c == '.' && isDigit(lx.peek(1)):
		t, err := lx.number(start)
		return t, false, err
	case isIdentStart(c):
		if c >= 128 {
			return token{}, false, lx.errorf(start, "invalid character %q", c)
		}
		for lx.i < len(lx.src) && isIdentChar(lx.src[lx.i]) && lx.src[lx.i] < 128 {
			lx.i++
		}
		name := string(lx.src[start:lx.i])
		if q := lx.peek(0); q == '\'' || q == '"' {
			if p := strings.ToLower(name); p == "r" || p == "u" || p == "b" || p == "f" || p == "br" || p == "rb" || p == "fr" || p == "rf" {
				t, err := lx.str(start, p)
				return t, false, err
			}
		}
		if lx.i < len(lx.src) && lx.src[lx.i] >= 128 {
			return token{}, false, lx.errorf(lx.i, "invalid character %q", lx.src[lx.i])
		}
		if name == "L" && lx.filterL && lx.prevNumber {
			return token{}, true, nil
		}
		return token{kind: tName, pos: start, end: lx.i, text: name}, false, nil
	case c == '\'' || c == '"':
		t, err := lx.str(start, "")
		return t, false, err
	}
	lx.i++
	switch c {
	case '(', '[', '{':
		if lx.depth >= maxNesting {
			return token{}, false, lx.errorf(start, "too many nested parentheses")
		}
		lx.depth++
	case ')', ']', '}':
		if lx.depth == 0 {
			return token{}, false, lx.errorf(start, "unmatched %q", c)
		}
		lx.depth--
	case '.':
		if lx.peek(0) == '.' && lx.peek(1) == '.' {
			lx.i += 2
			return token{kind: tOp, pos: start, end: lx.i, text: "..."}, false, nil
		}
	case ',', ':', '+', '-':
	default:
		if c == 0 {
			return token{}, false, lx.errorf(start, "NUL byte")
		}
		if c < ' ' || c >= 127 {
			return token{}, false, lx.errorf(start, "invalid character %q", c)
		}
		// An operator or punctuation that no literal contains.
		return token{}, false, lx.errorf(start, "%q is not part of a literal", c)
	}
	return token{kind: tOp, pos: start, end: lx.i, text: string(c)}, false, nil
}

// number lexes a numeric literal as CPython's tokenizer does.
func (lx *lexer) number(start int) (token, error) {
	t := token{kind: tNumber, pos: start, nkind: pyInt}
	bad := func(what string) (token, error) {
		return token{}, lx.errorf(start, "invalid %s literal", what)
	}
	// digits consumes digits of base with single underscores between
	// them; at least one digit must come first (after an optional
	// underscore when afterPrefix).
	digits := func(isD func(rune) bool, afterPrefix bool) bool {
		if afterPrefix && lx.peek(0) == '_' {
			lx.i++
		}
		if !isD(lx.peek(0)) {
			return false
		}
		for {
			for isD(lx.peek(0)) {
				lx.i++
			}
			if lx.peek(0) != '_' {
				return true
			}
			lx.i++
			if !isD(lx.peek(0)) {
				return false
			}
		}
	}
	endOK := func() bool {
		return !isIdentStart(lx.peek(0)) || lx.filterL && lx.peek(0) == 'L' && !isIdentChar(lx.peek(1))
	}
	c := lx.src[start]
	if c == '0' {
		var base int
		var isD func(rune) bool
		var what string
		switch lx.peek(1) {
		case 'x', 'X':
			base, what = 16, "hexadecimal"
			isD = func(r rune) bool { return isDigit(r) || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' }
		case 'o', 'O':
			base, what = 8, "octal"
			isD = func(r rune) bool { return r >= '0' && r <= '7' }
		case 'b', 'B':
			base, what = 2, "binary"
			isD = func(r rune) bool { return r == '0' || r == '1' }
		}
		if base != 0 {
			lx.i += 2
			if !digits(isD, true) || isDigit(lx.peek(0)) || !endOK() {
				return bad(what)
			}
			t.end = lx.i
			t.num, t.big = parseInt(lx.src[start+2:lx.i], base)
			return t, nil
		}
	}
	isFloat := false
	if c == '.' {
		lx.i++
		isFloat = true
		if !digits(isDigit, false) {
			return bad("decimal")
		}
	} else {
		if !digits(isDigit, false) {
			return bad("decimal")
		}
		if lx.peek(0) == '.' {
			lx.i++
			isFloat = true
			if isDigit(lx.peek(0)) && !digits(isDigit, false) {
				return bad("decimal")
			}
		}
	}
	if e := lx.peek(0); e == 'e' || e == 'E' {
		lx.i++
		if s := lx.peek(0); s == '+' || s == '-' {
			lx.i++
		}
		if !digits(isDigit, false) {
			return bad("decimal")
		}
		isFloat = true
	}
	if j := lx.peek(0); j == 'j' || j == 'J' {
		lx.i++
		t.nkind = pyComplex
	} else if isFloat {
		t.nkind = pyFloat
	} else {
		// An integer: 0, 00, 0_0 are fine, 01 is not (old octal).
		text := lx.src[start:lx.i]
		if text[0] == '0' {
			for _, r := range text {
				if r != '0' && r != '_' {
					return token{}, lx.errorf(start, "leading zeros in decimal integer literals are not permitted")
				}
			}
		}
		t.num, t.big = parseInt(text, 10)
	}
	if !endOK() {
		return bad("decimal")
	}
	t.end = lx.i
	return t, nil
}

// parseInt returns the value of digits (underscores skipped) in base, and
// whether it overflows an int.
func parseInt(digits []rune, base int) (int, bool) {
	n := 0
	for _, r := range digits {
		var d int
		switch {
		case r == '_':
			continue
		case r >= '0' && r <= '9':
			d = int(r - '0')
		case r >= 'a' && r <= 'f':
			d = int(r-'a') + 10
		default:
			d = int(r-'A') + 10
		}
		if n > (math.MaxInt-d)/base {
			return 0, true
		}
		n = n*base + d
	}
	return n, false
}

// str lexes a string literal whose (lower-case) prefix starts at start.
func (lx *lexer) str(start int, prefix string) (token, error) {
	q := lx.src[lx.i]
	size := 1
	if lx.peek(1) == q && lx.peek(2) == q {
		size = 3
	}
	lx.i += size
	body := lx.i
	for ends := 0; ends < size; {
		if lx.i >= len(lx.src) {
			return token{}, lx.errorf(start, "unterminated string literal")
		}
		c := lx.src[lx.i]
		lx.i++
		if size == 1 && c == '\n' {
			return token{}, lx.errorf(start, "unterminated string literal")
		}
		if c == q {
			ends++
			continue
		}
		ends = 0
		if c == '\\' {
			if lx.i >= len(lx.src) {
				return token{}, lx.errorf(start, "unterminated string literal")
			}
			lx.i++
		}
	}
	text := lx.src[body : lx.i-size]
	t := token{kind: tString, pos: start, end: lx.i}
	t.bytes = strings.Contains(prefix, "b")
	t.fstr = strings.Contains(prefix, "f")
	raw := strings.Contains(prefix, "r")
	if t.bytes {
		for _, r := range text {
			if r >= 128 {
				return token{}, lx.errorf(start, "bytes can only contain ASCII literal characters")
			}
		}
	}
	if raw || t.fstr {
		t.strval = string(text)
		return t, nil
	}
	v, err := unescape(text, t.bytes)
	if err != nil {
		return token{}, lx.errorf(start, "%v", err)
	}
	t.strval = v
	return t, nil
}

// unescape decodes the backslash escapes of a Python string (or bytes)
// literal.
func unescape(text []rune, isBytes bool) (string, error) {
	var b strings.Builder
	hex := func(s []rune) (int, bool) {
		v := 0
		for _, r := range s {
			switch {
			case r >= '0' && r <= '9':
				v = v*16 + int(r-'0')
			case r >= 'a' && r <= 'f':
				v = v*16 + int(r-'a') + 10
			case r >= 'A' && r <= 'F':
				v = v*16 + int(r-'A') + 10
			default:
				return 0, false
			}
		}
		return v, true
	}
	put := func(v int) {
		if isBytes {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v)) // a lone surrogate becomes U+FFFD
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '\\' {
			b.WriteRune(c)
			continue
		}
		i++
		c = text[i] // the lexer never ends a literal on a backslash
		switch c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteRune(c)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(text) && text[i+1] >= '0' && text[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(text[i]-'0')
			}
			put(v)
		case 'x', 'u', 'U':
			if isBytes && c != 'x' {
				b.WriteRune('\\')
				b.WriteRune(c)
				continue
			}
			n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+n >= len(text) {
				return "", fmt.Errorf("truncated \\%c escape", c)
			}
			v, ok := hex(text[i+1 : i+1+n])
			if !ok {
				return "", fmt.Errorf("truncated \\%c escape", c)
			}
			if v > utf8.MaxRune {
				return "", errors.New("illegal Unicode character")
			}
			i += n
			put(v)
		case 'N':
			if isBytes {
				b.WriteString(`\N`)
				continue
			}
			return "", errors.New(`\N{...} escapes are not supported`)
		default:
			b.WriteRune('\\')
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

// parser builds the value of a Python literal expression from tokens.
type parser struct {
	lx  *lexer
	tok token
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) isOp(s string) bool { return p.tok.kind == tOp && p.tok.text == s }

func (p *parser) fail(format string, a ...any) error {
	return &syntaxError{pos: p.tok.pos, msg: fmt.Sprintf(format, a...)}
}

// parseLiteral parses text as ast.literal_eval does.
func parseLiteral(text []rune, filterL bool) (pyValue, error) {
	// ast.literal_eval strips leading spaces and tabs, so that an
	// indented first line is not an indentation error; in versions 1.0
	// and 2.0 numpy's filter has turned form feeds there into spaces.
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || filterL && text[i] == '\f') {
		i++
	}
	p := &parser{lx: &lexer{src: text, i: i, lineStart: true, filterL: filterL}}
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	if p.tok.kind == tNewline || p.tok.kind == tEOF {
		return pyValue{}, p.fail("empty header")
	}
	v, err := p.expr()
	if err != nil {
		return pyValue{}, err
	}
	if p.tok.kind != tNewline {
		return pyValue{}, p.fail("unexpected text after the literal")
	}
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	if p.tok.kind != tEOF {
		return pyValue{}, p.fail("unexpected text after the literal")
	}
	return v, nil
}

// expr parses a literal, possibly a tuple without parentheses.
func (p *parser) expr() (pyValue, error) {
	v, err := p.sum()
	if err != nil || !p.isOp(",") {
		return v, err
	}
	t := pyValue{kind: pyTuple, node: nodeDisplay, pos: v.pos, elts: []pyValue{v}}
	for p.isOp(",") {
		t.end = p.tok.end
		if err := p.advance(); err != nil {
			return pyValue{}, err
		}
		if !p.startsValue() {
			break
		}
		e, err := p.sum()
		if err != nil {
			return pyValue{}, err
		}
		t.elts = append(t.elts, e)
		t.end = e.end
	}
	return t, nil
}

// startsValue reports whether the current token can start a value.
func (p *parser) startsValue() bool {
	switch p.tok.kind {
	case tNumber, tString, tName:
		return true
	case tOp:
		switch p.tok.text {
		case "(", "[", "{", "+", "-", "...":
			return true
		}
	}
	return false
}

// sum parses x, or the complex number x + yj or x - yj.
func (p *parser) sum() (pyValue, error) {
	left, err := p.unary()
	if err != nil {
		return pyValue{}, err
	}
	if !p.isOp("+") && !p.isOp("-") {
		return left, nil
	}
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	right, err := p.unary()
	if err != nil {
		return pyValue{}, err
	}
	if !(left.node == nodeConst || left.node == nodeUnary) || (left.kind != pyInt && left.kind != pyFloat) ||
		right.node != nodeConst || right.kind != pyComplex {
		return pyValue{}, &syntaxError{pos: left.pos, msg: "malformed literal (only real + imaginary numbers may be added)"}
	}
	if p.isOp("+") || p.isOp("-") {
		return pyValue{}, p.fail("malformed literal (a chain of additions)")
	}
	return pyValue{kind: pyComplex, node: nodeBinOp, pos: left.pos, end: right.end}, nil
}

// unary parses a value with an optional sign.
func (p *parser) unary() (pyValue, error) {
	if !p.isOp("+") && !p.isOp("-") {
		return p.atom()
	}
	pos, neg := p.tok.pos, p.tok.text == "-"
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	v, err := p.unary()
	if err != nil {
		return pyValue{}, err
	}
	if v.node != nodeConst || v.kind != pyInt && v.kind != pyFloat && v.kind != pyComplex {
		return pyValue{}, &syntaxError{pos: pos, msg: "malformed literal (a sign before something other than a number)"}
	}
	if neg {
		v.num = -v.num
	}
	v.node, v.pos = nodeUnary, pos
	return v, nil
}

// atom parses a constant or a display.
func (p *parser) atom() (pyValue, error) {
	t := p.tok
	var v pyValue
	switch t.kind {
	case tNumber:
		v = pyValue{kind: t.nkind, num: t.num, big: t.big, pos: t.pos, end: t.end}
		if err := p.advance(); err != nil {
			return pyValue{}, err
		}
	case tString:
		v = pyValue{kind: pyStr, pos: t.pos}
		if t.bytes {
			v.kind = pyBytes
		}
		var sb strings.Builder
		fstr := false
		for p.tok.kind == tString {
			if p.tok.bytes != t.bytes {
				return pyValue{}, p.fail("cannot mix bytes and nonbytes literals")
			}
			fstr = fstr || p.tok.fstr
			sb.WriteString(p.tok.strval)
			v.end = p.tok.end
			if err := p.advance(); err != nil {
				return pyValue{}, err
			}
		}
		if fstr {
			return pyValue{}, &syntaxError{pos: t.pos, msg: "malformed literal (an f-string)"}
		}
		v.str = sb.String()
	case tName:
		v = pyValue{pos: t.pos, end: t.end}
		switch t.text {
		case "True", "False":
			v.kind = pyBool
			if t.text == "True" {
				v.num = 1
			}
		case "None":
			v.kind = pyNone
		case "set":
			// set() is the one call literal_eval allows.
			if err := p.advance(); err != nil {
				return pyValue{}, err
			}
			if !p.isOp("(") {
				return pyValue{}, &syntaxError{pos: t.pos, msg: "malformed literal (the name set)"}
			}
			if err := p.advance(); err != nil {
				return pyValue{}, err
			}
			if !p.isOp(")") {
				return pyValue{}, &syntaxError{pos: t.pos, msg: "malformed literal (set() with arguments)"}
			}
			v = pyValue{kind: pySet, node: nodeDisplay, pos: t.pos, end: p.tok.end}
		default:
			return pyValue{}, p.fail("malformed literal (the name %s)", t.text)
		}
		if err := p.advance(); err != nil {
			return pyValue{}, err
		}
	case tOp:
		switch t.text {
		case "...":
			v = pyValue{kind: pyEllipsis, pos: t.pos, end: t.end}
			if err := p.advance(); err != nil {
				return pyValue{}, err
			}
		case "(", "[", "{":
			var err error
			if v, err = p.display(); err != nil {
				return pyValue{}, err
			}
		default:
			return pyValue{}, p.fail("invalid syntax")
		}
	default:
		return pyValue{}, p.fail("invalid syntax")
	}
	// A call, subscript or attribute is not a literal.
	if p.isOp("(") || p.isOp("[") {
		return pyValue{}, p.fail("malformed literal (a call or subscript)")
	}
	return v, nil
}

// display parses (…), […] or {…}.
func (p *parser) display() (pyValue, error) {
	open := p.tok
	closer := map[string]string{"(": ")", "[": "]", "{": "}"}[open.text]
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	v := pyValue{node: nodeDisplay, pos: open.pos}
	switch open.text {
	case "(":
		v.kind = pyTuple
	case "[":
		v.kind = pyList
	default:
		v.kind = pyDict
	}
	isDict := false
	comma := false
	for !p.isOp(closer) {
		if len(v.elts) > 0 && !comma {
			return pyValue{}, p.fail("invalid syntax (missing comma)")
		}
		e, err := p.sum()
		if err != nil {
			return pyValue{}, err
		}
		if open.text == "{" {
			if len(v.elts) == 0 {
				isDict = p.isOp(":")
			}
			if isDict {
				if !p.isOp(":") {
					return pyValue{}, p.fail("':' expected after dictionary key")
				}
				if err := p.advance(); err != nil {
					return pyValue{}, err
				}
				val, err := p.sum()
				if err != nil {
					return pyValue{}, err
				}
				v.vals = append(v.vals, val)
			}
			if !e.hashable() {
				return pyValue{}, &syntaxError{pos: e.pos, msg: "unhashable dictionary key or set member"}
			}
		}
		v.elts = append(v.elts, e)
		comma = p.isOp(",")
		if comma {
			if err := p.advance(); err != nil {
				return pyValue{}, err
			}
		}
	}
	v.end = p.tok.end
	if err := p.advance(); err != nil {
		return pyValue{}, err
	}
	switch {
	case open.text == "(" && len(v.elts) == 1 && !comma:
		// Parentheses around a value: the value itself.
		e := v.elts[0]
		return e, nil
	case open.text == "{" && len(v.elts) > 0 && !isDict:
		v.kind = pySet
	}
	return v, nil
}

// headerKeys are the keys a header must have, for messages.
const headerKeys = "'descr', 'fortran_order' and 'shape'"

// parseHeaderText parses the header dictionary of a file of format
// version major (1, 2 or 3) and fills Descr (for a str descr), Fortran
// and Shape; descrSrc is the descr's text as written, for messages about
// descrs that are not strings. It does not classify the descr.
func parseHeaderText(major byte, hdr []byte) (h Header, descr pyValue, descrSrc string, err error) {
	var text []rune
	if major >= 3 {
		if !utf8.Valid(hdr) {
			return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (not UTF-8)", ErrFormat)
		}
		text = []rune(string(hdr))
	} else {
		text = make([]rune, len(hdr)) // latin-1
		for i, b := range hdr {
			text[i] = rune(b)
		}
	}
	for _, r := range text {
		if r == 0 {
			return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (NUL byte)", ErrFormat)
		}
	}
	// Python reads CR LF and a lone CR as a newline.
	norm := text[:0:0]
	for i := 0; i < len(text); i++ {
		if text[i] == '\r' {
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			norm = append(norm, '\n')
			continue
		}
		norm = append(norm, text[i])
	}
	d, err := parseLiteral(norm, major < 3)
	if err != nil {
		return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (%v)", ErrFormat, err)
	}
	if d.kind != pyDict {
		return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (not a dictionary)", ErrFormat)
	}
	var shape, order pyValue
	var have [3]bool
	var keys []string
	unexpected := false
	for i, k := range d.elts {
		if k.kind != pyStr {
			keys = append(keys, oneLine(norm[k.pos:k.end]))
			unexpected = true
			continue
		}
		keys = append(keys, pyRepr(k.str))
		switch k.str {
		case "descr":
			descr, have[0] = d.vals[i], true
		case "fortran_order":
			order, have[1] = d.vals[i], true
		case "shape":
			shape, have[2] = d.vals[i], true
		default:
			unexpected = true
		}
	}
	if unexpected || !have[0] || !have[1] || !have[2] {
		return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (keys %s; want exactly %s)", ErrFormat, strings.Join(keys, ", "), headerKeys)
	}
	if shape.kind != pyTuple {
		return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (shape %s is not a tuple of integers)", ErrFormat, oneLine(norm[shape.pos:shape.end]))
	}
	h.Shape = make([]int, len(shape.elts))
	for i, e := range shape.elts {
		if e.kind != pyInt && e.kind != pyBool {
			return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (shape %s is not a tuple of integers)", ErrFormat, oneLine(norm[shape.pos:shape.end]))
		}
		if e.big {
			return Header{}, pyValue{}, "", fmt.Errorf("%w: shape %s is too large", ErrFormat, oneLine(norm[shape.pos:shape.end]))
		}
		h.Shape[i] = e.num
	}
	if order.kind != pyBool {
		return Header{}, pyValue{}, "", fmt.Errorf("%w: corrupt header (fortran_order %s is not True or False)", ErrFormat, oneLine(norm[order.pos:order.end]))
	}
	h.Fortran = order.num == 1
	if descr.kind == pyStr {
		h.Descr = descr.str
	}
	return h, descr, oneLine(norm[descr.pos:descr.end]), nil
}

// pyRepr quotes s as Python's repr does for a str.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// formatHeader returns the header bytes of an array: magic, version,
// length and the dictionary, as NumPy writes it, padded with spaces and a
// newline so that the data starts at a multiple of 64 bytes. The version
// is 1.0, or 2.0 for a header too long for 1.0, or 3.0 for a descr that
// latin-1 cannot encode.
func formatHeader(descr string, fortran bool, shape []int) []byte {
	f := "False"
	if fortran {
		f = "True"
	}
	dict := fmt.Sprintf("{'descr': %s, 'fortran_order': %s, 'shape': %s, }", pyRepr(descr), f, ShapeString(shape))
	major := byte(1)
	for _, r := range dict {
		if r > 0xff {
			major = 3
		}
	}
	var body []byte
	if major == 3 {
		body = []byte(dict)
	} else {
		body = make([]byte, 0, len(dict)) // latin-1
		for _, r := range dict {
			body = append(body, byte(r))
		}
	}
	pre := 10
	if major == 3 || len(body)+1+pre > 65535+10 {
		pre = 12
		if major == 1 {
			major = 2
		}
	}
	total := (pre + len(body) + 1 + 63) / 64 * 64
	pad := total - pre - len(body) - 1
	b := make([]byte, 0, total)
	b = append(b, magic...)
	hl := len(body) + pad + 1
	if pre == 10 {
		b = append(b, 1, 0)
		b = append(b, byte(hl), byte(hl>>8))
	} else {
		b = append(b, major, 0)
		b = append(b, byte(hl), byte(hl>>8), byte(hl>>16), byte(hl>>24))
	}
	b = append(b, body...)
	b = append(b, strings.Repeat(" ", pad)...)
	return append(b, '\n')
}

// oneLine returns header text for an error message on one line: control
// characters (a header may hold carriage returns and newlines anywhere
// that Python allows white space) are written as Go escapes.
func oneLine(r []rune) string {
	q := strconv.Quote(string(r))
	return q[1 : len(q)-1]
}
