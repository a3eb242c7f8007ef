/* elementwise.c - affine (standalone batch norm), add, multiply, concat and
 * zero padding over NHWC tensors, forward and input gradient. */
#include <string.h>

#include "kernels.h"

/* ------------------------------------------------------------- affine */

void sal_affine_forward(const float *x, const float *scale, const float *shift, float *y, size_t count, int channels) {
    size_t c = (size_t)channels;
    for (size_t p = 0; p + c <= count; p += c)
        for (size_t ch = 0; ch < c; ch++) y[p + ch] = x[p + ch] * scale[ch] + shift[ch];
}

void sal_affine_backward(const float *dy, const float *scale, float *dx, size_t count, int channels) {
    size_t c = (size_t)channels;
    for (size_t p = 0; p + c <= count; p += c)
        for (size_t ch = 0; ch < c; ch++) dx[p + ch] = dy[p + ch] * scale[ch];
}

/* ---------------------------------------------------------- add, sum */

void sal_add(const float *a, const float *b, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = a[i] + b[i];
}

void sal_accumulate(float *y, const float *x, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] += x[i];
}

/* ------------------------------------------------------------ multiply */

static size_t dims_pixels(sal_dims d) { return (size_t)d.n * d.h * d.w; }

void sal_multiply_forward(const float *a, const float *b, float *y, sal_dims ad, int b_broadcast) {
    size_t c = (size_t)ad.c, pixels_per_image = (size_t)ad.h * ad.w;
    if (!b_broadcast) {
        size_t count = dims_pixels(ad) * c;
        for (size_t i = 0; i < count; i++) y[i] = a[i] * b[i];
        return;
    }
    for (size_t p = 0; p < dims_pixels(ad); p++) {
        const float *bn = b + (p / pixels_per_image) * c;
        for (size_t ch = 0; ch < c; ch++) y[p * c + ch] = a[p * c + ch] * bn[ch];
    }
}

/* db[n, c] = sum over the image's pixels of dy * a. */
static void multiply_reduce_db(const float *a, const float *dy, sal_dims ad, float *db) {
    size_t c = (size_t)ad.c, pixels = (size_t)ad.h * ad.w;
    for (int n = 0; n < ad.n; n++) {
        float *out = db + (size_t)n * c;
        size_t image = (size_t)n * pixels * c;
        memset(out, 0, sizeof(float) * c);
        for (size_t p = 0; p < pixels; p++)
            for (size_t ch = 0; ch < c; ch++) out[ch] += dy[image + p * c + ch] * a[image + p * c + ch];
    }
}

void sal_multiply_backward(const float *a, const float *b, const float *dy, sal_dims ad, int b_broadcast,
                           float *da, float *db) {
    if (db) {
        if (b_broadcast)
            multiply_reduce_db(a, dy, ad, db);
        else
            sal_multiply_forward(dy, a, db, ad, 0);
    }
    if (da) sal_multiply_forward(dy, b, da, ad, b_broadcast);
}

/* -------------------------------------------------------------- concat */

void sal_concat_forward(const float *const *xs, const int *cs, int n_inputs, int n, int h, int w, float *y) {
    size_t pixels = (size_t)n * h * w;
    size_t total = 0;
    for (int i = 0; i < n_inputs; i++) total += (size_t)cs[i];
    for (size_t p = 0; p < pixels; p++) {
        float *out = y + p * total;
        for (int i = 0; i < n_inputs; i++) {
            memcpy(out, xs[i] + p * (size_t)cs[i], sizeof(float) * (size_t)cs[i]);
            out += cs[i];
        }
    }
}

void sal_concat_backward(const float *dy, const int *cs, int n_inputs, int n, int h, int w, float *const *dxs) {
    size_t pixels = (size_t)n * h * w;
    size_t total = 0;
    for (int i = 0; i < n_inputs; i++) total += (size_t)cs[i];
    for (size_t p = 0; p < pixels; p++) {
        const float *in = dy + p * total;
        for (int i = 0; i < n_inputs; i++) {
            memcpy(dxs[i] + p * (size_t)cs[i], in, sizeof(float) * (size_t)cs[i]);
            in += cs[i];
        }
    }
}

/* ------------------------------------------------------------ zero pad */

/* Offset of the first value of row `row` of image n in a tensor of dims d,
 * `col` pixels in. */
static size_t row_offset(sal_dims d, int n, int row, int col) {
    return (((size_t)n * d.h + row) * d.w + col) * d.c;
}

void sal_zero_pad_forward(const float *x, sal_dims xd, int pt, int pl, float *y, sal_dims yd) {
    memset(y, 0, sizeof(float) * dims_pixels(yd) * (size_t)yd.c);
    size_t row_bytes = sizeof(float) * (size_t)xd.w * xd.c;
    for (int n = 0; n < xd.n; n++)
        for (int r = 0; r < xd.h; r++)
            memcpy(y + row_offset(yd, n, r + pt, pl), x + row_offset(xd, n, r, 0), row_bytes);
}

void sal_zero_pad_backward(const float *dy, sal_dims yd, int pt, int pl, float *dx, sal_dims xd) {
    size_t row_bytes = sizeof(float) * (size_t)xd.w * xd.c;
    for (int n = 0; n < xd.n; n++)
        for (int r = 0; r < xd.h; r++)
            memcpy(dx + row_offset(xd, n, r, 0), dy + row_offset(yd, n, r + pt, pl), row_bytes);
}
