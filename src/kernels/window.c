/* window.c - sliding-window arithmetic shared by convolutions and pools. */
#include "kernels.h"

#include <stdint.h>

int sal_window_out(int in, int pad_total, int k, int stride, int dilation) {
    if (stride <= 0 || dilation <= 0 || k <= 0) return 0;
    int64_t span = (int64_t)dilation * (k - 1) + 1;
    int64_t room = (int64_t)in + pad_total - span;
    if (room < 0) return 0;
    return (int)(room / stride + 1);
}

/* TensorFlow's rule: out = ceil(in / stride), the padding that reaches it,
 * with the odd extra cell at the bottom/right. */
void sal_same_padding(int in, int k, int stride, int dilation, int *pad_total, int *pad_first) {
    int total = 0;
    if (stride > 0 && in > 0) {
        int64_t out = ((int64_t)in + stride - 1) / stride;
        int64_t need = (out - 1) * stride + (int64_t)dilation * (k - 1) + 1 - in;
        total = need > 0 ? (int)need : 0;
    }
    *pad_total = total;
    *pad_first = total / 2;
}
