//go:build cgo && !novulkan

package vkx

import (
	"fmt"

	vk "github.com/vulkan-go/vulkan"
)

// ResultError is a failed Vulkan call: the function and the VkResult.
type ResultError struct {
	Op     string // the Vulkan function, such as "vkAllocateMemory"
	Result vk.Result
}

func (e *ResultError) Error() string { return e.Op + ": " + ResultName(e.Result) }

// OutOfMemory reports whether the call failed for lack of device or host memory.
func (e *ResultError) OutOfMemory() bool {
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

// check turns the result of the Vulkan function op into an error: nil for
// VK_SUCCESS, a *ResultError otherwise.
func check(op string, r vk.Result) error {
	if r == vk.Success {
		return nil
	}
	return &ResultError{Op: op, Result: r}
}
