//go:build cgo && !novulkan

package vulkan

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// vmRSS returns the process's resident set in bytes, or -1.
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// TestOpenCloseLeak opens a backend, runs a call on a buffer and closes
// it, 300 times, and bounds the growth of the C heap (glibc's mallinfo2;
// VmRSS, with a looser bound, without it) between cycle 40 and the last.
// vulkan-go leaked the C copy of every struct it passed by pointer
// (device properties, create infos): about 10 KB per open/close cycle and
// 250 bytes per buffer. Lavapipe and LLVM keep caches that settle in the
// first cycles, hence the warm-up; the loop runs on one OS thread, since
// glibc counts the chunks each thread keeps cached as in use. Without the
// validation layer: it leaks by itself, about 5 KB per instance that
// submits work under synchronization validation (the same in a C
// program), which no fix here can change.
func TestOpenCloseLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of open/close cycles")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const warm, cycles = 40, 260
	measure, unit, bound := vkx.MallocInUse, "C heap", int64(1<<10) // bytes per cycle
	if measure() < 0 {
		measure, unit, bound = vmRSS, "VmRSS", 8<<10
	}
	if measure() < 0 {
		t.Skip("neither mallinfo2 nor /proc/self/status")
	}
	const n = 1000
	x := make(dropout.Float32s, n)
	mask := make(dropout.Bytes, dropout.MaskBits.Bytes(n))
	var m0 int64
	for i := range warm + cycles {
		if i == warm {
			m0 = measure()
		}
		b, err := Open(dropout.Options{Device: lavapipe})
		dropouttest.Require(t, "Vulkan device (lavapipe)", err)
		buf, err := b.Alloc(dropout.Float32, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Forward(buf, x, mask, dropout.Params{P: 0.5, Seed: uint64(i), Mask: dropout.MaskBits}); err != nil {
			t.Fatal(err)
		}
		if err := buf.Read(x); err != nil {
			t.Fatal(err)
		}
		buf.Release()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	growth := measure() - m0
	t.Logf("%s grew %d bytes over %d cycles (%.0f per cycle)", unit, growth, cycles, float64(growth)/cycles)
	if growth > bound*cycles {
		t.Errorf("%s grew %d bytes over %d open/close cycles: %.0f per cycle, more than %d", unit, growth, cycles, float64(growth)/cycles, bound)
	}
}
