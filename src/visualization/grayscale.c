/* grayscale.c - the grayscale saliency picture of PAIR's saliency library
 * (VisualizeImageGrayscale): sum of |mask| over channels, scaled so that the
 * minimum maps to 0 and the given percentile to 1, then clipped. */
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "../saliency.h"
#include "visualization.h"

static float smallest(const float *v, size_t n) {
    float m = v[0];
    for (size_t i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static int sum_abs_channels(const float *mask, size_t n_pixels, int channels, float *out,
                            sal_error *err) {
    for (size_t i = 0; i < n_pixels; i++) {
        float sum = 0.0f;
        for (int c = 0; c < channels; c++) sum += fabsf(mask[i * (size_t)channels + c]);
        if (!isfinite(sum))
            return sal_fail(err, SAL_ERR_NUMERIC, "grayscale: mask pixel %zu is NaN or infinite", i);
        out[i] = sum;
    }
    return SAL_OK;
}

int sal_visualize_grayscale(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err) {
    if (!mask || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: mask or output is NULL");
    if (height <= 0 || width <= 0 || channels <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: mask shape %d x %d x %d is empty",
                        height, width, channels);
    if (!(percentile >= 0.0f && percentile <= 100.0f))
        return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: percentile %g is not in [0, 100]",
                        (double)percentile);
    size_t n = (size_t)height * (size_t)width;
    int status = sum_abs_channels(mask, n, channels, out, err);
    if (status) return status;
    float *scratch = malloc(n * sizeof *scratch);
    if (!scratch) return sal_fail(err, SAL_ERR_MEMORY, "grayscale: out of memory");
    for (size_t i = 0; i < n; i++) scratch[i] = out[i];
    float vmax = (float)sal_percentile_linear(scratch, n, percentile);
    float vmin = smallest(out, n);
    free(scratch);
    float range = vmax - vmin;
    for (size_t i = 0; i < n; i++) {
        float v = range > 0.0f ? (out[i] - vmin) / range : 0.0f;
        out[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    sal_ok(err);
    return SAL_OK;
}
