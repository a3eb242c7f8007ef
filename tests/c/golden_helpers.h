/* golden_helpers.h - helpers the ResNet50 golden tests share: the synthetic
 * pattern image, reading a golden .npy of a known size, pooling a 224x224x3
 * map over 8x8 blocks (28x28x3) and the comparisons made on it. */
#ifndef SAL_TEST_GOLDEN_HELPERS_H
#define SAL_TEST_GOLDEN_HELPERS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/npy.h"
#include "check.h"
#include "saliency.h"

#define GOLDEN_SIZE 224
#define GOLDEN_PIXELS (GOLDEN_SIZE * GOLDEN_SIZE)
#define GOLDEN_BLOCK 8
#define GOLDEN_SMALL (GOLDEN_SIZE / GOLDEN_BLOCK)
#define GOLDEN_SMALL_VALUES (GOLDEN_SMALL * GOLDEN_SMALL * 3)

/* The 224x224x3 pattern image (0..255, RGB): the same formula as
 * pattern_image() in tools/make_goldens.py. */
static inline void golden_pattern_pixels(float *pixels) {
    for (int y = 0; y < GOLDEN_SIZE; y++)
        for (int x = 0; x < GOLDEN_SIZE; x++) {
            float *pixel = pixels + ((size_t)y * GOLDEN_SIZE + x) * 3;
            pixel[0] = (float)(127.5 + 127.5 * sin(0.11 * x + 0.05 * y));
            pixel[1] = (float)(127.5 + 127.5 * cos(0.07 * y - 0.03 * x + 1.0));
            pixel[2] = (float)((x ^ y) & 255);
        }
}

/* Reads SAL_GOLDENS_DIR/<relative> as float32. It must hold exactly
 * `expected` values, or at least that many when at_least is set. Returns NULL
 * (after a failed CHECK) otherwise; the caller frees the data. */
static inline float *golden_read_npy_count(const char *relative, size_t expected, int at_least) {
    char path[1024];
    float *data = NULL;
    int shape[SAL_NPY_MAX_DIMS], ndim = 0;
    sal_error err;
    snprintf(path, sizeof path, "%s/%s", SAL_GOLDENS_DIR, relative);
    int status = sal_npy_read(path, &data, shape, &ndim, &err);
    CHECK(status == SAL_OK, "reading %s: %s", path, err.message);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    int count_ok = at_least ? count >= expected : count == expected;
    CHECK(status != SAL_OK || count_ok, "%s holds %zu values, expected %zu", path, count, expected);
    if (status == SAL_OK && count_ok) return data;
    free(data);
    return NULL;
}

/* Exactly `expected` values. */
static inline float *golden_read_npy(const char *relative, size_t expected) {
    return golden_read_npy_count(relative, expected, 0);
}

/* Mean of each 8x8 block of a 224x224x3 map into 28x28x3, summed in float
 * with each term divided by 64 (as test_resnet50.c and test_explain.c always
 * did). */
static inline void golden_block_average_f32(const float *map, float *small) {
    memset(small, 0, GOLDEN_SMALL_VALUES * sizeof *small);
    for (int y = 0; y < GOLDEN_SIZE; y++)
        for (int x = 0; x < GOLDEN_SIZE; x++)
            for (int c = 0; c < 3; c++)
                small[((y / GOLDEN_BLOCK) * GOLDEN_SMALL + x / GOLDEN_BLOCK) * 3 + c] +=
                    map[((size_t)y * GOLDEN_SIZE + x) * 3 + c] / (GOLDEN_BLOCK * GOLDEN_BLOCK);
}

/* The same block means summed in double (as test_methods_resnet50.c did). */
static inline void golden_block_average_f64(const float *map, float *small) {
    double sums[GOLDEN_SMALL_VALUES] = {0};
    for (int y = 0; y < GOLDEN_SIZE; y++)
        for (int x = 0; x < GOLDEN_SIZE; x++)
            for (int c = 0; c < 3; c++)
                sums[((y / GOLDEN_BLOCK) * GOLDEN_SMALL + x / GOLDEN_BLOCK) * 3 + c] +=
                    map[((size_t)y * GOLDEN_SIZE + x) * 3 + c];
    for (int i = 0; i < GOLDEN_SMALL_VALUES; i++) small[i] = (float)(sums[i] / (GOLDEN_BLOCK * GOLDEN_BLOCK));
}

/* Cosine similarity in double; 0 when either vector is all zeros. */
static inline double golden_cosine(const float *a, const float *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

/* stats = {sum |m|, max |m|, L2 norm} over n values. */
static inline void golden_abs_stats(const float *map, size_t n, double stats[3]) {
    stats[0] = stats[1] = stats[2] = 0;
    for (size_t i = 0; i < n; i++) {
        stats[0] += fabs(map[i]);
        stats[1] = fmax(stats[1], fabs(map[i]));
        stats[2] += (double)map[i] * map[i];
    }
    stats[2] = sqrt(stats[2]);
}

#endif
