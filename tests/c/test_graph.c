/* test_graph.c - graph building, simplification (identity removal, batch-norm
 * folding) and shape inference on hand-built graphs.  Expected shapes are
 * worked out by hand in the comments; folding is checked against naive
 * convolution loops run on the original and on the folded weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/graph.h"

/* ------------------------------------------------------------- builders */

static int add(sal_graph *g, sal_op_type op, const char *name, int n_inputs, int in0, int in1) {
    int i = sal_graph_add_node(g, op, name);
    int inputs[2] = {in0, in1};
    CHECK(i >= 0, "add node %s", name);
    CHECK(sal_graph_set_inputs(g, i, inputs, n_inputs) == SAL_OK, "inputs of %s", name);
    return i;
}

static int add_input(sal_graph *g, int channels) {
    int i = sal_graph_add_node(g, SAL_OP_INPUT, "input");
    g->nodes[i].input_shape = (sal_shape){4, 0, 0, 0, channels};
    return i;
}

static void set_window(sal_node *n, int kh, int kw, int sh, int sw, int dh, int dw, sal_padding padding) {
    n->kh = kh;
    n->kw = kw;
    n->stride_h = sh;
    n->stride_w = sw;
    n->dilation_h = dh;
    n->dilation_w = dw;
    n->padding = padding;
}

static int add_conv(sal_graph *g, const char *name, int in, int k, int stride, int dilation, sal_padding padding,
                    int cin, int cout) {
    int i = add(g, SAL_OP_CONV2D, name, 1, in, 0);
    set_window(&g->nodes[i], k, k, stride, stride, dilation, dilation, padding);
    g->nodes[i].in_channels = cin;
    g->nodes[i].filters = cout;
    return i;
}

static int add_pool(sal_graph *g, sal_op_type op, const char *name, int in, int k, int stride, sal_padding padding) {
    int i = add(g, op, name, 1, in, 0);
    set_window(&g->nodes[i], k, k, stride, stride, 1, 1, padding);
    return i;
}

static int add_dense(sal_graph *g, const char *name, int in, int cin, int units) {
    int i = add(g, SAL_OP_DENSE, name, 1, in, 0);
    g->nodes[i].in_channels = cin;
    g->nodes[i].filters = units;
    return i;
}

static float *floats(size_t n, float start, float step) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = start + step * (float)i;
    return v;
}

/* The fold tests' subject: a 1x1 convolution from 2 to 2 channels, weights 1, 2, 3, 4. */
static int add_small_conv(sal_graph *g, int in) {
    int i = add_conv(g, "conv", in, 1, 1, 1, SAL_PAD_VALID, 2, 2);
    g->nodes[i].weights = floats(4, 1, 1);
    return i;
}

static float *copy_of(const float *v, size_t n) {
    float *c = malloc(n * sizeof *c);
    memcpy(c, v, n * sizeof *c);
    return c;
}

static void check_shape(sal_shape got, int rank, int n, int h, int w, int c, const char *what) {
    CHECK(got.rank == rank && got.n == n && got.h == h && got.w == w && got.c == c,
          "%s: got rank %d [%d,%d,%d,%d], want rank %d [%d,%d,%d,%d]", what, got.rank, got.n, got.h, got.w, got.c,
          rank, n, h, w, c);
}

/* ------------------------------------------------------- shape inference */

static void test_window_shapes(void) {
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, 3);
    int same1 = add_conv(&g, "same1", x, 3, 1, 1, SAL_PAD_SAME, 3, 8);     /* 7 -> 7 */
    int valid2 = add_conv(&g, "valid2", x, 3, 2, 1, SAL_PAD_VALID, 3, 4);  /* floor((7-3)/2)+1 = 3 */
    int same2 = add_conv(&g, "same2", x, 3, 2, 1, SAL_PAD_SAME, 3, 5);     /* ceil(7/2) = 4 */
    int dil = add_conv(&g, "dilated", x, 3, 1, 2, SAL_PAD_VALID, 3, 6);    /* span 5: 7-5+1 = 3 */
    int dil_same = add_conv(&g, "dil_same", x, 3, 1, 2, SAL_PAD_SAME, 3, 2); /* 7 */
    int rect = add(&g, SAL_OP_CONV2D, "rect", 1, x, 0);                   /* 3x1, strides 2x1, valid */
    set_window(&g.nodes[rect], 3, 1, 2, 1, 1, 1, SAL_PAD_VALID);
    g.nodes[rect].in_channels = 3;
    g.nodes[rect].filters = 7;
    int dw = add(&g, SAL_OP_DEPTHWISE_CONV2D, "dw", 1, x, 0);              /* 5x5 same stride 3: ceil(7/3)=3 */
    set_window(&g.nodes[dw], 5, 5, 3, 3, 1, 1, SAL_PAD_SAME);
    g.nodes[dw].in_channels = 3;
    g.nodes[dw].depth_multiplier = 2;
    int maxv = add_pool(&g, SAL_OP_MAX_POOL, "maxv", same1, 2, 2, SAL_PAD_VALID); /* floor((7-2)/2)+1 = 3 */
    int maxs = add_pool(&g, SAL_OP_MAX_POOL, "maxs", same1, 2, 2, SAL_PAD_SAME);  /* ceil(7/2) = 4 */
    int avg = add_pool(&g, SAL_OP_AVG_POOL, "avg", same1, 3, 1, SAL_PAD_SAME);    /* 7 */
    int avg3 = add_pool(&g, SAL_OP_AVG_POOL, "avg3", same1, 3, 3, SAL_PAD_VALID); /* floor(4/3)+1 = 2 */
    int pad = add(&g, SAL_OP_ZERO_PAD, "pad", 1, x, 0);                  /* 7+1+2 = 10, 7+3+4 = 14 */
    g.nodes[pad].pad_top = 1;
    g.nodes[pad].pad_bottom = 2;
    g.nodes[pad].pad_left = 3;
    g.nodes[pad].pad_right = 4;
    g.output = pad;

    sal_shape shapes[32];
    sal_error err;
    CHECK(sal_graph_infer_shapes(&g, 2, 7, 7, shapes, &err) == SAL_OK, "infer: %s", err.message);
    check_shape(shapes[x], 4, 2, 7, 7, 3, "input");
    check_shape(shapes[same1], 4, 2, 7, 7, 8, "same stride 1");
    check_shape(shapes[valid2], 4, 2, 3, 3, 4, "valid stride 2");
    check_shape(shapes[same2], 4, 2, 4, 4, 5, "same stride 2");
    check_shape(shapes[dil], 4, 2, 3, 3, 6, "dilated valid");
    check_shape(shapes[dil_same], 4, 2, 7, 7, 2, "dilated same");
    check_shape(shapes[rect], 4, 2, 3, 7, 7, "3x1 window, strides 2x1");
    check_shape(shapes[dw], 4, 2, 3, 3, 6, "depthwise x2");
    check_shape(shapes[maxv], 4, 2, 3, 3, 8, "max pool valid");
    check_shape(shapes[maxs], 4, 2, 4, 4, 8, "max pool same");
    check_shape(shapes[avg], 4, 2, 7, 7, 8, "avg pool same");
    check_shape(shapes[avg3], 4, 2, 2, 2, 8, "avg pool 3/3 valid");
    check_shape(shapes[pad], 4, 2, 10, 14, 3, "zero pad");

    /* A different input size re-derives everything: 10x5 input. */
    CHECK(sal_graph_infer_shapes(&g, 1, 10, 5, shapes, &err) == SAL_OK, "infer 10x5: %s", err.message);
    check_shape(shapes[valid2], 4, 1, 4, 2, 4, "valid stride 2 on 10x5"); /* (10-3)/2+1 = 4, (5-3)/2+1 = 2 */
    check_shape(shapes[same2], 4, 1, 5, 3, 5, "same stride 2 on 10x5");
    check_shape(shapes[rect], 4, 1, 4, 5, 7, "3x1 on 10x5");
    sal_graph_free(&g);
}

static void test_merge_pool_dense_reshape(void) {
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, 4);
    int a = add_conv(&g, "a", x, 3, 2, 1, SAL_PAD_SAME, 4, 6);              /* 9 -> 5, c 6 */
    int b = add_conv(&g, "b", x, 1, 2, 1, SAL_PAD_VALID, 4, 10);            /* 9 -> 5, c 10 */
    int cat = add(&g, SAL_OP_CONCAT, "cat", 2, a, b);                       /* 5x5x16 */
    int sum = add(&g, SAL_OP_ADD, "sum", 2, a, a);                          /* 5x5x6 */
    int gap = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap", 1, a, 0);              /* [n,6] rank 2 */
    int gap4 = add(&g, SAL_OP_GLOBAL_MAX_POOL, "gap4", 1, a, 0);            /* [n,1,1,6] rank 4 */
    g.nodes[gap4].keepdims = 1;
    int scaled = add(&g, SAL_OP_MULTIPLY, "scaled", 2, a, gap4);            /* 5x5x6, broadcast second */
    int scaled2 = add(&g, SAL_OP_MULTIPLY, "scaled2", 2, gap4, a);          /* broadcast first */
    int dense4 = add_dense(&g, "dense4", cat, 16, 3);                       /* last axis: 5x5x3 */
    int flat = add(&g, SAL_OP_RESHAPE, "flat", 1, cat, 0);                  /* 5*5*16 = 400 */
    g.nodes[flat].target = (sal_shape){2, 0, 1, 1, -1};
    int r3 = add(&g, SAL_OP_RESHAPE, "r3", 1, flat, 0);                     /* (-1, 8) -> (50, 8) */
    g.nodes[r3].target = (sal_shape){3, 0, 1, -1, 8};
    int r4 = add(&g, SAL_OP_RESHAPE, "r4", 1, r3, 0);                       /* (10, 5, 8) */
    g.nodes[r4].target = (sal_shape){4, 0, 10, 5, 8};
    int fc = add_dense(&g, "fc", flat, 400, 7);
    int soft = add(&g, SAL_OP_ACTIVATION, "soft", 1, fc, 0);
    g.nodes[soft].act = SAL_ACT_SOFTMAX;
    g.output = soft;

    sal_shape shapes[32];
    sal_error err;
    CHECK(sal_graph_infer_shapes(&g, 3, 9, 9, shapes, &err) == SAL_OK, "infer: %s", err.message);
    check_shape(shapes[a], 4, 3, 5, 5, 6, "a");
    check_shape(shapes[b], 4, 3, 5, 5, 10, "b");
    check_shape(shapes[cat], 4, 3, 5, 5, 16, "concat");
    check_shape(shapes[sum], 4, 3, 5, 5, 6, "add");
    check_shape(shapes[gap], 2, 3, 1, 1, 6, "global avg pool");
    check_shape(shapes[gap4], 4, 3, 1, 1, 6, "global max pool keepdims");
    check_shape(shapes[scaled], 4, 3, 5, 5, 6, "multiply broadcast second");
    check_shape(shapes[scaled2], 4, 3, 5, 5, 6, "multiply broadcast first");
    check_shape(shapes[dense4], 4, 3, 5, 5, 3, "dense on 4-D");
    check_shape(shapes[flat], 2, 3, 1, 1, 400, "flatten");
    check_shape(shapes[r3], 3, 3, 1, 50, 8, "reshape (-1, 8)");
    check_shape(shapes[r4], 4, 3, 10, 5, 8, "reshape (10, 5, 8)");
    check_shape(shapes[fc], 2, 3, 1, 1, 7, "dense");
    check_shape(shapes[soft], 2, 3, 1, 1, 7, "softmax");
    CHECK(sal_graph_logits_node(&g) == fc, "logits node is the softmax input");
    g.nodes[soft].act = SAL_ACT_SIGMOID;
    CHECK(sal_graph_logits_node(&g) == soft, "a sigmoid output is its own logits");
    sal_graph_free(&g);
}

/* Builds x -> node under test, runs inference, expects failure naming it. */
static void expect_shape_error(sal_graph *g, int h, int w, sal_status status, const char *needle, const char *what) {
    sal_shape shapes[16];
    sal_error err = {0};
    int got = sal_graph_infer_shapes(g, 1, h, w, shapes, &err);
    CHECK(got == (int)status, "%s: status %d, want %d (%s)", what, got, (int)status, err.message);
    CHECK(strstr(err.message, needle) != NULL, "%s: message '%s' should name '%s'", what, err.message, needle);
}

static void test_shape_errors(void) {
    sal_graph g;

    sal_graph_init(&g);
    int x = add_input(&g, 3);
    g.output = add_conv(&g, "too_big", x, 5, 1, 1, SAL_PAD_VALID, 3, 2);
    expect_shape_error(&g, 4, 9, SAL_ERR_SHAPE, "too_big", "window larger than input");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    int p = add_pool(&g, SAL_OP_MAX_POOL, "pool", x, 2, 1, SAL_PAD_VALID);
    g.nodes[p].dilation_h = g.nodes[p].dilation_w = 4; /* span 5 > 4 */
    g.output = p;
    expect_shape_error(&g, 4, 4, SAL_ERR_SHAPE, "pool", "dilated window larger than input");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    int a = add_conv(&g, "a", x, 3, 1, 1, SAL_PAD_SAME, 3, 4);
    int b = add_conv(&g, "b", x, 3, 2, 1, SAL_PAD_SAME, 3, 4);
    g.output = add(&g, SAL_OP_ADD, "sum", 2, a, b);
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "sum", "add mismatch");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    a = add_conv(&g, "a", x, 3, 1, 1, SAL_PAD_SAME, 3, 4);
    b = add_conv(&g, "b", x, 3, 2, 1, SAL_PAD_SAME, 3, 4); /* 4x4, not 1x1 */
    g.output = add(&g, SAL_OP_MULTIPLY, "prod", 2, a, b);
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "prod", "multiply mismatch");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    a = add_conv(&g, "a", x, 3, 1, 1, SAL_PAD_SAME, 3, 4);
    b = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap", 1, a, 0);
    g.nodes[b].keepdims = 1;
    int wrong_c = add_conv(&g, "c5", x, 1, 1, 1, SAL_PAD_SAME, 3, 5);
    int gap5 = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap5", 1, wrong_c, 0);
    g.nodes[gap5].keepdims = 1;
    g.output = add(&g, SAL_OP_MULTIPLY, "prod_c", 2, a, gap5); /* [1,1,1,5] vs [.,.,.,4] */
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "prod_c", "multiply broadcast channel mismatch");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    a = add_conv(&g, "a", x, 3, 1, 1, SAL_PAD_SAME, 3, 4);
    b = add_conv(&g, "b", x, 3, 2, 1, SAL_PAD_SAME, 3, 4);
    g.output = add(&g, SAL_OP_CONCAT, "cat", 2, a, b);
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "cat", "concat spatial mismatch");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    a = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap", 1, x, 0);
    g.output = add_dense(&g, "fc", a, 4, 10); /* input has 3 features */
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "fc", "dense width");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    g.output = add(&g, SAL_OP_RESHAPE, "rs", 1, x, 0);
    g.nodes[g.output].target = (sal_shape){3, 0, 1, 5, 5}; /* 25 vs 4*4*3 = 48 */
    expect_shape_error(&g, 4, 4, SAL_ERR_SHAPE, "rs", "reshape count");
    g.nodes[g.output].target = (sal_shape){3, 0, 1, -1, 5}; /* 48 is not a multiple of 5 */
    expect_shape_error(&g, 4, 4, SAL_ERR_SHAPE, "rs", "reshape inferred count");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    g.output = add_conv(&g, "conv_c", x, 3, 1, 1, SAL_PAD_SAME, 4, 2); /* declared 4 input channels */
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "conv_c", "conv input channels");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    g.output = add(&g, SAL_OP_AFFINE, "bn", 1, x, 0);
    g.nodes[g.output].in_channels = 5;
    expect_shape_error(&g, 8, 8, SAL_ERR_SHAPE, "bn", "affine channels");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 0);
    g.output = x;
    expect_shape_error(&g, 8, 8, SAL_ERR_FORMAT, "input", "input without channels");
    g.nodes[x].input_shape.c = 3;
    expect_shape_error(&g, 0, 8, SAL_ERR_ARGUMENT, "0", "zero height");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    g.output = add_pool(&g, SAL_OP_AVG_POOL, "zero_stride", x, 2, 0, SAL_PAD_VALID);
    expect_shape_error(&g, 8, 8, SAL_ERR_FORMAT, "zero_stride", "stride 0");
    sal_graph_free(&g);

    /* A dilated span of 2^30 * 2 + 1 cells does not fit in an int. */
    sal_graph_init(&g);
    x = add_input(&g, 3);
    g.output = add_conv(&g, "wide_span", x, 3, 1, 1 << 30, SAL_PAD_SAME, 3, 2);
    expect_shape_error(&g, 8, 8, SAL_ERR_FORMAT, "wide_span", "dilation 2^30");
    sal_graph_free(&g);

    sal_graph_init(&g);
    x = add_input(&g, 3);
    a = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap", 1, x, 0);
    g.output = add_dense(&g, "no_units", a, 3, 0);
    expect_shape_error(&g, 8, 8, SAL_ERR_FORMAT, "no_units", "dense with 0 units");
    sal_graph_free(&g);
}

/* -------------------------------------------------- building and finding */

static void test_build_and_find(void) {
    sal_graph g;
    sal_graph_init(&g);
    CHECK(g.n_nodes == 0 && g.output == -1, "empty graph");
    int x = add_input(&g, 3);
    for (int i = 0; i < 40; i++) { /* grows past the first allocation */
        char name[16];
        snprintf(name, sizeof name, "n%d", i);
        add(&g, SAL_OP_IDENTITY, name, 1, x, 0);
    }
    CHECK(g.n_nodes == 41, "41 nodes, got %d", g.n_nodes);
    CHECK(sal_graph_find(&g, "n39") == 40, "find n39");
    CHECK(sal_graph_find(&g, "missing") == -1, "missing name");
    int bad_inputs[1] = {5};
    CHECK(sal_graph_set_inputs(&g, 3, bad_inputs, 1) == SAL_ERR_ARGUMENT, "inputs must come before the node");
    for (int i = 0; i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "alias%d", i);
        CHECK(sal_graph_add_alias(&g, name, i) == SAL_OK, "alias %d", i);
    }
    CHECK(sal_graph_find(&g, "alias17") == 17, "alias lookup");
    CHECK(sal_graph_add_alias(&g, "nowhere", 99) == SAL_ERR_ARGUMENT, "alias to a missing node");
    CHECK(strcmp(sal_op_name(SAL_OP_CONV2D), "Conv2D") == 0, "op name");
    CHECK(strcmp(sal_op_name(SAL_OP_COUNT), "unknown") == 0, "unknown op name");
    sal_graph_free(&g);
    sal_graph_free(&g); /* freeing twice is harmless: free resets */
}

/* ---------------------------------------------------------- simplifying */

/* Naive NHWC convolution at one output pixel, 'valid', stride 1. */
static void naive_conv_pixel(const float *x, int w_in, int cin, const float *k, int kh, int kw, int cout,
                             const float *bias, int oy, int ox, float *out) {
    for (int o = 0; o < cout; o++) {
        double s = bias ? bias[o] : 0;
        for (int dy = 0; dy < kh; dy++)
            for (int dx = 0; dx < kw; dx++)
                for (int c = 0; c < cin; c++)
                    s += (double)x[((oy + dy) * w_in + ox + dx) * cin + c] * k[((dy * kw + dx) * cin + c) * cout + o];
        out[o] = (float)s;
    }
}

static void naive_depthwise_pixel(const float *x, int w_in, int cin, int mult, const float *k, int kh, int kw,
                                  const float *bias, int oy, int ox, float *out) {
    for (int c = 0; c < cin; c++)
        for (int m = 0; m < mult; m++) {
            double s = bias ? bias[c * mult + m] : 0;
            for (int dy = 0; dy < kh; dy++)
                for (int dx = 0; dx < kw; dx++)
                    s += (double)x[((oy + dy) * w_in + ox + dx) * cin + c] * k[((dy * kw + dx) * cin + c) * mult + m];
            out[c * mult + m] = (float)s;
        }
}

static int add_affine(sal_graph *g, const char *name, int in, int channels, float scale0, float shift0) {
    int i = add(g, SAL_OP_AFFINE, name, 1, in, 0);
    g->nodes[i].in_channels = channels;
    g->nodes[i].scale = floats((size_t)channels, scale0, -0.25f);
    g->nodes[i].shift = floats((size_t)channels, shift0, 0.5f);
    return i;
}

static void test_fold_conv(void) {
    enum { KH = 2, KW = 3, CIN = 2, COUT = 3, H = 4, W = 5 };
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, CIN);
    int conv = add_conv(&g, "conv", x, 0, 1, 1, SAL_PAD_VALID, CIN, COUT);
    set_window(&g.nodes[conv], KH, KW, 1, 1, 1, 1, SAL_PAD_VALID);
    g.nodes[conv].weights = floats(KH * KW * CIN * COUT, -1.0f, 0.0625f);
    g.nodes[conv].bias = floats(COUT, 0.5f, -0.75f);
    int bn = add_affine(&g, "bn", conv, COUT, 1.5f, -0.2f);
    int drop = add(&g, SAL_OP_IDENTITY, "drop", 1, bn, 0);
    int relu = add(&g, SAL_OP_ACTIVATION, "relu", 1, drop, 0);
    g.nodes[relu].act = SAL_ACT_RELU;
    g.output = relu;

    float *w0 = copy_of(g.nodes[conv].weights, KH * KW * CIN * COUT);
    float *b0 = copy_of(g.nodes[conv].bias, COUT);
    float *s0 = copy_of(g.nodes[bn].scale, COUT), *t0 = copy_of(g.nodes[bn].shift, COUT);

    sal_error err;
    CHECK(sal_graph_simplify(&g, &err) == SAL_OK, "simplify: %s", err.message);
    CHECK(g.n_nodes == 3, "input, conv, relu remain (got %d nodes)", g.n_nodes);
    CHECK(strcmp(g.nodes[1].name, "bn") == 0 && strcmp(g.nodes[2].name, "relu") == 0,
          "the folded node takes the batch norm's name");
    CHECK(g.nodes[2].n_inputs == 1 && g.nodes[2].inputs[0] == 1, "relu renumbered to read the conv");
    CHECK(g.output == 2, "output renumbered");
    int before_fold = -1;
    CHECK(sal_graph_find_layer(&g, "conv", &before_fold) == 1 && before_fold == 1,
          "the conv's name is an alias marked before_fold");
    CHECK(sal_graph_find_layer(&g, "bn", &before_fold) == 1 && before_fold == 0, "the batch norm names the node");
    CHECK(sal_graph_find_layer(&g, "drop", &before_fold) == 1 && before_fold == 0, "dropout is an alias of its input");
    CHECK(g.nodes[1].fold_scale && g.nodes[1].fold_shift && g.nodes[1].fold_scale[0] == s0[0] &&
              g.nodes[1].fold_shift[COUT - 1] == t0[COUT - 1],
          "the folded scale and shift are kept");

    /* Hand math: w'[..,o] = w[..,o] * s[o]; b'[o] = b[o] * s[o] + t[o]. */
    float want_w[KH * KW * CIN * COUT], want_b[COUT];
    for (int k = 0; k < KH * KW * CIN; k++)
        for (int o = 0; o < COUT; o++) want_w[k * COUT + o] = w0[k * COUT + o] * s0[o];
    for (int o = 0; o < COUT; o++) want_b[o] = b0[o] * s0[o] + t0[o];
    CHECK_CLOSE(g.nodes[1].weights, want_w, KH * KW * CIN * COUT, 1e-6, 1e-6, "folded kernel");
    CHECK_CLOSE(g.nodes[1].bias, want_b, COUT, 1e-6, 1e-6, "folded bias");

    /* The folded conv computes what conv + affine computed, pixel by pixel. */
    float *img = floats(H * W * CIN, 0.3f, -0.07f);
    for (int oy = 0; oy <= H - KH; oy++)
        for (int ox = 0; ox <= W - KW; ox++) {
            float before[COUT], after[COUT];
            naive_conv_pixel(img, W, CIN, w0, KH, KW, COUT, b0, oy, ox, before);
            for (int o = 0; o < COUT; o++) before[o] = before[o] * s0[o] + t0[o];
            naive_conv_pixel(img, W, CIN, g.nodes[1].weights, KH, KW, COUT, g.nodes[1].bias, oy, ox, after);
            CHECK_CLOSE(after, before, COUT, 1e-5, 1e-5, "folded conv output");
        }
    free(img);
    free(w0);
    free(b0);
    free(s0);
    free(t0);
    sal_graph_free(&g);
}

static void test_fold_depthwise_and_dense(void) {
    enum { K = 2, CIN = 2, MULT = 2, C = CIN * MULT, H = 3, W = 3, UNITS = 3 };
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, CIN);
    int dw = add(&g, SAL_OP_DEPTHWISE_CONV2D, "dw", 1, x, 0);
    set_window(&g.nodes[dw], K, K, 1, 1, 1, 1, SAL_PAD_VALID);
    g.nodes[dw].in_channels = CIN;
    g.nodes[dw].depth_multiplier = MULT;
    g.nodes[dw].weights = floats(K * K * CIN * MULT, 0.9f, -0.11f); /* no bias: folding creates one */
    add_affine(&g, "bn_dw", dw, C, 0.8f, 0.1f);
    int gap = add(&g, SAL_OP_GLOBAL_AVG_POOL, "gap", 1, 2, 0);
    int fc = add_dense(&g, "fc", gap, C, UNITS);
    g.nodes[fc].weights = floats(C * UNITS, -0.5f, 0.125f);
    add_affine(&g, "bn_fc", fc, UNITS, 2.0f, 1.0f);
    g.output = g.n_nodes - 1;

    float *kw0 = copy_of(g.nodes[dw].weights, K * K * C);
    float *s_dw = copy_of(g.nodes[2].scale, C), *t_dw = copy_of(g.nodes[2].shift, C);
    float *fw0 = copy_of(g.nodes[fc].weights, C * UNITS);
    float *s_fc = copy_of(g.nodes[5].scale, UNITS), *t_fc = copy_of(g.nodes[5].shift, UNITS);

    sal_error err;
    CHECK(sal_graph_simplify(&g, &err) == SAL_OK, "simplify: %s", err.message);
    /* The final affine was the graph output; after folding the dense is. */
    CHECK(g.n_nodes == 4, "input, dw, gap, fc remain (got %d)", g.n_nodes);
    for (int i = 0; i < g.n_nodes; i++) CHECK(g.nodes[i].op != SAL_OP_AFFINE, "no affine left at node %d", i);
    CHECK(g.output == 3 && sal_graph_find(&g, "bn_fc") == 3, "output moved to the folded dense");
    CHECK(g.nodes[1].bias != NULL, "depthwise received a bias");

    float *img = floats(H * W * CIN, -0.4f, 0.09f);
    for (int oy = 0; oy < H - K + 1; oy++)
        for (int ox = 0; ox < W - K + 1; ox++) {
            float before[C], after[C];
            naive_depthwise_pixel(img, W, CIN, MULT, kw0, K, K, NULL, oy, ox, before);
            for (int c = 0; c < C; c++) before[c] = before[c] * s_dw[c] + t_dw[c];
            naive_depthwise_pixel(img, W, CIN, MULT, g.nodes[1].weights, K, K, g.nodes[1].bias, oy, ox, after);
            CHECK_CLOSE(after, before, C, 1e-5, 1e-5, "folded depthwise output");
        }
    float feat[C] = {0.5f, -1.0f, 2.0f, 0.25f}, before[UNITS], after[UNITS];
    naive_conv_pixel(feat, 1, C, fw0, 1, 1, UNITS, NULL, 0, 0, before);
    for (int u = 0; u < UNITS; u++) before[u] = before[u] * s_fc[u] + t_fc[u];
    naive_conv_pixel(feat, 1, C, g.nodes[3].weights, 1, 1, UNITS, g.nodes[3].bias, 0, 0, after);
    CHECK_CLOSE(after, before, UNITS, 1e-5, 1e-5, "folded dense output");
    free(img);
    free(kw0);
    free(s_dw);
    free(t_dw);
    free(fw0);
    free(s_fc);
    free(t_fc);
    sal_graph_free(&g);
}

static void test_no_fold(void) {
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, 2);
    int conv = add_small_conv(&g, x);
    int bn = add_affine(&g, "bn", conv, 2, 1, 0);        /* conv also feeds 'sum': no fold */
    int sum = add(&g, SAL_OP_ADD, "sum", 2, bn, conv);
    int relu = add(&g, SAL_OP_ACTIVATION, "relu", 1, sum, 0);
    g.nodes[relu].act = SAL_ACT_RELU;
    int bn2 = add_affine(&g, "bn2", relu, 2, 1, 0);      /* after an activation: no fold */
    int out = add(&g, SAL_OP_IDENTITY, "out", 1, bn2, 0);
    g.output = out;
    sal_error err;
    CHECK(sal_graph_simplify(&g, &err) == SAL_OK, "simplify: %s", err.message);
    CHECK(g.n_nodes == 6, "only the identity goes (got %d)", g.n_nodes);
    CHECK(g.nodes[2].op == SAL_OP_AFFINE && g.nodes[5].op == SAL_OP_AFFINE, "both affines stay");
    CHECK(g.output == 5 && sal_graph_find(&g, "out") == 5, "identity output moved to its input");
    CHECK(g.nodes[1].weights[0] == 1 && g.nodes[1].bias == NULL, "conv untouched");
    sal_graph_free(&g);

    /* Channel count mismatch between a batch norm and its convolution. */
    sal_graph_init(&g);
    x = add_input(&g, 2);
    conv = add_small_conv(&g, x);
    g.output = add_affine(&g, "bn_wide", conv, 3, 1, 0);
    add(&g, SAL_OP_ACTIVATION, "after", 1, g.output, 0);
    g.output = 3;
    CHECK(sal_graph_simplify(&g, &err) == SAL_ERR_SHAPE, "mismatched fold fails");
    CHECK(strstr(err.message, "bn_wide") != NULL, "message names the layer: %s", err.message);
    sal_graph_free(&g);
}

/* conv -> drop_a -> bn1 -> bn2 -> drop_b, plus an identity nobody reads on
 * the conv: bn1 folds (drop_a and the unread identity then name the output
 * before the fold), bn2 cannot fold a second time and stays. */
static void test_fold_through_identities(void) {
    sal_graph g;
    sal_graph_init(&g);
    int x = add_input(&g, 2);
    int conv = add_small_conv(&g, x);
    int drop_a = add(&g, SAL_OP_IDENTITY, "drop_a", 1, conv, 0);
    int bn1 = add_affine(&g, "bn1", drop_a, 2, 2, 1);
    add(&g, SAL_OP_IDENTITY, "unread", 1, conv, 0);
    int bn2 = add_affine(&g, "bn2", bn1, 2, 3, -1);
    g.output = add(&g, SAL_OP_IDENTITY, "drop_b", 1, bn2, 0);
    sal_error err;
    CHECK(sal_graph_simplify(&g, &err) == SAL_OK, "simplify: %s", err.message);
    CHECK(g.n_nodes == 3, "input, conv + bn1, bn2 remain (got %d)", g.n_nodes);
    CHECK(strcmp(g.nodes[1].name, "bn1") == 0 && g.nodes[1].op == SAL_OP_CONV2D && g.nodes[1].fold_scale,
          "bn1 folded into the conv");
    /* bn1: scale [2, 1.75], shift [1, 1.5]; conv weights [1, 2, 3, 4], no bias. */
    CHECK(g.nodes[1].weights[0] == 2 && g.nodes[1].weights[3] == 7 && g.nodes[1].bias[0] == 1 &&
              g.nodes[1].bias[1] == 1.5f,
          "folded once: w x scale, bias = shift");
    CHECK(g.nodes[2].op == SAL_OP_AFFINE && strcmp(g.nodes[2].name, "bn2") == 0 && g.nodes[2].inputs[0] == 1,
          "bn2 stays an affine reading the folded conv");
    const char *names[] = {"conv", "drop_a", "unread", "bn1", "drop_b", "bn2"};
    const int want_node[] = {1, 1, 1, 1, 2, 2}, want_before[] = {1, 1, 1, 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        int before_fold = -1, node = sal_graph_find_layer(&g, names[i], &before_fold);
        CHECK(node == want_node[i] && before_fold == want_before[i], "'%s': node %d before_fold %d, want %d %d",
              names[i], node, before_fold, want_node[i], want_before[i]);
    }
    CHECK(g.output == 2, "the output moved from drop_b to bn2");
    sal_graph_free(&g);
}

/* A chain of 100000 layers, every other one a Dropout, a batch norm folded
 * after each convolution: simplification takes time in proportion. */
static void test_long_chain(void) {
    enum { PAIRS = 25000 };
    sal_graph g;
    sal_graph_init(&g);
    int last = add_input(&g, 1);
    for (int i = 0; i < PAIRS; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        last = add_conv(&g, name, last, 1, 1, 1, SAL_PAD_VALID, 1, 1);
        g.nodes[last].weights = floats(1, 1, 0);
        snprintf(name, sizeof name, "d%d", i);
        last = add(&g, SAL_OP_IDENTITY, name, 1, last, 0);
        snprintf(name, sizeof name, "b%d", i);
        last = add_affine(&g, name, last, 1, 0.5f, 1);
        snprintf(name, sizeof name, "e%d", i);
        last = add(&g, SAL_OP_IDENTITY, name, 1, last, 0);
    }
    g.output = last;
    sal_error err;
    CHECK(sal_graph_simplify(&g, &err) == SAL_OK, "simplify: %s", err.message);
    CHECK(g.n_nodes == PAIRS + 1 && g.n_aliases == 3 * PAIRS, "%d nodes, %d aliases", g.n_nodes, g.n_aliases);
    int bad = 0;
    for (int i = 1; i <= PAIRS; i++) bad += g.nodes[i].n_inputs != 1 || g.nodes[i].inputs[0] != i - 1;
    CHECK(bad == 0, "%d nodes do not read the one before", bad);
    int before_fold = -1;
    CHECK(sal_graph_find_layer(&g, "d777", &before_fold) == 778 && before_fold == 1, "d777 before the fold");
    CHECK(sal_graph_find_layer(&g, "e777", &before_fold) == 778 && before_fold == 0, "e777 after the fold");
    CHECK(g.output == PAIRS, "output");
    sal_graph_free(&g);
}

int main(void) {
    test_window_shapes();
    test_merge_pool_dense_reshape();
    test_shape_errors();
    test_build_and_find();
    test_fold_conv();
    test_fold_depthwise_and_dense();
    test_no_fold();
    test_fold_through_identities();
    test_long_chain();
    return check_report();
}
