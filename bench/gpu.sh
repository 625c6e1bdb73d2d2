#!/bin/sh
# gpu.sh: the GPU run kit. It benchmarks dropout's OpenCL and Vulkan
# backends on a lent NVIDIA machine that has no Go and no internet, against
# torch.nn.functional.dropout on CUDA, in one command well inside the device
# tool's 10 minutes, and leaves everything under $OUT.
#
# Here (Go, gcc, apt):
#     bench/gpu.sh prepare [KITDIR]   build the kit into .gpu/ (default): the
#                                     dropout binary, the OpenCL and Vulkan
#                                     loaders, this script, BUILDINFO
#     bench/gpu.sh dryrun             run a copy of the kit from a temp dir in
#                                     a clean environment (env -i, no Go),
#                                     PoCL and lavapipe standing in for the
#                                     NVIDIA drivers, and check its outputs
# There (device tool: carry [".gpu"], timeout_s 600):
#     sh bench/gpu.sh run [OUTDIR]    (OUTDIR defaults to $OUT)
#
# run writes no system file and needs no root or dpkg: the loaders come from
# the kit's lib/ through LD_LIBRARY_PATH; the NVIDIA drivers are named with
# OCL_ICD_FILENAMES (libnvidia-opencl.so.1) and VK_DRIVER_FILES plus
# VK_ICD_FILENAMES (nvidia_icd.json), found under KIT_NVIDIA_ROOTS
# (lib64, lib, lib/x86_64-linux-gnu; share/vulkan/icd.d, etc/vulkan/icd.d),
# then through ldconfig -p; values already set in the environment are kept.
# OCL_ICD_VENDORS goes to a private directory naming the same driver, since
# ocl-icd also loads /etc/OpenCL/vendors (and nothing from an empty one).
# Each step runs under its own time limit, its output in its own log and its
# exit status in summary.txt: one backend failing does not stop the others
# nor the torch comparison. Results, at most 8 files (the device tool's
# limit): summary.txt, machine.txt, bench.json, bench.csv, bench.png (no
# mask, every working backend and torch), bench-bits.csv, bench-bytes.csv
# (GPU backends with a mask) and logs.tar.gz (every log and JSON). The exit
# status is 0 when every step passed and a GPU backend was measured.
#
# Knobs (environment): KIT (kit directory), KIT_SIZES (default
# 4K,1M,16M,64M,256M), KIT_MASK_SIZES (256M), KIT_ITERS (30 timed calls per
# measurement), KIT_BUDGET (540 s for the whole run; a step that would start
# with less than 15 s left is skipped), KIT_NVIDIA_ROOTS
# ("/usr/local/nvidia /usr /usr/local /").
set -u

self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
here=$(dirname "$self")

die() {
	echo "gpu.sh: $*" >&2
	exit 1
}

# kitdir: $KIT, else this script's directory when it holds the binary (a
# carried or copied kit), else the repository's .gpu.
kitdir() {
	if [ -n "${KIT:-}" ]; then
		echo "$KIT"
	elif [ -x "$here/dropout" ]; then
		echo "$here"
	else
		echo "$(cd "$here/.." && pwd)/.gpu"
	fi
}

# ---------------------------------------------------------------- prepare
prepare() {
	root=$(cd "$here/.." && pwd)
	[ -f "$root/go.mod" ] || die "prepare runs from the repository (bench/gpu.sh prepare)"
	kit=${1:-$root/.gpu}
	command -v go >/dev/null || die "prepare needs Go"
	[ "$(uname -m)" = x86_64 ] || die "the device machine is x86-64; this one is $(uname -m): build there"
	new="$kit.new"
	rm -rf "$new"
	mkdir -p "$new/lib" "$new/glvnd" || die "cannot create $new"
	log="$new/build.log"
	# CGO as usual (the loaders are opened at run time; only libc is linked).
	if ! (cd "$root" && CGO_ENABLED=1 go build -ldflags='-s -w' -o "$new/dropout" ./cmd/dropout) >"$log" 2>&1; then
		grep -v pragma "$log" >&2
		die "go build failed"
	fi
	rm -f "$log"
	# The loaders: Debian's packages unpacked into a private directory, or
	# this system's copies where apt cannot download.
	tmp=$(mktemp -d) || die "mktemp failed"
	if (cd "$tmp" && apt-get download ocl-icd-libopencl1 libvulkan1 libglvnd0) >"$tmp/apt.log" 2>&1; then
		for d in "$tmp"/*.deb; do
			dpkg -x "$d" "$tmp/x" || die "dpkg -x $d failed"
		done
		src="$tmp/x/usr/lib/x86_64-linux-gnu"
		from="Debian packages $(cd "$tmp" && echo *.deb)"
	else
		src=/usr/lib/x86_64-linux-gnu
		from="this system's $src (apt-get download failed: $(tail -n 1 "$tmp/apt.log"))"
	fi
	cp -L "$src/libOpenCL.so.1" "$src/libvulkan.so.1" "$new/lib/" || die "loaders not found in $src"
	# NVIDIA's Vulkan driver (libGLX_nvidia.so.0) can need glvnd's libGLdispatch.so.0.
	cp -L "$src/libGLdispatch.so.0" "$new/glvnd/" ||
		echo "gpu.sh: warning: no libGLdispatch.so.0 in $src: the kit relies on the GPU machine's" >&2
	rm -rf "$tmp"
	cp "$self" "$new/gpu.sh"
	glibc=$(objdump -T "$new/dropout" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
	commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		commit="$commit (+ uncommitted changes)"
	fi
	{
		echo "commit: $commit"
		echo "built: $(date -u +%Y-%m-%dT%H:%MZ) on $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), $(go version)"
		echo "binary needs: glibc >= ${glibc#GLIBC_} (built against $(ldd --version | head -n 1))"
		echo "binary links: $(ldd "$new/dropout" | awk '{print $1}' | tr '\n' ' ')"
		echo "loaders from: $from"
	} >"$new/BUILDINFO"
	size=$(du -sk "$new" | awk '{print $1}')
	[ "$size" -lt 61440 ] || die "kit is $size KiB: over the device tool's 64 MiB"
	rm -rf "$kit"
	mv "$new" "$kit" || die "cannot move $new to $kit"
	cat "$kit/BUILDINFO"
	echo "kit: $kit ($size KiB): carry it to the device machine and run sh bench/gpu.sh run"
}

# ---------------------------------------------------------------- run
# step NAME LIMIT CMD...: runs CMD with its output in logs/NAME.log under
# LIMIT seconds (less when the budget is short) and records its status.
step() {
	name=$1
	limit=$2
	shift 2
	left=$((budget - ($(date +%s) - t0)))
	if [ "$left" -lt 15 ]; then
		printf '%-14s skipped (time budget of %ss spent)\n' "$name" "$budget" >>"$steps"
		failed=$((failed + 1))
		return 125
	fi
	[ "$limit" -le "$left" ] || limit=$left
	s=$(date +%s)
	if [ -n "$tmo" ]; then
		"$tmo" -k 10 "$limit" "$@" >"$logs/$name.log" 2>&1
	else
		"$@" >"$logs/$name.log" 2>&1
	fi
	rc=$?
	note=
	[ "$rc" -ne 124 ] || note=" (timed out after ${limit}s)"
	printf '%-14s rc=%-3s %4ss%s\n' "$name" "$rc" "$(($(date +%s) - s))" "$note" >>"$steps"
	[ "$rc" -eq 0 ] || failed=$((failed + 1))
	return "$rc"
}

# firstfile PATH...: the first that exists.
firstfile() {
	for f in "$@"; do
		if [ -e "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

# drivers sets OCL_ICD_FILENAMES, VK_DRIVER_FILES and VK_ICD_FILENAMES to
# the NVIDIA drivers, and puts the driver's library directory on
# LD_LIBRARY_PATH (its Vulkan manifest names libGLX_nvidia.so.0 bare).
drivers() {
	roots=${KIT_NVIDIA_ROOTS:-/usr/local/nvidia /usr /usr/local /}
	libs=
	jsons=
	for r in $roots; do
		r=${r%/}
		libs="$libs $r/lib64/libnvidia-opencl.so.1 $r/lib/libnvidia-opencl.so.1 $r/lib/x86_64-linux-gnu/libnvidia-opencl.so.1"
		jsons="$jsons $r/share/vulkan/icd.d/nvidia_icd.json $r/etc/vulkan/icd.d/nvidia_icd.json"
	done
	ldc=$(command -v ldconfig || echo /sbin/ldconfig)
	if [ -n "${OCL_ICD_FILENAMES:-}" ]; then
		ocl_how="given"
	elif ocl=$(firstfile $libs); then
		export OCL_ICD_FILENAMES="$ocl"
		ocl_how="found"
	elif ocl=$("$ldc" -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1 .*x86-64/ {print $NF; exit}') && [ -n "$ocl" ]; then
		export OCL_ICD_FILENAMES="$ocl"
		ocl_how="found by ldconfig"
	else
		ocl_how="not found (searched$libs and ldconfig -p): OpenCL uses /etc/OpenCL/vendors"
	fi
	if [ -n "${VK_DRIVER_FILES:-}" ] || [ -n "${VK_ICD_FILENAMES:-}" ]; then
		vk_how="given"
		export VK_DRIVER_FILES="${VK_DRIVER_FILES:-$VK_ICD_FILENAMES}"
		export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-$VK_DRIVER_FILES}"
	elif vk=$(firstfile $jsons); then
		export VK_DRIVER_FILES="$vk" VK_ICD_FILENAMES="$vk"
		vk_how="found"
	else
		vk_how="not found (searched$jsons): the Vulkan loader searches its default places"
	fi
	# ocl-icd loads OCL_ICD_FILENAMES in addition to the vendors directory
	# (/etc/OpenCL/vendors), and nothing at all when that directory is
	# empty: a private one naming the same drivers makes them the only ones.
	if [ -n "${OCL_ICD_FILENAMES:-}" ] && [ -z "${OCL_ICD_VENDORS:-}" ] &&
		OCL_ICD_VENDORS=$(mktemp -d "${TMPDIR:-/tmp}/gpukit-vendors.XXXXXX"); then
		export OCL_ICD_VENDORS
		i=0
		for f in $(echo "$OCL_ICD_FILENAMES" | tr ':' ' '); do
			echo "$f" >"$OCL_ICD_VENDORS/kit$i.icd"
			i=$((i + 1))
		done
	fi
	drvlib=
	if [ -n "${OCL_ICD_FILENAMES:-}" ] && [ -e "$OCL_ICD_FILENAMES" ]; then
		drvlib=$(dirname "$OCL_ICD_FILENAMES")
	fi
	for r in $roots; do
		r=${r%/}
		for d in "$r/lib64" "$r/lib"; do
			if [ -e "$d/libGLX_nvidia.so.0" ] || [ -e "$d/libnvidia-opencl.so.1" ] || [ -e "$d/libcuda.so.1" ]; then
				case " $drvlib " in *" $d "*) ;; *) drvlib="$drvlib $d" ;; esac
			fi
		done
	done
	for d in $drvlib; do
		LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$d"
	done
	export LD_LIBRARY_PATH
}

run() {
	kit=$(kitdir)
	kit=$(cd "$kit" 2>/dev/null && pwd) || die "no kit at $(kitdir): run bench/gpu.sh prepare first (and carry .gpu)"
	bin="$kit/dropout"
	[ -x "$bin" ] || die "no dropout binary in $kit: run bench/gpu.sh prepare first (and carry .gpu)"
	out=${1:-${OUT:-}}
	[ -n "$out" ] || die "no output directory: give one or set OUT"
	mkdir -p "$out/logs" || die "cannot create $out/logs"
	out=$(cd "$out" && pwd)
	logs="$out/logs"
	steps="$logs/steps.txt"
	: >"$steps"
	t0=$(date +%s)
	budget=${KIT_BUDGET:-540}
	sizes=${KIT_SIZES:-4K,1M,16M,64M,256M}
	masksizes=${KIT_MASK_SIZES:-256M}
	iters=${KIT_ITERS:-30}
	failed=0
	tmo=$(command -v timeout || true)

	# The kit's loaders first; libGLdispatch (NVIDIA's Vulkan driver can need
	# it) only where the system has none.
	LD_LIBRARY_PATH="$kit/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	ldc=$(command -v ldconfig || echo /sbin/ldconfig)
	if ! "$ldc" -p 2>/dev/null | grep -q 'libGLdispatch\.so\.0 '; then
		LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$kit/glvnd"
	fi
	drivers

	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		cat "$kit/BUILDINFO" 2>/dev/null || echo "commit: unknown (no BUILDINFO in $kit)"
		echo "host: $(uname -srm), $(nproc 2>/dev/null || echo '?') CPUs, $(grep -m 1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
		echo "glibc here: $(ldd --version 2>/dev/null | head -n 1)"
		if command -v nvidia-smi >/dev/null; then
			echo "gpu: $(${tmo:+$tmo 30} nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"
			${tmo:+$tmo 30} nvidia-smi >"$logs/nvidia-smi.log" 2>&1
		else
			echo "gpu: nvidia-smi: not found"
		fi
		echo "OCL_ICD_FILENAMES=${OCL_ICD_FILENAMES:-} ($ocl_how)"
		echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-}"
		echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} ($vk_how)"
		echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
		echo "sizes: $sizes (masks: $masksizes), $iters timed calls per measurement, budget ${budget}s"
	} >"$out/machine.txt"

	# devices, with the libraries the dynamic loader opened.
	step devices 60 env LD_DEBUG=files LD_DEBUG_OUTPUT="$logs/ld" "$bin" devices
	cat "$logs"/ld.* 2>/dev/null | awk '/calling init: / {print $NF}' |
		grep -E 'libOpenCL|libvulkan|nvidia|GLdispatch|pocl|lvp' | sort -u >"$logs/loaded.txt"
	rm -f "$logs"/ld.*
	step devices-json 30 "$bin" devices --json

	# torch: what python3 has (the comparison itself runs in the bench).
	step torch 90 python3 -c '
import sys
try:
    import torch
except Exception as e:
    print("not installed (%s: %s)" % (type(e).__name__, e)); sys.exit(0)
d = "device " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print("torch %s, CUDA %s, %s" % (torch.__version__, torch.version.cuda, d))'
	torch=$(tail -n 1 "$logs/torch.log" 2>/dev/null)
	[ -n "$torch" ] || torch="not run"

	# verify each GPU backend on its own; one that opens is benchmarked.
	gpus=
	for b in opencl vulkan; do
		step "verify-$b" 90 "$bin" verify --backend "$b"
		if grep -Eq "^$b[[:space:]].*[[:space:]](ok|FAIL)[[:space:]]" "$logs/verify-$b.log"; then
			gpus="$gpus${gpus:+,}$b"
		fi
	done
	all="${gpus}${gpus:+,}cpu"

	# no mask: every working backend and torch, one table and plot.
	if ! step bench 240 "$bin" bench --backend "$all" --sizes "$sizes" --iters "$iters" --mask-format none \
		--compare torch --json "$out/bench.json" --csv "$out/bench.csv" --plot "$out/bench.png"; then
		# Measure each backend alone, so one that fails loses only its own
		# rows (torch with cpu), and join their tables into bench.csv.
		for b in $(echo "$all" | tr ',' ' '); do
			cmp=
			[ "$b" != cpu ] || cmp="--compare torch"
			step "bench-$b" 120 "$bin" bench --backend "$b" --sizes "$sizes" --iters "$iters" --mask-format none \
				$cmp --json "$logs/bench-$b.json" --csv "$logs/bench-$b.csv"
		done
		if [ ! -s "$out/bench.csv" ]; then
			n=0
			for b in $(echo "$all" | tr ',' ' '); do
				[ -s "$logs/bench-$b.csv" ] || continue
				if [ "$n" -eq 0 ]; then cat "$logs/bench-$b.csv"; else tail -n +2 "$logs/bench-$b.csv"; fi
				n=$((n + 1))
			done >"$out/bench.csv"
			[ -s "$out/bench.csv" ] || rm -f "$out/bench.csv"
		fi
	fi
	# The masks: GPU backends at the largest sizes.
	for m in bits bytes; do
		if [ -n "$gpus" ]; then
			step "bench-$m" 90 "$bin" bench --backend "$gpus" --sizes "$masksizes" --iters "$iters" --mask-format "$m" \
				--json "$logs/bench-$m.json" --csv "$out/bench-$m.csv"
		else
			printf '%-14s skipped (no GPU backend opened)\n' "bench-$m" >>"$steps"
			failed=$((failed + 1))
		fi
	done

	{
		echo "gpu run kit: $(sed -n 's/^commit: //p' "$kit/BUILDINFO" 2>/dev/null), $(sed -n 's/^date: //p' "$out/machine.txt")"
		sed -n 's/^gpu: /gpu: /p' "$out/machine.txt"
		echo "opencl driver: ${OCL_ICD_FILENAMES:-none} ($ocl_how)"
		echo "vulkan driver: ${VK_DRIVER_FILES:-none} ($vk_how)"
		sed 's/^/loaded: /' "$logs/loaded.txt"
		echo "torch: $torch"
		echo "benchmarked: ${all}"
		echo "steps:"
		sed 's/^/  /' "$steps"
		if [ -f "$out/bench.csv" ]; then
			echo "goals (largest size, device-resident):"
			goals "$out/bench.csv" "$out/bench-bits.csv"
		fi
	} >"$out/summary.txt"
	[ -n "$gpus" ] || {
		echo "FAILED: no GPU backend opened" >>"$out/summary.txt"
		failed=$((failed + 1))
	}

	# Everything else travels as one archive: the device tool brings back
	# at most 8 files.
	cp "$out/summary.txt" "$out/machine.txt" "$logs/"
	[ ! -f "$out/bench.json" ] || cp "$out/bench.json" "$logs/"
	if tar -czf "$out/logs.tar.gz" -C "$out" logs; then
		rm -rf "$logs"
	else
		echo "tar failed: logs left in $logs" >>"$out/summary.txt"
		failed=$((failed + 1))
	fi
	echo "files: $(cd "$out" && ls | tr '\n' ' ')" >>"$out/summary.txt"
	if [ "$failed" -eq 0 ]; then
		echo "result: ok ($(($(date +%s) - t0))s)" >>"$out/summary.txt"
	else
		echo "result: $failed step(s) failed ($(($(date +%s) - t0))s)" >>"$out/summary.txt"
	fi
	case "${OCL_ICD_VENDORS:-}" in */gpukit-vendors.*) rm -rf "$OCL_ICD_VENDORS" ;; esac
	cat "$out/summary.txt"
	[ "$failed" -eq 0 ]
}

# goals CSV BITSCSV: for each GPU backend at the largest size, the fraction
# of its own copy, the speed-up over torch and the bits mask's time over no
# mask's (the issue's goals: >= 90%, >= 1.1x, <= 1.05). Columns are found by
# their header names; rows of other operations (an "op" column) are left out.
goals() {
	awk -v main="$1" -v bits="$2" '
	# csv splits a CSV line into f, quoted fields (device names) included.
	function csv(line, f,    n, i, c, q, cur) {
		n = 0; cur = ""; q = 0
		for (i = 1; i <= length(line); i++) {
			c = substr(line, i, 1)
			if (q) {
				if (c != "\"") cur = cur c
				else if (substr(line, i + 1, 1) == "\"") { cur = cur c; i++ }
				else q = 0
			} else if (c == "\"") q = 1
			else if (c == ",") { f[++n] = cur; cur = "" }
			else cur = cur c
		}
		f[++n] = cur
		return n
	}
	function human(n) {
		if (n >= 1048576 && n % 1048576 == 0) return n / 1048576 "M"
		if (n >= 1024 && n % 1024 == 0) return n / 1024 "K"
		return n
	}
	# load reads file into t[backend "," size] (median) and of[...] (fraction
	# of copy) for forward rows, device-resident or torch.
	function load(file, t, of,    line, n, f, h, col, first, k) {
		first = 1
		while ((getline line < file) > 0) {
			n = csv(line, f)
			if (first) {
				for (k = 1; k <= n; k++) col[f[k]] = k
				first = 0
				continue
			}
			if (("op" in col) && f[col["op"]] != "" && f[col["op"]] != "forward") continue
			if (f[col["mode"]] != "device" && f[col["backend"]] != "torch") continue
			k = f[col["backend"]] "," (f[col["size"]] + 0)
			t[k] = f[col["median_s"]]; of[k] = f[col["fraction_of_copy"]]
			if (f[col["size"]] + 0 > max) max = f[col["size"]] + 0
			if (f[col["backend"]] != "torch" && f[col["backend"]] != "cpu") gpu[f[col["backend"]]] = 1
		}
		close(file)
	}
	BEGIN {
		load(main, time, frac)
		m = max
		load(bits, btime, bfrac)
		max = m
		for (b in gpu) {
			k = b "," max
			if (!(k in time)) continue
			line = sprintf("  %s at %s: %.0f%% of its copy", b, human(max), 100 * frac[k])
			if (("torch," max) in time && time[k] > 0) line = line sprintf(", %.2fx torch", time["torch," max] / time[k])
			if ((k in btime) && time[k] > 0) line = line sprintf(", bits/none time %.3f", btime[k] / time[k])
			print line
		}
	}'
}

# ---------------------------------------------------------------- dryrun
dryrun() {
	root=$(cd "$here/.." && pwd)
	src=${KIT:-$root/.gpu}
	[ -x "$src/dropout" ] || die "no prepared kit in $src: run bench/gpu.sh prepare (make gpu-kit) first"
	pocl=$(firstfile /usr/lib/x86_64-linux-gnu/libpocl.so.2 /usr/lib64/libpocl.so.2) || die "PoCL not installed (make deps)"
	lvp=$(firstfile /usr/share/vulkan/icd.d/lvp_icd.x86_64.json /usr/share/vulkan/icd.d/lvp_icd.json) || die "lavapipe not installed (make deps)"
	minpath=/usr/bin:/bin
	if env -i PATH=$minpath sh -c 'command -v go' >/dev/null 2>&1; then
		die "go is on $minpath: the dry run could not show that the kit needs no Go"
	fi
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpukit-dryrun.XXXXXX") || die "mktemp failed"
	case "$tmp" in "$root"/*) die "temp dir $tmp is inside the repository" ;; esac
	cp -R "$src" "$tmp/kit"
	# A fake driver tree where the NVIDIA one would be: lavapipe copied as
	# lib64/libGLX_nvidia.so.0 with a manifest naming it bare, as NVIDIA's
	# nvidia_icd.json does, and PoCL linked as
	# lib/x86_64-linux-gnu/libnvidia-opencl.so.1 (with its plugins and
	# headers where it looks for them, relative to itself). The kit must
	# find them as it finds NVIDIA's, and load them rather than the system's.
	fake="$tmp/nvidia"
	fakeocl="$fake/lib/x86_64-linux-gnu"
	mkdir -p "$fake/lib64" "$fakeocl" "$fake/share/vulkan/icd.d" "$tmp/home" "$tmp/out" "$tmp/out-broken"
	ln -s "$pocl" "$fakeocl/libnvidia-opencl.so.1"
	ln -s "$(dirname "$pocl")/pocl" "$fakeocl/pocl"
	ln -s /usr/share/pocl "$fake/share/pocl"
	lvplib=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$lvp")
	cp -L "$lvplib" "$fake/lib64/libGLX_nvidia.so.0" || die "lavapipe library $lvplib not found"
	sed 's|"library_path": *"[^"]*"|"library_path": "libGLX_nvidia.so.0"|' "$lvp" >"$fake/share/vulkan/icd.d/nvidia_icd.json"
	s=$(date +%s)
	kitenv="PATH=$minpath HOME=$tmp/home KIT_NVIDIA_ROOTS=$fake KIT_SIZES=4K,64K KIT_MASK_SIZES=64K KIT_ITERS=3 KIT_BUDGET=240"
	(cd "$tmp/home" && env -i $kitenv OUT="$tmp/out" sh "$tmp/kit/gpu.sh" run) >"$tmp/run.log" 2>&1
	rc=$?
	o="$tmp/out"
	bad=
	check() { # check WHAT CMD...: records WHAT when CMD fails
		what=$1
		shift
		"$@" >/dev/null 2>&1 || bad="$bad
  $what"
	}
	check "run exited $rc" test "$rc" -eq 0
	for f in summary.txt machine.txt bench.json bench.csv bench.png bench-bits.csv bench-bytes.csv logs.tar.gz; do
		check "$f missing or empty" test -s "$o/$f"
	done
	check "more than 8 files, a folder, or an odd name in OUT" sh -c \
		'[ "$(ls "$1" | wc -l)" -le 8 ] && [ -z "$(find "$1" -mindepth 1 -type d)" ] && ! ls "$1" | grep -q "[^A-Za-z0-9._-]"' - "$o"
	check "bench.png is no PNG" sh -c 'head -c 4 "$1" | grep -q PNG' - "$o/bench.png"
	check "OpenCL driver not found in the fake NVIDIA tree" grep -qF "opencl driver: $fakeocl/libnvidia-opencl.so.1 (found)" "$o/summary.txt"
	check "Vulkan driver not found in the fake NVIDIA tree" grep -qF "vulkan driver: $fake/share/vulkan/icd.d/nvidia_icd.json (found)" "$o/summary.txt"
	for l in "$tmp/kit/lib/libOpenCL.so.1" "$tmp/kit/lib/libvulkan.so.1" "$fakeocl/libnvidia-opencl.so.1" "$fake/lib64/libGLX_nvidia.so.0"; do
		check "$l was not loaded" grep -qxF "loaded: $l" "$o/summary.txt"
	done
	check "torch not reported as not installed" grep -q "^torch: not installed" "$o/summary.txt"
	check "a step failed" sh -c '! grep -E "^  [a-z-]+ +(rc=[1-9]|skipped)" "$1"' - "$o/summary.txt"
	for st in devices verify-opencl verify-vulkan bench bench-bits bench-bytes; do
		check "step $st did not pass" grep -Eq "^  $st +rc=0 " "$o/summary.txt"
	done
	for b in opencl vulkan cpu; do
		check "bench.csv has no $b row" grep -q "^$b," "$o/bench.csv"
	done
	for m in bits bytes; do
		for b in opencl vulkan; do
			check "bench-$m.csv has no $b device row" grep -Eq "^$b,.*,device,65536," "$o/bench-$m.csv"
		done
	done
	check "the goals lines are missing" grep -q "^  opencl at 64K: .* of its copy, bits/none time" "$o/summary.txt"
	check "logs.tar.gz lacks the verify logs" sh -c 'tar -tzf "$1" | grep -q logs/verify-vulkan.log' - "$o/logs.tar.gz"
	check "bench.json lacks the torch note" grep -q "not importable" "$o/bench.json"
	# Both drivers missing: every step still runs and says so, the cpu and
	# torch bench still runs, and the run fails.
	(cd "$tmp/home" && env -i $kitenv OUT="$tmp/out-broken" OCL_ICD_FILENAMES="$tmp/none/libnvidia-opencl.so.1" \
		VK_DRIVER_FILES="$tmp/none/nvidia_icd.json" KIT_SIZES=4K sh "$tmp/kit/gpu.sh" run) >"$tmp/run-broken.log" 2>&1
	rc=$?
	o="$tmp/out-broken"
	check "broken drivers: run exited $rc, want a failure" test "$rc" -ne 0
	for st in verify-opencl verify-vulkan; do
		check "broken drivers: step $st did not fail" grep -Eq "^  $st +rc=[1-9]" "$o/summary.txt"
	done
	check "broken drivers: the cpu bench did not run" grep -Eq "^  bench +rc=0 " "$o/summary.txt"
	check "broken drivers: bench.csv has no cpu row" grep -q "^cpu," "$o/bench.csv"
	check "broken drivers: no failure line" grep -q "^FAILED: no GPU backend opened" "$o/summary.txt"
	check "broken drivers: no logs.tar.gz" test -s "$o/logs.tar.gz"
	if [ -n "$bad" ]; then
		echo "gpu kit dry run FAILED ($tmp kept):$bad" >&2
		echo "--- run output:" >&2
		cat "$tmp/run.log" >&2
		echo "--- run output, broken drivers:" >&2
		cat "$tmp/run-broken.log" >&2
		exit 1
	fi
	sed -n '/^steps:/,/^goals/p' "$tmp/out/summary.txt" | sed '$d'
	rm -rf "$tmp"
	echo "gpu kit dry run: ok in $(($(date +%s) - s))s (env -i, no Go, kit copied to a temp dir, PoCL and lavapipe as the NVIDIA drivers)"
}

case "${1:-}" in
prepare)
	shift
	prepare "$@"
	;;
run)
	shift
	run "$@"
	;;
dryrun)
	dryrun
	;;
*)
	echo "usage: $0 prepare [KITDIR] | run [OUTDIR] | dryrun" >&2
	exit 2
	;;
esac
