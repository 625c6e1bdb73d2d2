//go:build cgo && !noopencl && linux

package opencl

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpudropout/dropout/dropouttest"
)

// TestLoaderStubsFresh regenerates loader_stubs.c with internal/genstubs
// (the OpenCL calls of go-opencl, the prototypes of CL/cl.h) and fails when
// the committed file differs: run `go generate ./gpu/opencl`.
func TestLoaderStubsFresh(t *testing.T) {
	const header = "/usr/include/CL/cl.h"
	_, err := os.Stat(header)
	dropouttest.Require(t, header+" (Debian package opencl-c-headers)", err)
	goTool, err := exec.LookPath("go")
	dropouttest.Require(t, "the go command", err)
	out := filepath.Join(t.TempDir(), "loader_stubs.c")
	if msg, err := exec.Command(goTool, "run", "./internal/genstubs", "-header", header, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("genstubs: %v\n%s", err, msg)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("loader_stubs.c")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatalf("loader_stubs.c is stale: it differs from what internal/genstubs makes of go-opencl and %s; run `go generate ./gpu/opencl`", header)
	}
}
