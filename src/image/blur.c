/* blur.c - separable Gaussian blur with scipy.ndimage.gaussian_filter's rules:
 *
 *     radius = int(4 * sigma + 0.5),  w[k] = exp(-k^2 / (2 sigma^2)) / sum_j exp(-j^2 / (2 sigma^2))
 *     out[y] = sum_{k=-radius..radius} w[k] * in[reflect(y + k)]
 *
 * "reflect" mirrors about the edge between pixels (d c b a | a b c d | d c b a),
 * repeatedly when the radius exceeds the image.  Rows first, then columns, as
 * scipy does axis 0 then axis 1; sums are taken in double, every pass stores floats. */
#include "blur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"

#define TRUNCATE 4.0
#define MAX_RADIUS (1 << 20) /* keeps the radius and kernel size within int */

/* Index of position i (any integer) in a line of n samples under "reflect". */
static int reflect_index(long i, int n) {
    long period = 2L * n;
    long m = i % period;
    if (m < 0) m += period;
    return (int)(m < n ? m : period - 1 - m);
}

/* Normalized weights w[0..2 radius]; caller frees. */
static double *gaussian_weights(double sigma, int radius) {
    double *w = malloc((size_t)(2 * radius + 1) * sizeof *w);
    if (!w) return NULL;
    double total = 0;
    for (int k = -radius; k <= radius; k++) {
        w[k + radius] = exp(-0.5 / (sigma * sigma) * (double)k * (double)k);
        total += w[k + radius];
    }
    for (int k = 0; k <= 2 * radius; k++) w[k] /= total;
    return w;
}

/* Along the rows axis: each output row is a weighted sum of whole input rows
 * (row_len contiguous floats), so the inner loop runs over memory in order. */
static void blur_rows(const float *in, int height, size_t row_len, const double *w, int radius, double *acc,
                      float *out) {
    for (int y = 0; y < height; y++) {
        memset(acc, 0, row_len * sizeof *acc);
        for (int k = -radius; k <= radius; k++) {
            const float *src = in + (size_t)reflect_index((long)y + k, height) * row_len;
            double wk = w[k + radius];
            for (size_t j = 0; j < row_len; j++) acc[j] += wk * (double)src[j];
        }
        float *dst = out + (size_t)y * row_len;
        for (size_t j = 0; j < row_len; j++) dst[j] = (float)acc[j];
    }
}

/* Along the columns axis, in place: each row is copied with its reflected
 * margins into `padded` ((width + 2 radius) x channels floats) first. */
static void blur_columns(float *image, int height, int width, int channels, const double *w, int radius,
                         float *padded, double *acc) {
    size_t row_len = (size_t)width * channels;
    for (int y = 0; y < height; y++) {
        float *row = image + (size_t)y * row_len;
        for (long x = -radius; x < (long)width + radius; x++)
            memcpy(padded + (size_t)(x + radius) * channels, row + (size_t)reflect_index(x, width) * channels,
                   (size_t)channels * sizeof *row);
        memset(acc, 0, row_len * sizeof *acc);
        for (int k = 0; k <= 2 * radius; k++) {
            const float *src = padded + (size_t)k * channels;
            double wk = w[k];
            for (size_t j = 0; j < row_len; j++) acc[j] += wk * (double)src[j];
        }
        for (size_t j = 0; j < row_len; j++) row[j] = (float)acc[j];
    }
}

static int check_blur_arguments(const float *in, int height, int width, int channels, float sigma,
                                const float *out, sal_error *err) {
    if (!in || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "gaussian blur: image or output is NULL");
    if (height < 1 || width < 1 || channels < 1)
        return sal_fail(err, SAL_ERR_SHAPE, "gaussian blur: bad image size %d x %d x %d", height, width, channels);
    if (!isfinite(sigma) || sigma < 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "gaussian blur: sigma must be a finite number >= 0, got %g",
                        (double)sigma);
    if (TRUNCATE * (double)sigma + 0.5 > MAX_RADIUS)
        return sal_fail(err, SAL_ERR_ARGUMENT, "gaussian blur: sigma %g is too large (at most %g)", (double)sigma,
                        (MAX_RADIUS - 0.5) / TRUNCATE);
    if (in == out) return sal_fail(err, SAL_ERR_ARGUMENT, "gaussian blur: output may not alias the input");
    size_t count = (size_t)height * width * channels;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(in[i])) return sal_fail(err, SAL_ERR_NUMERIC, "gaussian blur: value %zu is not finite", i);
    return SAL_OK;
}

int sal_gaussian_blur(const float *in, int height, int width, int channels, float sigma, float *out,
                      sal_error *err) {
    int status = check_blur_arguments(in, height, width, channels, sigma, out, err);
    if (status) return status;
    size_t row_len = (size_t)width * channels;
    int radius = (int)(TRUNCATE * (double)sigma + 0.5);
    if (radius == 0) { /* a one-tap kernel of weight 1, as scipy's */
        memcpy(out, in, (size_t)height * row_len * sizeof *out);
        sal_ok(err);
        return SAL_OK;
    }
    double *w = gaussian_weights(sigma, radius);
    double *acc = malloc(row_len * sizeof *acc);
    float *padded = malloc(((size_t)width + 2 * (size_t)radius) * channels * sizeof *padded);
    if (!w || !acc || !padded) {
        free(w), free(acc), free(padded);
        return sal_fail(err, SAL_ERR_MEMORY, "gaussian blur: out of memory for a %d x %d x %d image", height,
                        width, channels);
    }
    blur_rows(in, height, row_len, w, radius, acc, out);
    blur_columns(out, height, width, channels, w, radius, padded, acc);
    free(w), free(acc), free(padded);
    sal_ok(err);
    return SAL_OK;
}
