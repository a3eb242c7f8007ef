/* float16.h - IEEE 754 half precision (binary16) to float32. */
#ifndef SAL_BYTES_FLOAT16_H
#define SAL_BYTES_FLOAT16_H

#include <stdint.h>

/* Exact for every half value: normals, subnormals, signed zeros, infinities
 * and NaNs (the payload is kept in the top mantissa bits). */
float sal_half_to_float(uint16_t half);

#endif
