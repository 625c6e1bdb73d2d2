// Package dropouttest is the conformance suite of dropout backends, as
// testing/fstest is for file systems: the single definition of a correct
// backend. Every backend's tests call Run:
//
//	func TestConformance(t *testing.T) {
//		dropouttest.Run(t, func() (dropout.Backend, error) { return mybackend.Open(...) }, dropouttest.Config{})
//	}
//
// Run compares the backend with the reference backend bit for bit (NaN
// results need only be NaN: payloads are not part of the contract) over
// sizes, drop probabilities, seeds, offsets, mask formats, backward in both
// forms, special values, split invariance, noise shapes, device buffers,
// views of them (Buffer.Slice at element offsets that are not multiples of
// 4, with the memory around each view checked untouched), buffers the
// backend wraps from memory made outside it (Config.Wrap), partially
// overlapping operands (dropout.ErrOverlap) and error cases. Statistics checks the keep rate and the mean-sum property of
// the seed document on the backend's own output.
//
// Require turns a missing device into a skip, or into a failure when the
// environment variable DROPOUT_REQUIRE_DEVICES is set (as `make test` does).
package dropouttest
