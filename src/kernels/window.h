/* window.h - private to src/kernels: how a sliding window's taps meet the
 * input along one axis, shared by the convolutions and the pools.  Inline:
 * the gathers call these once per pixel and tap. */
#ifndef SAL_KERNELS_WINDOW_H
#define SAL_KERNELS_WINDOW_H

/* Taps [first, end) of the window at output position out_pos that land
 * inside an input of `in` cells; contiguous, since the input position grows
 * with the tap. */
typedef struct {
    int first, end;
} sal_tap_range;

static inline sal_tap_range sal_window_taps(int out_pos, int stride, int pad, int dilation, int k, int in) {
    int start = out_pos * stride - pad;
    sal_tap_range r = {0, k};
    while (r.first < k && start + r.first * dilation < 0) r.first++;
    while (r.end > r.first && start + (r.end - 1) * dilation >= in) r.end--;
    return r;
}

/* The output position whose window puts tap `tap` on input position i, or -1. */
static inline int sal_covering_output(int i, int tap, int stride, int pad, int dilation, int out) {
    int t = i + pad - tap * dilation;
    if (t < 0 || t % stride != 0) return -1;
    t /= stride;
    return t < out ? t : -1;
}

#endif
