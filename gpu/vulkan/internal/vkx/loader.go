//go:build cgo && !novulkan

package vkx

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static void *vkxLib;

// vkxOpen loads the Vulkan loader by its runtime soname and returns
// vkGetInstanceProcAddr, or NULL with dlerror's text in *err.
static void *vkxOpen(const char *name, const char **err) {
	if (vkxLib == NULL) {
		vkxLib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
		if (vkxLib == NULL) {
			*err = dlerror();
			return NULL;
		}
	}
	void *f = dlsym(vkxLib, "vkGetInstanceProcAddr");
	if (f == NULL) {
		*err = dlerror();
	}
	return f;
}

// vkxHandle returns the loader's dlopen handle (NULL before vkxOpen).
static void *vkxHandle(void) { return vkxLib; }

typedef void (*vkxVoidFn)(void);
typedef vkxVoidFn (*vkxGetInstanceProcAddr)(void *instance, const char *name);
typedef void (*vkxGetProps2)(void *physicalDevice, void *props2);

// VkPhysicalDeviceDriverProperties (Vulkan 1.2), chained to
// VkPhysicalDeviceProperties2 (1.1) whose properties member is given room
// beyond its 824 bytes.
typedef struct {
	int32_t sType;
	void *pNext;
	int32_t driverID;
	char driverName[256];
	char driverInfo[256];
	uint8_t conformanceVersion[4];
} vkxDriverProps;

typedef struct {
	int32_t sType;
	void *pNext;
	uint8_t properties[2048];
} vkxProps2;

// VkPhysicalDeviceMaintenance3Properties (Vulkan 1.1).
typedef struct {
	int32_t sType;
	void *pNext;
	uint32_t maxPerSetDescriptors;
	uint64_t maxMemoryAllocationSize;
} vkxMaint3;

// vkxProps11 writes the device's driver name into out (256 bytes; empty
// where the device cannot say: below Vulkan 1.2) and returns its
// maxMemoryAllocationSize (0 if unknown).
static uint64_t vkxProps11(void *instance, void *physicalDevice, int v12, char *out) {
	out[0] = 0;
	if (vkxLib == NULL) {
		return 0;
	}
	vkxGetInstanceProcAddr gipa = (vkxGetInstanceProcAddr)dlsym(vkxLib, "vkGetInstanceProcAddr");
	if (gipa == NULL) {
		return 0;
	}
	vkxGetProps2 f = (vkxGetProps2)gipa(instance, "vkGetPhysicalDeviceProperties2");
	if (f == NULL) {
		return 0;
	}
	vkxMaint3 m3 = {1000168000, NULL};
	vkxDriverProps drv = {1000196000, &m3};
	vkxProps2 p = {1000059001, v12 ? (void *)&drv : (void *)&m3};
	f(physicalDevice, &p);
	if (v12) {
		memcpy(out, drv.driverName, 256);
		out[255] = 0;
	}
	return m3.maxMemoryAllocationSize;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	vk "github.com/vulkan-go/vulkan"
)

// LoaderName is the Vulkan loader's runtime soname, installed by Debian's
// libvulkan1 (vulkan-go's own loader opens the development symlink
// libvulkan.so, which only libvulkan-dev installs).
const LoaderName = "libvulkan.so.1"

// ErrNoLoader reports that the Vulkan loader could not be loaded.
var ErrNoLoader = errors.New("vkx: Vulkan loader " + LoaderName + " not found")

var (
	loadOnce sync.Once
	loadErr  error
)

// Load loads libvulkan.so.1 with dlopen and hands its vkGetInstanceProcAddr
// to vulkan-go. It runs once; later calls return the first result.
func Load() error {
	loadOnce.Do(func() {
		name := C.CString(LoaderName)
		defer C.free(unsafe.Pointer(name))
		var cerr *C.char
		f := C.vkxOpen(name, &cerr)
		if f == nil {
			msg := "unknown error"
			if cerr != nil {
				msg = C.GoString(cerr)
			}
			loadErr = fmt.Errorf("%w: %s", ErrNoLoader, msg)
			return
		}
		if err := loadCalls(C.vkxHandle()); err != nil {
			loadErr = err
			return
		}
		vk.SetGetInstanceProcAddr(f)
		if err := vk.Init(); err != nil {
			loadErr = fmt.Errorf("vkx: initializing vulkan-go: %w", err)
		}
	})
	return loadErr
}

// props11 returns the driver's name (VkPhysicalDeviceDriverProperties, ""
// below Vulkan 1.2) and maxMemoryAllocationSize (0 below Vulkan 1.1).
func props11(inst vk.Instance, h vk.PhysicalDevice, api uint32) (driver string, maxAlloc uint64) {
	if api < vk.MakeVersion(1, 1, 0) {
		return "", 0
	}
	var buf [256]C.char
	v12 := C.int(0)
	if api >= vk.MakeVersion(1, 2, 0) {
		v12 = 1
	}
	ma := C.vkxProps11(unsafe.Pointer(inst), unsafe.Pointer(h), v12, &buf[0])
	return C.GoString(&buf[0]), uint64(ma)
}
