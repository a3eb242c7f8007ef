/* graph.c - building, simplifying and shape-checking a sal_graph.
 *
 * Conventions beyond graph.h:
 *  - an SAL_OP_AFFINE node keeps the length of its scale/shift arrays in
 *    in_channels (the importer sets it; shape inference checks it);
 *  - an SAL_OP_RESHAPE target dimension of -1 is inferred from the input
 *    (Flatten is a rank-2 target with c = -1);
 *  - after sal_graph_simplify folds a batch norm into a convolution, the node
 *    carries the batch norm's name and the convolution's becomes an alias
 *    with before_fold set (see graph.h).
 */
#include "graph.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../kernels/kernels.h"

/* ------------------------------------------------------------ building */

void sal_graph_init(sal_graph *g) {
    memset(g, 0, sizeof *g);
    g->output = -1;
}

static void free_node(sal_node *node) {
    free(node->inputs);
    free(node->weights);
    free(node->bias);
    free(node->scale);
    free(node->shift);
    free(node->fold_scale);
    free(node->fold_shift);
    memset(node, 0, sizeof *node);
}

void sal_graph_free(sal_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) free_node(&g->nodes[i]);
    free(g->nodes);
    free(g->aliases);
    sal_graph_init(g);
}

static void copy_name(char dst[SAL_NAME_MAX], const char *src) {
    snprintf(dst, SAL_NAME_MAX, "%s", src ? src : "");
}

int sal_graph_add_node(sal_graph *g, sal_op_type op, const char *name) {
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 16;
        if (cap <= g->cap_nodes || (size_t)cap > SIZE_MAX / sizeof(sal_node)) return -1;
        sal_node *nodes = realloc(g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return -1;
        g->nodes = nodes;
        g->cap_nodes = cap;
    }
    sal_node *node = &g->nodes[g->n_nodes];
    memset(node, 0, sizeof *node);
    node->op = op;
    copy_name(node->name, name);
    return g->n_nodes++;
}

int sal_graph_set_inputs(sal_graph *g, int node, const int *inputs, int n_inputs) {
    if (node < 0 || node >= g->n_nodes || n_inputs < 0 || (n_inputs > 0 && !inputs)) return SAL_ERR_ARGUMENT;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i] < 0 || inputs[i] >= node) return SAL_ERR_ARGUMENT;
    int *copy = NULL;
    if (n_inputs > 0) {
        copy = malloc((size_t)n_inputs * sizeof *copy);
        if (!copy) return SAL_ERR_MEMORY;
        memcpy(copy, inputs, (size_t)n_inputs * sizeof *copy);
    }
    free(g->nodes[node].inputs);
    g->nodes[node].inputs = copy;
    g->nodes[node].n_inputs = n_inputs;
    return SAL_OK;
}

static int is_power_of_two(int n) { return n > 0 && (n & (n - 1)) == 0; }

int sal_graph_add_alias(sal_graph *g, const char *name, int node) {
    if (node < 0 || node >= g->n_nodes) return SAL_ERR_ARGUMENT;
    /* Capacity is the next power of two, so growing needs no extra field. */
    if (g->n_aliases == 0 || is_power_of_two(g->n_aliases)) {
        int cap = g->n_aliases ? g->n_aliases * 2 : 1;
        struct sal_alias *aliases = realloc(g->aliases, (size_t)cap * sizeof *aliases);
        if (!aliases) return SAL_ERR_MEMORY;
        g->aliases = aliases;
    }
    copy_name(g->aliases[g->n_aliases].name, name);
    g->aliases[g->n_aliases].node = node;
    g->aliases[g->n_aliases].before_fold = 0;
    g->n_aliases++;
    return SAL_OK;
}

int sal_graph_find_layer(const sal_graph *g, const char *name, int *before_fold) {
    if (before_fold) *before_fold = 0;
    if (!name) return -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0) return i;
    for (int i = 0; i < g->n_aliases; i++) {
        if (strcmp(g->aliases[i].name, name) != 0) continue;
        if (before_fold) *before_fold = g->aliases[i].before_fold;
        return g->aliases[i].node;
    }
    return -1;
}

int sal_graph_find(const sal_graph *g, const char *name) { return sal_graph_find_layer(g, name, NULL); }

int sal_graph_logits_node(const sal_graph *g) {
    if (g->output < 0 || g->output >= g->n_nodes) return -1;
    const sal_node *out = &g->nodes[g->output];
    if (out->op == SAL_OP_ACTIVATION && out->act == SAL_ACT_SOFTMAX && out->n_inputs == 1) return out->inputs[0];
    return g->output;
}

const char *sal_op_name(sal_op_type op) {
    static const char *const names[SAL_OP_COUNT] = {
        [SAL_OP_INPUT] = "Input",
        [SAL_OP_CONV2D] = "Conv2D",
        [SAL_OP_DEPTHWISE_CONV2D] = "DepthwiseConv2D",
        [SAL_OP_AFFINE] = "Affine",
        [SAL_OP_ACTIVATION] = "Activation",
        [SAL_OP_ADD] = "Add",
        [SAL_OP_MULTIPLY] = "Multiply",
        [SAL_OP_CONCAT] = "Concatenate",
        [SAL_OP_MAX_POOL] = "MaxPool",
        [SAL_OP_AVG_POOL] = "AvgPool",
        [SAL_OP_GLOBAL_AVG_POOL] = "GlobalAvgPool",
        [SAL_OP_GLOBAL_MAX_POOL] = "GlobalMaxPool",
        [SAL_OP_ZERO_PAD] = "ZeroPad",
        [SAL_OP_DENSE] = "Dense",
        [SAL_OP_RESHAPE] = "Reshape",
        [SAL_OP_IDENTITY] = "Identity",
    };
    return (unsigned)op < SAL_OP_COUNT ? names[op] : "unknown";
}

/* ---------------------------------------------------------- simplifying */

/* Output channels of a weighted node, or 0 for other ops. */
static int weighted_out_channels(const sal_node *node) {
    switch (node->op) {
    case SAL_OP_CONV2D:
    case SAL_OP_DENSE: return node->filters;
    case SAL_OP_DEPTHWISE_CONV2D: return node->in_channels * node->depth_multiplier;
    default: return 0;
    }
}

static size_t weight_count(const sal_node *node) {
    switch (node->op) {
    case SAL_OP_CONV2D: return (size_t)node->kh * node->kw * node->in_channels * node->filters;
    case SAL_OP_DEPTHWISE_CONV2D: return (size_t)node->kh * node->kw * node->in_channels * node->depth_multiplier;
    case SAL_OP_DENSE: return (size_t)node->in_channels * node->filters;
    default: return 0;
    }
}

/* A batch norm folds into the weighted node it reads when nothing else reads
 * that node's output (aliases may: they are told it is the output before the
 * fold) and no batch norm was folded into it yet. */
static int can_fold(const sal_graph *g, const int *readers, int affine) {
    const sal_node *a = &g->nodes[affine];
    if (a->n_inputs != 1) return 0;
    int p = a->inputs[0];
    const sal_node *target = &g->nodes[p];
    return weighted_out_channels(target) > 0 && target->weights && !target->fold_scale && p != g->output &&
           readers[p] == 1;
}

/* Remembers the folded affine map, so that the node's output before it can be
 * recovered. */
static int keep_fold(sal_node *target, const sal_node *affine, int channels, sal_error *err) {
    size_t bytes = (size_t)channels * sizeof(float);
    target->fold_scale = malloc(bytes);
    target->fold_shift = malloc(bytes);
    if (!target->fold_scale || !target->fold_shift)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory folding '%s'", affine->name);
    memcpy(target->fold_scale, affine->scale, bytes);
    memcpy(target->fold_shift, affine->shift, bytes);
    return SAL_OK;
}

/* Output channel o of the weighted node becomes scale[o] * out + shift[o]:
 * every weight feeding channel o (the innermost index, modulo the channel
 * count, in all three layouts) and the bias are scaled, then shifted. */
static int fold_affine(sal_node *target, const sal_node *affine, sal_error *err) {
    int channels = weighted_out_channels(target);
    if (affine->in_channels != channels)
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': %d normalization channels after '%s' with %d channels",
                        affine->name, affine->in_channels, target->name, channels);
    if (!target->bias) {
        target->bias = calloc((size_t)channels, sizeof *target->bias);
        if (!target->bias) return sal_fail(err, SAL_ERR_MEMORY, "out of memory folding '%s'", affine->name);
    }
    size_t count = weight_count(target);
    for (size_t k = 0; k < count; k++) target->weights[k] *= affine->scale[k % (size_t)channels];
    for (int o = 0; o < channels; o++) target->bias[o] = target->bias[o] * affine->scale[o] + affine->shift[o];
    return keep_fold(target, affine, channels, err);
}

static int out_of_memory(sal_error *err) {
    return sal_fail(err, SAL_ERR_MEMORY, "out of memory simplifying the graph");
}

/* Simplification keeps forward[i]: the node whose output is node i's (i while
 * it stays).  Inputs only point back, so walking the nodes in order, the
 * forward of every input is already final. */

/* Every identity forwards to what it passes on, and its name becomes an alias
 * there; other nodes read through identities; readers[] counts their readers. */
static int bypass_identities(sal_graph *g, int *forward, int *readers, sal_error *err) {
    for (int i = 0; i < g->n_nodes; i++) {
        sal_node *node = &g->nodes[i];
        forward[i] = i;
        if (node->op == SAL_OP_IDENTITY) {
            if (node->n_inputs != 1)
                return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': takes %d inputs, expected 1", node->name,
                                node->n_inputs);
            forward[i] = forward[node->inputs[0]];
            if (sal_graph_add_alias(g, node->name, forward[i]) != SAL_OK) return out_of_memory(err);
            continue;
        }
        for (int k = 0; k < node->n_inputs; k++) {
            node->inputs[k] = forward[node->inputs[k]];
            readers[node->inputs[k]]++;
        }
    }
    if (g->output >= 0) g->output = forward[g->output];
    return SAL_OK;
}

/* Folds batch norms into their weighted nodes, which take the batch norm's
 * name (their own becomes an alias); the batch norm forwards to them. */
static int fold_batch_norms(sal_graph *g, int *forward, int *readers, sal_error *err) {
    for (int i = 0; i < g->n_nodes; i++) {
        sal_node *node = &g->nodes[i];
        if (forward[i] != i) continue; /* an identity, gone */
        for (int k = 0; k < node->n_inputs; k++) node->inputs[k] = forward[node->inputs[k]];
        if (node->op != SAL_OP_AFFINE || !can_fold(g, readers, i)) continue;
        int target = node->inputs[0];
        int status = fold_affine(&g->nodes[target], node, err);
        if (status != SAL_OK) return status;
        if (sal_graph_add_alias(g, g->nodes[target].name, target) != SAL_OK) return out_of_memory(err);
        copy_name(g->nodes[target].name, node->name);
        forward[i] = target;
        readers[target] = readers[i]; /* the batch norm's readers now read the target */
        if (g->output == i) g->output = target;
    }
    return SAL_OK;
}

/* Aliases made since `first`: one of a folded batch norm moves to the node it
 * was folded into; one of that node names its output before the fold. */
static void settle_aliases(sal_graph *g, int first, const int *forward) {
    for (int j = first; j < g->n_aliases; j++) {
        struct sal_alias *alias = &g->aliases[j];
        if (forward[alias->node] != alias->node) alias->node = forward[alias->node];
        else alias->before_fold = g->nodes[alias->node].fold_scale != NULL;
    }
}

/* Drops the nodes that forward elsewhere and renumbers the rest. */
static void compact(sal_graph *g, const int *forward, int *new_index) {
    int kept = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (forward[i] != i) {
            free_node(&g->nodes[i]);
            new_index[i] = -1;
            continue;
        }
        new_index[i] = kept;
        if (kept != i) g->nodes[kept] = g->nodes[i];
        kept++;
    }
    g->n_nodes = kept;
    for (int i = 0; i < kept; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) g->nodes[i].inputs[k] = new_index[g->nodes[i].inputs[k]];
    for (int j = 0; j < g->n_aliases; j++) g->aliases[j].node = new_index[g->aliases[j].node];
    if (g->output >= 0) g->output = new_index[g->output];
}

int sal_graph_simplify(sal_graph *g, sal_error *err) {
    if (g->n_nodes == 0) return SAL_OK;
    int *forward = calloc((size_t)g->n_nodes, sizeof *forward);
    int *readers = calloc((size_t)g->n_nodes, sizeof *readers);
    int *new_index = malloc((size_t)g->n_nodes * sizeof *new_index);
    int first_alias = g->n_aliases;
    int status = forward && readers && new_index ? SAL_OK : out_of_memory(err);
    if (status == SAL_OK) status = bypass_identities(g, forward, readers, err);
    if (status == SAL_OK) status = fold_batch_norms(g, forward, readers, err);
    if (status == SAL_OK) {
        settle_aliases(g, first_alias, forward);
        compact(g, forward, new_index);
    }
    free(forward);
    free(readers);
    free(new_index);
    return status;
}

/* ------------------------------------------------------- shape inference */

static int expect_inputs(const sal_node *node, int min, int max, sal_error *err) {
    if (node->n_inputs < min || node->n_inputs > max) {
        if (min == max)
            return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': takes %d inputs, expected %d", node->name,
                            node->n_inputs, min);
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': takes %d inputs, expected at least %d", node->name,
                        node->n_inputs, min);
    }
    return SAL_OK;
}

static int expect_rank4(const sal_node *node, sal_shape in, sal_error *err) {
    if (in.rank != 4)
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': needs a 4-D input [n,h,w,c], got rank %d", node->name,
                        in.rank);
    return SAL_OK;
}

static int expect_channels(const sal_node *node, sal_shape in, int expected, sal_error *err) {
    if (in.c != expected)
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': input has %d channels but the layer expects %d",
                        node->name, in.c, expected);
    return SAL_OK;
}

static int window_axis(const sal_node *node, int in, int k, int stride, int dilation, int *out, sal_error *err) {
    if (k < 1 || stride < 1 || dilation < 1 || (long long)dilation * (k - 1) >= INT_MAX)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': invalid window (size %d, stride %d, dilation %d)",
                        node->name, k, stride, dilation);
    int pad_total = 0, pad_first = 0;
    if (node->padding == SAL_PAD_SAME) sal_same_padding(in, k, stride, dilation, &pad_total, &pad_first);
    *out = sal_window_out(in, pad_total, k, stride, dilation);
    return SAL_OK;
}

static int infer_window(const sal_node *node, sal_shape in, int channels, sal_shape *out, sal_error *err) {
    int status = expect_rank4(node, in, err);
    if (status) return status;
    int oh = 0, ow = 0;
    if ((status = window_axis(node, in.h, node->kh, node->stride_h, node->dilation_h, &oh, err)) ||
        (status = window_axis(node, in.w, node->kw, node->stride_w, node->dilation_w, &ow, err)))
        return status;
    if (oh < 1 || ow < 1)
        return sal_fail(err, SAL_ERR_SHAPE,
                        "layer '%s': the %dx%d window (dilation %dx%d) is larger than its %dx%d input", node->name,
                        node->kh, node->kw, node->dilation_h, node->dilation_w, in.h, in.w);
    *out = (sal_shape){4, in.n, oh, ow, channels};
    return SAL_OK;
}

static int infer_weighted(const sal_node *node, sal_shape in, sal_shape *out, sal_error *err) {
    int status = expect_channels(node, in, node->in_channels, err);
    if (status) return status;
    long long channels =
        node->op == SAL_OP_DEPTHWISE_CONV2D ? (long long)node->in_channels * node->depth_multiplier : node->filters;
    if (channels < 1 || channels > INT_MAX)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': invalid output channel count %lld", node->name, channels);
    if (node->op != SAL_OP_DENSE) return infer_window(node, in, (int)channels, out, err);
    *out = in;
    out->c = (int)channels;
    return SAL_OK;
}

static int same_shape(sal_shape a, sal_shape b) {
    return a.rank == b.rank && a.n == b.n && a.h == b.h && a.w == b.w && a.c == b.c;
}

static int infer_add(const sal_node *node, const sal_shape *shapes, sal_shape *out, sal_error *err) {
    sal_shape first = shapes[node->inputs[0]];
    for (int k = 1; k < node->n_inputs; k++) {
        sal_shape s = shapes[node->inputs[k]];
        if (!same_shape(s, first))
            return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': input %d has shape [%d,%d,%d,%d], input 0 [%d,%d,%d,%d]",
                            node->name, k, s.n, s.h, s.w, s.c, first.n, first.h, first.w, first.c);
    }
    *out = first;
    return SAL_OK;
}

static int is_channel_vector_of(sal_shape v, sal_shape full) {
    return v.rank == 4 && full.rank == 4 && v.h == 1 && v.w == 1 && v.n == full.n && v.c == full.c;
}

/* The product has the shape of the widest input; the others equal it or are
 * [n,1,1,c] channel vectors broadcast over space. */
static int infer_multiply(const sal_node *node, const sal_shape *shapes, sal_shape *out, sal_error *err) {
    sal_shape full = shapes[node->inputs[0]];
    for (int k = 1; k < node->n_inputs; k++) {
        sal_shape s = shapes[node->inputs[k]];
        if ((size_t)s.h * s.w > (size_t)full.h * full.w) full = s;
    }
    for (int k = 0; k < node->n_inputs; k++) {
        sal_shape s = shapes[node->inputs[k]];
        if (!same_shape(s, full) && !is_channel_vector_of(s, full))
            return sal_fail(err, SAL_ERR_SHAPE,
                            "layer '%s': input %d has shape [%d,%d,%d,%d], which neither equals nor broadcasts to "
                            "[%d,%d,%d,%d]",
                            node->name, k, s.n, s.h, s.w, s.c, full.n, full.h, full.w, full.c);
    }
    *out = full;
    return SAL_OK;
}

static int infer_concat(const sal_node *node, const sal_shape *shapes, sal_shape *out, sal_error *err) {
    sal_shape first = shapes[node->inputs[0]];
    long long channels = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        sal_shape s = shapes[node->inputs[k]];
        if (s.rank != first.rank || s.n != first.n || s.h != first.h || s.w != first.w)
            return sal_fail(err, SAL_ERR_SHAPE,
                            "layer '%s': input %d is %dx%d (rank %d) but input 0 is %dx%d (rank %d); only channels "
                            "may differ",
                            node->name, k, s.h, s.w, s.rank, first.h, first.w, first.rank);
        channels += s.c;
    }
    if (channels > INT_MAX) return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': too many channels", node->name);
    *out = first;
    out->c = (int)channels;
    return SAL_OK;
}

static int infer_global_pool(const sal_node *node, sal_shape in, sal_shape *out, sal_error *err) {
    int status = expect_rank4(node, in, err);
    if (status) return status;
    *out = (sal_shape){node->keepdims ? 4 : 2, in.n, 1, 1, in.c};
    return SAL_OK;
}

static int infer_zero_pad(const sal_node *node, sal_shape in, sal_shape *out, sal_error *err) {
    int status = expect_rank4(node, in, err);
    if (status) return status;
    if (node->pad_top < 0 || node->pad_bottom < 0 || node->pad_left < 0 || node->pad_right < 0)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': negative padding", node->name);
    long long h = (long long)in.h + node->pad_top + node->pad_bottom;
    long long w = (long long)in.w + node->pad_left + node->pad_right;
    if (h > INT_MAX || w > INT_MAX)
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': padded size too large", node->name);
    *out = (sal_shape){4, in.n, (int)h, (int)w, in.c};
    return SAL_OK;
}

static void format_target(const sal_shape *t, char *buf, size_t size) {
    if (t->rank == 2) snprintf(buf, size, "(%d)", t->c);
    else if (t->rank == 3) snprintf(buf, size, "(%d, %d)", t->w, t->c);
    else snprintf(buf, size, "(%d, %d, %d)", t->h, t->w, t->c);
}

static int infer_reshape(const sal_node *node, sal_shape in, sal_shape *out, sal_error *err) {
    sal_shape t = node->target;
    if (t.rank < 2 || t.rank > 4)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': reshape target of rank %d", node->name, t.rank);
    if (t.rank < 4) t.h = 1;
    if (t.rank < 3) t.w = 1;
    int *dims[3] = {&t.h, &t.w, &t.c};
    int *free_dim = NULL;
    size_t known = 1, per_image = (size_t)in.h * in.w * in.c;
    for (int k = 0; k < 3; k++) {
        if (*dims[k] == -1 && !free_dim) free_dim = dims[k];
        else if (*dims[k] < 1)
            return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': invalid reshape dimension %d", node->name, *dims[k]);
        else known *= (size_t)*dims[k];
        if (known > per_image) break; /* cannot fit; also keeps the product from overflowing */
    }
    int fits = free_dim ? known <= per_image && per_image % known == 0 && per_image / known <= INT_MAX
                        : known == per_image;
    if (fits && free_dim) *free_dim = (int)(per_image / known);
    if (!fits) {
        char target[64];
        format_target(&node->target, target, sizeof target);
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': cannot reshape %zu values per image into %s", node->name,
                        per_image, target);
    }
    *out = (sal_shape){node->target.rank, in.n, t.h, t.w, t.c};
    return SAL_OK;
}

static int infer_input(const sal_node *node, int batch, int height, int width, sal_shape *out, sal_error *err) {
    if (node->input_shape.c < 1)
        return sal_fail(err, SAL_ERR_FORMAT, "input '%s': unknown channel count", node->name);
    *out = (sal_shape){4, batch, height, width, node->input_shape.c};
    return SAL_OK;
}

static int infer_node(const sal_graph *g, int i, int batch, int height, int width, sal_shape *shapes,
                      sal_error *err) {
    const sal_node *node = &g->nodes[i];
    int multi = node->op == SAL_OP_ADD || node->op == SAL_OP_MULTIPLY || node->op == SAL_OP_CONCAT;
    int status = node->op == SAL_OP_INPUT ? expect_inputs(node, 0, 0, err)
                 : multi                  ? expect_inputs(node, 1, INT_MAX, err)
                                          : expect_inputs(node, 1, 1, err);
    if (status) return status;
    for (int k = 0; k < node->n_inputs; k++)
        if (!node->inputs || node->inputs[k] < 0 || node->inputs[k] >= i)
            return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': input %d is not an earlier node", node->name, k);
    sal_shape in = node->n_inputs ? shapes[node->inputs[0]] : (sal_shape){0, 0, 0, 0, 0};
    sal_shape *out = &shapes[i];
    switch (node->op) {
    case SAL_OP_INPUT: return infer_input(node, batch, height, width, out, err);
    case SAL_OP_CONV2D:
    case SAL_OP_DEPTHWISE_CONV2D:
    case SAL_OP_DENSE: return infer_weighted(node, in, out, err);
    case SAL_OP_AFFINE:
        *out = in;
        return expect_channels(node, in, node->in_channels, err);
    case SAL_OP_ACTIVATION:
    case SAL_OP_IDENTITY: *out = in; return SAL_OK;
    case SAL_OP_ADD: return infer_add(node, shapes, out, err);
    case SAL_OP_MULTIPLY: return infer_multiply(node, shapes, out, err);
    case SAL_OP_CONCAT: return infer_concat(node, shapes, out, err);
    case SAL_OP_MAX_POOL:
    case SAL_OP_AVG_POOL: return infer_window(node, in, in.c, out, err);
    case SAL_OP_GLOBAL_AVG_POOL:
    case SAL_OP_GLOBAL_MAX_POOL: return infer_global_pool(node, in, out, err);
    case SAL_OP_ZERO_PAD: return infer_zero_pad(node, in, out, err);
    case SAL_OP_RESHAPE: return infer_reshape(node, in, out, err);
    default: return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': unknown operation %d", node->name, (int)node->op);
    }
}

/* Keeps every tensor's float count addressable (it matters on 32-bit wasm)
 * and its pixel count an int (the kernels index pixels with int). */
static int check_size(const sal_node *node, sal_shape s, sal_error *err) {
    double pixels = (double)s.n * s.h * s.w, count = pixels * s.c;
    if (count * sizeof(float) >= (double)SIZE_MAX || count >= (double)INT_MAX * 64.0 || pixels > INT_MAX)
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': output [%d,%d,%d,%d] is too large", node->name, s.n, s.h,
                        s.w, s.c);
    return SAL_OK;
}

int sal_graph_infer_shapes(const sal_graph *g, int batch, int height, int width, sal_shape *shapes,
                           sal_error *err) {
    if (batch < 1 || height < 1 || width < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "invalid input size %d x %d x %d (batch x height x width)", batch,
                        height, width);
    if (g->n_nodes == 0) return sal_fail(err, SAL_ERR_FORMAT, "the graph has no nodes");
    for (int i = 0; i < g->n_nodes; i++) {
        int status = infer_node(g, i, batch, height, width, shapes, err);
        if (!status) status = check_size(&g->nodes[i], shapes[i], err);
        if (status) return status;
    }
    return SAL_OK;
}
