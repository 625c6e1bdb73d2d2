// Command ptxreport prints, for every kernel of an OpenCL C file, what an
// NVIDIA GPU would run on its hot path: the PTX instructions per element and
// whether the global loads and stores there are 128 bits wide.
//
// Usage:
//
//	go run ./bench/internal/ptxreport [-cl kernels/opencl/dropout.cl] [-in file.ptx|-] [-libclc auto|none|FILE]
//
// It compiles the file as issue 11 says,
//
//	clang-15 -x cl -cl-std=CL1.2 -target nvptx64-nvidia-cuda -O3 -Xclang -finclude-default-header -S FILE -o -
//
// adding libclc's NVPTX builtins (-Xclang -mlink-builtin-bitcode
// /usr/lib/clc/nvptx64--nvidiacl.bc, Debian's libclc-15) when they are
// installed, so that get_global_id, mul_hi, select and convert_* are inlined
// as a driver's compiler inlines them rather than left as calls. Without
// libclc (-libclc none) each call sequence counts as one instruction and the
// CALLS column says how many there were. -in reads PTX instead of compiling.
//
// # The hot path
//
// The PTX of each .entry is cut into basic blocks (a label starts one; a
// branch, ret or exit ends one), and the control-flow graph's back edges are
// found by a depth-first walk from the entry. An element is one lane of a
// global store of the kernel's element width: that of a type word in its
// name (f16, bf16 and half 16 bits, f32 and float 32, f64 and double 64),
// else of its widest floating-point global store, else of its widest global
// store. Where the kernel stores that width as a floating-point type, only
// those stores count (a 32-bit mask word is no float32 element; float16 is
// stored as .b16 or .u16 and counts as such). Paths are ranked by the
// elements they store, then by whether they load from global memory at all,
// then by the fewest instructions. Then:
//
//   - If some loop stores elements, the hot path is one iteration of the best
//     loop: the best path from its header to its back edge (inner loops on
//     it counted once). Code before and after the loop is left out: a
//     grid-stride loop amortises it over the grid.
//   - Otherwise the hot path is the best path from the entry to a return
//     (loops on it counted once): one work-item's straight-line body.
//
// The ranking picks the data branch over one that writes zeros without
// loading (p = 1) or writes only the mask, the aligned full-vector branch
// over the scalar tail (same elements, more instructions), and leaves out
// loads and stores that run-time flags add (the byte mask of fwd_*, a fused
// bias or residual): the hot path is the plainest call's.
// INSTR/ELEM is the path's instruction count (every PTX instruction:
// parameter loads, address arithmetic and branches included; directives,
// labels and braces excluded) over its elements. LD 128 and ST 128 say
// whether the path's global loads and stores are all 128 bits wide
// (ld.global.v4.f32, ld.global.v2.f64, st.global.v4.u32, ...): yes, no, or
// k/n when k of n are; "-" when it has none. STACK counts local-memory
// accesses (spills, arrays indexed at run time). The LOADS and STORES
// columns list the global (and other generic) accesses by opcode.
//
// PTX is the driver's input, not what the GPU executes: ptxas schedules,
// fuses (mul.lo+mul.hi into one IMAD.WIDE, for example) and drops some
// instructions, so the counts compare kernels and versions, not cycles.
package main
