package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// straight: a vector fast branch, a scalar branch storing the same four
// elements with more instructions, an optional byte-mask store behind a
// flag, a call sequence and a stack spill.
const straightPTX = `
.visible .entry straight(
	.param .u64 straight_param_0
)
{
	.reg .pred 	%p<4>;
	ld.param.u64 	%rd1, [straight_param_0];
	{ // callseq 0, 0
	.param .b64 retval0;
	call.uni (retval0), 
	_Z13get_global_idj, 
	(
	param0
	);
	ld.param.b64 	%rd4, [retval0+0];
	} // callseq 0
	setp.ge.u64 	%p1, %rd4, %rd1;
	@%p1 bra 	$L__BB0_5;
	@%p2 bra 	$L__BB0_3;
	ld.global.v4.f32 	{%f1, %f2, %f3, %f4}, [%rd2];
	st.global.v4.f32 	[%rd3], {%f1, %f2, %f3, %f4};
	@%p3 bra 	$L__BB0_5;
	st.global.v4.u8 	[%rd7], {%rs1, %rs2, %rs3, %rs4};
	bra.uni 	$L__BB0_5;
$L__BB0_3:
	st.u32 	[%SP+0], %r1;
	ld.global.f32 	%f1, [%rd2];
	st.global.f32 	[%rd3], %f1;
	ld.global.f32 	%f2, [%rd2+4];
	st.global.f32 	[%rd3+4], %f2;
	ld.global.f32 	%f3, [%rd2+8];
	st.global.f32 	[%rd3+8], %f3;
	ld.global.f32 	%f4, [%rd2+12];
	st.global.f32 	[%rd3+12], %f4;
$L__BB0_5:
	ret;

}
`

// loops: a prologue, a main loop storing v2.f64 pairs (4 elements an
// iteration, its back edge conditional), then a scalar tail loop storing one
// element an iteration in fewer instructions, and a helper kernel that
// stores only words.
const loopsPTX = `
.visible .entry loops(
	.param .u64 loops_param_0
)
{
	mov.u32 	%r1, %tid.x;
	mov.u32 	%r2, %ntid.x;
	mov.u32 	%r3, %ctaid.x;
	mad.lo.s32 	%r4, %r2, %r3, %r1;
$L__BB1_1:
	ld.global.nc.v2.f64 	{%fd1, %fd2}, [%rd1];
	ld.global.nc.v2.f64 	{%fd3, %fd4}, [%rd1+16];
	mul.f64 	%fd5, %fd1, %fd9;
	mul.f64 	%fd6, %fd2, %fd9;
	mul.f64 	%fd7, %fd3, %fd9;
	mul.f64 	%fd8, %fd4, %fd9;
	st.global.v2.f64 	[%rd2], {%fd5, %fd6};
	st.global.v2.f64 	[%rd2+16], {%fd7, %fd8};
	add.s64 	%rd1, %rd1, %rd5;
	setp.lt.u64 	%p1, %rd1, %rd6;
	@%p1 bra 	$L__BB1_1;
$L__BB1_2:
	ld.global.f64 	%fd1, [%rd1];
	st.global.f64 	[%rd2], %fd1;
	add.s64 	%rd1, %rd1, 8;
	setp.lt.u64 	%p2, %rd1, %rd7;
	@%p2 bra 	$L__BB1_2;
	st.global.u32 	[%rd8], %r4;
	ret;
}

.entry words(
	.param .u64 words_param_0
)
{
	mov.u32 	%r1, %tid.x;
	st.global.v4.u32 	[%rd1], {%r1, %r1, %r1, %r1};
	ret;
}
`

func TestHotPath(t *testing.T) {
	for _, tc := range []struct {
		ptx, kernel, region  string
		insts, elems         int
		ld128, st128, ld, st int
		local, calls         int
	}{
		// The vector branch without the flagged mask store: ld.param,
		// call, setp, 2 bra, ld, st, bra, ret.
		{straightPTX, "straight", "body", 9, 4, 1, 1, 1, 1, 0, 1},
		// One iteration of the main loop: 11 instructions, 4 elements.
		{loopsPTX, "loops", "loop $L__BB1_1", 11, 4, 2, 2, 2, 2, 0, 0},
		// No float stores: the word store's lanes are the elements.
		{loopsPTX, "words", "body", 3, 4, 0, 1, 0, 1, 0, 0},
	} {
		ks, err := Parse(tc.ptx)
		if err != nil {
			t.Fatal(err)
		}
		var k *Kernel
		for i := range ks {
			if ks[i].Name == tc.kernel {
				k = &ks[i]
			}
		}
		if k == nil {
			t.Fatalf("kernel %s not parsed (got %d kernels)", tc.kernel, len(ks))
		}
		p := k.HotPath()
		if p.Region != tc.region || p.Insts != tc.insts || p.Elems != tc.elems || p.Ld128 != tc.ld128 || p.St128 != tc.st128 ||
			len(p.Loads) != tc.ld || len(p.Stores) != tc.st || p.Local != tc.local || len(p.Calls) != tc.calls {
			t.Errorf("%s: hot path %+v, want region %q, %d instructions, %d elements, %d/%d 128-bit loads, %d/%d stores, %d local, %d calls",
				tc.kernel, p, tc.region, tc.insts, tc.elems, tc.ld128, tc.ld, tc.st128, tc.st, tc.local, tc.calls)
		}
	}
}

// TestScalarBranch: with the vector branch gone, the scalar one is the hot
// path, and its stack spill and scalar accesses show.
func TestScalarBranch(t *testing.T) {
	ptx := strings.Replace(straightPTX, "st.global.v4.f32 	[%rd3], {%f1, %f2, %f3, %f4};", "", 1)
	ks, err := Parse(ptx)
	if err != nil {
		t.Fatal(err)
	}
	p := ks[0].HotPath()
	if p.Elems != 4 || p.Local != 1 || p.Ld128 != 0 || len(p.Loads) != 4 || p.St128 != 0 || len(p.Stores) != 4 {
		t.Errorf("hot path %+v: want the scalar branch (4 elements, 1 stack store, 4 scalar loads and stores)", p)
	}
}

func TestParseErrors(t *testing.T) {
	for _, ptx := range []string{
		"",
		".version 7.0\n.target sm_60\n",
		".visible .entry k(\n)\n{\n\tbra.uni \t$L__nowhere;\n}\n",
		".visible .entry k(\n)\n{\n\tret;\n",
		".visible .entry k(\n)\n{\n\tadd.s32 %r1,\n}\n",
	} {
		if _, err := Parse(ptx); err == nil {
			t.Errorf("Parse(%q): no error", ptx)
		}
	}
}

func TestDemangle(t *testing.T) {
	for in, want := range map[string]string{"_Z6mul_hijj": "mul_hi", "_Z13get_global_idj": "get_global_id", "plain": "plain", "_Zx": "_Zx"} {
		if got := demangle(in); got != want {
			t.Errorf("demangle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrite(t *testing.T) {
	ks, err := Parse(loopsPTX)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, "test", ks); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"loops  loop $L__BB1_1  11  4  2.8  yes  yes  0  0  ld.global.nc.v2.f64 x2  st.global.v2.f64 x2",
		"words  body  3  4  0.8  -  yes  0  0  -  st.global.v4.u32"} {
		if !strings.Contains(strings.Join(strings.Fields(b.String()), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDropoutKernels compiles the project's OpenCL kernels as the make
// target does and checks the report covers every kernel of the file, with
// 128-bit accesses on the no-mask forward kernel's hot path.
func TestDropoutKernels(t *testing.T) {
	if _, err := exec.LookPath("clang-15"); err != nil {
		if os.Getenv("DROPOUT_REQUIRE_DEVICES") != "" {
			t.Fatal("clang-15 is required (make deps installs it)")
		}
		t.Skip("clang-15 not installed")
	}
	if _, err := os.Stat(DefaultLibCLC); err != nil && os.Getenv("DROPOUT_REQUIRE_DEVICES") != "" {
		t.Fatalf("libclc is required: %v (make deps installs libclc-15)", err)
	}
	_, file, _, _ := runtime.Caller(0)
	cl := filepath.Join(filepath.Dir(file), "../../../kernels/opencl/dropout.cl")
	src, err := os.ReadFile(cl)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := run(&b, []string{"-cl", cl}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Every kernel of the source has a line (macro-made names checked below).
	for _, line := range strings.Split(string(src), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "kernel" && f[1] == "void" && !strings.Contains(f[2], "##") {
			name := f[2][:strings.IndexByte(f[2]+"(", '(')]
			if !strings.Contains(out, "\n"+name+" ") {
				t.Errorf("no line for kernel %s:\n%s", name, out)
			}
		}
	}
	// One line per .entry of the compiled module.
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "KERNEL") {
			rows++
		}
	}
	cmd, err := compileCommand("clang-15", cl, "auto")
	if err != nil {
		t.Fatal(err)
	}
	ptx, err := compile(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(ptx, []byte(".entry ")); rows != n || n == 0 {
		t.Errorf("%d rows for %d kernels:\n%s", rows, n, out)
	}
	// The no-mask forward kernel moves its data 128 bits at a time.
	found := false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 7 && f[0] == "fwd_f32" {
			found = true
			if f[5] != "yes" || f[6] != "yes" || f[4] == "-" {
				t.Errorf("fwd_f32: %q: want 128-bit loads and stores", line)
			}
		}
	}
	if !found {
		t.Logf("no fwd_f32 kernel in %s: its 128-bit check did not run", cl)
	}
}

// TestDropAllBranch: a branch that writes zeros without loading (p = 1)
// stores as many elements in fewer instructions; the hot path is the one
// that loads, and a 32-bit mask word is no float32 element.
func TestDropAllBranch(t *testing.T) {
	const ptx = `
.visible .entry fwd_f32(
	.param .u64 fwd_f32_param_0
)
{
	@%p1 bra 	$L__BB0_2;
	ld.global.v4.f32 	{%f1, %f2, %f3, %f4}, [%rd2];
	mul.f32 	%f5, %f1, %f9;
	st.global.v4.f32 	[%rd3], {%f5, %f2, %f3, %f4};
	st.global.u32 	[%rd4], %r1;
	bra.uni 	$L__BB0_3;
$L__BB0_2:
	st.global.v4.f32 	[%rd3], {%f0, %f0, %f0, %f0};
$L__BB0_3:
	ret;
}
`
	ks, err := Parse(ptx)
	if err != nil {
		t.Fatal(err)
	}
	p := ks[0].HotPath()
	if p.Elems != 4 || p.Insts != 7 || len(p.Loads) != 1 || p.Ld128 != 1 || len(p.Stores) != 2 || p.St128 != 1 {
		t.Errorf("hot path %+v: want the loading branch (7 instructions, 4 elements, a 128-bit load, 2 stores)", p)
	}
}

func TestElemBits(t *testing.T) {
	for _, tc := range []struct {
		name, ptx string
		bits      int
	}{
		{"fwd_bf16", "st.global.v4.u16 [%rd1], {%rs1, %rs1, %rs1, %rs1};", 16},
		{"bcast_f64_copy", "st.global.v2.u64 [%rd1], {%rd2, %rd2};", 64},
		{"kernel", "st.global.u32 [%rd1], %r1; st.global.v2.f64 [%rd1], {%fd1, %fd1};", 64},
		{"words", "st.global.u8 [%rd1], %rs1; st.global.u32 [%rd1], %r1;", 32},
		{"nothing", "add.s32 %r1, %r1, 1;", 0},
	} {
		ks, err := Parse(".entry " + tc.name + "(\n)\n{\n" + strings.ReplaceAll(tc.ptx, "; ", ";\n") + "\nret;\n}\n")
		if err != nil {
			t.Fatal(err)
		}
		if got := ks[0].ElemBits(); got != tc.bits {
			t.Errorf("%s: ElemBits %d, want %d", tc.name, got, tc.bits)
		}
	}
}
