/* test_masks.c - Gaussian blur, Felzenszwalb segmentation and disk dilation.
 *
 * Blur: against a naive 2-D convolution written here (product kernel, reflect
 * padding by folding) and against scipy.ndimage.gaussian_filter goldens.
 * Felzenszwalb: against skimage.segmentation.felzenszwalb on three photos at
 * 64 x 64 and 128 x 128 with three settings (goldens from
 * tools/make_goldens_segmentation.py), compared as partitions: the adjusted
 * Rand index, the share of pixels whose label is identical, and the segment
 * counts; plus properties any Felzenszwalb segmentation has.
 * Dilation: against the definition, a loop over the disk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/npy.h"
#include "check.h"
#include "image/blur.h"
#include "masks/masks.h"
#include "saliency.h"

#define SEGMENTATION_GOLDEN(name) SAL_GOLDENS_DIR "/segmentation/" name

/* ------------------------------------------------------------- helpers */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double random_unit(void) { /* xorshift64*, in [0, 1) */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static float *random_image(int height, int width, int channels) {
    size_t n = (size_t)height * width * channels;
    float *image = malloc(n * sizeof *image);
    for (size_t i = 0; i < n; i++) image[i] = (float)(255 * random_unit());
    return image;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* ---------------------------------------------------------------- blur */

/* Mirror about the half-pixel edges until inside: (d c b a | a b c d | d c b a). */
static int fold_index(int i, int n) {
    while (i < 0 || i >= n) i = i < 0 ? -1 - i : 2 * n - 1 - i;
    return i;
}

static void naive_blur(const float *in, int height, int width, int channels, double sigma, float *out) {
    int radius = (int)(4.0 * sigma + 0.5);
    double *g = malloc((size_t)(2 * radius + 1) * sizeof *g), total = 0;
    for (int k = -radius; k <= radius; k++) total += g[k + radius] = exp(-(double)k * k / (2 * sigma * sigma));
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++) {
                double sum = 0;
                for (int dy = -radius; dy <= radius; dy++)
                    for (int dx = -radius; dx <= radius; dx++) {
                        int yy = fold_index(y + dy, height), xx = fold_index(x + dx, width);
                        sum += g[dy + radius] * g[dx + radius] / (total * total) *
                               in[((size_t)yy * width + xx) * channels + c];
                    }
                out[((size_t)y * width + x) * channels + c] = (float)sum;
            }
    free(g);
}

static void test_blur_against_naive(void) {
    static const struct {
        int height, width, channels;
        double sigma;
    } cases[] = {
        {7, 5, 3, 0.3}, {7, 5, 3, 1.0}, {7, 5, 3, 2.5}, /* radius 10 reflects more than once */
        {1, 6, 1, 0.8}, {6, 1, 2, 0.8}, {12, 9, 4, 1.7}, {3, 3, 1, 7.0},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        int h = cases[t].height, w = cases[t].width, c = cases[t].channels;
        size_t n = (size_t)h * w * c;
        float *in = random_image(h, w, c), *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want);
        sal_error err;
        int status = sal_gaussian_blur(in, h, w, c, (float)cases[t].sigma, got, &err);
        CHECK(status == SAL_OK, "blur %dx%dx%d sigma %g: %s", h, w, c, cases[t].sigma, err.message);
        naive_blur(in, h, w, c, cases[t].sigma, want);
        char what[96];
        snprintf(what, sizeof what, "blur %dx%dx%d sigma %g vs naive", h, w, c, cases[t].sigma);
        CHECK_CLOSE(got, want, n, 2e-6 * max_abs(want, n), 1e-6, what);
        free(in), free(got), free(want);
    }
}

static void test_blur_tiny_sigma_copies(void) {
    float *in = random_image(5, 4, 3), out[60];
    sal_error err;
    CHECK(sal_gaussian_blur(in, 5, 4, 3, 0.0f, out, &err) == SAL_OK, "%s", err.message);
    CHECK(memcmp(in, out, sizeof out) == 0, "sigma 0 must copy");
    /* radius int(4 * 0.12 + 0.5) = 0: scipy's one-tap kernel */
    CHECK(sal_gaussian_blur(in, 5, 4, 3, 0.12f, out, &err) == SAL_OK, "%s", err.message);
    CHECK(memcmp(in, out, sizeof out) == 0, "sigma 0.12 (radius 0) must copy");
    free(in);
}

static void test_blur_against_scipy(void) {
    static const char *const sigmas[] = {"0.5", "0.8", "3", "20"};
    float *input = NULL;
    int shape[SAL_NPY_MAX_DIMS], ndim;
    sal_error err;
    int status = sal_npy_read(SEGMENTATION_GOLDEN("blur_input.npy"), &input, shape, &ndim, &err);
    CHECK(status == SAL_OK && ndim == 3, "blur_input.npy: %s", err.message);
    if (status || ndim != 3) return;
    size_t n = (size_t)shape[0] * shape[1] * shape[2];
    float *got = malloc(n * sizeof *got);
    for (int s = 0; s < 4; s++) {
        char path[512];
        float *want = NULL;
        int wshape[SAL_NPY_MAX_DIMS], wndim;
        snprintf(path, sizeof path, SEGMENTATION_GOLDEN("blur_%s.npy"), sigmas[s]);
        status = sal_npy_read(path, &want, wshape, &wndim, &err);
        CHECK(status == SAL_OK, "%s: %s", path, err.message);
        if (status) continue;
        status = sal_gaussian_blur(input, shape[0], shape[1], shape[2], strtof(sigmas[s], NULL), got, &err);
        CHECK(status == SAL_OK, "blur sigma %s: %s", sigmas[s], err.message);
        char what[64];
        snprintf(what, sizeof what, "blur sigma %s vs scipy", sigmas[s]);
        CHECK_CLOSE(got, want, n, 3e-5, 1e-6, what); /* pixels up to 255: a few float32 ulps */
        free(want);
    }
    free(got), free(input);
}

static void test_blur_errors(void) {
    float in[12] = {0}, out[12];
    sal_error err;
    CHECK(sal_gaussian_blur(in, 2, 2, 3, -1.0f, out, &err) == SAL_ERR_ARGUMENT, "negative sigma");
    CHECK(strstr(err.message, "sigma") != NULL, "message names sigma: %s", err.message);
    CHECK(sal_gaussian_blur(in, 2, 2, 3, NAN, out, &err) == SAL_ERR_ARGUMENT, "NaN sigma");
    CHECK(sal_gaussian_blur(in, 2, 2, 3, INFINITY, out, &err) == SAL_ERR_ARGUMENT, "infinite sigma");
    CHECK(sal_gaussian_blur(NULL, 2, 2, 3, 1.0f, out, &err) == SAL_ERR_ARGUMENT, "NULL image");
    CHECK(sal_gaussian_blur(in, 0, 2, 3, 1.0f, out, &err) == SAL_ERR_SHAPE, "zero height");
    CHECK(sal_gaussian_blur(in, 2, 2, 3, 1.0f, in, &err) == SAL_ERR_ARGUMENT, "aliasing");
    in[5] = NAN;
    CHECK(sal_gaussian_blur(in, 2, 2, 3, 1.0f, out, &err) == SAL_ERR_NUMERIC, "NaN pixel");
}

/* ------------------------------------------------------- felzenszwalb */

/* Adjusted Rand index of two labelings of n items (Hubert & Arabie 1985). */
static double adjusted_rand_index(const int *a, const int *b, int n) {
    int ka = 0, kb = 0;
    for (int i = 0; i < n; i++) ka = a[i] + 1 > ka ? a[i] + 1 : ka, kb = b[i] + 1 > kb ? b[i] + 1 : kb;
    double *table = calloc((size_t)ka * kb, sizeof *table), *rows = calloc((size_t)ka, sizeof *rows),
           *cols = calloc((size_t)kb, sizeof *cols);
    for (int i = 0; i < n; i++) table[(size_t)a[i] * kb + b[i]]++, rows[a[i]]++, cols[b[i]]++;
#define PAIRS(m) ((m) * ((m)-1) / 2)
    double index = 0, sum_rows = 0, sum_cols = 0;
    for (size_t i = 0; i < (size_t)ka * kb; i++) index += PAIRS(table[i]);
    for (int i = 0; i < ka; i++) sum_rows += PAIRS(rows[i]);
    for (int j = 0; j < kb; j++) sum_cols += PAIRS(cols[j]);
    double expected = sum_rows * sum_cols / PAIRS((double)n), maximum = (sum_rows + sum_cols) / 2;
#undef PAIRS
    free(table), free(rows), free(cols);
    return maximum == expected ? 1.0 : (index - expected) / (maximum - expected);
}

/* The C side of make_goldens_segmentation.py's scaled_input (same float ops). */
static void scale_photo(const sal_image *photo, int signed_range, float *out) {
    size_t n = (size_t)photo->width * photo->height * photo->channels;
    float lo = photo->data[0], hi = photo->data[0];
    for (size_t i = 0; i < n; i++) lo = fminf(lo, photo->data[i]), hi = fmaxf(hi, photo->data[i]);
    for (size_t i = 0; i < n; i++) {
        if (!signed_range) {
            out[i] = photo->data[i] / 255.0f;
        } else {
            volatile float t = (photo->data[i] - lo) / (hi - lo); /* volatile: no fused multiply-add */
            out[i] = (t + t) - 1.0f;
        }
    }
}

typedef struct {
    double ari, identical;
    int count, want_count;
} segmentation_agreement;

static int compare_with_skimage(const char *photo_name, int size, const char *setting, int signed_range,
                                float scale, float sigma, int min_size, segmentation_agreement *out) {
    char path[512];
    sal_image photo = {0}, golden = {0};
    sal_error err;
    snprintf(path, sizeof path, SEGMENTATION_GOLDEN("%s_%d.png"), photo_name, size);
    int ok = sal_image_load(path, &photo, &err) == SAL_OK;
    CHECK(ok, "%s: %s", path, err.message);
    snprintf(path, sizeof path, SEGMENTATION_GOLDEN("%s_%d_%s.png"), photo_name, size, setting);
    ok = ok && sal_image_load(path, &golden, &err) == SAL_OK;
    CHECK(ok, "%s: %s", path, err.message);
    if (!ok) return sal_image_free(&photo), sal_image_free(&golden), 0;
    int n = size * size;
    float *input = malloc((size_t)n * 3 * sizeof *input);
    int *labels = malloc((size_t)n * sizeof *labels), *want = malloc((size_t)n * sizeof *want);
    scale_photo(&photo, signed_range, input);
    out->count = sal_felzenszwalb(input, size, size, 3, scale, sigma, min_size, labels, &err);
    CHECK(out->count >= 1, "felzenszwalb %s: %s", path, err.message);
    out->want_count = 0;
    for (int i = 0; i < n; i++) {
        want[i] = (int)golden.data[(size_t)i * 3];
        if (want[i] + 1 > out->want_count) out->want_count = want[i] + 1;
    }
    int same = 0;
    for (int i = 0; i < n; i++) same += labels[i] == want[i];
    out->identical = (double)same / n;
    out->ari = out->count >= 1 ? adjusted_rand_index(labels, want, n) : 0;
    free(input), free(labels), free(want);
    sal_image_free(&photo), sal_image_free(&golden);
    return out->count >= 1;
}

static void test_felzenszwalb_against_skimage(void) {
    static const char *const photos[] = {"chelsea", "coffee", "astronaut"};
    static const int sizes[] = {64, 128};
    static const struct {
        const char *name;
        int signed_range;
        float scale, sigma;
        int min_size;
    } settings[] = {{"unit", 0, 100, 0.5f, 50}, {"xrai100", 1, 100, 0.8f, 150}, {"xrai500", 1, 500, 0.8f, 150}};
    double worst_ari = 1, total_identical = 0;
    int runs = 0, exact = 0;
    for (int p = 0; p < 3; p++)
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 3; k++) {
                segmentation_agreement a;
                if (!compare_with_skimage(photos[p], sizes[s], settings[k].name, settings[k].signed_range,
                                          settings[k].scale, settings[k].sigma, settings[k].min_size, &a))
                    continue;
                printf("felzenszwalb %s %d %s: %d segments (skimage %d), ARI %.5f, identical labels %.4f\n",
                       photos[p], sizes[s], settings[k].name, a.count, a.want_count, a.ari, a.identical);
                CHECK(a.ari >= 0.97, "%s %d %s: ARI %g", photos[p], sizes[s], settings[k].name, a.ari);
                CHECK(abs(a.count - a.want_count) <= 1 + a.want_count / 20, "%s %d %s: %d segments, skimage %d",
                      photos[p], sizes[s], settings[k].name, a.count, a.want_count);
                worst_ari = fmin(worst_ari, a.ari);
                total_identical += a.identical;
                exact += a.identical == 1.0;
                runs++;
            }
    CHECK(runs == 18, "%d of 18 comparisons ran", runs);
    printf("felzenszwalb vs skimage: %d of %d identical, worst ARI %.5f, mean identical share %.5f\n", exact, runs,
           worst_ari, runs ? total_identical / runs : 0);
    /* Same input numbers, same float32 thresholds, same edge order: identical
     * labels are expected (only ties in edge weight, ordered differently by
     * numpy's unstable sort, could make them differ; none did here). */
    CHECK(exact == runs, "only %d of %d segmentations identical to skimage's", exact, runs);
}

/* Blocks of flat colour with no smoothing: one segment per block, labelled in
 * raster order of their first pixels. */
static void test_felzenszwalb_flat_blocks(void) {
    enum { H = 20, W = 30 };
    float image[H * W * 3];
    int labels[H * W], want[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int block = y < 8 ? (x < 12 ? 0 : 1) : 2; /* first appearances: 0, 1, 2 */
            want[y * W + x] = block;
            for (int c = 0; c < 3; c++) image[(y * W + x) * 3 + c] = (float)(block == c) * 0.8f + 0.1f;
        }
    sal_error err;
    int count = sal_felzenszwalb(image, H, W, 3, 10.0f, 0.0f, 5, labels, &err);
    CHECK(count == 3, "flat blocks: %d segments (%s)", count, err.message);
    CHECK(memcmp(labels, want, sizeof labels) == 0, "flat blocks: labels differ from the blocks");
}

/* Any output: labels 0..count-1 numbered by first appearance, every segment at
 * least min_size pixels, and each segment connected (8-neighbourhood). */
static void test_felzenszwalb_invariants(void) {
    enum { H = 40, W = 33, MIN_SIZE = 25 };
    float *image = random_image(H, W, 3);
    int labels[H * W], seen[H * W], sizes[H * W] = {0};
    sal_error err;
    int count = sal_felzenszwalb(image, H, W, 3, 300.0f, 0.8f, MIN_SIZE, labels, &err);
    CHECK(count >= 1, "random image: %s", err.message);
    int next = 0, ordered = 1;
    for (int i = 0; i < H * W; i++) {
        if (labels[i] == next) next++;
        else if (labels[i] > next || labels[i] < 0) ordered = 0;
        if (labels[i] >= 0 && labels[i] < H * W) sizes[labels[i]]++;
    }
    CHECK(ordered && next == count, "labels not numbered 0..%d by first appearance", count - 1);
    int smallest = H * W;
    for (int s = 0; s < count; s++) smallest = sizes[s] < smallest ? sizes[s] : smallest;
    CHECK(smallest >= MIN_SIZE, "a segment of %d pixels survived min_size %d", smallest, MIN_SIZE);
    /* connectivity: flood each segment from its first pixel */
    int connected = 1, *stack = malloc(sizeof(int) * H * W);
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < H * W; i++) {
        if (seen[i]) continue;
        int top = 0, reached = 0;
        stack[top++] = i, seen[i] = 1;
        while (top) {
            int p = stack[--top], py = p / W, px = p % W;
            reached++;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int qy = py + dy, qx = px + dx, q = qy * W + qx;
                    if (qy < 0 || qy >= H || qx < 0 || qx >= W || seen[q] || labels[q] != labels[i]) continue;
                    seen[q] = 1, stack[top++] = q;
                }
        }
        connected &= reached == sizes[labels[i]];
    }
    CHECK(connected, "a segment is not 8-connected");
    free(stack), free(image);
}

static void test_felzenszwalb_errors(void) {
    float image[12] = {0};
    int labels[4];
    sal_error err;
    CHECK(sal_felzenszwalb(NULL, 2, 2, 3, 1, 0.8f, 1, labels, &err) == -1 && err.status == SAL_ERR_ARGUMENT,
          "NULL image");
    CHECK(sal_felzenszwalb(image, 0, 2, 3, 1, 0.8f, 1, labels, &err) == -1 && err.status == SAL_ERR_SHAPE,
          "zero height");
    CHECK(sal_felzenszwalb(image, 2, 2, 3, NAN, 0.8f, 1, labels, &err) == -1 && err.status == SAL_ERR_ARGUMENT,
          "NaN scale");
    CHECK(sal_felzenszwalb(image, 2, 2, 3, 1, -1, 1, labels, &err) == -1 && err.status == SAL_ERR_ARGUMENT,
          "negative sigma");
    CHECK(sal_felzenszwalb(image, 2, 2, 3, 1, 0.8f, -3, labels, &err) == -1 && err.status == SAL_ERR_ARGUMENT,
          "negative min_size");
    image[4] = NAN;
    CHECK(sal_felzenszwalb(image, 2, 2, 3, 1, 0.8f, 1, labels, &err) == -1 && err.status == SAL_ERR_NUMERIC,
          "NaN pixel");
    image[0] = 0.5f;
    CHECK(sal_felzenszwalb(image, 1, 1, 3, 1, 0.8f, 1, labels, &err) == 1 && labels[0] == 0, "one pixel");
}

/* ------------------------------------------------------------ dilation */

static void naive_dilate(const unsigned char *in, int height, int width, int radius, unsigned char *out) {
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            unsigned char hit = 0;
            for (int dy = -radius; dy <= radius && !hit; dy++)
                for (int dx = -radius; dx <= radius && !hit; dx++) {
                    int qy = y + dy, qx = x + dx;
                    if (dx * dx + dy * dy <= radius * radius && qy >= 0 && qy < height && qx >= 0 && qx < width)
                        hit = in[qy * width + qx] != 0;
                }
            out[y * width + x] = hit;
        }
}

static void test_dilation(void) {
    static const struct {
        int height, width;
        double density;
    } masks[] = {{17, 23, 0.02}, {17, 23, 0.3}, {1, 40, 0.1}, {40, 1, 0.1}, {31, 29, 0.0}, {9, 9, 1.0}};
    static const int radii[] = {0, 1, 2, 3, 5, 12};
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++) {
        int h = masks[m].height, w = masks[m].width, n = h * w;
        unsigned char *in = malloc(n), *got = malloc(n), *want = malloc(n);
        for (int i = 0; i < n; i++) in[i] = random_unit() < masks[m].density ? (unsigned char)(1 + i % 3) : 0;
        in[0] = masks[m].density > 0; /* a corner pixel, to reach the borders */
        for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++) {
            sal_dilate_disk(in, h, w, radii[r], got);
            naive_dilate(in, h, w, radii[r], want);
            CHECK(memcmp(got, want, n) == 0, "dilation %dx%d density %g radius %d differs from the disk loop", h,
                  w, masks[m].density, radii[r]);
        }
        free(in), free(got), free(want);
    }
}

/* skimage's disk(5) has 81 pixels: a single pixel grows to exactly that. */
static void test_dilation_disk_area(void) {
    enum { N = 21 };
    unsigned char in[N * N] = {0}, out[N * N];
    in[10 * N + 10] = 1;
    sal_dilate_disk(in, N, N, 5, out);
    int area = 0;
    for (int i = 0; i < N * N; i++) area += out[i];
    CHECK(area == 81, "disk(5) area %d, want 81", area);
    CHECK(out[10 * N + 15] && out[5 * N + 10] && !out[6 * N + 6] && out[7 * N + 6], "disk(5) shape");
}

int main(void) {
    test_blur_against_naive();
    test_blur_tiny_sigma_copies();
    test_blur_against_scipy();
    test_blur_errors();
    test_felzenszwalb_against_skimage();
    test_felzenszwalb_flat_blocks();
    test_felzenszwalb_invariants();
    test_felzenszwalb_errors();
    test_dilation();
    test_dilation_disk_area();
    return check_report();
}
