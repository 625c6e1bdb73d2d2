// clapi.h: the OpenCL API as this package's cgo preambles include it.

#ifndef DROPOUT_OPENCL_CLAPI_H
#define DROPOUT_OPENCL_CLAPI_H

#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 300
#endif
#include <CL/cl.h>
#endif

#endif
