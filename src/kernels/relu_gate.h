/* relu_gate.h - private to src/kernels: the ReLU family's backward step on
 * one vector, shared by activation.c and the convolutions that take it as
 * they store an input gradient (sal_kernel_gate).
 *
 * From the output y: `inside` is 0 < y < upper (the unit is linear there).
 * standard: dy where inside; guided: also dy > 0; deconvnet: dy > 0
 * wherever y is.  As masks: keep = (inside | any_place) & (dy > 0 | any_sign),
 * with the two flags set per rule. */
#ifndef SAL_KERNELS_RELU_GATE_H
#define SAL_KERNELS_RELU_GATE_H

#include <math.h>

#include "kernels.h"
#include "simd.h"

typedef struct {
    sal_vf upper;
    sal_vmask any_place, any_sign;
} sal_relu_gate;

/* act: SAL_K_RELU or SAL_K_RELU6. */
SAL_INLINE sal_relu_gate sal_relu_gate_of(sal_kernel_activation act, sal_kernel_relu_rule rule) {
    sal_relu_gate g;
    g.upper = sal_vf_splat(act == SAL_K_RELU6 ? 6.0f : INFINITY);
    g.any_place = (sal_vmask){0} - (rule == SAL_K_RULE_DECONVNET);
    g.any_sign = (sal_vmask){0} - (rule == SAL_K_RULE_STANDARD);
    return g;
}

SAL_INLINE sal_vf sal_relu_gate_apply(const sal_relu_gate *gate, sal_vf y, sal_vf dy) {
    sal_vf zero = sal_vf_zero();
    sal_vmask keep = (((y > zero) & (y < gate->upper)) | gate->any_place) & ((dy > zero) | gate->any_sign);
    return sal_vf_keep_where(keep, dy);
}

#endif
