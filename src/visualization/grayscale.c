/* grayscale.c - the grayscale saliency picture of PAIR's saliency library
 * (VisualizeImageGrayscale): sum of |mask| over channels, scaled so that the
 * minimum maps to 0 and the given percentile to 1, then clipped. */
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "../saliency.h"

static void swap_floats(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Rearranges v[lo..hi] around v[k] as pivot: afterwards v[lo..*lt-1] < pivot,
 * v[*lt..*gt] == pivot, v[*gt+1..hi] > pivot (three-way, so ties are cheap). */
static void partition3(float *v, size_t lo, size_t hi, size_t k, size_t *lt, size_t *gt) {
    float pivot = v[k];
    size_t less = lo, i = lo, greater = hi;
    while (i <= greater) {
        if (v[i] < pivot) {
            swap_floats(&v[i++], &v[less++]);
        } else if (v[i] > pivot) {
            swap_floats(&v[i], &v[greater]);
            if (greater == 0) break;
            greater--;
        } else {
            i++;
        }
    }
    *lt = less;
    *gt = greater;
}

static size_t median_of_three(const float *v, size_t a, size_t b, size_t c) {
    if ((v[a] <= v[b]) == (v[b] <= v[c])) return b;
    if ((v[b] <= v[a]) == (v[a] <= v[c])) return a;
    return c;
}

/* The k-th smallest of v[0..n-1] (v is reordered).  Quickselect, falling back
 * to a sort if the partitions keep coming out lopsided. */
static float select_kth(float *v, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    int budget = 64;
    while (lo < hi) {
        if (budget-- == 0) {
            qsort(v + lo, hi - lo + 1, sizeof *v, compare_floats);
            return v[k];
        }
        size_t pivot = median_of_three(v, lo, lo + (hi - lo) / 2, hi);
        size_t lt, gt;
        partition3(v, lo, hi, pivot, &lt, &gt);
        if (k < lt) hi = lt - 1;
        else if (k > gt) lo = gt + 1;
        else return v[k];
    }
    return v[k];
}

static float smallest(const float *v, size_t lo, size_t n) {
    float m = v[lo];
    for (size_t i = lo + 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

/* NumPy's default ('linear') percentile: interpolates between the order
 * statistics around rank p/100 * (n - 1). */
static double percentile_linear(float *v, size_t n, double p) {
    double rank = p / 100.0 * (double)(n - 1);
    size_t below = (size_t)floor(rank);
    if (below >= n - 1) return select_kth(v, n, n - 1);
    double t = rank - (double)below;
    double a = select_kth(v, n, below);
    double b = smallest(v, below + 1, n); /* everything after `below` is >= it */
    return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1.0 - t);
}

static int sum_abs_channels(const float *mask, size_t n_pixels, int channels, float *out,
                            sal_error *err) {
    for (size_t i = 0; i < n_pixels; i++) {
        float sum = 0.0f;
        for (int c = 0; c < channels; c++) sum += fabsf(mask[i * (size_t)channels + c]);
        if (!isfinite(sum))
            return sal_fail(err, SAL_ERR_NUMERIC, "grayscale: mask pixel %zu is NaN or infinite", i);
        out[i] = sum;
    }
    return SAL_OK;
}

int sal_visualize_grayscale(const float *mask, int height, int width, int channels,
                            float percentile, float *out, sal_error *err) {
    if (!mask || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: mask or output is NULL");
    if (height <= 0 || width <= 0 || channels <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: mask shape %d x %d x %d is empty",
                        height, width, channels);
    if (!(percentile >= 0.0f && percentile <= 100.0f))
        return sal_fail(err, SAL_ERR_ARGUMENT, "grayscale: percentile %g is not in [0, 100]",
                        (double)percentile);
    size_t n = (size_t)height * (size_t)width;
    int status = sum_abs_channels(mask, n, channels, out, err);
    if (status) return status;
    float *scratch = malloc(n * sizeof *scratch);
    if (!scratch) return sal_fail(err, SAL_ERR_MEMORY, "grayscale: out of memory");
    for (size_t i = 0; i < n; i++) scratch[i] = out[i];
    float vmax = (float)percentile_linear(scratch, n, percentile);
    float vmin = smallest(out, 0, n);
    free(scratch);
    float range = vmax - vmin;
    for (size_t i = 0; i < n; i++) {
        float v = range > 0.0f ? (out[i] - vmin) / range : 0.0f;
        out[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    sal_ok(err);
    return SAL_OK;
}
