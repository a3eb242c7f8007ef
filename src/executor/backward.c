/* backward.c - the gradient of sum_b logits[b][target_b] with respect to every
 * node's output, node by node in reverse order, down to the input.
 *
 * A node's gradient is complete once all its consumers ran their backward
 * step.  The first consumer writes it; later ones add to it (through the
 * temporaries that follow the kernels' scratch).
 */
#include <string.h>

#include "executor.h"
#include "spans.h"

typedef struct {
    sal_context *ctx;
    const sal_plan *plan;
    sal_kernel_relu_rule rule;
    int layer;              /* asked for, or -1: runs a pad folded into its reader as declared */
    unsigned char *written; /* per node: gradient holds a value */
    float *tmp;             /* 2 x the largest node */
    sal_error *err;
} backward_run;

/* written[] per node: no gradient yet, a gradient, or (PASSED_ON) its input's
 * gradient already: a gateable activation whose reader took its step. */
enum { GRAD_NONE = 0, GRAD_HELD = 1, GRAD_PASSED_ON = 2 };

/* Where a single-input node computes its input's gradient: straight into
 * that gradient's buffer when nothing is there yet, else a temporary. */
static float *grad_target(backward_run *run, int node) {
    return run->written[node] ? run->tmp : sal_plan_grad(run->plan, node);
}

/* Adds dx, one contribution to node's gradient, to (or copies it into) the
 * gradient's buffer; nothing to move when dx was computed there. */
static void grad_commit(backward_run *run, int node, const float *dx) {
    float *g = sal_plan_grad(run->plan, node);
    size_t count = sal_shape_count(run->plan->shapes[node]);
    if (dx != g) {
        if (run->written[node]) sal_spans_accumulate(run->plan->pool, g, dx, count);
        else sal_spans_copy(run->plan->pool, g, dx, count);
    }
    run->written[node] = GRAD_HELD;
}

/* What the backward steps below read besides gradients (plan.c keeps these values alive). */
/* relu, relu6, sigmoid, tanh and softmax differentiate from their output y;
 * swish and hard sigmoid from their input x (activation.c). */
static int activation_reads_input(sal_activation act) { return act == SAL_ACT_SWISH || act == SAL_ACT_HARD_SIGMOID; }

int sal_backward_needs_input_value(const sal_node *user) {
    switch (user->op) {
    case SAL_OP_ACTIVATION: return activation_reads_input(user->act);
    case SAL_OP_MULTIPLY:
    case SAL_OP_MAX_POOL:
    case SAL_OP_GLOBAL_MAX_POOL: return 1;
    default: return 0;
    }
}

int sal_backward_needs_output_value(const sal_node *node) {
    return node->op == SAL_OP_ACTIVATION && node->act != SAL_ACT_LINEAR && !activation_reads_input(node->act);
}

static void backward_add(backward_run *run, const sal_node *node, const float *dy) {
    for (int k = 0; k < node->n_inputs; k++) grad_commit(run, node->inputs[k], dy);
}

static void backward_multiply(backward_run *run, int i, const sal_node *node, const float *dy) {
    const sal_plan *plan = run->plan;
    int a = node->inputs[0], b = node->inputs[1];
    if (plan->broadcast[i] == 2) {
        a = node->inputs[1];
        b = node->inputs[0];
    }
    /* Always through the temporaries: a and b may be the same node. */
    float *da = run->tmp, *db = run->tmp + sal_shape_count(plan->shapes[a]);
    sal_multiply_backward(sal_plan_value(plan, a), sal_plan_value(plan, b), dy, sal_dims_of(plan->shapes[a]),
                          plan->broadcast[i] != 0, da, db);
    grad_commit(run, a, da);
    grad_commit(run, b, db);
}

static void backward_concat(backward_run *run, const sal_node *node, const float *dy, sal_shape out) {
    float *dxs[SAL_MAX_CONCAT];
    int cs[SAL_MAX_CONCAT];
    size_t offset = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        cs[k] = run->plan->shapes[node->inputs[k]].c;
        dxs[k] = run->tmp + offset;
        offset += sal_shape_count(run->plan->shapes[node->inputs[k]]);
    }
    sal_concat_backward(dy, cs, node->n_inputs, out.n, out.h, out.w, dxs);
    for (int k = 0; k < node->n_inputs; k++) grad_commit(run, node->inputs[k], dxs[k]);
}

/* Single-input nodes: computes dx into place, then commits. */
static int backward_unary(backward_run *run, int i, const sal_node *node, const float *dy) {
    sal_context *ctx = run->ctx;
    const sal_plan *plan = run->plan;
    const sal_node_op *op = &ctx->ops[i];
    sal_window_input read = sal_plan_window_input(ctx, plan, i, run->layer);
    int in = read.node;
    const sal_window *win = read.window;
    /* The backward step of the activation read, taken as dx is stored (plan.c's gateable). */
    sal_kernel_gate gate = {SAL_K_LINEAR, run->rule, NULL};
    if ((node->op == SAL_OP_CONV2D || node->op == SAL_OP_DEPTHWISE_CONV2D) && plan->gateable[in] && in != run->layer) {
        gate.act = (sal_kernel_activation)ctx->graph->nodes[in].act;
        gate.y = sal_plan_value(plan, in);
    }
    const sal_kernel_gate *gated = gate.y ? &gate : NULL;
    float *dx = grad_target(run, in);
    sal_shape out = plan->shapes[i];
    size_t count = sal_shape_count(out);
    sal_dims xd = sal_dims_of(plan->shapes[in]), yd = sal_dims_of(out);
    const float *x = sal_plan_value(plan, in);
    float *scratch = plan->scratch;

#ifdef SAL_HAVE_XNNPACK
    if (op->on_xnn) {
        int done = 0, status = sal_xnn_node_backward(ctx, plan, i, run->layer, dy, dx, &done, run->err);
        if (status != SAL_OK) return status;
        if (done) {
            grad_commit(run, in, dx);
            return SAL_OK;
        }
    }
#endif
    switch (node->op) {
    case SAL_OP_CONV2D: sal_conv2d_backward_input(&op->conv, plan->pool, win, dy, yd, dx, xd, scratch, gated); break;
    case SAL_OP_DEPTHWISE_CONV2D:
        sal_depthwise_backward_input(&op->depthwise, plan->pool, win, dy, yd, dx, xd, scratch, gated);
        break;
    case SAL_OP_AFFINE: sal_affine_backward(dy, node->scale, dx, count, out.c); break;
    case SAL_OP_ACTIVATION:
        sal_spans_activation_backward(plan->pool, (sal_kernel_activation)node->act, run->rule, x,
                                      sal_plan_value(plan, i), dy, dx, count, out.c);
        break;
    case SAL_OP_MAX_POOL: sal_max_pool_backward(plan->pool, win, x, xd, dy, yd, dx); break;
    case SAL_OP_AVG_POOL: sal_avg_pool_backward(plan->pool, win, dy, yd, dx, xd); break;
    case SAL_OP_GLOBAL_AVG_POOL: sal_global_avg_pool_backward(dy, xd, dx); break;
    case SAL_OP_GLOBAL_MAX_POOL: sal_global_max_pool_backward(x, xd, dy, dx); break;
    case SAL_OP_ZERO_PAD: sal_zero_pad_backward(dy, yd, node->pad_top, node->pad_left, dx, xd); break;
    case SAL_OP_DENSE: sal_dense_backward_input(&op->dense, plan->pool, dy, (int)(count / (size_t)out.c), dx); break;
    default: sal_spans_copy(plan->pool, dx, dy, count); break; /* reshape, identity */
    }
    grad_commit(run, in, dx);
    if (gated) run->written[in] = GRAD_PASSED_ON;
    return SAL_OK;
}

static int backward_node(backward_run *run, int i) {
    const sal_node *node = &run->ctx->graph->nodes[i];
    const float *dy = sal_plan_grad(run->plan, i);
    if (run->written[i] == GRAD_PASSED_ON) { /* the buffer it shares with its input holds the input's gradient */
        run->written[node->inputs[0]] = GRAD_HELD;
        return SAL_OK;
    }
    switch (node->op) {
    case SAL_OP_INPUT: break;
    case SAL_OP_ADD: backward_add(run, node, dy); break;
    case SAL_OP_MULTIPLY: backward_multiply(run, i, node, dy); break;
    case SAL_OP_CONCAT: backward_concat(run, node, dy, run->plan->shapes[i]); break;
    default: return backward_unary(run, i, node, dy);
    }
    return SAL_OK;
}

static void seed_logits(backward_run *run, const int *targets) {
    int L = run->ctx->logits;
    sal_shape s = run->plan->shapes[L];
    float *g = sal_plan_grad(run->plan, L);
    size_t per_image = sal_shape_count(s) / (size_t)s.n;
    memset(g, 0, sal_shape_count(s) * sizeof *g);
    for (int b = 0; b < s.n; b++) g[(size_t)b * per_image + (size_t)targets[b]] = 1.0f;
    run->written[L] = GRAD_HELD;
}

/* Node i's complete gradient; zeros when no path from the logits reaches it. */
static void copy_gradient(const backward_run *run, int i, float *out) {
    size_t count = sal_shape_count(run->plan->shapes[i]);
    if (run->written[i]) memcpy(out, sal_plan_grad(run->plan, i), count * sizeof *out);
    else memset(out, 0, count * sizeof *out);
}

/* layer >= 0: copy its gradient out when it is complete (before its own step). */
int sal_run_backward(sal_context *ctx, sal_plan *plan, const int *targets, sal_relu_rule rule, int layer,
                     float *layer_gradient, float *input_gradient, sal_error *err) {
    unsigned char *written = plan->written;
    backward_run run = {ctx, plan, (sal_kernel_relu_rule)rule, layer, written, plan->scratch + plan->scratch_floats,
                        err};
    int L = ctx->logits;
    memset(written, 0, (size_t)(L + 1));
    seed_logits(&run, targets);
    for (int i = L; i >= 0; i--) {
        if (i == layer && layer_gradient) copy_gradient(&run, i, layer_gradient);
        if (i == 0 && input_gradient) copy_gradient(&run, 0, input_gradient);
        if (written[i]) {
            int status = backward_node(&run, i);
            if (status != SAL_OK) return status;
        }
    }
    return SAL_OK;
}
