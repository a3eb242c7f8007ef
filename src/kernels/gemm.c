/* gemm.c - C = A * B (+ bias), the hot path of the library.
 *
 * Goto-style blocking: B is read as KC x NR slivers whose rows are NR floats
 * apart (zero padded past n), so the microkernel loads it contiguously; A is
 * read in place, one broadcast per row and k.  A task owns a block of rows
 * and columns of C and walks K in KC slices.  For each slice it copies the
 * slivers of a group of panels (GROUP x NR columns) from B, or transposed
 * from B^T, into a buffer on its stack, then for each panel every MR-row tile
 * of the block runs the microkernel while the sliver stays in L1 and the
 * block's rows of A stay in L2.  B thus needs no packed copy of its own (the
 * operators borrow the model's weights) and the hot path no allocation.
 * Blocks are tall (MC rows), so each copy serves many tiles.  A group copies
 * GROUP x NR contiguous floats from each row of B rather than NR: with weights
 * read once per pass from far caches, that keeps the forward pass as fast as
 * it was on weights packed ahead of time (measured in Node, ResNet50).
 *
 * The tile: MR x NV vectors of accumulators.  wasm SIMD128 runs on the 16
 * xmm registers of x86-64 V8: 4 x 2 accumulators + 2 B vectors + the
 * broadcast A value leave V8 room (6 x 2 would fill 15 of them and runs
 * slower; bench_gemm_ceiling measures the shapes in isolation).
 * SAL_GEMM_MR / SAL_GEMM_NV / SAL_GEMM_GROUP_COLS override them for experiments.
 */
#include "kernels.h"

#include <string.h>

#include "gemm_internal.h"
#include "relu_lanes.h"
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
#define KC SAL_GEMM_KC
#ifndef SAL_GEMM_GROUP_COLS
#define SAL_GEMM_GROUP_COLS 64
#endif
#define GROUP (SAL_GEMM_GROUP_COLS / NR > 0 ? SAL_GEMM_GROUP_COLS / NR : 1) /* panels copied together: 64 KB */
#define MC (64 * MR)       /* most rows per task block: each sliver copy serves up to 64 tiles */

typedef struct {
    const sal_gemm_args *g;  /* `count` GEMMs of one shape */
    int count;
    int row_blocks, block_rows, col_blocks, col_block_cols;
} gemm_job;

/* One tile of at most MR x NR over a K slice. */
typedef struct {
    const float *a[MR];    /* the tile's rows of A, at the slice's first column */
    const float *b;        /* the KC x NR sliver, rows NR apart */
    float *c[MR];          /* the tile's rows of C, at its first column */
    const float *bias;     /* at the tile's first column, or NULL */
    int kc, nr;
    int overwrite;         /* first K slice: C = acc + bias; later ones: C += acc */
    sal_kernel_activation fused; /* on the last K slice's store; SAL_K_LINEAR on the others */
    const sal_relu_gate *gate;   /* on the last K slice's store, or NULL */
    int standard_gate;           /* the gate's rule is SAL_K_RULE_STANDARD */
    const float *gate_y[MR]; /* the gate's y at the tile's rows of C */
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

/* The stored value: activated (forward) or gated (backward) on the last K
 * slice; y is the gate's, at the value's lanes. */
SAL_INLINE sal_vf finish(const tile_args *t, sal_vf y, sal_vf value) {
    if (t->gate) return sal_relu_gate_apply(t->gate, y, value);
    return sal_relu_lanes(t->fused, value);
}

/* Where the tile's sums start: the bias on the first K slice (zero without
 * one); later slices add to C instead. */
SAL_INLINE void tile_bias(const tile_args *t, sal_vf *bias) {
    for (int v = 0; v < NV; v++) bias[v] = sal_vf_zero();
    if (!t->overwrite || !t->bias) return;
    for (int v = 0; v < NV; v++) bias[v] = t->nr == NR ? sal_vf_load(t->bias + v * VW) : load_lanes(t->bias, t->nr, v);
}

/* Vector v of a row of a partial tile (nr < NR). */
SAL_INLINE void store_partial_vector(const tile_args *t, float *c, const float *gate_y, int v, sal_vf acc,
                                     sal_vf bias) {
    int lanes = lanes_in(t->nr, v);
    if (lanes == 0) return;
    float *at = c + v * VW;
    sal_vf base = t->overwrite ? bias : sal_vf_load_partial(at, lanes);
    sal_vf y = t->gate ? sal_vf_load_partial(gate_y + v * VW, lanes) : sal_vf_zero();
    sal_vf_store_partial(at, finish(t, y, base + acc), lanes);
}

/* The stores of a partial tile (nr < NR), kept out of line: the rare case,
 * with calls to memcpy in wasm. */
static __attribute__((noinline)) void store_partial_tile(int mr, const tile_args *t, sal_vf acc[MR][NV],
                                                         const sal_vf *bias) {
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < NV; v++) store_partial_vector(t, t->c[r], t->gate_y[r], v, acc[r][v], bias[v]);
}

enum { NOT_GATED, STANDARD_GATE, ANY_GATE };

/* A whole tile's stores (nr == NR), act, overwrite and gated constants in
 * each instantiation: unrolled, so the accumulators stay in registers and no
 * store asks which case it is in. */
SAL_INLINE void store_whole_tile(const int mr, const sal_kernel_activation act, const int overwrite, const int gated,
                                 const tile_args *t, sal_vf acc[MR][NV], const sal_vf *bias) {
    sal_relu_gate gate = {0};
    if (gated == ANY_GATE) gate = *t->gate;
    if (gated == STANDARD_GATE) { /* the rule's masks as constants, which the compiler folds away */
        gate = sal_relu_gate_of(SAL_K_RELU, SAL_K_RULE_STANDARD);
        gate.upper = t->gate->upper;
    }
SAL_UNROLL
    for (int r = 0; r < mr; r++) {
        float *c = t->c[r];
SAL_UNROLL
        for (int v = 0; v < NV; v++) {
            sal_vf value = (overwrite ? bias[v] : sal_vf_load(c + v * VW)) + acc[r][v];
            if (gated) value = sal_relu_gate_apply(&gate, sal_vf_load(t->gate_y[r] + v * VW), value);
            else value = sal_relu_lanes(act, value);
            sal_vf_store(c + v * VW, value);
        }
    }
}

SAL_INLINE void store_tile(const int mr, const tile_args *t, sal_vf acc[MR][NV], const sal_vf *bias) {
    if (t->nr == NR) {
        if (t->gate && t->standard_gate) {
            if (t->overwrite) store_whole_tile(mr, SAL_K_LINEAR, 1, STANDARD_GATE, t, acc, bias);
            else store_whole_tile(mr, SAL_K_LINEAR, 0, STANDARD_GATE, t, acc, bias);
        } else if (t->gate) {
            store_whole_tile(mr, SAL_K_LINEAR, t->overwrite, ANY_GATE, t, acc, bias);
        } else if (!t->overwrite) {
            store_whole_tile(mr, t->fused, 0, NOT_GATED, t, acc, bias); /* fused only on the last of several slices */
        } else if (t->fused == SAL_K_RELU) {
            store_whole_tile(mr, SAL_K_RELU, 1, NOT_GATED, t, acc, bias);
        } else if (t->fused == SAL_K_RELU6) {
            store_whole_tile(mr, SAL_K_RELU6, 1, NOT_GATED, t, acc, bias);
        } else {
            store_whole_tile(mr, SAL_K_LINEAR, 1, NOT_GATED, t, acc, bias);
        }
        return;
    }
    sal_vf apart[MR][NV]; /* acc itself must not escape: it would then live in memory on every path */
SAL_UNROLL
    for (int r = 0; r < mr; r++)
SAL_UNROLL
        for (int v = 0; v < NV; v++) apart[r][v] = acc[r][v];
    store_partial_tile(mr, t, apart, bias);
}

/* The microkernel.  mr is a constant in every instantiation, so the
 * accumulators stay in registers. */
SAL_INLINE void tile_kernel(const int mr, const tile_args *t) {
    sal_vf acc[MR][NV];
    const float *arow[MR];
    const float *b = t->b;
    /* Started from the first product rather than from zero (kc >= 1): a
     * zeroing loop becomes a call to memset in wasm, and the accumulators
     * then live in memory. */
    for (int r = 0; r < mr; r++) {
        arow[r] = t->a[r];
        sal_vf av = sal_vf_splat(arow[r][0]);
        for (int v = 0; v < NV; v++) acc[r][v] = av * sal_vf_load(b + v * VW);
    }
    b += NR;
    for (int p = 1; p < t->kc; p++, b += NR) {
        sal_vf bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = sal_vf_load(b + v * VW);
        for (int r = 0; r < mr; r++) {
            sal_vf av = sal_vf_splat(arow[r][p]);
            for (int v = 0; v < NV; v++) acc[r][v] += av * bv[v];
        }
    }
    sal_vf bias[NV];
    tile_bias(t, bias);
    store_tile(mr, t, acc, bias);
}

#define TILE_CASE(R) case R: tile_kernel(R < MR ? R : MR, t); break;

/* One instantiation per row count below MR (mr <= MR here). */
static void run_tile(int mr, const tile_args *t) {
    if (mr >= MR) {
        tile_kernel(MR, t);
        return;
    }
    switch (mr) {
    TILE_CASE(7) TILE_CASE(6) TILE_CASE(5) TILE_CASE(4) TILE_CASE(3) TILE_CASE(2)
    default: tile_kernel(1, t); break;
    }
}

/* ------------------------------------------------------------ B slivers */

/* Rows p0.. p0+kc of B's columns j0.. j1 (at most GROUP panels) into slivers
 * KC * NR floats apart: row by row, so that B is read along its rows. */
static void copy_matrix_slivers(const sal_gemm_args *g, int p0, int kc, int j0, int j1, float *dst) {
    int whole = (j1 - j0) / NR, cols = (j1 - j0) % NR;
    const float *src = g->b + (size_t)p0 * g->ldb + j0;
    for (int p = 0; p < kc; p++, src += g->ldb) {
        float *row = dst + (size_t)p * NR;
        for (int q = 0; q < whole; q++, row += KC * NR)
            for (int v = 0; v < NV; v++) sal_vf_store(row + v * VW, sal_vf_load(src + q * NR + v * VW));
        if (cols)
            for (int v = 0; v < NV; v++) sal_vf_store(row + v * VW, load_lanes(src + whole * NR, cols, v));
    }
}

typedef float v4f __attribute__((vector_size(16)));

SAL_INLINE v4f v4f_load(const float *p) { v4f v; __builtin_memcpy(&v, p, sizeof v); return v; }
SAL_INLINE void v4f_store(float *p, v4f v) { __builtin_memcpy(p, &v, sizeof v); }

/* A 4 x 4 block transposed: src rows ld floats apart, dst rows NR apart. */
SAL_INLINE void transpose_4x4(const float *src, size_t ld, float *dst) {
    v4f r0 = v4f_load(src), r1 = v4f_load(src + ld), r2 = v4f_load(src + 2 * ld), r3 = v4f_load(src + 3 * ld);
    v4f lo01 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5), hi01 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
    v4f lo23 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5), hi23 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
    v4f_store(dst, __builtin_shufflevector(lo01, lo23, 0, 1, 4, 5));
    v4f_store(dst + NR, __builtin_shufflevector(lo01, lo23, 2, 3, 6, 7));
    v4f_store(dst + 2 * NR, __builtin_shufflevector(hi01, hi23, 0, 1, 4, 5));
    v4f_store(dst + 3 * NR, __builtin_shufflevector(hi01, hi23, 2, 3, 6, 7));
}

/* The same sliver from B^T: B's columns j are rows of B^T, read kc floats
 * along each and written down a column of the sliver; 4 x 4 blocks at a time
 * where they are whole. */
static void copy_transposed_sliver(const sal_gemm_args *g, int p0, int kc, int j0, float *dst) {
    int cols = min_int(NR, g->n - j0);
    size_t ld = (size_t)g->ldb;
    const float *rows = g->b + (size_t)j0 * ld + p0; /* rows[j * ld + q] = B[p0 + q][j0 + j] */
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
        int q = 0;
        for (; q + 4 <= kc; q += 4) transpose_4x4(rows + j * ld + q, ld, dst + (size_t)q * NR + j);
        for (; q < kc; q++)
            for (int jj = j; jj < j + 4; jj++) dst[(size_t)q * NR + jj] = rows[jj * ld + q];
    }
    for (; j < cols; j++)
        for (int q = 0; q < kc; q++) dst[(size_t)q * NR + j] = rows[j * ld + q];
    if (cols < NR)
        for (int q = 0; q < kc; q++) sal_zero_floats(dst + (size_t)q * NR + cols, (size_t)(NR - cols));
}

/* Slivers of B's columns j0.. j1 (at most GROUP panels), KC * NR floats apart. */
static void copy_slivers(const sal_gemm_args *g, int p0, int kc, int j0, int j1, float *dst) {
    if (g->b_layout == SAL_GEMM_B_MATRIX) {
        copy_matrix_slivers(g, p0, kc, j0, j1, dst);
        return;
    }
    for (int j = j0; j < j1; j += NR, dst += KC * NR) copy_transposed_sliver(g, p0, kc, j, dst);
}

/* ------------------------------------------------------------ tasks */

static void gemm_block(void *ctx, int index) {
    const gemm_job *job = ctx;
    int blocks = job->row_blocks * job->col_blocks;
    const sal_gemm_args *g = &job->g[index / blocks];
    index %= blocks;
    /* Row block major: a thread's contiguous range of tasks covers rows of C
     * (threadpool.c), the rows the next kernel is likely to give it again. */
    int i0 = (index / job->col_blocks) * job->block_rows, i1 = min_int(g->m, i0 + job->block_rows);
    int j0 = (index % job->col_blocks) * job->col_block_cols, j1 = min_int(g->n, j0 + job->col_block_cols);
    size_t a_at[MC], c_at[MC];
    for (int i = i0; i < i1; i++) {
        a_at[i - i0] = sal_gemm_row_offset(&g->a_rows, i);
        c_at[i - i0] = sal_gemm_row_offset(&g->c_rows, i);
    }
    float slivers[GROUP * KC * NR];
    sal_relu_gate gate = sal_relu_gate_of(g->gate ? g->gate->act : SAL_K_RELU,
                                          g->gate ? g->gate->rule : SAL_K_RULE_STANDARD);
    for (int p0 = 0; p0 < g->k; p0 += KC) {
        int last = p0 + KC >= g->k;
        tile_args t = {.kc = min_int(KC, g->k - p0), .overwrite = p0 == 0,
                       .fused = last ? g->fused : SAL_K_LINEAR, .gate = last && g->gate ? &gate : NULL,
                       .standard_gate = g->gate && g->gate->rule == SAL_K_RULE_STANDARD};
        for (int jg = j0; jg < j1; jg += GROUP * NR) {
            int jg1 = min_int(j1, jg + GROUP * NR);
            copy_slivers(g, p0, t.kc, jg, jg1, slivers);
            for (int j = jg; j < jg1; j += NR) {
                t.b = slivers + (size_t)(j - jg) / NR * KC * NR;
                t.bias = g->bias ? g->bias + j : NULL;
                t.nr = min_int(NR, g->n - j);
                for (int i = i0; i < i1; i += MR) {
                    int mr = min_int(MR, i1 - i);
                    for (int r = 0; r < mr; r++) {
                        t.a[r] = g->a + a_at[i - i0 + r] + p0;
                        t.c[r] = g->c + c_at[i - i0 + r] + j;
                        if (t.gate) t.gate_y[r] = g->gate->y + c_at[i - i0 + r] + j;
                    }
                    run_tile(mr, &t);
                }
            }
        }
    }
}

/* Row blocks of equal size (whole tiles, at most MC rows), then enough column
 * blocks, over all the job's GEMMs, for every thread to stay busy without
 * cutting tiles thin. */
static int split(gemm_job *job, int threads) {
    const sal_gemm_args *g = job->g;
    int tiles = (g->m + MR - 1) / MR;
    int block_tiles = MC / MR;
    job->row_blocks = (tiles + block_tiles - 1) / block_tiles;
    job->block_rows = (tiles + job->row_blocks - 1) / job->row_blocks * MR;
    job->row_blocks = (g->m + job->block_rows - 1) / job->block_rows;
    int panels = (g->n + NR - 1) / NR;
    int wanted = threads > 1 ? (4 * threads + job->count - 1) / job->count : 1;
    int col_blocks = 1;
    if (job->row_blocks < wanted) {
        col_blocks = (wanted + job->row_blocks - 1) / job->row_blocks;
        if (col_blocks > panels) col_blocks = panels;
    }
    int panels_per_block = (panels + col_blocks - 1) / col_blocks;
    job->col_block_cols = panels_per_block * NR;
    job->col_blocks = (panels + panels_per_block - 1) / panels_per_block;
    return job->count * job->row_blocks * job->col_blocks;
}

/* The k = 0 product: C is the bias, or zero. */
static void fill_bias(const sal_gemm_args *g) {
    for (int i = 0; i < g->m; i++) {
        float *row = g->c + sal_gemm_row_offset(&g->c_rows, i);
        if (g->bias) memcpy(row, g->bias, (size_t)g->n * sizeof(float));
        else memset(row, 0, (size_t)g->n * sizeof(float));
        sal_activation_forward(g->fused, row, row, (size_t)g->n, g->n);
        if (g->gate)
            sal_activation_backward(g->gate->act, g->gate->rule, NULL, g->gate->y + sal_gemm_row_offset(&g->c_rows, i),
                                    row, row, (size_t)g->n, g->n);
    }
}

void sal_gemm_run_many(sal_threadpool *pool, const sal_gemm_args *args, int count) {
    if (count <= 0 || args->m <= 0 || args->n <= 0) return;
    if (args->k <= 0) {
        for (int i = 0; i < count; i++) fill_bias(&args[i]);
        return;
    }
    gemm_job job = {.g = args, .count = count};
    int tasks = split(&job, sal_threadpool_size(pool));
    sal_parallel_for(pool, tasks, gemm_block, &job);
}

void sal_gemm_run(sal_threadpool *pool, const sal_gemm_args *args) { sal_gemm_run_many(pool, args, 1); }

/* ------------------------------------------------------------ entry point */

void sal_gemm(sal_threadpool *pool, int m, int n, int k,
              const float *a, int lda, const float *b, int ldb,
              const float *bias, float *c, int ldc) {
    sal_gemm_args g = {.m = m, .n = n, .k = k, .a = a, .a_rows = sal_gemm_plain_rows((size_t)lda),
                       .b = b, .ldb = ldb, .b_layout = SAL_GEMM_B_MATRIX, .bias = bias,
                       .c = c, .c_rows = sal_gemm_plain_rows((size_t)ldc)};
    sal_gemm_run(pool, &g);
}
