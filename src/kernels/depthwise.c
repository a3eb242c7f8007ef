/* depthwise.c - depthwise convolution by direct loops over NHWC, vectorised
 * over channels.  Output channel c*mult+m reads input channel c.  The Keras
 * kernel [kh,kw,cin,mult] is already [tap][output channel], the layout both
 * directions want, so it is used as it is.
 *
 * With multiplier 1 (MobileNets), every output row is cut into runs of
 * pixels that see the same taps: the interior, where the whole window lies
 * inside the input, is one run; each border pixel is its own.  A run goes
 * channel block by channel block (one vector), holding the block's tap
 * weights in registers while it walks the pixels: one load per
 * multiply-add, no per-pixel bounds checks.  Channels that do not fill the
 * last vector are done by a vector that overlaps the one before it (the
 * same arithmetic per lane, so the results do not change).
 *
 * The input gradient is the gather form of the transpose: input pixel ix
 * sums dy over the windows that cover it.  With stride s the taps that
 * reach ix depend only on ix mod s, so a row of dx is cut into s interleaved
 * runs.  Threads own whole rows of the output (forward) or of dx (backward).
 * The gate of a ReLU before the convolution (standard rule) is applied as a
 * run stores dx; other rules, and the per-pixel path, gate each finished row.
 */
#include "kernels.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "relu_lanes.h"
#include "simd.h"
#include "window.h"

#define MAX_RUN_TAPS 64 /* larger windows (or multiplier > 1) take the per-pixel path */

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

/* ------------------------------------------------------------ runs */

/* Pixel j of a run reads src + j * src_step + offset[t] for each tap t,
 * multiplies by weights + tap[t] * channels, adds over t (in order, after
 * init = bias or zero) and writes dst + j * dst_step, gated by
 * gate_y + j * dst_step when gate_y is set. */
typedef struct {
    int n_taps;
    ptrdiff_t offset[MAX_RUN_TAPS];
    int tap[MAX_RUN_TAPS];
} tap_list;

typedef struct {
    const float *src;
    ptrdiff_t src_step;
    float *dst;
    ptrdiff_t dst_step;
    int pixels;
    const float *gate_y;   /* backward: the ReLU's output, laid out like dst, or NULL */
    sal_kernel_activation gate_act; /* that ReLU: SAL_K_RELU or SAL_K_RELU6 */
} pixel_run;

static void zero_pixels(const pixel_run *run, int channels) {
    for (int j = 0; j < run->pixels; j++) memset(run->dst + j * run->dst_step, 0, (size_t)channels * sizeof(float));
}

/* The value stored at dst: gated when G (a constant) is set. */
SAL_INLINE sal_vf finish(const int G, const sal_relu_gate *gate, const float *gate_y, sal_vf acc) {
    return G ? sal_relu_gate_apply(gate, sal_vf_load(gate_y), acc) : acc;
}

/* One channel block at channel c of every pixel of the run; N > 0 is a
 * compile-time tap count (weights stay in registers), 0 means tl->n_taps;
 * G (a constant) says whether the run is gated. */
SAL_INLINE void run_block(const pixel_run *run, const tap_list *tl, const float *weights, const float *init,
                          int channels, int c, int N, const int G) {
    int n = N ? N : tl->n_taps;
    sal_vf w[MAX_RUN_TAPS];
    for (int t = 0; t < n; t++) w[t] = sal_vf_load(weights + (size_t)tl->tap[t] * channels + c);
    sal_vf start = init ? sal_vf_load(init + c) : sal_vf_zero();
    const float *src = run->src + c;
    float *dst = run->dst + c;
    const float *gy = G ? run->gate_y + c : dst; /* read only when gated */
    const sal_relu_gate gate = sal_relu_gate_of(run->gate_act, SAL_K_RULE_STANDARD); /* its masks fold away */
    ptrdiff_t ss = run->src_step, ds = run->dst_step;
    int j = 0;
    /* Four, then two pixels at a time: independent chains of additions. */
    for (; j + 4 <= run->pixels; j += 4, src += 4 * ss, dst += 4 * ds, gy += 4 * ds) {
        sal_vf acc0 = start, acc1 = start, acc2 = start, acc3 = start;
        for (int t = 0; t < n; t++) {
            acc0 += sal_vf_load(src + tl->offset[t]) * w[t];
            acc1 += sal_vf_load(src + ss + tl->offset[t]) * w[t];
            acc2 += sal_vf_load(src + 2 * ss + tl->offset[t]) * w[t];
            acc3 += sal_vf_load(src + 3 * ss + tl->offset[t]) * w[t];
        }
        sal_vf_store(dst, finish(G, &gate, gy, acc0));
        sal_vf_store(dst + ds, finish(G, &gate, gy + ds, acc1));
        sal_vf_store(dst + 2 * ds, finish(G, &gate, gy + 2 * ds, acc2));
        sal_vf_store(dst + 3 * ds, finish(G, &gate, gy + 3 * ds, acc3));
    }
    for (; j + 2 <= run->pixels; j += 2, src += 2 * ss, dst += 2 * ds, gy += 2 * ds) {
        sal_vf acc0 = start, acc1 = start;
        for (int t = 0; t < n; t++) {
            acc0 += sal_vf_load(src + tl->offset[t]) * w[t];
            acc1 += sal_vf_load(src + ss + tl->offset[t]) * w[t];
        }
        sal_vf_store(dst, finish(G, &gate, gy, acc0));
        sal_vf_store(dst + ds, finish(G, &gate, gy + ds, acc1));
    }
    if (j < run->pixels) {
        sal_vf acc = start;
        for (int t = 0; t < n; t++) acc += sal_vf_load(src + tl->offset[t]) * w[t];
        sal_vf_store(dst, finish(G, &gate, gy, acc));
    }
}

/* The same for one channel (fewer channels than a vector holds). */
static void run_channel(const pixel_run *run, const tap_list *tl, const float *weights, const float *init,
                        int channels, int c) {
    const float *src = run->src + c;
    float *dst = run->dst + c;
    for (int j = 0; j < run->pixels; j++, src += run->src_step, dst += run->dst_step) {
        float acc = init ? init[c] : 0.0f;
        for (int t = 0; t < tl->n_taps; t++) acc += src[tl->offset[t]] * weights[(size_t)tl->tap[t] * channels + c];
        *dst = acc;
    }
}

SAL_INLINE void run_blocks_gated(const pixel_run *run, const tap_list *tl, const float *weights, const float *init,
                                 int channels, int N, const int G) {
    int c = 0;
    for (; c + SAL_VF_WIDTH <= channels; c += SAL_VF_WIDTH) run_block(run, tl, weights, init, channels, c, N, G);
    if (c < channels) run_block(run, tl, weights, init, channels, channels - SAL_VF_WIDTH, N, G);
}

static void run_blocks(const pixel_run *run, const tap_list *tl, const float *weights, const float *init,
                       int channels, int N) {
    if (run->gate_y) run_blocks_gated(run, tl, weights, init, channels, N, 1);
    else run_blocks_gated(run, tl, weights, init, channels, N, 0);
}

/* All channels of all pixels of the run (a gated run has channels >= SAL_VF_WIDTH). */
static void run_taps(const pixel_run *run, const tap_list *tl, const float *weights, const float *init,
                     int channels) {
    if (run->pixels <= 0) return;
    if (channels < SAL_VF_WIDTH) {
        for (int c = 0; c < channels; c++) run_channel(run, tl, weights, init, channels, c);
        return;
    }
    switch (tl->n_taps) { /* the common window sizes, unrolled */
    case 9: run_blocks(run, tl, weights, init, channels, 9); break;
    case 6: run_blocks(run, tl, weights, init, channels, 6); break;
    case 4: run_blocks(run, tl, weights, init, channels, 4); break;
    case 3: run_blocks(run, tl, weights, init, channels, 3); break;
    case 2: run_blocks(run, tl, weights, init, channels, 2); break;
    case 1: run_blocks(run, tl, weights, init, channels, 1); break;
    default: run_blocks(run, tl, weights, init, channels, 0); break;
    }
}

/* One tap along an axis: kernel index k and where it reads (row or column
 * of the source, relative to the run's pixel 0). */
typedef struct {
    int n;
    int k[MAX_RUN_TAPS];
    int at[MAX_RUN_TAPS];
} axis_taps;

/* The cross product of row and column taps. */
static void combine_taps(const axis_taps *rows, const axis_taps *cols, int kw, int src_w, int channels,
                         tap_list *tl) {
    tl->n_taps = 0;
    for (int r = 0; r < rows->n; r++)
        for (int q = 0; q < cols->n; q++) {
            tl->offset[tl->n_taps] = ((ptrdiff_t)rows->at[r] * src_w + cols->at[q]) * channels;
            tl->tap[tl->n_taps] = rows->k[r] * kw + cols->k[q];
            tl->n_taps++;
        }
}

typedef struct {
    const sal_depthwise_op *op;
    const sal_window *win;
    const float *src;      /* x (forward) or dy (backward) */
    sal_dims xd, yd;
    float *dst;            /* y (forward) or dx (backward) */
    sal_kernel_activation fused; /* forward */
    const sal_kernel_gate *gate; /* backward, or NULL */
} depthwise_job;

/* ------------------------------------------------------------ forward */

/* Taps of the window at output position o along one axis that land inside
 * [0, in), reading at input position relative to `origin`. */
static void forward_axis(int o, int stride, int pad, int dilation, int k, int in, int origin, axis_taps *a) {
    a->n = 0;
    for (int t = 0; t < k; t++) {
        int i = o * stride - pad + t * dilation;
        if (i < 0 || i >= in) continue;
        a->k[a->n] = t;
        a->at[a->n++] = i - origin;
    }
}

/* Output columns [*lo, *hi) whose windows lie wholly inside the input. */
static void forward_interior(int stride, int pad, int dilation, int k, int in, int out, int *lo, int *hi) {
    int first = (pad + stride - 1) / stride;                       /* o*stride - pad >= 0 */
    int room = in - 1 + pad - (k - 1) * dilation;                 /* o*stride <= room */
    int last = room >= 0 ? room / stride + 1 : 0;
    *lo = first < out ? first : out;
    *hi = last < out ? last : out;
    if (*hi < *lo) *hi = *lo;
}

static void forward_row_runs(const depthwise_job *job, const float *image, int oy, float *y_row) {
    const sal_depthwise_op *op = job->op;
    const sal_window *win = job->win;
    int c = op->cin, ow = job->yd.w;
    axis_taps rows, cols;
    tap_list tl;
    forward_axis(oy, win->stride_h, win->pad_top, win->dilation_h, op->kh, job->xd.h, 0, &rows);
    int lo, hi;
    forward_interior(win->stride_w, win->pad_left, win->dilation_w, op->kw, job->xd.w, ow, &lo, &hi);
    for (int ox = 0; ox < ow; ox = (ox == lo && hi > lo) ? hi : ox + 1) {
        int interior = ox == lo && hi > lo;
        int origin = ox * win->stride_w; /* pixel 0's column, before the padding shift */
        forward_axis(ox, win->stride_w, win->pad_left, win->dilation_w, op->kw, job->xd.w, origin, &cols);
        combine_taps(&rows, &cols, op->kw, job->xd.w, c, &tl);
        pixel_run run = {image + (ptrdiff_t)origin * c, (ptrdiff_t)win->stride_w * c, y_row + (size_t)ox * c,
                         c, interior ? hi - lo : 1, NULL, SAL_K_RELU};
        if (tl.n_taps > 0) run_taps(&run, &tl, op->w, op->bias, c);
        else if (!op->bias) zero_pixels(&run, c);
        else
            for (int j = 0; j < run.pixels; j++) memcpy(run.dst + (size_t)j * c, op->bias, (size_t)c * sizeof(float));
    }
}

/* acc[i] += a[i] * b[i] for i < n. */
static void multiply_add(float *acc, const float *a, const float *b, int n) {
    int i = 0;
    for (; i + SAL_VF_WIDTH <= n; i += SAL_VF_WIDTH)
        sal_vf_store(acc + i, sal_vf_load(acc + i) + sal_vf_load(a + i) * sal_vf_load(b + i));
    for (; i < n; i++) acc[i] += a[i] * b[i];
}

/* Multiplier > 1 or very large windows: pixel by pixel. */
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
            const float *w_tap = op->w + (size_t)(ky * op->kw + kx) * channels;
            if (op->mult == 1) multiply_add(y_pixel, x_pixel, w_tap, op->cin);
            else
                for (int c = 0; c < op->cin; c++)
                    sal_axpy(y_pixel + (size_t)c * op->mult, w_tap + (size_t)c * op->mult, x_pixel[c], op->mult);
        }
    }
}

static int uses_runs(const sal_depthwise_op *op) { return op->mult == 1 && op->kh * op->kw <= MAX_RUN_TAPS; }

/* Task: one output row (image, oy). */
static void forward_row(void *ctx, int index) {
    const depthwise_job *job = ctx;
    int img = index / job->yd.h, oy = index % job->yd.h;
    const float *image = job->src + (size_t)img * job->xd.h * job->xd.w * job->xd.c;
    float *y_row = job->dst + (size_t)index * job->yd.w * job->yd.c;
    if (uses_runs(job->op)) forward_row_runs(job, image, oy, y_row);
    else
        for (int ox = 0; ox < job->yd.w; ox++) forward_pixel(job, image, oy, ox, y_row + (size_t)ox * job->yd.c);
    /* While the row is in cache. */
    size_t row = (size_t)job->yd.w * job->yd.c;
    if (job->fused != SAL_K_LINEAR) sal_activation_forward(job->fused, y_row, y_row, row, (int)row);
}

void sal_depthwise_forward(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                           const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                           sal_kernel_activation fused) {
    depthwise_job job = {op, win, x, xd, yd, y, fused, NULL};
    sal_parallel_for(pool, yd.n * yd.h, forward_row, &job);
}

/* ------------------------------------------------------------ backward */

/* Taps along one axis whose window covers input position i: tap t reads dy
 * at o = (i + pad - t*dilation) / stride when that is a whole number in
 * [0, out); positions are relative to `origin`. */
static void backward_axis(int i, int stride, int pad, int dilation, int k, int out, int origin, axis_taps *a) {
    a->n = 0;
    for (int t = 0; t < k; t++) {
        int o = sal_covering_output(i, t, stride, pad, dilation, out);
        if (o < 0) continue;
        a->k[a->n] = t;
        a->at[a->n++] = o - origin;
    }
}

/* Do all the taps that reach input column i (those with i + pad - t*dilation
 * a multiple of the stride) land inside dy?  True for the columns of one
 * residue mod stride between two bounds, where the taps are the same. */
static int backward_column_complete(int i, const sal_window *win, int k, int out) {
    int s = win->stride_w;
    for (int t = 0; t < k; t++) {
        int v = i + win->pad_left - t * win->dilation_w;
        if ((v % s + s) % s != 0) continue;
        if (v < 0 || v / s >= out) return 0;
    }
    return 1;
}

/* dx row iy: for each residue r of ix mod stride, the complete columns of
 * that residue form one run (stepping by stride, while dy steps by one
 * pixel); the other columns go one by one.  gate_y: the gate's y at this
 * row, for runs that gate as they store, or NULL. */
static void backward_row_runs(const depthwise_job *job, const float *dy_image, int iy, float *dx_row,
                              const float *gate_y) {
    const sal_depthwise_op *op = job->op;
    const sal_window *win = job->win;
    int c = op->cin, s = win->stride_w, xw = job->xd.w;
    axis_taps rows, cols;
    tap_list tl;
    backward_axis(iy, win->stride_h, win->pad_top, win->dilation_h, op->kh, job->yd.h, 0, &rows);
    for (int r = 0; r < s && r < xw; r++) {
        int lo = r;
        while (lo < xw && !backward_column_complete(lo, win, op->kw, job->yd.w)) lo += s;
        int hi = lo;
        while (hi < xw && backward_column_complete(hi, win, op->kw, job->yd.w)) hi += s;
        for (int ix = r; ix < xw;) {
            int pixels = ix == lo && hi > lo ? (hi - lo) / s : 1;
            backward_axis(ix, s, win->pad_left, win->dilation_w, op->kw, job->yd.w, 0, &cols);
            combine_taps(&rows, &cols, op->kw, job->yd.w, c, &tl);
            pixel_run run = {dy_image, c, dx_row + (size_t)ix * c, (ptrdiff_t)s * c, pixels,
                             gate_y ? gate_y + (size_t)ix * c : NULL, job->gate ? job->gate->act : SAL_K_RELU};
            if (tl.n_taps == 0) zero_pixels(&run, c); /* a gate keeps zeros */
            else run_taps(&run, &tl, op->w, NULL, c);
            ix += pixels * s;
        }
    }
}

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
    size_t row = (size_t)job->xd.w * job->xd.c;
    float *dx_row = job->dst + (size_t)index * row;
    const sal_kernel_gate *gate = job->gate;
    const float *gate_y = gate ? gate->y + (size_t)index * row : NULL;
    int gated_by_runs = gate && gate->rule == SAL_K_RULE_STANDARD && job->op->cin >= SAL_VF_WIDTH;
    if (uses_runs(job->op)) {
        backward_row_runs(job, dy_image, iy, dx_row, gated_by_runs ? gate_y : NULL);
        if (gated_by_runs) return;
    } else {
        for (int ix = 0; ix < job->xd.w; ix++) backward_pixel(job, dy_image, iy, ix, dx_row + (size_t)ix * job->xd.c);
    }
    if (gate) /* while the row is in cache */
        sal_activation_backward(gate->act, gate->rule, NULL, gate_y, dx_row, dx_row, row, (int)row);
}

void sal_depthwise_backward_input(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                                  const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                                  const sal_kernel_gate *gate) {
    depthwise_job job = {op, win, dy, xd, yd, dx, SAL_K_LINEAR, gate};
    sal_parallel_for(pool, xd.n * xd.h, backward_row, &job);
}
