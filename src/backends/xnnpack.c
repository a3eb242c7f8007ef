/* xnnpack.c - kernels.h's heavy operators on XNNPACK (see xnnpack.h).
 *
 * Input gradients:
 *   conv:      dx = deconvolution of dy with the kernel's channel axes swapped
 *              (same stride, dilation and padding; the rows the forward pass
 *              never read come back as the deconvolution's "adjustment");
 *   depthwise: multiplier 1: dx = depthwise convolution, stride 1, of dy
 *              spread out with stride-1 zeros, with the spatially flipped
 *              kernel and the padding mirrored; other multipliers: a grouped
 *              deconvolution (one group per input channel);
 *   dense:     dx = dy * W^T, a fully-connected operator reading W as it is;
 *   max pool:  argmax pooling, then unpooling of dy at the argmax positions.
 */
#include "xnnpack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <xnnpack.h>

#include "../bytes/error.h"

#define EXTRA_FLOATS (XNN_EXTRA_BYTES / sizeof(float)) /* XNNPACK may read this far past an input */

/* Every operator lets the pool's workers sleep once it ran, rather than spin:
 * the portable kernels and the caller's own work come between two operators,
 * and spinning workers would take their cores. */
#define FLAGS XNN_FLAG_YIELD_WORKERS

static const char *status_text(enum xnn_status s) {
    switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "XNNPACK is not initialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    }
    return "unknown status";
}

static int xnn_fail(sal_error *err, enum xnn_status s, const char *what, const char *step) {
    sal_status code = s == xnn_status_out_of_memory ? SAL_ERR_MEMORY : SAL_ERR_UNSUPPORTED;
    return sal_fail(err, code, "XNNPACK %s: %s failed (%s)", what, step, status_text(s));
}

/* Sets up (the caller did) and runs an operator. */
static int run_op(struct xnn_operator *op, enum xnn_status setup, sal_xnn_pool pool, const char *what,
                  sal_error *err) {
    if (setup != xnn_status_success) return xnn_fail(err, setup, what, "setup");
    enum xnn_status s = xnn_run_operator(op, pool);
    return s == xnn_status_success ? SAL_OK : xnn_fail(err, s, what, "run");
}

/* Below about a million multiply-adds, waking the pool's workers costs more
 * than it saves (much more on a loaded machine): such operators run on the
 * calling thread. */
static sal_xnn_pool pool_for(sal_xnn_pool pool, double work) { return work < (double)(1 << 20) ? NULL : pool; }

static double dims_work(sal_dims d, double per_value) { return (double)d.n * d.h * d.w * d.c * per_value; }

static int not_prepared(sal_error *err, const char *what) {
    return sal_fail(err, SAL_ERR_ARGUMENT, "XNNPACK %s: no operator was prepared for this input shape", what);
}

int sal_xnn_start(int n_threads, sal_xnn_pool *pool, sal_error *err) {
    *pool = NULL;
    enum xnn_status s = xnn_initialize(NULL);
    if (s != xnn_status_success) return xnn_fail(err, s, "library", "initialization");
    if (n_threads > 1) {
        *pool = pthreadpool_create((size_t)n_threads);
        if (!*pool) {
            xnn_deinitialize();
            return sal_fail(err, SAL_ERR_MEMORY, "XNNPACK: could not start a pool of %d threads", n_threads);
        }
    }
    return SAL_OK;
}

void sal_xnn_stop(sal_xnn_pool pool) {
    if (pool) pthreadpool_destroy(pool);
    xnn_deinitialize();
}

/* ------------------------------------------------------ geometry cache */

/* Padding after the last window along one axis; 0 when the windows stop short of the end. */
static int pad_after(int in, int out, int k, int stride, int dilation, int pad_before) {
    int end = (out - 1) * stride + dilation * (k - 1) + 1 - in - pad_before;
    return end > 0 ? end : 0;
}

static int at_least_one(int v) { return v > 0 ? v : 1; }

static sal_xnn_geometry window_geometry(const sal_window *win, sal_dims xd, sal_dims yd) {
    sal_xnn_geometry g;
    memset(&g, 0, sizeof g);
    g.stride_h = at_least_one(win->stride_h);
    g.stride_w = at_least_one(win->stride_w);
    g.dilation_h = at_least_one(win->dilation_h);
    g.dilation_w = at_least_one(win->dilation_w);
    g.top = win->pad_top;
    g.left = win->pad_left;
    g.bottom = pad_after(xd.h, yd.h, win->kh, g.stride_h, g.dilation_h, g.top);
    g.right = pad_after(xd.w, yd.w, win->kw, g.stride_w, g.dilation_w, g.left);
    return g;
}

static struct xnn_operator *cache_find(const sal_xnn_cache *c, const sal_xnn_geometry *g) {
    for (int k = 0; k < SAL_XNN_SLOTS; k++)
        if (c->op[k] && memcmp(&c->key[k], g, sizeof *g) == 0) return c->op[k];
    return NULL;
}

typedef enum xnn_status (*make_fn)(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out);

/* Makes the operator for g unless the cache holds it; evicts round-robin. */
static int cache_ensure(sal_xnn_cache *c, const sal_xnn_geometry *g, make_fn make, const void *self,
                        const char *what, sal_error *err) {
    if (cache_find(c, g)) return SAL_OK;
    struct xnn_operator *op = NULL;
    enum xnn_status s = make(self, g, &op);
    if (s != xnn_status_success) return xnn_fail(err, s, what, "creation");
    int k = c->next;
    c->next = (k + 1) % SAL_XNN_SLOTS;
    if (c->op[k]) xnn_delete_operator(c->op[k]);
    c->op[k] = op;
    c->key[k] = *g;
    return SAL_OK;
}

static void cache_clear(sal_xnn_cache *c) {
    for (int k = 0; k < SAL_XNN_SLOTS; k++)
        if (c->op[k]) xnn_delete_operator(c->op[k]);
    memset(c, 0, sizeof *c);
}

/* Grows a scratch buffer (prepare time only); keeps XNNPACK's read-ahead in bounds. */
static int grow(void **buffer, size_t *have, size_t need, size_t item, const char *what, sal_error *err) {
    if (need <= *have) return SAL_OK;
    void *p = realloc(*buffer, (need + EXTRA_FLOATS) * item);
    if (!p) return sal_fail(err, SAL_ERR_MEMORY, "XNNPACK %s: out of memory for %zu scratch values", what, need);
    *buffer = p;
    *have = need;
    return SAL_OK;
}

/* ------------------------------------------------------------ Conv2D */

void sal_xnn_conv2d_create(sal_xnn_conv2d_op *op, const float *kernel, const float *bias,
                           int kh, int kw, int cin, int cout) {
    memset(op, 0, sizeof *op);
    op->kernel = kernel, op->bias = bias;
    op->kh = kh, op->kw = kw, op->cin = cin, op->cout = cout;
}

void sal_xnn_conv2d_destroy(sal_xnn_conv2d_op *op) {
    cache_clear(&op->forward);
    cache_clear(&op->backward);
}

/* [kh,kw,cin,cout] -> [cout,kh,kw,cin] (XNNPACK's OHWI), or [cin,kh,kw,cout] when swap_channels. */
static float *conv_kernel_ohwi(const sal_xnn_conv2d_op *op, int swap_channels) {
    int taps = op->kh * op->kw;
    float *w = malloc((size_t)taps * op->cin * op->cout * sizeof *w);
    if (!w) return NULL;
    for (int t = 0; t < taps; t++)
        for (int ci = 0; ci < op->cin; ci++)
            for (int co = 0; co < op->cout; co++) {
                float v = op->kernel[((size_t)t * op->cin + ci) * op->cout + co];
                if (swap_channels) w[((size_t)ci * taps + t) * op->cout + co] = v;
                else w[((size_t)co * taps + t) * op->cin + ci] = v;
            }
    return w;
}

static enum xnn_status make_conv(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const sal_xnn_conv2d_op *op = self;
    float *w = conv_kernel_ohwi(op, 0);
    if (!w) return xnn_status_out_of_memory;
    enum xnn_status s = xnn_create_convolution2d_nhwc_f32(
        g->top, g->right, g->bottom, g->left, op->kh, op->kw, g->stride_h, g->stride_w, g->dilation_h,
        g->dilation_w, 1, op->cin, op->cout, op->cin, op->cout, w, op->bias, -INFINITY, INFINITY, FLAGS, out);
    free(w);
    return s;
}

static enum xnn_status make_conv_dx(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const sal_xnn_conv2d_op *op = self;
    float *w = conv_kernel_ohwi(op, 1);
    if (!w) return xnn_status_out_of_memory;
    enum xnn_status s = xnn_create_deconvolution2d_nhwc_f32(
        g->top, g->right, g->bottom, g->left, op->kh, op->kw, g->stride_h, g->stride_w, g->dilation_h,
        g->dilation_w, 1, op->cout, op->cin, op->cout, op->cin, w, NULL, -INFINITY, INFINITY, FLAGS, out);
    free(w);
    return s;
}

int sal_xnn_conv2d_prepare(sal_xnn_conv2d_op *op, const sal_window *win, sal_dims xd, sal_dims yd, int backward,
                           sal_error *err) {
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    int status = cache_ensure(&op->forward, &g, make_conv, op, "Conv2D", err);
    if (status == SAL_OK && backward) status = cache_ensure(&op->backward, &g, make_conv_dx, op, "Conv2D input gradient", err);
    return status;
}

int sal_xnn_conv2d_forward(const sal_xnn_conv2d_op *op, sal_xnn_pool pool, const sal_window *win,
                           const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)op->kh * op->kw * op->cin));
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->forward, &g);
    if (!xop) return not_prepared(err, "Conv2D");
    enum xnn_status s = xnn_setup_convolution2d_nhwc_f32(xop, (size_t)xd.n, (size_t)xd.h, (size_t)xd.w, x, y, pool);
    return run_op(xop, s, pool, "Conv2D", err);
}

/* The deconvolution's output is stride*(in-1) + adjustment + dilated kernel - padding:
 * the adjustment makes it the forward input's size again. */
static int deconv_adjustment(int x, int y, int k, int stride, int dilation, int pad_before, int pad_after_) {
    return x - ((y - 1) * stride + dilation * (k - 1) + 1 - pad_before - pad_after_);
}

/* dy [n,oh,ow,out] -> dx [n,h,w,in] through a deconvolution operator. */
static int run_deconv(struct xnn_operator *xop, const sal_xnn_geometry *g, int kh, int kw, sal_xnn_pool pool,
                      const float *dy, sal_dims yd, float *dx, sal_dims xd, const char *what, sal_error *err) {
    int adj_h = deconv_adjustment(xd.h, yd.h, kh, g->stride_h, g->dilation_h, g->top, g->bottom);
    int adj_w = deconv_adjustment(xd.w, yd.w, kw, g->stride_w, g->dilation_w, g->left, g->right);
    if (adj_h < 0 || adj_w < 0 || adj_h >= g->stride_h || adj_w >= g->stride_w)
        return sal_fail(err, SAL_ERR_SHAPE, "XNNPACK %s: output %dx%d does not fit input %dx%d", what, yd.h, yd.w,
                        xd.h, xd.w);
    enum xnn_status s = xnn_setup_deconvolution2d_nhwc_f32(xop, (size_t)yd.n, (size_t)yd.h, (size_t)yd.w,
                                                           (uint32_t)adj_h, (uint32_t)adj_w, dy, dx, pool);
    return run_op(xop, s, pool, what, err);
}

int sal_xnn_conv2d_backward_input(const sal_xnn_conv2d_op *op, sal_xnn_pool pool, const sal_window *win,
                                  const float *dy, sal_dims yd, float *dx, sal_dims xd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)op->kh * op->kw * op->cin));
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->backward, &g);
    if (!xop) return not_prepared(err, "Conv2D input gradient");
    return run_deconv(xop, &g, op->kh, op->kw, pool, dy, yd, dx, xd, "Conv2D input gradient", err);
}

/* --------------------------------------------------- DepthwiseConv2D */

void sal_xnn_depthwise_create(sal_xnn_depthwise_op *op, const float *kernel, const float *bias,
                              int kh, int kw, int cin, int mult) {
    memset(op, 0, sizeof *op);
    op->kernel = kernel, op->bias = bias;
    op->kh = kh, op->kw = kw, op->cin = cin, op->mult = mult;
}

void sal_xnn_depthwise_destroy(sal_xnn_depthwise_op *op) {
    cache_clear(&op->forward);
    cache_clear(&op->backward);
    free(op->spread);
    op->spread = NULL;
    op->spread_floats = 0;
}

static enum xnn_status make_depthwise(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const sal_xnn_depthwise_op *op = self;
    /* XNNPACK's depthwise layout [1,kh,kw,cin*mult] is the Keras one. */
    return xnn_create_convolution2d_nhwc_f32(g->top, g->right, g->bottom, g->left, op->kh, op->kw, g->stride_h,
                                             g->stride_w, g->dilation_h, g->dilation_w, op->cin, 1, op->mult,
                                             op->cin, (size_t)op->cin * op->mult, op->kernel, op->bias, -INFINITY,
                                             INFINITY, FLAGS | XNN_FLAG_DEPTHWISE_CONVOLUTION, out);
}

/* Multiplier 1: the kernel flipped in space, as a stride-1 depthwise convolution. */
static enum xnn_status make_depthwise_dx_flipped(const sal_xnn_depthwise_op *op, const sal_xnn_geometry *g,
                                                 struct xnn_operator **out) {
    int taps = op->kh * op->kw, c = op->cin;
    float *w = malloc((size_t)taps * c * sizeof *w);
    if (!w) return xnn_status_out_of_memory;
    for (int t = 0; t < taps; t++) memcpy(w + (size_t)(taps - 1 - t) * c, op->kernel + (size_t)t * c, (size_t)c * sizeof *w);
    enum xnn_status s = xnn_create_convolution2d_nhwc_f32(
        g->top, g->right, g->bottom, g->left, op->kh, op->kw, 1, 1, g->dilation_h, g->dilation_w, c, 1, 1, c, c, w,
        NULL, -INFINITY, INFINITY, FLAGS | XNN_FLAG_DEPTHWISE_CONVOLUTION, out);
    free(w);
    return s;
}

/* Other multipliers: one deconvolution group per input channel, [cin,kh,kw,mult]. */
static enum xnn_status make_depthwise_dx_grouped(const sal_xnn_depthwise_op *op, const sal_xnn_geometry *g,
                                                 struct xnn_operator **out) {
    int taps = op->kh * op->kw, c = op->cin, m = op->mult;
    float *w = malloc((size_t)taps * c * m * sizeof *w);
    if (!w) return xnn_status_out_of_memory;
    for (int t = 0; t < taps; t++)
        for (int ci = 0; ci < c; ci++)
            memcpy(w + ((size_t)ci * taps + t) * m, op->kernel + ((size_t)t * c + ci) * m, (size_t)m * sizeof *w);
    enum xnn_status s = xnn_create_deconvolution2d_nhwc_f32(
        g->top, g->right, g->bottom, g->left, op->kh, op->kw, g->stride_h, g->stride_w, g->dilation_h,
        g->dilation_w, c, m, 1, (size_t)c * m, c, w, NULL, -INFINITY, INFINITY, FLAGS, out);
    free(w);
    return s;
}

static enum xnn_status make_depthwise_dx(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const sal_xnn_depthwise_op *op = self;
    return op->mult == 1 ? make_depthwise_dx_flipped(op, g, out) : make_depthwise_dx_grouped(op, g, out);
}

/* Rows of dy once spread out: (oh-1)*stride + 1. */
static int spread_size(int out, int stride) { return (out - 1) * stride + 1; }

/* The flipped convolution over the spread dy: its padding mirrors the forward one. */
static sal_xnn_geometry flipped_geometry(const sal_xnn_depthwise_op *op, const sal_window *win, sal_dims xd,
                                         sal_dims yd) {
    sal_xnn_geometry f = window_geometry(win, xd, yd), g;
    memset(&g, 0, sizeof g);
    g.stride_h = g.stride_w = 1;
    g.dilation_h = f.dilation_h;
    g.dilation_w = f.dilation_w;
    g.top = f.dilation_h * (op->kh - 1) - f.top;
    g.left = f.dilation_w * (op->kw - 1) - f.left;
    g.bottom = xd.h - spread_size(yd.h, f.stride_h) + f.top;
    g.right = xd.w - spread_size(yd.w, f.stride_w) + f.left;
    return g;
}

static sal_xnn_geometry depthwise_dx_geometry(const sal_xnn_depthwise_op *op, const sal_window *win, sal_dims xd,
                                              sal_dims yd) {
    return op->mult == 1 ? flipped_geometry(op, win, xd, yd) : window_geometry(win, xd, yd);
}

static int needs_spread(const sal_xnn_depthwise_op *op, const sal_window *win) {
    return op->mult == 1 && (win->stride_h > 1 || win->stride_w > 1);
}

int sal_xnn_depthwise_prepare(sal_xnn_depthwise_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                              int backward, sal_error *err) {
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    int status = cache_ensure(&op->forward, &g, make_depthwise, op, "DepthwiseConv2D", err);
    if (status != SAL_OK || !backward) return status;
    sal_xnn_geometry b = depthwise_dx_geometry(op, win, xd, yd);
    status = cache_ensure(&op->backward, &b, make_depthwise_dx, op, "DepthwiseConv2D input gradient", err);
    if (status == SAL_OK && needs_spread(op, win)) {
        size_t need = (size_t)yd.n * spread_size(yd.h, g.stride_h) * spread_size(yd.w, g.stride_w) * yd.c;
        status = grow((void **)&op->spread, &op->spread_floats, need, sizeof(float), "DepthwiseConv2D", err);
    }
    return status;
}

int sal_xnn_depthwise_forward(const sal_xnn_depthwise_op *op, sal_xnn_pool pool, const sal_window *win,
                              const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)op->kh * op->kw));
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->forward, &g);
    if (!xop) return not_prepared(err, "DepthwiseConv2D");
    enum xnn_status s = xnn_setup_convolution2d_nhwc_f32(xop, (size_t)xd.n, (size_t)xd.h, (size_t)xd.w, x, y, pool);
    return run_op(xop, s, pool, "DepthwiseConv2D", err);
}

/* dy [n,oh,ow,c] -> out [n,(oh-1)*sh+1,(ow-1)*sw+1,c], zeros between. */
static void spread_out(const float *dy, sal_dims yd, int sh, int sw, float *out) {
    int h = spread_size(yd.h, sh), w = spread_size(yd.w, sw);
    size_t pixel = (size_t)yd.c * sizeof *out;
    memset(out, 0, (size_t)yd.n * h * w * pixel);
    for (int b = 0; b < yd.n; b++)
        for (int oy = 0; oy < yd.h; oy++)
            for (int ox = 0; ox < yd.w; ox++)
                memcpy(out + (((size_t)b * h + (size_t)oy * sh) * w + (size_t)ox * sw) * yd.c,
                       dy + (((size_t)b * yd.h + oy) * yd.w + ox) * yd.c, pixel);
}

int sal_xnn_depthwise_backward_input(const sal_xnn_depthwise_op *op, sal_xnn_pool pool, const sal_window *win,
                                     const float *dy, sal_dims yd, float *dx, sal_dims xd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)op->kh * op->kw * win->stride_h * win->stride_w));
    const char *what = "DepthwiseConv2D input gradient";
    sal_xnn_geometry b = depthwise_dx_geometry(op, win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->backward, &b);
    if (!xop) return not_prepared(err, what);
    if (op->mult != 1) return run_deconv(xop, &b, op->kh, op->kw, pool, dy, yd, dx, xd, what, err);
    int sh = at_least_one(win->stride_h), sw = at_least_one(win->stride_w);
    const float *src = dy;
    if (needs_spread(op, win)) {
        size_t need = (size_t)yd.n * spread_size(yd.h, sh) * spread_size(yd.w, sw) * yd.c;
        if (need > op->spread_floats) return not_prepared(err, what);
        spread_out(dy, yd, sh, sw, op->spread);
        src = op->spread;
    }
    enum xnn_status s = xnn_setup_convolution2d_nhwc_f32(xop, (size_t)yd.n, (size_t)spread_size(yd.h, sh),
                                                         (size_t)spread_size(yd.w, sw), src, dx, pool);
    return run_op(xop, s, pool, what, err);
}

/* ------------------------------------------------------------- Dense */

int sal_xnn_dense_create(sal_xnn_dense_op *op, const float *kernel, const float *bias, int in, int out,
                         sal_error *err) {
    memset(op, 0, sizeof *op);
    op->in = in, op->out = out;
    /* Forward reads the [in,out] kernel transposed; dx = dy * W^T reads it as
     * XNNPACK's [output_channels = in, input_channels = out]. */
    enum xnn_status s = xnn_create_fully_connected_nc_f32((size_t)in, (size_t)out, (size_t)in, (size_t)out, kernel,
                                                          bias, -INFINITY, INFINITY, FLAGS | XNN_FLAG_TRANSPOSE_WEIGHTS,
                                                          &op->forward);
    if (s == xnn_status_success)
        s = xnn_create_fully_connected_nc_f32((size_t)out, (size_t)in, (size_t)out, (size_t)in, kernel, NULL,
                                              -INFINITY, INFINITY, FLAGS, &op->backward);
    if (s == xnn_status_success) return SAL_OK;
    sal_xnn_dense_destroy(op);
    return xnn_fail(err, s, "Dense", "creation");
}

void sal_xnn_dense_destroy(sal_xnn_dense_op *op) {
    if (op->forward) xnn_delete_operator(op->forward);
    if (op->backward) xnn_delete_operator(op->backward);
    op->forward = op->backward = NULL;
}

int sal_xnn_dense_forward(const sal_xnn_dense_op *op, sal_xnn_pool pool, const float *x, int rows, float *y,
                          sal_error *err) {
    pool = pool_for(pool, (double)rows * op->in * op->out);
    enum xnn_status s = xnn_setup_fully_connected_nc_f32(op->forward, (size_t)rows, x, y, pool);
    return run_op(op->forward, s, pool, "Dense", err);
}

int sal_xnn_dense_backward_input(const sal_xnn_dense_op *op, sal_xnn_pool pool, const float *dy, int rows,
                                 float *dx, sal_error *err) {
    pool = pool_for(pool, (double)rows * op->in * op->out);
    enum xnn_status s = xnn_setup_fully_connected_nc_f32(op->backward, (size_t)rows, dy, dx, pool);
    return run_op(op->backward, s, pool, "Dense input gradient", err);
}

/* ------------------------------------------------------------- Pools */

void sal_xnn_max_pool_create(sal_xnn_max_pool_op *op) { memset(op, 0, sizeof *op); }

void sal_xnn_max_pool_destroy(sal_xnn_max_pool_op *op) {
    cache_clear(&op->forward);
    cache_clear(&op->argmax);
    cache_clear(&op->unpool);
    free(op->pooled);
    free(op->index);
    op->pooled = NULL;
    op->index = NULL;
    op->scratch_count = 0;
}

int sal_xnn_max_pool_backward_supported(const sal_window *win, sal_dims xd, sal_dims yd) {
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    return g.stride_h == win->kh && g.stride_w == win->kw && g.dilation_h == 1 && g.dilation_w == 1 &&
           win->kh * win->kw > 1 && yd.h * win->kh == xd.h + g.top + g.bottom &&
           yd.w * win->kw == xd.w + g.left + g.right;
}

static enum xnn_status make_max_pool(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const int *window = self; /* kh, kw, channels */
    return xnn_create_max_pooling2d_nhwc_f32(g->top, g->right, g->bottom, g->left, window[0], window[1], g->stride_h,
                                             g->stride_w, g->dilation_h, g->dilation_w, window[2], window[2],
                                             window[2], -INFINITY, INFINITY, FLAGS, out);
}

static enum xnn_status make_argmax(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const int *window = self;
    return xnn_create_argmax_pooling2d_nhwc_f32(g->top, g->right, g->bottom, g->left, window[0], window[1],
                                                window[2], window[2], window[2], FLAGS, out);
}

static enum xnn_status make_unpool(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const int *window = self;
    return xnn_create_unpooling2d_nhwc_x32(g->top, g->right, g->bottom, g->left, window[0], window[1], window[2],
                                           window[2], window[2], FLAGS, out);
}

int sal_xnn_max_pool_prepare(sal_xnn_max_pool_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                             int backward, sal_error *err) {
    if (op->channels != xd.c) {
        sal_xnn_max_pool_destroy(op);
        op->channels = xd.c;
    }
    int window[3] = {win->kh, win->kw, op->channels};
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    int status = cache_ensure(&op->forward, &g, make_max_pool, window, "MaxPooling2D", err);
    if (status != SAL_OK || !backward || !sal_xnn_max_pool_backward_supported(win, xd, yd)) return status;
    status = cache_ensure(&op->argmax, &g, make_argmax, window, "MaxPooling2D argmax", err);
    if (status == SAL_OK) status = cache_ensure(&op->unpool, &g, make_unpool, window, "MaxPooling2D unpooling", err);
    size_t need = (size_t)yd.n * yd.h * yd.w * yd.c, have = op->scratch_count;
    if (status == SAL_OK) status = grow((void **)&op->pooled, &have, need, sizeof(float), "MaxPooling2D", err);
    have = op->scratch_count;
    if (status == SAL_OK) status = grow((void **)&op->index, &have, need, sizeof(uint32_t), "MaxPooling2D", err);
    if (status == SAL_OK && need > op->scratch_count) op->scratch_count = need;
    return status;
}

int sal_xnn_max_pool_forward(const sal_xnn_max_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                             const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)win->kh * win->kw));
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->forward, &g);
    if (!xop) return not_prepared(err, "MaxPooling2D");
    enum xnn_status s = xnn_setup_max_pooling2d_nhwc_f32(xop, (size_t)xd.n, (size_t)xd.h, (size_t)xd.w, x, y, pool);
    return run_op(xop, s, pool, "MaxPooling2D", err);
}

int sal_xnn_max_pool_backward(const sal_xnn_max_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                              const float *x, sal_dims xd, const float *dy, sal_dims yd, float *dx,
                              sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)win->kh * win->kw));
    const char *what = "MaxPooling2D input gradient";
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *argmax = cache_find(&op->argmax, &g), *unpool = cache_find(&op->unpool, &g);
    if (!argmax || !unpool || (size_t)yd.n * yd.h * yd.w * yd.c > op->scratch_count) return not_prepared(err, what);
    enum xnn_status s = xnn_setup_argmax_pooling2d_nhwc_f32(argmax, (size_t)xd.n, (size_t)xd.h, (size_t)xd.w, x,
                                                            op->pooled, op->index, pool);
    int status = run_op(argmax, s, pool, what, err);
    if (status != SAL_OK) return status;
    s = xnn_setup_unpooling2d_nhwc_x32(unpool, (size_t)yd.n, (size_t)yd.h, (size_t)yd.w, dy, op->index, dx, pool);
    return run_op(unpool, s, pool, what, err);
}

void sal_xnn_avg_pool_create(sal_xnn_avg_pool_op *op) { memset(op, 0, sizeof *op); }

void sal_xnn_avg_pool_destroy(sal_xnn_avg_pool_op *op) { cache_clear(&op->forward); }

static enum xnn_status make_avg_pool(const void *self, const sal_xnn_geometry *g, struct xnn_operator **out) {
    const int *window = self;
    return xnn_create_average_pooling2d_nhwc_f32(g->top, g->right, g->bottom, g->left, window[0], window[1],
                                                 g->stride_h, g->stride_w, window[2], window[2], window[2],
                                                 -INFINITY, INFINITY, FLAGS, out);
}

int sal_xnn_avg_pool_prepare(sal_xnn_avg_pool_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                             sal_error *err) {
    if (op->channels != xd.c) {
        sal_xnn_avg_pool_destroy(op);
        op->channels = xd.c;
    }
    int window[3] = {win->kh, win->kw, op->channels};
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    return cache_ensure(&op->forward, &g, make_avg_pool, window, "AveragePooling2D", err);
}

int sal_xnn_avg_pool_forward(const sal_xnn_avg_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                             const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err) {
    pool = pool_for(pool, dims_work(yd, (double)win->kh * win->kw));
    sal_xnn_geometry g = window_geometry(win, xd, yd);
    struct xnn_operator *xop = cache_find(&op->forward, &g);
    if (!xop) return not_prepared(err, "AveragePooling2D");
    enum xnn_status s =
        xnn_setup_average_pooling2d_nhwc_f32(xop, (size_t)xd.n, (size_t)xd.h, (size_t)xd.w, x, y, pool);
    return run_op(xop, s, pool, "AveragePooling2D", err);
}

void sal_xnn_global_avg_pool_create(sal_xnn_global_avg_pool_op *op) { memset(op, 0, sizeof *op); }

int sal_xnn_global_avg_pool_prepare(sal_xnn_global_avg_pool_op *op, int channels, sal_error *err) {
    if (op->forward && op->channels == channels) return SAL_OK;
    sal_xnn_global_avg_pool_destroy(op);
    op->channels = channels;
    enum xnn_status s = xnn_create_global_average_pooling_nwc_f32((size_t)channels, (size_t)channels,
                                                                  (size_t)channels, -INFINITY, INFINITY, FLAGS,
                                                                  &op->forward);
    return s == xnn_status_success ? SAL_OK : xnn_fail(err, s, "GlobalAveragePooling2D", "creation");
}

void sal_xnn_global_avg_pool_destroy(sal_xnn_global_avg_pool_op *op) {
    if (op->forward) xnn_delete_operator(op->forward);
    op->forward = NULL;
}


int sal_xnn_global_avg_pool_forward(const sal_xnn_global_avg_pool_op *op, sal_xnn_pool pool, const float *x,
                                    sal_dims xd, float *y, sal_error *err) {
    pool = pool_for(pool, dims_work(xd, 1));
    enum xnn_status s =
        xnn_setup_global_average_pooling_nwc_f32(op->forward, (size_t)xd.n, (size_t)xd.h * xd.w, x, y, pool);
    return run_op(op->forward, s, pool, "GlobalAveragePooling2D", err);
}
