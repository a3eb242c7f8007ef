/* gemm_internal.h - private to src/kernels: the general GEMM behind sal_gemm.
 *
 * B is read where it lies: the operators whose B is a weight matrix (conv2d,
 * dense) borrow the model's Keras-layout weights, so the wasm heap holds each
 * weight once.  The forward pass reads them as B; the input gradient reads
 * them as B's transpose.  Either way the GEMM copies KC x NR slivers into a
 * buffer on its stack as it goes (gemm.c).
 *
 * Rows of A and C need not be evenly spaced: a 1x1 convolution with stride s
 * reads every s-th pixel of every s-th input row (sal_gemm_rows), which saves
 * copying them into a column matrix, and its input gradient writes them.
 *
 * Every output is summed in the same order whatever the vector width, tile
 * shape, B layout or thread count: k ascending within slices of
 * SAL_GEMM_KC, each slice's sum (started from its first product) added to
 * the bias, or zero, (first slice) or to C (later ones).  So results do not
 * depend on the pool, and native builds without fused multiply-adds give the
 * same bits as wasm.  Kernels that take a shortcut past the GEMM (dense.c)
 * keep that order.
 */
#ifndef SAL_KERNELS_GEMM_INTERNAL_H
#define SAL_KERNELS_GEMM_INTERNAL_H

#include <stddef.h>

#include "../executor/threadpool.h"
#include "kernels.h"

#define SAL_GEMM_KC 256    /* K slice: part of every output's summation order, so fixed */

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
    SAL_GEMM_B_MATRIX,     /* b is B, row-major k x n: B[p][j] = b[p * ldb + j] */
    SAL_GEMM_B_TRANSPOSED  /* b is B^T, row-major n x k: B[p][j] = b[j * ldb + p] */
} sal_gemm_b_layout;

typedef struct {
    int m, n, k;
    const float *a;
    sal_gemm_rows a_rows;
    const float *b;
    int ldb;
    sal_gemm_b_layout b_layout;
    const float *bias;    /* [n] or NULL */
    float *c;
    sal_gemm_rows c_rows;
    sal_kernel_activation fused; /* applied as C is stored: SAL_K_LINEAR (none), SAL_K_RELU or SAL_K_RELU6 */
    const sal_kernel_gate *gate; /* or NULL: applied as C is stored, gate->y read at C's offsets */
} sal_gemm_args;

/* C[m x n] = A[m x k] * B (+ bias). */
void sal_gemm_run(sal_threadpool *pool, const sal_gemm_args *args);
/* args[0 .. count-1], GEMMs of the same m, n and k, in one parallel loop:
 * small GEMMs keep every thread busy without a wait after each. */
void sal_gemm_run_many(sal_threadpool *pool, const sal_gemm_args *args, int count);

#endif
