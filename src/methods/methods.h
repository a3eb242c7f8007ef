/* methods.h - what the saliency methods share inside the library.
 *
 * Every method sees the network through sal_fn: for a batch of model inputs
 * (preprocessed, NHWC) the score of the explained class and, when asked, its
 * gradient.  A CNN context is one sal_fn (sal_fn_for_context); tests plug in
 * analytic functions to check the path methods as the papers state them.
 * Inputs here are in model space; explain.c turns pixels into model inputs,
 * baselines into model-space baselines, and masks back into RGB order.
 */
#ifndef SAL_METHODS_H
#define SAL_METHODS_H

#include "../saliency.h"

typedef struct sal_fn sal_fn;
struct sal_fn {
    /* scores: batch values (may be NULL); grads: batch x size (may be NULL:
     * forward only).  x is batch x size. */
    int (*eval)(const sal_fn *fn, const float *x, int batch, float *scores, float *grads, sal_error *err);
    int height, width, channels; /* one input holds height * width * channels floats */
    int max_batch;               /* largest batch eval takes at once (>= 1) */
    void *user;
};

static inline size_t sal_fn_size(const sal_fn *fn) {
    return (size_t)fn->height * (size_t)fn->width * (size_t)fn->channels;
}

/* The CNN behind ctx as a sal_fn: score = pre-softmax logit of `target`
 * (>= 0), gradients taken with the given ReLU rule.  max_batch comes from the
 * memory budget (sal_backward_memory; 0 means 512 MiB), capped at 32; where
 * images run apart it is 4 per thread when that fits.  eval refuses a larger
 * batch.  `storage` holds what the sal_fn points to and must outlive it. */
typedef struct {
    sal_context *ctx;
    int target;
    sal_relu_rule rule;
    int classes;
} sal_context_fn;
int sal_fn_for_context(sal_fn *fn, sal_context_fn *storage, sal_context *ctx, int height, int width, int target,
                       sal_relu_rule rule, size_t memory_budget, sal_error *err);

/* Progress: report(done / total) through p; returns SAL_ERR_CANCELLED (with
 * err filled) when the callback asks to stop.  A sub-range maps a nested
 * loop's [0, 1] onto [start, end] of the parent's. */
int sal_progress_step(const sal_progress *p, double done, double total, sal_error *err);
typedef struct {
    sal_progress outer;
    double start, end;
} sal_progress_range;
sal_progress sal_progress_sub(const sal_progress *outer, sal_progress_range *storage, double start, double end);

/* Completeness of a path method: F(x) - F(x') and its gap to the sum of attributions. */
typedef struct {
    double score_difference;
    double gap;
} sal_completeness;

/* ---- gradient methods (one image; mask has sal_fn_size floats) */
/* Vanilla/Guided Backprop/Deconvnet differ only in fn's ReLU rule: mask = dF/dx. */
int sal_gradient(const sal_fn *fn, const float *x, int batch, float *mask, sal_error *err);
/* mask = x * dF/dx (batch images). */
int sal_gradient_x_input(const sal_fn *fn, const float *x, int batch, float *mask, sal_error *err);

/* ---- SmoothGrad over any method.  `base` explains a batch of inputs. */
typedef struct {
    int (*explain)(void *user, const float *x, int batch, float *masks, sal_error *err);
    void *user;
    int max_batch;   /* >= 1: samples explained together */
    size_t size;     /* floats of one input */
    size_t mask_size;/* floats of one mask */
} sal_smooth_base;
/* noise: samples x size Gaussian draws already scaled by sigma. */
int sal_smoothgrad_with_noise(const sal_smooth_base *base, const float *x, int samples, const float *noise,
                              sal_aggregate aggregate, const sal_progress *progress, float *mask, sal_error *err);
/* sigma = noise_level * (max(x) - min(x)); draws from a counter-based generator seeded by `seed`. */
int sal_smoothgrad(const sal_smooth_base *base, const float *x, int samples, float noise_level, uint64_t seed,
                   sal_aggregate aggregate, const sal_progress *progress, float *mask, sal_error *err);
/* Standard normal draws, reproducible from the seed (used by SmoothGrad and the noise baseline). */
void sal_random_normal(uint64_t seed, float *out, size_t n);
void sal_random_uniform(uint64_t seed, float *out, size_t n); /* in [0, 1) */

/* ---- path methods */
/* Nodes and weights of a quadrature on [0, 1] with `steps` gradient evaluations. */
int sal_quadrature_rule(sal_quadrature q, int steps, double *alphas, double *weights, sal_error *err);
/* c may be NULL: the two forward passes for completeness are then skipped. */
int sal_integrated_gradients(const sal_fn *fn, const float *x, const float *baseline, int steps, sal_quadrature q,
                             const sal_progress *progress, float *mask, sal_completeness *c, sal_error *err);
/* Blur IG (Xu et al. 2020): path from a blur of sigma max_sigma to the image. */
int sal_blur_ig(const sal_fn *fn, const float *x, int steps, float max_sigma, const sal_progress *progress,
                float *mask, sal_completeness *c, sal_error *err);
/* Guided IG (Kapishnikov et al. 2021). */
int sal_guided_ig(const sal_fn *fn, const float *x, const float *baseline, int steps, float fraction,
                  float max_dist, const sal_progress *progress, float *mask, sal_completeness *c, sal_error *err);
/* XRAI (Kapishnikov et al. 2019): attributions (IG with black and white
 * baselines, averaged) ranked over Felzenszwalb regions of the photo.
 * pixels: the photo (H x W x 3 in [0, 255]); black/white: model-space baselines.
 * map: H x W (region-averaged attribution by rank order, as PAIR's xrai output);
 * rank: H x W region ranks. */
int sal_xrai(const sal_fn *fn, const float *x, const float *pixels, const float *black, const float *white,
             int steps, float area_threshold, const sal_progress *progress, float *map, int *rank,
             sal_completeness *c, sal_error *err);

/* ---- CNN-specific methods */
/* Grad-CAM (Selvaraju et al. 2017) on one image: low (lh x lw, from the
 * layer's shape) and up (H x W, bilinear).  Either output may be NULL. */
int sal_grad_cam(sal_context *ctx, const float *x, int height, int width, int target, const char *layer,
                 float *low, int *low_height, int *low_width, float *up, sal_error *err);
/* Occlusion (Zeiler & Fergus 2014): map[p] = mean over windows covering p of
 * F(x) - F(x with the window set to patch[c]).  patch: model-space value per
 * channel.  map: H x W. */
int sal_occlusion(const sal_fn *fn, const float *x, const float *patch, int window, int stride,
                  const sal_progress *progress, float *map, sal_error *err);

#endif
