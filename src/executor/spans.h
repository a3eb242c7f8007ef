/* spans.h - element-wise passes of the executor, cut into spans of the
 * tensor that the pool's threads take in turn.  These passes are bound by
 * memory, not arithmetic, so a second core still shortens them; run serially
 * they leave the other threads waiting between two kernels.  Each span sees
 * the same values as the whole pass would, so results do not depend on the
 * pool. */
#ifndef SAL_SPANS_H
#define SAL_SPANS_H

#include <stddef.h>

#include "../kernels/kernels.h"

/* y = act(x); softmax (rows of `channels`) runs whole. */
void sal_spans_activation_forward(sal_threadpool *pool, sal_kernel_activation act, const float *x, float *y,
                                  size_t count, int channels);
void sal_spans_activation_backward(sal_threadpool *pool, sal_kernel_activation act, sal_kernel_relu_rule rule,
                                   const float *x, const float *y, const float *dy, float *dx, size_t count,
                                   int channels);
/* y = a + b, then the activation `then` (SAL_K_LINEAR: none; a ReLU or ReLU6 fused into the Add) on each span. */
void sal_spans_add(sal_threadpool *pool, const float *a, const float *b, float *y, size_t count,
                   sal_kernel_activation then);
void sal_spans_accumulate(sal_threadpool *pool, float *y, const float *x, size_t count);
void sal_spans_copy(sal_threadpool *pool, float *dst, const float *src, size_t count);

#endif
