/* executor.h - inside a sal_context: packed operators, and buffer plans made
 * once per input shape and reused until the shape changes.
 *
 * A run has a timeline: forward steps 0 .. L (L = the logits node), then
 * backward steps L+1 .. 2L+1 (node i's backward at step 2L+1-i).  Every value
 * and gradient buffer is live over an interval of that timeline, and buffers
 * whose intervals do not overlap share memory (plan.c).
 */
#ifndef SAL_EXECUTOR_H
#define SAL_EXECUTOR_H

#include "../kernels/kernels.h"
#include "../model/model.h"
#include "threadpool.h"

#ifdef SAL_HAVE_XNNPACK
#include "../backends/xnnpack.h"
#endif

#define SAL_MAX_CONCAT 64 /* inputs of one Concatenate */

#ifdef SAL_HAVE_XNNPACK
typedef union {
    sal_xnn_conv2d_op conv;
    sal_xnn_depthwise_op depthwise;
    sal_xnn_dense_op dense;
    sal_xnn_max_pool_op max_pool;
    sal_xnn_avg_pool_op avg_pool;
    sal_xnn_global_avg_pool_op global_avg_pool;
} sal_xnn_node_op;
#endif

/* A node's operator: the portable kernel's, or (on_xnn) XNNPACK's, whose
 * portable part then stays zeroed. */
typedef struct {
    union {
        sal_conv2d_op conv;
        sal_depthwise_op depthwise;
        sal_dense_op dense;
    };
    int on_xnn;
#ifdef SAL_HAVE_XNNPACK
    sal_xnn_node_op xnn;
#endif
} sal_node_op;

typedef enum { SAL_PLAN_FORWARD = 0, SAL_PLAN_BACKWARD = 1 } sal_plan_kind;

typedef struct {
    int ready;
    int batch, height, width;
    sal_shape *shapes;     /* per node */
    sal_window *windows;   /* per node: conv, depthwise, pools */
    int *broadcast;        /* per node: MULTIPLY: 1 when input 1 is [n,1,1,c] over a spatial input 0, 2 when input 0 is */
    size_t *value_offset;  /* per node, into arena */
    size_t *grad_offset;   /* per node, into arena (backward plans) */
    float *arena;
    size_t arena_floats;
    size_t arena_capacity, scratch_capacity; /* floats allocated: a later shape may use less */
    float *scratch;        /* kernels' scratch, then temporaries for gradient accumulation */
    size_t scratch_floats;
    size_t tmp_floats;     /* the temporaries' share, after the kernels' part */
    unsigned char *written; /* per node, for the backward pass: its gradient holds a value */
    /* Per node: the ReLU or ReLU6 (sal_kernel_activation) a convolution or
     * a two-input Add applies as it stores, for its only reader, an
     * activation node that then shares its buffer and has nothing left to do
     * (plan.c); 0: none. */
    unsigned char *fused;
    /* Per node: a ZeroPadding2D that only one convolution or depthwise
     * convolution reads is folded into it.  pad_fold[pad] is that reader,
     * pad_fold[reader] the pad (0: none), and fold_windows[reader] the
     * reader's window with the padding added, over the pad's input: the
     * padded copy is never made.  A call that asks for the pad as a layer
     * runs both as declared (sal_plan_window_input). */
    int *pad_fold;
    sal_window *fold_windows;
    /* Per node: the input whose gradient buffer the node's gradient uses,
     * or -1.  A ReLU or ReLU6 that alone reads its input shares it (its
     * backward step runs in place), and so does an Add with the first of its
     * inputs that only it reads (whose gradient is the Add's: nothing to
     * copy).  Chains share one buffer. */
    int *grad_shares;
    /* Per node: 1 for such a ReLU or ReLU6 that only a portable convolution
     * reads (maybe past a folded pad): that convolution takes its backward
     * step as it stores its input gradient (sal_kernel_gate), when the run
     * does not ask for the activation as a layer (backward.c). */
    unsigned char *gateable;
    sal_threadpool *pool;  /* runs the kernels' tasks; NULL runs them on the calling thread */
    int worker;            /* whose plan: XNNPACK nodes run that worker's operators */
} sal_plan;

struct sal_context {
    const sal_model *model;
    const sal_graph *graph;
    int logits;            /* node index of the pre-softmax scores */
    sal_backend backend;   /* resolved: never SAL_BACKEND_DEFAULT */
    sal_threadpool *pool;  /* the portable kernels' */
    struct pthreadpool *xnn_pool; /* XNNPACK's, with as many threads (NULL for one) */
    int xnn_started;
    sal_node_op *ops;      /* per node */
    /* plans[w][kind].  A context runs one image at a time: a batch goes to
     * `workers` threads, each on its own one-image plans and running its
     * kernels serially, which beats splitting every kernel over the threads
     * (no barrier per layer, activations that stay in cache); a lone image
     * runs on plans[0] with the whole pool. */
    sal_plan (*plans)[2];
    int workers;
    /* Runs the workers side by side: the pool itself, or with XNNPACK (whose
     * own pool runs the kernels, ours having one thread) a pool of its own. */
    sal_threadpool *apart_pool;
#ifdef SAL_HAVE_XNNPACK
    /* XNNPACK operators hold the pointers of the run they are set up for, so
     * each worker has its own: worker 0 those in ops[], worker w > 0
     * xnn_sets[w] (per node, made when that worker first runs). */
    sal_xnn_node_op **xnn_sets;
#endif
};

/* Makes sure the plan fits batch x height x width. */
int sal_plan_prepare(const sal_context *ctx, sal_plan *plan, sal_plan_kind kind, int batch, int height, int width,
                     sal_error *err);
void sal_plan_release(sal_plan *plan);

/* Runs nodes 0..logits forward; input is batch x H x W x C.  layer >= 0 gets
 * its output copied to layer_value. */
int sal_run_forward(sal_context *ctx, sal_plan *plan, const float *input, int layer, float *layer_value,
                    sal_error *err);
/* Backward pass after sal_run_forward on a SAL_PLAN_BACKWARD plan.  targets:
 * one class per image.  layer >= 0 gets its gradient copied to layer_gradient. */
int sal_run_backward(sal_context *ctx, sal_plan *plan, const int *targets, sal_relu_rule rule, int layer,
                     float *layer_gradient, float *input_gradient, sal_error *err);
static inline float *sal_plan_value(const sal_plan *plan, int node) { return plan->arena + plan->value_offset[node]; }
static inline float *sal_plan_grad(const sal_plan *plan, int node) { return plan->arena + plan->grad_offset[node]; }

static inline sal_dims sal_dims_of(sal_shape s) { sal_dims d = {s.n, s.h, s.w, s.c}; return d; }

/* Does a run that asks for node `layer` (-1: none) skip node i, a ZeroPadding2D folded into its reader? */
static inline int sal_plan_skips_pad(const sal_context *ctx, const sal_plan *plan, int i, int layer) {
    return ctx->graph->nodes[i].op == SAL_OP_ZERO_PAD && plan->pad_fold[i] > 0 && i != layer;
}

/* The value node i's window slides over, and that window, in a run that
 * asks for node `layer`: its first input as declared or, past a folded pad
 * the run skips, the pad's own input. */
typedef struct {
    int node;
    const sal_window *window;
} sal_window_input;

static inline sal_window_input sal_plan_window_input(const sal_context *ctx, const sal_plan *plan, int i, int layer) {
    int in = ctx->graph->nodes[i].inputs[0];
    sal_window_input r = {in, &plan->windows[i]};
    if (plan->pad_fold[i] > 0 && plan->pad_fold[i] == in && sal_plan_skips_pad(ctx, plan, in, layer)) {
        r.node = ctx->graph->nodes[in].inputs[0];
        r.window = &plan->fold_windows[i];
    }
    return r;
}

/* Does node `user`'s backward read the forward value of its input or its own output? (backward.c) */
int sal_backward_needs_input_value(const sal_node *user);
int sal_backward_needs_output_value(const sal_node *node);

#ifdef SAL_HAVE_XNNPACK
/* backends/xnnpack_nodes.c: the nodes XNNPACK runs (conv, depthwise, dense,
 * pools) and the glue between plans and its operators. */
int sal_xnn_node_supported(const sal_node *node);
/* Starts XNNPACK and creates the operators of every supported node; when the
 * model declares its input size, also those for that size. */
int sal_xnn_nodes_create(sal_context *ctx, int n_threads, sal_error *err);
void sal_xnn_nodes_destroy(sal_context *ctx);
/* Makes the operators the plan's shapes need (the input gradient's too when backward). */
int sal_xnn_nodes_prepare(sal_context *ctx, const sal_plan *plan, int backward, sal_error *err);
/* layer: the node the run asks for (-1: none), which decides whether a
 * convolution reads through a folded pad (sal_plan_window_input). */
int sal_xnn_node_forward(sal_context *ctx, const sal_plan *plan, int node, int layer, sal_error *err);
/* *done = 0: the portable kernel computes this node's input gradient. */
int sal_xnn_node_backward(sal_context *ctx, const sal_plan *plan, int node, int layer, const float *dy, float *dx,
                          int *done, sal_error *err);
#endif

#endif
