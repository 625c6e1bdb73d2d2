//go:build cgo && !novulkan

package vkx

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/internal/philox"
	"github.com/gpudropout/dropout/kernels"
)

// open returns a validated manager on the last device (lavapipe where it
// is installed) or skips/fails through dropouttest.Require.
func open(t *testing.T) (*Instance, *Manager, *Layout, *Sequence) {
	t.Helper()
	in, err := NewInstance(true)
	dropouttest.Require(t, "Vulkan with "+ValidationLayer, err)
	devs, err := in.PhysicalDevices()
	if err == nil && len(devs) == 0 {
		err = ErrNoLoader
	}
	if err != nil {
		in.Destroy()
		dropouttest.Require(t, "Vulkan device", err)
	}
	m, err := NewManager(devs[len(devs)-1])
	if err != nil {
		in.Destroy()
		t.Fatal(err)
	}
	l, err := m.NewLayout()
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSequence(l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Destroy()
		l.Destroy()
		m.Destroy()
		in.Destroy()
	})
	return in, m, l, s
}

// TestPhiloxKnownAnswers runs the GLSL Philox4x32-10 on the Random123
// known-answer vectors (internal/philox/kat.txt, the one copy) and on
// stream blocks checked against the Go one.
func TestPhiloxKnownAnswers(t *testing.T) {
	in, m, l, s := open(t)
	type tc struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}
	var cases []tc
	for _, v := range philox.KnownAnswers() {
		cases = append(cases, tc{v.Ctr, v.Key, v.Out})
	}
	if len(cases) < 3 {
		t.Fatalf("%d known-answer vectors", len(cases))
	}
	for i := uint32(0); i < 200; i++ {
		c := [4]uint32{i * 0x9e3779b9, i, ^i, i << 7}
		k := [2]uint32{i * 31, ^i * 17}
		cases = append(cases, tc{c, k, philox.Block(c, k)})
	}
	args := make([][6]uint32, len(cases))
	for i, c := range cases {
		copy(args[i][:], append(c.ctr[:], c.key[:]...))
	}
	got := runKAT(t, m, l, s, 0, args)
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("philox(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got[i], c.want)
		}
	}
	if msgs := in.Messages.All(); len(msgs) != 0 {
		t.Errorf("validation messages:\n%s", strings.Join(msgs, "\n"))
	}
}

// TestPhiloxBlockWrap checks the shaders' block arithmetic (blockAt in
// kernels/glsl/common.glsl) where stream words wrap from 2^64-1 to 0 and
// the Philox block counter from 2^62-1 to 0: the block d blocks after the
// block of word g+e, for words g near 2^64 and near the 2^32 and 2^34
// carries, against the Go stream (internal/philox). A counter carried into
// bit 62 (block 2^62 instead of 0) fails here.
func TestPhiloxBlockWrap(t *testing.T) {
	in, m, l, s := open(t)
	type tc struct {
		g       uint64
		e, d    uint32
		seed    uint64
		wantBlk uint64
	}
	var cases []tc
	for _, g := range []uint64{0, 1<<32 - 5, 1<<34 - 6, 1<<62 - 3, 1<<63 + 7, ^uint64(0) - 40, ^uint64(0) - 7, ^uint64(0) - 4, ^uint64(0) - 3, ^uint64(0) - 1, ^uint64(0)} {
		for _, e := range []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 31, 32, 33, 1 << 20, ^uint32(0)} {
			for _, d := range []uint32{0, 1, 2, 3, 7, 8, 1 << 30, ^uint32(0)} {
				seed := g ^ uint64(e)<<7 ^ uint64(d)<<29 ^ 0x9e3779b97f4a7c15
				w := g + uint64(e)                    // modulo 2^64
				b := (w>>2 + uint64(d)) & (1<<62 - 1) // modulo 2^62
				cases = append(cases, tc{g, e, d, seed, b})
			}
		}
	}
	args := make([][6]uint32, len(cases))
	for i, c := range cases {
		args[i] = [6]uint32{uint32(c.g), uint32(c.g >> 32), c.e, c.d, uint32(c.seed), uint32(c.seed >> 32)}
	}
	got := runKAT(t, m, l, s, 1, args)
	wrapped := 0
	for i, c := range cases {
		want := philox.Words(c.seed, c.wantBlk)
		if c.wantBlk < c.g>>2 {
			wrapped++
		}
		if got[i] != want {
			t.Errorf("block %d after word %#x + %d: got %08x, want block %#x: %08x", c.d, c.g, c.e, got[i], c.wantBlk, want)
		}
	}
	if wrapped == 0 {
		t.Fatal("no case wraps the block counter")
	}
	// Block 2^62-1 is followed by block 0, words 2^64-4 .. 3 of one stream.
	seed := uint64(42)
	g := ^uint64(0) - 3
	got = runKAT(t, m, l, s, 1, [][6]uint32{{uint32(g), uint32(g >> 32), 0, 0, 42, 0}, {uint32(g), uint32(g >> 32), 0, 1, 42, 0}})
	for i := 0; i < 8; i++ {
		w := g + uint64(i)
		if gw := got[i/4][i%4]; gw != philox.Word(seed, w) {
			t.Errorf("word %#x: got %08x, want %08x", w, gw, philox.Word(seed, w))
		}
	}
	if msgs := in.Messages.All(); len(msgs) != 0 {
		t.Errorf("validation messages:\n%s", strings.Join(msgs, "\n"))
	}
}

// runKAT runs philox_kat in mode on the cases args (6 words each) and
// returns the 4 words each case writes.
func runKAT(t *testing.T, m *Manager, l *Layout, s *Sequence, mode uint32, args [][6]uint32) [][4]uint32 {
	t.Helper()
	spv, err := kernels.SPIRV("philox_kat")
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.NewAlgorithm(spv, [SpecConstants]uint32{mode})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	n := uint64(len(args))
	inBuf := mustBuffer(t, m, 24*n, Staging)
	outBuf := mustBuffer(t, m, 16*n, Staging)
	dIn := mustBuffer(t, m, 24*n, DeviceLocal)
	dOut := mustBuffer(t, m, 16*n, DeviceLocal)
	for i, c := range args {
		for j, w := range c {
			binary.LittleEndian.PutUint32(inBuf.Host()[24*i+4*j:], w)
		}
	}
	if err := s.Copy(dIn, 0, inBuf, 0, 24*n); err != nil {
		t.Fatal(err)
	}
	s.Barrier()
	set, err := s.Bind([Bindings]Range{{dIn, 0, 24 * n}, {dOut, 0, 16 * n}})
	if err != nil {
		t.Fatal(err)
	}
	var pc [PushWords]uint32
	pc[0] = uint32(n)
	if err := s.Dispatch(a, set, &pc, n); err != nil {
		t.Fatal(err)
	}
	s.Barrier()
	if err := s.Copy(outBuf, 0, dOut, 0, 16*n); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	out := make([][4]uint32, n)
	for i := range out {
		for j := range out[i] {
			out[i][j] = binary.LittleEndian.Uint32(outBuf.Host()[16*i+4*j:])
		}
	}
	return out
}

func mustBuffer(t *testing.T, m *Manager, size uint64, k Kind) *Buffer {
	t.Helper()
	b, err := m.NewBuffer(size, k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Destroy)
	return b
}

// TestValidationCatchesHazards misuses the API on purpose: a copy that
// reads a buffer a fill has just written, with no barrier between them,
// is a read-after-write hazard that only synchronization validation sees.
// The messages must reach the collector, or no test could trust a clean run.
func TestValidationCatchesHazards(t *testing.T) {
	in, m, _, s := open(t)
	a := mustBuffer(t, m, 256, DeviceLocal)
	b := mustBuffer(t, m, 256, DeviceLocal)
	s.unordered = true // commands order themselves otherwise
	if err := s.Fill(a, 0, 256, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(b, 0, a, 0, 256); err != nil { // no barrier: a hazard
		t.Fatal(err)
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	msgs := in.Messages.All()
	found := false
	for _, msg := range msgs {
		if strings.Contains(msg, "SYNC-HAZARD") {
			found = true
		}
	}
	if !found {
		t.Fatalf("synchronization validation did not report the hazard; messages: %q", msgs)
	}
	t.Logf("caught: %s", msgs[0])
}

// TestSequenceFlush checks Flush and Finish: a flushed submission runs
// while two other sequences record and flush theirs on the same queue; the
// next command recorded, Finish or Submit waits for it; what the device
// wrote is then in the staging buffers; and synchronization validation
// finds no hazard between the submissions.
func TestSequenceFlush(t *testing.T) {
	in, m, l, s := open(t)
	s2, err := m.NewSequence(l)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Destroy()
	const size = 1 << 16
	dev := mustBuffer(t, m, size, DeviceLocal)
	a := mustBuffer(t, m, size, Staging)
	b := mustBuffer(t, m, size, Staging)
	if err := errors.Join(s.Flush(), s.Finish(), s.Finish()); err != nil { // nothing to do
		t.Fatalf("Flush and Finish with nothing recorded: %v", err)
	}
	// s: fill the device buffer and download it into a; s2, flushed while
	// s runs: fill b; then s records again (waiting for its first
	// submission) and downloads the buffer's first half into b's second.
	if err := errors.Join(s.Fill(dev, 0, size, 0x01020304), s.Copy(a, 0, dev, 0, size), s.Flush()); err != nil {
		t.Fatal(err)
	}
	if !s.inflight {
		t.Fatal("Flush left nothing in flight")
	}
	if err := errors.Join(s2.Fill(b, 0, size, 0x0a0b0c0d), s2.Flush()); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(s.Copy(b, size/2, dev, 0, size/2), s2.Finish()); err != nil {
		t.Fatal(err)
	}
	if s.inflight || s2.inflight {
		t.Fatal("a submission still in flight after recording again and Finish")
	}
	if err := s.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < size; i += 4 {
		if got := binary.LittleEndian.Uint32(a.Host()[i:]); got != 0x01020304 {
			t.Fatalf("a word %d = %#x, want 0x01020304", i/4, got)
		}
		want := uint32(0x0a0b0c0d)
		if i >= size/2 {
			want = 0x01020304
		}
		if got := binary.LittleEndian.Uint32(b.Host()[i:]); got != want {
			t.Fatalf("b word %d = %#x, want %#x", i/4, got, want)
		}
	}
	if msgs := in.Messages.All(); len(msgs) > 0 {
		t.Fatalf("validation: %q", msgs)
	}
}
