/* gemm_packed.h - private to src/kernels: GEMM on a B packed ahead of time.
 *
 * sal_gemm copies B into column panels on every call.  Operators whose B is
 * a weight matrix (conv2d, dense) pack it once at creation and call
 * sal_gemm_packed, which skips that copy: for the small M of late layers
 * (7x7 = 49 rows in ResNet50) the copy would cost about a third of the time.
 */
#ifndef SAL_KERNELS_GEMM_PACKED_H
#define SAL_KERNELS_GEMM_PACKED_H

#include <stddef.h>

#include "../executor/threadpool.h"

/* Floats needed to hold a packed k x n matrix. */
size_t sal_gemm_packed_floats(int k, int n);
/* Packs B [k x n] (leading dimension ldb) into `packed`. */
void sal_gemm_pack_b(int k, int n, const float *b, int ldb, float *packed);
/* Packs B = transpose(bt), where bt is [n x k] with leading dimension ldbt. */
void sal_gemm_pack_bt(int k, int n, const float *bt, int ldbt, float *packed);
/* C[m x n] = A[m x k] * B (+ bias[n]), B as packed by sal_gemm_pack_b. */
void sal_gemm_packed(sal_threadpool *pool, int m, int n, int k, const float *a, int lda,
                     const float *packed_b, const float *bias, float *c, int ldc);

#endif
