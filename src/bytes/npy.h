/* npy.h - NumPy .npy files: little-endian, C order; writes format 1.0, reads 1.x and 2.x. */
#ifndef SAL_BYTES_NPY_H
#define SAL_BYTES_NPY_H

#include "../saliency.h"

#define SAL_NPY_MAX_DIMS 8

/* Writes float32 data with the given shape. */
int sal_npy_write(const char *path, const float *data, const int *shape, int ndim, sal_error *err);
/* Reads '<f4', '<f8', '<i4' or '<i8' data (converted to float) into a malloc'ed
 * array.  shape receives up to SAL_NPY_MAX_DIMS dims. Caller frees *data. */
int sal_npy_read(const char *path, float **data, int *shape, int *ndim, sal_error *err);

#endif
