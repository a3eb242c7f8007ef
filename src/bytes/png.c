#include "png.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "error.h"
#include "file.h"

/* Growing output buffer for stbi_write_png_to_func. */
typedef struct {
    uint8_t *data;
    size_t size;
    int out_of_memory;
} png_sink;

static void png_sink_append(void *context, void *bytes, int count) {
    png_sink *sink = context;
    if (sink->out_of_memory || count <= 0) return;
    uint8_t *grown = realloc(sink->data, sink->size + (size_t)count);
    if (!grown) {
        sink->out_of_memory = 1;
        return;
    }
    memcpy(grown + sink->size, bytes, (size_t)count);
    sink->data = grown;
    sink->size += (size_t)count;
}

/* stb_image_write counts bytes in int, so the raw image must stay well below INT_MAX. */
static int check_png_shape(int width, int height, int channels, sal_error *err) {
    if (width <= 0 || height <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "PNG size %d x %d: both sides must be positive",
                        width, height);
    if (channels != 1 && channels != 3 && channels != 4)
        return sal_fail(err, SAL_ERR_ARGUMENT, "PNG with %d channels: only 1 (gray), 3 (RGB) or 4 (RGBA)",
                        channels);
    size_t row_bytes = (size_t)width * (size_t)channels + 1;
    if (row_bytes > (size_t)(INT_MAX / 2) / (size_t)height)
        return sal_fail(err, SAL_ERR_ARGUMENT, "PNG size %d x %d is too large to encode",
                        width, height);
    return SAL_OK;
}

int sal_png_encode_u8(const uint8_t *pixels, int width, int height, int channels,
                      uint8_t **png, size_t *png_size, sal_error *err) {
    *png = NULL;
    *png_size = 0;
    int status = check_png_shape(width, height, channels, err);
    if (status) return status;
    if (!pixels) return sal_fail(err, SAL_ERR_ARGUMENT, "PNG pixels are NULL");
    png_sink sink = {0};
    int written = stbi_write_png_to_func(png_sink_append, &sink, width, height, channels,
                                         pixels, width * channels);
    if (!written || sink.out_of_memory) {
        free(sink.data);
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory encoding a %d x %d PNG", width, height);
    }
    *png = sink.data;
    *png_size = sink.size;
    sal_ok(err);
    return SAL_OK;
}

/* Maps [0, 1] to bytes, clipping; NaN has no sensible byte. */
static int floats_to_bytes(const float *values, size_t count, uint8_t *bytes, sal_error *err) {
    for (size_t i = 0; i < count; i++) {
        float v = values[i];
        if (v != v)
            return sal_fail(err, SAL_ERR_NUMERIC, "PNG pixel value %zu is NaN", i);
        if (v < 0.0f) v = 0.0f;
        if (v > 1.0f) v = 1.0f;
        bytes[i] = (uint8_t)roundf(v * 255.0f);
    }
    return SAL_OK;
}

int sal_png_encode_float(const float *pixels, int width, int height, int channels,
                         uint8_t **png, size_t *png_size, sal_error *err) {
    *png = NULL;
    *png_size = 0;
    int status = check_png_shape(width, height, channels, err);
    if (status) return status;
    if (!pixels) return sal_fail(err, SAL_ERR_ARGUMENT, "PNG pixels are NULL");
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    uint8_t *bytes = malloc(count);
    if (!bytes)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory converting a %d x %d PNG", width,
                        height);
    status = floats_to_bytes(pixels, count, bytes, err);
    if (!status) status = sal_png_encode_u8(bytes, width, height, channels, png, png_size, err);
    free(bytes);
    return status;
}

static int write_encoded(const char *path, int status, uint8_t *png, size_t png_size,
                         sal_error *err) {
    if (!status) status = sal_write_file(path, png, png_size, err);
    free(png);
    return status;
}

int sal_png_write_u8(const char *path, const uint8_t *pixels, int width, int height,
                     int channels, sal_error *err) {
    uint8_t *png;
    size_t png_size;
    int status = sal_png_encode_u8(pixels, width, height, channels, &png, &png_size, err);
    return write_encoded(path, status, png, png_size, err);
}

int sal_png_write_float(const char *path, const float *pixels, int width, int height,
                        int channels, sal_error *err) {
    uint8_t *png;
    size_t png_size;
    int status = sal_png_encode_float(pixels, width, height, channels, &png, &png_size, err);
    return write_encoded(path, status, png, png_size, err);
}
