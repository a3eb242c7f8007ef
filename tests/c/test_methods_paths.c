/* test_methods_paths.c - Blur IG, Guided IG and XRAI on analytic functions,
 * as PAIR's tests check them: sal_fn's below compute
 *
 *     coupled: F(x) = sum_i w_i x_i^2 + (sum_i v_i x_i)^2 / 2,  dF/dx_i = 2 w_i x_i + v_i sum_j v_j x_j
 *     linear:  F(x) = sum_i w_i x_i                              dF/dx_i = w_i
 *
 * exactly (double, at the float input).  References: numpy re-statements of
 * PAIR's blur_ig.py / guided_ig.py with scipy's blur (goldens from
 * tools/make_goldens_segmentation.py); completeness sum(phi) = F(x) - F(x')
 * and its convergence with the steps; Guided IG with max_dist 0 against a
 * naive left-Riemann IG loop; XRAI on a picture with planted regions where
 * the linear F's exact IG is known in closed form. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/error.h"
#include "bytes/npy.h"
#include "check.h"
#include "methods/methods.h"
#include "saliency.h"

#define PATHS_GOLDEN(name) SAL_GOLDENS_DIR "/segmentation/" name

/* ------------------------------------------------------ analytic F */

typedef enum { F_COUPLED, F_LINEAR } f_kind;

typedef struct {
    f_kind kind;
    const double *w, *v;
    int gradient_calls, largest_gradient_batch;
} analytic;

static double analytic_value(const analytic *a, const float *x, size_t n, float *grad) {
    double dot = 0, square = 0, linear = 0;
    for (size_t i = 0; i < n; i++) {
        if (a->kind == F_LINEAR) linear += a->w[i] * x[i];
        else dot += a->v[i] * x[i], square += a->w[i] * (double)x[i] * x[i];
    }
    if (grad)
        for (size_t i = 0; i < n; i++)
            grad[i] = (float)(a->kind == F_LINEAR ? a->w[i] : 2 * a->w[i] * x[i] + a->v[i] * dot);
    return a->kind == F_LINEAR ? linear : square + 0.5 * dot * dot;
}

static int analytic_eval(const sal_fn *fn, const float *x, int batch, float *scores, float *grads, sal_error *err) {
    analytic *a = fn->user;
    if (batch < 1 || batch > fn->max_batch) return sal_fail(err, SAL_ERR_ARGUMENT, "batch %d out of range", batch);
    size_t n = sal_fn_size(fn);
    if (grads) {
        a->gradient_calls++;
        if (batch > a->largest_gradient_batch) a->largest_gradient_batch = batch;
    }
    for (int b = 0; b < batch; b++) {
        double f = analytic_value(a, x + b * n, n, grads ? grads + b * n : NULL);
        if (scores) scores[b] = (float)f;
    }
    return SAL_OK;
}

static sal_fn analytic_fn(analytic *a, int height, int width, int channels, int max_batch) {
    return (sal_fn){.eval = analytic_eval, .height = height, .width = width, .channels = channels,
                    .max_batch = max_batch, .user = a};
}

static double score_of(analytic *a, const float *x, size_t n) { return analytic_value(a, x, n, NULL); }

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static double random_unit(void) {
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static double *random_weights(size_t n, double scale) {
    double *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = scale * (2 * random_unit() - 1);
    return w;
}

static float *random_pixels(size_t n) {
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)(255 * random_unit());
    return x;
}

static double sum_of(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

typedef struct {
    float *data;
    int shape[SAL_NPY_MAX_DIMS], ndim;
    size_t count;
} array;

static int load(const char *path, array *a) {
    sal_error err;
    memset(a, 0, sizeof *a);
    int ok = sal_npy_read(path, &a->data, a->shape, &a->ndim, &err) == SAL_OK;
    CHECK(ok, "%s: %s", path, err.message);
    a->count = 1;
    for (int i = 0; ok && i < a->ndim; i++) a->count *= (size_t)a->shape[i];
    return ok;
}

static double *to_double(const float *f, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = f[i];
    return d;
}

/* Progress recorder; cancels at call number cancel_at (0: never). */
typedef struct {
    int calls, cancel_at, monotone;
    double last;
} recorder;

static int record(void *user, double fraction) {
    recorder *r = user;
    if (fraction < r->last || fraction < 0 || fraction > 1) r->monotone = 0;
    r->last = fraction;
    return ++r->calls == r->cancel_at;
}

/* Naive 2-D blur, reflect padding by folding, in double. */
static int fold(int i, int n) {
    while (i < 0 || i >= n) i = i < 0 ? -1 - i : 2 * n - 1 - i;
    return i;
}

static void naive_blur(const float *in, int h, int w, int c, double sigma, float *out) {
    int r = (int)(4 * sigma + 0.5);
    double total = 0;
    for (int k = -r; k <= r; k++) total += exp(-k * k / (2 * sigma * sigma));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < c; ch++) {
                double s = 0;
                for (int dy = -r; dy <= r; dy++)
                    for (int dx = -r; dx <= r; dx++)
                        s += exp(-(dy * dy + dx * dx) / (2 * sigma * sigma)) / (total * total) *
                             in[((size_t)fold(y + dy, h) * w + fold(x + dx, w)) * c + ch];
                out[((size_t)y * w + x) * c + ch] = (float)s;
            }
}

/* ------------------------------------------------------------- Blur IG */

static void test_blur_ig_against_reference(void) {
    array x, weights, want, scores;
    if (!load(PATHS_GOLDEN("blurig_input.npy"), &x) | !load(PATHS_GOLDEN("blurig_weights.npy"), &weights) |
        !load(PATHS_GOLDEN("blurig_attr.npy"), &want) | !load(PATHS_GOLDEN("blurig_scores.npy"), &scores))
        goto done;
    double *w = to_double(weights.data, x.count), *v = to_double(weights.data + x.count, x.count);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, x.shape[0], x.shape[1], x.shape[2], 5);
    float *mask = malloc(x.count * sizeof *mask);
    sal_completeness c;
    sal_error err;
    int status = sal_blur_ig(&fn, x.data, 12, 5.0f, NULL, mask, &c, &err);
    CHECK(status == SAL_OK, "blur IG: %s", err.message);
    CHECK_CLOSE(mask, want.data, x.count, 1e-4 * max_abs(want.data, x.count), 1e-4, "blur IG vs numpy/scipy");
    double diff = (double)scores.data[0] - scores.data[1];
    CHECK(fabs(c.score_difference - diff) <= 1e-5 * fabs(scores.data[0]), "F(x) - F(x') %g, want %g",
          c.score_difference, diff);
    CHECK(fabs(c.gap - (c.score_difference - sum_of(mask, x.count))) <= 1e-6 * fabs(diff) + 1e-6, "gap %g", c.gap);
    CHECK(a.largest_gradient_batch == 5 && a.gradient_calls == 3, "blur IG batches: %d calls, largest %d",
          a.gradient_calls, a.largest_gradient_batch);
    /* the same one at a time */
    float *single = malloc(x.count * sizeof *single);
    fn.max_batch = 1;
    status = sal_blur_ig(&fn, x.data, 12, 5.0f, NULL, single, NULL, &err);
    CHECK(status == SAL_OK && memcmp(mask, single, x.count * sizeof *mask) == 0, "batch of 1 differs: %s",
          err.message);
    free(w), free(v), free(mask), free(single);
done:
    free(x.data), free(weights.data), free(want.data), free(scores.data);
}

/* A smooth picture: completeness gap shrinks with the steps (left Riemann
 * O(1/steps)) down to what the truncated kernel's jumps in sigma leave. */
static void test_blur_ig_completeness(void) {
    enum { H = 16, W = 14, C = 3, N = H * W * C };
    float x[N], blurred[N], mask[N];
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W; i++)
            for (int c = 0; c < C; c++)
                x[(y * W + i) * C + c] = (float)(128 + 90 * sin(0.5 * y + 0.3 * c) * cos(0.4 * i - c));
    double *w = random_weights(N, 1e-3), *v = random_weights(N, 1e-2);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, H, W, C, 8);
    naive_blur(x, H, W, C, 4.0, blurred);
    double want = score_of(&a, x, N) - score_of(&a, blurred, N);
    static const int steps[] = {8, 32, 128, 512};
    double gaps[4];
    for (int s = 0; s < 4; s++) {
        sal_completeness c;
        sal_error err;
        int status = sal_blur_ig(&fn, x, steps[s], 4.0f, NULL, mask, &c, &err);
        CHECK(status == SAL_OK, "blur IG steps %d: %s", steps[s], err.message);
        CHECK(fabs(c.score_difference - want) <= 1e-4 * fabs(want), "F(x) - F(blur) %g, naive %g",
              c.score_difference, want);
        gaps[s] = fabs(want - sum_of(mask, N)) / fabs(want);
        printf("blur IG completeness, %d steps: relative gap %.5f\n", steps[s], gaps[s]);
    }
    CHECK(gaps[1] < gaps[0] && gaps[2] < gaps[1], "gap does not shrink: %g %g %g", gaps[0], gaps[1], gaps[2]);
    CHECK(gaps[3] < 0.01, "relative gap %g at 512 steps", gaps[3]);
    free(w), free(v);
}

static void test_blur_ig_progress_and_errors(void) {
    enum { N = 6 * 5 * 3 };
    float *x = random_pixels(N), mask[N];
    double *w = random_weights(N, 1e-3), *v = random_weights(N, 1e-2);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, 6, 5, 3, 3);
    sal_error err;
    recorder rec = {.monotone = 1};
    sal_progress progress = {record, &rec};
    CHECK(sal_blur_ig(&fn, x, 10, 3.0f, &progress, mask, NULL, &err) == SAL_OK, "%s", err.message);
    CHECK(rec.monotone && rec.calls >= 4 && rec.last == 1.0, "progress: %d calls, last %g", rec.calls, rec.last);
    rec = (recorder){.monotone = 1, .cancel_at = 2};
    CHECK(sal_blur_ig(&fn, x, 10, 3.0f, &progress, mask, NULL, &err) == SAL_ERR_CANCELLED, "cancel: %s",
          err.message);
    CHECK(sal_blur_ig(&fn, x, 0, 3.0f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "steps"),
          "zero steps: %s", err.message);
    CHECK(sal_blur_ig(&fn, x, 4, 0.0f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "sigma"),
          "zero sigma: %s", err.message);
    CHECK(sal_blur_ig(&fn, x, 4, NAN, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT, "NaN sigma");
    CHECK(sal_blur_ig(&fn, x, 4, 2.0f, NULL, NULL, NULL, &err) == SAL_ERR_ARGUMENT, "NULL mask");
    x[7] = NAN;
    CHECK(sal_blur_ig(&fn, x, 4, 2.0f, NULL, mask, NULL, &err) == SAL_ERR_NUMERIC, "NaN input: %s", err.message);
    free(x), free(w), free(v);
}

/* ----------------------------------------------------------- Guided IG */

static void test_guided_ig_against_reference(void) {
    static const struct {
        const char *file;
        int steps;
        float fraction, max_dist;
    } cases[] = {{PATHS_GOLDEN("gig_a.npy"), 16, 0.25f, 0.02f},
                 {PATHS_GOLDEN("gig_b.npy"), 10, 0.1f, 0.5f},
                 {PATHS_GOLDEN("gig_c.npy"), 25, 0.5f, 1.0f}};
    array pair, weights;
    if (!load(PATHS_GOLDEN("gig_input.npy"), &pair) | !load(PATHS_GOLDEN("gig_weights.npy"), &weights)) goto done;
    size_t n = pair.count / 2;
    double *w = to_double(weights.data, n), *v = to_double(weights.data + n, n);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, pair.shape[1], pair.shape[2], pair.shape[3], 4);
    float *mask = malloc(n * sizeof *mask);
    for (int k = 0; k < 3; k++) {
        array want;
        if (!load(cases[k].file, &want)) continue;
        sal_completeness c;
        sal_error err;
        a.gradient_calls = a.largest_gradient_batch = 0;
        int status = sal_guided_ig(&fn, pair.data, pair.data + n, cases[k].steps, cases[k].fraction,
                                   cases[k].max_dist, NULL, mask, &c, &err);
        CHECK(status == SAL_OK, "guided IG: %s", err.message);
        char what[96];
        snprintf(what, sizeof what, "guided IG steps %d fraction %g max_dist %g vs numpy", cases[k].steps,
                 cases[k].fraction, cases[k].max_dist);
        CHECK_CLOSE(mask, want.data, n, 1e-6 * max_abs(want.data, n), 1e-6, what);
        CHECK(a.gradient_calls == cases[k].steps && a.largest_gradient_batch == 1, "%d gradient calls",
              a.gradient_calls);
        double diff = score_of(&a, pair.data, n) - score_of(&a, pair.data + n, n);
        CHECK(fabs(c.score_difference - diff) <= 1e-5 * fabs(diff), "F(x) - F(x') %g, want %g", c.score_difference,
              diff);
        free(want.data);
    }
    free(w), free(v), free(mask);
done:
    free(pair.data), free(weights.data);
}

/* max_dist 0 keeps the path on the straight line: IG with a left Riemann sum. */
static void test_guided_ig_is_ig_without_freedom(void) {
    enum { N = 6 * 5 * 3, STEPS = 20 };
    float *x = random_pixels(N), *baseline = random_pixels(N), mask[N], ig[N], point[N], grad[N];
    double *w = random_weights(N, 1e-3), *v = random_weights(N, 1e-2), want[N] = {0};
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, 6, 5, 3, 4);
    for (int k = 0; k < STEPS; k++) {
        for (int i = 0; i < N; i++) point[i] = (float)(baseline[i] + ((double)x[i] - baseline[i]) * k / STEPS);
        analytic_value(&a, point, N, grad);
        for (int i = 0; i < N; i++) want[i] += ((double)x[i] - baseline[i]) / STEPS * grad[i];
    }
    float want_f[N];
    for (int i = 0; i < N; i++) want_f[i] = (float)want[i];
    static const float fractions[] = {1.0f, 0.1f};
    sal_error err;
    for (int f = 0; f < 2; f++) {
        int status = sal_guided_ig(&fn, x, baseline, STEPS, fractions[f], 0.0f, NULL, mask, NULL, &err);
        CHECK(status == SAL_OK, "guided IG: %s", err.message);
        CHECK_CLOSE(mask, want_f, N, 1e-6 * max_abs(want_f, N), 1e-5, "guided IG max_dist 0 vs left-Riemann IG");
    }
    int status = sal_integrated_gradients(&fn, x, baseline, STEPS, SAL_QUADRATURE_RIEMANN_LEFT, NULL, ig, NULL, &err);
    CHECK(status == SAL_OK, "IG: %s", err.message);
    CHECK_CLOSE(mask, ig, N, 1e-5 * max_abs(ig, N), 1e-4, "guided IG max_dist 0 vs sal_integrated_gradients");
    /* x = x': no path, no attribution */
    status = sal_guided_ig(&fn, x, x, STEPS, 0.25f, 0.1f, NULL, mask, NULL, &err);
    CHECK(status == SAL_OK && max_abs(mask, N) == 0, "x = baseline: %s", err.message);
    free(x), free(baseline), free(w), free(v);
}

static void test_guided_ig_completeness(void) {
    enum { N = 8 * 7 * 3 };
    float *x = random_pixels(N), *baseline = calloc(N, sizeof(float)), mask[N];
    double *w = random_weights(N, 1e-3), *v = random_weights(N, 1e-2);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, 8, 7, 3, 1);
    static const int steps[] = {16, 64, 256, 1024};
    double gaps[4];
    for (int s = 0; s < 4; s++) {
        sal_completeness c;
        sal_error err;
        int status = sal_guided_ig(&fn, x, baseline, steps[s], 0.25f, 0.1f, NULL, mask, &c, &err);
        CHECK(status == SAL_OK, "guided IG: %s", err.message);
        double want = score_of(&a, x, N) - score_of(&a, baseline, N);
        gaps[s] = fabs(want - sum_of(mask, N)) / fabs(want);
        CHECK(fabs(c.gap - (want - sum_of(mask, N))) <= 1e-5 * fabs(want), "reported gap %g", c.gap);
        printf("guided IG completeness, %d steps: relative gap %.5f\n", steps[s], gaps[s]);
    }
    CHECK(gaps[1] < gaps[0] && gaps[2] < gaps[1] && gaps[3] < gaps[2], "gap does not shrink: %g %g %g %g", gaps[0],
          gaps[1], gaps[2], gaps[3]);
    CHECK(gaps[3] < 0.005, "relative gap %g at 1024 steps", gaps[3]);
    free(x), free(baseline), free(w), free(v);
}

static void test_guided_ig_progress_and_errors(void) {
    enum { N = 4 * 4 * 3 };
    float *x = random_pixels(N), *baseline = calloc(N, sizeof(float)), mask[N];
    double *w = random_weights(N, 1e-3), *v = random_weights(N, 1e-2);
    analytic a = {F_COUPLED, w, v};
    sal_fn fn = analytic_fn(&a, 4, 4, 3, 1);
    sal_error err;
    recorder rec = {.monotone = 1};
    sal_progress progress = {record, &rec};
    CHECK(sal_guided_ig(&fn, x, baseline, 8, 0.1f, 0.02f, &progress, mask, NULL, &err) == SAL_OK, "%s", err.message);
    CHECK(rec.monotone && rec.calls == 9 && rec.last == 1.0, "progress: %d calls, last %g", rec.calls, rec.last);
    rec = (recorder){.monotone = 1, .cancel_at = 3};
    CHECK(sal_guided_ig(&fn, x, baseline, 8, 0.1f, 0.02f, &progress, mask, NULL, &err) == SAL_ERR_CANCELLED,
          "cancel");
    CHECK(sal_guided_ig(&fn, x, baseline, 0, 0.1f, 0.02f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT, "0 steps");
    CHECK(sal_guided_ig(&fn, x, baseline, 4, 0.0f, 0.02f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "fraction"),
          "fraction 0: %s", err.message);
    CHECK(sal_guided_ig(&fn, x, baseline, 4, 1.5f, 0.02f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT, "fraction 1.5");
    CHECK(sal_guided_ig(&fn, x, baseline, 4, 0.1f, -0.1f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "max_dist"),
          "negative max_dist: %s", err.message);
    CHECK(sal_guided_ig(&fn, x, baseline, 4, 0.1f, NAN, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT, "NaN max_dist");
    CHECK(sal_guided_ig(&fn, x, NULL, 4, 0.1f, 0.1f, NULL, mask, NULL, &err) == SAL_ERR_ARGUMENT, "NULL baseline");
    baseline[3] = INFINITY;
    CHECK(sal_guided_ig(&fn, x, baseline, 4, 0.1f, 0.1f, NULL, mask, NULL, &err) == SAL_ERR_NUMERIC &&
              strstr(err.message, "baseline"),
          "infinite baseline: %s", err.message);
    free(x), free(baseline), free(w), free(v);
}

/* --------------------------------------------------------------- XRAI */

enum { XH = 64, XW = 64, XN = XH * XW };

/* Grey background; a bright disc A (where F cares), a red and a blue box. */
static int planted_region(int y, int x) {
    if ((y - 20) * (y - 20) + (x - 44) * (x - 44) <= 81) return 1;
    if (y >= 40 && y < 54 && x >= 8 && x < 24) return 2;
    if (y >= 8 && y < 20 && x >= 6 && x < 22) return 3;
    return 0;
}

static void planted_picture(float *pixels, double *w) {
    static const float colours[4][3] = {{60, 60, 60}, {240, 240, 240}, {200, 30, 30}, {30, 30, 200}};
    for (int p = 0; p < XN; p++) {
        int region = planted_region(p / XW, p % XW);
        for (int c = 0; c < 3; c++) {
            pixels[p * 3 + c] = colours[region][c];
            w[p * 3 + c] = region == 1 ? 1.0 : 0.01;
        }
    }
}

/* XRAI's pixel attribution for the linear F, in closed form: IG is exact,
 * w (x - black) and w (x - white), averaged, the largest channel kept. */
static void linear_attribution(const float *pixels, const double *w, double *attr) {
    for (int p = 0; p < XN; p++) {
        attr[p] = -INFINITY;
        for (int c = 0; c < 3; c++)
            attr[p] = fmax(attr[p], w[p * 3 + c] * ((pixels[p * 3 + c] - 0.0) + (pixels[p * 3 + c] - 255.0)) / 2);
    }
}

/* Ranks 0..n-1 all used, one map value per rank equal to the mean
 * attribution over its pixels, never increasing with the rank (the
 * leftover region, last, excepted).  Returns the number of ranks. */
static int check_regions(const float *map, const int *rank, const double *attr, int n, int allow_unranked) {
    int n_ranks = 0, bad_rank = 0;
    for (int p = 0; p < n; p++) {
        if (rank[p] < -1 || rank[p] >= n || (rank[p] == -1 && !allow_unranked)) bad_rank = 1;
        if (rank[p] + 1 > n_ranks) n_ranks = rank[p] + 1;
    }
    CHECK(!bad_rank, "a rank outside 0..%d%s", n - 1, allow_unranked ? " or -1" : "");
    if (bad_rank) return 0;
    int consistent = 1, covered_all = 1, ordered = 1;
    double previous = INFINITY;
    for (int r = 0; r < n_ranks; r++) {
        double sum = 0, value = NAN;
        int count = 0;
        for (int p = 0; p < n; p++)
            if (rank[p] == r) {
                if (count && map[p] != value) consistent = 0;
                value = map[p], sum += attr[p], count++;
            }
        if (!count) covered_all = 0;
        if (count && fabs(value - sum / count) > 1e-4 * fmax(1, fabs(sum / count))) consistent = 0;
        if (count && value > previous && r != n_ranks - 1) ordered = 0;
        if (count) previous = value;
    }
    CHECK(covered_all, "some rank below %d has no pixel", n_ranks);
    CHECK(consistent, "a region's map value is not the mean attribution of its pixels");
    CHECK(ordered, "the map increases with the rank");
    return n_ranks;
}

static void test_xrai_planted_regions(void) {
    float *pixels = malloc(XN * 3 * sizeof *pixels), *black = calloc(XN * 3, sizeof *black),
          *white = malloc(XN * 3 * sizeof *white), *map = malloc(XN * sizeof *map),
          *map_part = malloc(XN * sizeof *map);
    double *w = malloc(XN * 3 * sizeof *w), *attr = malloc(XN * sizeof *attr);
    int *rank = malloc(XN * sizeof *rank), *rank_part = malloc(XN * sizeof *rank);
    for (int i = 0; i < XN * 3; i++) white[i] = 255;
    planted_picture(pixels, w);
    linear_attribution(pixels, w, attr);
    analytic a = {F_LINEAR, w, NULL};
    sal_fn fn = analytic_fn(&a, XH, XW, 3, 8);
    sal_completeness c;
    sal_error err;
    recorder rec = {.monotone = 1};
    sal_progress progress = {record, &rec};
    int status = sal_xrai(&fn, pixels, pixels, black, white, 8, 1.0f, &progress, map, rank, &c, &err);
    CHECK(status == SAL_OK, "xrai: %s", err.message);
    if (status) goto done;
    CHECK(rec.monotone && rec.last == 1.0 && rec.calls > 4, "progress: %d calls, last %g", rec.calls, rec.last);
    int in_first = 0, disc = 0, first_near_disc = 1;
    for (int p = 0; p < XN; p++) {
        int y = p / XW, x = p % XW;
        if (planted_region(y, x) == 1) disc++, in_first += rank[p] == 0;
        /* rank 0 is the disc's segment dilated by 5: within 5 pixels of it */
        if (rank[p] == 0 && (y - 20) * (y - 20) + (x - 44) * (x - 44) > 14 * 14) first_near_disc = 0;
    }
    CHECK(in_first == disc, "%d of the disc's %d pixels ranked first", in_first, disc);
    CHECK(first_near_disc, "rank 0 reaches beyond the dilated disc");
    int n_ranks = check_regions(map, rank, attr, XN, 0);
    printf("xrai planted: %d regions\n", n_ranks);
    CHECK(n_ranks >= 3, "only %d regions", n_ranks);
    double f_x = score_of(&a, pixels, XN * 3);
    double want = (f_x - score_of(&a, black, XN * 3) + f_x - score_of(&a, white, XN * 3)) / 2;
    CHECK(fabs(c.score_difference - want) <= 1e-5 * fabs(want), "F(x) - F(x') %g, want %g", c.score_difference, want);
    CHECK(fabs(c.gap) <= 1e-4 * fabs(want), "completeness gap %g for a linear F", c.gap);

    /* A quarter of the picture: the same first regions, the rest unranked. */
    status = sal_xrai(&fn, pixels, pixels, black, white, 8, 0.25f, NULL, map_part, rank_part, NULL, &err);
    CHECK(status == SAL_OK, "xrai 0.25: %s", err.message);
    int ranked = 0, same_gain = 1;
    double rest_sum = 0, rest_map = NAN;
    for (int p = 0; p < XN; p++) {
        if (rank_part[p] >= 0) ranked++, same_gain &= map_part[p] == map[p];
        else rest_sum += attr[p], rest_map = map_part[p];
    }
    CHECK(ranked > XN / 4 && ranked < XN, "%d of %d pixels ranked for an area threshold of 0.25", ranked, XN);
    CHECK(same_gain, "the first regions' gains differ from the full run's");
    CHECK(fabs(rest_map - rest_sum / (XN - ranked)) <= 1e-4 * fmax(1, fabs(rest_map)),
          "unranked pixels' map %g, mean attribution %g", rest_map, rest_sum / (XN - ranked));
    check_regions(map_part, rank_part, attr, XN, 1);
done:
    free(pixels), free(black), free(white), free(map), free(map_part), free(w), free(attr), free(rank), free(rank_part);
}

/* The whole pipeline on a photo against a restatement of PAIR's xrai.py with
 * skimage's felzenszwalb and dilation: attribution max_c s(p) (x_c - 127.5)
 * (XRAI's IG of the linear F with weights s(p), exact), identical ranks. */
static double xrai_weight(int y, int x) { /* xrai_weight() of the golden script */
    return cos(0.11 * y) * sin(0.07 * x + 0.5) + 0.3 * cos(0.05 * (x + y));
}

static void test_xrai_against_pair(void) {
    sal_image photo = {0}, golden = {0};
    sal_error err;
    int ok = sal_image_load(PATHS_GOLDEN("chelsea_128.png"), &photo, &err) == SAL_OK;
    ok = ok && sal_image_load(PATHS_GOLDEN("xrai_chelsea_128_rank.png"), &golden, &err) == SAL_OK;
    CHECK(ok && photo.width == 128 && photo.height == 128, "xrai goldens: %s", err.message);
    if (!ok) goto done;
    int h = photo.height, wd = photo.width, n = h * wd;
    double *w = malloc((size_t)n * 3 * sizeof *w), *attr = malloc((size_t)n * sizeof *attr);
    float *black = calloc((size_t)n * 3, sizeof *black), *white = malloc((size_t)n * 3 * sizeof *white),
          *map = malloc((size_t)n * sizeof *map);
    int *rank = malloc((size_t)n * sizeof *rank), same = 0;
    for (int p = 0; p < n; p++) {
        attr[p] = -INFINITY;
        for (int c = 0; c < 3; c++) {
            w[p * 3 + c] = xrai_weight(p / wd, p % wd);
            white[p * 3 + c] = 255;
            attr[p] = fmax(attr[p], w[p * 3 + c] * (photo.data[p * 3 + c] - 127.5));
        }
    }
    analytic a = {F_LINEAR, w, NULL};
    sal_fn fn = analytic_fn(&a, h, wd, 3, 4);
    int status = sal_xrai(&fn, photo.data, photo.data, black, white, 4, 1.0f, NULL, map, rank, NULL, &err);
    CHECK(status == SAL_OK, "xrai: %s", err.message);
    int regions = 0;
    for (int p = 0; p < n; p++) {
        same += rank[p] == (int)golden.data[p * 3];
        if (rank[p] + 1 > regions) regions = rank[p] + 1;
    }
    printf("xrai vs PAIR restatement on chelsea 128: %d regions, %d of %d ranks identical\n", regions, same, n);
    CHECK(same == n, "%d of %d pixels ranked as PAIR's algorithm ranks them", same, n);
    check_regions(map, rank, attr, n, 0);
    free(w), free(attr), free(black), free(white), free(map), free(rank);
done:
    sal_image_free(&photo), sal_image_free(&golden);
}

static void test_xrai_errors(void) {
    float *pixels = calloc(XN * 3, sizeof *pixels), *map = malloc(XN * sizeof *map);
    double *w = calloc(XN * 3, sizeof *w);
    int *rank = malloc(XN * sizeof *rank);
    analytic a = {F_LINEAR, w, NULL};
    sal_fn fn = analytic_fn(&a, XH, XW, 3, 4);
    sal_error err;
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 0, 1.0f, NULL, map, rank, NULL, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "steps"),
          "zero steps: %s", err.message);
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, 0.0f, NULL, map, rank, NULL, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "area"),
          "area 0: %s", err.message);
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, 1.5f, NULL, map, rank, NULL, &err) == SAL_ERR_ARGUMENT,
          "area 1.5");
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, NAN, NULL, map, rank, NULL, &err) == SAL_ERR_ARGUMENT,
          "area NaN");
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, 1.0f, NULL, map, NULL, NULL, &err) == SAL_ERR_ARGUMENT,
          "NULL rank");
    recorder rec = {.monotone = 1, .cancel_at = 2};
    sal_progress progress = {record, &rec};
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, 1.0f, &progress, map, rank, NULL, &err) ==
              SAL_ERR_CANCELLED,
          "cancel: %s", err.message);
    /* a flat picture is one segment per scale: everything is rank 0 */
    int status = sal_xrai(&fn, pixels, pixels, pixels, pixels, 2, 1.0f, NULL, map, rank, NULL, &err);
    int all_first = 1;
    for (int p = 0; p < XN; p++) all_first &= rank[p] == 0;
    CHECK(status == SAL_OK && all_first, "flat picture: %s", err.message);
    pixels[5] = NAN;
    CHECK(sal_xrai(&fn, pixels, pixels, pixels, pixels, 4, 1.0f, NULL, map, rank, NULL, &err) != SAL_OK,
          "NaN photo accepted");
    free(pixels), free(map), free(w), free(rank);
}

int main(void) {
    test_blur_ig_against_reference();
    test_blur_ig_completeness();
    test_blur_ig_progress_and_errors();
    test_guided_ig_against_reference();
    test_guided_ig_is_ig_without_freedom();
    test_guided_ig_completeness();
    test_guided_ig_progress_and_errors();
    test_xrai_planted_regions();
    test_xrai_against_pair();
    test_xrai_errors();
    return check_report();
}
