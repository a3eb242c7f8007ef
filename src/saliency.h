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
    SAL_ERR_NUMERIC,       /* NaN or infinity where a number was expected */
    SAL_ERR_CANCELLED      /* the progress callback asked to stop */
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
/* Shards fetched piece by piece as loading needs them, so that they never
 * have to be in memory all at once (e.g. bytes held outside a wasm module). */
typedef struct {
    const char *const *names; /* as for buffers: paths as listed in the weights manifest */
    const size_t *sizes;      /* each shard's size in bytes */
    int n_shards;
    /* Copies bytes [offset, offset + n) of shard `index` (never past its size)
     * to dst.  Returns SAL_OK, or a status with or without filling err. */
    int (*read)(void *user, int index, size_t offset, uint8_t *dst, size_t n, sal_error *err);
    void *user;
} sal_shard_reader;

sal_model *sal_model_load_tfjs_reader(const char *json, size_t json_size, const sal_shard_reader *shards,
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
 * for the last input shape (re-planned only when the shape changes).
 * On the portable kernels a batch runs image by image: with T threads, T
 * images at a time side by side, each on one thread and its own buffers (so
 * working memory grows with the threads, not with the batch); a lone image
 * gets every thread on each layer.  XNNPACK runs a batch as one. */
typedef struct sal_context sal_context;

sal_context *sal_context_create(const sal_model *model, int n_threads, sal_error *err);
void sal_context_free(sal_context *ctx);

/* Which kernels run the convolutions, dense layers and pools.
 *  SAL_BACKEND_PORTABLE: the library's own C kernels (the only ones in the
 *    WebAssembly build); native code rounds exactly like the wasm build.
 *  SAL_BACKEND_XNNPACK: XNNPACK (Debian's libxnnpack-dev), native builds
 *    configured with -DSAL_XNNPACK=ON (the default) where CMake found it.
 *    Faster; float32 with its own (fused) arithmetic, so results differ from
 *    the portable kernels in the last bits, never bit for bit.  Its
 *    operators turn NaN into infinities, so a layer it runs whose output
 *    overflows fails the call (SAL_ERR_NUMERIC) instead of passing NaN on.
 *  SAL_BACKEND_DEFAULT: the environment variable SAL_BACKEND ("portable" or
 *    "xnnpack") when it is set, else XNNPACK when compiled in, else portable.
 * Asking for XNNPACK where it is not compiled in (directly or through
 * SAL_BACKEND), or naming an unknown backend in SAL_BACKEND, fails. */
typedef enum { SAL_BACKEND_DEFAULT = 0, SAL_BACKEND_PORTABLE, SAL_BACKEND_XNNPACK } sal_backend;

/* sal_context_create(model, n, err) is this with SAL_BACKEND_DEFAULT.
 * n_threads <= 0: one per processor. */
sal_context *sal_context_create_backend(const sal_model *model, int n_threads, sal_backend backend,
                                        sal_error *err);
/* 1 when the backend can be used in this build (DEFAULT always can). */
int sal_backend_available(sal_backend backend);
/* "portable", "xnnpack" ("default" for SAL_BACKEND_DEFAULT); NULL for other values. */
const char *sal_backend_name(sal_backend backend);
/* The backend a context runs on (never SAL_BACKEND_DEFAULT). */
sal_backend sal_context_backend(const sal_context *ctx);

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

/* Bytes of working memory one sal_backward of `batch` images of height x width
 * needs (buffers and scratch; weights excluded): on the portable kernels, one
 * image's for each of min(batch, threads) threads.  Methods use it to size
 * their batches to a memory budget. */
int sal_backward_memory(sal_context *ctx, int batch, int height, int width, size_t *bytes, sal_error *err);

/* Progress of a long call.  `report` gets the fraction done in [0, 1]; a
 * nonzero return asks the call to stop, which then fails with SAL_ERR_CANCELLED.
 * A zeroed struct means "no progress reports". */
typedef struct {
    int (*report)(void *user, double fraction);
    void *user;
} sal_progress;

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

typedef struct {
    int x, y, width, height;
} sal_rect;

/* The part of an in_width x in_height photo that sal_image_resize_crop keeps
 * for width x height, in the photo's pixels (ends rounded to whole pixels).
 * Used to lay a mask over the model's input back onto the original photo. */
int sal_image_crop_rect(int in_width, int in_height, int width, int height, sal_rect *rect, sal_error *err);

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

typedef enum {
    SAL_METHOD_VANILLA = 0,
    SAL_METHOD_GRADIENT_X_INPUT,
    SAL_METHOD_GUIDED_BACKPROP,
    SAL_METHOD_DECONVNET,
    SAL_METHOD_INTEGRATED_GRADIENTS,
    SAL_METHOD_OCCLUSION,
    SAL_METHOD_GRAD_CAM,
    SAL_METHOD_GUIDED_GRAD_CAM,
    SAL_METHOD_XRAI,
    SAL_METHOD_BLUR_IG,
    SAL_METHOD_GUIDED_IG,
    SAL_METHOD_COUNT
} sal_method;

/* CLI / JS names: "vanilla", "gradient-x-input", "guided-backprop", "deconvnet",
 * "integrated-gradients", "occlusion", "grad-cam", "guided-grad-cam", "xrai",
 * "blur-ig", "guided-ig".  Returns -1 for an unknown name; sal_method_name
 * returns "unknown" for a value out of range. */
int sal_method_from_name(const char *name);
const char *sal_method_name(sal_method method);

typedef enum {
    SAL_BASELINE_BLACK = 0, /* every pixel 0 */
    SAL_BASELINE_WHITE,     /* every pixel 255 */
    SAL_BASELINE_NOISE,     /* uniform pixels in [0, 255] from the seed */
    SAL_BASELINE_BLUR,      /* the photo under a wide Gaussian blur */
    SAL_BASELINE_IMAGE      /* baseline_pixels */
} sal_baseline;

typedef enum {
    SAL_QUADRATURE_RIEMANN_LEFT = 0,
    SAL_QUADRATURE_RIEMANN_RIGHT,
    SAL_QUADRATURE_RIEMANN_MIDDLE,
    SAL_QUADRATURE_RIEMANN_TRAPEZOID,
    SAL_QUADRATURE_GAUSS_LEGENDRE
} sal_quadrature;

typedef enum {
    SAL_AGGREGATE_MEAN = 0, /* SmoothGrad */
    SAL_AGGREGATE_SQUARED,  /* SmoothGrad^2: mean of squares */
    SAL_AGGREGATE_VARGRAD   /* variance over the samples */
} sal_aggregate;

/* Everything an explanation can be asked for.  sal_explain_defaults() fills
 * the papers' defaults; callers change what they need. */
typedef struct {
    sal_method method;
    int target;                 /* class index; negative: the top class */

    /* SmoothGrad over the method: samples > 0 turns it on. */
    int smooth_samples;         /* default 0 (off); the paper uses 25 */
    float smooth_noise;         /* sigma = noise * (max - min) of the model input; default 0.15 */
    sal_aggregate smooth_aggregate;
    uint64_t seed;              /* for every random draw; default 0 */

    /* Integrated Gradients and the path methods. */
    int steps;                  /* default 32 */
    sal_baseline baseline;      /* default black */
    const float *baseline_pixels; /* SAL_BASELINE_IMAGE: H x W x 3 RGB pixels in [0, 255], input size */
    sal_quadrature quadrature;  /* default riemann_trapezoid */

    /* Grad-CAM and Guided Grad-CAM. */
    const char *layer;          /* NULL: sal_model_last_spatial_layer */

    /* Occlusion. */
    int window;                 /* default 16 */
    int stride;                 /* default 8 */
    float baseline_value;       /* pixel value of the occluding patch; default 0 */

    /* Blur IG. */
    float blur_max_sigma;       /* default 50; at most 1000 */
    /* Guided IG. */
    float guided_fraction;      /* share of features moved per step; default 0.25 (PAIR) */
    float guided_max_dist;      /* L1 distance bound, as a share of |x - x'|; default 0.02 */
    /* XRAI. */
    float xrai_area_threshold;  /* share of the picture ranked; default 1.0 */

    size_t memory_budget;       /* bytes for batches of samples/steps/windows; 0 = 512 MiB */
    sal_progress progress;
} sal_explain_options;

void sal_explain_defaults(sal_explain_options *options);

/* A mask over the model's input pixels. */
typedef struct {
    int height, width;
    int channels;            /* 3 (RGB, per-pixel attributions; occlusion repeats its map) or 1 (Grad-CAM, XRAI) */
    float *data;             /* height x width x channels */
    int target;              /* the class explained */
    float score;             /* its pre-softmax score F(x) */
    /* Integrated Gradients, Blur IG, Guided IG, XRAI's IG: completeness. */
    int has_completeness;
    double score_difference; /* F(x) - F(x') */
    double completeness_gap; /* F(x) - F(x') - sum of attributions */
    /* Grad-CAM: the map at the layer's own resolution, before upsampling. */
    int low_height, low_width;
    float *low_data;         /* NULL for other methods */
    /* XRAI: each pixel's region rank (0 = most salient), -1 if unranked. */
    int *region_rank;        /* NULL for other methods */
} sal_explanation;

/* Explains `pixels` (RGB in [0, 255], exactly the model's input size) as the
 * model sees it after `preprocess`.  Baselines and the occlusion patch are
 * pixel values, preprocessed like the photo.  Per-pixel masks come back in RGB
 * channel order.  Free the result with sal_explanation_free. */
int sal_explain(sal_context *ctx, const sal_preprocess *preprocess, const sal_image *pixels,
                const sal_explain_options *options, sal_explanation *out, sal_error *err);
void sal_explanation_free(sal_explanation *explanation);

/* -------------------------------------------------------- visualization */

/* Sum of |mask| over channels, clipped at the given percentile (e.g. 99) and
 * scaled to [0, 1].  mask: h x w x c; out: h x w. */
int sal_visualize_grayscale(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err);
/* Sum over channels, divided by the percentile of its absolute value and
 * clipped to [-1, 1]: zero stays zero, signs are kept.  out: h x w. */
int sal_visualize_diverging(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err);

typedef enum {
    SAL_COLORMAP_GRAY = 0,
    SAL_COLORMAP_INFERNO,
    SAL_COLORMAP_VIRIDIS,
    SAL_COLORMAP_JET,
    SAL_COLORMAP_DIVERGING   /* blue - white - red for maps in [-1, 1] */
} sal_colormap;

/* "gray", "inferno", "viridis", "jet", "diverging"; -1 if unknown. */
int sal_colormap_from_name(const char *name);

/* Colours a map (h x w; values in [0, 1], or [-1, 1] for the diverging map)
 * into RGBA8.  With `photo` (RGBA8, same size; may be NULL) the colours are
 * blended over it: out = alpha * colour + (1 - alpha) * photo. */
int sal_colorize(const float *map, int height, int width, sal_colormap colormap,
                 const uint8_t *photo_rgba, float alpha, uint8_t *out_rgba, sal_error *err);

/* Bilinear resampling of an h x w x c map to out_h x out_w (pixel centres
 * aligned, as when a photo is resized).  Used to bring a mask over the model's
 * input back to the original photo's size and Grad-CAM up to the input size. */
int sal_resize_map(const float *map, int height, int width, int channels,
                   int out_height, int out_width, float *out, sal_error *err);

/* XRAI's ranked regions as a mask: 1 for pixels in the top `percent` % of the
 * picture's area by region rank, else 0.  out: h x w. */
int sal_xrai_top_mask(const int *region_rank, int height, int width, float percent,
                      float *out, sal_error *err);

/* Encodes RGBA8 as PNG into a malloc'd buffer (free with free()). */
int sal_png_encode_rgba(const uint8_t *rgba, int width, int height, uint8_t **png, size_t *png_size,
                        sal_error *err);

#ifdef __cplusplus
}
#endif
#endif
