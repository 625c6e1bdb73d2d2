// Package exectest is a pure-Go exec.Device: its memory is host memory
// and its kernels are Go, written from the stream contract with
// internal/philox. It checks the executor's side of the device contract
// strictly: views inside live allocations of this device, launch limits,
// alignment, whole-word uploads, one goroutine per queue, no leaks at
// Close. A breach is an error wrapping ErrMisuse (from the operation, or
// from Close for Free, which returns none).
//
// Queues run nothing until Wait, as an asynchronous device would: an
// executor that reads a download before Wait, or frees memory a queued
// operation uses, gets wrong results or ErrMisuse. New allocations hold
// garbage (0xa5 bytes), so an executor that forgets to zero a buffer or
// reads unwritten staging memory is caught too.
package exectest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/gpu/internal/exec"
	"github.com/gpudropout/dropout/internal/half"
	"github.com/gpudropout/dropout/internal/philox"
)

// ErrMisuse reports that the executor broke the device contract.
var ErrMisuse = errors.New("exectest: device contract broken")

// Config sets the device's limits (see exec.Info); zero values take the
// defaults.
type Config struct {
	Name           string          // "exectest"
	Memory         int64           // 1 GiB
	MaxAlloc       int64           // none
	Queues         int             // 4
	DTypes         []dropout.DType // all four: float32, float64, float16, bfloat16
	MaxLaunchBytes int64           // none
	MaxLaunchElems int64           // none
	ApplyMaxDims   int             // none
	ApplyMaxElems  int64           // none
	DirectCopy     bool            // false
	// WordData makes the device one whose kernels touch 16-bit data in
	// whole 32-bit words (exec.Info.WordData): 16-bit data views must start
	// on a word, and a launch that ends mid-word writes the word's other
	// half too (with +0), as such a kernel would.
	WordData bool
	// MapHost makes the device's memory the host's (exec.Info.HostMemory)
	// and the device an exec.HostMapper: its kernels then run on large
	// host tensors in place.
	MapHost bool
	// Overlap sets exec.Info.Overlap: calls staging host tensors in
	// several chunks alternate two queues.
	Overlap bool
	// NoAlpha, NoFused and NoRegions take alpha dropout, the fused op and
	// regions out of the device's capabilities.
	NoAlpha, NoFused, NoRegions bool
	// Hook, if set, runs as each queue operation starts, with its name
	// ("Upload", "Download", "Wait" or the kernel's); an error it returns
	// becomes the operation's.
	Hook func(op string) error
}

// Device is the test device. Its methods are safe for concurrent use.
type Device struct {
	cfg Config

	mu       sync.Mutex
	mems     map[*mem]struct{}
	held     int64
	queues   int
	closed   bool
	misuses  []error
	closeErr error

	maps     int // host tensors mapped (MapHost)
	launches [exec.Zero + 1]atomic.Int64
	waits    atomic.Int64
	flushes  atomic.Int64
}

type mem struct {
	d      *Device
	b      []byte
	freed  atomic.Bool
	mapped bool // host memory in place (MapHost)
}

// New returns a device with the limits of cfg.
func New(cfg Config) *Device {
	if cfg.Name == "" {
		cfg.Name = "exectest"
	}
	if cfg.Memory == 0 {
		cfg.Memory = 1 << 30
	}
	if cfg.Queues == 0 {
		cfg.Queues = 4
	}
	if cfg.DTypes == nil {
		cfg.DTypes = []dropout.DType{dropout.Float32, dropout.Float64, dropout.Float16, dropout.BFloat16}
	}
	return &Device{cfg: cfg, mems: map[*mem]struct{}{}}
}

// Info implements exec.Device.
func (d *Device) Info() exec.Info {
	c := d.cfg
	return exec.Info{
		DeviceInfo: dropout.DeviceInfo{Name: c.Name, Platform: "Go", Kind: dropout.KindOther, Emulated: true,
			Memory: c.Memory, MaxAlloc: c.MaxAlloc,
			Caps: dropout.Capabilities{DTypes: slices.Clone(c.DTypes), MaskFormats: dropout.AllMaskFormats(),
				NoiseShape: true, Alpha: !c.NoAlpha, Fused: !c.NoFused, Regions: !c.NoRegions}},
		DTypes: slices.Clone(c.DTypes), Queues: c.Queues,
		MaxLaunchBytes: c.MaxLaunchBytes, MaxLaunchElems: c.MaxLaunchElems,
		ApplyMaxDims: c.ApplyMaxDims, ApplyMaxElems: c.ApplyMaxElems, DirectCopy: c.DirectCopy,
		WordData: c.WordData, HostMemory: c.MapHost, Overlap: c.Overlap,
	}
}

func misuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMisuse}, args...)...)
}

// Alloc implements exec.Device.
func (d *Device) Alloc(size int64) (exec.Mem, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return nil, misuse("Alloc after Close")
	case size <= 0 || size%4 != 0:
		return nil, misuse("Alloc(%d): not a positive multiple of 4", size)
	case d.cfg.MaxAlloc > 0 && size > d.cfg.MaxAlloc, size > d.cfg.Memory-d.held:
		return nil, fmt.Errorf("%w: exectest: %d bytes wanted, %d held of %d", dropout.ErrOutOfMemory, size, d.held, d.cfg.Memory)
	}
	m := &mem{d: d, b: make([]byte, size)}
	for i := range m.b {
		m.b[i] = 0xa5
	}
	d.mems[m] = struct{}{}
	d.held += size
	return m, nil
}

// Free implements exec.Device.
func (d *Device) Free(x exec.Mem) {
	m, ok := x.(*mem)
	d.mu.Lock()
	defer d.mu.Unlock()
	if !ok || m.d != d || m.mapped || m.freed.Swap(true) {
		d.misuses = append(d.misuses, misuse("Free of %T: not a live allocation of this device", x))
		return
	}
	delete(d.mems, m)
	d.held -= int64(len(m.b))
}

// MapHost implements exec.HostMapper where Config.MapHost is set: the
// memory is b itself, so kernels write the host bytes.
func (d *Device) MapHost(b []byte) (exec.Mem, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.cfg.MapHost:
		return nil, misuse("MapHost on a device that maps no host memory")
	case d.closed || len(b) == 0:
		return nil, misuse("MapHost of %d bytes (closed: %v)", len(b), d.closed)
	}
	m := &mem{d: d, b: b, mapped: true}
	d.mems[m] = struct{}{}
	d.maps++
	return m, nil
}

// UnmapHost implements exec.HostMapper: the queue must have run every
// operation (the executor waits before it unmaps).
func (d *Device) UnmapHost(eq exec.Queue, x exec.Mem) error {
	m, ok := x.(*mem)
	q, qok := eq.(*queue)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !ok || !m.mapped || m.d != d || m.freed.Swap(true):
		return misuse("UnmapHost of %T: not live mapped host memory of this device", x)
	case !qok || len(q.ops) > 0:
		return misuse("UnmapHost before a Wait of the queue")
	}
	delete(d.mems, m)
	return nil
}

// NewQueue implements exec.Device.
func (d *Device) NewQueue() (exec.Queue, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.queues >= d.cfg.Queues {
		return nil, misuse("NewQueue with %d of %d queues made (closed: %v)", d.queues, d.cfg.Queues, d.closed)
	}
	d.queues++
	return &queue{d: d}, nil
}

// Close implements exec.Device: every allocation must be freed and every
// queue released by now. It reports the breaches recorded so far.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	errs := d.misuses
	if d.closed {
		errs = append(errs, misuse("second Close"))
	}
	if len(d.mems) > 0 || d.queues > 0 {
		errs = append(errs, misuse("Close with %d allocations (%d bytes) and %d queues left", len(d.mems), d.held, d.queues))
	}
	d.closed = true
	d.closeErr = errors.Join(errs...)
	return d.closeErr
}

// Check returns nil if the device was closed with every allocation freed
// and every queue released, and saw no breach of the contract.
func (d *Device) Check() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		return misuse("the device was never closed (%d allocations, %d queues)", len(d.mems), d.queues)
	}
	return d.closeErr
}

// Stats are counts of what a device did.
type Stats struct {
	Launches map[exec.Kernel]int64
	Waits    int64
	Flushes  int64 // Flush calls (exec.Flusher)
	Held     int64 // bytes allocated now
	Mems     int   // allocations now (mapped host memory included)
	Maps     int   // host tensors mapped so far
	Queues   int   // queues made and not released
}

// Stats returns the device's counts so far.
func (d *Device) Stats() Stats {
	s := Stats{Launches: map[exec.Kernel]int64{}, Waits: d.waits.Load(), Flushes: d.flushes.Load()}
	for k := range d.launches {
		if n := d.launches[k].Load(); n > 0 {
			s.Launches[exec.Kernel(k)] = n
		}
	}
	d.mu.Lock()
	s.Held, s.Mems, s.Maps, s.Queues = d.held, len(d.mems), d.maps, d.queues
	d.mu.Unlock()
	return s
}

// bytes returns the n bytes of memory at v.
func (d *Device) bytes(v exec.View, n int64, what string) ([]byte, error) {
	m, ok := v.Mem.(*mem)
	switch {
	case !ok || m.d != d:
		return nil, misuse("%s: %T is not memory of this device", what, v.Mem)
	case m.freed.Load():
		return nil, misuse("%s: memory used after Free", what)
	case v.Off < 0 || n < 0 || v.Off+n > int64(len(m.b)):
		return nil, misuse("%s: bytes [%d, %d) of a %d-byte allocation", what, v.Off, v.Off+n, len(m.b))
	}
	return m.b[v.Off : v.Off+n], nil
}

// queue queues operations and runs them at Wait.
type queue struct {
	d        *Device
	busy     atomic.Bool
	released bool
	ops      []func() error
}

// enter starts an operation: one goroutine at a time, never after Release.
func (q *queue) enter(op string) error {
	if !q.busy.CompareAndSwap(false, true) {
		return misuse("%s: the queue is in use by another goroutine", op)
	}
	if q.released {
		q.busy.Store(false)
		return misuse("%s on a released queue", op)
	}
	if h := q.d.cfg.Hook; h != nil {
		if err := h(op); err != nil {
			q.busy.Store(false)
			return err
		}
	}
	return nil
}

func (q *queue) exit() { q.busy.Store(false) }

// Upload implements exec.Queue.
func (q *queue) Upload(dst exec.View, src []byte) error {
	if err := q.enter("Upload"); err != nil {
		return err
	}
	defer q.exit()
	n := int64(len(src))
	if _, err := q.d.bytes(dst, n, "Upload"); err != nil {
		return err
	}
	b := slices.Clone(src)
	q.ops = append(q.ops, func() error {
		m, err := q.d.bytes(dst, n, "Upload")
		copy(m, b)
		return err
	})
	return nil
}

// Download implements exec.Queue.
func (q *queue) Download(dst []byte, src exec.View) error {
	if err := q.enter("Download"); err != nil {
		return err
	}
	defer q.exit()
	n := int64(len(dst))
	if _, err := q.d.bytes(src, n, "Download"); err != nil {
		return err
	}
	q.ops = append(q.ops, func() error {
		m, err := q.d.bytes(src, n, "Download")
		copy(dst, m)
		return err
	})
	return nil
}

// Launch implements exec.Queue.
func (q *queue) Launch(k exec.Kernel, a *exec.Args) error {
	if err := q.enter(k.String()); err != nil {
		return err
	}
	defer q.exit()
	b := *a
	b.Dims, b.Words = slices.Clone(a.Dims), slices.Clone(a.Words)
	if _, err := q.d.views(k, &b); err != nil {
		return err
	}
	q.d.launches[k].Add(1)
	q.ops = append(q.ops, func() error { return q.d.run(k, &b) })
	return nil
}

// Flush implements exec.Flusher. It runs nothing (operations run at
// Wait, which a device's Flush allows) and counts (Stats.Flushes).
func (q *queue) Flush() error {
	if err := q.enter("Flush"); err != nil {
		return err
	}
	defer q.exit()
	q.d.flushes.Add(1)
	return nil
}

// Wait implements exec.Queue: it runs the queued operations in order.
func (q *queue) Wait() error {
	if err := q.enter("Wait"); err != nil {
		return err
	}
	defer q.exit()
	q.d.waits.Add(1)
	ops := q.ops
	q.ops = nil
	for _, op := range ops {
		if err := op(); err != nil {
			return err
		}
	}
	return nil
}

// Release implements exec.Queue.
func (q *queue) Release() error {
	if err := q.enter("Release"); err != nil {
		return err
	}
	defer q.exit()
	q.released = true
	q.d.mu.Lock()
	q.d.queues--
	q.d.mu.Unlock()
	if len(q.ops) > 0 {
		return misuse("Release with %d operations not waited for", len(q.ops))
	}
	return nil
}

// data are the memory a launch touches.
type data struct{ y, x, m, b, r []byte }

// views checks a launch against the contract and the limits and returns
// the memory it touches.
func (d *Device) views(k exec.Kernel, a *exec.Args) (v data, err error) {
	c := d.cfg
	if a.N <= 0 {
		return v, misuse("%v over %d elements", k, a.N)
	}
	switch k {
	case exec.Copy:
		if v.y, err = d.bytes(a.Y, a.N, "Copy to"); err == nil {
			v.x, err = d.bytes(a.X, a.N, "Copy from")
		}
		if err == nil && a.Y.Mem == a.X.Mem && a.Y.Off < a.X.Off+a.N && a.X.Off < a.Y.Off+a.N {
			err = misuse("Copy between overlapping bytes")
		}
		return v, err
	case exec.Zero:
		if a.Y.Off%4 != 0 || a.N%4 != 0 {
			return v, misuse("Zero of %d bytes at %d: not whole words", a.N, a.Y.Off)
		}
		v.y, err = d.bytes(a.Y, a.N, "Zero")
		return v, err
	}
	es := int64(a.DType.Size())
	f := k.Format()
	mn := a.N // mask elements in M
	switch {
	case !slices.Contains(c.DTypes, a.DType):
		return v, misuse("%v of %v data", k, a.DType)
	case c.MaxLaunchElems > 0 && a.N > c.MaxLaunchElems:
		return v, misuse("%v over %d elements (the limit is %d)", k, a.N, c.MaxLaunchElems)
	case k == exec.ApplyBits || k == exec.ApplyBytes:
		mn = a.MaskLen
		if err := checkDims(c, a); err != nil {
			return v, err
		}
	case a.Words != nil && k != exec.MaskBits && k != exec.MaskBytes:
		return v, misuse("%v with a word map", k)
	case a.Words != nil:
		m := int64(1)
		for _, w := range a.Words {
			m *= w.Size
		}
		if a.I0 < 0 || a.I0%32 != 0 || a.I0+a.N > m {
			return v, misuse("%v over mask elements [%d, %d) of a word map of %d", k, a.I0, a.I0+a.N, m)
		}
	}
	gen := k == exec.GenNone || k == exec.GenBits || k == exec.GenBytes
	switch {
	case (a.HasBias || a.HasResid) && !gen && k != exec.ApplyBits && k != exec.ApplyBytes:
		return v, misuse("%v with a bias or a residual", k)
	case a.Alpha && (k == exec.MaskBits || k == exec.MaskBytes):
		return v, misuse("%v with Alpha", k)
	case a.Alpha && (a.CopyKept || a.DropAll):
		return v, misuse("%v: Alpha with CopyKept or DropAll", k)
	case a.HasBias && (a.BiasLen <= 0 || a.I0 < 0):
		return v, misuse("%v: a bias of %d elements from tensor element %d", k, a.BiasLen, a.I0)
	}
	check := func(w exec.View, n, align int64, what string) ([]byte, error) {
		if c.MaxLaunchBytes > 0 && n > c.MaxLaunchBytes {
			return nil, misuse("%v: %s spans %d bytes (the limit is %d)", k, what, n, c.MaxLaunchBytes)
		}
		if w.Off%align != 0 {
			return nil, misuse("%v: %s at byte %d, not a multiple of %d", k, what, w.Off, align)
		}
		return d.bytes(w, n, fmt.Sprintf("%v %s", k, what))
	}
	if f != dropout.MaskNone {
		if v.m, err = check(a.M, exec.MaskWords(f, mn), 4, "M"); err != nil {
			return v, err
		}
	}
	if k == exec.MaskBits || k == exec.MaskBytes {
		return v, nil
	}
	align := es // data views start on any element (views, wrapped buffers)
	if c.WordData && es < 4 {
		align = 4
	}
	if v.y, err = check(a.Y, a.N*es, align, "Y"); err != nil {
		return v, err
	}
	if c.WordData && es < 4 && a.N*es%4 != 0 { // the last word's other half
		if v.y, err = d.bytes(a.Y, a.N*es+2, fmt.Sprintf("%v Y, its last whole word", k)); err != nil {
			return v, err
		}
	}
	if v.x, err = check(a.X, a.N*es, align, "X"); err != nil {
		return v, err
	}
	if overlap(a.Y, a.X, a.N*es) {
		return v, misuse("%v: Y and X overlap without being the same view", k)
	}
	if a.HasResid {
		if v.r, err = check(a.R, a.N*es, align, "R"); err != nil {
			return v, err
		}
		if overlap(a.Y, a.R, a.N*es) {
			return v, misuse("%v: Y and R overlap without being the same view", k)
		}
	}
	if a.HasBias {
		if v.b, err = check(a.B, a.BiasLen*es, align, "B"); err != nil {
			return v, err
		}
	}
	return v, nil
}

// overlap reports whether n bytes at u and at w overlap without being the
// same view.
func overlap(u, w exec.View, n int64) bool {
	return u.Mem == w.Mem && u.Off != w.Off && u.Off < w.Off+n && w.Off < u.Off+n
}

// checkDims checks an Apply launch's broadcast table.
func checkDims(c Config, a *exec.Args) error {
	n, m := int64(1), int64(1)
	for _, dm := range slices.Backward(a.Dims) {
		n *= dm.Size
		if dm.Stride != 0 {
			if dm.Stride != m {
				return misuse("Apply: mask strides %v are not row-major", a.Dims)
			}
			m *= dm.Size
		}
	}
	switch {
	case c.ApplyMaxDims > 0 && len(a.Dims) > c.ApplyMaxDims:
		return misuse("Apply with %d axes (the limit is %d)", len(a.Dims), c.ApplyMaxDims)
	case c.ApplyMaxElems > 0 && max(a.I0+a.N, a.MaskLen) > c.ApplyMaxElems:
		return misuse("Apply over elements [%d, %d) of a mask of %d (the limit is %d)", a.I0, a.I0+a.N, a.MaskLen, c.ApplyMaxElems)
	case a.I0 < 0 || a.I0+a.N > n || m != a.MaskLen:
		return misuse("Apply over elements [%d, %d) with dims %v and a mask of %d", a.I0, a.I0+a.N, a.Dims, a.MaskLen)
	}
	return nil
}

// run runs a launch: the kernels of the device, in Go.
func (d *Device) run(k exec.Kernel, a *exec.Args) error {
	v, err := d.views(k, a) // again: memory may have been freed since
	if err != nil {
		return err
	}
	switch k {
	case exec.Copy:
		copy(v.y, v.x)
		return nil
	case exec.Zero:
		clear(v.y)
		return nil
	}
	f := k.Format()
	s := stream{k0: uint32(a.Seed), k1: uint32(a.Seed >> 32), g: a.G0, thresh: a.Thresh, dropAll: a.DropAll}
	keep := func(int64) bool { return s.next() }
	switch {
	case a.Words != nil:
		keep = func(i int64) bool { return s.at(word(a, a.I0+i)) }
	}
	switch k {
	case exec.ReadBits, exec.ReadBytes:
		keep = func(i int64) bool { return read(v.m, f, i) }
	case exec.ApplyBits, exec.ApplyBytes:
		keep = func(i int64) bool { return read(v.m, f, index(a.Dims, a.I0+i)) }
	}
	write := !k.ReadsMask() && f != dropout.MaskNone
	if int64(len(v.y)) > a.N*int64(a.DType.Size()) { // a WordData kernel's last whole word
		clear(v.y[a.N*int64(a.DType.Size()):])
	}
	if write {
		clear(v.m) // whole words, padding included
	}
	for i := range a.N {
		kp := keep(i)
		if write && kp {
			if f == dropout.MaskBits {
				v.m[i/8] |= 1 << (i % 8)
			} else {
				v.m[i] = 1
			}
		}
		if v.y != nil {
			value(a, v, i, kp)
		}
	}
	return nil
}

// stream yields the keep decisions of stream words g, g+1, ….
type stream struct {
	k0, k1  uint32
	g       uint64
	w       [4]uint32
	valid   bool
	thresh  uint32
	dropAll bool
}

func (s *stream) next() bool {
	if !s.valid || s.g&3 == 0 {
		s.w[0], s.w[1], s.w[2], s.w[3] = philox.BlockWords(s.g>>2, s.k0, s.k1)
		s.valid = true
	}
	w := s.w[s.g&3]
	s.g++
	return !s.dropAll && w >= s.thresh
}

// at returns the keep decision of stream word g.
func (s *stream) at(g uint64) bool {
	w0, w1, w2, w3 := philox.BlockWords(g>>2, s.k0, s.k1)
	w := [4]uint32{w0, w1, w2, w3}[g&3]
	return !s.dropAll && w >= s.thresh
}

// word returns the stream word of mask element k under a's word map.
func word(a *exec.Args, k int64) uint64 {
	g := a.G0
	for d := len(a.Words) - 1; d >= 0; d-- {
		n := a.Words[d].Size
		g += uint64(k%n) * a.Words[d].Stride
		k /= n
	}
	return g
}

func read(m []byte, f dropout.MaskFormat, j int64) bool {
	if f == dropout.MaskBits {
		return m[j/8]>>(j%8)&1 == 1
	}
	return m[j] != 0
}

// index returns the mask element of tensor element i.
func index(dims []exec.Dim, i int64) (j int64) {
	for d := len(dims) - 1; d >= 0; d-- {
		j += i % dims[d].Size * dims[d].Stride
		i /= dims[d].Size
	}
	return j
}

// value sets element i of y (Args): t = x + bias (rounded, with a
// bias), u = keep ? t·s : +0 (CopyKept: t itself; Alpha: keep ? A·t + B
// : D, the product rounded first), y = r + u (rounded, with a residual);
// 16-bit data is computed in float32 and rounded to 16 bits after each
// step.
func value(a *exec.Args, v data, i int64, keep bool) {
	if a.DType == dropout.Float64 {
		le := binary.LittleEndian
		f := func(b []byte, i int64) float64 { return math.Float64frombits(le.Uint64(b[8*i:])) }
		t := le.Uint64(v.x[8*i:])
		if a.HasBias {
			t = math.Float64bits(math.Float64frombits(t) + f(v.b, (a.I0+i)%a.BiasLen))
		}
		u := uint64(0)
		switch {
		case a.Alpha && keep:
			u = math.Float64bits(float64(a.A64*math.Float64frombits(t)) + a.B64)
		case a.Alpha:
			u = math.Float64bits(a.D64)
		case !keep:
		case a.CopyKept:
			u = t
		default:
			u = math.Float64bits(math.Float64frombits(t) * a.Scale64)
		}
		if a.HasResid {
			u = math.Float64bits(f(v.r, i) + math.Float64frombits(u))
		}
		le.PutUint64(v.y[8*i:], u)
		return
	}
	// float32 and 16-bit data: bits of the data type in a uint32
	load, store, widen, narrow := f32io()
	if a.DType == dropout.Float16 || a.DType == dropout.BFloat16 {
		load, store, widen, narrow = f16io(a.DType)
	}
	t := load(v.x, i)
	if a.HasBias {
		t = narrow(widen(t) + widen(load(v.b, (a.I0+i)%a.BiasLen)))
	}
	u := uint32(0)
	switch {
	case a.Alpha && keep:
		u = narrow(float32(a.A32*widen(t)) + a.B32)
	case a.Alpha:
		u = narrow(a.D32)
	case !keep:
	case a.CopyKept:
		u = t
	default:
		u = narrow(widen(t) * a.Scale32)
	}
	if a.HasResid {
		u = narrow(widen(load(v.r, i)) + widen(u))
	}
	store(v.y, i, u)
}

// f32io returns the loads, stores and conversions of float32 data.
func f32io() (load func([]byte, int64) uint32, store func([]byte, int64, uint32), widen func(uint32) float32, narrow func(float32) uint32) {
	le := binary.LittleEndian
	return func(b []byte, i int64) uint32 { return le.Uint32(b[4*i:]) },
		func(b []byte, i int64, u uint32) { le.PutUint32(b[4*i:], u) },
		math.Float32frombits, math.Float32bits
}

// f16io returns the loads, stores and conversions of 16-bit data of type
// dt: exact widening, narrowing rounded to nearest even (internal/half).
func f16io(dt dropout.DType) (load func([]byte, int64) uint32, store func([]byte, int64, uint32), widen func(uint32) float32, narrow func(float32) uint32) {
	le := binary.LittleEndian
	load = func(b []byte, i int64) uint32 { return uint32(le.Uint16(b[2*i:])) }
	store = func(b []byte, i int64, u uint32) { le.PutUint16(b[2*i:], uint16(u)) }
	if dt == dropout.BFloat16 {
		return load, store, func(u uint32) float32 { return half.BFloat16ToFloat32(uint16(u)) },
			func(f float32) uint32 { return uint32(half.Float32ToBFloat16(f)) }
	}
	return load, store, func(u uint32) float32 { return half.Float16ToFloat32(uint16(u)) },
		func(f float32) uint32 { return uint32(half.Float32ToFloat16(f)) }
}
