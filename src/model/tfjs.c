/* tfjs.c - Keras layer configs of a TF.js layers model -> graph nodes.
 *
 * One Keras layer becomes one node named after it, except:
 *  - a fused non-linear activation: op node "<layer>/linear", then an
 *    activation node "<layer>" (the Keras name always means the output);
 *  - SeparableConv2D: depthwise node "<layer>/depthwise", then a 1x1 conv;
 *  - BatchNormalization becomes an affine node (later folded into the
 *    convolution before it by sal_graph_simplify).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "tfjs.h"

#define CLASS_NAME_MAX 64
#define REQUIRED INT_MIN /* as a fallback: the key must be present */
#define LONGEST_SUFFIX "/depthwise"

/* Node names, hashed (open addressing), so that finding a layer's inputs
 * takes no longer in a large model than in a small one. */
typedef struct {
    int *slots;      /* node index + 1; 0 when empty */
    size_t capacity; /* a power of two, more than twice count */
    size_t count;
} name_index;

typedef struct {
    const sal_json *doc;
    sal_tfjs_weights *weights;
    sal_graph *g;
    name_index names;
    int *ranks; /* output ranks of the first n_ranks nodes (see node_rank) */
    int n_ranks;
    sal_error *err;
} importer;

/* The layer being converted. */
typedef struct {
    importer *im;
    int cfg; /* its config object */
    char name[SAL_NAME_MAX];
    char class_name[CLASS_NAME_MAX];
    const int *inputs;
    int n_inputs;
} layer;

/* ------------------------------------------------------- config reads */

static void describe(const layer *L, const char *key, char *what, size_t size) {
    snprintf(what, size, "layer '%s': '%s'", L->name, key);
}

static int member(const layer *L, const char *key) { return sal_json_member(L->im->doc, L->cfg, key); }
static int is_absent(const layer *L, const char *key) { return sal_json_is_null(L->im->doc, member(L, key)); }

static int cfg_int(const layer *L, const char *key, int fallback, int *out) {
    if (fallback != REQUIRED && is_absent(L, key)) {
        *out = fallback;
        return SAL_OK;
    }
    char what[SAL_NAME_MAX + 64];
    describe(L, key, what, sizeof what);
    return sal_json_get_int(L->im->doc, member(L, key), out, what, L->im->err);
}

static int cfg_positive(const layer *L, const char *key, int fallback, int *out) {
    int status = cfg_int(L, key, fallback, out);
    if (!status && *out < 1)
        return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': '%s' must be at least 1, not %d", L->name, key, *out);
    return status;
}

static int cfg_bool(const layer *L, const char *key, int fallback, int *out) {
    if (is_absent(L, key)) {
        *out = fallback;
        return SAL_OK;
    }
    char what[SAL_NAME_MAX + 64];
    describe(L, key, what, sizeof what);
    return sal_json_get_bool(L->im->doc, member(L, key), out, what, L->im->err);
}

static int cfg_number(const layer *L, const char *key, double fallback, double *out) {
    if (is_absent(L, key)) {
        *out = fallback;
        return SAL_OK;
    }
    char what[SAL_NAME_MAX + 64];
    describe(L, key, what, sizeof what);
    return sal_json_get_number(L->im->doc, member(L, key), out, what, L->im->err);
}

static int cfg_string(const layer *L, const char *key, const char *fallback, char *out, size_t size) {
    if (is_absent(L, key)) {
        snprintf(out, size, "%s", fallback);
        return SAL_OK;
    }
    char what[SAL_NAME_MAX + 64];
    describe(L, key, what, sizeof what);
    return sal_json_get_string(L->im->doc, member(L, key), out, size, what, L->im->err);
}

/* An int or a list of two ints (kernel_size, strides, ...), each >= 1. */
static int cfg_pair(const layer *L, const char *key, int fallback, int out[2]) {
    const sal_json *doc = L->im->doc;
    int v = member(L, key);
    if (sal_json_kind_of(doc, v) != SAL_JSON_ARRAY) {
        int status = cfg_positive(L, key, fallback, &out[0]);
        if (!status) out[1] = out[0];
        return status;
    }
    if (sal_json_length(doc, v) != 2)
        return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': '%s' must list 2 values, not %d", L->name, key,
                        sal_json_length(doc, v));
    char what[SAL_NAME_MAX + 64];
    describe(L, key, what, sizeof what);
    for (int k = 0; k < 2; k++) {
        int status = sal_json_get_int(doc, sal_json_at(doc, v, k), &out[k], what, L->im->err);
        if (status) return status;
        if (out[k] < 1)
            return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': '%s' must be at least 1, not %d", L->name, key,
                            out[k]);
    }
    return SAL_OK;
}

/* An int, or a list holding one int (Keras writes axis both ways). */
static int cfg_axis(const layer *L, int fallback, int *axis) {
    const sal_json *doc = L->im->doc;
    int v = member(L, "axis");
    if (sal_json_kind_of(doc, v) == SAL_JSON_ARRAY) {
        if (sal_json_length(doc, v) != 1)
            return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': only a single axis is supported", L->name);
        char what[SAL_NAME_MAX + 64];
        describe(L, "axis", what, sizeof what);
        return sal_json_get_int(doc, sal_json_at(doc, v, 0), axis, what, L->im->err);
    }
    return cfg_int(L, "axis", fallback, axis);
}

static int check_data_format(const layer *L) {
    char format[32];
    int status = cfg_string(L, "data_format", "channels_last", format, sizeof format);
    if (!status && strcmp(format, "channels_last") != 0)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED,
                        "layer '%s': data_format '%s' is not supported (only channels_last)", L->name, format);
    return status;
}

static int cfg_padding(const layer *L, sal_padding *padding) {
    char text[32];
    int status = cfg_string(L, "padding", "valid", text, sizeof text);
    if (status) return status;
    if (strcmp(text, "valid") == 0) *padding = SAL_PAD_VALID;
    else if (strcmp(text, "same") == 0) *padding = SAL_PAD_SAME;
    else return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': padding '%s' is not supported", L->name, text);
    return SAL_OK;
}

static int activation_from_name(const char *name, sal_activation *act) {
    static const struct { const char *name; sal_activation act; } known[] = {
        {"linear", SAL_ACT_LINEAR}, {"relu", SAL_ACT_RELU},   {"relu6", SAL_ACT_RELU6},
        {"sigmoid", SAL_ACT_SIGMOID}, {"tanh", SAL_ACT_TANH}, {"softmax", SAL_ACT_SOFTMAX},
        {"swish", SAL_ACT_SWISH},   {"silu", SAL_ACT_SWISH},  {"hard_sigmoid", SAL_ACT_HARD_SIGMOID},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(name, known[i].name) == 0) {
            *act = known[i].act;
            return 1;
        }
    }
    return 0;
}

static int cfg_activation(const layer *L, sal_activation *act) {
    char name[64];
    int status = cfg_string(L, "activation", "linear", name, sizeof name);
    if (status) return status;
    if (!activation_from_name(name, act))
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': unsupported activation '%s'", L->name, name);
    return SAL_OK;
}

static int expect_inputs(const layer *L, int min, int max) {
    if (L->n_inputs >= min && L->n_inputs <= max) return SAL_OK;
    if (min == max)
        return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': has %d inputs, expected %d", L->name, L->n_inputs,
                        min);
    return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': has %d inputs, expected at least %d", L->name,
                    L->n_inputs, min);
}

/* ------------------------------------------------------------- weights */

static void format_shape(const int *dims, int rank, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < rank && used < size; d++) {
        if (dims[d] < 0) used += (size_t)snprintf(buf + used, size - used, "%s?", d ? ", " : "");
        else used += (size_t)snprintf(buf + used, size - used, "%s%d", d ? ", " : "", dims[d]);
    }
    if (used < size) snprintf(buf + used, size - used, "]");
}

static int shape_matches(const sal_tfjs_weight *w, const int *expected, int rank) {
    if (w->rank != rank) return 0;
    for (int d = 0; d < rank; d++)
        if (expected[d] >= 0 && w->shape[d] != expected[d]) return 0;
    return 1;
}

/* Moves weight "<layer>/<param>" out of the table.  expected: dims the
 * config implies, -1 where only the weight can tell (input channels). */
static int take_weight(const layer *L, const char *param, const int *expected, int rank, float **data,
                       const sal_tfjs_weight **info) {
    sal_error *err = L->im->err;
    sal_tfjs_weight *w = sal_tfjs_find_weight(L->im->weights, L->name, param);
    if (!w)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': weight '%s/%s' is missing from the weights manifest",
                        L->name, L->name, param);
    if (!w->data && strcmp(w->dtype, "float32") != 0)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': weight '%s' has dtype %s, expected float32", L->name,
                        w->name, w->dtype);
    if (!w->data)
        return sal_fail(err, SAL_ERR_FORMAT, "layer '%s': weight '%s' is used twice", L->name, w->name);
    if (!shape_matches(w, expected, rank)) {
        char have[128], want[128];
        format_shape(w->shape, w->rank, have, sizeof have);
        format_shape(expected, rank, want, sizeof want);
        return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': weight '%s' has shape %s but the layer needs %s", L->name,
                        w->name, have, want);
    }
    for (size_t i = 0; i < w->count; i++)
        if (!isfinite(w->data[i]))
            return sal_fail(err, SAL_ERR_NUMERIC, "layer '%s': weight '%s' holds %s at index %zu", L->name, w->name,
                            isnan(w->data[i]) ? "NaN" : "infinity", i);
    for (int d = 0; d < rank; d++)
        if (w->shape[d] < 1)
            return sal_fail(err, SAL_ERR_SHAPE, "layer '%s': weight '%s' has an empty dimension", L->name, w->name);
    *data = w->data;
    w->data = NULL;
    if (info) *info = w;
    return SAL_OK;
}

/* --------------------------------------------------------------- nodes */

static size_t hash_name(const char *s) {
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding `name`, or the empty slot where it would go. */
static int *name_slot(const name_index *names, const sal_graph *g, const char *name) {
    size_t mask = names->capacity - 1;
    for (size_t k = hash_name(name) & mask;; k = (k + 1) & mask) {
        int *slot = &names->slots[k];
        if (*slot == 0 || strcmp(g->nodes[*slot - 1].name, name) == 0) return slot;
    }
}

/* The first node named `name`, or -1. */
static int find_node(const importer *im, const char *name) {
    return im->names.capacity ? *name_slot(&im->names, im->g, name) - 1 : -1;
}

static void insert_name(name_index *names, const sal_graph *g, int node) {
    int *slot = name_slot(names, g, g->nodes[node].name);
    if (*slot == 0) {
        *slot = node + 1;
        names->count++;
    }
}

/* Indexes the newest node, first re-indexing the others in a bigger table
 * when this one is getting full. */
static int index_node(importer *im, int node) {
    name_index *names = &im->names;
    if (2 * (names->count + 1) >= names->capacity) {
        size_t capacity = names->capacity ? 2 * names->capacity : 64;
        int *slots = calloc(capacity, sizeof *slots);
        if (!slots) return SAL_ERR_MEMORY;
        free(names->slots);
        *names = (name_index){slots, capacity, 0};
        for (int i = 0; i < node; i++) insert_name(names, im->g, i);
    }
    insert_name(names, im->g, node);
    return SAL_OK;
}

/* Appends a node findable by its name; -1 when out of memory. */
static int append_node(importer *im, sal_op_type op, const char *name) {
    int i = sal_graph_add_node(im->g, op, name);
    return i >= 0 && index_node(im, i) == SAL_OK ? i : -1;
}

/* Adds node "<layer><suffix>" reading the given inputs; *index receives it. */
static int add_node(const layer *L, sal_op_type op, const char *suffix, const int *inputs, int n_inputs,
                    int *index) {
    char name[SAL_NAME_MAX + sizeof LONGEST_SUFFIX]; /* layer names leave room for the suffix */
    snprintf(name, sizeof name, "%s%s", L->name, suffix);
    *index = -1;
    int i = append_node(L->im, op, name);
    if (i < 0 || sal_graph_set_inputs(L->im->g, i, inputs, n_inputs) != SAL_OK)
        return sal_fail(L->im->err, SAL_ERR_MEMORY, "out of memory adding layer '%s'", L->name);
    *index = i;
    return SAL_OK;
}

static sal_node *node_at(const layer *L, int index) { return &L->im->g->nodes[index]; }

/* The op node's name: "<layer>/linear" when an activation node will follow. */
static const char *op_suffix(sal_activation act) { return act == SAL_ACT_LINEAR ? "" : "/linear"; }

static int add_fused_activation(const layer *L, int op_node, sal_activation act) {
    if (act == SAL_ACT_LINEAR) return SAL_OK;
    int index;
    int status = add_node(L, SAL_OP_ACTIVATION, "", &op_node, 1, &index);
    if (!status) node_at(L, index)->act = act;
    return status;
}

static void set_window(sal_node *node, const int kernel[2], const int strides[2], const int dilation[2],
                       sal_padding padding) {
    node->kh = kernel[0];
    node->kw = kernel[1];
    node->stride_h = strides[0];
    node->stride_w = strides[1];
    node->dilation_h = dilation[0];
    node->dilation_w = dilation[1];
    node->padding = padding;
}

/* Rank of a node's output, known without sizes, given its input's. */
static int rank_after(const sal_node *node, const int *ranks) {
    switch (node->op) {
    case SAL_OP_GLOBAL_AVG_POOL:
    case SAL_OP_GLOBAL_MAX_POOL: return node->keepdims ? 4 : 2;
    case SAL_OP_RESHAPE: return node->target.rank;
    default: return node->n_inputs ? ranks[node->inputs[0]] : 4;
    }
}

/* Rank of a node's output (for Concatenate's axis).  Every node's is worked
 * out once, in order: the nodes of the layers converted so far are complete. */
static int node_rank(importer *im, int node, int *rank) {
    const sal_graph *g = im->g;
    if (im->n_ranks < g->n_nodes) {
        int *ranks = realloc(im->ranks, (size_t)g->cap_nodes * sizeof *ranks);
        if (!ranks) return sal_fail(im->err, SAL_ERR_MEMORY, "out of memory");
        im->ranks = ranks;
        for (; im->n_ranks < g->n_nodes; im->n_ranks++) ranks[im->n_ranks] = rank_after(&g->nodes[im->n_ranks], ranks);
    }
    *rank = im->ranks[node];
    return SAL_OK;
}

/* ---------------------------------------------------------- the layers */

static int read_input_shape(importer *im, int cfg, const char *name, sal_shape *shape) {
    const sal_json *doc = im->doc;
    int dims = sal_json_member(doc, cfg, "batch_input_shape");
    if (sal_json_is_null(doc, dims)) dims = sal_json_member(doc, cfg, "batch_shape");
    if (sal_json_kind_of(doc, dims) != SAL_JSON_ARRAY)
        return sal_fail(im->err, SAL_ERR_FORMAT, "input '%s': no batch_input_shape", name);
    if (sal_json_length(doc, dims) != 4)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED,
                        "input '%s': only image inputs [batch, height, width, channels] are supported, not rank %d",
                        name, sal_json_length(doc, dims));
    int value[3];
    char what[SAL_NAME_MAX + 64];
    snprintf(what, sizeof what, "input '%s': batch_input_shape", name);
    for (int k = 0; k < 3; k++) {
        int v = sal_json_at(doc, dims, k + 1);
        value[k] = 0;
        if (k < 2 && sal_json_is_null(doc, v)) continue;
        int status = sal_json_get_int(doc, v, &value[k], what, im->err);
        if (status) return status;
        if (value[k] < 1) return sal_fail(im->err, SAL_ERR_FORMAT, "%s: dimension %d is not positive", what, value[k]);
    }
    *shape = (sal_shape){4, 0, value[0], value[1], value[2]};
    return SAL_OK;
}

static int add_input_node(importer *im, int cfg, const char *name) {
    sal_shape shape;
    int status = read_input_shape(im, cfg, name, &shape);
    if (status) return status;
    int i = append_node(im, SAL_OP_INPUT, name);
    if (i < 0) return sal_fail(im->err, SAL_ERR_MEMORY, "out of memory adding input '%s'", name);
    im->g->nodes[i].input_shape = shape;
    return SAL_OK;
}

static int convert_input(layer *L) {
    int status = expect_inputs(L, 0, 0);
    return status ? status : add_input_node(L->im, L->cfg, L->name);
}

typedef struct {
    int kernel[2], strides[2], dilation[2];
    sal_padding padding;
    int use_bias;
    sal_activation act;
} conv_options;

static int read_conv_options(const layer *L, conv_options *o) {
    int groups, status;
    if ((status = expect_inputs(L, 1, 1)) || (status = check_data_format(L)) ||
        (status = cfg_pair(L, "kernel_size", REQUIRED, o->kernel)) ||
        (status = cfg_pair(L, "strides", 1, o->strides)) ||
        (status = cfg_pair(L, "dilation_rate", 1, o->dilation)) || (status = cfg_padding(L, &o->padding)) ||
        (status = cfg_bool(L, "use_bias", 1, &o->use_bias)) || (status = cfg_activation(L, &o->act)) ||
        (status = cfg_int(L, "groups", 1, &groups)))
        return status;
    if (groups != 1)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': grouped convolution (groups %d) is not supported",
                        L->name, groups);
    return SAL_OK;
}

static int take_bias(const layer *L, int use_bias, int channels, int node) {
    if (!use_bias) return SAL_OK;
    return take_weight(L, "bias", &channels, 1, &node_at(L, node)->bias, NULL);
}

static int convert_conv(layer *L) {
    conv_options o;
    int filters, node, status = read_conv_options(L, &o);
    if (status || (status = cfg_positive(L, "filters", REQUIRED, &filters))) return status;
    if ((status = add_node(L, SAL_OP_CONV2D, op_suffix(o.act), L->inputs, 1, &node))) return status;
    set_window(node_at(L, node), o.kernel, o.strides, o.dilation, o.padding);
    node_at(L, node)->filters = filters;
    const sal_tfjs_weight *kernel = NULL;
    int shape[4] = {o.kernel[0], o.kernel[1], -1, filters};
    if ((status = take_weight(L, "kernel", shape, 4, &node_at(L, node)->weights, &kernel))) return status;
    node_at(L, node)->in_channels = kernel->shape[2];
    if ((status = take_bias(L, o.use_bias, filters, node))) return status;
    return add_fused_activation(L, node, o.act);
}

/* A depthwise node reading `input`; its channel count follows from the kernel. */
static int add_depthwise(const layer *L, const conv_options *o, int mult, const char *suffix, int input, int *node) {
    int status = add_node(L, SAL_OP_DEPTHWISE_CONV2D, suffix, &input, 1, node);
    if (status) return status;
    set_window(node_at(L, *node), o->kernel, o->strides, o->dilation, o->padding);
    node_at(L, *node)->depth_multiplier = mult;
    const sal_tfjs_weight *kernel = NULL;
    int shape[4] = {o->kernel[0], o->kernel[1], -1, mult};
    status = take_weight(L, "depthwise_kernel", shape, 4, &node_at(L, *node)->weights, &kernel);
    if (!status) node_at(L, *node)->in_channels = kernel->shape[2];
    return status;
}

static int convert_depthwise(layer *L) {
    conv_options o;
    int mult, node, status = read_conv_options(L, &o);
    if (status || (status = cfg_positive(L, "depth_multiplier", 1, &mult))) return status;
    if ((status = add_depthwise(L, &o, mult, op_suffix(o.act), L->inputs[0], &node))) return status;
    if ((status = take_bias(L, o.use_bias, node_at(L, node)->in_channels * mult, node))) return status;
    return add_fused_activation(L, node, o.act);
}

static int convert_separable(layer *L) {
    conv_options o;
    int mult, filters, depthwise, pointwise, status = read_conv_options(L, &o);
    if (status || (status = cfg_positive(L, "depth_multiplier", 1, &mult)) ||
        (status = cfg_positive(L, "filters", REQUIRED, &filters)))
        return status;
    if ((status = add_depthwise(L, &o, mult, "/depthwise", L->inputs[0], &depthwise))) return status;
    int channels = node_at(L, depthwise)->in_channels * mult;
    if ((status = add_node(L, SAL_OP_CONV2D, op_suffix(o.act), &depthwise, 1, &pointwise))) return status;
    const int one[2] = {1, 1};
    set_window(node_at(L, pointwise), one, one, one, SAL_PAD_VALID);
    node_at(L, pointwise)->filters = filters;
    node_at(L, pointwise)->in_channels = channels;
    int shape[4] = {1, 1, channels, filters};
    if ((status = take_weight(L, "pointwise_kernel", shape, 4, &node_at(L, pointwise)->weights, NULL)) ||
        (status = take_bias(L, o.use_bias, filters, pointwise)))
        return status;
    return add_fused_activation(L, pointwise, o.act);
}

typedef struct {
    float *mean, *variance, *gamma, *beta;
} norm_params;

static int take_norm_params(const layer *L, int center, int scale, norm_params *p, int *channels) {
    const sal_tfjs_weight *mean = NULL;
    int any = -1;
    int status = take_weight(L, "moving_mean", &any, 1, &p->mean, &mean);
    if (status) return status;
    *channels = mean->shape[0];
    if ((status = take_weight(L, "moving_variance", channels, 1, &p->variance, NULL))) return status;
    if (scale && (status = take_weight(L, "gamma", channels, 1, &p->gamma, NULL))) return status;
    if (center && (status = take_weight(L, "beta", channels, 1, &p->beta, NULL))) return status;
    return SAL_OK;
}

/* scale = gamma / sqrt(variance + epsilon), shift = beta - mean * scale. */
static int fill_affine(const layer *L, sal_node *node, const norm_params *p, int channels, double epsilon) {
    node->scale = malloc((size_t)channels * sizeof *node->scale);
    node->shift = malloc((size_t)channels * sizeof *node->shift);
    if (!node->scale || !node->shift) return sal_fail(L->im->err, SAL_ERR_MEMORY, "out of memory for '%s'", L->name);
    node->in_channels = channels;
    for (int c = 0; c < channels; c++) {
        double denominator = (double)p->variance[c] + epsilon;
        if (!(denominator > 0))
            return sal_fail(L->im->err, SAL_ERR_NUMERIC,
                            "layer '%s': moving_variance + epsilon is %g for channel %d (must be positive)", L->name,
                            denominator, c);
        double scale = (p->gamma ? p->gamma[c] : 1.0) / sqrt(denominator);
        node->scale[c] = (float)scale;
        node->shift[c] = (float)((p->beta ? p->beta[c] : 0.0) - p->mean[c] * scale);
    }
    return SAL_OK;
}

static int convert_batch_norm(layer *L) {
    int axis, center, scale, node, channels = 0, status;
    double epsilon;
    if ((status = expect_inputs(L, 1, 1)) || (status = cfg_axis(L, -1, &axis)) ||
        (status = cfg_bool(L, "center", 1, &center)) || (status = cfg_bool(L, "scale", 1, &scale)) ||
        (status = cfg_number(L, "epsilon", 1e-3, &epsilon)))
        return status;
    if (axis != -1 && axis != 3)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': normalization over axis %d is not supported",
                        L->name, axis);
    if ((status = add_node(L, SAL_OP_AFFINE, "", L->inputs, 1, &node))) return status;
    norm_params p = {0};
    status = take_norm_params(L, center, scale, &p, &channels);
    if (!status) status = fill_affine(L, node_at(L, node), &p, channels, epsilon);
    free(p.mean);
    free(p.variance);
    free(p.gamma);
    free(p.beta);
    return status;
}

/* An activation node, or an identity for 'linear'. */
static int add_activation_layer(const layer *L, sal_activation act) {
    sal_op_type op = act == SAL_ACT_LINEAR ? SAL_OP_IDENTITY : SAL_OP_ACTIVATION;
    int node, status = add_node(L, op, "", L->inputs, 1, &node);
    if (!status) node_at(L, node)->act = act;
    return status;
}

static int convert_activation(layer *L) {
    sal_activation act;
    int status = expect_inputs(L, 1, 1);
    if (status || (status = cfg_activation(L, &act))) return status;
    return add_activation_layer(L, act);
}

static int convert_relu(layer *L) {
    double max_value, slope, threshold;
    int status;
    if ((status = expect_inputs(L, 1, 1)) || (status = cfg_number(L, "max_value", INFINITY, &max_value)) ||
        (status = cfg_number(L, "negative_slope", 0, &slope)) || (status = cfg_number(L, "threshold", 0, &threshold)))
        return status;
    if (slope != 0 || threshold != 0)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED,
                        "layer '%s': ReLU with negative_slope %g and threshold %g is not supported", L->name, slope,
                        threshold);
    if (max_value != INFINITY && max_value != 6)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': ReLU max_value %g is not supported (only 6)",
                        L->name, max_value);
    return add_activation_layer(L, max_value == 6 ? SAL_ACT_RELU6 : SAL_ACT_RELU);
}

static int convert_softmax(layer *L) {
    int axis, status = expect_inputs(L, 1, 1);
    if (status || (status = cfg_axis(L, -1, &axis))) return status;
    if (axis != -1)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': softmax over axis %d is not supported", L->name,
                        axis);
    return add_activation_layer(L, SAL_ACT_SOFTMAX);
}

static int convert_merge(layer *L, sal_op_type op) {
    int node, status = expect_inputs(L, 2, INT_MAX);
    return status ? status : add_node(L, op, "", L->inputs, L->n_inputs, &node);
}

static int convert_add(layer *L) { return convert_merge(L, SAL_OP_ADD); }
static int convert_multiply(layer *L) { return convert_merge(L, SAL_OP_MULTIPLY); }

static int convert_concat(layer *L) {
    int axis, status = expect_inputs(L, 2, INT_MAX);
    if (status || (status = cfg_axis(L, -1, &axis))) return status;
    if (axis != -1) {
        int rank = 0;
        if ((status = node_rank(L->im, L->inputs[0], &rank))) return status;
        if (axis != rank - 1)
            return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED,
                            "layer '%s': concatenation along axis %d of rank-%d tensors is not supported (channels "
                            "only)",
                            L->name, axis, rank);
    }
    return convert_merge(L, SAL_OP_CONCAT);
}

static int convert_pool(layer *L, sal_op_type op) {
    int size[2], strides[2], node, status;
    const int one[2] = {1, 1};
    sal_padding padding;
    if ((status = expect_inputs(L, 1, 1)) || (status = check_data_format(L)) ||
        (status = cfg_pair(L, "pool_size", 2, size)) || (status = cfg_padding(L, &padding)))
        return status;
    if (is_absent(L, "strides")) memcpy(strides, size, sizeof strides);
    else if ((status = cfg_pair(L, "strides", 1, strides))) return status;
    if ((status = add_node(L, op, "", L->inputs, 1, &node))) return status;
    set_window(node_at(L, node), size, strides, one, padding);
    return SAL_OK;
}

static int convert_max_pool(layer *L) { return convert_pool(L, SAL_OP_MAX_POOL); }
static int convert_avg_pool(layer *L) { return convert_pool(L, SAL_OP_AVG_POOL); }

static int convert_global_pool(layer *L, sal_op_type op) {
    int keepdims, node, status;
    if ((status = expect_inputs(L, 1, 1)) || (status = check_data_format(L)) ||
        (status = cfg_bool(L, "keepdims", 0, &keepdims)) || (status = add_node(L, op, "", L->inputs, 1, &node)))
        return status;
    node_at(L, node)->keepdims = keepdims;
    return SAL_OK;
}

static int convert_global_avg_pool(layer *L) { return convert_global_pool(L, SAL_OP_GLOBAL_AVG_POOL); }
static int convert_global_max_pool(layer *L) { return convert_global_pool(L, SAL_OP_GLOBAL_MAX_POOL); }

/* padding: n | [h, w] | [[top, bottom], [left, right]] -> top, bottom, left, right. */
static int read_zero_padding(const layer *L, int pads[4]) {
    const sal_json *doc = L->im->doc;
    int v = member(L, "padding");
    char what[SAL_NAME_MAX + 64];
    describe(L, "padding", what, sizeof what);
    if (sal_json_kind_of(doc, v) != SAL_JSON_ARRAY) {
        int status = cfg_int(L, "padding", 1, &pads[0]);
        if (!status) pads[1] = pads[2] = pads[3] = pads[0];
        return status;
    }
    if (sal_json_length(doc, v) != 2)
        return sal_fail(L->im->err, SAL_ERR_FORMAT, "%s must list 2 entries", what);
    for (int axis = 0; axis < 2; axis++) {
        int entry = sal_json_at(doc, v, axis), status;
        if (sal_json_kind_of(doc, entry) == SAL_JSON_ARRAY) {
            if (sal_json_length(doc, entry) != 2)
                return sal_fail(L->im->err, SAL_ERR_FORMAT, "%s: each axis needs 2 values", what);
            if ((status = sal_json_get_int(doc, sal_json_at(doc, entry, 0), &pads[2 * axis], what, L->im->err)) ||
                (status = sal_json_get_int(doc, sal_json_at(doc, entry, 1), &pads[2 * axis + 1], what, L->im->err)))
                return status;
        } else {
            if ((status = sal_json_get_int(doc, entry, &pads[2 * axis], what, L->im->err))) return status;
            pads[2 * axis + 1] = pads[2 * axis];
        }
    }
    return SAL_OK;
}

static int convert_zero_pad(layer *L) {
    int pads[4], node, status;
    if ((status = expect_inputs(L, 1, 1)) || (status = check_data_format(L)) || (status = read_zero_padding(L, pads)))
        return status;
    for (int k = 0; k < 4; k++)
        if (pads[k] < 0 || pads[k] > (1 << 20))
            return sal_fail(L->im->err, SAL_ERR_FORMAT, "layer '%s': invalid padding %d", L->name, pads[k]);
    if ((status = add_node(L, SAL_OP_ZERO_PAD, "", L->inputs, 1, &node))) return status;
    sal_node *n = node_at(L, node);
    n->pad_top = pads[0];
    n->pad_bottom = pads[1];
    n->pad_left = pads[2];
    n->pad_right = pads[3];
    return SAL_OK;
}

static int convert_dense(layer *L) {
    int units, use_bias, node, status;
    sal_activation act;
    if ((status = expect_inputs(L, 1, 1)) || (status = cfg_positive(L, "units", REQUIRED, &units)) ||
        (status = cfg_bool(L, "use_bias", 1, &use_bias)) || (status = cfg_activation(L, &act)) ||
        (status = add_node(L, SAL_OP_DENSE, op_suffix(act), L->inputs, 1, &node)))
        return status;
    node_at(L, node)->filters = units;
    const sal_tfjs_weight *kernel = NULL;
    int shape[2] = {-1, units};
    if ((status = take_weight(L, "kernel", shape, 2, &node_at(L, node)->weights, &kernel))) return status;
    node_at(L, node)->in_channels = kernel->shape[0];
    if ((status = take_bias(L, use_bias, units, node))) return status;
    return add_fused_activation(L, node, act);
}

static int convert_flatten(layer *L) {
    int node, status;
    if ((status = expect_inputs(L, 1, 1)) || (status = check_data_format(L)) ||
        (status = add_node(L, SAL_OP_RESHAPE, "", L->inputs, 1, &node)))
        return status;
    node_at(L, node)->target = (sal_shape){2, 0, 1, 1, -1};
    return SAL_OK;
}

static int convert_reshape(layer *L) {
    const sal_json *doc = L->im->doc;
    int target = member(L, "target_shape"), status = expect_inputs(L, 1, 1);
    if (status) return status;
    int rank = sal_json_length(doc, target);
    if (sal_json_kind_of(doc, target) != SAL_JSON_ARRAY || rank < 1 || rank > 3)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': target_shape must list 1 to 3 dimensions",
                        L->name);
    int dims[3] = {1, 1, 1};
    char what[SAL_NAME_MAX + 64];
    describe(L, "target_shape", what, sizeof what);
    for (int k = 0; k < rank; k++) {
        int *dim = &dims[3 - rank + k];
        if ((status = sal_json_get_int(doc, sal_json_at(doc, target, k), dim, what, L->im->err))) return status;
        if (*dim < 1 && *dim != -1)
            return sal_fail(L->im->err, SAL_ERR_FORMAT, "%s: invalid dimension %d", what, *dim);
    }
    int node;
    if ((status = add_node(L, SAL_OP_RESHAPE, "", L->inputs, 1, &node))) return status;
    node_at(L, node)->target = (sal_shape){rank + 1, 0, dims[0], dims[1], dims[2]};
    return SAL_OK;
}

static int convert_identity(layer *L) {
    int node, status = expect_inputs(L, 1, 1);
    return status ? status : add_node(L, SAL_OP_IDENTITY, "", L->inputs, 1, &node);
}

typedef int (*layer_converter)(layer *L);

static layer_converter find_converter(const char *class_name) {
    static const struct { const char *name; layer_converter convert; } table[] = {
        {"InputLayer", convert_input},
        {"Conv2D", convert_conv},
        {"Convolution2D", convert_conv},
        {"DepthwiseConv2D", convert_depthwise},
        {"SeparableConv2D", convert_separable},
        {"SeparableConvolution2D", convert_separable},
        {"BatchNormalization", convert_batch_norm},
        {"Activation", convert_activation},
        {"ReLU", convert_relu},
        {"Softmax", convert_softmax},
        {"Add", convert_add},
        {"Multiply", convert_multiply},
        {"Concatenate", convert_concat},
        {"MaxPooling2D", convert_max_pool},
        {"MaxPool2D", convert_max_pool},
        {"AveragePooling2D", convert_avg_pool},
        {"AvgPool2D", convert_avg_pool},
        {"GlobalAveragePooling2D", convert_global_avg_pool},
        {"GlobalAvgPool2D", convert_global_avg_pool},
        {"GlobalMaxPooling2D", convert_global_max_pool},
        {"GlobalMaxPool2D", convert_global_max_pool},
        {"ZeroPadding2D", convert_zero_pad},
        {"Dense", convert_dense},
        {"Flatten", convert_flatten},
        {"Reshape", convert_reshape},
        {"Dropout", convert_identity},
        {"SpatialDropout2D", convert_identity},
        {"GaussianNoise", convert_identity},
        {"GaussianDropout", convert_identity},
        {"AlphaDropout", convert_identity},
        {"ActivityRegularization", convert_identity},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(class_name, table[i].name) == 0) return table[i].convert;
    return NULL;
}

/* ------------------------------------------------------------- models */

static int read_layer_header(importer *im, int json_layer, int index, layer *L) {
    const sal_json *doc = im->doc;
    char what[64];
    if (sal_json_kind_of(doc, json_layer) != SAL_JSON_OBJECT)
        return sal_fail(im->err, SAL_ERR_FORMAT, "layers[%d] must be an object", index);
    snprintf(what, sizeof what, "layers[%d].class_name", index);
    int status = sal_json_get_string(doc, sal_json_member(doc, json_layer, "class_name"), L->class_name,
                                     sizeof L->class_name, what, im->err);
    if (status) return status;
    L->cfg = sal_json_member(doc, json_layer, "config");
    if (sal_json_kind_of(doc, L->cfg) != SAL_JSON_OBJECT)
        return sal_fail(im->err, SAL_ERR_FORMAT, "layers[%d] ('%s'): 'config' must be an object", index,
                        L->class_name);
    int name = sal_json_member(doc, json_layer, "name");
    if (sal_json_is_null(doc, name)) name = sal_json_member(doc, L->cfg, "name");
    snprintf(what, sizeof what, "layers[%d].name", index);
    status = sal_json_get_string(doc, name, L->name, sizeof L->name - (sizeof LONGEST_SUFFIX - 1), what, im->err);
    if (status) return status;
    if (L->name[0] == '\0') return sal_fail(im->err, SAL_ERR_FORMAT, "layers[%d] has an empty name", index);
    if (find_node(im, L->name) >= 0)
        return sal_fail(im->err, SAL_ERR_FORMAT, "layer '%s': the name is used twice", L->name);
    return SAL_OK;
}

/* Converts a layer whose header is read and whose inputs are nodes; its
 * output is the last node. */
static int convert_layer(layer *L) {
    layer_converter convert = find_converter(L->class_name);
    if (!convert)
        return sal_fail(L->im->err, SAL_ERR_UNSUPPORTED, "layer '%s': unsupported layer type '%s'", L->name,
                        L->class_name);
    return convert(L);
}

/* One entry of a Keras 2 inbound node: ["name", node_index, tensor_index, {kwargs}]. */
static int resolve_inbound(importer *im, int entry, const char *layer_name, int *node) {
    const sal_json *doc = im->doc;
    char name[SAL_NAME_MAX], what[SAL_NAME_MAX + 64];
    snprintf(what, sizeof what, "layer '%s': inbound node", layer_name);
    if (sal_json_kind_of(doc, entry) != SAL_JSON_ARRAY || sal_json_length(doc, entry) < 3)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED,
                        "%s: unsupported format (expected the Keras 2 form [name, node, tensor, kwargs])", what);
    int node_index, tensor_index, status;
    if ((status = sal_json_get_string(doc, sal_json_at(doc, entry, 0), name, sizeof name, what, im->err)) ||
        (status = sal_json_get_int(doc, sal_json_at(doc, entry, 1), &node_index, what, im->err)) ||
        (status = sal_json_get_int(doc, sal_json_at(doc, entry, 2), &tensor_index, what, im->err)))
        return status;
    if (node_index != 0 || tensor_index != 0)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED,
                        "layer '%s': reads output %d of call %d of '%s' (shared or multi-output layers are not "
                        "supported)",
                        layer_name, tensor_index, node_index, name);
    *node = find_node(im, name);
    if (*node < 0)
        return sal_fail(im->err, SAL_ERR_FORMAT, "layer '%s': input '%s' is not defined before it", layer_name, name);
    return SAL_OK;
}

/* The nodes a functional model's layer reads (*inputs: malloc'ed). */
static int read_inbound(importer *im, int json_layer, const char *name, int **inputs, int *n_inputs) {
    const sal_json *doc = im->doc;
    *inputs = NULL;
    *n_inputs = 0;
    int nodes = sal_json_member(doc, json_layer, "inbound_nodes");
    int calls = sal_json_length(doc, nodes);
    if (calls > 1)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED, "layer '%s' is called %d times (shared layers are not supported)",
                        name, calls);
    if (calls == 0) return SAL_OK;
    int call = sal_json_at(doc, nodes, 0);
    if (sal_json_kind_of(doc, call) != SAL_JSON_ARRAY)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED,
                        "layer '%s': unsupported inbound_nodes format (expected the Keras 2 nested lists)", name);
    int n = sal_json_length(doc, call);
    *inputs = malloc((size_t)(n ? n : 1) * sizeof **inputs);
    if (!*inputs) return sal_fail(im->err, SAL_ERR_MEMORY, "out of memory");
    for (int k = 0; k < n; k++) {
        int status = resolve_inbound(im, sal_json_at(doc, call, k), name, &(*inputs)[k]);
        if (status) return status;
    }
    *n_inputs = n;
    return SAL_OK;
}

/* input_layers / output_layers: exactly one [name, 0, 0] (or the bare triple). */
static int single_endpoint(importer *im, int config, const char *key, int *node) {
    const sal_json *doc = im->doc;
    int list = sal_json_member(doc, config, key);
    if (sal_json_kind_of(doc, list) != SAL_JSON_ARRAY)
        return sal_fail(im->err, SAL_ERR_FORMAT, "model config: '%s' must be a list", key);
    int entry = sal_json_kind_of(doc, sal_json_at(doc, list, 0)) == SAL_JSON_STRING ? list : sal_json_at(doc, list, 0);
    if (entry != list && sal_json_length(doc, list) != 1)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED, "the model has %d %s; only one is supported",
                        sal_json_length(doc, list), strcmp(key, "input_layers") == 0 ? "inputs" : "outputs");
    char name[SAL_NAME_MAX], what[64];
    snprintf(what, sizeof what, "model config: %s", key);
    int status = sal_json_get_string(doc, sal_json_at(doc, entry, 0), name, sizeof name, what, im->err);
    if (status) return status;
    *node = find_node(im, name);
    if (*node < 0) return sal_fail(im->err, SAL_ERR_FORMAT, "model config: %s names unknown layer '%s'", key, name);
    return SAL_OK;
}

static int count_inputs(const sal_graph *g) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == SAL_OP_INPUT;
    return n;
}

static int build_functional(importer *im, int config) {
    const sal_json *doc = im->doc;
    int layers = sal_json_member(doc, config, "layers");
    if (sal_json_kind_of(doc, layers) != SAL_JSON_ARRAY)
        return sal_fail(im->err, SAL_ERR_FORMAT, "model config: 'layers' must be a list");
    int status = SAL_OK;
    for (int i = 0; i < sal_json_length(doc, layers) && status == SAL_OK; i++) {
        int json_layer = sal_json_at(doc, layers, i), *inputs = NULL;
        layer L = {.im = im};
        status = read_layer_header(im, json_layer, i, &L);
        if (!status) status = read_inbound(im, json_layer, L.name, &inputs, &L.n_inputs);
        L.inputs = inputs;
        if (!status) status = convert_layer(&L);
        free(inputs);
    }
    int input;
    if (status || (status = single_endpoint(im, config, "input_layers", &input)) ||
        (status = single_endpoint(im, config, "output_layers", &im->g->output)))
        return status;
    if (im->g->nodes[input].op != SAL_OP_INPUT)
        return sal_fail(im->err, SAL_ERR_FORMAT, "model input '%s' is not an InputLayer", im->g->nodes[input].name);
    if (count_inputs(im->g) != 1)
        return sal_fail(im->err, SAL_ERR_UNSUPPORTED, "the model has %d inputs; only one is supported",
                        count_inputs(im->g));
    return SAL_OK;
}

static int is_input_layer(const sal_json *doc, int json_layer) {
    return sal_json_string_equals(doc, sal_json_member(doc, json_layer, "class_name"), "InputLayer");
}

/* Without an explicit InputLayer, the first layer declares the input shape. */
static int add_implicit_input(importer *im, int first) {
    const sal_json *doc = im->doc;
    int cfg = sal_json_member(doc, first, "config");
    char layer_name[SAL_NAME_MAX - 16], input_name[SAL_NAME_MAX];
    if (sal_json_get_string(doc, sal_json_member(doc, cfg, "name"), layer_name, sizeof layer_name, "name", NULL))
        snprintf(layer_name, sizeof layer_name, "sequential");
    snprintf(input_name, sizeof input_name, "%s_input", layer_name);
    if (sal_json_is_null(doc, sal_json_member(doc, cfg, "batch_input_shape")) &&
        sal_json_is_null(doc, sal_json_member(doc, cfg, "batch_shape")))
        return sal_fail(im->err, SAL_ERR_FORMAT, "Sequential model: the first layer '%s' has no batch_input_shape",
                        layer_name);
    return add_input_node(im, cfg, input_name);
}

static int build_sequential(importer *im, int layers) {
    const sal_json *doc = im->doc;
    int n = sal_json_length(doc, layers);
    if (sal_json_kind_of(doc, layers) != SAL_JSON_ARRAY || n == 0)
        return sal_fail(im->err, SAL_ERR_FORMAT, "Sequential model: 'layers' must be a non-empty list");
    int first = sal_json_at(doc, layers, 0);
    int status = is_input_layer(doc, first) ? SAL_OK : add_implicit_input(im, first);
    for (int i = 0; i < n && status == SAL_OK; i++) {
        int json_layer = sal_json_at(doc, layers, i);
        int previous = im->g->n_nodes - 1;
        if (i > 0 && is_input_layer(doc, json_layer))
            return sal_fail(im->err, SAL_ERR_UNSUPPORTED, "Sequential model: an InputLayer after the first layer");
        layer L = {.im = im, .inputs = &previous, .n_inputs = previous >= 0 ? 1 : 0};
        status = read_layer_header(im, json_layer, i, &L);
        if (!status) status = convert_layer(&L);
    }
    im->g->output = im->g->n_nodes - 1;
    return status;
}

/* modelTopology is {model_config: {class_name, config}}, {class_name, config},
 * the functional config itself, or a Sequential layer list. */
static int build_model(importer *im, int topology) {
    const sal_json *doc = im->doc;
    int model = sal_json_member(doc, topology, "model_config");
    if (sal_json_is_null(doc, model)) model = topology;
    if (sal_json_kind_of(doc, model) == SAL_JSON_ARRAY) return build_sequential(im, model);
    int config = model;
    char class_name[CLASS_NAME_MAX];
    int class_token = sal_json_member(doc, model, "class_name");
    if (!sal_json_is_null(doc, class_token)) {
        int status = sal_json_get_string(doc, class_token, class_name, sizeof class_name, "model class_name", im->err);
        if (status) return status;
        config = sal_json_member(doc, model, "config");
    } else if (sal_json_kind_of(doc, sal_json_member(doc, model, "layers")) == SAL_JSON_ARRAY) {
        int functional = !sal_json_is_null(doc, sal_json_member(doc, model, "input_layers"));
        snprintf(class_name, sizeof class_name, "%s", functional ? "Model" : "Sequential");
    } else {
        return sal_fail(im->err, SAL_ERR_FORMAT, "modelTopology holds no Keras model config");
    }
    if (strcmp(class_name, "Sequential") == 0) {
        int layers = sal_json_kind_of(doc, config) == SAL_JSON_ARRAY ? config : sal_json_member(doc, config, "layers");
        return build_sequential(im, layers);
    }
    if (strcmp(class_name, "Model") == 0 || strcmp(class_name, "Functional") == 0) return build_functional(im, config);
    return sal_fail(im->err, SAL_ERR_UNSUPPORTED, "model class '%s' is not supported", class_name);
}

static int check_format(const sal_json *doc, sal_error *err) {
    char format[64];
    int token = sal_json_member(doc, 0, "format");
    if (sal_json_is_null(doc, token)) return SAL_OK;
    int status = sal_json_get_string(doc, token, format, sizeof format, "model.json 'format'", err);
    if (status) return status;
    if (strcmp(format, "layers-model") != 0)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "model.json format '%s' is not supported (only layers-model)",
                        format);
    return SAL_OK;
}

static int import_document(const sal_json *doc, const sal_shard_source *shards, sal_graph *g, sal_error *err) {
    if (sal_json_kind_of(doc, 0) != SAL_JSON_OBJECT)
        return sal_fail(err, SAL_ERR_FORMAT, "model.json must hold an object");
    int status = check_format(doc, err);
    if (status) return status;
    int topology = sal_json_member(doc, 0, "modelTopology");
    if (sal_json_is_null(doc, topology)) return sal_fail(err, SAL_ERR_FORMAT, "model.json has no modelTopology");
    sal_tfjs_weights weights;
    status = sal_tfjs_read_weights(doc, sal_json_member(doc, 0, "weightsManifest"), shards, &weights, err);
    if (status) return status;
    importer im = {.doc = doc, .weights = &weights, .g = g, .err = err};
    status = build_model(&im, topology);
    sal_tfjs_weights_free(&weights);
    free(im.names.slots);
    free(im.ranks);
    if (!status && g->output < 0) status = sal_fail(err, SAL_ERR_FORMAT, "the model has no layers");
    return status ? status : sal_graph_simplify(g, err);
}

int sal_tfjs_import(const char *json, size_t json_size, const sal_shard_source *shards, sal_graph *graph,
                    sal_error *err) {
    sal_graph_init(graph);
    sal_json doc;
    int status = sal_json_parse(&doc, json, json_size, err);
    if (status) return status;
    status = import_document(&doc, shards, graph, err);
    sal_json_free(&doc);
    if (status) sal_graph_free(graph);
    return status;
}
