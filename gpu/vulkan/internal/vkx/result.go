//go:build cgo && !novulkan

package vkx

import (
	"fmt"

	vk "github.com/vulkan-go/vulkan"

	"github.com/gpudropout/dropout"
)

// ResultError is a failed Vulkan call: the function and the VkResult. It
// wraps dropout.ErrOutOfMemory for the results of a lack of memory
// (VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
// VK_ERROR_OUT_OF_POOL_MEMORY), and no other error, so that however many
// layers add context, the error matches the sentinel once.
type ResultError struct {
	Op     string // the Vulkan function, such as "vkAllocateMemory"
	Result vk.Result
}

func (e *ResultError) Error() string {
	s := "vulkan: " + e.Op + ": " + ResultName(e.Result)
	if e.outOfMemory() {
		s += " (out of memory)"
	}
	return s
}

// Unwrap returns dropout.ErrOutOfMemory for the out-of-memory results,
// otherwise nil.
func (e *ResultError) Unwrap() error {
	if e.outOfMemory() {
		return dropout.ErrOutOfMemory
	}
	return nil
}

func (e *ResultError) outOfMemory() bool {
	return e.Result == vk.ErrorOutOfDeviceMemory || e.Result == vk.ErrorOutOfHostMemory || e.Result == errorOutOfPoolMemory
}

const (
	errorOutOfPoolMemory vk.Result = -1000069000
	errorFragmentation   vk.Result = -1000161000
	errorUnknown         vk.Result = -13
	errorFragmentedPool  vk.Result = -12
)

var resultNames = map[vk.Result]string{
	vk.Success:                   "VK_SUCCESS",
	vk.NotReady:                  "VK_NOT_READY",
	vk.Timeout:                   "VK_TIMEOUT",
	vk.EventSet:                  "VK_EVENT_SET",
	vk.EventReset:                "VK_EVENT_RESET",
	vk.Incomplete:                "VK_INCOMPLETE",
	vk.ErrorOutOfHostMemory:      "VK_ERROR_OUT_OF_HOST_MEMORY",
	vk.ErrorOutOfDeviceMemory:    "VK_ERROR_OUT_OF_DEVICE_MEMORY",
	vk.ErrorInitializationFailed: "VK_ERROR_INITIALIZATION_FAILED",
	vk.ErrorDeviceLost:           "VK_ERROR_DEVICE_LOST",
	vk.ErrorMemoryMapFailed:      "VK_ERROR_MEMORY_MAP_FAILED",
	vk.ErrorLayerNotPresent:      "VK_ERROR_LAYER_NOT_PRESENT",
	vk.ErrorExtensionNotPresent:  "VK_ERROR_EXTENSION_NOT_PRESENT",
	vk.ErrorFeatureNotPresent:    "VK_ERROR_FEATURE_NOT_PRESENT",
	vk.ErrorIncompatibleDriver:   "VK_ERROR_INCOMPATIBLE_DRIVER",
	vk.ErrorTooManyObjects:       "VK_ERROR_TOO_MANY_OBJECTS",
	vk.ErrorFormatNotSupported:   "VK_ERROR_FORMAT_NOT_SUPPORTED",
	vk.ErrorValidationFailed:     "VK_ERROR_VALIDATION_FAILED_EXT",
	errorFragmentedPool:          "VK_ERROR_FRAGMENTED_POOL",
	errorUnknown:                 "VK_ERROR_UNKNOWN",
	errorOutOfPoolMemory:         "VK_ERROR_OUT_OF_POOL_MEMORY",
	errorFragmentation:           "VK_ERROR_FRAGMENTATION",
}

// ResultName returns the VkResult's name, such as "VK_ERROR_DEVICE_LOST".
func ResultName(r vk.Result) string {
	if s, ok := resultNames[r]; ok {
		return s
	}
	return fmt.Sprintf("VkResult(%d)", int32(r))
}

// check is the one place that turns the result of a Vulkan call into an
// error: nil for VK_SUCCESS, otherwise a *ResultError naming the function
// op and the result.
func check(op string, r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	return &ResultError{Op: op, Result: r}
}
