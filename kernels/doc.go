// Package kernels holds the device code of dropout: OpenCL C sources and
// GLSL compute shaders with the SPIR-V compiled from them, embedded with
// `go:embed` so that building needs no shader compiler. Each kernel language
// has one copy of Philox4x32-10, tested against the same known-answer
// vectors as the Go one (internal/philox).
package kernels
