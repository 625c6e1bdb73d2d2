// Package opencl is the OpenCL backend of dropout, built on go-opencl.
package opencl
