/* test_sanity.c - the model parameter randomization test of Adebayo et al.
 * 2018, "Sanity Checks for Saliency Maps", on the ResNet50 and a photo:
 * maps that explain the model must change once its top layers are re-drawn
 * at random (src/model/randomize.c).  We compare |map| (summed over
 * channels) before and after with Spearman's rank correlation and ask it to
 * fall below 0.5 for vanilla gradients, integrated gradients and Grad-CAM.
 * Guided backprop's correlation is printed, not asserted: Adebayo et al.
 * found it barely changes.  Also checks randomize.c itself on a small model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/model.h"
#include "model/randomize.h"
#include "saliency.h"

#define MODEL SAL_ASSETS_DIR "/resnet50/model.json"
#define PHOTO SAL_ASSETS_DIR "/photos/cat.jpg"
#define SMALL_MODEL SAL_GOLDENS_DIR "/models/resnet_block/model.json"

enum { TABBY = 281, TOP_LAYERS = 4 }; /* the logits layer and the last bottleneck block's 3 convolutions */

/* ------------------------------------------------- Spearman's rank correlation */

static const float *sort_keys;
static int compare_by_key(const void *a, const void *b) {
    float x = sort_keys[*(const int *)a], y = sort_keys[*(const int *)b];
    return (x > y) - (x < y);
}

/* Ranks 1..n, ties sharing their average rank. */
static void rank_values(const float *v, int n, double *ranks) {
    int *order = malloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = i;
    sort_keys = v;
    qsort(order, (size_t)n, sizeof *order, compare_by_key);
    for (int start = 0; start < n;) {
        int end = start;
        while (end + 1 < n && v[order[end + 1]] == v[order[start]]) end++;
        for (int k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0 + 1.0;
        start = end + 1;
    }
    free(order);
}

static double pearson(const double *x, const double *y, int n) {
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

static double spearman(const float *a, const float *b, int n) {
    double *ra = malloc((size_t)n * sizeof *ra), *rb = malloc((size_t)n * sizeof *rb);
    rank_values(a, n, ra);
    rank_values(b, n, rb);
    double r = pearson(ra, rb, n);
    free(ra);
    free(rb);
    return r;
}

static void test_spearman(void) {
    /* expected values from scipy.stats.spearmanr */
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {5, 6, 7, 8, 7, 1};
    const float c[7] = {0, 0, 1, 2, 2, 2, 3}, d[7] = {3, 1, 1, 0, 5, 5, 4};
    CHECK(fabs(spearman(a, b, 6) - 0.028988551782622423) < 1e-12, "spearman %g", spearman(a, b, 6));
    CHECK(fabs(spearman(c, d, 7) - 0.3906356661579368) < 1e-12, "spearman with ties %g", spearman(c, d, 7));
}

/* ------------------------------------------------- randomize.c on a small model */

typedef struct {
    double mean, std;
} moments;

static moments moments_of(const float *v, size_t n) {
    double sum = 0, squares = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    for (size_t i = 0; i < n; i++) squares += (v[i] - sum / n) * (v[i] - sum / n);
    return (moments){sum / n, sqrt(squares / n)};
}

static size_t node_weights(const sal_node *node) {
    size_t window = (size_t)node->kh * node->kw;
    if (node->op == SAL_OP_CONV2D) return window * node->in_channels * node->filters;
    if (node->op == SAL_OP_DEPTHWISE_CONV2D) return window * node->in_channels * node->depth_multiplier;
    return (size_t)node->in_channels * node->filters;
}

static int find_node(const sal_model *model, const char *name) { return sal_graph_find(&model->graph, name); }

static void test_randomize_small_model(void) {
    sal_error err;
    sal_model *model = sal_model_load_tfjs(SMALL_MODEL, &err);
    sal_model *original = sal_model_load_tfjs(SMALL_MODEL, &err);
    CHECK(model && original, "%s", err.message);
    if (!model || !original) goto done;
    int layers = sal_model_num_weighted_layers(model);
    CHECK(layers >= 3, "the small ResNet block has %d weighted layers", layers);
    CHECK(sal_model_randomize_top_layers(model, layers + 1, 1, &err) == SAL_ERR_ARGUMENT &&
              strstr(err.message, "weighted layers"), "too many layers: %s", err.message);
    CHECK(sal_model_randomize_top_layers(model, -1, 1, &err) == SAL_ERR_ARGUMENT, "-1 layers");
    CHECK(sal_model_randomize_top_layers(model, 2, 7, &err) == SAL_OK, "%s", err.message);
    for (int k = 0; k < layers; k++) {
        const char *name = sal_model_weighted_layer_name(model, k);
        int i = name ? find_node(model, name) : -1, j = name ? find_node(original, name) : -1;
        CHECK(i >= 0 && j >= 0, "weighted layer %d '%s' not found", k, name ? name : "(null)");
        if (i < 0 || j < 0) continue;
        const sal_node *now = &model->graph.nodes[i], *before = &original->graph.nodes[j];
        size_t n = node_weights(now);
        int changed = memcmp(now->weights, before->weights, n * sizeof(float)) != 0;
        CHECK(changed == (k < 2), "layer %d '%s': weights %s", k, name, changed ? "changed" : "kept");
        if (k < 2) { /* same scale: mean and std within a few standard errors */
            moments a = moments_of(now->weights, n), b = moments_of(before->weights, n);
            CHECK(fabs(a.mean - b.mean) < 5 * b.std / sqrt((double)n) + 1e-7 && fabs(a.std / b.std - 1) < 0.25,
                  "layer '%s': mean %g std %g, was %g %g", name, a.mean, a.std, b.mean, b.std);
        }
    }
    CHECK(sal_model_weighted_layer_name(model, layers) == NULL && sal_model_weighted_layer_name(model, -1) == NULL,
          "names beyond the layers are NULL");
done:
    sal_model_free(model);
    sal_model_free(original);
}

/* ------------------------------------------------- the sanity check on ResNet50 */

typedef struct {
    sal_method method;
    const char *name;
    int asserted; /* guided backprop is only reported */
} method_case;

static const method_case cases[] = {
    {SAL_METHOD_VANILLA, "vanilla", 1},
    {SAL_METHOD_INTEGRATED_GRADIENTS, "integrated-gradients", 1},
    {SAL_METHOD_GRAD_CAM, "grad-cam", 1},
    {SAL_METHOD_GUIDED_BACKPROP, "guided-backprop", 0},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* |map| summed over channels, into out (h x w). */
static int explain_abs(sal_context *ctx, const sal_image *photo, sal_method method, float *out) {
    sal_preprocess preprocess;
    sal_explain_options options;
    sal_explanation e;
    sal_error err;
    sal_preprocess_preset("caffe", &preprocess, &err);
    sal_explain_defaults(&options);
    options.method = method;
    options.target = TABBY;
    options.steps = 16;
    int status = sal_explain(ctx, &preprocess, photo, &options, &e, &err);
    CHECK(status == SAL_OK, "%s: %s", sal_method_name(method), err.message);
    if (status != SAL_OK) return status;
    size_t n = (size_t)e.height * e.width;
    for (size_t i = 0; i < n; i++) {
        float sum = 0;
        for (int c = 0; c < e.channels; c++) sum += fabsf(e.data[i * e.channels + c]);
        out[i] = sum;
    }
    sal_explanation_free(&e);
    return SAL_OK;
}

static int explain_all(const sal_model *model, const sal_image *photo, float *maps) {
    sal_error err;
    sal_context *ctx = sal_context_create(model, 2, &err);
    CHECK(ctx != NULL, "%s", err.message);
    if (!ctx) return -1;
    int status = SAL_OK;
    for (int m = 0; m < N_CASES && !status; m++)
        status = explain_abs(ctx, photo, cases[m].method, maps + (size_t)m * photo->width * photo->height);
    sal_context_free(ctx);
    return status;
}

static void test_cascading_randomization(void) {
    sal_error err;
    sal_model *model = sal_model_load_tfjs(MODEL, &err);
    CHECK(model != NULL, "%s", err.message);
    sal_image photo = {0}, crop = {0};
    int h = 0, w = 0, c = 0;
    if (model) sal_model_input_size(model, &h, &w, &c);
    int ready = model && sal_image_load(PHOTO, &photo, &err) == SAL_OK &&
                sal_image_resize_crop(&photo, w, h, &crop, &err) == SAL_OK;
    CHECK(ready, "%s", err.message);
    int n = w * h;
    float *before = malloc((size_t)N_CASES * n * sizeof *before), *after = malloc((size_t)N_CASES * n * sizeof *after);
    if (ready && explain_all(model, &crop, before) == SAL_OK &&
        sal_model_randomize_top_layers(model, TOP_LAYERS, 2018, &err) == SAL_OK &&
        explain_all(model, &crop, after) == SAL_OK) {
        printf("sanity check: ResNet50, cat.jpg, class %d, top %d weighted layers re-drawn (", TABBY, TOP_LAYERS);
        for (int k = 0; k < TOP_LAYERS; k++) printf("%s%s", k ? ", " : "", sal_model_weighted_layer_name(model, k));
        printf(")\n");
        for (int m = 0; m < N_CASES; m++) {
            double r = spearman(before + (size_t)m * n, after + (size_t)m * n, n);
            printf("  %-22s Spearman rank correlation of |map| before/after: %.3f%s\n", cases[m].name, r,
                   cases[m].asserted ? "" : "  (reported only)");
            if (cases[m].asserted) CHECK(r < 0.5, "%s: rank correlation %.3f is not below 0.5", cases[m].name, r);
        }
    }
    free(before);
    free(after);
    sal_image_free(&photo);
    sal_image_free(&crop);
    sal_model_free(model);
}

int main(void) {
    test_spearman();
    test_randomize_small_model();
    test_cascading_randomization();
    return check_report();
}
