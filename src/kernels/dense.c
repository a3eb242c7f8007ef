/* dense.c - y = x W + b and dx = dy W^T, on W where the model keeps it (the
 * backward reads it transposed).
 *
 * A single row (the executor runs images one at a time) is a matrix-vector
 * product: there the GEMM's copies of W into slivers cost more than its
 * multiply-adds, so the forward pass streams W's rows instead, each task
 * over a block of columns.  The input gradient of a row whose dy is mostly
 * zero (a class score seeds a one-hot dy) adds up only the columns of W
 * where dy is not.  Both keep the GEMM's summation order
 * (gemm_internal.h), and a zero term changes no sum (weights are finite),
 * so they give the GEMM's bits.
 */
#include "kernels.h"

#include <string.h>

#include "gemm_internal.h"
#include "simd.h"

#define GEMV_MAX_ROWS 1
#define GEMV_MAX_COLS 1024 /* columns per task: its sums fit on its stack */
#define SPARSE_SHARE 32    /* dy is sparse with at most one value in this many not zero */

int sal_dense_create(sal_dense_op *op, const float *kernel, const float *bias, int in, int out) {
    memset(op, 0, sizeof *op);
    op->in = in, op->out = out;
    op->w = kernel;
    op->bias = bias;
    return 0;
}

void sal_dense_destroy(sal_dense_op *op) { memset(op, 0, sizeof *op); }

/* ------------------------------------------------------------ forward */

typedef struct {
    const sal_dense_op *op;
    const float *x;
    float *y;
    int blocks, block_cols; /* column blocks per row, and columns in each */
} gemv_job;

/* dst[i] = base[i] + src[i], or 0 + src[i] without a base (as the GEMM adds a missing bias). */
static void add_sums(float *dst, const float *base, const float *src, int n) {
    for (int i = 0; i < n; i++) dst[i] = (base ? base[i] : 0.0f) + src[i];
}

/* Task: one block of columns of one row of y, W's rows read in order. */
static void gemv_block(void *ctx, int index) {
    const gemv_job *job = ctx;
    const sal_dense_op *op = job->op;
    int row = index / job->blocks, j0 = index % job->blocks * job->block_cols;
    int cols = op->out - j0 < job->block_cols ? op->out - j0 : job->block_cols;
    const float *x = job->x + (size_t)row * op->in;
    float *y = job->y + (size_t)row * op->out + j0;
    float sums[GEMV_MAX_COLS];
    for (int p0 = 0; p0 < op->in; p0 += SAL_GEMM_KC) {
        int p1 = op->in - p0 < SAL_GEMM_KC ? op->in : p0 + SAL_GEMM_KC;
        const float *w = op->w + (size_t)p0 * op->out + j0;
        for (int j = 0; j < cols; j++) sums[j] = x[p0] * w[j]; /* the slice's sum starts from its first product */
        for (int p = p0 + 1; p < p1; p++) {
            w += op->out;
            sal_axpy(sums, w, x[p], cols);
        }
        if (p0 == 0) add_sums(y, op->bias ? op->bias + j0 : NULL, sums, cols);
        else add_sums(y, y, sums, cols);
    }
}

void sal_dense_forward(const sal_dense_op *op, sal_threadpool *pool, const float *x, int rows, float *y) {
    if (rows > GEMV_MAX_ROWS || op->in <= 0) {
        sal_gemm(pool, rows, op->out, op->in, x, op->in, op->w, op->out, op->bias, y, op->out);
        return;
    }
    /* As few blocks as keep every thread busy: the longer the run of W each
     * task reads from a row, the better memory streams it. */
    int blocks = sal_threadpool_size(pool), fewest = (op->out + GEMV_MAX_COLS - 1) / GEMV_MAX_COLS;
    int line = 16; /* floats in a cache line */
    if (blocks < fewest) blocks = fewest;
    int block_cols = ((op->out + blocks - 1) / blocks + line - 1) / line * line;
    if (block_cols > GEMV_MAX_COLS) block_cols = GEMV_MAX_COLS;
    gemv_job job = {op, x, y, (op->out + block_cols - 1) / block_cols, block_cols};
    sal_parallel_for(pool, rows * job.blocks, gemv_block, &job);
}

/* ------------------------------------------------------------ backward */

static int is_sparse(const float *dy, int n) {
    int set = 0;
    for (int j = 0; j < n; j++) set += dy[j] != 0.0f;
    return set * SPARSE_SHARE <= n;
}

/* dx = 0 + the sum, over j ascending with dy[j] != 0, of dy[j] * W[., j]. */
static void sparse_row_backward(const sal_dense_op *op, const float *dy, float *dx) {
    for (int i = 0; i < op->in; i++) dx[i] = 0.0f;
    for (int j = 0; j < op->out; j++) {
        if (dy[j] == 0.0f) continue;
        const float *column = op->w + j;
        for (int i = 0; i < op->in; i++) dx[i] += dy[j] * column[(size_t)i * op->out];
    }
}

void sal_dense_backward_input(const sal_dense_op *op, sal_threadpool *pool, const float *dy, int rows, float *dx) {
    int sparse = 1;
    for (int r = 0; r < rows && sparse; r++) sparse = is_sparse(dy + (size_t)r * op->out, op->out);
    if (sparse) {
        for (int r = 0; r < rows; r++) sparse_row_backward(op, dy + (size_t)r * op->out, dx + (size_t)r * op->in);
        return;
    }
    sal_gemm_args g = {.m = rows, .n = op->in, .k = op->out, .a = dy, .a_rows = sal_gemm_plain_rows((size_t)op->out),
                       .b = op->w, .ldb = op->out, .b_layout = SAL_GEMM_B_TRANSPOSED, .c = dx,
                       .c_rows = sal_gemm_plain_rows((size_t)op->in)};
    sal_gemm_run(pool, &g);
}
