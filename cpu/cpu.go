package cpu

import (
	"runtime"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/driver"
)

// CPU is the fast multi-core backend. It is safe for concurrent use (see
// the package doc).
type CPU struct {
	threads int
	k       kernels
	minSpan int   // least elements worth a worker goroutine
	st      state // open or closed; all the rest is fixed by New
}

// New returns a fast CPU backend. opts.Threads caps its goroutines (0:
// GOMAXPROCS); opts.Portable forces the portable Go kernels.
func New(opts dropout.Options) *CPU {
	t := opts.Threads
	if t <= 0 {
		t = runtime.GOMAXPROCS(0)
	}
	k := best()
	if opts.Portable {
		k = portable
	}
	return &CPU{threads: t, k: k, minSpan: k.minSpan}
}

// Driver opens the fast CPU backend.
type Driver struct{}

// Name returns "cpu".
func (Driver) Name() string { return "cpu" }

// Devices returns the host CPU.
func (Driver) Devices() ([]dropout.DeviceInfo, error) {
	return []dropout.DeviceInfo{New(dropout.Options{}).Device()}, nil
}

// Open returns a fast CPU backend; opts.Device must be "", "0" or match the CPU.
func (Driver) Open(opts dropout.Options) (dropout.Backend, error) {
	if err := checkDevice("cpu", opts.Device); err != nil {
		return nil, err
	}
	return New(opts), nil
}

// Name returns "cpu".
func (c *CPU) Name() string { return "cpu" }

// Kernels names the inner loops in use: "portable" or a SIMD set such as "avx2".
func (c *CPU) Kernels() string { return c.k.name }

// Device describes the host CPU.
func (c *CPU) Device() dropout.DeviceInfo {
	return dropout.DeviceInfo{Backend: "cpu", Name: cpuName(), Kind: dropout.KindCPU, Memory: hostMemory(), Threads: c.threads, Caps: caps()}
}

// Alloc returns a zeroed host buffer that belongs to c: after c's Close
// its Read and Write, and calls with it, return dropout.ErrClosed. A
// request beyond the memory the machine and its cgroup have available
// returns an error wrapping dropout.ErrOutOfMemory.
func (c *CPU) Alloc(dt dropout.DType, n int) (dropout.Buffer, error) {
	return alloc(&c.st, dt, n)
}

// Copy copies host tensors.
//
// It runs on all the backend's threads, so that it is the machine's own copy
// ceiling that benchmarks compare dropout with.
func (c *CPU) Copy(dst, src dropout.Tensor) error {
	if err := c.st.enter("Copy"); err != nil {
		return err
	}
	defer c.st.exit()
	d, s, err := copyArgs(dst, src)
	if err != nil {
		return err
	}
	c.parallel(d.Len(), func(lo, hi int) { copySpan(d, s, lo, hi) })
	return nil
}

// copyArgs validates a Copy and returns the host slices of its operands,
// which must be the same tensor or disjoint (driver.CheckOverlap).
func copyArgs(dst, src dropout.Tensor) (d, s dropout.Tensor, err error) {
	if err := driver.CheckCopy(dst, src); err != nil {
		return nil, nil, err
	}
	if err := driver.CheckOverlap([]string{"dst", "src"}, []dropout.Tensor{dst, src}); err != nil {
		return nil, nil, err
	}
	if d, err = driver.HostOperand(dst); err != nil {
		return nil, nil, err
	}
	if s, err = driver.HostOperand(src); err != nil {
		return nil, nil, err
	}
	return d, s, nil
}

// copySpan copies elements [lo, hi) of s into d, host tensors of one type.
func copySpan(d, s dropout.Tensor, lo, hi int) {
	switch d := d.(type) {
	case dropout.Float32s:
		copy(d[lo:hi], s.(dropout.Float32s)[lo:hi])
	case dropout.Float64s:
		copy(d[lo:hi], s.(dropout.Float64s)[lo:hi])
	case dropout.Float16s:
		copy(d[lo:hi], s.(dropout.Float16s)[lo:hi])
	case dropout.BFloat16s:
		copy(d[lo:hi], s.(dropout.BFloat16s)[lo:hi])
	case dropout.Bytes:
		copy(d[lo:hi], s.(dropout.Bytes)[lo:hi])
	}
}

// Close waits for the calls in flight and marks the backend closed: later
// calls, and the Read and Write of its buffers, return dropout.ErrClosed.
// Closing twice is harmless.
func (c *CPU) Close() error { c.st.close(); return nil }

// Forward implements dropout.Backend.
func (c *CPU) Forward(dst, x, mask dropout.Tensor, p dropout.Params) error {
	if err := c.st.enter("Forward"); err != nil {
		return err
	}
	defer c.st.exit()
	pl, d, s, m, err := hostArgs(dst, x, mask, p)
	if err != nil {
		return err
	}
	op := opScale
	if pl.Alpha {
		op = opAlpha
	}
	c.run(&tileCall{pl: &pl, op: op, d: d, s: s, m: m, s32: pl.Scale32, s64: pl.Scale64})
	return nil
}

// ForwardFused implements dropout.Fuser: dst = residual + dropout(x + bias)
// in one pass over memory.
func (c *CPU) ForwardFused(dst, x, bias, residual, mask dropout.Tensor, p dropout.Params) error {
	if err := c.st.enter("ForwardFused"); err != nil {
		return err
	}
	defer c.st.exit()
	pl, o, err := fusedArgs(dst, x, bias, residual, mask, p)
	if err != nil {
		return err
	}
	c.run(&tileCall{pl: &pl, op: opFused, d: o.d, s: o.x, bias: o.bias, r: o.r, m: o.m})
	return nil
}

// Backward implements dropout.Backend: dx = keep ? dy·s : +0, with s the
// alpha coefficient A for alpha dropout, keep read from the stored mask or
// regenerated (the forward pass without a mask).
func (c *CPU) Backward(dx, dy, mask dropout.Tensor, p dropout.Params) error {
	if err := c.st.enter("Backward"); err != nil {
		return err
	}
	defer c.st.exit()
	pl, d, s, m, err := hostArgs(dx, dy, mask, p)
	if err != nil {
		return err
	}
	s32, s64 := backwardScale(&pl)
	c.run(&tileCall{pl: &pl, op: opScale, d: d, s: s, m: m, s32: s32, s64: s64, read: pl.Mask != dropout.MaskNone})
	return nil
}

// streamMin is the least output, in bytes, from which a kernel set with
// stream writes with non-temporal stores: from there on x and y together
// outgrow a typical last-level cache (32 MiB), so what the call writes
// would be evicted before anyone reads it. The AVX2 set streams y: the
// stores' skipped read for ownership cut the memory traffic by a third on
// a Zen 3 (BenchmarkForward, large). The AVX-512 set streams the mask and
// stores y as usual: on the Zen 5 (2 vCPUs) where it was tuned, streaming
// y took BenchmarkRoofline from about 0.9 of Copy down to 0.65-0.7, while
// streaming a bits or bytes mask took those cases from about 0.85 to 1.0.
// Retried with nothing else running in the guest (six-set kernels with
// VMOVNTPS y stores, mask non-temporal too or not, against ordinary y
// stores; Roofline float32 at 2^26, 10 iterations, medians of 3 alternated
// runs, 3 sessions): ordinary y stores measured 0.86-0.96 of Copy with no
// mask, 0.85-0.96 bits, 0.84-1.05 bytes, and non-temporal ones 0.63-0.72,
// 0.67-0.74, 0.65-0.75, 5-30% fewer elements a second; the 2-set kernels
// of 6cc03e7, which streamed y, 0.53-0.68.
const streamMin = 16 << 20

// spanAlign: spans start at multiples of 32 elements so that bit-mask bytes
// and SIMD groups never straddle two workers.
const spanAlign = 32

// parallel runs f over [0, n) in up to c.threads spans of whole 32-element
// groups (whole Philox blocks), each at least c.minSpan elements: inline
// when n is small, otherwise one span on the calling goroutine and the rest
// on new ones.
func (c *CPU) parallel(n int, f func(lo, hi int)) {
	w := min(c.threads, n/max(c.minSpan, 1))
	if w <= 1 {
		f(0, n)
		return
	}
	per := (n/w + spanAlign - 1) / spanAlign * spanAlign
	var wg sync.WaitGroup
	for lo := per; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	f(0, min(per, n)) // per > n only where minSpan < spanAlign (tests)
	wg.Wait()
}

// keepAll writes the mask of p = 0, where every one of n elements is kept:
// all ones, with a bit mask's padding bits zero.
func keepAll(m []byte, f dropout.MaskFormat, n int) {
	switch f {
	case dropout.MaskBits:
		for i := range m {
			m[i] = 0xff
		}
		if r := n % 8; r != 0 {
			m[len(m)-1] = 1<<r - 1
		}
	case dropout.MaskBytes:
		for i := range m {
			m[i] = 1
		}
	}
}

var _ dropout.Backend = (*CPU)(nil)
var _ dropout.Backend = (*Reference)(nil)

var _ dropout.Fuser = (*CPU)(nil)
