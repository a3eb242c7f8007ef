/* plan.c - shapes, windows and memory for one input shape.
 *
 * Values and gradients get offsets in one arena: each buffer is live over an
 * interval of the run's timeline (see executor.h) and is placed first-fit at
 * the lowest offset not used by a buffer whose interval overlaps it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "executor.h"

#define ALIGN_FLOATS 16 /* offsets are multiples of 64 bytes from the arena's start */

typedef struct {
    size_t size;
    int start, end;   /* inclusive steps */
    size_t *offset;   /* where to write the result */
} interval;

/* a + b, or SIZE_MAX when that overflows (size_t is 32 bits in wasm). */
static size_t add_saturating(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static size_t round_up(size_t n) { return add_saturating(n, ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

static int by_start_then_size(const void *a, const void *b) {
    const interval *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return 0;
}

static int overlaps(const interval *a, const interval *b) {
    return a->start <= b->end && b->start <= a->end;
}

/* First-fit placement; returns the arena size needed. */
static size_t place_intervals(interval *iv, int n) {
    qsort(iv, (size_t)n, sizeof *iv, by_start_then_size);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t offset = 0;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (int j = 0; j < i; j++) {
                if (!overlaps(&iv[i], &iv[j])) continue;
                size_t js = *iv[j].offset, je = js + iv[j].size;
                if (offset < je && js < offset + iv[i].size) {
                    offset = je;
                    moved = 1;
                }
            }
        }
        *iv[i].offset = offset;
        if (offset + iv[i].size > total) total = offset + iv[i].size;
    }
    return total;
}

static void resolve_window(const sal_node *node, sal_shape in, sal_window *win) {
    memset(win, 0, sizeof *win);
    win->kh = node->kh;
    win->kw = node->kw;
    win->stride_h = node->stride_h; /* shape inference rejected values below 1 */
    win->stride_w = node->stride_w;
    win->dilation_h = node->dilation_h;
    win->dilation_w = node->dilation_w;
    if (node->padding == SAL_PAD_SAME) {
        int total;
        sal_same_padding(in.h, win->kh, win->stride_h, win->dilation_h, &total, &win->pad_top);
        sal_same_padding(in.w, win->kw, win->stride_w, win->dilation_w, &total, &win->pad_left);
    }
}

static size_t node_scratch(const sal_context *ctx, const sal_plan *plan, int i) {
    const sal_node *node = &ctx->graph->nodes[i];
    if (node->op != SAL_OP_CONV2D && node->op != SAL_OP_DEPTHWISE_CONV2D) return 0;
    if (ctx->ops[i].on_xnn) return 0;
    size_t most = 0;
    for (int folded = 0; folded <= 1; folded++) { /* a folded pad runs as declared when asked for as a layer */
        sal_window_input in = sal_plan_window_input(ctx, plan, i, folded ? -1 : node->inputs[0]);
        sal_dims x = sal_dims_of(plan->shapes[in.node]), y = sal_dims_of(plan->shapes[i]);
        size_t s = node->op == SAL_OP_CONV2D ? sal_conv2d_scratch_floats(&ctx->ops[i].conv, x, y, in.window)
                                             : sal_depthwise_scratch_floats(&ctx->ops[i].depthwise, x, y, in.window);
        if (s > most) most = s;
    }
    return most;
}

static int alloc_tables(sal_plan *plan, int n) {
    plan->written = calloc((size_t)n, 1);
    plan->fused = calloc((size_t)n, 1);
    plan->shapes = calloc((size_t)n, sizeof *plan->shapes);
    plan->windows = calloc((size_t)n, sizeof *plan->windows);
    plan->broadcast = calloc((size_t)n, sizeof *plan->broadcast);
    plan->value_offset = calloc((size_t)n, sizeof *plan->value_offset);
    plan->grad_offset = calloc((size_t)n, sizeof *plan->grad_offset);
    plan->pad_fold = calloc((size_t)n, sizeof *plan->pad_fold);
    plan->fold_windows = calloc((size_t)n, sizeof *plan->fold_windows);
    plan->gateable = calloc((size_t)n, 1);
    plan->grad_shares = calloc((size_t)n, sizeof *plan->grad_shares);
    return plan->written && plan->fused && plan->shapes && plan->windows && plan->broadcast && plan->value_offset &&
           plan->grad_offset && plan->pad_fold && plan->fold_windows && plan->gateable && plan->grad_shares;
}

/* Everything but the arena and the scratch, which a new shape may reuse. */
static void release_tables(sal_plan *plan) {
    free(plan->written);
    free(plan->fused);
    free(plan->shapes);
    free(plan->windows);
    free(plan->broadcast);
    free(plan->value_offset);
    free(plan->grad_offset);
    free(plan->pad_fold);
    free(plan->fold_windows);
    free(plan->gateable);
    free(plan->grad_shares);
    plan->gateable = NULL;
    plan->grad_shares = NULL;
    plan->pad_fold = NULL;
    plan->fold_windows = NULL;
    plan->written = plan->fused = NULL;
    plan->shapes = NULL;
    plan->windows = NULL;
    plan->broadcast = NULL;
    plan->value_offset = plan->grad_offset = NULL;
    plan->ready = 0;
}

void sal_plan_release(sal_plan *plan) {
    release_tables(plan);
    free(plan->arena);
    free(plan->scratch);
    int worker = plan->worker;
    memset(plan, 0, sizeof *plan);
    plan->worker = worker;
}

/* The only node that reads node i, or -1. */
static int only_reader(const sal_context *ctx, int i) {
    int reader = -1;
    for (int j = i + 1; j <= ctx->logits; j++)
        for (int k = 0; k < ctx->graph->nodes[j].n_inputs; k++)
            if (ctx->graph->nodes[j].inputs[k] == i) {
                if (reader >= 0) return -1;
                reader = j;
            }
    return reader;
}

/* The node a's activation can run inside, or -1: a ReLU or ReLU6 after a
 * portable convolution or a two-input Add that nothing else reads.  The
 * source's own output is then never stored (forward.c stores it when it is
 * asked for as a layer), which saves a pass over memory. */
static int fusion_source(const sal_context *ctx, int a) {
    const sal_node *node = &ctx->graph->nodes[a];
    if (node->op != SAL_OP_ACTIVATION || node->n_inputs != 1) return -1;
    if (node->act != SAL_ACT_RELU && node->act != SAL_ACT_RELU6) return -1;
    int p = node->inputs[0];
    const sal_node *source = &ctx->graph->nodes[p];
    int conv = source->op == SAL_OP_CONV2D || source->op == SAL_OP_DEPTHWISE_CONV2D;
    if (!(conv && !ctx->ops[p].on_xnn) && !(source->op == SAL_OP_ADD && source->n_inputs == 2)) return -1;
    return only_reader(ctx, p) == a ? p : -1;
}

/* The convolution whose buffer node i shares because i's activation runs
 * inside it (choose_fusions), or -1. */
static int fused_into(const sal_context *ctx, const sal_plan *plan, int i) {
    const sal_node *node = &ctx->graph->nodes[i];
    int p = node->n_inputs == 1 ? node->inputs[0] : -1;
    return p >= 0 && plan->fused[p] ? p : -1;
}

static void choose_fusions(const sal_context *ctx, sal_plan *plan) {
    for (int a = 1; a <= ctx->logits; a++) {
        int p = fusion_source(ctx, a);
        if (p >= 0) plan->fused[p] = (unsigned char)ctx->graph->nodes[a].act;
    }
}

/* Zero padding followed by a convolution is the convolution with more
 * padding: the window's taps past the unpadded input read zeros already
 * (the kernels and XNNPACK take the padding after the input from the output
 * size).  Pools differ: their padding is not zeros. */
static void choose_pad_folds(const sal_context *ctx, sal_plan *plan) {
    for (int p = 1; p < ctx->logits; p++) {
        const sal_node *pad = &ctx->graph->nodes[p];
        if (pad->op != SAL_OP_ZERO_PAD || pad->n_inputs != 1 || pad->pad_top < 0 || pad->pad_left < 0) continue;
        int c = only_reader(ctx, p);
        if (c < 0) continue;
        const sal_node *reader = &ctx->graph->nodes[c];
        if (reader->op != SAL_OP_CONV2D && reader->op != SAL_OP_DEPTHWISE_CONV2D) continue;
        plan->pad_fold[p] = c;
        plan->pad_fold[c] = p;
        plan->fold_windows[c] = plan->windows[c];
        plan->fold_windows[c].pad_top += pad->pad_top;
        plan->fold_windows[c].pad_left += pad->pad_left;
    }
}

/* The input whose gradient buffer node i can use (see sal_plan), or -1. */
static int grad_share(const sal_context *ctx, int i) {
    const sal_node *node = &ctx->graph->nodes[i];
    int relu = node->op == SAL_OP_ACTIVATION && (node->act == SAL_ACT_RELU || node->act == SAL_ACT_RELU6);
    if (relu && node->n_inputs == 1) return only_reader(ctx, node->inputs[0]) == i ? node->inputs[0] : -1;
    if (node->op != SAL_OP_ADD) return -1;
    for (int k = 0; k < node->n_inputs; k++)
        if (only_reader(ctx, node->inputs[k]) == i) return node->inputs[k];
    return -1;
}

/* Is node a gateable (see sal_plan)?  Needs the pad folds and grad_shares. */
static int gateable(const sal_context *ctx, const sal_plan *plan, int a) {
    const sal_node *node = &ctx->graph->nodes[a];
    if (node->op != SAL_OP_ACTIVATION || plan->grad_shares[a] < 0) return 0;
    int c = only_reader(ctx, a);
    if (c < 0) return 0;
    if (ctx->graph->nodes[c].op == SAL_OP_ZERO_PAD && plan->pad_fold[c] > 0) c = plan->pad_fold[c];
    const sal_node *reader = &ctx->graph->nodes[c];
    return (reader->op == SAL_OP_CONV2D || reader->op == SAL_OP_DEPTHWISE_CONV2D) && !ctx->ops[c].on_xnn;
}

static void choose_gates(const sal_context *ctx, sal_plan *plan) {
    plan->grad_shares[0] = -1;
    for (int i = 1; i <= ctx->logits; i++) plan->grad_shares[i] = grad_share(ctx, i);
    for (int a = 1; a <= ctx->logits; a++) plan->gateable[a] = (unsigned char)gateable(ctx, plan, a);
}

/* The node whose gradient buffer node i's gradient uses: the end of its chain of grad_shares. */
static int grad_root(const sal_plan *plan, int i) {
    while (plan->grad_shares[i] >= 0) i = plan->grad_shares[i];
    return i;
}

/* The step of reader j of a value: the reader of a folded pad reads through it. */
static int reading_step(const sal_context *ctx, const sal_plan *plan, int j) {
    return ctx->graph->nodes[j].op == SAL_OP_ZERO_PAD && plan->pad_fold[j] > 0 ? plan->pad_fold[j] : j;
}

/* Interval of node i's value: from its step to its last reader. */
static interval value_interval(const sal_context *ctx, const sal_plan *plan, sal_plan_kind kind, int i) {
    const sal_graph *g = ctx->graph;
    int L = ctx->logits, end = i;
    for (int j = i + 1; j <= L; j++) {
        const sal_node *user = &g->nodes[j];
        for (int k = 0; k < user->n_inputs; k++) {
            if (user->inputs[k] != i) continue;
            if (reading_step(ctx, plan, j) > end) end = reading_step(ctx, plan, j);
            /* The first such reader runs its backward step last. */
            if (kind == SAL_PLAN_BACKWARD && sal_backward_needs_input_value(user) && 2 * L + 1 - j > end)
                end = 2 * L + 1 - j;
        }
    }
    if (kind == SAL_PLAN_BACKWARD && sal_backward_needs_output_value(&g->nodes[i])) {
        int step = 2 * L + 1 - i;
        if (step > end) end = step;
    }
    if (i == L && end < L + 1) end = L + 1; /* logits are read after the forward pass */
    interval iv = {round_up(sal_shape_count(plan->shapes[i])), i, end, NULL};
    return iv;
}

/* Interval of node i's gradient: from the backward step of its last consumer
 * (which writes it first) to its own backward step. */
static interval grad_interval(const sal_context *ctx, const sal_plan *plan, int i) {
    const sal_graph *g = ctx->graph;
    int L = ctx->logits, last_user = i;
    for (int j = i + 1; j <= L; j++)
        for (int k = 0; k < g->nodes[j].n_inputs; k++)
            if (g->nodes[j].inputs[k] == i && reading_step(ctx, plan, j) > last_user)
                last_user = reading_step(ctx, plan, j);
    int start = (i == L) ? L + 1 : 2 * L + 1 - last_user;
    interval iv = {round_up(sal_shape_count(plan->shapes[i])), start, 2 * L + 1 - i, NULL};
    return iv;
}

static int resolve_node(const sal_context *ctx, sal_plan *plan, int i, sal_error *err) {
    const sal_node *node = &ctx->graph->nodes[i];
    if (node->op == SAL_OP_CONV2D || node->op == SAL_OP_DEPTHWISE_CONV2D ||
        node->op == SAL_OP_MAX_POOL || node->op == SAL_OP_AVG_POOL)
        resolve_window(node, plan->shapes[node->inputs[0]], &plan->windows[i]);
    if (node->op == SAL_OP_MULTIPLY) {
        if (node->n_inputs != 2)
            return sal_fail(err, SAL_ERR_UNSUPPORTED, "layer '%s': Multiply of %d inputs (only 2 are supported)",
                            node->name, node->n_inputs);
        /* Shape inference let through equal shapes or one [n,1,1,c] channel vector: the smaller input. */
        size_t a = sal_shape_count(plan->shapes[node->inputs[0]]), b = sal_shape_count(plan->shapes[node->inputs[1]]);
        plan->broadcast[i] = b < a ? 1 : a < b ? 2 : 0;
    }
    return SAL_OK;
}

/* XNNPACK may read up to 16 bytes past the end of a tensor (its documented
 * XNN_EXTRA_BYTES); spare floats after each buffer make that read harmless. */
#define SPARE_FLOATS 16

/* *buffer holds at least `floats` (with its spare ones after), keeping the
 * one it has when that is large enough: methods alternate between batch
 * sizes (a full batch, then the rest), and a fresh block of that size costs
 * page faults on every first touch. */
static void fit_buffer(float **buffer, size_t *capacity, size_t floats) {
    if (*buffer && floats + SPARE_FLOATS <= *capacity) return;
    free(*buffer);
    *buffer = malloc((floats + SPARE_FLOATS) * sizeof(float));
    *capacity = *buffer ? floats + SPARE_FLOATS : 0;
}

/* Sizes the arena and the scratch (the kernels' part, then the temporaries). */
static int alloc_buffers(sal_plan *plan, size_t arena, size_t scratch, sal_error *err) {
    size_t total = add_saturating(add_saturating(arena, scratch), plan->tmp_floats);
    if (total >= SIZE_MAX / sizeof(float))
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory: buffers for a %dx%dx%d input exceed the address space",
                        plan->batch, plan->height, plan->width);
    fit_buffer(&plan->arena, &plan->arena_capacity, arena);
    fit_buffer(&plan->scratch, &plan->scratch_capacity, scratch + plan->tmp_floats);
    plan->arena_floats = arena;
    plan->scratch_floats = scratch;
    if (!plan->arena || !plan->scratch)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory: buffers for a %dx%dx%d input need %zu MB",
                        plan->batch, plan->height, plan->width, total * sizeof(float) >> 20);
    return SAL_OK;
}

static int layout_memory(const sal_context *ctx, sal_plan *plan, sal_plan_kind kind, sal_error *err) {
    int L = ctx->logits;
    int n = (kind == SAL_PLAN_BACKWARD) ? 2 * (L + 1) : L + 1;
    interval *iv = calloc((size_t)n, sizeof *iv);
    if (!iv) return sal_fail(err, SAL_ERR_MEMORY, "out of memory planning buffers");
    size_t largest = 0, scratch = 0, all_sizes = 0;
    for (int i = 0; i <= L; i++) {
        iv[i] = value_interval(ctx, plan, kind, i);
        iv[i].offset = &plan->value_offset[i];
        if (kind == SAL_PLAN_BACKWARD) {
            iv[L + 1 + i] = grad_interval(ctx, plan, i);
            iv[L + 1 + i].offset = &plan->grad_offset[i];
            /* A shared gradient lives in its root's buffer, from its own first write to the root's last read. */
            interval *root = &iv[L + 1 + grad_root(plan, i)], *own = &iv[L + 1 + i];
            if (own->start < root->start) root->start = own->start;
            if (own->end > root->end) root->end = own->end;
        }
        if (iv[i].size > largest) largest = iv[i].size;
        size_t s = node_scratch(ctx, plan, i);
        if (s > scratch) scratch = s;
        /* A fused activation has no buffer of its own: its convolution's lives as long as both. */
        int p = fused_into(ctx, plan, i);
        if (p >= 0 && iv[i].end > iv[p].end) iv[p].end = iv[i].end;
    }
    int placed = 0;
    for (int k = 0; k < n; k++)
        if (k <= L ? fused_into(ctx, plan, k) < 0 : plan->grad_shares[k - L - 1] < 0) iv[placed++] = iv[k];
    for (int k = 0; k < placed; k++) all_sizes = add_saturating(all_sizes, iv[k].size);
    /* No offset + size exceeds the sum of all sizes: if that fits, placing cannot overflow. */
    size_t arena = all_sizes < SIZE_MAX ? place_intervals(iv, placed) : SIZE_MAX;
    free(iv);
    for (int i = 0; i <= L; i++) {
        int p = fused_into(ctx, plan, i);
        if (p >= 0) plan->value_offset[i] = plan->value_offset[p];
        if (kind == SAL_PLAN_BACKWARD) plan->grad_offset[i] = plan->grad_offset[grad_root(plan, i)];
    }
    plan->tmp_floats = (kind == SAL_PLAN_BACKWARD) ? add_saturating(largest, largest) : 0;
    return alloc_buffers(plan, arena, round_up(scratch), err);
}

/* sal_forward and sal_backward hand out batch x classes scores. */
static int check_logits(const sal_context *ctx, sal_shape s, sal_error *err) {
    if (s.h == 1 && s.w == 1) return SAL_OK;
    return sal_fail(err, SAL_ERR_UNSUPPORTED,
                    "layer '%s': the class scores are %dx%dx%d per image, not one vector (add a pooling or "
                    "Flatten layer)",
                    ctx->graph->nodes[ctx->logits].name, s.h, s.w, s.c);
}

int sal_plan_prepare(const sal_context *ctx, sal_plan *plan, sal_plan_kind kind, int batch, int height, int width,
                     sal_error *err) {
    if (plan->ready && plan->batch == batch && plan->height == height && plan->width == width) return SAL_OK;
    release_tables(plan);
    int n = ctx->graph->n_nodes;
    if (!alloc_tables(plan, n)) {
        sal_plan_release(plan);
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory planning buffers");
    }
    plan->batch = batch;
    plan->height = height;
    plan->width = width;
    int status = sal_graph_infer_shapes(ctx->graph, batch, height, width, plan->shapes, err);
    if (status == SAL_OK) status = check_logits(ctx, plan->shapes[ctx->logits], err);
    for (int i = 0; status == SAL_OK && i <= ctx->logits; i++) status = resolve_node(ctx, plan, i, err);
    if (status == SAL_OK) choose_fusions(ctx, plan);
    if (status == SAL_OK) choose_pad_folds(ctx, plan);
    if (status == SAL_OK) choose_gates(ctx, plan);
    if (status == SAL_OK) status = layout_memory(ctx, plan, kind, err);
    if (status != SAL_OK) {
        sal_plan_release(plan);
        return status;
    }
    plan->ready = 1;
    return SAL_OK;
}
