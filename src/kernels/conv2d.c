/* conv2d.c - convolution as im2col + GEMM, and its input gradient as
 * GEMM + col2im.
 *
 * The column matrix has one row per output pixel and K = kh*kw*cin columns,
 * ordered (ky, kx, c) like the Keras kernel, so forward is
 * col[M x K] * kernel[K x cout].  Backward computes dcol = dy * kernel^T and
 * then gathers: each input row sums the dcol entries of the windows that
 * cover it, a window's row at a time (contiguous floats, undilated), so
 * threads own disjoint rows of dx and never race.  Both read the
 * kernel where the model keeps it (the backward reads it transposed).
 * An unpadded 1x1 convolution needs no column matrix: its GEMM reads the
 * pixels of x (every stride-th one) in place, and its input gradient writes
 * them in dx, whose other pixels are zero.
 * Whole images go through the column buffer at a time, as many as fit in
 * COL_BUDGET floats (at least one).  An op given a Winograd kernel
 * (sal_conv2d_use_winograd) runs its 3x3 stride-1 windows in winograd.c.
 */
#include "kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "simd.h"
#include "window.h"
#include "winograd.h"

#define COL_BUDGET ((size_t)1 << 22)

int sal_conv2d_create(sal_conv2d_op *op, const float *kernel, const float *bias,
                      int kh, int kw, int cin, int cout) {
    memset(op, 0, sizeof *op);
    op->kh = kh, op->kw = kw, op->cin = cin, op->cout = cout;
    op->w = kernel;
    op->bias = bias;
    return 0;
}

void sal_conv2d_destroy(sal_conv2d_op *op) {
    free(op->winograd), free(op->winograd_backward);
    memset(op, 0, sizeof *op);
}

/* 1x1, unpadded, every output pixel on an input pixel (any stride). */
static int is_pointwise(const sal_conv2d_op *op, sal_dims x, sal_dims y, const sal_window *win) {
    return op->kh == 1 && op->kw == 1 && win->pad_top == 0 && win->pad_left == 0 && y.h > 0 && y.w > 0 &&
           (y.h - 1) * win->stride_h < x.h && (y.w - 1) * win->stride_w < x.w;
}

/* The pixels of x (cin floats each) under a pointwise convolution's outputs, in output order. */
static sal_gemm_rows sampled_pixels(sal_dims x, sal_dims y, const sal_window *win) {
    sal_gemm_rows r = {.ld = (size_t)x.c, .pixels = y.h * y.w, .ow = y.w, .image = (size_t)x.h * x.w * x.c,
                       .row = (size_t)win->stride_h * x.w * x.c, .col = (size_t)win->stride_w * x.c};
    return r;
}

static sal_gemm_args pointwise_gemm(const sal_conv2d_op *op, const sal_window *win, sal_dims xd, sal_dims yd) {
    sal_gemm_args g = {.m = yd.n * yd.h * yd.w, .b = op->w, .ldb = op->cout};
    sal_gemm_rows x_rows = sampled_pixels(xd, yd, win);
    if (win->stride_h == 1 && win->stride_w == 1 && yd.h == xd.h && yd.w == xd.w)
        x_rows = sal_gemm_plain_rows((size_t)xd.c);
    g.a_rows = x_rows;
    g.c_rows = x_rows;
    return g;
}

static size_t col_floats_per_image(const sal_conv2d_op *op, sal_dims y) {
    return (size_t)y.h * y.w * op->kh * op->kw * op->cin;
}

static int images_per_chunk(const sal_conv2d_op *op, sal_dims y) {
    size_t per_image = col_floats_per_image(op, y);
    size_t fit = per_image ? COL_BUDGET / per_image : (size_t)y.n;
    if (fit < 1) fit = 1;
    return fit < (size_t)y.n ? (int)fit : y.n;
}

size_t sal_conv2d_scratch_floats(const sal_conv2d_op *op, sal_dims x, sal_dims y, const sal_window *win) {
    if (is_pointwise(op, x, y, win) || y.n <= 0) return 0;
    if (sal_conv2d_winograd_applies(op, win)) return sal_conv2d_winograd_scratch_floats(op, x, y);
    /* SIZE_MAX (an allocation that fails) when one image's columns do not fit in size_t, e.g. in wasm32. */
    if ((double)y.h * y.w * op->kh * op->kw * op->cin > (double)(SIZE_MAX / sizeof(float))) return SIZE_MAX;
    return (size_t)images_per_chunk(op, y) * col_floats_per_image(op, y);
}

/* ------------------------------------------------------------ forward */

typedef struct {
    const sal_conv2d_op *op;
    const sal_window *win;
    const float *x;        /* first image of the chunk */
    sal_dims xd, yd;
    float *col;
} im2col_job;

static void im2col_pixel(const im2col_job *job, const float *image, int oy, int ox, float *dst) {
    const sal_window *win = job->win;
    int cin = job->op->cin, kw = job->op->kw;
    sal_tap_range taps = sal_window_taps(ox, win->stride_w, win->pad_left, win->dilation_w, kw, job->xd.w);
    int lo = taps.first, hi = taps.end;
    int ix0 = ox * win->stride_w - win->pad_left;
    for (int ky = 0; ky < job->op->kh; ky++, dst += (size_t)kw * cin) {
        int iy = oy * win->stride_h - win->pad_top + ky * win->dilation_h;
        if (iy < 0 || iy >= job->xd.h || lo >= hi) {
            sal_zero_floats(dst, (size_t)kw * cin);
            continue;
        }
        const float *row = image + (size_t)iy * job->xd.w * cin;
        sal_zero_floats(dst, (size_t)lo * cin);
        if (win->dilation_w == 1) {
            sal_copy_floats(dst + (size_t)lo * cin, row + (size_t)(ix0 + lo) * cin, (size_t)(hi - lo) * cin);
        } else {
            for (int kx = lo; kx < hi; kx++)
                sal_copy_floats(dst + (size_t)kx * cin, row + (size_t)(ix0 + kx * win->dilation_w) * cin,
                                (size_t)cin);
        }
        sal_zero_floats(dst + (size_t)hi * cin, (size_t)(kw - hi) * cin);
    }
}

/* Task: one output row (image, oy) of the column matrix. */
static void im2col_row(void *ctx, int index) {
    const im2col_job *job = ctx;
    int img = index / job->yd.h, oy = index % job->yd.h;
    const float *image = job->x + (size_t)img * job->xd.h * job->xd.w * job->xd.c;
    size_t k = (size_t)job->op->kh * job->op->kw * job->op->cin;
    float *dst = job->col + (size_t)index * job->yd.w * k;
    for (int ox = 0; ox < job->yd.w; ox++, dst += k) im2col_pixel(job, image, oy, ox, dst);
}

void sal_conv2d_forward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                        const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                        sal_kernel_activation fused) {
    int k = op->kh * op->kw * op->cin;
    if (is_pointwise(op, xd, yd, win)) {
        sal_gemm_args g = pointwise_gemm(op, win, xd, yd);
        g.n = op->cout, g.k = k, g.a = x, g.b_layout = SAL_GEMM_B_MATRIX, g.bias = op->bias;
        g.c = y, g.c_rows = sal_gemm_plain_rows((size_t)op->cout), g.fused = fused;
        sal_gemm_run(pool, &g);
        return;
    }
    if (sal_conv2d_winograd_applies(op, win)) {
        sal_conv2d_winograd_forward(op, pool, win, x, xd, y, yd, scratch, fused);
        return;
    }
    size_t x_image = (size_t)xd.h * xd.w * xd.c, y_image = (size_t)yd.h * yd.w * yd.c;
    int chunk = images_per_chunk(op, yd);
    for (int n0 = 0; n0 < yd.n; n0 += chunk) {
        int count = yd.n - n0 < chunk ? yd.n - n0 : chunk;
        im2col_job job = {op, win, x + n0 * x_image, xd, yd, scratch};
        sal_parallel_for(pool, count * yd.h, im2col_row, &job);
        sal_gemm_args g = {.m = count * yd.h * yd.w, .n = op->cout, .k = k, .a = scratch,
                           .a_rows = sal_gemm_plain_rows((size_t)k), .b = op->w, .ldb = op->cout,
                           .b_layout = SAL_GEMM_B_MATRIX, .bias = op->bias, .c = y + n0 * y_image,
                           .c_rows = sal_gemm_plain_rows((size_t)op->cout), .fused = fused};
        sal_gemm_run(pool, &g);
    }
}

/* ------------------------------------------------------------ backward */

typedef struct {
    const sal_conv2d_op *op;
    const sal_window *win;
    const float *dcol;     /* first image of the chunk */
    sal_dims xd, yd;
    float *dx;             /* first image of the chunk */
    const sal_kernel_gate *gate;
    const float *gate_y;   /* the gate's y at the chunk's first image */
} col2im_job;

/* Adds the dcol entries of output pixel (oy, ox), kernel row ky, to the dx
 * row they fall on.  Taps kx are cin floats apart in dcol; undilated, they
 * land on consecutive input pixels too, so the in-range ones are one
 * contiguous run of floats on both sides. */
static void col2im_window_row(const col2im_job *job, const float *dcol_pixel, int ky, int ox, float *dx_row) {
    const sal_window *win = job->win;
    int cin = job->op->cin, kw = job->op->kw;
    const float *src = dcol_pixel + (size_t)ky * kw * cin;
    sal_tap_range taps = sal_window_taps(ox, win->stride_w, win->pad_left, win->dilation_w, kw, job->xd.w);
    int ix0 = ox * win->stride_w - win->pad_left;
    if (win->dilation_w == 1) {
        if (taps.end > taps.first)
            sal_add_into(dx_row + (size_t)(ix0 + taps.first) * cin, src + (size_t)taps.first * cin,
                         (taps.end - taps.first) * cin);
        return;
    }
    for (int kx = taps.first; kx < taps.end; kx++)
        sal_add_into(dx_row + (size_t)(ix0 + kx * win->dilation_w) * cin, src + (size_t)kx * cin, cin);
}

/* Task: one input row (image, iy) of dx: the sum, over the kernel rows ky
 * that put some output row oy on it, of every output pixel's window row. */
static void col2im_row(void *ctx, int index) {
    const col2im_job *job = ctx;
    const sal_window *win = job->win;
    int img = index / job->xd.h, iy = index % job->xd.h;
    size_t k = (size_t)job->op->kh * job->op->kw * job->op->cin;
    const float *dcol_image = job->dcol + (size_t)img * job->yd.h * job->yd.w * k;
    size_t row = (size_t)job->xd.w * job->xd.c;
    float *dst = job->dx + (size_t)index * row;
    sal_zero_floats(dst, row);
    for (int ky = 0; ky < job->op->kh; ky++) {
        int oy = sal_covering_output(iy, ky, win->stride_h, win->pad_top, win->dilation_h, job->yd.h);
        if (oy < 0) continue;
        for (int ox = 0; ox < job->yd.w; ox++)
            col2im_window_row(job, dcol_image + ((size_t)oy * job->yd.w + ox) * k, ky, ox, dst);
    }
    if (job->gate) /* while the row is in cache */
        sal_activation_backward(job->gate->act, job->gate->rule, NULL, job->gate_y + (size_t)index * row, dst, dst,
                                row, (int)row);
}

typedef struct {
    const sal_window *win;
    sal_dims xd, yd;
    float *dx;
} unsampled_job;

/* Task: zeroes the pixels of input row (image, iy) that no strided 1x1 output reads. */
static void zero_unsampled_row(void *ctx, int index) {
    const unsampled_job *job = ctx;
    int iy = index % job->xd.h, sw = job->win->stride_w;
    size_t c = (size_t)job->xd.c;
    float *row = job->dx + (size_t)index * job->xd.w * c;
    if (iy % job->win->stride_h != 0 || iy / job->win->stride_h >= job->yd.h) {
        sal_zero_floats(row, (size_t)job->xd.w * c);
        return;
    }
    for (int ix = 0; ix < job->xd.w; ix++)
        if (ix % sw != 0 || ix / sw >= job->yd.w) sal_zero_floats(row + ix * c, c);
}

/* The pixels no output reads get a zero gradient, which every gate keeps. */
static void pointwise_backward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                               const float *dy, sal_dims yd, float *dx, sal_dims xd, const sal_kernel_gate *gate) {
    if (yd.h != xd.h || yd.w != xd.w) {
        unsampled_job job = {win, xd, yd, dx};
        sal_parallel_for(pool, xd.n * xd.h, zero_unsampled_row, &job);
    }
    sal_gemm_args g = pointwise_gemm(op, win, xd, yd);
    g.n = op->cin, g.k = op->cout, g.a = dy, g.a_rows = sal_gemm_plain_rows((size_t)op->cout);
    g.b_layout = SAL_GEMM_B_TRANSPOSED, g.c = dx, g.gate = gate;
    sal_gemm_run(pool, &g);
}

void sal_conv2d_backward_input(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                               const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                               const sal_kernel_gate *gate) {
    int k = op->kh * op->kw * op->cin;
    if (is_pointwise(op, xd, yd, win)) {
        pointwise_backward(op, pool, win, dy, yd, dx, xd, gate);
        return;
    }
    if (sal_conv2d_winograd_applies(op, win)) {
        sal_conv2d_winograd_backward_input(op, pool, win, dy, yd, dx, xd, scratch, gate);
        return;
    }
    size_t x_image = (size_t)xd.h * xd.w * xd.c, y_image = (size_t)yd.h * yd.w * yd.c;
    int chunk = images_per_chunk(op, yd);
    for (int n0 = 0; n0 < yd.n; n0 += chunk) {
        int count = yd.n - n0 < chunk ? yd.n - n0 : chunk;
        sal_gemm_args g = {.m = count * yd.h * yd.w, .n = k, .k = op->cout, .a = dy + n0 * y_image,
                           .a_rows = sal_gemm_plain_rows((size_t)op->cout), .b = op->w, .ldb = op->cout,
                           .b_layout = SAL_GEMM_B_TRANSPOSED, .c = scratch,
                           .c_rows = sal_gemm_plain_rows((size_t)k)};
        sal_gemm_run(pool, &g);
        col2im_job job = {op, win, scratch, xd, yd, dx + n0 * x_image, gate, gate ? gate->y + n0 * x_image : NULL};
        sal_parallel_for(pool, count * xd.h, col2im_row, &job);
    }
}
