#include "outputs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../bytes/file.h"
#include "../bytes/npy.h"
#include "../bytes/png.h"
#include "common.h"

int cli_write_npy(const char *path, const sal_explanation *e, sal_error *err) {
    int shape[3] = {e->height, e->width, e->channels};
    return sal_npy_write(path, e->data, shape, e->channels == 1 ? 2 : 3, err);
}

/* Grad-CAM and XRAI maps are >= 0: shown as a share of their largest value. */
static void scale_by_max(const float *mask, size_t n, float *out) {
    float top = 0.0f;
    for (size_t i = 0; i < n; i++)
        if (mask[i] > top) top = mask[i];
    for (size_t i = 0; i < n; i++) {
        float v = top > 0.0f ? mask[i] / top : 0.0f; /* NaN stays NaN: the PNG writer names it */
        out[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}

/* The map shown: diverging in [-1, 1] for the diverging colormap, else in [0, 1]. */
static int display_map(const sal_explanation *e, const cli_explain_settings *s, float *map, sal_error *err) {
    if (s->colormap == SAL_COLORMAP_DIVERGING)
        return sal_visualize_diverging(e->data, e->height, e->width, e->channels, s->percentile, map, err);
    if (e->channels == 1) {
        scale_by_max(e->data, (size_t)e->height * e->width, map);
        return SAL_OK;
    }
    return sal_visualize_grayscale(e->data, e->height, e->width, e->channels, s->percentile, map, err);
}

static void photo_to_rgba(const sal_image *photo, uint8_t *rgba) {
    size_t n = (size_t)photo->width * photo->height;
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) {
            float v = photo->data[3 * i + c];
            rgba[4 * i + c] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
        }
        rgba[4 * i + 3] = 255;
    }
}

static int write_coloured(const char *path, const float *map, int height, int width, const cli_explain_settings *s,
                          const sal_image *photo, sal_error *err) {
    size_t n = (size_t)height * width;
    uint8_t *rgba = malloc(n * 4), *under = s->overlay ? malloc(n * 4) : NULL, *png = NULL;
    size_t png_size = 0;
    int status = rgba && (under || !s->overlay) ? SAL_OK : sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    if (!status && under) {
        if (photo->width == width && photo->height == height && photo->channels == 3) photo_to_rgba(photo, under);
        else status = sal_fail(err, SAL_ERR_SHAPE, "--overlay: the photo is %d x %d, the mask %d x %d",
                               photo->width, photo->height, width, height);
    }
    sal_colormap colormap = s->colormap >= 0 ? (sal_colormap)s->colormap : SAL_COLORMAP_GRAY;
    if (!status) status = sal_colorize(map, height, width, colormap, under, s->alpha, rgba, err);
    if (!status) status = sal_png_encode_rgba(rgba, width, height, &png, &png_size, err);
    if (!status) status = sal_write_file(path, png, png_size, err);
    free(rgba);
    free(under);
    free(png);
    return status;
}

/* The picture's map over the model's input: the shown mask, or with
 * --xrai-top 1 in XRAI's top regions and 0 elsewhere. */
static int picture_map(const sal_explanation *e, const cli_explain_settings *s, float *map, sal_error *err) {
    if (s->xrai_top < 0.0f) return display_map(e, s, map, err);
    if (!e->region_rank) return sal_fail(err, SAL_ERR_ARGUMENT, "--xrai-top: the explanation has no XRAI regions");
    return sal_xrai_top_mask(e->region_rank, e->height, e->width, s->xrai_top, map, err);
}

/* --original-size: the map resampled bilinearly onto the part of the photo
 * the model saw (sal_image_crop_rect); the rest of the photo gets 0. */
static int map_on_photo(const float *map, int height, int width, const sal_image *photo, float **out,
                        sal_error *err) {
    sal_rect crop;
    int status = sal_image_crop_rect(photo->width, photo->height, width, height, &crop, err);
    if (status) return status;
    float *full = calloc((size_t)photo->width * photo->height, sizeof *full);
    float *inside = malloc((size_t)crop.width * crop.height * sizeof *inside);
    if (!full || !inside) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    if (!status) status = sal_resize_map(map, height, width, 1, crop.height, crop.width, inside, err);
    for (int y = 0; !status && y < crop.height; y++)
        memcpy(full + (size_t)(crop.y + y) * photo->width + crop.x, inside + (size_t)y * crop.width,
               (size_t)crop.width * sizeof *full);
    free(inside);
    if (status) free(full);
    else *out = full;
    return status;
}

int cli_write_png(const char *path, const sal_explanation *e, const cli_explain_settings *s, const cli_pipeline *p,
                  sal_error *err) {
    float *map = malloc((size_t)e->height * e->width * sizeof *map), *shown = NULL;
    if (!map) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = picture_map(e, s, map, err);
    const sal_image *photo = s->original_size ? &p->photo : &p->pixels;
    int height = e->height, width = e->width;
    if (!status && s->original_size) {
        status = map_on_photo(map, e->height, e->width, photo, &shown, err);
        height = photo->height;
        width = photo->width;
    }
    const float *picture = shown ? shown : map;
    if (!status) {
        if (s->colormap < 0 && !s->overlay) status = sal_png_write_float(path, picture, width, height, 1, err);
        else status = write_coloured(path, picture, height, width, s, photo, err);
    }
    free(shown);
    free(map);
    return status;
}

static void print_number(double v) {
    if (isfinite(v)) printf("%.9g", v);
    else printf("null");
}

void cli_print_summary(const sal_explanation *e, sal_method method, const sal_labels *labels) {
    printf("{\"method\": ");
    cli_print_json_string(sal_method_name(method));
    printf(", \"target\": %d, \"label\": ", e->target);
    cli_print_label(labels, e->target);
    printf(", \"score\": ");
    print_number(e->score);
    if (e->has_completeness) {
        double difference = e->score_difference, gap = e->completeness_gap;
        printf(", \"score_difference\": ");
        print_number(difference);
        printf(", \"completeness_gap\": ");
        print_number(gap);
        printf(", \"completeness_gap_percent\": ");
        print_number(difference != 0.0 ? 100.0 * gap / fabs(difference) : NAN);
    }
    printf("}\n");
}
