#version 450
// philox_kat.comp: the known-answer test of the GLSL Philox4x32-10.
// Case t reads (ctr[4], key[2]) at X[6t..6t+5] and writes the block to Y[4t..4t+3].
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;

#include "common.glsl"

layout(std430, set = 0, binding = 0) readonly buffer XB { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { uvec4 y[]; };

void main() {
    uint t = invocation();
    if (t >= pc.count) {
        return;
    }
    uint b = 6u * t;
    y[t] = philox(uvec4(x[b], x[b + 1u], x[b + 2u], x[b + 3u]), uvec2(x[b + 4u], x[b + 5u]));
}
