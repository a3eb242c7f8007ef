/* winograd.c - 3x3 convolutions with stride 1 and no dilation by Winograd's
 * minimal filtering F(m x m, 3x3), m = 2 or 4 (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", CVPR 2016).  Each m x m
 * block of outputs is
 *
 *     Y = A^T [ sum over input channels of  U ⊙ V ] A,
 *     U = G g G^T  (g: the 3x3 kernel of one input/output channel pair),
 *     V = B^T d B  (d: the (m+2) x (m+2) input patch under the block).
 *
 * F(2x2, 3x3) (interpolation points 0, 1, -1, infinity):
 *
 *           | 1  0 -1  0 |        | 1    0    0  |
 *     B^T = | 0  1  1  0 |    G = | 1/2  1/2  1/2|    A^T = | 1  1  1  0 |
 *           | 0 -1  1  0 |        | 1/2 -1/2  1/2|          | 0  1 -1 -1 |
 *           | 0  1  0 -1 |        | 0    0    1  |
 *
 * F(4x4, 3x3) (points 0, 1, -1, 2, -2, infinity):
 *
 *           | 4  0 -5  0  1  0 |        | 1/4    0     0  |
 *           | 0 -4 -4  1  1  0 |        |-1/6  -1/6  -1/6 |          | 1  1  1  1  1  0 |
 *     B^T = | 0  4 -4 -1  1  0 |    G = |-1/6   1/6  -1/6 |    A^T = | 0  1 -1  2 -2  0 |
 *           | 0 -2 -1  2  1  0 |        | 1/24  1/12  1/6 |          | 0  1  1  4  4  0 |
 *           | 0  2 -1 -2  1  0 |        | 1/24 -1/12  1/6 |          | 0  1 -1  8 -8  1 |
 *           | 0  4  0 -5  0  1 |        | 0      0     1  |
 *
 * For each of the (m+2)^2 places xi of a transformed tile, the sum over
 * input channels is a GEMM:  M_xi [tiles x cout] = V_xi [tiles x cin] * U_xi [cin x cout].
 * Per output and channel pair that is 4 multiply-adds (m = 2) or 2.25
 * (m = 4) instead of 9.  F(4x4) needs 36/9 of the weights' memory per
 * direction and is a little less exact, so it is kept for small kernels.
 *
 * The input gradient is the same computation on dy: dx is dy correlated with
 * the kernel flipped in space, channel axes swapped, and offset by 2 - pad.
 * For m = 2, flipping g reverses the columns of G, which reorders its rows
 * (G J = P G, P swapping rows 0 and 3), so the flipped kernel's U is
 * U_{P a, P b}: the forward's U, read transposed.  The points of m = 4 are
 * not closed under x -> 1/x, so it keeps the flipped kernel's U apart.
 *
 * The tiles go through the GEMMs in chunks of whole tile rows (of any
 * images), as many as fit in CHUNK_BUDGET floats of V and M together.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gemm_internal.h"
#include "kernels.h"
#include "relu_lanes.h"
#include "simd.h"
#include "winograd.h"

#define CHUNK_BUDGET ((size_t)1 << 20)
#define MAX_ALPHA 6

/* ------------------------------------------------------------ weights */

/* G g: one column of three taps to alpha = m + 2 values (lanes: output channels). */
SAL_INLINE void kernel_column(int m, const sal_vf g[3], sal_vf *u) {
    if (m == 2) {
        sal_vf half = sal_vf_splat(0.5f);
        u[0] = g[0];
        u[1] = half * (g[0] + g[1] + g[2]);
        u[2] = half * (g[0] - g[1] + g[2]);
        u[3] = g[2];
        return;
    }
    sal_vf four = sal_vf_splat(4.0f), six = sal_vf_splat(6.0f), twelve = sal_vf_splat(12.0f);
    sal_vf twenty_four = sal_vf_splat(24.0f);
    u[0] = g[0] / four;
    u[1] = -(g[0] + g[1] + g[2]) / six;
    u[2] = -(g[0] - g[1] + g[2]) / six;
    u[3] = g[0] / twenty_four + g[1] / twelve + g[2] / six;
    u[4] = g[0] / twenty_four - g[1] / twelve + g[2] / six;
    u[5] = g[2];
}

/* U = G g G^T, alpha x alpha. */
SAL_INLINE void transform_kernel(int m, const sal_vf g[3][3], sal_vf u[MAX_ALPHA][MAX_ALPHA]) {
    int alpha = m + 2;
    sal_vf t[MAX_ALPHA][3], column[3], row[MAX_ALPHA];
    for (int j = 0; j < 3; j++) {
        for (int i = 0; i < 3; i++) column[i] = g[i][j];
        kernel_column(m, column, row);
        for (int a = 0; a < alpha; a++) t[a][j] = row[a];
    }
    for (int a = 0; a < alpha; a++) kernel_column(m, t[a], u[a]);
}

/* Output channels [co, co + lanes) of input channel ci. */
static void pack_lanes(const sal_conv2d_op *op, int m, int flipped, int ci, int co, int lanes, float *u) {
    int alpha = m + 2;
    size_t pairs = (size_t)op->cin * op->cout;
    sal_vf g[3][3], t[MAX_ALPHA][MAX_ALPHA];
    for (int tap = 0; tap < 9; tap++) {
        int from = flipped ? 8 - tap : tap;
        g[tap / 3][tap % 3] = sal_vf_load_lanes(op->w + (size_t)from * pairs + (size_t)ci * op->cout + co, lanes);
    }
    transform_kernel(m, g, t);
    for (int xi = 0; xi < alpha * alpha; xi++) {
        float *place = u + (size_t)xi * pairs;
        sal_vf value = t[xi / alpha][xi % alpha];
        if (!flipped) {
            sal_vf_store_lanes(place + (size_t)ci * op->cout + co, value, lanes);
            continue;
        }
        float spill[SAL_VF_WIDTH];
        sal_vf_store(spill, value);
        for (int l = 0; l < lanes; l++) place[(size_t)(co + l) * op->cin + ci] = spill[l];
    }
}

/* u[xi][i][j] for xi < alpha^2: the transformed kernel of input channel i
 * and output channel j, forward; flipped and with the channels swapped
 * (i: output channel, j: input channel) for the input gradient. */
static float *pack(const sal_conv2d_op *op, int m, int flipped) {
    int places = (m + 2) * (m + 2);
    size_t pairs = (size_t)op->cin * op->cout;
    if (op->cin <= 0 || op->cout <= 0 || pairs > SIZE_MAX / sizeof(float) / (size_t)places) return NULL;
    float *u = malloc((size_t)places * pairs * sizeof(float));
    if (!u) return NULL;
    for (int ci = 0; ci < op->cin; ci++) {
        int co = 0;
        for (; co + SAL_VF_WIDTH <= op->cout; co += SAL_VF_WIDTH) pack_lanes(op, m, flipped, ci, co, SAL_VF_WIDTH, u);
        if (co < op->cout) pack_lanes(op, m, flipped, ci, co, op->cout - co, u);
    }
    return u;
}

int sal_conv2d_use_winograd(sal_conv2d_op *op, int tile) {
    if (op->kh != 3 || op->kw != 3 || (tile != 2 && tile != 4)) return -1;
    float *forward = pack(op, tile, 0), *backward = tile == 4 ? pack(op, tile, 1) : NULL;
    if (!forward || (tile == 4 && !backward)) {
        free(forward), free(backward);
        return -1;
    }
    free(op->winograd), free(op->winograd_backward);
    op->winograd = forward, op->winograd_backward = backward, op->winograd_tile = tile;
    return 0;
}

int sal_conv2d_winograd_applies(const sal_conv2d_op *op, const sal_window *win) {
    return op->winograd && win->kh == 3 && win->kw == 3 && win->stride_h == 1 && win->stride_w == 1 &&
           win->dilation_h == 1 && win->dilation_w == 1;
}

/* ------------------------------------------------------------ one pass */

/* out = conv3x3(in) in the Winograd domain, U given per place. */
typedef struct {
    const float *in;
    sal_dims ind;
    float *out;
    sal_dims outd;
    int m, alpha;              /* output tile m x m, input tile alpha x alpha */
    int pad_top, pad_left;     /* in's row/column under out's (0, 0) is -pad */
    const float *u;
    int u_transposed;          /* m = 2's backward: U_{P xi} read as B^T */
    const float *bias;
    sal_kernel_activation fused;
    const sal_kernel_gate *gate;
    int tiles_h, tiles_w;
    int first_unit;            /* a unit is one tile row of one image */
    int chunk_tiles;           /* tiles in the chunk: rows of each V_xi and M_xi */
    float *v, *mv;             /* [places][chunk_tiles][ind.c], [places][chunk_tiles][outd.c] */
} pass;

static size_t unit_floats(int alpha, int tiles_w, int k, int n) {
    return (size_t)alpha * alpha * tiles_w * ((size_t)k + n);
}

static int units_per_chunk(int alpha, int units, int tiles_w, int k, int n) {
    size_t fit = CHUNK_BUDGET / unit_floats(alpha, tiles_w, k, n);
    if (fit < 1) fit = 1;
    return fit < (size_t)units ? (int)fit : units;
}

static int tiles_along(int size, int m) { return (size + m - 1) / m; }

static size_t pass_scratch(int m, sal_dims ind, sal_dims outd) {
    int tiles_h = tiles_along(outd.h, m), tiles_w = tiles_along(outd.w, m), units = outd.n * tiles_h;
    if (units <= 0 || tiles_w <= 0) return 0;
    /* SIZE_MAX (an allocation that fails) when one tile row's floats do not fit in size_t, e.g. in wasm32. */
    if ((double)(m + 2) * (m + 2) * tiles_w * ((double)ind.c + outd.c) > (double)(SIZE_MAX / sizeof(float)))
        return SIZE_MAX;
    return (size_t)units_per_chunk(m + 2, units, tiles_w, ind.c, outd.c) * unit_floats(m + 2, tiles_w, ind.c, outd.c);
}

size_t sal_conv2d_winograd_scratch_floats(const sal_conv2d_op *op, sal_dims x, sal_dims y) {
    size_t forward = pass_scratch(op->winograd_tile, x, y), backward = pass_scratch(op->winograd_tile, y, x);
    return forward > backward ? forward : backward;
}

/* B^T d along one axis. */
SAL_INLINE void input_axis(int m, const sal_vf *d, sal_vf *w) {
    if (m == 2) {
        w[0] = d[0] - d[2];
        w[1] = d[1] + d[2];
        w[2] = d[2] - d[1];
        w[3] = d[1] - d[3];
        return;
    }
    sal_vf four = sal_vf_splat(4.0f), five = sal_vf_splat(5.0f), two = sal_vf_splat(2.0f);
    sal_vf d4_d2 = d[4] - d[2], d3_d1 = d[3] - d[1];
    w[0] = four * d[0] - five * d[2] + d[4];
    w[1] = d[3] + d[4] - four * (d[1] + d[2]);
    w[2] = d[4] - d[3] + four * (d[1] - d[2]);
    w[3] = d4_d2 + two * d3_d1;
    w[4] = d4_d2 - two * d3_d1;
    w[5] = four * d[1] - five * d[3] + d[5];
}

/* V's alpha^2 vectors for channels [c, c + lanes) of one tile. */
SAL_INLINE void input_tile_lanes(int m, const float *const *rows, const int *cols, int c, int lanes, float *v,
                                 size_t place_stride) {
    int alpha = m + 2;
    sal_vf d[MAX_ALPHA][MAX_ALPHA], t[MAX_ALPHA][MAX_ALPHA];
    SAL_UNROLL for (int s = 0; s < alpha; s++) {
        sal_vf column[MAX_ALPHA], out[MAX_ALPHA];
        SAL_UNROLL for (int r = 0; r < alpha; r++)
            column[r] = rows[r] && cols[s] >= 0 ? sal_vf_load_lanes(rows[r] + cols[s] + c, lanes) : sal_vf_zero();
        input_axis(m, column, out);
        SAL_UNROLL for (int a = 0; a < alpha; a++) t[a][s] = out[a];
    }
    SAL_UNROLL for (int a = 0; a < alpha; a++) {
        input_axis(m, t[a], d[a]);
        SAL_UNROLL for (int b = 0; b < alpha; b++)
            sal_vf_store_lanes(v + (size_t)(a * alpha + b) * place_stride + c, d[a][b], lanes);
    }
}

/* Task: V for one unit (a tile row of one image). */
SAL_INLINE void transform_input_unit_m(const pass *p, int index, int m) {
    int alpha = m + 2;
    int unit = p->first_unit + index, img = unit / p->tiles_h, ty = unit % p->tiles_h;
    int k = p->ind.c;
    size_t row_floats = (size_t)p->ind.w * k, place_stride = (size_t)p->chunk_tiles * k;
    const float *image = p->in + (size_t)img * p->ind.h * row_floats;
    const float *rows[MAX_ALPHA];
    for (int r = 0; r < alpha; r++) {
        int iy = m * ty - p->pad_top + r;
        rows[r] = iy >= 0 && iy < p->ind.h ? image + (size_t)iy * row_floats : NULL;
    }
    for (int tx = 0; tx < p->tiles_w; tx++) {
        int cols[MAX_ALPHA];
        for (int s = 0; s < alpha; s++) {
            int ix = m * tx - p->pad_left + s;
            cols[s] = ix >= 0 && ix < p->ind.w ? ix * k : -1;
        }
        float *v = p->v + ((size_t)index * p->tiles_w + tx) * k;
        int c = 0;
        for (; c + SAL_VF_WIDTH <= k; c += SAL_VF_WIDTH)
            input_tile_lanes(m, rows, cols, c, SAL_VF_WIDTH, v, place_stride);
        if (c < k) input_tile_lanes(m, rows, cols, c, k - c, v, place_stride);
    }
}

static void transform_input_unit(void *ctx, int index) {
    const pass *p = ctx;
    if (p->m == 2) transform_input_unit_m(p, index, 2);
    else transform_input_unit_m(p, index, 4);
}

/* The GEMMs of a chunk: M_xi = V_xi * U_xi (or U_{P xi}^T). */
static void multiply_places(const pass *p, sal_threadpool *pool) {
    static const int flip[4] = {3, 1, 2, 0};
    int k = p->ind.c, n = p->outd.c, places = p->alpha * p->alpha;
    sal_gemm_args g[MAX_ALPHA * MAX_ALPHA];
    for (int xi = 0; xi < places; xi++) {
        int place = p->u_transposed ? flip[xi / 4] * 4 + flip[xi % 4] : xi;
        g[xi] = (sal_gemm_args){.m = p->chunk_tiles, .n = n, .k = k, .a = p->v + (size_t)xi * p->chunk_tiles * k,
                                .a_rows = sal_gemm_plain_rows((size_t)k), .b = p->u + (size_t)place * k * n,
                                .ldb = p->u_transposed ? k : n,
                                .b_layout = p->u_transposed ? SAL_GEMM_B_TRANSPOSED : SAL_GEMM_B_MATRIX,
                                .c = p->mv + (size_t)xi * p->chunk_tiles * n,
                                .c_rows = sal_gemm_plain_rows((size_t)n)};
    }
    sal_gemm_run_many(pool, g, places);
}

/* A^T m along one axis. */
SAL_INLINE void output_axis(int m, const sal_vf *x, sal_vf *y) {
    if (m == 2) {
        y[0] = x[0] + x[1] + x[2];
        y[1] = x[1] - x[2] - x[3];
        return;
    }
    sal_vf two = sal_vf_splat(2.0f), four = sal_vf_splat(4.0f), eight = sal_vf_splat(8.0f);
    sal_vf sum12 = x[1] + x[2], diff12 = x[1] - x[2], sum34 = x[3] + x[4], diff34 = x[3] - x[4];
    y[0] = x[0] + sum12 + sum34;
    y[1] = diff12 + two * diff34;
    y[2] = sum12 + four * sum34;
    y[3] = diff12 + eight * diff34 + x[5];
}

typedef struct {
    sal_relu_gate gate;
    int gated;
} finish_args;

/* An output vector as stored: plus the bias, then the fused activation or the gate. */
SAL_INLINE sal_vf finish(const pass *p, const finish_args *f, sal_vf value, sal_vf bias, const float *out, int lanes) {
    value += bias;
    if (f->gated) return sal_relu_gate_apply(&f->gate, sal_vf_load_lanes(p->gate->y + (out - p->out), lanes), value);
    return sal_relu_lanes(p->fused, value);
}

/* Outputs [c, c + lanes) of one tile: A^T M A, the rows and columns inside out. */
SAL_INLINE void output_tile_lanes(const pass *p, int m, const float *mv, size_t place_stride, int c, int lanes,
                                  float *const *out_rows, const int *out_cols, const finish_args *f) {
    int alpha = m + 2;
    sal_vf t[MAX_ALPHA][MAX_ALPHA];
    SAL_UNROLL for (int a = 0; a < alpha; a++) {
        sal_vf row[MAX_ALPHA], out[MAX_ALPHA];
        SAL_UNROLL for (int b = 0; b < alpha; b++)
            row[b] = sal_vf_load_lanes(mv + (size_t)(a * alpha + b) * place_stride + c, lanes);
        output_axis(m, row, out);
        SAL_UNROLL for (int q = 0; q < m; q++) t[q][a] = out[q];
    }
    sal_vf bias = p->bias ? sal_vf_load_lanes(p->bias + c, lanes) : sal_vf_zero();
    SAL_UNROLL for (int q = 0; q < m; q++) {
        if (out_cols[q] < 0) continue;
        sal_vf column[MAX_ALPHA];
        output_axis(m, t[q], column);
        SAL_UNROLL for (int r = 0; r < m; r++) {
            if (!out_rows[r]) continue;
            float *dst = out_rows[r] + out_cols[q] + c;
            sal_vf_store_lanes(dst, finish(p, f, column[r], bias, dst, lanes), lanes);
        }
    }
}

/* Task: the outputs of one unit. */
SAL_INLINE void transform_output_unit_m(const pass *p, int index, int m) {
    int unit = p->first_unit + index, img = unit / p->tiles_h, ty = unit % p->tiles_h;
    int n = p->outd.c;
    size_t row_floats = (size_t)p->outd.w * n, place_stride = (size_t)p->chunk_tiles * n;
    float *image = p->out + (size_t)img * p->outd.h * row_floats;
    float *rows[MAX_ALPHA];
    for (int r = 0; r < m; r++) {
        int oy = m * ty + r;
        rows[r] = oy < p->outd.h ? image + (size_t)oy * row_floats : NULL;
    }
    finish_args f = {.gated = p->gate != NULL};
    if (p->gate) f.gate = sal_relu_gate_of(p->gate->act, p->gate->rule);
    for (int tx = 0; tx < p->tiles_w; tx++) {
        int cols[MAX_ALPHA];
        for (int q = 0; q < m; q++) cols[q] = m * tx + q < p->outd.w ? (m * tx + q) * n : -1;
        const float *mv = p->mv + ((size_t)index * p->tiles_w + tx) * n;
        int c = 0;
        for (; c + SAL_VF_WIDTH <= n; c += SAL_VF_WIDTH)
            output_tile_lanes(p, m, mv, place_stride, c, SAL_VF_WIDTH, rows, cols, &f);
        if (c < n) output_tile_lanes(p, m, mv, place_stride, c, n - c, rows, cols, &f);
    }
}

static void transform_output_unit(void *ctx, int index) {
    const pass *p = ctx;
    if (p->m == 2) transform_output_unit_m(p, index, 2);
    else transform_output_unit_m(p, index, 4);
}

static void run_pass(pass *p, sal_threadpool *pool, float *scratch) {
    p->alpha = p->m + 2;
    p->tiles_h = tiles_along(p->outd.h, p->m), p->tiles_w = tiles_along(p->outd.w, p->m);
    int units = p->outd.n * p->tiles_h, places = p->alpha * p->alpha;
    if (units <= 0 || p->tiles_w <= 0) return;
    int chunk = units_per_chunk(p->alpha, units, p->tiles_w, p->ind.c, p->outd.c);
    for (int u0 = 0; u0 < units; u0 += chunk) {
        int count = units - u0 < chunk ? units - u0 : chunk;
        p->first_unit = u0, p->chunk_tiles = count * p->tiles_w;
        p->v = scratch;
        p->mv = scratch + (size_t)places * p->chunk_tiles * p->ind.c;
        sal_parallel_for(pool, count, transform_input_unit, p);
        multiply_places(p, pool);
        sal_parallel_for(pool, count, transform_output_unit, p);
    }
}

void sal_conv2d_winograd_forward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                 const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                                 sal_kernel_activation fused) {
    pass p = {.in = x, .ind = xd, .out = y, .outd = yd, .m = op->winograd_tile, .pad_top = win->pad_top,
              .pad_left = win->pad_left, .u = op->winograd, .bias = op->bias, .fused = fused};
    run_pass(&p, pool, scratch);
}

void sal_conv2d_winograd_backward_input(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                        const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                                        const sal_kernel_gate *gate) {
    int own = op->winograd_backward != NULL;
    pass p = {.in = dy, .ind = yd, .out = dx, .outd = xd, .m = op->winograd_tile, .pad_top = 2 - win->pad_top,
              .pad_left = 2 - win->pad_left, .u = own ? op->winograd_backward : op->winograd, .u_transposed = !own,
              .fused = SAL_K_LINEAR, .gate = gate};
    run_pass(&p, pool, scratch);
}
