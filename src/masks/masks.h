/* masks.h - segmentations and region masks (XRAI's stage after the methods). */
#ifndef SAL_MASKS_H
#define SAL_MASKS_H

#include "../saliency.h"

/* Felzenszwalb & Huttenlocher 2004 graph segmentation, as skimage's
 * felzenszwalb(image, scale, sigma, min_size): image h x w x c floats,
 * labels h x w in 0..count-1.  Returns the number of segments (>= 1) or -1. */
int sal_felzenszwalb(const float *image, int height, int width, int channels, float scale, float sigma,
                     int min_size, int *labels, sal_error *err);
/* Binary dilation of a h x w mask with a disk of the given radius (in and out must not overlap). */
void sal_dilate_disk(const unsigned char *in, int height, int width, int radius, unsigned char *out);

#endif
