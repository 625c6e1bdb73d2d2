//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/gpu/vulkan/internal/vkx"
	"github.com/gpudropout/dropout/kernels"
)

// ErrValidation reports that the validation layer (Options.Debug) reported
// an error or warning during a call.
var ErrValidation = errors.New("vulkan: validation layer reported problems")

// vkDevice is the backend's exec.Device: a logical device with one compute
// queue, its pipelines (built on first use), and the accounting of the
// memory it allocates per heap. Its queues (vkQueue) are the workers calls
// run on, each with its own command sequence and staging area.
type vkDevice struct {
	info  exec.Info
	in    *vkx.Instance
	m     *vkx.Manager
	l     *vkx.Layout
	f64   bool
	lim   limits
	dummy *vkx.Buffer     // bound where a shader's binding is unused
	sets  *vkx.Sets       // descriptor sets of recorded and asynchronous calls, kept until Close
	async slots           // command buffers and fences of asynchronous calls
	mods  map[algKey]bool // the modules and modes the device has (flags and dt zero)
	algMu sync.Mutex
	algs  map[algKey]*pipeline // built or being built
	mem   heaps

	valMu sync.Mutex
	seen  int // validation messages already reported

	qmu    sync.Mutex
	queues map[*vkQueue]struct{} // live queues, whose idle staging areas trim frees

	imports atomic.Int64 // host memory imported in place so far (hostDevice.MapHost)
}

// config is what open needs beyond dropout.Options: knobs for tests.
type config struct {
	// heapLimit, when non-zero, replaces the size of every memory heap and
	// the device memory the executor counts against (a small device).
	heapLimit uint64
	// oneQueue turns exec.Info.Overlap off: host tensors staged in
	// several chunks wait for each chunk on one queue.
	oneQueue bool
	// layout, when set, replaces the kernel layout the device's type
	// chooses (newLimits): a GPU's on lavapipe, with or without subgroups.
	layout layoutKnob
}

// maxWorkers bounds the calls that record and submit at the same time
// (Info.Queues); further calls wait for a queue.
func maxWorkers() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// Shader modes: specialization constant 0 of each module (kernels/glsl).
const (
	modeGenNone   = 0 // dropout.comp
	modeGenBits   = 1
	modeGenBytes  = 2
	modeReadBits  = 3
	modeReadBytes = 4

	modeBits  = 1 // mask.comp and apply.comp
	modeBytes = 2
)

// algKey names a pipeline: a module and its specialization constants.
type algKey struct {
	module string
	mode   uint32 // constant 0
	flags  uint32 // constant 1 (data shaders)
	dt     uint32 // constant 2 (data shaders)
}

// pipeline is one compute pipeline, built on first use.
type pipeline struct {
	mu sync.Mutex
	a  *vkx.Algorithm
}

// modules lists the shader modules: module, modes, and whether it is float64.
var modules = []struct {
	module string
	modes  []uint32
	f64    bool
}{
	{"dropout", []uint32{modeGenNone, modeGenBits, modeGenBytes, modeReadBits, modeReadBytes}, false},
	{"dropout_f64", []uint32{modeGenNone, modeGenBits, modeGenBytes, modeReadBits, modeReadBytes}, true},
	{"dropout_sg", []uint32{modeGenBits}, false},
	{"dropout_f64_sg", []uint32{modeGenBits}, true},
	{"mask", []uint32{modeBits, modeBytes}, false},
	{"apply", []uint32{modeBits, modeBytes}, false},
	{"apply_f64", []uint32{modeBits, modeBytes}, true},
	{"empty", []uint32{0}, false},
}

// newDevice creates the logical device on phys (device i of in), its
// layout and placeholder buffer. On error it destroys what it made and in.
func newDevice(in *vkx.Instance, i int, phys vkx.PhysicalDevice, cfg config) (*vkDevice, error) {
	m, err := vkx.NewManager(phys)
	if err != nil {
		in.Destroy()
		return nil, err
	}
	return initDevice(in, m, i, cfg)
}

// initDevice makes the backend's device on m (device i of in, nil for a
// caller's device): its layout and placeholder buffer. On error it
// destroys what it made, m and in.
func initDevice(in *vkx.Instance, m *vkx.Manager, i int, cfg config) (_ *vkDevice, err error) {
	phys := m.Phys
	d := &vkDevice{in: in, m: m, f64: phys.Float64, mods: map[algKey]bool{}, algs: map[algKey]*pipeline{}, queues: map[*vkQueue]struct{}{}}
	d.mem.init(cfg.heapLimit)
	d.async.cond = sync.NewCond(&d.async.mu)
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if d.l, err = d.m.NewLayout(); err != nil {
		return nil, err
	}
	if d.dummy, err = d.m.NewBuffer(256, vkx.DeviceLocal); err != nil {
		return nil, err
	}
	d.sets = d.l.NewSets()
	for _, p := range modules {
		if p.f64 && !d.f64 {
			continue
		}
		if _, err := kernels.SPIRV(p.module); err != nil {
			return nil, err
		}
		for _, mode := range p.modes {
			d.mods[algKey{module: p.module, mode: mode}] = true
		}
	}
	d.lim = newLimits(phys, d.m.MaxInvocations(), cfg.layout)
	d.info = exec.Info{
		DeviceInfo: deviceInfo(i, phys),
		DTypes:     dtypes(phys),
		Queues:     maxWorkers(),
		HostMemory: phys.Type == vkx.CPU,
		// Staged chunks alternate two queues, each submitted without a
		// wait, so that the device runs one while the host stages the
		// next: on lavapipe too, whose staging copies share its two cores
		// (BenchmarkStaged: 318 ms against 349 on one queue).
		Overlap: !cfg.oneQueue,
		// 16-bit data is packed two to a 32-bit word (no 16-bit storage
		// feature): the shaders see 16-bit views on whole words only.
		WordData:       true,
		MaxLaunchBytes: int64(d.lim.maxRange - d.lim.align),
		MaxLaunchElems: int64(min(d.m.MaxInvocations(), 1<<30)),
		ApplyMaxDims:   maxDims,
		ApplyMaxElems:  1<<32 - 1,
	}
	if cfg.heapLimit > 0 {
		d.info.Memory = int64(cfg.heapLimit)
	}
	return d, d.validated(nil)
}

// Info implements exec.Device.
func (d *vkDevice) Info() exec.Info { return d.info }

// Alloc implements exec.Device: a device-local storage buffer, checked
// against its heap (what this device holds on it, staging areas included
// where they share it) and the heap's budget.
func (d *vkDevice) Alloc(size int64) (exec.Mem, error) {
	buf, err := d.newBuffer(fmt.Sprintf("a buffer of %d bytes", size), uint64(size), vkx.DeviceLocal)
	if err != nil {
		return nil, d.validated(err)
	}
	return buf, nil
}

// Free implements exec.Device.
func (d *vkDevice) Free(m exec.Mem) { d.freeBuffer(m.(*vkx.Buffer)) }

// NewQueue implements exec.Device: a command sequence (command pool and
// buffer, fence, descriptor pool) and, on first use, a staging area.
func (d *vkDevice) NewQueue() (exec.Queue, error) {
	seq, err := d.m.NewSequence(d.l)
	if err != nil {
		return nil, d.validated(err)
	}
	q := &vkQueue{d: d, seq: seq}
	d.qmu.Lock()
	d.queues[q] = struct{}{}
	d.qmu.Unlock()
	return q, nil
}

// Close implements exec.Device: it waits for the device (a caller's
// device: for the asynchronous calls' submissions), destroys the
// pipelines, layout, device and instance (only what the backend made), and
// reports what the validation layer said since the last call.
func (d *vkDevice) Close() error {
	err := d.async.close()
	if d.m != nil {
		err = errors.Join(err, d.m.WaitIdle())
	}
	d.sets.Destroy()
	d.dummy.Destroy()
	for _, p := range d.algs {
		p.a.Destroy()
	}
	d.l.Destroy()
	d.m.Destroy()
	err = d.validated(err)
	d.in.Destroy()
	return err
}

// alg returns the pipeline of key, building it on first use. Pipelines
// are built once per backend and specialization (a CPU implementation such
// as lavapipe compiles each one, so Open builds none).
func (d *vkDevice) alg(key algKey) (*vkx.Algorithm, error) {
	if !d.mods[algKey{module: key.module, mode: key.mode}] {
		return nil, fmt.Errorf("vulkan: internal error: no pipeline %s mode %d", key.module, key.mode)
	}
	d.algMu.Lock()
	p := d.algs[key]
	if p == nil {
		p = &pipeline{}
		d.algs[key] = p
	}
	d.algMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a == nil {
		spv, err := kernels.SPIRV(key.module)
		if err != nil {
			return nil, err
		}
		a, err := d.l.NewAlgorithm(spv, [vkx.SpecConstants]uint32{key.mode, key.flags, key.dt, d.lim.run})
		if err != nil {
			return nil, fmt.Errorf("building %s mode %d flags %#x type %d: %w", key.module, key.mode, key.flags, key.dt, err)
		}
		p.a = a
	}
	return p.a, nil
}

// validated returns err, or with Debug an error wrapping ErrValidation if
// the layer reported anything since the last check. With calls running
// side by side, a message goes to whichever call checks first.
func (d *vkDevice) validated(err error) error {
	if d.in == nil || d.in.Messages == nil {
		return err
	}
	d.valMu.Lock()
	msgs := d.in.Messages.Since(d.seen)
	d.seen += len(msgs)
	d.valMu.Unlock()
	if len(msgs) == 0 {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (%w:\n%s)", err, ErrValidation, strings.Join(msgs, "\n"))
	}
	return fmt.Errorf("%w:\n%s", ErrValidation, strings.Join(msgs, "\n"))
}

// trim frees the staging areas of the queues that are idle (not between
// an upload or download and its Wait), and returns the bytes freed.
func (d *vkDevice) trim() uint64 {
	d.qmu.Lock()
	qs := make([]*vkQueue, 0, len(d.queues))
	for q := range d.queues {
		qs = append(qs, q)
	}
	d.qmu.Unlock()
	var n uint64
	for _, q := range qs {
		if q.mu.TryLock() { // a queue in use is not idle, nor one trimming (its own caller)
			if q.used == 0 {
				n += q.freeArea()
			}
			q.mu.Unlock()
		}
	}
	return n
}
