#version 450
// example_add.comp: y[i] = x[i] + bias, the program's own shader in the
// Vulkan backend's pipeline example (gpu/vulkan/example_pipeline_test.go).
// It uses the backend's pipeline layout (storage buffers at bindings 0 and
// 1, push constants) only to keep the example short; it is not part of
// the library.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer XB { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { float y[]; };
layout(push_constant) uniform PC {
    uint count;
    float bias;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.count) {
        y[i] = x[i] + pc.bias;
    }
}
