/* preprocess.c - the per-channel affine maps that turn photo pixels into the
 * input a model was trained on. */
#include <string.h>

#include "../bytes/error.h"
#include "../saliency.h"

typedef struct {
    const char *name;
    sal_preprocess preprocess;
} named_preset;

/* Keras' "caffe" mode: BGR order, ImageNet mean subtracted, no scaling.
 * "tf": [-1, 1].  "torch": [0, 1] then ImageNet mean and std (RGB). */
static const named_preset presets[] = {
    {"caffe", {1.0f, {103.939f, 116.779f, 123.68f}, {1.0f, 1.0f, 1.0f}, 1}},
    {"tf", {1.0f / 127.5f, {1.0f, 1.0f, 1.0f}, {1.0f, 1.0f, 1.0f}, 0}},
    {"torch", {1.0f / 255.0f, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}, 0}},
    {"none", {1.0f, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}, 0}},
};

int sal_preprocess_preset(const char *name, sal_preprocess *out, sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_preprocess_preset: output is NULL");
    for (size_t i = 0; name && i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(name, presets[i].name) == 0) {
            *out = presets[i].preprocess;
            sal_ok(err);
            return SAL_OK;
        }
    }
    return sal_fail(err, SAL_ERR_ARGUMENT,
                    "unknown preprocessing '%s': valid names are caffe, tf, torch, none",
                    name ? name : "(null)");
}

void sal_preprocess_apply(const sal_preprocess *p, const float *in, int n_pixels, float *out) {
    for (int i = 0; i < n_pixels; i++) {
        const float *pixel = in + (size_t)i * 3;
        float *result = out + (size_t)i * 3;
        float r = pixel[0], g = pixel[1], b = pixel[2]; /* in == out is allowed */
        float ordered[3] = {r, g, b};
        if (p->bgr) {
            ordered[0] = b;
            ordered[2] = r;
        }
        for (int c = 0; c < 3; c++) result[c] = (ordered[c] * p->scale - p->mean[c]) / p->std[c];
    }
}

void sal_preprocess_gradient_to_rgb(const sal_preprocess *p, float *grad, int n_pixels) {
    if (!p->bgr) return;
    for (int i = 0; i < n_pixels; i++) {
        float *pixel = grad + (size_t)i * 3;
        float first = pixel[0];
        pixel[0] = pixel[2];
        pixel[2] = first;
    }
}
