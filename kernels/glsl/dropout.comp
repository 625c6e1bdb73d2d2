#version 450
// dropout.comp: dropout without broadcasting, one pipeline per MODE.
//
//   MODE 0 GEN_NONE   y = keep ? x*s : 0, mask regenerated from the stream;
//                     invocation t owns Philox block t of the call (one call
//                     per 4 stream words), so unaligned offsets cost nothing.
//   MODE 1 GEN_BITS   as GEN_NONE and writes the bit mask; invocation t owns
//                     elements 32t .. 32t+31, that is mask word t.
//   MODE 2 GEN_BYTES  writes the byte mask; invocation t owns elements
//                     32t .. 32t+31, that is mask words 8t .. 8t+7.
//   MODE 3 READ_BITS  keep from a stored bit mask (backward); elements 4t .. 4t+3.
//   MODE 4 READ_BYTES keep from a stored byte mask (backward); elements 4t .. 4t+3.
//
// Build with -DF64 for float64 data.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0u;

#include "common.glsl"

layout(std430, set = 0, binding = 0) readonly buffer XB { ELEM x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB { ELEM y[]; };
layout(std430, set = 0, binding = 2) buffer MB { uint m[]; };
#ifndef F64
// The same bindings as 16-byte vectors, for whole aligned quads of float32.
layout(std430, set = 0, binding = 0) readonly buffer XB4 { uvec4 x4[]; };
layout(std430, set = 0, binding = 1) writeonly buffer YB4 { uvec4 y4[]; };
#endif

// quads reports whether the bases allow 16-byte accesses.
bool quads() {
#ifdef F64
    return false;
#else
    return ((pc.xBase | pc.yBase) & 3u) == 0u;
#endif
}

// apply writes y for elements e0 .. e0+cnt-1 (e0 a multiple of 4) from keep bits.
void apply(uint e0, uint cnt, uint bits) {
    uint i = 0u;
#ifndef F64
    if (quads()) {
        for (; i + 4u <= cnt; i += 4u) {
            uint q = (e0 + i) >> 2;
            uvec4 v = x4[(pc.xBase >> 2) + q];
            y4[(pc.yBase >> 2) + q] = uvec4(outv(v.x, (bits >> i & 1u) != 0u), outv(v.y, (bits >> (i + 1u) & 1u) != 0u),
                                            outv(v.z, (bits >> (i + 2u) & 1u) != 0u), outv(v.w, (bits >> (i + 3u) & 1u) != 0u));
        }
    }
#endif
    for (; i < cnt; i++) {
        y[pc.yBase + e0 + i] = outv(x[pc.xBase + e0 + i], (bits >> i & 1u) != 0u);
    }
}

void item(uint t) {
    if (MODE == 0u) {
        uint phase = pc.off.x & 3u;
        uvec2 b = blockAt(pc.off, t);
        // p = 0 keeps everything: no need for the stream
        uvec4 w = (pc.flags & F_COPY) != 0u ? uvec4(0xffffffffu) : block(b);
        if (phase == 0u && 4u * t + 4u <= pc.count) {
            // the block's 4 words are the elements 4t .. 4t+3: one quad
            apply(4u * t, 4u, uint(keepWord(w.x)) | uint(keepWord(w.y)) << 1 | uint(keepWord(w.z)) << 2 | uint(keepWord(w.w)) << 3);
            return;
        }
        for (uint l = 0u; l < 4u; l++) {
            int e = int(4u * t + l) - int(phase);
            if (e >= 0 && uint(e) < pc.count) {
                uint i = uint(e);
                y[pc.yBase + i] = outv(x[pc.xBase + i], keepWord(w[l]));
            }
        }
        return;
    }
    uint per = MODE <= 2u ? 32u : 4u;
    uint e0 = per * t;
    uint cnt = min(per, pc.count - e0);
    uint bits;
    if (MODE == 1u) {
        bits = keepBits(add64(pc.off, e0), cnt);
        m[pc.mBase + t] = bits; // padding bits are zero
    } else if (MODE == 2u) {
        bits = keepBits(add64(pc.off, e0), cnt);
        for (uint k = 0u; 4u * k < cnt; k++) {
            m[pc.mBase + 8u * t + k] = bytesWord(bits >> (4u * k));
        }
    } else if (MODE == 3u) {
        bits = m[pc.mBase + (t >> 3)] >> ((t & 7u) * 4u) & 0xfu;
    } else {
        uint w = m[pc.mBase + t];
        bits = uint((w & 0xffu) != 0u) | uint((w & 0xff00u) != 0u) << 1 |
               uint((w & 0xff0000u) != 0u) << 2 | uint((w & 0xff000000u) != 0u) << 3;
    }
    apply(e0, cnt, bits);
}

// items returns the work items of the dispatch: Philox blocks (mode 0),
// 32-element groups (modes 1 and 2) or 4-element groups.
uint items() {
    if (MODE == 0u) {
        return (pc.count + (pc.off.x & 3u) + 3u) >> 2;
    }
    return MODE <= 2u ? (pc.count + 31u) >> 5 : (pc.count + 3u) >> 2;
}

void main() {
    uint n = items();
    for (uint t = invocation(); t < n; t += stride()) {
        item(t);
    }
}
