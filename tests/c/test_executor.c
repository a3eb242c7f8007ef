/* The executor on hand-built graphs: input gradients against central finite
 * differences of its own forward pass (computed in double precision from
 * float32 runs), batches against single images, threads against no threads,
 * plans re-made for new shapes, and error paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "executor/spans.h"
#include "model/model.h"
#include "saliency.h"

static unsigned rng_state = 12345u;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) * (1.0 / 8388608.0) - 1.0);
}

static float *random_array(size_t n, float scale) {
    float *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = frand() * scale;
    return a;
}

static int add(sal_graph *g, sal_op_type op, const char *name, int in0, int in1) {
    int node = sal_graph_add_node(g, op, name);
    int inputs[2] = {in0, in1};
    if (in0 >= 0) sal_graph_set_inputs(g, node, inputs, in1 >= 0 ? 2 : 1);
    return node;
}

static void set_conv(sal_node *n, int k, int stride, int cin, int cout, sal_padding pad) {
    n->kh = n->kw = k;
    n->stride_h = n->stride_w = stride;
    n->dilation_h = n->dilation_w = 1;
    n->padding = pad;
    n->in_channels = cin;
    n->filters = cout;
    n->weights = random_array((size_t)k * k * cin * cout, 1.0f / sqrtf((float)(k * k * cin)));
    n->bias = random_array((size_t)cout, 0.1f);
}

/* input 9x7x3 -> conv3x3/2 same (6) -> act -> [depthwise 3x3 x2 same -> act] + [conv1x1 (12)]
 * -> add -> maxpool 2x2/1 valid -> concat with avgpool 3x3/1 same -> global avg -> dense 5. */
static sal_model *build_model(sal_activation act) {
    sal_model *m = calloc(1, sizeof *m);
    sal_graph *g = &m->graph;
    sal_graph_init(g);
    int in = add(g, SAL_OP_INPUT, "input", -1, -1);
    g->nodes[in].input_shape = (sal_shape){4, 0, 9, 7, 3};
    int c1 = add(g, SAL_OP_CONV2D, "conv1", in, -1);
    set_conv(&g->nodes[c1], 3, 2, 3, 6, SAL_PAD_SAME);
    int a1 = add(g, SAL_OP_ACTIVATION, "act1", c1, -1);
    g->nodes[a1].act = act;
    int dw = add(g, SAL_OP_DEPTHWISE_CONV2D, "dw", a1, -1);
    sal_node *d = &g->nodes[dw];
    d->kh = d->kw = 3;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = 1;
    d->padding = SAL_PAD_SAME;
    d->in_channels = 6;
    d->depth_multiplier = 2;
    d->weights = random_array(3 * 3 * 6 * 2, 0.4f);
    d->bias = random_array(12, 0.1f);
    int a2 = add(g, SAL_OP_ACTIVATION, "act2", dw, -1);
    g->nodes[a2].act = act;
    int pw = add(g, SAL_OP_CONV2D, "proj", a1, -1);
    set_conv(&g->nodes[pw], 1, 1, 6, 12, SAL_PAD_VALID);
    int sum = add(g, SAL_OP_ADD, "sum", a2, pw);
    int mp = add(g, SAL_OP_MAX_POOL, "maxpool", sum, -1);
    sal_node *p = &g->nodes[mp];
    p->kh = p->kw = 2;
    p->stride_h = p->stride_w = p->dilation_h = p->dilation_w = 1;
    p->padding = SAL_PAD_VALID;
    int ap = add(g, SAL_OP_AVG_POOL, "avgpool", mp, -1);
    p = &g->nodes[ap];
    p->kh = p->kw = 3;
    p->stride_h = p->stride_w = p->dilation_h = p->dilation_w = 1;
    p->padding = SAL_PAD_SAME;
    int cat = add(g, SAL_OP_CONCAT, "concat", mp, ap);
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", cat, -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    sal_node *f = &g->nodes[fc];
    f->in_channels = 24;
    f->filters = 5;
    f->weights = random_array(24 * 5, 0.5f);
    f->bias = random_array(5, 0.1f);
    int sm = add(g, SAL_OP_ACTIVATION, "softmax", fc, -1);
    g->nodes[sm].act = SAL_ACT_SOFTMAX;
    g->output = sm;
    m->in_h = 9;
    m->in_w = 7;
    m->in_c = 3;
    m->n_classes = 5;
    return m;
}

static void free_model(sal_model *m) {
    sal_graph_free(&m->graph);
    free(m);
}

enum { H = 9, W = 7, C = 3, N_IN = H * W * C, CLASSES = 5, MAX_CLASSES = 8 };

/* Gradient of logit `target` by central differences, in double from float runs. */
static double fd_component(sal_context *ctx, const sal_model *m, float *x, int index, int target, float eps) {
    float logits[MAX_CLASSES];
    float saved = x[index];
    x[index] = saved + eps;
    sal_forward(ctx, x, 1, m->in_h, m->in_w, logits, NULL, NULL);
    double plus = logits[target];
    x[index] = saved - eps;
    sal_forward(ctx, x, 1, m->in_h, m->in_w, logits, NULL, NULL);
    double minus = logits[target];
    x[index] = saved;
    return (plus - minus) / (2.0 * eps);
}

/* Checks the input gradient of logit `target` at x against finite differences;
 * fills grad (in_h x in_w x in_c). */
static void check_input_gradient(const sal_model *m, const float *x0, int target, float *grad, const char *what) {
    sal_error err;
    sal_context *ctx = sal_context_create(m, 1, &err);
    CHECK(ctx != NULL, "%s: context: %s", what, err.message);
    if (!ctx) return;
    int n = m->in_h * m->in_w * m->in_c;
    float *x = malloc((size_t)n * sizeof *x);
    memcpy(x, x0, (size_t)n * sizeof *x);
    sal_backward_request req = {.targets = &target, .input_gradient = grad};
    CHECK(sal_backward(ctx, x, 1, m->in_h, m->in_w, &req, &err) == SAL_OK, "%s: backward: %s", what, err.message);
    double worst = 0, scale = 0;
    for (int i = 0; i < n; i++) scale = fmax(scale, fabs(grad[i]));
    for (int i = 0; i < n; i++) {
        double fd = fd_component(ctx, m, x, i, target, 1e-2f);
        worst = fmax(worst, fabs(fd - grad[i]));
    }
    CHECK(scale > 1e-3, "%s: gradient vanishes (max %g)", what, scale);
    CHECK(worst <= 2e-3 + 2e-2 * scale, "%s: finite differences differ by %g (gradient scale %g)", what, worst, scale);
    free(x);
    sal_context_free(ctx);
}

static void test_finite_differences(sal_activation act, const char *what) {
    sal_model *m = build_model(act);
    float *x = random_array(N_IN, 1.0f);
    float grad[N_IN];
    check_input_gradient(m, x, 3, grad, what);
    free(x);
    free_model(m);
}

static void test_batches_threads_and_replanning(void) {
    sal_model *m = build_model(SAL_ACT_RELU);
    sal_error err;
    sal_context *one = sal_context_create(m, 1, &err), *two = sal_context_create(m, 2, &err);
    CHECK(one && two, "contexts: %s", err.message);
    if (!one || !two) return;
    enum { B = 3 };
    float *x = random_array((size_t)B * N_IN, 1.0f);
    int targets[B] = {0, 4, 2};
    float batch_grad[B * N_IN], single_grad[N_IN], batch_logits[B * CLASSES], single_logits[CLASSES];
    sal_backward_request req = {.targets = targets, .input_gradient = batch_grad, .logits = batch_logits};
    CHECK(sal_backward(two, x, B, H, W, &req, &err) == SAL_OK, "batch backward: %s", err.message);
    for (int b = 0; b < B; b++) {
        sal_backward_request r1 = {.targets = &targets[b], .input_gradient = single_grad, .logits = single_logits};
        CHECK(sal_backward(one, x + (size_t)b * N_IN, 1, H, W, &r1, &err) == SAL_OK, "single: %s", err.message);
        CHECK_CLOSE(batch_grad + (size_t)b * N_IN, single_grad, N_IN, 1e-6, 1e-4, "batch vs single gradient");
        CHECK_CLOSE(batch_logits + b * CLASSES, single_logits, CLASSES, 1e-6, 1e-5, "batch vs single logits");
    }
    /* A different shape in between must not disturb the first shape's results. */
    float *big = random_array(2 * 13 * 11 * C, 1.0f);
    float big_grad[2 * 13 * 11 * C];
    sal_backward_request r2 = {.input_gradient = big_grad};
    CHECK(sal_backward(one, big, 2, 13, 11, &r2, &err) == SAL_OK, "other shape: %s", err.message);
    sal_backward_request r3 = {.targets = &targets[2], .input_gradient = single_grad};
    CHECK(sal_backward(one, x + 2 * N_IN, 1, H, W, &r3, &err) == SAL_OK, "again: %s", err.message);
    CHECK_CLOSE(batch_grad + 2 * N_IN, single_grad, N_IN, 1e-6, 1e-4, "after re-planning");
    /* Forward-only plans agree with the logits of the backward plans. */
    float fwd_logits[B * CLASSES], probs[B * CLASSES];
    CHECK(sal_forward(one, x, B, H, W, fwd_logits, probs, &err) == SAL_OK, "forward: %s", err.message);
    CHECK_CLOSE(fwd_logits, batch_logits, B * CLASSES, 1e-6, 1e-5, "forward vs backward logits");
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int k = 0; k < CLASSES; k++) s += probs[b * CLASSES + k];
        CHECK(fabs(s - 1) < 1e-5, "probabilities of image %d sum to %g", b, s);
    }
    free(x);
    free(big);
    sal_context_free(one);
    sal_context_free(two);
    free_model(m);
}

/* A batch on several threads runs image by image (some side by side, the
 * rest alone; with XNNPACK, each worker on operators of its own): every
 * output of every image must equal, bit for bit, that of the image run alone
 * on one thread, and a bad value names its image. */
static void test_images_apart(sal_backend backend) {
    const char *name = sal_backend_name(backend);
    sal_model *m = build_model(SAL_ACT_RELU);
    sal_error err;
    sal_context *one = sal_context_create_backend(m, 1, backend, &err);
    sal_context *three = sal_context_create_backend(m, 3, backend, &err);
    CHECK(one && three, "%s: contexts: %s", name, err.message);
    enum { B = 7, LAYER = 4 * 3 * 24 };
    float *x = random_array((size_t)B * N_IN, 1.0f);
    float grads[B * N_IN], logits[B * CLASSES], acts[B * LAYER], layer_grads[B * LAYER], fwd[B * CLASSES];
    int chosen[B];
    sal_backward_request all = {.chosen_targets = chosen, .layer = "concat", .input_gradient = grads,
                                .logits = logits, .layer_activation = acts, .layer_gradient = layer_grads};
    CHECK(three && sal_backward(three, x, B, H, W, &all, &err) == SAL_OK, "%s: batch of %d: %s", name, B,
          err.message);
    CHECK(three && sal_forward(three, x, B, H, W, fwd, NULL, &err) == SAL_OK, "%s: forward batch: %s", name,
          err.message);
    for (int b = 0; one && b < B; b++) {
        float grad[N_IN], logit[CLASSES], act[LAYER], layer_grad[LAYER];
        int target = -1;
        sal_backward_request alone = {.chosen_targets = &target, .layer = "concat", .input_gradient = grad,
                                      .logits = logit, .layer_activation = act, .layer_gradient = layer_grad};
        CHECK(sal_backward(one, x + (size_t)b * N_IN, 1, H, W, &alone, &err) == SAL_OK, "%s: image %d: %s", name, b,
              err.message);
        CHECK(target == chosen[b], "%s: image %d: top class %d alone, %d in the batch", name, b, target, chosen[b]);
        CHECK(memcmp(grad, grads + (size_t)b * N_IN, sizeof grad) == 0, "%s: image %d: input gradient differs", name,
              b);
        CHECK(memcmp(logit, logits + b * CLASSES, sizeof logit) == 0, "%s: image %d: logits differ", name, b);
        CHECK(memcmp(logit, fwd + b * CLASSES, sizeof logit) == 0, "%s: image %d: forward logits differ", name, b);
        CHECK(memcmp(act, acts + (size_t)b * LAYER, sizeof act) == 0, "%s: image %d: layer activation differs",
              name, b);
        CHECK(memcmp(layer_grad, layer_grads + (size_t)b * LAYER, sizeof layer_grad) == 0,
              "%s: image %d: layer gradient differs", name, b);
    }
    x[5 * N_IN + 17] = NAN;
    CHECK(three && sal_backward(three, x, B, H, W, &all, &err) == SAL_ERR_NUMERIC && strstr(err.message, "image 5"),
          "%s: NaN in image 5: %s", name, err.message);
    int bad_targets[B] = {0, 1, 2, 3, 4, CLASSES, 0};
    x[5 * N_IN + 17] = 0.5f;
    sal_backward_request bad = {.targets = bad_targets, .input_gradient = grads};
    CHECK(three && sal_backward(three, x, B, H, W, &bad, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "target"),
          "%s: target %d in image 5: %s", name, CLASSES, err.message);
    free(x);
    sal_context_free(one);
    sal_context_free(three);
    free_model(m);
}

/* conv1 -> act1 (ReLU) runs fused: asked for as a layer, conv1 still gives
 * its own output, and the rest of the run is the same bit for bit. */
static void test_fused_activation_layers(void) {
    sal_model *m = build_model(SAL_ACT_RELU);
    sal_error err;
    sal_context *ctx = sal_context_create_backend(m, 2, SAL_BACKEND_PORTABLE, &err);
    CHECK(ctx != NULL, "context: %s", err.message);
    enum { LAYER = 5 * 4 * 6 };
    float *x = random_array(N_IN, 1.0f);
    float plain[N_IN], grad[N_IN], conv[LAYER], conv_grad[LAYER], act[LAYER], act_grad[LAYER];
    int target = 2;
    sal_backward_request r1 = {.targets = &target, .input_gradient = plain, .layer = "act1",
                               .layer_activation = act, .layer_gradient = act_grad};
    sal_backward_request r2 = {.targets = &target, .input_gradient = grad, .layer = "conv1",
                               .layer_activation = conv, .layer_gradient = conv_grad};
    CHECK(ctx && sal_backward(ctx, x, 1, H, W, &r1, &err) == SAL_OK, "act1: %s", err.message);
    CHECK(ctx && sal_backward(ctx, x, 1, H, W, &r2, &err) == SAL_OK, "conv1: %s", err.message);
    CHECK(memcmp(plain, grad, sizeof grad) == 0, "input gradient changes when conv1's output is asked for");
    int negative = 0;
    for (int k = 0; k < LAYER; k++) {
        negative += conv[k] < 0;
        CHECK(act[k] == (conv[k] > 0 ? conv[k] : 0.0f), "act1[%d] = %g but conv1[%d] = %g", k, act[k], k, conv[k]);
        CHECK(conv_grad[k] == (conv[k] > 0 ? act_grad[k] : 0.0f), "conv1 gradient [%d] = %g, act1's %g", k,
              conv_grad[k], act_grad[k]);
    }
    CHECK(negative > 0 && negative < LAYER, "conv1 has %d negative outputs of %d", negative, LAYER);
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

/* Element-wise passes cut into spans over a pool give the bits of one
 * serial pass, on tensors of several spans and a ragged end. */
static void test_spans(void) {
    enum { COUNT = 3 * 16384 + 77 };
    sal_threadpool *pool = sal_threadpool_create(3);
    float *a = random_array(COUNT, 3.0f), *b = random_array(COUNT, 3.0f), *c = random_array(COUNT, 1.0f);
    float *want = malloc(COUNT * sizeof *want), *got = malloc(COUNT * sizeof *got);
    const sal_kernel_activation acts[] = {SAL_K_RELU, SAL_K_RELU6, SAL_K_TANH, SAL_K_SWISH, SAL_K_LINEAR};
    for (int k = 0; k < 5; k++) {
        sal_activation_forward(acts[k], a, want, COUNT, 7);
        sal_spans_activation_forward(pool, acts[k], a, got, COUNT, 7);
        CHECK(memcmp(want, got, COUNT * sizeof *got) == 0, "activation %d forward in spans", (int)acts[k]);
        sal_activation_backward(acts[k], SAL_K_RULE_GUIDED, a, b, c, want, COUNT, 7);
        sal_spans_activation_backward(pool, acts[k], SAL_K_RULE_GUIDED, a, b, c, got, COUNT, 7);
        CHECK(memcmp(want, got, COUNT * sizeof *got) == 0, "activation %d backward in spans", (int)acts[k]);
    }
    sal_activation_forward(SAL_K_SOFTMAX, a, want, 1000 * 49, 1000);
    sal_spans_activation_forward(pool, SAL_K_SOFTMAX, a, got, 1000 * 49, 1000);
    CHECK(memcmp(want, got, 1000 * 49 * sizeof *got) == 0, "softmax rows in spans");
    sal_add(a, b, want, COUNT);
    sal_spans_add(pool, a, b, got, COUNT, SAL_K_LINEAR);
    CHECK(memcmp(want, got, COUNT * sizeof *got) == 0, "add in spans");
    for (sal_kernel_activation act = SAL_K_RELU; act <= SAL_K_RELU6; act++) {
        float *sum = malloc(COUNT * sizeof *sum);
        sal_add(a, b, sum, COUNT);
        sal_activation_forward(act, sum, want, COUNT, COUNT);
        sal_spans_add(pool, a, b, got, COUNT, act);
        CHECK(memcmp(want, got, COUNT * sizeof *got) == 0, "add then activation %d in spans", (int)act);
        free(sum);
    }
    sal_add(a, b, want, COUNT);
    sal_add(a, b, got, COUNT);
    sal_accumulate(want, c, COUNT);
    sal_spans_accumulate(pool, got, c, COUNT);
    CHECK(memcmp(want, got, COUNT * sizeof *got) == 0, "accumulate in spans");
    sal_spans_copy(pool, got, b, COUNT);
    CHECK(memcmp(b, got, COUNT * sizeof *got) == 0, "copy in spans");
    free(a), free(b), free(c), free(want), free(got);
    sal_threadpool_free(pool);
}

/* Named layers: at the logits layer the activation is the logits and the
 * gradient the one-hot seed; before global pooling it is known in closed form. */
static void test_named_layers(void) {
    sal_model *m = build_model(SAL_ACT_TANH);
    sal_error err;
    sal_context *ctx = sal_context_create(m, 1, &err);
    float *x = random_array(N_IN, 1.0f);
    int target = 1, chosen = -7;
    float act[CLASSES], grad[CLASSES], logits[CLASSES];
    sal_backward_request req = {.targets = &target, .layer = "fc", .layer_activation = act, .layer_gradient = grad,
                                .logits = logits, .chosen_targets = &chosen};
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_OK, "backward: %s", err.message);
    CHECK_CLOSE(act, logits, CLASSES, 0, 0, "fc activation vs logits");
    for (int k = 0; k < CLASSES; k++) CHECK(grad[k] == (k == target), "seed at class %d is %g", k, grad[k]);
    CHECK(chosen == 1, "chosen target %d", chosen);

    int shape[4];
    CHECK(sal_layer_shape(ctx, "concat", H, W, shape, &err) == SAL_OK, "layer shape: %s", err.message);
    CHECK(shape[1] == 4 && shape[2] == 3 && shape[3] == 24, "concat shape %dx%dx%d", shape[1], shape[2], shape[3]);
    /* logits = mean over space of 'concat' times the dense kernel, so
     * d logit_t / d concat[y][x][c] = W[c][t] / (4 * 3) everywhere. */
    float concat_grad[4 * 3 * 24], expected[4 * 3 * 24];
    const float *w = m->graph.nodes[sal_graph_find(&m->graph, "fc")].weights;
    for (int p = 0; p < 12; p++)
        for (int c = 0; c < 24; c++) expected[p * 24 + c] = w[c * CLASSES + target] / 12.0f;
    sal_backward_request r2 = {.targets = &target, .layer = "concat", .layer_gradient = concat_grad};
    CHECK(sal_backward(ctx, x, 1, H, W, &r2, &err) == SAL_OK, "concat gradient: %s", err.message);
    CHECK_CLOSE(concat_grad, expected, 4 * 3 * 24, 1e-7, 1e-5, "gradient at 'concat'");

    /* targets NULL: the top class of each image is explained. */
    sal_backward_request r3 = {.logits = logits, .chosen_targets = &chosen};
    CHECK(sal_backward(ctx, x, 1, H, W, &r3, &err) == SAL_OK, "top: %s", err.message);
    int best = 0;
    for (int k = 1; k < CLASSES; k++)
        if (logits[k] > logits[best]) best = k;
    CHECK(chosen == best, "top class %d, explained %d", best, chosen);
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

static void set_dense(sal_node *n, int in, int out) {
    n->in_channels = in;
    n->filters = out;
    n->weights = random_array((size_t)in * out, 1.0f / sqrtf((float)in));
    n->bias = random_array((size_t)out, 0.1f);
}

/* scale in [0.5, 1.5), away from 0. */
static void set_affine(sal_node *n, int channels) {
    n->in_channels = channels;
    n->scale = random_array((size_t)channels, 0.5f);
    for (int c = 0; c < channels; c++) n->scale[c] += 1.0f;
    n->shift = random_array((size_t)channels, 0.5f);
}

static sal_model *new_model(int h, int w, int c, int classes) {
    sal_model *m = calloc(1, sizeof *m);
    sal_graph_init(&m->graph);
    int in = add(&m->graph, SAL_OP_INPUT, "input", -1, -1);
    m->graph.nodes[in].input_shape = (sal_shape){4, 0, h, w, c};
    m->in_h = h;
    m->in_w = w;
    m->in_c = c;
    m->n_classes = classes;
    return m;
}

enum { BH = 6, BW = 5, BC = 2, B_IN = BH * BW * BC, B_CLASSES = 4 };
enum { PAD_T = 1, PAD_B = 0, PAD_L = 2, PAD_R = 1, PH = BH + PAD_T + PAD_B, PW = BW + PAD_L + PAD_R };

/* input 6x5x2 -> affine -> zero pad = 'pad', read by two branches that both
 * need its value backward: relu -> conv 3x3 same, and tanh.  Then add ->
 * multiply(s, s) -> s * gap(s) (channel vector second) -> gap(s) * that
 * (vector first) -> add(t, t) -> concat with the tanh -> global avg -> dense 4. */
static sal_model *build_branchy_model(void) {
    sal_model *m = new_model(BH, BW, BC, B_CLASSES);
    sal_graph *g = &m->graph;
    int af = add(g, SAL_OP_AFFINE, "affine", 0, -1);
    set_affine(&g->nodes[af], BC);
    int pad = add(g, SAL_OP_ZERO_PAD, "pad", af, -1);
    g->nodes[pad].pad_top = PAD_T;
    g->nodes[pad].pad_bottom = PAD_B;
    g->nodes[pad].pad_left = PAD_L;
    g->nodes[pad].pad_right = PAD_R;
    int relu = add(g, SAL_OP_ACTIVATION, "relu", pad, -1);
    g->nodes[relu].act = SAL_ACT_RELU;
    int conv = add(g, SAL_OP_CONV2D, "conv", relu, -1);
    set_conv(&g->nodes[conv], 3, 1, BC, BC, SAL_PAD_SAME);
    int th = add(g, SAL_OP_ACTIVATION, "tanh", pad, -1);
    g->nodes[th].act = SAL_ACT_TANH;
    int sum = add(g, SAL_OP_ADD, "sum", conv, th);
    int square = add(g, SAL_OP_MULTIPLY, "square", sum, sum);
    int gate = add(g, SAL_OP_GLOBAL_AVG_POOL, "gate", square, -1);
    g->nodes[gate].keepdims = 1;
    int scaled = add(g, SAL_OP_MULTIPLY, "scaled", square, gate);
    int rescaled = add(g, SAL_OP_MULTIPLY, "rescaled", gate, scaled);
    int twice = add(g, SAL_OP_ADD, "twice", rescaled, rescaled);
    int cat = add(g, SAL_OP_CONCAT, "concat", twice, th);
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", cat, -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    set_dense(&g->nodes[fc], 2 * BC, B_CLASSES);
    /* Averages shrink the gradient; large weights lift it well above the
     * finite differences' absolute tolerance. */
    for (int k = 0; k < 2 * BC * B_CLASSES; k++) g->nodes[fc].weights[k] *= 50.0f;
    g->output = fc;
    return m;
}

/* Finite differences on the branchy net; then the gradient at 'pad', where
 * the two branches meet, taken back through the padding and the affine map
 * by hand must give that input gradient. */
static void test_branches(void) {
    sal_model *m = build_branchy_model();
    const sal_node *affine = &m->graph.nodes[sal_graph_find(&m->graph, "affine")];
    float *x = random_array(B_IN, 1.0f);
    for (int i = 0; i < B_IN; i++) { /* keep the relu's inputs away from its kink */
        int c = i % BC;
        if (fabsf(x[i] * affine->scale[c] + affine->shift[c]) < 0.05f) x[i] += 0.1f / affine->scale[c];
    }
    float grad[B_IN];
    check_input_gradient(m, x, 2, grad, "branchy net");

    sal_error err;
    sal_context *ctx = sal_context_create(m, 2, &err);
    int target = 2;
    float act[PH * PW * BC], pad_grad[PH * PW * BC], want_act[PH * PW * BC], want_grad[B_IN];
    sal_backward_request req = {.targets = &target, .layer = "pad", .layer_activation = act,
                                .layer_gradient = pad_grad};
    CHECK(sal_backward(ctx, x, 1, BH, BW, &req, &err) == SAL_OK, "backward at 'pad': %s", err.message);
    memset(want_act, 0, sizeof want_act);
    for (int y = 0; y < BH; y++)
        for (int u = 0; u < BW; u++)
            for (int c = 0; c < BC; c++) {
                int at = ((y + PAD_T) * PW + u + PAD_L) * BC + c, i = (y * BW + u) * BC + c;
                want_act[at] = x[i] * affine->scale[c] + affine->shift[c];
                want_grad[i] = pad_grad[at] * affine->scale[c];
            }
    CHECK_CLOSE(act, want_act, PH * PW * BC, 1e-6, 1e-6, "activation of 'pad'");
    CHECK_CLOSE(want_grad, grad, B_IN, 1e-6, 1e-4, "gradient at 'pad' taken back to the input");
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

enum { ZH = 7, ZW = 6, ZC = 3, Z_IN = ZH * ZW * ZC, Z_CLASSES = 3 };
enum { ZP_H = ZH + 1 + 2, ZP_W = ZW + 0 + 1, Z_PAD = ZP_H * ZP_W * ZC };     /* pad (1,2),(0,1) */
enum { ZR_H = (ZP_H - 3) / 2 + 1, ZR_W = (ZP_W - 3) / 2 + 1, ZR_C = 4, Z_ACT = ZR_H * ZR_W * ZR_C };
enum { Z_PAD2 = (ZR_H + 2) * (ZR_W + 2) * ZR_C };                            /* pad2 1 all round */

/* input 7x6x3 -> pad (1,2),(0,1) -> conv 3x3/2 valid (4) -> tanh -> pad2 1
 * -> depthwise 3x3 same -> global avg -> dense 3: both pads are folded into
 * the convolutions that read them. */
static sal_model *build_padded_model(void) {
    sal_model *m = new_model(ZH, ZW, ZC, Z_CLASSES);
    sal_graph *g = &m->graph;
    int pad = add(g, SAL_OP_ZERO_PAD, "pad", 0, -1);
    g->nodes[pad].pad_top = 1, g->nodes[pad].pad_bottom = 2, g->nodes[pad].pad_right = 1;
    int conv = add(g, SAL_OP_CONV2D, "conv", pad, -1);
    set_conv(&g->nodes[conv], 3, 2, ZC, ZR_C, SAL_PAD_VALID);
    int act = add(g, SAL_OP_ACTIVATION, "tanh", conv, -1);
    g->nodes[act].act = SAL_ACT_TANH; /* smooth, for the finite differences */
    int pad2 = add(g, SAL_OP_ZERO_PAD, "pad2", act, -1);
    sal_node *p2 = &g->nodes[pad2];
    p2->pad_top = p2->pad_bottom = p2->pad_left = p2->pad_right = 1;
    int dw = add(g, SAL_OP_DEPTHWISE_CONV2D, "dw", pad2, -1);
    sal_node *d = &g->nodes[dw];
    d->kh = d->kw = 3;
    d->stride_h = d->stride_w = d->dilation_h = d->dilation_w = d->depth_multiplier = 1;
    d->padding = SAL_PAD_SAME;
    d->in_channels = ZR_C;
    d->weights = random_array(3 * 3 * ZR_C, 0.5f);
    d->bias = random_array(ZR_C, 0.1f);
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", dw, -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    set_dense(&g->nodes[fc], ZR_C, Z_CLASSES);
    for (int k = 0; k < ZR_C * Z_CLASSES; k++) g->nodes[fc].weights[k] *= 20.0f;
    g->output = fc;
    return m;
}

/* The padded tensor's inner part, pad rows top/left away: gradients of a pad
 * go back to its input by cropping.  Returns how many cells outside it are
 * not zero. */
static int crop(const float *padded, int h, int w, int c, int top, int left, int padded_h, int padded_w,
                float *out) {
    int nonzero = 0;
    for (int y = 0; y < padded_h; y++)
        for (int u = 0; u < padded_w; u++)
            for (int k = 0; k < c; k++) {
                float v = padded[((size_t)y * padded_w + u) * c + k];
                int inside = y >= top && y < top + h && u >= left && u < left + w;
                if (inside) out[((size_t)(y - top) * w + u - left) * c + k] = v;
                else nonzero += v != 0.0f;
            }
    return nonzero;
}

static void check_close_on(const char *backend, const float *a, const float *b, int n, double atol, double rtol,
                           const char *what) {
    char message[160];
    snprintf(message, sizeof message, "%s: %s", backend, what);
    CHECK_CLOSE(a, b, n, atol, rtol, message);
}

/* A run reads through the folded pads; one that asks for a pad runs it.
 * Finite differences check the folded run; the pads' activations are the
 * zero-padded values of their inputs and their gradients, cropped, are their
 * inputs' gradients; and asking for a pad leaves the input gradient as it was. */
static void test_folded_pads(sal_backend backend) {
    const char *name = sal_backend_name(backend);
    sal_model *m = build_padded_model();
    float *x = random_array(Z_IN, 1.0f);
    float grad[Z_IN];
    check_input_gradient(m, x, 1, grad, "padded net");
    sal_error err;
    sal_context *ctx = sal_context_create_backend(m, 2, backend, &err);
    CHECK(ctx != NULL, "%s: context: %s", name, err.message);
    if (!ctx) return;
    int target = 1;
    float pad_act[Z_PAD], pad_grad[Z_PAD], g1[Z_IN], cropped[Z_IN];
    float tanh_act[Z_ACT], tanh_grad[Z_ACT], pad2_act[Z_PAD2], pad2_grad[Z_PAD2], g2[Z_IN], inner[Z_ACT];
    sal_backward_request at_pad = {.targets = &target, .layer = "pad", .layer_activation = pad_act,
                                   .layer_gradient = pad_grad, .input_gradient = g1};
    sal_backward_request at_tanh = {.targets = &target, .layer = "tanh", .layer_activation = tanh_act,
                                    .layer_gradient = tanh_grad, .input_gradient = grad};
    sal_backward_request at_pad2 = {.targets = &target, .layer = "pad2", .layer_activation = pad2_act,
                                    .layer_gradient = pad2_grad, .input_gradient = g2};
    CHECK(sal_backward(ctx, x, 1, ZH, ZW, &at_tanh, &err) == SAL_OK, "%s: at tanh: %s", name, err.message);
    CHECK(sal_backward(ctx, x, 1, ZH, ZW, &at_pad, &err) == SAL_OK, "%s: at pad: %s", name, err.message);
    CHECK(sal_backward(ctx, x, 1, ZH, ZW, &at_pad2, &err) == SAL_OK, "%s: at pad2: %s", name, err.message);
    check_close_on(name, g1, grad, Z_IN, 1e-6, 1e-5, "input gradient asking for pad");
    check_close_on(name, g2, grad, Z_IN, 1e-6, 1e-5, "input gradient asking for pad2");
    int pad_zeros = crop(pad_act, ZH, ZW, ZC, 1, 0, ZP_H, ZP_W, cropped);
    check_close_on(name, cropped, x, Z_IN, 0, 0, "pad's activation, cropped");
    crop(pad_grad, ZH, ZW, ZC, 1, 0, ZP_H, ZP_W, cropped);
    check_close_on(name, cropped, grad, Z_IN, 1e-6, 1e-5, "pad's gradient, cropped");
    int pad2_zeros = crop(pad2_act, ZR_H, ZR_W, ZR_C, 1, 1, ZR_H + 2, ZR_W + 2, inner);
    check_close_on(name, inner, tanh_act, Z_ACT, 0, 0, "pad2's activation, cropped");
    crop(pad2_grad, ZR_H, ZR_W, ZR_C, 1, 1, ZR_H + 2, ZR_W + 2, inner);
    check_close_on(name, inner, tanh_grad, Z_ACT, 1e-6, 1e-5, "pad2's gradient, cropped");
    CHECK(pad_zeros == 0 && pad2_zeros == 0, "%s: %d and %d padding cells are not zero", name, pad_zeros,
          pad2_zeros);
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

enum { GH = 8, GW = 7, GC = 3, G_IN = GH * GW * GC, G_CLASSES = 3, G_MAX = GH * GW * 6 };

static int add_conv(sal_graph *g, const char *name, int in, int k, int stride, int cin, int cout, sal_padding pad) {
    int node = add(g, SAL_OP_CONV2D, name, in, -1);
    set_conv(&g->nodes[node], k, stride, cin, cout, pad);
    return node;
}

static int add_act(sal_graph *g, const char *name, int in, sal_activation act) {
    int node = add(g, SAL_OP_ACTIVATION, name, in, -1);
    g->nodes[node].act = act;
    return node;
}

/* input 8x7x3 -> c1 conv 3x3 same (6) -> r1 relu6 -> pad (0,1),(0,1) -> dw
 * depthwise 3x3/2 valid -> r2 relu -> pw conv 1x1 (5) -> r3 relu -> c3 conv
 * 3x3 same (4) -> global avg -> dense 3.  r1, r2 and r3 each alone read
 * their input and are read by one convolution: the convolutions take their
 * backward steps. */
static sal_model *build_gated_model(void) {
    sal_model *m = new_model(GH, GW, GC, G_CLASSES);
    sal_graph *g = &m->graph;
    int r1 = add_act(g, "r1", add_conv(g, "c1", 0, 3, 1, GC, 6, SAL_PAD_SAME), SAL_ACT_RELU6);
    for (int k = 0; k < 3 * 3 * GC * 6; k++) g->nodes[1].weights[k] *= 6.0f; /* outputs past 6 too */
    int pad = add(g, SAL_OP_ZERO_PAD, "pad", r1, -1);
    g->nodes[pad].pad_bottom = g->nodes[pad].pad_right = 1;
    int dw = add(g, SAL_OP_DEPTHWISE_CONV2D, "dw", pad, -1);
    sal_node *d = &g->nodes[dw];
    d->kh = d->kw = 3;
    d->stride_h = d->stride_w = 2;
    d->dilation_h = d->dilation_w = d->depth_multiplier = 1;
    d->padding = SAL_PAD_VALID;
    d->in_channels = 6;
    d->weights = random_array(3 * 3 * 6, 0.5f);
    d->bias = random_array(6, 0.2f);
    int r2 = add_act(g, "r2", dw, SAL_ACT_RELU);
    int r3 = add_act(g, "r3", add_conv(g, "pw", r2, 1, 1, 6, 5, SAL_PAD_VALID), SAL_ACT_RELU);
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", add_conv(g, "c3", r3, 3, 1, 5, 4, SAL_PAD_SAME), -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    set_dense(&g->nodes[fc], 4, G_CLASSES);
    g->output = fc;
    return m;
}

/* The ReLU family's backward step, written out: under the three rules. */
static float relu_rule_step(sal_relu_rule rule, float upper, float y, float dy) {
    int inside = y > 0 && y < upper;
    if (rule == SAL_RELU_DECONVNET) return dy > 0 ? dy : 0.0f;
    if (rule == SAL_RELU_GUIDED) return inside && dy > 0 ? dy : 0.0f;
    return inside ? dy : 0.0f;
}

/* Under every rule: asking for an activation (which then runs its own step)
 * leaves the input gradient as it is bit for bit, and the gradient at the
 * activation's input (the convolution having taken the step) is the step
 * applied to the activation's own gradient. */
static void test_gated_activations(sal_backend backend) {
    const char *name = sal_backend_name(backend);
    sal_model *m = build_gated_model();
    float *x = random_array(G_IN, 1.0f);
    sal_error err;
    sal_context *ctx = sal_context_create_backend(m, 2, backend, &err);
    CHECK(ctx != NULL, "%s: context: %s", name, err.message);
    const char *acts[] = {"r1", "r2", "r3"}, *inputs[] = {"c1", "dw", "pw"};
    const float uppers[] = {6.0f, INFINITY, INFINITY};
    const sal_relu_rule rules[] = {SAL_RELU_STANDARD, SAL_RELU_GUIDED, SAL_RELU_DECONVNET};
    int target = 2, kept = 0, zeroed = 0;
    for (int r = 0; ctx && r < 3; r++) {
        float plain[G_IN], grad[G_IN], act[G_MAX], act_grad[G_MAX], in_grad[G_MAX];
        sal_backward_request req = {.targets = &target, .relu_rule = rules[r], .input_gradient = plain};
        CHECK(sal_backward(ctx, x, 1, GH, GW, &req, &err) == SAL_OK, "%s: rule %d: %s", name, r, err.message);
        for (int a = 0; a < 3; a++) {
            sal_backward_request at_act = {.targets = &target, .relu_rule = rules[r], .layer = acts[a],
                                           .layer_activation = act, .layer_gradient = act_grad,
                                           .input_gradient = grad};
            sal_backward_request at_input = {.targets = &target, .relu_rule = rules[r], .layer = inputs[a],
                                             .layer_gradient = in_grad};
            int shape[4];
            CHECK(sal_layer_shape(ctx, acts[a], GH, GW, shape, &err) == SAL_OK, "shape: %s", err.message);
            int count = shape[1] * shape[2] * shape[3];
            CHECK(sal_backward(ctx, x, 1, GH, GW, &at_act, &err) == SAL_OK, "%s: at %s: %s", name, acts[a],
                  err.message);
            CHECK(sal_backward(ctx, x, 1, GH, GW, &at_input, &err) == SAL_OK, "%s: at %s: %s", name, inputs[a],
                  err.message);
            CHECK(memcmp(plain, grad, sizeof grad) == 0, "%s: rule %d: input gradient changes asking for %s", name,
                  r, acts[a]);
            int wrong = 0;
            for (int k = 0; k < count; k++) {
                float want = relu_rule_step(rules[r], uppers[a], act[k], act_grad[k]);
                wrong += in_grad[k] != want;
                kept += want != 0;
                zeroed += want == 0 && act_grad[k] != 0;
            }
            CHECK(wrong == 0, "%s: rule %d: %d of %d gradients at %s are not %s's step", name, r, wrong, count,
                  inputs[a], acts[a]);
        }
    }
    CHECK(kept > 0 && zeroed > 0, "%s: the steps kept %d gradients and zeroed %d", name, kept, zeroed);
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

enum { RH = 6, RW = 5, RC = 3, R_IN = RH * RW * RC, R_CLASSES = 3, R_ACT = RH * RW * 4 };

/* input 6x5x3 -> c1 conv 3x3 same (4) -> r1 relu -> c2 conv 3x3 same (4);
 * sum = add(c2, r1) -> out relu -> c3 conv 1x1 (4) -> global avg -> dense 3.
 * out runs inside sum; out, sum and c2 share one gradient buffer. */
static sal_model *build_residual_model(void) {
    sal_model *m = new_model(RH, RW, RC, R_CLASSES);
    sal_graph *g = &m->graph;
    int r1 = add_act(g, "r1", add_conv(g, "c1", 0, 3, 1, RC, 4, SAL_PAD_SAME), SAL_ACT_RELU);
    int c2 = add_conv(g, "c2", r1, 3, 1, 4, 4, SAL_PAD_SAME);
    int out = add_act(g, "out", add(g, SAL_OP_ADD, "sum", c2, r1), SAL_ACT_RELU);
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", add_conv(g, "c3", out, 1, 1, 4, 4, SAL_PAD_VALID), -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    set_dense(&g->nodes[fc], 4, R_CLASSES);
    g->output = fc;
    return m;
}

/* A residual Add with its ReLU inside it and gradients passed through
 * shared buffers: asked for as layers, the Add gives c2 + r1 and the ReLU's
 * step applied to out's gradient, c2 the Add's gradient, and the input
 * gradient stays the same bit for bit, under every rule. */
static void test_residual_add(void) {
    sal_model *m = build_residual_model();
    float *x = random_array(R_IN, 1.0f);
    sal_error err;
    sal_context *ctx = sal_context_create_backend(m, 2, SAL_BACKEND_PORTABLE, &err);
    CHECK(ctx != NULL, "context: %s", err.message);
    const sal_relu_rule rules[] = {SAL_RELU_STANDARD, SAL_RELU_GUIDED, SAL_RELU_DECONVNET};
    int target = 1, negative = 0;
    for (int r = 0; ctx && r < 3; r++) {
        float plain[R_IN], g[4][R_IN], act[4][R_ACT], grad[4][R_ACT];
        const char *layers[] = {"sum", "out", "c2", "r1"};
        sal_backward_request req = {.targets = &target, .relu_rule = rules[r], .input_gradient = plain};
        CHECK(sal_backward(ctx, x, 1, RH, RW, &req, &err) == SAL_OK, "rule %d: %s", r, err.message);
        for (int k = 0; k < 4; k++) {
            sal_backward_request at = {.targets = &target, .relu_rule = rules[r], .layer = layers[k],
                                       .layer_activation = act[k], .layer_gradient = grad[k], .input_gradient = g[k]};
            CHECK(sal_backward(ctx, x, 1, RH, RW, &at, &err) == SAL_OK, "rule %d at %s: %s", r, layers[k],
                  err.message);
            CHECK(memcmp(plain, g[k], sizeof plain) == 0, "rule %d: input gradient changes asking for %s", r,
                  layers[k]);
        }
        int wrong = 0;
        for (int i = 0; i < R_ACT; i++) {
            negative += act[0][i] < 0;
            wrong += act[0][i] != act[2][i] + act[3][i];
            wrong += act[1][i] != (act[0][i] > 0 ? act[0][i] : 0.0f);
            wrong += grad[0][i] != relu_rule_step(rules[r], INFINITY, act[1][i], grad[1][i]);
            wrong += grad[2][i] != grad[0][i];
        }
        CHECK(wrong == 0, "rule %d: %d values of sum, out and c2 disagree", r, wrong);
    }
    CHECK(negative > 0, "the Add never went below zero");
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

/* input 5x4x2 -> conv 3x3 same (3) -> batch norm -> relu -> global avg -> dense 3 */
enum { FH = 5, FW = 4, FC = 2, F_OUT = 3, F_IN = FH * FW * FC, F_ACT = FH * FW * F_OUT };
static sal_model *build_conv_bn_model(unsigned seed) {
    rng_state = seed;
    sal_model *m = new_model(FH, FW, FC, 3);
    sal_graph *g = &m->graph;
    int conv = add(g, SAL_OP_CONV2D, "conv", 0, -1);
    set_conv(&g->nodes[conv], 3, 1, FC, F_OUT, SAL_PAD_SAME);
    int bn = add(g, SAL_OP_AFFINE, "bn", conv, -1);
    set_affine(&g->nodes[bn], F_OUT);
    g->nodes[bn].scale[1] = -g->nodes[bn].scale[1];
    int relu = add(g, SAL_OP_ACTIVATION, "relu", bn, -1);
    g->nodes[relu].act = SAL_ACT_RELU;
    int gap = add(g, SAL_OP_GLOBAL_AVG_POOL, "gap", relu, -1);
    int fc = add(g, SAL_OP_DENSE, "fc", gap, -1);
    set_dense(&g->nodes[fc], F_OUT, 3);
    g->output = fc;
    return m;
}

/* Activation and gradient (of logit 1) at `layer` of a conv_bn model. */
static int conv_bn_layer(const sal_model *m, const float *x, const char *layer, float *act, float *grad,
                         sal_error *err) {
    sal_context *ctx = sal_context_create(m, 1, err);
    if (!ctx) return err->status;
    int target = 1;
    sal_backward_request req = {.targets = &target, .layer = layer, .layer_activation = act, .layer_gradient = grad};
    int status = sal_backward(ctx, x, 1, FH, FW, &req, err);
    sal_context_free(ctx);
    return status;
}

/* A convolution whose batch norm was folded in still answers with its own
 * output and gradient: the same as in the unfolded graph. */
static void test_folded_batch_norm(void) {
    sal_model *plain = build_conv_bn_model(777u), *folded = build_conv_bn_model(777u);
    sal_error err;
    CHECK(sal_graph_simplify(&folded->graph, &err) == SAL_OK, "simplify: %s", err.message);
    CHECK(folded->graph.n_nodes == plain->graph.n_nodes - 1, "the batch norm was not folded");
    float *x = random_array(F_IN, 1.0f);
    const char *layers[] = {"bn", "conv"};
    float act[F_ACT], grad[F_ACT], want_act[F_ACT], want_grad[F_ACT];
    for (int l = 0; l < 2; l++) {
        CHECK(conv_bn_layer(plain, x, layers[l], want_act, want_grad, &err) == SAL_OK, "plain: %s", err.message);
        CHECK(conv_bn_layer(folded, x, layers[l], act, grad, &err) == SAL_OK, "folded: %s", err.message);
        CHECK_CLOSE(act, want_act, F_ACT, 1e-5, 1e-4, layers[l]);
        CHECK_CLOSE(grad, want_grad, F_ACT, 1e-7, 1e-5, layers[l]);
    }
    /* A batch norm that zeroes channel 2: the conv's output there is lost,
     * its gradient there is 0. */
    folded->graph.nodes[1].fold_scale[2] = 0.0f;
    CHECK(conv_bn_layer(folded, x, "conv", act, NULL, &err) == SAL_ERR_UNSUPPORTED && strstr(err.message, "'bn'"),
          "activation through a zeroed channel: %s", err.message);
    CHECK(conv_bn_layer(folded, x, "conv", NULL, grad, &err) == SAL_OK, "gradient only: %s", err.message);
    for (int k = 2; k < F_ACT; k += F_OUT) want_grad[k] = 0.0f;
    CHECK_CLOSE(grad, want_grad, F_ACT, 1e-7, 1e-5, "gradient at 'conv' with channel 2 zeroed");
    free(x);
    free_model(plain);
    free_model(folded);
}

/* Class scores that are not one vector per image are refused, not written
 * past the caller's batch x classes buffer. */
static void test_spatial_output(void) {
    sal_model *m = new_model(4, 4, 2, 3);
    int conv = add(&m->graph, SAL_OP_CONV2D, "conv", 0, -1);
    set_conv(&m->graph.nodes[conv], 1, 1, 2, 3, SAL_PAD_VALID);
    m->graph.output = conv;
    sal_error err;
    sal_context *ctx = sal_context_create(m, 1, &err);
    float *x = random_array(4 * 4 * 2, 1.0f);
    float logits[3], grad[4 * 4 * 2];
    CHECK(sal_forward(ctx, x, 1, 4, 4, logits, NULL, &err) == SAL_ERR_UNSUPPORTED && strstr(err.message, "conv"),
          "spatial scores, forward: %s", err.message);
    sal_backward_request req = {.input_gradient = grad, .logits = logits};
    CHECK(sal_backward(ctx, x, 1, 4, 4, &req, &err) == SAL_ERR_UNSUPPORTED, "spatial scores, backward: %s",
          err.message);
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

static void test_errors(void) {
    sal_model *m = build_model(SAL_ACT_RELU);
    sal_error err;
    sal_context *ctx = sal_context_create(m, 1, &err);
    float *x = random_array(N_IN, 1.0f);
    float grad[N_IN], act[64];
    int bad = 5;
    sal_backward_request req = {.targets = &bad, .input_gradient = grad};
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "5"),
          "target out of range: %s", err.message);
    req.targets = NULL;
    req.layer = "nope";
    req.layer_activation = act;
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "nope"),
          "unknown layer: %s", err.message);
    req.layer = "softmax";
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_ERR_ARGUMENT, "layer after logits: %s", err.message);
    req.layer = NULL;
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "layer name"),
          "activation without a layer: %s", err.message);
    req.layer_activation = NULL;
    req.relu_rule = (sal_relu_rule)7;
    CHECK(sal_backward(ctx, x, 1, H, W, &req, &err) == SAL_ERR_ARGUMENT && strstr(err.message, "7"),
          "unknown ReLU rule: %s", err.message);
    req.relu_rule = SAL_RELU_GUIDED;
    x[17] = NAN;
    CHECK(sal_forward(ctx, x, 1, H, W, NULL, NULL, &err) == SAL_ERR_NUMERIC && strstr(err.message, "NaN"),
          "NaN input: %s", err.message);
    x[17] = 0;
    CHECK(sal_forward(ctx, x, 0, H, W, NULL, NULL, &err) == SAL_ERR_ARGUMENT, "batch 0: %s", err.message);
    CHECK(sal_forward(ctx, x, 1, 1, 1, NULL, NULL, &err) != SAL_OK, "1x1 input: %s", err.message);
    CHECK(sal_forward(ctx, x, 1, H, W, NULL, NULL, &err) == SAL_OK, "usable after errors: %s", err.message);
    CHECK(sal_context_create(NULL, 1, &err) == NULL && err.status == SAL_ERR_ARGUMENT, "NULL model");
    free(x);
    sal_context_free(ctx);
    free_model(m);
}

int main(void) {
    test_finite_differences(SAL_ACT_TANH, "tanh net");
    test_finite_differences(SAL_ACT_SWISH, "swish net");
    test_finite_differences(SAL_ACT_SIGMOID, "sigmoid net");
    test_batches_threads_and_replanning();
    test_images_apart(SAL_BACKEND_PORTABLE);
    if (sal_backend_available(SAL_BACKEND_XNNPACK)) test_images_apart(SAL_BACKEND_XNNPACK);
    test_fused_activation_layers();
    test_spans();
    test_named_layers();
    test_errors();
    test_branches();
    test_folded_pads(SAL_BACKEND_PORTABLE);
    test_gated_activations(SAL_BACKEND_PORTABLE);
    if (sal_backend_available(SAL_BACKEND_XNNPACK)) test_gated_activations(SAL_BACKEND_XNNPACK);
    if (sal_backend_available(SAL_BACKEND_XNNPACK)) test_folded_pads(SAL_BACKEND_XNNPACK);
    test_residual_add();
    test_folded_batch_norm();
    test_spatial_output();
    return check_report();
}
