/* dilate.c - binary dilation by a disk, skimage.morphology.dilation(mask, disk(r)):
 *
 *     out(p) = 1  iff  in(q) = 1 for some q with |q - p|^2 <= r^2.
 *
 * Each horizontal run of set pixels is painted into the 2r + 1 rows around
 * it, widened on row offset dy by the disk's half-width there. */
#include "masks.h"

#include <string.h>

/* Largest dx with dx^2 + dy^2 <= r^2. */
static int disk_half_width(int radius, int dy) {
    int dx = 0;
    while ((dx + 1) * (dx + 1) + dy * dy <= radius * radius) dx++;
    return dx;
}

static void paint_run(unsigned char *out, int height, int width, int y, int x0, int x1, int radius) {
    for (int dy = -radius; dy <= radius; dy++) {
        int row = y + dy;
        if (row < 0 || row >= height) continue;
        int half = disk_half_width(radius, dy < 0 ? -dy : dy);
        int from = x0 - half < 0 ? 0 : x0 - half;
        int to = x1 + half >= width ? width - 1 : x1 + half;
        memset(out + (size_t)row * width + from, 1, (size_t)(to - from + 1));
    }
}

/* in and out must not overlap; a negative radius is taken as 0 (a copy of the 0/1 mask). */
void sal_dilate_disk(const unsigned char *in, int height, int width, int radius, unsigned char *out) {
    if (!in || !out || height < 1 || width < 1) return;
    if (radius < 0) radius = 0;
    memset(out, 0, (size_t)height * width);
    for (int y = 0; y < height; y++) {
        const unsigned char *row = in + (size_t)y * width;
        for (int x = 0; x < width; x++) {
            if (!row[x]) continue;
            int end = x;
            while (end + 1 < width && row[end + 1]) end++;
            paint_run(out, height, width, y, x, end, radius);
            x = end;
        }
    }
}
