/* xnnpack_nodes.c - the graph nodes that run on XNNPACK in a context of the
 * XNNPACK backend: creating their operators, preparing them for a plan's
 * shapes, running them.  Nodes it does not take, and the input gradients it
 * has no operator for (overlapping max pools, average pools), activations
 * and element-wise ops, stay with the portable kernels. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../executor/executor.h"

int sal_xnn_node_supported(const sal_node *node) {
    switch (node->op) {
    case SAL_OP_CONV2D:
    case SAL_OP_DEPTHWISE_CONV2D:
    case SAL_OP_DENSE:
    case SAL_OP_GLOBAL_AVG_POOL:
        return 1;
    case SAL_OP_MAX_POOL:
    case SAL_OP_AVG_POOL: return node->kh * node->kw > 1; /* XNNPACK refuses 1x1 pools */
    /* Not ReLU: XNNPACK's clamp turns NaN into 0, hiding a network that overflowed. */
    default: return 0;
    }
}

static int create_node(const sal_node *node, sal_xnn_node_op *op, sal_error *err) {
    switch (node->op) {
    case SAL_OP_CONV2D:
        sal_xnn_conv2d_create(&op->conv, node->weights, node->bias, node->kh, node->kw, node->in_channels,
                              node->filters);
        return SAL_OK;
    case SAL_OP_DEPTHWISE_CONV2D:
        sal_xnn_depthwise_create(&op->depthwise, node->weights, node->bias, node->kh, node->kw, node->in_channels,
                                 node->depth_multiplier);
        return SAL_OK;
    case SAL_OP_DENSE:
        return sal_xnn_dense_create(&op->dense, node->weights, node->bias, node->in_channels, node->filters, err);
    /* Pools learn their channels when prepared. */
    case SAL_OP_MAX_POOL: sal_xnn_max_pool_create(&op->max_pool); return SAL_OK;
    case SAL_OP_AVG_POOL: sal_xnn_avg_pool_create(&op->avg_pool); return SAL_OK;
    case SAL_OP_GLOBAL_AVG_POOL: sal_xnn_global_avg_pool_create(&op->global_avg_pool); return SAL_OK;
    default: return SAL_OK;
    }
}

static void destroy_node(const sal_node *node, sal_xnn_node_op *op) {
    switch (node->op) {
    case SAL_OP_CONV2D: sal_xnn_conv2d_destroy(&op->conv); break;
    case SAL_OP_DEPTHWISE_CONV2D: sal_xnn_depthwise_destroy(&op->depthwise); break;
    case SAL_OP_DENSE: sal_xnn_dense_destroy(&op->dense); break;
    case SAL_OP_MAX_POOL: sal_xnn_max_pool_destroy(&op->max_pool); break;
    case SAL_OP_AVG_POOL: sal_xnn_avg_pool_destroy(&op->avg_pool); break;
    case SAL_OP_GLOBAL_AVG_POOL: sal_xnn_global_avg_pool_destroy(&op->global_avg_pool); break;
    default: break;
    }
}

/* Worker w's operator of node i (executor.h: xnn_sets). */
static sal_xnn_node_op *worker_op(const sal_context *ctx, int w, int i) {
    return w == 0 ? &ctx->ops[i].xnn : &ctx->xnn_sets[w][i];
}

/* The pthreadpool for a plan's nodes: none when its worker runs beside others. */
static sal_xnn_pool pool_of(const sal_context *ctx, const sal_plan *plan) { return plan->pool ? ctx->xnn_pool : NULL; }

/* Worker w's operators, made like worker 0's (sal_xnn_nodes_create) the first time. */
static int make_worker_set(sal_context *ctx, int w, sal_error *err) {
    if (w == 0 || ctx->xnn_sets[w]) return SAL_OK;
    const sal_graph *g = ctx->graph;
    ctx->xnn_sets[w] = calloc((size_t)g->n_nodes, sizeof *ctx->xnn_sets[w]);
    if (!ctx->xnn_sets[w]) return sal_fail(err, SAL_ERR_MEMORY, "out of memory creating XNNPACK operators");
    int status = SAL_OK;
    for (int i = 1; status == SAL_OK && i < g->n_nodes; i++)
        if (ctx->ops[i].on_xnn) status = create_node(&g->nodes[i], &ctx->xnn_sets[w][i], err);
    return status;
}

/* Makes worker w's operators of node i for input shape x, output shape y and window win. */
static int prepare_node(sal_context *ctx, int w, int i, const sal_window *win, sal_dims x, sal_dims y, int backward,
                        sal_error *err) {
    const sal_node *node = &ctx->graph->nodes[i];
    sal_xnn_node_op *op = worker_op(ctx, w, i);
    switch (node->op) {
    case SAL_OP_CONV2D: return sal_xnn_conv2d_prepare(&op->conv, win, x, y, backward, err);
    case SAL_OP_DEPTHWISE_CONV2D: return sal_xnn_depthwise_prepare(&op->depthwise, win, x, y, backward, err);
    case SAL_OP_MAX_POOL: return sal_xnn_max_pool_prepare(&op->max_pool, win, x, y, backward, err);
    case SAL_OP_AVG_POOL: return sal_xnn_avg_pool_prepare(&op->avg_pool, win, x, y, err);
    case SAL_OP_GLOBAL_AVG_POOL: return sal_xnn_global_avg_pool_prepare(&op->global_avg_pool, x.c, err);
    default: return SAL_OK;
    }
}

/* A convolution reading through a folded pad gets the operators of both
 * ways to run it: a call that asks for the pad runs it as declared. */
int sal_xnn_nodes_prepare(sal_context *ctx, const sal_plan *plan, int backward, sal_error *err) {
    int w = plan->worker, status = make_worker_set(ctx, w, err);
    for (int i = 1; status == SAL_OK && i <= ctx->logits; i++) {
        if (!ctx->ops[i].on_xnn) continue;
        const sal_node *node = &ctx->graph->nodes[i];
        status = prepare_node(ctx, w, i, &plan->windows[i], sal_dims_of(plan->shapes[node->inputs[0]]),
                              sal_dims_of(plan->shapes[i]), backward, err);
        sal_window_input folded = sal_plan_window_input(ctx, plan, i, -1);
        if (status == SAL_OK && folded.node != node->inputs[0])
            status = prepare_node(ctx, w, i, folded.window, sal_dims_of(plan->shapes[folded.node]),
                                  sal_dims_of(plan->shapes[i]), backward, err);
    }
    return status;
}

/* The window plan.c resolves for a node reading shape `in` (see resolve_window there). */
static sal_window declared_window(const sal_node *node, sal_shape in) {
    sal_window win;
    memset(&win, 0, sizeof win);
    win.kh = node->kh, win.kw = node->kw;
    win.stride_h = node->stride_h, win.stride_w = node->stride_w;
    win.dilation_h = node->dilation_h, win.dilation_w = node->dilation_w;
    if (node->padding == SAL_PAD_SAME) {
        int total;
        sal_same_padding(in.h, win.kh, win.stride_h, win.dilation_h, &total, &win.pad_top);
        sal_same_padding(in.w, win.kw, win.stride_w, win.dilation_w, &total, &win.pad_left);
    }
    return win;
}

/* Packs the weights for the input size the model declares, so that the first
 * run at that size finds everything made.  Models with a free size wait. */
static int prepare_declared_size(sal_context *ctx, sal_error *err) {
    const sal_graph *g = ctx->graph;
    sal_shape declared = g->nodes[0].input_shape;
    if (declared.h <= 0 || declared.w <= 0) return SAL_OK;
    sal_shape *shapes = calloc((size_t)g->n_nodes, sizeof *shapes);
    if (!shapes) return sal_fail(err, SAL_ERR_MEMORY, "out of memory creating a context");
    int status = SAL_OK;
    /* A shape the graph rejects is reported by the first run, as without XNNPACK. */
    if (sal_graph_infer_shapes(g, 1, declared.h, declared.w, shapes, NULL) == SAL_OK)
        for (int i = 1; status == SAL_OK && i <= ctx->logits; i++) {
            if (!ctx->ops[i].on_xnn) continue;
            sal_shape in = shapes[g->nodes[i].inputs[0]];
            sal_window win = declared_window(&g->nodes[i], in);
            status = prepare_node(ctx, 0, i, &win, sal_dims_of(in), sal_dims_of(shapes[i]), 1, err);
        }
    free(shapes);
    return status;
}

int sal_xnn_nodes_create(sal_context *ctx, int n_threads, sal_error *err) {
    int status = sal_xnn_start(n_threads, &ctx->xnn_pool, err);
    if (status != SAL_OK) return status;
    ctx->xnn_started = 1;
    ctx->xnn_sets = calloc((size_t)ctx->workers, sizeof *ctx->xnn_sets);
    if (!ctx->xnn_sets) return sal_fail(err, SAL_ERR_MEMORY, "out of memory creating a context");
    const sal_graph *g = ctx->graph;
    for (int i = 1; status == SAL_OK && i < g->n_nodes; i++) {
        const sal_node *node = &g->nodes[i];
        if (!sal_xnn_node_supported(node)) continue;
        status = create_node(node, &ctx->ops[i].xnn, err);
        if (status == SAL_OK) ctx->ops[i].on_xnn = 1;
    }
    if (status == SAL_OK) status = prepare_declared_size(ctx, err);
    return status;
}

void sal_xnn_nodes_destroy(sal_context *ctx) {
    for (int w = 0; ctx->ops && w < ctx->workers; w++) {
        if (w > 0 && (!ctx->xnn_sets || !ctx->xnn_sets[w])) continue;
        for (int i = 0; i < ctx->graph->n_nodes; i++)
            if (ctx->ops[i].on_xnn) destroy_node(&ctx->graph->nodes[i], worker_op(ctx, w, i));
        if (w > 0) free(ctx->xnn_sets[w]);
    }
    free(ctx->xnn_sets);
    ctx->xnn_sets = NULL;
    if (ctx->xnn_started) sal_xnn_stop(ctx->xnn_pool);
    ctx->xnn_pool = NULL;
    ctx->xnn_started = 0;
}

/* Any infinity or NaN among n values (bit tests, so that it vectorizes). */
static int any_nonfinite(const float *v, size_t n) {
    const uint32_t *bits = (const uint32_t *)v;
    uint32_t found = 0;
    for (size_t i = 0; i < n; i++) found |= (bits[i] & 0x7f800000u) == 0x7f800000u;
    return found != 0;
}

/* XNNPACK's operators clamp their outputs, which turns NaN into an infinity
 * that a later tanh or sigmoid then saturates: an overflowing network could
 * come out with finite scores.  So an overflow is reported where it shows. */
static int check_overflow(const sal_node *node, const float *y, size_t count, sal_error *err) {
    if (!any_nonfinite(y, count)) return SAL_OK;
    return sal_fail(err, SAL_ERR_NUMERIC,
                    "layer '%s' overflowed (its output is infinite or NaN): check the pixel range and the "
                    "preprocessing", node->name);
}

static int run_forward(sal_context *ctx, const sal_plan *plan, int i, int layer, sal_error *err) {
    const sal_node *node = &ctx->graph->nodes[i];
    const sal_xnn_node_op *op = worker_op(ctx, plan->worker, i);
    sal_xnn_pool pool = pool_of(ctx, plan);
    sal_window_input read = sal_plan_window_input(ctx, plan, i, layer);
    int in = read.node;
    const float *x = sal_plan_value(plan, in);
    float *y = sal_plan_value(plan, i);
    sal_dims xd = sal_dims_of(plan->shapes[in]), yd = sal_dims_of(plan->shapes[i]);
    const sal_window *win = read.window;
    size_t count = sal_shape_count(plan->shapes[i]);
    switch (node->op) {
    case SAL_OP_CONV2D: return sal_xnn_conv2d_forward(&op->conv, pool, win, x, xd, y, yd, err);
    case SAL_OP_DEPTHWISE_CONV2D: return sal_xnn_depthwise_forward(&op->depthwise, pool, win, x, xd, y, yd, err);
    case SAL_OP_DENSE:
        return sal_xnn_dense_forward(&op->dense, pool, x, (int)(count / (size_t)yd.c), y, err);
    case SAL_OP_MAX_POOL: return sal_xnn_max_pool_forward(&op->max_pool, pool, win, x, xd, y, yd, err);
    case SAL_OP_AVG_POOL: return sal_xnn_avg_pool_forward(&op->avg_pool, pool, win, x, xd, y, yd, err);
    case SAL_OP_GLOBAL_AVG_POOL: return sal_xnn_global_avg_pool_forward(&op->global_avg_pool, pool, x, xd, y, err);
    default: return sal_fail(err, SAL_ERR_UNSUPPORTED, "layer '%s': no XNNPACK operator", node->name);
    }
}

int sal_xnn_node_forward(sal_context *ctx, const sal_plan *plan, int i, int layer, sal_error *err) {
    int status = run_forward(ctx, plan, i, layer, err);
    if (status != SAL_OK) return status;
    return check_overflow(&ctx->graph->nodes[i], sal_plan_value(plan, i), sal_shape_count(plan->shapes[i]), err);
}

int sal_xnn_node_backward(sal_context *ctx, const sal_plan *plan, int i, int layer, const float *dy, float *dx,
                          int *done, sal_error *err) {
    const sal_node *node = &ctx->graph->nodes[i];
    const sal_xnn_node_op *op = worker_op(ctx, plan->worker, i);
    sal_xnn_pool pool = pool_of(ctx, plan);
    sal_window_input read = sal_plan_window_input(ctx, plan, i, layer);
    int in = read.node;
    sal_dims xd = sal_dims_of(plan->shapes[in]), yd = sal_dims_of(plan->shapes[i]);
    const sal_window *win = read.window;
    *done = 1;
    switch (node->op) {
    case SAL_OP_CONV2D: return sal_xnn_conv2d_backward_input(&op->conv, pool, win, dy, yd, dx, xd, err);
    case SAL_OP_DEPTHWISE_CONV2D:
        return sal_xnn_depthwise_backward_input(&op->depthwise, pool, win, dy, yd, dx, xd, err);
    case SAL_OP_DENSE:
        return sal_xnn_dense_backward_input(&op->dense, pool, dy,
                                            (int)(sal_shape_count(plan->shapes[i]) / (size_t)yd.c), dx, err);
    case SAL_OP_MAX_POOL:
        if (sal_xnn_max_pool_backward_supported(win, xd, yd))
            return sal_xnn_max_pool_backward(&op->max_pool, pool, win, sal_plan_value(plan, in), xd, dy, yd, dx,
                                             err);
        break;
    default: break;
    }
    *done = 0;
    return SAL_OK;
}
