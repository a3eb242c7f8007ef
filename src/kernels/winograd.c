/* winograd.c - 3x3 convolutions with stride 1 and no dilation by Winograd's
 * minimal filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", CVPR 2016).  Each 2x2 block of outputs is
 *
 *     Y = A^T [ sum over input channels of  U ⊙ V ] A,
 *     U = G g G^T  (g: the 3x3 kernel of one input/output channel pair),
 *     V = B^T d B  (d: the 4x4 input patch under the block),
 *
 *           | 1  0 -1  0 |        | 1    0    0  |
 *     B^T = | 0  1  1  0 |    G = | 1/2  1/2  1/2|    A^T = | 1  1  1  0 |
 *           | 0 -1  1  0 |        | 1/2 -1/2  1/2|          | 0  1 -1 -1 |
 *           | 0  1  0 -1 |        | 0    0    1  |
 *
 * For each of the 16 places xi of a transformed 4x4 tile, the sum over input
 * channels is a GEMM:  M_xi [tiles x cout] = V_xi [tiles x cin] * U_xi [cin x cout].
 * That is 16 multiply-adds per four outputs and channel pair instead of 36.
 *
 * The input gradient is the same computation on dy: dx is dy correlated with
 * the kernel flipped in space, channel axes swapped, and offset by 2 - pad.
 * Flipping g reverses the columns of G, which reorders its rows
 * (G J = P G, P swapping rows 0 and 3), so the flipped kernel's U is
 * U_{P a, P b}: the forward's U, read transposed.  One copy serves both.
 *
 * The tiles go through the GEMMs in chunks of whole tile rows (of any
 * images), as many as fit in CHUNK_BUDGET floats of V and M together.
 */
#include <stdlib.h>

#include "gemm_internal.h"
#include "kernels.h"
#include "relu_lanes.h"
#include "simd.h"

#define CHUNK_BUDGET ((size_t)1 << 20)
#define PLACES 16

/* ------------------------------------------------------------ weights */

static void transform_kernel(const float g[3][3], float u[4][4]) {
    float t[4][3];
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
    }
    for (int a = 0; a < 4; a++) {
        u[a][0] = t[a][0];
        u[a][1] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        u[a][2] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
        u[a][3] = t[a][2];
    }
}

int sal_conv2d_use_winograd(sal_conv2d_op *op) {
    if (op->kh != 3 || op->kw != 3) return -1;
    size_t pairs = (size_t)op->cin * op->cout;
    float *u = malloc(PLACES * pairs * sizeof(float));
    if (!u) return -1;
    for (size_t pair = 0; pair < pairs; pair++) {
        float g[3][3], t[4][4];
        for (int tap = 0; tap < 9; tap++) g[tap / 3][tap % 3] = op->w[(size_t)tap * pairs + pair];
        transform_kernel(g, t);
        for (int xi = 0; xi < PLACES; xi++) u[(size_t)xi * pairs + pair] = t[xi / 4][xi % 4];
    }
    free(op->winograd);
    op->winograd = u;
    return 0;
}

int sal_conv2d_winograd_applies(const sal_conv2d_op *op, const sal_window *win) {
    return op->winograd && win->kh == 3 && win->kw == 3 && win->stride_h == 1 && win->stride_w == 1 &&
           win->dilation_h == 1 && win->dilation_w == 1;
}

/* ------------------------------------------------------------ one pass */

/* out = conv3x3(in) with U (forward) or with the flipped, transposed U (backward). */
typedef struct {
    const float *in;
    sal_dims ind;
    float *out;
    sal_dims outd;
    int pad_top, pad_left;     /* in's row/column under out's (0, 0) is -pad */
    int flipped;
    const float *u;
    int ldu;                   /* cout of the op */
    const float *bias;
    sal_kernel_activation fused;
    const sal_kernel_gate *gate;
    int tiles_h, tiles_w;
    int first_unit;            /* a unit is one tile row of one image */
    int chunk_tiles;           /* tiles in the chunk: rows of each V_xi and M_xi */
    float *v, *m;              /* [16][chunk_tiles][ind.c], [16][chunk_tiles][outd.c] */
} pass;

static size_t unit_floats(int tiles_w, int k, int n) { return (size_t)PLACES * tiles_w * ((size_t)k + n); }

static int units_per_chunk(int units, int tiles_w, int k, int n) {
    size_t fit = CHUNK_BUDGET / unit_floats(tiles_w, k, n);
    if (fit < 1) fit = 1;
    return fit < (size_t)units ? (int)fit : units;
}

static int tiles_along(int size) { return (size + 1) / 2; }

static size_t pass_scratch(sal_dims ind, sal_dims outd) {
    int tiles_h = tiles_along(outd.h), tiles_w = tiles_along(outd.w), units = outd.n * tiles_h;
    if (units <= 0) return 0;
    return (size_t)units_per_chunk(units, tiles_w, ind.c, outd.c) * unit_floats(tiles_w, ind.c, outd.c);
}

size_t sal_conv2d_winograd_scratch_floats(sal_dims x, sal_dims y) {
    size_t forward = pass_scratch(x, y), backward = pass_scratch(y, x);
    return forward > backward ? forward : backward;
}

/* V's 16 vectors for channels [c, c + lanes) of one tile: B^T d B. */
SAL_INLINE void input_tile_lanes(const float *const rows[4], const int cols[4], int c, int lanes,
                                 float *v, size_t place_stride) {
    sal_vf d[4][4];
    SAL_UNROLL for (int r = 0; r < 4; r++)
        SAL_UNROLL for (int s = 0; s < 4; s++) {
            if (!rows[r] || cols[s] < 0) d[r][s] = sal_vf_zero();
            else if (lanes == SAL_VF_WIDTH) d[r][s] = sal_vf_load(rows[r] + cols[s] + c);
            else d[r][s] = sal_vf_load_partial(rows[r] + cols[s] + c, lanes);
        }
    sal_vf t[4][4];
    SAL_UNROLL for (int s = 0; s < 4; s++) {
        t[0][s] = d[0][s] - d[2][s];
        t[1][s] = d[1][s] + d[2][s];
        t[2][s] = d[2][s] - d[1][s];
        t[3][s] = d[1][s] - d[3][s];
    }
    SAL_UNROLL for (int a = 0; a < 4; a++) {
        sal_vf w[4] = {t[a][0] - t[a][2], t[a][1] + t[a][2], t[a][2] - t[a][1], t[a][1] - t[a][3]};
        SAL_UNROLL for (int b = 0; b < 4; b++) {
            float *dst = v + (size_t)(a * 4 + b) * place_stride + c;
            if (lanes == SAL_VF_WIDTH) sal_vf_store(dst, w[b]);
            else sal_vf_store_partial(dst, w[b], lanes);
        }
    }
}

/* Task: V for one unit (a tile row of one image). */
static void transform_input_unit(void *ctx, int index) {
    const pass *p = ctx;
    int unit = p->first_unit + index, img = unit / p->tiles_h, ty = unit % p->tiles_h;
    int k = p->ind.c;
    size_t row_floats = (size_t)p->ind.w * k, place_stride = (size_t)p->chunk_tiles * k;
    const float *image = p->in + (size_t)img * p->ind.h * row_floats;
    const float *rows[4];
    for (int r = 0; r < 4; r++) {
        int iy = 2 * ty - p->pad_top + r;
        rows[r] = iy >= 0 && iy < p->ind.h ? image + (size_t)iy * row_floats : NULL;
    }
    for (int tx = 0; tx < p->tiles_w; tx++) {
        int cols[4];
        for (int s = 0; s < 4; s++) {
            int ix = 2 * tx - p->pad_left + s;
            cols[s] = ix >= 0 && ix < p->ind.w ? ix * k : -1;
        }
        float *v = p->v + ((size_t)index * p->tiles_w + tx) * k;
        int c = 0;
        for (; c + SAL_VF_WIDTH <= k; c += SAL_VF_WIDTH) input_tile_lanes(rows, cols, c, SAL_VF_WIDTH, v, place_stride);
        if (c < k) input_tile_lanes(rows, cols, c, k - c, v, place_stride);
    }
}

/* The 16 GEMMs of a chunk: M_xi = V_xi * U_xi, or V_xi * U_{P xi}^T. */
static void multiply_places(const pass *p, sal_threadpool *pool) {
    static const int flip[4] = {3, 1, 2, 0};
    int k = p->ind.c, n = p->outd.c;
    for (int xi = 0; xi < PLACES; xi++) {
        int place = p->flipped ? flip[xi / 4] * 4 + flip[xi % 4] : xi;
        sal_gemm_args g = {.m = p->chunk_tiles, .n = n, .k = k, .a = p->v + (size_t)xi * p->chunk_tiles * k,
                           .a_rows = sal_gemm_plain_rows((size_t)k),
                           .b = p->u + (size_t)place * k * n, .ldb = p->ldu,
                           .b_layout = p->flipped ? SAL_GEMM_B_TRANSPOSED : SAL_GEMM_B_MATRIX,
                           .c = p->m + (size_t)xi * p->chunk_tiles * n, .c_rows = sal_gemm_plain_rows((size_t)n)};
        sal_gemm_run(pool, &g);
    }
}

typedef struct {
    sal_relu_gate gate;
    int gated;
    sal_vf bias;
} finish_args;

/* An output vector as stored: plus the bias, then the fused activation or the gate. */
SAL_INLINE sal_vf finish(const pass *p, const finish_args *f, sal_vf value, const float *out, int lanes) {
    value += f->bias;
    if (f->gated) {
        const float *y = p->gate->y + (out - p->out);
        sal_vf yv = lanes == SAL_VF_WIDTH ? sal_vf_load(y) : sal_vf_load_partial(y, lanes);
        return sal_relu_gate_apply(&f->gate, yv, value);
    }
    return sal_relu_lanes(p->fused, value);
}

SAL_INLINE void store_lanes(float *dst, sal_vf value, int lanes) {
    if (lanes == SAL_VF_WIDTH) sal_vf_store(dst, value);
    else sal_vf_store_partial(dst, value, lanes);
}

/* Outputs [c, c + lanes) of one tile: A^T M A, the rows and columns inside out. */
SAL_INLINE void output_tile_lanes(const pass *p, const float *m, size_t place_stride, int c, int lanes,
                                  float *const out_rows[2], const int out_cols[2]) {
    sal_vf mv[4][4];
    SAL_UNROLL for (int xi = 0; xi < PLACES; xi++) {
        const float *src = m + (size_t)xi * place_stride + c;
        mv[xi / 4][xi % 4] = lanes == SAL_VF_WIDTH ? sal_vf_load(src) : sal_vf_load_partial(src, lanes);
    }
    sal_vf s[2][4];
    SAL_UNROLL for (int b = 0; b < 4; b++) {
        s[0][b] = mv[0][b] + mv[1][b] + mv[2][b];
        s[1][b] = mv[1][b] - mv[2][b] - mv[3][b];
    }
    finish_args f = {.gated = p->gate != NULL, .bias = sal_vf_zero()};
    if (p->gate) f.gate = sal_relu_gate_of(p->gate->act, p->gate->rule);
    if (p->bias) f.bias = lanes == SAL_VF_WIDTH ? sal_vf_load(p->bias + c) : sal_vf_load_partial(p->bias + c, lanes);
    SAL_UNROLL for (int r = 0; r < 2; r++) {
        if (!out_rows[r]) continue;
        sal_vf y[2] = {s[r][0] + s[r][1] + s[r][2], s[r][1] - s[r][2] - s[r][3]};
        SAL_UNROLL for (int q = 0; q < 2; q++) {
            if (out_cols[q] < 0) continue;
            float *dst = out_rows[r] + out_cols[q] + c;
            store_lanes(dst, finish(p, &f, y[q], dst, lanes), lanes);
        }
    }
}

/* Task: the outputs of one unit. */
static void transform_output_unit(void *ctx, int index) {
    const pass *p = ctx;
    int unit = p->first_unit + index, img = unit / p->tiles_h, ty = unit % p->tiles_h;
    int n = p->outd.c;
    size_t row_floats = (size_t)p->outd.w * n, place_stride = (size_t)p->chunk_tiles * n;
    float *image = p->out + (size_t)img * p->outd.h * row_floats;
    float *rows[2];
    for (int r = 0; r < 2; r++) {
        int oy = 2 * ty + r;
        rows[r] = oy < p->outd.h ? image + (size_t)oy * row_floats : NULL;
    }
    for (int tx = 0; tx < p->tiles_w; tx++) {
        int cols[2];
        for (int q = 0; q < 2; q++) cols[q] = 2 * tx + q < p->outd.w ? (2 * tx + q) * n : -1;
        const float *m = p->m + ((size_t)index * p->tiles_w + tx) * n;
        int c = 0;
        for (; c + SAL_VF_WIDTH <= n; c += SAL_VF_WIDTH) output_tile_lanes(p, m, place_stride, c, SAL_VF_WIDTH, rows, cols);
        if (c < n) output_tile_lanes(p, m, place_stride, c, n - c, rows, cols);
    }
}

static void run_pass(pass *p, sal_threadpool *pool, float *scratch) {
    p->tiles_h = tiles_along(p->outd.h), p->tiles_w = tiles_along(p->outd.w);
    int units = p->outd.n * p->tiles_h;
    if (units <= 0 || p->outd.w <= 0) return;
    int chunk = units_per_chunk(units, p->tiles_w, p->ind.c, p->outd.c);
    for (int u0 = 0; u0 < units; u0 += chunk) {
        int count = units - u0 < chunk ? units - u0 : chunk;
        p->first_unit = u0, p->chunk_tiles = count * p->tiles_w;
        p->v = scratch;
        p->m = scratch + (size_t)PLACES * p->chunk_tiles * p->ind.c;
        sal_parallel_for(pool, count, transform_input_unit, p);
        multiply_places(p, pool);
        sal_parallel_for(pool, count, transform_output_unit, p);
    }
}

void sal_conv2d_winograd_forward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                 const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                                 sal_kernel_activation fused) {
    pass p = {.in = x, .ind = xd, .out = y, .outd = yd, .pad_top = win->pad_top, .pad_left = win->pad_left,
              .u = op->winograd, .ldu = op->cout, .bias = op->bias, .fused = fused};
    run_pass(&p, pool, scratch);
}

void sal_conv2d_winograd_backward_input(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                        const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                                        const sal_kernel_gate *gate) {
    pass p = {.in = dy, .ind = yd, .out = dx, .outd = xd, .pad_top = 2 - win->pad_top,
              .pad_left = 2 - win->pad_left, .flipped = 1, .u = op->winograd, .ldu = op->cout,
              .fused = SAL_K_LINEAR, .gate = gate};
    run_pass(&p, pool, scratch);
}
