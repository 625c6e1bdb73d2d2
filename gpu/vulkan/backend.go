//go:build cgo && !novulkan

package vulkan

import (
	"errors"
	"fmt"
	"strings"

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

// Backend runs dropout on one Vulkan device.
type Backend struct {
	info  dropout.DeviceInfo
	opts  dropout.Options
	in    *vkx.Instance
	m     *vkx.Manager
	l     *vkx.Layout
	seq   *vkx.Sequence
	algs  map[algKey]*vkx.Algorithm
	f64   bool
	bufs  map[*Buffer]struct{} // live buffers from Alloc, released on Close
	lim   limits
	seen  int // validation messages already reported
	sc    scratch
	dummy *vkx.Buffer // bound where a shader's binding is unused (no mask)
	close bool
}

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
	b := &Backend{info: deviceInfo(i, devs[i]), opts: opts, in: in, algs: map[algKey]*vkx.Algorithm{}, bufs: map[*Buffer]struct{}{}}
	if err := b.init(devs[i]); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) init(d vkx.PhysicalDevice) error {
	var err error
	if b.m, err = vkx.NewManager(d); err != nil {
		return b.wrap(err)
	}
	if b.l, err = b.m.NewLayout(); err != nil {
		return b.wrap(err)
	}
	if b.seq, err = b.m.NewSequence(b.l); err != nil {
		return b.wrap(err)
	}
	if b.dummy, err = b.m.NewBuffer(256, vkx.DeviceLocal); err != nil {
		return b.wrap(err)
	}
	b.f64 = d.Float64
	pipes := []struct {
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
	for _, p := range pipes {
		if p.f64 && !b.f64 {
			continue
		}
		spv, err := kernels.SPIRV(p.module)
		if err != nil {
			return err
		}
		for _, mode := range p.modes {
			a, err := b.l.NewAlgorithm(spv, mode)
			if err != nil {
				return b.wrap(fmt.Errorf("building %s mode %d: %w", p.module, mode, err))
			}
			b.algs[algKey{p.module, mode}] = a
		}
	}
	b.lim = newLimits(d, b.m.MaxInvocations(), b.opts.MaxChunkBytes)
	return b.validated(nil)
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

// validated returns err, or with Debug an error wrapping ErrValidation if
// the layer reported anything since the last call.
func (b *Backend) validated(err error) error {
	if b.in == nil || b.in.Messages == nil {
		return err
	}
	msgs := b.in.Messages.Since(b.seen)
	b.seen += len(msgs)
	if len(msgs) == 0 {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (%w:\n%s)", err, ErrValidation, strings.Join(msgs, "\n"))
	}
	return fmt.Errorf("%w:\n%s", ErrValidation, strings.Join(msgs, "\n"))
}

// wrap turns out-of-memory results into dropout.ErrOutOfMemory.
func (b *Backend) wrap(err error) error {
	var re *vkx.ResultError
	if errors.As(err, &re) && re.OutOfMemory() {
		return fmt.Errorf("%w: %w", dropout.ErrOutOfMemory, err)
	}
	return err
}

// Close waits for the device, then destroys buffers, scratch, the
// sequence, pipelines, layout, device and instance, in that order.
// Closing twice is harmless.
func (b *Backend) Close() error {
	if b.close {
		return nil
	}
	b.close = true
	var err error
	if b.m != nil {
		if b.seq != nil {
			b.seq.Abandon()
		}
		err = b.m.WaitIdle()
	}
	for buf := range b.bufs {
		buf.destroy()
	}
	b.sc.destroy()
	b.dummy.Destroy()
	b.seq.Destroy()
	for _, a := range b.algs {
		a.Destroy()
	}
	b.l.Destroy()
	b.m.Destroy()
	err = b.validated(err)
	b.in.Destroy()
	return err
}

var _ dropout.Backend = (*Backend)(nil)
