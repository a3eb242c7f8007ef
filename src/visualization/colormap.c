/* colormap.c - colouring a saliency map and blending it over the photo.
 *
 * A value t in [0, 1] (gray, inferno, viridis, jet) sits at position
 * t * 255 of a 256-entry table and takes the linear interpolation of the two
 * entries around it; the diverging map's v in [-1, 1] runs blue (0, 0, 1) ->
 * white -> red (1, 0, 0), as matplotlib's 'bwr'.  Values outside the range are
 * clipped.  With a photo:  out = alpha * colour + (1 - alpha) * photo.
 */
#include <math.h>
#include <string.h>

#include "../bytes/error.h"
#include "../saliency.h"
#include "visualization.h"

static const char *const colormap_names[] = {"gray", "inferno", "viridis", "jet", "diverging"};

int sal_colormap_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < (int)(sizeof colormap_names / sizeof colormap_names[0]); i++)
        if (strcmp(name, colormap_names[i]) == 0) return i;
    return -1;
}

static float clamp(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void interpolate_table(const float table[256][3], float t, float rgb[3]) {
    float position = clamp(t, 0.0f, 1.0f) * 255.0f;
    int below = (int)position;
    if (below > 254) below = 254;
    float f = position - (float)below;
    for (int c = 0; c < 3; c++) rgb[c] = table[below][c] * (1.0f - f) + table[below + 1][c] * f;
}

static void blue_white_red(float v, float rgb[3]) {
    v = clamp(v, -1.0f, 1.0f);
    if (v < 0.0f) {
        rgb[0] = rgb[1] = 1.0f + v;
        rgb[2] = 1.0f;
    } else {
        rgb[0] = 1.0f;
        rgb[1] = rgb[2] = 1.0f - v;
    }
}

static void colour_of(sal_colormap colormap, float v, float rgb[3]) {
    switch (colormap) {
    case SAL_COLORMAP_INFERNO: interpolate_table(sal_inferno_table, v, rgb); break;
    case SAL_COLORMAP_VIRIDIS: interpolate_table(sal_viridis_table, v, rgb); break;
    case SAL_COLORMAP_JET: interpolate_table(sal_jet_table, v, rgb); break;
    case SAL_COLORMAP_DIVERGING: blue_white_red(v, rgb); break;
    default: rgb[0] = rgb[1] = rgb[2] = clamp(v, 0.0f, 1.0f); break;
    }
}

static uint8_t to_byte(float v) { return (uint8_t)floorf(clamp(v, 0.0f, 255.0f) + 0.5f); }

static int check_colorize_arguments(const float *map, int height, int width, sal_colormap colormap,
                                    float alpha, const uint8_t *out_rgba, sal_error *err) {
    if (!map || !out_rgba) return sal_fail(err, SAL_ERR_ARGUMENT, "colorize: map or output is NULL");
    if (height <= 0 || width <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "colorize: map size %d x %d is empty", height, width);
    if ((int)colormap < 0 || (int)colormap > SAL_COLORMAP_DIVERGING)
        return sal_fail(err, SAL_ERR_ARGUMENT, "colorize: unknown colormap %d", (int)colormap);
    if (!(alpha >= 0.0f && alpha <= 1.0f))
        return sal_fail(err, SAL_ERR_ARGUMENT, "colorize: alpha %g is not in [0, 1]", (double)alpha);
    return SAL_OK;
}

int sal_colorize(const float *map, int height, int width, sal_colormap colormap,
                 const uint8_t *photo_rgba, float alpha, uint8_t *out_rgba, sal_error *err) {
    int status = check_colorize_arguments(map, height, width, colormap, alpha, out_rgba, err);
    if (status) return status;
    size_t n = (size_t)height * (size_t)width;
    for (size_t i = 0; i < n; i++) {
        if (isnan(map[i])) return sal_fail(err, SAL_ERR_NUMERIC, "colorize: map pixel %zu is NaN", i);
        float rgb[3];
        colour_of(colormap, map[i], rgb);
        for (int c = 0; c < 3; c++) {
            float colour = 255.0f * rgb[c];
            float blended = photo_rgba ? alpha * colour + (1.0f - alpha) * photo_rgba[4 * i + c] : colour;
            out_rgba[4 * i + c] = to_byte(blended);
        }
        out_rgba[4 * i + 3] = 255;
    }
    sal_ok(err);
    return SAL_OK;
}
