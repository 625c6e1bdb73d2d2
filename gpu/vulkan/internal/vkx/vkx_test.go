//go:build cgo && !novulkan

package vkx

import (
	"encoding/binary"
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
// known-answer vectors and on stream blocks checked against the Go one.
func TestPhiloxKnownAnswers(t *testing.T) {
	in, m, l, s := open(t)
	type tc struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}
	cases := []tc{
		{[4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}, [2]uint32{^uint32(0), ^uint32(0)}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for i := uint32(0); i < 200; i++ {
		c := [4]uint32{i * 0x9e3779b9, i, ^i, i << 7}
		k := [2]uint32{i * 31, ^i * 17}
		cases = append(cases, tc{c, k, philox.Block(c, k)})
	}
	spv, err := kernels.SPIRV("philox_kat")
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.NewAlgorithm(spv, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	n := uint64(len(cases))
	inBuf := mustBuffer(t, m, 24*n, Staging)
	outBuf := mustBuffer(t, m, 16*n, Staging)
	dIn := mustBuffer(t, m, 24*n, DeviceLocal)
	dOut := mustBuffer(t, m, 16*n, DeviceLocal)
	for i, c := range cases {
		for j, w := range append(c.ctr[:], c.key[:]...) {
			binary.LittleEndian.PutUint32(inBuf.Host()[24*i+4*j:], w)
		}
	}
	if err := s.Copy(dIn, 0, inBuf, 0, 24*n); err != nil {
		t.Fatal(err)
	}
	s.Barrier()
	set, err := s.Bind([Bindings]Range{{dIn, 0, 24 * n}, {dOut, 0, 16 * n}, {}})
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
	for i, c := range cases {
		var got [4]uint32
		for j := range got {
			got[j] = binary.LittleEndian.Uint32(outBuf.Host()[16*i+4*j:])
		}
		if got != c.want {
			t.Errorf("philox(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
	if msgs := in.Messages.All(); len(msgs) != 0 {
		t.Errorf("validation messages:\n%s", strings.Join(msgs, "\n"))
	}
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
