package npy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gpudropout/dropout"
)

// TestRemoveTemps checks that an interrupted write can be cleaned up: the
// temporary files of uncommitted outputs are removed, committed outputs
// and aborted ones are left alone.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	pending, err := Create(filepath.Join(dir, "pending.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pending.Write([]int{3}, dropout.Float32s{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	done, err := Create(filepath.Join(dir, "done.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if err := done.Write([]int{1}, dropout.Float32s{1}); err != nil {
		t.Fatal(err)
	}
	if err := done.Commit(); err != nil {
		t.Fatal(err)
	}
	aborted, err := Create(filepath.Join(dir, "aborted.npy"))
	if err != nil {
		t.Fatal(err)
	}
	aborted.Abort()

	if n := RemoveTemps(); n != 1 {
		t.Errorf("RemoveTemps removed %d files, want 1", n)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "done.npy" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only done.npy", names)
	}
	if n := RemoveTemps(); n != 0 {
		t.Errorf("second RemoveTemps removed %d files, want 0", n)
	}
	// After an interrupt no new output may start (the process is exiting).
	if _, err := Create(filepath.Join(dir, "late.npy")); err == nil {
		t.Error("Create after RemoveTemps succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Create after RemoveTemps left %d files, want 1", len(entries))
	}
	live.mu.Lock()
	live.stopped = false // let the package's other tests write files
	live.mu.Unlock()
}
