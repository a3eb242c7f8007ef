/* simd.h - portable float vectors on GCC/Clang vector extensions.
 *
 * No intrinsics: the same source becomes SSE/AVX/AVX-512 natively and wasm
 * SIMD128 under emscripten (-msimd128).  sal_vf has the widest width the
 * target handles natively (SAL_VF_WIDTH floats).  Loads and stores go through
 * __builtin_memcpy, so pointers never need any alignment.
 */
#ifndef SAL_KERNELS_SIMD_H
#define SAL_KERNELS_SIMD_H

#include <stddef.h>

#if defined(__AVX512F__)
#define SAL_VF_WIDTH 16
#elif defined(__AVX__)
#define SAL_VF_WIDTH 8
#else
#define SAL_VF_WIDTH 4
#endif

typedef float sal_vf __attribute__((vector_size(SAL_VF_WIDTH * 4)));

#define SAL_INLINE static inline __attribute__((always_inline))
/* Before a loop with a constant trip count of at most 8 that must be
 * unrolled (accumulators indexed by its counter stay in registers only then). */
#if defined(__clang__)
#define SAL_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define SAL_UNROLL _Pragma("GCC unroll 8")
#else
#define SAL_UNROLL
#endif

SAL_INLINE sal_vf sal_vf_load(const float *p) { sal_vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void sal_vf_store(float *p, sal_vf v) { __builtin_memcpy(p, &v, sizeof v); }
SAL_INLINE sal_vf sal_vf_zero(void) { return (sal_vf){0}; }
/* x - 0 is x for every x (even -0), so compilers fold it into one broadcast;
 * 0 + x is not (it turns -0 into +0) and costs an add and a shuffle more. */
SAL_INLINE sal_vf sal_vf_splat(float x) { return x - sal_vf_zero(); }
/* The first n (0 <= n <= SAL_VF_WIDTH) lanes from p, the rest zero. */
SAL_INLINE sal_vf sal_vf_load_partial(const float *p, int n) {
    sal_vf v = sal_vf_zero();
    __builtin_memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}
SAL_INLINE void sal_vf_store_partial(float *p, sal_vf v, int n) {
    __builtin_memcpy(p, &v, (size_t)n * sizeof(float));
}
/* The same, with the whole vector's case as plain loads and stores (n is
 * often a constant where these are inlined). */
SAL_INLINE sal_vf sal_vf_load_lanes(const float *p, int n) {
    return n == SAL_VF_WIDTH ? sal_vf_load(p) : sal_vf_load_partial(p, n);
}
SAL_INLINE void sal_vf_store_lanes(float *p, sal_vf v, int n) {
    if (n == SAL_VF_WIDTH) sal_vf_store(p, v);
    else sal_vf_store_partial(p, v, n);
}

/* Lane masks, as comparisons of sal_vf give them: all ones where one holds. */
typedef int sal_vmask __attribute__((vector_size(SAL_VF_WIDTH * 4)));

/* v where mask is set, +0 elsewhere. */
SAL_INLINE sal_vf sal_vf_keep_where(sal_vmask mask, sal_vf v) { return (sal_vf)(mask & (sal_vmask)v); }

/* y[i] += x[i] * s for i < n. */
SAL_INLINE void sal_axpy(float *y, const float *x, float s, int n) {
    sal_vf sv = sal_vf_splat(s);
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(y + i, sal_vf_load(y + i) + sal_vf_load(x + i) * sv);
    for (; i < n; i++) y[i] += x[i] * s;
}

/* dst[i] = src[i] for i < n, no overlap.  Inline vector moves: in wasm,
 * memcpy is a call, and from 512 bytes on a call out to JavaScript. */
SAL_INLINE void sal_copy_floats(float *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH) sal_vf_store(dst + i, sal_vf_load(src + i));
    for (; i < n; i++) dst[i] = src[i];
}

/* dst[i] = 0 for i < n. */
SAL_INLINE void sal_zero_floats(float *dst, size_t n) {
    size_t i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH) sal_vf_store(dst + i, sal_vf_zero());
    for (; i < n; i++) dst[i] = 0.0f;
}

/* y[i] += x[i] for i < n. */
SAL_INLINE void sal_add_into(float *y, const float *x, int n) {
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(y + i, sal_vf_load(y + i) + sal_vf_load(x + i));
    for (; i < n; i++) y[i] += x[i];
}

#endif
