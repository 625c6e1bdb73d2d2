// common.glsl: the push constants, Philox4x32-10 and the keep rule shared by
// every dropout compute shader (CONTRACT.md). Included by the .comp
// files; the Go side (gpu/vulkan) fills the push constants in the same order.

#extension GL_EXT_control_flow_attributes : require

// Push constants, 128 bytes (the least maxPushConstantsSize), one range in
// the shared pipeline layout. The data shaders (dropout.comp, apply.comp)
// use the block PC below; mask.comp declares its own block with the same
// first ten words (MASK_PC).
#ifndef MASK_PC
layout(push_constant) uniform PC {
    uint count;   // elements (quads' elements) of this dispatch
    uint xBase;   // index of element 0 in X (binding 0)
    uint yBase;   // index of element 0 in Y (binding 1)
    uint mBase;   // index of the first 32-bit mask word in M (binding 2)
    uvec2 off;    // stream word of element 0 (lo, hi)
    uvec2 seed;   // Philox key (lo32(seed), hi32(seed))
    uint thresh;  // keep iff word >= thresh, unless F_DROPALL
    uint pad0;
    uvec2 scale;  // s (alpha dropout: A); float32 bits in .x, float64 bits in (.x, .y)
    uvec2 alphaB; // alpha dropout: B, the kept element's offset
    uvec2 alphaD; // alpha dropout: D, a dropped element
    uint bBase;   // index of bias element 0 in B (binding 3)
    uint rBase;   // index of element 0 in R (binding 4)
    uint biasLen; // bias elements
    uint bias0;   // bias element of element 0: I0 mod biasLen
    uint i0;      // apply.comp: tensor element of element 0
    uint ndims;   // apply.comp: canonical broadcast dims
    uint bmask;   // apply.comp: bit d set where dims[d] is broadcast
    uint dims[9];
} pc;
#endif

// Specialization constants: constant 0 is each shader's MODE; FLAGS and
// DT are the call's kind, so the hot path carries no test of them.
layout(constant_id = 1) const uint FLAGS = 0u;
layout(constant_id = 2) const uint DT = 0u; // DT_F32, DT_F16, DT_BF16 (F64 builds: unused)
// RUN is the quads (or byte-mask words) one work item covers: 1 on a GPU
// (neighbouring invocations touch neighbouring 16 bytes), more on a CPU
// implementation such as lavapipe, which pays per item.
layout(constant_id = 3) const uint RUN = 1u;

const uint F_DROPALL = 1u; // p = 1: T = 2^32 does not fit a uint, drop everything
const uint F_COPY = 2u;    // p = 0: kept elements are bit copies
const uint F_ALPHA = 4u;   // alpha dropout: kept A*x + B, dropped D
const uint F_BIAS = 8u;    // fused: t = x + b replaces x
const uint F_RESID = 16u;  // fused: y = r + u
const uint DT_F32 = 0u;
const uint DT_F16 = 1u;
const uint DT_BF16 = 2u;

// The invocation index over a 2D grid of work groups of WG invocations
// (the host spreads large dispatches over y).
#define WG 64
uint invocation() {
    return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * WG);
}

// stride is the number of invocations of the dispatch: each invocation
// handles items invocation(), invocation() + stride, … (a grid-stride loop,
// so that a dispatch needs no more invocations than fill the device).
uint stride() { return gl_NumWorkGroups.x * gl_NumWorkGroups.y * WG; }

// philox4x32_10(c, k), Salmon et al. SC11; umulExtended gives the 32x32->64
// products, so no 64-bit integer feature is needed.
uvec4 philox(uvec4 c, uvec2 k) {
    for (int i = 0; i < 10; i++) {
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, c.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, c.z, hi1, lo1);
        c = uvec4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k += uvec2(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

// add64 returns the 64-bit a + d, modulo 2^64 (the stream's word arithmetic).
uvec2 add64(uvec2 a, uint d) {
    uint carry;
    uint lo = uaddCarry(a.x, d, carry);
    return uvec2(lo, a.y + carry);
}

// Stream words g are 64-bit (lo, hi) and wrap modulo 2^64, so their Philox
// block counters g >> 2 are 62-bit and wrap modulo 2^62: after block
// 2^62 - 1 (words 2^64-4 .. 2^64-1) comes block 0 (words 0 .. 3). Every
// shader steps through blocks with blockAt, never with a bare add64 on a
// block counter (which would carry into bit 62 and give block 2^62).

// blockAt returns the counter of block d after the block of stream word g:
// ((g >> 2) + d) mod 2^62.
uvec2 blockAt(uvec2 g, uint d) {
    uvec2 b = add64(uvec2((g.x >> 2) | (g.y << 30), g.y >> 2), d);
    return uvec2(b.x, b.y & 0x3fffffffu);
}

// block returns stream words 4b .. 4b+3 of the call's seed.
uvec4 block(uvec2 b) { return philox(uvec4(b.x, b.y, 0u, 0u), pc.seed); }

bool keepWord(uint w) { return (FLAGS & F_DROPALL) == 0u && w >= pc.thresh; }

// keepBits returns bit i set iff stream word g+i is kept, for i < cnt <= 32,
// with one Philox call per block of 4 stream words touched.
uint keepBits(uvec2 g, uint cnt) {
    uint phase = g.x & 3u;
    uint bits = 0u;
    uint nb = (cnt + phase + 3u) >> 2;
    for (uint k = 0u; k < nb; k++) {
        uvec4 w = block(blockAt(g, k));
        for (uint l = 0u; l < 4u; l++) {
            int i = int(4u * k + l) - int(phase);
            if (i >= 0 && uint(i) < cnt && keepWord(w[l])) {
                bits |= 1u << uint(i);
            }
        }
    }
    return bits;
}

// keep4 returns the keep bits of elements 4t .. 4t+cnt-1 from the stream.
uint keep4(uint t, uint cnt) {
    if ((FLAGS & F_COPY) != 0u) {
        return (1u << cnt) - 1u; // p = 0 keeps everything: no need for the stream
    }
    if ((FLAGS & F_DROPALL) != 0u) {
        return 0u;
    }
    uint phase = pc.off.x & 3u;
    uvec4 w = block(blockAt(pc.off, t)); // the block of word off + 4t
    if (phase != 0u) {
        // words off+4t .. off+4t+3 straddle two blocks
        uvec4 v = block(blockAt(pc.off, t + 1u));
        uvec4 all0 = w, all1 = v;
        uint a[8] = uint[8](all0.x, all0.y, all0.z, all0.w, all1.x, all1.y, all1.z, all1.w);
        w = uvec4(a[phase], a[phase + 1u], a[phase + 2u], a[phase + 3u]);
    }
    uint bits = uint(keepWord(w.x)) | uint(keepWord(w.y)) << 1 | uint(keepWord(w.z)) << 2 | uint(keepWord(w.w)) << 3;
    return bits & ((1u << cnt) - 1u);
}

// bytesWord returns keep bits 0..3 as a word of 4 mask bytes (0 or 1 each).
uint bytesWord(uint bits) {
    return (bits & 1u) | (bits >> 1 & 1u) << 8 | (bits >> 2 & 1u) << 16 | (bits >> 3 & 1u) << 24;
}


