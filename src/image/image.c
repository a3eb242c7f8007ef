/* image.c - decoding photos into float RGB and the resize + centre crop that
 * brings them to a model's input size. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STBI_NO_STDIO
#include <stb_image.h>

#include "../bytes/error.h"
#include "../bytes/file.h"
#include "../saliency.h"

/* Larger photos are refused before decoding: 64 Mpixels is already 768 MB as floats. */
#define SAL_IMAGE_MAX_PIXELS ((size_t)1 << 26)
/* Bound on requested output sides (the same bound stb_image puts on inputs). */
#define SAL_IMAGE_MAX_SIDE 16384

static void image_clear(sal_image *image) {
    image->width = image->height = image->channels = 0;
    image->data = NULL;
}

void sal_image_free(sal_image *image) {
    if (!image) return;
    free(image->data);
    image_clear(image);
}

static int image_alloc(sal_image *image, int width, int height, int channels, sal_error *err) {
    size_t count = (size_t)width * (size_t)height * (size_t)channels;
    image->data = malloc(count * sizeof(float));
    if (!image->data)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory for a %d x %d image", width, height);
    image->width = width;
    image->height = height;
    image->channels = channels;
    return SAL_OK;
}

/* ------------------------------------------------- JPEG table guard */

/* stb_image 2.27 (Debian's libstb-dev) trusts the symbol counts of a JPEG
 * Huffman table and writes past its arrays when they add up to more than 256.
 * Such files are refused before stb sees them.  The walk below reads markers
 * the way stb does: segments are skipped by their length, entropy-coded data
 * byte by byte up to the next marker (FF 00 is a stuffed byte, FF D0..D7 a
 * restart), so every table stb could read is checked. */

static int byte_or_zero(const uint8_t *bytes, size_t size, size_t at) {
    return at < size ? bytes[at] : 0; /* stb reads zeros past the end */
}

/* Replays stb's reading of one DHT segment; 0 if a table is too large. */
static int jpeg_dht_fits(const uint8_t *bytes, size_t size, size_t at, long length) {
    long left = length - 2;
    while (left > 0) {
        int table = byte_or_zero(bytes, size, at++);
        if ((table >> 4) > 1 || (table & 15) > 3) return 1; /* stb rejects the segment */
        long symbols = 0;
        for (int i = 0; i < 16; i++) symbols += byte_or_zero(bytes, size, at++);
        if (symbols > 256) return 0;
        at += (size_t)symbols;
        left -= 17 + symbols;
    }
    return 1;
}

static int is_standalone_marker(int marker) {
    return marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8);
}

static int jpeg_tables_fit(const uint8_t *bytes, size_t size) {
    size_t at = 1;
    while (at < size && bytes[at] == 0xFF) at++; /* stb allows fill bytes before SOI too */
    if (size < 2 || bytes[0] != 0xFF || at >= size || bytes[at] != 0xD8) return 1; /* not a JPEG */
    at++;
    while (at < size) {
        if (bytes[at++] != 0xFF) continue;
        while (at < size && bytes[at] == 0xFF) at++;
        if (at + 2 >= size) break;
        int marker = bytes[at++];
        if (marker == 0xD9) break; /* end of image: stb stops here */
        if (is_standalone_marker(marker)) continue;
        long length = (long)bytes[at] << 8 | bytes[at + 1];
        if (length < 2) break; /* stb rejects it */
        if (marker == 0xC4 && !jpeg_dht_fits(bytes, size, at + 2, length)) return 0;
        at += (size_t)length;
    }
    return 1;
}

/* ------------------------------------------------------------ decoding */

static const char *stb_reason(void) {
    const char *reason = stbi_failure_reason();
    return reason ? reason : "unknown reason";
}

/* `name` is the path, or "image" for bytes from memory; it only labels errors. */
static int decode_named(const uint8_t *bytes, size_t size, const char *name, sal_image *out,
                        sal_error *err) {
    if (!bytes || size == 0) return sal_fail(err, SAL_ERR_FORMAT, "%s: empty (0 bytes)", name);
    if (size > INT_MAX)
        return sal_fail(err, SAL_ERR_FORMAT, "%s: %zu bytes is too large to decode", name, size);
    if (!jpeg_tables_fit(bytes, size))
        return sal_fail(err, SAL_ERR_FORMAT,
                        "%s: cannot decode image (corrupt JPEG: a Huffman table has more than 256 codes)",
                        name);
    int width, height, file_channels;
    if (!stbi_info_from_memory(bytes, (int)size, &width, &height, &file_channels))
        return sal_fail(err, SAL_ERR_FORMAT, "%s: cannot decode image (%s)", name, stb_reason());
    if ((size_t)width * (size_t)height > SAL_IMAGE_MAX_PIXELS)
        return sal_fail(err, SAL_ERR_FORMAT, "%s: %d x %d pixels is more than the %zu allowed",
                        name, width, height, SAL_IMAGE_MAX_PIXELS);
    uint8_t *rgb = stbi_load_from_memory(bytes, (int)size, &width, &height, &file_channels, 3);
    if (!rgb)
        return sal_fail(err, SAL_ERR_FORMAT, "%s: cannot decode image (%s)", name, stb_reason());
    int status = image_alloc(out, width, height, 3, err);
    if (!status) {
        size_t count = (size_t)width * (size_t)height * 3;
        for (size_t i = 0; i < count; i++) out->data[i] = (float)rgb[i];
        sal_ok(err);
    }
    stbi_image_free(rgb);
    return status;
}

int sal_image_decode(const uint8_t *bytes, size_t size, sal_image *out, sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_decode: output image is NULL");
    image_clear(out);
    return decode_named(bytes, size, "image", out, err);
}

int sal_image_load(const char *path, sal_image *out, sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_load: output image is NULL");
    image_clear(out);
    if (!path) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_load: path is NULL");
    uint8_t *bytes;
    size_t size;
    int status = sal_read_file(path, &bytes, &size, err);
    if (status) return status;
    status = decode_named(bytes, size, path, out, err);
    free(bytes);
    return status;
}

int sal_image_from_rgba8(const uint8_t *rgba, int width, int height, sal_image *out,
                         sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_from_rgba8: output image is NULL");
    image_clear(out);
    if (!rgba) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_from_rgba8: pixels are NULL");
    if (width <= 0 || height <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "RGBA image size %d x %d: both sides must be positive",
                        width, height);
    if ((size_t)width * (size_t)height > SAL_IMAGE_MAX_PIXELS)
        return sal_fail(err, SAL_ERR_ARGUMENT, "RGBA image %d x %d is more than the %zu pixels allowed",
                        width, height, SAL_IMAGE_MAX_PIXELS);
    int status = image_alloc(out, width, height, 3, err);
    if (status) return status;
    size_t n_pixels = (size_t)width * (size_t)height;
    for (size_t i = 0; i < n_pixels; i++)
        for (int c = 0; c < 3; c++) out->data[i * 3 + c] = (float)rgba[i * 4 + c];
    sal_ok(err);
    return SAL_OK;
}

/* ------------------------------------------------------------ resizing */

/* Resampling weights along one axis, for output samples [offset, offset + n)
 * of an axis resized from in_size to resized_size.  Output i reads inputs
 * first[i] .. first[i] + count[i] - 1 with weights[i * max_taps + k]. */
typedef struct {
    int n, max_taps;
    int *first, *count;
    float *weights;
} axis_filter;

static void axis_filter_free(axis_filter *f) {
    free(f->first);
    free(f->count);
    free(f->weights);
    f->first = f->count = NULL;
    f->weights = NULL;
}

static double triangle(double x) {
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Half-pixel centres; when shrinking the triangle is stretched by the scale
 * so that every input pixel contributes (antialiasing), as PIL does. */
static void axis_filter_row(axis_filter *f, int i, int in_size, double scale, double support,
                            int resized_index) {
    double center = (resized_index + 0.5) * scale;
    double inv_scale = scale >= 1.0 ? 1.0 / scale : 1.0;
    int lo = (int)(center - support + 0.5);
    int hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in_size) hi = in_size;
    float *w = f->weights + (size_t)i * (size_t)f->max_taps;
    double total = 0.0;
    for (int x = lo; x < hi; x++) total += triangle((x - center + 0.5) * inv_scale);
    for (int x = lo; x < hi; x++) {
        double weight = triangle((x - center + 0.5) * inv_scale);
        w[x - lo] = (float)(total > 0.0 ? weight / total : 0.0);
    }
    f->first[i] = lo;
    f->count[i] = hi - lo;
}

static int axis_filter_make(axis_filter *f, int in_size, int resized_size, int offset, int n,
                            sal_error *err) {
    double scale = (double)in_size / (double)resized_size;
    double support = scale >= 1.0 ? scale : 1.0;
    f->n = n;
    f->max_taps = 2 * (int)ceil(support) + 1;
    f->first = malloc((size_t)n * sizeof *f->first);
    f->count = malloc((size_t)n * sizeof *f->count);
    f->weights = calloc((size_t)n * (size_t)f->max_taps, sizeof *f->weights);
    if (!f->first || !f->count || !f->weights)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory for resize weights");
    for (int i = 0; i < n; i++) axis_filter_row(f, i, in_size, scale, support, offset + i);
    return SAL_OK;
}

/* One output row: filter the input rows vertically into `row` (a full input
 * row), then filter that horizontally into the output. */
static void resize_row(const sal_image *in, const axis_filter *fx, const axis_filter *fy, int y,
                       float *row, float *out_row) {
    int c_n = in->channels;
    size_t row_len = (size_t)in->width * (size_t)c_n;
    memset(row, 0, row_len * sizeof *row);
    const float *wy = fy->weights + (size_t)y * (size_t)fy->max_taps;
    for (int k = 0; k < fy->count[y]; k++) {
        const float *src = in->data + (size_t)(fy->first[y] + k) * row_len;
        for (size_t j = 0; j < row_len; j++) row[j] += wy[k] * src[j];
    }
    for (int x = 0; x < fx->n; x++) {
        const float *wx = fx->weights + (size_t)x * (size_t)fx->max_taps;
        const float *src = row + (size_t)fx->first[x] * (size_t)c_n;
        for (int c = 0; c < c_n; c++) {
            float sum = 0.0f;
            for (int k = 0; k < fx->count[x]; k++) sum += wx[k] * src[k * c_n + c];
            out_row[(size_t)x * (size_t)c_n + c] = sum;
        }
    }
}

static int check_resize_args(const sal_image *in, int width, int height, sal_image *out,
                             sal_error *err) {
    if (!out) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_resize_crop: output image is NULL");
    if (out == in) /* clearing out would drop the input's pixels */
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_resize_crop: output is the input image");
    image_clear(out);
    if (!in || !in->data || in->width <= 0 || in->height <= 0 || in->channels <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_resize_crop: input image is empty");
    if (width <= 0 || height <= 0 || width > SAL_IMAGE_MAX_SIDE || height > SAL_IMAGE_MAX_SIDE)
        return sal_fail(err, SAL_ERR_ARGUMENT,
                        "resize to %d x %d: each side must be between 1 and %d", width, height,
                        SAL_IMAGE_MAX_SIDE);
    return SAL_OK;
}

/* Size after scaling the image to cover the target, rounded half away from zero. */
static int covering_size(int in_size, double scale, int target, int *resized, sal_error *err) {
    double size = round((double)in_size * scale);
    if (size > INT_MAX / 2)
        return sal_fail(err, SAL_ERR_ARGUMENT, "resize: a side of %d pixels would grow too large",
                        in_size);
    *resized = size < target ? target : (int)size;
    return SAL_OK;
}

/* Both sides after scaling the image by the one factor that makes it cover
 * width x height (the shorter side fits exactly). */
static int covering_sizes(int in_width, int in_height, int width, int height, int *resized_w, int *resized_h,
                          sal_error *err) {
    double scale_x = (double)width / in_width, scale_y = (double)height / in_height;
    double scale = scale_x > scale_y ? scale_x : scale_y;
    int status = covering_size(in_width, scale, width, resized_w, err);
    if (!status) status = covering_size(in_height, scale, height, resized_h, err);
    return status;
}

/* First kept index of the centre crop of `size` out of `resized_size`. */
static int centre_offset(int resized_size, int size) { return (resized_size - size) / 2; }

/* The crop [offset, offset + size) of an axis resized from in_size to
 * resized_size, in input pixels: both ends mapped back by in_size /
 * resized_size and rounded to the nearest pixel. */
static void crop_span(int in_size, int resized_size, int size, int *start, int *length) {
    int offset = centre_offset(resized_size, size);
    double to_input = (double)in_size / (double)resized_size;
    int first = (int)round(offset * to_input), last = (int)round((offset + size) * to_input);
    *start = first;
    *length = last - first;
}

int sal_image_crop_rect(int in_width, int in_height, int width, int height, sal_rect *rect, sal_error *err) {
    if (!rect) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_image_crop_rect: output rectangle is NULL");
    if (in_width <= 0 || in_height <= 0 || width <= 0 || height <= 0 || width > SAL_IMAGE_MAX_SIDE ||
        height > SAL_IMAGE_MAX_SIDE)
        return sal_fail(err, SAL_ERR_ARGUMENT,
                        "crop of a %d x %d photo to %d x %d: the photo must be non-empty and each side of the "
                        "crop between 1 and %d", in_width, in_height, width, height, SAL_IMAGE_MAX_SIDE);
    int resized_w = 0, resized_h = 0;
    int status = covering_sizes(in_width, in_height, width, height, &resized_w, &resized_h, err);
    if (status) return status;
    crop_span(in_width, resized_w, width, &rect->x, &rect->width);
    crop_span(in_height, resized_h, height, &rect->y, &rect->height);
    sal_ok(err);
    return SAL_OK;
}

int sal_image_resize_crop(const sal_image *in, int width, int height, sal_image *out,
                          sal_error *err) {
    int status = check_resize_args(in, width, height, out, err);
    if (status) return status;
    int resized_w = 0, resized_h = 0;
    if ((status = covering_sizes(in->width, in->height, width, height, &resized_w, &resized_h, err))) return status;

    axis_filter fx = {0}, fy = {0};
    float *row = malloc((size_t)in->width * (size_t)in->channels * sizeof *row);
    if (!row) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory for resizing");
    if (!status) status = axis_filter_make(&fx, in->width, resized_w, centre_offset(resized_w, width), width, err);
    if (!status) status = axis_filter_make(&fy, in->height, resized_h, centre_offset(resized_h, height), height, err);
    if (!status) status = image_alloc(out, width, height, in->channels, err);
    if (!status) {
        size_t out_row_len = (size_t)width * (size_t)in->channels;
        for (int y = 0; y < height; y++)
            resize_row(in, &fx, &fy, y, row, out->data + (size_t)y * out_row_len);
        sal_ok(err);
    }
    axis_filter_free(&fx);
    axis_filter_free(&fy);
    free(row);
    return status;
}
