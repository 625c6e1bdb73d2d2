#version 450
// philox_kat.comp: the known-answer test of the GLSL Philox4x32-10 and of
// the stream's block arithmetic.
//
//   MODE 0: case t reads (ctr[4], key[2]) at X[6t..6t+5] and writes
//           philox(ctr, key) to Y[4t..4t+3].
//   MODE 1: case t reads (g.lo, g.hi, e, d, key[2]) at X[6t..6t+5] and writes
//           the block blockAt(g + e, d) of the dropout shaders, that is
//           stream words 4b .. 4b+3 for b = (((g + e) mod 2^64) >> 2 + d)
//           mod 2^62, under the key, to Y[4t..4t+3].
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0u;

#include "common.glsl"

layout(std430, set = 0, binding = 0) readonly buffer XB { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { uvec4 y[]; };

void main() {
    uint t = invocation();
    if (t >= pc.count) {
        return;
    }
    uint b = 6u * t;
    uvec2 key = uvec2(x[b + 4u], x[b + 5u]);
    if (MODE == 1u) {
        uvec2 c = blockAt(add64(uvec2(x[b], x[b + 1u]), x[b + 2u]), x[b + 3u]);
        y[t] = philox(uvec4(c, 0u, 0u), key);
        return;
    }
    y[t] = philox(uvec4(x[b], x[b + 1u], x[b + 2u], x[b + 3u]), key);
}
