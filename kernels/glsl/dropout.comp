#version 450
// dropout.comp: dropout without broadcasting, one pipeline per MODE (and
// per FLAGS and DT, common.glsl).
//
//   MODE 0 GEN_NONE   y from x, keep from the stream; no mask
//   MODE 1 GEN_BITS   as GEN_NONE and writes the bit mask
//   MODE 2 GEN_BYTES  as GEN_NONE and writes the byte mask
//   MODE 3 READ_BITS  keep from a stored bit mask (backward)
//   MODE 4 READ_BYTES keep from a stored byte mask (backward)
//
// Item t owns elements 4t .. 4t+3: one 16-byte access of float32 data,
// one mask byte word, and the Philox block of their stream words (two
// blocks where the call's offset is not a multiple of 4); an invocation
// runs RUN consecutive items per grid-stride step. GEN_BITS lets
// invocation t own the 32 elements of mask word t.
//
// Build with -DF64 for float64 data.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0u;

#include "common.glsl"
#include "elem.glsl"

void item(uint t) {
    if (MODE == 1u) {
        uint e0 = 32u * t;
        uint cnt = min(32u, pc.count - e0);
        uint bits = COPY ? (cnt == 32u ? ~0u : (1u << cnt) - 1u) : keepBits(add64(pc.off, e0), cnt);
        m[pc.mBase + t] = bits; // padding bits are zero
        span(e0, cnt, bits);
        return;
    }
    uint e0 = 4u * t;
    uint cnt = min(4u, pc.count - e0);
    uint bits;
    if (MODE <= 2u) {
        bits = keep4(t, cnt);
        if (MODE == 2u) {
            m[pc.mBase + t] = bytesWord(bits);
        }
    } else if (MODE == 3u) {
        bits = m[pc.mBase + (t >> 3)] >> ((t & 7u) * 4u) & 0xfu;
    } else {
        uint w = m[pc.mBase + t];
        bits = uint((w & 0xffu) != 0u) | uint((w & 0xff00u) != 0u) << 1 |
               uint((w & 0xff0000u) != 0u) << 2 | uint((w & 0xff000000u) != 0u) << 3;
    }
    quad(e0, cnt, bits);
}

void main() {
    if (MODE == 1u) {
        uint n = (pc.count + 31u) >> 5;
        for (uint t = invocation(); t < n; t += stride()) {
            item(t);
        }
        return;
    }
#ifndef F64
    if (MODE <= 2u && RUN > 1u) {
        // A CPU implementation (RUN <= 8): item t is elements per·t ..
        // per·t+per-1, whose keep bits come as one word, and is written
        // as one span, as GEN_BITS does (quad by quad ran at 0.6 times
        // the speed on lavapipe).
        uint per = 4u * RUN;
        uint ng = (pc.count + per - 1u) / per;
        for (uint t = invocation(); t < ng; t += stride()) {
            uint e0 = per * t;
            uint cnt = min(per, pc.count - e0);
            uint bits = COPY ? (cnt == 32u ? ~0u : (1u << cnt) - 1u) : keepBits(add64(pc.off, e0), cnt);
            if (MODE == 2u) {
                for (uint k = 0u; 4u * k < cnt; k++) {
                    m[pc.mBase + RUN * t + k] = bytesWord(bits >> (4u * k));
                }
            }
            span(e0, cnt, bits);
        }
        return;
    }
#endif
    uint nq = (pc.count + 3u) >> 2;
    uint n = (nq + RUN - 1u) / RUN;
    for (uint t = invocation(); t < n; t += stride()) {
        for (uint r = 0u; r < RUN; r++) {
            uint q = t * RUN + r;
            if (q < nq) {
                item(q);
            }
        }
    }
}
