package driver

import "github.com/gpudropout/dropout"

// Plan is a validated call: what a backend needs to run it.
type Plan = dropout.Plan

// NewPlan validates a forward or backward call and returns its plan.
func NewPlan(dst, src, mask dropout.Tensor, p dropout.Params) (Plan, error) {
	return dropout.NewPlan(dst, src, mask, p)
}

// HostMemory is a host-memory Buffer wrapping one from NewHostBuffer.
type HostMemory = dropout.HostMemory

// NewHostBuffer returns a Buffer in host memory.
func NewHostBuffer(dt dropout.DType, n int) (dropout.Buffer, error) {
	return dropout.NewHostBuffer(dt, n)
}

// Host returns the host slice behind t.
func Host(t dropout.Tensor) (dropout.Tensor, bool) { return dropout.Host(t) }

// HostOperand returns the host slice behind an operand, or an error.
func HostOperand(t dropout.Tensor) (dropout.Tensor, error) { return dropout.HostOperand(t) }

// IsHostBuffer reports whether t is a host-memory buffer.
func IsHostBuffer(t dropout.Tensor) bool { return dropout.IsHostBuffer(t) }

// CopyHost copies host tensors.
func CopyHost(dst, src dropout.Tensor) error { return dropout.CopyHost(dst, src) }

// CheckCopy checks that src can be copied into dst.
func CheckCopy(dst, src dropout.Tensor) error { return dropout.CheckCopy(dst, src) }

// RawBytes returns the memory of a host tensor as bytes.
func RawBytes(t dropout.Tensor) ([]byte, bool) { return dropout.RawBytes(t) }
