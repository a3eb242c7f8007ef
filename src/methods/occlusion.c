/* Occlusion - Zeiler & Fergus 2014, "Visualizing and Understanding
 * Convolutional Networks".
 *
 * A square window of side `window` slides over the input; inside it every
 * pixel's channel c is set to patch[c].  For each window position w:
 *
 *     d(w)   = F(x) - F(x occluded at w)
 *     map[p] = mean of d(w) over the windows w covering pixel p
 *
 * Window corners sit at 0, stride, 2 stride, ... along each axis, plus one
 * flush with the bottom/right edge when the stride does not land there, so
 * the last pixels are covered too.  A stride larger than the window leaves
 * gaps; pixels no window covers get 0.  Only forward passes are needed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "methods.h"

typedef struct {
    int *rows, *cols; /* window corners along each axis */
    int n_rows, n_cols;
} window_grid;

static int check_finite(const float *values, size_t n, const char *what, sal_error *err) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "occlusion: %s value %zu is not finite", what, i);
    return SAL_OK;
}

static int check_arguments(const sal_fn *fn, const float *x, const float *patch, int window, int stride,
                           const float *map, sal_error *err) {
    if (!fn || !fn->eval || !x || !patch || !map)
        return sal_fail(err, SAL_ERR_ARGUMENT, "occlusion: missing function, input, patch or output");
    if (fn->height < 1 || fn->width < 1 || fn->channels < 1 || fn->max_batch < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "occlusion: invalid input size %d x %d x %d or batch %d", fn->height,
                        fn->width, fn->channels, fn->max_batch);
    if (window < 1 || window > fn->height || window > fn->width)
        return sal_fail(err, SAL_ERR_ARGUMENT, "occlusion: window %d must be between 1 and the image's side (%d x %d)",
                        window, fn->height, fn->width);
    if (stride < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "occlusion: stride %d must be at least 1", stride);
    int status = check_finite(x, sal_fn_size(fn), "input", err);
    return status == SAL_OK ? check_finite(patch, (size_t)fn->channels, "patch", err) : status;
}

/* Corners 0, stride, ... that fit, then the flush one; returns how many. */
static int window_starts(int size, int window, int stride, int *starts) {
    int n = 0, last = size - window;
    for (int start = 0;; start += stride) { /* compared before adding: a huge stride cannot overflow */
        starts[n++] = start;
        if (stride > last - start) break;
    }
    if (starts[n - 1] != last) starts[n++] = last;
    return n;
}

static int make_grid(const sal_fn *fn, int window, int stride, window_grid *grid, sal_error *err) {
    grid->rows = malloc(((size_t)(fn->height - window) / (size_t)stride + 2) * sizeof *grid->rows);
    grid->cols = malloc(((size_t)(fn->width - window) / (size_t)stride + 2) * sizeof *grid->cols);
    if (!grid->rows || !grid->cols) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    grid->n_rows = window_starts(fn->height, window, stride, grid->rows);
    grid->n_cols = window_starts(fn->width, window, stride, grid->cols);
    return SAL_OK;
}

/* out = x with the window at (top, left) set to the patch. */
static void occlude(const sal_fn *fn, const float *x, const float *patch, int top, int left, int window,
                    float *out) {
    memcpy(out, x, sal_fn_size(fn) * sizeof *out);
    for (int y = top; y < top + window; y++)
        for (int col = left; col < left + window; col++) {
            float *pixel = out + ((size_t)y * (size_t)fn->width + (size_t)col) * (size_t)fn->channels;
            memcpy(pixel, patch, (size_t)fn->channels * sizeof *pixel);
        }
}

static void add_to_window(const sal_fn *fn, int top, int left, int window, double d, double *sum, int *count) {
    for (int y = top; y < top + window; y++)
        for (int col = left; col < left + window; col++) {
            size_t p = (size_t)y * (size_t)fn->width + (size_t)col;
            sum[p] += d;
            count[p]++;
        }
}

typedef struct {
    const sal_fn *fn;
    const float *x, *patch;
    int window;
    const window_grid *grid;
    float base_score;  /* F(x) */
    float *batch;      /* max_batch occluded inputs */
    float *scores;     /* max_batch */
    double *sum;       /* H x W: sum of d over the covering windows */
    int *count;        /* H x W: how many windows cover the pixel */
} occlusion_run;

/* Windows [first, first + n) of the grid, in row-major order. */
static int evaluate_windows(occlusion_run *run, int first, int n, sal_error *err) {
    const sal_fn *fn = run->fn;
    const window_grid *grid = run->grid;
    size_t size = sal_fn_size(fn);
    for (int i = 0; i < n; i++) {
        int w = first + i;
        occlude(fn, run->x, run->patch, grid->rows[w / grid->n_cols], grid->cols[w % grid->n_cols], run->window,
                run->batch + (size_t)i * size);
    }
    int status = fn->eval(fn, run->batch, n, run->scores, NULL, err);
    if (status != SAL_OK) return status;
    for (int i = 0; i < n; i++) {
        int w = first + i;
        double d = (double)run->base_score - (double)run->scores[i];
        if (!isfinite(d)) return sal_fail(err, SAL_ERR_NUMERIC, "occlusion: the score of window %d is not finite", w);
        add_to_window(fn, grid->rows[w / grid->n_cols], grid->cols[w % grid->n_cols], run->window, d, run->sum,
                      run->count);
    }
    return SAL_OK;
}

static int occlude_all(occlusion_run *run, const sal_progress *progress, sal_error *err) {
    const sal_fn *fn = run->fn;
    int status = fn->eval(fn, run->x, 1, &run->base_score, NULL, err);
    if (status == SAL_OK && !isfinite(run->base_score))
        status = sal_fail(err, SAL_ERR_NUMERIC, "occlusion: the score of the input is not finite");
    int total = run->grid->n_rows * run->grid->n_cols;
    for (int first = 0; status == SAL_OK && first < total; first += fn->max_batch) {
        int n = total - first < fn->max_batch ? total - first : fn->max_batch;
        status = evaluate_windows(run, first, n, err);
        if (status == SAL_OK && progress) status = sal_progress_step(progress, first + n, total, err);
    }
    return status;
}

int sal_occlusion(const sal_fn *fn, const float *x, const float *patch, int window, int stride,
                  const sal_progress *progress, float *map, sal_error *err) {
    int status = check_arguments(fn, x, patch, window, stride, map, err);
    if (status != SAL_OK) return status;
    size_t pixels = (size_t)fn->height * (size_t)fn->width;
    window_grid grid = {0};
    occlusion_run run = {
        .fn = fn, .x = x, .patch = patch, .window = window, .grid = &grid,
        .batch = malloc((size_t)fn->max_batch * sal_fn_size(fn) * sizeof(float)),
        .scores = malloc((size_t)fn->max_batch * sizeof(float)),
        .sum = calloc(pixels, sizeof(double)),
        .count = calloc(pixels, sizeof(int)),
    };
    if (!run.batch || !run.scores || !run.sum || !run.count) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    if (status == SAL_OK) status = make_grid(fn, window, stride, &grid, err);
    if (status == SAL_OK) status = occlude_all(&run, progress, err);
    if (status == SAL_OK) {
        for (size_t p = 0; p < pixels; p++) map[p] = run.count[p] ? (float)(run.sum[p] / run.count[p]) : 0.0f;
        sal_ok(err);
    }
    free(grid.rows);
    free(grid.cols);
    free(run.batch);
    free(run.scores);
    free(run.sum);
    free(run.count);
    return status;
}
