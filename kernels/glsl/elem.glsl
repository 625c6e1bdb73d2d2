// elem.glsl: the data bindings and element arithmetic of the data shaders
// (dropout.comp, apply.comp), after common.glsl. Every element runs
// y = keep ? x*s : +0 as CONTRACT.md defines it, with the variants the
// specialization constants select: 16-bit data (DT), alpha dropout and the
// fused bias and residual (FLAGS).
//
// Float32 and 16-bit data compute in float32 on the bit patterns (uint).
// The products and sums go through mul32 and add32, which give the
// correctly rounded IEEE result whatever the device does with subnormal
// operands and results (a device may flush them): the float operation on
// the hot path, integer arithmetic only where an operand or the result
// may be subnormal. 16-bit values are widened exactly and rounded to
// nearest even with integer operations (packHalf2x16 need not round to
// nearest even). Float64 data computes in double.
//
// All buffers are arrays of 32-bit words: a float64 element is two words,
// two 16-bit elements share one (16-bit values packed in 32-bit words need
// no 16-bit storage feature). An invocation writes whole words of Y.

layout(std430, set = 0, binding = 0) readonly buffer XB { uint x[]; };
layout(std430, set = 0, binding = 1) buffer YB { uint y[]; };
layout(std430, set = 0, binding = 2) buffer MB { uint m[]; };
layout(std430, set = 0, binding = 3) readonly buffer BB { uint bb[]; };
layout(std430, set = 0, binding = 4) readonly buffer RB { uint rr[]; };
#ifndef F64
// X and Y as 16-byte vectors, for whole aligned quads of float32.
layout(std430, set = 0, binding = 0) readonly buffer XB4 { uvec4 x4[]; };
layout(std430, set = 0, binding = 1) buffer YB4 { uvec4 y4[]; };
#endif

const bool ALPHA = (FLAGS & F_ALPHA) != 0u;
const bool BIAS = (FLAGS & F_BIAS) != 0u;
const bool RESID = (FLAGS & F_RESID) != 0u;
const bool COPY = (FLAGS & F_COPY) != 0u;
const bool DROPALL = (FLAGS & F_DROPALL) != 0u;

// biasIndex returns the bias element of element e: (I0 + e) mod biasLen.
uint biasIndex(uint e) { return (pc.bias0 + e % pc.biasLen) % pc.biasLen; }

#ifdef F64
#extension GL_ARB_gpu_shader_fp64 : require

double dbl(uvec2 v) { return packDouble2x32(v); }
uvec2 bits64(double v) { return unpackDouble2x32(v); }

// elem returns y of one element from its x, keep, bias and residual bits.
uvec2 elem(uvec2 raw, bool keep, uvec2 braw, uvec2 rraw) {
    precise double t = dbl(raw);
    if (BIAS) {
        t = t + dbl(braw);
    }
    precise double u;
    if ((ALPHA && DROPALL) || (!keep && !ALPHA)) {
        if (!RESID) {
            return uvec2(0u);
        }
        // y = r + +0: r, but +0 for r = -0
        return rraw == uvec2(0u, 0x80000000u) ? uvec2(0u) : rraw;
    } else if (!keep) {
        u = dbl(pc.alphaD);
    } else if (COPY) {
        if (!BIAS && !RESID) {
            return raw; // a bit copy
        }
        u = t;
    } else if (ALPHA) {
        precise double p = t * dbl(pc.scale);
        u = p + dbl(pc.alphaB);
    } else {
        u = t * dbl(pc.scale);
    }
    if (RESID) {
        u = dbl(rraw) + u;
    }
    return bits64(u);
}


// quad writes y for elements e0 .. e0+cnt-1 (e0 a multiple of 4, cnt <= 4)
// from the keep bits.
void quad(uint e0, uint cnt, uint bits) {
    for (uint i = 0u; i < cnt; i++) {
        uint e = e0 + i;
        uint k = pc.xBase + e;
        uvec2 b = uvec2(0u), r = uvec2(0u);
        if (BIAS) {
            uint j = pc.bBase + biasIndex(e);
            b = uvec2(bb[2u * j], bb[2u * j + 1u]);
        }
        if (RESID) {
            uint j = pc.rBase + e;
            r = uvec2(rr[2u * j], rr[2u * j + 1u]);
        }
        uvec2 v = elem(uvec2(x[2u * k], x[2u * k + 1u]), (bits >> i & 1u) != 0u, b, r);
        uint o = 2u * (pc.yBase + e);
        y[o] = v.x;
        y[o + 1u] = v.y;
    }
}
#else

// mulSlow returns x*c correctly rounded for a finite x and a c that is
// normal or zero, in integer arithmetic where the result is subnormal.
uint mulSlow(uint xb, uint cb) {
    uint sign = (xb ^ cb) & 0x80000000u;
    if ((xb & 0x7fffffffu) == 0u || (cb & 0x7fffffffu) == 0u) {
        return sign;
    }
    uint ex = (xb >> 23) & 0xffu, ec = (cb >> 23) & 0xffu;
    uint mx = ex != 0u ? (xb & 0x007fffffu) | 0x00800000u : xb & 0x007fffffu;
    uint mc = (cb & 0x007fffffu) | 0x00800000u;
    int E = int(max(ex, 1u)) + int(ec) - 300; // x*c = mx*mc * 2^E
    uint hi, lo;
    umulExtended(mx, mc, hi, lo);
    int msb = hi != 0u ? 32 + findMSB(hi) : findMSB(lo);
    if (msb + E >= -126) {
        // a normal result: round mx*mc to 24 bits (a normal float product,
        // exact operands) and move the exponent
        precise float p = float(mx) * float(mc);
        return sign | uint(int(floatBitsToUint(p)) + E * 8388608);
    }
    // a subnormal result: q = mx*mc * 2^(E+149) rounded to an integer, ties to even
    int k = -(E + 149); // >= 1
    if (k > 48) {
        return sign; // mx*mc < 2^48: below half the least subnormal
    }
    uint q;
    bool up;
    if (k < 32) {
        q = (lo >> uint(k)) | (hi << uint(32 - k));
        uint rem = lo & ((1u << uint(k)) - 1u), h = 1u << uint(k - 1);
        up = rem > h || (rem == h && (q & 1u) == 1u);
    } else if (k == 32) {
        q = hi;
        up = lo > 0x80000000u || (lo == 0x80000000u && (q & 1u) == 1u);
    } else {
        uint kk = uint(k - 32);
        q = hi >> kk;
        uint rem = hi & ((1u << kk) - 1u), h = 1u << (kk - 1u);
        up = rem > h || (rem == h && (lo != 0u || (q & 1u) == 1u));
    }
    return sign | (q + uint(up));
}

// mul32 returns x*c (c normal or zero) correctly rounded. (A device may
// flush a subnormal x to zero, but a zero c makes the product a zero of the
// same sign either way.)
uint mul32(uint xb, uint cb) {
    uint ex = (xb >> 23) & 0xffu, ec = (cb >> 23) & 0xffu;
    bool tiny = ex == 0u ? (xb & 0x007fffffu) != 0u : ex != 0xffu && ex + ec < 128u;
    if (ec == 0u || !tiny) {
        // zeros, infinities, NaNs, and normal operands with a normal (or
        // infinite) product: the device's multiply is exact to the rule
        precise float p = uintBitsToFloat(xb) * uintBitsToFloat(cb);
        return floatBitsToUint(p);
    }
    return mulSlow(xb, cb); // a subnormal operand or result
}

// up64 returns v * 2^64 for |v| < 2^-102 (subnormals too), exactly.
float up64(uint v) {
    if ((v & 0x7f800000u) != 0u) {
        return uintBitsToFloat(v + (64u << 23));
    }
    float f = float(v & 0x007fffffu) * uintBitsToFloat(42u << 23); // m * 2^-85
    return uintBitsToFloat(floatBitsToUint(f) | (v & 0x80000000u));
}

// add32 returns a + b correctly rounded. Where both are below 2^-102 (the
// only case in which a subnormal operand can change the sum or the sum can
// be subnormal) it adds them scaled by 2^64, which is exact, and scales
// back with integer operations.
uint add32(uint ab, uint bb_) {
    if ((ab & 0x7fffffffu) == 0u || (bb_ & 0x7fffffffu) == 0u) {
        // a zero operand: the other one, and -0 only for -0 + -0
        return (ab & 0x7fffffffu) == 0u ? ((bb_ & 0x7fffffffu) == 0u ? ab & bb_ : bb_) : ab;
    }
    if (max((ab >> 23) & 0xffu, (bb_ >> 23) & 0xffu) >= 25u) {
        precise float s = uintBitsToFloat(ab) + uintBitsToFloat(bb_);
        return floatBitsToUint(s);
    }
    precise float s = up64(ab) + up64(bb_);
    uint sb = floatBitsToUint(s);
    if (((sb >> 23) & 0xffu) > 64u) {
        return sb - (64u << 23);
    }
    return (sb & 0x80000000u) | uint(abs(s) * uintBitsToFloat(212u << 23)); // |s| * 2^85, an exact integer
}

// widen returns the float32 bits of the 16-bit value h (DT), exactly.
uint widen(uint h) {
    if (DT == DT_BF16) {
        return h << 16;
    }
    uint sign = (h & 0x8000u) << 16;
    uint e = (h >> 10) & 0x1fu, mm = h & 0x3ffu;
    if (e == 0x1fu) {
        return sign | 0x7f800000u | (mm << 13);
    }
    if (e != 0u) {
        return sign | ((e + 112u) << 23) | (mm << 13);
    }
    return sign | floatBitsToUint(float(mm) * uintBitsToFloat(103u << 23)); // m * 2^-24, normal or 0
}

// narrow returns the float32 bits f rounded to the 16-bit type (DT), to
// nearest with ties to even; a NaN gives a quiet NaN.
uint narrow(uint f) {
    if (DT == DT_BF16) {
        if ((f & 0x7fffffffu) > 0x7f800000u) {
            return (f >> 16) | 0x40u;
        }
        return (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
    }
    uint sign = (f >> 16) & 0x8000u;
    uint b = f & 0x7fffffffu;
    if (b > 0x7f800000u) {
        return sign | 0x7e00u | ((b >> 13) & 0x3ffu);
    }
    if (b >= 0x477ff000u) {
        return sign | 0x7c00u; // 65520 and beyond round to infinity
    }
    if (b >= 0x38800000u) { // a normal float16
        uint r = b - (112u << 23);
        r += 0xfffu + ((r >> 13) & 1u);
        return sign | (r >> 13);
    }
    if (b < 0x33000000u) {
        return sign; // at most 2^-25, which ties to 0
    }
    uint e = b >> 23;
    uint mm = (b & 0x007fffffu) | 0x00800000u;
    uint sh = 126u - e; // 14 .. 24
    uint q = mm >> sh;
    uint rem = mm & ((1u << sh) - 1u), h = 1u << (sh - 1u);
    if (rem > h || (rem == h && (q & 1u) == 1u)) {
        q++;
    }
    return sign | q;
}

// wid and nar convert between the data type's bits and float32 bits; rnd
// rounds float32 bits to the data type.
uint wid(uint raw) { return DT == DT_F32 ? raw : widen(raw); }
uint nar(uint f) { return DT == DT_F32 ? f : narrow(f); }
uint rnd(uint f) { return DT == DT_F32 ? f : widen(narrow(f)); }

// elem returns y of one element (data-type bits) from its x, keep, bias
// and residual bits. Each arithmetic helper has one call site, so that the
// module stays small.
uint elem(uint raw, bool keep, uint braw, uint rraw) {
    bool fused = BIAS || RESID;
    if ((ALPHA && DROPALL) || (!keep && !ALPHA)) {
        if (!RESID) {
            return 0u;
        }
        uint r = wid(rraw); // y = r + +0: r, but +0 for r = -0
        return nar(r == 0x80000000u ? 0u : r);
    }
    if (keep && COPY && !fused) {
        return raw; // p = 0: a bit copy
    }
    uint t = wid(raw);
    if (BIAS) {
        t = rnd(add32(t, wid(braw)));
    }
    uint u;
    if (!keep) {
        u = pc.alphaD.x;
    } else if (COPY) {
        u = t;
    } else {
        u = mul32(t, pc.scale.x);
        if (ALPHA) {
            u = add32(u, pc.alphaB.x);
        }
    }
    if (RESID) {
        u = add32(wid(rraw), rnd(u));
    }
    return nar(u);
}

// half16 returns 16-bit element i of a word array's contents w.
#define HALF(arr, i) ((arr[(i) >> 1] >> (((i) & 1u) << 4)) & 0xffffu)

uint biasBits(uint e) {
    uint j = pc.bBase + biasIndex(e);
    return DT == DT_F32 ? bb[j] : HALF(bb, j);
}

uint residBits(uint e) {
    uint j = pc.rBase + e;
    return DT == DT_F32 ? rr[j] : HALF(rr, j);
}

// one returns y of element e from its keep bit.
uint one(uint e, uint raw, bool keep) {
    return elem(raw, keep, BIAS ? biasBits(e) : 0u, RESID ? residBits(e) : 0u);
}

// PLAIN is forward and backward dropout of float32 data: no alpha, bias
// or residual. Its runs and quads (a GPU's, RUN = 1) take plainSpan, whose
// quads are four multiplies and its elements plainElem: the general path
// (elem's chain of cases, quad by quad) ran bit masks at 0.7 times the
// speed on lavapipe, and inlines mul32 once per element of a GPU's quad.
const bool PLAIN = DT == DT_F32 && !ALPHA && !BIAS && !RESID;

// plainElem returns keep ? x*s : +0 (p = 0: a bit copy).
uint plainElem(uint xb, bool keep) {
    if (!keep) {
        return 0u;
    }
    return COPY ? xb : mul32(xb, pc.scale.x);
}

// plainTiny returns the uniform bound of plainQuad: x*s takes the
// device's multiply in mul32 (its product is normal, infinite, NaN or an
// exact zero, so that no device can get it wrong) unless
// (|x| - 1) mod 2^32 < plainTiny(). That is mul32's own test: a zero or
// nonzero exponent field of s; for the latter, x nonzero with an exponent
// field ex < max(128 - es, 1) (a subnormal x, or a subnormal product).
// Scales s >= 1 (dropout's 1/(1-p)) give 2^23 - 1: only subnormal x.
uint plainTiny() {
    uint es = (pc.scale.x >> 23) & 0xffu;
    if (COPY || es == 0u) {
        return 0u;
    }
    return (uint(max(128 - int(es), 1)) << 23) - 1u;
}

// plainQuad writes y for the aligned quad of elements e .. e+3 of a
// PLAIN call from keep bits 0..3 of bits, with four multiplies and no
// test per element, and returns true; it writes nothing and returns false
// where an element needs mul32's integer path (tiny, plainTiny).
bool plainQuad(uint e, uint bits, uint tiny) {
    uvec4 v = x4[(pc.xBase + e) >> 2];
    if (any(lessThan((v & 0x7fffffffu) - 1u, uvec4(tiny)))) {
        return false;
    }
    uvec4 o = v;
    if (!COPY) {
        precise vec4 p = uintBitsToFloat(v) * uintBitsToFloat(pc.scale.x);
        o = floatBitsToUint(p);
    }
    uvec4 k = uvec4(bits, bits >> 1, bits >> 2, bits >> 3) & 1u;
    y4[(pc.yBase + e) >> 2] = o & (uvec4(0u) - k); // dropped: +0
    return true;
}

// plainSpan writes y for elements e0 .. e0+cnt-1 (e0 a multiple of 4,
// cnt <= 32) of a PLAIN call from the keep bits: plainQuad where the
// bases allow 16-byte accesses; from the first quad that it declines, the
// span goes element by element. plainElem (mul32) is inlined once per
// call site of plainSpan: with one copy per element of a quad, lavapipe
// ran bit masks at 0.85 times the speed, and a GPU's hot loop carries no
// integer path.
void plainSpan(uint e0, uint cnt, uint bits) {
    uint i = 0u;
    if (((pc.xBase | pc.yBase) & 3u) == 0u) {
        uint tiny = plainTiny();
        for (; i + 4u <= cnt; i += 4u) {
            if (!plainQuad(e0 + i, bits >> i, tiny)) {
                break;
            }
        }
    }
    for (; i < cnt; i++) {
        y[pc.yBase + e0 + i] = plainElem(x[pc.xBase + e0 + i], (bits >> i & 1u) != 0u);
    }
}

// quad writes y for elements e0 .. e0+cnt-1 (e0 a multiple of 4, cnt <= 4)
// from the keep bits (bit i for element e0+i). 16-bit data needs even
// bases: the quad is two whole words, of which the last may be shared
// with elements after the launch (kept as they are).
void quad(uint e0, uint cnt, uint bits) {
    if (PLAIN) {
        plainSpan(e0, cnt, bits);
        return;
    }
    // The loops have constant trip counts and a single call site each:
    // the module stays small, and the driver unrolls them after
    // specialization (vectors, not arrays in memory).
    uvec4 v = uvec4(0u), o;
    bool vec = DT == DT_F32 && cnt == 4u && ((pc.xBase | pc.yBase) & 3u) == 0u;
    if (vec) {
        v = x4[(pc.xBase + e0) >> 2];
    } else if (DT == DT_F32) {
        for (uint i = 0u; i < 4u; i++) {
            if (i < cnt) {
                v[i] = x[pc.xBase + e0 + i];
            }
        }
    } else {
        uint wx = (pc.xBase + e0) >> 1;
        uint w0 = x[wx], w1 = cnt > 2u ? x[wx + 1u] : 0u;
        v = uvec4(w0 & 0xffffu, w0 >> 16, w1 & 0xffffu, w1 >> 16);
    }
    for (uint i = 0u; i < 4u; i++) {
        o[i] = i < cnt ? one(e0 + i, v[i], (bits >> i & 1u) != 0u) : 0u;
    }
    if (vec) {
        y4[(pc.yBase + e0) >> 2] = o;
    } else if (DT == DT_F32) {
        for (uint i = 0u; i < 4u; i++) {
            if (i < cnt) {
                y[pc.yBase + e0 + i] = o[i];
            }
        }
    } else {
        // the last word may hold an element after the launch: kept as it is
        uint wy = (pc.yBase + e0) >> 1;
        y[wy] = o.x | (cnt > 1u ? o.y << 16 : y[wy] & 0xffff0000u);
        if (cnt > 2u) {
            y[wy + 1u] = o.z | (cnt > 3u ? o.w << 16 : y[wy + 1u] & 0xffff0000u);
        }
    }
}
#endif

// span writes y for elements e0 .. e0+cnt-1 (e0 a multiple of 4, cnt <= 32)
// from the keep bits (bit i for element e0+i).
void span(uint e0, uint cnt, uint bits) {
#ifndef F64
    if (PLAIN) {
        plainSpan(e0, cnt, bits);
        return;
    }
#endif
    for (uint q = 0u; 4u * q < cnt; q++) {
        quad(e0 + 4u * q, min(4u, cnt - 4u * q), bits >> (4u * q) & 0xfu);
    }
}
