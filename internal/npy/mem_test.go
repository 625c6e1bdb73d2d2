package npy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/internal/memlimit"
)

// withMemLimit makes reading see only n bytes of memory available.
func withMemLimit(t *testing.T, n int64) {
	old := memLimit
	memLimit = func() memlimit.Limit { return memlimit.Limit{Bytes: n, Source: "test limit"} }
	t.Cleanup(func() { memLimit = old })
}

// TestReadChecksMemory reads a file whose data needs more memory than is
// available: a clean, one-line error naming both numbers, before anything
// is allocated. A sparse file with a huge shape is the real-world case.
func TestReadChecksMemory(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.npy")
	if err := WriteFile(p, []int{100}, make(dropout.Float32s, 100)); err != nil {
		t.Fatal(err)
	}
	withMemLimit(t, 399)
	_, err := ReadFile(p)
	if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "400 B") || !strings.Contains(err.Error(), "399 B available (test limit)") ||
		!strings.HasPrefix(err.Error(), p+": ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %v", err)
	}
	withMemLimit(t, 400)
	if _, err := ReadFile(p); err != nil {
		t.Errorf("400 bytes in 400: %v", err)
	}

	// 1 TiB of float32 in a sparse file: the file's size fits the header.
	huge := filepath.Join(dir, "huge.npy")
	hdr := formatHeader("<f4", false, []int{1 << 38})
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(hdr)
	if err := f.Truncate(int64(len(hdr)) + 1<<40); err != nil {
		f.Close()
		t.Skip("no sparse files here:", err)
	}
	f.Close()
	withMemLimit(t, 16<<30)
	if _, err := ReadFile(huge); !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), "1.0 TiB (1099511627776 bytes)") {
		t.Errorf("sparse 1 TiB file: %v", err)
	}
	if _, err := ReadMask(huge, dropout.MaskBits, []int{1 << 41}); err == nil {
		t.Error("sparse 1 TiB mask read")
	}
}
