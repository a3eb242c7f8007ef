/* percentile.c - NumPy's 'linear' percentile by quickselect (no full sort),
 * shared by the grayscale and diverging pictures. */
#include <math.h>
#include <stdlib.h>

#include "visualization.h"

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

double sal_percentile_linear(float *v, size_t n, double p) {
    double rank = p / 100.0 * (double)(n - 1);
    size_t below = (size_t)floor(rank);
    if (below >= n - 1) return select_kth(v, n, n - 1);
    double t = rank - (double)below;
    double a = select_kth(v, n, below);
    double b = smallest(v, below + 1, n); /* everything after `below` is >= it */
    return t < 0.5 ? a + (b - a) * t : b - (b - a) * (1.0 - t);
}
