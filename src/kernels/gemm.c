/* gemm.c - C = A * B (+ bias), the hot path of the library.
 *
 * Goto-style blocking: B is read as KC x NR slivers whose rows are NR floats
 * apart (zero padded past n), so the microkernel loads it contiguously; A is
 * read in place, one broadcast per row and k.  A task owns a block of rows
 * and columns of C and walks K in KC slices: for each slice and each NR-wide
 * panel, every MR-row tile of the block runs the microkernel while the
 * panel's sliver stays in L1 and the block's rows of A stay in L2.
 *
 * Weights packed ahead of time (SAL_GEMM_B_PANELS) are slivers already.  A B
 * given as a plain matrix, or as the transpose of packed panels (the input
 * gradient of conv2d and dense), is copied one sliver at a time into a buffer
 * on the task's stack: no allocation, and one packed copy per weight matrix.
 *
 * The tile: MR x NV vectors of accumulators.  wasm SIMD128 runs on the 16
 * xmm registers of x86-64 V8: 4 x 2 accumulators + 2 B vectors + the
 * broadcast A value leave V8 room (6 x 2 would fill 15 of them and runs
 * slower; bench_gemm_ceiling measures the shapes in isolation).
 * SAL_GEMM_MR / SAL_GEMM_NV override the shape for experiments.
 */
#include "kernels.h"

#include <string.h>

#include "gemm_packed.h"
#include "simd.h"

#ifndef SAL_GEMM_MR
#if SAL_VF_WIDTH == 4
#define SAL_GEMM_MR 4      /* measured in Node: 4 x 8 beats 6 x 8 by ~12% on the ResNet50 */
#else
#define SAL_GEMM_MR 6
#endif
#endif
#ifndef SAL_GEMM_NV
#define SAL_GEMM_NV 2
#endif

#define VW SAL_VF_WIDTH
#define MR SAL_GEMM_MR     /* tile rows, at most 8 */
#define NV SAL_GEMM_NV     /* vectors per tile row */
#define NR (NV * VW)       /* tile columns */
#define KC 256             /* K slice: part of every output's summation order, so fixed */
#define MC (16 * MR)       /* most rows per task block */
#define MC_COPIED (4 * MC) /* the same when B's slivers are copied: each copy then serves more tiles */

typedef struct {
    const sal_gemm_args *g;
    int row_blocks, block_rows, col_block_cols;
} gemm_job;

/* One tile of at most MR x NR over a K slice. */
typedef struct {
    const float *a[MR];    /* the tile's rows of A, at the slice's first column */
    const float *b;        /* the KC x NR sliver, rows NR apart */
    float *c[MR];          /* the tile's rows of C, at its first column */
    const float *bias;     /* at the tile's first column, or NULL */
    int kc, nr;
    int overwrite;         /* first K slice: C = acc + bias; later ones: C += acc */
} tile_args;

static int min_int(int a, int b) { return a < b ? a : b; }

/* How many lanes of vector v fall inside the first nr columns. */
SAL_INLINE int lanes_in(int nr, int v) {
    int lanes = nr - v * VW;
    return lanes < 0 ? 0 : lanes > VW ? VW : lanes;
}

/* Lanes of vector v from a row that ends after nr columns (zero beyond). */
SAL_INLINE sal_vf load_lanes(const float *row, int nr, int v) {
    int lanes = lanes_in(nr, v);
    return lanes ? sal_vf_load_partial(row + v * VW, lanes) : sal_vf_zero();
}

SAL_INLINE void store_tile_row(const tile_args *t, float *c, const sal_vf *acc) {
    sal_vf bias[NV];
    for (int v = 0; v < NV; v++)
        bias[v] = t->overwrite && t->bias ? load_lanes(t->bias, t->nr, v) : sal_vf_zero();
    if (t->nr == NR) {
        for (int v = 0; v < NV; v++) {
            sal_vf base = t->overwrite ? bias[v] : sal_vf_load(c + v * VW);
            sal_vf_store(c + v * VW, base + acc[v]);
        }
        return;
    }
    for (int v = 0; v < NV && lanes_in(t->nr, v) > 0; v++) {
        sal_vf base = t->overwrite ? bias[v] : load_lanes(c, t->nr, v);
        sal_vf_store_partial(c + v * VW, base + acc[v], lanes_in(t->nr, v));
    }
}

/* The microkernel.  mr is a constant in every instantiation, so the
 * accumulators stay in registers. */
SAL_INLINE void tile_kernel(const int mr, const tile_args *t) {
    sal_vf acc[MR][NV];
    const float *arow[MR];
    for (int r = 0; r < mr; r++) {
        arow[r] = t->a[r];
        for (int v = 0; v < NV; v++) acc[r][v] = sal_vf_zero();
    }
    const float *b = t->b;
    for (int p = 0; p < t->kc; p++, b += NR) {
        sal_vf bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = sal_vf_load(b + v * VW);
        for (int r = 0; r < mr; r++) {
            sal_vf av = sal_vf_splat(arow[r][p]);
            for (int v = 0; v < NV; v++) acc[r][v] += av * bv[v];
        }
    }
    for (int r = 0; r < mr; r++) store_tile_row(t, t->c[r], acc[r]);
}

#define TILE_CASE(R) case R: tile_kernel(R < MR ? R : MR, t); break;

static void run_tile(int mr, const tile_args *t) {
    switch (mr) {
    TILE_CASE(8) TILE_CASE(7) TILE_CASE(6) TILE_CASE(5) TILE_CASE(4) TILE_CASE(3) TILE_CASE(2)
    default: tile_kernel(1, t); break;
    }
}

/* ------------------------------------------------------------ B slivers */

/* Rows p0.. p0+kc of B's columns j0.. j0+NR from a row-major matrix. */
static void copy_matrix_sliver(const sal_gemm_args *g, int p0, int kc, int j0, float *dst) {
    int cols = min_int(NR, g->n - j0);
    for (int p = 0; p < kc; p++, dst += NR) {
        memcpy(dst, g->b + (size_t)(p0 + p) * g->ldb + j0, (size_t)cols * sizeof(float));
        memset(dst + cols, 0, (size_t)(NR - cols) * sizeof(float));
    }
}

typedef float v4f __attribute__((vector_size(16)));

SAL_INLINE v4f v4f_load(const float *p) { v4f v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void v4f_store(float *p, v4f v) { __builtin_memcpy(p, &v, sizeof v); }

/* A 4 x 4 block, rows NR floats apart in both src and dst, transposed. */
SAL_INLINE void transpose_4x4(const float *src, float *dst) {
    v4f r0 = v4f_load(src), r1 = v4f_load(src + NR), r2 = v4f_load(src + 2 * NR), r3 = v4f_load(src + 3 * NR);
    v4f lo01 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), hi01 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
    v4f lo23 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), hi23 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
    v4f_store(dst, __builtin_shufflevector(lo01, lo23, 0, 1, 4, 5));
    v4f_store(dst + NR, __builtin_shufflevector(lo01, lo23, 2, 3, 6, 7));
    v4f_store(dst + 2 * NR, __builtin_shufflevector(hi01, hi23, 0, 1, 4, 5));
    v4f_store(dst + 3 * NR, __builtin_shufflevector(hi01, hi23, 2, 3, 6, 7));
}

/* The same sliver when B^T [n x k] was packed into panels of NR of its
 * columns: B's rows p are those columns, so each panel of B^T gives an NR x NR
 * (or smaller) block of rows j, columns p, written transposed; 4 x 4 blocks
 * at a time where they are whole. */
static void copy_transposed_sliver(const sal_gemm_args *g, int p0, int kc, int j0, float *dst) {
    int cols = min_int(NR, g->n - j0);
    for (int p = p0; p < p0 + kc;) {
        int panel = p / NR, end = min_int((panel + 1) * NR, p0 + kc);
        /* column p of B^T's rows j sits at rows[j * NR + p] */
        const float *rows = g->b + ((size_t)panel * g->n + j0) * NR - (size_t)panel * NR;
        int j = 0;
        for (; j + 4 <= cols; j += 4) {
            int q = p;
            for (; q + 4 <= end; q += 4) transpose_4x4(rows + (size_t)j * NR + q, dst + (size_t)(q - p0) * NR + j);
            for (; q < end; q++)
                for (int jj = j; jj < j + 4; jj++) dst[(size_t)(q - p0) * NR + jj] = rows[(size_t)jj * NR + q];
        }
        for (; j < cols; j++)
            for (int q = p; q < end; q++) dst[(size_t)(q - p0) * NR + j] = rows[(size_t)j * NR + q];
        p = end;
    }
    if (cols < NR)
        for (int p = 0; p < kc; p++) memset(dst + (size_t)p * NR + cols, 0, (size_t)(NR - cols) * sizeof(float));
}

/* The KC x NR sliver of B at (p0, j0): in the panels, or copied into buf. */
static const float *b_sliver(const sal_gemm_args *g, int p0, int kc, int j0, float *buf) {
    switch (g->b_layout) {
    case SAL_GEMM_B_PANELS: return g->b + ((size_t)(j0 / NR) * g->k + p0) * NR;
    case SAL_GEMM_B_MATRIX: copy_matrix_sliver(g, p0, kc, j0, buf); return buf;
    default: copy_transposed_sliver(g, p0, kc, j0, buf); return buf;
    }
}

/* ------------------------------------------------------------ tasks */

static void gemm_block(void *ctx, int index) {
    const gemm_job *job = ctx;
    const sal_gemm_args *g = job->g;
    int i0 = (index % job->row_blocks) * job->block_rows, i1 = min_int(g->m, i0 + job->block_rows);
    int j0 = (index / job->row_blocks) * job->col_block_cols, j1 = min_int(g->n, j0 + job->col_block_cols);
    size_t a_at[MC_COPIED], c_at[MC_COPIED];
    for (int i = i0; i < i1; i++) {
        a_at[i - i0] = sal_gemm_row_offset(&g->a_rows, i);
        c_at[i - i0] = sal_gemm_row_offset(&g->c_rows, i);
    }
    float buf[KC * NR]; /* for copied slivers */
    for (int p0 = 0; p0 < g->k; p0 += KC) {
        tile_args t = {.kc = min_int(KC, g->k - p0), .overwrite = p0 == 0};
        for (int j = j0; j < j1; j += NR) {
            t.b = b_sliver(g, p0, t.kc, j, buf);
            t.bias = g->bias ? g->bias + j : NULL;
            t.nr = min_int(NR, g->n - j);
            for (int i = i0; i < i1; i += MR) {
                int mr = min_int(MR, i1 - i);
                for (int r = 0; r < mr; r++) {
                    t.a[r] = g->a + a_at[i - i0 + r] + p0;
                    t.c[r] = g->c + c_at[i - i0 + r] + j;
                }
                run_tile(mr, &t);
            }
        }
    }
}

/* Row blocks of equal size (whole tiles, at most MC or MC_COPIED rows), then enough column
 * blocks for every thread to stay busy without cutting tiles thin. */
static int split(gemm_job *job, int threads) {
    const sal_gemm_args *g = job->g;
    int tiles = (g->m + MR - 1) / MR;
    int block_tiles = (g->b_layout == SAL_GEMM_B_PANELS ? MC : MC_COPIED) / MR;
    job->row_blocks = (tiles + block_tiles - 1) / block_tiles;
    job->block_rows = (tiles + job->row_blocks - 1) / job->row_blocks * MR;
    job->row_blocks = (g->m + job->block_rows - 1) / job->block_rows;
    int panels = (g->n + NR - 1) / NR;
    int wanted = threads > 1 ? 4 * threads : 1;
    int col_blocks = 1;
    if (job->row_blocks < wanted) {
        col_blocks = (wanted + job->row_blocks - 1) / job->row_blocks;
        if (col_blocks > panels) col_blocks = panels;
    }
    int panels_per_block = (panels + col_blocks - 1) / col_blocks;
    job->col_block_cols = panels_per_block * NR;
    return job->row_blocks * ((panels + panels_per_block - 1) / panels_per_block);
}

/* The k = 0 product: C is the bias, or zero. */
static void fill_bias(const sal_gemm_args *g) {
    for (int i = 0; i < g->m; i++) {
        float *row = g->c + sal_gemm_row_offset(&g->c_rows, i);
        if (g->bias) memcpy(row, g->bias, (size_t)g->n * sizeof(float));
        else memset(row, 0, (size_t)g->n * sizeof(float));
    }
}

void sal_gemm_run(sal_threadpool *pool, const sal_gemm_args *args) {
    if (args->m <= 0 || args->n <= 0) return;
    if (args->k <= 0) {
        fill_bias(args);
        return;
    }
    gemm_job job = {.g = args};
    int tasks = split(&job, sal_threadpool_size(pool));
    sal_parallel_for(pool, tasks, gemm_block, &job);
}

/* ------------------------------------------------------------ packing */

size_t sal_gemm_packed_floats(int k, int n) {
    size_t panels = (size_t)(n + NR - 1) / NR;
    return panels * (size_t)k * NR;
}

void sal_gemm_pack_b(int k, int n, const float *b, int ldb, float *packed) {
    sal_gemm_args g = {.k = k, .n = n, .b = b, .ldb = ldb};
    for (int j0 = 0; j0 < n; j0 += NR) {
        float *panel = packed + (size_t)(j0 / NR) * k * NR;
        for (int p0 = 0; p0 < k; p0 += KC) copy_matrix_sliver(&g, p0, min_int(KC, k - p0), j0, panel + (size_t)p0 * NR);
    }
}

/* ------------------------------------------------------------ entry points */

void sal_gemm_packed(sal_threadpool *pool, int m, int n, int k, const float *a, int lda,
                     const float *packed_b, const float *bias, float *c, int ldc) {
    sal_gemm_args g = {.m = m, .n = n, .k = k, .a = a, .a_rows = sal_gemm_plain_rows((size_t)lda),
                       .b = packed_b, .b_layout = SAL_GEMM_B_PANELS, .bias = bias,
                       .c = c, .c_rows = sal_gemm_plain_rows((size_t)ldc)};
    sal_gemm_run(pool, &g);
}

void sal_gemm(sal_threadpool *pool, int m, int n, int k,
              const float *a, int lda, const float *b, int ldb,
              const float *bias, float *c, int ldc) {
    sal_gemm_args g = {.m = m, .n = n, .k = k, .a = a, .a_rows = sal_gemm_plain_rows((size_t)lda),
                       .b = b, .ldb = ldb, .b_layout = SAL_GEMM_B_MATRIX, .bias = bias,
                       .c = c, .c_rows = sal_gemm_plain_rows((size_t)ldc)};
    sal_gemm_run(pool, &g);
}
