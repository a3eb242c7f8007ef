/* pool.c - max, average and global pooling over NHWC tensors, forward and
 * input gradient.
 *
 * Forward passes run one task per output row.  Backward passes scatter into
 * overlapping windows, so they run one task per (image, block of channels):
 * two tasks never write the same dx value.
 */
#include <string.h>

#include "kernels.h"
#include "simd.h"
#include "window.h"

enum { CHANNEL_BLOCK = 16 };

typedef struct {
    const sal_window *win;
    const float *x;
    const float *dy;
    float *y;
    float *dx;
    sal_dims xd, yd;
} pool_job;

static sal_tap_range taps_y(const pool_job *job, int oy) {
    const sal_window *w = job->win;
    return sal_window_taps(oy, w->stride_h, w->pad_top, w->dilation_h, w->kh, job->xd.h);
}

static sal_tap_range taps_x(const pool_job *job, int ox) {
    const sal_window *w = job->win;
    return sal_window_taps(ox, w->stride_w, w->pad_left, w->dilation_w, w->kw, job->xd.w);
}

/* Offset of input cell (n, oy-window tap ky, ox-window tap kx), channel 0. */
static size_t input_offset(const pool_job *job, int n, int oy, int ky, int ox, int kx) {
    const sal_window *w = job->win;
    int iy = oy * w->stride_h - w->pad_top + ky * w->dilation_h;
    int ix = ox * w->stride_w - w->pad_left + kx * w->dilation_w;
    return (((size_t)n * job->xd.h + iy) * job->xd.w + ix) * job->xd.c;
}

static size_t output_offset(const pool_job *job, int n, int oy, int ox) {
    return (((size_t)n * job->yd.h + oy) * job->yd.w + ox) * job->yd.c;
}

static int channel_blocks(int c) { return (c + CHANNEL_BLOCK - 1) / CHANNEL_BLOCK; }

/* Zeroes channels [c0, c1) of every pixel of image n in dx. */
static void zero_image_block(float *dx, sal_dims xd, int n, int c0, int c1) {
    size_t pixels = (size_t)xd.h * xd.w;
    float *img = dx + (size_t)n * pixels * xd.c;
    for (size_t p = 0; p < pixels; p++) memset(img + p * xd.c + c0, 0, sizeof(float) * (size_t)(c1 - c0));
}

/* ------------------------------------------------------------ max pool */

static void max_pool_row(void *ctx, int index) {
    const pool_job *job = ctx;
    int c = job->xd.c;
    int n = index / job->yd.h, oy = index % job->yd.h;
    sal_tap_range ry = taps_y(job, oy);
    for (int ox = 0; ox < job->yd.w; ox++) {
        sal_tap_range rx = taps_x(job, ox);
        float *out = job->y + output_offset(job, n, oy, ox);
        if (ry.first == ry.end || rx.first == rx.end) {
            memset(out, 0, sizeof(float) * (size_t)c);
            continue;
        }
        memcpy(out, job->x + input_offset(job, n, oy, ry.first, ox, rx.first), sizeof(float) * (size_t)c);
        for (int ky = ry.first; ky < ry.end; ky++)
            for (int kx = rx.first; kx < rx.end; kx++) {
                const float *in = job->x + input_offset(job, n, oy, ky, ox, kx);
                for (int ch = 0; ch < c; ch++) out[ch] = in[ch] > out[ch] ? in[ch] : out[ch];
            }
    }
}

void sal_max_pool_forward(sal_threadpool *pool, const sal_window *win,
                          const float *x, sal_dims xd, float *y, sal_dims yd) {
    pool_job job = {.win = win, .x = x, .y = y, .xd = xd, .yd = yd};
    sal_parallel_for(pool, yd.n * yd.h, max_pool_row, &job);
}

/* Max pool backward: each window's dy goes to the first maximum of each
 * channel (row-major scan, strict >, so ties keep the earlier cell).  The
 * windows of output rows less than a window's height apart overlap, so the
 * output rows run in `phases` rounds, a round taking every phases-th row:
 * their windows are disjoint, and a task (one output row) adds into input
 * rows no other task of the round touches.  Channels go a vector at a time. */
typedef struct {
    const pool_job *pool;
    int phase, phases, rows; /* rows: output rows of this phase per image */
} route_job;

/* Output pixel (n, oy, ox), channels [c0, c0 + lanes). */
static void route_channels(const pool_job *job, int n, int oy, int ox, int c0, int lanes) {
    sal_tap_range ry = taps_y(job, oy), rx = taps_x(job, ox);
    if (ry.first == ry.end || rx.first == rx.end) return;
    sal_vf best = sal_vf_load_lanes(job->x + input_offset(job, n, oy, ry.first, ox, rx.first) + c0, lanes);
    sal_vmask arg = {0};
    int t = 0;
    for (int ky = ry.first; ky < ry.end; ky++)
        for (int kx = rx.first; kx < rx.end; kx++, t++) {
            sal_vf v = sal_vf_load_lanes(job->x + input_offset(job, n, oy, ky, ox, kx) + c0, lanes);
            sal_vmask above = v > best;
            best = (sal_vf)((above & (sal_vmask)v) | (~above & (sal_vmask)best));
            arg = (above & ((sal_vmask){0} + t)) | (~above & arg);
        }
    sal_vf g = sal_vf_load_lanes(job->dy + output_offset(job, n, oy, ox) + c0, lanes);
    t = 0;
    for (int ky = ry.first; ky < ry.end; ky++)
        for (int kx = rx.first; kx < rx.end; kx++, t++) {
            float *d = job->dx + input_offset(job, n, oy, ky, ox, kx) + c0;
            sal_vf routed = sal_vf_keep_where(arg == ((sal_vmask){0} + t), g);
            sal_vf_store_lanes(d, sal_vf_load_lanes(d, lanes) + routed, lanes);
        }
}

static void route_row(void *ctx, int index) {
    const route_job *r = ctx;
    const pool_job *job = r->pool;
    int n = index / r->rows, oy = r->phase + (index % r->rows) * r->phases;
    for (int ox = 0; ox < job->yd.w; ox++)
        for (int c0 = 0; c0 < job->xd.c; c0 += SAL_VF_WIDTH)
            route_channels(job, n, oy, ox, c0, job->xd.c - c0 < SAL_VF_WIDTH ? job->xd.c - c0 : SAL_VF_WIDTH);
}

static void zero_row(void *ctx, int index) {
    const pool_job *job = ctx;
    size_t row = (size_t)job->xd.w * job->xd.c;
    sal_zero_floats(job->dx + (size_t)index * row, row);
}

void sal_max_pool_backward(sal_threadpool *pool, const sal_window *win, const float *x, sal_dims xd,
                           const float *dy, sal_dims yd, float *dx) {
    pool_job job = {.win = win, .x = x, .dy = dy, .dx = dx, .xd = xd, .yd = yd};
    sal_parallel_for(pool, xd.n * xd.h, zero_row, &job);
    int extent = (win->kh - 1) * win->dilation_h + 1;
    int phases = (extent + win->stride_h - 1) / win->stride_h;
    for (int phase = 0; phase < phases && phase < yd.h; phase++) {
        route_job r = {&job, phase, phases, (yd.h - phase + phases - 1) / phases};
        sal_parallel_for(pool, yd.n * r.rows, route_row, &r);
    }
}

/* ------------------------------------------------------------ avg pool */

static void avg_pool_row(void *ctx, int index) {
    const pool_job *job = ctx;
    int c = job->xd.c;
    int n = index / job->yd.h, oy = index % job->yd.h;
    sal_tap_range ry = taps_y(job, oy);
    for (int ox = 0; ox < job->yd.w; ox++) {
        sal_tap_range rx = taps_x(job, ox);
        float *out = job->y + output_offset(job, n, oy, ox);
        memset(out, 0, sizeof(float) * (size_t)c);
        int count = (ry.end - ry.first) * (rx.end - rx.first);
        if (count == 0) continue;
        for (int ky = ry.first; ky < ry.end; ky++)
            for (int kx = rx.first; kx < rx.end; kx++) {
                const float *in = job->x + input_offset(job, n, oy, ky, ox, kx);
                for (int ch = 0; ch < c; ch++) out[ch] += in[ch];
            }
        float inv = 1.0f / (float)count;
        for (int ch = 0; ch < c; ch++) out[ch] *= inv;
    }
}

void sal_avg_pool_forward(sal_threadpool *pool, const sal_window *win,
                          const float *x, sal_dims xd, float *y, sal_dims yd) {
    pool_job job = {.win = win, .x = x, .y = y, .xd = xd, .yd = yd};
    sal_parallel_for(pool, yd.n * yd.h, avg_pool_row, &job);
}

static void avg_pool_spread(const pool_job *job, int n, int oy, int ox, int c0, int c1) {
    sal_tap_range ry = taps_y(job, oy), rx = taps_x(job, ox);
    int count = (ry.end - ry.first) * (rx.end - rx.first);
    if (count == 0) return;
    float share[CHANNEL_BLOCK];
    const float *g = job->dy + output_offset(job, n, oy, ox);
    for (int ch = c0; ch < c1; ch++) share[ch - c0] = g[ch] / (float)count;
    for (int ky = ry.first; ky < ry.end; ky++)
        for (int kx = rx.first; kx < rx.end; kx++) {
            float *d = job->dx + input_offset(job, n, oy, ky, ox, kx);
            for (int ch = c0; ch < c1; ch++) d[ch] += share[ch - c0];
        }
}

static void avg_pool_backward_block(void *ctx, int index) {
    const pool_job *job = ctx;
    int blocks = channel_blocks(job->xd.c);
    int n = index / blocks, c0 = (index % blocks) * CHANNEL_BLOCK;
    int c1 = c0 + CHANNEL_BLOCK < job->xd.c ? c0 + CHANNEL_BLOCK : job->xd.c;
    zero_image_block(job->dx, job->xd, n, c0, c1);
    for (int oy = 0; oy < job->yd.h; oy++)
        for (int ox = 0; ox < job->yd.w; ox++) avg_pool_spread(job, n, oy, ox, c0, c1);
}

void sal_avg_pool_backward(sal_threadpool *pool, const sal_window *win,
                           const float *dy, sal_dims yd, float *dx, sal_dims xd) {
    pool_job job = {.win = win, .dy = dy, .dx = dx, .xd = xd, .yd = yd};
    sal_parallel_for(pool, xd.n * channel_blocks(xd.c), avg_pool_backward_block, &job);
}

/* --------------------------------------------------------- global pools */

void sal_global_avg_pool_forward(const float *x, sal_dims xd, float *y) {
    size_t pixels = (size_t)xd.h * xd.w, c = (size_t)xd.c;
    float inv = pixels ? 1.0f / (float)pixels : 0.0f;
    for (int n = 0; n < xd.n; n++) {
        const float *img = x + (size_t)n * pixels * c;
        float *out = y + (size_t)n * c;
        memset(out, 0, sizeof(float) * c);
        for (size_t p = 0; p < pixels; p++)
            for (size_t ch = 0; ch < c; ch++) out[ch] += img[p * c + ch];
        for (size_t ch = 0; ch < c; ch++) out[ch] *= inv;
    }
}

void sal_global_avg_pool_backward(const float *dy, sal_dims xd, float *dx) {
    size_t pixels = (size_t)xd.h * xd.w, c = (size_t)xd.c;
    float inv = pixels ? 1.0f / (float)pixels : 0.0f;
    for (int n = 0; n < xd.n; n++) {
        const float *g = dy + (size_t)n * c;
        float *img = dx + (size_t)n * pixels * c;
        for (size_t p = 0; p < pixels; p++)
            for (size_t ch = 0; ch < c; ch++) img[p * c + ch] = g[ch] * inv;
    }
}

void sal_global_max_pool_forward(const float *x, sal_dims xd, float *y) {
    size_t pixels = (size_t)xd.h * xd.w, c = (size_t)xd.c;
    for (int n = 0; n < xd.n; n++) {
        const float *img = x + (size_t)n * pixels * c;
        float *out = y + (size_t)n * c;
        if (pixels == 0) {
            memset(out, 0, sizeof(float) * c);
            continue;
        }
        memcpy(out, img, sizeof(float) * c);
        for (size_t p = 1; p < pixels; p++)
            for (size_t ch = 0; ch < c; ch++) out[ch] = img[p * c + ch] > out[ch] ? img[p * c + ch] : out[ch];
    }
}

/* Routes dy[c0..c1) of one image to each channel's first maximum over space. */
static void global_max_route(const float *img, size_t pixels, size_t c, size_t c0, size_t c1,
                             const float *g, float *dimg) {
    float best[CHANNEL_BLOCK];
    size_t where[CHANNEL_BLOCK] = {0};
    for (size_t ch = c0; ch < c1; ch++) best[ch - c0] = img[ch];
    for (size_t p = 1; p < pixels; p++)
        for (size_t ch = c0; ch < c1; ch++)
            if (img[p * c + ch] > best[ch - c0]) {
                best[ch - c0] = img[p * c + ch];
                where[ch - c0] = p;
            }
    for (size_t ch = c0; ch < c1; ch++) dimg[where[ch - c0] * c + ch] = g[ch];
}

void sal_global_max_pool_backward(const float *x, sal_dims xd, const float *dy, float *dx) {
    size_t pixels = (size_t)xd.h * xd.w, c = (size_t)xd.c;
    memset(dx, 0, sizeof(float) * pixels * c * (size_t)xd.n);
    if (pixels == 0) return;
    for (int n = 0; n < xd.n; n++) {
        size_t image = (size_t)n * pixels * c;
        for (size_t c0 = 0; c0 < c; c0 += CHANNEL_BLOCK) {
            size_t c1 = c0 + CHANNEL_BLOCK < c ? c0 + CHANNEL_BLOCK : c;
            global_max_route(x + image, pixels, c, c0, c1, dy + (size_t)n * c, dx + image);
        }
    }
}
