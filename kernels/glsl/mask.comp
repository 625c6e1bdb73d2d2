#version 450
// mask.comp: writes the mask of count mask elements and nothing else: the
// first pass of a broadcast (noise-shape) call, and a region's mask.
//
//   MODE 1 bits:  invocation t writes mask word t (elements 32t .. 32t+31)
//   MODE 2 bytes: item t writes mask word t (elements 4t .. 4t+3); an
//                 invocation runs RUN consecutive items per step
//
// Without a word map (ndims = 0) mask element k uses stream word off + k.
// With one (a region's mask, exec.Args.Words), the launch's element k is
// the region's mask element I0 + k, whose coordinates c in the sizes
// wd[d].x are the coordinates wd[d].y of I0 plus those of k (added here
// digit by digit), and it uses stream word off + Σ c[d]·stride[d] modulo
// 2^64 (stride[d] = (wd[d].z, wd[d].w)). The host splits word maps of more
// than MAXW axes.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 64) in;
layout(constant_id = 0) const uint MODE = 1u;

#define MASK_PC
layout(push_constant) uniform PC {
    uint count;  // mask elements of this dispatch
    uint xBase;  // unused
    uint yBase;  // unused
    uint mBase;  // index of the first 32-bit mask word in M (binding 2)
    uvec2 off;   // stream word of element 0 (lo, hi); with a word map, of coordinates 0
    uvec2 seed;  // Philox key
    uint thresh; // keep iff word >= thresh
    uint pad0;
    uint ndims;  // word-map axes, 0 for none
    uint pad1;
    uvec4 wd[5]; // per axis: size, coordinate of I0, stride (lo, hi)
} pc;
const uint MAXW = 5u;

#include "common.glsl"

layout(std430, set = 0, binding = 2) writeonly buffer MB { uint m[]; };

// mapped returns the keep bits of the cnt mask elements from e0 under the word map.
uint mapped(uint e0, uint cnt) {
    uint nd = pc.ndims;
    uint c[MAXW];
    uint carry = e0;
    for (int d = int(nd) - 1; d >= 0; d--) {
        uint sz = pc.wd[d].x;
        uint v = pc.wd[d].y + carry % sz;
        carry /= sz;
        if (v >= sz) {
            v -= sz;
            carry++;
        }
        c[d] = v;
    }
    uint bits = 0u;
    uvec2 cached = uvec2(0xffffffffu);
    uvec4 w = uvec4(0u);
    for (uint l = 0u; l < cnt; l++) {
        uvec2 g = pc.off;
        for (uint d = 0u; d < nd; d++) {
            uint hi, lo;
            umulExtended(c[d], pc.wd[d].z, hi, lo);
            hi += c[d] * pc.wd[d].w;
            uint cy;
            g.x = uaddCarry(g.x, lo, cy);
            g.y += hi + cy;
        }
        uvec2 b = blockAt(g, 0u);
        if (b != cached) {
            w = block(b);
            cached = b;
        }
        if (keepWord(w[g.x & 3u])) {
            bits |= 1u << l;
        }
        // next element: the innermost coordinate steps, carrying outwards
        for (int d = int(nd) - 1; d >= 0; d--) {
            if (++c[d] < pc.wd[d].x) {
                break;
            }
            c[d] = 0u;
        }
    }
    return bits;
}

// word writes mask word t, which covers elements per·t .. per·t+per-1.
void word(uint t, uint per) {
    uint e0 = per * t;
    uint cnt = min(per, pc.count - e0);
    uint bits;
    if (pc.ndims != 0u) {
        bits = mapped(e0, cnt);
    } else if (MODE == 1u) {
        bits = keepBits(add64(pc.off, e0), cnt);
    } else {
        bits = keep4(t, cnt);
    }
    m[pc.mBase + t] = MODE == 1u ? bits : bytesWord(bits);
}

void main() {
    uint per = MODE == 1u ? 32u : 4u;
    uint nw = (pc.count + per - 1u) / per;
    uint run = MODE == 1u ? 1u : RUN;
    uint n = (nw + run - 1u) / run;
    for (uint s = invocation(); s < n; s += stride()) {
        for (uint t = s * run; t < min(s * run + run, nw); t++) {
            word(t, per);
        }
    }
}
