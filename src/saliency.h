/* saliency.h - the one public header of the saliency library.
 *
 * Explains image classifiers: load a model, feed it a preprocessed image,
 * get class scores and gradients of a chosen class score with respect to the
 * input or to any named layer.  Tensors are float32, NHWC, batch first.
 *
 * Ownership: every object returned by a *_create / *_load function is freed by
 * the matching *_free.  Errors are returned (status codes + sal_error text),
 * never printed.  No global state: everything lives in explicit structs.
 */
#ifndef SALIENCY_H
#define SALIENCY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

typedef enum {
    SAL_OK = 0,
    SAL_ERR_IO,            /* a file could not be read or written */
    SAL_ERR_FORMAT,        /* malformed model.json, image, shard ... */
    SAL_ERR_UNSUPPORTED,   /* layer type or option the library does not support */
    SAL_ERR_SHAPE,         /* shapes that do not fit together */
    SAL_ERR_ARGUMENT,      /* bad argument from the caller */
    SAL_ERR_MEMORY,        /* out of memory */
    SAL_ERR_NUMERIC        /* NaN or infinity where a number was expected */
} sal_status;

typedef struct {
    sal_status status;
    char message[512];
} sal_error;

/* ---------------------------------------------------------------- models */

typedef struct sal_model sal_model;

/* One weight shard held in memory (used when files are not at hand, e.g. wasm). */
typedef struct {
    const char *name; /* path as listed in the weights manifest */
    const uint8_t *data;
    size_t size;
} sal_buffer;

/* Loads a TF.js layers model: model.json and the shards beside it. */
sal_model *sal_model_load_tfjs(const char *model_json_path, sal_error *err);
/* The same from memory; shards are matched to the manifest by name. */
sal_model *sal_model_load_tfjs_buffers(const char *json, size_t json_size,
                                       const sal_buffer *shards, int n_shards,
                                       sal_error *err);
void sal_model_free(sal_model *model);

/* Input size the model was built for (0 where the model leaves it free). */
void sal_model_input_size(const sal_model *model, int *height, int *width, int *channels);
int sal_model_num_classes(const sal_model *model);
/* Every name a layer output answers to, in graph order: the Keras layer names
 * (a convolution whose batch norm was folded in still answers to its own name)
 * and internal ones such as "NAME/linear" (before a fused activation) and
 * "NAME/depthwise" (inside a SeparableConv2D). */
int sal_model_num_layers(const sal_model *model);
const char *sal_model_layer_name(const sal_model *model, int index);
/* Name of the last layer with a 4-D output (the usual Grad-CAM layer), or NULL. */
const char *sal_model_last_spatial_layer(const sal_model *model);

/* Class names: a JSON object {"0": "tench", ...} or a JSON array of strings. */
typedef struct {
    int count;
    char **names; /* count entries; an index missing from an object is NULL */
} sal_labels;

int sal_labels_load(const char *path, sal_labels *out, sal_error *err);
int sal_labels_parse(const char *json, size_t size, sal_labels *out, sal_error *err);
void sal_labels_free(sal_labels *labels);

/* -------------------------------------------------------------- contexts */

/* A context runs one model: it owns the thread pool and the buffers planned
 * for the last input shape (re-planned only when the shape changes). */
typedef struct sal_context sal_context;

sal_context *sal_context_create(const sal_model *model, int n_threads, sal_error *err);
void sal_context_free(sal_context *ctx);

/* How the backward pass treats ReLU units. */
typedef enum {
    SAL_RELU_STANDARD = 0, /* dx = dy * [x > 0]            */
    SAL_RELU_GUIDED,       /* dx = dy * [x > 0] * [dy > 0] (Springenberg et al.) */
    SAL_RELU_DECONVNET     /* dx = dy * [dy > 0]           (Zeiler & Fergus)    */
} sal_relu_rule;

/* Runs the model forward on `batch` images of the model's input size.
 * logits: batch x classes pre-softmax scores (may be NULL);
 * probs:  batch x classes probabilities (softmax of the logits; may be NULL). */
int sal_forward(sal_context *ctx, const float *input, int batch, int height, int width,
                float *logits, float *probs, sal_error *err);

/* What a backward pass should return.  Every pointer may be NULL. */
typedef struct {
    const int *targets;        /* batch class indices: the scalar is the sum of
                                  logits[b][targets[b]] (pre-softmax).  NULL, or
                                  a negative entry, means that image's top class */
    int *chosen_targets;       /* batch: receives the classes used */
    sal_relu_rule relu_rule;
    const char *layer;         /* named layer for layer_activation / layer_gradient */
    float *input_gradient;     /* batch x H x W x C */
    float *logits;             /* batch x classes */
    float *layer_activation;   /* batch x h x w x c of `layer` */
    float *layer_gradient;     /* same shape: d scalar / d layer output */
} sal_backward_request;

int sal_backward(sal_context *ctx, const float *input, int batch, int height, int width,
                 const sal_backward_request *request, sal_error *err);

/* Shape of a named layer's output for a given input size (n is the batch). */
int sal_layer_shape(sal_context *ctx, const char *layer, int height, int width,
                    int shape[4], sal_error *err);

/* --------------------------------------------------------------- images */

/* An RGB image, float pixel values in [0, 255], row-major HWC. */
typedef struct {
    int width, height, channels;
    float *data;
} sal_image;

int sal_image_load(const char *path, sal_image *out, sal_error *err);
int sal_image_decode(const uint8_t *bytes, size_t size, sal_image *out, sal_error *err);
int sal_image_from_rgba8(const uint8_t *rgba, int width, int height, sal_image *out, sal_error *err);
void sal_image_free(sal_image *image);
/* Bilinear resize (antialiased when shrinking) of the shorter side to fit,
 * then a centre crop to exactly width x height. */
int sal_image_resize_crop(const sal_image *in, int width, int height, sal_image *out, sal_error *err);

/* Preprocessing: out = (pixel * scale - mean) / std per channel, with the
 * channels first reversed to BGR when bgr is set. mean/std are given in the
 * output channel order. */
typedef struct {
    float scale;
    float mean[3];
    float std[3];
    int bgr;
} sal_preprocess;

/* Presets: "caffe", "tf", "torch", "none". */
int sal_preprocess_preset(const char *name, sal_preprocess *out, sal_error *err);
/* in: HxWx3 pixels in [0,255], RGB. out: HxWx3 model input. */
void sal_preprocess_apply(const sal_preprocess *p, const float *in, int n_pixels, float *out);
/* Brings a gradient with respect to the model input back to the photo's RGB
 * channel order (undoes the BGR swap; in place). */
void sal_preprocess_gradient_to_rgb(const sal_preprocess *p, float *grad, int n_pixels);

/* -------------------------------------------------------------- methods */

/* Vanilla gradients (Simonyan et al. 2013): d logit_target / d input.
 * mask: batch x H x W x C. targets may be NULL to explain each image's top class;
 * chosen_targets (may be NULL) receives the classes explained. */
int sal_vanilla_gradients(sal_context *ctx, const float *input, int batch, int height, int width,
                          const int *targets, int *chosen_targets, float *mask, sal_error *err);

/* -------------------------------------------------------- visualization */

/* Sum of |mask| over channels, clipped at the given percentile (e.g. 99) and
 * scaled to [0, 1].  mask: h x w x c; out: h x w. */
int sal_visualize_grayscale(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err);

#ifdef __cplusplus
}
#endif
#endif
