package kernels

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpudropout/dropout/dropouttest"
)

// TestSPIRVFresh recompiles every shader with glslc and fails when a
// committed .spv differs from its source: run `go generate ./kernels`.
func TestSPIRVFresh(t *testing.T) {
	glslc, err := exec.LookPath("glslc")
	dropouttest.Require(t, "glslc", err)
	dir := t.TempDir()
	for _, s := range GLSLShaders {
		t.Run(s.Name, func(t *testing.T) {
			out := filepath.Join(dir, s.Name+".spv")
			args := append([]string{}, GLSLFlags...)
			if s.F64 {
				args = append(args, "-DF64")
			}
			if s.Subgroup {
				args = append(args, "-DSUBGROUP")
			}
			args = append(args, "-o", out, filepath.Join("glsl", s.Source))
			if msg, err := exec.Command(glslc, args...).CombinedOutput(); err != nil {
				t.Fatalf("glslc %v: %v\n%s", args, err, msg)
			}
			fresh, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := SPIRV(s.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fresh, committed) {
				t.Fatalf("glsl/%s.spv is stale: it differs from glslc's output for glsl/%s; run `go generate ./kernels`", s.Name, s.Source)
			}
		})
	}
}

// TestSPIRVModules checks that every listed module is embedded and is SPIR-V.
func TestSPIRVModules(t *testing.T) {
	for _, s := range GLSLShaders {
		b, err := SPIRV(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 20 || len(b)%4 != 0 || binary.LittleEndian.Uint32(b) != 0x07230203 {
			t.Errorf("%s: not a SPIR-V module (%d bytes)", s.Name, len(b))
		}
	}
	if _, err := SPIRV("nonexistent"); err == nil {
		t.Error("SPIRV of an unknown module succeeded")
	}
}
