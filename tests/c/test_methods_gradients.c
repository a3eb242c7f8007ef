/* The gradient methods, SmoothGrad and Integrated Gradients (src/methods),
 * each against a reference that does not use the code under test:
 *
 *  - quadrature rules against closed-form integrals of polynomials and
 *    exp(a) (Gauss-Legendre with n points is exact to degree 2n - 1; the
 *    Riemann and trapezoid rules' errors have known values and orders);
 *  - the random generator against the moments of N(0, 1) and U[0, 1);
 *  - Integrated Gradients and SmoothGrad on analytic functions whose
 *    integrals and noise statistics are known in closed form;
 *  - on three small CNNs, goldens of tools/make_goldens_gradients.py (float64
 *    PyTorch autograd): Gradient x Input, Guided Backprop, Deconvnet, IG with
 *    the same 128-point trapezoid rule (tight) and against the integral itself
 *    (loose: the quadrature's own error), SmoothGrad with the very noise the
 *    golden used, for the three aggregates;
 *  - batching: results do not depend on the batch size the memory budget
 *    allows; progress reports and cancellation.
 *
 * Tolerances.  The CNN goldens are exact up to float64 rounding; the library
 * computes in float32 (relative error ~1e-6 of a tensor's largest value for
 * these networks), so values pass with |got - want| <= 1e-4 max|want| +
 * 1e-3 |want|, as in test_goldens.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/npy.h"
#include "check.h"
#include "methods/methods.h"
#include "saliency.h"

#define GRADIENT_GOLDENS SAL_GOLDENS_DIR "/methods/gradients"

/* ------------------------------------------------------------ helpers */

typedef struct {
    float *data;
    size_t count;
    int shape[SAL_NPY_MAX_DIMS], ndim;
} array;

static array read_array(const char *model, const char *file) {
    char path[1024];
    array a = {0};
    sal_error err;
    snprintf(path, sizeof path, "%s/%s/%s", GRADIENT_GOLDENS, model, file);
    int status = sal_npy_read(path, &a.data, a.shape, &a.ndim, &err);
    CHECK(status == SAL_OK, "reading %s: %s", path, err.message);
    a.count = status == SAL_OK ? 1 : 0;
    for (int i = 0; status == SAL_OK && i < a.ndim; i++) a.count *= (size_t)a.shape[i];
    return a;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

/* |got - want| <= atol_share * max|want| + rtol * |want| everywhere. */
static void expect_close(const char *what, const float *got, const float *want, size_t n, double atol_share,
                         double rtol) {
    double atol = atol_share * max_abs(want, n) + 1e-12;
    double worst = check_close_ratio(got, want, n, atol, rtol);
    CHECK(worst <= 1.0, "%s: worst error %.3g x tolerance (atol %.3g = %.0e of max|want|, rtol %.0e)", what, worst,
          atol, atol_share, rtol);
}

static double sum_of(const float *a, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i];
    return s;
}

/* ------------------------------------------------------------ quadrature */

static double rule_integral(const double *a, const double *w, int n, double (*f)(double, double), double p) {
    double s = 0;
    for (int k = 0; k < n; k++) s += w[k] * f(a[k], p);
    return s;
}

static double power(double a, double degree) { return pow(a, degree); }
static double exponential(double a, double unused) { return exp(a); }

static int make_rule(sal_quadrature q, int n, double **a, double **w) {
    *a = malloc((size_t)n * sizeof **a);
    *w = malloc((size_t)n * sizeof **w);
    sal_error err;
    int status = sal_quadrature_rule(q, n, *a, *w, &err);
    CHECK(status == SAL_OK, "sal_quadrature_rule(%d, %d): %s", (int)q, n, err.message);
    return status == SAL_OK;
}

/* Gauss-Legendre with n points integrates a^d exactly for d <= 2n - 1, and not a^(2n). */
static void test_gauss_legendre_exactness(void) {
    const int sizes[] = {1, 2, 3, 4, 5, 7, 10, 16, 32, 64};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int n = sizes[s];
        double *a, *w;
        if (make_rule(SAL_QUADRATURE_GAUSS_LEGENDRE, n, &a, &w)) {
            int ordered = 1;
            for (int k = 0; k < n; k++) ordered &= a[k] > 0 && a[k] < 1 && w[k] > 0 && (k == 0 || a[k] > a[k - 1]);
            CHECK(ordered, "Gauss-Legendre %d: nodes not increasing inside (0, 1) or a weight <= 0", n);
            double worst = 0;
            for (int d = 0; d <= 2 * n - 1 && d <= 40; d++)
                worst = fmax(worst, fabs(rule_integral(a, w, n, power, d) - 1.0 / (d + 1)));
            CHECK(worst < 1e-13, "Gauss-Legendre %d: polynomials up to degree %d off by %.3g", n, 2 * n - 1, worst);
            if (n <= 7) { /* the error on a^(2n) is (n!)^4 / ((2n + 1) ((2n)!)^2): 1/12 for n = 1, 6e-9 for n = 7 */
                double nf = tgamma(n + 1.0), n2f = tgamma(2.0 * n + 1.0);
                double want = pow(nf, 4) / ((2 * n + 1) * n2f * n2f);
                double miss = 1.0 / (2 * n + 1) - rule_integral(a, w, n, power, 2 * n);
                CHECK(fabs(miss - want) < 1e-6 * want, "Gauss-Legendre %d: error on a^%d is %.6g, expected %.6g", n,
                      2 * n, miss, want);
            }
        }
        free(a);
        free(w);
    }
}

/* Closed forms: left/right Riemann sums of a are 1/2 -/+ 1/(2n); the
 * midpoint sum of a^2 is 1/3 - 1/(12 n^2); the trapezoid (m = n - 1
 * intervals) gives 1/3 + 1/(6 m^2); left/right and trapezoid are exact for 1. */
static void test_riemann_closed_forms(void) {
    for (int n = 2; n <= 64; n *= 2) {
        double *a, *w;
        if (make_rule(SAL_QUADRATURE_RIEMANN_LEFT, n, &a, &w))
            CHECK(fabs(rule_integral(a, w, n, power, 1) - (0.5 - 0.5 / n)) < 1e-14, "left Riemann sum of a, n=%d", n);
        free(a);
        free(w);
        if (make_rule(SAL_QUADRATURE_RIEMANN_RIGHT, n, &a, &w))
            CHECK(fabs(rule_integral(a, w, n, power, 1) - (0.5 + 0.5 / n)) < 1e-14, "right Riemann sum of a, n=%d", n);
        free(a);
        free(w);
        if (make_rule(SAL_QUADRATURE_RIEMANN_MIDDLE, n, &a, &w))
            CHECK(fabs(rule_integral(a, w, n, power, 2) - (1.0 / 3 - 1.0 / (12.0 * n * n))) < 1e-14,
                  "midpoint sum of a^2, n=%d", n);
        free(a);
        free(w);
        if (make_rule(SAL_QUADRATURE_RIEMANN_TRAPEZOID, n, &a, &w)) {
            double m = n - 1;
            CHECK(fabs(rule_integral(a, w, n, power, 2) - (1.0 / 3 + 1.0 / (6 * m * m))) < 1e-14,
                  "trapezoid sum of a^2, n=%d", n);
            CHECK(a[0] == 0.0 && a[n - 1] == 1.0, "trapezoid nodes must start at 0 and end at 1 (n=%d)", n);
        }
        free(a);
        free(w);
    }
}

/* Orders of convergence on exp: doubling n divides the error by ~2 (Riemann
 * left/right) or ~4 (midpoint, trapezoid). */
static void test_error_orders(void) {
    struct {
        sal_quadrature q;
        const char *name;
        double ratio;
    } rules[] = {{SAL_QUADRATURE_RIEMANN_LEFT, "left", 2},
                 {SAL_QUADRATURE_RIEMANN_RIGHT, "right", 2},
                 {SAL_QUADRATURE_RIEMANN_MIDDLE, "middle", 4},
                 {SAL_QUADRATURE_RIEMANN_TRAPEZOID, "trapezoid", 4}};
    double exact = exp(1.0) - 1.0;
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        double errors[2];
        for (int i = 0; i < 2; i++) {
            int n = 64 << i;
            double *a, *w;
            errors[i] = make_rule(rules[r].q, n, &a, &w) ? fabs(rule_integral(a, w, n, exponential, 0) - exact) : 0;
            free(a);
            free(w);
        }
        double ratio = errors[0] / errors[1];
        CHECK(fabs(ratio - rules[r].ratio) < 0.05 * rules[r].ratio,
              "%s rule: error ratio %.3f when the steps double, expected %.0f", rules[r].name, ratio, rules[r].ratio);
    }
}

static void test_quadrature_errors(void) {
    double a[4], w[4];
    sal_error err;
    CHECK(sal_quadrature_rule(SAL_QUADRATURE_GAUSS_LEGENDRE, 0, a, w, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "steps"),
          "0 steps: %s", err.message);
    CHECK(sal_quadrature_rule(SAL_QUADRATURE_RIEMANN_TRAPEZOID, 1, a, w, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "trapezoid"),
          "trapezoid with 1 step: %s", err.message);
    CHECK(sal_quadrature_rule((sal_quadrature)17, 4, a, w, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "quadrature"),
          "unknown quadrature: %s", err.message);
}

/* ------------------------------------------------------------- random */

static void moments(const float *v, size_t n, double *mean, double *variance) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++) s2 += (v[i] - *mean) * (v[i] - *mean);
    *variance = s2 / n;
}

static void test_random(void) {
    enum { N = 200000 };
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    double mean, variance;
    sal_random_normal(7, a, N);
    moments(a, N, &mean, &variance);
    /* 5 standard errors: sd(mean) = 1/sqrt(N); sd(variance) = sqrt(2/N). */
    CHECK(fabs(mean) < 5 / sqrt(N), "normal draws: mean %.5f", mean);
    CHECK(fabs(variance - 1) < 5 * sqrt(2.0 / N), "normal draws: variance %.5f", variance);
    size_t beyond = 0;
    for (size_t i = 0; i < N; i++) beyond += fabsf(a[i]) > 1.959964f;
    CHECK(fabs((double)beyond / N - 0.05) < 0.003, "normal draws: %.4f beyond +-1.96, expected 0.05",
          (double)beyond / N);
    sal_random_normal(7, b, 1001); /* a prefix: odd length, as a batch of another size would draw */
    CHECK(memcmp(a, b, 1001 * sizeof *a) == 0, "the first 1001 normal draws of a seed depend on how many are drawn");
    sal_random_normal(8, b, N);
    CHECK(memcmp(a, b, N * sizeof *a) != 0, "seeds 7 and 8 give the same normal draws");

    sal_random_uniform(3, a, N);
    float lo = a[0], hi = a[0];
    for (size_t i = 0; i < N; i++) lo = fminf(lo, a[i]), hi = fmaxf(hi, a[i]);
    moments(a, N, &mean, &variance);
    CHECK(lo >= 0 && hi < 1, "uniform draws outside [0, 1): %g .. %g", lo, hi);
    CHECK(fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / N), "uniform draws: mean %.5f", mean);
    CHECK(fabs(variance - 1.0 / 12) < 0.002, "uniform draws: variance %.5f", variance);
    sal_random_uniform(3, b, 10);
    CHECK(memcmp(a, b, 10 * sizeof *a) == 0, "uniform draws are not reproducible");
    free(a);
    free(b);
}

/* ------------------------------------------------ analytic functions */

/* F(x) = sum_i c_i x_i^3 (+ the scores' bookkeeping of batch sizes). */
typedef struct {
    const float *c;
    int largest_batch;
} cubic;

static int eval_cubic(const sal_fn *fn, const float *x, int batch, float *scores, float *grads, sal_error *err) {
    cubic *f = fn->user;
    if (batch > f->largest_batch) f->largest_batch = batch;
    size_t n = sal_fn_size(fn);
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (size_t)b * n;
        double score = 0;
        for (size_t i = 0; i < n; i++) {
            score += (double)f->c[i] * xb[i] * xb[i] * xb[i];
            if (grads) grads[(size_t)b * n + i] = 3.0f * f->c[i] * xb[i] * xb[i];
        }
        if (scores) scores[b] = (float)score;
    }
    return SAL_OK;
}

typedef struct {
    int calls, cancel_at;
    double last;
    int monotone;
} progress_log;

static int log_progress(void *user, double fraction) {
    progress_log *log = user;
    log->calls++;
    if (fraction < log->last || fraction > 1) log->monotone = 0;
    log->last = fraction;
    return log->cancel_at && log->calls >= log->cancel_at;
}

/* IG of a cubic: (x - x') * integral of 3 c (x' + a (x - x'))^2 = c (x^3 - x'^3);
 * Gauss-Legendre with 2 nodes integrates the quadratic exactly. */
static void test_ig_analytic(void) {
    enum { H = 3, W = 4, C = 2, N = H * W * C };
    float c[N], x[N], baseline[N], mask[N];
    for (int i = 0; i < N; i++) {
        c[i] = (float)(0.5 + 0.1 * (i % 7) - 0.3 * (i % 2));
        x[i] = (float)(1.0 - 0.13 * i);
        baseline[i] = (float)(0.2 * ((i * 5) % 3) - 0.1);
    }
    cubic f = {c, 0};
    sal_fn fn = {eval_cubic, H, W, C, 3, &f};
    sal_completeness comp;
    sal_error err;
    progress_log log = {0, 0, 0, 1};
    sal_progress progress = {log_progress, &log};
    int status = sal_integrated_gradients(&fn, x, baseline, 2, SAL_QUADRATURE_GAUSS_LEGENDRE, &progress, mask,
                                          &comp, &err);
    CHECK(status == SAL_OK, "IG on a cubic: %s", err.message);
    float want[N];
    double score_difference = 0;
    for (int i = 0; i < N; i++) {
        want[i] = (float)(c[i] * ((double)x[i] * x[i] * x[i] - (double)baseline[i] * baseline[i] * baseline[i]));
        score_difference += want[i];
    }
    expect_close("IG (Gauss-Legendre, 2 nodes) of a cubic", mask, want, N, 1e-6, 1e-5);
    CHECK(fabs(comp.score_difference - score_difference) < 1e-5 * fabs(score_difference),
          "IG on a cubic: F(x) - F(x') = %.7g, expected %.7g", comp.score_difference, score_difference);
    CHECK(fabs(comp.gap) < 1e-5 * fabs(score_difference), "IG on a cubic: completeness gap %.3g", comp.gap);
    CHECK(log.calls >= 1 && log.monotone && log.last == 1.0, "IG progress: %d reports, monotone %d, last %g",
          log.calls, log.monotone, log.last);

    /* Seven trapezoid steps (m = 6 intervals) in batches of at most 3.  The
     * integrand h(a) = 3 c (x' + a d)^2, d = x - x', is quadratic, so the
     * trapezoid sum is exactly its integral + h''/(12 m^2), h'' = 6 c d^2. */
    f.largest_batch = 0;
    status = sal_integrated_gradients(&fn, x, baseline, 7, SAL_QUADRATURE_RIEMANN_TRAPEZOID, NULL, mask, &comp, &err);
    CHECK(status == SAL_OK && f.largest_batch == 3, "IG with max_batch 3: %s (largest batch %d)", err.message,
          f.largest_batch);
    for (int i = 0; i < N; i++) {
        double d = (double)x[i] - baseline[i];
        want[i] += (float)(6.0 * c[i] * d * d * d / (12.0 * 36.0));
    }
    expect_close("IG (trapezoid, 7 steps) of a cubic against the closed-form trapezoid sum", mask, want, N, 1e-6,
                 1e-5);
    CHECK(fabs(comp.gap - (score_difference - sum_of(mask, N))) < 1e-9 + 1e-6 * fabs(comp.gap),
          "IG gap %.7g is not F(x) - F(x') - sum of the mask", comp.gap);

    log = (progress_log){0, 2, 0, 1};
    status = sal_integrated_gradients(&fn, x, baseline, 9, SAL_QUADRATURE_RIEMANN_MIDDLE, &progress, mask, &comp,
                                      &err);
    CHECK(status == SAL_ERR_CANCELLED && strcmp(err.message, "cancelled") == 0 && log.calls == 2,
          "IG cancelled at the second report: status %d '%s' after %d reports", status, err.message, log.calls);
    CHECK(sal_integrated_gradients(&fn, x, baseline, 0, SAL_QUADRATURE_RIEMANN_LEFT, NULL, mask, &comp, &err) ==
              SAL_ERR_ARGUMENT,
          "IG with 0 steps must fail");
}

/* F(x) = |x|^2 / 2, so dF/dx = x: SmoothGrad's mean is x + mean noise, its
 * variance the noise's, sigma^2 = (noise level * (max x - min x))^2. */
static int eval_half_square(const sal_fn *fn, const float *x, int batch, float *scores, float *grads,
                            sal_error *err) {
    size_t n = (size_t)batch * sal_fn_size(fn);
    for (size_t i = 0; grads && i < n; i++) grads[i] = x[i];
    return SAL_OK;
}

typedef struct {
    const sal_fn *fn;
    int largest_batch;
} gradient_base;

static int explain_gradient(void *user, const float *x, int batch, float *masks, sal_error *err) {
    gradient_base *base = user;
    if (batch > base->largest_batch) base->largest_batch = batch;
    return sal_gradient(base->fn, x, batch, masks, err);
}

static void test_smoothgrad_analytic(void) {
    enum { N = 64, SAMPLES = 4000 };
    float x[N], mask[N];
    for (int i = 0; i < N; i++) x[i] = (float)(i % 9) - 2.0f; /* range 8 */
    sal_fn fn = {eval_half_square, 8, 8, 1, 32, NULL};
    gradient_base user = {&fn, 0};
    sal_smooth_base base = {explain_gradient, &user, 7, N, N};
    sal_error err;
    double sigma = 0.25 * 8;
    int status = sal_smoothgrad(&base, x, SAMPLES, 0.25f, 11, SAL_AGGREGATE_VARGRAD, NULL, mask, &err);
    CHECK(status == SAL_OK && user.largest_batch == 7, "SmoothGrad (analytic): %s, largest batch %d", err.message,
          user.largest_batch);
    double mean_variance = sum_of(mask, N) / N;
    /* The average of 64 sample variances of 4000 draws: sd ~ sigma^2 sqrt(2/4000)/8 = 0.28% */
    CHECK(fabs(mean_variance / (sigma * sigma) - 1) < 0.015, "VarGrad %.4f, expected sigma^2 = %.4f", mean_variance,
          sigma * sigma);
    status = sal_smoothgrad(&base, x, SAMPLES, 0.25f, 11, SAL_AGGREGATE_MEAN, NULL, mask, &err);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(mask[i] - x[i]));
    CHECK(status == SAL_OK && worst < 5 * sigma / sqrt(SAMPLES), "SmoothGrad mean strays %.4f from the gradient",
          worst);
    status = sal_smoothgrad(&base, x, 3, 0.0f, 11, SAL_AGGREGATE_SQUARED, NULL, mask, &err);
    int exact = status == SAL_OK;
    for (int i = 0; i < N; i++) exact &= mask[i] == x[i] * x[i];
    CHECK(exact, "SmoothGrad^2 without noise must be the squared gradient exactly");

    progress_log log = {0, 3, 0, 1};
    sal_progress progress = {log_progress, &log};
    status = sal_smoothgrad(&base, x, 50, 0.1f, 1, SAL_AGGREGATE_MEAN, &progress, mask, &err);
    CHECK(status == SAL_ERR_CANCELLED && log.calls == 3, "SmoothGrad cancelled at the third report: %d after %d",
          status, log.calls);
    CHECK(sal_smoothgrad(&base, x, 0, 0.1f, 1, SAL_AGGREGATE_MEAN, NULL, mask, &err) == SAL_ERR_ARGUMENT,
          "SmoothGrad with 0 samples must fail");
    CHECK(sal_smoothgrad(&base, x, 5, NAN, 1, SAL_AGGREGATE_MEAN, NULL, mask, &err) == SAL_ERR_ARGUMENT,
          "SmoothGrad with a NaN noise level must fail");
    CHECK(sal_smoothgrad(&base, x, 5, 0.1f, 1, (sal_aggregate)9, NULL, mask, &err) == SAL_ERR_ARGUMENT,
          "SmoothGrad with an unknown aggregate must fail");
}

static void test_progress_sub(void) {
    progress_log log = {0, 0, 0, 1};
    sal_progress outer = {log_progress, &log};
    sal_progress_range range;
    sal_progress inner = sal_progress_sub(&outer, &range, 0.25, 0.75);
    sal_error err;
    CHECK(sal_progress_step(&inner, 1, 2, &err) == SAL_OK && fabs(log.last - 0.5) < 1e-15,
          "half of [0.25, 0.75] reported as %g", log.last);
    sal_progress none = {0};
    sal_progress quiet = sal_progress_sub(&none, &range, 0, 1);
    CHECK(sal_progress_step(&quiet, 1, 2, &err) == SAL_OK, "a zeroed progress must stay silent");
}

/* ------------------------------------------------------- CNN goldens */

typedef struct {
    const char *name;
    sal_model *model;
    sal_context *ctx;
    array input, target;
    int height, width;
} cnn;

static int open_cnn(const char *name, cnn *m) {
    char path[1024];
    sal_error err;
    memset(m, 0, sizeof *m);
    m->name = name;
    snprintf(path, sizeof path, "%s/models/%s/model.json", SAL_GOLDENS_DIR, name);
    m->model = sal_model_load_tfjs(path, &err);
    CHECK(m->model != NULL, "%s: %s", path, err.message);
    if (!m->model) return 0;
    m->ctx = sal_context_create(m->model, 2, &err);
    m->input = read_array(name, "input.npy");
    m->target = read_array(name, "target.npy");
    m->height = m->input.shape[0];
    m->width = m->input.shape[1];
    return m->ctx && m->input.data && m->target.data;
}

static void close_cnn(cnn *m) {
    free(m->input.data);
    free(m->target.data);
    sal_context_free(m->ctx);
    sal_model_free(m->model);
}

static int cnn_fn(const cnn *m, sal_relu_rule rule, size_t budget, sal_fn *fn, sal_context_fn *storage) {
    sal_error err;
    int status = sal_fn_for_context(fn, storage, m->ctx, m->height, m->width, (int)m->target.data[0], rule, budget,
                                    &err);
    CHECK(status == SAL_OK, "%s: sal_fn_for_context: %s", m->name, err.message);
    return status == SAL_OK;
}

static void check_against(const cnn *m, const char *file, const float *got, double atol_share, double rtol,
                          const char *what) {
    array want = read_array(m->name, file);
    char label[256];
    snprintf(label, sizeof label, "%s: %s", m->name, what);
    if (want.data) {
        CHECK(want.count == m->input.count, "%s: %s holds %zu values", label, file, want.count);
        if (want.count == m->input.count) expect_close(label, got, want.data, want.count, atol_share, rtol);
    }
    free(want.data);
}

static void test_cnn_gradients(const cnn *m) {
    size_t n = m->input.count;
    float *mask = malloc(2 * n * sizeof *mask), *twice = malloc(2 * n * sizeof *twice);
    sal_fn fn;
    sal_context_fn storage;
    sal_error err;
    const struct {
        sal_relu_rule rule;
        const char *file;
    } rules[] = {{SAL_RELU_GUIDED, "guided.npy"}, {SAL_RELU_DECONVNET, "deconvnet.npy"}};
    for (int r = 0; r < 2; r++) {
        if (!cnn_fn(m, rules[r].rule, 0, &fn, &storage)) continue;
        CHECK(sal_gradient(&fn, m->input.data, 1, mask, &err) == SAL_OK, "%s: sal_gradient: %s", m->name,
              err.message);
        check_against(m, rules[r].file, mask, 1e-4, 1e-3, rules[r].file);
    }
    /* Two copies of the input in batches of one (budget of 1 byte) give the same map twice. */
    if (cnn_fn(m, SAL_RELU_STANDARD, 1, &fn, &storage)) {
        CHECK(fn.max_batch == 1, "%s: a 1-byte budget allows batches of %d", m->name, fn.max_batch);
        memcpy(twice, m->input.data, n * sizeof *twice);
        memcpy(twice + n, m->input.data, n * sizeof *twice);
        CHECK(sal_gradient_x_input(&fn, twice, 2, mask, &err) == SAL_OK, "%s: gradient x input: %s", m->name,
              err.message);
        check_against(m, "grad_x_input.npy", mask, 1e-4, 1e-3, "gradient x input (image 1 of 2)");
        check_against(m, "grad_x_input.npy", mask + n, 1e-4, 1e-3, "gradient x input (image 2 of 2)");
    }
    free(mask);
    free(twice);
}

static int run_ig(const cnn *m, const sal_fn *fn, const float *baseline, int steps, sal_quadrature q, float *mask,
                  sal_completeness *c) {
    sal_error err;
    int status = sal_integrated_gradients(fn, m->input.data, baseline, steps, q, NULL, mask, c, &err);
    CHECK(status == SAL_OK, "%s: IG with %d steps: %s", m->name, steps, err.message);
    return status == SAL_OK;
}

/* IG-128 trapezoid is the golden's very sum: tight.  Against the integral
 * the quadrature's own error counts.  A ReLU network's gradient jumps along
 * the path, so every rule converges as 1/steps, Gauss-Legendre included;
 * measured against the integral, as a share of its largest value: trapezoid
 * 128 <= 0.6%, Gauss-Legendre 128 <= 1.6% (seq_small), 512 steps <= 0.2%.
 * Tolerances: 2% for trapezoid 128, 3% for Gauss-Legendre 128. */
static void test_cnn_ig(const cnn *m) {
    size_t n = m->input.count;
    array baseline = read_array(m->name, "baseline.npy"), ends = read_array(m->name, "ig_scores.npy");
    float *mask = malloc(n * sizeof *mask), *again = malloc(n * sizeof *again);
    sal_fn fn, fn_single;
    sal_context_fn storage, storage_single;
    sal_completeness c, c_single;
    if (baseline.data && ends.data && cnn_fn(m, SAL_RELU_STANDARD, 0, &fn, &storage) &&
        cnn_fn(m, SAL_RELU_STANDARD, 1, &fn_single, &storage_single)) {
        double difference = (double)ends.data[0] - ends.data[1];
        if (run_ig(m, &fn, baseline.data, 128, SAL_QUADRATURE_RIEMANN_TRAPEZOID, mask, &c)) {
            check_against(m, "ig_trapezoid128.npy", mask, 1e-4, 1e-3, "IG, trapezoid 128 steps");
            check_against(m, "ig_integral.npy", mask, 0.02, 0, "IG, trapezoid 128 steps vs the integral");
            CHECK(fabs(c.score_difference - difference) < 1e-4 * (1 + fabs(difference)),
                  "%s: F(x) - F(x') = %.6f, golden %.6f", m->name, c.score_difference, difference);
            CHECK(fabs(c.gap - (c.score_difference - sum_of(mask, n))) < 1e-6 * (1 + fabs(difference)),
                  "%s: the gap is not F(x) - F(x') - sum of the mask", m->name);
        }
        if (run_ig(m, &fn_single, baseline.data, 128, SAL_QUADRATURE_RIEMANN_TRAPEZOID, again, &c_single))
            expect_close("IG in batches of 1 vs batches of 32", again, mask, n, 1e-6, 1e-5);
        if (run_ig(m, &fn, baseline.data, 128, SAL_QUADRATURE_GAUSS_LEGENDRE, mask, &c))
            check_against(m, "ig_integral.npy", mask, 0.03, 0, "IG, Gauss-Legendre 128 nodes vs the integral");
        /* Completeness improves with the steps. */
        double gaps[3];
        const int steps[3] = {4, 32, 512};
        for (int s = 0; s < 3; s++)
            gaps[s] = run_ig(m, &fn, baseline.data, steps[s], SAL_QUADRATURE_RIEMANN_TRAPEZOID, mask, &c)
                          ? fabs(c.gap) / fabs(c.score_difference)
                          : NAN;
        CHECK(gaps[2] < gaps[0] && gaps[2] < 2e-3, "%s: completeness gaps %.3g, %.3g, %.3g at 4, 32, 512 steps",
              m->name, gaps[0], gaps[1], gaps[2]);
    }
    free(mask);
    free(again);
    free(baseline.data);
    free(ends.data);
}

typedef struct {
    const char *file;
    sal_aggregate aggregate;
} aggregate_golden;

static void test_cnn_smoothgrad(const cnn *m) {
    size_t n = m->input.count;
    array noise = read_array(m->name, "smooth_noise.npy");
    float *mask = malloc(n * sizeof *mask), *other = malloc(n * sizeof *other);
    const aggregate_golden goldens[] = {{"smooth_mean.npy", SAL_AGGREGATE_MEAN},
                                        {"smooth_squared.npy", SAL_AGGREGATE_SQUARED},
                                        {"smooth_vargrad.npy", SAL_AGGREGATE_VARGRAD}};
    sal_fn fn, fn_single;
    sal_context_fn storage, storage_single;
    sal_error err;
    if (noise.data && cnn_fn(m, SAL_RELU_STANDARD, 0, &fn, &storage) &&
        cnn_fn(m, SAL_RELU_STANDARD, 1, &fn_single, &storage_single)) {
        int samples = noise.shape[0];
        gradient_base user = {&fn, 0};
        sal_smooth_base base = {explain_gradient, &user, fn.max_batch, n, n};
        for (int g = 0; g < 3; g++) {
            int status = sal_smoothgrad_with_noise(&base, m->input.data, samples, noise.data, goldens[g].aggregate,
                                                   NULL, mask, &err);
            CHECK(status == SAL_OK, "%s: SmoothGrad with noise: %s", m->name, err.message);
            check_against(m, goldens[g].file, mask, 1e-4, 1e-3, goldens[g].file);
        }
        int allowed = samples < fn.max_batch ? samples : fn.max_batch;
        CHECK(user.largest_batch == allowed, "%s: SmoothGrad's %d samples went in batches of at most %d, not %d",
              m->name, samples, user.largest_batch, allowed);
        /* Drawn noise: reproducible, and independent of the batch size. */
        sal_smoothgrad(&base, m->input.data, 9, 0.2f, 42, SAL_AGGREGATE_MEAN, NULL, mask, &err);
        gradient_base single_user = {&fn_single, 0};
        sal_smooth_base single = {explain_gradient, &single_user, 2, n, n};
        sal_smoothgrad(&single, m->input.data, 9, 0.2f, 42, SAL_AGGREGATE_MEAN, NULL, other, &err);
        expect_close("SmoothGrad with seed 42 in batches of 2 (of 1 image each) vs batches of 32", other, mask, n, 1e-6,
                     1e-5);
        sal_smoothgrad(&base, m->input.data, 9, 0.2f, 42, SAL_AGGREGATE_MEAN, NULL, other, &err);
        CHECK(memcmp(mask, other, n * sizeof *mask) == 0, "%s: SmoothGrad with the same seed differs", m->name);
        sal_smoothgrad(&base, m->input.data, 9, 0.2f, 43, SAL_AGGREGATE_MEAN, NULL, other, &err);
        CHECK(memcmp(mask, other, n * sizeof *mask) != 0, "%s: seeds 42 and 43 give the same SmoothGrad", m->name);
    }
    free(mask);
    free(other);
    free(noise.data);
}

/* The context as a function: budget -> batch size, argument checks. */
static void test_context_fn(const cnn *m) {
    size_t one = 0, two = 0;
    sal_error err;
    CHECK(sal_backward_memory(m->ctx, 1, m->height, m->width, &one, &err) == SAL_OK &&
              sal_backward_memory(m->ctx, 2, m->height, m->width, &two, &err) == SAL_OK,
          "%s: sal_backward_memory: %s", m->name, err.message);
    size_t input_bytes = m->input.count * sizeof(float);
    CHECK(one > 2 * input_bytes && two >= one && two <= 2 * one + 4096,
          "%s: a backward pass of 1 image needs %zu bytes, of 2 images %zu (input %zu bytes)", m->name, one, two,
          input_bytes);
    size_t needs[33] = {0};
    for (int b = 1; b <= 32; b++) sal_backward_memory(m->ctx, b, m->height, m->width, &needs[b], &err);
    CHECK(needs[32] <= 32 * one + 4096, "%s: 32 images need %zu bytes, more than 32 x %zu", m->name, needs[32], one);
    sal_fn fn;
    sal_context_fn storage;
    const size_t budgets[] = {3 * one, 3 * one - 1, 2 * one, 1, 1000 * one};
    for (int k = 0; k < 5; k++) {
        if (!cnn_fn(m, SAL_RELU_STANDARD, budgets[k], &fn, &storage)) continue;
        int b = fn.max_batch;
        CHECK(b >= 1 && b <= 32 && (b == 1 || needs[b] <= budgets[k]),
              "%s: a budget of %zu bytes gives batches of %d, which need %zu bytes", m->name, budgets[k], b,
              b >= 1 && b <= 32 ? needs[b] : 0);
        CHECK(b >= 2 || needs[2] > budgets[k], "%s: a budget of %zu bytes fits 2 images, yet batches are of 1",
              m->name, budgets[k]);
    }
    /* One worker runs a batch's images one after another in the same memory,
     * so there the budget of one image can admit several. */
    cnn_fn(m, SAL_RELU_STANDARD, one, &fn, &storage);
    int over = fn.max_batch + 1;
    float *scores = malloc((size_t)over * sizeof *scores), *grads = malloc(over * m->input.count * sizeof *grads);
    float *inputs = malloc(over * m->input.count * sizeof *inputs);
    for (int b = 0; b < over; b++) memcpy(inputs + b * m->input.count, m->input.data, m->input.count * sizeof *inputs);
    CHECK(fn.eval(&fn, inputs, over, scores, grads, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "batch"),
          "%s: a batch of %d, above max_batch, must be refused: %s", m->name, over, err.message);
    CHECK(fn.eval(&fn, m->input.data, 1, scores, NULL, &err) == SAL_OK, "%s: forward-only eval: %s", m->name,
          err.message);
    int classes = sal_model_num_classes(m->model);
    CHECK(sal_fn_for_context(&fn, &storage, m->ctx, m->height, m->width, classes, SAL_RELU_STANDARD, 0, &err) ==
                  SAL_ERR_ARGUMENT &&
              strstr(err.message, "target"),
          "%s: target %d of %d classes: %s", m->name, classes, classes, err.message);
    free(grads), free(scores), free(inputs);
}

static void test_cnn(const char *name) {
    cnn m;
    int failed_before = check_failed;
    if (open_cnn(name, &m)) {
        test_context_fn(&m);
        test_cnn_gradients(&m);
        test_cnn_ig(&m);
        test_cnn_smoothgrad(&m);
    }
    close_cnn(&m);
    printf("%-14s %s\n", name, check_failed == failed_before ? "ok" : "FAILED");
}

int main(void) {
    test_gauss_legendre_exactness();
    test_riemann_closed_forms();
    test_error_orders();
    test_quadrature_errors();
    test_random();
    test_progress_sub();
    test_ig_analytic();
    test_smoothgrad_analytic();
    const char *models[] = {"seq_small", "resnet_block", "inception_mix"};
    for (int i = 0; i < 3; i++) test_cnn(models[i]);
    return check_report();
}
