package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Inst is one PTX instruction (a whole call sequence is one).
type Inst struct {
	Op     string // opcode with its suffixes: "ld.global.v4.f32", "call"
	Pred   bool   // guarded by a predicate (@%p)
	Target string // branch target label, or the callee of a call
	Addr   string // the address operand of a load or store: "[%rd8+4]"
}

// Block is a basic block.
type Block struct {
	Label string
	Insts []Inst
	Succ  []int // successor blocks; none: the kernel returns here
}

// Kernel is one .entry's control-flow graph; Blocks[0] is the entry.
type Kernel struct {
	Name   string
	Blocks []Block
}

var (
	entryRE = regexp.MustCompile(`^\s*(?:\.visible\s+|\.weak\s+)?\.entry\s+([\w$]+)\s*\(?`)
	labelRE = regexp.MustCompile(`^\s*([\w$]+):\s*$`)
	callRE  = regexp.MustCompile(`\bcall(?:\.uni)?\s+(?:\([^)]*\)\s*,\s*)?([\w$]+)`)
)

// Parse reads every .entry of a PTX module.
func Parse(ptx string) ([]Kernel, error) {
	lines := strings.Split(ptx, "\n")
	var ks []Kernel
	for i := 0; i < len(lines); i++ {
		m := entryRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		// The body is the first brace block after the parameter list.
		j := i
		for j < len(lines) && !strings.HasPrefix(strings.TrimSpace(stripComment(lines[j])), "{") {
			j++
		}
		if j == len(lines) {
			return nil, fmt.Errorf("ptx: .entry %s has no body", m[1])
		}
		end, err := closing(lines, j)
		if err != nil {
			return nil, fmt.Errorf("ptx: .entry %s: %w", m[1], err)
		}
		k, err := parseBody(m[1], lines[j+1:end])
		if err != nil {
			return nil, fmt.Errorf("ptx: .entry %s: %w", m[1], err)
		}
		ks = append(ks, k)
		i = end
	}
	if len(ks) == 0 {
		return nil, errors.New("ptx: no .entry (kernel) in the input")
	}
	return ks, nil
}

func stripComment(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		return s[:i]
	}
	return s
}

// closing returns the line of the brace that closes the one opened on line
// open.
func closing(lines []string, open int) (int, error) {
	depth := 0
	for i := open; i < len(lines); i++ {
		s := stripComment(lines[i])
		depth += strings.Count(s, "{") - strings.Count(s, "}")
		if depth == 0 {
			return i, nil
		}
	}
	return 0, errors.New("unbalanced braces")
}

// parseBody cuts a kernel body into basic blocks and links them.
func parseBody(name string, lines []string) (Kernel, error) {
	k := Kernel{Name: name}
	cur := Block{}
	flush := func() {
		if cur.Label != "" || len(cur.Insts) > 0 {
			k.Blocks = append(k.Blocks, cur)
		}
		cur = Block{}
	}
	var stmt strings.Builder
	for i := 0; i < len(lines); i++ {
		s := strings.TrimSpace(stripComment(lines[i]))
		switch {
		case s == "":
			continue
		case s == "{":
			// A scoped block: a call sequence is one instruction.
			end, err := closing(lines, i)
			if err != nil {
				return k, err
			}
			var text strings.Builder
			for _, l := range lines[i : end+1] {
				text.WriteString(stripComment(l) + " ")
			}
			if m := callRE.FindStringSubmatch(text.String()); m != nil {
				cur.Insts = append(cur.Insts, Inst{Op: "call", Target: m[1]})
				i = end
			}
			// Otherwise its instructions are read one by one.
			continue
		case s == "}":
			continue
		}
		if m := labelRE.FindStringSubmatch(s); m != nil {
			flush()
			cur.Label = m[1]
			continue
		}
		if strings.HasPrefix(s, ".") && stmt.Len() == 0 {
			continue // .reg, .local, .shared, .loc, .pragma ...
		}
		stmt.WriteString(s)
		stmt.WriteByte(' ')
		if !strings.HasSuffix(s, ";") {
			continue
		}
		in := parseInst(strings.TrimSpace(stmt.String()))
		stmt.Reset()
		cur.Insts = append(cur.Insts, in)
		if strings.HasPrefix(in.Op, "bra") || in.Op == "ret" || in.Op == "exit" || in.Op == "trap" {
			flush()
		}
	}
	if stmt.Len() > 0 {
		return k, fmt.Errorf("unterminated instruction %q", stmt.String())
	}
	flush()
	if len(k.Blocks) == 0 {
		return k, errors.New("empty body")
	}
	return k, k.link()
}

func parseInst(s string) Inst {
	s = strings.TrimSuffix(s, ";")
	in := Inst{}
	if strings.HasPrefix(s, "@") {
		in.Pred = true
		if f := strings.Fields(s); len(f) > 1 {
			s = strings.Join(f[1:], " ")
		}
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return in
	}
	in.Op = f[0]
	if strings.HasPrefix(in.Op, "bra") {
		in.Target = strings.TrimSuffix(f[len(f)-1], ",")
	}
	if i := strings.IndexByte(s, '['); i >= 0 {
		if j := strings.IndexByte(s[i:], ']'); j >= 0 {
			in.Addr = s[i : i+j+1]
		}
	}
	if strings.HasPrefix(in.Op, "call") {
		if m := callRE.FindStringSubmatch(s); m != nil {
			in.Op, in.Target = "call", m[1]
		}
	}
	return in
}

// link fills the successors: a branch's target, and the next block unless
// the block ends in an unconditional branch or a return.
func (k *Kernel) link() error {
	at := map[string]int{}
	for i, b := range k.Blocks {
		if b.Label != "" {
			at[b.Label] = i
		}
	}
	for i := range k.Blocks {
		b := &k.Blocks[i]
		fall := true
		if n := len(b.Insts); n > 0 {
			last := b.Insts[n-1]
			switch {
			case strings.HasPrefix(last.Op, "bra"):
				t, ok := at[last.Target]
				if !ok {
					return fmt.Errorf("branch to unknown label %q", last.Target)
				}
				b.Succ = append(b.Succ, t)
				fall = last.Pred
			case last.Op == "ret" || last.Op == "exit" || last.Op == "trap":
				fall = last.Pred
			}
		}
		if fall && i+1 < len(k.Blocks) && !contains(b.Succ, i+1) {
			b.Succ = append(b.Succ, i+1)
		}
	}
	return nil
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Access is a memory instruction's shape.
type Access struct {
	// Space is "global", "local" (.local, or a generic address on the
	// stack, [%SP...]: registers spilled or an array indexed at run
	// time), "generic" (another generic address) or "" (shared, param,
	// const: not counted).
	Space string
	Store bool
	Lanes int
	Bits  int  // of one lane
	Float bool // a floating-point type
}

// Width is the access's width in bits.
func (a Access) Width() int { return a.Lanes * a.Bits }

// access classifies in; ok is false for an instruction that is no load or
// store (atomics and reductions are neither here).
func access(in Inst) (a Access, ok bool) {
	parts := strings.Split(in.Op, ".")
	switch parts[0] {
	case "ld", "ldu":
	case "st":
		a.Store = true
	default:
		return a, false
	}
	a.Space, a.Lanes = "generic", 1
	for _, p := range parts[1:] {
		switch {
		case p == "global":
			a.Space = "global"
		case p == "local":
			a.Space = "local"
		case p == "shared" || p == "param" || p == "const" || p == "tex":
			a.Space = ""
		case p == "v2" || p == "v4" || p == "v8":
			a.Lanes, _ = strconv.Atoi(p[1:])
		case len(p) >= 2 && strings.ContainsRune("fubs", rune(p[0])):
			if n, err := strconv.Atoi(p[1:]); err == nil {
				a.Bits, a.Float = n, p[0] == 'f'
			}
		}
	}
	if a.Space == "generic" && (strings.HasPrefix(in.Addr, "[%SP+") || strings.HasPrefix(in.Addr, "[%SPL+") ||
		in.Addr == "[%SP]" || in.Addr == "[%SPL]") {
		a.Space = "local"
	}
	return a, true
}

// Path is a kernel's hot path.
type Path struct {
	Region string // "body" (entry to return) or "loop <header label>"
	Blocks []int
	Insts  int
	Elems  int
	Calls  []string
	Loads  []string // global and generic load opcodes, one per instruction
	Stores []string
	Local  int // loads and stores of local memory (the stack)
	Ld128  int // 128-bit loads among Loads
	St128  int
}

// PerElem is instructions per element.
func (p Path) PerElem() float64 {
	if p.Elems == 0 {
		return 0
	}
	return float64(p.Insts) / float64(p.Elems)
}

// score orders paths: the most elements stored, then a path that loads
// from global memory over one that does not (the data branch over one that
// writes zeros, p = 1), then the fewest instructions. loads is 0 or 1.
type score struct{ elems, loads, insts int }

func (s score) better(t score) bool {
	if s.elems != t.elems {
		return s.elems > t.elems
	}
	if s.loads != t.loads {
		return s.loads > t.loads
	}
	return s.insts < t.insts
}

func (s score) plus(t score) score {
	return score{s.elems + t.elems, max(s.loads, t.loads), s.insts + t.insts}
}

var typeWordRE = regexp.MustCompile(`(?:^|_)(bf16|f16|half|f32|float|f64|double)(?:_|$)`)

// ElemBits is the width of the kernel's elements: from a type word in its
// name (f16, bf16, half: 16; f32, float: 32; f64, double: 64), else the
// widest floating-point global store lane, else the widest global store
// lane; 0 when it stores nothing.
func (k *Kernel) ElemBits() int {
	if m := typeWordRE.FindStringSubmatch(k.Name); m != nil {
		switch m[1] {
		case "bf16", "f16", "half":
			return 16
		case "f32", "float":
			return 32
		}
		return 64
	}
	fw, w := 0, 0
	for _, b := range k.Blocks {
		for _, in := range b.Insts {
			if a, ok := access(in); ok && a.Store && a.Space == "global" {
				w = max(w, a.Bits)
				if a.Float {
					fw = max(fw, a.Bits)
				}
			}
		}
	}
	if fw > 0 {
		return fw
	}
	return w
}

// HotPath finds the kernel's hot path as the package documentation defines
// it. A kernel that stores nothing has a path with Elems 0.
func (k *Kernel) HotPath() Path {
	// Elements: global store lanes of the element width, only the
	// floating-point ones where the kernel stores that width as floats
	// (a 32-bit mask word is no float32 element).
	w := k.ElemBits()
	floatAtW := false
	for _, b := range k.Blocks {
		for _, in := range b.Insts {
			if a, ok := access(in); ok && a.Store && a.Space == "global" && a.Float && a.Bits == w {
				floatAtW = true
			}
		}
	}
	cost := make([]score, len(k.Blocks))
	for i, b := range k.Blocks {
		cost[i].insts = len(b.Insts)
		for _, in := range b.Insts {
			a, ok := access(in)
			switch {
			case !ok || a.Space != "global":
			case a.Store && a.Bits == w && (a.Float || !floatAtW):
				cost[i].elems += a.Lanes
			case !a.Store:
				cost[i].loads = 1
			}
		}
	}
	back, order := k.dfs()
	var best *Path
	var bestScore score
	for _, h := range order {
		latches := back[h]
		if len(latches) == 0 {
			continue
		}
		body := k.loopBody(h, latches)
		p, s, ok := k.bestPath(h, latches, body, back, order, cost)
		if !ok || s.elems == 0 {
			continue
		}
		if best == nil || s.better(bestScore) {
			p.Region = "loop " + k.label(h)
			best, bestScore = &p, s
		}
	}
	if best == nil {
		var rets []int
		for i, b := range k.Blocks {
			if len(b.Succ) == 0 {
				rets = append(rets, i)
			}
		}
		all := make([]bool, len(k.Blocks))
		for i := range all {
			all[i] = true
		}
		p, _, ok := k.bestPath(0, rets, all, back, order, cost)
		if !ok {
			p = Path{}
		}
		p.Region = "body"
		best = &p
	}
	k.describe(best)
	return *best
}

func (k *Kernel) label(i int) string {
	if l := k.Blocks[i].Label; l != "" {
		return l
	}
	return fmt.Sprintf("#%d", i)
}

// dfs walks the graph from the entry: back[h] lists the blocks with a back
// edge to h, and order is the reverse postorder (a topological order once
// back edges are dropped).
func (k *Kernel) dfs() (back map[int][]int, order []int) {
	back = map[int][]int{}
	state := make([]int, len(k.Blocks)) // 0 new, 1 on the stack, 2 done
	var post []int
	var walk func(int)
	walk = func(v int) {
		state[v] = 1
		for _, w := range k.Blocks[v].Succ {
			switch state[w] {
			case 0:
				walk(w)
			case 1:
				back[w] = append(back[w], v)
			}
		}
		state[v] = 2
		post = append(post, v)
	}
	walk(0)
	for i := len(post) - 1; i >= 0; i-- {
		order = append(order, post[i])
	}
	return back, order
}

// loopBody is the natural loop of header h: h and every block that reaches
// a latch without passing through h.
func (k *Kernel) loopBody(h int, latches []int) []bool {
	preds := make([][]int, len(k.Blocks))
	for v, b := range k.Blocks {
		for _, w := range b.Succ {
			preds[w] = append(preds[w], v)
		}
	}
	in := make([]bool, len(k.Blocks))
	in[h] = true
	stack := append([]int(nil), latches...)
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if in[v] {
			continue
		}
		in[v] = true
		stack = append(stack, preds[v]...)
	}
	return in
}

// bestPath finds, among the paths from start to one of ends that stay in
// region and take no back edge, the one storing the most elements with the
// fewest instructions.
func (k *Kernel) bestPath(start int, ends []int, region []bool, back map[int][]int, order []int, cost []score) (Path, score, bool) {
	// Whether a path has loaded yet is part of the state (a flag that
	// does not add up along a path), so each block keeps its best path
	// with and without a load.
	type state struct{ v, l int }
	isBack := func(v, w int) bool { return contains(back[w], v) }
	best := map[state]score{}
	from := map[state]state{}
	s0 := state{start, cost[start].loads}
	best[s0], from[s0] = cost[start], state{-1, 0}
	for _, v := range order {
		if !region[v] {
			continue
		}
		for l := 0; l < 2; l++ {
			sv := state{v, l}
			bv, ok := best[sv]
			if !ok {
				continue
			}
			for _, w := range k.Blocks[v].Succ {
				if !region[w] || isBack(v, w) {
					continue
				}
				s := bv.plus(cost[w])
				sw := state{w, s.loads}
				if old, ok := best[sw]; !ok || s.better(old) {
					best[sw], from[sw] = s, sv
				}
			}
		}
	}
	end, found := state{}, false
	for _, e := range ends {
		for l := 0; l < 2; l++ {
			if s, ok := best[state{e, l}]; ok && (!found || s.better(best[end])) {
				end, found = state{e, l}, true
			}
		}
	}
	if !found {
		return Path{}, score{}, false
	}
	var blocks []int
	for st := end; st.v >= 0; st = from[st] {
		blocks = append([]int{st.v}, blocks...)
	}
	b := best[end]
	return Path{Blocks: blocks, Insts: b.insts, Elems: b.elems}, b, true
}

// Calls lists the functions the kernel calls, each once, in order.
func (k *Kernel) Calls() []string {
	var out []string
	for _, b := range k.Blocks {
		for _, in := range b.Insts {
			if n := demangle(in.Target); in.Op == "call" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// describe lists the path's calls and global memory accesses.
func (k *Kernel) describe(p *Path) {
	for _, bi := range p.Blocks {
		for _, in := range k.Blocks[bi].Insts {
			if in.Op == "call" {
				p.Calls = append(p.Calls, demangle(in.Target))
				continue
			}
			a, ok := access(in)
			switch {
			case !ok || a.Space == "":
				continue
			case a.Space == "local":
				p.Local++
				continue
			}
			if a.Store {
				p.Stores = append(p.Stores, in.Op)
				if a.Width() == 128 {
					p.St128++
				}
			} else {
				p.Loads = append(p.Loads, in.Op)
				if a.Width() == 128 {
					p.Ld128++
				}
			}
		}
	}
}

// demangle turns an Itanium-mangled builtin name (_Z6mul_hijj) into its
// plain name (mul_hi).
func demangle(s string) string {
	if !strings.HasPrefix(s, "_Z") {
		return s
	}
	t := s[2:]
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(t[:i])
	if err != nil || i+n > len(t) {
		return s
	}
	return t[i : i+n]
}
