/* Guided IG - Kapishnikov, Venugopalan, Avci, Wedin, Terry & Birdal 2021,
 * "Guided Integrated Gradients: an Adaptive Path Method for Removing Noise"
 * (CVPR), following PAIR's saliency/core/guided_ig.py.
 *
 * The path starts at the baseline x' and ends at x.  Step k (1..steps) must
 * bring the L1 distance to x down to  L1(x, x') * (1 - k / steps).  Within a
 * step, the features with the smallest |dF/dx| (a `fraction` of them) move
 * first, towards the input, while every feature's own progress
 * a_i = (p_i - x'_i) / (x_i - x'_i) of the path point p stays within
 * [k/steps - max_dist, k/steps + max_dist]; those lagging behind the lower
 * bound are pulled up to it.  The attribution is the path integral along the piecewise path:
 *
 *     phi_i = sum over moves of (x_i after - x_i before) * dF/dx_i (point of the step)
 *
 * With max_dist = 0 every feature sits on the straight line and this is IG
 * with a left Riemann sum.  Completeness: sum phi ~ F(x) - F(x').  The path
 * depends on each gradient, so gradients are taken one at a time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "methods.h"

#define L1_TOLERANCE 1e-9 /* PAIR's EPSILON: relative and absolute, as math.isclose */

typedef struct {
    size_t size;
    const float *x, *baseline;
    double *point;    /* the current point of the path */
    double *keys;     /* |gradient|, or INFINITY for a feature that may not move */
    double *scratch;  /* for the quantile */
    float *point_f;   /* the point as fn's input */
    float *grad;
    double *attr;
} guided_run;

/* The straight-line point at progress alpha: x' + (x - x') alpha. */
static double on_line(const guided_run *r, size_t i, double alpha) {
    return (double)r->baseline[i] + ((double)r->x[i] - (double)r->baseline[i]) * alpha;
}

static void move_feature(guided_run *r, size_t i, double to) {
    r->attr[i] += (to - r->point[i]) * (double)r->grad[i];
    r->point[i] = to;
}

static double l1_to_input(const guided_run *r) {
    double sum = 0;
    for (size_t i = 0; i < r->size; i++) sum += fabs(r->point[i] - (double)r->x[i]);
    return sum;
}

static int is_close(double a, double b) {
    return fabs(a - b) <= fmax(L1_TOLERANCE * fmax(fabs(a), fabs(b)), L1_TOLERANCE);
}

/* Features behind alpha_min jump to it (a feature with x = x' counts as done). */
static void pull_up_laggards(guided_run *r, double alpha_min) {
    for (size_t i = 0; i < r->size; i++) {
        double span = (double)r->x[i] - (double)r->baseline[i];
        if (span == 0) continue;
        if ((r->point[i] - (double)r->baseline[i]) / span < alpha_min) move_feature(r, i, on_line(r, i, alpha_min));
    }
}

static void swap(double *a, double *b) {
    double t = *a;
    *a = *b;
    *b = t;
}

/* k-th smallest of v[0..n-1] (reorders v): quickselect with three-way partitions. */
static double select_kth(double *v, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the answer lies in v[lo..hi-1] */
    while (hi - lo > 1) {
        double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < pivot, [lt,i) == pivot, [gt,hi) > pivot */
        while (i < gt) {
            if (v[i] < pivot) swap(&v[lt++], &v[i++]);
            else if (v[i] > pivot) swap(&v[i], &v[--gt]);
            else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return pivot;
    }
    return v[lo];
}

/* numpy.quantile(keys, fraction, interpolation="lower"). */
static double lower_quantile(guided_run *r, double fraction) {
    memcpy(r->scratch, r->keys, r->size * sizeof *r->scratch);
    return select_kth(r->scratch, r->size, (size_t)floor(fraction * (double)(r->size - 1)));
}

/* One step of the path: from the current point to L1 distance l1_target. */
static void guided_step(guided_run *r, double alpha, double max_dist, double fraction, double l1_target) {
    double alpha_min = fmax(alpha - max_dist, 0.0), alpha_max = fmin(alpha + max_dist, 1.0);
    for (size_t i = 0; i < r->size; i++) r->keys[i] = fabs((double)r->grad[i]);
    /* Each pass either lands on the target or sends >= 1 more feature to its bound. */
    for (size_t pass = 0; pass <= r->size + 1; pass++) {
        pull_up_laggards(r, alpha_min);
        double l1_now = l1_to_input(r);
        if (is_close(l1_target, l1_now)) return;
        for (size_t i = 0; i < r->size; i++)
            if (r->point[i] == on_line(r, i, alpha_max)) r->keys[i] = INFINITY;
        double threshold = lower_quantile(r, fraction), l1_selected = 0;
        for (size_t i = 0; i < r->size; i++)
            if (r->keys[i] <= threshold && r->keys[i] != INFINITY)
                l1_selected += fabs(r->point[i] - on_line(r, i, alpha_max));
        if (l1_selected <= 0) return; /* nothing left to move: the target is met up to rounding */
        double gamma = (l1_now - l1_target) / l1_selected;
        for (size_t i = 0; i < r->size; i++) {
            if (!(r->keys[i] <= threshold && r->keys[i] != INFINITY)) continue;
            double bound = on_line(r, i, alpha_max);
            move_feature(r, i, gamma > 1 ? bound : r->point[i] + (bound - r->point[i]) * gamma);
        }
        if (gamma <= 1) return;
    }
}

static int check_arguments(const sal_fn *fn, const float *x, const float *baseline, int steps, float fraction,
                           float max_dist, const float *mask, sal_error *err) {
    if (!fn || !fn->eval || !x || !baseline || !mask)
        return sal_fail(err, SAL_ERR_ARGUMENT, "guided IG: fn, x, baseline or mask is NULL");
    if (fn->height < 1 || fn->width < 1 || fn->channels < 1 || fn->max_batch < 1)
        return sal_fail(err, SAL_ERR_SHAPE, "guided IG: bad input size %d x %d x %d", fn->height, fn->width,
                        fn->channels);
    if (steps < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "guided IG: steps must be >= 1, got %d", steps);
    if (!(fraction > 0 && fraction <= 1))
        return sal_fail(err, SAL_ERR_ARGUMENT, "guided IG: fraction must be in (0, 1], got %g", (double)fraction);
    if (!(max_dist >= 0 && max_dist <= 1))
        return sal_fail(err, SAL_ERR_ARGUMENT, "guided IG: max_dist must be in [0, 1], got %g", (double)max_dist);
    size_t size = sal_fn_size(fn);
    for (size_t i = 0; i < size; i++)
        if (!isfinite(x[i]) || !isfinite(baseline[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "guided IG: %s value %zu is not finite",
                            isfinite(x[i]) ? "baseline" : "input", i);
    return SAL_OK;
}

static int gradient_at_point(const sal_fn *fn, guided_run *r, sal_error *err) {
    for (size_t i = 0; i < r->size; i++) r->point_f[i] = (float)r->point[i];
    int status = fn->eval(fn, r->point_f, 1, NULL, r->grad, err);
    if (status) return status;
    for (size_t i = 0; i < r->size; i++)
        if (!isfinite(r->grad[i])) return sal_fail(err, SAL_ERR_NUMERIC, "guided IG: gradient %zu is not finite", i);
    return SAL_OK;
}

static int walk_path(const sal_fn *fn, guided_run *r, int steps, float fraction, float max_dist,
                     const sal_progress *progress, sal_error *err) {
    double l1_total = 0;
    for (size_t i = 0; i < r->size; i++) {
        r->point[i] = r->baseline[i];
        l1_total += fabs((double)r->x[i] - (double)r->baseline[i]);
    }
    if (l1_total == 0) return SAL_OK; /* x = x': nothing to attribute */
    for (int step = 0; step < steps; step++) {
        int status = gradient_at_point(fn, r, err);
        if (status) return status;
        double alpha = (step + 1.0) / steps;
        guided_step(r, alpha, max_dist, fraction, l1_total * (1.0 - alpha));
        status = sal_progress_step(progress, step + 1, steps + 1, err);
        if (status) return status;
    }
    return SAL_OK;
}

static int guided_completeness(const sal_fn *fn, const float *x, const float *baseline, const float *mask,
                               size_t size, sal_completeness *c, sal_error *err) {
    float input_score, baseline_score;
    int status = fn->eval(fn, x, 1, &input_score, NULL, err);
    if (!status) status = fn->eval(fn, baseline, 1, &baseline_score, NULL, err);
    if (status) return status;
    double sum = 0;
    for (size_t i = 0; i < size; i++) sum += mask[i];
    c->score_difference = (double)input_score - (double)baseline_score;
    c->gap = c->score_difference - sum;
    return SAL_OK;
}

int sal_guided_ig(const sal_fn *fn, const float *x, const float *baseline, int steps, float fraction,
                  float max_dist, const sal_progress *progress, float *mask, sal_completeness *c, sal_error *err) {
    int status = check_arguments(fn, x, baseline, steps, fraction, max_dist, mask, err);
    if (status) return status;
    size_t size = sal_fn_size(fn);
    guided_run r = {.size = size, .x = x, .baseline = baseline};
    r.point = malloc(size * sizeof *r.point);
    r.keys = malloc(size * sizeof *r.keys);
    r.scratch = malloc(size * sizeof *r.scratch);
    r.point_f = malloc(size * sizeof *r.point_f);
    r.grad = malloc(size * sizeof *r.grad);
    r.attr = calloc(size, sizeof *r.attr);
    if (!r.point || !r.keys || !r.scratch || !r.point_f || !r.grad || !r.attr)
        status = sal_fail(err, SAL_ERR_MEMORY, "guided IG: out of memory for %zu features", size);
    if (!status) status = walk_path(fn, &r, steps, fraction, max_dist, progress, err);
    if (!status) {
        for (size_t i = 0; i < size; i++) mask[i] = (float)r.attr[i];
        if (c) status = guided_completeness(fn, x, baseline, mask, size, c, err);
    }
    if (!status) status = sal_progress_step(progress, 1, 1, err);
    if (!status) sal_ok(err);
    free(r.point), free(r.keys), free(r.scratch), free(r.point_f), free(r.grad), free(r.attr);
    return status;
}
