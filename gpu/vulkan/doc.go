// Package vulkan is the Vulkan compute backend of dropout, built on vulkan-go.
package vulkan
