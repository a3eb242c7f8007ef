/* sal_explain end to end: names, defaults, every argument error, the
 * dispatch to each method, RGB order, progress and cancellation, and the
 * ResNet50 acceptance figures.
 *
 * References.  On the small CNN seq_small (12x12x3, 5 classes) with the
 * "none" preprocessing the pixels are the model input, so the results meet
 * the float64 PyTorch goldens directly: the vanilla gradient and logits of
 * tests/goldens/models/seq_small (tools/make_goldens.py), Guided Backprop,
 * Deconvnet, Gradient x Input and Integrated Gradients (128 trapezoid steps
 * from an image baseline) of tests/goldens/methods/gradients/seq_small
 * (tools/make_goldens_gradients.py).  The methods of other files (Grad-CAM,
 * occlusion, the path methods) are checked here only for the wiring: the
 * explanation equals the method called directly on the preprocessed input.
 *
 * ResNet50 (asset cache): the synthetic pattern image of make_goldens.py
 * through sal_explain with caffe preprocessing, Guided Backprop and
 * Gradient x Input against goldens pooled over 8x8 blocks (cosine >= 0.9999,
 * stats within 0.2%: float32 against float64 on the same pixels, as in
 * test_resnet50.c), and Integrated Gradients (64 trapezoid steps, black
 * baseline) on chelsea.png, whose completeness gap must stay within 5% of
 * |F(x) - F(x')|. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden_helpers.h"
#include "image/blur.h"
#include "methods/methods.h"
#include "saliency.h"

#define SIZE 12
#define PIXELS (SIZE * SIZE)
#define VALUES (PIXELS * 3)
#define CLASSES 5

/* ------------------------------------------------------------ helpers */

/* At least `expected` values (the golden may hold more). */
static float *read_npy(const char *relative, size_t expected) { return golden_read_npy_count(relative, expected, 1); }

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static void expect_close(const char *what, const float *got, const float *want, size_t n) {
    double atol = 1e-4 * max_abs(want, n) + 1e-12;
    double worst = check_close_ratio(got, want, n, atol, 1e-3);
    CHECK(worst <= 1.0, "%s: worst error %.3g x tolerance", what, worst);
}

static void expect_equal(const char *what, const float *got, const float *want, size_t n) {
    CHECK(memcmp(got, want, n * sizeof *got) == 0, "%s: values differ", what);
}

typedef struct {
    sal_model *model;
    sal_context *ctx;
    sal_preprocess none;
    float *pixels;       /* models/seq_small image 0 (model space = pixels under "none") */
    float *logits;       /* its golden logits */
    float *vanilla;      /* golden vanilla gradient for target */
    int target;
    float *gx;           /* methods/gradients/seq_small: its own input and goldens */
    float *gx_target;
} small_model;

static sal_image image_of(float *data) {
    sal_image image = {SIZE, SIZE, 3, data};
    return image;
}

static int open_small(small_model *s) {
    sal_error err;
    memset(s, 0, sizeof *s);
    s->model = sal_model_load_tfjs(SAL_GOLDENS_DIR "/models/seq_small/model.json", &err);
    CHECK(s->model != NULL, "loading seq_small: %s", err.message);
    if (!s->model) return 0;
    s->ctx = sal_context_create(s->model, 2, &err);
    sal_preprocess_preset("none", &s->none, &err);
    s->pixels = read_npy("models/seq_small/input.npy", VALUES);
    s->logits = read_npy("models/seq_small/logits.npy", CLASSES);
    s->vanilla = read_npy("models/seq_small/grad_standard.npy", VALUES);
    float *targets = read_npy("models/seq_small/targets.npy", 1);
    s->target = targets ? (int)targets[0] : 0;
    free(targets);
    s->gx = read_npy("methods/gradients/seq_small/input.npy", VALUES);
    s->gx_target = read_npy("methods/gradients/seq_small/target.npy", 1);
    return s->ctx && s->pixels && s->logits && s->vanilla && s->gx && s->gx_target;
}

static void close_small(small_model *s) {
    free(s->pixels);
    free(s->logits);
    free(s->vanilla);
    free(s->gx);
    free(s->gx_target);
    sal_context_free(s->ctx);
    sal_model_free(s->model);
}

static int explain(const small_model *s, float *pixels, const sal_explain_options *o, sal_explanation *out,
                   const char *what) {
    sal_image image = image_of(pixels);
    sal_error err;
    int status = sal_explain(s->ctx, &s->none, &image, o, out, &err);
    CHECK(status == SAL_OK, "%s: sal_explain failed: %s", what, err.message);
    CHECK(status != SAL_OK || (out->height == SIZE && out->width == SIZE && out->data),
          "%s: explanation of %dx%d", what, out->width, out->height);
    return status == SAL_OK;
}

/* ------------------------------------------------------ names, defaults */

static void test_names(void) {
    const char *names[SAL_METHOD_COUNT] = {"vanilla",   "gradient-x-input", "guided-backprop", "deconvnet",
                                           "integrated-gradients", "occlusion", "grad-cam", "guided-grad-cam",
                                           "xrai",      "blur-ig",          "guided-ig"};
    for (int m = 0; m < SAL_METHOD_COUNT; m++) {
        CHECK(sal_method_from_name(names[m]) == m, "'%s' parses as %d, expected %d", names[m],
              sal_method_from_name(names[m]), m);
        CHECK(strcmp(sal_method_name((sal_method)m), names[m]) == 0, "method %d is named '%s', expected '%s'", m,
              sal_method_name((sal_method)m), names[m]);
    }
    CHECK(sal_method_from_name("Vanilla") == -1 && sal_method_from_name("") == -1 &&
              sal_method_from_name(NULL) == -1 && sal_method_from_name("smoothgrad") == -1,
          "unknown method names must give -1");
    CHECK(sal_method_name(SAL_METHOD_COUNT) != NULL, "an unknown method must still have a printable name");
}

static void test_defaults(void) {
    sal_explain_options o;
    memset(&o, 0x5a, sizeof o);
    sal_explain_defaults(&o);
    CHECK(o.method == SAL_METHOD_VANILLA && o.target < 0 && o.smooth_samples == 0 && o.smooth_noise == 0.15f &&
              o.smooth_aggregate == SAL_AGGREGATE_MEAN && o.seed == 0,
          "defaults: method %d target %d samples %d noise %g aggregate %d", o.method, o.target, o.smooth_samples,
          o.smooth_noise, o.smooth_aggregate);
    CHECK(o.steps == 32 && o.baseline == SAL_BASELINE_BLACK && !o.baseline_pixels &&
              o.quadrature == SAL_QUADRATURE_RIEMANN_TRAPEZOID && !o.layer,
          "defaults: steps %d baseline %d quadrature %d", o.steps, o.baseline, o.quadrature);
    CHECK(o.window == 16 && o.stride == 8 && o.baseline_value == 0 && o.blur_max_sigma == 50 &&
              o.guided_fraction == 0.25f && o.guided_max_dist == 0.02f && o.xrai_area_threshold == 1.0f &&
              o.memory_budget == 0 && !o.progress.report,
          "defaults: window %d stride %d sigma %g fraction %g max_dist %g area %g", o.window, o.stride,
          o.blur_max_sigma, o.guided_fraction, o.guided_max_dist, o.xrai_area_threshold);
}

/* --------------------------------------------------- argument errors */

typedef struct {
    const char *what;
    sal_method method;
    void (*change)(sal_explain_options *o);
    sal_status status;
    const char *message; /* must appear in the error */
} option_case;

static void bad_method(sal_explain_options *o) { o->method = (sal_method)99; }
static void bad_target(sal_explain_options *o) { o->target = CLASSES; }
static void negative_samples(sal_explain_options *o) { o->smooth_samples = -1; }
static void too_many_samples(sal_explain_options *o) { o->smooth_samples = 10001; }
static void negative_noise(sal_explain_options *o) { o->smooth_samples = 3, o->smooth_noise = -0.1f; }
static void nan_noise(sal_explain_options *o) { o->smooth_samples = 3, o->smooth_noise = NAN; }
static void bad_aggregate(sal_explain_options *o) { o->smooth_samples = 3, o->smooth_aggregate = (sal_aggregate)7; }
static void smooth_xrai(sal_explain_options *o) { o->smooth_samples = 3; }
static void zero_steps(sal_explain_options *o) { o->steps = 0; }
static void too_many_steps(sal_explain_options *o) { o->steps = 4097; }
static void one_trapezoid_step(sal_explain_options *o) { o->steps = 1; }
static void bad_baseline(sal_explain_options *o) { o->baseline = (sal_baseline)9; }
static void missing_baseline_pixels(sal_explain_options *o) { o->baseline = SAL_BASELINE_IMAGE; }
static void bad_quadrature(sal_explain_options *o) { o->quadrature = (sal_quadrature)9; }
static void zero_window(sal_explain_options *o) { o->window = 0; }
static void zero_stride(sal_explain_options *o) { o->stride = 0; }
static void large_window(sal_explain_options *o) { o->window = SIZE + 1; }
static void nan_patch(sal_explain_options *o) { o->window = 4, o->baseline_value = NAN; }
static void zero_sigma(sal_explain_options *o) { o->blur_max_sigma = 0; }
static void huge_sigma(sal_explain_options *o) { o->blur_max_sigma = 1e30f; }
static void huge_noise(sal_explain_options *o) { o->smooth_samples = 3, o->smooth_noise = 3e38f; }
static void zero_fraction(sal_explain_options *o) { o->guided_fraction = 0; }
static void large_fraction(sal_explain_options *o) { o->guided_fraction = 1.5f; }
static void negative_max_dist(sal_explain_options *o) { o->guided_max_dist = -1; }
static void zero_area(sal_explain_options *o) { o->xrai_area_threshold = 0; }
static void unknown_layer(sal_explain_options *o) { o->layer = "no_such_layer"; }

static const option_case option_cases[] = {
    {"unknown method", SAL_METHOD_VANILLA, bad_method, SAL_ERR_ARGUMENT, "unknown method"},
    {"target out of range", SAL_METHOD_VANILLA, bad_target, SAL_ERR_ARGUMENT, "target class 5"},
    {"negative samples", SAL_METHOD_VANILLA, negative_samples, SAL_ERR_ARGUMENT, "smooth_samples"},
    {"too many samples", SAL_METHOD_VANILLA, too_many_samples, SAL_ERR_ARGUMENT, "smooth_samples"},
    {"negative noise", SAL_METHOD_VANILLA, negative_noise, SAL_ERR_ARGUMENT, "smooth_noise"},
    {"NaN noise", SAL_METHOD_VANILLA, nan_noise, SAL_ERR_ARGUMENT, "smooth_noise"},
    {"unknown aggregate", SAL_METHOD_VANILLA, bad_aggregate, SAL_ERR_ARGUMENT, "smooth_aggregate"},
    {"SmoothGrad over XRAI", SAL_METHOD_XRAI, smooth_xrai, SAL_ERR_UNSUPPORTED, "xrai"},
    {"IG with 0 steps", SAL_METHOD_INTEGRATED_GRADIENTS, zero_steps, SAL_ERR_ARGUMENT, "steps"},
    {"IG with 4097 steps", SAL_METHOD_INTEGRATED_GRADIENTS, too_many_steps, SAL_ERR_ARGUMENT, "steps"},
    {"trapezoid with 1 step", SAL_METHOD_INTEGRATED_GRADIENTS, one_trapezoid_step, SAL_ERR_ARGUMENT, "trapezoid"},
    {"Blur IG with 0 steps", SAL_METHOD_BLUR_IG, zero_steps, SAL_ERR_ARGUMENT, "steps"},
    {"XRAI with 4097 steps", SAL_METHOD_XRAI, too_many_steps, SAL_ERR_ARGUMENT, "steps"},
    {"unknown baseline", SAL_METHOD_INTEGRATED_GRADIENTS, bad_baseline, SAL_ERR_ARGUMENT, "unknown baseline"},
    {"Guided IG, unknown baseline", SAL_METHOD_GUIDED_IG, bad_baseline, SAL_ERR_ARGUMENT, "unknown baseline"},
    {"image baseline without pixels", SAL_METHOD_INTEGRATED_GRADIENTS, missing_baseline_pixels, SAL_ERR_ARGUMENT,
     "baseline_pixels"},
    {"unknown quadrature", SAL_METHOD_INTEGRATED_GRADIENTS, bad_quadrature, SAL_ERR_ARGUMENT, "quadrature"},
    {"occlusion window 0", SAL_METHOD_OCCLUSION, zero_window, SAL_ERR_ARGUMENT, "window"},
    {"occlusion stride 0", SAL_METHOD_OCCLUSION, zero_stride, SAL_ERR_ARGUMENT, "stride"},
    {"occlusion window larger than the input", SAL_METHOD_OCCLUSION, large_window, SAL_ERR_ARGUMENT, "window 13"},
    {"occlusion NaN patch", SAL_METHOD_OCCLUSION, nan_patch, SAL_ERR_ARGUMENT, "baseline_value"},
    {"Blur IG sigma 0", SAL_METHOD_BLUR_IG, zero_sigma, SAL_ERR_ARGUMENT, "blur_max_sigma"},
    {"Blur IG sigma 1e30", SAL_METHOD_BLUR_IG, huge_sigma, SAL_ERR_ARGUMENT, "blur_max_sigma"},
    {"SmoothGrad noise 3e38", SAL_METHOD_VANILLA, huge_noise, SAL_ERR_ARGUMENT, "overflows"},
    {"Guided IG fraction 0", SAL_METHOD_GUIDED_IG, zero_fraction, SAL_ERR_ARGUMENT, "guided_fraction"},
    {"Guided IG fraction 1.5", SAL_METHOD_GUIDED_IG, large_fraction, SAL_ERR_ARGUMENT, "guided_fraction"},
    {"Guided IG max_dist -1", SAL_METHOD_GUIDED_IG, negative_max_dist, SAL_ERR_ARGUMENT, "guided_max_dist"},
    {"XRAI area 0", SAL_METHOD_XRAI, zero_area, SAL_ERR_ARGUMENT, "xrai_area_threshold"},
    {"Grad-CAM unknown layer", SAL_METHOD_GRAD_CAM, unknown_layer, SAL_ERR_ARGUMENT, "no_such_layer"},
};

static void expect_failure(const small_model *s, const sal_preprocess *pre, const sal_image *image,
                           const sal_explain_options *o, sal_status want, const char *message, const char *what) {
    sal_explanation out;
    sal_error err = {SAL_OK, ""};
    memset(&out, 0x5a, sizeof out);
    int status = sal_explain(s->ctx, pre, image, o, &out, &err);
    CHECK(status == (int)want && err.status == want && strstr(err.message, message) != NULL,
          "%s: status %d, message '%s'; expected status %d mentioning '%s'", what, status, err.message, (int)want,
          message);
    CHECK(out.data == NULL && out.low_data == NULL && out.region_rank == NULL,
          "%s: a failed explanation must hold no buffers", what);
}

static void test_option_errors(const small_model *s) {
    sal_image image = image_of(s->pixels);
    for (size_t i = 0; i < sizeof option_cases / sizeof option_cases[0]; i++) {
        const option_case *c = &option_cases[i];
        sal_explain_options o;
        sal_explain_defaults(&o);
        o.method = c->method;
        c->change(&o);
        expect_failure(s, &s->none, &image, &o, c->status, c->message, c->what);
    }
    /* Options a method does not use are not checked: the default 16-pixel
     * window is larger than this 12x12 model, yet vanilla gradients run. */
    sal_explain_options o;
    sal_explain_defaults(&o);
    sal_explanation out;
    if (explain(s, s->pixels, &o, &out, "vanilla with an unused 16-pixel window")) sal_explanation_free(&out);
}

static void test_input_errors(const small_model *s) {
    sal_explain_options o;
    sal_explain_defaults(&o);
    float *pixels = malloc(VALUES * sizeof *pixels);
    memcpy(pixels, s->pixels, VALUES * sizeof *pixels);
    sal_image image = image_of(pixels);

    pixels[(5 * SIZE + 7) * 3 + 1] = NAN;
    expect_failure(s, &s->none, &image, &o, SAL_ERR_NUMERIC, "NaN", "a NaN pixel");
    expect_failure(s, &s->none, &image, &o, SAL_ERR_NUMERIC, "row 5, column 7, channel 1", "the NaN pixel's place");
    pixels[(5 * SIZE + 7) * 3 + 1] = INFINITY;
    expect_failure(s, &s->none, &image, &o, SAL_ERR_NUMERIC, "infinite", "an infinite pixel");
    memcpy(pixels, s->pixels, VALUES * sizeof *pixels);

    sal_image wrong = image;
    wrong.channels = 4;
    expect_failure(s, &s->none, &wrong, &o, SAL_ERR_ARGUMENT, "channels", "4 channels");
    wrong = image;
    wrong.width = SIZE - 1;
    expect_failure(s, &s->none, &wrong, &o, SAL_ERR_SHAPE, "12x12", "a photo of the wrong size");
    wrong = image;
    wrong.data = NULL;
    expect_failure(s, &s->none, &wrong, &o, SAL_ERR_ARGUMENT, "empty", "no pixel data");

    sal_preprocess zero_std = s->none;
    zero_std.std[1] = 0;
    expect_failure(s, &zero_std, &image, &o, SAL_ERR_ARGUMENT, "std[1]", "a zero std");
    sal_preprocess tiny_std = s->none;
    tiny_std.std[0] = 1e-40f;
    expect_failure(s, &tiny_std, &image, &o, SAL_ERR_NUMERIC, "preprocessed pixel", "a std that overflows");
    sal_preprocess huge_scale = s->none;
    huge_scale.scale = 1e38f; /* finite inputs, but the network's sums overflow */
    expect_failure(s, &huge_scale, &image, &o, SAL_ERR_NUMERIC, "overflowed", "vanilla on overflowing inputs");
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    expect_failure(s, &huge_scale, &image, &o, SAL_ERR_NUMERIC, "overflowed", "IG on overflowing inputs");

    float *baseline = malloc(VALUES * sizeof *baseline);
    for (int i = 0; i < VALUES; i++) baseline[i] = i == 40 ? NAN : 0.0f;
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.baseline = SAL_BASELINE_IMAGE;
    o.baseline_pixels = baseline;
    expect_failure(s, &s->none, &image, &o, SAL_ERR_NUMERIC, "baseline pixel", "a NaN baseline pixel");

    sal_explanation out;
    sal_error err;
    CHECK(sal_explain(NULL, &s->none, &image, &o, &out, &err) == SAL_ERR_ARGUMENT, "no context must be refused");
    CHECK(sal_explain(s->ctx, &s->none, &image, NULL, &out, &err) == SAL_ERR_ARGUMENT, "no options must be refused");
    CHECK(sal_explain(s->ctx, &s->none, &image, &o, NULL, &err) == SAL_ERR_ARGUMENT, "no output must be refused");
    sal_explanation_free(NULL);
    free(baseline);
    free(pixels);
}

/* ------------------------------------------------ results vs goldens */

static void test_gradient_methods(const small_model *s) {
    sal_explain_options o;
    sal_explanation out;
    sal_explain_defaults(&o);
    /* Top class and its score from the golden logits. */
    int top = 0;
    for (int k = 1; k < CLASSES; k++)
        if (s->logits[k] > s->logits[top]) top = k;
    if (explain(s, s->pixels, &o, &out, "vanilla, top class")) {
        CHECK(out.target == top && fabsf(out.score - s->logits[top]) < 1e-4f * (1 + fabsf(s->logits[top])),
              "top class %d score %g, golden %d score %g", out.target, out.score, top, s->logits[top]);
        CHECK(out.channels == 3 && !out.has_completeness && !out.low_data && !out.region_rank,
              "vanilla: channels %d, completeness %d", out.channels, out.has_completeness);
        sal_explanation_free(&out);
    }
    o.target = s->target;
    if (explain(s, s->pixels, &o, &out, "vanilla")) {
        CHECK(out.target == s->target && fabsf(out.score - s->logits[s->target]) < 1e-4f * (1 + fabsf(out.score)),
              "vanilla: target %d score %g, golden logit %g", out.target, out.score, s->logits[s->target]);
        expect_close("vanilla through sal_explain", out.data, s->vanilla, VALUES);
        sal_explanation_free(&out);
    }
    const struct {
        sal_method method;
        const char *golden;
    } methods[] = {{SAL_METHOD_GUIDED_BACKPROP, "methods/gradients/seq_small/guided.npy"},
                   {SAL_METHOD_DECONVNET, "methods/gradients/seq_small/deconvnet.npy"},
                   {SAL_METHOD_GRADIENT_X_INPUT, "methods/gradients/seq_small/grad_x_input.npy"}};
    for (int m = 0; m < 3; m++) {
        o.method = methods[m].method;
        o.target = (int)s->gx_target[0];
        float *want = read_npy(methods[m].golden, VALUES);
        if (want && explain(s, s->gx, &o, &out, sal_method_name(o.method))) {
            expect_close(sal_method_name(o.method), out.data, want, VALUES);
            sal_explanation_free(&out);
        }
        free(want);
    }
}

static void test_integrated_gradients(const small_model *s) {
    float *baseline = read_npy("methods/gradients/seq_small/baseline.npy", VALUES);
    float *want = read_npy("methods/gradients/seq_small/ig_trapezoid128.npy", VALUES);
    float *ends = read_npy("methods/gradients/seq_small/ig_scores.npy", 2);
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.target = (int)s->gx_target[0];
    o.steps = 128;
    o.baseline = SAL_BASELINE_IMAGE;
    o.baseline_pixels = baseline;
    o.memory_budget = 1; /* batches of one */
    sal_explanation out;
    if (baseline && want && ends && explain(s, s->gx, &o, &out, "IG, image baseline")) {
        expect_close("IG (128 trapezoid steps) through sal_explain", out.data, want, VALUES);
        double difference = (double)ends[0] - ends[1], total = 0;
        for (int i = 0; i < VALUES; i++) total += out.data[i];
        CHECK(out.has_completeness && fabs(out.score_difference - difference) < 1e-4 * (1 + fabs(difference)) &&
                  fabs(out.completeness_gap - (out.score_difference - total)) < 1e-5,
              "IG completeness: has %d, F(x) - F(x') %g (golden %g), gap %g, sum %g", out.has_completeness,
              out.score_difference, difference, out.completeness_gap, total);
        sal_explanation_free(&out);
    }
    free(baseline);
    free(want);
    free(ends);
}

/* The baselines are pixel values preprocessed like the photo: IG through
 * sal_explain equals sal_integrated_gradients from the baseline built here. */
static void test_baselines(const small_model *s) {
    sal_preprocess tf;
    sal_error err;
    sal_preprocess_preset("tf", &tf, &err);
    float *photo = malloc(VALUES * sizeof *photo), *baseline = malloc(VALUES * sizeof *baseline);
    float *x = malloc(VALUES * sizeof *x), *want = malloc(VALUES * sizeof *want);
    for (int i = 0; i < VALUES; i++) photo[i] = (float)((i * 37) % 256);
    sal_preprocess_apply(&tf, photo, PIXELS, x);
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.target = 1;
    o.steps = 8;
    o.seed = 5;
    const sal_baseline kinds[] = {SAL_BASELINE_BLACK, SAL_BASELINE_WHITE, SAL_BASELINE_NOISE, SAL_BASELINE_BLUR};
    for (int k = 0; k < 4; k++) {
        int ok = 1;
        for (int i = 0; i < VALUES; i++) baseline[i] = kinds[k] == SAL_BASELINE_WHITE ? 255.0f : 0.0f;
        if (kinds[k] == SAL_BASELINE_NOISE) {
            sal_random_uniform(5, baseline, VALUES);
            for (int i = 0; i < VALUES; i++) baseline[i] *= 255.0f;
        }
        if (kinds[k] == SAL_BASELINE_BLUR) ok = sal_gaussian_blur(photo, SIZE, SIZE, 3, 0.1f * SIZE, baseline, &err) == SAL_OK;
        sal_preprocess_apply(&tf, baseline, PIXELS, baseline);
        sal_fn fn;
        sal_context_fn storage;
        sal_completeness c;
        ok = ok && sal_fn_for_context(&fn, &storage, s->ctx, SIZE, SIZE, 1, SAL_RELU_STANDARD, 0, &err) == SAL_OK &&
             sal_integrated_gradients(&fn, x, baseline, 8, SAL_QUADRATURE_RIEMANN_TRAPEZOID, NULL, want, &c, &err) ==
                 SAL_OK;
        CHECK(ok, "baseline %d: reference IG failed: %s", (int)kinds[k], err.message);
        o.baseline = kinds[k];
        sal_image image = image_of(photo);
        sal_explanation out;
        int status = sal_explain(s->ctx, &tf, &image, &o, &out, &err);
        CHECK(status == SAL_OK, "IG with baseline %d: %s", (int)kinds[k], err.message);
        if (status == SAL_OK && ok) {
            char what[64];
            snprintf(what, sizeof what, "IG with baseline %d", (int)kinds[k]);
            expect_close(what, out.data, want, VALUES);
            CHECK(fabs(out.completeness_gap - c.gap) < 1e-5, "%s: gap %g, directly %g", what, out.completeness_gap,
                  c.gap);
        }
        sal_explanation_free(&out);
    }
    free(photo);
    free(baseline);
    free(x);
    free(want);
}

/* A BGR preprocessing: the mask is the gradient with respect to the model
 * input (computed here by hand with the public API), channels swapped back. */
static void test_rgb_order(const small_model *s) {
    sal_preprocess bgr = {0.01f, {0.3f, -0.2f, 0.9f}, {0.5f, 1.5f, 0.8f}, 1};
    float *photo = malloc(VALUES * sizeof *photo), *x = malloc(VALUES * sizeof *x);
    float *grad = malloc(VALUES * sizeof *grad), *want = malloc(VALUES * sizeof *want);
    for (int i = 0; i < VALUES; i++) photo[i] = (float)((i * 11 + (i % 3) * 80) % 256);
    for (int p = 0; p < PIXELS; p++)
        for (int c = 0; c < 3; c++) x[p * 3 + c] = (photo[p * 3 + (2 - c)] * bgr.scale - bgr.mean[c]) / bgr.std[c];
    sal_error err;
    int target = 3;
    CHECK(sal_vanilla_gradients(s->ctx, x, 1, SIZE, SIZE, &target, NULL, grad, &err) == SAL_OK, "vanilla: %s",
          err.message);
    for (int p = 0; p < PIXELS; p++)
        for (int c = 0; c < 3; c++) want[p * 3 + c] = grad[p * 3 + (2 - c)];
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.target = target;
    sal_image image = image_of(photo);
    sal_explanation out;
    int status = sal_explain(s->ctx, &bgr, &image, &o, &out, &err);
    CHECK(status == SAL_OK, "BGR explanation: %s", err.message);
    CHECK(check_close_ratio(grad, want, VALUES, 1e-3 * max_abs(want, VALUES), 0) > 1,
          "the test needs a gradient whose channels differ (max %g)", max_abs(want, VALUES));
    if (status == SAL_OK) expect_close("BGR preprocessing: mask in RGB order", out.data, want, VALUES);
    sal_explanation_free(&out);
    free(photo);
    free(x);
    free(grad);
    free(want);
}

/* SmoothGrad through sal_explain: without noise it is the plain method
 * (mean) and zero (VarGrad); with noise, reproducible from the seed and the
 * same whatever the memory budget. */
static void test_smoothing(const small_model *s) {
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.target = s->target;
    o.smooth_samples = 4;
    o.smooth_noise = 0;
    sal_explanation out, other;
    if (explain(s, s->pixels, &o, &out, "SmoothGrad without noise")) {
        expect_close("SmoothGrad without noise = vanilla", out.data, s->vanilla, VALUES);
        sal_explanation_free(&out);
    }
    o.smooth_aggregate = SAL_AGGREGATE_VARGRAD;
    if (explain(s, s->pixels, &o, &out, "VarGrad without noise")) {
        CHECK(max_abs(out.data, VALUES) == 0, "VarGrad without noise: %g", max_abs(out.data, VALUES));
        sal_explanation_free(&out);
    }
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.smooth_aggregate = SAL_AGGREGATE_MEAN;
    o.smooth_samples = 2;
    o.steps = 6;
    sal_explain_options plain = o;
    plain.smooth_samples = 0;
    if (explain(s, s->pixels, &o, &out, "SmoothGrad over IG")) {
        if (explain(s, s->pixels, &plain, &other, "IG")) {
            expect_close("SmoothGrad over IG without noise = IG", out.data, other.data, VALUES);
            CHECK(!out.has_completeness && other.has_completeness, "completeness must be set only without smoothing");
            sal_explanation_free(&other);
        }
        sal_explanation_free(&out);
    }

    sal_explain_defaults(&o);
    o.method = SAL_METHOD_GUIDED_BACKPROP;
    o.smooth_samples = 7;
    o.seed = 99;
    if (explain(s, s->pixels, &o, &out, "SmoothGrad, large budget")) {
        o.memory_budget = 1;
        sal_explanation again;
        if (explain(s, s->pixels, &o, &other, "SmoothGrad, batches of one")) {
            expect_close("SmoothGrad in batches of one vs one batch", other.data, out.data, VALUES);
            if (explain(s, s->pixels, &o, &again, "SmoothGrad again")) {
                expect_equal("SmoothGrad with the same seed", again.data, other.data, VALUES);
                sal_explanation_free(&again);
            }
            sal_explanation_free(&other);
        }
        o.seed = 100;
        if (explain(s, s->pixels, &o, &other, "SmoothGrad, another seed")) {
            CHECK(memcmp(out.data, other.data, VALUES * sizeof(float)) != 0, "seeds 99 and 100 give the same map");
            sal_explanation_free(&other);
        }
        sal_explanation_free(&out);
    }
}

/* --------------------------------------------- the other files' methods */

static int preprocessed_x(const small_model *s, float *x) {
    sal_preprocess_apply(&s->none, s->pixels, PIXELS, x);
    return 1;
}

static void test_cam_and_occlusion_wiring(const small_model *s) {
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.target = s->target;
    float x[VALUES], up[PIXELS], low[PIXELS], map[PIXELS], guided[VALUES];
    int low_h = 0, low_w = 0;
    sal_error err;
    preprocessed_x(s, x);
    sal_explanation out;

    o.method = SAL_METHOD_GRAD_CAM;
    const char *layer = sal_model_last_spatial_layer(s->model);
    int status = sal_grad_cam(s->ctx, x, SIZE, SIZE, s->target, layer, low, &low_h, &low_w, up, &err);
    CHECK(status == SAL_OK, "sal_grad_cam: %s", err.message);
    if (status == SAL_OK && explain(s, s->pixels, &o, &out, "grad-cam")) {
        CHECK(out.channels == 1 && out.low_data && out.low_height == low_h && out.low_width == low_w,
              "grad-cam: channels %d, low map %dx%d (direct %dx%d)", out.channels, out.low_width, out.low_height,
              low_w, low_h);
        expect_equal("grad-cam map", out.data, up, PIXELS);
        if (out.low_data) expect_equal("grad-cam low map", out.low_data, low, (size_t)low_h * low_w);
        sal_explanation_free(&out);
    }
    o.method = SAL_METHOD_GUIDED_GRAD_CAM;
    sal_fn fn;
    sal_context_fn storage;
    status = sal_fn_for_context(&fn, &storage, s->ctx, SIZE, SIZE, s->target, SAL_RELU_GUIDED, 0, &err);
    if (status == SAL_OK) status = sal_gradient(&fn, x, 1, guided, &err);
    if (status == SAL_OK && explain(s, s->pixels, &o, &out, "guided-grad-cam")) {
        for (int p = 0; p < PIXELS; p++)
            for (int c = 0; c < 3; c++) guided[p * 3 + c] *= up[p];
        CHECK(out.channels == 3, "guided-grad-cam: %d channels", out.channels);
        expect_close("guided-grad-cam = guided backprop x grad-cam", out.data, guided, VALUES);
        sal_explanation_free(&out);
    }
    o.method = SAL_METHOD_OCCLUSION;
    o.window = 4;
    o.stride = 2;
    o.baseline_value = 0.5f;
    float patch[3] = {0.5f, 0.5f, 0.5f};
    status = sal_fn_for_context(&fn, &storage, s->ctx, SIZE, SIZE, s->target, SAL_RELU_STANDARD, 0, &err);
    if (status == SAL_OK) status = sal_occlusion(&fn, x, patch, 4, 2, NULL, map, &err);
    CHECK(status == SAL_OK, "sal_occlusion: %s", err.message);
    if (status == SAL_OK && explain(s, s->pixels, &o, &out, "occlusion")) {
        int repeated = out.channels == 3;
        for (int p = 0; p < PIXELS && repeated; p++)
            for (int c = 0; c < 3; c++) repeated &= out.data[p * 3 + c] == map[p];
        CHECK(repeated, "occlusion: the map must be the direct one repeated into 3 channels");
        sal_explanation_free(&out);
    }
    /* A stride past the input's end leaves the corner at 0 and the flush one:
     * the windows of stride 8 on 12 pixels. */
    o.stride = 2147483647;
    if (status == SAL_OK) status = sal_occlusion(&fn, x, patch, 4, 8, NULL, map, &err);
    if (status == SAL_OK && explain(s, s->pixels, &o, &out, "occlusion with stride INT_MAX")) {
        int same = 1;
        for (int p = 0; p < PIXELS; p++) same &= out.data[p * 3] == map[p];
        CHECK(same, "occlusion with stride INT_MAX must equal stride 8 on a 12-pixel side");
        sal_explanation_free(&out);
    }
}

static void test_path_methods_run(const small_model *s) {
    const sal_method methods[] = {SAL_METHOD_BLUR_IG, SAL_METHOD_GUIDED_IG, SAL_METHOD_XRAI};
    for (int m = 0; m < 3; m++) {
        sal_explain_options o;
        sal_explain_defaults(&o);
        o.method = methods[m];
        o.steps = 8;
        sal_explanation out;
        if (explain(s, s->pixels, &o, &out, sal_method_name(o.method))) {
            CHECK(out.has_completeness && isfinite(out.completeness_gap), "%s: no completeness",
                  sal_method_name(o.method));
            CHECK(out.channels == (methods[m] == SAL_METHOD_XRAI ? 1 : 3) &&
                      (methods[m] != SAL_METHOD_XRAI || out.region_rank),
                  "%s: %d channels", sal_method_name(o.method), out.channels);
            sal_explanation_free(&out);
        }
    }
}

/* ---------------------------------------------- progress, cancellation */

typedef struct {
    int calls;
    double last, stop_at;
    int monotone;
} progress_log;

static int log_progress(void *user, double fraction) {
    progress_log *log = user;
    log->calls++;
    if (fraction < log->last - 1e-12) log->monotone = 0;
    log->last = fraction;
    return log->stop_at > 0 && fraction >= log->stop_at;
}

static void test_progress_and_cancel(const small_model *s) {
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.target = s->target;
    sal_explanation before, out;
    int ok = explain(s, s->pixels, &o, &before, "vanilla before cancelling");
    const struct {
        sal_method method;
        int samples;
    } runs[] = {{SAL_METHOD_INTEGRATED_GRADIENTS, 0}, {SAL_METHOD_VANILLA, 20}, {SAL_METHOD_INTEGRATED_GRADIENTS, 5},
                {SAL_METHOD_OCCLUSION, 0}};
    for (int r = 0; r < 4; r++) {
        sal_explain_options c = o;
        c.method = runs[r].method;
        c.smooth_samples = runs[r].samples;
        c.steps = 64;
        c.window = 2;
        c.stride = 1;
        c.memory_budget = 1;
        progress_log log = {0, 0, 0, 1};
        c.progress = (sal_progress){log_progress, &log};
        char what[96];
        snprintf(what, sizeof what, "%s with %d samples", sal_method_name(c.method), c.smooth_samples);
        if (explain(s, s->pixels, &c, &out, what)) sal_explanation_free(&out);
        CHECK(log.calls >= 4 && log.monotone && log.last == 1.0, "%s: %d reports, monotone %d, last %g", what,
              log.calls, log.monotone, log.last);
        int calls = log.calls;
        log = (progress_log){0, 0, 0.5, 1};
        sal_image image = image_of(s->pixels);
        sal_error err;
        memset(&out, 0x5a, sizeof out);
        int status = sal_explain(s->ctx, &s->none, &image, &c, &out, &err);
        CHECK(status == SAL_ERR_CANCELLED && strcmp(err.message, "cancelled") == 0 && out.data == NULL &&
                  log.calls < calls && log.last < 0.75,
              "%s cancelled half-way: status %d '%s' after %d of %d reports (at %g)", what, status, err.message,
              log.calls, calls, log.last);
    }
    if (ok && explain(s, s->pixels, &o, &out, "vanilla after cancelling")) {
        expect_equal("the context after cancelling", out.data, before.data, VALUES);
        sal_explanation_free(&out);
    }
    if (ok) sal_explanation_free(&before);
}

/* ------------------------------------------------------------ ResNet50 */

#define R_SIZE 224
#define R_PIXELS (R_SIZE * R_SIZE)
#define R_SMALL 28

static void check_resnet_map(const char *name, const float *map) {
    char path[256];
    snprintf(path, sizeof path, "methods/gradients/resnet50_pattern/%s_small.npy", name);
    float *want_small = read_npy(path, R_SMALL * R_SMALL * 3);
    snprintf(path, sizeof path, "methods/gradients/resnet50_pattern/%s_stats.npy", name);
    float *want_stats = read_npy(path, 3);
    if (want_small && want_stats) {
        float small[R_SMALL * R_SMALL * 3];
        golden_block_average_f32(map, small);
        double cosine = golden_cosine(small, want_small, R_SMALL * R_SMALL * 3), got[3];
        golden_abs_stats(map, (size_t)R_PIXELS * 3, got);
        CHECK(cosine >= 0.9999, "ResNet50 %s: pooled cosine %.6f", name, cosine);
        for (int k = 0; k < 3; k++)
            CHECK(fabs(got[k] / want_stats[k] - 1) < 2e-3, "ResNet50 %s: stat %d is %.6g, golden %.6g", name, k,
                  got[k], want_stats[k]);
    }
    free(want_small);
    free(want_stats);
}

static void test_resnet50_pattern(sal_context *ctx) {
    sal_preprocess caffe;
    sal_error err;
    sal_preprocess_preset("caffe", &caffe, &err);
    float *pixels = malloc((size_t)R_PIXELS * 3 * sizeof *pixels);
    float *target = read_npy("methods/gradients/resnet50_pattern/target.npy", 1);
    golden_pattern_pixels(pixels);
    sal_image image = {R_SIZE, R_SIZE, 3, pixels};
    const struct {
        sal_method method;
        const char *golden;
    } runs[] = {{SAL_METHOD_GUIDED_BACKPROP, "guided"}, {SAL_METHOD_GRADIENT_X_INPUT, "grad_x_input"}};
    for (int r = 0; r < 2 && target; r++) {
        sal_explain_options o;
        sal_explain_defaults(&o);
        o.method = runs[r].method;
        sal_explanation out;
        int status = sal_explain(ctx, &caffe, &image, &o, &out, &err);
        CHECK(status == SAL_OK, "ResNet50 %s: %s", runs[r].golden, err.message);
        if (status != SAL_OK) continue;
        CHECK(out.target == (int)target[0], "ResNet50 pattern: top class %d, golden %d", out.target, (int)target[0]);
        check_resnet_map(runs[r].golden, out.data);
        sal_explanation_free(&out);
    }
    free(target);
    free(pixels);
}

static void test_resnet50_ig(sal_context *ctx) {
    sal_image photo = {0}, resized = {0};
    sal_error err;
    int status = sal_image_load(SAL_ASSETS_DIR "/photos/chelsea.png", &photo, &err);
    if (status == SAL_OK) status = sal_image_resize_crop(&photo, R_SIZE, R_SIZE, &resized, &err);
    CHECK(status == SAL_OK, "chelsea.png: %s", err.message);
    sal_preprocess caffe;
    sal_preprocess_preset("caffe", &caffe, &err);
    sal_explain_options o;
    sal_explain_defaults(&o);
    o.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    o.steps = 64;
    sal_explanation out;
    if (status == SAL_OK) status = sal_explain(ctx, &caffe, &resized, &o, &out, &err);
    CHECK(status == SAL_OK, "ResNet50 IG: %s", err.message);
    if (status == SAL_OK) {
        /* F(x') independently: the logit of the black photo, preprocessed. */
        float *black = calloc((size_t)R_PIXELS * 3, sizeof *black), *logits = malloc(1000 * sizeof *logits);
        sal_preprocess_apply(&caffe, black, R_PIXELS, black);
        CHECK(sal_forward(ctx, black, 1, R_SIZE, R_SIZE, logits, NULL, &err) == SAL_OK, "forward: %s", err.message);
        double difference = (double)out.score - logits[out.target];
        CHECK(out.has_completeness && fabs(out.score_difference - difference) < 1e-3 * (1 + fabs(difference)),
              "ResNet50 IG: F(x) - F(x') = %g, from two forward passes %g", out.score_difference, difference);
        double share = fabs(out.completeness_gap) / fabs(out.score_difference);
        printf("ResNet50 IG-64 (chelsea, class %d): F(x) - F(x') = %.4f, gap %.4f (%.2f%%)\n", out.target,
               out.score_difference, out.completeness_gap, 100 * share);
        CHECK(share <= 0.05, "ResNet50 IG-64 completeness gap is %.2f%% of F(x) - F(x')", 100 * share);
        free(black);
        free(logits);
        sal_explanation_free(&out);
    }
    sal_image_free(&photo);
    sal_image_free(&resized);
}

static void test_resnet50(void) {
    sal_error err;
    sal_model *model = sal_model_load_tfjs(SAL_ASSETS_DIR "/resnet50/model.json", &err);
    CHECK(model != NULL, "ResNet50: %s", err.message);
    if (!model) return;
    sal_context *ctx = sal_context_create(model, 0, &err);
    if (ctx) {
        test_resnet50_pattern(ctx);
        test_resnet50_ig(ctx);
    }
    sal_context_free(ctx);
    sal_model_free(model);
}

int main(void) {
    test_names();
    test_defaults();
    small_model s;
    if (open_small(&s)) {
        test_option_errors(&s);
        test_input_errors(&s);
        test_gradient_methods(&s);
        test_integrated_gradients(&s);
        test_baselines(&s);
        test_rgb_order(&s);
        test_smoothing(&s);
        test_cam_and_occlusion_wiring(&s);
        test_path_methods_run(&s);
        test_progress_and_cancel(&s);
    }
    close_small(&s);
    test_resnet50();
    return check_report();
}
