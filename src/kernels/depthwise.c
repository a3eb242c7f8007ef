/* depthwise.c - depthwise convolution by direct loops, vectorised over
 * channels (contiguous in NHWC).  Output channel c*mult + m reads input
 * channel c.  The input gradient is the gather form of the transpose: each
 * input pixel sums over the windows covering it, so threads own whole rows
 * of dx.  The Keras kernel [kh,kw,cin,mult] is already laid out as
 * [tap][output channel], which is the layout both loops want.
 */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "window.h"

int sal_depthwise_create(sal_depthwise_op *op, const float *kernel, const float *bias,
                         int kh, int kw, int cin, int mult) {
    memset(op, 0, sizeof *op);
    op->kh = kh, op->kw = kw, op->cin = cin, op->mult = mult;
    size_t channels = (size_t)cin * mult;
    size_t taps = (size_t)kh * kw;
    /* + 1: a zero-sized matrix must not look like a failed malloc */
    op->w = malloc(taps * channels * sizeof(float) + 1);
    op->bias = bias ? malloc(channels * sizeof(float) + 1) : NULL;
    if (!op->w || (bias && !op->bias)) {
        sal_depthwise_destroy(op);
        return -1;
    }
    memcpy(op->w, kernel, taps * channels * sizeof(float));
    if (bias) memcpy(op->bias, bias, channels * sizeof(float));
    return 0;
}

void sal_depthwise_destroy(sal_depthwise_op *op) {
    free(op->w);
    free(op->bias);
    memset(op, 0, sizeof *op);
}

size_t sal_depthwise_scratch_floats(const sal_depthwise_op *op, sal_dims x, sal_dims y, const sal_window *win) {
    return 0;
}

typedef struct {
    const sal_depthwise_op *op;
    const sal_window *win;
    const float *src;      /* x (forward) or dy (backward) */
    sal_dims xd, yd;
    float *dst;            /* y (forward) or dx (backward) */
} depthwise_job;

/* acc[i] += a[i] * b[i] for i < n. */
static void multiply_add(float *acc, const float *a, const float *b, int n) {
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(acc + i, sal_vf_load(acc + i) + sal_vf_load(a + i) * sal_vf_load(b + i));
    for (; i < n; i++) acc[i] += a[i] * b[i];
}

/* ------------------------------------------------------------ forward */

/* y_pixel += x_pixel (expanded by mult) * tap weights. */
static void forward_tap(const sal_depthwise_op *op, const float *x_pixel, const float *w_tap, float *y_pixel) {
    if (op->mult == 1) {
        multiply_add(y_pixel, x_pixel, w_tap, op->cin);
        return;
    }
    for (int c = 0; c < op->cin; c++)
        sal_axpy(y_pixel + (size_t)c * op->mult, w_tap + (size_t)c * op->mult, x_pixel[c], op->mult);
}

static void forward_pixel(const depthwise_job *job, const float *image, int oy, int ox, float *y_pixel) {
    const sal_depthwise_op *op = job->op;
    const sal_window *win = job->win;
    int channels = op->cin * op->mult;
    if (op->bias) memcpy(y_pixel, op->bias, (size_t)channels * sizeof(float));
    else memset(y_pixel, 0, (size_t)channels * sizeof(float));
    for (int ky = 0; ky < op->kh; ky++) {
        int iy = oy * win->stride_h - win->pad_top + ky * win->dilation_h;
        if (iy < 0 || iy >= job->xd.h) continue;
        for (int kx = 0; kx < op->kw; kx++) {
            int ix = ox * win->stride_w - win->pad_left + kx * win->dilation_w;
            if (ix < 0 || ix >= job->xd.w) continue;
            const float *x_pixel = image + ((size_t)iy * job->xd.w + ix) * op->cin;
            forward_tap(op, x_pixel, op->w + (size_t)(ky * op->kw + kx) * channels, y_pixel);
        }
    }
}

/* Task: one output row (image, oy). */
static void forward_row(void *ctx, int index) {
    const depthwise_job *job = ctx;
    int img = index / job->yd.h, oy = index % job->yd.h;
    const float *image = job->src + (size_t)img * job->xd.h * job->xd.w * job->xd.c;
    float *y_pixel = job->dst + (size_t)index * job->yd.w * job->yd.c;
    for (int ox = 0; ox < job->yd.w; ox++, y_pixel += job->yd.c) forward_pixel(job, image, oy, ox, y_pixel);
}

void sal_depthwise_forward(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                           const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch) {
    depthwise_job job = {op, win, x, xd, yd, y};
    sal_parallel_for(pool, yd.n * yd.h, forward_row, &job);
}

/* ------------------------------------------------------------ backward */

/* dx_pixel[c] += sum over m of dy_pixel[c*mult+m] * w_tap[c*mult+m]. */
static void backward_tap(const sal_depthwise_op *op, const float *dy_pixel, const float *w_tap, float *dx_pixel) {
    if (op->mult == 1) {
        multiply_add(dx_pixel, dy_pixel, w_tap, op->cin);
        return;
    }
    for (int c = 0; c < op->cin; c++) {
        const float *g = dy_pixel + (size_t)c * op->mult, *w = w_tap + (size_t)c * op->mult;
        float sum = 0;
        for (int m = 0; m < op->mult; m++) sum += g[m] * w[m];
        dx_pixel[c] += sum;
    }
}

static void backward_pixel(const depthwise_job *job, const float *dy_image, int iy, int ix, float *dx_pixel) {
    const sal_depthwise_op *op = job->op;
    const sal_window *win = job->win;
    int channels = op->cin * op->mult;
    memset(dx_pixel, 0, (size_t)op->cin * sizeof(float));
    for (int ky = 0; ky < op->kh; ky++) {
        int oy = sal_covering_output(iy, ky, win->stride_h, win->pad_top, win->dilation_h, job->yd.h);
        if (oy < 0) continue;
        for (int kx = 0; kx < op->kw; kx++) {
            int ox = sal_covering_output(ix, kx, win->stride_w, win->pad_left, win->dilation_w, job->yd.w);
            if (ox < 0) continue;
            const float *dy_pixel = dy_image + ((size_t)oy * job->yd.w + ox) * channels;
            backward_tap(op, dy_pixel, op->w + (size_t)(ky * op->kw + kx) * channels, dx_pixel);
        }
    }
}

/* Task: one input row (image, iy). */
static void backward_row(void *ctx, int index) {
    const depthwise_job *job = ctx;
    int img = index / job->xd.h, iy = index % job->xd.h;
    const float *dy_image = job->src + (size_t)img * job->yd.h * job->yd.w * job->yd.c;
    float *dx_pixel = job->dst + (size_t)index * job->xd.w * job->xd.c;
    for (int ix = 0; ix < job->xd.w; ix++, dx_pixel += job->xd.c) backward_pixel(job, dy_image, iy, ix, dx_pixel);
}

void sal_depthwise_backward_input(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                                  const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch) {
    depthwise_job job = {op, win, dy, xd, yd, dx};
    sal_parallel_for(pool, xd.n * xd.h, backward_row, &job);
}
