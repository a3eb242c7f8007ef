/* forward.c - runs the graph's nodes in order, up to the logits. */
#include <string.h>

#include "../bytes/error.h"
#include "executor.h"
#include "spans.h"

/* fused: only with two inputs (plan.c). */
static void forward_add(const sal_plan *plan, const sal_node *node, float *y, size_t count,
                        sal_kernel_activation fused) {
    const float *first = sal_plan_value(plan, node->inputs[0]);
    if (node->n_inputs < 2) {
        sal_spans_copy(plan->pool, y, first, count);
        return;
    }
    sal_spans_add(plan->pool, first, sal_plan_value(plan, node->inputs[1]), y, count, fused);
    for (int k = 2; k < node->n_inputs; k++)
        sal_spans_accumulate(plan->pool, y, sal_plan_value(plan, node->inputs[k]), count);
}

static void forward_multiply(const sal_plan *plan, int i, const sal_node *node, float *y) {
    int a = node->inputs[0], b = node->inputs[1];
    if (plan->broadcast[i] == 2) { /* the spatial operand goes first */
        a = node->inputs[1];
        b = node->inputs[0];
    }
    sal_multiply_forward(sal_plan_value(plan, a), sal_plan_value(plan, b), y, sal_dims_of(plan->shapes[a]),
                         plan->broadcast[i] != 0);
}

static void forward_concat(const sal_plan *plan, const sal_node *node, float *y, sal_shape out) {
    const float *xs[SAL_MAX_CONCAT];
    int cs[SAL_MAX_CONCAT];
    for (int k = 0; k < node->n_inputs; k++) {
        xs[k] = sal_plan_value(plan, node->inputs[k]);
        cs[k] = plan->shapes[node->inputs[k]].c;
    }
    sal_concat_forward(xs, cs, node->n_inputs, out.n, out.h, out.w, y);
}

/* layer: the node whose own output is wanted, so its activation, if fused
 * (plan.c), runs apart, in place, this time; and a pad folded into its
 * reader, if that is the layer, runs. */
static int run_node(sal_context *ctx, const sal_plan *plan, int i, int layer, float *scratch, sal_error *err) {
    const sal_node *node = &ctx->graph->nodes[i];
    const sal_node_op *op = &ctx->ops[i];
    if (sal_plan_skips_pad(ctx, plan, i, layer)) return SAL_OK;
#ifdef SAL_HAVE_XNNPACK
    if (op->on_xnn) return sal_xnn_node_forward(ctx, plan, i, layer, err);
#endif
    sal_shape out = plan->shapes[i];
    size_t count = sal_shape_count(out);
    float *y = sal_plan_value(plan, i);
    sal_window_input read = sal_plan_window_input(ctx, plan, i, layer); /* every node but the input has one */
    int in0 = read.node;
    const sal_window *win = read.window;
    const float *x = sal_plan_value(plan, in0);
    sal_dims xd = sal_dims_of(plan->shapes[in0]);
    sal_dims yd = sal_dims_of(out);
    sal_kernel_activation fused = i != layer ? (sal_kernel_activation)plan->fused[i] : SAL_K_LINEAR;
    int done_by_input = plan->fused[in0] && in0 != layer;

    switch (node->op) {
    case SAL_OP_INPUT: break; /* written by sal_run_forward */
    case SAL_OP_CONV2D: sal_conv2d_forward(&op->conv, plan->pool, win, x, xd, y, yd, scratch, fused); break;
    case SAL_OP_DEPTHWISE_CONV2D:
        sal_depthwise_forward(&op->depthwise, plan->pool, win, x, xd, y, yd, scratch, fused);
        break;
    case SAL_OP_AFFINE: sal_affine_forward(x, node->scale, node->shift, y, count, out.c); break;
    case SAL_OP_ACTIVATION:
        if (!done_by_input)
            sal_spans_activation_forward(plan->pool, (sal_kernel_activation)node->act, x, y, count, out.c);
        break;
    case SAL_OP_ADD: forward_add(plan, node, y, count, fused); break;
    case SAL_OP_MULTIPLY: forward_multiply(plan, i, node, y); break;
    case SAL_OP_CONCAT: forward_concat(plan, node, y, out); break;
    case SAL_OP_MAX_POOL: sal_max_pool_forward(plan->pool, win, x, xd, y, yd); break;
    case SAL_OP_AVG_POOL: sal_avg_pool_forward(plan->pool, win, x, xd, y, yd); break;
    case SAL_OP_GLOBAL_AVG_POOL: sal_global_avg_pool_forward(x, xd, y); break;
    case SAL_OP_GLOBAL_MAX_POOL: sal_global_max_pool_forward(x, xd, y); break;
    case SAL_OP_ZERO_PAD: sal_zero_pad_forward(x, xd, node->pad_top, node->pad_left, y, yd); break;
    case SAL_OP_DENSE: sal_dense_forward(&op->dense, plan->pool, x, (int)(count / (size_t)out.c), y); break;
    case SAL_OP_RESHAPE:
    case SAL_OP_IDENTITY:
    case SAL_OP_COUNT: sal_spans_copy(plan->pool, y, x, count); break;
    }
    return SAL_OK;
}

int sal_run_forward(sal_context *ctx, sal_plan *plan, const float *input, int layer, float *layer_value,
                    sal_error *err) {
    memcpy(sal_plan_value(plan, 0), input, sal_shape_count(plan->shapes[0]) * sizeof *input);
    int status = SAL_OK;
    for (int i = 0; i <= ctx->logits; i++) {
        if (i > 0) status = run_node(ctx, plan, i, layer_value ? layer : -1, plan->scratch, err);
        if (status != SAL_OK) return status;
        /* Copied now: the plan may reuse this node's memory once its readers ran. */
        if (i == layer && layer_value)
            memcpy(layer_value, sal_plan_value(plan, i), sal_shape_count(plan->shapes[i]) * sizeof(float));
    }
    return SAL_OK;
}
