//go:build cgo && !noopencl && linux

// Code generated from the prototypes in CL/cl.h for the OpenCL functions
// go-opencl calls; see loader.go. DO NOT EDIT by hand: regenerate the list
// with `nm -D` on a test binary and the prototypes from CL/cl.h.

// These definitions take the place of libOpenCL's: each resolves its
// function on first use through dropout_cl_symbol (loader_dl.c) and
// forwards to it, so the program starts without libOpenCL.so.1 and a
// missing loader becomes an error, CL_PLATFORM_NOT_FOUND_KHR, instead of a
// failure to start.

#include "loader.h"

cl_int CL_API_CALL clBuildProgram(cl_program program, cl_uint num_devices, const cl_device_id * device_list, const char * options, void (CL_CALLBACK * pfn_notify)(cl_program program, void * user_data), void * user_data)
{
	static __typeof__(&clBuildProgram) fn;
	__typeof__(&clBuildProgram) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clBuildProgram))dropout_cl_symbol("clBuildProgram");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(program, num_devices, device_list, options, pfn_notify, user_data);
}

cl_mem CL_API_CALL clCreateBuffer(cl_context context, cl_mem_flags flags, size_t size, void * host_ptr, cl_int * errcode_ret)
{
	static __typeof__(&clCreateBuffer) fn;
	__typeof__(&clCreateBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateBuffer))dropout_cl_symbol("clCreateBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(context, flags, size, host_ptr, errcode_ret);
}

cl_command_queue CL_API_CALL clCreateCommandQueue(cl_context context, cl_device_id device, cl_command_queue_properties properties, cl_int * errcode_ret)
{
	static __typeof__(&clCreateCommandQueue) fn;
	__typeof__(&clCreateCommandQueue) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateCommandQueue))dropout_cl_symbol("clCreateCommandQueue");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(context, device, properties, errcode_ret);
}

cl_context CL_API_CALL clCreateContext(const cl_context_properties * properties, cl_uint num_devices, const cl_device_id * devices, void (CL_CALLBACK * pfn_notify)(const char * errinfo, const void * private_info, size_t cb, void * user_data), void * user_data, cl_int * errcode_ret)
{
	static __typeof__(&clCreateContext) fn;
	__typeof__(&clCreateContext) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateContext))dropout_cl_symbol("clCreateContext");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(properties, num_devices, devices, pfn_notify, user_data, errcode_ret);
}

cl_mem CL_API_CALL clCreateImage(cl_context context, cl_mem_flags flags, const cl_image_format * image_format, const cl_image_desc * image_desc, void * host_ptr, cl_int * errcode_ret)
{
	static __typeof__(&clCreateImage) fn;
	__typeof__(&clCreateImage) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateImage))dropout_cl_symbol("clCreateImage");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(context, flags, image_format, image_desc, host_ptr, errcode_ret);
}

cl_kernel CL_API_CALL clCreateKernel(cl_program program, const char * kernel_name, cl_int * errcode_ret)
{
	static __typeof__(&clCreateKernel) fn;
	__typeof__(&clCreateKernel) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateKernel))dropout_cl_symbol("clCreateKernel");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(program, kernel_name, errcode_ret);
}

cl_program CL_API_CALL clCreateProgramWithSource(cl_context context, cl_uint count, const char ** strings, const size_t * lengths, cl_int * errcode_ret)
{
	static __typeof__(&clCreateProgramWithSource) fn;
	__typeof__(&clCreateProgramWithSource) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateProgramWithSource))dropout_cl_symbol("clCreateProgramWithSource");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(context, count, strings, lengths, errcode_ret);
}

cl_event CL_API_CALL clCreateUserEvent(cl_context context, cl_int * errcode_ret)
{
	static __typeof__(&clCreateUserEvent) fn;
	__typeof__(&clCreateUserEvent) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clCreateUserEvent))dropout_cl_symbol("clCreateUserEvent");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(context, errcode_ret);
}

cl_int CL_API_CALL clEnqueueBarrierWithWaitList(cl_command_queue command_queue, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueBarrierWithWaitList) fn;
	__typeof__(&clEnqueueBarrierWithWaitList) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueBarrierWithWaitList))dropout_cl_symbol("clEnqueueBarrierWithWaitList");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueCopyBuffer(cl_command_queue command_queue, cl_mem src_buffer, cl_mem dst_buffer, size_t src_offset, size_t dst_offset, size_t size, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueCopyBuffer) fn;
	__typeof__(&clEnqueueCopyBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueCopyBuffer))dropout_cl_symbol("clEnqueueCopyBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, src_buffer, dst_buffer, src_offset, dst_offset, size, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueFillBuffer(cl_command_queue command_queue, cl_mem buffer, const void * pattern, size_t pattern_size, size_t offset, size_t size, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueFillBuffer) fn;
	__typeof__(&clEnqueueFillBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueFillBuffer))dropout_cl_symbol("clEnqueueFillBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, buffer, pattern, pattern_size, offset, size, num_events_in_wait_list, event_wait_list, event);
}

void * CL_API_CALL clEnqueueMapBuffer(cl_command_queue command_queue, cl_mem buffer, cl_bool blocking_map, cl_map_flags map_flags, size_t offset, size_t size, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event, cl_int * errcode_ret)
{
	static __typeof__(&clEnqueueMapBuffer) fn;
	__typeof__(&clEnqueueMapBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueMapBuffer))dropout_cl_symbol("clEnqueueMapBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(command_queue, buffer, blocking_map, map_flags, offset, size, num_events_in_wait_list, event_wait_list, event, errcode_ret);
}

void * CL_API_CALL clEnqueueMapImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_map, cl_map_flags map_flags, const size_t * origin, const size_t * region, size_t * image_row_pitch, size_t * image_slice_pitch, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event, cl_int * errcode_ret)
{
	static __typeof__(&clEnqueueMapImage) fn;
	__typeof__(&clEnqueueMapImage) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueMapImage))dropout_cl_symbol("clEnqueueMapImage");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		if (errcode_ret)
			*errcode_ret = DROPOUT_CL_NO_LOADER;
		return NULL;
	}
	return f(command_queue, image, blocking_map, map_flags, origin, region, image_row_pitch, image_slice_pitch, num_events_in_wait_list, event_wait_list, event, errcode_ret);
}

cl_int CL_API_CALL clEnqueueMarkerWithWaitList(cl_command_queue command_queue, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueMarkerWithWaitList) fn;
	__typeof__(&clEnqueueMarkerWithWaitList) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueMarkerWithWaitList))dropout_cl_symbol("clEnqueueMarkerWithWaitList");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueNDRangeKernel(cl_command_queue command_queue, cl_kernel kernel, cl_uint work_dim, const size_t * global_work_offset, const size_t * global_work_size, const size_t * local_work_size, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueNDRangeKernel) fn;
	__typeof__(&clEnqueueNDRangeKernel) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueNDRangeKernel))dropout_cl_symbol("clEnqueueNDRangeKernel");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, kernel, work_dim, global_work_offset, global_work_size, local_work_size, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueReadBuffer(cl_command_queue command_queue, cl_mem buffer, cl_bool blocking_read, size_t offset, size_t size, void * ptr, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueReadBuffer) fn;
	__typeof__(&clEnqueueReadBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueReadBuffer))dropout_cl_symbol("clEnqueueReadBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, buffer, blocking_read, offset, size, ptr, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueReadImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_read, const size_t * origin, const size_t * region, size_t row_pitch, size_t slice_pitch, void * ptr, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueReadImage) fn;
	__typeof__(&clEnqueueReadImage) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueReadImage))dropout_cl_symbol("clEnqueueReadImage");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, image, blocking_read, origin, region, row_pitch, slice_pitch, ptr, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueTask(cl_command_queue command_queue, cl_kernel kernel, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueTask) fn;
	__typeof__(&clEnqueueTask) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueTask))dropout_cl_symbol("clEnqueueTask");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, kernel, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueUnmapMemObject(cl_command_queue command_queue, cl_mem memobj, void * mapped_ptr, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueUnmapMemObject) fn;
	__typeof__(&clEnqueueUnmapMemObject) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueUnmapMemObject))dropout_cl_symbol("clEnqueueUnmapMemObject");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, memobj, mapped_ptr, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueWriteBuffer(cl_command_queue command_queue, cl_mem buffer, cl_bool blocking_write, size_t offset, size_t size, const void * ptr, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueWriteBuffer) fn;
	__typeof__(&clEnqueueWriteBuffer) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueWriteBuffer))dropout_cl_symbol("clEnqueueWriteBuffer");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, buffer, blocking_write, offset, size, ptr, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clEnqueueWriteImage(cl_command_queue command_queue, cl_mem image, cl_bool blocking_write, const size_t * origin, const size_t * region, size_t input_row_pitch, size_t input_slice_pitch, const void * ptr, cl_uint num_events_in_wait_list, const cl_event * event_wait_list, cl_event * event)
{
	static __typeof__(&clEnqueueWriteImage) fn;
	__typeof__(&clEnqueueWriteImage) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clEnqueueWriteImage))dropout_cl_symbol("clEnqueueWriteImage");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue, image, blocking_write, origin, region, input_row_pitch, input_slice_pitch, ptr, num_events_in_wait_list, event_wait_list, event);
}

cl_int CL_API_CALL clFinish(cl_command_queue command_queue)
{
	static __typeof__(&clFinish) fn;
	__typeof__(&clFinish) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clFinish))dropout_cl_symbol("clFinish");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue);
}

cl_int CL_API_CALL clGetDeviceIDs(cl_platform_id platform, cl_device_type device_type, cl_uint num_entries, cl_device_id * devices, cl_uint * num_devices)
{
	static __typeof__(&clGetDeviceIDs) fn;
	__typeof__(&clGetDeviceIDs) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetDeviceIDs))dropout_cl_symbol("clGetDeviceIDs");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(platform, device_type, num_entries, devices, num_devices);
}

cl_int CL_API_CALL clGetDeviceInfo(cl_device_id device, cl_device_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetDeviceInfo) fn;
	__typeof__(&clGetDeviceInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetDeviceInfo))dropout_cl_symbol("clGetDeviceInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(device, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetEventProfilingInfo(cl_event event, cl_profiling_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetEventProfilingInfo) fn;
	__typeof__(&clGetEventProfilingInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetEventProfilingInfo))dropout_cl_symbol("clGetEventProfilingInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(event, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetKernelArgInfo(cl_kernel kernel, cl_uint arg_indx, cl_kernel_arg_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetKernelArgInfo) fn;
	__typeof__(&clGetKernelArgInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetKernelArgInfo))dropout_cl_symbol("clGetKernelArgInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(kernel, arg_indx, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetKernelInfo(cl_kernel kernel, cl_kernel_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetKernelInfo) fn;
	__typeof__(&clGetKernelInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetKernelInfo))dropout_cl_symbol("clGetKernelInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(kernel, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetKernelWorkGroupInfo(cl_kernel kernel, cl_device_id device, cl_kernel_work_group_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetKernelWorkGroupInfo) fn;
	__typeof__(&clGetKernelWorkGroupInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetKernelWorkGroupInfo))dropout_cl_symbol("clGetKernelWorkGroupInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(kernel, device, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetPlatformIDs(cl_uint num_entries, cl_platform_id * platforms, cl_uint * num_platforms)
{
	static __typeof__(&clGetPlatformIDs) fn;
	__typeof__(&clGetPlatformIDs) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetPlatformIDs))dropout_cl_symbol("clGetPlatformIDs");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(num_entries, platforms, num_platforms);
}

cl_int CL_API_CALL clGetPlatformInfo(cl_platform_id platform, cl_platform_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetPlatformInfo) fn;
	__typeof__(&clGetPlatformInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetPlatformInfo))dropout_cl_symbol("clGetPlatformInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(platform, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetProgramBuildInfo(cl_program program, cl_device_id device, cl_program_build_info param_name, size_t param_value_size, void * param_value, size_t * param_value_size_ret)
{
	static __typeof__(&clGetProgramBuildInfo) fn;
	__typeof__(&clGetProgramBuildInfo) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetProgramBuildInfo))dropout_cl_symbol("clGetProgramBuildInfo");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(program, device, param_name, param_value_size, param_value, param_value_size_ret);
}

cl_int CL_API_CALL clGetSupportedImageFormats(cl_context context, cl_mem_flags flags, cl_mem_object_type image_type, cl_uint num_entries, cl_image_format * image_formats, cl_uint * num_image_formats)
{
	static __typeof__(&clGetSupportedImageFormats) fn;
	__typeof__(&clGetSupportedImageFormats) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clGetSupportedImageFormats))dropout_cl_symbol("clGetSupportedImageFormats");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(context, flags, image_type, num_entries, image_formats, num_image_formats);
}

cl_int CL_API_CALL clReleaseCommandQueue(cl_command_queue command_queue)
{
	static __typeof__(&clReleaseCommandQueue) fn;
	__typeof__(&clReleaseCommandQueue) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseCommandQueue))dropout_cl_symbol("clReleaseCommandQueue");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(command_queue);
}

cl_int CL_API_CALL clReleaseContext(cl_context context)
{
	static __typeof__(&clReleaseContext) fn;
	__typeof__(&clReleaseContext) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseContext))dropout_cl_symbol("clReleaseContext");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(context);
}

cl_int CL_API_CALL clReleaseEvent(cl_event event)
{
	static __typeof__(&clReleaseEvent) fn;
	__typeof__(&clReleaseEvent) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseEvent))dropout_cl_symbol("clReleaseEvent");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(event);
}

cl_int CL_API_CALL clReleaseKernel(cl_kernel kernel)
{
	static __typeof__(&clReleaseKernel) fn;
	__typeof__(&clReleaseKernel) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseKernel))dropout_cl_symbol("clReleaseKernel");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(kernel);
}

cl_int CL_API_CALL clReleaseMemObject(cl_mem memobj)
{
	static __typeof__(&clReleaseMemObject) fn;
	__typeof__(&clReleaseMemObject) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseMemObject))dropout_cl_symbol("clReleaseMemObject");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(memobj);
}

cl_int CL_API_CALL clReleaseProgram(cl_program program)
{
	static __typeof__(&clReleaseProgram) fn;
	__typeof__(&clReleaseProgram) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clReleaseProgram))dropout_cl_symbol("clReleaseProgram");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(program);
}

cl_int CL_API_CALL clSetKernelArg(cl_kernel kernel, cl_uint arg_index, size_t arg_size, const void * arg_value)
{
	static __typeof__(&clSetKernelArg) fn;
	__typeof__(&clSetKernelArg) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clSetKernelArg))dropout_cl_symbol("clSetKernelArg");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(kernel, arg_index, arg_size, arg_value);
}

cl_int CL_API_CALL clSetUserEventStatus(cl_event event, cl_int execution_status)
{
	static __typeof__(&clSetUserEventStatus) fn;
	__typeof__(&clSetUserEventStatus) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clSetUserEventStatus))dropout_cl_symbol("clSetUserEventStatus");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(event, execution_status);
}

cl_int CL_API_CALL clWaitForEvents(cl_uint num_events, const cl_event * event_list)
{
	static __typeof__(&clWaitForEvents) fn;
	__typeof__(&clWaitForEvents) f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
	if (!f) {
		f = (__typeof__(&clWaitForEvents))dropout_cl_symbol("clWaitForEvents");
		__atomic_store_n(&fn, f, __ATOMIC_RELEASE);
	}
	if (!f) {
		return DROPOUT_CL_NO_LOADER;
	}
	return f(num_events, event_list);
}
