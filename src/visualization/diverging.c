/* diverging.c - the diverging saliency picture, after PAIR saliency's
 * VisualizeImageDiverging: positive and negative evidence kept apart.
 *
 *   s(p)   = sum_c mask(p, c)
 *   span   = percentile_P(|s|)
 *   out(p) = clip(s(p) / span, -1, 1)     (0 everywhere when span = 0)
 */
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "../saliency.h"
#include "visualization.h"

static int sum_channels(const float *mask, size_t n_pixels, int channels, float *out, sal_error *err) {
    for (size_t i = 0; i < n_pixels; i++) {
        float sum = 0.0f;
        for (int c = 0; c < channels; c++) sum += mask[i * (size_t)channels + c];
        if (!isfinite(sum))
            return sal_fail(err, SAL_ERR_NUMERIC, "diverging: mask pixel %zu is NaN or infinite", i);
        out[i] = sum;
    }
    return SAL_OK;
}

static int percentile_of_magnitude(const float *values, size_t n, float percentile, float *span,
                                   sal_error *err) {
    float *magnitudes = malloc(n * sizeof *magnitudes);
    if (!magnitudes) return sal_fail(err, SAL_ERR_MEMORY, "diverging: out of memory");
    for (size_t i = 0; i < n; i++) magnitudes[i] = fabsf(values[i]);
    *span = (float)sal_percentile_linear(magnitudes, n, percentile);
    free(magnitudes);
    return SAL_OK;
}

int sal_visualize_diverging(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err) {
    if (!mask || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "diverging: mask or output is NULL");
    if (height <= 0 || width <= 0 || channels <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "diverging: mask shape %d x %d x %d is empty",
                        height, width, channels);
    if (!(percentile >= 0.0f && percentile <= 100.0f))
        return sal_fail(err, SAL_ERR_ARGUMENT, "diverging: percentile %g is not in [0, 100]",
                        (double)percentile);
    size_t n = (size_t)height * (size_t)width;
    float span = 0.0f;
    int status = sum_channels(mask, n, channels, out, err);
    if (!status) status = percentile_of_magnitude(out, n, percentile, &span, err);
    if (status) return status;
    for (size_t i = 0; i < n; i++) {
        float v = span > 0.0f ? out[i] / span : 0.0f;
        out[i] = v < -1.0f ? -1.0f : (v > 1.0f ? 1.0f : v);
    }
    sal_ok(err);
    return SAL_OK;
}
