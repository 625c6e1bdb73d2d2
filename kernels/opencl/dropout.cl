// Dropout kernels, OpenCL C 1.2, for the executor in gpu/internal/exec (see
// gpu/opencl/exec.go for how its kernels map onto these). The stream
// contract is CONTRACT.md §1–§4:
// word g of the keystream of seed is lane g&3 of
// philox4x32_10(ctr = (lo32(g>>2), hi32(g>>2), 0, 0), key = (lo32(seed), hi32(seed))),
// mask element j of a call uses word g0+j and is kept iff word >= thr.
//
// Conventions of every kernel below:
//   - y may alias x (in-place); y, x and the mask are addressed from the
//     given element offsets (yoff, xoff, moff/mwoff), which the host keeps at
//     multiples of 32 elements, so vector pointers are aligned;
//   - one work-item per unit of work (a Philox block, a mask word or an
//     element); the host launches as many work-items as there are units,
//     in launches of bounded size with a global offset (a chunked launch),
//     so get_global_id(0) is the unit's index and items past the end
//     return at once. (No grid-stride loop: a loop inside the kernel
//     stops PoCL from vectorizing across work-items.)
//   - the keep decision is a select, never a multiply by the mask, so a
//     dropped NaN or Inf becomes +0;
//   - the _copy kernels (p = 0) keep x itself, bit for bit.

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// Flags of the forward and backward kernels.
#define F_DROPALL  1u // p = 1: the threshold 2^32 does not fit a uint; drop everything
#define F_BYTES    4u // write a byte mask (forward)
#define F_MASKONLY 8u // write the mask only; x and y are not touched

// philox4x32_10 returns Philox4x32-10 of the 128-bit counter ctr under key.
inline uint4 philox4x32_10(uint4 ctr, uint2 key)
{
	uint c0 = ctr.x, c1 = ctr.y, c2 = ctr.z, c3 = ctr.w;
	uint k0 = key.x, k1 = key.y;
	for (int r = 0; r < 10; r++) {
		uint hi0 = mul_hi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
		uint hi1 = mul_hi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
		c0 = hi1 ^ c1 ^ k0;
		c1 = lo1;
		c2 = hi0 ^ c3 ^ k1;
		c3 = lo0;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	return (uint4)(c0, c1, c2, c3);
}

// stream_block returns stream words 4b ... 4b+3. b is taken modulo 2^62, as
// g>>2 of a 64-bit word index is.
inline uint4 stream_block(ulong b, uint2 key)
{
	b &= 0x3FFFFFFFFFFFFFFFul;
	return philox4x32_10((uint4)((uint)b, (uint)(b >> 32), 0u, 0u), key);
}

inline uint lane_of(uint4 w, uint l)
{
	return l == 0 ? w.x : l == 1 ? w.y : l == 2 ? w.z : w.w;
}

inline uint keep1(uint w, uint thr, uint flags)
{
	return (w >= thr && !(flags & F_DROPALL)) ? 1u : 0u;
}

// philox_kat computes count Philox4x32-10 blocks: in holds, per block,
// ctr[4] then key[2]; out gets the four result words. Tests use it to check
// this file's Philox against the Random123 known-answer vectors.
kernel void philox_kat(global const uint *in, global uint *out, uint count)
{
	const uint i = get_global_id(0); if (i < count) {
		global const uint *p = in + 6 * i;
		uint4 r = philox4x32_10((uint4)(p[0], p[1], p[2], p[3]), (uint2)(p[4], p[5]));
		vstore4(r, i, out);
	}
}

// stream_words writes n consecutive words of the keystream of key, from
// word g0 on (modulo 2^64: the block counter wraps from 2^62 - 1 to 0),
// through stream_block like the dropout kernels. Tests use it to check the
// stream where its counter wraps.
kernel void stream_words(global uint *out, ulong n, ulong g0, uint k0, uint k1)
{
	const ulong i = get_global_id(0);
	if (i < n) {
		const ulong g = g0 + i;
		out[i] = lane_of(stream_block(g >> 2, (uint2)(k0, k1)), (uint)(g & 3));
	}
}

// zero_words zeroes n 32-bit words from word off on: new buffers start
// zeroed, and p = 1 without a mask writes +0. (A kernel rather than
// clEnqueueFillBuffer: as fast, and Oclgrind's uninitialized-value checker
// mistracks buffers written by clEnqueueFillBuffer.)
kernel void zero_words(global uint *p, ulong off, ulong n)
{
	const ulong i = get_global_id(0);
	if (i < n)
		p[off + i] = 0;
}

// DROPOUT_KERNELS instantiates the kernels for one element type T with
// vector type T4, select mask type I4 (converted to by CVT4) and name
// suffix S; VALUE(x, scale) is the value of a kept
// element. Each type has two sets: scaled (x * scale) and copying (x, for
// p = 0). The copying set must be separate kernels, not a runtime flag:
// compilers fold `copy ? x : x*scale` into `x * (copy ? 1 : scale)`, which
// is not a bit copy on a device that flushes subnormals.
#define DROPOUT_KERNELS(T, T4, I4, CVT4, S)                                                \
                                                                                           \
inline T apply_##S(T x, uint keep, T scale, uint flags)                                    \
{                                                                                          \
	return keep ? VALUE(x, scale) : (T)0;                                                  \
}                                                                                          \
                                                                                           \
/* apply4_S: four elements at once; keep lanes are all ones (kept) or 0. */                \
inline T4 apply4_##S(T4 x, I4 keep, T scale)                                               \
{                                                                                          \
	return select((T4)(0), VALUE(x, scale), keep);                                         \
}                                                                                          \
                                                                                           \
/* fwd_S: y = dropout(x) over n elements whose element 0 uses stream word g0;              \
 * optionally a byte mask (F_BYTES). One work-item per Philox block: item k                \
 * serves stream block (g0>>2)+k, elements 4k-r ... 4k-r+3 with r = g0&3. */                 \
kernel void fwd_##S(global T *y, ulong yoff, global const T *x, ulong xoff,                \
	global uchar *mb, ulong moff, ulong n, ulong g0, uint k0, uint k1,                     \
	uint thr, uint flags, T scale)                                                         \
{                                                                                          \
	y += yoff; x += xoff; mb += moff;                                                      \
	const uint2 key = (uint2)(k0, k1);                                                     \
	const uint r = (uint)(g0 & 3);                                                         \
	const ulong b0 = g0 >> 2;                                                              \
	const ulong items = (n + r + 3) >> 2;                                                  \
	const bool data = !(flags & F_MASKONLY);                                               \
	const ulong k = get_global_id(0); if (k < items) {                                     \
		uint4 w = stream_block(b0 + k, key);                                               \
		uint4 kp = (uint4)(keep1(w.x, thr, flags), keep1(w.y, thr, flags),                 \
			keep1(w.z, thr, flags), keep1(w.w, thr, flags));                               \
		if (r == 0 && 4 * k + 4 <= n) {                                                    \
			if (data) {                                                                    \
				T4 v = ((global const T4 *)x)[k];                                          \
				T4 o = apply4_##S(v, -CVT4(kp), scale);                                    \
				((global T4 *)y)[k] = o;                                                   \
			}                                                                              \
			if (flags & F_BYTES)                                                           \
				((global uchar4 *)mb)[k] = convert_uchar4(kp);                             \
		} else {                                                                           \
			for (uint l = 0; l < 4; l++) {                                                 \
				long i = (long)(4 * k + l) - (long)r;                                      \
				if (i < 0 || i >= (long)n)                                                 \
					continue;                                                              \
				uint kk = lane_of(kp, l);                                                  \
				if (data)                                                                  \
					y[i] = apply_##S(x[i], kk, scale, flags);                              \
				if (flags & F_BYTES)                                                       \
					mb[i] = (uchar)kk;                                                     \
			}                                                                              \
		}                                                                                  \
	}                                                                                      \
}                                                                                          \
                                                                                           \
/* fwdbits_S: as fwd_S, writing a bit mask: one work-item per 32 elements,                 \
 * which own mask word mwoff+w (bit e is element 32w+e; bits past n are 0). */             \
kernel void fwdbits_##S(global T *y, ulong yoff, global const T *x, ulong xoff,            \
	global uint *mw, ulong mwoff, ulong n, ulong g0, uint k0, uint k1,                     \
	uint thr, uint flags, T scale)                                                         \
{                                                                                          \
	y += yoff; x += xoff; mw += mwoff;                                                     \
	const uint2 key = (uint2)(k0, k1);                                                     \
	const bool data = !(flags & F_MASKONLY);                                               \
	const ulong words = (n + 31) >> 5;                                                     \
	const ulong w = get_global_id(0); if (w < words) {                                     \
		ulong base = 32 * w;                                                               \
		uint bits = 0;                                                                     \
		if ((g0 & 3) == 0 && base + 32 <= n) {                                             \
			ulong b = (g0 >> 2) + 8 * w;                                                   \
			for (uint q = 0; q < 8; q++) {                                                 \
				uint4 s = stream_block(b + q, key);                                        \
				uint4 kp = (uint4)(keep1(s.x, thr, flags), keep1(s.y, thr, flags),         \
					keep1(s.z, thr, flags), keep1(s.w, thr, flags));                       \
				bits |= (kp.x | kp.y << 1 | kp.z << 2 | kp.w << 3) << (4 * q);             \
				if (data) {                                                                \
					ulong qi = 8 * w + q;                                                  \
					T4 v = ((global const T4 *)x)[qi];                                     \
					T4 o = apply4_##S(v, -CVT4(kp), scale);                                \
					((global T4 *)y)[qi] = o;                                              \
				}                                                                          \
			}                                                                              \
		} else {                                                                           \
			ulong g = g0 + base;                                                           \
			uint4 s = stream_block(g >> 2, key);                                           \
			for (uint e = 0; e < 32 && base + e < n; e++, g++) {                           \
				if (e > 0 && (g & 3) == 0)                                                 \
					s = stream_block(g >> 2, key);                                         \
				uint kk = keep1(lane_of(s, (uint)(g & 3)), thr, flags);                    \
				bits |= kk << e;                                                           \
				if (data)                                                                  \
					y[base + e] = apply_##S(x[base + e], kk, scale, flags);                \
			}                                                                              \
		}                                                                                  \
		mw[w] = bits;                                                                      \
	}                                                                                      \
}                                                                                          \
                                                                                           \
/* bwdbytes_S: y = keep ? x*scale : 0 with keep = mask byte != 0. */                       \
kernel void bwdbytes_##S(global T *y, ulong yoff, global const T *x, ulong xoff,           \
	global const uchar *mb, ulong moff, ulong n, uint flags, T scale)                      \
{                                                                                          \
	y += yoff; x += xoff; mb += moff;                                                      \
	const ulong items = (n + 3) >> 2;                                                      \
	const ulong k = get_global_id(0); if (k < items) {                                     \
		if (4 * k + 4 <= n) {                                                              \
			uchar4 m = ((global const uchar4 *)mb)[k];                                     \
			T4 v = ((global const T4 *)x)[k];                                              \
			T4 o = apply4_##S(v, CVT4(m != (uchar4)(0)), scale);                           \
			((global T4 *)y)[k] = o;                                                       \
		} else {                                                                           \
			for (ulong i = 4 * k; i < n; i++)                                              \
				y[i] = apply_##S(x[i], mb[i] != 0, scale, flags);                          \
		}                                                                                  \
	}                                                                                      \
}                                                                                          \
                                                                                           \
/* bwdbits_S: as bwdbytes_S from a bit mask: one work-item per mask word. */               \
kernel void bwdbits_##S(global T *y, ulong yoff, global const T *x, ulong xoff,            \
	global const uint *mw, ulong mwoff, ulong n, uint flags, T scale)                      \
{                                                                                          \
	y += yoff; x += xoff; mw += mwoff;                                                     \
	const ulong words = (n + 31) >> 5;                                                     \
	const ulong w = get_global_id(0); if (w < words) {                                     \
		ulong base = 32 * w;                                                               \
		uint bits = mw[w];                                                                 \
		if (base + 32 <= n) {                                                              \
			for (uint q = 0; q < 8; q++) {                                                 \
				ulong qi = 8 * w + q;                                                      \
				uint b = bits >> (4 * q);                                                  \
				T4 v = ((global const T4 *)x)[qi];                                         \
				T4 o = apply4_##S(v, -CVT4((uint4)(b, b >> 1, b >> 2, b >> 3) & 1u), scale); \
				((global T4 *)y)[qi] = o;                                                  \
			}                                                                              \
		} else {                                                                           \
			for (uint e = 0; base + e < n; e++)                                            \
				y[base + e] = apply_##S(x[base + e], (bits >> e) & 1, scale, flags);       \
		}                                                                                  \
	}                                                                                      \
}                                                                                          \
                                                                                           \
/* bcast_S: noise-shape broadcast. Element k of the chunk is tensor element                \
 * i0+k; its mask element is j = sum over canonical axes of coord*stride, with             \
 * dims[2d] the size and dims[2d+1] the mask stride (0 on broadcast axes) of               \
 * axis d. The mask, from byte moff of m on, is bytes (bits == 0; nonzero =                \
 * keep) or bits. */                                                                       \
kernel void bcast_##S(global T *y, ulong yoff, global const T *x, ulong xoff,              \
	global const uchar *m, ulong moff, ulong i0, ulong n, global const ulong *dims,        \
	uint rank, uint bits, uint flags, T scale)                                             \
{                                                                                          \
	y += yoff; x += xoff; m += moff;                                                       \
	const ulong k = get_global_id(0); if (k < n) {                                         \
		ulong rem = i0 + k, j = 0;                                                         \
		for (uint d = rank; d-- > 0;) {                                                    \
			ulong sz = dims[2 * d], q = rem / sz;                                          \
			j += (rem - q * sz) * dims[2 * d + 1];                                         \
			rem = q;                                                                       \
		}                                                                                  \
		uint keep = bits ? (m[j >> 3] >> (j & 7)) & 1 : (m[j] != 0);                       \
		y[k] = apply_##S(x[k], keep, scale, flags);                                        \
	}                                                                                      \
}

#define VALUE(x, scale) ((x) * (scale))
DROPOUT_KERNELS(float, float4, int4, convert_int4, f32)
#undef VALUE
#define VALUE(x, scale) (x)
DROPOUT_KERNELS(float, float4, int4, convert_int4, f32_copy)
#undef VALUE

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define VALUE(x, scale) ((x) * (scale))
DROPOUT_KERNELS(double, double4, long4, convert_long4, f64)
#undef VALUE
#define VALUE(x, scale) (x)
DROPOUT_KERNELS(double, double4, long4, convert_long4, f64_copy)
#undef VALUE
#endif
