/* test_visualization.c - the pictures made from saliency masks:
 * - grayscale against NumPy's results for PAIR saliency's
 *   VisualizeImageGrayscale (goldens from tools/make_image_goldens.py) and a
 *   naive sort-based reference;
 * - diverging, colormaps and resize against NumPy / matplotlib / torch
 *   (goldens from tools/make_goldens_visualization.py);
 * - overlay, XRAI's top mask and the RGBA PNG against naive loops. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/npy.h"
#include "bytes/png.h"
#include "check.h"
#include "saliency.h"

#define IMAGE_GOLDEN(name) SAL_GOLDENS_DIR "/image/" name
#define VIS_GOLDEN(name) SAL_GOLDENS_DIR "/visualization/" name

static const float percentiles[] = {99.0f, 50.0f, 0.0f, 100.0f, 37.5f}; /* as in the script */

static void test_against_numpy(const char *mask_path, const char *out_path) {
    float *mask = NULL, *expected = NULL;
    int mask_shape[SAL_NPY_MAX_DIMS], out_shape[SAL_NPY_MAX_DIMS], mask_ndim = 0, out_ndim = 0;
    sal_error err;
    CHECK(sal_npy_read(mask_path, &mask, mask_shape, &mask_ndim, &err) == SAL_OK, "%s", err.message);
    CHECK(sal_npy_read(out_path, &expected, out_shape, &out_ndim, &err) == SAL_OK, "%s", err.message);
    int n_cases = sizeof percentiles / sizeof percentiles[0];
    int fits = mask && expected && mask_ndim == 3 && out_ndim == 3 && out_shape[0] == n_cases &&
               out_shape[1] == mask_shape[0] && out_shape[2] == mask_shape[1];
    CHECK(fits, "%s / %s: unexpected shapes", mask_path, out_path);
    if (fits) {
        int h = mask_shape[0], w = mask_shape[1], c = mask_shape[2];
        float *out = malloc((size_t)h * w * sizeof *out);
        for (int i = 0; i < n_cases; i++) {
            int status = sal_visualize_grayscale(mask, h, w, c, percentiles[i], out, &err);
            CHECK(status == SAL_OK, "percentile %g: %s", (double)percentiles[i], err.message);
            char what[128];
            snprintf(what, sizeof what, "%s at percentile %g", mask_path, (double)percentiles[i]);
            CHECK_CLOSE(out, expected + (size_t)i * h * w, (size_t)h * w, 1e-5, 1e-5, what);
        }
        free(out);
    }
    free(mask);
    free(expected);
}

/* ------------------------------------------------- naive reference */

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void reference_grayscale(const float *mask, int n, int channels, double percentile,
                                float *out) {
    double *image = malloc((size_t)n * sizeof *image), *sorted = malloc((size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++) {
        float sum = 0;
        for (int c = 0; c < channels; c++) sum += fabsf(mask[(size_t)i * channels + c]);
        image[i] = sorted[i] = sum;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, compare_doubles);
    double rank = percentile / 100.0 * (n - 1);
    int below = (int)rank;
    int above = below + 1 < n ? below + 1 : below;
    double vmax = sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    double vmin = sorted[0];
    for (int i = 0; i < n; i++) {
        double v = vmax > vmin ? (image[i] - vmin) / (vmax - vmin) : 0.0;
        out[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
    free(image);
    free(sorted);
}

static uint32_t next_random(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

/* levels > 0 draws from few values (many ties); 0 draws continuous values. */
static void compare_with_reference(int h, int w, int c, int levels, float percentile,
                                   uint32_t seed) {
    size_t n = (size_t)h * w;
    float *mask = malloc(n * c * sizeof *mask);
    float *out = malloc(n * sizeof *out), *expected = malloc(n * sizeof *expected);
    for (size_t i = 0; i < n * c; i++) {
        uint32_t r = next_random(&seed);
        mask[i] = levels ? (float)((int)(r % (2 * levels + 1)) - levels)
                         : (float)r / (float)(1 << 24) * 2.0f - 1.0f;
    }
    sal_error err;
    int status = sal_visualize_grayscale(mask, h, w, c, percentile, out, &err);
    CHECK(status == SAL_OK, "%dx%dx%d: %s", h, w, c, err.message);
    reference_grayscale(mask, (int)n, c, percentile, expected);
    char what[128];
    snprintf(what, sizeof what, "%dx%dx%d levels %d percentile %g", h, w, c, levels,
             (double)percentile);
    CHECK_CLOSE(out, expected, n, 1e-5, 1e-5, what);
    free(mask);
    free(out);
    free(expected);
}

static void test_against_reference(void) {
    compare_with_reference(1, 1, 3, 0, 99, 1);
    compare_with_reference(1, 2, 1, 0, 50, 2);
    compare_with_reference(224, 224, 3, 0, 99, 3);
    compare_with_reference(224, 224, 3, 0, 99.9f, 4);
    compare_with_reference(100, 37, 3, 2, 99, 5);
    compare_with_reference(100, 37, 3, 2, 12.5f, 6);
    compare_with_reference(64, 64, 1, 1, 75, 7);
    compare_with_reference(17, 3, 4, 0, 0, 8);
    compare_with_reference(17, 3, 4, 0, 100, 9);
    compare_with_reference(300, 200, 3, 1000, 95, 10);
}

/* Sorted or reversed inputs are the classic quickselect worst cases. */
static void test_ordered_inputs(void) {
    enum { N = 20000 };
    float *mask = malloc(N * sizeof *mask), *out = malloc(N * sizeof *out);
    float *expected = malloc(N * sizeof *expected);
    for (int order = 0; order < 3; order++) {
        for (int i = 0; i < N; i++)
            mask[i] = order == 0 ? (float)i : order == 1 ? (float)(N - i) : (float)(i % 2 ? i : N - i);
        sal_error err;
        CHECK(sal_visualize_grayscale(mask, 100, N / 100, 1, 99, out, &err) == SAL_OK, "%s",
              err.message);
        reference_grayscale(mask, N, 1, 99, expected);
        CHECK_CLOSE(out, expected, N, 1e-5, 1e-5, order == 0 ? "ascending" : "descending/zigzag");
    }
    free(mask);
    free(out);
    free(expected);
}

static void test_flat_mask_is_zero(void) {
    float mask[12], out[4];
    for (int i = 0; i < 12; i++) mask[i] = i % 2 ? 0.5f : -0.5f; /* every pixel sums to 1.5 */
    sal_error err;
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, 99, out, &err) == SAL_OK, "%s", err.message);
    CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0, "flat mask gave non-zero");
}

static void test_errors(void) {
    float mask[12] = {0}, out[4];
    sal_error err;
    mask[5] = NAN;
    int status = sal_visualize_grayscale(mask, 2, 2, 3, 99, out, &err);
    CHECK(status == SAL_ERR_NUMERIC && err.status == SAL_ERR_NUMERIC, "NaN gave %d", status);
    CHECK(strstr(err.message, "NaN") != NULL, "message '%s'", err.message);
    mask[5] = -INFINITY;
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, 99, out, &err) == SAL_ERR_NUMERIC, "infinity");
    mask[5] = 1;
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, -1, out, &err) == SAL_ERR_ARGUMENT, "-1 %%");
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, 100.5f, out, &err) == SAL_ERR_ARGUMENT, "100.5 %%");
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, NAN, out, &err) == SAL_ERR_ARGUMENT, "NaN %%");
    CHECK(strstr(err.message, "percentile") != NULL, "message '%s'", err.message);
    CHECK(sal_visualize_grayscale(mask, 0, 2, 3, 99, out, &err) == SAL_ERR_ARGUMENT, "zero height");
    CHECK(sal_visualize_grayscale(mask, 2, 2, 0, 99, out, &err) == SAL_ERR_ARGUMENT, "no channels");
    CHECK(sal_visualize_grayscale(NULL, 2, 2, 3, 99, out, &err) == SAL_ERR_ARGUMENT, "NULL mask");
    CHECK(sal_visualize_grayscale(mask, 2, 2, 3, 99, NULL, &err) == SAL_ERR_ARGUMENT, "NULL out");
}

/* ------------------------------------------------- diverging */

static float *read_golden(const char *path, int *shape, int *ndim) {
    float *data = NULL;
    sal_error err;
    int status = sal_npy_read(path, &data, shape, ndim, &err);
    CHECK(status == SAL_OK, "%s", err.message);
    return status == SAL_OK ? data : NULL;
}

static void test_diverging_against_numpy(void) {
    int mask_shape[SAL_NPY_MAX_DIMS], out_shape[SAL_NPY_MAX_DIMS], mask_ndim = 0, out_ndim = 0;
    float *mask = read_golden(VIS_GOLDEN("diverging_mask.npy"), mask_shape, &mask_ndim);
    float *expected = read_golden(VIS_GOLDEN("diverging_out.npy"), out_shape, &out_ndim);
    int n_cases = sizeof percentiles / sizeof percentiles[0];
    int fits = mask && expected && mask_ndim == 3 && out_ndim == 3 && out_shape[0] == n_cases &&
               out_shape[1] == mask_shape[0] && out_shape[2] == mask_shape[1];
    CHECK(fits, "diverging goldens: unexpected shapes");
    if (fits) {
        int h = mask_shape[0], w = mask_shape[1], c = mask_shape[2];
        float *out = malloc((size_t)h * w * sizeof *out);
        sal_error err;
        for (int i = 0; i < n_cases; i++) {
            CHECK(sal_visualize_diverging(mask, h, w, c, percentiles[i], out, &err) == SAL_OK, "%s", err.message);
            char what[64];
            snprintf(what, sizeof what, "diverging at percentile %g", (double)percentiles[i]);
            CHECK_CLOSE(out, expected + (size_t)i * h * w, (size_t)h * w, 1e-5, 1e-5, what);
        }
        free(out);
    }
    free(mask);
    free(expected);
}

/* Signs are kept, zero stays zero, the top is clipped to +-1. */
static void test_diverging_signs(void) {
    const float mask[6] = {2, 0, -4, 0, 0, 1}; /* 1 x 6 x 1 */
    float out[6];
    sal_error err;
    CHECK(sal_visualize_diverging(mask, 1, 6, 1, 100, out, &err) == SAL_OK, "%s", err.message);
    const float expected[6] = {0.5f, 0, -1, 0, 0, 0.25f};
    CHECK_CLOSE(out, expected, 6, 1e-7, 0, "diverging of a hand-made mask at percentile 100");
    CHECK(sal_visualize_diverging(mask, 1, 6, 1, 50, out, &err) == SAL_OK, "%s", err.message);
    /* |s| sorted: 0 0 0 1 2 4 -> median 0.5: 2 -> 1 (clipped), -4 -> -1, 1 -> 1 */
    const float clipped[6] = {1, 0, -1, 0, 0, 1};
    CHECK_CLOSE(out, clipped, 6, 1e-7, 0, "diverging at percentile 50");
    const float zeros[3] = {0, 0, 0};
    CHECK(sal_visualize_diverging(zeros, 1, 1, 3, 99, out, &err) == SAL_OK && out[0] == 0.0f,
          "an all-zero mask gives 0, not NaN (%g)", (double)out[0]);
}

static void test_diverging_errors(void) {
    float mask[6] = {1, 2, 3, 4, NAN, 6}, out[2];
    sal_error err;
    CHECK(sal_visualize_diverging(mask, 1, 2, 3, 99, out, &err) == SAL_ERR_NUMERIC && strstr(err.message, "NaN"),
          "NaN: %s", err.message);
    mask[4] = 5;
    CHECK(sal_visualize_diverging(mask, 1, 2, 3, 101, out, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "percentile"), "101 %%: %s", err.message);
    CHECK(sal_visualize_diverging(mask, 1, 0, 3, 99, out, &err) == SAL_ERR_ARGUMENT, "zero width");
    CHECK(sal_visualize_diverging(NULL, 1, 2, 3, 99, out, &err) == SAL_ERR_ARGUMENT, "NULL mask");
}

/* ------------------------------------------------- colormaps */

static const char *const colormap_names[] = {"gray", "inferno", "viridis", "jet", "diverging"};

static void test_colormap_names(void) {
    for (int i = 0; i < 5; i++)
        CHECK(sal_colormap_from_name(colormap_names[i]) == i, "'%s' -> %d", colormap_names[i],
              sal_colormap_from_name(colormap_names[i]));
    CHECK(sal_colormap_from_name("magma") == -1 && sal_colormap_from_name("") == -1 &&
              sal_colormap_from_name(NULL) == -1, "unknown names give -1");
}

/* Largest |byte - 255 * expected| over the colours of n values. */
static double worst_byte_error(const uint8_t *rgba, const float *expected_rgb, int n) {
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            double e = fabs(rgba[4 * i + c] - 255.0 * expected_rgb[3 * i + c]);
            if (e > worst) worst = e;
        }
    return worst;
}

static void test_colormaps_against_matplotlib(void) {
    int v_shape[SAL_NPY_MAX_DIMS], rgb_shape[SAL_NPY_MAX_DIMS], v_ndim = 0, rgb_ndim = 0;
    float *values = read_golden(VIS_GOLDEN("colormap_values.npy"), v_shape, &v_ndim);
    float *rgb = read_golden(VIS_GOLDEN("colormap_rgb.npy"), rgb_shape, &rgb_ndim);
    int fits = values && rgb && v_ndim == 1 && rgb_ndim == 3 && rgb_shape[0] == 5 && rgb_shape[1] == v_shape[0] &&
               rgb_shape[2] == 3;
    CHECK(fits, "colormap goldens: unexpected shapes");
    if (!fits) goto done;
    int n = v_shape[0];
    uint8_t *out = malloc((size_t)n * 4), *photo = malloc((size_t)n * 4);
    for (int i = 0; i < n * 4; i++) photo[i] = (uint8_t)(i * 37 % 256);
    sal_error err;
    for (int m = 0; m < 5; m++) {
        const float *expected = rgb + (size_t)m * n * 3;
        CHECK(sal_colorize(values, 1, n, (sal_colormap)m, NULL, 1, out, &err) == SAL_OK, "%s", err.message);
        /* bytes are rounded; 'bwr' sits white between two table entries, ours exactly at 0 */
        double tolerance = m == SAL_COLORMAP_DIVERGING ? 1.5 : 0.501;
        double worst = worst_byte_error(out, expected, n);
        CHECK(worst <= tolerance, "%s: worst colour error %g bytes", colormap_names[m], worst);
        int opaque = 1;
        for (int i = 0; i < n; i++) opaque &= out[4 * i + 3] == 255;
        CHECK(opaque, "%s: alpha is not 255 everywhere", colormap_names[m]);

        /* overlay: alpha * colour + (1 - alpha) * photo, alpha kept at 255 */
        float alpha = 0.3f;
        CHECK(sal_colorize(values, 1, n, (sal_colormap)m, photo, alpha, out, &err) == SAL_OK, "%s", err.message);
        double worst_blend = 0;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                double blend = alpha * 255.0 * expected[3 * i + c] + (1 - alpha) * photo[4 * i + c];
                double e = fabs(out[4 * i + c] - blend);
                if (e > worst_blend) worst_blend = e;
            }
            opaque &= out[4 * i + 3] == 255;
        }
        CHECK(worst_blend <= 0.5 + alpha * (tolerance - 0.5) + 1e-3, "%s overlay: worst error %g bytes",
              colormap_names[m], worst_blend);
        CHECK(opaque, "%s overlay: alpha is not 255 everywhere", colormap_names[m]);
    }
    free(out);
    free(photo);
done:
    free(values);
    free(rgb);
}

/* Gray is the value itself; alpha 0 gives back the photo. */
static void test_colorize_gray_and_photo(void) {
    const float map[4] = {0.0f, 0.5f, 1.0f, 2.0f / 255.0f};
    const uint8_t photo[16] = {10, 20, 30, 0, 40, 50, 60, 7, 70, 80, 90, 255, 200, 210, 220, 99};
    uint8_t out[16];
    sal_error err;
    CHECK(sal_colorize(map, 2, 2, SAL_COLORMAP_GRAY, NULL, 0.5f, out, &err) == SAL_OK, "%s", err.message);
    const uint8_t gray[4] = {0, 128, 255, 2};
    for (int i = 0; i < 4; i++)
        CHECK(out[4 * i] == gray[i] && out[4 * i + 1] == gray[i] && out[4 * i + 2] == gray[i] && out[4 * i + 3] == 255,
              "gray pixel %d: %d %d %d %d", i, out[4 * i], out[4 * i + 1], out[4 * i + 2], out[4 * i + 3]);
    CHECK(sal_colorize(map, 2, 2, SAL_COLORMAP_INFERNO, photo, 0.0f, out, &err) == SAL_OK, "%s", err.message);
    for (int i = 0; i < 4; i++)
        CHECK(out[4 * i] == photo[4 * i] && out[4 * i + 1] == photo[4 * i + 1] && out[4 * i + 2] == photo[4 * i + 2] &&
                  out[4 * i + 3] == 255, "alpha 0 keeps photo pixel %d", i);
}

static void test_colorize_errors(void) {
    float map[2] = {0.5f, NAN};
    uint8_t out[8];
    sal_error err;
    CHECK(sal_colorize(map, 1, 2, SAL_COLORMAP_JET, NULL, 1, out, &err) == SAL_ERR_NUMERIC &&
              strstr(err.message, "NaN"), "NaN: %s", err.message);
    map[1] = 0.25f;
    CHECK(sal_colorize(map, 1, 2, SAL_COLORMAP_JET, NULL, 1.5f, out, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "alpha"), "alpha 1.5: %s", err.message);
    CHECK(sal_colorize(map, 1, 2, SAL_COLORMAP_JET, NULL, NAN, out, &err) == SAL_ERR_ARGUMENT, "alpha NaN");
    CHECK(sal_colorize(map, 1, 2, (sal_colormap)7, NULL, 1, out, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "colormap"), "colormap 7: %s", err.message);
    CHECK(sal_colorize(map, 0, 2, SAL_COLORMAP_JET, NULL, 1, out, &err) == SAL_ERR_ARGUMENT, "zero height");
    CHECK(sal_colorize(map, 1, 2, SAL_COLORMAP_JET, NULL, 1, NULL, &err) == SAL_ERR_ARGUMENT, "NULL output");
}

/* ------------------------------------------------- resize */

static void compare_resize(const char *input_path, const char *output_path, const char *what) {
    int in_shape[SAL_NPY_MAX_DIMS], out_shape[SAL_NPY_MAX_DIMS], in_ndim = 0, out_ndim = 0;
    float *in = read_golden(input_path, in_shape, &in_ndim);
    float *expected = read_golden(output_path, out_shape, &out_ndim);
    int fits = in && expected && in_ndim == 3 && out_ndim == 3 && in_shape[2] == out_shape[2];
    CHECK(fits, "%s: unexpected shapes", what);
    if (fits) {
        size_t count = (size_t)out_shape[0] * out_shape[1] * out_shape[2];
        float *out = malloc(count * sizeof *out);
        sal_error err;
        int status = sal_resize_map(in, in_shape[0], in_shape[1], in_shape[2], out_shape[0], out_shape[1], out, &err);
        CHECK(status == SAL_OK, "%s: %s", what, err.message);
        CHECK_CLOSE(out, expected, count, 1e-5, 1e-5, what);
        free(out);
    }
    free(in);
    free(expected);
}

static void test_resize_against_torch(void) {
    const int sizes[][2] = {{16, 23}, {3, 2}, {7, 5}, {1, 1}, {12, 5}}; /* as in the script */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char path[256], what[64];
        snprintf(path, sizeof path, VIS_GOLDEN("resize_out_%dx%d.npy"), sizes[i][0], sizes[i][1]);
        snprintf(what, sizeof what, "resize 7x5x2 to %dx%d", sizes[i][0], sizes[i][1]);
        compare_resize(VIS_GOLDEN("resize_input.npy"), path, what);
    }
    compare_resize(VIS_GOLDEN("resize_cam.npy"), VIS_GOLDEN("resize_cam_56x56.npy"), "resize 7x7 to 56x56");
    compare_resize(VIS_GOLDEN("resize_single.npy"), VIS_GOLDEN("resize_single_4x3.npy"), "resize 1x1x3 to 4x3");
}

static void test_resize_errors(void) {
    float map[4] = {1, 2, 3, 4}, out[4];
    sal_error err;
    CHECK(sal_resize_map(map, 2, 2, 1, 0, 2, out, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "positive"),
          "zero output height: %s", err.message);
    CHECK(sal_resize_map(map, 2, -1, 1, 2, 2, out, &err) == SAL_ERR_ARGUMENT, "negative width");
    CHECK(sal_resize_map(NULL, 2, 2, 1, 2, 2, out, &err) == SAL_ERR_ARGUMENT, "NULL map");
}

/* ------------------------------------------------- XRAI's top mask */

/* Straight from the definition: a pixel is in when the area of the regions
 * ranked before its own is below percent % of the picture. */
static void reference_top_mask(const int *rank, int n, float percent, float *out) {
    for (int i = 0; i < n; i++) {
        int before = 0;
        for (int j = 0; j < n; j++) before += rank[j] >= 0 && rank[j] < rank[i];
        out[i] = rank[i] >= 0 && before < percent / 100.0 * n ? 1.0f : 0.0f;
    }
}

static void test_xrai_mask_against_reference(void) {
    enum { H = 19, W = 23, N = H * W };
    int rank[N];
    float out[N], expected[N];
    uint32_t seed = 99;
    for (int trial = 0; trial < 4; trial++) {
        int regions = 3 + trial * 7;
        for (int i = 0; i < N; i++) { /* regions of uneven sizes; some pixels unranked */
            uint32_t r = next_random(&seed);
            int square = (int)((r >> 4) % (uint32_t)(regions * regions));
            rank[i] = r % 10 == 0 ? -1 : (int)sqrt((double)square);
        }
        const float percents[] = {0, 0.1f, 10, 25, 50, 99.9f, 100};
        for (size_t k = 0; k < sizeof percents / sizeof percents[0]; k++) {
            sal_error err;
            CHECK(sal_xrai_top_mask(rank, H, W, percents[k], out, &err) == SAL_OK, "%s", err.message);
            reference_top_mask(rank, N, percents[k], expected);
            char what[64];
            snprintf(what, sizeof what, "xrai mask, %d regions, %g %%", regions, (double)percents[k]);
            CHECK_CLOSE(out, expected, N, 0, 0, what);
        }
    }
}

static void test_xrai_mask_by_hand(void) {
    /* rank 0: 2 pixels, rank 1: 3 pixels, rank 2: 1 pixel, 2 unranked (8 in all) */
    const int rank[8] = {1, 0, -1, 1, 2, 0, 1, -1};
    float out[8];
    sal_error err;
    const float top_quarter[8] = {0, 1, 0, 0, 0, 1, 0, 0};    /* 25 %: region 0 covers 2 of 8 */
    const float top_third[8] = {1, 1, 0, 1, 0, 1, 1, 0};      /* 30 %: region 1 crosses the bound */
    CHECK(sal_xrai_top_mask(rank, 2, 4, 25, out, &err) == SAL_OK, "%s", err.message);
    CHECK_CLOSE(out, top_quarter, 8, 0, 0, "xrai mask at 25 %");
    CHECK(sal_xrai_top_mask(rank, 2, 4, 30, out, &err) == SAL_OK, "%s", err.message);
    CHECK_CLOSE(out, top_third, 8, 0, 0, "xrai mask at 30 %");

    const int bad[4] = {0, 1, -2, 0};
    CHECK(sal_xrai_top_mask(bad, 2, 2, 50, out, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "-2"),
          "rank -2: %s", err.message);
    const int too_big[4] = {0, 1, 4, 0};
    CHECK(sal_xrai_top_mask(too_big, 2, 2, 50, out, &err) == SAL_ERR_ARGUMENT, "rank 4 of 4 pixels");
    CHECK(sal_xrai_top_mask(rank, 2, 4, 101, out, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "percent"),
          "101 %%: %s", err.message);
    CHECK(sal_xrai_top_mask(rank, 2, 4, NAN, out, &err) == SAL_ERR_ARGUMENT, "NaN %%");
}

/* ------------------------------------------------- RGBA PNG */

static void test_png_rgba_round_trip(void) {
    enum { W = 5, H = 3 };
    uint8_t rgba[W * H * 4];
    for (int i = 0; i < W * H * 4; i++) rgba[i] = i % 4 == 3 ? 255 : (uint8_t)(i * 29 + 3);
    uint8_t *png = NULL;
    size_t size = 0;
    sal_error err;
    CHECK(sal_png_encode_rgba(rgba, W, H, &png, &size, &err) == SAL_OK, "%s", err.message);
    sal_image decoded = {0};
    CHECK(png && sal_image_decode(png, size, &decoded, &err) == SAL_OK, "decode: %s", err.message);
    int same = decoded.width == W && decoded.height == H && decoded.channels == 3;
    for (int i = 0; same && i < W * H; i++)
        for (int c = 0; c < 3; c++) same &= decoded.data[3 * i + c] == (float)rgba[4 * i + c];
    CHECK(same, "the PNG does not decode to the pixels written");
    sal_image_free(&decoded);
    free(png);

    /* Transparency is kept: the header says RGBA (colour type 6, byte 25 of the file). */
    rgba[7] = 128;
    CHECK(sal_png_encode_rgba(rgba, W, H, &png, &size, &err) == SAL_OK && png && size > 26,
          "transparent pixel: %s", err.message);
    CHECK(png && png[25] == 6, "colour type %d, expected 6 (RGBA)", png ? png[25] : -1);
    free(png);
    png = NULL;
    CHECK(sal_png_encode_rgba(rgba, 0, H, &png, &size, &err) == SAL_ERR_ARGUMENT, "zero width");
}

int main(void) {
    test_against_numpy(IMAGE_GOLDEN("gray_random_mask.npy"), IMAGE_GOLDEN("gray_random_out.npy"));
    test_against_numpy(IMAGE_GOLDEN("gray_ties_mask.npy"), IMAGE_GOLDEN("gray_ties_out.npy"));
    test_against_reference();
    test_ordered_inputs();
    test_flat_mask_is_zero();
    test_errors();
    test_diverging_against_numpy();
    test_diverging_signs();
    test_diverging_errors();
    test_colormap_names();
    test_colormaps_against_matplotlib();
    test_colorize_gray_and_photo();
    test_colorize_errors();
    test_resize_against_torch();
    test_resize_errors();
    test_xrai_mask_against_reference();
    test_xrai_mask_by_hand();
    test_png_rgba_round_trip();
    return check_report();
}
