/* gemm.c - C = A * B (+ bias), the hot path of the library.
 *
 * Goto-style blocking: B lives in column panels NR wide (zero padded), so the
 * microkernel reads it contiguously; A is read in place, one broadcast per row
 * and k.  A task owns a block of rows and columns of C and walks K in KC
 * slices: for each slice and each panel, every MR-row tile of the block runs
 * the microkernel while that panel's KC x NR sliver stays in L1 and the
 * block's rows of A stay in L2.
 *
 * sal_gemm packs B on every call; conv2d and dense pack their weights once
 * and call sal_gemm_packed (gemm_packed.h).  With only a few rows, packing
 * costs more than it saves, so sal_gemm then reads B in place (also the
 * fallback when the panel buffer cannot be allocated).
 */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "gemm_packed.h"
#include "simd.h"

#define VW SAL_VF_WIDTH
#define NV 2               /* vectors per tile row */
#define NR (NV * VW)       /* tile columns */
#define MR 6               /* tile rows: 6 x NV accumulators + NV + 1 fit 16 registers */
#define KC 256             /* K slice */
#define MC (16 * MR)       /* rows per task block */
#define PACK_MIN_ROWS (2 * MR)

typedef struct {
    int m, n, k;
    const float *a;
    int lda;
    const float *b;        /* the caller's B, read in place when panels == NULL */
    int ldb;
    const float *panels;
    const float *bias;
    float *c;
    int ldc;
    int row_blocks, col_block_cols;
} gemm_job;

/* One tile of at most MR x NR over a K slice. */
typedef struct {
    const float *a;        /* row 0 of the tile, first column of the slice */
    int lda;
    const float *b;        /* first row of the slice, first column of the tile */
    int ldb;               /* NR for packed panels */
    float *c;
    int ldc;
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
 * accumulators stay in registers.  B must be readable for NR columns. */
SAL_INLINE void tile_kernel(const int mr, const tile_args *t) {
    sal_vf acc[MR][NV];
    const float *arow[MR];
    for (int r = 0; r < mr; r++) {
        arow[r] = t->a + (size_t)r * t->lda;
        for (int v = 0; v < NV; v++) acc[r][v] = sal_vf_zero();
    }
    const float *b = t->b;
    for (int p = 0; p < t->kc; p++, b += t->ldb) {
        sal_vf bv[NV];
        for (int v = 0; v < NV; v++) bv[v] = sal_vf_load(b + v * VW);
        for (int r = 0; r < mr; r++) {
            sal_vf av = sal_vf_splat(arow[r][p]);
            for (int v = 0; v < NV; v++) acc[r][v] += av * bv[v];
        }
    }
    for (int r = 0; r < mr; r++) store_tile_row(t, t->c + (size_t)r * t->ldc, acc[r]);
}

/* The same sum for an in-place B whose columns end before NR. */
static void tile_narrow_b(int mr, const tile_args *t) {
    for (int r = 0; r < mr; r++) {
        sal_vf acc[NV];
        for (int v = 0; v < NV; v++) acc[v] = sal_vf_zero();
        const float *arow = t->a + (size_t)r * t->lda;
        const float *b = t->b;
        for (int p = 0; p < t->kc; p++, b += t->ldb) {
            sal_vf av = sal_vf_splat(arow[p]);
            for (int v = 0; v < NV; v++) acc[v] += av * load_lanes(b, t->nr, v);
        }
        store_tile_row(t, t->c + (size_t)r * t->ldc, acc);
    }
}

static void run_tile(int mr, const tile_args *t) {
    switch (mr) {
    case 6: tile_kernel(6, t); break;
    case 5: tile_kernel(5, t); break;
    case 4: tile_kernel(4, t); break;
    case 3: tile_kernel(3, t); break;
    case 2: tile_kernel(2, t); break;
    default: tile_kernel(1, t); break;
    }
}

static tile_args slice_tile(const gemm_job *job, int i, int j, int p0, int kc) {
    tile_args t;
    t.a = job->a + (size_t)i * job->lda + p0;
    t.lda = job->lda;
    if (job->panels) {
        t.b = job->panels + ((size_t)(j / NR) * job->k + p0) * NR;
        t.ldb = NR;
    } else {
        t.b = job->b + (size_t)p0 * job->ldb + j;
        t.ldb = job->ldb;
    }
    t.c = job->c + (size_t)i * job->ldc + j;
    t.ldc = job->ldc;
    t.bias = job->bias ? job->bias + j : NULL;
    t.kc = kc;
    t.nr = min_int(NR, job->n - j);
    t.overwrite = p0 == 0;
    return t;
}

static void gemm_block(void *ctx, int index) {
    const gemm_job *job = ctx;
    int i0 = (index % job->row_blocks) * MC, i1 = min_int(job->m, i0 + MC);
    int j0 = (index / job->row_blocks) * job->col_block_cols;
    int j1 = min_int(job->n, j0 + job->col_block_cols);
    for (int p0 = 0; p0 < job->k; p0 += KC) {
        int kc = min_int(KC, job->k - p0);
        for (int j = j0; j < j1; j += NR) {
            for (int i = i0; i < i1; i += MR) {
                tile_args t = slice_tile(job, i, j, p0, kc);
                int mr = min_int(MR, i1 - i);
                if (job->panels || t.nr == NR) run_tile(mr, &t);
                else tile_narrow_b(mr, &t);
            }
        }
    }
}

/* Enough blocks for every thread to stay busy, without cutting tiles thin. */
static int split_columns(gemm_job *job, int threads) {
    int panels = (job->n + NR - 1) / NR;
    int wanted = threads > 1 ? 4 * threads : 1;
    int col_blocks = 1;
    if (job->row_blocks < wanted) {
        col_blocks = (wanted + job->row_blocks - 1) / job->row_blocks;
        if (col_blocks > panels) col_blocks = panels;
    }
    int panels_per_block = (panels + col_blocks - 1) / col_blocks;
    job->col_block_cols = panels_per_block * NR;
    return (panels + panels_per_block - 1) / panels_per_block;
}

static void run_job(sal_threadpool *pool, gemm_job *job) {
    job->row_blocks = (job->m + MC - 1) / MC;
    int col_blocks = split_columns(job, sal_threadpool_size(pool));
    sal_parallel_for(pool, job->row_blocks * col_blocks, gemm_block, job);
}

/* The k = 0 product: C is the bias, or zero. */
static void fill_bias(float *c, int ldc, int m, int n, const float *bias) {
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * ldc;
        if (bias) memcpy(row, bias, (size_t)n * sizeof(float));
        else memset(row, 0, (size_t)n * sizeof(float));
    }
}

/* ------------------------------------------------------------ packing */

size_t sal_gemm_packed_floats(int k, int n) {
    size_t panels = (size_t)(n + NR - 1) / NR;
    return panels * (size_t)k * NR;
}

static void pack_one_panel(int k, int n, const float *b, int ldb, int panel, float *packed) {
    int j0 = panel * NR;
    int cols = min_int(NR, n - j0);
    float *dst = packed + (size_t)panel * k * NR;
    for (int p = 0; p < k; p++, dst += NR) {
        memcpy(dst, b + (size_t)p * ldb + j0, (size_t)cols * sizeof(float));
        memset(dst + cols, 0, (size_t)(NR - cols) * sizeof(float));
    }
}

void sal_gemm_pack_b(int k, int n, const float *b, int ldb, float *packed) {
    for (int panel = 0; panel * NR < n; panel++) pack_one_panel(k, n, b, ldb, panel, packed);
}

void sal_gemm_pack_bt(int k, int n, const float *bt, int ldbt, float *packed) {
    for (int panel = 0; panel * NR < n; panel++) {
        int j0 = panel * NR;
        int cols = min_int(NR, n - j0);
        float *dst = packed + (size_t)panel * k * NR;
        for (int p = 0; p < k; p++, dst += NR) {
            for (int j = 0; j < cols; j++) dst[j] = bt[(size_t)(j0 + j) * ldbt + p];
            memset(dst + cols, 0, (size_t)(NR - cols) * sizeof(float));
        }
    }
}

typedef struct {
    int k, n;
    const float *b;
    int ldb;
    float *packed;
} pack_job;

static void pack_task(void *ctx, int panel) {
    const pack_job *job = ctx;
    pack_one_panel(job->k, job->n, job->b, job->ldb, panel, job->packed);
}

/* ------------------------------------------------------------ entry points */

void sal_gemm_packed(sal_threadpool *pool, int m, int n, int k, const float *a, int lda,
                     const float *packed_b, const float *bias, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        fill_bias(c, ldc, m, n, bias);
        return;
    }
    gemm_job job = {.m = m, .n = n, .k = k, .a = a, .lda = lda, .panels = packed_b,
                    .bias = bias, .c = c, .ldc = ldc};
    run_job(pool, &job);
}

void sal_gemm(sal_threadpool *pool, int m, int n, int k,
              const float *a, int lda, const float *b, int ldb,
              const float *bias, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        fill_bias(c, ldc, m, n, bias);
        return;
    }
    float *packed = m >= PACK_MIN_ROWS ? malloc(sal_gemm_packed_floats(k, n) * sizeof(float)) : NULL;
    if (packed) {
        pack_job pj = {k, n, b, ldb, packed};
        sal_parallel_for(pool, (n + NR - 1) / NR, pack_task, &pj);
        sal_gemm_packed(pool, m, n, k, a, lda, packed, bias, c, ldc);
        free(packed);
        return;
    }
    gemm_job job = {.m = m, .n = n, .k = k, .a = a, .lda = lda, .b = b, .ldb = ldb,
                    .bias = bias, .c = c, .ldc = ldc};
    run_job(pool, &job);
}
