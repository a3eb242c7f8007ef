/* activation.c - element-wise activations and softmax, forward and input
 * gradient.  Plain loops the compilers vectorize, except the ReLU family:
 * explicit vectors with masks (relu_lanes.h), since clang (wasm) leaves its
 * selects scalar and branchy.
 *
 * The ReLU family's backward reads only the output y: 0 < x < upper exactly
 * when 0 < y < upper, since y = clamp(x, 0, upper).  So a plan need not keep
 * the input of a ReLU alive for the backward pass (plan.c relies on this).
 */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "relu_lanes.h"
#include "simd.h"

/* exp(-|x|) never overflows, so neither branch can produce inf/inf. */
static float sigmoid(float x) {
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

static void softmax_row(const float *x, float *y, int channels) {
    float top = x[0];
    for (int i = 1; i < channels; i++) top = x[i] > top ? x[i] : top;
    float sum = 0.0f;
    for (int i = 0; i < channels; i++) {
        y[i] = expf(x[i] - top);
        sum += y[i];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < channels; i++) y[i] *= inv;
}

static void softmax_forward(const float *x, float *y, size_t count, int channels) {
    if (channels <= 0) return;
    for (size_t row = 0; row + (size_t)channels <= count; row += (size_t)channels)
        softmax_row(x + row, y + row, channels);
}

static void relu_forward(sal_kernel_activation act, const float *x, float *y, size_t count) {
    size_t i = 0;
    for (; i + SAL_VF_WIDTH <= count; i += SAL_VF_WIDTH) sal_vf_store(y + i, sal_relu_lanes(act, sal_vf_load(x + i)));
    if (i < count) {
        int rest = (int)(count - i);
        sal_vf_store_partial(y + i, sal_relu_lanes(act, sal_vf_load_partial(x + i, rest)), rest);
    }
}

void sal_activation_forward(sal_kernel_activation act, const float *x, float *y, size_t count, int channels) {
    switch (act) {
    case SAL_K_RELU:
    case SAL_K_RELU6:
        relu_forward(act, x, y, count);
        break;
    case SAL_K_SIGMOID:
        for (size_t i = 0; i < count; i++) y[i] = sigmoid(x[i]);
        break;
    case SAL_K_TANH:
        for (size_t i = 0; i < count; i++) y[i] = tanhf(x[i]);
        break;
    case SAL_K_SOFTMAX:
        softmax_forward(x, y, count, channels);
        break;
    case SAL_K_SWISH:
        for (size_t i = 0; i < count; i++) y[i] = x[i] * sigmoid(x[i]);
        break;
    case SAL_K_HARD_SIGMOID:
        for (size_t i = 0; i < count; i++) y[i] = clampf(0.2f * x[i] + 0.5f, 0.0f, 1.0f);
        break;
    case SAL_K_LINEAR:
    default:
        if (y != x) memmove(y, x, sizeof(float) * count);
        break;
    }
}

/* ReLU-family gradient from the output y (relu_lanes.h); dx may be dy.
 * rule is a constant in each instantiation. */
SAL_INLINE void relu_backward_rule(sal_kernel_activation act, const sal_kernel_relu_rule rule, const float *y,
                                   const float *dy, float *dx, size_t count) {
    const sal_relu_gate gate = sal_relu_gate_of(act, rule);
    size_t i = 0;
    for (; i + SAL_VF_WIDTH <= count; i += SAL_VF_WIDTH)
        sal_vf_store(dx + i, sal_relu_gate_apply(&gate, sal_vf_load(y + i), sal_vf_load(dy + i)));
    if (i < count) {
        int rest = (int)(count - i);
        sal_vf_store_partial(dx + i, sal_relu_gate_apply(&gate, sal_vf_load_partial(y + i, rest),
                                                         sal_vf_load_partial(dy + i, rest)), rest);
    }
}

static void relu_backward(sal_kernel_activation act, sal_kernel_relu_rule rule, const float *y, const float *dy,
                          float *dx, size_t count) {
    switch (rule) {
    case SAL_K_RULE_GUIDED: relu_backward_rule(act, SAL_K_RULE_GUIDED, y, dy, dx, count); break;
    case SAL_K_RULE_DECONVNET: relu_backward_rule(act, SAL_K_RULE_DECONVNET, y, dy, dx, count); break;
    default: relu_backward_rule(act, SAL_K_RULE_STANDARD, y, dy, dx, count); break;
    }
}

static void softmax_backward(const float *y, const float *dy, float *dx, size_t count, int channels) {
    if (channels <= 0) return;
    for (size_t row = 0; row + (size_t)channels <= count; row += (size_t)channels) {
        float dot = 0.0f;
        for (int i = 0; i < channels; i++) dot += dy[row + i] * y[row + i];
        for (int i = 0; i < channels; i++) dx[row + i] = y[row + i] * (dy[row + i] - dot);
    }
}

static float swish_grad(float x, float g) {
    float s = sigmoid(x);
    return g * (s + x * s * (1.0f - s));
}

static float hard_sigmoid_grad(float x, float g) {
    float t = 0.2f * x + 0.5f;
    return t > 0.0f && t < 1.0f ? 0.2f * g : 0.0f;
}

void sal_activation_backward(sal_kernel_activation act, sal_kernel_relu_rule rule,
                             const float *x, const float *y, const float *dy, float *dx,
                             size_t count, int channels) {
    switch (act) {
    case SAL_K_RELU:
    case SAL_K_RELU6:
        relu_backward(act, rule, y, dy, dx, count);
        break;
    case SAL_K_SIGMOID:
        for (size_t i = 0; i < count; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case SAL_K_TANH:
        for (size_t i = 0; i < count; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case SAL_K_SOFTMAX:
        softmax_backward(y, dy, dx, count, channels);
        break;
    case SAL_K_SWISH:
        for (size_t i = 0; i < count; i++) dx[i] = swish_grad(x[i], dy[i]);
        break;
    case SAL_K_HARD_SIGMOID:
        for (size_t i = 0; i < count; i++) dx[i] = hard_sigmoid_grad(x[i], dy[i]);
        break;
    case SAL_K_LINEAR:
    default:
        if (dx != dy) memmove(dx, dy, sizeof(float) * count);
        break;
    }
}
