//go:build cgo && !noopencl

package opencl

import (
	"debug/elf"
	"errors"
	"math"
	"os"
	osexec "os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/driver"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/kernels"
)

func dropoutOpts(device string) dropout.Options { return dropout.Options{Device: device} }

func TestDevices(t *testing.T) {
	devs, err := Driver{}.Devices()
	dropouttest.Require(t, "OpenCL platform", err)
	var sawCPU, havePoCL bool
	for i, d := range devs {
		if d.Index != i || d.Backend != "opencl" || d.Name == "" || d.Platform == "" {
			t.Errorf("device %d: %+v", i, d)
		}
		if d.Kind == dropout.KindCPU {
			sawCPU = true
			if !d.Emulated {
				t.Errorf("CPU device %q is not marked Emulated", d.Name)
			}
		} else if sawCPU {
			t.Errorf("device %d (%v) is listed after a CPU device: GPUs come first", i, d.Kind)
		}
		if d.Memory <= 0 || d.MaxAlloc <= 0 || d.MaxAlloc > d.Memory {
			t.Errorf("device %q: Memory %d, MaxAlloc %d", d.Name, d.Memory, d.MaxAlloc)
		}
		if strings.Contains(d.Platform, "Portable Computing Language") {
			havePoCL = true
		}
	}
	if !havePoCL {
		dropouttest.Require(t, "PoCL", errors.New("no Portable Computing Language platform"))
	}
}

func TestOpenSelect(t *testing.T) {
	openDevice(t, dropoutOpts(pocl)) // skip without PoCL
	for _, tc := range []struct {
		sel  string
		max  int64
		want error // nil: opens
	}{
		{"", 0, nil},
		{"0", 0, nil},
		{"POCL", 0, nil},
		{"portable computing", 0, nil},
		{"no-such-device", 0, dropout.ErrUnavailable},
		{"99", 0, dropout.ErrUnavailable},
		{"-1", 0, dropout.ErrUnavailable},
		{pocl, -1, dropout.ErrLength},
	} {
		b, err := Open(dropout.Options{Device: tc.sel, MaxChunkBytes: tc.max})
		if tc.want == nil {
			if err != nil {
				t.Errorf("Open(%q): %v", tc.sel, err)
				continue
			}
			if b.Name() != "opencl" || b.Device().Name == "" {
				t.Errorf("Open(%q): name %q, device %+v", tc.sel, b.Name(), b.Device())
			}
			b.Close()
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("Open(%q, MaxChunkBytes %d): got %v, want %v", tc.sel, tc.max, err, tc.want)
		}
		if b != nil {
			t.Errorf("Open(%q) returned a backend with an error", tc.sel)
		}
	}
}

// TestUnavailable runs the test binary again where OpenCL is missing: with
// an empty ICD vendor directory (a loader but no driver) and with no
// loader library at all, and checks that the driver says the backend is
// unavailable and what to install.
func TestUnavailable(t *testing.T) {
	if want := os.Getenv("DROPOUT_OPENCL_UNAVAILABLE"); want != "" {
		_, err := Driver{}.Devices()
		var ue *dropout.UnavailableError
		if !errors.As(err, &ue) || !errors.Is(err, dropout.ErrUnavailable) {
			t.Fatalf("Devices: got %v, want an *UnavailableError", err)
		}
		if !strings.Contains(ue.Reason, want) {
			t.Errorf("Reason %q does not say %q", ue.Reason, want)
		}
		if !strings.Contains(ue.Fix, "pocl-opencl-icd") || !strings.Contains(ue.Fix, "ocl-icd-libopencl1") {
			t.Errorf("Fix %q does not say what to install", ue.Fix)
		}
		if _, err := (Driver{}).Open(dropout.Options{}); !errors.Is(err, dropout.ErrUnavailable) {
			t.Errorf("Open: got %v, want ErrUnavailable", err)
		}
		t.Logf("unavailable as expected: %v", err)
		return
	}
	for _, tc := range []struct {
		name   string
		env    []string
		reason string
	}{
		{"no driver", []string{"OCL_ICD_VENDORS=" + t.TempDir(), "OCL_ICD_FILENAMES="}, "no OpenCL platform"},
		{"no loader", []string{"DROPOUT_OPENCL_LIBRARY=/nonexistent/libOpenCL.so.1"}, "libOpenCL.so.1"},
	} {
		cmd := osexec.Command(os.Args[0], "-test.run=^TestUnavailable$", "-test.v")
		cmd.Env = append(os.Environ(), tc.env...)
		cmd.Env = append(cmd.Env, "DROPOUT_OPENCL_UNAVAILABLE="+tc.reason)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", tc.name, err, out)
		} else if !strings.Contains(string(out), "unavailable as expected") {
			t.Errorf("%s: the inner run did not check the driver:\n%s", tc.name, out)
		}
	}
}

// TestNoLinkTimeLoader checks that the test binary, like any program with
// this backend, does not need libOpenCL.so.1 to start.
func TestNoLinkTimeLoader(t *testing.T) {
	f, err := elf.Open(os.Args[0])
	if err != nil {
		t.Skipf("not an ELF binary: %v", err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if strings.Contains(l, "OpenCL") {
			t.Errorf("the binary links %s: it would not start without the OpenCL loader (libs %v)", l, libs)
		}
	}
}

func TestBuildErrorHasLog(t *testing.T) {
	openDevice(t, dropoutOpts(pocl))
	src := kernels.OpenCL + "\nkernel void broken(global float *x) { x[0] = no_such_identifier_42; }\n"
	b, err := open(dropoutOpts(pocl), config{src: src})
	if err == nil {
		b.Close()
		t.Fatal("a broken kernel source built")
	}
	for _, want := range []string{"clBuildProgram", "CL_BUILD_PROGRAM_FAILURE", "build log", "no_such_identifier_42"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("build error lacks %q: %v", want, err)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
		oom  bool
	}{
		{cl.ErrMemObjectAllocationFailure, "clX: CL_MEM_OBJECT_ALLOCATION_FAILURE (-4)", true},
		{cl.ErrOutOfHostMemory, "CL_OUT_OF_HOST_MEMORY (-6)", true},
		{cl.ErrInvalidKernelArgs, "CL_INVALID_KERNEL_ARGS (-52)", false},
		{cl.ErrOther(-1001), "CL_PLATFORM_NOT_FOUND_KHR (-1001)", false},
		{cl.ErrOther(-9999), "unknown status (-9999)", false},
		{cl.ErrInvalidDevicePartitionCount, "CL_INVALID_DEVICE_PARTITION_COUNT (-68)", false},
	} {
		err := check("clX", tc.err)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%v) = %v, want it to contain %q", tc.err, err, tc.want)
		}
		if errors.Is(err, dropout.ErrOutOfMemory) != tc.oom {
			t.Errorf("check(%v) matches ErrOutOfMemory: %v, want %v", tc.err, !tc.oom, tc.oom)
		}
	}
	if check("clX", nil) != nil {
		t.Error("check(nil) != nil")
	}
}

func TestErrors(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	other := openDevice(t, dropoutOpts(pocl))
	foreign, err := other.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	released, err := b.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	released.Release()
	x := make(dropout.Float32s, 8)
	half := make(dropout.Float16s, 8)
	for _, tc := range []struct {
		name      string
		dst, src  dropout.Tensor
		p         dropout.Params
		want      error
		fp64Fails bool
	}{
		{"foreign dst", foreign, x, dropout.Params{P: 0.5}, dropout.ErrForeignBuffer, false},
		{"foreign src", x, foreign, dropout.Params{P: 0.5}, dropout.ErrForeignBuffer, false},
		{"released dst", released, x, dropout.Params{P: 0.5}, dropout.ErrReleased, false},
		{"released src", x, released, dropout.Params{P: 0.5}, dropout.ErrReleased, false},
		{"float16 into float32", x, half, dropout.Params{P: 0.5}, dropout.ErrDType, false},
	} {
		if err := b.Forward(tc.dst, tc.src, nil, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("Forward with %s: got %v, want %v", tc.name, err, tc.want)
		}
		if err := b.Backward(tc.dst, tc.src, nil, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("Backward with %s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	fm := make(dropout.Bytes, 1)
	if err := b.Forward(x, x, foreign, dropout.Params{P: 0.5, Mask: dropout.MaskBits}); !errors.Is(err, dropout.ErrMaskFormat) {
		t.Errorf("Forward with a float32 buffer as mask: got %v, want ErrMaskFormat", err)
	}
	if err := b.Forward(x, x, fm, dropout.Params{P: 0.5, Mask: dropout.MaskBits}); err != nil {
		t.Errorf("Forward with a host bit mask: %v", err)
	}
	if err := foreign.Write(x); err != nil {
		t.Errorf("Write: %v", err)
	}
	if err := foreign.Write(released); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Write from a device buffer: got %v, want ErrForeignBuffer", err)
	}
	if err := released.Read(x); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Read of a released buffer: got %v, want ErrReleased", err)
	}
	if err := released.Write(x); !errors.Is(err, dropout.ErrReleased) {
		t.Errorf("Write of a released buffer: got %v, want ErrReleased", err)
	}
	if err := b.Copy(x, foreign); !errors.Is(err, dropout.ErrForeignBuffer) {
		t.Errorf("Copy from another backend's buffer: got %v, want ErrForeignBuffer", err)
	}

	// Allocation limits.
	if _, err := b.Alloc(dropout.Float32, -1); !errors.Is(err, dropout.ErrLength) {
		t.Errorf("Alloc(-1): got %v, want ErrLength", err)
	}
	if _, err := b.Alloc(dropout.DType(99), 1); !errors.Is(err, dropout.ErrDType) {
		t.Errorf("Alloc of an unknown dtype: got %v, want ErrDType", err)
	}
	huge := int(b.Device().MaxAlloc/4) + 1
	if _, err := b.Alloc(dropout.Float32, huge); !errors.Is(err, dropout.ErrOutOfMemory) {
		t.Errorf("Alloc beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE: got %v, want ErrOutOfMemory", err)
	}

	// A device without cl_khr_fp64 refuses float64 data, and still holds
	// and copies float64 buffers.
	nofp := openWith(t, dropoutOpts(pocl), config{src: kernels.OpenCL, tune: func(i *exec.Info) {
		i.DTypes = []dropout.DType{dropout.Float32}
	}})
	if dts := nofp.DTypes(); len(dts) != 1 || dts[0] != dropout.Float32 {
		t.Errorf("DTypes without cl_khr_fp64: %v", dts)
	}
	y := make(dropout.Float64s, 8)
	if err := nofp.Forward(y, y, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrDType) {
		t.Errorf("float64 without cl_khr_fp64: got %v, want ErrDType", err)
	}
	if u, err := nofp.Alloc(dropout.Float64, 8); err != nil {
		t.Errorf("Alloc(float64) without cl_khr_fp64: %v", err)
	} else {
		if err := u.Write(y); err != nil {
			t.Errorf("Write of a float64 buffer without cl_khr_fp64: %v", err)
		}
		if err := nofp.Forward(u, u, nil, dropout.Params{P: 0.5}); !errors.Is(err, dropout.ErrDType) {
			t.Errorf("Forward on a float64 buffer without cl_khr_fp64: got %v, want ErrDType", err)
		}
	}

	// After Close: ErrClosed everywhere, Close again harmless.
	buf, err := b.Alloc(dropout.Float32, 8)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Forward":  b.Forward(x, x, nil, dropout.Params{}),
		"Backward": b.Backward(x, x, nil, dropout.Params{}),
		"Copy":     b.Copy(x, x),
		"Write":    buf.Write(x),
		"Read":     buf.Read(x),
	} {
		if !errors.Is(err, dropout.ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", name, err)
		}
	}
	if err := buf.Release(); err != nil {
		t.Errorf("Release after Close: %v", err)
	}
	if _, err := b.philoxBlocks(nil, nil); !errors.Is(err, dropout.ErrClosed) {
		t.Errorf("PhiloxBlocks after Close: got %v, want ErrClosed", err)
	}
}

func TestCopy(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	const n = 1001
	x := dropouttest.Data(dropout.Float32, n, 5).(dropout.Float32s)
	a, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	c, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := driver.NewHostBuffer(dropout.Float32, n)
	got := make(dropout.Float32s, n)
	for _, step := range []struct {
		name     string
		dst, src dropout.Tensor
	}{
		{"host to device", a, x},
		{"device to device", c, a},
		{"device to host buffer", hb, c},
		{"host buffer to host", got, hb},
	} {
		if err := b.Copy(step.dst, step.src); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if err := dropouttest.Equal(got, x); err != nil {
		t.Fatalf("after a round of copies: %v", err)
	}
	for _, tc := range []struct {
		name     string
		dst, src dropout.Tensor
		want     error
	}{
		{"length", a, make(dropout.Float32s, n-1), dropout.ErrLength},
		{"dtype", a, make(dropout.Float64s, n), dropout.ErrDType},
		{"nil", nil, a, dropout.ErrLength},
	} {
		if err := b.Copy(tc.dst, tc.src); !errors.Is(err, tc.want) {
			t.Errorf("Copy with bad %s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestMixedOperands runs calls whose tensors are partly host slices and
// partly device buffers, with chunks small enough to split them.
func TestMixedOperands(t *testing.T) {
	b := openDevice(t, dropout.Options{Device: pocl, MaxChunkBytes: 1024})
	ref := cpu.NewReference()
	const n = 1000
	for _, f := range dropouttest.Formats {
		for _, mix := range []struct{ dst, src, mask bool }{ // true: on the device
			{true, false, false}, {false, true, false}, {false, false, true}, {true, true, false}, {false, true, true},
		} {
			for _, shape := range [][2][]int{{nil, nil}, {{10, 100}, {10, 1}}} {
				p := dropout.Params{P: 0.3, Seed: 42, Offset: 7, Mask: f, Shape: shape[0], NoiseShape: shape[1]}
				m := p.MaskLen(n)
				x := dropouttest.Data(dropout.Float32, n, 8)
				want, wantdx := make(dropout.Float32s, n), make(dropout.Float32s, n)
				wm := make(dropout.Bytes, f.Bytes(m))
				if err := ref.Forward(want, x, wm, p); err != nil {
					t.Fatal(err)
				}
				if err := ref.Backward(wantdx, x, wm, p); err != nil {
					t.Fatal(err)
				}
				place := func(dev bool, h dropout.Tensor) dropout.Tensor {
					if !dev {
						return h
					}
					buf, err := b.Alloc(h.DType(), h.Len())
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { buf.Release() })
					if err := buf.Write(h); err != nil {
						t.Fatal(err)
					}
					return buf
				}
				dst := place(mix.dst, make(dropout.Float32s, n))
				src := place(mix.src, x)
				var mask dropout.Tensor
				if f != dropout.MaskNone {
					mask = place(mix.mask, make(dropout.Bytes, f.Bytes(m)))
				}
				read := func(x dropout.Tensor) dropout.Tensor {
					buf, ok := x.(dropout.Buffer)
					if !ok {
						return x
					}
					var h dropout.Tensor = make(dropout.Bytes, buf.Len())
					if buf.DType() == dropout.Float32 {
						h = make(dropout.Float32s, buf.Len())
					}
					if err := buf.Read(h); err != nil {
						t.Fatal(err)
					}
					return h
				}
				if err := b.Forward(dst, src, mask, p); err != nil {
					t.Fatalf("%v %+v: %v", f, mix, err)
				}
				if err := dropouttest.Equal(read(dst), want); err != nil {
					t.Fatalf("Forward %v %+v noise %v: %v", f, mix, shape[1], err)
				}
				if mask != nil {
					if err := dropouttest.Equal(read(mask), wm); err != nil {
						t.Fatalf("Forward %v %+v noise %v: mask: %v", f, mix, shape[1], err)
					}
				}
				if err := b.Backward(dst, src, mask, p); err != nil {
					t.Fatal(err)
				}
				if err := dropouttest.Equal(read(dst), wantdx); err != nil {
					t.Fatalf("Backward %v %+v noise %v: %v", f, mix, shape[1], err)
				}
			}
		}
	}
}

// TestScaleSelect checks the select directly on one value per case.
func TestScaleSelect(t *testing.T) {
	b := openDevice(t, dropoutOpts(pocl))
	x := dropout.Float64s{math.NaN(), math.Inf(-1), 3, math.Copysign(0, -1), 5e-324}
	for _, p := range []float64{0, 0.5, 1} {
		y := make(dropout.Float64s, len(x))
		if err := b.Forward(y, x, nil, dropout.Params{P: p, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		for i := range x {
			keep := dropout.Keep(1, 0, uint64(i), p)
			switch {
			case !keep && math.Float64bits(y[i]) != 0:
				t.Errorf("p=%v: dropped %v became %v, want +0", p, x[i], y[i])
			case keep && p == 0 && math.Float64bits(y[i]) != math.Float64bits(x[i]):
				t.Errorf("p=0: %v became %v, want a bit copy", x[i], y[i])
			}
		}
	}
}

// TestStreamEdges checks offsets where the stream's 64-bit word index wraps
// around, and where the block counter crosses 2^32, against the reference.
func TestStreamEdges(t *testing.T) {
	b := openDevice(t, dropout.Options{Device: pocl, MaxChunkBytes: 128})
	ref := cpu.NewReference()
	for _, off := range []uint64{math.MaxUint64 - 2, math.MaxUint64, 1<<34 - 5, 1<<63 - 1} {
		for _, f := range dropouttest.Formats {
			for _, n := range []int{37, 100} {
				p := dropout.Params{P: 0.5, Seed: 0xfeedface12345678, Offset: off, Mask: f}
				x := dropouttest.Data(dropout.Float32, n, 4)
				got, want := make(dropout.Float32s, n), make(dropout.Float32s, n)
				gm, wm := make(dropout.Bytes, f.Bytes(n)), make(dropout.Bytes, f.Bytes(n))
				if err := ref.Forward(want, x, maskArg(f, wm), p); err != nil {
					t.Fatal(err)
				}
				if err := b.Forward(got, x, maskArg(f, gm), p); err != nil {
					t.Fatal(err)
				}
				if err := errors.Join(dropouttest.Equal(got, want), dropouttest.Equal(gm, wm)); err != nil {
					t.Errorf("offset %#x, n=%d, %v mask: %v", off, n, f, err)
				}
			}
		}
	}
}

// TestCapabilities: the device states float32 always, float64 exactly
// where Forward takes it, every mask format and noise shapes; Devices and
// an open backend agree.
func TestCapabilities(t *testing.T) {
	b := openDevice(t, dropout.Options{Device: pocl})
	caps := b.Device().Caps
	if !slices.Equal(caps.DTypes, b.DTypes()) || !slices.Contains(caps.DTypes, dropout.Float32) {
		t.Errorf("Caps.DTypes %v, DTypes() %v", caps.DTypes, b.DTypes())
	}
	for _, dt := range []dropout.DType{dropout.Float16, dropout.BFloat16} {
		if !slices.Contains(caps.DTypes, dt) {
			t.Errorf("Caps.DTypes %v without %v", caps.DTypes, dt)
		}
	}
	if len(caps.MaskFormats) != 3 || !caps.NoiseShape || !caps.Alpha || !caps.Fused || !caps.Regions {
		t.Errorf("caps %+v", caps)
	}
	devs, err := Driver{}.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(devs[b.Device().Index].Caps.DTypes, caps.DTypes) {
		t.Errorf("Devices() says %v, the open backend %v", devs[b.Device().Index].Caps.DTypes, caps.DTypes)
	}
}
