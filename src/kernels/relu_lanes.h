/* relu_lanes.h - private to src/kernels: ReLU and ReLU6 on one vector,
 * forward and backward, shared by activation.c, the GEMM that applies them
 * as it stores (fused activations, sal_kernel_gate) and the convolutions.
 * Explicit lane masks (natively) and wasm's pseudo-min/max: clang (wasm)
 * leaves the selects of plain loops scalar and branchy.
 *
 * Forward, as the scalar definitions: ReLU is x > 0 ? x : 0 (NaN and -0
 * give +0), ReLU6 x < 0 ? 0 : x > 6 ? 6 : x (NaN stays NaN).
 *
 * Backward, from the output y: `inside` is 0 < y < upper (the unit is linear there).
 * standard: dy where inside; guided: also dy > 0; deconvnet: dy > 0
 * wherever y is.  As masks: keep = (inside | any_place) & (dy > 0 | any_sign),
 * with the two flags set per rule. */
#ifndef SAL_KERNELS_RELU_LANES_H
#define SAL_KERNELS_RELU_LANES_H

#include <math.h>

#include "kernels.h"
#include "simd.h"

/* act: SAL_K_RELU or SAL_K_RELU6; any other kind passes v through. */
SAL_INLINE sal_vf sal_relu_lanes(sal_kernel_activation act, sal_vf v) {
    sal_vf zero = sal_vf_zero(), six = sal_vf_splat(6.0f);
#if defined(__wasm_simd128__)
    /* pmax(a, b) = a < b ? b : a and pmin(a, b) = b < a ? b : a: one x86
     * instruction each, and with these operand orders exactly the scalar
     * definitions above. */
    if (act == SAL_K_RELU) return __builtin_wasm_pmax_f32x4(zero, v);
    if (act != SAL_K_RELU6) return v;
    return __builtin_wasm_pmin_f32x4(__builtin_wasm_pmax_f32x4(v, zero), six);
#else
    if (act == SAL_K_RELU) return sal_vf_keep_where(v > zero, v);
    if (act != SAL_K_RELU6) return v;
    v = sal_vf_keep_where(~(v < zero), v);
    sal_vmask above = v > six;
    return (sal_vf)((sal_vmask)sal_vf_keep_where(above, six) | (sal_vmask)sal_vf_keep_where(~above, v));
#endif
}

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

/* With the rule a constant where this is inlined, the compiler drops the
 * masks that rule does not need. */
SAL_INLINE sal_vf sal_relu_gate_apply(const sal_relu_gate *gate, sal_vf y, sal_vf dy) {
    sal_vf zero = sal_vf_zero();
    sal_vmask keep = (((y > zero) & (y < gate->upper)) | gate->any_place) & ((dy > zero) | gate->any_sign);
    return sal_vf_keep_where(keep, dy);
}

#endif
