//go:build cgo && !novulkan

package vkx

import (
	"encoding/binary"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gpudropout/dropout/internal/philox"
	"github.com/gpudropout/dropout/kernels"
)

// gcLoop keeps the garbage collector, and so every finalizer, running
// until the test ends. vulkan-go frees the C copies of the structs it
// converts from finalizers, so a collection in the middle of a Vulkan call
// exposes any call whose arguments are not valid for its whole duration
// (vkCreateComputePipelines crashed that way under parallel tests).
func gcLoop(t *testing.T) {
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	t.Cleanup(func() { stop.Store(true); <-done })
}

// TestGCDuringCalls builds pipelines and records, submits and checks
// dispatches while garbage collections run back to back.
func TestGCDuringCalls(t *testing.T) {
	in, m, l, s := open(t)
	gcLoop(t)
	spv, err := kernels.SPIRV("dropout")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		a, err := l.NewAlgorithm(spv, [SpecConstants]uint32{uint32(i % 5)})
		if err != nil {
			t.Fatal(err)
		}
		a.Destroy()
	}
	kat, err := kernels.SPIRV("philox_kat")
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.NewAlgorithm(kat, [SpecConstants]uint32{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	const n = 64
	inBuf := mustBuffer(t, m, 24*n, Staging)
	outBuf := mustBuffer(t, m, 16*n, Staging)
	dIn := mustBuffer(t, m, 24*n, DeviceLocal)
	dOut := mustBuffer(t, m, 16*n, DeviceLocal)
	for round := uint32(0); round < 20; round++ {
		var want [n][4]uint32
		for i := uint32(0); i < n; i++ {
			c := [4]uint32{i, round, ^i, i * 0x9e3779b9}
			k := [2]uint32{round * 31, ^i}
			want[i] = philox.Block(c, k)
			for j, w := range append(c[:], k[:]...) {
				binary.LittleEndian.PutUint32(inBuf.Host()[24*i+4*uint32(j):], w)
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
		pc[0] = n
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
		for i := range want {
			var got [4]uint32
			for j := range got {
				got[j] = binary.LittleEndian.Uint32(outBuf.Host()[16*i+4*j:])
			}
			if got != want[i] {
				t.Fatalf("round %d: philox block %d = %08x, want %08x", round, i, got, want[i])
			}
		}
	}
	if msgs := in.Messages.All(); len(msgs) != 0 {
		t.Errorf("validation messages:\n%s", strings.Join(msgs, "\n"))
	}
}

// TestGCDuringSetup creates and destroys instances and devices (layer and
// extension enumeration, instance, device and layout creation) while
// garbage collections run back to back.
func TestGCDuringSetup(t *testing.T) {
	gcLoop(t)
	for i := 0; i < 3; i++ {
		open(t)
	}
}
