/* graph.h - the model as the executor sees it: a list of nodes in topological
 * order, each one operation over NHWC float32 tensors.
 *
 * Importers (TF.js layers, later ONNX) build a sal_graph; sal_graph_simplify
 * then folds BatchNormalization into the convolution it follows and drops
 * identity layers.  The executor never sees Keras configs, only these nodes.
 */
#ifndef SAL_MODEL_GRAPH_H
#define SAL_MODEL_GRAPH_H

#include "../saliency.h"

typedef enum {
    SAL_OP_INPUT = 0,
    SAL_OP_CONV2D,           /* w: [kh,kw,cin,cout], bias: [cout] or NULL */
    SAL_OP_DEPTHWISE_CONV2D, /* w: [kh,kw,cin,mult] (output channel c*mult+m), bias: [cin*mult] or NULL */
    SAL_OP_AFFINE,           /* standalone batch norm: y = x * scale[c] + shift[c]; c = in_channels */
    SAL_OP_ACTIVATION,       /* act */
    SAL_OP_ADD,              /* n-ary, equal shapes */
    SAL_OP_MULTIPLY,         /* n-ary, equal shapes or [n,1,1,c] broadcast over space */
    SAL_OP_CONCAT,           /* along channels */
    SAL_OP_MAX_POOL,
    SAL_OP_AVG_POOL,         /* 'same' padding averages over the valid cells only (Keras) */
    SAL_OP_GLOBAL_AVG_POOL,  /* -> [n,1,1,c] (rank 2 unless keepdims) */
    SAL_OP_GLOBAL_MAX_POOL,
    SAL_OP_ZERO_PAD,
    SAL_OP_DENSE,            /* w: [in,out], bias: [out] or NULL; acts on the last axis */
    SAL_OP_RESHAPE,          /* Flatten / Reshape: same memory, new shape; a -1 in target is inferred */
    SAL_OP_IDENTITY,         /* Dropout and friends; removed by graph passes */
    SAL_OP_COUNT
} sal_op_type;

typedef enum {
    SAL_ACT_LINEAR = 0,
    SAL_ACT_RELU,
    SAL_ACT_RELU6,
    SAL_ACT_SIGMOID,
    SAL_ACT_TANH,
    SAL_ACT_SOFTMAX,      /* over the last axis */
    SAL_ACT_SWISH,        /* x * sigmoid(x) */
    SAL_ACT_HARD_SIGMOID  /* Keras: clip(0.2 x + 0.5, 0, 1) */
} sal_activation;

typedef enum { SAL_PAD_VALID = 0, SAL_PAD_SAME = 1 } sal_padding;

/* A tensor shape. rank 4: n,h,w,c.  rank 2: n,c (stored as h = w = 1).
 * rank 3 (Reshape to (a, b)): n,1,a,b. */
typedef struct {
    int rank;
    int n, h, w, c;
} sal_shape;

static inline size_t sal_shape_count(sal_shape s) { return (size_t)s.n * s.h * s.w * s.c; }

#define SAL_NAME_MAX 128

typedef struct {
    sal_op_type op;
    char name[SAL_NAME_MAX];  /* Keras name of the layer whose output this is */
    int *inputs;              /* node indices, all smaller than this node's */
    int n_inputs;

    sal_activation act;       /* SAL_OP_ACTIVATION */

    /* windows: conv, depthwise, pools */
    int kh, kw, stride_h, stride_w, dilation_h, dilation_w;
    sal_padding padding;
    int pad_top, pad_bottom, pad_left, pad_right; /* SAL_OP_ZERO_PAD */

    int filters;              /* conv: cout; dense: units */
    int depth_multiplier;     /* depthwise */
    int in_channels;          /* conv/depthwise: cin; dense: input features */
    float *weights;           /* owned, layout per op above */
    float *bias;              /* owned or NULL */
    float *scale, *shift;     /* SAL_OP_AFFINE, owned, [c] */

    /* After a batch norm was folded in: the node's output is
     * out = pre * fold_scale[c] + fold_shift[c], where pre is the output of
     * the convolution as the model file defines it.  Owned; NULL otherwise. */
    float *fold_scale, *fold_shift;

    int keepdims;             /* global pools */
    sal_shape target;         /* SAL_OP_RESHAPE: rank and dims (n ignored) */
    sal_shape input_shape;    /* SAL_OP_INPUT: declared shape, 0 where free */
} sal_node;

typedef struct {
    sal_node *nodes;
    int n_nodes;
    int cap_nodes;
    int output;               /* index of the model's output node */

    /* Extra names: a Keras layer removed by simplification (Dropout into its
     * input) still answers to its name.  A convolution whose batch norm was
     * folded in gives its node the batch norm's name and keeps its own as an
     * alias with before_fold set: its output is recovered from the node's. */
    struct sal_alias { char name[SAL_NAME_MAX]; int node; int before_fold; } *aliases;
    int n_aliases;
} sal_graph;

void sal_graph_init(sal_graph *g);
void sal_graph_free(sal_graph *g);
/* Appends a zeroed node; returns its index or -1 when out of memory. */
int sal_graph_add_node(sal_graph *g, sal_op_type op, const char *name);
int sal_graph_set_inputs(sal_graph *g, int node, const int *inputs, int n_inputs);
int sal_graph_add_alias(sal_graph *g, const char *name, int node);
/* Node index producing the output named `name` (node or alias), or -1.
 * before_fold (may be NULL) is set when the name is that of a convolution
 * whose batch norm was folded in (see sal_alias). */
int sal_graph_find(const sal_graph *g, const char *name);
int sal_graph_find_layer(const sal_graph *g, const char *name, int *before_fold);

/* Removes identity nodes and folds BatchNormalization (given as SAL_OP_AFFINE)
 * into the convolution or dense node it reads when that node feeds no other
 * node and has none folded in yet (the node takes the batch norm's name; see
 * sal_alias).  Keeps topological order; renumbers inputs.  Linear time. */
int sal_graph_simplify(sal_graph *g, sal_error *err);

/* Infers every node's output shape for an input of batch x height x width
 * (channels from the input node).  shapes: n_nodes entries. */
int sal_graph_infer_shapes(const sal_graph *g, int batch, int height, int width,
                           sal_shape *shapes, sal_error *err);

/* The node whose output is the pre-softmax score: the model output itself, or
 * the input of a final softmax activation. */
int sal_graph_logits_node(const sal_graph *g);

const char *sal_op_name(sal_op_type op);

#endif
