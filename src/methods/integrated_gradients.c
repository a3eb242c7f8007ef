/* integrated_gradients.c - Integrated Gradients (Sundararajan, Taly & Yan
 * 2017, "Axiomatic Attribution for Deep Networks"):
 *
 *     IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x'))/dx_i da
 *             ~ (x_i - x'_i) * sum_k w_k dF(x' + a_k (x - x'))/dx_i
 *
 * with the nodes a_k and weights w_k of a quadrature rule on [0, 1].
 * Completeness: sum_i IG_i(x) = F(x) - F(x') for the exact integral; the gap
 * left by the quadrature is reported. */
#include <stdlib.h>

#include "../bytes/error.h"
#include "methods.h"

#define SUM_BLOCK 512 /* partial integrals that stay in L1 cache over a batch */

typedef struct {
    const sal_fn *fn;
    const float *x, *baseline;
    size_t size;
    float *points, *grads, *scores; /* max_batch inputs, gradients, scores */
    double *integral;               /* size: sum_k w_k dF/dx at the path points */
    int have_input_score, have_baseline_score;
    double input_score, baseline_score; /* F(x), F(x') */
} ig_run;

/* x' (1 - a) + x a: exactly x' at a = 0 and x at a = 1. */
static void path_point(const ig_run *run, double alpha, float *point) {
    float keep = (float)(1.0 - alpha), move = (float)alpha;
    for (size_t i = 0; i < run->size; i++) point[i] = run->baseline[i] * keep + run->x[i] * move;
}

/* integral += w_j grad_j for the batch's points j in turn, on the values
 * [first, first + n): the same sums as one point at a time, but each partial
 * integral is loaded once per batch. */
static void add_block(ig_run *run, const double *weights, int batch, size_t first, size_t n) {
    double *integral = run->integral + first;
    for (int j = 0; j < batch; j++) {
        const float *grad = run->grads + (size_t)j * run->size + first;
        for (size_t i = 0; i < n; i++) integral[i] += weights[j] * grad[i];
    }
}

static int integrate_batch(ig_run *run, const double *alphas, const double *weights, int n, sal_error *err) {
    for (int j = 0; j < n; j++) path_point(run, alphas[j], run->points + (size_t)j * run->size);
    int status = run->fn->eval(run->fn, run->points, n, run->scores, run->grads, err);
    if (status != SAL_OK) return status;
    for (size_t first = 0; first < run->size; first += SUM_BLOCK)
        add_block(run, weights, n, first, run->size - first < SUM_BLOCK ? run->size - first : SUM_BLOCK);
    for (int j = 0; j < n; j++) {
        /* The path's ends give the completeness scores for free. */
        if (alphas[j] == 1.0) run->have_input_score = 1, run->input_score = run->scores[j];
        if (alphas[j] == 0.0) run->have_baseline_score = 1, run->baseline_score = run->scores[j];
    }
    return SAL_OK;
}

/* F(x) and F(x') where the path did not reach them: forward passes only. */
static int score_ends(ig_run *run, sal_error *err) {
    const float *ends[2];
    double *targets[2];
    int n = 0;
    if (!run->have_input_score) ends[n] = run->x, targets[n++] = &run->input_score;
    if (!run->have_baseline_score) ends[n] = run->baseline, targets[n++] = &run->baseline_score;
    int together = run->fn->max_batch >= n ? n : 1;
    for (int first = 0; first < n; first += together) {
        for (int j = 0; j < together; j++)
            for (size_t i = 0; i < run->size; i++) run->points[(size_t)j * run->size + i] = ends[first + j][i];
        int status = run->fn->eval(run->fn, run->points, together, run->scores, NULL, err);
        if (status != SAL_OK) return status;
        for (int j = 0; j < together; j++) *targets[first + j] = run->scores[j];
    }
    return SAL_OK;
}

static int run_path(ig_run *run, int steps, sal_quadrature q, const sal_progress *progress, sal_completeness *c,
                    sal_error *err) {
    double *alphas = malloc((size_t)steps * sizeof *alphas), *weights = malloc((size_t)steps * sizeof *weights);
    int status = (alphas && weights) ? sal_quadrature_rule(q, steps, alphas, weights, err)
                                     : sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int batch = run->fn->max_batch, batches = (steps + batch - 1) / batch;
    for (int b = 0; status == SAL_OK && b < batches; b++) {
        int first = b * batch, n = steps - first < batch ? steps - first : batch;
        status = integrate_batch(run, alphas + first, weights + first, n, err);
        if (status == SAL_OK) status = sal_progress_step(progress, b + 1, batches + (c != NULL), err);
    }
    if (status == SAL_OK && c) status = score_ends(run, err);
    if (status == SAL_OK) status = sal_progress_step(progress, 1, 1, err);
    free(alphas);
    free(weights);
    return status;
}

int sal_integrated_gradients(const sal_fn *fn, const float *x, const float *baseline, int steps, sal_quadrature q,
                             const sal_progress *progress, float *mask, sal_completeness *c, sal_error *err) {
    if (!fn || !x || !baseline || !mask)
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_integrated_gradients: missing argument");
    if (steps < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "steps must be at least 1 (got %d)", steps);
    ig_run run = {.fn = fn, .x = x, .baseline = baseline, .size = sal_fn_size(fn)};
    size_t batch_floats = (size_t)fn->max_batch * run.size;
    run.points = malloc(batch_floats * sizeof *run.points);
    run.grads = malloc(batch_floats * sizeof *run.grads);
    run.scores = malloc((size_t)(fn->max_batch > 2 ? fn->max_batch : 2) * sizeof *run.scores);
    run.integral = calloc(run.size, sizeof *run.integral);
    int status = (run.points && run.grads && run.scores && run.integral)
                     ? run_path(&run, steps, q, progress, c, err)
                     : sal_fail(err, SAL_ERR_MEMORY, "out of memory for Integrated Gradients");
    if (status == SAL_OK) {
        double total = 0;
        for (size_t i = 0; i < run.size; i++) {
            mask[i] = (float)(((double)x[i] - baseline[i]) * run.integral[i]);
            total += mask[i];
        }
        if (c) {
            c->score_difference = run.input_score - run.baseline_score;
            c->gap = c->score_difference - total;
        }
        sal_ok(err);
    }
    free(run.points);
    free(run.grads);
    free(run.scores);
    free(run.integral);
    return status;
}
