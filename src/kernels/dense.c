/* dense.c - y = x W + b and dx = dy W^T, on W where the model keeps it (the
 * backward reads it transposed). */
#include "kernels.h"

#include <string.h>

#include "gemm_internal.h"

int sal_dense_create(sal_dense_op *op, const float *kernel, const float *bias, int in, int out) {
    memset(op, 0, sizeof *op);
    op->in = in, op->out = out;
    op->w = kernel;
    op->bias = bias;
    return 0;
}

void sal_dense_destroy(sal_dense_op *op) { memset(op, 0, sizeof *op); }

void sal_dense_forward(const sal_dense_op *op, sal_threadpool *pool, const float *x, int rows, float *y) {
    sal_gemm(pool, rows, op->out, op->in, x, op->in, op->w, op->out, op->bias, y, op->out);
}

void sal_dense_backward_input(const sal_dense_op *op, sal_threadpool *pool, const float *dy, int rows, float *dx) {
    sal_gemm_args g = {.m = rows, .n = op->in, .k = op->out, .a = dy, .a_rows = sal_gemm_plain_rows((size_t)op->out),
                       .b = op->w, .ldb = op->out, .b_layout = SAL_GEMM_B_TRANSPOSED, .c = dx,
                       .c_rows = sal_gemm_plain_rows((size_t)op->in)};
    sal_gemm_run(pool, &g);
}
