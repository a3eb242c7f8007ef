/* test_image.c - decoding, resize + crop, preprocessing and PNG writing.
 * References: PIL decodes and torch's antialiased bilinear interpolate
 * resizes (goldens from tools/make_image_goldens.py); pixel formulas for the
 * tiny files; hand-written formulas for the presets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/file.h"
#include "bytes/npy.h"
#include "bytes/png.h"
#include "check.h"
#include "saliency.h"

#define PHOTO(name) SAL_ASSETS_DIR "/photos/" name
#define IMAGE_GOLDEN(name) SAL_GOLDENS_DIR "/image/" name
#define GRID 15

/* ------------------------------------------------------------ helpers */

typedef struct {
    float *data;
    int shape[SAL_NPY_MAX_DIMS];
    int ndim;
} golden;

static int load_golden(const char *path, golden *g) {
    sal_error err;
    int status = sal_npy_read(path, &g->data, g->shape, &g->ndim, &err);
    CHECK(status == SAL_OK, "golden %s: %s", path, err.message);
    return status;
}

static int load_image(const char *path, sal_image *image) {
    sal_error err;
    int status = sal_image_load(path, image, &err);
    CHECK(status == SAL_OK, "load %s: %s", path, err.message);
    return status;
}

/* The sampling rule of the goldens: k = min(n, 15) indices i * (n - 1) / (k - 1). */
static int grid_index(int i, int n) {
    int k = n < GRID ? n : GRID;
    return k > 1 ? i * (n - 1) / (k - 1) : 0;
}

static int grid_count(int n) { return n < GRID ? n : GRID; }

/* Picks the golden's sample grid out of a full image. */
static float *sample_grid(const sal_image *image) {
    int rows = grid_count(image->height), cols = grid_count(image->width), c_n = image->channels;
    float *samples = malloc((size_t)rows * cols * c_n * sizeof *samples);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            for (int k = 0; k < c_n; k++)
                samples[((size_t)r * cols + c) * c_n + k] =
                    image->data[((size_t)grid_index(r, image->height) * image->width +
                                 grid_index(c, image->width)) * c_n + k];
    return samples;
}

static int golden_matches_grid(const golden *g, const sal_image *image) {
    return g->ndim == 3 && g->shape[0] == grid_count(image->height) &&
           g->shape[1] == grid_count(image->width) && g->shape[2] == image->channels;
}

static double max_abs_diff(const float *a, const float *b, size_t n, double *mean) {
    double worst = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        total += d;
        if (!(d <= worst)) worst = d;
    }
    if (mean) *mean = n ? total / (double)n : 0;
    return worst;
}

/* Compares an image's sample grid with a golden; returns the max |diff|. */
static double compare_grid(const char *golden_path, const sal_image *image, double *mean) {
    golden g = {0};
    if (load_golden(golden_path, &g)) return INFINITY;
    double worst = INFINITY;
    if (golden_matches_grid(&g, image)) {
        float *samples = sample_grid(image);
        size_t n = (size_t)g.shape[0] * g.shape[1] * g.shape[2];
        worst = max_abs_diff(samples, g.data, n, mean);
        free(samples);
    } else {
        CHECK(0, "%s: golden shape does not fit a %d x %d image", golden_path, image->width,
              image->height);
    }
    free(g.data);
    return worst;
}

/* ------------------------------------------------------------ decoding */

static void test_decode_png_exactly(void) {
    sal_image image = {0};
    if (load_image(PHOTO("chelsea.png"), &image)) return;
    CHECK(image.width == 451 && image.height == 300 && image.channels == 3, "chelsea is %dx%dx%d",
          image.width, image.height, image.channels);
    double worst = compare_grid(IMAGE_GOLDEN("decode_chelsea_png.npy"), &image, NULL);
    CHECK(worst == 0.0, "PNG pixels differ from PIL's by up to %g", worst);
    sal_image_free(&image);
    CHECK(image.data == NULL && image.width == 0, "sal_image_free clears the struct");
}

/* JPEG decoders may differ by rounding in the IDCT and chroma upsampling. */
static void test_decode_jpeg_closely(void) {
    sal_image image = {0};
    if (load_image(PHOTO("cat.jpg"), &image)) return;
    CHECK(image.width == 227 && image.height == 227 && image.channels == 3, "cat is %dx%dx%d",
          image.width, image.height, image.channels);
    double mean = 0;
    double worst = compare_grid(IMAGE_GOLDEN("decode_cat_jpg.npy"), &image, &mean);
    CHECK(worst <= 4.0 && mean <= 0.5, "JPEG pixels differ from PIL's: max %g mean %g", worst, mean);
    sal_image_free(&image);
}

/* The formula tools/make_image_goldens.py drew the tiny files with. */
static uint8_t pattern(int x, int y, int channel) {
    static const int fx[4] = {37, 13, 101, 17}, fy[4] = {11, 71, 29, 53}, f0[4] = {5, 90, 200, 1};
    return (uint8_t)((fx[channel] * x + fy[channel] * y + f0[channel]) % 256);
}

/* gray: every channel should equal the pattern's channel 0. */
static void check_pattern_file(const char *path, int gray) {
    sal_image image = {0};
    if (load_image(path, &image)) return;
    CHECK(image.width == 6 && image.height == 4 && image.channels == 3, "%s is %dx%dx%d", path,
          image.width, image.height, image.channels);
    int exact = image.width == 6 && image.height == 4;
    for (int y = 0; exact && y < 4; y++)
        for (int x = 0; x < 6; x++)
            for (int c = 0; c < 3; c++)
                exact &= image.data[(y * 6 + x) * 3 + c] == pattern(x, y, gray ? 0 : c);
    CHECK(exact, "%s: pixels differ from the pattern", path);
    sal_image_free(&image);
}

static void test_decode_formats_and_channel_counts(void) {
    check_pattern_file(IMAGE_GOLDEN("pattern_rgba.png"), 0);
    check_pattern_file(IMAGE_GOLDEN("pattern_gray.png"), 1);
    check_pattern_file(IMAGE_GOLDEN("pattern_gray_alpha.png"), 1);
    check_pattern_file(IMAGE_GOLDEN("pattern_rgb.bmp"), 0);
    check_pattern_file(IMAGE_GOLDEN("pattern_rgb.gif"), 0);
}

static void test_from_rgba8(void) {
    uint8_t rgba[5 * 3 * 4];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++)
            for (int c = 0; c < 4; c++) rgba[(y * 5 + x) * 4 + c] = pattern(x, y, c);
    sal_image image = {0};
    sal_error err;
    CHECK(sal_image_from_rgba8(rgba, 5, 3, &image, &err) == SAL_OK, "%s", err.message);
    int exact = image.data && image.width == 5 && image.height == 3 && image.channels == 3;
    for (int i = 0; exact && i < 15; i++)
        for (int c = 0; c < 3; c++) exact &= image.data[i * 3 + c] == rgba[i * 4 + c];
    CHECK(exact, "from_rgba8 keeps RGB and drops alpha");
    sal_image_free(&image);
    CHECK(sal_image_from_rgba8(rgba, 0, 3, &image, &err) == SAL_ERR_ARGUMENT, "zero width");
    CHECK(sal_image_from_rgba8(NULL, 5, 3, &image, &err) == SAL_ERR_ARGUMENT, "NULL pixels");
    CHECK(sal_image_from_rgba8(rgba, 100000, 100000, &image, &err) == SAL_ERR_ARGUMENT,
          "10^10 pixels accepted");
    CHECK(image.data == NULL, "failed from_rgba8 leaves no data");
}

/* ------------------------------------------------------- decode errors */

static void expect_decode_failure(const uint8_t *bytes, size_t size, const char *what) {
    sal_image image = {0};
    sal_error err = {0};
    int status = sal_image_decode(bytes, size, &image, &err);
    CHECK(status == SAL_ERR_FORMAT, "%s: status %d (%s)", what, status, err.message);
    CHECK(err.status == SAL_ERR_FORMAT && err.message[0], "%s: no error message", what);
    CHECK(image.data == NULL, "%s: data left allocated", what);
    sal_image_free(&image);
}

static void test_load_errors(void) {
    sal_image image = {0};
    sal_error err = {0};
    int status = sal_image_load(PHOTO("no_such_photo.png"), &image, &err);
    CHECK(status == SAL_ERR_IO, "missing file gave %d", status);
    CHECK(strstr(err.message, "no_such_photo.png") != NULL, "message '%s' lacks the path",
          err.message);

    const char *garbage_path = "test_image_garbage.png";
    sal_write_file(garbage_path, "this is not an image at all", 27, NULL);
    status = sal_image_load(garbage_path, &image, &err);
    CHECK(status == SAL_ERR_FORMAT, "garbage gave %d", status);
    CHECK(strstr(err.message, garbage_path) != NULL, "message '%s' lacks the path", err.message);
    sal_write_file(garbage_path, "", 0, NULL);
    status = sal_image_load(garbage_path, &image, &err);
    CHECK(status == SAL_ERR_FORMAT && strstr(err.message, "empty"), "empty file: %d %s", status,
          err.message);
    remove(garbage_path);
    CHECK(image.data == NULL, "failed loads leave no data");

    expect_decode_failure(NULL, 0, "NULL bytes");
    expect_decode_failure((const uint8_t *)"x", 1, "one byte");
}

/* A PNG signature and IHDR claiming the given size (stb does not check CRCs). */
static size_t fake_png_header(uint8_t *out, uint32_t width, uint32_t height) {
    static const uint8_t start[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                                    0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    memcpy(out, start, sizeof start);
    uint32_t dims[2] = {width, height};
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 4; i++) out[16 + d * 4 + i] = (uint8_t)(dims[d] >> (24 - 8 * i));
    const uint8_t rest[] = {8, 2, 0, 0, 0, 0, 0, 0, 0};
    memcpy(out + 24, rest, sizeof rest);
    return 24 + sizeof rest;
}

static void test_hostile_headers(void) {
    uint8_t png[64];
    size_t size = fake_png_header(png, 100000, 100000);
    expect_decode_failure(png, size, "PNG claiming 100000 x 100000");
    size = fake_png_header(png, 16000, 16000);
    expect_decode_failure(png, size, "PNG claiming 16000 x 16000");
    size = fake_png_header(png, 0, 10);
    expect_decode_failure(png, size, "PNG claiming 0 x 10");
}

/* stb_image 2.27 overflows its tables on these; the decoder must refuse them. */
static void test_oversized_huffman_table(void) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    sal_error err;
    CHECK(sal_read_file(PHOTO("cat.jpg"), &bytes, &size, &err) == SAL_OK, "%s", err.message);
    size_t dht = 0;
    while (bytes && dht + 21 < size && !(bytes[dht] == 0xFF && bytes[dht + 1] == 0xC4)) dht++;
    CHECK(bytes && dht + 21 < size, "cat.jpg has no Huffman table");
    if (!bytes || dht + 21 >= size) {
        free(bytes);
        return;
    }
    memset(bytes + dht + 5, 0xFF, 16); /* 16 code lengths of 255 symbols each */
    sal_image image = {0};
    int status = sal_image_decode(bytes, size, &image, &err);
    CHECK(status == SAL_ERR_FORMAT && strstr(err.message, "Huffman"), "status %d: %s", status,
          err.message);
    CHECK(image.data == NULL, "oversized Huffman table left data");
    uint8_t *padded = malloc(size + 2); /* stb also accepts fill bytes before the SOI marker */
    padded[0] = padded[1] = 0xFF;
    memcpy(padded + 2, bytes, size);
    status = sal_image_decode(padded, size + 2, &image, &err);
    CHECK(status == SAL_ERR_FORMAT && strstr(err.message, "Huffman"), "after fill bytes: %d %s",
          status, err.message);
    free(padded);
    free(bytes);
}

/* Truncated or corrupted photos must fail cleanly or decode to the right size. */
static void check_damaged_decode(const uint8_t *bytes, size_t size, int width, int height,
                                 const char *what) {
    sal_image image = {0};
    sal_error err = {0};
    int status = sal_image_decode(bytes, size, &image, &err);
    if (status == SAL_OK) {
        CHECK(image.data && image.width == width && image.height == height && image.channels == 3,
              "%s decoded to %dx%d", what, image.width, image.height);
    } else {
        CHECK(status == SAL_ERR_FORMAT && err.message[0] && !image.data, "%s: status %d", what,
              status);
    }
    sal_image_free(&image);
}

static void damage_photo(const char *path, int width, int height) {
    uint8_t *bytes = NULL;
    size_t size = 0;
    sal_error err;
    CHECK(sal_read_file(path, &bytes, &size, &err) == SAL_OK, "%s", err.message);
    if (!bytes) return;
    size_t cuts[] = {1, 2, 8, 20, 33, 100, 300, 1000, size / 4, size / 2, size - 100, size - 1};
    char what[160];
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        snprintf(what, sizeof what, "%s cut to %zu bytes", path, cuts[i]);
        check_damaged_decode(bytes, cuts[i], width, height, what);
    }
    uint32_t state = 12345;
    for (int round = 0; round < 6; round++) {
        uint8_t *copy = malloc(size);
        memcpy(copy, bytes, size);
        for (int k = 0; k < 20; k++) {
            state = state * 1664525u + 1013904223u;
            copy[(state >> 8) % size] ^= (uint8_t)(state >> 24 | 1);
        }
        snprintf(what, sizeof what, "%s with 20 corrupted bytes (round %d)", path, round);
        check_damaged_decode(copy, size, width, height, what);
        free(copy);
    }
    free(bytes);
}

static void test_truncated_and_corrupted_photos(void) {
    damage_photo(PHOTO("cat.jpg"), 227, 227);
    damage_photo(PHOTO("chelsea.png"), 451, 300);
}

/* ------------------------------------------------------------- resizing */

static void resize_and_compare(const sal_image *in, int width, int height, const char *golden_path,
                               double max_tolerance, double mean_tolerance) {
    sal_image out = {0};
    sal_error err;
    int status = sal_image_resize_crop(in, width, height, &out, &err);
    CHECK(status == SAL_OK, "resize to %dx%d: %s", width, height, err.message);
    if (status) return;
    CHECK(out.width == width && out.height == height && out.channels == in->channels,
          "resize gave %dx%dx%d", out.width, out.height, out.channels);
    double mean = 0;
    double worst = compare_grid(golden_path, &out, &mean);
    CHECK(worst <= max_tolerance && mean <= mean_tolerance,
          "%s: max |diff| %g (tolerance %g), mean %g (tolerance %g)", golden_path, worst,
          max_tolerance, mean, mean_tolerance);
    sal_image_free(&out);
}

static void resize_input_golden(const char *input_path, int width, int height,
                                const char *golden_path) {
    golden g = {0};
    if (load_golden(input_path, &g)) return;
    sal_image in = {g.shape[1], g.shape[0], g.shape[2], g.data};
    resize_and_compare(&in, width, height, golden_path, 1e-3, 1e-3);
    free(g.data);
}

static void resize_photo_golden(const char *photo, int width, int height, const char *golden_path,
                                double max_tolerance, double mean_tolerance) {
    sal_image in = {0};
    if (load_image(photo, &in)) return;
    resize_and_compare(&in, width, height, golden_path, max_tolerance, mean_tolerance);
    sal_image_free(&in);
}

static void test_resize_against_torch(void) {
    /* Small synthetic images are compared whole (upscaling, odd crops). */
    resize_input_golden(IMAGE_GOLDEN("small_input.npy"), 16, 12,
                        IMAGE_GOLDEN("resize_small_16x12.npy"));
    resize_input_golden(IMAGE_GOLDEN("tall_input.npy"), 13, 4,
                        IMAGE_GOLDEN("resize_tall_13x4.npy"));
    /* PNG decodes exactly like PIL's: only float rounding separates us from torch. */
    resize_photo_golden(PHOTO("chelsea.png"), 224, 224,
                        IMAGE_GOLDEN("resize_chelsea_png_224x224.npy"), 0.01, 1e-3);
    resize_photo_golden(PHOTO("coffee.png"), 299, 299,
                        IMAGE_GOLDEN("resize_coffee_png_299x299.npy"), 0.01, 1e-3);
    resize_photo_golden(PHOTO("astronaut.png"), 224, 224,
                        IMAGE_GOLDEN("resize_astronaut_png_224x224.npy"), 0.01, 1e-3);
    resize_photo_golden(PHOTO("astronaut.png"), 100, 60,
                        IMAGE_GOLDEN("resize_astronaut_png_100x60.npy"), 0.01, 1e-3);
    /* JPEG: stb and libjpeg differ by a few levels on a few pixels; the
     * resize averages that, so the mean stays small. */
    resize_photo_golden(PHOTO("cat.jpg"), 224, 224, IMAGE_GOLDEN("resize_cat_jpg_224x224.npy"),
                        3.05, 0.2);
    resize_photo_golden(PHOTO("cat.jpg"), 299, 299, IMAGE_GOLDEN("resize_cat_jpg_299x299.npy"),
                        3.05, 0.2);
}

static void fill_image(sal_image *image, int width, int height, int channels, uint32_t seed) {
    image->width = width;
    image->height = height;
    image->channels = channels;
    size_t n = (size_t)width * height * channels;
    image->data = malloc(n * sizeof *image->data);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        image->data[i] = (float)(seed >> 8) / (float)(1 << 24) * 255.0f;
    }
}

static void test_resize_properties(void) {
    sal_image in = {0}, out = {0};
    sal_error err;
    /* Same size: the triangle filter reads exactly one pixel at weight 1. */
    fill_image(&in, 31, 17, 3, 9);
    CHECK(sal_image_resize_crop(&in, 31, 17, &out, &err) == SAL_OK, "%s", err.message);
    CHECK(out.data && max_abs_diff(out.data, in.data, 31 * 17 * 3, NULL) == 0.0,
          "same-size resize changed pixels");
    sal_image_free(&out);
    /* Pure crop: covering 31x17 with 17x17 keeps scale 1 and crops columns 7..23. */
    CHECK(sal_image_resize_crop(&in, 17, 17, &out, &err) == SAL_OK, "%s", err.message);
    int exact = out.data != NULL;
    for (int y = 0; exact && y < 17; y++)
        exact &= memcmp(out.data + y * 17 * 3, in.data + (y * 31 + 7) * 3, 17 * 3 * sizeof(float)) == 0;
    CHECK(exact, "scale-1 resize is not the centre crop at column 7");
    sal_image_free(&out);
    sal_image_free(&in);

    /* Weights are normalized: a constant image stays constant, any channel count. */
    fill_image(&in, 97, 13, 2, 1);
    for (int i = 0; i < 97 * 13 * 2; i++) in.data[i] = 42.0f;
    int sizes[][2] = {{5, 5}, {200, 3}, {1, 1}, {97, 13}, {300, 300}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        CHECK(sal_image_resize_crop(&in, w, h, &out, &err) == SAL_OK, "%s", err.message);
        float worst = 0;
        for (int i = 0; out.data && i < w * h * 2; i++)
            worst = fmaxf(worst, fabsf(out.data[i] - 42.0f));
        CHECK(out.channels == 2 && worst < 1e-3f, "constant image to %dx%d: off by %g", w, h,
              (double)worst);
        sal_image_free(&out);
    }
    sal_image_free(&in);
}

static void test_resize_errors(void) {
    sal_image in = {0}, out = {0};
    sal_error err;
    CHECK(sal_image_resize_crop(&in, 10, 10, &out, &err) == SAL_ERR_ARGUMENT, "empty input");
    fill_image(&in, 4, 4, 3, 2);
    CHECK(sal_image_resize_crop(&in, 0, 10, &out, &err) == SAL_ERR_ARGUMENT, "zero width");
    CHECK(sal_image_resize_crop(&in, 10, -1, &out, &err) == SAL_ERR_ARGUMENT, "negative height");
    CHECK(sal_image_resize_crop(&in, 100000, 10, &out, &err) == SAL_ERR_ARGUMENT, "huge width");
    CHECK(strstr(err.message, "100000") != NULL, "message '%s'", err.message);
    CHECK(out.data == NULL, "failed resize left data");
    float *pixels = in.data;
    CHECK(sal_image_resize_crop(&in, 2, 2, &in, &err) == SAL_ERR_ARGUMENT, "resize in place");
    CHECK(in.data == pixels && in.width == 4, "resize in place damaged the input");
    sal_image_free(&in);
}

/* --------------------------------------------------------- preprocessing */

static void check_preset(const char *name, const float expected[3]) {
    static const float pixel[3] = {10.0f, 128.0f, 250.0f};
    sal_preprocess p;
    sal_error err;
    CHECK(sal_preprocess_preset(name, &p, &err) == SAL_OK, "%s: %s", name, err.message);
    float out[3];
    sal_preprocess_apply(&p, pixel, 1, out);
    CHECK_CLOSE(out, expected, 3, 1e-5, 1e-5, name);
}

static void test_presets(void) {
    /* pixel (R, G, B) = (10, 128, 250) */
    check_preset("caffe", (float[]){250 - 103.939f, 128 - 116.779f, 10 - 123.68f});
    check_preset("tf", (float[]){10 / 127.5f - 1, 128 / 127.5f - 1, 250 / 127.5f - 1});
    check_preset("torch", (float[]){(10 / 255.0f - 0.485f) / 0.229f, (128 / 255.0f - 0.456f) / 0.224f,
                                    (250 / 255.0f - 0.406f) / 0.225f});
    check_preset("none", (float[]){10, 128, 250});

    sal_preprocess p;
    sal_error err;
    int status = sal_preprocess_preset("imagenet", &p, &err);
    CHECK(status == SAL_ERR_ARGUMENT, "unknown preset gave %d", status);
    CHECK(strstr(err.message, "imagenet") && strstr(err.message, "caffe") &&
              strstr(err.message, "torch"), "message '%s'", err.message);
    CHECK(sal_preprocess_preset(NULL, &p, &err) == SAL_ERR_ARGUMENT, "NULL name");
}

static void test_apply_many_pixels_in_place(void) {
    sal_preprocess p;
    sal_preprocess_preset("caffe", &p, NULL);
    float pixels[4 * 3], expected[4 * 3];
    for (int i = 0; i < 4; i++) {
        float r = 10.0f * i, g = 50.0f + i, b = 200.0f - i;
        pixels[i * 3] = r, pixels[i * 3 + 1] = g, pixels[i * 3 + 2] = b;
        expected[i * 3] = b - 103.939f;
        expected[i * 3 + 1] = g - 116.779f;
        expected[i * 3 + 2] = r - 123.68f;
    }
    sal_preprocess_apply(&p, pixels, 4, pixels);
    CHECK_CLOSE(pixels, expected, 12, 1e-5, 1e-6, "caffe in place over 4 pixels");
}

static void test_gradient_to_rgb(void) {
    sal_preprocess caffe, torch;
    sal_preprocess_preset("caffe", &caffe, NULL);
    sal_preprocess_preset("torch", &torch, NULL);
    float grad[6] = {1, 2, 3, 4, 5, 6};
    sal_preprocess_gradient_to_rgb(&caffe, grad, 2);
    CHECK(memcmp(grad, (float[]){3, 2, 1, 6, 5, 4}, sizeof grad) == 0, "BGR gradient not swapped");
    sal_preprocess_gradient_to_rgb(&torch, grad, 2);
    CHECK(memcmp(grad, (float[]){3, 2, 1, 6, 5, 4}, sizeof grad) == 0, "RGB gradient changed");
}

/* --------------------------------------------------------------- PNG */

static uint32_t big_endian_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Signature and IHDR fields read by hand, then the pixels decoded back. */
static void check_png(const uint8_t *png, size_t size, int width, int height, int channels,
                      const uint8_t *expected) {
    CHECK(size > 33 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(png + 12, "IHDR", 4) == 0,
          "not a PNG");
    if (size <= 33) return;
    CHECK(big_endian_u32(png + 16) == (uint32_t)width && big_endian_u32(png + 20) == (uint32_t)height,
          "IHDR size");
    CHECK(png[24] == 8 && png[25] == (channels == 1 ? 0 : 2), "bit depth %d colour type %d",
          png[24], png[25]);
    sal_image image = {0};
    sal_error err;
    CHECK(sal_image_decode(png, size, &image, &err) == SAL_OK, "%s", err.message);
    int exact = image.data != NULL;
    for (int i = 0; exact && i < width * height; i++)
        for (int c = 0; c < 3; c++)
            exact &= image.data[i * 3 + c] == expected[i * channels + (channels == 1 ? 0 : c)];
    CHECK(exact, "decoded PNG pixels differ");
    sal_image_free(&image);
}

static void test_png_encode(void) {
    enum { W = 7, H = 5 };
    float gray[W * H], rgb[W * H * 3];
    uint8_t gray_bytes[W * H], rgb_bytes[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        gray[i] = (float)i / (W * H - 1) * 1.4f - 0.2f; /* spans beyond [0, 1] */
        float clipped = fminf(fmaxf(gray[i], 0.0f), 1.0f);
        gray_bytes[i] = (uint8_t)roundf(clipped * 255.0f); /* half away from zero */
        for (int c = 0; c < 3; c++) {
            rgb_bytes[i * 3 + c] = pattern(i % W, i / W, c);
            rgb[i * 3 + c] = rgb_bytes[i * 3 + c] / 255.0f;
        }
    }
    uint8_t *png = NULL;
    size_t size = 0;
    sal_error err;
    CHECK(sal_png_encode_float(gray, W, H, 1, &png, &size, &err) == SAL_OK, "%s", err.message);
    if (png) check_png(png, size, W, H, 1, gray_bytes);
    free(png);
    CHECK(sal_png_encode_float(rgb, W, H, 3, &png, &size, &err) == SAL_OK, "%s", err.message);
    if (png) check_png(png, size, W, H, 3, rgb_bytes);
    free(png);
    CHECK(sal_png_encode_u8(rgb_bytes, W, H, 3, &png, &size, &err) == SAL_OK, "%s", err.message);
    if (png) check_png(png, size, W, H, 3, rgb_bytes);
    free(png);
}

static void test_png_files_and_errors(void) {
    const char *path = "test_image_out.png";
    uint8_t pixels[6] = {0, 50, 100, 150, 200, 255};
    sal_error err;
    CHECK(sal_png_write_u8(path, pixels, 3, 2, 1, &err) == SAL_OK, "%s", err.message);
    sal_image image = {0};
    if (load_image(path, &image) == SAL_OK) {
        CHECK(image.width == 3 && image.height == 2 && image.data[3 * 3 + 1] == 150.0f,
              "written gray PNG reads back wrong");
        sal_image_free(&image);
    }
    remove(path);

    float values[4] = {0, 0.5f, NAN, 1};
    uint8_t *png = NULL;
    size_t size = 0;
    CHECK(sal_png_encode_float(values, 2, 2, 1, &png, &size, &err) == SAL_ERR_NUMERIC, "NaN pixel");
    CHECK(png == NULL, "NaN left a buffer");
    CHECK(sal_png_encode_u8(pixels, 3, 2, 2, &png, &size, &err) == SAL_ERR_ARGUMENT, "2 channels");
    CHECK(sal_png_encode_u8(pixels, 0, 2, 1, &png, &size, &err) == SAL_ERR_ARGUMENT, "zero width");
    CHECK(sal_png_encode_u8(pixels, 100000, 100000, 3, &png, &size, &err) == SAL_ERR_ARGUMENT,
          "huge PNG");
    CHECK(sal_png_write_float("no_such_directory/x.png", values, 1, 1, 1, &err) == SAL_ERR_IO,
          "unwritable path");
    CHECK(strstr(err.message, "no_such_directory/x.png") != NULL, "message '%s'", err.message);
}

int main(void) {
    test_decode_png_exactly();
    test_decode_jpeg_closely();
    test_decode_formats_and_channel_counts();
    test_from_rgba8();
    test_load_errors();
    test_hostile_headers();
    test_oversized_huffman_table();
    test_truncated_and_corrupted_photos();
    test_resize_against_torch();
    test_resize_properties();
    test_resize_errors();
    test_presets();
    test_apply_many_pixels_in_place();
    test_gradient_to_rgb();
    test_png_encode();
    test_png_files_and_errors();
    return check_report();
}
