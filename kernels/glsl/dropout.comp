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
// runs RUN consecutive items per grid-stride step. GEN_BITS on a CPU
// implementation (RUN > 1) lets invocation t own the 32 elements of mask
// word t; on a GPU (RUN = 1) invocation t owns quad t as in the other
// modes, and each mask word is assembled from the nibbles of the 8
// neighbouring invocations that own its quads (bitsQuads): in shared
// memory, or with subgroup shuffles in the module built with -DSUBGROUP
// (dropout_sg, which has GEN_BITS only; the host uses it where the
// device's subgroups have 8k <= 64 invocations and shuffles in compute
// shaders).
//
// Build with -DF64 for float64 data.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 0u;

#include "common.glsl"
#include "elem.glsl"

#ifndef SUBGROUP
shared uint nibbles[WG]; // bitsQuads: invocation i's nibble, in place
#endif

// bitsQuads runs GEN_BITS with one quad per invocation (RUN = 1): quad t
// of the call is invocation t's, whose keep bits are nibble t & 7 of mask
// word t >> 3. A work group covers 64 consecutive quads (8 mask words) per
// step of the grid-stride loop, whose trip count is the same for all its
// invocations (the barriers and subgroup operations need every one).
void bitsQuads() {
    uint nq = (pc.count + 3u) >> 2;
#ifdef SUBGROUP
    // lanes 8c .. 8c+7 of a subgroup hold the quads of one mask word; the
    // host uses this module where subgroups of 8k invocations tile the
    // work group, so that local runs over 0 .. WG-1
    uint local = gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID;
#else
    uint local = gl_LocalInvocationIndex;
#endif
    uint first = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * WG;
    for (uint base = first; base < nq; base += stride()) {
        uint t = base + local;
        uint nib = 0u;
        if (t < nq) {
            uint e0 = 4u * t;
            uint cnt = min(4u, pc.count - e0);
            nib = keep4(t, cnt); // padding bits are zero
            quad(e0, cnt, nib);
        }
        uint part = nib << (4u * (t & 7u));
#ifdef SUBGROUP
        // OR over lanes 8c .. 8c+7: a butterfly of lane ^ 1, 2, 4
        uint word = part | subgroupShuffleXor(part, 1u);
        word |= subgroupShuffleXor(word, 2u);
        word |= subgroupShuffleXor(word, 4u);
#else
        nibbles[local] = part;
        barrier();
        uint word = 0u;
        if ((local & 7u) == 0u) {
            [[unroll]] for (uint i = 0u; i < 8u; i++) {
                word |= nibbles[local + i];
            }
        }
        barrier(); // the next step's nibbles replace these
#endif
        if ((t & 7u) == 0u && t < nq) {
            m[pc.mBase + (t >> 3)] = word;
        }
    }
}

#ifndef SUBGROUP
// item runs quad t of the call (a GPU layout, and the modes that read a
// mask).
void item(uint t) {
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

// GROUPS is whether a call runs as groups of elements whose keep bits come
// as one word, each written as one span: GEN_BITS where invocation t owns
// the 32 elements of mask word t (RUN > 1), and on a CPU implementation
// (RUN <= 8) float32 GEN_NONE and GEN_BYTES with groups of RUN quads
// (quad by quad ran at 0.6 times the speed on lavapipe). All of them
// share one loop, so that the module holds one copy of span.
#ifdef F64
const bool GROUPS = MODE == 1u;
#else
const bool GROUPS = MODE == 1u || (MODE <= 2u && RUN > 1u);
#endif
#endif

void main() {
#ifdef SUBGROUP
    bitsQuads();
#else
    if (MODE == 1u && RUN == 1u) {
        bitsQuads();
        return;
    }
    if (GROUPS) {
        uint per = MODE == 1u ? 32u : 4u * RUN;
        uint ng = (pc.count + per - 1u) / per;
        for (uint t = invocation(); t < ng; t += stride()) {
            uint e0 = per * t;
            uint cnt = min(per, pc.count - e0);
            uint bits = COPY ? (cnt == 32u ? ~0u : (1u << cnt) - 1u) : keepBits(add64(pc.off, e0), cnt);
            if (MODE == 1u) {
                m[pc.mBase + t] = bits; // padding bits are zero
            } else if (MODE == 2u) {
                for (uint k = 0u; 4u * k < cnt; k++) {
                    m[pc.mBase + RUN * t + k] = bytesWord(bits >> (4u * k));
                }
            }
            span(e0, cnt, bits);
        }
        return;
    }
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
#endif
}
