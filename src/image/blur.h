/* blur.h - Gaussian blur of an image, as scipy.ndimage.gaussian_filter with
 * mode "reflect" and truncate 4 over the two spatial axes (channels apart). */
#ifndef SAL_BLUR_H
#define SAL_BLUR_H

#include "../saliency.h"

/* in, out: height x width x channels; out may not alias in.  sigma 0 copies. */
int sal_gaussian_blur(const float *in, int height, int width, int channels, float sigma, float *out,
                      sal_error *err);

#endif
