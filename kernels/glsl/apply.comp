#version 450
// apply.comp: y = keep ? x*s : 0 where element i reads mask element
// MaskIndex(i) of a broadcast (noise-shape) mask, the canonical dims and
// broadcast flags in the push constants (dropout.Plan's Dims and Bcast).
//
//   MODE 1: the mask is bits; MODE 2: bytes.
//
// Build with -DF64 for float64 data.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 1u;

#include "common.glsl"

layout(std430, set = 0, binding = 0) readonly buffer XB { ELEM x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { ELEM y[]; };
layout(std430, set = 0, binding = 2) readonly buffer MB { uint m[]; };

void item(uint e) {
    uint i = pc.i0 + e;
    uint j = 0u, stride = 1u;
    for (int d = int(pc.ndims) - 1; d >= 0; d--) {
        uint n = pc.dims[d];
        uint c = i % n;
        i /= n;
        if ((pc.bmask >> uint(d) & 1u) == 0u) {
            j += c * stride;
            stride *= n;
        }
    }
    bool keep;
    if (MODE == 1u) {
        keep = (m[pc.mBase + (j >> 5)] >> (j & 31u) & 1u) != 0u;
    } else {
        keep = (m[pc.mBase + (j >> 2)] >> ((j & 3u) * 8u) & 0xffu) != 0u;
    }
    y[pc.yBase + e] = outv(x[pc.xBase + e], keep);
}

void main() {
    for (uint e = invocation(); e < pc.count; e += stride()) {
        item(e);
    }
}
