# dropout: the two commands that do everything on a fresh Debian/Ubuntu machine
#   make demo   builds the CLI and runs it on every device this machine has
#   make test   the whole test suite (vet, race detector, conformance on every backend, checkers)

GO ?= go
GOFLAGS_TEST ?= -race -timeout 30m
BIN := bin/dropout

# Debian packages: OpenCL on PoCL, Vulkan on lavapipe (no GPU needed),
# their checkers, and the shader compiler for `go generate`.
DEB_PACKAGES := pocl-opencl-icd ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-headers oclgrind clinfo \
	mesa-vulkan-drivers libvulkan1 libvulkan-dev vulkan-validationlayers glslc \
	python3-numpy clang-15 libclc-15

.PHONY: all deps build test vet lint fuzz demo bench clean gpu-kit gpu-kit-dryrun ptx

all: build

# deps: the one shared install step; installs only what is missing.
deps:
	@./scripts/deps.sh $(DEB_PACKAGES)

build:
	$(GO) build -o $(BIN) ./cmd/dropout

vet:
	$(GO) vet ./...

# lint: staticcheck, pinned in go.mod as a tool (go get -tool …@v0.8.2).
lint:
	$(GO) tool staticcheck ./...

# DROPOUT_REQUIRE_DEVICES makes a missing device, driver or checker a test failure.
test: deps vet lint
	DROPOUT_REQUIRE_DEVICES=1 $(GO) test $(GOFLAGS_TEST) ./...
	$(MAKE) fuzz
	$(MAKE) gpu-kit-dryrun

# fuzz: every fuzz target for FUZZTIME each (`make fuzz FUZZTIME=10m` for a
# long run). Go fuzzes one target of one package at a time. The default is
# a count, not a duration: Go 1.26's fuzz coordinator can fail a run whose
# -fuzztime deadline passes while a starved worker is mid-call ("context
# deadline exceeded" with no failing input, go.dev/issue/75804).
FUZZTIME ?= 1000x
FUZZ_TARGETS := ./cpu:FuzzReferenceAPI ./cpu:FuzzCPUAPI ./cpu:FuzzSIMDvsPortable \
	./cpu:FuzzSIMDSetsVsPortable ./cpu:FuzzOpsVsReference \
	./gpu/opencl:FuzzAPI ./gpu/vulkan:FuzzAPI ./gpu/internal/exec:FuzzExecAPI ./internal/npy:FuzzHeader
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		DROPOUT_REQUIRE_DEVICES=1 $(GO) test -timeout 0 -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

demo: deps build
	./$(BIN) devices
	./$(BIN) verify --backend all
	./$(BIN) bench --backend all --sizes 1M,16M --iters 5 --plot bench.png

bench:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./...

# gpu-kit: the GPU run kit in .gpu/ (the binary, the OpenCL and Vulkan
# loaders, bench/gpu.sh) for a lent GPU machine without Go: there, with
# .gpu carried, `sh bench/gpu.sh run` (see bench/RESULTS.md).
gpu-kit:
	bench/gpu.sh prepare

# gpu-kit-dryrun: the kit end to end here, as it runs there: a copy in a
# temp dir, env -i without Go, PoCL and lavapipe standing in for NVIDIA's
# drivers, small sizes, its outputs checked.
gpu-kit-dryrun: gpu-kit
	bench/gpu.sh dryrun

# ptx: per OpenCL kernel, the PTX instructions per element on its hot path
# and whether its global loads and stores are 128-bit (clang-15 + libclc).
ptx:
	$(GO) run ./bench/internal/ptxreport -cl kernels/opencl/dropout.cl

clean:
	rm -rf bin bench.png .gpu .gpu.new
