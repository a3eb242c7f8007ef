/* XRAI - Kapishnikov, Bolukbasi, Viegas & Terry 2019, "XRAI: Better
 * Attributions Through Regions" (ICCV), as PAIR's saliency/core/xrai.py
 * ("full" algorithm).
 *
 * Pixel attributions: the mean of Integrated Gradients with a black and a
 * white baseline, its largest channel kept (PAIR's _attr_aggregation_max):
 *
 *     a(p) = max_c ( IG_c(x; black)(p) + IG_c(x; white)(p) ) / 2
 *
 * Candidate regions: Felzenszwalb segments of the photo scaled to [-1, 1], at
 * scales 50, 100, 150, 250, 500, 1200 (sigma 0.8, min size 150), each dilated
 * by a disk of radius 5.  Greedy ranking, with S the pixels covered so far:
 *
 *     while |S| <= area_threshold * |picture|:
 *         drop the regions that add fewer than 50 pixels to S;
 *         add the region R of largest gain(R) = mean of a over R \ S.
 *
 * map(p) is the gain of the region that covered p; regions are ranked by
 * gain, largest first (ties in the order they were added), so the map never
 * increases with the rank.  Pixels left when the area bound stopped the loop
 * get the mean of a over them and rank -1 (unranked); pixels left because no
 * region adds 50 of them form one last region, as in PAIR.
 * Completeness: the average of the two IG runs'. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../masks/masks.h"
#include "methods.h"

static const float FELZENSZWALB_SCALES[] = {50, 100, 150, 250, 500, 1200};
#define N_SCALES ((int)(sizeof FELZENSZWALB_SCALES / sizeof FELZENSZWALB_SCALES[0]))
#define FELZENSZWALB_SIGMA 0.8f
#define FELZENSZWALB_MIN_SIZE 150
#define DILATION_RADIUS 5
#define MIN_PIXEL_DIFF 50 /* PAIR's experimental min_pixel_diff */
#define IG_SHARE 0.45     /* of the progress, per IG run */

/* Dilated segments: pixels of segment s are pixels[start[s] .. start[s+1]-1]. */
typedef struct {
    int count, capacity;
    int *start;
    int *pixels;
    size_t n_pixels, pixel_capacity;
} segment_set;

static int grow_segments(segment_set *set, size_t extra_pixels) {
    if (set->count + 2 > set->capacity) {
        int capacity = set->capacity ? 2 * set->capacity : 256;
        int *start = realloc(set->start, (size_t)capacity * sizeof *start);
        if (!start) return 0;
        set->start = start, set->capacity = capacity;
    }
    if (set->n_pixels + extra_pixels > set->pixel_capacity) {
        size_t capacity = set->pixel_capacity ? 2 * set->pixel_capacity : 1 << 16;
        while (capacity < set->n_pixels + extra_pixels) capacity *= 2;
        int *pixels = realloc(set->pixels, capacity * sizeof *pixels);
        if (!pixels) return 0;
        set->pixels = pixels, set->pixel_capacity = capacity;
    }
    return 1;
}

typedef struct {
    int y0, x0, y1, x1;
} box;

/* Dilates segment `label` inside its bounding box widened by the radius and
 * appends the pixels. */
static int add_dilated_segment(segment_set *set, const int *labels, int height, int width, int label, box b,
                               unsigned char *crop, unsigned char *dilated) {
    b.y0 = b.y0 - DILATION_RADIUS < 0 ? 0 : b.y0 - DILATION_RADIUS;
    b.x0 = b.x0 - DILATION_RADIUS < 0 ? 0 : b.x0 - DILATION_RADIUS;
    b.y1 = b.y1 + DILATION_RADIUS >= height ? height - 1 : b.y1 + DILATION_RADIUS;
    b.x1 = b.x1 + DILATION_RADIUS >= width ? width - 1 : b.x1 + DILATION_RADIUS;
    int h = b.y1 - b.y0 + 1, w = b.x1 - b.x0 + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) crop[y * w + x] = labels[(b.y0 + y) * width + b.x0 + x] == label;
    sal_dilate_disk(crop, h, w, DILATION_RADIUS, dilated);
    if (!grow_segments(set, (size_t)h * w)) return 0;
    if (set->count == 0) set->start[0] = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (dilated[y * w + x]) set->pixels[set->n_pixels++] = (b.y0 + y) * width + b.x0 + x;
    set->start[++set->count] = (int)set->n_pixels;
    return 1;
}

static int add_segmentation(segment_set *set, const int *labels, int n_labels, int height, int width,
                            unsigned char *crop, unsigned char *dilated, sal_error *err) {
    box *boxes = malloc((size_t)n_labels * sizeof *boxes);
    if (!boxes) return sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for %d segments", n_labels);
    for (int l = 0; l < n_labels; l++) boxes[l] = (box){height, width, -1, -1};
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            box *b = &boxes[labels[y * width + x]];
            if (y < b->y0) b->y0 = y;
            if (x < b->x0) b->x0 = x;
            if (y > b->y1) b->y1 = y;
            if (x > b->x1) b->x1 = x;
        }
    int ok = 1;
    for (int l = 0; l < n_labels && ok; l++)
        ok = add_dilated_segment(set, labels, height, width, l, boxes[l], crop, dilated);
    free(boxes);
    return ok ? SAL_OK : sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for the segments");
}

/* The photo scaled to [-1, 1] over all its values (a flat photo becomes 0). */
static void scale_to_signed_unit(const float *pixels, size_t n, float *out) {
    float lo = pixels[0], hi = pixels[0];
    for (size_t i = 0; i < n; i++) lo = fminf(lo, pixels[i]), hi = fmaxf(hi, pixels[i]);
    for (size_t i = 0; i < n; i++) out[i] = hi > lo ? (pixels[i] - lo) / (hi - lo) * 2.0f - 1.0f : 0.0f;
}

static int build_segments(const float *pixels, int height, int width, const sal_progress *progress,
                          segment_set *set, sal_error *err) {
    size_t n = (size_t)height * width;
    float *image = malloc(n * 3 * sizeof *image);
    int *labels = malloc(n * sizeof *labels);
    unsigned char *crop = malloc(n), *dilated = malloc(n);
    int status = image && labels && crop && dilated
                     ? SAL_OK
                     : sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for a %d x %d segmentation", height, width);
    if (!status) scale_to_signed_unit(pixels, n * 3, image);
    for (int k = 0; k < N_SCALES && !status; k++) {
        sal_error why;
        int n_labels = sal_felzenszwalb(image, height, width, 3, FELZENSZWALB_SCALES[k], FELZENSZWALB_SIGMA,
                                        FELZENSZWALB_MIN_SIZE, labels, &why);
        status = n_labels < 1 ? sal_fail(err, why.status, "xrai: %s", why.message)
                              : add_segmentation(set, labels, n_labels, height, width, crop, dilated, err);
        if (!status) status = sal_progress_step(progress, k + 1, N_SCALES + 1, err);
    }
    free(image), free(labels), free(crop), free(dilated);
    return status;
}

/* ------------------------------------------------------------ ranking */

typedef struct {
    const segment_set *set;
    const double *attr;
    int n_pixels;
    int *pixel_start, *pixel_segments; /* segments holding each pixel */
    int *uncovered;                    /* per segment: pixels not yet covered */
    double *uncovered_sum;             /* per segment: their attribution */
    unsigned char *alive;
    int *region_of; /* per pixel: the region (in order added) that covered it, or -1 */
    double *gain;   /* per region */
    int n_regions;
    int covered;
} ranking;

static int build_pixel_index(ranking *r) {
    const segment_set *set = r->set;
    r->pixel_start = calloc((size_t)r->n_pixels + 1, sizeof *r->pixel_start);
    r->pixel_segments = malloc((set->n_pixels ? set->n_pixels : 1) * sizeof *r->pixel_segments);
    if (!r->pixel_start || !r->pixel_segments) return 0;
    for (size_t i = 0; i < set->n_pixels; i++) r->pixel_start[set->pixels[i] + 1]++;
    for (int p = 0; p < r->n_pixels; p++) r->pixel_start[p + 1] += r->pixel_start[p];
    int *fill = r->region_of; /* borrowed as the write cursor per pixel */
    memcpy(fill, r->pixel_start, (size_t)r->n_pixels * sizeof *fill);
    for (int s = 0; s < set->count; s++)
        for (int i = set->start[s]; i < set->start[s + 1]; i++) r->pixel_segments[fill[set->pixels[i]]++] = s;
    return 1;
}

static int init_ranking(ranking *r, const segment_set *set, const double *attr, int n_pixels) {
    *r = (ranking){.set = set, .attr = attr, .n_pixels = n_pixels};
    size_t n_seg = (size_t)(set->count ? set->count : 1);
    r->uncovered = malloc(n_seg * sizeof *r->uncovered);
    r->uncovered_sum = malloc(n_seg * sizeof *r->uncovered_sum);
    r->alive = malloc(n_seg);
    r->gain = malloc(n_seg * sizeof *r->gain);
    r->region_of = malloc((size_t)n_pixels * sizeof *r->region_of);
    if (!r->uncovered || !r->uncovered_sum || !r->alive || !r->gain || !r->region_of || !build_pixel_index(r))
        return 0;
    for (int p = 0; p < n_pixels; p++) r->region_of[p] = -1;
    for (int s = 0; s < set->count; s++) {
        r->uncovered[s] = set->start[s + 1] - set->start[s];
        r->uncovered_sum[s] = 0;
        for (int i = set->start[s]; i < set->start[s + 1]; i++) r->uncovered_sum[s] += attr[set->pixels[i]];
        r->alive[s] = 1;
    }
    return 1;
}

static void free_ranking(ranking *r) {
    free(r->pixel_start), free(r->pixel_segments), free(r->uncovered), free(r->uncovered_sum), free(r->alive);
    free(r->region_of), free(r->gain);
}

/* Drops the segments adding too little; returns the best of the rest or -1. */
static int best_segment(ranking *r) {
    int best = -1;
    double best_gain = -INFINITY;
    for (int s = 0; s < r->set->count; s++) {
        if (!r->alive[s]) continue;
        if (r->uncovered[s] < MIN_PIXEL_DIFF) {
            r->alive[s] = 0;
            continue;
        }
        double gain = r->uncovered_sum[s] / r->uncovered[s];
        if (gain > best_gain) best_gain = gain, best = s;
    }
    return best;
}

static void add_region(ranking *r, int s) {
    const segment_set *set = r->set;
    int region = r->n_regions++, added = 0;
    double sum = 0;
    for (int i = set->start[s]; i < set->start[s + 1]; i++) {
        int p = set->pixels[i];
        if (r->region_of[p] >= 0) continue;
        r->region_of[p] = region;
        sum += r->attr[p], added++;
        for (int j = r->pixel_start[p]; j < r->pixel_start[p + 1]; j++) {
            int t = r->pixel_segments[j];
            r->uncovered[t]--;
            r->uncovered_sum[t] -= r->attr[p];
        }
    }
    r->gain[region] = sum / added;
    r->covered += added;
    r->alive[s] = 0;
}

/* Returns 1 when the loop ran out of regions, 0 when the area bound stopped it. */
static int rank_greedily(ranking *r, float area_threshold) {
    while ((double)r->covered / r->n_pixels <= (double)area_threshold) {
        int s = best_segment(r);
        if (s < 0) return 1;
        add_region(r, s);
    }
    return 0;
}

/* rank_of[region] = its place when regions are ordered by gain (stable). */
static int order_by_gain(const ranking *r, int *rank_of) {
    int *order = malloc((size_t)(r->n_regions ? r->n_regions : 1) * sizeof *order);
    if (!order) return 0;
    for (int i = 0; i < r->n_regions; i++) order[i] = i;
    for (int i = 1; i < r->n_regions; i++) /* insertion sort: stable, no shared state */
        for (int j = i; j > 0 && r->gain[order[j - 1]] < r->gain[order[j]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    for (int i = 0; i < r->n_regions; i++) rank_of[order[i]] = i;
    free(order);
    return 1;
}

static int write_outputs(const ranking *r, int exhausted, float *map, int *rank, sal_error *err) {
    int *rank_of = malloc((size_t)(r->n_regions ? r->n_regions : 1) * sizeof *rank_of);
    if (!rank_of || !order_by_gain(r, rank_of)) {
        free(rank_of);
        return sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for %d regions", r->n_regions);
    }
    double rest_sum = 0;
    int rest = 0;
    for (int p = 0; p < r->n_pixels; p++)
        if (r->region_of[p] < 0) rest_sum += r->attr[p], rest++;
    float rest_gain = rest ? (float)(rest_sum / rest) : 0.0f;
    int rest_rank = exhausted ? r->n_regions : -1;
    for (int p = 0; p < r->n_pixels; p++) {
        int region = r->region_of[p];
        map[p] = region >= 0 ? (float)r->gain[region] : rest_gain;
        rank[p] = region >= 0 ? rank_of[region] : rest_rank;
    }
    free(rank_of);
    return SAL_OK;
}

static int rank_regions(const segment_set *set, const double *attr, int height, int width, float area_threshold,
                        float *map, int *rank, sal_error *err) {
    ranking r;
    int status = init_ranking(&r, set, attr, height * width)
                     ? SAL_OK
                     : sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for the ranking");
    if (!status) status = write_outputs(&r, rank_greedily(&r, area_threshold), map, rank, err);
    free_ranking(&r);
    return status;
}

/* ------------------------------------------------------ attributions */

/* max_c (a_c + b_c) / 2; a NaN channel makes it NaN (fmax would hide it). */
static double largest_channel_mean(const float *a, const float *b, int channels) {
    double largest = ((double)a[0] + b[0]) / 2;
    for (int ch = 1; ch < channels; ch++) {
        double mean = ((double)a[ch] + b[ch]) / 2;
        if (isnan(mean)) return mean;
        if (mean > largest) largest = mean;
    }
    return largest;
}

static int mean_ig(const sal_fn *fn, const float *x, const float *black, const float *white, int steps,
                   const sal_progress *progress, double *attr, sal_completeness *c, sal_error *err) {
    size_t size = sal_fn_size(fn), n = (size_t)fn->height * fn->width;
    float *ig[2] = {malloc(size * sizeof(float)), malloc(size * sizeof(float))};
    const float *baselines[2] = {black, white};
    sal_completeness parts[2];
    int status = ig[0] && ig[1] ? SAL_OK : sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory for the attributions");
    for (int b = 0; b < 2 && !status; b++) {
        sal_progress_range range;
        sal_progress sub = sal_progress_sub(progress, &range, b * IG_SHARE, (b + 1) * IG_SHARE);
        status = sal_integrated_gradients(fn, x, baselines[b], steps, SAL_QUADRATURE_RIEMANN_TRAPEZOID, &sub, ig[b],
                                          &parts[b], err);
    }
    for (size_t p = 0; p < n && !status; p++) {
        attr[p] = largest_channel_mean(ig[0] + p * fn->channels, ig[1] + p * fn->channels, fn->channels);
        if (!isfinite(attr[p]))
            status = sal_fail(err, SAL_ERR_NUMERIC, "xrai: attribution of pixel %zu is not finite", p);
    }
    if (!status && c) {
        c->score_difference = (parts[0].score_difference + parts[1].score_difference) / 2;
        c->gap = (parts[0].gap + parts[1].gap) / 2;
    }
    free(ig[0]), free(ig[1]);
    return status;
}

static int check_arguments(const sal_fn *fn, const float *x, const float *pixels, const float *black,
                           const float *white, int steps, float area_threshold, const float *map, const int *rank,
                           sal_error *err) {
    if (!fn || !fn->eval || !x || !pixels || !black || !white || !map || !rank)
        return sal_fail(err, SAL_ERR_ARGUMENT, "xrai: fn, x, pixels, baselines, map or rank is NULL");
    if (fn->height < 1 || fn->width < 1 || fn->channels < 1 || fn->max_batch < 1)
        return sal_fail(err, SAL_ERR_SHAPE, "xrai: bad input size %d x %d x %d", fn->height, fn->width, fn->channels);
    if (steps < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "xrai: steps must be >= 1, got %d", steps);
    if (!(area_threshold > 0 && area_threshold <= 1))
        return sal_fail(err, SAL_ERR_ARGUMENT, "xrai: area threshold must be in (0, 1], got %g",
                        (double)area_threshold);
    size_t n = (size_t)fn->height * fn->width * 3;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pixels[i])) return sal_fail(err, SAL_ERR_NUMERIC, "xrai: photo value %zu is not finite", i);
    return SAL_OK;
}

int sal_xrai(const sal_fn *fn, const float *x, const float *pixels, const float *black, const float *white,
             int steps, float area_threshold, const sal_progress *progress, float *map, int *rank,
             sal_completeness *c, sal_error *err) {
    int status = check_arguments(fn, x, pixels, black, white, steps, area_threshold, map, rank, err);
    if (status) return status;
    double *attr = malloc((size_t)fn->height * fn->width * sizeof *attr);
    segment_set set = {0};
    if (!attr) return sal_fail(err, SAL_ERR_MEMORY, "xrai: out of memory");
    status = mean_ig(fn, x, black, white, steps, progress, attr, c, err);
    sal_progress_range range;
    sal_progress rest = sal_progress_sub(progress, &range, 2 * IG_SHARE, 1.0);
    if (!status) status = build_segments(pixels, fn->height, fn->width, &rest, &set, err);
    if (!status) status = rank_regions(&set, attr, fn->height, fn->width, area_threshold, map, rank, err);
    if (!status) status = sal_progress_step(progress, 1, 1, err);
    if (!status) sal_ok(err);
    free(attr), free(set.start), free(set.pixels);
    return status;
}
