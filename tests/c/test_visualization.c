/* test_visualization.c - sal_visualize_grayscale against NumPy's results for
 * PAIR saliency's VisualizeImageGrayscale (goldens from
 * tools/make_image_goldens.py) and against a naive sort-based reference. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/npy.h"
#include "check.h"
#include "saliency.h"

#define IMAGE_GOLDEN(name) SAL_GOLDENS_DIR "/image/" name

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

int main(void) {
    test_against_numpy(IMAGE_GOLDEN("gray_random_mask.npy"), IMAGE_GOLDEN("gray_random_out.npy"));
    test_against_numpy(IMAGE_GOLDEN("gray_ties_mask.npy"), IMAGE_GOLDEN("gray_ties_out.npy"));
    test_against_reference();
    test_ordered_inputs();
    test_flat_mask_is_zero();
    test_errors();
    return check_report();
}
