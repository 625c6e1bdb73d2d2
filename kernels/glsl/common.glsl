// common.glsl: the push constants, Philox4x32-10 and the keep rule shared by
// every dropout compute shader (CONTRACT.md). Included by the .comp
// files; the Go side (gpu/vulkan) fills the push constants in the same order.

// Push constants, 108 bytes, the same block in every shader so that one
// pipeline layout serves all pipelines.
layout(push_constant) uniform PC {
    uint count;  // elements (mask elements for mask.comp) of this dispatch
    uint xBase;  // index of element 0 in X (binding 0)
    uint yBase;  // index of element 0 in Y (binding 1)
    uint mBase;  // index of the first 32-bit mask word in M (binding 2)
    uvec2 off;   // stream word of element 0 (lo, hi)
    uvec2 seed;  // Philox key (lo32(seed), hi32(seed))
    uint thresh; // keep iff word >= thresh, unless flags & F_DROPALL
    uint flags;  // F_DROPALL, F_COPY
    uvec2 scale; // float32 bits in .x; float64 bits in (.x, .y)
    uint i0;     // apply.comp: global element index of element 0
    uint ndims;  // apply.comp: canonical broadcast dims
    uint bmask;  // apply.comp: bit d set where dims[d] is broadcast
    uint dims[12];
} pc;

const uint F_DROPALL = 1u; // p = 1: T = 2^32 does not fit a uint, drop everything
const uint F_COPY = 2u;    // p = 0: kept elements are bit copies

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

bool keepWord(uint w) { return (pc.flags & F_DROPALL) == 0u && w >= pc.thresh; }

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

// bytesWord returns keep bits 0..3 as a word of 4 mask bytes (0 or 1 each).
uint bytesWord(uint bits) {
    return (bits & 1u) | (bits >> 1 & 1u) << 8 | (bits >> 2 & 1u) << 16 | (bits >> 3 & 1u) << 24;
}

#ifdef F64
// Float64 data: elements are uvec2 (lo, hi) bit patterns.
#extension GL_ARB_gpu_shader_fp64 : require
#define ELEM uvec2
ELEM scaled(ELEM x) {
    return unpackDouble2x32(packDouble2x32(x) * packDouble2x32(pc.scale));
}
#else
#define ELEM uint
// mulSubnormal returns x*s correctly rounded for a subnormal x, in integer
// arithmetic where needed, since devices may flush subnormal operands.
// s >= 1 or s = 0 (p = 1), so a normal x gives a normal result or a zero
// and needs no such care.
uint mulSubnormal(uint xb) {
    uint sign = xb & 0x80000000u;
    uint m = xb & 0x007fffffu; // x = m * 2^-149
    uint sb = pc.scale.x;
    if (sb == 0u) {
        return sign; // s = 0 (p = 1, a kept element of a caller's mask): x*0 = 0 of x's sign
    }
    float p = float(m) * uintBitsToFloat(sb); // m >= 1: a normal product
    if (p >= 8388608.0) {
        // x*s >= 2^-126 (up to rounding on the same grid): p * 2^-149 is
        // exact by moving the exponent.
        return sign | (floatBitsToUint(p) - (149u << 23));
    }
    // x*s < 2^-126: round m*s to an integer (the subnormal's bits), ties to even.
    uint S = (sb & 0x007fffffu) | 0x00800000u;
    uint k = 150u - ((sb >> 23) & 0xffu); // s = S * 2^-k, 1 <= k <= 23 here
    uint hi, lo;
    umulExtended(m, S, hi, lo);
    uint q = (lo >> k) | (hi << (32u - k));
    uint rem = lo & ((1u << k) - 1u);
    uint half_ = 1u << (k - 1u);
    if (rem > half_ || (rem == half_ && (q & 1u) == 1u)) {
        q++;
    }
    return sign | q;
}
ELEM scaled(uint xb) {
    if ((xb & 0x7f800000u) == 0u && (xb & 0x007fffffu) != 0u) {
        return mulSubnormal(xb);
    }
    return floatBitsToUint(uintBitsToFloat(xb) * uintBitsToFloat(pc.scale.x));
}
#endif

// outv is y = keep ? x*s : +0, with p = 0 a bit copy.
ELEM outv(ELEM x, bool keep) {
    if (!keep) {
        return ELEM(0u);
    }
    if ((pc.flags & F_COPY) != 0u) {
        return x;
    }
    return scaled(x);
}
