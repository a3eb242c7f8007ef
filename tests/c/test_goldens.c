/* The whole library, through the public API, against goldens computed by an
 * independent PyTorch interpreter of TF.js models (tools/tfjs_reference.py,
 * float64; written by tools/make_goldens.py).  Each folder under
 * goldens/models holds one small random CNN in the TF.js layers format and,
 * for a batch of two images with different target classes: logits, probs,
 * input gradients under the three ReLU rules, and one layer's activation and
 * gradient.  Every model runs with 1 and with 2 threads, as a batch of two
 * and as a single image.
 *
 * Tolerance: the reference is exact up to float64 rounding; the library
 * computes in float32, whose rounding error relative to a tensor's largest
 * value stays near 1e-6 for these small networks.  A value passes when
 * |got - want| <= 1e-4 * max|want| + 1e-3 * |want|. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bytes/npy.h"
#include "check.h"
#include "saliency.h"

#define MODELS_DIR SAL_GOLDENS_DIR "/models"
#define MAX_MODELS 64
#define PATH_LEN 1024

typedef struct {
    float *data;
    int shape[SAL_NPY_MAX_DIMS];
    int ndim;
    size_t count;
} array;

typedef struct {
    char name[256];
    char layer[256];
    array input, targets, logits, probs, layer_act, layer_grad;
    array grad[3]; /* indexed by sal_relu_rule */
} golden;

static const char *const rule_names[3] = {"standard", "guided", "deconvnet"};

/* ------------------------------------------------------------- reading */

static int read_array(const char *dir, const char *file, array *out) {
    char path[PATH_LEN];
    sal_error err;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    memset(out, 0, sizeof *out);
    int status = sal_npy_read(path, &out->data, out->shape, &out->ndim, &err);
    CHECK(status == SAL_OK, "reading %s: %s", path, err.message);
    if (status != SAL_OK) return 0;
    out->count = 1;
    for (int i = 0; i < out->ndim; i++) out->count *= (size_t)out->shape[i];
    return 1;
}

static int read_layer_name(const char *dir, char *name, size_t size) {
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/layer.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    int ok = fgets(name, (int)size, f) != NULL;
    fclose(f);
    name[strcspn(name, "\r\n")] = '\0';
    CHECK(ok && name[0], "%s holds no layer name", path);
    return ok && name[0];
}

static int read_golden(const char *dir, const char *name, golden *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name);
    int ok = read_array(dir, "input.npy", &g->input) & read_array(dir, "targets.npy", &g->targets) &
             read_array(dir, "logits.npy", &g->logits) & read_array(dir, "probs.npy", &g->probs) &
             read_array(dir, "grad_standard.npy", &g->grad[SAL_RELU_STANDARD]) &
             read_array(dir, "grad_guided.npy", &g->grad[SAL_RELU_GUIDED]) &
             read_array(dir, "grad_deconvnet.npy", &g->grad[SAL_RELU_DECONVNET]) &
             read_array(dir, "layer_act.npy", &g->layer_act) &
             read_array(dir, "layer_grad.npy", &g->layer_grad) &
             read_layer_name(dir, g->layer, sizeof g->layer);
    if (!ok) return 0;
    int fit = g->input.ndim == 4 && g->logits.ndim == 2 && g->layer_act.ndim == 4 &&
              g->logits.shape[0] == g->input.shape[0] && (int)g->targets.count == g->input.shape[0] &&
              g->probs.count == g->logits.count && g->layer_grad.count == g->layer_act.count &&
              g->layer_act.shape[0] == g->input.shape[0];
    for (int rule = 0; rule < 3; rule++) fit = fit && g->grad[rule].count == g->input.count;
    CHECK(fit, "%s: golden shapes do not fit together", name);
    return fit;
}

static void free_golden(golden *g) {
    array *arrays[] = {&g->input, &g->targets, &g->logits, &g->probs, &g->layer_act,
                       &g->layer_grad, &g->grad[0], &g->grad[1], &g->grad[2]};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) free(arrays[i]->data);
}

/* --------------------------------------------------------- comparisons */

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static size_t count_non_finite(const float *a, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(a[i]);
    return bad;
}

/* Compares `n` values of `got` with the golden (from element `offset`) and
 * names the worst element in the failure message. */
static void expect_close(const golden *g, const char *what, int threads, const float *got,
                         const array *want, size_t offset, size_t n) {
    const float *ref = want->data + offset;
    double atol = 1e-4 * max_abs(ref, n) + 1e-7, rtol = 1e-3;
    size_t bad = count_non_finite(got, n), at = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double ratio = fabs((double)got[i] - ref[i]) / (atol + rtol * fabs((double)ref[i]));
        if (ratio > worst) worst = ratio, at = i;
    }
    CHECK(bad == 0, "%s, %s (%d threads): %zu of %zu values are NaN or infinite", g->name, what, threads, bad,
          n);
    CHECK(worst <= 1.0,
          "%s, %s (%d threads): worst error %.3g x tolerance at element %zu of %zu: got %.7g, reference %.7g "
          "(max|reference| %.3g)",
          g->name, what, threads, worst, at, n, got[at], ref[at], max_abs(ref, n));
}

/* ---------------------------------------------------------------- runs */

static size_t image_count(const array *a) { return a->count / (size_t)a->shape[0]; }

static void check_model_info(const golden *g, const sal_model *model) {
    int h = -1, w = -1, c = -1;
    sal_model_input_size(model, &h, &w, &c);
    CHECK(h == g->input.shape[1] && w == g->input.shape[2] && c == g->input.shape[3],
          "%s: the model declares input %dx%dx%d, the golden input is %dx%dx%d", g->name, h, w, c, g->input.shape[1],
          g->input.shape[2], g->input.shape[3]);
    CHECK(sal_model_num_classes(model) == g->logits.shape[1], "%s: %d classes, expected %d", g->name,
          sal_model_num_classes(model), g->logits.shape[1]);
}

/* Every layer name the model lists must be one it answers to. */
static void check_layer_names(const golden *g, const sal_model *model, sal_context *ctx) {
    int n = sal_model_num_layers(model);
    CHECK(n > 0, "%s: the model lists no layers", g->name);
    for (int i = 0; i < n; i++) {
        const char *name = sal_model_layer_name(model, i);
        int shape[4];
        sal_error err;
        CHECK(name && sal_layer_shape(ctx, name, g->input.shape[1], g->input.shape[2], shape, &err) == SAL_OK,
              "%s: listed layer %d ('%s') has no shape: %s", g->name, i, name ? name : "(null)",
              name ? err.message : "");
    }
}

static void check_forward(const golden *g, sal_context *ctx, int threads) {
    int n = g->input.shape[0], h = g->input.shape[1], w = g->input.shape[2];
    float *logits = calloc(g->logits.count, sizeof *logits);
    float *probs = calloc(g->probs.count, sizeof *probs);
    sal_error err;
    int status = sal_forward(ctx, g->input.data, n, h, w, logits, probs, &err);
    CHECK(status == SAL_OK, "%s: sal_forward failed: %s", g->name, err.message);
    if (status == SAL_OK) {
        expect_close(g, "forward logits", threads, logits, &g->logits, 0, g->logits.count);
        expect_close(g, "forward probs", threads, probs, &g->probs, 0, g->probs.count);
    }
    free(logits);
    free(probs);
}

static int *golden_targets(const golden *g) {
    int *targets = malloc(g->targets.count * sizeof *targets);
    for (size_t i = 0; i < g->targets.count; i++) targets[i] = (int)g->targets.data[i];
    return targets;
}

/* Backward over images [first, first + n) of the golden batch. */
static void check_backward(const golden *g, sal_context *ctx, int threads, sal_relu_rule rule, int first,
                           int n) {
    int h = g->input.shape[1], w = g->input.shape[2];
    size_t in_size = image_count(&g->input), act_size = image_count(&g->layer_act);
    size_t classes = (size_t)g->logits.shape[1];
    int *targets = golden_targets(g);
    float *grad = calloc(in_size * n, sizeof *grad);
    float *logits = calloc(classes * n, sizeof *logits);
    float *act = calloc(act_size * n, sizeof *act);
    float *act_grad = calloc(act_size * n, sizeof *act_grad);
    int chosen[2] = {-1, -1};
    sal_backward_request request = {.targets = targets + first, .chosen_targets = n <= 2 ? chosen : NULL,
                                    .relu_rule = rule, .layer = g->layer,
                                    .input_gradient = grad, .logits = logits, .layer_activation = act,
                                    .layer_gradient = act_grad};
    sal_error err;
    char what[160];
    int status = sal_backward(ctx, g->input.data + in_size * first, n, h, w, &request, &err);
    snprintf(what, sizeof what, "sal_backward (%s rule, images %d..%d)", rule_names[rule], first, first + n - 1);
    CHECK(status == SAL_OK, "%s: %s failed: %s", g->name, what, err.message);
    if (status == SAL_OK) {
        snprintf(what, sizeof what, "input gradient (%s rule, images %d..%d)", rule_names[rule], first,
                 first + n - 1);
        expect_close(g, what, threads, grad, &g->grad[rule], in_size * first, in_size * n);
        expect_close(g, "backward logits", threads, logits, &g->logits, classes * first, classes * n);
        for (int b = 0; b < n && n <= 2; b++)
            CHECK(chosen[b] == targets[first + b], "%s: %s reports target %d for image %d, asked for %d", g->name,
                  what, chosen[b], first + b, targets[first + b]);
        snprintf(what, sizeof what, "activation of layer '%s'", g->layer);
        expect_close(g, what, threads, act, &g->layer_act, act_size * first, act_size * n);
        if (rule == SAL_RELU_STANDARD) {
            snprintf(what, sizeof what, "gradient at layer '%s' (standard rule)", g->layer);
            expect_close(g, what, threads, act_grad, &g->layer_grad, act_size * first, act_size * n);
        }
    }
    free(targets);
    free(grad);
    free(logits);
    free(act);
    free(act_grad);
}

static void check_layer_shape(const golden *g, sal_context *ctx) {
    int shape[4] = {0, 0, 0, 0};
    sal_error err;
    int status = sal_layer_shape(ctx, g->layer, g->input.shape[1], g->input.shape[2], shape, &err);
    CHECK(status == SAL_OK, "%s: sal_layer_shape('%s') failed: %s", g->name, g->layer, err.message);
    CHECK(status != SAL_OK || (shape[1] == g->layer_act.shape[1] && shape[2] == g->layer_act.shape[2] &&
                               shape[3] == g->layer_act.shape[3]),
          "%s: layer '%s' has shape %dx%dx%d, the reference %dx%dx%d", g->name, g->layer, shape[1], shape[2],
          shape[3], g->layer_act.shape[1], g->layer_act.shape[2], g->layer_act.shape[3]);
}

static void check_vanilla(const golden *g, sal_context *ctx, int threads) {
    int n = g->input.shape[0];
    int *targets = golden_targets(g);
    int chosen[2] = {-1, -1};
    float *mask = calloc(g->grad[0].count, sizeof *mask);
    sal_error err;
    int status = sal_vanilla_gradients(ctx, g->input.data, n, g->input.shape[1], g->input.shape[2], targets,
                                       n == 2 ? chosen : NULL, mask, &err);
    CHECK(status == SAL_OK, "%s: sal_vanilla_gradients failed: %s", g->name, err.message);
    if (status == SAL_OK) {
        expect_close(g, "sal_vanilla_gradients", threads, mask, &g->grad[SAL_RELU_STANDARD], 0,
                     g->grad[0].count);
        CHECK(n != 2 || (chosen[0] == targets[0] && chosen[1] == targets[1]),
              "%s: vanilla gradients explained classes %d, %d instead of the requested %d, %d", g->name,
              chosen[0], chosen[1], targets[0], targets[1]);
    }
    free(targets);
    free(mask);
}

static void check_with_threads(const golden *g, const sal_model *model, int threads) {
    sal_error err;
    sal_context *ctx = sal_context_create(model, threads, &err);
    CHECK(ctx != NULL, "%s: sal_context_create(%d threads) failed: %s", g->name, threads, err.message);
    if (!ctx) return;
    int n = g->input.shape[0];
    check_forward(g, ctx, threads);
    for (int rule = SAL_RELU_STANDARD; rule <= SAL_RELU_DECONVNET; rule++)
        check_backward(g, ctx, threads, (sal_relu_rule)rule, 0, n);
    /* A batch of one (the plan changes shape) and back to the full batch. */
    check_backward(g, ctx, threads, SAL_RELU_GUIDED, n - 1, 1);
    check_backward(g, ctx, threads, SAL_RELU_STANDARD, 0, n);
    check_vanilla(g, ctx, threads);
    check_layer_shape(g, ctx);
    check_layer_names(g, model, ctx);
    sal_context_free(ctx);
}

static void check_model(const char *dir, const char *name) {
    golden g;
    if (!read_golden(dir, name, &g)) {
        free_golden(&g);
        return;
    }
    char path[PATH_LEN];
    sal_error err;
    snprintf(path, sizeof path, "%s/model.json", dir);
    sal_model *model = sal_model_load_tfjs(path, &err);
    CHECK(model != NULL, "%s: sal_model_load_tfjs failed: %s", name, err.message);
    if (model) {
        check_model_info(&g, model);
        check_with_threads(&g, model, 1);
        check_with_threads(&g, model, 2);
        sal_model_free(model);
    }
    free_golden(&g);
}

/* ---------------------------------------------------------------- main */

static int compare_names(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static int list_models(char names[][256], int max) {
    DIR *dir = opendir(MODELS_DIR);
    CHECK(dir != NULL, "cannot open %s", MODELS_DIR);
    if (!dir) return 0;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && n < max) {
        char path[PATH_LEN];
        struct stat st;
        if (entry->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", MODELS_DIR, entry->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(names[n++], 256, "%s", entry->d_name);
    }
    closedir(dir);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    return n;
}

int main(void) {
    static char names[MAX_MODELS][256];
    int n = list_models(names, MAX_MODELS);
    CHECK(n >= 6, "expected at least 6 golden models in %s, found %d", MODELS_DIR, n);
    for (int i = 0; i < n; i++) {
        char dir[PATH_LEN];
        snprintf(dir, sizeof dir, "%s/%s", MODELS_DIR, names[i]);
        int failed_before = check_failed;
        check_model(dir, names[i]);
        printf("%-16s %s\n", names[i], check_failed == failed_before ? "ok" : "FAILED");
    }
    return check_report();
}
