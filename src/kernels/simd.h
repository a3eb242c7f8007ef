/* simd.h - portable float vectors on GCC/Clang vector extensions.
 *
 * No intrinsics: the same source becomes SSE/AVX/AVX-512 natively and wasm
 * SIMD128 under emscripten (-msimd128).  Vectors wider than the target's
 * registers are legal; the compiler splits them.  Loads and stores go through
 * __builtin_memcpy, so pointers never need any alignment.
 *
 * sal_v4 / sal_v8 have fixed widths; sal_vf has the widest width the target
 * handles natively (SAL_VF_WIDTH floats) and is what the hot loops use.
 */
#ifndef SAL_KERNELS_SIMD_H
#define SAL_KERNELS_SIMD_H

#include <stdint.h>

typedef float sal_v4 __attribute__((vector_size(16)));
typedef float sal_v8 __attribute__((vector_size(32)));
typedef int32_t sal_vi4 __attribute__((vector_size(16)));
typedef int32_t sal_vi8 __attribute__((vector_size(32)));

#if defined(__AVX512F__)
#define SAL_VF_WIDTH 16
#elif defined(__AVX__)
#define SAL_VF_WIDTH 8
#else
#define SAL_VF_WIDTH 4
#endif

typedef float sal_vf __attribute__((vector_size(SAL_VF_WIDTH * 4)));
typedef int32_t sal_vfi __attribute__((vector_size(SAL_VF_WIDTH * 4)));

#define SAL_INLINE static inline __attribute__((always_inline))

/* Without AVX, GCC warns that returning a 32-byte vector has a different ABI;
 * these helpers are always inlined, so no call ever crosses that ABI. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* ------------------------------------------------------------ sal_v4 */
SAL_INLINE sal_v4 sal_v4_load(const float *p) { sal_v4 v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void sal_v4_store(float *p, sal_v4 v) { __builtin_memcpy(p, &v, sizeof v); }
SAL_INLINE sal_v4 sal_v4_splat(float x) { return (sal_v4){x, x, x, x}; }
SAL_INLINE sal_v4 sal_v4_max(sal_v4 a, sal_v4 b) {
    sal_vi4 a_wins = a > b;
    return (sal_v4)((a_wins & (sal_vi4)a) | (~a_wins & (sal_vi4)b));
}
SAL_INLINE sal_v4 sal_v4_min(sal_v4 a, sal_v4 b) {
    sal_vi4 a_wins = a < b;
    return (sal_v4)((a_wins & (sal_vi4)a) | (~a_wins & (sal_vi4)b));
}
SAL_INLINE float sal_v4_sum(sal_v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

/* ------------------------------------------------------------ sal_v8 */
SAL_INLINE sal_v8 sal_v8_load(const float *p) { sal_v8 v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void sal_v8_store(float *p, sal_v8 v) { __builtin_memcpy(p, &v, sizeof v); }
SAL_INLINE sal_v8 sal_v8_splat(float x) { return (sal_v8){x, x, x, x, x, x, x, x}; }
SAL_INLINE sal_v8 sal_v8_max(sal_v8 a, sal_v8 b) {
    sal_vi8 a_wins = a > b;
    return (sal_v8)((a_wins & (sal_vi8)a) | (~a_wins & (sal_vi8)b));
}
SAL_INLINE sal_v8 sal_v8_min(sal_v8 a, sal_v8 b) {
    sal_vi8 a_wins = a < b;
    return (sal_v8)((a_wins & (sal_vi8)a) | (~a_wins & (sal_vi8)b));
}
SAL_INLINE float sal_v8_sum(sal_v8 v) {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* ------------------------------------------------------------ sal_vf */
SAL_INLINE sal_vf sal_vf_load(const float *p) { sal_vf v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void sal_vf_store(float *p, sal_vf v) { __builtin_memcpy(p, &v, sizeof v); }
SAL_INLINE sal_vf sal_vf_zero(void) { return (sal_vf){0}; }
SAL_INLINE sal_vf sal_vf_splat(float x) { return sal_vf_zero() + x; }
/* The first n (0 <= n <= SAL_VF_WIDTH) lanes from p, the rest zero. */
SAL_INLINE sal_vf sal_vf_load_partial(const float *p, int n) {
    sal_vf v = sal_vf_zero();
    __builtin_memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}
SAL_INLINE void sal_vf_store_partial(float *p, sal_vf v, int n) {
    __builtin_memcpy(p, &v, (size_t)n * sizeof(float));
}
SAL_INLINE sal_vf sal_vf_max(sal_vf a, sal_vf b) {
    sal_vfi a_wins = a > b;
    return (sal_vf)((a_wins & (sal_vfi)a) | (~a_wins & (sal_vfi)b));
}
SAL_INLINE sal_vf sal_vf_min(sal_vf a, sal_vf b) {
    sal_vfi a_wins = a < b;
    return (sal_vf)((a_wins & (sal_vfi)a) | (~a_wins & (sal_vfi)b));
}
SAL_INLINE float sal_vf_sum(sal_vf v) {
    float s = 0;
    for (int i = 0; i < SAL_VF_WIDTH; i++) s += v[i];
    return s;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* y[i] += x[i] * s for i < n: the axpy every direct kernel ends up with. */
SAL_INLINE void sal_axpy(float *y, const float *x, float s, int n) {
    sal_vf sv = sal_vf_splat(s);
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(y + i, sal_vf_load(y + i) + sal_vf_load(x + i) * sv);
    for (; i < n; i++) y[i] += x[i] * s;
}

/* y[i] += x[i] for i < n. */
SAL_INLINE void sal_add_into(float *y, const float *x, int n) {
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(y + i, sal_vf_load(y + i) + sal_vf_load(x + i));
    for (; i < n; i++) y[i] += x[i];
}

#endif
