#!/bin/sh
# gpu.sh: benchmark dropout on a GPU machine that has no Go and no internet,
# against torch.nn.functional.dropout on CUDA, in one run.
#
# Here (Go, gcc, apt):
#     bench/gpu.sh prepare        # builds .gpu/dropout and downloads the loader packages into .gpu/
# There (root; the device tool carries .gpu when asked: carry [".gpu"]):
#     sh bench/gpu.sh run [OUTDIR] # installs the loaders, registers the NVIDIA ICDs,
#                                  # then: dropout devices, verify, bench --compare torch
#
# The binary needs glibc >= 2.34 there (built on Debian 12; only libc is linked:
# the OpenCL and Vulkan loaders are opened at run time).
#
# The bench writes OUTDIR/bench.json, bench.csv and bench.png; copy the table
# into bench/RESULTS.md with the card, the driver version (nvidia-smi), the
# date and the commit, which the run prints.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.gpu"

case "${1:-}" in
prepare)
	mkdir -p "$dir/debs"
	grep -qx '/.gpu/' "$root/.git/info/exclude" 2>/dev/null || echo '/.gpu/' >>"$root/.git/info/exclude"
	(cd "$root" && go build -o "$dir/dropout" ./cmd/dropout)
	git -C "$root" rev-parse HEAD >"$dir/commit"
	# The loader packages only: the NVIDIA driver brings the ICDs themselves.
	(cd "$dir/debs" && apt-get download ocl-icd-libopencl1 libvulkan1)
	ls -l "$dir" "$dir/debs"
	;;
run)
	out=${2:-${OUT:-$root/gpu-out}}
	mkdir -p "$out"
	for f in "$dir"/debs/*.deb; do dpkg -x "$f" /; done
	ldconfig
	# OpenCL: register NVIDIA's ICD if the driver left no vendors file.
	if ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
		lib=$(ldconfig -p | awk '/libnvidia-opencl\.so\.1/ {print $NF; exit}')
		if [ -n "$lib" ]; then
			mkdir -p /etc/OpenCL/vendors
			echo "$lib" >/etc/OpenCL/vendors/nvidia.icd
		fi
	fi
	# Vulkan: point the loader at NVIDIA's ICD manifest wherever the driver put it.
	for j in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
		/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
		if [ -e "$j" ]; then export VK_DRIVER_FILES="$j"; break; fi
	done
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
		echo "commit: $(cat "$dir/commit" 2>/dev/null || echo unknown)"
		nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
	} | tee "$out/machine.txt"
	bin="$dir/dropout"
	"$bin" devices | tee "$out/devices.txt"
	"$bin" verify --backend all | tee "$out/verify.txt" || echo "verify reported failures"
	"$bin" bench --backend opencl,vulkan,cpu --sizes 16M,64M,256M --p 0.5 --mask-format none --iters 20 \
		--compare torch --json "$out/bench.json" --csv "$out/bench.csv" --plot "$out/bench.png" | tee "$out/bench.txt"
	"$bin" bench --backend opencl,vulkan --sizes 256M --p 0.5 --mask-format bits --iters 20 | tee "$out/bench-bits.txt"
	;;
*)
	echo "usage: $0 prepare | run [OUTDIR]" >&2
	exit 2
	;;
esac
