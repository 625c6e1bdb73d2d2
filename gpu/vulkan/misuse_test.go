//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
)

// TestReleasedBuffers uses released buffers, of the backend and from
// driver.NewHostBuffer, in every role: errors wrapping ErrReleased, no crash.
func TestReleasedBuffers(t *testing.T) {
	b := openTest(t, dropout.Options{})
	const n = 64
	x := make(dropout.Float32s, n)
	live := alloc(t, b, dropout.Float32, n)
	mlive := alloc(t, b, dropout.Uint8, n)
	rel, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	mrel, err := b.Alloc(dropout.Uint8, n)
	if err != nil {
		t.Fatal(err)
	}
	hrel, err := driver.NewHostBuffer(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []dropout.Buffer{rel, mrel, hrel} {
		if err := r.Release(); err != nil {
			t.Fatal(err)
		}
		if err := r.Release(); err != nil {
			t.Fatalf("second Release: %v", err)
		}
	}
	bytesMask := dropout.Params{P: 0.5, Mask: dropout.MaskBytes}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Forward into a released buffer", b.Forward(rel, x, nil, dropout.Params{P: 0.5})},
		{"Forward from a released buffer", b.Forward(live, rel, nil, dropout.Params{P: 0.5})},
		{"Forward in place on a released buffer", b.Forward(rel, rel, nil, dropout.Params{P: 0.5})},
		{"Forward into a released mask", b.Forward(live, x, mrel, bytesMask)},
		{"Backward from a released mask", b.Backward(live, x, mrel, bytesMask)},
		{"Backward from a released buffer", b.Backward(x, rel, mlive, bytesMask)},
		{"Forward from a released host buffer", b.Forward(x, hrel, nil, dropout.Params{P: 0.5})},
		{"Forward into a released host buffer", b.Forward(hrel, live, nil, dropout.Params{P: 0.5})},
		{"Copy into a released buffer", b.Copy(rel, x)},
		{"Copy from a released buffer", b.Copy(x, rel)},
		{"Copy between a released and a live buffer", b.Copy(live, rel)},
		{"Copy from a released host buffer", b.Copy(live, hrel)},
		{"Read of a released buffer", rel.Read(x)},
		{"Write into a released buffer", rel.Write(x)},
		{"Read into a released buffer", live.Read(rel)},
		{"Write from a released buffer", live.Write(rel)},
		{"Write from a released host buffer", live.Write(hrel)},
	} {
		if !errors.Is(tc.err, dropout.ErrReleased) {
			t.Errorf("%s: got %v, want ErrReleased", tc.name, tc.err)
		}
	}
}

// TestBuffersAfterClose uses buffers and the backend after Close:
// ErrClosed, no crash; Release and Close stay harmless.
func TestBuffersAfterClose(t *testing.T) {
	b, err := Open(dropout.Options{Device: lavapipe, Debug: true})
	if err != nil {
		t.Skip(err) // openTest's Require covers the missing device
	}
	const n = 64
	x := make(dropout.Float32s, n)
	buf, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	rel.Release()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkMessages(t, b)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Read", buf.Read(x)},
		{"Write", buf.Write(x)},
		{"Read of a released buffer", rel.Read(x)},
		{"buffer to buffer Write", buf.Write(other)},
		{"Forward on buffers", b.Forward(buf, other, nil, dropout.Params{P: 0.5})},
		{"Forward on host tensors", b.Forward(x, x, nil, dropout.Params{P: 0.5})},
		{"Backward", b.Backward(x, x, nil, dropout.Params{P: 0.5})},
		{"Copy", b.Copy(buf, other)},
		{"Alloc", func() error { _, err := b.Alloc(dropout.Float32, 1); return err }()},
	} {
		if !errors.Is(tc.err, dropout.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", tc.name, tc.err)
		}
	}
	for _, r := range []dropout.Buffer{buf, other, rel} {
		if err := r.Release(); err != nil {
			t.Errorf("Release after Close: %v", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// oom checks that err wraps ErrOutOfMemory, names each number in nums, and
// says "out of memory" and, with device, "out of device memory" exactly once.
func oom(t *testing.T, what string, err error, device bool, nums ...uint64) {
	t.Helper()
	if !errors.Is(err, dropout.ErrOutOfMemory) {
		t.Fatalf("%s: got %v, want ErrOutOfMemory", what, err)
	}
	msg := strings.ToLower(err.Error())
	if c := strings.Count(msg, "out of memory"); c != 1 {
		t.Errorf("%s: %q says \"out of memory\" %d times", what, msg, c)
	}
	if c := strings.Count(msg, "out of device memory"); device && c != 1 {
		t.Errorf("%s: %q says \"out of device memory\" %d times", what, msg, c)
	}
	for _, v := range nums {
		if !strings.Contains(msg, strconv.FormatUint(v, 10)) {
			t.Errorf("%s: %q does not name %d", what, msg, v)
		}
	}
}

// TestDeviceMemoryLimit pretends the device's heap is 4 MiB: allocations
// beyond what is left are refused with ErrOutOfMemory naming the bytes
// wanted and left (by the executor, which counts buffers and its staging
// buffers, or by the device, which also counts the queues' staging areas
// on the heap they share on lavapipe), a release makes room again, host
// calls whose staging does not fit fail cleanly, and idle staging buffers
// and staging areas are freed to make room.
func TestDeviceMemoryLimit(t *testing.T) {
	const heap = 4 << 20
	b := openTestConfig(t, dropout.Options{}, config{heapLimit: heap})
	if got := b.Device().Memory; got != heap {
		t.Fatalf("Device().Memory = %d, want the limit %d", got, heap)
	}
	held := b.dev.heldBytes()
	a, err := b.Alloc(dropout.Float32, 1<<19) // 2 MiB
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Alloc(dropout.Float32, 3<<18) // 3 MiB
	oom(t, "a 3 MiB buffer next to 2 MiB", err, false, 3<<20, heap-held-(2<<20), heap)
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	if b.dev.heldBytes() != held {
		t.Errorf("after Release the backend holds %d bytes, want %d", b.dev.heldBytes(), held)
	}
	c := alloc(t, b, dropout.Float32, 1<<19)
	// A staged host call (a tensor off exec.MapAlign, which lavapipe does
	// not use in place) needs a staging buffer (device-local) and a
	// staging area (host-visible, on lavapipe the same heap) of its size:
	// the staging buffer fits next to c, the staging area no longer does.
	n := 1 << 19
	x := make(dropout.Float32s, n+1)[1:]
	err = b.Forward(x, x, nil, dropout.Params{P: 0.5})
	oom(t, "host Forward beyond the heap", err, true, 2<<20, heap)
	t.Log(err)
	// One used in place needs no device memory.
	if _, ok := b.dev.execDevice().(exec.HostMapper); ok {
		aligned := make(dropout.Float32s, n)
		if err := b.Forward(aligned, aligned, nil, dropout.Params{P: 0.5}); err != nil {
			t.Errorf("host Forward in place: %v", err)
		}
	}
	// The idle staging buffer and staging area make room for an allocation.
	c.Release()
	small := make(dropout.Float32s, 1<<18+1)[1:] // 1 MiB, staged: 2 MiB of staging area
	if err := b.Forward(small, small, nil, dropout.Params{P: 0.5}); err != nil {
		t.Fatal(err)
	}
	d, err := b.Alloc(dropout.Float32, 3<<18) // 3 MiB: fits once staging is freed
	if err != nil {
		t.Fatalf("Alloc after a host call left staging: %v", err)
	}
	d.Release()
	// Sizes beyond the largest allocation, and overflowing ones.
	for _, tc := range []struct {
		dt dropout.DType
		n  int
	}{{dropout.Float64, 1 << 40}, {dropout.Float64, 1 << 62}, {dropout.Float32, int(^uint(0) >> 1)}} {
		_, err := b.Alloc(tc.dt, tc.n)
		oom(t, fmt.Sprintf("Alloc(%v, %d)", tc.dt, tc.n), err, false, uint64(tc.n))
	}
}

// TestAllocBeyondHeap allocates, on lavapipe's real 2 GiB heap, 8 MiB and
// then a buffer of the heap's size less 4 MiB: the second no longer fits
// and fails with ErrOutOfMemory before anything is allocated (without the
// accounting, lavapipe handed out 20 GiB of 512 MiB buffers, until the
// kernel's OOM killer struck).
func TestAllocBeyondHeap(t *testing.T) {
	b := openTest(t, dropout.Options{})
	heap := b.dev.heapSize(b.dev.m.HeapOf(vkx.DeviceLocal))
	if maxAlloc := b.Device().MaxAlloc; heap == 0 || uint64(maxAlloc) < heap-4<<20 {
		t.Skipf("heap of %d bytes, largest allocation %d", heap, maxAlloc)
	}
	alloc(t, b, dropout.Uint8, 8<<20)
	size := heap - 4<<20
	x, err := b.Alloc(dropout.Uint8, int(size))
	if err == nil {
		x.Release()
		t.Fatalf("a buffer of %d bytes fit a heap of %d next to 8 MiB", size, heap)
	}
	oom(t, "the second buffer", err, false, size, heap)
	t.Log(err)
}

// TestResultErrors checks that a Vulkan out-of-memory result matches
// dropout.ErrOutOfMemory, and says so once, however many layers wrap it,
// and that other results match no sentinel.
func TestResultErrors(t *testing.T) {
	re := &vkx.ResultError{Op: "vkAllocateMemory", Result: -2} // VK_ERROR_OUT_OF_DEVICE_MEMORY
	err := fmt.Errorf("staging: %w", fmt.Errorf("a buffer: %w", re))
	oom(t, "wrapped twice", err, false)
	if !strings.Contains(err.Error(), "vkAllocateMemory: VK_ERROR_OUT_OF_DEVICE_MEMORY") {
		t.Errorf("%v does not name the call and the result", err)
	}
	lost := &vkx.ResultError{Op: "vkQueueSubmit", Result: -4} // VK_ERROR_DEVICE_LOST
	if errors.Is(lost, dropout.ErrOutOfMemory) || !strings.Contains(lost.Error(), "VK_ERROR_DEVICE_LOST") {
		t.Errorf("%v: matches ErrOutOfMemory or does not name the result", lost)
	}
}
