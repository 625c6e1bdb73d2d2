// Package vkx is the small layer between the Vulkan backend and vulkan-go,
// in the manner of Kompute: a Manager (instance, physical device, logical
// device, one compute queue), Buffers (device-local or host-visible
// storage, or host memory imported in place with
// VK_EXT_external_memory_host: ImportHost), Algorithms (a SPIR-V module with its specialization, bound to
// the one descriptor-set and push-constant layout the dropout shaders
// share) and a Sequence (a command buffer recorded, submitted and waited on
// with a fence). It hides vulkan-go's boilerplate: two-call enumerations,
// Deref, structure types, NUL-terminated names and memory-type search.
//
// Every vk.Result is checked, in one place (check); failures are
// *ResultError values that name the call and the result
// (VK_ERROR_OUT_OF_DEVICE_MEMORY …) and wrap dropout.ErrOutOfMemory for the
// results of a lack of memory.
//
// The package needs cgo; with CGO_ENABLED=0 or the novulkan build tag it
// is empty.
package vkx
