/* bindings.c - the C side of web/engine.js.
 *
 * Thin functions over the public API (src/saliency.h) for what JavaScript
 * cannot do with plain pointers and numbers: a model bundled with its
 * preprocessing and context, photos turned into model-sized pixels,
 * explain options set by name, and results read through flat arrays
 * instead of struct offsets.  Functions of saliency.h that take only
 * pointers and numbers are exported directly (see CMakeLists.txt).
 *
 * Every function reports failure through a sal_error the caller owns and
 * returns a status (or NULL); nothing here keeps state between calls except
 * what a handle owns.
 */
#include <emscripten.h>
#include <emscripten/threading.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/error.h"
#include "saliency.h"

#define EXPORT EMSCRIPTEN_KEEPALIVE

/* ---------------------------------------------------------------- errors */

EXPORT sal_error *salw_error_new(void) { return calloc(1, sizeof(sal_error)); }
EXPORT int salw_error_status(const sal_error *err) { return (int)err->status; }
EXPORT const char *salw_error_message(const sal_error *err) { return err->message; }

/* Under AddressSanitizer too, a failed malloc returns NULL (the module's
 * promise: "out of memory" errors, never aborts). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
EXPORT const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
#endif
#endif

/* Bytes currently allocated with malloc: lets tests and memory checks see
 * that every call frees what it allocates. */
EXPORT size_t salw_heap_in_use(void) { return mallinfo().uordblks; }

/* ---------------------------------------------------------------- models */

/* A model with what every call on it needs.  The context (and with it the
 * thread pool) is created on first use and can be released, so that an
 * engine keeps only one pool of threads alive however many models it holds. */
typedef struct {
    sal_model *model;
    sal_context *ctx;
    sal_preprocess preprocess;
    int threads;
} salw_model;

/* Shard bytes stay in JavaScript, in Module.salShards (Uint8Arrays by index,
 * set by engine.js around salw_model_load): each piece is copied in as the
 * loader decodes it, so the heap never holds the shards next to the weights.
 * Returns 0, or 1 if the piece is not there; never throws into C. */
EM_JS(int, salw_read_shard_from_js, (int index, size_t offset, uint8_t *dst, size_t n), {
    try {
        var shards = Module["salShards"];
        var bytes = shards && shards[index];
        offset >>>= 0;
        n >>>= 0;
        if (!bytes || offset + n > bytes.length) return 1;
        new Uint8Array(wasmMemory.buffer, dst >>> 0, n).set(bytes.subarray(offset, offset + n));
        return 0;
    } catch (e) {
        return 1;
    }
});

/* Only the thread that called salw_model_load sees Module.salShards. */
static int read_shard(void *user, int index, size_t offset, uint8_t *dst, size_t n, sal_error *err) {
    (void)user;
    (void)err; /* the loader words the failure */
    if (!emscripten_is_main_runtime_thread()) return SAL_ERR_IO;
    return salw_read_shard_from_js(index, offset, dst, n) ? SAL_ERR_IO : SAL_OK;
}

/* shards: n names and sizes, matched to the weights manifest by name; their
 * bytes are read from Module.salShards[i] while loading. */
EXPORT salw_model *salw_model_load(const char *json, size_t json_size, const char *const *names,
                                   const size_t *sizes, int n, int threads, sal_error *err) {
    salw_model *m = calloc(1, sizeof *m);
    if (!m) {
        sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        return NULL;
    }
    sal_shard_reader shards = {names, sizes, n, read_shard, NULL};
    m->model = sal_model_load_tfjs_reader(json, json_size, &shards, err);
    if (!m->model) {
        free(m);
        return NULL;
    }
    m->threads = threads;
    sal_preprocess_preset("none", &m->preprocess, NULL);
    return m;
}

EXPORT void salw_model_release_context(salw_model *m) {
    if (!m) return;
    sal_context_free(m->ctx);
    m->ctx = NULL;
}

EXPORT void salw_model_free(salw_model *m) {
    if (!m) return;
    salw_model_release_context(m);
    sal_model_free(m->model);
    free(m);
}

static int ensure_context(salw_model *m, sal_error *err) {
    if (m->ctx) return SAL_OK;
    m->ctx = sal_context_create(m->model, m->threads, err);
    return m->ctx ? SAL_OK : err->status;
}

EXPORT int salw_model_use_preset(salw_model *m, const char *name, sal_error *err) {
    return sal_preprocess_preset(name, &m->preprocess, err);
}

EXPORT int salw_model_set_preprocess(salw_model *m, float scale, float mean_r, float mean_g, float mean_b,
                                     float std_r, float std_g, float std_b, int bgr, sal_error *err) {
    sal_preprocess p = {scale, {mean_r, mean_g, mean_b}, {std_r, std_g, std_b}, bgr != 0};
    if (!isfinite(p.scale) || !(p.scale > 0))
        return sal_fail(err, SAL_ERR_ARGUMENT, "preprocess scale must be a positive number");
    for (int c = 0; c < 3; c++) {
        if (!isfinite(p.mean[c]))
            return sal_fail(err, SAL_ERR_ARGUMENT, "preprocess mean[%d] must be a finite number", c);
        if (!isfinite(p.std[c]) || !(p.std[c] > 0))
            return sal_fail(err, SAL_ERR_ARGUMENT, "preprocess std[%d] must be a positive number", c);
    }
    m->preprocess = p;
    sal_ok(err);
    return SAL_OK;
}

/* out: input height, width, channels, number of classes, number of layer names. */
EXPORT void salw_model_info(const salw_model *m, int out[5]) {
    sal_model_input_size(m->model, &out[0], &out[1], &out[2]);
    out[3] = sal_model_num_classes(m->model);
    out[4] = sal_model_num_layers(m->model);
}

EXPORT const char *salw_model_layer_name(const salw_model *m, int index) {
    return sal_model_layer_name(m->model, index);
}

EXPORT const char *salw_model_last_spatial_layer(const salw_model *m) {
    return sal_model_last_spatial_layer(m->model);
}

/* ---------------------------------------------------------------- pixels */

static int check_finite_pixels(const float *rgb, size_t count, sal_error *err) {
    for (size_t i = 0; i < count; i++)
        if (!isfinite(rgb[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "image value %zu is %s; pixels must be finite numbers", i,
                            isnan(rgb[i]) ? "NaN" : "infinite");
    return SAL_OK;
}

/* A photo (RGBA8, or float RGB in [0, 255] when rgba is NULL) as pixels of
 * the model's input size: resized and centre-cropped unless it already fits.
 * `out` may end up pointing at `rgb` (owned = 0) or at new pixels (owned = 1). */
static int model_pixels(const salw_model *m, const uint8_t *rgba, const float *rgb, int width, int height,
                        sal_image *out, int *owned, sal_error *err) {
    int in_h, in_w, in_c;
    sal_model_input_size(m->model, &in_h, &in_w, &in_c);
    if (in_c != 3)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model takes %d input channels; photos have 3", in_c);
    if (in_h <= 0 || in_w <= 0)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model does not declare its input size");
    if (width <= 0 || height <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "image size %d x %d: both sides must be positive", width, height);
    sal_image photo = {width, height, 3, (float *)rgb};
    int status = SAL_OK;
    if (rgba) status = sal_image_from_rgba8(rgba, width, height, &photo, err);
    else status = check_finite_pixels(rgb, (size_t)width * (size_t)height * 3, err);
    if (status != SAL_OK) return status;
    if (width == in_w && height == in_h) {
        *out = photo;
        *owned = rgba != NULL;
        return SAL_OK;
    }
    status = sal_image_resize_crop(&photo, in_w, in_h, out, err);
    if (rgba) sal_image_free(&photo);
    *owned = 1;
    return status;
}

/* probs: the model's number of classes, softmax probabilities. */
EXPORT int salw_classify(salw_model *m, const uint8_t *rgba, const float *rgb, int width, int height, float *probs,
                         sal_error *err) {
    sal_image pixels = {0};
    int owned = 0;
    int status = ensure_context(m, err);
    if (status == SAL_OK) status = model_pixels(m, rgba, rgb, width, height, &pixels, &owned, err);
    if (status != SAL_OK) return status;
    size_t n_pixels = (size_t)pixels.width * (size_t)pixels.height;
    float *input = malloc(n_pixels * 3 * sizeof *input);
    if (!input) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    else {
        sal_preprocess_apply(&m->preprocess, pixels.data, (int)n_pixels, input);
        status = sal_forward(m->ctx, input, 1, pixels.height, pixels.width, NULL, probs, err);
    }
    free(input);
    if (owned) sal_image_free(&pixels);
    return status;
}

/* Model inputs straight to sal_forward / sal_backward (no preprocessing). */
EXPORT int salw_forward(salw_model *m, const float *input, int batch, int height, int width, float *logits,
                        float *probs, sal_error *err) {
    int status = ensure_context(m, err);
    return status ? status : sal_forward(m->ctx, input, batch, height, width, logits, probs, err);
}

EXPORT int salw_backward(salw_model *m, const float *input, int batch, int height, int width, const int *targets,
                         int *chosen_targets, int relu_rule, const char *layer, float *input_gradient, float *logits,
                         float *layer_activation, float *layer_gradient, sal_error *err) {
    if (relu_rule < SAL_RELU_STANDARD || relu_rule > SAL_RELU_DECONVNET)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown ReLU rule %d", relu_rule);
    int status = ensure_context(m, err);
    if (status != SAL_OK) return status;
    sal_backward_request request = {targets,        chosen_targets, (sal_relu_rule)relu_rule, layer,
                                    input_gradient, logits,         layer_activation,         layer_gradient};
    return sal_backward(m->ctx, input, batch, height, width, &request, err);
}

EXPORT int salw_layer_shape(salw_model *m, const char *layer, int height, int width, int shape[4], sal_error *err) {
    int status = ensure_context(m, err);
    return status ? status : sal_layer_shape(m->ctx, layer, height, width, shape, err);
}

/* Decodes PNG/JPEG/BMP/GIF bytes into a malloc'd RGBA8 buffer (alpha 255). */
EXPORT uint8_t *salw_decode_rgba(const uint8_t *bytes, size_t size, int size_out[2], sal_error *err) {
    sal_image image = {0};
    if (sal_image_decode(bytes, size, &image, err) != SAL_OK) return NULL;
    size_t n_pixels = (size_t)image.width * (size_t)image.height;
    uint8_t *rgba = malloc(n_pixels * 4);
    if (!rgba) sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    for (size_t i = 0; rgba && i < n_pixels; i++) {
        for (int c = 0; c < 3; c++) rgba[i * 4 + c] = (uint8_t)lrintf(image.data[i * 3 + c]);
        rgba[i * 4 + 3] = 255;
    }
    size_out[0] = image.width;
    size_out[1] = image.height;
    sal_image_free(&image);
    return rgba;
}

/* ------------------------------------------------------- explain options */

typedef struct {
    sal_explain_options options;
    char *layer;            /* owned copy of options.layer */
    sal_image baseline;     /* owned pixels behind options.baseline_pixels */
} salw_options;

EXPORT salw_options *salw_options_new(void) {
    salw_options *o = calloc(1, sizeof *o);
    if (o) sal_explain_defaults(&o->options);
    return o;
}

EXPORT void salw_options_free(salw_options *o) {
    if (!o) return;
    free(o->layer);
    sal_image_free(&o->baseline);
    free(o);
}

typedef enum { FIELD_INT, FIELD_FLOAT, FIELD_SEED, FIELD_BYTES } field_kind;

typedef struct {
    const char *key;
    field_kind kind;
    size_t offset;
} number_field;

#define FIELD(key, kind, member) {key, kind, offsetof(sal_explain_options, member)}
static const number_field number_fields[] = {
    FIELD("target", FIELD_INT, target),
    FIELD("smoothSamples", FIELD_INT, smooth_samples),
    FIELD("smoothNoise", FIELD_FLOAT, smooth_noise),
    FIELD("seed", FIELD_SEED, seed),
    FIELD("steps", FIELD_INT, steps),
    FIELD("window", FIELD_INT, window),
    FIELD("stride", FIELD_INT, stride),
    FIELD("baselineValue", FIELD_FLOAT, baseline_value),
    FIELD("blurMaxSigma", FIELD_FLOAT, blur_max_sigma),
    FIELD("guidedFraction", FIELD_FLOAT, guided_fraction),
    FIELD("guidedMaxDist", FIELD_FLOAT, guided_max_dist),
    FIELD("xraiAreaThreshold", FIELD_FLOAT, xrai_area_threshold),
    FIELD("memoryBudget", FIELD_BYTES, memory_budget),
};
#undef FIELD

static int set_number_field(sal_explain_options *o, const number_field *f, double value, sal_error *err) {
    char *at = (char *)o + f->offset;
    if (!isfinite(value)) return sal_fail(err, SAL_ERR_ARGUMENT, "explain option '%s' must be a finite number", f->key);
    if (f->kind == FIELD_FLOAT) {
        *(float *)at = (float)value;
        return SAL_OK;
    }
    if (value != floor(value))
        return sal_fail(err, SAL_ERR_ARGUMENT, "explain option '%s' must be a whole number, not %g", f->key, value);
    if (f->kind == FIELD_INT) {
        if (value < INT_MIN || value > INT_MAX)
            return sal_fail(err, SAL_ERR_ARGUMENT, "explain option '%s' is out of range: %g", f->key, value);
        *(int *)at = (int)value;
    } else if (value < 0) {
        return sal_fail(err, SAL_ERR_ARGUMENT, "explain option '%s' must not be negative: %g", f->key, value);
    } else if (f->kind == FIELD_SEED) {
        *(uint64_t *)at = (uint64_t)value;
    } else { /* a budget beyond the address space is no limit at all */
        *(size_t *)at = value >= (double)SIZE_MAX ? SIZE_MAX : (size_t)value;
    }
    return SAL_OK;
}

EXPORT int salw_options_set_number(salw_options *o, const char *key, double value, sal_error *err) {
    for (size_t i = 0; i < sizeof number_fields / sizeof number_fields[0]; i++)
        if (strcmp(key, number_fields[i].key) == 0) {
            int status = set_number_field(&o->options, &number_fields[i], value, err);
            if (status == SAL_OK) sal_ok(err);
            return status;
        }
    return sal_fail(err, SAL_ERR_ARGUMENT, "unknown numeric explain option '%s'", key);
}

/* Index of `value` in the NULL-terminated `names`, or -1. */
static int name_index(const char *const *names, const char *value) {
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], value) == 0) return i;
    return -1;
}

/* Same names as the native CLI's flags. */
static const char *const aggregate_names[] = {"mean", "squared", "vargrad", NULL};
static const char *const baseline_names[] = {"black", "white", "noise", "blur", NULL};
static const char *const quadrature_names[] = {"riemann_left", "riemann_right", "riemann_middle",
                                               "riemann_trapezoid", "gauss_legendre", NULL};

static int set_choice(int *field, const char *key, const char *const *names, const char *value, sal_error *err) {
    int index = name_index(names, value);
    if (index < 0) {
        char valid[256] = "";
        for (int i = 0; names[i]; i++) {
            strncat(valid, i ? ", " : "", sizeof valid - strlen(valid) - 1);
            strncat(valid, names[i], sizeof valid - strlen(valid) - 1);
        }
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown %s '%s': valid names are %s", key, value, valid);
    }
    *field = index;
    return SAL_OK;
}

static int set_layer(salw_options *o, const char *value, sal_error *err) {
    char *copy = strdup(value);
    if (!copy) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    free(o->layer);
    o->layer = copy;
    o->options.layer = copy;
    return SAL_OK;
}

EXPORT int salw_options_set_text(salw_options *o, const char *key, const char *value, sal_error *err) {
    sal_explain_options *opt = &o->options;
    int status, choice = 0;
    if (strcmp(key, "method") == 0) {
        int method = sal_method_from_name(value);
        if (method < 0)
            return sal_fail(err, SAL_ERR_ARGUMENT,
                            "unknown method '%s': valid names are vanilla, gradient-x-input, guided-backprop, "
                            "deconvnet, integrated-gradients, occlusion, grad-cam, guided-grad-cam, xrai, blur-ig, "
                            "guided-ig",
                            value);
        opt->method = (sal_method)method;
        status = SAL_OK;
    } else if (strcmp(key, "layer") == 0) {
        status = set_layer(o, value, err);
    } else if (strcmp(key, "smoothAggregate") == 0) {
        if ((status = set_choice(&choice, key, aggregate_names, value, err)) == SAL_OK)
            opt->smooth_aggregate = (sal_aggregate)choice;
    } else if (strcmp(key, "baseline") == 0) {
        if ((status = set_choice(&choice, key, baseline_names, value, err)) == SAL_OK)
            opt->baseline = (sal_baseline)choice;
    } else if (strcmp(key, "quadrature") == 0) {
        if ((status = set_choice(&choice, key, quadrature_names, value, err)) == SAL_OK)
            opt->quadrature = (sal_quadrature)choice;
    } else {
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown explain option '%s'", key);
    }
    if (status == SAL_OK) sal_ok(err);
    return status;
}

/* A baseline picture, brought to the model's input size like the photo. */
EXPORT int salw_options_set_baseline_image(salw_options *o, const salw_model *m, const uint8_t *rgba,
                                           const float *rgb, int width, int height, sal_error *err) {
    sal_image pixels = {0};
    int owned = 0;
    int status = model_pixels(m, rgba, rgb, width, height, &pixels, &owned, err);
    if (status != SAL_OK) return status;
    if (!owned) { /* the caller's buffer is freed before explain runs: keep a copy */
        size_t bytes = (size_t)pixels.width * (size_t)pixels.height * 3 * sizeof(float);
        float *copy = malloc(bytes);
        if (!copy) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        memcpy(copy, pixels.data, bytes);
        pixels.data = copy;
    }
    sal_image_free(&o->baseline);
    o->baseline = pixels;
    o->options.baseline = SAL_BASELINE_IMAGE;
    o->options.baseline_pixels = pixels.data;
    sal_ok(err);
    return SAL_OK;
}

/* ---------------------------------------------------------------- explain */

/* The JavaScript side of progress: Module.salProgress(fraction) -> cancel?
 * Only the thread that called explain may call into JavaScript. */
EM_JS(int, salw_report_to_js, (double fraction), {
    var report = Module["salProgress"];
    return report && report(fraction) ? 1 : 0;
});

static int report_progress(void *user, double fraction) {
    (void)user;
    return emscripten_is_main_runtime_thread() ? salw_report_to_js(fraction) : 0;
}

EXPORT sal_explanation *salw_explanation_new(void) { return calloc(1, sizeof(sal_explanation)); }

EXPORT void salw_explanation_free(sal_explanation *e) {
    if (!e) return;
    sal_explanation_free(e);
    free(e);
}

/* out: height, width, channels, data, target, score, has_completeness,
 * score_difference, completeness_gap, low_height, low_width, low_data,
 * region_rank (pointers as numbers, 0 for NULL). */
EXPORT void salw_explanation_header(const sal_explanation *e, double out[13]) {
    const double values[13] = {e->height,           e->width,
                               e->channels,         (double)(uintptr_t)e->data,
                               e->target,           e->score,
                               e->has_completeness, e->score_difference,
                               e->completeness_gap, e->low_height,
                               e->low_width,        (double)(uintptr_t)e->low_data,
                               (double)(uintptr_t)e->region_rank};
    memcpy(out, values, sizeof values);
}

EXPORT int salw_explain(salw_model *m, const uint8_t *rgba, const float *rgb, int width, int height,
                        const salw_options *o, int with_progress, sal_explanation *out, sal_error *err) {
    sal_image pixels = {0};
    int owned = 0;
    int status = ensure_context(m, err);
    if (status == SAL_OK) status = model_pixels(m, rgba, rgb, width, height, &pixels, &owned, err);
    if (status != SAL_OK) return status;
    sal_explain_options options = o->options;
    options.progress = with_progress ? (sal_progress){report_progress, NULL} : (sal_progress){0};
    status = sal_explain(m->ctx, &m->preprocess, &pixels, &options, out, err);
    if (owned) sal_image_free(&pixels);
    return status;
}
