//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
	"github.com/gpudropout/dropout/kernels"
)

// ErrValidation reports that the validation layer (Options.Debug) reported
// an error or warning during a call.
var ErrValidation = errors.New("vulkan: validation layer reported problems")

// Shader modes: specialization constant 0 of each module (kernels/glsl).
const (
	modeGenNone   = 0
	modeGenBits   = 1
	modeGenBytes  = 2
	modeReadBits  = 3
	modeReadBytes = 4

	maskBits  = 1 // mask.comp and apply.comp
	maskBytes = 2
)

type algKey struct {
	module string
	mode   uint32
}

// pipeline is one compute pipeline, built on first use.
type pipeline struct {
	mu sync.Mutex
	a  *vkx.Algorithm
}

// Backend runs dropout on one Vulkan device. It is safe for concurrent use
// by multiple goroutines (see the package documentation for what it
// serialises).
type Backend struct {
	// Set at Open and only read afterwards.
	info  dropout.DeviceInfo
	opts  dropout.Options
	in    *vkx.Instance
	m     *vkx.Manager
	l     *vkx.Layout
	algs  map[algKey]*pipeline // every pipeline; each is built on first use
	f64   bool
	lim   limits
	dummy *vkx.Buffer // bound where a shader's binding is unused (no mask)

	// mu is held shared by every call for all of its work and exclusively
	// by Close, which so waits for the calls in flight; closed is written
	// under the exclusive lock.
	mu     sync.RWMutex
	closed bool

	pool workers // command sequences and staging areas, one per call in flight
	mem  memory  // device memory held, against the heaps and their budgets

	bufMu sync.Mutex
	bufs  map[*Buffer]struct{} // live buffers from Alloc, released on Close

	valMu sync.Mutex
	seen  int // validation messages already reported
}

// maxWorkers bounds the calls that record and submit at the same time;
// further calls wait for a worker.
func maxWorkers() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// Open opens the Vulkan backend on the device opts.Device selects; with
// opts.Debug, under the validation layer.
func Open(opts dropout.Options) (*Backend, error) {
	in, devs, err := instance(opts.Debug)
	if err != nil {
		return nil, err
	}
	i, err := selectDevice(devs, opts.Device)
	if err != nil {
		in.Destroy()
		return nil, err
	}
	b := &Backend{info: deviceInfo(i, devs[i]), opts: opts, in: in, algs: map[algKey]*pipeline{}, bufs: map[*Buffer]struct{}{}}
	b.pool.init(maxWorkers())
	if err := b.init(devs[i]); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// modules lists the pipelines: module, modes, and whether it is float64.
var modules = []struct {
	module string
	modes  []uint32
	f64    bool
}{
	{"dropout", []uint32{modeGenNone, modeGenBits, modeGenBytes, modeReadBits, modeReadBytes}, false},
	{"dropout_f64", []uint32{modeGenNone, modeGenBits, modeGenBytes, modeReadBits, modeReadBytes}, true},
	{"mask", []uint32{maskBits, maskBytes}, false},
	{"apply", []uint32{maskBits, maskBytes}, false},
	{"apply_f64", []uint32{maskBits, maskBytes}, true},
}

func (b *Backend) init(d vkx.PhysicalDevice) error {
	var err error
	if b.m, err = vkx.NewManager(d); err != nil {
		return b.wrap(err)
	}
	b.mem.init(b)
	if b.l, err = b.m.NewLayout(); err != nil {
		return b.wrap(err)
	}
	if b.dummy, err = b.newBuffer("the placeholder buffer", 256, vkx.DeviceLocal); err != nil {
		return err
	}
	b.f64 = d.Float64
	for _, p := range modules {
		if p.f64 && !b.f64 {
			continue
		}
		if _, err := kernels.SPIRV(p.module); err != nil {
			return err
		}
		for _, mode := range p.modes {
			b.algs[algKey{p.module, mode}] = &pipeline{}
		}
	}
	b.lim = newLimits(d, b.m.MaxInvocations(), b.opts.MaxChunkBytes)
	return b.validated(nil)
}

// alg returns the pipeline of module in mode, building it on first use.
// Pipelines are built once per backend (a CPU implementation such as
// lavapipe compiles each one, so Open builds none).
func (b *Backend) alg(module string, mode uint32) (*vkx.Algorithm, error) {
	p := b.algs[algKey{module, mode}]
	if p == nil {
		return nil, fmt.Errorf("vulkan: internal error: no pipeline %s mode %d", module, mode)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a == nil {
		spv, err := kernels.SPIRV(module)
		if err != nil {
			return nil, err
		}
		a, err := b.l.NewAlgorithm(spv, mode)
		if err != nil {
			return nil, b.wrap(fmt.Errorf("building %s mode %d: %w", module, mode, err))
		}
		p.a = a
	}
	return p.a, nil
}

// Name returns "vulkan".
func (b *Backend) Name() string { return "vulkan" }

// Device describes the backend's device.
func (b *Backend) Device() dropout.DeviceInfo { return b.info }

// ValidationMessages returns every error and warning the validation layer
// reported so far (Options.Debug), or nil.
func (b *Backend) ValidationMessages() []string {
	if b.in == nil || b.in.Messages == nil {
		return nil
	}
	return b.in.Messages.All()
}

// enter starts a call: it holds b.mu shared until leave, or returns
// dropout.ErrClosed after Close. Calls never enter twice (a pending Close
// would make the second wait forever).
func (b *Backend) enter() error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return dropout.ErrClosed
	}
	return nil
}

func (b *Backend) leave() { b.mu.RUnlock() }

// validated returns err, or with Debug an error wrapping ErrValidation if
// the layer reported anything since the last check. With calls running
// side by side, a message goes to whichever call checks first.
func (b *Backend) validated(err error) error {
	if b.in == nil || b.in.Messages == nil {
		return err
	}
	b.valMu.Lock()
	msgs := b.in.Messages.Since(b.seen)
	b.seen += len(msgs)
	b.valMu.Unlock()
	if len(msgs) == 0 {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (%w:\n%s)", err, ErrValidation, strings.Join(msgs, "\n"))
	}
	return fmt.Errorf("%w:\n%s", ErrValidation, strings.Join(msgs, "\n"))
}

// wrap turns out-of-memory results into dropout.ErrOutOfMemory, once.
func (b *Backend) wrap(err error) error {
	var re *vkx.ResultError
	if errors.As(err, &re) && re.OutOfMemory() && !errors.Is(err, dropout.ErrOutOfMemory) {
		return fmt.Errorf("%w: %w", dropout.ErrOutOfMemory, err)
	}
	return err
}

// Close waits for the calls in flight, then destroys buffers, workers
// (sequences and scratch), pipelines, layout, device and instance, in that
// order. Later calls, and calls on the backend's buffers, return
// dropout.ErrClosed. Closing twice is harmless.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var err error
	if b.m != nil {
		err = b.m.WaitIdle()
	}
	b.bufMu.Lock()
	for buf := range b.bufs {
		buf.destroy()
	}
	b.bufs = nil
	b.bufMu.Unlock()
	b.pool.destroy(b)
	b.freeBuffer(b.dummy)
	for _, p := range b.algs {
		p.a.Destroy()
	}
	b.l.Destroy()
	b.m.Destroy()
	err = b.validated(err)
	b.in.Destroy()
	return err
}

var _ dropout.Backend = (*Backend)(nil)
