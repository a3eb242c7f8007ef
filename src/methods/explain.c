/* explain.c - sal_explain: a photo's pixels in, a saliency mask over them out,
 * for every method, optionally under SmoothGrad.
 *
 * The pixels are preprocessed into the model input x; the class explained is
 * the requested one or the top class of F(x) (found by the gradient methods'
 * own backward pass, by a forward pass for the others).  Every method runs in model
 * space (baselines and the occlusion patch are pixel values preprocessed like
 * the photo) and its mask is brought back to the photo's RGB channel order.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../executor/executor.h"
#include "../image/blur.h"
#include "methods.h"

#define MAX_STEPS 4096
#define MAX_SAMPLES 10000
#define BLUR_BASELINE_SIGMA 0.1 /* of the larger side: the blur baseline's Gaussian */
#define MAX_BLUR_SIGMA 1000.0  /* wider blurs are flat at any usable input size, and slow */

/* ------------------------------------------------------------- names */

static const char *const method_names[SAL_METHOD_COUNT] = {
    "vanilla", "gradient-x-input", "guided-backprop", "deconvnet", "integrated-gradients", "occlusion",
    "grad-cam", "guided-grad-cam", "xrai", "blur-ig", "guided-ig"};

int sal_method_from_name(const char *name) {
    for (int m = 0; name && m < SAL_METHOD_COUNT; m++)
        if (strcmp(name, method_names[m]) == 0) return m;
    return -1;
}

const char *sal_method_name(sal_method method) {
    return (unsigned)method < SAL_METHOD_COUNT ? method_names[method] : "unknown";
}

void sal_explain_defaults(sal_explain_options *options) {
    *options = (sal_explain_options){
        .method = SAL_METHOD_VANILLA,
        .target = -1,
        .smooth_samples = 0,
        .smooth_noise = 0.15f,
        .smooth_aggregate = SAL_AGGREGATE_MEAN,
        .steps = 32,
        .baseline = SAL_BASELINE_BLACK,
        .quadrature = SAL_QUADRATURE_RIEMANN_TRAPEZOID,
        .window = 16,
        .stride = 8,
        .baseline_value = 0.0f,
        .blur_max_sigma = 50.0f,
        .guided_fraction = 0.25f,
        .guided_max_dist = 0.02f,
        .xrai_area_threshold = 1.0f,
    };
}

void sal_explanation_free(sal_explanation *explanation) {
    if (!explanation) return;
    free(explanation->data);
    free(explanation->low_data);
    free(explanation->region_rank);
    memset(explanation, 0, sizeof *explanation);
}

/* ------------------------------------------------------ method traits */

static int is_gradient_method(sal_method m) {
    return m == SAL_METHOD_VANILLA || m == SAL_METHOD_GRADIENT_X_INPUT || m == SAL_METHOD_GUIDED_BACKPROP ||
           m == SAL_METHOD_DECONVNET;
}

static int uses_steps(sal_method m) {
    return m == SAL_METHOD_INTEGRATED_GRADIENTS || m == SAL_METHOD_BLUR_IG || m == SAL_METHOD_GUIDED_IG ||
           m == SAL_METHOD_XRAI;
}

static int uses_baseline(sal_method m) { return m == SAL_METHOD_INTEGRATED_GRADIENTS || m == SAL_METHOD_GUIDED_IG; }

static int uses_layer(sal_method m) { return m == SAL_METHOD_GRAD_CAM || m == SAL_METHOD_GUIDED_GRAD_CAM; }

static sal_relu_rule relu_rule_of(sal_method m) {
    if (m == SAL_METHOD_GUIDED_BACKPROP || m == SAL_METHOD_GUIDED_GRAD_CAM) return SAL_RELU_GUIDED;
    if (m == SAL_METHOD_DECONVNET) return SAL_RELU_DECONVNET;
    return SAL_RELU_STANDARD;
}

static int output_channels(sal_method m) { return m == SAL_METHOD_GRAD_CAM || m == SAL_METHOD_XRAI ? 1 : 3; }

/* ---------------------------------------------------------- checks */

static int is_finite_in(double value, double lo, double hi) { return isfinite(value) && value >= lo && value <= hi; }

static int check_preprocess(const sal_preprocess *p, sal_error *err) {
    if (!isfinite(p->scale)) return sal_fail(err, SAL_ERR_ARGUMENT, "preprocessing: scale is not a finite number");
    for (int c = 0; c < 3; c++) {
        if (!isfinite(p->mean[c]))
            return sal_fail(err, SAL_ERR_ARGUMENT, "preprocessing: mean[%d] is not a finite number", c);
        if (!isfinite(p->std[c]) || p->std[c] == 0.0f)
            return sal_fail(err, SAL_ERR_ARGUMENT, "preprocessing: std[%d] must be a finite nonzero number", c);
    }
    return SAL_OK;
}

/* pixels: HxWx3 values; names the first value that is not finite. */
static int check_finite_pixels(const float *pixels, int height, int width, const char *what, sal_error *err) {
    size_t count = (size_t)height * width * 3;
    for (size_t i = 0; i < count; i++) {
        if (isfinite(pixels[i])) continue;
        size_t pixel = i / 3;
        return sal_fail(err, SAL_ERR_NUMERIC, "%s value at row %zu, column %zu, channel %zu is %s", what,
                        pixel / (size_t)width, pixel % (size_t)width, i % 3, isnan(pixels[i]) ? "NaN" : "infinite");
    }
    return SAL_OK;
}

static int check_pixels(const sal_context *ctx, const sal_image *pixels, sal_error *err) {
    int model_h, model_w, model_c;
    sal_model_input_size(ctx->model, &model_h, &model_w, &model_c);
    if (model_c != 3)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model takes %d input channels; sal_explain needs an RGB model (3)",
                        model_c);
    if (!pixels->data || pixels->width < 1 || pixels->height < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "the photo is empty");
    /* Batches of up to 32 inputs and double accumulators must stay addressable (size_t is 32 bits in wasm). */
    if ((double)pixels->width * pixels->height * 3 * 32 * sizeof(double) > (double)SIZE_MAX)
        return sal_fail(err, SAL_ERR_ARGUMENT, "the photo of %dx%d pixels is too large", pixels->width,
                        pixels->height);
    if (pixels->channels != 3)
        return sal_fail(err, SAL_ERR_ARGUMENT, "the photo has %d channels; sal_explain takes RGB pixels (3)",
                        pixels->channels);
    if ((model_h && pixels->height != model_h) || (model_w && pixels->width != model_w))
        return sal_fail(err, SAL_ERR_SHAPE, "the photo is %dx%d but the model takes %dx%d (width x height): resize it first",
                        pixels->width, pixels->height, model_w, model_h);
    return check_finite_pixels(pixels->data, pixels->height, pixels->width, "pixel", err);
}

static int check_smoothing(const sal_explain_options *o, sal_error *err) {
    if (o->smooth_samples < 0 || o->smooth_samples > MAX_SAMPLES)
        return sal_fail(err, SAL_ERR_ARGUMENT, "smooth_samples must be between 0 and %d (got %d)", MAX_SAMPLES,
                        o->smooth_samples);
    if (o->smooth_samples == 0) return SAL_OK;
    if (!is_finite_in(o->smooth_noise, 0, INFINITY))
        return sal_fail(err, SAL_ERR_ARGUMENT, "smooth_noise must be a finite number >= 0 (got %g)",
                        (double)o->smooth_noise);
    if ((unsigned)o->smooth_aggregate > SAL_AGGREGATE_VARGRAD)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown smooth_aggregate %d", (int)o->smooth_aggregate);
    if (o->method == SAL_METHOD_XRAI)
        return sal_fail(err, SAL_ERR_UNSUPPORTED,
                        "SmoothGrad over xrai is not supported (XRAI ranks whole regions): set smooth_samples to 0");
    return SAL_OK;
}

static int check_path_options(const sal_explain_options *o, sal_error *err) {
    if (uses_steps(o->method) && (o->steps < 1 || o->steps > MAX_STEPS))
        return sal_fail(err, SAL_ERR_ARGUMENT, "steps must be between 1 and %d (got %d)", MAX_STEPS, o->steps);
    if (uses_baseline(o->method) && (unsigned)o->baseline > SAL_BASELINE_IMAGE)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown baseline %d", (int)o->baseline);
    if (uses_baseline(o->method) && o->baseline == SAL_BASELINE_IMAGE && !o->baseline_pixels)
        return sal_fail(err, SAL_ERR_ARGUMENT, "baseline 'image' needs baseline_pixels");
    if (o->method != SAL_METHOD_INTEGRATED_GRADIENTS) return SAL_OK;
    if ((unsigned)o->quadrature > SAL_QUADRATURE_GAUSS_LEGENDRE)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown quadrature %d", (int)o->quadrature);
    if (o->quadrature == SAL_QUADRATURE_RIEMANN_TRAPEZOID && o->steps < 2)
        return sal_fail(err, SAL_ERR_ARGUMENT, "steps must be at least 2 for the trapezoid quadrature (got %d)",
                        o->steps);
    return SAL_OK;
}

static int check_method_options(const sal_explain_options *o, int height, int width, sal_error *err) {
    switch (o->method) {
    case SAL_METHOD_OCCLUSION:
        if (o->window < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "window must be at least 1 (got %d)", o->window);
        if (o->stride < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "stride must be at least 1 (got %d)", o->stride);
        if (o->window > height || o->window > width)
            return sal_fail(err, SAL_ERR_ARGUMENT, "window %d is larger than the %dx%d input", o->window, width,
                            height);
        if (!isfinite(o->baseline_value))
            return sal_fail(err, SAL_ERR_ARGUMENT, "baseline_value must be a finite number");
        return SAL_OK;
    case SAL_METHOD_BLUR_IG:
        if (!is_finite_in(o->blur_max_sigma, 0, MAX_BLUR_SIGMA) || o->blur_max_sigma == 0)
            return sal_fail(err, SAL_ERR_ARGUMENT, "blur_max_sigma must be in (0, %g] (got %g)", MAX_BLUR_SIGMA,
                            (double)o->blur_max_sigma);
        return SAL_OK;
    case SAL_METHOD_GUIDED_IG:
        if (!is_finite_in(o->guided_fraction, 0, 1) || o->guided_fraction == 0)
            return sal_fail(err, SAL_ERR_ARGUMENT, "guided_fraction must be in (0, 1] (got %g)",
                            (double)o->guided_fraction);
        if (!is_finite_in(o->guided_max_dist, 0, 1))
            return sal_fail(err, SAL_ERR_ARGUMENT, "guided_max_dist must be in [0, 1] (got %g)",
                            (double)o->guided_max_dist);
        return SAL_OK;
    case SAL_METHOD_XRAI:
        if (!is_finite_in(o->xrai_area_threshold, 0, 1) || o->xrai_area_threshold == 0)
            return sal_fail(err, SAL_ERR_ARGUMENT, "xrai_area_threshold must be in (0, 1] (got %g)",
                            (double)o->xrai_area_threshold);
        return SAL_OK;
    default: return SAL_OK;
    }
}

static int check_options(const sal_context *ctx, const sal_explain_options *o, int height, int width,
                         sal_error *err) {
    if ((unsigned)o->method >= SAL_METHOD_COUNT)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown method %d", (int)o->method);
    int classes = sal_model_num_classes(ctx->model);
    if (o->target >= classes)
        return sal_fail(err, SAL_ERR_ARGUMENT, "target class %d is out of range (the model has %d classes)", o->target,
                        classes);
    int status = check_smoothing(o, err);
    if (status == SAL_OK) status = check_path_options(o, err);
    if (status == SAL_OK) status = check_method_options(o, height, width, err);
    return status;
}

/* -------------------------------------------------------------- a run */

typedef struct {
    sal_context *ctx;
    const sal_explain_options *options;
    const sal_preprocess *preprocess;
    int height, width;
    size_t size;            /* floats of one input: H x W x 3 */
    size_t mask_floats;     /* floats of one method mask (see method_mask_floats) */
    const float *photo;     /* the pixels, RGB */
    float *x;               /* model input */
    float *baseline;        /* model space: IG, Guided IG */
    float *black, *white;   /* model space: XRAI */
    float patch[3];         /* model space: occlusion */
    const char *layer;      /* Grad-CAM */
    int low_height, low_width;
    int target;
    sal_fn fn;              /* F = logit of target, with the method's ReLU rule */
    sal_context_fn fn_storage;
    int *region_rank;       /* XRAI */
    int samples_done;       /* SmoothGrad over per-sample methods */
    sal_progress_range sample_range;
} explain_run;

/* What one method writes per input, in model channel order: per-pixel masks
 * H x W x 3; occlusion H x W; Grad-CAM the upsampled map then the low one;
 * XRAI its H x W map. */
static size_t method_mask_floats(const explain_run *run) {
    size_t pixels = (size_t)run->height * run->width;
    switch (run->options->method) {
    case SAL_METHOD_OCCLUSION:
    case SAL_METHOD_XRAI: return pixels;
    case SAL_METHOD_GRAD_CAM: return pixels + (size_t)run->low_height * run->low_width;
    default: return pixels * 3;
    }
}

static int resolve_target(explain_run *run, float *score, sal_error *err) {
    int classes = sal_model_num_classes(run->ctx->model);
    float *logits = malloc((size_t)classes * sizeof *logits);
    if (!logits) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = sal_forward(run->ctx, run->x, 1, run->height, run->width, logits, NULL, err);
    if (status == SAL_OK) {
        int target = run->options->target;
        if (target < 0) {
            target = 0;
            for (int k = 1; k < classes; k++)
                if (logits[k] > logits[target]) target = k;
        }
        run->target = target;
        *score = logits[target];
    }
    free(logits);
    return status;
}

/* Baseline pixels (RGB, [0, 255]) preprocessed into model space. */
static int make_baseline(const explain_run *run, sal_baseline kind, float *out, sal_error *err) {
    const sal_explain_options *o = run->options;
    int status = SAL_OK;
    switch (kind) {
    case SAL_BASELINE_BLACK:
    case SAL_BASELINE_WHITE:
        for (size_t i = 0; i < run->size; i++) out[i] = kind == SAL_BASELINE_BLACK ? 0.0f : 255.0f;
        break;
    case SAL_BASELINE_NOISE:
        sal_random_uniform(o->seed, out, run->size);
        for (size_t i = 0; i < run->size; i++) out[i] *= 255.0f;
        break;
    case SAL_BASELINE_BLUR: {
        double sigma = BLUR_BASELINE_SIGMA * (run->height > run->width ? run->height : run->width);
        status = sal_gaussian_blur(run->photo, run->height, run->width, 3, (float)sigma, out, err);
        break;
    }
    case SAL_BASELINE_IMAGE:
        status = check_finite_pixels(o->baseline_pixels, run->height, run->width, "baseline pixel", err);
        if (status == SAL_OK) memcpy(out, o->baseline_pixels, run->size * sizeof *out);
        break;
    }
    if (status == SAL_OK) sal_preprocess_apply(run->preprocess, out, run->height * run->width, out);
    return status == SAL_OK ? check_finite_pixels(out, run->height, run->width, "preprocessed baseline", err) : status;
}

static float *alloc_input(const explain_run *run) { return malloc(run->size * sizeof(float)); }

static int prepare_grad_cam_layer(explain_run *run, sal_error *err) {
    run->layer = run->options->layer ? run->options->layer : sal_model_last_spatial_layer(run->ctx->model);
    if (!run->layer)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model has no layer with a spatial (4-D) output for Grad-CAM");
    int shape[4];
    int status = sal_layer_shape(run->ctx, run->layer, run->height, run->width, shape, err);
    if (status != SAL_OK) return status;
    run->low_height = shape[1];
    run->low_width = shape[2];
    return SAL_OK;
}

/* Everything the method needs besides x: baselines, patch, layer. */
static int prepare_method(explain_run *run, sal_error *err) {
    const sal_explain_options *o = run->options;
    if (uses_baseline(o->method)) {
        if (!(run->baseline = alloc_input(run))) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        return make_baseline(run, o->baseline, run->baseline, err);
    }
    if (o->method == SAL_METHOD_XRAI) {
        run->black = alloc_input(run);
        run->white = alloc_input(run);
        if (!run->black || !run->white) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        int status = make_baseline(run, SAL_BASELINE_BLACK, run->black, err);
        return status == SAL_OK ? make_baseline(run, SAL_BASELINE_WHITE, run->white, err) : status;
    }
    if (o->method == SAL_METHOD_OCCLUSION) {
        float value[3] = {o->baseline_value, o->baseline_value, o->baseline_value};
        sal_preprocess_apply(run->preprocess, value, 1, run->patch);
        return SAL_OK;
    }
    if (uses_layer(o->method)) return prepare_grad_cam_layer(run, err);
    return SAL_OK;
}

/* ---------------------------------------------------------- the methods */

static int gradient_batch(const explain_run *run, const float *x, int batch, float *masks, sal_error *err) {
    if (run->options->method == SAL_METHOD_GRADIENT_X_INPUT) return sal_gradient_x_input(&run->fn, x, batch, masks, err);
    return sal_gradient(&run->fn, x, batch, masks, err);
}

static int grad_cam(const explain_run *run, const float *x, float *up, float *low, sal_error *err) {
    int low_height = 0, low_width = 0;
    int status = sal_grad_cam(run->ctx, x, run->height, run->width, run->target, run->layer, low, &low_height,
                              &low_width, up, err);
    if (status == SAL_OK && (low_height != run->low_height || low_width != run->low_width))
        return sal_fail(err, SAL_ERR_SHAPE, "Grad-CAM map of layer '%s' is %dx%d, its shape says %dx%d", run->layer,
                        low_height, low_width, run->low_height, run->low_width);
    return status;
}

/* Guided Grad-CAM (Selvaraju et al. 2017): Guided Backpropagation (fn uses
 * the guided rule here) times the Grad-CAM map upsampled to the input. */
static int guided_grad_cam(const explain_run *run, const float *x, float *mask, sal_error *err) {
    size_t pixels = (size_t)run->height * run->width;
    float *cam = malloc(pixels * sizeof *cam);
    if (!cam) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = sal_gradient(&run->fn, x, 1, mask, err);
    if (status == SAL_OK) status = grad_cam(run, x, cam, NULL, err);
    if (status == SAL_OK)
        for (size_t p = 0; p < pixels; p++)
            for (int c = 0; c < 3; c++) mask[p * 3 + c] *= cam[p];
    free(cam);
    return status;
}

/* One input x (model space); mask has method_mask_floats values. */
static int explain_single(const explain_run *run, const float *x, float *mask, const sal_progress *progress,
                          sal_completeness *c, sal_error *err) {
    const sal_explain_options *o = run->options;
    switch (o->method) {
    case SAL_METHOD_INTEGRATED_GRADIENTS:
        return sal_integrated_gradients(&run->fn, x, run->baseline, o->steps, o->quadrature, progress, mask, c, err);
    case SAL_METHOD_BLUR_IG: return sal_blur_ig(&run->fn, x, o->steps, o->blur_max_sigma, progress, mask, c, err);
    case SAL_METHOD_GUIDED_IG:
        return sal_guided_ig(&run->fn, x, run->baseline, o->steps, o->guided_fraction, o->guided_max_dist, progress,
                             mask, c, err);
    case SAL_METHOD_XRAI:
        return sal_xrai(&run->fn, x, run->photo, run->black, run->white, o->steps, o->xrai_area_threshold, progress,
                        mask, run->region_rank, c, err);
    case SAL_METHOD_OCCLUSION: return sal_occlusion(&run->fn, x, run->patch, o->window, o->stride, progress, mask, err);
    case SAL_METHOD_GRAD_CAM:
        return grad_cam(run, x, mask, mask + (size_t)run->height * run->width, err);
    case SAL_METHOD_GUIDED_GRAD_CAM: return guided_grad_cam(run, x, mask, err);
    default: return gradient_batch(run, x, 1, mask, err);
    }
}

/* SmoothGrad's base: the four gradient methods take the noisy inputs as one
 * batch; the others one by one, each reporting within its sample's share. */
static int explain_noisy_inputs(void *user, const float *x, int batch, float *masks, sal_error *err) {
    explain_run *run = user;
    if (is_gradient_method(run->options->method)) return gradient_batch(run, x, batch, masks, err);
    const sal_explain_options *o = run->options;
    for (int b = 0; b < batch; b++, run->samples_done++) {
        double start = (double)run->samples_done / o->smooth_samples;
        double end = (double)(run->samples_done + 1) / o->smooth_samples;
        sal_progress progress = sal_progress_sub(&o->progress, &run->sample_range, start, end);
        sal_completeness unused;
        int status = explain_single(run, x + (size_t)b * run->size, masks + (size_t)b * run->mask_floats, &progress,
                                    &unused, err);
        if (status != SAL_OK) return status;
    }
    return SAL_OK;
}

static int run_method(explain_run *run, float *mask, sal_explanation *out, sal_error *err) {
    const sal_explain_options *o = run->options;
    if (o->smooth_samples > 0) {
        sal_smooth_base base = {.explain = explain_noisy_inputs, .user = run, .size = run->size,
                                .mask_size = run->mask_floats,
                                .max_batch = is_gradient_method(o->method) ? run->fn.max_batch : 1};
        return sal_smoothgrad(&base, run->x, o->smooth_samples, o->smooth_noise, o->seed, o->smooth_aggregate,
                              &o->progress, mask, err);
    }
    sal_completeness c = {0, 0};
    int status = explain_single(run, run->x, mask, &o->progress, &c, err);
    if (status == SAL_OK && uses_steps(o->method)) { /* the path methods */
        out->has_completeness = 1;
        out->score_difference = c.score_difference;
        out->completeness_gap = c.gap;
    }
    if (status == SAL_OK) status = sal_progress_step(&o->progress, 1, 1, err);
    return status;
}

/* ------------------------------------------------------------ results */

static int alloc_outputs(const explain_run *run, sal_explanation *out, sal_error *err) {
    sal_method m = run->options->method;
    size_t pixels = (size_t)run->height * run->width;
    out->height = run->height;
    out->width = run->width;
    out->channels = output_channels(m);
    out->data = malloc(pixels * (size_t)out->channels * sizeof *out->data);
    if (m == SAL_METHOD_GRAD_CAM) {
        out->low_height = run->low_height;
        out->low_width = run->low_width;
        out->low_data = malloc((size_t)run->low_height * run->low_width * sizeof *out->low_data);
    }
    if (m == SAL_METHOD_XRAI) out->region_rank = malloc(pixels * sizeof *out->region_rank);
    int ok = out->data && (m != SAL_METHOD_GRAD_CAM || out->low_data) && (m != SAL_METHOD_XRAI || out->region_rank);
    return ok ? SAL_OK : sal_fail(err, SAL_ERR_MEMORY, "out of memory for the explanation");
}

/* The method's mask -> out: RGB channel order, occlusion's map repeated
 * into 3 channels, Grad-CAM's two maps apart. */
static void write_outputs(const explain_run *run, const float *mask, sal_explanation *out) {
    size_t pixels = (size_t)run->height * run->width;
    switch (run->options->method) {
    case SAL_METHOD_OCCLUSION:
        for (size_t p = 0; p < pixels; p++)
            for (int c = 0; c < 3; c++) out->data[p * 3 + c] = mask[p];
        break;
    case SAL_METHOD_GRAD_CAM:
        memcpy(out->data, mask, pixels * sizeof *mask);
        memcpy(out->low_data, mask + pixels, (size_t)run->low_height * run->low_width * sizeof *mask);
        break;
    case SAL_METHOD_XRAI: memcpy(out->data, mask, pixels * sizeof *mask); break;
    default:
        memcpy(out->data, mask, pixels * 3 * sizeof *mask);
        sal_preprocess_gradient_to_rgb(run->preprocess, out->data, (int)pixels);
        break;
    }
}

/* ------------------------------------------------------------- explain */

/* Vanilla, Guided Backprop, Deconvnet and Gradient x Input on the photo alone
 * take one backward pass, which also picks the class and returns its score. */
static int takes_one_backward(const sal_explain_options *o) {
    return is_gradient_method(o->method) && o->smooth_samples == 0;
}

/* mask = dF/dx (times x for Gradient x Input); out gets the class and F(x). */
static int explain_in_one_backward(const explain_run *run, float *mask, sal_explanation *out, sal_error *err) {
    const sal_explain_options *o = run->options;
    float *logits = malloc((size_t)sal_model_num_classes(run->ctx->model) * sizeof *logits);
    if (!logits) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    sal_backward_request dF_dx = {.targets = &o->target, /* negative: the top class */
                                  .chosen_targets = &out->target, .relu_rule = relu_rule_of(o->method),
                                  .input_gradient = mask, .logits = logits};
    int status = sal_backward(run->ctx, run->x, 1, run->height, run->width, &dF_dx, err);
    if (status == SAL_OK) out->score = logits[out->target];
    free(logits);
    if (status == SAL_OK && o->method == SAL_METHOD_GRADIENT_X_INPUT)
        for (size_t i = 0; i < run->size; i++) mask[i] *= run->x[i];
    return status == SAL_OK ? sal_progress_step(&o->progress, 1, 1, err) : status;
}

/* The class and its score from a forward pass, F as a sal_fn, and what the
 * method needs besides x. */
static int prepare_run(explain_run *run, sal_explanation *out, sal_error *err) {
    int status = resolve_target(run, &out->score, err);
    if (status != SAL_OK) return status;
    out->target = run->target;
    status = sal_fn_for_context(&run->fn, &run->fn_storage, run->ctx, run->height, run->width, run->target,
                                relu_rule_of(run->options->method), run->options->memory_budget,
                                err); /* 0: 512 MiB */
    return status == SAL_OK ? prepare_method(run, err) : status;
}

/* A network that overflows (huge pixels, scale or noise) gives NaN or
 * infinite scores and gradients: refused rather than returned. */
static int check_finite_result(const sal_explanation *out, sal_error *err) {
    if (!isfinite(out->score))
        return sal_fail(err, SAL_ERR_NUMERIC, "the score of class %d is %s: the model overflowed on this input "
                        "(check the pixel range and the preprocessing)", out->target,
                        isnan(out->score) ? "NaN" : "infinite");
    size_t count = (size_t)out->height * out->width * out->channels;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(out->data[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "the explanation is %s at row %zu, column %zu: the model overflowed "
                            "(check the pixel range, the preprocessing and smooth_noise)",
                            isnan(out->data[i]) ? "NaN" : "infinite", i / out->channels / out->width,
                            i / out->channels % out->width);
    return SAL_OK;
}

static int explain(explain_run *run, sal_explanation *out, sal_error *err) {
    int one_backward = takes_one_backward(run->options);
    if (!(run->x = alloc_input(run))) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    sal_preprocess_apply(run->preprocess, run->photo, run->height * run->width, run->x);
    int status = check_finite_pixels(run->x, run->height, run->width, "preprocessed pixel", err);
    if (status == SAL_OK && !one_backward) status = prepare_run(run, out, err);
    if (status == SAL_OK) status = alloc_outputs(run, out, err);
    if (status != SAL_OK) return status;
    run->region_rank = out->region_rank;
    run->mask_floats = method_mask_floats(run);
    float *mask = malloc(run->mask_floats * sizeof *mask);
    if (!mask) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    status = one_backward ? explain_in_one_backward(run, mask, out, err) : run_method(run, mask, out, err);
    if (status == SAL_OK) write_outputs(run, mask, out);
    free(mask);
    return status == SAL_OK ? check_finite_result(out, err) : status;
}

int sal_explain(sal_context *ctx, const sal_preprocess *preprocess, const sal_image *pixels,
                const sal_explain_options *options, sal_explanation *out, sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_explain: no output given");
    memset(out, 0, sizeof *out);
    if (!ctx || !preprocess || !pixels || !options)
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_explain: missing context, preprocessing, photo or options");
    int status = check_preprocess(preprocess, err);
    if (status == SAL_OK) status = check_pixels(ctx, pixels, err);
    if (status == SAL_OK) status = check_options(ctx, options, pixels->height, pixels->width, err);
    if (status != SAL_OK) return status;
    explain_run run = {.ctx = ctx, .options = options, .preprocess = preprocess, .height = pixels->height,
                       .width = pixels->width, .size = (size_t)pixels->height * pixels->width * 3,
                       .photo = pixels->data};
    status = explain(&run, out, err);
    free(run.x);
    free(run.baseline);
    free(run.black);
    free(run.white);
    if (status != SAL_OK) {
        sal_explanation_free(out);
        return status;
    }
    sal_ok(err);
    return SAL_OK;
}
