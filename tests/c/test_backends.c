/* The two backends against each other and against naive loops.
 *
 * Operator by operator (conv 1x1/3x3/7x7/4x4, strides 1 and 2, 'same' and
 * 'valid', dilation; depthwise with multipliers 1 and 2; dense; max, average
 * and global pools): forward and input gradient on random data from the
 * portable kernels and from XNNPACK, each compared with a naive loop written
 * here from the definitions (error relative to the largest reference value
 * below 1e-4).  Then whole networks through the public API on both backends:
 * the small golden models (logits and input gradients) and the ResNet50 on
 * the pattern image (logits, top-1 and the vanilla gradient; cosine > 0.999).
 * XNNPACK computes in float32 with its own fused kernels, so nothing here is
 * expected bit for bit.
 *
 * Without XNNPACK compiled in, the portable kernels still meet the naive
 * loops, and the backend API must refuse XNNPACK; the output says so. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_random.h"
#include "executor/threadpool.h"
#include "golden_helpers.h"
#include "kernels/kernels.h"
#include "saliency.h"
#ifdef SAL_HAVE_XNNPACK
#include "backends/xnnpack.h"
#endif

#define OP_TOLERANCE 1e-4

static sal_threadpool *portable_pool;
#ifdef SAL_HAVE_XNNPACK
static sal_xnn_pool xnn_pool;
#endif

/* ------------------------------------------------------------- helpers */

static test_rng rng = {0x9e3779b97f4a7c15ull};

/* + 16: XNNPACK's read-ahead */
static float *random_floats(size_t n) { return test_random_floats(&rng, n + 16); }

static float *zeros(size_t n) { return calloc(n + 16, sizeof(float)); }

static size_t dims_count(sal_dims d) { return (size_t)d.n * d.h * d.w * d.c; }

/* max |got - want| / max |want| */
static double relative_error(const float *got, const float *want, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (isnan(d)) return INFINITY;
        if (d > worst) worst = d;
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    }
    return scale > 0 ? worst / scale : worst;
}

static void check_op(const float *got, const float *want, size_t n, const char *backend, const char *what,
                     const char *name) {
    double e = relative_error(got, want, n);
    CHECK(e < OP_TOLERANCE, "%s %s (%s): relative error %g", backend, what, name, e);
}

/* A window over an h x w input: Keras 'same' or 'valid' padding; sets the output size. */
static sal_window make_window(int kh, int kw, int stride, int dilation, int same, int h, int w, int *oh, int *ow) {
    sal_window win = {kh, kw, stride, stride, dilation, dilation, 0, 0};
    int total_h = 0, total_w = 0;
    if (same) {
        sal_same_padding(h, kh, stride, dilation, &total_h, &win.pad_top);
        sal_same_padding(w, kw, stride, dilation, &total_w, &win.pad_left);
    }
    *oh = sal_window_out(h, total_h, kh, stride, dilation);
    *ow = sal_window_out(w, total_w, kw, stride, dilation);
    return win;
}

/* Input row/column of output position o and tap k, or -1 when it falls in the padding. */
static int tap(int o, int k, const sal_window *win, int vertical, int size) {
    int i = vertical ? o * win->stride_h - win->pad_top + k * win->dilation_h
                     : o * win->stride_w - win->pad_left + k * win->dilation_w;
    return i >= 0 && i < size ? i : -1;
}

/* ---------------------------------------------------------- naive loops */

/* y[b,oy,ox,co] = bias[co] + sum x[b,iy,ix,ci] * k[ky,kx,ci,co]; the input
 * gradient scatters dy back along the same taps. */
static void naive_conv(const float *x, sal_dims xd, const float *k, const float *bias, int cout,
                       const sal_window *win, float *y, sal_dims yd) {
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                for (int co = 0; co < cout; co++) {
                    double acc = bias ? bias[co] : 0;
                    for (int ky = 0; ky < win->kh; ky++)
                        for (int kx = 0; kx < win->kw; kx++) {
                            int iy = tap(oy, ky, win, 1, xd.h), ix = tap(ox, kx, win, 0, xd.w);
                            if (iy < 0 || ix < 0) continue;
                            for (int ci = 0; ci < xd.c; ci++)
                                acc += (double)x[(((size_t)b * xd.h + iy) * xd.w + ix) * xd.c + ci] *
                                       k[(((size_t)ky * win->kw + kx) * xd.c + ci) * cout + co];
                        }
                    y[(((size_t)b * yd.h + oy) * yd.w + ox) * cout + co] = (float)acc;
                }
}

static void naive_conv_dx(const float *dy, sal_dims yd, const float *k, const sal_window *win, float *dx,
                          sal_dims xd) {
    size_t n = dims_count(xd);
    double *acc = calloc(n, sizeof *acc);
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                for (int ky = 0; ky < win->kh; ky++)
                    for (int kx = 0; kx < win->kw; kx++) {
                        int iy = tap(oy, ky, win, 1, xd.h), ix = tap(ox, kx, win, 0, xd.w);
                        if (iy < 0 || ix < 0) continue;
                        for (int ci = 0; ci < xd.c; ci++)
                            for (int co = 0; co < yd.c; co++)
                                acc[(((size_t)b * xd.h + iy) * xd.w + ix) * xd.c + ci] +=
                                    (double)dy[(((size_t)b * yd.h + oy) * yd.w + ox) * yd.c + co] *
                                    k[(((size_t)ky * win->kw + kx) * xd.c + ci) * yd.c + co];
                    }
    for (size_t i = 0; i < n; i++) dx[i] = (float)acc[i];
    free(acc);
}

/* Depthwise: output channel c*mult+m reads input channel c with k[ky,kx,c,m]. */
static void naive_depthwise(const float *x, sal_dims xd, const float *k, const float *bias, int mult,
                            const sal_window *win, float *y, sal_dims yd, int backward, const float *dy,
                            float *dx) {
    size_t n = dims_count(xd);
    double *acc = backward ? calloc(n, sizeof *acc) : NULL;
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                for (int c = 0; c < xd.c; c++)
                    for (int m = 0; m < mult; m++) {
                        size_t out = (((size_t)b * yd.h + oy) * yd.w + ox) * yd.c + (size_t)c * mult + m;
                        double sum = bias ? bias[c * mult + m] : 0;
                        for (int ky = 0; ky < win->kh; ky++)
                            for (int kx = 0; kx < win->kw; kx++) {
                                int iy = tap(oy, ky, win, 1, xd.h), ix = tap(ox, kx, win, 0, xd.w);
                                if (iy < 0 || ix < 0) continue;
                                size_t in = (((size_t)b * xd.h + iy) * xd.w + ix) * xd.c + c;
                                float w = k[(((size_t)ky * win->kw + kx) * xd.c + c) * mult + m];
                                if (backward) acc[in] += (double)dy[out] * w;
                                else sum += (double)x[in] * w;
                            }
                        if (!backward) y[out] = (float)sum;
                    }
    if (backward)
        for (size_t i = 0; i < n; i++) dx[i] = (float)acc[i];
    free(acc);
}

/* Max pool: the first maximum of each window (row-major) gets dy; padding ignored. */
static void naive_max_pool(const float *x, sal_dims xd, const sal_window *win, float *y, sal_dims yd,
                           const float *dy, float *dx) {
    if (dx) memset(dx, 0, dims_count(xd) * sizeof *dx);
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                for (int c = 0; c < xd.c; c++) {
                    float best = -INFINITY;
                    size_t arg = 0;
                    for (int ky = 0; ky < win->kh; ky++)
                        for (int kx = 0; kx < win->kw; kx++) {
                            int iy = tap(oy, ky, win, 1, xd.h), ix = tap(ox, kx, win, 0, xd.w);
                            if (iy < 0 || ix < 0) continue;
                            size_t in = (((size_t)b * xd.h + iy) * xd.w + ix) * xd.c + c;
                            if (x[in] > best) best = x[in], arg = in;
                        }
                    size_t out = (((size_t)b * yd.h + oy) * yd.w + ox) * xd.c + c;
                    y[out] = best;
                    if (dx) dx[arg] += dy[out];
                }
}

/* Average pool over the valid cells of each window. */
static void naive_avg_pool(const float *x, sal_dims xd, const sal_window *win, float *y, sal_dims yd) {
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                for (int c = 0; c < xd.c; c++) {
                    double sum = 0;
                    int cells = 0;
                    for (int ky = 0; ky < win->kh; ky++)
                        for (int kx = 0; kx < win->kw; kx++) {
                            int iy = tap(oy, ky, win, 1, xd.h), ix = tap(ox, kx, win, 0, xd.w);
                            if (iy < 0 || ix < 0) continue;
                            sum += x[(((size_t)b * xd.h + iy) * xd.w + ix) * xd.c + c];
                            cells++;
                        }
                    y[(((size_t)b * yd.h + oy) * yd.w + ox) * xd.c + c] = (float)(sum / cells);
                }
}

/* ----------------------------------------------------------- operators */

typedef struct {
    const char *name;
    int h, w, cin, cout; /* cout: depthwise multiplier for depthwise cases */
    int k, stride, dilation, same;
} conv_case;

static void test_conv(const conv_case *t) {
    int oh, ow;
    sal_window win = make_window(t->k, t->k, t->stride, t->dilation, t->same, t->h, t->w, &oh, &ow);
    sal_dims xd = {2, t->h, t->w, t->cin}, yd = {2, oh, ow, t->cout};
    size_t nx = dims_count(xd), ny = dims_count(yd), nk = (size_t)t->k * t->k * t->cin * t->cout;
    float *x = random_floats(nx), *k = random_floats(nk), *bias = random_floats((size_t)t->cout);
    float *dy = random_floats(ny), *want_y = zeros(ny), *want_dx = zeros(nx), *y = zeros(ny), *dx = zeros(nx);
    naive_conv(x, xd, k, bias, t->cout, &win, want_y, yd);
    naive_conv_dx(dy, yd, k, &win, want_dx, xd);

    sal_conv2d_op op;
    CHECK(sal_conv2d_create(&op, k, bias, t->k, t->k, t->cin, t->cout) == 0, "conv create");
    size_t scratch_n = sal_conv2d_scratch_floats(&op, xd, yd, &win);
    float *scratch = zeros(scratch_n + 1);
    sal_conv2d_forward(&op, portable_pool, &win, x, xd, y, yd, scratch, SAL_K_LINEAR);
    check_op(y, want_y, ny, "portable", "conv forward", t->name);
    sal_conv2d_backward_input(&op, portable_pool, &win, dy, yd, dx, xd, scratch, NULL);
    check_op(dx, want_dx, nx, "portable", "conv dx", t->name);
    sal_conv2d_destroy(&op);
    free(scratch);

#ifdef SAL_HAVE_XNNPACK
    sal_xnn_conv2d_op xop;
    sal_error err;
    sal_xnn_conv2d_create(&xop, k, bias, t->k, t->k, t->cin, t->cout);
    int status = sal_xnn_conv2d_prepare(&xop, &win, xd, yd, 1, &err);
    CHECK(status == SAL_OK, "xnnpack conv prepare (%s): %s", t->name, err.message);
    memset(y, 0, ny * sizeof *y), memset(dx, 0, nx * sizeof *dx);
    if (status == SAL_OK) status = sal_xnn_conv2d_forward(&xop, xnn_pool, &win, x, xd, y, yd, &err);
    CHECK(status == SAL_OK, "xnnpack conv forward (%s): %s", t->name, err.message);
    check_op(y, want_y, ny, "xnnpack", "conv forward", t->name);
    if (status == SAL_OK) status = sal_xnn_conv2d_backward_input(&xop, xnn_pool, &win, dy, yd, dx, xd, &err);
    CHECK(status == SAL_OK, "xnnpack conv dx (%s): %s", t->name, err.message);
    check_op(dx, want_dx, nx, "xnnpack", "conv dx", t->name);
    sal_xnn_conv2d_destroy(&xop);
#endif
    free(x), free(k), free(bias), free(dy), free(want_y), free(want_dx), free(y), free(dx);
}

static void test_depthwise(const conv_case *t) {
    int oh, ow, mult = t->cout;
    sal_window win = make_window(t->k, t->k, t->stride, t->dilation, t->same, t->h, t->w, &oh, &ow);
    sal_dims xd = {2, t->h, t->w, t->cin}, yd = {2, oh, ow, t->cin * mult};
    size_t nx = dims_count(xd), ny = dims_count(yd), nk = (size_t)t->k * t->k * t->cin * mult;
    float *x = random_floats(nx), *k = random_floats(nk), *bias = random_floats((size_t)yd.c);
    float *dy = random_floats(ny), *want_y = zeros(ny), *want_dx = zeros(nx), *y = zeros(ny), *dx = zeros(nx);
    naive_depthwise(x, xd, k, bias, mult, &win, want_y, yd, 0, NULL, NULL);
    naive_depthwise(x, xd, k, bias, mult, &win, NULL, yd, 1, dy, want_dx);

    sal_depthwise_op op;
    CHECK(sal_depthwise_create(&op, k, bias, t->k, t->k, t->cin, mult) == 0, "depthwise create");
    float *scratch = zeros(sal_depthwise_scratch_floats(&op, xd, yd, &win) + 1);
    sal_depthwise_forward(&op, portable_pool, &win, x, xd, y, yd, scratch, SAL_K_LINEAR);
    check_op(y, want_y, ny, "portable", "depthwise forward", t->name);
    sal_depthwise_backward_input(&op, portable_pool, &win, dy, yd, dx, xd, scratch, NULL);
    check_op(dx, want_dx, nx, "portable", "depthwise dx", t->name);
    sal_depthwise_destroy(&op);
    free(scratch);

#ifdef SAL_HAVE_XNNPACK
    sal_xnn_depthwise_op xop;
    sal_error err;
    sal_xnn_depthwise_create(&xop, k, bias, t->k, t->k, t->cin, mult);
    int status = sal_xnn_depthwise_prepare(&xop, &win, xd, yd, 1, &err);
    CHECK(status == SAL_OK, "xnnpack depthwise prepare (%s): %s", t->name, err.message);
    memset(y, 0, ny * sizeof *y), memset(dx, 0, nx * sizeof *dx);
    if (status == SAL_OK) status = sal_xnn_depthwise_forward(&xop, xnn_pool, &win, x, xd, y, yd, &err);
    CHECK(status == SAL_OK, "xnnpack depthwise forward (%s): %s", t->name, err.message);
    check_op(y, want_y, ny, "xnnpack", "depthwise forward", t->name);
    if (status == SAL_OK) status = sal_xnn_depthwise_backward_input(&xop, xnn_pool, &win, dy, yd, dx, xd, &err);
    CHECK(status == SAL_OK, "xnnpack depthwise dx (%s): %s", t->name, err.message);
    check_op(dx, want_dx, nx, "xnnpack", "depthwise dx", t->name);
    sal_xnn_depthwise_destroy(&xop);
#endif
    free(x), free(k), free(bias), free(dy), free(want_y), free(want_dx), free(y), free(dx);
}

static void test_dense(int rows, int in, int out) {
    float *x = random_floats((size_t)rows * in), *k = random_floats((size_t)in * out);
    float *bias = random_floats((size_t)out), *dy = random_floats((size_t)rows * out);
    float *want_y = zeros((size_t)rows * out), *want_dx = zeros((size_t)rows * in);
    float *y = zeros((size_t)rows * out), *dx = zeros((size_t)rows * in);
    sal_dims xd = {rows, 1, 1, in}, yd = {rows, 1, 1, out};
    sal_window one = {1, 1, 1, 1, 1, 1, 0, 0};
    naive_conv(x, xd, k, bias, out, &one, want_y, yd); /* a dense layer is a 1x1 convolution */
    naive_conv_dx(dy, yd, k, &one, want_dx, xd);

    sal_dense_op op;
    CHECK(sal_dense_create(&op, k, bias, in, out) == 0, "dense create");
    sal_dense_forward(&op, portable_pool, x, rows, y);
    check_op(y, want_y, (size_t)rows * out, "portable", "dense forward", "");
    sal_dense_backward_input(&op, portable_pool, dy, rows, dx);
    check_op(dx, want_dx, (size_t)rows * in, "portable", "dense dx", "");
    sal_dense_destroy(&op);

#ifdef SAL_HAVE_XNNPACK
    sal_xnn_dense_op xop;
    sal_error err;
    int status = sal_xnn_dense_create(&xop, k, bias, in, out, &err);
    CHECK(status == SAL_OK, "xnnpack dense create: %s", err.message);
    if (status == SAL_OK) {
        memset(y, 0, (size_t)rows * out * sizeof *y), memset(dx, 0, (size_t)rows * in * sizeof *dx);
        CHECK(sal_xnn_dense_forward(&xop, xnn_pool, x, rows, y, &err) == SAL_OK, "xnnpack dense: %s", err.message);
        check_op(y, want_y, (size_t)rows * out, "xnnpack", "dense forward", "");
        CHECK(sal_xnn_dense_backward_input(&xop, xnn_pool, dy, rows, dx, &err) == SAL_OK, "xnnpack dense dx: %s",
              err.message);
        check_op(dx, want_dx, (size_t)rows * in, "xnnpack", "dense dx", "");
        sal_xnn_dense_destroy(&xop);
    }
#endif
    free(x), free(k), free(bias), free(dy), free(want_y), free(want_dx), free(y), free(dx);
}

typedef struct {
    const char *name;
    int h, w, c, k, stride, same;
    int xnn_backward; /* windows tile the input: XNNPACK takes the max pool's backward */
} pool_case;

static void test_max_pool(const pool_case *t) {
    int oh, ow;
    sal_window win = make_window(t->k, t->k, t->stride, 1, t->same, t->h, t->w, &oh, &ow);
    sal_dims xd = {2, t->h, t->w, t->c}, yd = {2, oh, ow, t->c};
    size_t nx = dims_count(xd), ny = dims_count(yd);
    float *x = random_floats(nx), *dy = random_floats(ny), *want_y = zeros(ny), *want_dx = zeros(nx);
    float *y = zeros(ny), *dx = zeros(nx);
    naive_max_pool(x, xd, &win, want_y, yd, dy, want_dx);
    sal_max_pool_forward(portable_pool, &win, x, xd, y, yd);
    check_op(y, want_y, ny, "portable", "max pool forward", t->name);
    sal_max_pool_backward(portable_pool, &win, x, xd, dy, yd, dx);
    check_op(dx, want_dx, nx, "portable", "max pool dx", t->name);
#ifdef SAL_HAVE_XNNPACK
    sal_xnn_max_pool_op xop;
    sal_error err;
    sal_xnn_max_pool_create(&xop);
    CHECK(sal_xnn_max_pool_backward_supported(&win, xd, yd) == t->xnn_backward, "%s: XNNPACK backward %s expected",
          t->name, t->xnn_backward ? "" : "not");
    int status = sal_xnn_max_pool_prepare(&xop, &win, xd, yd, 1, &err);
    CHECK(status == SAL_OK, "xnnpack max pool prepare (%s): %s", t->name, err.message);
    memset(y, 0, ny * sizeof *y);
    if (status == SAL_OK) status = sal_xnn_max_pool_forward(&xop, xnn_pool, &win, x, xd, y, yd, &err);
    CHECK(status == SAL_OK, "xnnpack max pool (%s): %s", t->name, err.message);
    check_op(y, want_y, ny, "xnnpack", "max pool forward", t->name);
    if (status == SAL_OK && t->xnn_backward) {
        for (size_t i = 0; i < nx; i++) dx[i] = NAN; /* every value must be written */
        status = sal_xnn_max_pool_backward(&xop, xnn_pool, &win, x, xd, dy, yd, dx, &err);
        CHECK(status == SAL_OK, "xnnpack max pool dx (%s): %s", t->name, err.message);
        check_op(dx, want_dx, nx, "xnnpack", "max pool dx", t->name);
    }
    sal_xnn_max_pool_destroy(&xop);
#endif
    free(x), free(dy), free(want_y), free(want_dx), free(y), free(dx);
}

static void test_avg_pool(const pool_case *t) {
    int oh, ow;
    sal_window win = make_window(t->k, t->k, t->stride, 1, t->same, t->h, t->w, &oh, &ow);
    sal_dims xd = {2, t->h, t->w, t->c}, yd = {2, oh, ow, t->c};
    size_t nx = dims_count(xd), ny = dims_count(yd);
    float *x = random_floats(nx), *want_y = zeros(ny), *y = zeros(ny);
    naive_avg_pool(x, xd, &win, want_y, yd);
    sal_avg_pool_forward(portable_pool, &win, x, xd, y, yd);
    check_op(y, want_y, ny, "portable", "avg pool forward", t->name);
#ifdef SAL_HAVE_XNNPACK
    sal_xnn_avg_pool_op xop;
    sal_error err;
    sal_xnn_avg_pool_create(&xop);
    int status = sal_xnn_avg_pool_prepare(&xop, &win, xd, yd, &err);
    memset(y, 0, ny * sizeof *y);
    if (status == SAL_OK) status = sal_xnn_avg_pool_forward(&xop, xnn_pool, &win, x, xd, y, yd, &err);
    CHECK(status == SAL_OK, "xnnpack avg pool (%s): %s", t->name, err.message);
    check_op(y, want_y, ny, "xnnpack", "avg pool forward", t->name);
    sal_xnn_avg_pool_destroy(&xop);
#endif
    free(x), free(want_y), free(y);
}

static void test_global_avg_pool(void) {
    sal_dims xd = {3, 7, 5, 19};
    size_t nx = dims_count(xd), ny = (size_t)xd.n * xd.c;
    float *x = random_floats(nx), *want = zeros(ny), *y = zeros(ny);
    sal_window whole = {xd.h, xd.w, 1, 1, 1, 1, 0, 0};
    sal_dims yd = {xd.n, 1, 1, xd.c};
    naive_avg_pool(x, xd, &whole, want, yd);
    sal_global_avg_pool_forward(x, xd, y);
    check_op(y, want, ny, "portable", "global avg pool", "");
#ifdef SAL_HAVE_XNNPACK
    sal_xnn_global_avg_pool_op xop;
    sal_error err;
    sal_xnn_global_avg_pool_create(&xop);
    int status = sal_xnn_global_avg_pool_prepare(&xop, xd.c, &err);
    memset(y, 0, ny * sizeof *y);
    if (status == SAL_OK) status = sal_xnn_global_avg_pool_forward(&xop, xnn_pool, x, xd, y, &err);
    CHECK(status == SAL_OK, "xnnpack global avg pool: %s", err.message);
    check_op(y, want, ny, "xnnpack", "global avg pool", "");
    sal_xnn_global_avg_pool_destroy(&xop);
#endif
    free(x), free(want), free(y);
}

static void test_operators(void) {
    static const conv_case convs[] = {
        {"1x1 s1 valid", 9, 7, 24, 40, 1, 1, 1, 0},   {"1x1 s2 valid", 9, 8, 16, 32, 1, 2, 1, 0},
        {"3x3 s1 same", 10, 9, 13, 17, 3, 1, 1, 1},   {"3x3 s2 same even", 12, 10, 8, 16, 3, 2, 1, 1},
        {"3x3 s2 same odd", 11, 13, 8, 12, 3, 2, 1, 1}, {"3x3 s2 valid", 12, 11, 6, 10, 3, 2, 1, 0},
        {"7x7 s2 same", 23, 22, 3, 16, 7, 2, 1, 1},   {"7x7 s1 valid", 12, 13, 4, 8, 7, 1, 1, 0},
        {"4x4 s2 same (asymmetric)", 11, 10, 5, 7, 4, 2, 1, 1}, {"3x3 dilation 2 same", 12, 11, 6, 9, 3, 1, 2, 1},
        {"3x3 s1 same, large enough for threads", 20, 18, 32, 32, 3, 1, 1, 1},
        {"1x1 s2 valid, large enough for threads", 30, 28, 64, 64, 1, 2, 1, 0},
    };
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) test_conv(&convs[i]);
    static const conv_case depthwise[] = {
        {"3x3 s1 same m1", 10, 9, 16, 1, 3, 1, 1, 1},  {"3x3 s2 same m1 even", 12, 10, 24, 1, 3, 2, 1, 1},
        {"3x3 s2 same m1 odd", 11, 13, 8, 1, 3, 2, 1, 1}, {"5x5 s2 same m1", 15, 14, 12, 1, 5, 2, 1, 1},
        {"3x3 s1 valid m1", 9, 8, 7, 1, 3, 1, 1, 0},   {"3x3 s1 same m2", 9, 10, 6, 2, 3, 1, 1, 1},
        {"3x3 s2 valid m2", 11, 12, 5, 2, 3, 2, 1, 0}, {"3x3 dilation 2 same m1", 12, 11, 8, 1, 3, 1, 2, 1},
        {"3x3 s2 same m1, large enough for threads", 58, 56, 64, 1, 3, 2, 1, 1},
    };
    for (size_t i = 0; i < sizeof depthwise / sizeof *depthwise; i++) test_depthwise(&depthwise[i]);
    test_dense(3, 37, 19);
    test_dense(1, 2048, 100);
    test_dense(8, 512, 400); /* large enough for threads */
    static const pool_case max_pools[] = {
        {"2x2 s2 valid", 8, 10, 16, 2, 2, 0, 1},  {"2x2 s2 same odd", 9, 7, 8, 2, 2, 1, 1},
        {"2x2 s2 valid odd", 9, 7, 8, 2, 2, 0, 0}, {"3x3 s2 same (overlapping)", 13, 12, 8, 3, 2, 1, 0},
        {"3x3 s1 valid", 8, 9, 5, 3, 1, 0, 0},    {"2x2 s2 valid, large enough for threads", 112, 112, 64, 2, 2, 0, 1},
    };
    for (size_t i = 0; i < sizeof max_pools / sizeof *max_pools; i++) test_max_pool(&max_pools[i]);
    static const pool_case avg_pools[] = {
        {"2x2 s2 valid", 8, 10, 16, 2, 2, 0, 0}, {"3x3 s1 same", 9, 7, 8, 3, 1, 1, 0},
        {"3x3 s2 same odd", 11, 13, 6, 3, 2, 1, 0},
    };
    for (size_t i = 0; i < sizeof avg_pools / sizeof *avg_pools; i++) test_avg_pool(&avg_pools[i]);
    test_global_avg_pool();
}

/* ------------------------------------------------------------ the API */

static void test_backend_api(void) {
    sal_error err;
    CHECK(strcmp(sal_backend_name(SAL_BACKEND_PORTABLE), "portable") == 0, "portable's name");
    CHECK(strcmp(sal_backend_name(SAL_BACKEND_XNNPACK), "xnnpack") == 0, "xnnpack's name");
    CHECK(sal_backend_name((sal_backend)42) == NULL, "an unknown backend has no name");
    CHECK(sal_backend_available(SAL_BACKEND_PORTABLE) && sal_backend_available(SAL_BACKEND_DEFAULT),
          "portable and default are always available");
    CHECK(!sal_backend_available((sal_backend)42), "an unknown backend is unavailable");

    char model_path[1024];
    snprintf(model_path, sizeof model_path, "%s/models/seq_small/model.json", SAL_GOLDENS_DIR);
    sal_model *model = sal_model_load_tfjs(model_path, &err);
    CHECK(model != NULL, "loading %s: %s", model_path, err.message);
    if (!model) return;

    const char *saved = getenv("SAL_BACKEND");
    char *saved_copy = saved ? strdup(saved) : NULL;
    sal_backend native = sal_backend_available(SAL_BACKEND_XNNPACK) ? SAL_BACKEND_XNNPACK : SAL_BACKEND_PORTABLE;

    unsetenv("SAL_BACKEND");
    sal_context *ctx = sal_context_create(model, 1, &err);
    CHECK(ctx && sal_context_backend(ctx) == native, "the default backend is %s", sal_backend_name(native));
    sal_context_free(ctx);

    setenv("SAL_BACKEND", "portable", 1);
    ctx = sal_context_create(model, 1, &err);
    CHECK(ctx && sal_context_backend(ctx) == SAL_BACKEND_PORTABLE, "SAL_BACKEND=portable chooses portable");
    sal_context_free(ctx);
    ctx = sal_context_create_backend(model, 1, native, &err);
    CHECK(ctx && sal_context_backend(ctx) == native, "an explicit backend wins over SAL_BACKEND");
    sal_context_free(ctx);

    setenv("SAL_BACKEND", "tpu", 1);
    ctx = sal_context_create(model, 1, &err);
    CHECK(!ctx && err.status == SAL_ERR_ARGUMENT && strstr(err.message, "tpu"),
          "SAL_BACKEND=tpu is refused by name: %s", ctx ? "(created)" : err.message);
    sal_context_free(ctx);

    if (saved_copy) setenv("SAL_BACKEND", saved_copy, 1);
    else unsetenv("SAL_BACKEND");
    free(saved_copy);

    ctx = sal_context_create_backend(model, 1, (sal_backend)42, &err);
    CHECK(!ctx && err.status == SAL_ERR_ARGUMENT, "an unknown backend is refused");
    sal_context_free(ctx);
    ctx = sal_context_create_backend(model, 1, SAL_BACKEND_XNNPACK, &err);
#ifdef SAL_HAVE_XNNPACK
    CHECK(ctx && sal_context_backend(ctx) == SAL_BACKEND_XNNPACK, "XNNPACK context: %s", ctx ? "" : err.message);
    /* XNNPACK's initialization is shared: a second context outlives the first. */
    sal_context *other = sal_context_create_backend(model, 2, SAL_BACKEND_XNNPACK, &err);
    sal_context_free(ctx);
    ctx = other;
    float logits[16];
    float input[64 * 64 * 3] = {0};
    int h, w, c;
    sal_model_input_size(model, &h, &w, &c);
    CHECK((size_t)h * w * c <= sizeof input / sizeof *input, "seq_small input %dx%dx%d", h, w, c);
    if (ctx && (size_t)h * w * c <= sizeof input / sizeof *input)
        CHECK(sal_forward(ctx, input, 1, h, w, logits, NULL, &err) == SAL_OK,
              "forward after another context was freed: %s", err.message);
#else
    CHECK(!ctx && err.status == SAL_ERR_UNSUPPORTED && strstr(err.message, "SAL_XNNPACK"),
          "XNNPACK not compiled in is refused, naming the CMake option: %s", err.message);
#endif
    sal_context_free(ctx);
    sal_model_free(model);
}

/* ------------------------------------------------------------ networks */

#ifdef SAL_HAVE_XNNPACK

typedef struct {
    float *logits, *grad;
} network_result;

/* Logits and the input gradient of the given targets on one backend. */
static int run_network(const sal_model *model, sal_backend backend, const float *input, int batch, int h, int w,
                       const int *targets, size_t n_logits, size_t n_grad, network_result *out) {
    sal_error err;
    out->logits = calloc(n_logits, sizeof(float));
    out->grad = calloc(n_grad, sizeof(float));
    sal_context *ctx = sal_context_create_backend(model, 2, backend, &err);
    CHECK(ctx != NULL, "%s context: %s", sal_backend_name(backend), err.message);
    if (!ctx) return 0;
    sal_backward_request req = {0};
    req.targets = targets;
    req.logits = out->logits;
    req.input_gradient = out->grad;
    int status = sal_backward(ctx, input, batch, h, w, &req, &err);
    CHECK(status == SAL_OK, "%s backward: %s", sal_backend_name(backend), err.message);
    sal_context_free(ctx);
    return status == SAL_OK;
}

static int top1(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static void compare_networks(const char *name, const network_result *p, const network_result *x, int batch,
                             int classes, size_t n_grad) {
    size_t n_logits = (size_t)batch * classes;
    double logit_error = relative_error(x->logits, p->logits, n_logits);
    double cosine = golden_cosine(x->grad, p->grad, n_grad);
    CHECK(logit_error < 1e-3, "%s: logits differ between backends by %g of the largest", name, logit_error);
    CHECK(cosine > 0.999, "%s: input gradients' cosine between backends %.6f", name, cosine);
    for (int b = 0; b < batch; b++)
        CHECK(top1(x->logits + (size_t)b * classes, classes) == top1(p->logits + (size_t)b * classes, classes),
              "%s image %d: top-1 differs between backends", name, b);
    printf("  %-16s logits %.2e  gradient cosine %.7f\n", name, logit_error, cosine);
}

static void free_result(network_result *r) {
    free(r->logits);
    free(r->grad);
}

static float *read_npy(const char *dir, const char *file, size_t *count, int shape[SAL_NPY_MAX_DIMS], int *ndim) {
    char path[1024];
    float *data = NULL;
    sal_error err;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    CHECK(sal_npy_read(path, &data, shape, ndim, &err) == SAL_OK, "reading %s: %s", path, err.message);
    *count = 1;
    for (int i = 0; data && i < *ndim; i++) *count *= (size_t)shape[i];
    return data;
}

static void test_golden_model(const char *dir, const char *name) {
    char path[1024];
    sal_error err;
    snprintf(path, sizeof path, "%s/model.json", dir);
    sal_model *model = sal_model_load_tfjs(path, &err);
    CHECK(model != NULL, "loading %s: %s", path, err.message);
    int shape[SAL_NPY_MAX_DIMS], ndim = 0, tshape[SAL_NPY_MAX_DIMS], tdim = 0;
    size_t n_input = 0, n_targets = 0;
    float *input = read_npy(dir, "input.npy", &n_input, shape, &ndim);
    float *target_values = read_npy(dir, "targets.npy", &n_targets, tshape, &tdim);
    if (model && input && target_values && ndim == 4) {
        int batch = shape[0], classes = sal_model_num_classes(model);
        int *targets = malloc((size_t)batch * sizeof *targets);
        for (int b = 0; b < batch; b++) targets[b] = b < (int)n_targets ? (int)target_values[b] : -1;
        network_result p = {0}, x = {0};
        size_t n_logits = (size_t)batch * classes;
        if (run_network(model, SAL_BACKEND_PORTABLE, input, batch, shape[1], shape[2], targets, n_logits, n_input, &p) &&
            run_network(model, SAL_BACKEND_XNNPACK, input, batch, shape[1], shape[2], targets, n_logits, n_input, &x))
            compare_networks(name, &p, &x, batch, classes, n_input);
        free_result(&p), free_result(&x);
        free(targets);
    }
    free(input), free(target_values);
    sal_model_free(model);
}

static void test_golden_models(void) {
    char root[1024];
    snprintf(root, sizeof root, "%s/models", SAL_GOLDENS_DIR);
    DIR *d = opendir(root);
    CHECK(d != NULL, "cannot list %s", root);
    if (!d) return;
    int models = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        test_golden_model(dir, e->d_name);
        models++;
    }
    closedir(d);
    CHECK(models >= 6, "only %d golden models found", models);
}

static void test_resnet50(void) {
    const char *path = SAL_ASSETS_DIR "/resnet50/model.json";
    sal_error err;
    sal_model *model = sal_model_load_tfjs(path, &err);
    CHECK(model != NULL, "loading %s (npm run setup fetches it): %s", path, err.message);
    if (!model) return;
    sal_preprocess caffe;
    CHECK(sal_preprocess_preset("caffe", &caffe, &err) == SAL_OK, "caffe preset");
    float *input = malloc(GOLDEN_PIXELS * 3 * sizeof *input);
    golden_pattern_pixels(input);
    sal_preprocess_apply(&caffe, input, GOLDEN_PIXELS, input);
    int classes = sal_model_num_classes(model);
    network_result p = {0}, x = {0};
    if (run_network(model, SAL_BACKEND_PORTABLE, input, 1, GOLDEN_SIZE, GOLDEN_SIZE, NULL, (size_t)classes,
                    GOLDEN_PIXELS * 3, &p) &&
        run_network(model, SAL_BACKEND_XNNPACK, input, 1, GOLDEN_SIZE, GOLDEN_SIZE, NULL, (size_t)classes,
                    GOLDEN_PIXELS * 3, &x))
        compare_networks("resnet50", &p, &x, 1, classes, GOLDEN_PIXELS * 3);
    free_result(&p), free_result(&x);
    free(input);
    sal_model_free(model);
}
#endif

int main(void) {
    portable_pool = sal_threadpool_create(2);
#ifdef SAL_HAVE_XNNPACK
    sal_error err;
    CHECK(sal_xnn_start(2, &xnn_pool, &err) == SAL_OK, "starting XNNPACK: %s", err.message);
    printf("XNNPACK compiled in: operators of both backends against naive loops, networks against each other\n");
#else
    printf("XNNPACK not compiled in: the portable kernels against naive loops only\n");
#endif
    test_operators();
    test_backend_api();
#ifdef SAL_HAVE_XNNPACK
    test_golden_models();
    test_resnet50();
    sal_xnn_stop(xnn_pool);
#endif
    sal_threadpool_free(portable_pool);
    return check_report();
}
