/* winograd.h - private to src/kernels: conv2d.c's Winograd path
 * (winograd.c), taken when sal_conv2d_winograd_applies. */
#ifndef SAL_KERNELS_WINOGRAD_H
#define SAL_KERNELS_WINOGRAD_H

#include <stddef.h>

#include "kernels.h"

int sal_conv2d_winograd_applies(const sal_conv2d_op *op, const sal_window *win);
size_t sal_conv2d_winograd_scratch_floats(const sal_conv2d_op *op, sal_dims x, sal_dims y);
void sal_conv2d_winograd_forward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                 const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                                 sal_kernel_activation fused);
void sal_conv2d_winograd_backward_input(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                                        const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                                        const sal_kernel_gate *gate);

#endif
