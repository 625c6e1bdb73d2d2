// Dropout kernels, OpenCL C 1.2, for the executor in gpu/internal/exec (see
// gpu/opencl/exec.go for how its kernels map onto these). The arithmetic is
// CONTRACT.md's:
// word g of the keystream of seed is lane g&3 of
// philox4x32_10(ctr = (lo32(g>>2), hi32(g>>2), 0, 0), key = (lo32(seed), hi32(seed))),
// mask element j of a call uses word g0+j and is kept iff word >= thr.
//
// Conventions of every kernel below:
//   - y may alias x (in place), and the residual r may alias y; y, x, the
//     bias b, r and the mask are addressed from the given element offsets
//     (yoff, xoff, boff, roff, moff/mwoff). Data offsets may be any element
//     (views of a caller's memory): the data kernels exist twice, the
//     plain names with vector accesses (pointer casts to four-element
//     vectors, 16 bytes for float32, which need that alignment) for
//     offsets that are multiples of 4 elements (buffers start at
//     CL_DEVICE_MEM_BASE_ADDR_ALIGN, at least 128 bytes), and the names
//     with _u appended, the same code with vload4/vstore4, which need only
//     the element's alignment, for any other; the host picks per launch
//     (see DROPOUT_KERNELS). Mask offsets are whole 32-bit words;
//   - one work-item per unit of work: four elements (one Philox block),
//     or for the word-map and broadcast kernels a mask word or element
//     group. Indices within a launch are 32-bit (the host keeps launches
//     under 2^31 elements); only stream words and tensor positions are
//     64-bit. With GRID_STRIDE defined (GPUs: the host builds with
//     -DGRID_STRIDE) the host sizes the grid to the device and each
//     work-item loops over units a grid apart; without it (CPU devices
//     such as PoCL, which vectorise loop-free kernels across work-items
//     better) the grid covers every unit once;
//   - each work-item loads its data before it runs Philox, so that the
//     generator's arithmetic hides the memory latency;
//   - bit masks: the four keep bits of each work-item are gathered in local
//     memory, and 8 neighbouring work-items' nibbles make one 32-bit mask
//     word, so that data loads and stores stay 16-byte vectors one work-item
//     apart (coalesced);
//   - the keep decision is a select, never a multiply by the mask, so a
//     dropped NaN or Inf becomes +0;
//   - 16-bit data is computed in float32: float16 is widened and rounded
//     (to nearest even) with vload_half/vstore_half_rte, core OpenCL 1.2,
//     no cl_khr_fp16; bfloat16 by integer operations;
//   - no contraction: alpha dropout's A·x + B rounds the product first.
#pragma OPENCL FP_CONTRACT OFF

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// Flags of the data kernels.
#define F_DROPALL  1u  // p = 1: the threshold 2^32 does not fit a uint; drop everything
#define F_BYTES    4u  // the mask is bytes (written by fwd, read by bwd and bcast)
#define F_MASKONLY 8u  // write the mask only; x and y are not touched
#define F_ALPHA    16u // alpha dropout: kept A·x + B, dropped D
#define F_BIAS     32u // fused: x + b[(i0 + i) % blen] replaces x
#define F_RESID    64u // fused: y = r + u

// LOCAL is the most work-items of a work-group of the bit-mask kernels
// (their local nibble array); the host launches them with at most LOCAL,
// a multiple of 8.
#define LOCAL 1024

#ifdef GRID_STRIDE
#define FOR_UNITS(k, units) for (uint k = (uint)get_global_id(0); k < (units); k += (uint)get_global_size(0))
#define FOR_GROUPS(base, units) \
	for (uint base = (uint)(get_group_id(0) * get_local_size(0)); base < (units); base += (uint)(get_num_groups(0) * get_local_size(0)))
#else
#define FOR_UNITS(k, units) const uint k = (uint)get_global_id(0); if (k < (units))
#define FOR_GROUPS(base, units) const uint base = (uint)(get_global_id(0) - get_local_id(0)); if (base < (units))
#endif

// philox4x32_10 returns Philox4x32-10 of the 128-bit counter ctr under key.
static inline uint4 philox4x32_10(uint4 ctr, uint2 key)
{
	uint c0 = ctr.x, c1 = ctr.y, c2 = ctr.z, c3 = ctr.w;
	uint k0 = key.x, k1 = key.y;
	for (int r = 0; r < 10; r++) {
		// The 32x32->64 products as 64-bit multiplies, not mul_hi: the
		// same bits (mul_hi is the high half of this product), but PoCL
		// 3.1 builds mul_hi(uint, uint) from 16-bit pieces, which made
		// Philox most of a small call's time there. On GPUs (GRID_STRIDE
		// builds, or NVPTX) the low halves are 32-bit products of their
		// own: taken from the wide product, NVPTX keeps mul.wide and adds
		// mul.hi and a cvt (three instructions for two), while on CPUs a
		// separate 32-bit vector multiply measured slower under PoCL.
		const ulong p0 = (ulong)PHILOX_M0 * c0, p1 = (ulong)PHILOX_M1 * c2;
		const uint hi0 = (uint)(p0 >> 32), hi1 = (uint)(p1 >> 32);
#if defined(GRID_STRIDE) || defined(__NVPTX__)
		const uint lo0 = PHILOX_M0 * c0, lo1 = PHILOX_M1 * c2;
#else
		const uint lo0 = (uint)p0, lo1 = (uint)p1;
#endif
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
static inline uint4 stream_block(ulong b, uint2 key)
{
	b &= 0x3FFFFFFFFFFFFFFFul;
	return philox4x32_10((uint4)((uint)b, (uint)(b >> 32), 0u, 0u), key);
}

static inline uint lane_of(uint4 w, uint l)
{
	return l == 0 ? w.x : l == 1 ? w.y : l == 2 ? w.z : w.w;
}

// words4 returns stream words g .. g+3: one Philox block when g is a
// multiple of 4, else lanes of two.
static inline uint4 words4(ulong g, uint2 key)
{
	const uint r = (uint)g & 3u;
	const uint4 w = stream_block(g >> 2, key);
	if (r == 0)
		return w;
	const uint4 v = stream_block((g >> 2) + 1, key);
	// (Three whole windows of (w, v), each masked by its r, ORed: no
	// branch on r, so the compiler makes no shuffle with undefined lanes,
	// whose index Oclgrind's uninitialized-value checker follows out of
	// bounds (it crashes), and no select of whole vectors, which Oclgrind
	// mistranslates.)
	const uint4 w1 = (uint4)(w.y, w.z, w.w, v.x), w2 = (uint4)(w.z, w.w, v.x, v.y),
		w3 = (uint4)(w.w, v.x, v.y, v.z);
	return (w1 & (uint4)(0u - (uint)(r == 1))) | (w2 & (uint4)(0u - (uint)(r == 2))) |
		(w3 & (uint4)(0u - (uint)(r == 3)));
}

// keep4 returns the keep decisions of four words: -1 (all ones) kept, 0
// dropped.
static inline int4 keep4(uint4 w, uint thr, uint flags)
{
	return (flags & F_DROPALL) ? (int4)(0) : (w >= (uint4)(thr));
}

// nibble packs four keep decisions into bits 0-3.
static inline uint nibble(int4 k)
{
	return (uint)((k.x & 1) | (k.y & 2) | (k.z & 4) | (k.w & 8));
}

// keep_of_nibble is nibble's inverse.
static inline int4 keep_of_nibble(uint b)
{
	return ((int4)((int)b) & (int4)(1, 2, 4, 8)) != (int4)(0);
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
kernel void zero_words(global uint *p, ulong off, uint n)
{
	FOR_UNITS(i, n) {
		p[off + i] = 0;
	}
}

// empty does nothing: benchmarks time its launch and wait, the floor of a
// synchronous call.
kernel void empty(uint n)
{
}

// mask_map writes n keep decisions of a region's mask (the executor's
// Args.Words): mask element k = i0 + i, with coordinates c in the sizes
// words[2d] (row-major, rank axes), uses stream word
// g0 + sum c[d]·words[2d+1]. One work-item per 32 mask elements: a word of
// a bit mask (mwoff words on), or 32 bytes of a byte mask (F_BYTES, mwoff
// words on as well).
kernel void mask_map(global uint *mw, ulong mwoff, uint n, ulong i0, ulong g0,
	uint k0, uint k1, uint thr, uint flags, global const ulong *words, uint rank)
{
	mw += mwoff;
	const uint2 key = (uint2)(k0, k1);
	FOR_UNITS(w, (n + 31) >> 5) {
		uint bits = 0, bytes = 0;
		ulong blk = ~0ul;
		uint4 s = (uint4)(0);
		for (uint e = 0; e < 32; e++) {
			const uint i = 32 * w + e;
			uint kp = 0;
			if (i < n) {
				ulong rem = i0 + i, g = g0;
				for (uint d = rank; d-- > 0;) {
					const ulong sz = words[2 * d], q = rem / sz;
					g += (rem - q * sz) * words[2 * d + 1];
					rem = q;
				}
				if ((g >> 2) != blk) {
					blk = g >> 2;
					s = stream_block(blk, key);
				}
				kp = (lane_of(s, (uint)g & 3u) >= thr && !(flags & F_DROPALL)) ? 1u : 0u;
			}
			bits |= kp << e;
			bytes |= kp << (8 * (e & 3));
			if ((flags & F_BYTES) && (e & 3) == 3) {
				if (32 * w + e - 3 < n) /* the buffer holds whole words of n bytes */
					mw[8 * w + (e >> 2)] = bytes;
				bytes = 0;
			}
		}
		if (!(flags & F_BYTES))
			mw[w] = bits;
	}
}

// ---- element types ----
//
// For each type X: the storage type ST_X of a kernel's data pointers; the
// compute types C_X (scalar), C4_X (four elements) and I4_X (select mask);
// load4_X / store4_X move four elements e .. e+3 as C4_X (store4 rounds
// once to the storage type), e a multiple of 4 from aligned data
// (DROPOUT_KERNELS' AL), and loadu4_X / storeu4_X the same from any
// element; load1_X / store1_X move one; rnd4_X rounds to the storage type
// and back; raw4_X / rawst4_X (rawu4_X / rawstu4_X from any element) and
// raw1_X / rawst1_X move the bits (the copying kernels' path), R4_X and
// RS4_X being their vector and select types.

// float32
#define ST_f32 float
#define C_f32 float
#define C4_f32 float4
#define I4_f32 int4
#define R4_f32 uint4
#define RS4_f32 int4
#define CVTI4_f32(k) (k)
#define CVTRS4_f32(k) (k)
static inline float4 load4_f32(global const float *p, uint e) { return ((global const float4 *)p)[e >> 2]; }
static inline void store4_f32(global float *p, uint e, float4 v) { ((global float4 *)p)[e >> 2] = v; }
static inline float load1_f32(global const float *p, uint i) { return p[i]; }
static inline void store1_f32(global float *p, uint i, float v) { p[i] = v; }
static inline float4 rnd4_f32(float4 v) { return v; }
static inline uint4 raw4_f32(global const float *p, uint e) { return ((global const uint4 *)p)[e >> 2]; }
static inline void rawst4_f32(global float *p, uint e, uint4 v) { ((global uint4 *)p)[e >> 2] = v; }
static inline float4 loadu4_f32(global const float *p, uint e) { return vload4(0, p + e); }
static inline void storeu4_f32(global float *p, uint e, float4 v) { vstore4(v, 0, p + e); }
static inline uint4 rawu4_f32(global const float *p, uint e) { return vload4(0, (global const uint *)p + e); }
static inline void rawstu4_f32(global float *p, uint e, uint4 v) { vstore4(v, 0, (global uint *)p + e); }
static inline uint raw1_f32(global const float *p, uint i) { return ((global const uint *)p)[i]; }
static inline void rawst1_f32(global float *p, uint i, uint v) { ((global uint *)p)[i] = v; }

// float16 (IEEE binary16), storage only
#define ST_f16 half
#define C_f16 float
#define C4_f16 float4
#define I4_f16 int4
#define R4_f16 ushort4
#define RS4_f16 short4
#define CVTI4_f16(k) (k)
#define CVTRS4_f16(k) convert_short4(k)
// (Four halves move as one 64-bit ushort4, converted through private
// memory: vload_half4/vstore_half4_rte on global memory are four 16-bit
// accesses on NVPTX.)
static inline float4 load4_f16(global const half *p, uint e)
{
	const ushort4 h = ((global const ushort4 *)p)[e >> 2];
	return vload_half4(0, (private const half *)&h);
}
static inline void store4_f16(global half *p, uint e, float4 v)
{
	ushort4 h;
	vstore_half4_rte(v, 0, (private half *)&h);
	((global ushort4 *)p)[e >> 2] = h;
}
static inline float4 loadu4_f16(global const half *p, uint e)
{
	const ushort4 h = vload4(0, (global const ushort *)p + e);
	return vload_half4(0, (private const half *)&h);
}
static inline void storeu4_f16(global half *p, uint e, float4 v)
{
	ushort4 h;
	vstore_half4_rte(v, 0, (private half *)&h);
	vstore4(h, 0, (global ushort *)p + e);
}
static inline float load1_f16(global const half *p, uint i) { return vload_half(i, p); }
static inline void store1_f16(global half *p, uint i, float v) { vstore_half_rte(v, i, p); }
static inline float4 rnd4_f16(float4 v)
{
	ushort4 h;
	vstore_half4_rte(v, 0, (private half *)&h);
	return vload_half4(0, (private const half *)&h);
}
static inline ushort4 raw4_f16(global const half *p, uint e) { return ((global const ushort4 *)p)[e >> 2]; }
static inline void rawst4_f16(global half *p, uint e, ushort4 v) { ((global ushort4 *)p)[e >> 2] = v; }
static inline ushort4 rawu4_f16(global const half *p, uint e) { return vload4(0, (global const ushort *)p + e); }
static inline void rawstu4_f16(global half *p, uint e, ushort4 v) { vstore4(v, 0, (global ushort *)p + e); }
static inline ushort raw1_f16(global const half *p, uint i) { return ((global const ushort *)p)[i]; }
static inline void rawst1_f16(global half *p, uint i, ushort v) { ((global ushort *)p)[i] = v; }

// bfloat16: the top half of a float32. Widening shifts; narrowing rounds to
// nearest even by integer addition, and a NaN becomes a quiet NaN of the
// same sign and top payload bits.
#define ST_bf16 ushort
#define C_bf16 float
#define C4_bf16 float4
#define I4_bf16 int4
#define R4_bf16 ushort4
#define RS4_bf16 short4
#define CVTI4_bf16(k) (k)
#define CVTRS4_bf16(k) convert_short4(k)
static inline float4 bf16_widen4(ushort4 h) { return as_float4(convert_uint4(h) << 16); }
static inline ushort4 bf16_narrow4(float4 v)
{
	const uint4 b = as_uint4(v);
	const uint4 r = (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16;
	return convert_ushort4(select(r, (b >> 16) | 0x40u, (b & 0x7FFFFFFFu) > (uint4)(0x7F800000u)));
}
static inline float4 load4_bf16(global const ushort *p, uint e) { return bf16_widen4(((global const ushort4 *)p)[e >> 2]); }
static inline void store4_bf16(global ushort *p, uint e, float4 v) { ((global ushort4 *)p)[e >> 2] = bf16_narrow4(v); }
static inline float4 loadu4_bf16(global const ushort *p, uint e) { return bf16_widen4(vload4(0, p + e)); }
static inline void storeu4_bf16(global ushort *p, uint e, float4 v) { vstore4(bf16_narrow4(v), 0, p + e); }
static inline float load1_bf16(global const ushort *p, uint i) { return as_float((uint)p[i] << 16); }
static inline void store1_bf16(global ushort *p, uint i, float v) { p[i] = bf16_narrow4((float4)(v)).x; }
static inline float4 rnd4_bf16(float4 v) { return bf16_widen4(bf16_narrow4(v)); }
static inline ushort4 raw4_bf16(global const ushort *p, uint e) { return ((global const ushort4 *)p)[e >> 2]; }
static inline void rawst4_bf16(global ushort *p, uint e, ushort4 v) { ((global ushort4 *)p)[e >> 2] = v; }
static inline ushort4 rawu4_bf16(global const ushort *p, uint e) { return vload4(0, p + e); }
static inline void rawstu4_bf16(global ushort *p, uint e, ushort4 v) { vstore4(v, 0, p + e); }
static inline ushort raw1_bf16(global const ushort *p, uint i) { return p[i]; }
static inline void rawst1_bf16(global ushort *p, uint i, ushort v) { p[i] = v; }

// float64, where the device has cl_khr_fp64
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define ST_f64 double
#define C_f64 double
#define C4_f64 double4
#define I4_f64 long4
#define R4_f64 ulong4
#define RS4_f64 long4
// (Lane by lane rather than convert_long4, whose emulation in Oclgrind
// branches on the lanes and so trips its uninitialized-value checker.)
#define CVTI4_f64(k) ((long4)((long)(k).x, (long)(k).y, (long)(k).z, (long)(k).w))
#define CVTRS4_f64(k) CVTI4_f64(k)
static inline double4 load4_f64(global const double *p, uint e) { return ((global const double4 *)p)[e >> 2]; }
static inline void store4_f64(global double *p, uint e, double4 v) { ((global double4 *)p)[e >> 2] = v; }
static inline double4 loadu4_f64(global const double *p, uint e) { return vload4(0, p + e); }
static inline void storeu4_f64(global double *p, uint e, double4 v) { vstore4(v, 0, p + e); }
static inline double load1_f64(global const double *p, uint i) { return p[i]; }
static inline void store1_f64(global double *p, uint i, double v) { p[i] = v; }
static inline double4 rnd4_f64(double4 v) { return v; }
static inline ulong4 raw4_f64(global const double *p, uint e) { return ((global const ulong4 *)p)[e >> 2]; }
static inline void rawst4_f64(global double *p, uint e, ulong4 v) { ((global ulong4 *)p)[e >> 2] = v; }
static inline ulong4 rawu4_f64(global const double *p, uint e) { return vload4(0, (global const ulong *)p + e); }
static inline void rawstu4_f64(global double *p, uint e, ulong4 v) { vstore4(v, 0, (global ulong *)p + e); }
static inline ulong raw1_f64(global const double *p, uint i) { return ((global const ulong *)p)[i]; }
static inline void rawst1_f64(global double *p, uint i, ulong v) { ((global ulong *)p)[i] = v; }
#endif

// bcast_keep returns the keep decision (-1 kept, 0 dropped) of tensor
// element i of a broadcast: its mask element is the sum over canonical axes
// of coord*stride, with dims[2d] the size and dims[2d+1] the mask stride (0
// on broadcast axes) of axis d; the mask at m is bytes (F_BYTES) or bits.
// An element past the launch (!in) is dropped without reading the mask.
static inline int bcast_keep(global const uchar *m, global const ulong *dims, uint rank, ulong i, bool in, uint flags)
{
	if (!in)
		return 0;
	ulong rem = i, j = 0;
	for (uint d = rank; d-- > 0;) {
		const ulong sz = dims[2 * d], q = rem / sz;
		j += (rem - q * sz) * dims[2 * d + 1];
		rem = q;
	}
	const bool kept = (flags & F_BYTES) ? m[j] != 0 : ((m[j >> 3] >> (j & 7)) & 1) != 0;
	return kept ? -1 : 0;
}

// DROPOUT_KERNELS instantiates the data kernels for element type X with
// name suffix S; COPY (0 or 1, a constant) makes the copying set for
// p = 0, where a kept element is x itself, bit for bit. The copying set is
// separate kernels, not a runtime flag: compilers fold
// `copy ? x : x*scale` into `x * (copy ? 1 : scale)`, which is not a bit
// copy on a device that flushes subnormals. AL (0 or 1, a constant) makes
// the set for data offsets that are multiples of 4 elements (vector
// accesses); AL = 0 the set for any element offset (vload4, vstore4), named
// with _u appended. (Separate kernels again, not a branch on the offsets:
// compilers merge the two sides' loads into one with the lesser alignment,
// which NVPTX splits into scalar loads on the aligned side too.)
//
// The data kernels share their arguments: y, x, the mask m, the bias b and
// the residual r with their element offsets (the mask's in bytes for byte
// masks, in 32-bit words for bit masks; those of y, x, b and r any
// element), n elements, the stream (g0, key, thr), flags, the scale s,
// alpha's A, B and D, and the fused op's i0 (the tensor element of y[0],
// for the bias) and blen (the bias's length).
#define DATA_ARGS(X)                                                                        \
	global ST_##X *y, ulong yoff, global const ST_##X *x, ulong xoff,                       \
	global uchar *m, ulong moff, global const ST_##X *b, ulong boff, global const ST_##X *r, ulong roff, \
	uint n, ulong g0, uint k0, uint k1, uint thr, uint flags,                               \
	C_##X s, C_##X A, C_##X B, C_##X D, ulong i0, ulong blen

#define DROPOUT_KERNELS(X, S, COPY, AL)                                                       \
                                                                                            \
/* value4_S: the output of four elements from their inputs and keeps. */                    \
static inline C4_##X value4_##S(C4_##X xv, C4_##X bv, C4_##X rv, int4 keep, C_##X s,              \
	C_##X A, C_##X B, C_##X D, uint flags)                                                  \
{                                                                                           \
	const I4_##X kp = CVTI4_##X(keep);                                                      \
	C4_##X t = xv;                                                                          \
	if (flags & F_BIAS)                                                                     \
		t = rnd4_##X(t + bv);                                                               \
	C4_##X u;                                                                               \
	if (COPY) {                                                                             \
		u = select((C4_##X)(0), t, kp);                                                     \
	} else if (flags & F_ALPHA) {                                                           \
		const C4_##X at = t * A; /* rounded: no contraction */                              \
		u = select((C4_##X)(D), at + B, kp);                                                \
	} else {                                                                                \
		u = select((C4_##X)(0), t * s, kp);                                                 \
	}                                                                                       \
	if (flags & F_RESID)                                                                    \
		u = rv + rnd4_##X(u);                                                               \
	return u;                                                                               \
}                                                                                           \
                                                                                            \
/* bias4_S: the bias of elements e .. e+3 of the launch. */                                 \
static inline C4_##X bias4_##S(global const ST_##X *b, ulong i0, ulong blen, uint e)               \
{                                                                                           \
	ulong j = (i0 + e) % blen;                                                              \
	C4_##X v;                                                                               \
	v.x = load1_##X(b, (uint)j); j = j + 1 == blen ? 0 : j + 1;                             \
	v.y = load1_##X(b, (uint)j); j = j + 1 == blen ? 0 : j + 1;                             \
	v.z = load1_##X(b, (uint)j); j = j + 1 == blen ? 0 : j + 1;                             \
	v.w = load1_##X(b, (uint)j);                                                            \
	return v;                                                                               \
}                                                                                           \
                                                                                            \
/* unit4_S: stores elements e .. e+3 (those below n) of y from what     \
 * load_unit_S loaded and keep, which the caller computes in between. */                  \
static inline __attribute__((always_inline)) void unit4_##S(global ST_##X *y, global const ST_##X *x, global const ST_##X *b,     \
	global const ST_##X *r, uint n, uint e, int4 keep, C_##X s, C_##X A, C_##X B,           \
	C_##X D, uint flags, ulong i0, ulong blen, R4_##X xr, C4_##X xv, C4_##X rv, bool al)    \
{                                                                                           \
	const bool whole = e + 4 <= n;                                                          \
	if (COPY && !(flags & (F_BIAS | F_RESID))) {                                            \
		const R4_##X o = select((R4_##X)(0), xr, CVTRS4_##X(keep));                         \
		if (whole) {                                                                        \
			if (al) rawst4_##X(y, e, o); else rawstu4_##X(y, e, o);                                                      \
		} else {                                                                            \
			if (e < n) rawst1_##X(y, e, o.x);                                               \
			if (e + 1 < n) rawst1_##X(y, e + 1, o.y);                                       \
			if (e + 2 < n) rawst1_##X(y, e + 2, o.z);                                       \
		}                                                                                   \
		return;                                                                             \
	}                                                                                       \
	C4_##X bv = (C4_##X)(0);                                                                \
	if (flags & F_BIAS)                                                                     \
		bv = bias4_##S(b, i0, blen, e);                                                     \
	const C4_##X o = value4_##S(xv, bv, rv, keep, s, A, B, D, flags);                       \
	if (whole) {                                                                            \
		if (al) store4_##X(y, e, o); else storeu4_##X(y, e, o);                                                          \
	} else {                                                                                \
		if (e < n) store1_##X(y, e, o.x);                                                   \
		if (e + 1 < n) store1_##X(y, e + 1, o.y);                                           \
		if (e + 2 < n) store1_##X(y, e + 2, o.z);                                           \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* load_unit_S loads x (bits or values) and r for elements e .. e+3. */                    \
static inline __attribute__((always_inline)) void load_unit_##S(global const ST_##X *x, global const ST_##X *r, uint n, uint e,   \
	uint flags, R4_##X *xr, C4_##X *xv, C4_##X *rv, bool al)                                \
{                                                                                           \
	const bool whole = e + 4 <= n;                                                          \
	if (COPY && !(flags & (F_BIAS | F_RESID))) {                                            \
		if (whole) {                                                                        \
			if (al) *xr = raw4_##X(x, e); else *xr = rawu4_##X(x, e);                                                      \
		} else {                                                                            \
			R4_##X v = (R4_##X)(0);                                                         \
			if (e < n) v.x = raw1_##X(x, e);                                                \
			if (e + 1 < n) v.y = raw1_##X(x, e + 1);                                        \
			if (e + 2 < n) v.z = raw1_##X(x, e + 2);                                        \
			*xr = v;                                                                        \
		}                                                                                   \
		return;                                                                             \
	}                                                                                       \
	if (whole) {                                                                            \
		if (al) *xv = load4_##X(x, e); else *xv = loadu4_##X(x, e);                                                         \
		if (flags & F_RESID)                                                                \
			{ if (al) *rv = load4_##X(r, e); else *rv = loadu4_##X(r, e); }                                                     \
	} else {                                                                                \
		C4_##X v = (C4_##X)(0), w = (C4_##X)(0);                                            \
		if (e < n) { v.x = load1_##X(x, e); if (flags & F_RESID) w.x = load1_##X(r, e); }   \
		if (e + 1 < n) { v.y = load1_##X(x, e + 1); if (flags & F_RESID) w.y = load1_##X(r, e + 1); } \
		if (e + 2 < n) { v.z = load1_##X(x, e + 2); if (flags & F_RESID) w.z = load1_##X(r, e + 2); } \
		*xv = v;                                                                            \
		*rv = w;                                                                            \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* fwd_units_S: fwd_S's work, with flags and g0 as arguments, so that     \
 * fwd_S can call it with constants the compiler folds. */                 \
static inline __attribute__((always_inline)) void fwd_units_##S(DATA_ARGS(X), bool al)     \
{                                                                                           \
	const uint2 key = (uint2)(k0, k1);                                                      \
	const bool data = !(flags & F_MASKONLY);                                                \
	FOR_UNITS(k, (n + 3) >> 2) {                                                            \
		const uint e = 4 * k;                                                               \
		R4_##X xr = (R4_##X)(0);                                                            \
		C4_##X xv = (C4_##X)(0), rv = (C4_##X)(0);                                          \
		if (data)                                                                           \
			load_unit_##S(x, r, n, e, flags, &xr, &xv, &rv, al);                                \
		const int4 keep = keep4(words4(g0 + e, key), thr, flags);                           \
		if (data)                                                                           \
			unit4_##S(y, x, b, r, n, e, keep, s, A, B, D, flags, i0, blen, xr, xv, rv, al);     \
		if (flags & F_BYTES) /* whole words: padding bytes are 0 */                         \
			((global uchar4 *)m)[k] = convert_uchar4(keep & (int4)(-(e < n), -(e + 1 < n), -(e + 2 < n), -(e + 3 < n)) & (int4)(1)); \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* fwd_S: y = dropout(x) over n elements whose element 0 uses stream word   \
 * g0; with F_BYTES a byte mask too (F_MASKONLY: the mask alone). One       \
 * work-item per four elements, one Philox block (two when g0 is not a      \
 * multiple of 4). The plain call (at most F_BYTES, g0 a multiple of 4) is  \
 * a branch whole launches take, compiled with those constants: no flag    \
 * tests, one Philox block per work-item. */                                \
kernel void fwd_##S(DATA_ARGS(X))                                                           \
{                                                                                           \
	y += yoff; x += xoff; m += moff; r += roff; b += boff;                                  \
	if ((flags & ~F_BYTES) == 0 && ((uint)g0 & 3u) == 0)                                    \
		fwd_units_##S(y, 0, x, 0, m, 0, b, 0, r, 0, n, g0 & ~3ul, k0, k1, thr, flags & F_BYTES, \
			s, A, B, D, i0, blen, AL);                                                      \
	else                                                                                    \
		fwd_units_##S(y, 0, x, 0, m, 0, b, 0, r, 0, n, g0, k0, k1, thr, flags, s, A, B, D, i0, blen, AL); \
}                                                                                           \
                                                                                            \
/* fwdbits_unit_S: fwdbits_S's work on unit k below the launch's units:   \
 * its elements and their mask bits (bits from n on are 0), with flags and   \
 * g0 as arguments, as fwd_units_S has them. */                             \
static inline __attribute__((always_inline)) uint fwdbits_unit_##S(DATA_ARGS(X), uint k, bool al) \
{                                                                                           \
	const uint e = 4 * k;                                                                   \
	R4_##X xr = (R4_##X)(0);                                                                \
	C4_##X xv = (C4_##X)(0), rv = (C4_##X)(0);                                              \
	if (!(flags & F_MASKONLY))                                                              \
		load_unit_##S(x, r, n, e, flags, &xr, &xv, &rv, al);                                \
	const int4 keep = keep4(words4(g0 + e, (uint2)(k0, k1)), thr, flags);                   \
	if (!(flags & F_MASKONLY))                                                              \
		unit4_##S(y, x, b, r, n, e, keep, s, A, B, D, flags, i0, blen, xr, xv, rv, al);     \
	return nibble(keep) & (0xFu >> (4u - min(n - e, 4u)));                                  \
}                                                                                           \
                                                                                            \
/* fwdbits_S: as fwd_S, writing a bit mask from mask word moff on: the      \
 * nibbles of 8 neighbouring work-items make one 32-bit word (bit e is      \
 * element 32w+e; bits past n are 0). The plain call is a branch as in      \
 * fwd_S, inside the work-group loop (no barrier under it). */              \
kernel void fwdbits_##S(DATA_ARGS(X))                                                       \
{                                                                                           \
	local ulong nib[LOCAL / 8]; /* a byte per work-item */                                  \
	y += yoff; x += xoff; r += roff; b += boff;                                             \
	global uint *mw = (global uint *)m + moff;                                              \
	const bool plain = (flags & ~F_BYTES) == 0 && ((uint)g0 & 3u) == 0;                     \
	const uint lid = (uint)get_local_id(0), units = (n + 3) >> 2;                           \
	FOR_GROUPS(base, units) {                                                               \
		const uint k = base + lid;                                                          \
		uint bits = 0;                                                                      \
		if (k < units) {                                                                    \
			if (plain)                                                                      \
				bits = fwdbits_unit_##S(y, 0, x, 0, m, 0, b, 0, r, 0, n, g0 & ~3ul, k0, k1, \
					thr, 0u, s, A, B, D, i0, blen, k, AL);                                  \
			else                                                                            \
				bits = fwdbits_unit_##S(y, 0, x, 0, m, 0, b, 0, r, 0, n, g0, k0, k1, thr,   \
					flags, s, A, B, D, i0, blen, k, AL);                                    \
		}                                                                                   \
		((local uchar *)nib)[lid] = (uchar)bits;                                            \
		barrier(CLK_LOCAL_MEM_FENCE);                                                       \
		if (8 * lid < (uint)get_local_size(0) && base + 8 * lid < units) {                  \
			/* the 8 nibbles, a byte each (little-endian), packed into one word */          \
			ulong v = nib[lid];                                                             \
			v = (v | (v >> 4)) & 0x00FF00FF00FF00FFul;                                      \
			v = (v | (v >> 8)) & 0x0000FFFF0000FFFFul;                                      \
			mw[(base >> 3) + lid] = (uint)(v | (v >> 16));                                  \
		}                                                                                   \
		barrier(CLK_LOCAL_MEM_FENCE);                                                       \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* bwd_units_S: bwd_S's work. */                                           \
static inline __attribute__((always_inline)) void bwd_units_##S(DATA_ARGS(X), bool al)     \
{                                                                                           \
	global const uchar *mb = m + moff;                                                      \
	global const uint *mw = (global const uint *)m + moff;                                  \
	FOR_UNITS(k, (n + 3) >> 2) {                                                            \
		const uint e = 4 * k;                                                               \
		R4_##X xr = (R4_##X)(0);                                                            \
		C4_##X xv = (C4_##X)(0), rv = (C4_##X)(0);                                          \
		load_unit_##S(x, r, n, e, flags, &xr, &xv, &rv, al);                                \
		int4 keep;                                                                          \
		if (flags & F_BYTES)                                                                \
			keep = convert_int4(((global const uchar4 *)mb)[k]) != (int4)(0);               \
		else                                                                                \
			keep = keep_of_nibble(mw[k >> 3] >> (4 * (k & 7)));                             \
		unit4_##S(y, x, b, r, n, e, keep, s, A, B, D, flags, i0, blen, xr, xv, rv, al);     \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* bwd_S: y = keep ? x*s : 0 with keep read from a mask: bytes (F_BYTES,    \
 * nonzero = kept) from byte moff on, or bits from word moff on. */         \
kernel void bwd_##S(DATA_ARGS(X))                                                           \
{                                                                                           \
	y += yoff; x += xoff; r += roff; b += boff;                                             \
	bwd_units_##S(y, 0, x, 0, m, moff, b, 0, r, 0, n, g0, k0, k1, thr, flags, s, A, B, D, i0, blen, AL); \
}                                                                                           \
                                                                                            \
/* bcast_units_S: bcast_S's work. */                                       \
static inline __attribute__((always_inline)) void bcast_units_##S(DATA_ARGS(X),             \
	global const ulong *dims, uint rank, bool al)                                           \
{                                                                                           \
	FOR_UNITS(k, (n + 3) >> 2) {                                                            \
		const uint e = 4 * k;                                                               \
		R4_##X xr = (R4_##X)(0);                                                            \
		C4_##X xv = (C4_##X)(0), rv = (C4_##X)(0);                                          \
		load_unit_##S(x, r, n, e, flags, &xr, &xv, &rv, al);                                \
		const int4 keep = (int4)(bcast_keep(m, dims, rank, i0 + e, e < n, flags),            \
			bcast_keep(m, dims, rank, i0 + e + 1, e + 1 < n, flags),                        \
			bcast_keep(m, dims, rank, i0 + e + 2, e + 2 < n, flags),                        \
			bcast_keep(m, dims, rank, i0 + e + 3, e + 3 < n, flags));                       \
		unit4_##S(y, x, b, r, n, e, keep, s, A, B, D, flags, i0, blen, xr, xv, rv, al);     \
	}                                                                                       \
}                                                                                           \
                                                                                            \
/* bcast_S: a mask read through a broadcast (the executor's Apply         \
 * kernels): element e of the launch is tensor element i0+e, whose keep     \
 * decision bcast_keep reads from the whole mask at byte moff of m. */      \
kernel void bcast_##S(DATA_ARGS(X), global const ulong *dims, uint rank)                    \
{                                                                                           \
	y += yoff; x += xoff; r += roff; m += moff; b += boff;                                  \
	bcast_units_##S(y, 0, x, 0, m, 0, b, 0, r, 0, n, g0, k0, k1, thr, flags, s, A, B, D, i0, blen, dims, rank, AL); \
}

DROPOUT_KERNELS(f32, f32, 0, 1)
DROPOUT_KERNELS(f32, f32_copy, 1, 1)
DROPOUT_KERNELS(f16, f16, 0, 1)
DROPOUT_KERNELS(f16, f16_copy, 1, 1)
DROPOUT_KERNELS(bf16, bf16, 0, 1)
DROPOUT_KERNELS(bf16, bf16_copy, 1, 1)
DROPOUT_KERNELS(f32, f32_u, 0, 0)
DROPOUT_KERNELS(f32, f32_copy_u, 1, 0)
DROPOUT_KERNELS(f16, f16_u, 0, 0)
DROPOUT_KERNELS(f16, f16_copy_u, 1, 0)
DROPOUT_KERNELS(bf16, bf16_u, 0, 0)
DROPOUT_KERNELS(bf16, bf16_copy_u, 1, 0)
#ifdef cl_khr_fp64
DROPOUT_KERNELS(f64, f64, 0, 1)
DROPOUT_KERNELS(f64, f64_copy, 1, 1)
DROPOUT_KERNELS(f64, f64_u, 0, 0)
DROPOUT_KERNELS(f64, f64_copy_u, 1, 0)
#endif
