//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gpudropout/dropout"
	"github.com/gpudropout/dropout/dropouttest"
)

// evict syncs the file at path and drops it from the page cache, so that
// streaming reads it from the disk, with direct I/O.
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// padHeader returns a .npy file of the given descr, shape and data whose
// header is padded to hdr bytes (a multiple of 64).
func padHeader(descr string, shape []int, data []byte, hdr int) []byte {
	b := rawNpy(descr, false, shape, data)
	h := 0
	for i := range b {
		if b[i] == '\n' {
			h = i + 1
			break
		}
	}
	pad := hdr - h
	out := append([]byte{}, b[:h-1]...)
	out = append(out, bytes.Repeat([]byte(" "), pad)...)
	out = append(out, '\n')
	n := hdr - 10
	out[8], out[9] = byte(n), byte(n>>8)
	return append(out, b[h:]...)
}

// TestStreamDirect streams plain C-order calls between regular files with
// direct I/O, the input read from the disk and from the page cache, in
// blocks of one page and of several (data ends inside a block, blocks cut
// bytes of a bit mask, an input header one page longer than the output's),
// and checks outputs, masks and summaries byte for byte against the
// in-memory path and against buffered streaming (DROPOUT_STREAM_DIRECT=0).
// A header that direct I/O cannot align with the output's is streamed
// buffered.
func TestStreamDirect(t *testing.T) {
	dir := t.TempDir()
	var direct, readDirect int
	streamDirectHook = func(rd bool) {
		direct++
		if rd {
			readDirect++
		}
	}
	t.Cleanup(func() { streamDirectHook = nil })

	x32 := dropouttest.Data(dropout.Float32, 30011, 1)
	put(t, dir, "f32.npy", []int{30011}, x32)
	put(t, dir, "c2.npy", []int{61, 127}, dropouttest.Data(dropout.Float32, 61*127, 2))
	put(t, dir, "f64.npy", []int{15001}, dropouttest.Data(dropout.Float64, 15001, 3))
	put(t, dir, "f16.npy", []int{20001}, dropouttest.Data(dropout.Float16, 20001, 4))
	// Direct, the data 4096 bytes from the output's; long enough that
	// reading the header does not bring most of the file into the cache.
	putRaw(t, dir, "long.npy", padHeader("<f4", []int{100003}, rawOf(dropouttest.Data(dropout.Float32, 100003, 5)), 4096+128))
	putRaw(t, dir, "odd.npy", padHeader("<f4", []int{30011}, rawOf(x32), 192)) // cannot align: buffered

	// Direct I/O where the file system supports it (not on every tmpfs).
	probe, err := os.Open(filepath.Join(dir, "f32.npy"))
	if err != nil {
		t.Fatal(err)
	}
	supported := dioAlign(int(probe.Fd())) != 0
	probe.Close()
	if !supported {
		t.Logf("%s does not support direct I/O: checking that streaming falls back to buffered I/O", dir)
	}

	type tc struct {
		name string
		args []string
		back bool
	}
	var cases []tc
	for _, in := range []string{"f32.npy", "c2.npy", "f64.npy", "f16.npy", "long.npy", "odd.npy"} {
		run := []string{"run", "--in", in, "--out", "y.npy", "--p", "0.3", "--seed", "12", "--offset", "5", "--backend", "cpu"}
		cases = append(cases,
			tc{in + " bits", append(run, "--mask-out", "m.npy"), false},
			tc{in + " backward bits", []string{"backward", "--grad", in, "--out", "y.npy", "--p", "0.3", "--backend", "cpu", "--mask", "mk.npy"}, true},
		)
		if in == "f32.npy" {
			cases = append(cases,
				tc{in + " bytes", append(run, "--mask-out", "m.npy", "--mask-format", "bytes"), false},
				tc{in + " no mask", run, false},
				tc{in + " alpha", append(run, "--alpha", "--mask-out", "m.npy"), false},
				tc{in + " backward bytes", []string{"backward", "--grad", in, "--out", "y.npy", "--p", "0.3", "--backend", "cpu", "--mask", "mkb.npy", "--mask-format", "bytes"}, true},
			)
		}
	}
	outputs := []string{"y.npy", "m.npy"}
	for _, c := range cases {
		in := c.args[2]
		if c.back {
			for f, name := range map[string]string{"bits": "mk.npy", "bytes": "mkb.npy"} {
				t.Setenv("DROPOUT_STREAM_CHUNK", "")
				if r := cli(t, dir, "run", "--in", in, "--out", "fy.npy", "--p", "0.3", "--seed", "12", "--backend", "cpu", "--mask-out", name, "--mask-format", f); r.err != nil {
					t.Fatal(r.err)
				}
			}
		}
		t.Setenv("DROPOUT_STREAM_CHUNK", "")
		t.Setenv("DROPOUT_STREAM_DIRECT", "")
		want := cli(t, dir, c.args...)
		if want.err != nil {
			t.Fatalf("%s in memory: %v", c.name, want.err)
		}
		wantFiles := map[string][]byte{}
		for _, o := range outputs {
			wantFiles[o], _ = os.ReadFile(filepath.Join(dir, o))
			os.Remove(filepath.Join(dir, o))
		}
		chunks := []int{1} // blocks of one page
		if in == "f32.npy" || in == "c2.npy" {
			chunks = append(chunks, 5000) // of five
		}
		for _, chunk := range chunks {
			for _, mode := range []string{"cold", "warm", "buffered"} {
				t.Setenv("DROPOUT_STREAM_CHUNK", strconv.Itoa(chunk))
				t.Setenv("DROPOUT_STREAM_DIRECT", map[bool]string{true: "0", false: ""}[mode == "buffered"])
				switch mode {
				case "cold":
					evict(t, filepath.Join(dir, in))
				case "warm":
					// The cold run read around the page cache.
					if _, err := os.ReadFile(filepath.Join(dir, in)); err != nil {
						t.Fatal(err)
					}
				}
				direct, readDirect = 0, 0
				got := cli(t, dir, c.args...)
				name := c.name + " chunk " + strconv.Itoa(chunk) + " " + mode
				if got.err != nil {
					t.Errorf("%s: %v", name, got.err)
					continue
				}
				if got.stdout != want.stdout {
					t.Errorf("%s: summary\n%s want\n%s", name, got.stdout, want.stdout)
				}
				for _, o := range outputs {
					b, _ := os.ReadFile(filepath.Join(dir, o))
					if !bytes.Equal(b, wantFiles[o]) {
						t.Errorf("%s: %s differs from the in-memory path's (%d and %d bytes)", name, o, len(b), len(wantFiles[o]))
					}
					os.Remove(filepath.Join(dir, o))
				}
				wantDirect := supported && mode != "buffered" && in != "odd.npy"
				if (direct == 1) != wantDirect || direct > 1 {
					t.Errorf("%s: streamed with direct I/O %d times, want %v", name, direct, wantDirect)
				}
				if wantRead := wantDirect && mode == "cold"; (readDirect == 1) != wantRead {
					t.Errorf("%s: input read with direct I/O %d times, want %v", name, readDirect, wantRead)
				}
			}
		}
	}
	noTemps(t, dir)
}

// TestStreamDirectErrors: a direct stream that fails part way (a byte
// mask's last byte is 2) reports the error and leaves no output and no
// temporary file behind.
func TestStreamDirectErrors(t *testing.T) {
	dir := t.TempDir()
	const n = 20000
	put(t, dir, "x.npy", []int{n}, dropouttest.Data(dropout.Float32, n, 1))
	m := bytes.Repeat([]byte{1}, n)
	m[n-1] = 2
	putRaw(t, dir, "m.npy", rawNpy("|u1", false, []int{n}, m))
	t.Setenv("DROPOUT_STREAM_CHUNK", "1")
	for _, mode := range []string{"cold", "warm"} {
		if mode == "cold" {
			evict(t, filepath.Join(dir, "x.npy"))
		}
		r := cli(t, dir, "backward", "--grad", "x.npy", "--out", "y.npy", "--p", "0.3", "--backend", "cpu", "--mask", "m.npy", "--mask-format", "bytes")
		if r.err == nil || !strings.Contains(r.err.Error(), "m.npy") || !strings.Contains(r.err.Error(), "byte 19999 is 2") {
			t.Errorf("%s: backward with a bad mask byte: error %v, want one naming m.npy and byte 19999", mode, r.err)
		}
		if _, err := os.Stat(filepath.Join(dir, "y.npy")); err == nil {
			t.Errorf("%s: a failed stream left its output", mode)
		}
		noTemps(t, dir)
	}
}
