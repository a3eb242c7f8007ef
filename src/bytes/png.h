/* png.h - writing 8-bit PNG images (gray, RGB or RGBA), to memory or to a file. */
#ifndef SAL_BYTES_PNG_H
#define SAL_BYTES_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "../saliency.h"

/* Encodes width x height pixels of `channels` (1 = gray, 3 = RGB, 4 = RGBA) bytes each,
 * row-major, into a malloc'ed PNG.  Caller frees *png. */
int sal_png_encode_u8(const uint8_t *pixels, int width, int height, int channels,
                      uint8_t **png, size_t *png_size, sal_error *err);
/* The same from floats in [0, 1] (values outside are clipped; NaN is an
 * error), each mapped to round(v * 255), halves away from zero. */
int sal_png_encode_float(const float *pixels, int width, int height, int channels,
                         uint8_t **png, size_t *png_size, sal_error *err);

int sal_png_write_u8(const char *path, const uint8_t *pixels, int width, int height,
                     int channels, sal_error *err);
int sal_png_write_float(const char *path, const float *pixels, int width, int height,
                        int channels, sal_error *err);

#endif
