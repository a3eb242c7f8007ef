/* Grad-CAM and Occlusion against goldens computed by the float64 PyTorch
 * reference with the methods written out independently
 * (tools/make_goldens_cam.py -> tests/goldens/methods/cam/):
 *
 *   - Grad-CAM low (layer resolution) and up (bilinear, pixel centres
 *     aligned) maps on three small CNNs of tests/goldens/models (5x5 -> 12x12,
 *     5x5 -> 17x19, 8x7 -> 15x13), both golden images, 1 and 2 threads;
 *   - Grad-CAM on the ResNet50 at activation_48 for the synthetic pattern
 *     image (low 7x7; up compared as 8x8 block means);
 *   - occlusion maps by naive loops on small CNNs: overlapping windows, a
 *     flush last window on both axes of a 17x19 input, a stride larger than
 *     the window (uncovered pixels are 0), and on the ResNet50 with window 64,
 *     stride 48 (a flush last window at 160).
 * Plus: Grad-CAM and occlusion argument errors; occlusion independent of the
 * batch size (1 vs 7), its progress reports (one per batch) and cancellation; a window covering the whole image gives
 * F(x) - F(patch image) everywhere (the two scores taken by sal_forward).
 * The sal_fn here is the test's own: logits from sal_forward, no gradients.
 *
 * Tolerances.  The reference is float64; the library works in float32.  The
 * generator prints how far the same computation in float32 lands from
 * float64: at most 9e-7 of the map's largest value for Grad-CAM (small CNNs
 * and ResNet50) and 2e-6 (small CNNs) / 7.4e-6 (ResNet50) for occlusion.
 * The library sums in other orders (im2col, blocked kernels), so the small
 * CNN maps get |got - want| <= 1e-4 * max|want| + 1e-3 |want| as in
 * test_goldens.c, about 100 times the float32 rounding (the library lands
 * within 2e-6 of the max).  ResNet50: Grad-CAM goes through 50 layers and
 * its alpha_k average gradients that partly cancel; it gets 2e-5 * max|want|
 * (the library measured 6e-7, torch in float32 9e-7); occlusion subtracts
 * logits of size ~20: 5e-5 * max|want| (measured 1e-6, torch in float32
 * 7.4e-6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/error.h"
#include "golden_helpers.h"
#include "methods/methods.h"
#include "saliency.h"

#define CAM_DIR SAL_GOLDENS_DIR "/methods/cam"
#define MODELS_DIR SAL_GOLDENS_DIR "/models"
#define RESNET_SIZE 224
#define BLOCK 8

typedef struct {
    float *data;
    int shape[SAL_NPY_MAX_DIMS];
    int ndim;
    size_t count;
} array;

/* ------------------------------------------------------------- reading */

static int read_array(const char *path, array *out) {
    sal_error err;
    memset(out, 0, sizeof *out);
    int status = sal_npy_read(path, &out->data, out->shape, &out->ndim, &err);
    CHECK(status == SAL_OK, "reading %s: %s", path, err.message);
    if (status != SAL_OK) return 0;
    out->count = 1;
    for (int i = 0; i < out->ndim; i++) out->count *= (size_t)out->shape[i];
    return 1;
}

static int read_text_line(const char *path, char *line, size_t size) {
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    int ok = fgets(line, (int)size, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    return ok && line[0];
}

typedef struct {
    const char *name;
    sal_model *model;
    array input, targets; /* input: N x H x W x C */
    int n, height, width, channels, classes;
} small_model;

static int load_small_model(const char *name, small_model *m) {
    char path[1024];
    sal_error err;
    memset(m, 0, sizeof *m);
    m->name = name;
    snprintf(path, sizeof path, "%s/%s/model.json", MODELS_DIR, name);
    m->model = sal_model_load_tfjs(path, &err);
    CHECK(m->model != NULL, "%s: loading the model failed: %s", name, err.message);
    snprintf(path, sizeof path, "%s/%s/input.npy", MODELS_DIR, name);
    int ok = m->model && read_array(path, &m->input);
    snprintf(path, sizeof path, "%s/%s/targets.npy", MODELS_DIR, name);
    ok = ok && read_array(path, &m->targets) && m->input.ndim == 4;
    if (!ok) return 0;
    m->n = m->input.shape[0];
    m->height = m->input.shape[1];
    m->width = m->input.shape[2];
    m->channels = m->input.shape[3];
    m->classes = sal_model_num_classes(m->model);
    return 1;
}

static void free_small_model(small_model *m) {
    sal_model_free(m->model);
    free(m->input.data);
    free(m->targets.data);
}

static const float *image_of(const small_model *m, int b) {
    return m->input.data + (size_t)b * m->height * m->width * m->channels;
}

/* --------------------------------------------------------- comparisons */

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

/* |got - want| <= scale * max|want| + rtol * |want| at every element;
 * the message names the worst one. */
static void expect_close(const char *what, const float *got, const float *want, size_t n, double scale,
                         double rtol) {
    double atol = scale * max_abs(want, n) + 1e-12, worst = 0;
    size_t at = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += !isfinite(got[i]);
        double ratio = fabs((double)got[i] - want[i]) / (atol + rtol * fabs((double)want[i]));
        if (ratio > worst) worst = ratio, at = i;
    }
    CHECK(bad == 0 && worst <= 1.0,
          "%s: %zu non-finite values; worst error %.3g x tolerance at element %zu of %zu: got %.7g, want %.7g "
          "(max|want| %.3g)",
          what, bad, worst, at, n, got[at], want[at], max_abs(want, n));
    printf("  %-52s worst error %.3g x tolerance, %.2g of max\n", what, worst,
           fabs((double)got[at] - want[at]) / (max_abs(want, n) + 1e-30));
}

static void block_average(const float *map, int height, int width, int block, float *out) {
    int bw = width / block;
    for (int by = 0; by < height / block; by++)
        for (int bx = 0; bx < bw; bx++) {
            double sum = 0;
            for (int y = 0; y < block; y++)
                for (int x = 0; x < block; x++) sum += map[(size_t)(by * block + y) * width + bx * block + x];
            out[by * bw + bx] = (float)(sum / (block * block));
        }
}

/* ------------------------------------------------ the test's own sal_fn */

typedef struct {
    sal_context *ctx;
    int target, classes;
    float *logits; /* max_batch x classes */
} logit_fn;

static int eval_logit(const sal_fn *fn, const float *x, int batch, float *scores, float *grads, sal_error *err) {
    const logit_fn *f = fn->user;
    if (grads) return sal_fail(err, SAL_ERR_UNSUPPORTED, "this test function has no gradients");
    if (batch > fn->max_batch) return sal_fail(err, SAL_ERR_ARGUMENT, "batch %d > max_batch", batch);
    int status = sal_forward(f->ctx, x, batch, fn->height, fn->width, f->logits, NULL, err);
    for (int b = 0; status == SAL_OK && scores && b < batch; b++)
        scores[b] = f->logits[(size_t)b * f->classes + f->target];
    return status;
}

static sal_fn make_logit_fn(logit_fn *f, sal_context *ctx, int height, int width, int channels, int classes,
                            int target, int max_batch) {
    f->ctx = ctx;
    f->target = target;
    f->classes = classes;
    f->logits = calloc((size_t)max_batch * classes, sizeof *f->logits);
    return (sal_fn){.eval = eval_logit, .height = height, .width = width, .channels = channels,
                    .max_batch = max_batch, .user = f};
}

static void patch_values(int channels, float *patch) {
    for (int c = 0; c < channels; c++) patch[c] = 0.3f * c - 0.4f; /* as in make_goldens_cam.py */
}

/* ------------------------------------------------- Grad-CAM, small CNNs */

static void check_small_grad_cam_image(const small_model *m, sal_context *ctx, const char *layer, int threads,
                                       int b, const array *low, const array *up) {
    int lh = low->shape[1], lw = low->shape[2];
    float *got_low = calloc((size_t)lh * lw, sizeof *got_low);
    float *got_up = calloc((size_t)m->height * m->width, sizeof *got_up);
    int gh = -1, gw = -1;
    sal_error err;
    char what[160];
    int status = sal_grad_cam(ctx, image_of(m, b), m->height, m->width, (int)m->targets.data[b], layer, got_low,
                              &gh, &gw, got_up, &err);
    CHECK(status == SAL_OK, "%s: sal_grad_cam failed: %s", m->name, err.message);
    CHECK(status != SAL_OK || (gh == lh && gw == lw), "%s: low map %dx%d, want %dx%d", m->name, gh, gw, lh, lw);
    if (status == SAL_OK && gh == lh && gw == lw) {
        snprintf(what, sizeof what, "%s grad-cam low, image %d, %d threads", m->name, b, threads);
        expect_close(what, got_low, low->data + (size_t)b * lh * lw, (size_t)lh * lw, 1e-4, 1e-3);
        snprintf(what, sizeof what, "%s grad-cam up, image %d, %d threads", m->name, b, threads);
        expect_close(what, got_up, up->data + (size_t)b * m->height * m->width, (size_t)m->height * m->width,
                     1e-4, 1e-3);
    }
    /* The up map alone (no low buffer) is the same. */
    float *only_up = calloc((size_t)m->height * m->width, sizeof *only_up);
    status = sal_grad_cam(ctx, image_of(m, b), m->height, m->width, (int)m->targets.data[b], layer, NULL, NULL,
                          NULL, only_up, &err);
    CHECK(status == SAL_OK && memcmp(only_up, got_up, (size_t)m->height * m->width * sizeof(float)) == 0,
          "%s: the up map alone differs from the one computed with the low map (%s)", m->name, err.message);
    free(only_up);
    free(got_low);
    free(got_up);
}

static void check_small_grad_cam(const char *name) {
    small_model m;
    char path[1024], layer[256];
    array low = {0}, up = {0};
    int ok = load_small_model(name, &m);
    snprintf(path, sizeof path, "%s/%s/gradcam_layer.txt", CAM_DIR, name);
    ok = ok && read_text_line(path, layer, sizeof layer);
    snprintf(path, sizeof path, "%s/%s/gradcam_low.npy", CAM_DIR, name);
    ok = ok && read_array(path, &low);
    snprintf(path, sizeof path, "%s/%s/gradcam_up.npy", CAM_DIR, name);
    ok = ok && read_array(path, &up);
    ok = ok && low.ndim == 3 && up.ndim == 3 && low.shape[0] == m.n && up.shape[0] == m.n &&
         up.shape[1] == m.height && up.shape[2] == m.width;
    CHECK(ok, "%s: Grad-CAM goldens missing or of the wrong shape", name);
    for (int threads = 1; ok && threads <= 2; threads++) {
        sal_error err;
        sal_context *ctx = sal_context_create(m.model, threads, &err);
        CHECK(ctx != NULL, "%s: sal_context_create: %s", name, err.message);
        for (int b = 0; ctx && b < m.n; b++) check_small_grad_cam_image(&m, ctx, layer, threads, b, &low, &up);
        sal_context_free(ctx);
    }
    free(low.data);
    free(up.data);
    free_small_model(&m);
}

/* With no layer named, Grad-CAM takes the last 4-D layer: for seq_small that
 * is conv_2 (or the identity dropout after it), the golden's layer. */
static void check_default_layer(const small_model *m, sal_context *ctx) {
    char path[1024];
    array up = {0};
    snprintf(path, sizeof path, "%s/seq_small/gradcam_up.npy", CAM_DIR);
    if (!read_array(path, &up)) return;
    float *got = calloc((size_t)m->height * m->width, sizeof *got);
    sal_error err;
    int status = sal_grad_cam(ctx, image_of(m, 0), m->height, m->width, (int)m->targets.data[0], NULL, NULL, NULL,
                              NULL, got, &err);
    CHECK(status == SAL_OK, "grad-cam with the default layer failed: %s", err.message);
    if (status == SAL_OK)
        expect_close("seq_small grad-cam up, default layer", got, up.data, (size_t)m->height * m->width, 1e-4, 1e-3);
    free(got);
    free(up.data);
}

static void expect_error(const char *what, int status, sal_status want, const sal_error *err,
                         const char *must_mention) {
    CHECK(status == (int)want, "%s: status %d, want %d (%s)", what, status, (int)want, err->message);
    CHECK(!must_mention || strstr(err->message, must_mention) != NULL, "%s: message '%s' does not mention '%s'",
          what, err->message, must_mention);
}

static void check_grad_cam_errors(void) {
    small_model m;
    if (!load_small_model("seq_small", &m)) return free_small_model(&m);
    sal_error err;
    sal_context *ctx = sal_context_create(m.model, 1, &err);
    CHECK(ctx != NULL, "sal_context_create: %s", err.message);
    if (ctx) {
        float low[64], up[12 * 12];
        const float *x = image_of(&m, 0);
        int status = sal_grad_cam(ctx, x, 12, 12, 0, "no_such_layer", low, NULL, NULL, up, &err);
        expect_error("grad-cam, unknown layer", status, SAL_ERR_ARGUMENT, &err, "no_such_layer");
        status = sal_grad_cam(ctx, x, 12, 12, 0, "dense_1", low, NULL, NULL, up, &err);
        expect_error("grad-cam, dense layer", status, SAL_ERR_ARGUMENT, &err, "dense_1");
        status = sal_grad_cam(ctx, x, 12, 12, 0, "flatten_1", low, NULL, NULL, up, &err);
        expect_error("grad-cam, flatten layer", status, SAL_ERR_ARGUMENT, &err, "flatten_1");
        status = sal_grad_cam(ctx, x, 12, 12, m.classes, "conv_2", low, NULL, NULL, up, &err);
        expect_error("grad-cam, target = number of classes", status, SAL_ERR_ARGUMENT, &err, "5");
        float nan_input[12 * 12 * 3];
        memcpy(nan_input, x, sizeof nan_input);
        nan_input[100] = NAN;
        status = sal_grad_cam(ctx, nan_input, 12, 12, 0, "conv_2", low, NULL, NULL, up, &err);
        expect_error("grad-cam, NaN input", status, SAL_ERR_NUMERIC, &err, NULL);
        status = sal_grad_cam(ctx, NULL, 12, 12, 0, "conv_2", low, NULL, NULL, up, &err);
        expect_error("grad-cam, no input", status, SAL_ERR_ARGUMENT, &err, NULL);
        check_default_layer(&m, ctx);
    }
    sal_context_free(ctx);
    free_small_model(&m);
}

/* ----------------------------------------------- occlusion, small CNNs */

static int run_occlusion(const small_model *m, sal_context *ctx, int image, int window, int stride, int max_batch,
                         float *map, sal_error *err) {
    logit_fn f;
    float patch[8];
    patch_values(m->channels, patch);
    sal_fn fn = make_logit_fn(&f, ctx, m->height, m->width, m->channels, m->classes, (int)m->targets.data[image],
                              max_batch);
    int status = sal_occlusion(&fn, image_of(m, image), patch, window, stride, NULL, map, err);
    free(f.logits);
    return status;
}

static void check_small_occlusion(const char *name, int window, int stride) {
    small_model m;
    char path[1024], what[160];
    array want = {0};
    int ok = load_small_model(name, &m);
    snprintf(path, sizeof path, "%s/%s/occlusion_w%d_s%d.npy", CAM_DIR, name, window, stride);
    ok = ok && read_array(path, &want) && want.count == (size_t)m.height * m.width;
    sal_error err;
    sal_context *ctx = ok ? sal_context_create(m.model, 2, &err) : NULL;
    CHECK(ctx != NULL, "%s: occlusion goldens or context missing", name);
    if (ctx) {
        size_t n = want.count;
        float *map7 = calloc(n, sizeof *map7), *map1 = calloc(n, sizeof *map1);
        int status = run_occlusion(&m, ctx, 0, window, stride, 7, map7, &err);
        CHECK(status == SAL_OK, "%s: occlusion (batch 7) failed: %s", name, err.message);
        snprintf(what, sizeof what, "%s occlusion w%d s%d", name, window, stride);
        if (status == SAL_OK) expect_close(what, map7, want.data, n, 1e-4, 1e-3);
        status = run_occlusion(&m, ctx, 0, window, stride, 1, map1, &err);
        CHECK(status == SAL_OK, "%s: occlusion (batch 1) failed: %s", name, err.message);
        snprintf(what, sizeof what, "%s occlusion w%d s%d, batch 1 vs 7", name, window, stride);
        if (status == SAL_OK) expect_close(what, map1, map7, n, 1e-6, 0);
        free(map7);
        free(map1);
    }
    sal_context_free(ctx);
    free(want.data);
    free_small_model(&m);
}

/* One window over the whole (square) image: every pixel gets F(x) - F(patch image). */
static void check_covering_window(void) {
    small_model m;
    if (!load_small_model("seq_small", &m)) return free_small_model(&m);
    sal_error err;
    sal_context *ctx = sal_context_create(m.model, 1, &err);
    size_t pixels = (size_t)m.height * m.width;
    float *pair = malloc(2 * pixels * m.channels * sizeof *pair), *logits = malloc(2 * m.classes * sizeof *logits);
    float *map = calloc(pixels, sizeof *map), patch[8];
    patch_values(m.channels, patch);
    memcpy(pair, image_of(&m, 0), pixels * m.channels * sizeof *pair);
    for (size_t p = 0; p < pixels; p++) memcpy(pair + (pixels + p) * m.channels, patch, m.channels * sizeof *patch);
    int target = (int)m.targets.data[0];
    int status = ctx ? sal_forward(ctx, pair, 2, m.height, m.width, logits, NULL, &err) : SAL_ERR_ARGUMENT;
    CHECK(status == SAL_OK, "forward of the image and the patch image failed: %s", err.message);
    double want = (double)logits[target] - logits[m.classes + target];
    for (int stride = 1; status == SAL_OK && stride <= 12; stride += 11) {
        status = run_occlusion(&m, ctx, 0, m.height, stride, 3, map, &err);
        CHECK(status == SAL_OK, "covering-window occlusion failed: %s", err.message);
        double worst = 0;
        for (size_t p = 0; p < pixels; p++) worst = fmax(worst, fabs(map[p] - want));
        CHECK(status != SAL_OK || worst <= 1e-5 * (1 + fabs(want)),
              "covering window (stride %d): map differs from F(x) - F(patch) = %g by up to %g", stride, want, worst);
    }
    free(pair);
    free(logits);
    free(map);
    sal_context_free(ctx);
    free_small_model(&m);
}

typedef struct {
    double fractions[16];
    int calls, stop_at; /* the callback asks to stop on call stop_at (0: never) */
} progress_log;

static int log_progress(void *user, double fraction) {
    progress_log *log = user;
    if (log->calls < 16) log->fractions[log->calls] = fraction;
    return ++log->calls == log->stop_at;
}

/* seq_small, window 4, stride 2: 5 x 5 = 25 windows, in batches of 7 -> 4
 * reports (7/25, 14/25, 21/25, 1); a stop on the second report cancels. */
static void check_occlusion_progress(void) {
    small_model m;
    if (!load_small_model("seq_small", &m)) return free_small_model(&m);
    sal_error err;
    sal_context *ctx = sal_context_create(m.model, 1, &err);
    float *map = calloc((size_t)m.height * m.width, sizeof *map), patch[3];
    patch_values(3, patch);
    logit_fn f;
    sal_fn fn = make_logit_fn(&f, ctx, m.height, m.width, m.channels, m.classes, 0, 7);
    for (int stop_at = 0; ctx && stop_at <= 2; stop_at += 2) {
        progress_log log = {.stop_at = stop_at};
        sal_progress progress = {log_progress, &log};
        int status = sal_occlusion(&fn, image_of(&m, 0), patch, 4, 2, &progress, map, &err);
        if (stop_at == 0) {
            const double want[4] = {7 / 25.0, 14 / 25.0, 21 / 25.0, 1};
            int same = status == SAL_OK && log.calls == 4;
            for (int i = 0; same && i < 4; i++) same = fabs(log.fractions[i] - want[i]) < 1e-12;
            CHECK(same, "occlusion progress: status %d, %d reports (want 7/25, 14/25, 21/25, 1)", status, log.calls);
        } else {
            CHECK(status == SAL_ERR_CANCELLED && log.calls == 2,
                  "occlusion cancelled on the 2nd report: status %d after %d reports", status, log.calls);
        }
    }
    free(f.logits);
    free(map);
    sal_context_free(ctx);
    free_small_model(&m);
}

static void check_occlusion_errors(void) {
    small_model m;
    if (!load_small_model("resnet_block", &m)) return free_small_model(&m); /* 17 x 19 */
    sal_error err;
    sal_context *ctx = sal_context_create(m.model, 1, &err);
    float *map = calloc((size_t)m.height * m.width, sizeof *map);
    CHECK(ctx != NULL, "sal_context_create: %s", err.message);
    if (ctx) {
        expect_error("occlusion, window 0", run_occlusion(&m, ctx, 0, 0, 4, 2, map, &err), SAL_ERR_ARGUMENT, &err,
                     "window 0");
        expect_error("occlusion, window taller than the image", run_occlusion(&m, ctx, 0, 18, 4, 2, map, &err),
                     SAL_ERR_ARGUMENT, &err, "window 18");
        expect_error("occlusion, stride 0", run_occlusion(&m, ctx, 0, 4, 0, 2, map, &err), SAL_ERR_ARGUMENT, &err,
                     "stride 0");
        expect_error("occlusion, max_batch 0", run_occlusion(&m, ctx, 0, 4, 2, 0, map, &err), SAL_ERR_ARGUMENT,
                     &err, NULL);
        logit_fn f;
        float patch[3] = {0, NAN, 0};
        sal_fn fn = make_logit_fn(&f, ctx, m.height, m.width, m.channels, m.classes, 0, 2);
        expect_error("occlusion, NaN patch", sal_occlusion(&fn, image_of(&m, 0), patch, 4, 2, NULL, map, &err),
                     SAL_ERR_NUMERIC, &err, "patch");
        float *nan_input = malloc((size_t)m.height * m.width * m.channels * sizeof *nan_input);
        memcpy(nan_input, image_of(&m, 0), (size_t)m.height * m.width * m.channels * sizeof *nan_input);
        nan_input[7] = NAN;
        patch[1] = 0;
        expect_error("occlusion, NaN input", sal_occlusion(&fn, nan_input, patch, 4, 2, NULL, map, &err),
                     SAL_ERR_NUMERIC, &err, "input");
        free(nan_input);
        free(f.logits);
    }
    free(map);
    sal_context_free(ctx);
    free_small_model(&m);
}

/* ------------------------------------------------------------ ResNet50 */

static void pattern_input(const sal_preprocess *pre, float *input) {
    golden_pattern_pixels(input);
    sal_preprocess_apply(pre, input, RESNET_SIZE * RESNET_SIZE, input);
}

static void check_resnet_grad_cam(sal_context *ctx, const float *input, int target) {
    array low = {0}, up = {0};
    int ok = read_array(CAM_DIR "/resnet50_pattern/gradcam_low.npy", &low) &&
             read_array(CAM_DIR "/resnet50_pattern/gradcam_up_block8.npy", &up) && low.count == 49 &&
             up.count == (RESNET_SIZE / BLOCK) * (RESNET_SIZE / BLOCK);
    CHECK(ok, "ResNet50 Grad-CAM goldens missing or of the wrong size");
    float got_low[49], *got_up = calloc(RESNET_SIZE * RESNET_SIZE, sizeof *got_up), small[28 * 28];
    int lh = 0, lw = 0;
    sal_error err;
    int status = ok ? sal_grad_cam(ctx, input, RESNET_SIZE, RESNET_SIZE, target, "activation_48", got_low, &lh, &lw,
                                   got_up, &err)
                    : SAL_ERR_IO;
    CHECK(!ok || status == SAL_OK, "ResNet50 sal_grad_cam failed: %s", err.message);
    if (ok && status == SAL_OK) {
        CHECK(lh == 7 && lw == 7, "ResNet50 low map %dx%d, want 7x7", lh, lw);
        expect_close("resnet50 grad-cam low (activation_48)", got_low, low.data, 49, 2e-5, 0);
        block_average(got_up, RESNET_SIZE, RESNET_SIZE, BLOCK, small);
        expect_close("resnet50 grad-cam up, 8x8 block means", small, up.data, 28 * 28, 2e-5, 0);
    }
    free(got_up);
    free(low.data);
    free(up.data);
}

static void check_resnet_occlusion(sal_context *ctx, const sal_preprocess *caffe, const float *input, int target) {
    array want = {0};
    int ok = read_array(CAM_DIR "/resnet50_pattern/occlusion_w64_s48_block8.npy", &want) && want.count == 28 * 28;
    CHECK(ok, "ResNet50 occlusion golden missing or of the wrong size");
    if (!ok) return free(want.data);
    float black[3] = {0, 0, 0}, patch[3], small[28 * 28];
    sal_preprocess_apply(caffe, black, 1, patch);
    float *map = calloc(RESNET_SIZE * RESNET_SIZE, sizeof *map);
    logit_fn f;
    sal_fn fn = make_logit_fn(&f, ctx, RESNET_SIZE, RESNET_SIZE, 3, 1000, target, 8);
    sal_error err;
    int status = sal_occlusion(&fn, input, patch, 64, 48, NULL, map, &err);
    CHECK(status == SAL_OK, "ResNet50 occlusion failed: %s", err.message);
    if (status == SAL_OK) {
        block_average(map, RESNET_SIZE, RESNET_SIZE, BLOCK, small);
        expect_close("resnet50 occlusion w64 s48, 8x8 block means", small, want.data, 28 * 28, 5e-5, 0);
    }
    free(f.logits);
    free(map);
    free(want.data);
}

static void check_resnet50(void) {
    sal_error err;
    sal_model *model = sal_model_load_tfjs(SAL_ASSETS_DIR "/resnet50/model.json", &err);
    CHECK(model != NULL, "loading the ResNet50 failed: %s", err.message);
    sal_context *ctx = model ? sal_context_create(model, 2, &err) : NULL;
    CHECK(!model || ctx != NULL, "sal_context_create: %s", err.message);
    sal_preprocess caffe;
    array target = {0};
    int ok = ctx && sal_preprocess_preset("caffe", &caffe, &err) == SAL_OK &&
             read_array(CAM_DIR "/resnet50_pattern/target.npy", &target) && target.count == 1;
    if (ok) {
        float *input = malloc(RESNET_SIZE * RESNET_SIZE * 3 * sizeof *input);
        pattern_input(&caffe, input);
        check_resnet_grad_cam(ctx, input, (int)target.data[0]);
        check_resnet_occlusion(ctx, &caffe, input, (int)target.data[0]);
        free(input);
    }
    free(target.data);
    sal_context_free(ctx);
    sal_model_free(model);
}

int main(void) {
    check_small_grad_cam("seq_small");
    check_small_grad_cam("resnet_block");
    check_small_grad_cam("mobile_se");
    check_grad_cam_errors();
    check_small_occlusion("seq_small", 4, 2);
    check_small_occlusion("resnet_block", 6, 4);
    check_small_occlusion("seq_small", 3, 5);
    check_covering_window();
    check_occlusion_errors();
    check_occlusion_progress();
    check_resnet50();
    return check_report();
}
