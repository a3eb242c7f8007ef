/* Integrated Gradients and SmoothGrad on the real Keras ResNet50 (asset cache)
 * against PyTorch autograd (tools/make_goldens_resnet50_methods.py, float64,
 * goldens in tests/goldens/methods/resnet50).
 *
 * Input: the synthetic pattern image of tools/make_goldens.py, rebuilt here
 * by the same formula, under caffe preprocessing; F = logit of the top class.
 *
 * IG: sal_explain with 16 trapezoid steps from the black baseline, i.e.
 *     IG = (x - x') * sum_k w_k dF(x' + a_k (x - x'))/dx,  a_k = k/15,
 * the same sum the reference takes.  SmoothGrad: sal_smoothgrad_with_noise
 * over the vanilla gradient with 3 noise samples that both sides compute from
 * one formula (a SplitMix64 counter hash, uniforms in (0, 1], Box-Muller in
 * double, one cast to float), sigma = 0.15 (max x - min x); aggregates mean
 * and squared.  The two calls share the same 3 backward passes: the base
 * replays a sample it has already explained for the same noisy input.
 *
 * Maps are compared in RGB order pooled over 8x8 blocks (28x28x3): cosine
 * >= 0.9999; their sum, sum |m| and max |m| within 0.2%; F(x) and
 * F(x) - F(x') within 1e-3 relative, the completeness gap within 0.2% of
 * F(x) - F(x').  Float32 against float64 on the same inputs lands at cosine
 * 0.999999 and stats within 6e-5 (printed on each run): the tolerances leave
 * a margin of 30 or more yet catch a wrong quadrature (left Riemann sums
 * instead of the trapezoid move the IG sum by 3%). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes/error.h"
#include "golden_helpers.h"
#include "methods/methods.h"
#include "saliency.h"

#define SIZE 224
#define PIXELS (SIZE * SIZE)
#define VALUES (PIXELS * 3)
#define BLOCK 8
#define SMALL (SIZE / BLOCK)
#define SMALL_VALUES (SMALL * SMALL * 3)

#define IG_STEPS 16
#define SAMPLES 3
#define NOISE_LEVEL 0.15
#define NOISE_SEED 20240801ull
#define TWO_PI 6.283185307179586

#define MIN_COSINE 0.9999
#define STATS_RTOL 2e-3
#define SCORE_RTOL 1e-3

/* ------------------------------------------------------------ helpers */

static float *read_golden(const char *name, size_t expected) {
    char relative[512];
    snprintf(relative, sizeof relative, "methods/resnet50/%s", name);
    return golden_read_npy(relative, expected);
}

static double seconds_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* The map (224x224x3, RGB order) against <name>_small.npy and <name>_stats.npy. */
static void compare_map(const char *name, const float *map) {
    char file[128];
    snprintf(file, sizeof file, "%s_small.npy", name);
    float *want_small = read_golden(file, SMALL_VALUES);
    snprintf(file, sizeof file, "%s_stats.npy", name);
    float *want_stats = read_golden(file, 3);
    if (want_small && want_stats) {
        float small[SMALL_VALUES];
        golden_block_average_f64(map, small);
        double got[3] = {0, 0, 0};
        for (size_t i = 0; i < VALUES; i++) {
            got[0] += map[i];
            got[1] += fabs(map[i]);
            got[2] = fmax(got[2], fabs(map[i]));
        }
        double cosine = golden_cosine(small, want_small, SMALL_VALUES);
        const char *stat_names[3] = {"sum", "sum |m|", "max |m|"};
        printf("ResNet50 %s: pooled cosine %.6f; stats (C / golden - 1):", name, cosine);
        for (int k = 0; k < 3; k++) printf(" %s %+.2e", stat_names[k], got[k] / want_stats[k] - 1);
        printf("\n");
        CHECK(cosine >= MIN_COSINE, "ResNet50 %s: pooled cosine %.6f < %g", name, cosine, MIN_COSINE);
        for (int k = 0; k < 3; k++)
            CHECK(fabs(got[k] / want_stats[k] - 1) <= STATS_RTOL, "ResNet50 %s: %s is %.6g, golden %.6g", name,
                  stat_names[k], got[k], want_stats[k]);
    }
    free(want_small);
    free(want_stats);
}

/* ---------------------------------------------------- Integrated Gradients */

static void test_integrated_gradients(sal_context *ctx, const sal_preprocess *caffe, float *pixels, int target) {
    float *scores = read_golden("ig_scores.npy", 4); /* F(x), F(x'), F(x) - F(x'), gap */
    if (!scores) return;
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.steps = IG_STEPS;
    o.quadrature = SAL_QUADRATURE_RIEMANN_TRAPEZOID;
    o.baseline = SAL_BASELINE_BLACK;
    sal_image image = {SIZE, SIZE, 3, pixels};
    sal_explanation out;
    sal_error err;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int status = sal_explain(ctx, caffe, &image, &o, &out, &err);
    CHECK(status == SAL_OK, "ResNet50 IG: %s", err.message);
    if (status == SAL_OK) {
        printf("ResNet50 IG-%d took %.1f s\n", IG_STEPS, seconds_since(&start));
        CHECK(out.target == target, "ResNet50 IG: top class %d, golden %d", out.target, target);
        CHECK(out.has_completeness, "ResNet50 IG: no completeness");
        double difference = scores[2];
        printf("ResNet50 IG: F(x) %.5f (golden %.5f), F(x) - F(x') %.5f (golden %.5f), gap %.5f (golden %.5f)\n",
               out.score, scores[0], out.score_difference, difference, out.completeness_gap, scores[3]);
        CHECK(fabs(out.score - scores[0]) <= SCORE_RTOL * fabs(scores[0]), "ResNet50 IG: F(x) %.6g, golden %.6g",
              out.score, scores[0]);
        CHECK(fabs(out.score_difference - difference) <= SCORE_RTOL * fabs(difference),
              "ResNet50 IG: F(x) - F(x') %.6g, golden %.6g", out.score_difference, difference);
                CHECK(fabs(out.completeness_gap - scores[3]) <= STATS_RTOL * fabs(difference),
              "ResNet50 IG: completeness gap %.6g, golden %.6g", out.completeness_gap, scores[3]);
        compare_map("ig", out.data);
        sal_explanation_free(&out);
    }
    free(scores);
}

/* ------------------------------------------------------------- SmoothGrad */

/* SplitMix64's output function of a counter. */
static uint64_t splitmix64(uint64_t counter) {
    uint64_t z = counter + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* An exact double in (0, 1]. */
static double uniform_of(uint64_t counter) { return (double)((splitmix64(counter) >> 11) + 1) * 0x1p-53; }

/* smooth_noise() of the generator: Box-Muller on the uniforms of counters
 * seed + 2^32 s + 2i and + 2i + 1. */
static void smooth_noise(int sample, double sigma, float *noise) {
    uint64_t first = NOISE_SEED + ((uint64_t)sample << 32);
    for (size_t i = 0; i < VALUES; i++) {
        double u1 = uniform_of(first + 2 * i), u2 = uniform_of(first + 2 * i + 1);
        noise[i] = (float)(sigma * (sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2)));
    }
}

static void check_noise(const float *noise) {
    float *want = read_golden("noise_check.npy", SAMPLES * 3); /* per sample: sum e, sum e^2, e[0] */
    for (int s = 0; s < SAMPLES && want; s++) {
        const float *e = noise + (size_t)s * VALUES;
        double sum = 0, squares = 0;
        for (size_t i = 0; i < VALUES; i++) sum += e[i], squares += (double)e[i] * e[i];
        const float *w = want + s * 3;
        CHECK(fabs(sum - w[0]) <= 1e-4 * sqrt(w[1]) && fabs(squares / w[1] - 1) <= 1e-6 &&
                  fabs(e[0] - w[2]) <= 1e-6 * fabs(w[2]),
              "SmoothGrad noise %d: sum %.6g, sum of squares %.9g, e[0] %.9g; golden %.6g, %.9g, %.9g", s, sum,
              squares, e[0], w[0], w[1], w[2]);
    }
    free(want);
}

/* The vanilla gradient as SmoothGrad's base.  Samples are explained in
 * order; a call that repeats an input already explained at that position
 * replays its mask, so mean and squared share the backward passes. */
typedef struct {
    const sal_fn *fn;
    float *inputs, *masks; /* SAMPLES x VALUES each */
    int recorded, position, computed;
} replaying_base;

static int explain_replaying(void *user, const float *x, int batch, float *masks, sal_error *err) {
    replaying_base *base = user;
    int first = base->position;
    if (first + batch > SAMPLES) return sal_fail(err, SAL_ERR_ARGUMENT, "more samples than the test expects");
    base->position += batch;
    size_t bytes = (size_t)batch * VALUES * sizeof *x;
    if (first + batch <= base->recorded && memcmp(base->inputs + (size_t)first * VALUES, x, bytes) == 0) {
        memcpy(masks, base->masks + (size_t)first * VALUES, bytes);
        return SAL_OK;
    }
    int status = sal_gradient(base->fn, x, batch, masks, err);
    if (status != SAL_OK) return status;
    base->computed += batch;
    memcpy(base->inputs + (size_t)first * VALUES, x, bytes);
    memcpy(base->masks + (size_t)first * VALUES, masks, bytes);
    if (first + batch > base->recorded) base->recorded = first + batch;
    return SAL_OK;
}

static void test_smoothgrad(sal_context *ctx, const float *x, int target) {
    sal_fn fn;
    sal_context_fn storage;
    sal_error err;
    int status = sal_fn_for_context(&fn, &storage, ctx, SIZE, SIZE, target, SAL_RELU_STANDARD, 0, &err);
    CHECK(status == SAL_OK, "sal_fn_for_context: %s", err.message);
    float *noise = malloc((size_t)SAMPLES * VALUES * sizeof *noise), *mask = malloc(VALUES * sizeof *mask);
    replaying_base user = {&fn, malloc((size_t)SAMPLES * VALUES * sizeof(float)),
                           malloc((size_t)SAMPLES * VALUES * sizeof(float)), 0, 0, 0};
    int allocated = noise && mask && user.inputs && user.masks;
    CHECK(allocated, "out of memory for SmoothGrad");
    if (status != SAL_OK || !allocated) goto done;
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < VALUES; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    double sigma = NOISE_LEVEL * ((double)hi - (double)lo);
    for (int s = 0; s < SAMPLES; s++) smooth_noise(s, sigma, noise + (size_t)s * VALUES);
    check_noise(noise);

    sal_smooth_base base = {explain_replaying, &user, fn.max_batch, VALUES, VALUES};
    const struct {
        sal_aggregate aggregate;
        const char *golden;
    } runs[] = {{SAL_AGGREGATE_MEAN, "smooth_mean"}, {SAL_AGGREGATE_SQUARED, "smooth_squared"}};
    sal_preprocess caffe;
    sal_preprocess_preset("caffe", &caffe, &err);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int r = 0; r < 2; r++) {
        user.position = 0;
        status = sal_smoothgrad_with_noise(&base, x, SAMPLES, noise, runs[r].aggregate, NULL, mask, &err);
        CHECK(status == SAL_OK, "ResNet50 SmoothGrad (%s): %s", runs[r].golden, err.message);
        if (status != SAL_OK) continue;
        sal_preprocess_gradient_to_rgb(&caffe, mask, PIXELS);
        compare_map(runs[r].golden, mask);
    }
    printf("ResNet50 SmoothGrad: %d backward passes for both aggregates, %.1f s\n", user.computed,
           seconds_since(&start));
    CHECK(user.computed == SAMPLES, "ResNet50 SmoothGrad: %d gradients computed for %d samples", user.computed,
          SAMPLES);
done:
    free(noise);
    free(mask);
    free(user.inputs);
    free(user.masks);
}

int main(void) {
    sal_error err;
    sal_model *model = sal_model_load_tfjs(SAL_ASSETS_DIR "/resnet50/model.json", &err);
    CHECK(model != NULL, "ResNet50: %s", err.message);
    sal_context *ctx = model ? sal_context_create(model, 0, &err) : NULL;
    CHECK(!model || ctx, "context: %s", err.message);
    float *target = read_golden("target.npy", 1);
    float *pixels = malloc(VALUES * sizeof *pixels), *x = malloc(VALUES * sizeof *x);
    sal_preprocess caffe;
    sal_preprocess_preset("caffe", &caffe, &err);
    if (ctx && target && pixels && x) {
        golden_pattern_pixels(pixels);
        sal_preprocess_apply(&caffe, pixels, PIXELS, x);
        test_integrated_gradients(ctx, &caffe, pixels, (int)target[0]);
        test_smoothgrad(ctx, x, (int)target[0]);
    }
    free(pixels);
    free(x);
    free(target);
    sal_context_free(ctx);
    sal_model_free(model);
    return check_report();
}
