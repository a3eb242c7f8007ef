/* png_rgba.c - RGBA8 pictures (sal_colorize's output) as PNG. */
#include "../bytes/error.h"
#include "../bytes/png.h"
#include "../saliency.h"

int sal_png_encode_rgba(const uint8_t *rgba, int width, int height, uint8_t **png, size_t *png_size,
                        sal_error *err) {
    if (!png || !png_size) return sal_fail(err, SAL_ERR_ARGUMENT, "PNG output pointers are NULL");
    *png = NULL;
    *png_size = 0;
    return sal_png_encode_u8(rgba, width, height, 4, png, png_size, err);
}
