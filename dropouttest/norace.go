//go:build !race

package dropouttest

// raceEnabled reports whether the race detector is on (race.go).
const raceEnabled = false
