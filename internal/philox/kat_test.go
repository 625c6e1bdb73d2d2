package philox

import "testing"

// TestKATFile checks Block against kat.txt, the vectors every other Philox
// of the module is tested against too, and that the file holds the three
// Random123 vectors (a truncated file would make every such test vacuous).
func TestKATFile(t *testing.T) {
	kats := KnownAnswers()
	names := map[string]bool{}
	for _, k := range kats {
		names[k.Name] = true
		if got := Block(k.Ctr, k.Key); got != k.Out {
			t.Errorf("%s: Block(%08x, %08x) = %08x, want %08x", k.Name, k.Ctr, k.Key, got, k.Out)
		}
	}
	if len(kats) != 3 || !names["zeros"] || !names["ones"] || !names["pi"] {
		t.Errorf("kat.txt has %d vectors %v, want zeros, ones and pi", len(kats), names)
	}
	if _, err := parseKATs("zeros 0 0\n"); err == nil {
		t.Error("a short line parsed")
	}
}
