/* felzenszwalb.c - Felzenszwalb & Huttenlocher 2004, "Efficient Graph-Based
 * Image Segmentation", with the choices of skimage.segmentation.felzenszwalb.
 *
 * The image is smoothed by a Gaussian of `sigma` (per channel).  The graph
 * joins each pixel to its 8 neighbours with weight
 *
 *     w(p, q) = || I(p) - I(q) ||_2   (over the channels).
 *
 * Edges are visited by increasing weight; the components C1, C2 at its ends
 * are merged when
 *
 *     w < min(Int(C1) + k / |C1|,  Int(C2) + k / |C2|),    k = scale / 255,
 *
 * Int(C) being the weight of the edge that last grew C (the largest in its
 * minimum spanning tree).  A second pass over the same order merges every
 * component smaller than min_size with its neighbour.  Labels are numbered by
 * each segment's first pixel in raster order.
 *
 * skimage holds the thresholds Int(C) + k / |C| in float32 and breaks ties in
 * weight with an unstable sort; we keep the float32 thresholds and break ties
 * by skimage's edge layout (right, down, down-right, up-right neighbours). */
#include "masks.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "../image/blur.h"

typedef struct {
    double weight;
    int p, q;
    int order; /* position in the layout: breaks ties */
} edge;

typedef struct {
    int *parent;
    int *size;
    double *inner; /* Int(C), valid at roots */
} forest;

static int find_root(int *parent, int p) {
    int root = p;
    while (parent[root] != root) root = parent[root];
    while (parent[p] != root) {
        int next = parent[p];
        parent[p] = root;
        p = next;
    }
    return root;
}

/* Joins two roots under the smaller index (so a root is its segment's first pixel). */
static int join_roots(forest *f, int a, int b) {
    int root = a < b ? a : b, child = a < b ? b : a;
    f->parent[child] = root;
    f->size[root] += f->size[child];
    return root;
}

static double colour_distance(const float *image, int channels, int p, int q) {
    double sum = 0;
    for (int c = 0; c < channels; c++) {
        double d = (double)image[(size_t)p * channels + c] - (double)image[(size_t)q * channels + c];
        sum += d * d;
    }
    return sqrt(sum);
}

/* skimage's layout: right edges, down edges, down-right edges, up-right edges. */
static int build_edges(const float *image, int height, int width, int channels, edge *edges) {
    int n = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x + 1 < width; x++) edges[n++] = (edge){0, y * width + x + 1, y * width + x, 0};
    for (int y = 0; y + 1 < height; y++)
        for (int x = 0; x < width; x++) edges[n++] = (edge){0, (y + 1) * width + x, y * width + x, 0};
    for (int y = 0; y + 1 < height; y++)
        for (int x = 0; x + 1 < width; x++) edges[n++] = (edge){0, (y + 1) * width + x + 1, y * width + x, 0};
    for (int y = 0; y + 1 < height; y++)
        for (int x = 0; x + 1 < width; x++) edges[n++] = (edge){0, y * width + x + 1, (y + 1) * width + x, 0};
    for (int i = 0; i < n; i++) {
        edges[i].weight = colour_distance(image, channels, edges[i].p, edges[i].q);
        edges[i].order = i;
    }
    return n;
}

static int by_weight(const void *a, const void *b) {
    const edge *ea = a, *eb = b;
    if (ea->weight != eb->weight) return ea->weight < eb->weight ? -1 : 1;
    return (ea->order > eb->order) - (ea->order < eb->order);
}

static void merge_by_threshold(forest *f, const edge *edges, int n_edges, double k) {
    for (int e = 0; e < n_edges; e++) {
        int a = find_root(f->parent, edges[e].p), b = find_root(f->parent, edges[e].q);
        if (a == b) continue;
        float threshold_a = (float)(f->inner[a] + k / f->size[a]);
        float threshold_b = (float)(f->inner[b] + k / f->size[b]);
        if (edges[e].weight < (double)fminf(threshold_a, threshold_b))
            f->inner[join_roots(f, a, b)] = edges[e].weight;
    }
}

static void merge_small(forest *f, const edge *edges, int n_edges, int min_size) {
    for (int e = 0; e < n_edges; e++) {
        int a = find_root(f->parent, edges[e].p), b = find_root(f->parent, edges[e].q);
        if (a != b && (f->size[a] < min_size || f->size[b] < min_size)) join_roots(f, a, b);
    }
}

/* labels[p] = index of p's segment, numbered in order of their roots. */
static int number_segments(forest *f, int n_pixels, int *labels) {
    int count = 0;
    for (int p = 0; p < n_pixels; p++) {
        int root = find_root(f->parent, p);
        labels[p] = root == p ? count++ : labels[root];
    }
    return count;
}

static int check_arguments(const float *image, int height, int width, int channels, float scale, float sigma,
                           int min_size, const int *labels, sal_error *err) {
    if (!image || !labels) return sal_fail(err, SAL_ERR_ARGUMENT, "felzenszwalb: image or labels is NULL");
    if (height < 1 || width < 1 || channels < 1 || (long long)height * width > INT_MAX / 4)
        return sal_fail(err, SAL_ERR_SHAPE, "felzenszwalb: bad image size %d x %d x %d", height, width, channels);
    if (!isfinite(scale) || scale < 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "felzenszwalb: scale must be finite and >= 0, got %g", (double)scale);
    if (!isfinite(sigma) || sigma < 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "felzenszwalb: sigma must be finite and >= 0, got %g", (double)sigma);
    if (min_size < 0) return sal_fail(err, SAL_ERR_ARGUMENT, "felzenszwalb: min_size %d is negative", min_size);
    size_t count = (size_t)height * width * channels;
    for (size_t i = 0; i < count; i++)
        if (!isfinite(image[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "felzenszwalb: image value %zu is not finite", i);
    return SAL_OK;
}

int sal_felzenszwalb(const float *image, int height, int width, int channels, float scale, float sigma,
                     int min_size, int *labels, sal_error *err) {
    if (check_arguments(image, height, width, channels, scale, sigma, min_size, labels, err)) return -1;
    int n_pixels = height * width;
    size_t max_edges = 4 * (size_t)n_pixels;
    float *smooth = malloc((size_t)n_pixels * channels * sizeof *smooth);
    edge *edges = malloc(max_edges * sizeof *edges);
    forest f = {malloc((size_t)n_pixels * sizeof(int)), malloc((size_t)n_pixels * sizeof(int)),
                malloc((size_t)n_pixels * sizeof(double))};
    int count = -1;
    if (!smooth || !edges || !f.parent || !f.size || !f.inner) {
        sal_fail(err, SAL_ERR_MEMORY, "felzenszwalb: out of memory for a %d x %d image", height, width);
        goto done;
    }
    if (sal_gaussian_blur(image, height, width, channels, sigma, smooth, err)) goto done;
    int n_edges = build_edges(smooth, height, width, channels, edges);
    qsort(edges, (size_t)n_edges, sizeof *edges, by_weight);
    for (int p = 0; p < n_pixels; p++) f.parent[p] = p, f.size[p] = 1, f.inner[p] = 0;
    merge_by_threshold(&f, edges, n_edges, (double)scale / 255.0);
    merge_small(&f, edges, n_edges, min_size);
    count = number_segments(&f, n_pixels, labels);
    sal_ok(err);
done:
    free(smooth), free(edges), free(f.parent), free(f.size), free(f.inner);
    return count;
}
