//go:build amd64 && !purego

package cpu_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpudropout/dropout/dropouttest"
)

// TestGeneratedAssemblyFresh reruns the avo generator (cpu/_asm, its own
// module) into a temporary directory and fails when the committed
// philox_amd64.s or philox_amd64_stubs.go differ from its output. It needs
// the Go module proxy (or a module cache holding avo): without it the test
// skips, or fails under `make test`.
func TestGeneratedAssemblyFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the generator run in -short mode")
	}
	dir := t.TempDir()
	s, stubs := filepath.Join(dir, "philox_amd64.s"), filepath.Join(dir, "philox_amd64_stubs.go")
	// The go command that runs this test: $GOROOT/bin/go where the go
	// command set GOROOT, else the one on the PATH.
	gobin := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		gobin = filepath.Join(root, "bin", "go")
	}
	cmd := exec.Command(gobin, "run", "-C", "_asm", ".", "-out", s, "-stubs", stubs, "-pkg", "cpu")
	out, err := cmd.CombinedOutput()
	if err != nil {
		dropouttest.Require(t, "the avo generator (go run -C cpu/_asm)", &genError{err: err, out: out})
	}
	for _, f := range []struct{ fresh, committed string }{{s, "philox_amd64.s"}, {stubs, "philox_amd64_stubs.go"}} {
		a, err := os.ReadFile(f.fresh)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f.committed)
		if err != nil {
			t.Fatal(err)
		}
		// The first line names the command with its paths; the rest must match.
		if !bytes.Equal(afterLine(a), afterLine(b)) {
			t.Errorf("%s is stale: run `go generate ./cpu` and commit the result", f.committed)
		}
	}
}

func afterLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}

type genError struct {
	err error
	out []byte
}

func (e *genError) Error() string { return e.err.Error() + ": " + string(e.out) }
