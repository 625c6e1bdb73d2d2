//go:build cgo && !noopencl

package opencl

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/cpu"
	"github.com/gpudropout/dropout/dropouttest"
	"github.com/gpudropout/dropout/gpu/internal/exec/exectest"
)

// oclgrindInner marks the run of the test binary under Oclgrind.
const oclgrindInner = "DROPOUT_OCLGRIND_INNER"

// TestOclgrind runs a subset of the conformance checks, and the pipeline
// example (Example_pipeline: the caller's context, queue, buffers and
// kernels around ForwardAsync, with events), under Oclgrind with its API,
// data-race and uninitialized-memory checkers, by running this test binary
// again under `oclgrind`. Any message Oclgrind logs fails it.
func TestOclgrind(t *testing.T) {
	if os.Getenv(oclgrindInner) != "" {
		t.Skip("inside the Oclgrind run")
	}
	tool, err := exec.LookPath("oclgrind")
	dropouttest.Require(t, "oclgrind (Debian package oclgrind)", err)
	log := filepath.Join(t.TempDir(), "oclgrind.log")
	cmd := exec.Command(tool, "--check-api", "--data-races", "--uninitialized", "--log", log,
		os.Args[0], "-test.run=^(TestOclgrindInner|Example_pipeline)$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), oclgrindInner+"=1")
	out, err := cmd.CombinedOutput()
	msgs, _ := os.ReadFile(log)
	if err != nil {
		t.Fatalf("run under oclgrind: %v\n%s\noclgrind log:\n%s", err, out, msgs)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestOclgrindInner")) || !bytes.Contains(out, []byte("--- PASS: Example_pipeline")) {
		t.Fatalf("the checks did not run under oclgrind:\n%s", out)
	}
	if len(bytes.TrimSpace(msgs)) > 0 {
		t.Fatalf("oclgrind reported problems:\n%s", msgs)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Oclgrind") || strings.HasPrefix(line, "OCLGRIND") {
			t.Fatalf("oclgrind reported a problem outside its log:\n%s", out)
		}
	}
	t.Logf("oclgrind: no errors\n%s", lastLines(out, 5))
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestOclgrindInner is what TestOclgrind runs under Oclgrind: every kernel
// on small sizes, offsets that are and are not multiples of 4 and one
// whose stream words wrap modulo 2^64, host and
// device tensors, chunked calls, a noise shape, and a short pass of
// exectest.CheckOps (16-bit data, alpha, fused, regions), against the
// reference.
func TestOclgrindInner(t *testing.T) {
	if os.Getenv(oclgrindInner) == "" {
		t.Skip("run by TestOclgrind under oclgrind")
	}
	// Oclgrind's uninitialized-value checker keeps per-thread state for
	// host memory stores and crashes when API calls come from more than one
	// OS thread, as cgo calls of one goroutine may.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := Open(dropout.Options{Device: "oclgrind", MaxChunkBytes: 256})
	if err != nil {
		t.Fatalf("open the Oclgrind device: %v", err)
	}
	defer b.Close()
	if !strings.Contains(strings.ToLower(b.Device().Platform), "oclgrind") {
		t.Fatalf("opened %q [%s], not Oclgrind", b.Device().Name, b.Device().Platform)
	}
	ref := cpu.NewReference()
	cmp := func(name string, got, want dropout.Tensor) {
		t.Helper()
		if err := dropouttest.Equal(got, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	kat := katZeros(t)
	if out, err := b.philoxBlocks([][4]uint32{kat.Ctr}, [][2]uint32{kat.Key}); err != nil || out[0] != kat.Out {
		t.Fatalf("philox_kat: %08x %v", out, err)
	}
	// the keystream across the wrap of the word index
	if words, err := b.streamWords(5, math.MaxUint64-5, 12); err != nil {
		t.Fatalf("stream_words: %v", err)
	} else {
		for i, w := range words {
			if g := math.MaxUint64 - 5 + uint64(i); w != dropout.Word(5, g) {
				t.Fatalf("stream_words: word %#x = %08x, want %08x", g, w, dropout.Word(5, g))
			}
		}
	}
	for _, dt := range b.DTypes() {
		for _, n := range []int{1, 37, 100} {
			x := dropouttest.Data(dt, n, uint64(n))
			for _, off := range []uint64{0, 6, math.MaxUint64 - 5} { // the last wraps to word 0
				for _, p := range []float64{0, 0.5, 1} {
					for _, f := range dropouttest.Formats {
						pr := dropout.Params{P: p, Seed: 3, Offset: off, Mask: f}
						got, want := zerosLike(x), zerosLike(x)
						gm, wm := make(dropout.Bytes, f.Bytes(n)), make(dropout.Bytes, f.Bytes(n))
						if err := ref.Forward(want, x, wm, pr); err != nil {
							t.Fatal(err)
						}
						if err := b.Forward(got, x, maskArg(f, gm), pr); err != nil {
							t.Fatal(err)
						}
						cmp("forward", got, want)
						cmp("mask", gm, wm)
						if err := ref.Backward(want, x, maskArg(f, wm), pr); err != nil {
							t.Fatal(err)
						}
						if err := b.Backward(got, x, maskArg(f, gm), pr); err != nil {
							t.Fatal(err)
						}
						cmp("backward", got, want)
					}
				}
			}
		}
	}
	// device buffers, in place, with a bit mask
	const n = 77
	x := dropouttest.Data(dropout.Float32, n, 1)
	pr := dropout.Params{P: 0.4, Seed: 8, Offset: 3, Mask: dropout.MaskBits}
	want, wm := make(dropout.Float32s, n), make(dropout.Bytes, pr.Mask.Bytes(n))
	if err := ref.Forward(want, x, wm, pr); err != nil {
		t.Fatal(err)
	}
	xb, err1 := b.Alloc(dropout.Float32, n)
	mb, err2 := b.Alloc(dropout.Uint8, len(wm))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if err := xb.Write(x); err != nil {
		t.Fatal(err)
	}
	if err := b.Forward(xb, xb, mb, pr); err != nil {
		t.Fatal(err)
	}
	got, gm := make(dropout.Float32s, n), make(dropout.Bytes, len(wm))
	if err := errors.Join(xb.Read(got), mb.Read(gm)); err != nil {
		t.Fatal(err)
	}
	cmp("forward on buffers", got, want)
	cmp("mask buffer", gm, wm)
	cb, err := b.Alloc(dropout.Float32, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(cb, xb); err != nil {
		t.Fatal(err)
	}
	if err := b.Backward(cb, cb, mb, pr); err != nil { // from the device mask
		t.Fatal(err)
	}
	wantdx := make(dropout.Float32s, n)
	if err := ref.Backward(wantdx, want, wm, pr); err != nil {
		t.Fatal(err)
	}
	if err := cb.Read(got); err != nil {
		t.Fatal(err)
	}
	cmp("backward on buffers", got, wantdx)
	// a mask buffer written from the host, of a length that is not a whole
	// number of words
	mh, err := b.Alloc(dropout.Uint8, len(wm))
	if err != nil {
		t.Fatal(err)
	}
	if err := mh.Write(wm); err != nil {
		t.Fatal(err)
	}
	if err := b.Backward(cb, xb, mh, pr); err != nil {
		t.Fatal(err)
	}
	if err := ref.Backward(wantdx, want, wm, pr); err != nil { // xb holds the forward output
		t.Fatal(err)
	}
	if err := cb.Read(got); err != nil {
		t.Fatal(err)
	}
	cmp("backward from a written mask buffer", got, wantdx)

	// alpha dropout, the fused op, regions and broadcasts (noise shapes)
	// on every data type
	var cases []exectest.OpCase
	for _, c := range exectest.OpCases() {
		if slices.Contains([]string{"flat37", "alpha", "fused-both", "region-rows", "alpha-noise"}, c.Name) {
			cases = append(cases, c)
		}
	}
	exectest.CheckOps(t, b, cases, true)

	// noise shapes, every mask format, forward and both backwards
	for _, f := range dropouttest.Formats {
		for _, p := range []float64{0, 0.5} {
			np := dropout.Params{P: p, Seed: 2, Offset: 1, Mask: f, Shape: []int{3, 5, 7}, NoiseShape: []int{3, 1, 7}}
			x := dropouttest.Data(dropout.Float32, 105, 2)
			want, got := make(dropout.Float32s, 105), make(dropout.Float32s, 105)
			wm, gm := make(dropout.Bytes, f.Bytes(21)), make(dropout.Bytes, f.Bytes(21))
			if err := errors.Join(ref.Forward(want, x, maskArg(f, wm), np), b.Forward(got, x, maskArg(f, gm), np)); err != nil {
				t.Fatal(err)
			}
			cmp("noise shape", got, want)
			cmp("noise shape mask", gm, wm)
			if err := errors.Join(ref.Backward(want, x, maskArg(f, wm), np), b.Backward(got, x, maskArg(f, gm), np)); err != nil {
				t.Fatal(err)
			}
			cmp("noise shape backward", got, want)
		}
	}
}

func zerosLike(x dropout.Tensor) dropout.Tensor { return dropouttest.Zeros(x.DType(), x.Len()) }

func maskArg(f dropout.MaskFormat, m dropout.Bytes) dropout.Tensor {
	if f == dropout.MaskNone {
		return nil
	}
	return m
}
