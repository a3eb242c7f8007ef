/* Grad-CAM - Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep
 * Networks via Gradient-based Localization".
 *
 * For a layer output A (h x w x K) and the pre-softmax score y^c of class c:
 *
 *     alpha_k = 1/(h w) sum_ij dy^c / dA_ijk        (neuron importance)
 *     L       = ReLU( sum_k alpha_k A_k )           (h x w)
 *
 * then L is upsampled bilinearly to the input's H x W with pixel centres
 * aligned (sal_resize_map: torch's interpolate(mode="bilinear",
 * align_corners=False)).
 * No normalization here: the visualization scales the map.  A negative
 * target explains the top class, as in sal_backward. */
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "../executor/executor.h"
#include "methods.h"

/* The public sal_layer_shape does not tell a [n, c] output (stored as
 * h = w = 1) from a 4-D one, so the rank is read from the graph. */
static int spatial_layer_shape(sal_context *ctx, const char *layer, int height, int width, sal_shape *out,
                               sal_error *err) {
    int node = sal_graph_find(ctx->graph, layer);
    if (node < 0) return sal_fail(err, SAL_ERR_ARGUMENT, "Grad-CAM: no layer named '%s' in the model", layer);
    sal_shape *shapes = calloc((size_t)ctx->graph->n_nodes, sizeof *shapes);
    if (!shapes) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = sal_graph_infer_shapes(ctx->graph, 1, height, width, shapes, err);
    if (status == SAL_OK) *out = shapes[node];
    free(shapes);
    if (status == SAL_OK && out->rank != 4)
        status = sal_fail(err, SAL_ERR_ARGUMENT,
                          "Grad-CAM: layer '%s' has a %d-D output; Grad-CAM needs a 4-D (spatial) layer", layer,
                          out->rank);
    return status;
}

static int check_arguments(sal_context *ctx, const float *x, int height, int width, int target, sal_error *err) {
    if (!ctx || !x) return sal_fail(err, SAL_ERR_ARGUMENT, "Grad-CAM: missing context or input");
    if (height < 1 || width < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "Grad-CAM: invalid input size %d x %d", height, width);
    int classes = sal_model_num_classes(ctx->model);
    if (target >= classes)
        return sal_fail(err, SAL_ERR_ARGUMENT, "Grad-CAM: target class %d is out of range (the model has %d classes)",
                        target, classes);
    int channels = 0;
    sal_model_input_size(ctx->model, NULL, NULL, &channels);
    size_t n = (size_t)height * (size_t)width * (size_t)channels;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return sal_fail(err, SAL_ERR_NUMERIC, "Grad-CAM: input value %zu is not finite", i);
    return SAL_OK;
}

/* low[ij] = ReLU(sum_k alpha_k A_ijk) with alpha_k the spatial mean of G_..k. */
static int weighted_activation_map(const float *activation, const float *gradient, int h, int w, int k,
                                   float *low, sal_error *err) {
    double *alpha = calloc((size_t)k, sizeof *alpha);
    if (!alpha) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    size_t pixels = (size_t)h * (size_t)w;
    for (size_t p = 0; p < pixels; p++)
        for (int c = 0; c < k; c++) alpha[c] += gradient[p * (size_t)k + (size_t)c];
    for (int c = 0; c < k; c++) alpha[c] /= (double)pixels;
    int finite = 1;
    for (size_t p = 0; p < pixels; p++) {
        double sum = 0;
        for (int c = 0; c < k; c++) sum += alpha[c] * activation[p * (size_t)k + (size_t)c];
        finite &= isfinite(sum) != 0;
        low[p] = sum > 0 ? (float)sum : 0.0f;
    }
    free(alpha);
    return finite ? SAL_OK : sal_fail(err, SAL_ERR_NUMERIC, "Grad-CAM: the map holds values that are not finite");
}

int sal_grad_cam(sal_context *ctx, const float *x, int height, int width, int target, const char *layer,
                 float *low, int *low_height, int *low_width, float *up, sal_error *err) {
    int status = check_arguments(ctx, x, height, width, target, err);
    if (status != SAL_OK) return status;
    if (!layer) layer = sal_model_last_spatial_layer(ctx->model);
    if (!layer) return sal_fail(err, SAL_ERR_ARGUMENT, "Grad-CAM: the model has no 4-D layer");
    sal_shape s = {0};
    status = spatial_layer_shape(ctx, layer, height, width, &s, err);
    if (status != SAL_OK) return status;

    size_t values = (size_t)s.h * (size_t)s.w * (size_t)s.c;
    float *activation = malloc(values * sizeof *activation);
    float *gradient = malloc(values * sizeof *gradient);
    float *map = malloc((size_t)s.h * (size_t)s.w * sizeof *map);
    if (!activation || !gradient || !map) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    sal_backward_request dy_dA = {
        .targets = target >= 0 ? &target : NULL,
        .layer = layer,
        .layer_activation = activation,
        .layer_gradient = gradient,
    };
    if (status == SAL_OK) status = sal_backward(ctx, x, 1, height, width, &dy_dA, err);
    if (status == SAL_OK) status = weighted_activation_map(activation, gradient, s.h, s.w, s.c, map, err);
    if (status == SAL_OK) {
        if (low) for (int p = 0; p < s.h * s.w; p++) low[p] = map[p];
        if (low_height) *low_height = s.h;
        if (low_width) *low_width = s.w;
        status = up ? sal_resize_map(map, s.h, s.w, 1, height, width, up, err) : SAL_OK;
    }
    if (status == SAL_OK) sal_ok(err);
    free(activation);
    free(gradient);
    free(map);
    return status;
}
