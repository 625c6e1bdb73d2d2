//go:build cgo && !novulkan

package vkx

// Why this file exists: vulkan-go converts every slice of structs it hands
// to C (unpackArgS* in its cgo_helpers.go) into calloc'd memory and sets a
// finalizer on a local variable that frees that memory with
// `go allocs.Free()`. The variable is unreachable as soon as the converter
// returns, so a garbage collection during the Vulkan call (another
// goroutine allocating, a test running in parallel) frees the create infos,
// barriers, submits or descriptor writes while the driver reads them:
// vkCreateComputePipelines crashed with SIGSEGV inside lavapipe that way.
// Its struct converters also store Go pointers (SPIR-V code, entry-point
// names, specialization data, layer names) in C memory, where nothing keeps
// them alive during the call. And its converters for single structs
// passed by pointer (PassRef: create infos, properties, requirements)
// calloc a C copy that nothing frees unless the caller calls Free: every
// vkCreateBuffer, vkAllocateMemory, vkCreateFence, property query… leaked
// one, about 10 KB per backend Open/Close. So every call whose arguments
// hold pointers is made here: C builds the structs on its own stack from
// plain arguments, and Go memory is only ever passed as a direct argument
// of the cgo call, which the cgo rules keep valid for the duration of that
// call. (Two calls still go through vulkan-go and free its copy
// explicitly: vkGetPhysicalDeviceProperties, whose limits struct is not
// worth restating here, and vkCreateDebugReportCallbackEXT.)

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int32_t vkxResult;
typedef uint64_t vkxND; // a non-dispatchable handle

// The Vulkan 1.0 structures used, laid out as in vulkan_core.h (checked
// against it below where it is installed).
typedef struct { int32_t sType; const void *pNext; const char *pApplicationName; uint32_t applicationVersion; const char *pEngineName; uint32_t engineVersion; uint32_t apiVersion; } vkxApplicationInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; const vkxApplicationInfo *pApplicationInfo; uint32_t enabledLayerCount; const char *const *ppEnabledLayerNames; uint32_t enabledExtensionCount; const char *const *ppEnabledExtensionNames; } vkxInstanceCreateInfo;
typedef struct { char layerName[256]; uint32_t specVersion; uint32_t implementationVersion; char description[256]; } vkxLayerProperties;
typedef struct { char extensionName[256]; uint32_t specVersion; } vkxExtensionProperties;
typedef struct { uint32_t queueFlags; uint32_t queueCount; uint32_t timestampValidBits; uint32_t minImageTransferGranularity[3]; } vkxQueueFamilyProperties;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t queueFamilyIndex; uint32_t queueCount; const float *pQueuePriorities; } vkxDeviceQueueCreateInfo;
typedef struct { uint32_t f[55]; } vkxPhysicalDeviceFeatures;
#define VKX_SHADER_FLOAT64 39
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t queueCreateInfoCount; const vkxDeviceQueueCreateInfo *pQueueCreateInfos; uint32_t enabledLayerCount; const char *const *ppEnabledLayerNames; uint32_t enabledExtensionCount; const char *const *ppEnabledExtensionNames; const vkxPhysicalDeviceFeatures *pEnabledFeatures; } vkxDeviceCreateInfo;
typedef struct { uint32_t binding; int32_t descriptorType; uint32_t descriptorCount; uint32_t stageFlags; const vkxND *pImmutableSamplers; } vkxDescriptorSetLayoutBinding;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t bindingCount; const vkxDescriptorSetLayoutBinding *pBindings; } vkxDescriptorSetLayoutCreateInfo;
typedef struct { uint32_t stageFlags; uint32_t offset; uint32_t size; } vkxPushConstantRange;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t setLayoutCount; const vkxND *pSetLayouts; uint32_t pushConstantRangeCount; const vkxPushConstantRange *pPushConstantRanges; } vkxPipelineLayoutCreateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; size_t codeSize; const uint32_t *pCode; } vkxShaderModuleCreateInfo;
typedef struct { uint32_t constantID; uint32_t offset; size_t size; } vkxSpecializationMapEntry;
typedef struct { uint32_t mapEntryCount; const vkxSpecializationMapEntry *pMapEntries; size_t dataSize; const void *pData; } vkxSpecializationInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t stage; vkxND module; const char *pName; const vkxSpecializationInfo *pSpecializationInfo; } vkxPipelineShaderStageCreateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; vkxPipelineShaderStageCreateInfo stage; vkxND layout; vkxND basePipelineHandle; int32_t basePipelineIndex; } vkxComputePipelineCreateInfo;
typedef struct { int32_t type; uint32_t descriptorCount; } vkxDescriptorPoolSize;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t maxSets; uint32_t poolSizeCount; const vkxDescriptorPoolSize *pPoolSizes; } vkxDescriptorPoolCreateInfo;
typedef struct { int32_t sType; const void *pNext; vkxND descriptorPool; uint32_t descriptorSetCount; const vkxND *pSetLayouts; } vkxDescriptorSetAllocateInfo;
typedef struct { vkxND buffer; uint64_t offset; uint64_t range; } vkxDescriptorBufferInfo;
typedef struct { int32_t sType; const void *pNext; vkxND dstSet; uint32_t dstBinding; uint32_t dstArrayElement; uint32_t descriptorCount; int32_t descriptorType; const void *pImageInfo; const vkxDescriptorBufferInfo *pBufferInfo; const vkxND *pTexelBufferView; } vkxWriteDescriptorSet;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; const void *pInheritanceInfo; } vkxCommandBufferBeginInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t srcAccessMask; uint32_t dstAccessMask; } vkxMemoryBarrier;
typedef struct { uint64_t srcOffset; uint64_t dstOffset; uint64_t size; } vkxBufferCopy;
typedef struct { int32_t sType; const void *pNext; uint32_t waitSemaphoreCount; const vkxND *pWaitSemaphores; const uint32_t *pWaitDstStageMask; uint32_t commandBufferCount; void *const *pCommandBuffers; uint32_t signalSemaphoreCount; const vkxND *pSignalSemaphores; } vkxSubmitInfo;
typedef struct { uint32_t propertyFlags; uint32_t heapIndex; } vkxMemoryType;
typedef struct { uint64_t size; uint32_t flags; } vkxMemoryHeap;
typedef struct { uint32_t memoryTypeCount; vkxMemoryType memoryTypes[32]; uint32_t memoryHeapCount; vkxMemoryHeap memoryHeaps[16]; } vkxPhysicalDeviceMemoryProperties;
typedef struct { int32_t sType; void *pNext; vkxPhysicalDeviceMemoryProperties memoryProperties; } vkxPhysicalDeviceMemoryProperties2;
typedef struct { int32_t sType; void *pNext; uint64_t heapBudget[16]; uint64_t heapUsage[16]; } vkxPhysicalDeviceMemoryBudgetProperties;
#define VKX_STYPE_MEMORY_PROPERTIES_2 1000059006
#define VKX_STYPE_MEMORY_BUDGET 1000237000
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint64_t size; uint32_t usage; int32_t sharingMode; uint32_t queueFamilyIndexCount; const uint32_t *pQueueFamilyIndices; } vkxBufferCreateInfo;
typedef struct { uint64_t size; uint64_t alignment; uint32_t memoryTypeBits; } vkxMemoryRequirements;
typedef struct { int32_t sType; const void *pNext; uint64_t allocationSize; uint32_t memoryTypeIndex; } vkxMemoryAllocateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; uint32_t queueFamilyIndex; } vkxCommandPoolCreateInfo;
typedef struct { int32_t sType; const void *pNext; vkxND commandPool; int32_t level; uint32_t commandBufferCount; } vkxCommandBufferAllocateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t flags; } vkxFenceCreateInfo;
// VK_EXT_external_memory_host (and the Vulkan 1.1 structures it needs).
typedef struct { int32_t sType; const void *pNext; uint32_t handleTypes; } vkxExternalMemoryBufferCreateInfo;
typedef struct { int32_t sType; const void *pNext; uint32_t handleType; void *pHostPointer; } vkxImportMemoryHostPointerInfo;
typedef struct { int32_t sType; void *pNext; uint32_t memoryTypeBits; } vkxMemoryHostPointerProperties;
typedef struct { int32_t sType; void *pNext; uint64_t minImportedHostPointerAlignment; } vkxExternalMemoryHostProperties;
typedef struct { int32_t sType; void *pNext; uint64_t properties[128]; } vkxPhysicalDeviceProperties2; // room beyond VkPhysicalDeviceProperties's 824 bytes
#define VKX_STYPE_PROPERTIES_2 1000059001
// Vulkan 1.1 subgroup properties.
typedef struct { int32_t sType; void *pNext; uint32_t subgroupSize; uint32_t supportedStages; uint32_t supportedOperations; uint32_t quadOperationsInAllStages; } vkxSubgroupProperties;
#define VKX_STYPE_SUBGROUP_PROPERTIES 1000094000
#define VKX_STYPE_EXTERNAL_MEMORY_BUFFER 1000072000
#define VKX_STYPE_IMPORT_HOST_POINTER 1000178000
#define VKX_STYPE_HOST_POINTER_PROPERTIES 1000178001
#define VKX_STYPE_EXTERNAL_MEMORY_HOST_PROPERTIES 1000178002
#define VKX_HANDLE_HOST_ALLOCATION 0x80

#if defined(__has_include)
#if __has_include(<vulkan/vulkan_core.h>)
#include <vulkan/vulkan_core.h>
#define VKX_SAME(a, b) _Static_assert(sizeof(a) == sizeof(b), #a " differs from " #b)
#define VKX_AT(a, b, f) _Static_assert(offsetof(a, f) == offsetof(b, f), #a "." #f " differs from " #b)
VKX_SAME(vkxApplicationInfo, VkApplicationInfo); VKX_AT(vkxApplicationInfo, VkApplicationInfo, apiVersion);
VKX_SAME(vkxInstanceCreateInfo, VkInstanceCreateInfo); VKX_AT(vkxInstanceCreateInfo, VkInstanceCreateInfo, ppEnabledExtensionNames);
VKX_SAME(vkxLayerProperties, VkLayerProperties); VKX_AT(vkxLayerProperties, VkLayerProperties, description);
VKX_SAME(vkxExtensionProperties, VkExtensionProperties);
VKX_SAME(vkxQueueFamilyProperties, VkQueueFamilyProperties); VKX_AT(vkxQueueFamilyProperties, VkQueueFamilyProperties, queueCount);
VKX_SAME(vkxDeviceQueueCreateInfo, VkDeviceQueueCreateInfo); VKX_AT(vkxDeviceQueueCreateInfo, VkDeviceQueueCreateInfo, pQueuePriorities);
VKX_SAME(vkxPhysicalDeviceFeatures, VkPhysicalDeviceFeatures);
_Static_assert(offsetof(VkPhysicalDeviceFeatures, shaderFloat64) == VKX_SHADER_FLOAT64 * 4, "shaderFloat64");
VKX_SAME(vkxDeviceCreateInfo, VkDeviceCreateInfo); VKX_AT(vkxDeviceCreateInfo, VkDeviceCreateInfo, pEnabledFeatures);
VKX_SAME(vkxDescriptorSetLayoutBinding, VkDescriptorSetLayoutBinding); VKX_AT(vkxDescriptorSetLayoutBinding, VkDescriptorSetLayoutBinding, pImmutableSamplers);
VKX_SAME(vkxDescriptorSetLayoutCreateInfo, VkDescriptorSetLayoutCreateInfo); VKX_AT(vkxDescriptorSetLayoutCreateInfo, VkDescriptorSetLayoutCreateInfo, pBindings);
VKX_SAME(vkxPushConstantRange, VkPushConstantRange);
VKX_SAME(vkxPipelineLayoutCreateInfo, VkPipelineLayoutCreateInfo); VKX_AT(vkxPipelineLayoutCreateInfo, VkPipelineLayoutCreateInfo, pPushConstantRanges);
VKX_SAME(vkxShaderModuleCreateInfo, VkShaderModuleCreateInfo); VKX_AT(vkxShaderModuleCreateInfo, VkShaderModuleCreateInfo, pCode);
VKX_SAME(vkxSpecializationMapEntry, VkSpecializationMapEntry); VKX_AT(vkxSpecializationMapEntry, VkSpecializationMapEntry, size);
VKX_SAME(vkxSpecializationInfo, VkSpecializationInfo); VKX_AT(vkxSpecializationInfo, VkSpecializationInfo, pData);
VKX_SAME(vkxPipelineShaderStageCreateInfo, VkPipelineShaderStageCreateInfo); VKX_AT(vkxPipelineShaderStageCreateInfo, VkPipelineShaderStageCreateInfo, module); VKX_AT(vkxPipelineShaderStageCreateInfo, VkPipelineShaderStageCreateInfo, pSpecializationInfo);
VKX_SAME(vkxComputePipelineCreateInfo, VkComputePipelineCreateInfo); VKX_AT(vkxComputePipelineCreateInfo, VkComputePipelineCreateInfo, stage); VKX_AT(vkxComputePipelineCreateInfo, VkComputePipelineCreateInfo, layout); VKX_AT(vkxComputePipelineCreateInfo, VkComputePipelineCreateInfo, basePipelineIndex);
VKX_SAME(vkxDescriptorPoolSize, VkDescriptorPoolSize);
VKX_SAME(vkxDescriptorPoolCreateInfo, VkDescriptorPoolCreateInfo); VKX_AT(vkxDescriptorPoolCreateInfo, VkDescriptorPoolCreateInfo, pPoolSizes);
VKX_SAME(vkxDescriptorSetAllocateInfo, VkDescriptorSetAllocateInfo); VKX_AT(vkxDescriptorSetAllocateInfo, VkDescriptorSetAllocateInfo, pSetLayouts);
VKX_SAME(vkxDescriptorBufferInfo, VkDescriptorBufferInfo);
VKX_SAME(vkxWriteDescriptorSet, VkWriteDescriptorSet); VKX_AT(vkxWriteDescriptorSet, VkWriteDescriptorSet, descriptorType); VKX_AT(vkxWriteDescriptorSet, VkWriteDescriptorSet, pBufferInfo);
VKX_SAME(vkxCommandBufferBeginInfo, VkCommandBufferBeginInfo);
VKX_SAME(vkxMemoryBarrier, VkMemoryBarrier);
VKX_SAME(vkxBufferCopy, VkBufferCopy);
VKX_SAME(vkxSubmitInfo, VkSubmitInfo); VKX_AT(vkxSubmitInfo, VkSubmitInfo, pCommandBuffers); VKX_AT(vkxSubmitInfo, VkSubmitInfo, pSignalSemaphores);
VKX_SAME(vkxMemoryType, VkMemoryType);
VKX_SAME(vkxMemoryHeap, VkMemoryHeap);
VKX_SAME(vkxPhysicalDeviceMemoryProperties, VkPhysicalDeviceMemoryProperties); VKX_AT(vkxPhysicalDeviceMemoryProperties, VkPhysicalDeviceMemoryProperties, memoryHeaps);
VKX_SAME(vkxPhysicalDeviceMemoryProperties2, VkPhysicalDeviceMemoryProperties2); VKX_AT(vkxPhysicalDeviceMemoryProperties2, VkPhysicalDeviceMemoryProperties2, memoryProperties);
VKX_SAME(vkxPhysicalDeviceMemoryBudgetProperties, VkPhysicalDeviceMemoryBudgetPropertiesEXT); VKX_AT(vkxPhysicalDeviceMemoryBudgetProperties, VkPhysicalDeviceMemoryBudgetPropertiesEXT, heapUsage);
_Static_assert(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2 == VKX_STYPE_MEMORY_PROPERTIES_2 && VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT == VKX_STYPE_MEMORY_BUDGET, "memory sType values");
VKX_SAME(vkxBufferCreateInfo, VkBufferCreateInfo); VKX_AT(vkxBufferCreateInfo, VkBufferCreateInfo, size); VKX_AT(vkxBufferCreateInfo, VkBufferCreateInfo, pQueueFamilyIndices);
VKX_SAME(vkxMemoryRequirements, VkMemoryRequirements); VKX_AT(vkxMemoryRequirements, VkMemoryRequirements, memoryTypeBits);
VKX_SAME(vkxMemoryAllocateInfo, VkMemoryAllocateInfo); VKX_AT(vkxMemoryAllocateInfo, VkMemoryAllocateInfo, memoryTypeIndex);
VKX_SAME(vkxCommandPoolCreateInfo, VkCommandPoolCreateInfo); VKX_AT(vkxCommandPoolCreateInfo, VkCommandPoolCreateInfo, queueFamilyIndex);
VKX_SAME(vkxCommandBufferAllocateInfo, VkCommandBufferAllocateInfo); VKX_AT(vkxCommandBufferAllocateInfo, VkCommandBufferAllocateInfo, commandBufferCount);
VKX_SAME(vkxFenceCreateInfo, VkFenceCreateInfo);
VKX_SAME(vkxExternalMemoryBufferCreateInfo, VkExternalMemoryBufferCreateInfo); VKX_AT(vkxExternalMemoryBufferCreateInfo, VkExternalMemoryBufferCreateInfo, handleTypes);
VKX_SAME(vkxImportMemoryHostPointerInfo, VkImportMemoryHostPointerInfoEXT); VKX_AT(vkxImportMemoryHostPointerInfo, VkImportMemoryHostPointerInfoEXT, pHostPointer);
VKX_SAME(vkxMemoryHostPointerProperties, VkMemoryHostPointerPropertiesEXT); VKX_AT(vkxMemoryHostPointerProperties, VkMemoryHostPointerPropertiesEXT, memoryTypeBits);
VKX_SAME(vkxExternalMemoryHostProperties, VkPhysicalDeviceExternalMemoryHostPropertiesEXT); VKX_AT(vkxExternalMemoryHostProperties, VkPhysicalDeviceExternalMemoryHostPropertiesEXT, minImportedHostPointerAlignment);
_Static_assert(sizeof(vkxPhysicalDeviceProperties2) >= sizeof(VkPhysicalDeviceProperties2), "VkPhysicalDeviceProperties2");
VKX_SAME(vkxSubgroupProperties, VkPhysicalDeviceSubgroupProperties); VKX_AT(vkxSubgroupProperties, VkPhysicalDeviceSubgroupProperties, supportedOperations);
_Static_assert(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES == VKX_STYPE_SUBGROUP_PROPERTIES, "subgroup properties sType");
_Static_assert(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2 == VKX_STYPE_PROPERTIES_2 &&
	VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO == VKX_STYPE_EXTERNAL_MEMORY_BUFFER &&
	VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT == VKX_STYPE_IMPORT_HOST_POINTER &&
	VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT == VKX_STYPE_HOST_POINTER_PROPERTIES &&
	VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT == VKX_STYPE_EXTERNAL_MEMORY_HOST_PROPERTIES &&
	VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT == VKX_HANDLE_HOST_ALLOCATION, "external memory host values");
_Static_assert(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO == 12 && VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO == 5 &&
	VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO == 39 && VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO == 40 &&
	VK_STRUCTURE_TYPE_FENCE_CREATE_INFO == 8, "sType values of buffers, memory, pools and fences");
_Static_assert(VK_STRUCTURE_TYPE_APPLICATION_INFO == 0 && VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO == 1 &&
	VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO == 2 && VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO == 3 &&
	VK_STRUCTURE_TYPE_SUBMIT_INFO == 4 && VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO == 16 &&
	VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO == 18 && VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO == 29 &&
	VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO == 30 && VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO == 32 &&
	VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO == 33 && VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO == 34 &&
	VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET == 35 && VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO == 42 &&
	VK_STRUCTURE_TYPE_MEMORY_BARRIER == 46, "sType values");
_Static_assert(VK_DESCRIPTOR_TYPE_STORAGE_BUFFER == 7 && VK_SHADER_STAGE_COMPUTE_BIT == 0x20, "enum values");
#endif
#endif

typedef vkxResult (*vkxPFNCreateInstance)(const vkxInstanceCreateInfo *, const void *, void **);
typedef vkxResult (*vkxPFNEnumerateLayers)(uint32_t *, vkxLayerProperties *);
typedef vkxResult (*vkxPFNEnumerateExtensions)(const char *, uint32_t *, vkxExtensionProperties *);
typedef void (*vkxPFNQueueFamilies)(void *, uint32_t *, vkxQueueFamilyProperties *);
typedef vkxResult (*vkxPFNCreateDevice)(void *, const vkxDeviceCreateInfo *, const void *, void **);
typedef vkxResult (*vkxPFNCreateDescriptorSetLayout)(void *, const vkxDescriptorSetLayoutCreateInfo *, const void *, vkxND *);
typedef void (*vkxPFNDestroyND)(void *, vkxND, const void *);
typedef vkxResult (*vkxPFNCreatePipelineLayout)(void *, const vkxPipelineLayoutCreateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNCreateShaderModule)(void *, const vkxShaderModuleCreateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNCreateComputePipelines)(void *, vkxND, uint32_t, const vkxComputePipelineCreateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNCreateDescriptorPool)(void *, const vkxDescriptorPoolCreateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNAllocateDescriptorSets)(void *, const vkxDescriptorSetAllocateInfo *, vkxND *);
typedef void (*vkxPFNUpdateDescriptorSets)(void *, uint32_t, const vkxWriteDescriptorSet *, uint32_t, const void *);
typedef vkxResult (*vkxPFNBeginCommandBuffer)(void *, const vkxCommandBufferBeginInfo *);
typedef void (*vkxPFNCmdPipelineBarrier)(void *, uint32_t, uint32_t, uint32_t, uint32_t, const vkxMemoryBarrier *, uint32_t, const void *, uint32_t, const void *);
typedef void (*vkxPFNCmdCopyBuffer)(void *, vkxND, vkxND, uint32_t, const vkxBufferCopy *);
typedef vkxResult (*vkxPFNQueueSubmit)(void *, uint32_t, const vkxSubmitInfo *, vkxND);
typedef void (*vkxPFNMemoryProperties)(void *, vkxPhysicalDeviceMemoryProperties *);
typedef void (*vkxPFNMemoryProperties2)(void *, vkxPhysicalDeviceMemoryProperties2 *);
typedef void (*vkxPFNFeatures)(void *, vkxPhysicalDeviceFeatures *);
typedef vkxResult (*vkxPFNEnumerateDeviceExtensions)(void *, const char *, uint32_t *, vkxExtensionProperties *);
typedef vkxResult (*vkxPFNCreateBuffer)(void *, const vkxBufferCreateInfo *, const void *, vkxND *);
typedef void (*vkxPFNBufferMemoryRequirements)(void *, vkxND, vkxMemoryRequirements *);
typedef vkxResult (*vkxPFNAllocateMemory)(void *, const vkxMemoryAllocateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNCreateCommandPool)(void *, const vkxCommandPoolCreateInfo *, const void *, vkxND *);
typedef vkxResult (*vkxPFNAllocateCommandBuffers)(void *, const vkxCommandBufferAllocateInfo *, void **);
typedef vkxResult (*vkxPFNCreateFence)(void *, const vkxFenceCreateInfo *, const void *, vkxND *);
typedef void (*vkxPFNProperties2)(void *, vkxPhysicalDeviceProperties2 *);
typedef void (*(*vkxPFNGetDeviceProcAddr)(void *, const char *))(void);
typedef vkxResult (*vkxPFNHostPointerProperties)(void *, uint32_t, const void *, vkxMemoryHostPointerProperties *);

// The loader's exported entry points (core Vulkan 1.0 functions, which
// dispatch through the instance's or device's layers), set once by
// vkxLoadCalls before any use and only read afterwards.
static struct {
	vkxPFNCreateInstance createInstance;
	vkxPFNEnumerateLayers enumerateLayers;
	vkxPFNEnumerateExtensions enumerateExtensions;
	vkxPFNQueueFamilies queueFamilies;
	vkxPFNCreateDevice createDevice;
	vkxPFNCreateDescriptorSetLayout createDescriptorSetLayout;
	vkxPFNDestroyND destroyDescriptorSetLayout;
	vkxPFNCreatePipelineLayout createPipelineLayout;
	vkxPFNCreateShaderModule createShaderModule;
	vkxPFNDestroyND destroyShaderModule;
	vkxPFNCreateComputePipelines createComputePipelines;
	vkxPFNCreateDescriptorPool createDescriptorPool;
	vkxPFNAllocateDescriptorSets allocateDescriptorSets;
	vkxPFNUpdateDescriptorSets updateDescriptorSets;
	vkxPFNBeginCommandBuffer beginCommandBuffer;
	vkxPFNCmdPipelineBarrier cmdPipelineBarrier;
	vkxPFNCmdCopyBuffer cmdCopyBuffer;
	vkxPFNQueueSubmit queueSubmit;
	vkxPFNMemoryProperties memoryProperties;
	vkxPFNMemoryProperties2 memoryProperties2; // NULL with a Vulkan 1.0 loader
	vkxPFNFeatures features;
	vkxPFNEnumerateDeviceExtensions enumerateDeviceExtensions;
	vkxPFNCreateBuffer createBuffer;
	vkxPFNBufferMemoryRequirements bufferMemoryRequirements;
	vkxPFNAllocateMemory allocateMemory;
	vkxPFNCreateCommandPool createCommandPool;
	vkxPFNAllocateCommandBuffers allocateCommandBuffers;
	vkxPFNCreateFence createFence;
	vkxPFNGetDeviceProcAddr getDeviceProcAddr;
	vkxPFNProperties2 properties2; // NULL with a Vulkan 1.0 loader
} vkxFn;

// vkxLoadCalls looks the functions up in the loader lib; it returns the
// name of a missing one, or NULL.
static const char *vkxLoadCalls(void *lib) {
#define VKX_SYM(field, name) if ((*(void **)&vkxFn.field = dlsym(lib, name)) == NULL) return name
	VKX_SYM(createInstance, "vkCreateInstance");
	VKX_SYM(enumerateLayers, "vkEnumerateInstanceLayerProperties");
	VKX_SYM(enumerateExtensions, "vkEnumerateInstanceExtensionProperties");
	VKX_SYM(queueFamilies, "vkGetPhysicalDeviceQueueFamilyProperties");
	VKX_SYM(createDevice, "vkCreateDevice");
	VKX_SYM(createDescriptorSetLayout, "vkCreateDescriptorSetLayout");
	VKX_SYM(destroyDescriptorSetLayout, "vkDestroyDescriptorSetLayout");
	VKX_SYM(createPipelineLayout, "vkCreatePipelineLayout");
	VKX_SYM(createShaderModule, "vkCreateShaderModule");
	VKX_SYM(destroyShaderModule, "vkDestroyShaderModule");
	VKX_SYM(createComputePipelines, "vkCreateComputePipelines");
	VKX_SYM(createDescriptorPool, "vkCreateDescriptorPool");
	VKX_SYM(allocateDescriptorSets, "vkAllocateDescriptorSets");
	VKX_SYM(updateDescriptorSets, "vkUpdateDescriptorSets");
	VKX_SYM(beginCommandBuffer, "vkBeginCommandBuffer");
	VKX_SYM(cmdPipelineBarrier, "vkCmdPipelineBarrier");
	VKX_SYM(cmdCopyBuffer, "vkCmdCopyBuffer");
	VKX_SYM(queueSubmit, "vkQueueSubmit");
	VKX_SYM(memoryProperties, "vkGetPhysicalDeviceMemoryProperties");
	VKX_SYM(features, "vkGetPhysicalDeviceFeatures");
	VKX_SYM(enumerateDeviceExtensions, "vkEnumerateDeviceExtensionProperties");
	VKX_SYM(createBuffer, "vkCreateBuffer");
	VKX_SYM(bufferMemoryRequirements, "vkGetBufferMemoryRequirements");
	VKX_SYM(allocateMemory, "vkAllocateMemory");
	VKX_SYM(createCommandPool, "vkCreateCommandPool");
	VKX_SYM(allocateCommandBuffers, "vkAllocateCommandBuffers");
	VKX_SYM(createFence, "vkCreateFence");
	VKX_SYM(getDeviceProcAddr, "vkGetDeviceProcAddr");
#undef VKX_SYM
	*(void **)&vkxFn.memoryProperties2 = dlsym(lib, "vkGetPhysicalDeviceMemoryProperties2");
	*(void **)&vkxFn.properties2 = dlsym(lib, "vkGetPhysicalDeviceProperties2");
	return NULL;
}

// vkxSplit points names[i] at the i-th of n NUL-terminated strings packed
// one after another in buf.
static void vkxSplit(const char *buf, uint32_t n, const char **names) {
	for (uint32_t i = 0; i < n; i++) {
		names[i] = buf;
		buf += strlen(buf) + 1;
	}
}

// vkxCreateInstance creates an instance of API version api with the nl
// layers and ne extensions whose names are packed in layers and exts, and
// pNext chained to the create info.
static vkxResult vkxCreateInstance(uint32_t api, const char *layers, uint32_t nl, const char *exts, uint32_t ne, const void *pNext, void **out) {
	const char *ln[8], *en[8];
	if (nl > 8 || ne > 8) {
		return -3; // VK_ERROR_INITIALIZATION_FAILED
	}
	vkxSplit(layers, nl, ln);
	vkxSplit(exts, ne, en);
	vkxApplicationInfo app = {0, NULL, "dropout", 0, "dropout", 0, api};
	vkxInstanceCreateInfo info = {1, pNext, 0, &app, nl, ln, ne, en};
	return vkxFn.createInstance(&info, NULL, out);
}

// vkxLayers writes the names of the installed instance layers into out
// (each in 256 bytes, at most max of them) and their number into *n.
static vkxResult vkxLayers(char *out, uint32_t max, uint32_t *n) {
	uint32_t c = 0;
	vkxResult r = vkxFn.enumerateLayers(&c, NULL);
	if (r != 0) {
		return r;
	}
	vkxLayerProperties *p = calloc(c ? c : 1, sizeof *p);
	if (p == NULL) {
		return -1; // VK_ERROR_OUT_OF_HOST_MEMORY
	}
	r = vkxFn.enumerateLayers(&c, p);
	if (r >= 0) {
		if (c > max) {
			c = max;
		}
		for (uint32_t i = 0; i < c; i++) {
			memcpy(out + 256 * i, p[i].layerName, 256);
			out[256 * i + 255] = 0;
		}
		*n = c;
		r = 0;
	}
	free(p);
	return r;
}

// vkxExtensions is vkxLayers for the instance extensions of layer (NULL
// for the implementation's).
static vkxResult vkxExtensions(const char *layer, char *out, uint32_t max, uint32_t *n) {
	uint32_t c = 0;
	vkxResult r = vkxFn.enumerateExtensions(layer, &c, NULL);
	if (r != 0) {
		return r;
	}
	vkxExtensionProperties *p = calloc(c ? c : 1, sizeof *p);
	if (p == NULL) {
		return -1;
	}
	r = vkxFn.enumerateExtensions(layer, &c, p);
	if (r >= 0) {
		if (c > max) {
			c = max;
		}
		for (uint32_t i = 0; i < c; i++) {
			memcpy(out + 256 * i, p[i].extensionName, 256);
			out[256 * i + 255] = 0;
		}
		*n = c;
		r = 0;
	}
	free(p);
	return r;
}

// vkxQueueFamilies writes the flags and queue counts of at most max queue
// families of phys and returns how many it wrote.
static uint32_t vkxQueueFamilies(void *phys, uint32_t *flags, uint32_t *counts, uint32_t max) {
	uint32_t c = 0;
	vkxFn.queueFamilies(phys, &c, NULL);
	vkxQueueFamilyProperties *p = calloc(c ? c : 1, sizeof *p);
	if (p == NULL) {
		return 0;
	}
	vkxFn.queueFamilies(phys, &c, p);
	if (c > max) {
		c = max;
	}
	for (uint32_t i = 0; i < c; i++) {
		flags[i] = p[i].queueFlags;
		counts[i] = p[i].queueCount;
	}
	free(p);
	return c;
}

// vkxCreateDevice creates a device with one queue of family,
// shaderFloat64 as f64 says, and the ne device extensions (at most 8)
// whose names are packed in exts.
static vkxResult vkxCreateDevice(void *phys, uint32_t family, int f64, const char *exts, uint32_t ne, void **out) {
	float prio = 1;
	vkxDeviceQueueCreateInfo q = {2, NULL, 0, family, 1, &prio};
	vkxPhysicalDeviceFeatures feats;
	memset(&feats, 0, sizeof feats);
	feats.f[VKX_SHADER_FLOAT64] = f64 ? 1 : 0;
	const char *en[8];
	if (ne > 8) {
		return -3;
	}
	vkxSplit(exts, ne, en);
	vkxDeviceCreateInfo info = {3, NULL, 0, 1, &q, 0, NULL, ne, ne ? en : NULL, &feats};
	return vkxFn.createDevice(phys, &info, NULL, out);
}

// vkxHostImportAlign returns minImportedHostPointerAlignment of phys
// (VK_EXT_external_memory_host, which phys must support), or 0 where the
// loader lacks vkGetPhysicalDeviceProperties2.
static uint64_t vkxHostImportAlign(void *phys) {
	if (vkxFn.properties2 == NULL) {
		return 0;
	}
	vkxExternalMemoryHostProperties h;
	memset(&h, 0, sizeof h);
	h.sType = VKX_STYPE_EXTERNAL_MEMORY_HOST_PROPERTIES;
	vkxPhysicalDeviceProperties2 p;
	memset(&p, 0, sizeof p);
	p.sType = VKX_STYPE_PROPERTIES_2;
	p.pNext = &h;
	vkxFn.properties2(phys, &p);
	return h.minImportedHostPointerAlignment;
}

// vkxSubgroup writes the subgroup properties of phys (a Vulkan 1.1
// device) into *out, left zero where the loader lacks
// vkGetPhysicalDeviceProperties2.
static void vkxSubgroup(void *phys, vkxSubgroupProperties *out) {
	memset(out, 0, sizeof *out);
	if (vkxFn.properties2 == NULL) {
		return;
	}
	out->sType = VKX_STYPE_SUBGROUP_PROPERTIES;
	vkxPhysicalDeviceProperties2 p;
	memset(&p, 0, sizeof p);
	p.sType = VKX_STYPE_PROPERTIES_2;
	p.pNext = out;
	vkxFn.properties2(phys, &p);
	out->pNext = NULL;
}

// vkxHostPointerTypes writes the memory types that host memory at ptr can
// be imported as (vkGetMemoryHostPointerPropertiesEXT) into *bits.
static vkxResult vkxHostPointerTypes(void *dev, uintptr_t ptr, uint32_t *bits) {
	vkxPFNHostPointerProperties f = (vkxPFNHostPointerProperties)vkxFn.getDeviceProcAddr(dev, "vkGetMemoryHostPointerPropertiesEXT");
	if (f == NULL) {
		return -7; // VK_ERROR_EXTENSION_NOT_PRESENT
	}
	vkxMemoryHostPointerProperties p = {VKX_STYPE_HOST_POINTER_PROPERTIES, NULL, 0};
	vkxResult r = f(dev, VKX_HANDLE_HOST_ALLOCATION, (const void *)ptr, &p);
	*bits = p.memoryTypeBits;
	return r;
}

// vkxImportHost allocates the size bytes of host memory at ptr as memory
// of type (VkImportMemoryHostPointerInfoEXT).
static vkxResult vkxImportHost(void *dev, uint64_t size, uint32_t type, uintptr_t ptr, vkxND *mem) {
	vkxImportMemoryHostPointerInfo imp = {VKX_STYPE_IMPORT_HOST_POINTER, NULL, VKX_HANDLE_HOST_ALLOCATION, (void *)ptr};
	vkxMemoryAllocateInfo info = {5, &imp, size, type};
	return vkxFn.allocateMemory(dev, &info, NULL, mem);
}

// vkxFeatureFloat64 reports whether phys has shaderFloat64.
static int vkxFeatureFloat64(void *phys) {
	vkxPhysicalDeviceFeatures f;
	memset(&f, 0, sizeof f);
	vkxFn.features(phys, &f);
	return f.f[VKX_SHADER_FLOAT64] != 0;
}

// vkxMemoryProps writes the memory types and heaps of phys.
static void vkxMemoryProps(void *phys, vkxPhysicalDeviceMemoryProperties *out) {
	memset(out, 0, sizeof *out);
	vkxFn.memoryProperties(phys, out);
}

// vkxMemoryBudget writes the budget and usage of each heap of phys
// (VK_EXT_memory_budget, which phys must support, through the Vulkan 1.1
// vkGetPhysicalDeviceMemoryProperties2); it returns 0 where the loader
// lacks that function.
static int vkxMemoryBudget(void *phys, uint64_t *budget, uint64_t *usage) {
	if (vkxFn.memoryProperties2 == NULL) {
		return 0;
	}
	vkxPhysicalDeviceMemoryBudgetProperties b;
	memset(&b, 0, sizeof b);
	b.sType = VKX_STYPE_MEMORY_BUDGET;
	vkxPhysicalDeviceMemoryProperties2 p;
	memset(&p, 0, sizeof p);
	p.sType = VKX_STYPE_MEMORY_PROPERTIES_2;
	p.pNext = &b;
	vkxFn.memoryProperties2(phys, &p);
	memcpy(budget, b.heapBudget, sizeof b.heapBudget);
	memcpy(usage, b.heapUsage, sizeof b.heapUsage);
	return 1;
}

// vkxHasDeviceExtension reports whether phys supports the device extension name.
static int vkxHasDeviceExtension(void *phys, const char *name) {
	uint32_t c = 0;
	if (vkxFn.enumerateDeviceExtensions(phys, NULL, &c, NULL) != 0) {
		return 0;
	}
	vkxExtensionProperties *p = calloc(c ? c : 1, sizeof *p);
	if (p == NULL) {
		return 0;
	}
	int found = 0;
	if (vkxFn.enumerateDeviceExtensions(phys, NULL, &c, p) >= 0) {
		for (uint32_t i = 0; i < c; i++) {
			if (strncmp(p[i].extensionName, name, 256) == 0) {
				found = 1;
			}
		}
	}
	free(p);
	return found;
}

// vkxCreateBuffer creates a buffer of size bytes with usage, for memory
// of the external handle types handles (none if 0), and returns its
// memory requirements.
static vkxResult vkxCreateBuffer(void *dev, uint64_t size, uint32_t usage, uint32_t handles, vkxND *buf, uint64_t *reqSize, uint64_t *reqAlign, uint32_t *typeBits) {
	vkxExternalMemoryBufferCreateInfo ext = {VKX_STYPE_EXTERNAL_MEMORY_BUFFER, NULL, handles};
	vkxBufferCreateInfo info = {12, handles ? (const void *)&ext : NULL, 0, size, usage, 0, 0, NULL}; // VK_SHARING_MODE_EXCLUSIVE
	vkxResult r = vkxFn.createBuffer(dev, &info, NULL, buf);
	if (r != 0) {
		return r;
	}
	vkxMemoryRequirements req;
	memset(&req, 0, sizeof req);
	vkxFn.bufferMemoryRequirements(dev, *buf, &req);
	*reqSize = req.size;
	*reqAlign = req.alignment;
	*typeBits = req.memoryTypeBits;
	return 0;
}

static vkxResult vkxAllocateMemory(void *dev, uint64_t size, uint32_t type, vkxND *mem) {
	vkxMemoryAllocateInfo info = {5, NULL, size, type};
	return vkxFn.allocateMemory(dev, &info, NULL, mem);
}

// vkxCreateCommands creates a command pool of family whose buffers can be
// reset, one primary command buffer from it and a fence. On failure the
// handles made so far are left for the caller to destroy.
static vkxResult vkxCreateCommands(void *dev, uint32_t family, vkxND *pool, void **cmd, vkxND *fence, int *step) {
	*step = 0;
	vkxCommandPoolCreateInfo pinfo = {39, NULL, 2, family}; // VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT
	vkxResult r = vkxFn.createCommandPool(dev, &pinfo, NULL, pool);
	if (r != 0) {
		return r;
	}
	*step = 1;
	vkxCommandBufferAllocateInfo ainfo = {40, NULL, *pool, 0, 1}; // PRIMARY
	r = vkxFn.allocateCommandBuffers(dev, &ainfo, cmd);
	if (r != 0) {
		return r;
	}
	*step = 2;
	vkxFenceCreateInfo finfo = {8, NULL, 0};
	return vkxFn.createFence(dev, &finfo, NULL, fence);
}

// vkxCreateLayout creates the descriptor-set layout of n storage buffers
// (bindings 0..n-1) and the pipeline layout with it and push bytes of push
// constants, all for the compute stage.
static vkxResult vkxCreateLayout(void *dev, uint32_t n, uint32_t push, vkxND *set, vkxND *pipe, int *second) {
	*second = 0;
	vkxDescriptorSetLayoutBinding b[8];
	if (n > 8) {
		return -3;
	}
	for (uint32_t i = 0; i < n; i++) {
		vkxDescriptorSetLayoutBinding x = {i, 7, 1, 0x20, NULL}; // STORAGE_BUFFER, COMPUTE
		b[i] = x;
	}
	vkxDescriptorSetLayoutCreateInfo sinfo = {32, NULL, 0, n, b};
	vkxResult r = vkxFn.createDescriptorSetLayout(dev, &sinfo, NULL, set);
	if (r != 0) {
		return r;
	}
	*second = 1;
	vkxPushConstantRange pc = {0x20, 0, push};
	vkxPipelineLayoutCreateInfo pinfo = {30, NULL, 0, 1, set, 1, &pc};
	r = vkxFn.createPipelineLayout(dev, &pinfo, NULL, pipe);
	if (r != 0) {
		vkxFn.destroyDescriptorSetLayout(dev, *set, NULL);
		*set = 0;
	}
	return r;
}

// vkxCreatePipeline creates a shader module of the size bytes of SPIR-V at
// code and the compute pipeline of its "main" in layout, with
// specialization constant i set to spec[i] for i < nspec (at most 8).
static vkxResult vkxCreatePipeline(void *dev, const uint32_t *code, size_t size, vkxND layout, const uint32_t *spec, uint32_t nspec, vkxND *module, vkxND *pipe, int *second) {
	*second = 0;
	if (nspec > 8) {
		return -3;
	}
	vkxShaderModuleCreateInfo minfo = {16, NULL, 0, size, code};
	vkxResult r = vkxFn.createShaderModule(dev, &minfo, NULL, module);
	if (r != 0) {
		return r;
	}
	*second = 1;
	vkxSpecializationMapEntry entries[8];
	for (uint32_t i = 0; i < nspec; i++) {
		vkxSpecializationMapEntry e = {i, 4 * i, sizeof(uint32_t)};
		entries[i] = e;
	}
	vkxSpecializationInfo sinfo = {nspec, entries, 4 * nspec, spec};
	vkxComputePipelineCreateInfo info = {
		29, NULL, 0,
		{18, NULL, 0, 0x20, *module, "main", &sinfo},
		layout, 0, -1,
	};
	r = vkxFn.createComputePipelines(dev, 0, 1, &info, NULL, pipe);
	if (r != 0) {
		vkxFn.destroyShaderModule(dev, *module, NULL);
		*module = 0;
	}
	return r;
}

// vkxCreateDescriptorPool creates a pool of max sets with n storage-buffer
// descriptors in all.
static vkxResult vkxCreateDescriptorPool(void *dev, uint32_t max, uint32_t n, vkxND *out) {
	vkxDescriptorPoolSize size = {7, n};
	vkxDescriptorPoolCreateInfo info = {33, NULL, 0, max, 1, &size};
	return vkxFn.createDescriptorPool(dev, &info, NULL, out);
}

// vkxBindSet allocates a set of layout from pool and writes storage-buffer
// binding i (of n) to bufs[i] at offs[i] for sizes[i] bytes, skipping the
// bindings whose buffer is 0.
static vkxResult vkxBindSet(void *dev, vkxND pool, vkxND layout, uint32_t n, const uint64_t *bufs, const uint64_t *offs, const uint64_t *sizes, vkxND *set) {
	vkxDescriptorBufferInfo bi[8];
	vkxWriteDescriptorSet w[8];
	if (n > 8) {
		return -3;
	}
	vkxDescriptorSetAllocateInfo ainfo = {34, NULL, pool, 1, &layout};
	vkxResult r = vkxFn.allocateDescriptorSets(dev, &ainfo, set);
	if (r != 0) {
		return r;
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (bufs[i] == 0) {
			continue;
		}
		vkxDescriptorBufferInfo b = {bufs[i], offs[i], sizes[i]};
		bi[k] = b;
		vkxWriteDescriptorSet x = {35, NULL, *set, i, 0, 1, 7, NULL, &bi[k], NULL};
		w[k] = x;
		k++;
	}
	if (k > 0) {
		vkxFn.updateDescriptorSets(dev, k, w, 0, NULL);
	}
	return 0;
}

static vkxResult vkxBegin(void *cmd, uint32_t flags) {
	vkxCommandBufferBeginInfo info = {42, NULL, flags, NULL};
	return vkxFn.beginCommandBuffer(cmd, &info);
}

static void vkxBarrier(void *cmd, uint32_t srcStages, uint32_t dstStages, uint32_t srcAccess, uint32_t dstAccess) {
	vkxMemoryBarrier b = {46, NULL, srcAccess, dstAccess};
	vkxFn.cmdPipelineBarrier(cmd, srcStages, dstStages, 0, 1, &b, 0, NULL, 0, NULL);
}

static void vkxCopy(void *cmd, vkxND src, vkxND dst, uint64_t srcOff, uint64_t dstOff, uint64_t size) {
	vkxBufferCopy c = {srcOff, dstOff, size};
	vkxFn.cmdCopyBuffer(cmd, src, dst, 1, &c);
}

static vkxResult vkxSubmit(void *queue, void *cmd, vkxND fence) {
	void *cmds[1] = {cmd};
	vkxSubmitInfo info = {4, NULL, 0, NULL, NULL, 1, cmds, 0, NULL};
	return vkxFn.queueSubmit(queue, 1, &info, fence);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// loadCalls looks up the functions of this file in the loader lib.
func loadCalls(lib unsafe.Pointer) error {
	if name := C.vkxLoadCalls(lib); name != nil {
		return fmt.Errorf("%w: no %s", ErrNoLoader, C.GoString(name))
	}
	return nil
}

// nd returns the bits of a non-dispatchable handle (a pointer on 64-bit
// platforms, a uint64 on 32-bit ones; 64 bits either way).
func nd[T any](h T) C.vkxND {
	if unsafe.Sizeof(h) != 8 {
		panic("vkx: non-dispatchable handle not 64 bits")
	}
	return *(*C.vkxND)(unsafe.Pointer(&h))
}

// fromND is the handle of type T with the bits u.
func fromND[T any](u C.vkxND) T {
	var h T
	if unsafe.Sizeof(h) != 8 {
		panic("vkx: non-dispatchable handle not 64 bits")
	}
	*(*C.vkxND)(unsafe.Pointer(&h)) = u
	return h
}

// packNames returns names NUL-terminated one after another (at least one byte).
func packNames(names []string) []byte {
	var b []byte
	for _, s := range names {
		b = append(b, s...)
		b = append(b, 0)
	}
	return append(b, 0)
}

// createInstance creates an instance of API version api with layers and
// extensions, and pNext (C memory or nil) chained to its create info.
func createInstance(api uint32, layers, exts []string, pNext unsafe.Pointer) (vk.Instance, vk.Result) {
	if len(layers) > 8 || len(exts) > 8 {
		return nil, vk.ErrorInitializationFailed
	}
	lb, eb := packNames(layers), packNames(exts)
	var h unsafe.Pointer
	r := C.vkxCreateInstance(C.uint32_t(api), (*C.char)(unsafe.Pointer(&lb[0])), C.uint32_t(len(layers)),
		(*C.char)(unsafe.Pointer(&eb[0])), C.uint32_t(len(exts)), pNext, &h)
	return vk.Instance(h), vk.Result(r)
}

const maxNames = 512

// names returns the 256-byte NUL-terminated names in buf[:n*256].
func names(buf []byte, n uint32) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = gostr(buf[256*i : 256*(i+1)])
	}
	return out
}

// enumerateLayers returns the names of the installed instance layers.
func enumerateLayers() ([]string, vk.Result) {
	buf := make([]byte, 256*maxNames)
	var n C.uint32_t
	r := C.vkxLayers((*C.char)(unsafe.Pointer(&buf[0])), maxNames, &n)
	if r != 0 {
		return nil, vk.Result(r)
	}
	return names(buf, uint32(n)), vk.Success
}

// enumerateExtensions returns the instance extensions of layer ("" for the
// implementation's).
func enumerateExtensions(layer string) ([]string, vk.Result) {
	buf := make([]byte, 256*maxNames)
	var n C.uint32_t
	var lp *C.char
	if layer != "" {
		lb := append([]byte(layer), 0)
		lp = (*C.char)(unsafe.Pointer(&lb[0]))
	}
	r := C.vkxExtensions(lp, (*C.char)(unsafe.Pointer(&buf[0])), maxNames, &n)
	if r != 0 {
		return nil, vk.Result(r)
	}
	return names(buf, uint32(n)), vk.Success
}

// queueFamily is what the backend needs of a VkQueueFamilyProperties.
type queueFamily struct {
	flags vk.QueueFlags
	count uint32
}

// queueFamilies returns the queue families of h.
func queueFamilies(h vk.PhysicalDevice) []queueFamily {
	const max = 64
	var flags, counts [max]C.uint32_t
	n := C.vkxQueueFamilies(unsafe.Pointer(h), &flags[0], &counts[0], max)
	qs := make([]queueFamily, n)
	for i := range qs {
		qs[i] = queueFamily{vk.QueueFlags(flags[i]), uint32(counts[i])}
	}
	return qs
}

// createDevice creates a device on h with one queue of family,
// shaderFloat64 enabled if f64, and the device extensions exts.
func createDevice(h vk.PhysicalDevice, family uint32, f64 bool, exts []string) (vk.Device, vk.Result) {
	if len(exts) > 8 {
		return nil, vk.ErrorInitializationFailed
	}
	var dev unsafe.Pointer
	f := C.int(0)
	if f64 {
		f = 1
	}
	eb := packNames(exts)
	r := C.vkxCreateDevice(unsafe.Pointer(h), C.uint32_t(family), f, (*C.char)(unsafe.Pointer(&eb[0])), C.uint32_t(len(exts)), &dev)
	return vk.Device(dev), vk.Result(r)
}

// hostImportAlign returns minImportedHostPointerAlignment of h, which
// must support VK_EXT_external_memory_host (0 where it cannot be read).
func hostImportAlign(h vk.PhysicalDevice) uint64 {
	return uint64(C.vkxHostImportAlign(unsafe.Pointer(h)))
}

// subgroupProps returns h's subgroup properties (h of a Vulkan 1.1 device).
func subgroupProps(h vk.PhysicalDevice) Subgroup {
	var p C.vkxSubgroupProperties
	C.vkxSubgroup(unsafe.Pointer(h), &p)
	return Subgroup{
		Size:       uint32(p.subgroupSize),
		Compute:    p.supportedStages&C.uint32_t(vk.ShaderStageComputeBit) != 0,
		Operations: uint32(p.supportedOperations),
	}
}

// hostPointerTypes returns the memory types host memory at addr can be
// imported as on dev (VK_EXT_external_memory_host, enabled on dev).
func hostPointerTypes(dev vk.Device, addr uintptr) (uint32, vk.Result) {
	var bits C.uint32_t
	r := C.vkxHostPointerTypes(unsafe.Pointer(dev), C.uintptr_t(addr), &bits)
	return uint32(bits), vk.Result(r)
}

// importHost imports the size bytes of host memory at addr as memory of
// type typ. The memory must stay where it is until the import is freed:
// it is passed as an address, since it may span other Go objects.
func importHost(dev vk.Device, addr uintptr, size uint64, typ uint32) (vk.DeviceMemory, vk.Result) {
	var h C.vkxND
	r := C.vkxImportHost(unsafe.Pointer(dev), C.uint64_t(size), C.uint32_t(typ), C.uintptr_t(addr), &h)
	return fromND[vk.DeviceMemory](h), vk.Result(r)
}

// featureFloat64 reports whether h has shaderFloat64.
func featureFloat64(h vk.PhysicalDevice) bool { return C.vkxFeatureFloat64(unsafe.Pointer(h)) != 0 }

// memoryType is what the backend needs of a VkMemoryType.
type memoryType struct {
	flags vk.MemoryPropertyFlags
	heap  int
}

// Heap is one memory heap of a device.
type Heap struct {
	Size        uint64
	DeviceLocal bool
}

// memoryProps returns the memory types and heaps of h.
func memoryProps(h vk.PhysicalDevice) ([]memoryType, []Heap) {
	var p C.vkxPhysicalDeviceMemoryProperties
	C.vkxMemoryProps(unsafe.Pointer(h), &p)
	types := make([]memoryType, min(int(p.memoryTypeCount), 32))
	for i := range types {
		types[i] = memoryType{vk.MemoryPropertyFlags(p.memoryTypes[i].propertyFlags), int(p.memoryTypes[i].heapIndex)}
	}
	heaps := make([]Heap, min(int(p.memoryHeapCount), 16))
	for i := range heaps {
		heaps[i] = Heap{uint64(p.memoryHeaps[i].size), p.memoryHeaps[i].flags&C.uint32_t(vk.MemoryHeapDeviceLocalBit) != 0}
	}
	return types, heaps
}

// memoryBudget returns the budget and usage of heap i of h
// (VK_EXT_memory_budget, which h must support), or ok false.
func memoryBudget(h vk.PhysicalDevice, i int) (budget, usage uint64, ok bool) {
	var b, u [16]C.uint64_t
	if i < 0 || i >= 16 || C.vkxMemoryBudget(unsafe.Pointer(h), &b[0], &u[0]) == 0 {
		return 0, 0, false
	}
	return uint64(b[i]), uint64(u[i]), true
}

// hasDeviceExtension reports whether h supports the device extension name.
func hasDeviceExtension(h vk.PhysicalDevice, name string) bool {
	nb := append([]byte(name), 0)
	return C.vkxHasDeviceExtension(unsafe.Pointer(h), (*C.char)(unsafe.Pointer(&nb[0]))) != 0
}

// bufferReq is what a buffer's VkMemoryRequirements say.
type bufferReq struct {
	size, align uint64
	bits        uint32 // memory types
}

// createBuffer creates a buffer of size bytes with usage, for memory of
// the external handle types handles (none if 0), and returns its memory
// requirements.
func createBuffer(dev vk.Device, size uint64, usage vk.BufferUsageFlags, handles uint32) (vk.Buffer, bufferReq, vk.Result) {
	var h C.vkxND
	var reqSize, reqAlign C.uint64_t
	var bits C.uint32_t
	r := C.vkxCreateBuffer(unsafe.Pointer(dev), C.uint64_t(size), C.uint32_t(usage), C.uint32_t(handles), &h, &reqSize, &reqAlign, &bits)
	return fromND[vk.Buffer](h), bufferReq{uint64(reqSize), uint64(reqAlign), uint32(bits)}, vk.Result(r)
}

// handleHostAllocation is VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT.
const handleHostAllocation = C.VKX_HANDLE_HOST_ALLOCATION

// allocateMemory allocates size bytes of memory type typ.
func allocateMemory(dev vk.Device, size uint64, typ uint32) (vk.DeviceMemory, vk.Result) {
	var h C.vkxND
	r := C.vkxAllocateMemory(unsafe.Pointer(dev), C.uint64_t(size), C.uint32_t(typ), &h)
	return fromND[vk.DeviceMemory](h), vk.Result(r)
}

// createCommands creates a command pool of family, one primary command
// buffer from it and a fence. On failure op names the call that failed and
// the handles made before it are returned for destruction.
func createCommands(dev vk.Device, family uint32) (pool vk.CommandPool, cmd vk.CommandBuffer, fence vk.Fence, op string, r vk.Result) {
	var p, f C.vkxND
	var c unsafe.Pointer
	var step C.int
	r = vk.Result(C.vkxCreateCommands(unsafe.Pointer(dev), C.uint32_t(family), &p, &c, &f, &step))
	op = [...]string{"vkCreateCommandPool", "vkAllocateCommandBuffers", "vkCreateFence"}[step]
	return fromND[vk.CommandPool](p), vk.CommandBuffer(c), fromND[vk.Fence](f), op, r
}

// createLayout creates the descriptor-set layout of Bindings storage
// buffers and the pipeline layout with it and PushSize bytes of push
// constants. On failure nothing is left to destroy and op names the call
// that failed.
func createLayout(dev vk.Device) (set vk.DescriptorSetLayout, pipe vk.PipelineLayout, op string, r vk.Result) {
	var s, p C.vkxND
	var second C.int
	r = vk.Result(C.vkxCreateLayout(unsafe.Pointer(dev), Bindings, PushSize, &s, &p, &second))
	op = "vkCreateDescriptorSetLayout"
	if second != 0 {
		op = "vkCreatePipelineLayout"
	}
	return fromND[vk.DescriptorSetLayout](s), fromND[vk.PipelineLayout](p), op, r
}

// createPipeline creates the shader module of code and its compute
// pipeline in layout with specialization constant i set to spec[i]. On
// failure nothing is left to destroy and op names the call that failed.
func createPipeline(dev vk.Device, code []uint32, layout vk.PipelineLayout, spec [SpecConstants]uint32) (module vk.ShaderModule, pipe vk.Pipeline, op string, r vk.Result) {
	var m, p C.vkxND
	var second C.int
	r = vk.Result(C.vkxCreatePipeline(unsafe.Pointer(dev), (*C.uint32_t)(unsafe.Pointer(&code[0])), C.size_t(4*len(code)),
		nd(layout), (*C.uint32_t)(unsafe.Pointer(&spec[0])), SpecConstants, &m, &p, &second))
	op = "vkCreateShaderModule"
	if second != 0 {
		op = "vkCreateComputePipelines"
	}
	return fromND[vk.ShaderModule](m), fromND[vk.Pipeline](p), op, r
}

// createDescriptorPool creates a pool of max sets with n storage-buffer
// descriptors in all.
func createDescriptorPool(dev vk.Device, max, n uint32) (vk.DescriptorPool, vk.Result) {
	var pool C.vkxND
	r := C.vkxCreateDescriptorPool(unsafe.Pointer(dev), C.uint32_t(max), C.uint32_t(n), &pool)
	return fromND[vk.DescriptorPool](pool), vk.Result(r)
}

// bindSet allocates a descriptor set of layout from pool and writes the
// ranges with a buffer to their bindings.
func bindSet(dev vk.Device, pool vk.DescriptorPool, layout vk.DescriptorSetLayout, r [Bindings]Range) (vk.DescriptorSet, vk.Result) {
	var bufs, offs, sizes [Bindings]C.uint64_t
	for i, rg := range r {
		if rg.Buf == nil {
			continue
		}
		bufs[i] = C.uint64_t(nd(rg.Buf.h))
		offs[i] = C.uint64_t(rg.Offset)
		sizes[i] = C.uint64_t(rg.Size)
	}
	var set C.vkxND
	res := C.vkxBindSet(unsafe.Pointer(dev), nd(pool), nd(layout), Bindings, &bufs[0], &offs[0], &sizes[0], &set)
	return fromND[vk.DescriptorSet](set), vk.Result(res)
}

func beginCommandBuffer(cmd vk.CommandBuffer, flags vk.CommandBufferUsageFlags) vk.Result {
	return vk.Result(C.vkxBegin(unsafe.Pointer(cmd), C.uint32_t(flags)))
}

func cmdBarrier(cmd vk.CommandBuffer, src, dst vk.PipelineStageFlags, srcAccess, dstAccess vk.AccessFlags) {
	C.vkxBarrier(unsafe.Pointer(cmd), C.uint32_t(src), C.uint32_t(dst), C.uint32_t(srcAccess), C.uint32_t(dstAccess))
}

func cmdCopy(cmd vk.CommandBuffer, src, dst vk.Buffer, srcOff, dstOff, size uint64) {
	C.vkxCopy(unsafe.Pointer(cmd), nd(src), nd(dst), C.uint64_t(srcOff), C.uint64_t(dstOff), C.uint64_t(size))
}

func queueSubmit(q vk.Queue, cmd vk.CommandBuffer, fence vk.Fence) vk.Result {
	return vk.Result(C.vkxSubmit(unsafe.Pointer(q), unsafe.Pointer(cmd), nd(fence)))
}
