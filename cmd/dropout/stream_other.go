//go:build !linux

package main

import "github.com/gpudropout/dropout/internal/npy"

// directIO streams with direct I/O on Linux only: elsewhere it reports
// false and the buffered pipeline runs.
func (s *streamJob) directIO(out *npy.File, mw *maskWriter) (bool, error) {
	return false, nil
}
