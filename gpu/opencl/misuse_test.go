//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/internal/memlimit"
	"github.com/gpudropout/dropout/kernels"
)

// TestReleasedBuffers uses released buffers, device and host, in every
// place a buffer goes: each use is an error wrapping ErrReleased (and not
// ErrClosed, the backend being open); after Close, the backend's buffers
// give ErrClosed.
func TestReleasedBuffers(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	const n = 40
	live := func(dt dropout.DType, n int) dropout.Buffer {
		u, err := b.Alloc(dt, n)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	dead := func(dt dropout.DType, n int) dropout.Buffer {
		u := live(dt, n)
		if err := u.Release(); err != nil {
			t.Fatal(err)
		}
		if err := u.Release(); err != nil {
			t.Errorf("second Release: %v", err)
		}
		return u
	}
	x, y, m := live(dropout.Float32, n), live(dropout.Float32, n), live(dropout.Uint8, 5)
	dx, dm := dead(dropout.Float32, n), dead(dropout.Uint8, 5)
	hdead, _ := driver.NewHostBuffer(dropout.Float32, n)
	hdead.Release()
	host := make(dropout.Float32s, n)
	bits := dropout.Params{P: 0.5, Mask: dropout.MaskBits}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Forward into a released dst", b.Forward(dx, x, m, bits)},
		{"Forward from a released x", b.Forward(y, dx, m, bits)},
		{"Forward into a released mask", b.Forward(y, x, dm, bits)},
		{"Forward from a released x into host memory", b.Forward(host, dx, nil, dropout.Params{P: 0.5})},
		{"Forward from a released host buffer", b.Forward(y, hdead, nil, dropout.Params{P: 0.5})},
		{"Backward into a released dx", b.Backward(dx, y, m, bits)},
		{"Backward from a released mask", b.Backward(y, x, dm, bits)},
		{"Copy into a released buffer", b.Copy(dx, x)},
		{"Copy from a released buffer", b.Copy(host, dx)},
		{"Copy from a released host buffer", b.Copy(x, hdead)},
		{"Read of a released buffer", dx.Read(host)},
		{"Write into a released buffer", dx.Write(host)},
		{"Write from a released host buffer", x.Write(hdead)},
	} {
		if !errors.Is(tc.err, dropout.ErrReleased) || errors.Is(tc.err, dropout.ErrClosed) {
			t.Errorf("%s: got %v, want ErrReleased", tc.name, tc.err)
		}
	}
	if dx.Len() != n || dx.DType() != dropout.Float32 {
		t.Errorf("a released buffer reports %v[%d]", dx.DType(), dx.Len())
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Read after Close", x.Read(host)},
		{"Write after Close", x.Write(host)},
		{"Forward on buffers after Close", b.Forward(y, x, m, bits)},
		{"Read of a released buffer after Close", dx.Read(host)},
	} {
		if !errors.Is(tc.err, dropout.ErrClosed) {
			t.Errorf("%s: got %v, want ErrClosed", tc.name, tc.err)
		}
	}
	if err := x.Release(); err != nil {
		t.Errorf("Release after Close: %v", err)
	}
}

// TestMemoryLimits checks that allocations beyond the device's memory are
// refused with ErrOutOfMemory errors that name the bytes wanted and
// available: beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE, beyond
// CL_DEVICE_GLOBAL_MEM_SIZE less what the backend holds (on a device with
// a fake, small memory), beyond the host memory left for an emulated
// device (with a fake limit), and sizes whose byte count overflows.
func TestMemoryLimits(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	if !b.Device().Emulated {
		t.Fatalf("PoCL's device %q is not marked Emulated", b.Device().Name)
	}
	names := func(err error, nums ...int64) {
		t.Helper()
		if !errors.Is(err, dropout.ErrOutOfMemory) {
			t.Fatalf("got %v, want ErrOutOfMemory", err)
		}
		for _, v := range nums {
			if !strings.Contains(err.Error(), strconv.FormatInt(v, 10)) {
				t.Errorf("%v: does not name %d", err, v)
			}
		}
	}

	// Overflow of n * element size, and sizes beyond any memory.
	for _, tc := range []struct {
		dt dropout.DType
		n  int
	}{
		{dropout.Float32, math.MaxInt>>1 + 1}, {dropout.Float64, math.MaxInt>>2 + 1}, {dropout.Float64, math.MaxInt / 8},
		{dropout.Float32, math.MaxInt}, {dropout.Uint8, math.MaxInt}, {dropout.Uint8, math.MaxInt - 2},
		{dropout.Float32, 1 << 40},
	} {
		u, err := b.Alloc(tc.dt, tc.n)
		if err == nil {
			u.Release()
			t.Fatalf("Alloc(%v, %d) succeeded", tc.dt, tc.n)
		}
		if !errors.Is(err, dropout.ErrOutOfMemory) || !strings.Contains(err.Error(), strconv.Itoa(tc.n)) && !strings.Contains(err.Error(), "bytes") {
			t.Errorf("Alloc(%v, %d): got %v, want ErrOutOfMemory naming the size", tc.dt, tc.n, err)
		}
	}

	// CL_DEVICE_MAX_MEM_ALLOC_SIZE.
	maxAlloc := b.Device().MaxAlloc
	_, err := b.Alloc(dropout.Float32, int(maxAlloc/4)+1)
	names(err, maxAlloc+4, maxAlloc)

	// CL_DEVICE_GLOBAL_MEM_SIZE less what the backend holds, on a device
	// that says it has 1 MiB.
	const devMem = 1 << 20
	small := openWith(t, dropoutOpts(pocl), config{src: kernels.OpenCL, tune: func(i *exec.Info) { i.Memory = devMem }})
	held := small.dev.held.Load
	if h := held(); h != 0 {
		t.Fatalf("a new backend holds %d bytes", h)
	}
	a, err := small.Alloc(dropout.Float32, 200_000) // 800,000 bytes: fits
	if err != nil {
		t.Fatal(err)
	}
	if h := held(); h != 800_000 {
		t.Errorf("held %d bytes after an Alloc of 800000", h)
	}
	_, err = small.Alloc(dropout.Float32, 100_000) // 400,000 bytes: 248,576 left
	names(err, 400_000, devMem-800_000, devMem, 800_000)
	// Host tensors need staging buffers, which count too. (Aligned large
	// ones are used in place on PoCL, whose memory is the host's: this one
	// starts one element into its allocation, so it is staged.)
	big := make(dropout.Float32s, 100_001)[1:]
	err = small.Forward(big, big, nil, dropout.Params{P: 0.5})
	names(err)
	// An aligned one needs none.
	aligned := make(dropout.Float32s, 100_000)
	if err := small.Forward(aligned, aligned, nil, dropout.Params{P: 0.5}); err != nil {
		t.Errorf("an aligned host tensor used in place: %v", err)
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	// Released memory is available again, to buffers and staging.
	c, err := small.Alloc(dropout.Float32, 100_000)
	if err != nil {
		t.Fatalf("Alloc after a Release made room: %v", err)
	}
	c.Release()
	if err := small.Forward(big, big, nil, dropout.Params{P: 0.5}); err != nil {
		t.Fatalf("Forward after a Release made room: %v", err)
	}
	// Idle queues' staging buffers give way to an Alloc.
	staging := held()
	if staging < 400_000 {
		t.Errorf("%d bytes held after a call on 400000 bytes of host data: no staging buffer kept", staging)
	}
	d, err := small.Alloc(dropout.Uint8, int(devMem-staging)+100_000)
	if err != nil {
		t.Fatalf("Alloc that fits once staging buffers are released: %v", err)
	}
	d.Release()

	// Host memory for an emulated device, on a machine with 1 MB left.
	tight := openWith(t, dropoutOpts(pocl), config{src: kernels.OpenCL, tune: func(i *exec.Info) {
		i.HostLimit = func() memlimit.Limit { return memlimit.Limit{Bytes: 1_000_000, Source: "test limit"} }
	}})
	_, err = tight.Alloc(dropout.Float32, 300_000)
	names(err, 1_200_000, 1_000_000)
	if err == nil || !strings.Contains(err.Error(), "test limit") {
		t.Errorf("host memory error %v does not say what limits it", err)
	}
	if u, err := tight.Alloc(dropout.Float32, 1000); err != nil {
		t.Errorf("a small Alloc under the host limit: %v", err)
	} else {
		u.Release()
	}
}
