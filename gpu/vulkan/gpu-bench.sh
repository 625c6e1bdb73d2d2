#!/bin/sh
# gpu-bench.sh: the Vulkan benchmark on a GPU machine that has no Go.
#
#   ./gpu/vulkan/gpu-bench.sh build DIR   here: build the benchmark binary into DIR,
#                                         with the Vulkan loader next to it
#   DIR/run.sh                            there: run BenchmarkForward and BenchmarkCopy
#                                         (2^20, 2^24, 2^26 float32 elements) and, where
#                                         PyTorch with CUDA is installed, time
#                                         torch.nn.functional.dropout at the same sizes
#
# The GPU machine needs its vendor's Vulkan ICD (the NVIDIA driver installs
# one); the loader (libvulkan.so.1) travels in DIR in case it has none.
set -eu
case "${1:-}" in
build)
	dir=${2:?usage: $0 build DIR}
	mkdir -p "$dir"
	cd "$(dirname "$0")/../.."
	go test -c -o "$dir/vulkan.test" ./gpu/vulkan
	for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
		if [ -e "$d/libvulkan.so.1" ]; then
			cp -L "$d/libvulkan.so.1" "$dir/"
			break
		fi
	done
	cat >"$dir/run.sh" <<'RUN'
#!/bin/sh
# Runs the Vulkan dropout benchmark, then PyTorch's dropout for comparison.
set -eu
cd "$(dirname "$0")"
export LD_LIBRARY_PATH="$PWD${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
./vulkan.test -test.run '^$' -test.bench 'Forward|Copy' -test.benchtime 20x
python3 - <<'PY' || echo "PyTorch with CUDA not available: skipped"
import torch
assert torch.cuda.is_available()
for n in (1 << 20, 1 << 24, 1 << 26):
    x = torch.randn(n, device="cuda")
    for _ in range(3):
        torch.nn.functional.dropout(x, 0.1)
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(20):
        torch.nn.functional.dropout(x, 0.1)
    e.record()
    torch.cuda.synchronize()
    t = s.elapsed_time(e) / 20 / 1e3
    print(f"torch dropout n={n}: {t*1e6:.1f} us, {n/t:.3e} elem/s, {8*n/t/1e9:.1f} GB/s")
PY
RUN
	chmod +x "$dir/run.sh"
	echo "built $dir: copy it to the GPU machine and run $dir/run.sh"
	;;
*)
	echo "usage: $0 build DIR" >&2
	exit 2
	;;
esac
