/* randomize.c - cascading randomization (Adebayo et al. 2018): for the
 * layers l = L, L-1, ..., L-count+1 nearest the logits,
 *
 *   W_l <- mean(W_l) + std(W_l) * N(0, 1),   b_l <- mean(b_l) + std(b_l) * N(0, 1)
 *
 * with draws from the library's seeded counter-based generator. */
#include "randomize.h"

#include <math.h>

#include "../bytes/error.h"
#include "../methods/methods.h"
#include "model.h"

static int is_weighted(const sal_node *node) {
    return node->weights && (node->op == SAL_OP_CONV2D || node->op == SAL_OP_DEPTHWISE_CONV2D ||
                             node->op == SAL_OP_DENSE);
}

static size_t weight_count(const sal_node *node) {
    size_t window = (size_t)node->kh * (size_t)node->kw;
    switch (node->op) {
    case SAL_OP_CONV2D: return window * node->in_channels * node->filters;
    case SAL_OP_DEPTHWISE_CONV2D: return window * node->in_channels * node->depth_multiplier;
    default: return (size_t)node->in_channels * node->filters; /* dense */
    }
}

static size_t bias_count(const sal_node *node) {
    if (!node->bias) return 0;
    return node->op == SAL_OP_DEPTHWISE_CONV2D ? (size_t)node->in_channels * node->depth_multiplier
                                               : (size_t)node->filters;
}

/* Node index of the index-th weighted layer from the logits down, or -1. */
static int weighted_node(const sal_model *model, int index) {
    const sal_graph *g = &model->graph;
    int logits = sal_graph_logits_node(g);
    for (int i = logits; i >= 0 && index >= 0; i--) {
        if (!is_weighted(&g->nodes[i])) continue;
        if (index-- == 0) return i;
    }
    return -1;
}

int sal_model_num_weighted_layers(const sal_model *model) {
    if (!model) return 0;
    int n = 0;
    for (int i = sal_graph_logits_node(&model->graph); i >= 0; i--) n += is_weighted(&model->graph.nodes[i]);
    return n;
}

const char *sal_model_weighted_layer_name(const sal_model *model, int index) {
    int node = model && index >= 0 ? weighted_node(model, index) : -1;
    return node >= 0 ? model->graph.nodes[node].name : NULL;
}

/* values <- their mean + their standard deviation * fresh normal draws. */
static void redraw(float *values, size_t n, uint64_t seed) {
    if (n == 0) return;
    double sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++) sum += values[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) squares += (values[i] - mean) * (values[i] - mean);
    double std = sqrt(squares / (double)n);
    sal_random_normal(seed, values, n);
    for (size_t i = 0; i < n; i++) values[i] = (float)(mean + std * values[i]);
}

int sal_model_randomize_top_layers(sal_model *model, int count, uint64_t seed, sal_error *err) {
    if (!model) return sal_fail(err, SAL_ERR_ARGUMENT, "randomize: no model given");
    int available = sal_model_num_weighted_layers(model);
    if (count < 0 || count > available)
        return sal_fail(err, SAL_ERR_ARGUMENT, "randomize: %d layers asked for, the model has %d weighted layers",
                        count, available);
    for (int k = 0; k < count; k++) {
        sal_node *node = &model->graph.nodes[weighted_node(model, k)];
        /* one stream per array: seed, layer and weights/bias apart */
        redraw(node->weights, weight_count(node), seed + 2 * (uint64_t)k * 0x9E3779B97F4A7C15ull);
        redraw(node->bias, bias_count(node), seed + (2 * (uint64_t)k + 1) * 0x9E3779B97F4A7C15ull);
    }
    sal_ok(err);
    return SAL_OK;
}
