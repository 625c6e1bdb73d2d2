#version 450
// mask.comp: writes the mask of count mask elements and nothing else, the
// first pass of a broadcast (noise-shape) call.
//
//   MODE 1 bits:  invocation t writes mask word t (elements 32t .. 32t+31)
//   MODE 2 bytes: invocation t writes mask words 8t .. 8t+7 (the same elements)
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 1u;

#include "common.glsl"

layout(std430, set = 0, binding = 2) writeonly buffer MB { uint m[]; };

void item(uint t) {
    uint e0 = 32u * t;
    uint cnt = min(32u, pc.count - e0);
    uint bits = keepBits(add64(pc.off, e0), cnt);
    if (MODE == 1u) {
        m[pc.mBase + t] = bits;
    } else {
        for (uint k = 0u; 4u * k < cnt; k++) {
            m[pc.mBase + 8u * t + k] = bytesWord(bits >> (4u * k));
        }
    }
}

void main() {
    uint n = (pc.count + 31u) >> 5;
    for (uint t = invocation(); t < n; t += stride()) {
        item(t);
    }
}
