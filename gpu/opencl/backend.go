//go:build cgo && !noopencl

package opencl

import (
	"fmt"
	"unsafe"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
)

// Backend runs dropout on one OpenCL device. It implements dropout.Backend
// and is safe for concurrent use by multiple goroutines: see the package
// documentation for what runs side by side and what is serialised.
type Backend struct {
	*exec.Backend // Name, Device, DTypes, Forward, Backward, Copy, Alloc
	dev           *clDevice
	as            async // the asynchronous calls' queue (interop.go)
}

// config is what open needs beyond dropout.Options: the kernel source
// and, for tests, knobs.
type config struct {
	src      string           // the OpenCL C program: kernels.OpenCL
	maxItems int              // the most work-items of one flat enqueue (0: defaultMaxItems)
	grid     bool             // grid-stride launches whatever the device kind (tests, benchmarks)
	flat     bool             // flat launches on a GPU too
	tune     func(*exec.Info) // adjusts what the device tells the executor
}

// open opens the device opts selects, builds cfg.src on it and starts the
// executor there.
func open(opts dropout.Options, cfg config) (*Backend, error) {
	devs, err := devices()
	if err != nil {
		return nil, err
	}
	d, err := choose(devs, opts.Device)
	if err != nil {
		return nil, err
	}
	cd, err := newDevice(d, cfg)
	if err != nil {
		return nil, err
	}
	e, err := exec.New("opencl", cd, opts) // closes cd on error
	if err != nil {
		return nil, err
	}
	return &Backend{Backend: e, dev: cd}, nil
}

// do runs f on a queue of the executor with scratch device memory of the
// given sizes (at least 4 bytes each), freed once f's work is done: for
// the tests' kernels, whose few bytes the executor does not account for.
func (b *Backend) do(sizes []int, f func(q *clQueue, m []*cl.MemObject) error) error {
	var ms []exec.Mem
	defer func() {
		for _, m := range ms {
			b.dev.Free(m)
		}
	}()
	return exec.Do(b.Backend, func(q exec.Queue) error {
		var cms []*cl.MemObject
		for _, size := range sizes {
			m, err := b.dev.Alloc(int64(max(size, 4)))
			if err != nil {
				return err
			}
			ms = append(ms, m)
			cms = append(cms, m.(*mem).m)
		}
		return f(q.(*clQueue), cms)
	})
}

// philoxBlocks runs the kernels' own Philox4x32-10 on the device: out[i] =
// philox4x32_10(ctr[i], key[i]), so that tests can check the OpenCL C
// Philox against the published known-answer vectors.
func (b *Backend) philoxBlocks(ctr [][4]uint32, key [][2]uint32) ([][4]uint32, error) {
	if len(ctr) != len(key) {
		return nil, fmt.Errorf("%w: %d counters, %d keys", dropout.ErrLength, len(ctr), len(key))
	}
	n := len(ctr)
	in := make([]uint32, 0, 6*n)
	for i := range ctr {
		in = append(in, ctr[i][0], ctr[i][1], ctr[i][2], ctr[i][3], key[i][0], key[i][1])
	}
	out := make([][4]uint32, n)
	err := b.do([]int{24 * n, 16 * n}, func(q *clQueue, m []*cl.MemObject) error {
		if n == 0 {
			return nil
		}
		if err := enqueueWrite(q.q, m[0], 0, bytesOf(in)); err != nil {
			return err
		}
		if err := q.launch(q.k.philox, uint64(n), bufArg(m[0]), bufArg(m[1]), u32Arg(uint32(n))); err != nil {
			return err
		}
		return enqueueRead(q.q, bytesOf(out), m[1], 0, true)
	})
	if err != nil || n == 0 {
		return nil, err
	}
	return out, nil
}

// streamWords returns n consecutive words of the kernels' keystream of
// seed, from word offset on (modulo 2^64), computed on the device by the
// stream_words kernel with the same stream_block the dropout kernels use.
// Tests check it against the Go Philox where the block counter wraps.
func (b *Backend) streamWords(seed, offset uint64, n int) ([]uint32, error) {
	out := make([]uint32, n)
	err := b.do([]int{4 * n}, func(q *clQueue, m []*cl.MemObject) error {
		if n == 0 {
			return nil
		}
		if err := q.launch(q.k.words, uint64(n), bufArg(m[0]), u64Arg(uint64(n)), u64Arg(offset), u32Arg(uint32(seed)), u32Arg(uint32(seed>>32))); err != nil {
			return err
		}
		return enqueueRead(q.q, bytesOf(out), m[0], 0, true)
	})
	if err != nil || n == 0 {
		return nil, err
	}
	return out, nil
}

// bytesOf returns the memory of s as bytes.
func bytesOf[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(s[0])))
}

var _ dropout.Backend = (*Backend)(nil)
