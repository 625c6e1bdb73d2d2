//go:build race

package dropouttest

// raceEnabled reports whether the race detector is on: the suite's large
// cases then shrink (see Run and Statistics), since instrumented Go code
// runs several times slower and make test runs every package under -race.
const raceEnabled = true
