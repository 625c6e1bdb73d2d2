//go:build cgo && !noopencl

package opencl

import (
	"errors"
	"fmt"

	"github.com/jgillich/go-opencl/cl"

	"github.com/gpudropout/dropout"
)

// clError is a failed OpenCL call: the function and the status code it
// returned. It wraps dropout.ErrOutOfMemory for the codes of a lack of
// memory, and no other error.
type clError struct {
	Op   string // the OpenCL function, such as "clEnqueueNDRangeKernel"
	Code int    // the CL status code, such as -4
}

func (e *clError) Error() string {
	return fmt.Sprintf("opencl: %s: %s (%d)", e.Op, codeName(e.Code), e.Code)
}

// Unwrap returns dropout.ErrOutOfMemory for CL_MEM_OBJECT_ALLOCATION_FAILURE,
// CL_OUT_OF_RESOURCES and CL_OUT_OF_HOST_MEMORY, otherwise nil.
func (e *clError) Unwrap() error {
	switch e.Code {
	case -4, -5, -6:
		return dropout.ErrOutOfMemory
	}
	return nil
}

// check is the one place that turns the result of an OpenCL call into an
// error: nil stays nil; anything else becomes a *clError naming the call
// and the status code, or, for a failed build, an error carrying the
// compiler's log.
func check(op string, err error) error {
	if err == nil {
		return nil
	}
	var be cl.BuildError
	if errors.As(err, &be) {
		return fmt.Errorf("opencl: %s: CL_BUILD_PROGRAM_FAILURE (-11); build log:\n%s", op, string(be))
	}
	return &clError{Op: op, Code: code(err)}
}

// code recovers the CL status code of a go-opencl error.
func code(err error) int {
	var other cl.ErrOther
	if errors.As(err, &other) {
		return int(other)
	}
	for c, e := range codeErrs {
		if errors.Is(err, e) {
			return c
		}
	}
	return 0 // not a status code: go-opencl's ErrUnknown (a NULL result with CL_SUCCESS)
}

// codeErrs maps status codes to the error values go-opencl returns for them.
var codeErrs = map[int]error{
	-1: cl.ErrDeviceNotFound, -2: cl.ErrDeviceNotAvailable, -3: cl.ErrCompilerNotAvailable,
	-4: cl.ErrMemObjectAllocationFailure, -5: cl.ErrOutOfResources, -6: cl.ErrOutOfHostMemory,
	-7: cl.ErrProfilingInfoNotAvailable, -8: cl.ErrMemCopyOverlap, -9: cl.ErrImageFormatMismatch,
	-10: cl.ErrImageFormatNotSupported, -11: cl.ErrBuildProgramFailure, -12: cl.ErrMapFailure,
	-13: cl.ErrMisalignedSubBufferOffset, -14: cl.ErrExecStatusErrorForEventsInWaitList,
	-30: cl.ErrInvalidValue, -31: cl.ErrInvalidDeviceType, -32: cl.ErrInvalidPlatform,
	-33: cl.ErrInvalidDevice, -34: cl.ErrInvalidContext, -35: cl.ErrInvalidQueueProperties,
	-36: cl.ErrInvalidCommandQueue, -37: cl.ErrInvalidHostPtr, -38: cl.ErrInvalidMemObject,
	-39: cl.ErrInvalidImageFormatDescriptor, -40: cl.ErrInvalidImageSize, -41: cl.ErrInvalidSampler,
	-42: cl.ErrInvalidBinary, -43: cl.ErrInvalidBuildOptions, -44: cl.ErrInvalidProgram,
	-45: cl.ErrInvalidProgramExecutable, -46: cl.ErrInvalidKernelName, -47: cl.ErrInvalidKernelDefinition,
	-48: cl.ErrInvalidKernel, -49: cl.ErrInvalidArgIndex, -50: cl.ErrInvalidArgValue,
	-51: cl.ErrInvalidArgSize, -52: cl.ErrInvalidKernelArgs, -53: cl.ErrInvalidWorkDimension,
	-54: cl.ErrInvalidWorkGroupSize, -55: cl.ErrInvalidWorkItemSize, -56: cl.ErrInvalidGlobalOffset,
	-57: cl.ErrInvalidEventWaitList, -58: cl.ErrInvalidEvent, -59: cl.ErrInvalidOperation,
	-60: cl.ErrInvalidGlObject, -61: cl.ErrInvalidBufferSize, -62: cl.ErrInvalidMipLevel,
	-63: cl.ErrInvalidGlobalWorkSize, -64: cl.ErrInvalidProperty,
	-15: cl.ErrCompileProgramFailure, -16: cl.ErrLinkerNotAvailable, -17: cl.ErrLinkProgramFailure,
	-18: cl.ErrDevicePartitionFailed, -19: cl.ErrKernelArgInfoNotAvailable,
	-65: cl.ErrInvalidImageDescriptor, -66: cl.ErrInvalidCompilerOptions,
	-67: cl.ErrInvalidLinkerOptions, -68: cl.ErrInvalidDevicePartitionCount,
}

// codeNames are the names of the OpenCL 1.2 status codes and of the ICD
// loader's CL_PLATFORM_NOT_FOUND_KHR.
var codeNames = map[int]string{
	0: "CL_SUCCESS", -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE",
	-3: "CL_COMPILER_NOT_AVAILABLE", -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE",
	-5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY", -7: "CL_PROFILING_INFO_NOT_AVAILABLE",
	-8: "CL_MEM_COPY_OVERLAP", -9: "CL_IMAGE_FORMAT_MISMATCH", -10: "CL_IMAGE_FORMAT_NOT_SUPPORTED",
	-11: "CL_BUILD_PROGRAM_FAILURE", -12: "CL_MAP_FAILURE", -13: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
	-14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", -15: "CL_COMPILE_PROGRAM_FAILURE",
	-16: "CL_LINKER_NOT_AVAILABLE", -17: "CL_LINK_PROGRAM_FAILURE", -18: "CL_DEVICE_PARTITION_FAILED",
	-19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
	-30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM",
	-33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT", -35: "CL_INVALID_QUEUE_PROPERTIES",
	-36: "CL_INVALID_COMMAND_QUEUE", -37: "CL_INVALID_HOST_PTR", -38: "CL_INVALID_MEM_OBJECT",
	-39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR", -40: "CL_INVALID_IMAGE_SIZE", -41: "CL_INVALID_SAMPLER",
	-42: "CL_INVALID_BINARY", -43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM",
	-45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME", -47: "CL_INVALID_KERNEL_DEFINITION",
	-48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX", -50: "CL_INVALID_ARG_VALUE",
	-51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS", -53: "CL_INVALID_WORK_DIMENSION",
	-54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE", -56: "CL_INVALID_GLOBAL_OFFSET",
	-57: "CL_INVALID_EVENT_WAIT_LIST", -58: "CL_INVALID_EVENT", -59: "CL_INVALID_OPERATION",
	-60: "CL_INVALID_GL_OBJECT", -61: "CL_INVALID_BUFFER_SIZE", -62: "CL_INVALID_MIP_LEVEL",
	-63: "CL_INVALID_GLOBAL_WORK_SIZE", -64: "CL_INVALID_PROPERTY", -65: "CL_INVALID_IMAGE_DESCRIPTOR",
	-66: "CL_INVALID_COMPILER_OPTIONS", -67: "CL_INVALID_LINKER_OPTIONS", -68: "CL_INVALID_DEVICE_PARTITION_COUNT",
	-1001: "CL_PLATFORM_NOT_FOUND_KHR",
}

func codeName(c int) string {
	if c == 0 {
		return "NULL result"
	}
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "unknown status"
}

// safe runs f, a go-opencl query that panics when the OpenCL call fails
// (Platform.Name, Device.Type and the like), and returns its panic as an error.
func safe[T any](op string, f func() T) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("opencl: %s failed: %v", op, r)
		}
	}()
	return f(), nil
}
