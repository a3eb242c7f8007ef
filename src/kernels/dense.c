/* dense.c - y = x W + b and dx = dy W^T on weights packed once for the GEMM
 * (the backward reads the same panels transposed). */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "gemm_packed.h"

int sal_dense_create(sal_dense_op *op, const float *kernel, const float *bias, int in, int out) {
    memset(op, 0, sizeof *op);
    op->in = in, op->out = out;
    /* + 1: a zero-sized matrix must not look like a failed malloc */
    op->w = malloc(sal_gemm_packed_floats(in, out) * sizeof(float) + 1);
    op->bias = bias ? malloc((size_t)out * sizeof(float) + 1) : NULL;
    if (!op->w || (bias && !op->bias)) {
        sal_dense_destroy(op);
        return -1;
    }
    sal_gemm_pack_b(in, out, kernel, out, op->w);
    if (bias) memcpy(op->bias, bias, (size_t)out * sizeof(float));
    return 0;
}

void sal_dense_destroy(sal_dense_op *op) {
    free(op->w);
    free(op->bias);
    memset(op, 0, sizeof *op);
}

void sal_dense_forward(const sal_dense_op *op, sal_threadpool *pool, const float *x, int rows, float *y) {
    sal_gemm_packed(pool, rows, op->out, op->in, x, op->in, op->w, op->bias, y, op->out);
}

void sal_dense_backward_input(const sal_dense_op *op, sal_threadpool *pool, const float *dy, int rows, float *dx) {
    sal_gemm_args g = {.m = rows, .n = op->in, .k = op->out, .a = dy, .a_rows = sal_gemm_plain_rows((size_t)op->out),
                       .b = op->w, .b_layout = SAL_GEMM_B_PANELS_T, .c = dx,
                       .c_rows = sal_gemm_plain_rows((size_t)op->in)};
    sal_gemm_run(pool, &g);
}
