/* Blur IG - Xu, Venugopalan & Sundararajan 2020, "Attribution in Scale and
 * Space" (CVPR), with the discretisation of PAIR's saliency/core/blur_ig.py.
 *
 * The path runs through Gaussian blurs of the image, x(s) = G_s * x, from
 * s = max_sigma (x' = the widest blur) down to s = 0 (the image):
 *
 *     phi_i(x) = - integral_0^max_sigma dF/dx_i (x(s)) * dx_i(s)/ds  ds
 *
 * Riemann sum on s_k = k * max_sigma / steps, k = 0 .. steps-1, with
 * dx(s)/ds ~ (G_{s+h} * x - G_s * x) / h, h = 0.01:
 *
 *     phi(x) = - sum_k (s_{k+1} - s_k) * dx(s_k)/ds (.) grad F(x(s_k))
 *
 * The blur reflects at the edges (PAIR pads with zeros, which darkens the
 * border along the path).
 * Completeness: sum_i phi_i ~ F(x) - F(G_max_sigma * x).  Every point of
 * the path is known in advance, so the gradients are taken in batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../image/blur.h"
#include "methods.h"

#define SIGMA_STEP 0.01 /* h of the finite difference in sigma (PAIR's grad_step) */

typedef struct {
    float *points;      /* batch x size: x(s_k) */
    float *derivatives; /* batch x size: dx(s_k)/ds */
    float *grads;       /* batch x size */
} path_buffers;

static int check_arguments(const sal_fn *fn, const float *x, int steps, float max_sigma, const float *mask,
                           sal_error *err) {
    if (!fn || !fn->eval || !x || !mask) return sal_fail(err, SAL_ERR_ARGUMENT, "blur IG: fn, x or mask is NULL");
    if (fn->height < 1 || fn->width < 1 || fn->channels < 1 || fn->max_batch < 1)
        return sal_fail(err, SAL_ERR_SHAPE, "blur IG: bad input size %d x %d x %d (max batch %d)", fn->height,
                        fn->width, fn->channels, fn->max_batch);
    if (steps < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "blur IG: steps must be >= 1, got %d", steps);
    if (!isfinite(max_sigma) || max_sigma <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "blur IG: max sigma must be finite and > 0, got %g", (double)max_sigma);
    size_t size = sal_fn_size(fn);
    for (size_t i = 0; i < size; i++)
        if (!isfinite(x[i])) return sal_fail(err, SAL_ERR_NUMERIC, "blur IG: input value %zu is not finite", i);
    return SAL_OK;
}

static double sigma_at(int k, int steps, float max_sigma) { return (double)k * max_sigma / steps; }

/* x(s) and (x(s + h) - x(s)) / h. */
static int path_point(const sal_fn *fn, const float *x, double sigma, float *point, float *derivative,
                      sal_error *err) {
    size_t size = sal_fn_size(fn);
    int status = sal_gaussian_blur(x, fn->height, fn->width, fn->channels, (float)sigma, point, err);
    if (!status)
        status = sal_gaussian_blur(x, fn->height, fn->width, fn->channels, (float)(sigma + SIGMA_STEP), derivative,
                                   err);
    if (status) return status;
    for (size_t i = 0; i < size; i++) derivative[i] = (float)(((double)derivative[i] - point[i]) / SIGMA_STEP);
    return SAL_OK;
}

/* Adds the steps first .. first+count-1 of the Riemann sum to total. */
static int integrate_batch(const sal_fn *fn, const float *x, int first, int count, int steps, float max_sigma,
                           path_buffers *b, double *total, sal_error *err) {
    size_t size = sal_fn_size(fn);
    for (int j = 0; j < count; j++) {
        int status = path_point(fn, x, sigma_at(first + j, steps, max_sigma), b->points + j * size,
                                b->derivatives + j * size, err);
        if (status) return status;
    }
    int status = fn->eval(fn, b->points, count, NULL, b->grads, err);
    if (status) return status;
    for (int j = 0; j < count; j++) {
        double ds = sigma_at(first + j + 1, steps, max_sigma) - sigma_at(first + j, steps, max_sigma);
        const float *d = b->derivatives + j * size, *g = b->grads + j * size;
        for (size_t i = 0; i < size; i++) total[i] -= ds * (double)d[i] * (double)g[i];
    }
    return SAL_OK;
}

/* F(x) - F(x'), with x' the widest blur; `scratch` holds two inputs. */
static int blur_completeness(const sal_fn *fn, const float *x, float max_sigma, const float *mask, float *scratch,
                             sal_completeness *c, sal_error *err) {
    size_t size = sal_fn_size(fn);
    float scores[2];
    memcpy(scratch, x, size * sizeof *scratch);
    int status = sal_gaussian_blur(x, fn->height, fn->width, fn->channels, max_sigma, scratch + size, err);
    if (!status && fn->max_batch >= 2) status = fn->eval(fn, scratch, 2, scores, NULL, err);
    else
        for (int k = 0; k < 2 && !status; k++) status = fn->eval(fn, scratch + k * size, 1, scores + k, NULL, err);
    if (status) return status;
    double sum = 0;
    for (size_t i = 0; i < size; i++) sum += mask[i];
    c->score_difference = (double)scores[0] - (double)scores[1];
    c->gap = c->score_difference - sum;
    return SAL_OK;
}

static int write_mask(const double *total, size_t size, float *mask, sal_error *err) {
    for (size_t i = 0; i < size; i++) {
        if (!isfinite(total[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "blur IG: attribution %zu is not finite (NaN gradients?)", i);
        mask[i] = (float)total[i];
    }
    return SAL_OK;
}

int sal_blur_ig(const sal_fn *fn, const float *x, int steps, float max_sigma, const sal_progress *progress,
                float *mask, sal_completeness *c, sal_error *err) {
    int status = check_arguments(fn, x, steps, max_sigma, mask, err);
    if (status) return status;
    size_t size = sal_fn_size(fn);
    int batch = fn->max_batch < steps ? fn->max_batch : steps;
    size_t batch_floats = (size_t)(batch < 2 ? 2 : batch) * size;
    path_buffers b = {malloc(batch_floats * sizeof(float)), malloc(batch_floats * sizeof(float)),
                      malloc(batch_floats * sizeof(float))};
    double *total = calloc(size, sizeof *total);
    if (!b.points || !b.derivatives || !b.grads || !total) {
        status = sal_fail(err, SAL_ERR_MEMORY, "blur IG: out of memory for a batch of %d", batch);
        goto done;
    }
    for (int first = 0; first < steps && !status; first += batch) {
        int count = steps - first < batch ? steps - first : batch;
        status = integrate_batch(fn, x, first, count, steps, max_sigma, &b, total, err);
        if (!status) status = sal_progress_step(progress, first + count, steps + 1, err);
    }
    if (!status) status = write_mask(total, size, mask, err);
    if (!status && c) status = blur_completeness(fn, x, max_sigma, mask, b.points, c, err);
    if (!status) status = sal_progress_step(progress, 1, 1, err);
    if (!status) sal_ok(err);
done:
    free(b.points), free(b.derivatives), free(b.grads), free(total);
    return status;
}
