package philox

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// KAT is one known-answer vector: Block(Ctr, Key) must equal Out.
type KAT struct {
	Name string
	Ctr  [4]uint32
	Key  [2]uint32
	Out  [4]uint32
}

//go:embed kat.txt
var katText string

// KnownAnswers returns the Random123 known-answer vectors of kat.txt, the
// one copy every Philox implementation of this module is tested against.
func KnownAnswers() []KAT {
	kats, err := parseKATs(katText)
	if err != nil {
		panic("philox: kat.txt: " + err.Error()) // the embedded file is fixed at build time
	}
	return kats
}

func parseKATs(text string) ([]KAT, error) {
	var kats []KAT
	for i, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 11 {
			return nil, fmt.Errorf("line %d: %d fields, want 11", i+1, len(f))
		}
		var w [10]uint32
		for j := range w {
			v, err := strconv.ParseUint(f[j+1], 16, 32)
			if err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			w[j] = uint32(v)
		}
		kats = append(kats, KAT{
			Name: f[0],
			Ctr:  [4]uint32{w[0], w[1], w[2], w[3]},
			Key:  [2]uint32{w[4], w[5]},
			Out:  [4]uint32{w[6], w[7], w[8], w[9]},
		})
	}
	if len(kats) == 0 {
		return nil, fmt.Errorf("no vectors")
	}
	return kats, nil
}
