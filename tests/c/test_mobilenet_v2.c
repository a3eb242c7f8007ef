/* test_mobilenet_v2.c - a small MobileNetV2 (tools/make_mobilenet_v2.py
 * --goldens: 64x64, alpha 0.25, float16 weights) against the float64 PyTorch
 * reference: logits and the input gradient of one class per image, with 1 and
 * 2 threads, batch 2 and batch 1.  Then the depthwise kernel on MobileNetV2's
 * shapes (3x3, stride 1 'same' and stride 2 after a (0,1) zero padding),
 * channel counts on and off the vector width and depth multipliers above 1,
 * against naive double loops written here, with 2 threads bit-identical to
 * none. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_random.h"
#include "golden_helpers.h"
#include "kernels/kernels.h"
#include "saliency.h"

#define SIZE 64
#define BATCH 2
#define CLASSES 16
#define INPUT_VALUES (BATCH * SIZE * SIZE * 3)
#define IMAGE_VALUES (SIZE * SIZE * 3)

/* ------------------------------------------------------------ the model */

typedef struct {
    float *input, *targets, *logits, *grad;
} goldens;

static int read_goldens(goldens *g) {
    g->input = golden_read_npy("mobilenet_v2/input.npy", INPUT_VALUES);
    g->targets = golden_read_npy("mobilenet_v2/targets.npy", BATCH);
    g->logits = golden_read_npy("mobilenet_v2/logits.npy", BATCH * CLASSES);
    g->grad = golden_read_npy("mobilenet_v2/input_grad.npy", INPUT_VALUES);
    return g->input && g->targets && g->logits && g->grad;
}

static void free_goldens(goldens *g) {
    free(g->input), free(g->targets), free(g->logits), free(g->grad);
}

static double max_abs(const float *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(v[i]) > m ? fabs(v[i]) : m;
    return m;
}

/* float32 through 52 layers vs float64: measured errors stay below 1e-5 of the largest value. */
static void check_gradient(const float *grad, const float *want, size_t n, const char *what) {
    CHECK_CLOSE(grad, want, n, 2e-4 * max_abs(want, n), 1e-3, what);
}

static void check_batch(sal_context *ctx, const goldens *g, int threads) {
    int targets[BATCH] = {(int)g->targets[0], (int)g->targets[1]}, chosen[BATCH] = {-1, -1};
    float logits[BATCH * CLASSES], forward_logits[BATCH * CLASSES];
    float *grad = malloc(INPUT_VALUES * sizeof *grad);
    sal_error err;
    sal_backward_request req = {.targets = targets, .chosen_targets = chosen, .input_gradient = grad,
                                .logits = logits};
    int status = sal_backward(ctx, g->input, BATCH, SIZE, SIZE, &req, &err);
    CHECK(status == SAL_OK, "%d threads: sal_backward: %s", threads, err.message);
    if (status == SAL_OK) {
        char what[80];
        snprintf(what, sizeof what, "%d threads: logits", threads);
        CHECK_CLOSE(logits, g->logits, BATCH * CLASSES, 2e-5, 2e-5, what);
        snprintf(what, sizeof what, "%d threads: input gradient", threads);
        check_gradient(grad, g->grad, INPUT_VALUES, what);
        CHECK(chosen[0] == targets[0] && chosen[1] == targets[1], "%d threads: chosen targets", threads);
    }
    status = sal_forward(ctx, g->input, BATCH, SIZE, SIZE, forward_logits, NULL, &err);
    CHECK(status == SAL_OK, "%d threads: sal_forward: %s", threads, err.message);
    if (status == SAL_OK)
        CHECK_CLOSE(forward_logits, g->logits, BATCH * CLASSES, 2e-5, 2e-5, "sal_forward logits");
    free(grad);
}

/* The second image alone gives the same as in the batch of two. */
static void check_single_image(sal_context *ctx, const goldens *g) {
    int target = (int)g->targets[1];
    float logits[CLASSES];
    float *grad = malloc(IMAGE_VALUES * sizeof *grad);
    sal_error err;
    sal_backward_request req = {.targets = &target, .input_gradient = grad, .logits = logits};
    int status = sal_backward(ctx, g->input + IMAGE_VALUES, 1, SIZE, SIZE, &req, &err);
    CHECK(status == SAL_OK, "batch 1: sal_backward: %s", err.message);
    if (status == SAL_OK) {
        CHECK_CLOSE(logits, g->logits + CLASSES, CLASSES, 2e-5, 2e-5, "batch 1: logits");
        check_gradient(grad, g->grad + IMAGE_VALUES, IMAGE_VALUES, "batch 1: input gradient");
    }
    free(grad);
}

static void test_model(void) {
    goldens g = {0};
    if (!read_goldens(&g)) {
        free_goldens(&g);
        return;
    }
    sal_error err;
    sal_model *model = sal_model_load_tfjs(SAL_GOLDENS_DIR "/mobilenet_v2/model.json", &err);
    CHECK(model != NULL, "loading the MobileNetV2: %s", err.message);
    for (int threads = 1; model && threads <= 2; threads++) {
        sal_context *ctx = sal_context_create(model, threads, &err);
        CHECK(ctx != NULL, "sal_context_create: %s", err.message);
        if (!ctx) continue;
        check_batch(ctx, &g, threads);
        if (threads == 2) check_single_image(ctx, &g);
        sal_context_free(ctx);
    }
    sal_model_free(model);
    free_goldens(&g);
}

/* ------------------------------------------------------- depthwise kernel */

static test_rng rng = {0x2545F4914F6CDD1Dull};

static float *poisoned(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static size_t count_of(sal_dims d) { return (size_t)d.n * d.h * d.w * d.c; }

static size_t at(sal_dims d, int b, int y, int x, int c) { return (((size_t)b * d.h + y) * d.w + x) * d.c + c; }

typedef struct {
    int n, h, w, c, mult, stride, pad_top, pad_left, out_h, out_w;
} dw_case;

/* y[b,oy,ox,c*mult+m] = bias + sum over taps inside x of x * k, in double. */
static void naive_forward(const dw_case *t, const float *x, const float *k, const float *bias, float *y) {
    sal_dims xd = {t->n, t->h, t->w, t->c}, yd = {t->n, t->out_h, t->out_w, t->c * t->mult};
    for (int b = 0; b < t->n; b++)
        for (int oy = 0; oy < t->out_h; oy++)
            for (int ox = 0; ox < t->out_w; ox++)
                for (int c = 0; c < t->c; c++)
                    for (int m = 0; m < t->mult; m++) {
                        double s = bias ? bias[c * t->mult + m] : 0.0;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int iy = oy * t->stride - t->pad_top + ky, ix = ox * t->stride - t->pad_left + kx;
                                if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w) continue;
                                s += (double)x[at(xd, b, iy, ix, c)] * k[((ky * 3 + kx) * t->c + c) * t->mult + m];
                            }
                        y[at(yd, b, oy, ox, c * t->mult + m)] = (float)s;
                    }
}

/* The scatter form of the transpose. */
static void naive_backward(const dw_case *t, const float *dy, const float *k, float *dx) {
    sal_dims xd = {t->n, t->h, t->w, t->c}, yd = {t->n, t->out_h, t->out_w, t->c * t->mult};
    double *acc = calloc(count_of(xd), sizeof *acc);
    for (int b = 0; b < t->n; b++)
        for (int oy = 0; oy < t->out_h; oy++)
            for (int ox = 0; ox < t->out_w; ox++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        int iy = oy * t->stride - t->pad_top + ky, ix = ox * t->stride - t->pad_left + kx;
                        if (iy < 0 || iy >= t->h || ix < 0 || ix >= t->w) continue;
                        for (int c = 0; c < t->c; c++)
                            for (int m = 0; m < t->mult; m++)
                                acc[at(xd, b, iy, ix, c)] += (double)dy[at(yd, b, oy, ox, c * t->mult + m)] *
                                                             k[((ky * 3 + kx) * t->c + c) * t->mult + m];
                    }
    for (size_t i = 0; i < count_of(xd); i++) dx[i] = (float)acc[i];
    free(acc);
}

static void run_dw_case(dw_case t, sal_threadpool *pool) {
    sal_window win = {3, 3, t.stride, t.stride, 1, 1, t.pad_top, t.pad_left};
    sal_dims xd = {t.n, t.h, t.w, t.c}, yd = {t.n, t.out_h, t.out_w, t.c * t.mult};
    size_t nx = count_of(xd), ny = count_of(yd);
    float *x = test_random_floats(&rng, nx), *dy = test_random_floats(&rng, ny), *k = test_random_floats(&rng, (size_t)9 * t.c * t.mult);
    float *bias = t.c % 2 ? test_random_floats(&rng, (size_t)t.c * t.mult) : NULL;
    float *want_y = malloc(ny * sizeof(float)), *want_dx = malloc(nx * sizeof(float));
    float *y = poisoned(ny), *y_pool = poisoned(ny), *dx = poisoned(nx), *dx_pool = poisoned(nx);
    sal_depthwise_op op;
    CHECK(sal_depthwise_create(&op, k, bias, 3, 3, t.c, t.mult) == 0, "sal_depthwise_create");
    size_t scratch_floats = sal_depthwise_scratch_floats(&op, xd, yd, &win);
    float *scratch = scratch_floats ? malloc(scratch_floats * sizeof(float)) : NULL;
    naive_forward(&t, x, k, bias, want_y);
    naive_backward(&t, dy, k, want_dx);
    sal_depthwise_forward(&op, NULL, &win, x, xd, y, yd, scratch, SAL_K_LINEAR);
    sal_depthwise_forward(&op, pool, &win, x, xd, y_pool, yd, scratch, SAL_K_LINEAR);
    sal_depthwise_backward_input(&op, NULL, &win, dy, yd, dx, xd, scratch, NULL);
    sal_depthwise_backward_input(&op, pool, &win, dy, yd, dx_pool, xd, scratch, NULL);
    char what[160];
    snprintf(what, sizeof what, "depthwise n%d %dx%dx%d mult %d stride %d pad %d,%d -> %dx%d", t.n, t.h, t.w, t.c,
             t.mult, t.stride, t.pad_top, t.pad_left, t.out_h, t.out_w);
    /* sums of up to 9 * mult products of values in [-1, 1] */
    CHECK_CLOSE(y, want_y, ny, 2e-5, 1e-5, what);
    CHECK_CLOSE(dx, want_dx, nx, 2e-5 * t.mult, 1e-5, what);
    CHECK(memcmp(y, y_pool, ny * sizeof(float)) == 0, "%s: forward differs with 2 threads", what);
    CHECK(memcmp(dx, dx_pool, nx * sizeof(float)) == 0, "%s: backward differs with 2 threads", what);
    sal_depthwise_destroy(&op);
    free(x), free(dy), free(k), free(bias), free(want_y), free(want_dx);
    free(y), free(y_pool), free(dx), free(dx_pool), free(scratch);
}

/* 'same' stride 1 (pad 1,1); MobileNetV2's stride 2: ZeroPadding2D of (0,1)
 * or (1,1) before a 'valid' window, here as explicit padding (the same as
 * TF's 'same' stride 2); 'valid' stride 1 and 2. */
static void test_depthwise_shapes(sal_threadpool *pool) {
    static const int channels[] = {1, 3, 4, 5, 8, 13, 16, 19, 24, 35, 48, 67};
    static const int sizes[][2] = {{1, 1}, {2, 3}, {7, 7}, {12, 9}, {17, 20}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t ci = 0; ci < sizeof channels / sizeof channels[0]; ci++)
            for (int mult = 1; mult <= 3; mult++) {
                int h = sizes[s][0], w = sizes[s][1], c = channels[ci];
                if (mult > 1 && c > 24) continue;
                int n = (c + h) % 3 == 0 ? 2 : 1;
                run_dw_case((dw_case){n, h, w, c, mult, 1, 1, 1, h, w}, pool);
                /* even sizes: Keras pads (0,1); odd: (1,1) */
                int pt = h % 2, pl = w % 2;
                run_dw_case((dw_case){n, h, w, c, mult, 2, pt, pl, (h + pt + 1 - 3) / 2 + 1, (w + pl + 1 - 3) / 2 + 1},
                            pool);
                /* 'valid', stride 1 and 2 */
                if (h < 3 || w < 3) continue;
                run_dw_case((dw_case){n, h, w, c, mult, 1, 0, 0, h - 2, w - 2}, pool);
                run_dw_case((dw_case){n, h, w, c, mult, 2, 0, 0, (h - 3) / 2 + 1, (w - 3) / 2 + 1}, pool);
            }
}

int main(void) {
    test_model();
    sal_threadpool *pool = sal_threadpool_create(2);
    test_depthwise_shapes(pool);
    sal_threadpool_free(pool);
    return check_report();
}
