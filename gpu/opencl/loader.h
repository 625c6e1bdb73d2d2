// loader.h: the OpenCL entry points of this package, resolved at run time.
// See loader.go.

#ifndef DROPOUT_OPENCL_LOADER_H
#define DROPOUT_OPENCL_LOADER_H

#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>

// DROPOUT_CL_NO_LOADER is what an entry point returns when no OpenCL
// implementation can be found: CL_PLATFORM_NOT_FOUND_KHR, as the ICD
// loader itself returns when it finds no platform.
#define DROPOUT_CL_NO_LOADER (-1001)

// dropout_cl_symbol returns the implementation of the OpenCL function
// name, or NULL.
void *dropout_cl_symbol(const char *name);

// dropout_cl_available reports whether an OpenCL implementation was found.
int dropout_cl_available(void);

#endif
