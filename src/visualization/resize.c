/* resize.c - bilinear resampling of a map with pixel centres aligned, as
 * torch.nn.functional.interpolate(mode="bilinear", align_corners=False)
 * without antialiasing.  Output pixel i of n sits over source position
 *
 *   s = max(0, (i + 0.5) * in / n - 0.5)
 *
 * and mixes source pixels floor(s) and floor(s) + 1 (clamped to the edge)
 * with weights 1 - (s - floor(s)) and s - floor(s). */
#include <stdlib.h>

#include "../bytes/error.h"
#include "../saliency.h"

typedef struct {
    int below, above;
    float weight_above;
} sample_point;

static void plan_axis(int in, int out, sample_point *points) {
    double scale = (double)in / (double)out;
    for (int i = 0; i < out; i++) {
        double s = ((double)i + 0.5) * scale - 0.5;
        if (s < 0.0) s = 0.0;
        int below = (int)s;
        if (below > in - 1) below = in - 1;
        points[i].below = below;
        points[i].above = below < in - 1 ? below + 1 : below;
        points[i].weight_above = (float)(s - below);
    }
}

static void resample(const float *map, int width, int channels, const sample_point *rows, int out_height,
                     const sample_point *cols, int out_width, float *out) {
    for (int y = 0; y < out_height; y++) {
        const float *top = map + (size_t)rows[y].below * width * channels;
        const float *bottom = map + (size_t)rows[y].above * width * channels;
        float wy = rows[y].weight_above;
        for (int x = 0; x < out_width; x++) {
            size_t left = (size_t)cols[x].below * channels, right = (size_t)cols[x].above * channels;
            float wx = cols[x].weight_above;
            float *pixel = out + ((size_t)y * out_width + x) * channels;
            for (int c = 0; c < channels; c++) {
                float upper = top[left + c] * (1.0f - wx) + top[right + c] * wx;
                float lower = bottom[left + c] * (1.0f - wx) + bottom[right + c] * wx;
                pixel[c] = upper * (1.0f - wy) + lower * wy;
            }
        }
    }
}

int sal_resize_map(const float *map, int height, int width, int channels,
                   int out_height, int out_width, float *out, sal_error *err) {
    if (!map || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "resize: map or output is NULL");
    if (height <= 0 || width <= 0 || channels <= 0 || out_height <= 0 || out_width <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "resize: %d x %d x %d to %d x %d: every size must be positive",
                        height, width, channels, out_height, out_width);
    sample_point *rows = malloc((size_t)out_height * sizeof *rows);
    sample_point *cols = malloc((size_t)out_width * sizeof *cols);
    if (!rows || !cols) {
        free(rows);
        free(cols);
        return sal_fail(err, SAL_ERR_MEMORY, "resize: out of memory");
    }
    plan_axis(height, out_height, rows);
    plan_axis(width, out_width, cols);
    resample(map, width, channels, rows, out_height, cols, out_width, out);
    free(rows);
    free(cols);
    sal_ok(err);
    return SAL_OK;
}
