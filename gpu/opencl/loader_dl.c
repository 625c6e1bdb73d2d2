//go:build cgo && !noopencl && linux

// loader_dl.c finds the OpenCL implementation at run time; see loader.go.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *lib;

static void load(void)
{
	const char *name = getenv("DROPOUT_OPENCL_LIBRARY");
	if (name && *name) {
		lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
		return;
	}
	lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_GLOBAL);
	if (!lib)
		lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_GLOBAL);
}

// find returns the implementation of the OpenCL function name, or NULL.
static void *find(const char *name)
{
	// An implementation already in the process first: one that
	// LD_PRELOAD interposes (Oclgrind's runtime) or a libOpenCL that
	// another part of the program loaded.
	void *p = dlsym(RTLD_NEXT, name);
	if (p)
		return p;
	pthread_once(&once, load);
	return lib ? dlsym(lib, name) : NULL;
}

// Platform and device enumeration, and context creation, are serialised
// process-wide: every call of this program goes through the definitions
// in loader_stubs.c, which forward to the wrappers below for these three
// functions. Implementations initialise their devices lazily inside these
// calls, and not all do so safely: PoCL (at least up to 3.1) guards
// pocl_init_devices() against recursion with a flag it reads without its
// lock, so a thread that calls clGetDeviceIDs while another thread's first
// call is still initialising the devices returns at once with devices
// whose fields are not yet set: clGetDeviceInfo(CL_DEVICE_NAME) on one of
// them dereferences a NULL name (SIGSEGV), other queries fail and the
// platform looks as if it had no usable device. The ICD loader itself
// (ocl-icd) initialises under pthread_once and is not the problem.
//
// The mutex is recursive: an implementation may call back into OpenCL on
// the same thread while it initialises (PoCL through hwloc's OpenCL
// plugin).
static pthread_mutex_t enum_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static __typeof__(&clGetPlatformIDs) real_clGetPlatformIDs;
static __typeof__(&clGetDeviceIDs) real_clGetDeviceIDs;
static __typeof__(&clCreateContext) real_clCreateContext;

static cl_int CL_API_CALL serial_clGetPlatformIDs(cl_uint num_entries, cl_platform_id *platforms, cl_uint *num_platforms)
{
	pthread_mutex_lock(&enum_mu);
	cl_int r = __atomic_load_n(&real_clGetPlatformIDs, __ATOMIC_ACQUIRE)(num_entries, platforms, num_platforms);
	pthread_mutex_unlock(&enum_mu);
	return r;
}

static cl_int CL_API_CALL serial_clGetDeviceIDs(cl_platform_id platform, cl_device_type device_type, cl_uint num_entries, cl_device_id *devices, cl_uint *num_devices)
{
	pthread_mutex_lock(&enum_mu);
	cl_int r = __atomic_load_n(&real_clGetDeviceIDs, __ATOMIC_ACQUIRE)(platform, device_type, num_entries, devices, num_devices);
	pthread_mutex_unlock(&enum_mu);
	return r;
}

static cl_context CL_API_CALL serial_clCreateContext(const cl_context_properties *properties, cl_uint num_devices, const cl_device_id *devices, void (CL_CALLBACK *pfn_notify)(const char *errinfo, const void *private_info, size_t cb, void *user_data), void *user_data, cl_int *errcode_ret)
{
	pthread_mutex_lock(&enum_mu);
	cl_context r = __atomic_load_n(&real_clCreateContext, __ATOMIC_ACQUIRE)(properties, num_devices, devices, pfn_notify, user_data, errcode_ret);
	pthread_mutex_unlock(&enum_mu);
	return r;
}

// serial returns the serialising wrapper of the OpenCL function name, with
// real its implementation, or NULL when name has none. Several threads may
// resolve the same name at once; they store the same pointer.
static void *serial(const char *name, void *real)
{
#define WRAP(fn)                                                        \
	if (strcmp(name, #fn) == 0) {                                   \
		__atomic_store_n(&real_##fn, (__typeof__(&fn))real, __ATOMIC_RELEASE); \
		return (void *)serial_##fn;                             \
	}
	WRAP(clGetPlatformIDs)
	WRAP(clGetDeviceIDs)
	WRAP(clCreateContext)
#undef WRAP
	return NULL;
}

void *dropout_cl_symbol(const char *name)
{
	void *p = find(name);
	if (!p)
		return NULL;
	void *w = serial(name, p);
	return w ? w : p;
}

int dropout_cl_available(void)
{
	return find("clGetPlatformIDs") != NULL;
}
