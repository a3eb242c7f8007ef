/* xrai_mask.c - XRAI's "top P % of the picture": its ranked regions taken in
 * rank order (0 first) while the area already taken is below P % of the
 * picture, so the region that crosses the bound is kept whole, as PAIR's
 * `xrai_map >= np.percentile(xrai_map, 100 - P)`.  Unranked pixels (-1) are
 * never in the mask. */
#include <stdlib.h>

#include "../bytes/error.h"
#include "../saliency.h"

/* Largest rank, or -1 when no pixel is ranked; -2 for a rank out of range. */
static int largest_rank(const int *rank, size_t n, size_t *bad_pixel) {
    int largest = -1;
    for (size_t i = 0; i < n; i++) {
        if (rank[i] < -1 || (size_t)rank[i] + 1 > n) {
            *bad_pixel = i;
            return -2;
        }
        if (rank[i] > largest) largest = rank[i];
    }
    return largest;
}

/* kept[r] = 1 for the ranks in the mask. */
static void choose_ranks(const int *rank, size_t n, int n_ranks, double percent, unsigned char *kept,
                         size_t *area) {
    for (size_t i = 0; i < n; i++)
        if (rank[i] >= 0) area[rank[i]]++;
    double bound = percent / 100.0 * (double)n;
    size_t taken = 0;
    for (int r = 0; r < n_ranks; r++) {
        kept[r] = (double)taken < bound;
        if (kept[r]) taken += area[r];
    }
}

int sal_xrai_top_mask(const int *region_rank, int height, int width, float percent,
                      float *out, sal_error *err) {
    if (!region_rank || !out) return sal_fail(err, SAL_ERR_ARGUMENT, "xrai mask: ranks or output is NULL");
    if (height <= 0 || width <= 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "xrai mask: size %d x %d is empty", height, width);
    if (!(percent >= 0.0f && percent <= 100.0f))
        return sal_fail(err, SAL_ERR_ARGUMENT, "xrai mask: percent %g is not in [0, 100]", (double)percent);
    size_t n = (size_t)height * (size_t)width, bad = 0;
    int largest = largest_rank(region_rank, n, &bad);
    if (largest == -2)
        return sal_fail(err, SAL_ERR_ARGUMENT, "xrai mask: pixel %zu has region rank %d (ranks are -1 or 0..%zu)",
                        bad, region_rank[bad], n - 1);
    size_t n_ranks = (size_t)largest + 1;
    size_t *area = calloc(n_ranks + 1, sizeof *area);
    unsigned char *kept = calloc(n_ranks + 1, 1);
    if (!area || !kept) {
        free(area);
        free(kept);
        return sal_fail(err, SAL_ERR_MEMORY, "xrai mask: out of memory");
    }
    choose_ranks(region_rank, n, (int)n_ranks, percent, kept, area);
    for (size_t i = 0; i < n; i++) out[i] = region_rank[i] >= 0 && kept[region_rank[i]] ? 1.0f : 0.0f;
    free(area);
    free(kept);
    sal_ok(err);
    return SAL_OK;
}
