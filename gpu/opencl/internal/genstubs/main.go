// Command genstubs writes gpu/opencl/loader_stubs.c: a definition of every
// OpenCL function that github.com/jgillich/go-opencl or gpu/opencl itself
// calls, each resolving
// its implementation on first use through dropout_cl_symbol (loader_dl.c)
// and forwarding to it, so that a program with the OpenCL backend does not
// link libOpenCL (see gpu/opencl/loader.go).
//
// The functions are the C.clXxx references in go-opencl's cgo files, as
// `go list` finds them for linux, and the functions of CL/cl.h that the cgo
// files of the package in the current directory (gpu/opencl) name, in Go
// or in their C preambles; their prototypes come from CL/cl.h. Run
// it with `go generate ./gpu/opencl`, which runs, in gpu/opencl,
//
//	go run ./internal/genstubs -o loader_stubs.c
//
// -header names another cl.h (default /usr/include/CL/cl.h, from Debian's
// opencl-c-headers). TestLoaderStubsFresh in gpu/opencl regenerates the
// file and compares.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// goOpenCL is the package whose OpenCL calls get stubs.
const goOpenCL = "github.com/jgillich/go-opencl/cl"

func main() {
	out := flag.String("o", "loader_stubs.c", "output `file`")
	header := flag.String("header", "/usr/include/CL/cl.h", "the OpenCL C header with the prototypes")
	flag.Parse()
	if err := run(*out, *header); err != nil {
		fmt.Fprintln(os.Stderr, "genstubs:", err)
		os.Exit(1)
	}
}

func run(out, header string) error {
	names, err := calls(goOpenCL, goRef)
	if err != nil {
		return err
	}
	h, err := os.ReadFile(header)
	if err != nil {
		return err
	}
	protos, err := prototypes(h)
	if err != nil {
		return err
	}
	own, err := calls(".", ownRef)
	if err != nil {
		return err
	}
	for _, name := range own {
		if _, ok := protos[name]; ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	src, err := generate(h, names)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}

var (
	goRef  = regexp.MustCompile(`\bC\.(cl[A-Z]\w*)`)   // go-opencl's calls
	ownRef = regexp.MustCompile(`\b(cl[A-Z]\w*)\s*\(`) // this package's, C preambles included (filtered by cl.h)
)

// calls returns the names ref's first group matches in the cgo files of
// package pkg on linux, sorted.
func calls(pkg string, ref *regexp.Regexp) ([]string, error) {
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}{{range .CgoFiles}}\n{{.}}{{end}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	list, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", pkg, err, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	var names []string
	for _, f := range lines[1:] {
		b, err := os.ReadFile(filepath.Join(lines[0], f))
		if err != nil {
			return nil, err
		}
		for _, m := range ref.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no OpenCL calls in %s (%s)", pkg, lines[0])
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// proto is a function's prototype.
type proto struct {
	ret, name, params string // normalised C
	args              []string
	errcode           bool // has a cl_int *errcode_ret parameter
}

var (
	comments = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	decl     = regexp.MustCompile(`extern\s+CL_API_ENTRY\s+([^;{}()]*?)\s*\bCL_API_CALL\s+(cl\w+)\s*\(`)
	space    = regexp.MustCompile(`\s+`)
	stars    = regexp.MustCompile(`\*+`)
	// a function-pointer parameter's name, as in void (CL_CALLBACK * pfn_notify)(...)
	fnParam = regexp.MustCompile(`^[^(]*\(\s*(?:\w+\s*)?\*\s*(\w+)\s*\)`)
	// any other parameter's name: its last identifier
	lastIdent = regexp.MustCompile(`(\w+)\s*(?:\[[^\]]*\])?$`)
)

// prototypes returns the prototypes of the functions cl.h declares.
func prototypes(header []byte) (map[string]proto, error) {
	h := comments.ReplaceAllString(string(header), " ")
	protos := map[string]proto{}
	for _, m := range decl.FindAllStringSubmatchIndex(h, -1) {
		var ret []string
		for _, tok := range strings.Fields(stars.ReplaceAllString(h[m[2]:m[3]], " $0 ")) {
			if !strings.HasPrefix(tok, "CL_API_") && !strings.HasPrefix(tok, "CL_EXT_") {
				ret = append(ret, tok)
			}
		}
		name := h[m[4]:m[5]]
		open := m[1] - 1 // the parameter list's "("
		end, depth := open, 0
		for ; end < len(h); end++ {
			if h[end] == '(' {
				depth++
			} else if h[end] == ')' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		if end == len(h) {
			return nil, fmt.Errorf("cl.h: unbalanced parameters of %s", name)
		}
		p := proto{ret: strings.Join(ret, " "), name: name, params: normalise(h[open+1 : end])}
		for _, param := range split(p.params) {
			if param == "void" {
				continue
			}
			m := fnParam.FindStringSubmatch(param)
			if m == nil {
				m = lastIdent.FindStringSubmatch(param)
			}
			if m == nil {
				return nil, fmt.Errorf("cl.h: %s: no name in parameter %q", name, param)
			}
			p.args = append(p.args, m[1])
			p.errcode = p.errcode || param == "cl_int * errcode_ret"
		}
		if old, ok := protos[name]; ok && old.params != p.params {
			return nil, fmt.Errorf("cl.h: %s declared twice, differently", name)
		}
		protos[name] = p
	}
	return protos, nil
}

// normalise writes C declarator text with single spaces: around each run
// of "*", after ",", none after "(" or before ")" and ",".
func normalise(s string) string {
	s = strings.TrimSpace(space.ReplaceAllString(stars.ReplaceAllString(s, " $0 "), " "))
	return strings.NewReplacer("( ", "(", " )", ")", " ,", ",").Replace(s)
}

// split splits a parameter list at its top-level commas.
func split(params string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range params {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(params[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(params[start:]))
}

const preamble = `//go:build cgo && !noopencl && linux

// Code generated by genstubs; DO NOT EDIT.
// It defines the OpenCL functions go-opencl and gpu/opencl call, with the prototypes of
// CL/cl.h; regenerate it with ` + "`go generate ./gpu/opencl`" + ` (see
// internal/genstubs and loader.go).

// These definitions take the place of libOpenCL's: each resolves its
// function on first use through dropout_cl_symbol (loader_dl.c) and
// forwards to it, so the program starts without libOpenCL.so.1 and a
// missing loader becomes an error, CL_PLATFORM_NOT_FOUND_KHR, instead of a
// failure to start.

#include "loader.h"
`

// generate returns loader_stubs.c for the functions names, with their
// prototypes from header.
func generate(header []byte, names []string) ([]byte, error) {
	protos, err := prototypes(header)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(preamble)
	var errs []error
	for _, name := range names {
		p, ok := protos[name]
		if !ok {
			errs = append(errs, fmt.Errorf("cl.h declares no %s", name))
			continue
		}
		// What a stub returns without an implementation: the status code,
		// or NULL with the status code in *errcode_ret.
		fail := "\t\treturn DROPOUT_CL_NO_LOADER;\n"
		switch {
		case p.ret == "cl_int":
		case p.errcode:
			fail = "\t\tif (errcode_ret)\n\t\t\t*errcode_ret = DROPOUT_CL_NO_LOADER;\n\t\treturn NULL;\n"
		default:
			errs = append(errs, fmt.Errorf("%s returns %s and has no errcode_ret: no way to report a missing loader", name, p.ret))
			continue
		}
		fmt.Fprintf(&b, `
%[1]s CL_API_CALL %[2]s(%[3]s)
{
	static __typeof__(&%[2]s) fn;
	__typeof__(&%[2]s) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&%[2]s))dropout_cl_symbol("%[2]s");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
%[4]s	}
	return f(%[5]s);
}
`, p.ret, p.name, p.params, fail, strings.Join(p.args, ", "))
	}
	return b.Bytes(), errors.Join(errs...)
}
