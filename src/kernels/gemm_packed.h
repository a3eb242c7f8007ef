/* gemm_packed.h - private to src/kernels: the general GEMM behind sal_gemm.
 *
 * Operators whose B is a weight matrix (conv2d, dense) pack it once at
 * creation into column panels (sal_gemm_pack_b) and run on those panels; the
 * same panels serve the input gradient, whose B is the transpose: the GEMM
 * then copies KC x NR slivers of the transpose out of them as it goes, into a
 * buffer on its stack, so each operator keeps one packed copy of its weights.
 *
 * Rows of A and C need not be evenly spaced: a 1x1 convolution with stride s
 * reads every s-th pixel of every s-th input row (sal_gemm_rows), which saves
 * copying them into a column matrix, and its input gradient writes them.
 *
 * Every output is summed in the same order whatever the vector width, tile
 * shape or thread count: k ascending within slices of KC, each slice's sum
 * added to the bias (first slice) or to C (later ones).  So results do not
 * depend on the pool, and native builds without fused multiply-adds give the
 * same bits as wasm.
 */
#ifndef SAL_KERNELS_GEMM_PACKED_H
#define SAL_KERNELS_GEMM_PACKED_H

#include <stddef.h>

#include "../executor/threadpool.h"

/* Where row i of a matrix starts.  Plain: i * ld.  Gathered (pixels > 0):
 * row i is output pixel (img, oy, ox) of images with `pixels` = oh * ow
 * pixels, found at img * image + oy * row + ox * col. */
typedef struct {
    size_t ld;
    int pixels, ow;
    size_t image, row, col;
} sal_gemm_rows;

static inline sal_gemm_rows sal_gemm_plain_rows(size_t ld) {
    sal_gemm_rows r = {ld, 0, 0, 0, 0, 0};
    return r;
}

static inline size_t sal_gemm_row_offset(const sal_gemm_rows *r, int i) {
    if (r->pixels <= 0) return (size_t)i * r->ld;
    int img = i / r->pixels, pixel = i % r->pixels;
    return (size_t)img * r->image + (size_t)(pixel / r->ow) * r->row + (size_t)(pixel % r->ow) * r->col;
}

typedef enum {
    SAL_GEMM_B_MATRIX,    /* b is row-major k x n with leading dimension ldb */
    SAL_GEMM_B_PANELS,    /* b as packed by sal_gemm_pack_b(k, n, ...) */
    SAL_GEMM_B_PANELS_T   /* b^T as packed by sal_gemm_pack_b(n, k, ...): B = (packed matrix)^T */
} sal_gemm_b_layout;

typedef struct {
    int m, n, k;
    const float *a;
    sal_gemm_rows a_rows;
    const float *b;
    int ldb;              /* SAL_GEMM_B_MATRIX only */
    sal_gemm_b_layout b_layout;
    const float *bias;    /* [n] or NULL */
    float *c;
    sal_gemm_rows c_rows;
} sal_gemm_args;

/* C[m x n] = A[m x k] * B (+ bias). */
void sal_gemm_run(sal_threadpool *pool, const sal_gemm_args *args);

/* Floats needed to hold a packed k x n matrix. */
size_t sal_gemm_packed_floats(int k, int n);
/* Packs B [k x n] (leading dimension ldb) into `packed`. */
void sal_gemm_pack_b(int k, int n, const float *b, int ldb, float *packed);
/* C[m x n] = A[m x k] * B (+ bias[n]), B as packed by sal_gemm_pack_b. */
void sal_gemm_packed(sal_threadpool *pool, int m, int n, int k, const float *a, int lda,
                     const float *packed_b, const float *bias, float *c, int ldc);

#endif
