//go:build cgo && !noopencl && linux

// loader_dl.c finds the OpenCL implementation at run time; see loader.go.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

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

void *dropout_cl_symbol(const char *name)
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

int dropout_cl_available(void)
{
	return dropout_cl_symbol("clGetPlatformIDs") != NULL;
}
