#version 450
// apply.comp: y = keep ? x*s : 0 (and the variants of elem.glsl) where
// element i reads mask element MaskIndex(I0 + i) of a broadcast
// (noise-shape) mask, the canonical dims and broadcast flags in the push
// constants (driver.Plan's Dims and Bcast). Item t owns elements
// 4t .. 4t+3; an invocation runs RUN consecutive items per step.
//
//   MODE 1: the mask is bits; MODE 2: bytes.
//
// Build with -DF64 for float64 data.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 1u;

#include "common.glsl"
#include "elem.glsl"

bool keepAt(uint e) {
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
    if (MODE == 1u) {
        return (m[pc.mBase + (j >> 5)] >> (j & 31u) & 1u) != 0u;
    }
    return (m[pc.mBase + (j >> 2)] >> ((j & 3u) * 8u) & 0xffu) != 0u;
}

void quadAt(uint t) {
    uint e0 = 4u * t;
    uint cnt = min(4u, pc.count - e0);
    uint bits = 0u;
    for (uint i = 0u; i < cnt; i++) {
        bits |= uint(keepAt(e0 + i)) << i;
    }
    quad(e0, cnt, bits);
}

void main() {
    uint nq = (pc.count + 3u) >> 2;
    uint n = (nq + RUN - 1u) / RUN;
    for (uint t = invocation() * RUN; t < n * RUN; t += stride() * RUN) {
        for (uint q = t; q < min(t + RUN, nq); q++) {
            quadAt(q);
        }
    }
}
