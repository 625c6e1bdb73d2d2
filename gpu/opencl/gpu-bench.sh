#!/bin/sh
# gpu-bench.sh: measure the OpenCL backend on a GPU machine that has no Go.
#
# Here (with Go and ocl-icd-opencl-dev):
#     gpu/opencl/gpu-bench.sh build        # writes dist/opencl-bench/
# Copy dist/opencl-bench/ to the GPU machine, then there:
#     ./run.sh [DEVICE] [LOG2SIZES]        # e.g. ./run.sh nvidia 24,26,28
#
# It prints go test -bench lines for BenchmarkForward (device-resident and
# host round-trip) and BenchmarkCopy (clEnqueueCopyBuffer); dropout's MB/s
# divided by Copy's MB/s at the same size is the fraction of the device's
# copy bandwidth. The ICD loader libOpenCL.so.1 is carried along (the
# binary opens it at run time, found through LD_LIBRARY_PATH) in case that
# machine lacks it; the GPU driver's own ICD (/etc/OpenCL/vendors/*.icd,
# such as NVIDIA's libnvidia-opencl.so.1) must be installed there.
set -eu

case "${1:-build}" in
build)
	root=$(cd "$(dirname "$0")/../.." && pwd)
	out="$root/dist/opencl-bench"
	mkdir -p "$out/lib"
	(cd "$root" && go test -c -o "$out/opencl.test" ./gpu/opencl/)
	lib=$(ldconfig -p | awk '/libOpenCL\.so\.1 .*x86-64/ {print $NF; exit}')
	if [ -n "$lib" ]; then cp -L "$lib" "$out/lib/libOpenCL.so.1"; fi
	cat > "$out/run.sh" <<'RUN'
#!/bin/sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DROPOUT_OPENCL_DEVICE="${1:-}"
export DROPOUT_BENCH_LOG2="${2:-24,26,28}"
exec "$here/opencl.test" -test.run '^TestDevices$' -test.v -test.bench 'Forward|Copy' -test.benchtime 20x
RUN
	chmod +x "$out/run.sh"
	echo "wrote $out: copy it to the GPU machine and run ./run.sh"
	;;
*)
	echo "usage: $0 build" >&2
	exit 2
	;;
esac
