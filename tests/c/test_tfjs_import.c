/* test_tfjs_import.c - the TF.js layers-model importer.
 *
 * Small model.json files and weight shards are written into a temporary
 * directory from strings in this file (single quotes stand for double
 * quotes, for readability); expected node lists, weights and folded batch
 * norms are written out by hand.  Hostile files (deep nesting, bytes that
 * are not UTF-8, self references, huge lists) must fail cleanly or load in
 * time proportional to their size.  The real Keras ResNet50 is checked against
 * bytes read straight from its shards at offsets taken from its manifest. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes/float16.h"
#include "check.h"
#include "model/model.h"

static char g_dir[256];
static char g_created[64][64];
static int g_n_created;

/* ------------------------------------------------------------- helpers */

static void path_in_dir(const char *name, char *out, size_t size) { snprintf(out, size, "%s/%s", g_dir, name); }

static void remember(const char *name) {
    for (int i = 0; i < g_n_created; i++)
        if (strcmp(g_created[i], name) == 0) return;
    if (g_n_created < 64) snprintf(g_created[g_n_created++], sizeof g_created[0], "%s", name);
}

static void write_bytes(const char *name, const void *data, size_t n) {
    char path[512];
    path_in_dir(name, path, sizeof path);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot create %s", path);
    if (!f) return;
    CHECK(fwrite(data, 1, n, f) == n, "short write to %s", path);
    fclose(f);
    remember(name);
}

static void write_floats(const char *name, const float *values, size_t n) {
    uint8_t *bytes = malloc(n * 4 + 1);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &values[i], 4);
        for (int b = 0; b < 4; b++) bytes[i * 4 + b] = (uint8_t)(bits >> (8 * b));
    }
    write_bytes(name, bytes, n * 4);
    free(bytes);
}

/* The text with every ' turned into ". */
static char *quoted(const char *text) {
    char *s = malloc(strlen(text) + 1);
    for (size_t i = 0;; i++) {
        s[i] = text[i] == '\'' ? '"' : text[i];
        if (!text[i]) break;
    }
    return s;
}

/* text with its one occurrence of `find` replaced (a check fails if absent). */
static char *replaced(const char *text, const char *find, const char *with) {
    const char *at = strstr(text, find);
    CHECK(at != NULL, "test bug: '%s' not in the template", find);
    if (!at) return strdup(text);
    size_t head = (size_t)(at - text), nf = strlen(find), nw = strlen(with);
    char *s = malloc(strlen(text) - nf + nw + 1);
    memcpy(s, text, head);
    memcpy(s + head, with, nw);
    strcpy(s + head + nw, at + nf);
    return s;
}

static sal_model *load_text(const char *json_name, const char *text, sal_error *err) {
    char *json = quoted(text);
    write_bytes(json_name, json, strlen(json));
    free(json);
    char path[512];
    path_in_dir(json_name, path, sizeof path);
    return sal_model_load_tfjs(path, err);
}

static const sal_node *node_named(const sal_model *m, const char *name) {
    int i = sal_graph_find(&m->graph, name);
    return i >= 0 ? &m->graph.nodes[i] : NULL;
}

static void check_names(const sal_model *m, const char *const *names, int n, const char *what) {
    CHECK(sal_model_num_layers(m) == n, "%s: %d layers, want %d", what, sal_model_num_layers(m), n);
    for (int i = 0; i < n && i < sal_model_num_layers(m); i++)
        CHECK(strcmp(sal_model_layer_name(m, i), names[i]) == 0, "%s: layer %d is '%s', want '%s'", what, i,
              sal_model_layer_name(m, i), names[i]);
}

static void check_op(const sal_model *m, const char *name, sal_op_type op, const char *what) {
    const sal_node *n = node_named(m, name);
    CHECK(n && n->op == op, "%s: '%s' should be %s, is %s", what, name, sal_op_name(op),
          n ? sal_op_name(n->op) : "missing");
}

static void check_act(const sal_model *m, const char *name, sal_activation act) {
    const sal_node *n = node_named(m, name);
    CHECK(n && n->op == SAL_OP_ACTIVATION && n->act == act, "'%s' should be activation %d", name, (int)act);
}

static int input_index(const sal_model *m, const char *node, int k) {
    const sal_node *n = node_named(m, node);
    return n && k < n->n_inputs ? n->inputs[k] : -2;
}

/* ------------------------------------------------ a functional model */

static const char *FUNCTIONAL =
    "{'format':'layers-model','generatedBy':'keras','convertedBy':'test','modelTopology':{'keras_version':'2.2.4',"
    "'backend':'tensorflow','model_config':{'class_name':'Model','config':{'name':'f','layers':["
    "{'name':'input_1','class_name':'InputLayer','config':{'batch_input_shape':[null,6,6,2],'dtype':'float32',"
    "'sparse':false,'name':'input_1'},'inbound_nodes':[]},"
    "{'name':'c1','class_name':'Conv2D','config':{'name':'c1','trainable':true,'filters':3,'kernel_size':[3,3],"
    "'strides':[1,1],'padding':'same','data_format':'channels_last','dilation_rate':[1,1],'activation':'linear',"
    "'use_bias':true,'kernel_initializer':{'class_name':'Zeros','config':{}}},'inbound_nodes':[[['input_1',0,0,{}]]]},"
    "{'name':'bn1','class_name':'BatchNormalization','config':{'name':'bn1','axis':[3],'momentum':0.99,"
    "'epsilon':0.001,'center':true,'scale':true},'inbound_nodes':[[['c1',0,0,{}]]]},"
    "{'name':'a1','class_name':'Activation','config':{'name':'a1','activation':'relu'},'inbound_nodes':[[['bn1',0,0,{}]]]},"
    "{'name':'c2','class_name':'Conv2D','config':{'name':'c2','filters':3,'kernel_size':1,'strides':1,"
    "'padding':'valid','activation':'relu','use_bias':false},'inbound_nodes':[[['a1',0,0,{}]]]},"
    "{'name':'add','class_name':'Add','config':{'name':'add'},'inbound_nodes':[[['a1',0,0,{}],['c2',0,0,{}]]]},"
    "{'name':'drop','class_name':'Dropout','config':{'name':'drop','rate':0.5},'inbound_nodes':[[['add',0,0,{}]]]},"
    "{'name':'gap','class_name':'GlobalAveragePooling2D','config':{'name':'gap','data_format':'channels_last'},"
    "'inbound_nodes':[[['drop',0,0,{}]]]},"
    "{'name':'fc','class_name':'Dense','config':{'name':'fc','units':4,'activation':'softmax','use_bias':true},"
    "'inbound_nodes':[[['gap',0,0,{}]]]}"
    "],'input_layers':[['input_1',0,0]],'output_layers':[['fc',0,0]]}}},"
    "'weightsManifest':["
    "{'paths':['f-g0-a.bin','f-g0-b.bin'],'weights':["
    "{'name':'bn1/gamma','shape':[3],'dtype':'float32'},{'name':'bn1/beta','shape':[3],'dtype':'float32'},"
    "{'name':'c1/kernel','shape':[3,3,2,3],'dtype':'float32'},"
    "{'name':'bn1/moving_mean','shape':[3],'dtype':'float32'},"
    "{'name':'bn1/moving_variance','shape':[3],'dtype':'float32'},{'name':'c1/bias','shape':[3],'dtype':'float32'}]},"
    "{'paths':['f-g1.bin'],'weights':["
    "{'name':'c2/kernel','shape':[1,1,3,3],'dtype':'float32'},{'name':'fc/kernel','shape':[3,4],'dtype':'float32'},"
    "{'name':'exported/fc/bias','shape':[4],'dtype':'float32'}]}]}";

static void test_functional(void) {
    /* Group 0: gamma[3] beta[3] c1/kernel[54] mean[3] variance[3] c1/bias[3]. */
    float g0[69];
    const float gamma[3] = {1.5f, -0.5f, 2.0f}, beta[3] = {0.1f, 0.2f, -0.3f};
    const float mean[3] = {0.25f, -1.0f, 3.0f}, var[3] = {0.5f, 2.0f, 0.04f}, bias[3] = {0.5f, -0.25f, 1.0f};
    memcpy(g0, gamma, sizeof gamma);
    memcpy(g0 + 3, beta, sizeof beta);
    for (int i = 0; i < 54; i++) g0[6 + i] = 0.0625f * (float)(i % 13) - 0.375f;
    memcpy(g0 + 60, mean, sizeof mean);
    memcpy(g0 + 63, var, sizeof var);
    memcpy(g0 + 66, bias, sizeof bias);
    /* Split mid-float, so a value straddles the two shards. */
    uint8_t bytes[69 * 4];
    for (int i = 0; i < 69; i++) {
        uint32_t bits;
        memcpy(&bits, &g0[i], 4);
        for (int b = 0; b < 4; b++) bytes[i * 4 + b] = (uint8_t)(bits >> (8 * b));
    }
    write_bytes("f-g0-a.bin", bytes, 102);
    write_bytes("f-g0-b.bin", bytes + 102, sizeof bytes - 102);
    float g1[25];
    for (int i = 0; i < 25; i++) g1[i] = 0.5f * (float)i - 3.0f;
    write_floats("f-g1.bin", g1, 25);

    sal_error err;
    sal_model *m = load_text("functional.json", FUNCTIONAL, &err);
    CHECK(m != NULL, "functional model: %s", err.message);
    if (!m) return;
    const char *names[] = {"input_1", "c1", "bn1", "a1", "c2/linear", "c2", "add", "drop", "gap", "fc/linear", "fc"};
    check_names(m, names, 11, "functional");
    check_op(m, "input_1", SAL_OP_INPUT, "functional");
    check_op(m, "c1", SAL_OP_CONV2D, "functional");
    check_op(m, "bn1", SAL_OP_CONV2D, "functional");
    check_act(m, "a1", SAL_ACT_RELU);
    check_op(m, "c2/linear", SAL_OP_CONV2D, "functional");
    check_act(m, "c2", SAL_ACT_RELU);
    check_op(m, "add", SAL_OP_ADD, "functional");
    check_op(m, "gap", SAL_OP_GLOBAL_AVG_POOL, "functional");
    check_op(m, "fc/linear", SAL_OP_DENSE, "functional");
    check_act(m, "fc", SAL_ACT_SOFTMAX);
    int before_fold = -1;
    CHECK(sal_graph_find_layer(&m->graph, "c1", &before_fold) == 1 && before_fold == 1,
          "c1 is the folded node's name before the fold");
    CHECK(sal_graph_find_layer(&m->graph, "bn1", &before_fold) == 1 && before_fold == 0, "bn1 names the folded node");
    CHECK(sal_graph_find(&m->graph, "drop") == 5, "drop is an alias of add");
    CHECK(input_index(m, "add", 0) == 2 && input_index(m, "add", 1) == 4, "add reads a1 and c2");
    CHECK(input_index(m, "gap", 0) == 5, "gap reads add through the dropout");
    CHECK(input_index(m, "c2", 0) == 3, "activation reads c2/linear");

    const sal_node *c1 = node_named(m, "c1");
    CHECK(c1->kh == 3 && c1->kw == 3 && c1->stride_h == 1 && c1->stride_w == 1 && c1->dilation_h == 1 &&
              c1->dilation_w == 1 && c1->padding == SAL_PAD_SAME && c1->in_channels == 2 && c1->filters == 3,
          "c1 parameters");
    /* Folded by hand: s = gamma / sqrt(var + 0.001); w' = w s; b' = (b - mean) s + beta. */
    float want_w[54], want_b[3];
    for (int o = 0; o < 3; o++) {
        double s = gamma[o] / sqrt(var[o] + 0.001);
        want_b[o] = (float)((bias[o] - mean[o]) * s + beta[o]);
        for (int k = 0; k < 18; k++) want_w[k * 3 + o] = (float)(g0[6 + k * 3 + o] * s);
    }
    CHECK_CLOSE(c1->weights, want_w, 54, 1e-6, 1e-6, "c1 kernel with bn1 folded in");
    CHECK_CLOSE(c1->bias, want_b, 3, 1e-6, 1e-6, "c1 bias with bn1 folded in");

    const sal_node *c2 = node_named(m, "c2/linear");
    CHECK(c2->kh == 1 && c2->kw == 1 && c2->stride_h == 1 && c2->padding == SAL_PAD_VALID && c2->in_channels == 3 &&
              c2->filters == 3 && c2->bias == NULL,
          "c2 parameters");
    CHECK(memcmp(c2->weights, g1, 9 * sizeof(float)) == 0, "c2 kernel read exactly");
    const sal_node *fc = node_named(m, "fc/linear");
    CHECK(fc->in_channels == 3 && fc->filters == 4, "fc parameters");
    CHECK(memcmp(fc->weights, g1 + 9, 12 * sizeof(float)) == 0, "fc kernel read exactly");
    CHECK(fc->bias && memcmp(fc->bias, g1 + 21, 4 * sizeof(float)) == 0, "fc bias found by its prefixed name");

    int h, w, c;
    sal_model_input_size(m, &h, &w, &c);
    CHECK(h == 6 && w == 6 && c == 2, "input size %dx%dx%d", h, w, c);
    CHECK(sal_model_num_classes(m) == 4, "4 classes, got %d", sal_model_num_classes(m));
    CHECK(sal_graph_logits_node(&m->graph) == 7, "logits node is fc/linear");
    const char *spatial = sal_model_last_spatial_layer(m);
    CHECK(spatial && strcmp(spatial, "add") == 0, "last spatial layer '%s'", spatial ? spatial : "(null)");
    CHECK(sal_model_layer_name(m, 11) == NULL && sal_model_layer_name(m, -1) == NULL, "layer index out of range");
    sal_model_free(m);

    /* "Functional" is the newer name of the same class. */
    char *functional = replaced(FUNCTIONAL, "'class_name':'Model'", "'class_name':'Functional'");
    m = load_text("functional2.json", functional, &err);
    CHECK(m && sal_model_num_layers(m) == 11, "class Functional: %s", m ? "" : err.message);
    sal_model_free(m);
    free(functional);
}

/* ------------------------------------- a Sequential model, quantized */

static const char *SEQUENTIAL =
    "{'format':'layers-model','modelTopology':{'model_config':{'class_name':'Sequential','config':{'name':'seq',"
    "'layers':["
    "{'class_name':'Conv2D','config':{'name':'conv','batch_input_shape':[null,5,5,1],'filters':2,"
    "'kernel_size':[2,2],'strides':[1,1],'padding':'valid','activation':'relu','use_bias':true}},"
    "{'class_name':'MaxPooling2D','config':{'name':'pool','pool_size':[2,2],'strides':null,'padding':'valid'}},"
    "{'class_name':'Flatten','config':{'name':'flat'}},"
    "{'class_name':'Dense','config':{'name':'out','units':3,'activation':'linear'}}]}}},"
    "'weightsManifest':[{'paths':['seq.bin'],'weights':["
    "{'name':'conv/kernel','shape':[2,2,1,2],'dtype':'float32','quantization':{'dtype':'float16'}},"
    "{'name':'conv/bias','shape':[2],'dtype':'float32','quantization':{'dtype':'uint8','min':-1.0,'scale':0.5}},"
    "{'name':'step','shape':[],'dtype':'int32'},"
    "{'name':'out/kernel','shape':[8,3],'dtype':'float32','quantization':{'dtype':'uint16','min':0.25,"
    "'scale':0.125,'original_dtype':'float32'}},"
    "{'name':'out/bias','shape':[3],'dtype':'float32'}]}]}";

static void test_sequential_quantized(void) {
    /* Halves and their values, worked out from the IEEE layout. */
    const uint16_t halves[8] = {0x3C00, 0xC000, 0x0001, 0x03FF, 0x7BFF, 0x3555, 0x8000, 0x0400};
    const float half_values[8] = {1.0f, -2.0f, 5.9604644775390625e-8f, 6.0975551605224609375e-5f, 65504.0f,
                                  0.333251953125f, -0.0f, 6.103515625e-5f};
    uint8_t shard[16 + 2 + 4 + 48 + 12];
    size_t at = 0;
    for (int i = 0; i < 8; i++) {
        shard[at++] = (uint8_t)(halves[i] & 0xff);
        shard[at++] = (uint8_t)(halves[i] >> 8);
    }
    shard[at++] = 0; /* uint8: 0 * 0.5 - 1 = -1 */
    shard[at++] = 7; /* 7 * 0.5 - 1 = 2.5 */
    for (int i = 0; i < 4; i++) shard[at++] = 0xAB; /* the int32 'step': skipped */
    float want_out[24];
    for (int i = 0; i < 24; i++) {
        unsigned q = (unsigned)(i * 2731 + 5) & 0xffff;
        shard[at++] = (uint8_t)(q & 0xff);
        shard[at++] = (uint8_t)(q >> 8);
        want_out[i] = (float)(q * 0.125 + 0.25);
    }
    const float out_bias[3] = {-1.5f, 0.0f, 3.25f};
    for (int i = 0; i < 3; i++) {
        uint32_t bits;
        memcpy(&bits, &out_bias[i], 4);
        for (int b = 0; b < 4; b++) shard[at++] = (uint8_t)(bits >> (8 * b));
    }
    write_bytes("seq.bin", shard, at);

    sal_error err;
    sal_model *m = load_text("seq.json", SEQUENTIAL, &err);
    CHECK(m != NULL, "sequential model: %s", err.message);
    if (!m) return;
    const char *names[] = {"conv_input", "conv/linear", "conv", "pool", "flat", "out"};
    check_names(m, names, 6, "sequential");
    const sal_node *conv = node_named(m, "conv/linear");
    CHECK(memcmp(conv->weights, half_values, sizeof half_values) == 0, "float16 kernel decoded exactly");
    CHECK(signbit(conv->weights[6]), "negative zero kept");
    CHECK(conv->bias[0] == -1.0f && conv->bias[1] == 2.5f, "uint8 bias: %g %g", conv->bias[0], conv->bias[1]);
    const sal_node *pool = node_named(m, "pool");
    CHECK(pool->op == SAL_OP_MAX_POOL && pool->kh == 2 && pool->stride_h == 2 && pool->stride_w == 2,
          "null strides default to the pool size");
    const sal_node *flat = node_named(m, "flat");
    CHECK(flat->op == SAL_OP_RESHAPE && flat->target.rank == 2, "flatten is a rank-2 reshape");
    const sal_node *out = node_named(m, "out");
    CHECK(out->op == SAL_OP_DENSE && out->in_channels == 8 && out->filters == 3, "dense 8 -> 3");
    CHECK(memcmp(out->weights, want_out, sizeof want_out) == 0, "uint16 kernel dequantized exactly");
    CHECK(memcmp(out->bias, out_bias, sizeof out_bias) == 0, "float32 bias after quantized weights");
    int h, w, c;
    sal_model_input_size(m, &h, &w, &c);
    CHECK(h == 5 && w == 5 && c == 1 && sal_model_num_classes(m) == 3, "5x5x1 input, 3 classes");
    const char *spatial = sal_model_last_spatial_layer(m);
    CHECK(spatial && strcmp(spatial, "pool") == 0, "last spatial layer '%s'", spatial ? spatial : "(null)");
    CHECK(sal_graph_logits_node(&m->graph) == 5, "a linear output is its own logits");
    sal_model_free(m);

    /* {class_name, config: [layers]} directly, with an explicit InputLayer. */
    const char *list_form =
        "{'modelTopology':{'class_name':'Sequential','config':["
        "{'class_name':'InputLayer','config':{'name':'image','batch_input_shape':[null,null,null,1]}},"
        "{'class_name':'Conv2D','config':{'name':'c','filters':1,'kernel_size':1,'use_bias':false}},"
        "{'class_name':'GlobalAveragePooling2D','config':{'name':'g'}}]},"
        "'weightsManifest':[{'paths':['one.bin'],'weights':[{'name':'c/kernel','shape':[1,1,1,1],'dtype':'float32'}]}]}";
    const float one = 0.75f;
    write_floats("one.bin", &one, 1);
    m = load_text("list.json", list_form, &err);
    CHECK(m != NULL, "sequential list: %s", err.message);
    if (m) {
        const char *list_names[] = {"image", "c", "g"};
        check_names(m, list_names, 3, "sequential list");
        sal_model_input_size(m, &h, &w, &c);
        CHECK(h == 0 && w == 0 && c == 1, "free input size: %dx%dx%d", h, w, c);
        CHECK(sal_model_num_classes(m) == 1, "one class");
        CHECK(node_named(m, "c")->weights[0] == 0.75f, "weight");
    }
    sal_model_free(m);
}

static void test_float16(void) {
    CHECK(sal_half_to_float(0x3C00) == 1.0f, "1.0");
    CHECK(sal_half_to_float(0xC000) == -2.0f, "-2.0");
    CHECK(sal_half_to_float(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(sal_half_to_float(0x8001) == -ldexpf(1.0f, -24), "negative subnormal");
    CHECK(sal_half_to_float(0x0200) == ldexpf(1.0f, -15), "subnormal 2^-15");
    CHECK(sal_half_to_float(0x7BFF) == 65504.0f, "largest half");
    CHECK(sal_half_to_float(0x7C00) == INFINITY, "infinity");
    CHECK(sal_half_to_float(0xFC00) == -INFINITY, "-infinity");
    CHECK(isnan(sal_half_to_float(0x7E00)) && isnan(sal_half_to_float(0xFC01)), "NaN");
    CHECK(sal_half_to_float(0x3555) == 0.333251953125f, "1/3 rounded");
    CHECK(sal_half_to_float(0x0000) == 0.0f && !signbit(sal_half_to_float(0x0000)), "+0");
}

/* ------------------------------------------- separable, depthwise, ... */

static const char *OPS =
    "{'format':'layers-model','modelTopology':{'name':'ops','layers':["
    "{'name':'in','class_name':'InputLayer','config':{'batch_input_shape':[null,8,8,2]},'inbound_nodes':[]},"
    "{'name':'zp1','class_name':'ZeroPadding2D','config':{'padding':1},'inbound_nodes':[[['in',0,0,{}]]]},"
    "{'name':'zp2','class_name':'ZeroPadding2D','config':{'padding':[1,2]},'inbound_nodes':[[['zp1',0,0,{}]]]},"
    "{'name':'zp3','class_name':'ZeroPadding2D','config':{'padding':[[0,1],[2,3]]},'inbound_nodes':[[['zp2',0,0,{}]]]},"
    "{'name':'dw','class_name':'DepthwiseConv2D','config':{'kernel_size':[3,3],'depth_multiplier':2,'strides':[2,2],"
    "'padding':'same','activation':'relu6','use_bias':true},'inbound_nodes':[[['zp3',0,0,{}]]]},"
    "{'name':'sep','class_name':'SeparableConv2D','config':{'filters':3,'kernel_size':3,'padding':'same',"
    "'dilation_rate':2,'depth_multiplier':1,'activation':'relu','use_bias':true},'inbound_nodes':[[['dw',0,0,{}]]]},"
    "{'name':'r6','class_name':'ReLU','config':{'max_value':6.0,'negative_slope':0.0,'threshold':0.0},"
    "'inbound_nodes':[[['sep',0,0,{}]]]},"
    "{'name':'r','class_name':'ReLU','config':{'max_value':null},'inbound_nodes':[[['r6',0,0,{}]]]},"
    "{'name':'cat','class_name':'Concatenate','config':{'axis':-1},'inbound_nodes':[[['r',0,0,{}],['sep',0,0,{}]]]},"
    "{'name':'gmp','class_name':'GlobalMaxPooling2D','config':{'keepdims':true},'inbound_nodes':[[['cat',0,0,{}]]]},"
    "{'name':'mul','class_name':'Multiply','config':{},'inbound_nodes':[[['cat',0,0,{}],['gmp',0,0,{}]]]},"
    "{'name':'ap','class_name':'AveragePooling2D','config':{'pool_size':2,'strides':1,'padding':'same'},"
    "'inbound_nodes':[[['mul',0,0,{}]]]},"
    "{'name':'mp','class_name':'MaxPooling2D','config':{'pool_size':[3,3],'strides':[2,2],'padding':'valid'},"
    "'inbound_nodes':[[['ap',0,0,{}]]]},"
    "{'name':'noise','class_name':'GaussianNoise','config':{'stddev':0.1},'inbound_nodes':[[['mp',0,0,{}]]]},"
    "{'name':'sw','class_name':'Activation','config':{'activation':'swish'},'inbound_nodes':[[['noise',0,0,{}]]]},"
    "{'name':'si','class_name':'Activation','config':{'activation':'silu'},'inbound_nodes':[[['sw',0,0,{}]]]},"
    "{'name':'hs','class_name':'Activation','config':{'activation':'hard_sigmoid'},'inbound_nodes':[[['si',0,0,{}]]]},"
    "{'name':'th','class_name':'Activation','config':{'activation':'tanh'},'inbound_nodes':[[['hs',0,0,{}]]]},"
    "{'name':'sg','class_name':'Activation','config':{'activation':'sigmoid'},'inbound_nodes':[[['th',0,0,{}]]]},"
    "{'name':'lin','class_name':'Activation','config':{'activation':'linear'},'inbound_nodes':[[['sg',0,0,{}]]]},"
    "{'name':'gap','class_name':'GlobalAveragePooling2D','config':{},'inbound_nodes':[[['lin',0,0,{}]]]},"
    "{'name':'rs','class_name':'Reshape','config':{'target_shape':[2,3]},'inbound_nodes':[[['gap',0,0,{}]]]},"
    "{'name':'rs2','class_name':'Reshape','config':{'target_shape':[1,1,6]},'inbound_nodes':[[['rs',0,0,{}]]]},"
    "{'name':'fl','class_name':'Flatten','config':{},'inbound_nodes':[[['rs2',0,0,{}]]]},"
    "{'name':'d','class_name':'Dense','config':{'units':2},'inbound_nodes':[[['fl',0,0,{}]]]},"
    "{'name':'sm','class_name':'Softmax','config':{'axis':-1},'inbound_nodes':[[['d',0,0,{}]]]}"
    "],'input_layers':[['in',0,0]],'output_layers':[['sm',0,0]]},"
    "'weightsManifest':[{'paths':['ops.bin'],'weights':["
    "{'name':'dw/depthwise_kernel','shape':[3,3,2,2],'dtype':'float32'},{'name':'dw/bias','shape':[4],'dtype':'float32'},"
    "{'name':'sep/depthwise_kernel','shape':[3,3,4,1],'dtype':'float32'},"
    "{'name':'sep/pointwise_kernel','shape':[1,1,4,3],'dtype':'float32'},{'name':'sep/bias','shape':[3],'dtype':'float32'},"
    "{'name':'d/kernel','shape':[6,2],'dtype':'float32'},{'name':'d/bias','shape':[2],'dtype':'float32'}]}]}";

static void test_layer_types(void) {
    float w[105];
    for (int i = 0; i < 105; i++) w[i] = 0.125f * (float)(i % 9) - 0.5f;
    write_floats("ops.bin", w, 105);
    sal_error err;
    sal_model *m = load_text("ops.json", OPS, &err);
    CHECK(m != NULL, "ops model: %s", err.message);
    if (!m) return;
    const char *names[] = {"in", "zp1", "zp2", "zp3", "dw/linear", "dw", "sep/depthwise", "sep/linear", "sep", "r6",
                           "r",  "cat", "gmp", "mul", "ap",        "mp", "noise",         "sw",         "si",  "hs",
                           "th", "sg",  "lin", "gap", "rs",        "rs2", "fl",           "d",          "sm"};
    check_names(m, names, 29, "ops");
    const sal_node *n = node_named(m, "zp1");
    CHECK(n->pad_top == 1 && n->pad_bottom == 1 && n->pad_left == 1 && n->pad_right == 1, "padding 1");
    n = node_named(m, "zp2");
    CHECK(n->pad_top == 1 && n->pad_bottom == 1 && n->pad_left == 2 && n->pad_right == 2, "padding [1,2]");
    n = node_named(m, "zp3");
    CHECK(n->pad_top == 0 && n->pad_bottom == 1 && n->pad_left == 2 && n->pad_right == 3, "padding [[0,1],[2,3]]");
    n = node_named(m, "dw/linear");
    CHECK(n->op == SAL_OP_DEPTHWISE_CONV2D && n->in_channels == 2 && n->depth_multiplier == 2 && n->stride_h == 2 &&
              n->padding == SAL_PAD_SAME && n->bias && memcmp(n->weights, w, 36 * 4) == 0 &&
              memcmp(n->bias, w + 36, 4 * 4) == 0,
          "depthwise node");
    check_act(m, "dw", SAL_ACT_RELU6);
    n = node_named(m, "sep/depthwise");
    CHECK(n->op == SAL_OP_DEPTHWISE_CONV2D && n->in_channels == 4 && n->depth_multiplier == 1 && n->dilation_h == 2 &&
              n->dilation_w == 2 && n->padding == SAL_PAD_SAME && n->bias == NULL &&
              memcmp(n->weights, w + 40, 36 * 4) == 0,
          "separable: depthwise half");
    n = node_named(m, "sep/linear");
    CHECK(n->op == SAL_OP_CONV2D && n->kh == 1 && n->kw == 1 && n->stride_h == 1 && n->dilation_h == 1 &&
              n->in_channels == 4 && n->filters == 3 && memcmp(n->weights, w + 76, 12 * 4) == 0 &&
              memcmp(n->bias, w + 88, 3 * 4) == 0,
          "separable: pointwise half");
    CHECK(input_index(m, "sep/linear", 0) == 6 && input_index(m, "sep", 0) == 7, "separable chain");
    check_act(m, "sep", SAL_ACT_RELU);
    check_act(m, "r6", SAL_ACT_RELU6);
    check_act(m, "r", SAL_ACT_RELU);
    check_op(m, "cat", SAL_OP_CONCAT, "ops");
    CHECK(input_index(m, "cat", 0) == 10 && input_index(m, "cat", 1) == 8, "concat inputs");
    n = node_named(m, "gmp");
    CHECK(n->op == SAL_OP_GLOBAL_MAX_POOL && n->keepdims == 1, "global max pool keepdims");
    check_op(m, "mul", SAL_OP_MULTIPLY, "ops");
    n = node_named(m, "ap");
    CHECK(n->op == SAL_OP_AVG_POOL && n->kh == 2 && n->kw == 2 && n->stride_h == 1 && n->padding == SAL_PAD_SAME,
          "average pool");
    n = node_named(m, "mp");
    CHECK(n->op == SAL_OP_MAX_POOL && n->kh == 3 && n->stride_w == 2 && n->padding == SAL_PAD_VALID, "max pool");
    CHECK(sal_graph_find(&m->graph, "noise") == 15, "GaussianNoise is an alias of its input");
    check_act(m, "sw", SAL_ACT_SWISH);
    check_act(m, "si", SAL_ACT_SWISH);
    check_act(m, "hs", SAL_ACT_HARD_SIGMOID);
    check_act(m, "th", SAL_ACT_TANH);
    check_act(m, "sg", SAL_ACT_SIGMOID);
    CHECK(sal_graph_find(&m->graph, "lin") == 20, "a linear Activation is an alias of its input");
    n = node_named(m, "gap");
    CHECK(n->op == SAL_OP_GLOBAL_AVG_POOL && n->keepdims == 0, "global average pool");
    n = node_named(m, "rs");
    CHECK(n->op == SAL_OP_RESHAPE && n->target.rank == 3 && n->target.w == 2 && n->target.c == 3, "reshape (2, 3)");
    n = node_named(m, "rs2");
    CHECK(n->target.rank == 4 && n->target.h == 1 && n->target.w == 1 && n->target.c == 6, "reshape (1, 1, 6)");
    check_act(m, "sm", SAL_ACT_SOFTMAX);
    CHECK(sal_graph_logits_node(&m->graph) == 25, "logits: the dense before the Softmax layer");
    CHECK(sal_model_num_classes(m) == 2, "2 classes");
    const char *spatial = sal_model_last_spatial_layer(m);
    CHECK(spatial && strcmp(spatial, "sg") == 0, "last spatial '%s'", spatial ? spatial : "(null)");

    /* Shapes by hand: 8 -> pads -> 13x19 -> dw s2 same -> 7x10x4 -> ... -> mp valid 3/2 -> 3x4x6. */
    sal_shape shapes[27];
    CHECK(sal_graph_infer_shapes(&m->graph, 1, 8, 8, shapes, &err) == SAL_OK, "infer: %s", err.message);
    CHECK(shapes[3].h == 13 && shapes[3].w == 19, "zp3 13x19, got %dx%d", shapes[3].h, shapes[3].w);
    CHECK(shapes[5].h == 7 && shapes[5].w == 10 && shapes[5].c == 4, "dw 7x10x4");
    CHECK(shapes[11].c == 6 && shapes[15].h == 3 && shapes[15].w == 4, "cat 6 channels, mp 3x4");
    sal_model_free(m);

    char *axis3 = replaced(OPS, "'class_name':'Concatenate','config':{'axis':-1}",
                           "'class_name':'Concatenate','config':{'axis':3}");
    m = load_text("ops3.json", axis3, &err);
    CHECK(m != NULL, "concatenate along axis 3: %s", m ? "" : err.message);
    sal_model_free(m);
    free(axis3);

    char *axis1 = replaced(OPS, "'class_name':'Concatenate','config':{'axis':-1}",
                           "'class_name':'Concatenate','config':{'axis':1}");
    m = load_text("ops1.json", axis1, &err);
    CHECK(m == NULL && err.status == SAL_ERR_UNSUPPORTED && strstr(err.message, "'cat'"),
          "concatenate along axis 1: %s", err.message);
    sal_model_free(m);
    free(axis1);

    char *reshape1 = replaced(OPS, "'class_name':'Flatten','config':{}",
                              "'class_name':'Reshape','config':{'target_shape':[-1]}");
    m = load_text("ops4.json", reshape1, &err);
    CHECK(m != NULL, "reshape to (-1): %s", m ? "" : err.message);
    if (m) {
        n = node_named(m, "fl");
        CHECK(n->op == SAL_OP_RESHAPE && n->target.rank == 2 && n->target.c == -1, "reshape (-1) is a flatten");
        CHECK(sal_model_num_classes(m) == 2, "reshape (-1): 2 classes");
    }
    sal_model_free(m);
    free(reshape1);
}

/* --------------------------------------------------------- error paths */

static const char *SMALL =
    "{'format':'layers-model','modelTopology':{'keras_version':'2.2.4','model_config':{'class_name':'Model',"
    "'config':{'name':'small','layers':["
    "{'name':'in','class_name':'InputLayer','config':{'batch_input_shape':[null,4,4,2],'name':'in'},'inbound_nodes':[]},"
    "{'name':'conv','class_name':'Conv2D','config':{'name':'conv','filters':3,'kernel_size':[3,3],'strides':[1,1],"
    "'padding':'same','data_format':'channels_last','dilation_rate':[1,1],'activation':'relu','use_bias':true},"
    "'inbound_nodes':[[['in',0,0,{}]]]},"
    "{'name':'bn','class_name':'BatchNormalization','config':{'name':'bn','axis':-1,'epsilon':0.001},"
    "'inbound_nodes':[[['conv',0,0,{}]]]},"
    "{'name':'gap','class_name':'GlobalAveragePooling2D','config':{'name':'gap'},'inbound_nodes':[[['bn',0,0,{}]]]},"
    "{'name':'fc','class_name':'Dense','config':{'name':'fc','units':2,'activation':'linear','use_bias':true},"
    "'inbound_nodes':[[['gap',0,0,{}]]]}"
    "],'input_layers':[['in',0,0]],'output_layers':[['fc',0,0]]}}},"
    "'weightsManifest':[{'paths':['small.bin'],'weights':["
    "{'name':'conv/kernel','shape':[3,3,2,3],'dtype':'float32'},{'name':'conv/bias','shape':[3],'dtype':'float32'},"
    "{'name':'bn/gamma','shape':[3],'dtype':'float32'},{'name':'bn/beta','shape':[3],'dtype':'float32'},"
    "{'name':'bn/moving_mean','shape':[3],'dtype':'float32'},"
    "{'name':'bn/moving_variance','shape':[3],'dtype':'float32'},"
    "{'name':'fc/kernel','shape':[3,2],'dtype':'float32'},{'name':'fc/bias','shape':[2],'dtype':'float32'}]}]}";

enum { SMALL_FLOATS = 77 };

static float small_value(int i) { return 0.5f + 0.125f * (float)(i % 7); }

static void write_small_shard(const char *name, int n_floats, int bad_index, float bad_value) {
    float v[SMALL_FLOATS + 8];
    for (int i = 0; i < n_floats; i++) v[i] = i == bad_index ? bad_value : small_value(i);
    write_floats(name, v, (size_t)n_floats);
}

/* Loads `text` and expects NULL, the status, and the needles in the message. */
static void expect_failure(const char *what, const char *text, sal_status status, const char *needle1,
                           const char *needle2) {
    sal_error err = {SAL_OK, ""};
    sal_model *m = load_text("case.json", text, &err);
    CHECK(m == NULL, "%s: loaded, but should fail", what);
    sal_model_free(m);
    CHECK(err.status == status, "%s: status %d, want %d (%s)", what, (int)err.status, (int)status, err.message);
    CHECK(!needle1 || strstr(err.message, needle1), "%s: message '%s' lacks '%s'", what, err.message, needle1);
    CHECK(!needle2 || strstr(err.message, needle2), "%s: message '%s' lacks '%s'", what, err.message, needle2);
}

static void expect_variant_failure(const char *what, const char *find, const char *with, sal_status status,
                                   const char *needle1, const char *needle2) {
    char *text = replaced(SMALL, find, with);
    expect_failure(what, text, status, needle1, needle2);
    free(text);
}

static void test_small_loads(void) {
    sal_error err;
    sal_model *m = load_text("small.json", SMALL, &err);
    CHECK(m != NULL, "small model: %s", err.message);
    if (!m) return;
    /* The batch norm follows the fused relu, so it stays a standalone affine. */
    const char *names[] = {"in", "conv/linear", "conv", "bn", "gap", "fc"};
    check_names(m, names, 6, "small");
    const sal_node *bn = node_named(m, "bn");
    CHECK(bn->op == SAL_OP_AFFINE && bn->in_channels == 3, "bn is an affine over 3 channels");
    for (int c = 0; c < 3; c++) {
        double gamma = small_value(57 + c), beta = small_value(60 + c);
        double mean = small_value(63 + c), var = small_value(66 + c);
        double scale = gamma / sqrt(var + 0.001);
        CHECK(fabs(bn->scale[c] - scale) < 1e-6 && fabs(bn->shift[c] - (beta - mean * scale)) < 1e-6,
              "affine channel %d: %g %g vs %g %g", c, bn->scale[c], bn->shift[c], scale, beta - mean * scale);
    }
    sal_model_free(m);

    /* Without center and scale, beta counts as 0 and gamma as 1 (the manifest's are ignored). */
    char *plain = replaced(SMALL, "'epsilon':0.001}", "'epsilon':0.001,'center':false,'scale':false}");
    m = load_text("plain.json", plain, &err);
    free(plain);
    CHECK(m != NULL, "batch norm without center/scale: %s", err.message);
    if (!m) return;
    bn = node_named(m, "bn");
    for (int c = 0; c < 3; c++) {
        double mean = small_value(63 + c), var = small_value(66 + c);
        double scale = 1.0 / sqrt(var + 0.001);
        CHECK(fabs(bn->scale[c] - scale) < 1e-6 && fabs(bn->shift[c] + mean * scale) < 1e-6,
              "plain affine channel %d", c);
    }
    sal_model_free(m);
}

static void test_errors(void) {
    write_small_shard("small.bin", SMALL_FLOATS, -1, 0);
    test_small_loads();

    expect_variant_failure("unsupported layer", "'class_name':'GlobalAveragePooling2D'", "'class_name':'Bar'",
                           SAL_ERR_UNSUPPORTED, "layer 'gap': unsupported layer type 'Bar'", NULL);
    expect_variant_failure("unsupported activation", "'activation':'relu'", "'activation':'elu'",
                           SAL_ERR_UNSUPPORTED, "'conv'", "'elu'");
    expect_variant_failure("shared layer", "'inbound_nodes':[[['in',0,0,{}]]]",
                           "'inbound_nodes':[[['in',0,0,{}]],[['in',0,0,{}]]]", SAL_ERR_UNSUPPORTED, "'conv'",
                           "shared");
    expect_variant_failure("second call of a layer", "[['conv',0,0,{}]]", "[['conv',1,0,{}]]", SAL_ERR_UNSUPPORTED,
                           "'bn'", "'conv'");
    expect_variant_failure("two outputs", "'output_layers':[['fc',0,0]]", "'output_layers':[['fc',0,0],['gap',0,0]]",
                           SAL_ERR_UNSUPPORTED, "outputs", NULL);
    expect_variant_failure("two inputs", "'input_layers':[['in',0,0]]", "'input_layers':[['in',0,0],['in',0,0]]",
                           SAL_ERR_UNSUPPORTED, "inputs", NULL);
    expect_variant_failure("keras 3 inbound nodes", "'inbound_nodes':[[['in',0,0,{}]]]",
                           "'inbound_nodes':[{'args':[],'kwargs':{}}]", SAL_ERR_UNSUPPORTED, "'conv'", NULL);
    expect_variant_failure("undefined input", "[['in',0,0,{}]]", "[['nowhere',0,0,{}]]", SAL_ERR_FORMAT, "'conv'",
                           "'nowhere'");
    expect_variant_failure("duplicate name", "{'name':'gap','class_name'", "{'name':'bn','class_name'",
                           SAL_ERR_FORMAT, "'bn'", "twice");
    expect_variant_failure("kernel shape", "'conv/kernel','shape':[3,3,2,3]", "'conv/kernel','shape':[3,3,6,1]",
                           SAL_ERR_SHAPE, "[3, 3, 6, 1]", "[3, 3, ?, 3]");
    expect_variant_failure("kernel shape names layer and weight", "'conv/kernel','shape':[3,3,2,3]",
                           "'conv/kernel','shape':[3,3,6,1]", SAL_ERR_SHAPE, "layer 'conv'", "'conv/kernel'");
    expect_variant_failure("bias shape", "'conv/bias','shape':[3]", "'conv/bias','shape':[1,3]", SAL_ERR_SHAPE,
                           "'conv/bias'", "[1, 3]");
    expect_variant_failure("missing shard", "['small.bin']", "['nothere.bin']", SAL_ERR_IO, "nothere.bin", NULL);
    expect_variant_failure("missing weight", "'fc/bias'", "'fc/other'", SAL_ERR_FORMAT, "'fc'", "fc/bias");
    expect_variant_failure("string for a number", "'filters':3", "'filters':'3'", SAL_ERR_FORMAT, "'conv'",
                           "filters");
    expect_variant_failure("missing kernel_size", "'kernel_size':[3,3],", "", SAL_ERR_FORMAT, "'conv'",
                           "kernel_size");
    expect_variant_failure("negative dimension", "'fc/kernel','shape':[3,2]", "'fc/kernel','shape':[-3,-2]",
                           SAL_ERR_FORMAT, "fc/kernel", "negative");
    expect_variant_failure("huge dimensions", "'fc/kernel','shape':[3,2]",
                           "'fc/kernel','shape':[2000000000,2000000000,2000000000,2000000000]", SAL_ERR_FORMAT,
                           "fc/kernel", NULL);
    expect_variant_failure("dimension beyond int", "'fc/kernel','shape':[3,2]", "'fc/kernel','shape':[3e12,2]",
                           SAL_ERR_FORMAT, "fc/kernel", NULL);
    expect_variant_failure("dense units vs kernel", "'units':2,'activation':'linear','use_bias':true",
                           "'units':1,'activation':'linear','use_bias':false", SAL_ERR_SHAPE, "'fc/kernel'", "[?, 1]");
    expect_variant_failure("channels_first", "'data_format':'channels_last'", "'data_format':'channels_first'",
                           SAL_ERR_UNSUPPORTED, "'conv'", "channels_first");
    expect_variant_failure("groups", "'dilation_rate':[1,1]", "'dilation_rate':[1,1],'groups':2",
                           SAL_ERR_UNSUPPORTED, "'conv'", "group");
    expect_variant_failure("padding causal", "'padding':'same'", "'padding':'causal'", SAL_ERR_UNSUPPORTED, "'conv'",
                           "causal");
    expect_variant_failure("batch norm axis", "'axis':-1", "'axis':1", SAL_ERR_UNSUPPORTED, "'bn'", NULL);
    expect_variant_failure("ReLU slope", "'class_name':'BatchNormalization','config':{'name':'bn','axis':-1,'epsilon':0.001}",
                           "'class_name':'ReLU','config':{'name':'bn','negative_slope':0.1}", SAL_ERR_UNSUPPORTED,
                           "'bn'", NULL);
    expect_variant_failure("ReLU max_value", "'class_name':'BatchNormalization','config':{'name':'bn','axis':-1,'epsilon':0.001}",
                           "'class_name':'ReLU','config':{'name':'bn','max_value':4}", SAL_ERR_UNSUPPORTED, "'bn'",
                           "4");
    expect_variant_failure("Softmax axis", "'class_name':'BatchNormalization','config':{'name':'bn','axis':-1,'epsilon':0.001}",
                           "'class_name':'Softmax','config':{'name':'bn','axis':1}", SAL_ERR_UNSUPPORTED, "'bn'", NULL);
    expect_variant_failure("graph model", "'format':'layers-model'", "'format':'graph-model'", SAL_ERR_UNSUPPORTED,
                           "graph-model", NULL);
    expect_variant_failure("model class", "'class_name':'Model'", "'class_name':'Graph'", SAL_ERR_UNSUPPORTED,
                           "Graph", NULL);
    expect_variant_failure("input rank", "[null,4,4,2]", "[null,8]", SAL_ERR_UNSUPPORTED, "'in'", NULL);
    expect_variant_failure("quantization dtype", "'fc/bias','shape':[2],'dtype':'float32'",
                           "'fc/bias','shape':[2],'dtype':'float32','quantization':{'dtype':'int4'}",
                           SAL_ERR_UNSUPPORTED, "fc/bias", "int4");
    expect_variant_failure("uint8 without scale", "'fc/bias','shape':[2],'dtype':'float32'",
                           "'fc/bias','shape':[2],'dtype':'float32','quantization':{'dtype':'uint8','min':0}",
                           SAL_ERR_FORMAT, "fc/bias", "scale");
    expect_variant_failure("string dtype", "'fc/bias','shape':[2],'dtype':'float32'",
                           "'fc/bias','shape':[2],'dtype':'string'", SAL_ERR_UNSUPPORTED, "fc/bias", "string");
    expect_variant_failure("int32 weight where float is due", "'fc/bias','shape':[2],'dtype':'float32'",
                           "'fc/bias','shape':[2],'dtype':'int32'", SAL_ERR_FORMAT, "'fc'", "int32");
    expect_variant_failure("malformed JSON", "'layers':[", "'layers':[[", SAL_ERR_FORMAT, "JSON", NULL);
    expect_variant_failure("bad literal", "'epsilon':0.001}", "'epsilon':maybe}", SAL_ERR_FORMAT, "column", NULL);
    expect_failure("truncated JSON", "{'format':'layers-model','modelTopology':{", SAL_ERR_FORMAT, "JSON", "case.json");
    expect_failure("empty file", "", SAL_ERR_FORMAT, "JSON", NULL);
    expect_failure("two documents", "{}{}", SAL_ERR_FORMAT, "JSON", NULL);
    expect_failure("not an object", "[1,2]", SAL_ERR_FORMAT, "object", NULL);
    expect_failure("no topology", "{'format':'layers-model','weightsManifest':[]}", SAL_ERR_FORMAT, "modelTopology",
                   NULL);
    expect_failure("sequential without input shape",
                   "{'modelTopology':{'class_name':'Sequential','config':[{'class_name':'Flatten','config':{'name':'f'}}]},"
                   "'weightsManifest':[]}",
                   SAL_ERR_FORMAT, "'f'", "batch_input_shape");

    /* Dense width: the kernel says 6 inputs, the pooled features are 3. */
    char *step = replaced(SMALL, "'units':2,'activation':'linear','use_bias':true",
                          "'units':1,'activation':'linear','use_bias':false");
    char *text = replaced(step, "'fc/kernel','shape':[3,2]", "'fc/kernel','shape':[6,1]");
    expect_failure("dense input width", text, SAL_ERR_SHAPE, "'fc'", "3");
    free(step);
    free(text);

    /* Shard byte counts: 308 bytes are needed. */
    write_small_shard("short.bin", SMALL_FLOATS - 1, -1, 0);
    expect_variant_failure("short shard", "['small.bin']", "['short.bin']", SAL_ERR_FORMAT, "short.bin", "304");
    expect_variant_failure("short shard names the weight", "['small.bin']", "['short.bin']", SAL_ERR_FORMAT,
                           "fc/bias", "308");
    write_small_shard("long.bin", SMALL_FLOATS + 1, -1, 0);
    expect_variant_failure("long shard", "['small.bin']", "['long.bin']", SAL_ERR_FORMAT, "long.bin", "312");
    write_small_shard("nan.bin", SMALL_FLOATS, 5, NAN);
    expect_variant_failure("NaN weight", "['small.bin']", "['nan.bin']", SAL_ERR_NUMERIC, "'conv'", "conv/kernel");
    write_small_shard("inf.bin", SMALL_FLOATS, 76, -INFINITY);
    expect_variant_failure("infinite weight", "['small.bin']", "['inf.bin']", SAL_ERR_NUMERIC, "'fc'", "fc/bias");
    write_small_shard("zerovar.bin", SMALL_FLOATS, 66, -0.001f);
    expect_variant_failure("variance + epsilon = 0", "['small.bin']", "['zerovar.bin']", SAL_ERR_NUMERIC, "'bn'",
                           NULL);
}

/* Every proper prefix of a model.json is malformed; random byte changes must
 * load or fail cleanly (the sanitizers watch for crashes and leaks). */
static void test_damaged_json(void) {
    float v[SMALL_FLOATS];
    for (int i = 0; i < SMALL_FLOATS; i++) v[i] = small_value(i);
    sal_buffer shard = {"small.bin", (const uint8_t *)v, sizeof v};
    char *json = quoted(SMALL);
    size_t n = strlen(json);
    int prefix_failures = 0;
    for (size_t len = 0; len < n; len++) {
        sal_error err = {SAL_OK, ""};
        sal_model *m = sal_model_load_tfjs_buffers(json, len, &shard, 1, &err);
        prefix_failures += m == NULL && err.status == SAL_ERR_FORMAT && err.message[0] != '\0';
        sal_model_free(m);
    }
    CHECK(prefix_failures == (int)n, "%d of %zu prefixes failed with a format error", prefix_failures, n);

    const char replacements[] = "\"{}[],:0-9e.x \\";
    uint32_t state = 12345;
    int clean = 0, loaded = 0;
    for (int trial = 0; trial < 3000; trial++) {
        char *copy = strdup(json);
        for (int k = 0; k < 1 + trial % 3; k++) {
            state = state * 1664525u + 1013904223u;
            size_t at = (state >> 8) % n;
            copy[at] = replacements[(state >> 24) % (sizeof replacements - 1)];
        }
        sal_error err = {SAL_OK, ""};
        sal_model *m = sal_model_load_tfjs_buffers(copy, n, &shard, 1, &err);
        if (m) loaded++;
        clean += m ? err.status == SAL_OK : err.status != SAL_OK && err.message[0] != '\0';
        sal_model_free(m);
        free(copy);
    }
    CHECK(clean == 3000, "%d of 3000 damaged documents loaded or failed with a message", clean);
    CHECK(loaded < 3000, "damage was noticed at least sometimes (%d loaded)", loaded);
    free(json);
}

/* ------------------------------------------------- hostile model.json */

/* A functional model: an input 'in' (2x2x1), then `layers`, with `output` as
 * the output; `manifest` lists the weight groups. */
static char *tiny_model_with(const char *layers, const char *output, const char *manifest) {
    const char *head = "{'modelTopology':{'class_name':'Model','config':{'layers':["
                       "{'name':'in','class_name':'InputLayer','config':{'batch_input_shape':[null,2,2,1]},"
                       "'inbound_nodes':[]}";
    size_t size = strlen(head) + strlen(layers) + strlen(output) + strlen(manifest) + 200;
    char *text = malloc(size);
    snprintf(text, size, "%s%s%s],'input_layers':[['in',0,0]],'output_layers':[['%s',0,0]]}},'weightsManifest':[%s]}",
             head, layers[0] ? "," : "", layers, output, manifest);
    char *json = quoted(text);
    free(text);
    return json;
}

static char *tiny_model(const char *layers, const char *output) { return tiny_model_with(layers, output, ""); }

static void expect_tiny_failure(const char *what, const char *layers, const char *output, const char *needle1,
                                const char *needle2) {
    char *json = tiny_model(layers, output);
    expect_failure(what, json, SAL_ERR_FORMAT, needle1, needle2);
    free(json);
}

static char *nested(int depth) {
    char *text = malloc(2 * (size_t)depth + 64);
    size_t n = (size_t)sprintf(text, "{\"modelTopology\":");
    for (int i = 0; i < depth; i++) text[n++] = '[';
    for (int i = 0; i < depth; i++) text[n++] = ']';
    strcpy(text + n, "}");
    return text;
}

static void test_hostile_json(void) {
    /* Nesting: the object and 127 lists parse (and fail as a model); with
     * 100000 lists, the 128th (at column 18 + 127) is refused at once. */
    char *text = nested(127);
    expect_failure("127 levels", text, SAL_ERR_FORMAT, "weightsManifest", NULL);
    free(text);
    text = nested(100000);
    expect_failure("deep nesting", text, SAL_ERR_FORMAT, "nested more than 128", "column 145");
    free(text);

    /* Bytes that are not UTF-8: a stray continuation byte, an overlong '/', an
     * encoded surrogate, a code point above U+10FFFF, a sequence cut short. */
    const char *const bad_utf8[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (int i = 0; i < 5; i++) {
        char layer[128];
        snprintf(layer, sizeof layer,
                 "{'name':'x%s','class_name':'Dropout','config':{},'inbound_nodes':[[['in',0,0,{}]]]}", bad_utf8[i]);
        expect_tiny_failure("not UTF-8", layer, "in", "not UTF-8", "line 1");
    }

    /* Escapes are decoded; references to a layer match its decoded name. */
    char *json = tiny_model("{'name':'a\\'b\\\\c\\u00e9\\ud83d\\ude00','class_name':'Dropout','config':{},"
                            "'inbound_nodes':[[['in',0,0,{}]]]},"
                            "{'name':'next','class_name':'Activation','config':{'activation':'relu'},"
                            "'inbound_nodes':[[['\\u0061\\'b\\\\c\xc3\xa9\xf0\x9f\x98\x80',0,0,{}]]]}",
                            "next");
    sal_error err;
    sal_model *m = load_text("escaped.json", json, &err);
    CHECK(m != NULL, "escaped names: %s", err.message);
    if (m) {
        const char *names[] = {"in", "a\"b\\c\xc3\xa9\xf0\x9f\x98\x80", "next"};
        check_names(m, names, 3, "escaped names");
    }
    sal_model_free(m);
    free(json);
    expect_tiny_failure("\\u0000 in a name",
                        "{'name':'x\\u0000y','class_name':'Dropout','config':{},'inbound_nodes':[[['in',0,0,{}]]]}",
                        "in", "layers[1].name", "u0000");

    /* Inputs must be layers defined earlier: no self reference, no cycle. */
    expect_tiny_failure("own input", "{'name':'x','class_name':'Dropout','config':{},'inbound_nodes':[[['x',0,0,{}]]]}",
                        "x", "'x'", "not defined before it");
    expect_tiny_failure("cycle",
                        "{'name':'x','class_name':'Dropout','config':{},'inbound_nodes':[[['y',0,0,{}]]]},"
                        "{'name':'y','class_name':'Dropout','config':{},'inbound_nodes':[[['x',0,0,{}]]]}",
                        "y", "'y'", "not defined before it");
    expect_tiny_failure("number out of range",
                        "{'name':'p','class_name':'MaxPooling2D','config':{'pool_size':1e400},"
                        "'inbound_nodes':[[['in',0,0,{}]]]}",
                        "p", "'p'", "out of range");
    expect_tiny_failure("number beyond int",
                        "{'name':'p','class_name':'MaxPooling2D','config':{'pool_size':3e9},"
                        "'inbound_nodes':[[['in',0,0,{}]]]}",
                        "p", "'p'", "integer");
}

/* Wide lists and many layers load in time proportional to their size. */
static void test_large_models(void) {
    enum { WIDE = 200000, LAYERS = 50000 };
    const char *entry = "['in',0,0,{}],";
    char *layers = malloc(WIDE * strlen(entry) + 128);
    size_t n = (size_t)sprintf(layers, "{'name':'sum','class_name':'Add','config':{},'inbound_nodes':[[");
    for (int i = 0; i < WIDE; i++) n += (size_t)sprintf(layers + n, "%s", entry);
    strcpy(layers + n - 1, "]]}");
    char *json = tiny_model(layers, "sum");
    sal_error err;
    sal_model *m = load_text("wide.json", json, &err);
    CHECK(m && node_named(m, "sum")->n_inputs == WIDE, "an Add of %d inputs: %s", WIDE, m ? "" : err.message);
    sal_model_free(m);
    free(json);
    free(layers);

    /* Alternately an activation and a Dropout, each reading the one before. */
    layers = malloc((size_t)LAYERS * 160);
    n = 0;
    for (int i = 0; i < LAYERS; i++) {
        char previous[16] = "in";
        if (i) snprintf(previous, sizeof previous, "l%d", i - 1);
        n += (size_t)sprintf(layers + n,
                             "%s{'name':'l%d','class_name':'%s','config':{'activation':'relu'},"
                             "'inbound_nodes':[[['%s',0,0,{}]]]}",
                             i ? "," : "", i, i % 2 ? "Dropout" : "Activation", previous);
    }
    char last[16];
    snprintf(last, sizeof last, "l%d", LAYERS - 1);
    json = tiny_model(layers, last);
    m = load_text("long.json", json, &err);
    CHECK(m && sal_model_num_layers(m) == LAYERS + 1 && m->graph.n_nodes == LAYERS / 2 + 1,
          "%d layers: %s", LAYERS, m ? "" : err.message);
    if (m) CHECK(strcmp(sal_model_layer_name(m, LAYERS), last) == 0, "the last layer is listed last");
    sal_model_free(m);
    free(json);
    free(layers);
}

/* DENSE Dense layers, each with its kernel and bias, found among 2 * DENSE + 1
 * weights; "pre/d0/bias" comes first but "d0/bias" names d0's bias exactly. */
static void test_many_weights(void) {
    enum { DENSE = 20000 };
    char *layers = malloc((size_t)DENSE * 120), *manifest = malloc((size_t)DENSE * 120 + 200);
    float *values = malloc((2 * DENSE + 1) * sizeof *values);
    size_t n = 0, m_len = (size_t)sprintf(manifest, "{'paths':['dense.bin'],'weights':["
                                                    "{'name':'pre/d0/bias','shape':[1],'dtype':'float32'}");
    values[0] = -1;
    for (int i = 0; i < DENSE; i++) {
        char previous[16] = "in";
        if (i) snprintf(previous, sizeof previous, "d%d", i - 1);
        n += (size_t)sprintf(layers + n,
                             "%s{'name':'d%d','class_name':'Dense','config':{'units':1},"
                             "'inbound_nodes':[[['%s',0,0,{}]]]}",
                             i ? "," : "", i, previous);
        m_len += (size_t)sprintf(manifest + m_len,
                                 ",{'name':'d%d/kernel','shape':[1,1],'dtype':'float32'},"
                                 "{'name':'d%d/bias','shape':[1],'dtype':'float32'}",
                                 i, i);
        values[1 + 2 * i] = (float)i;
        values[2 + 2 * i] = 0.5f;
    }
    strcpy(manifest + m_len, "]}");
    write_floats("dense.bin", values, 2 * DENSE + 1);
    char last[16];
    snprintf(last, sizeof last, "d%d", DENSE - 1);
    char *json = tiny_model_with(layers, last, manifest);
    sal_error err;
    sal_model *m = load_text("dense.json", json, &err);
    CHECK(m != NULL, "%d dense layers: %s", DENSE, err.message);
    if (m) {
        int bad = 0;
        for (int i = 0; i < DENSE; i++) {
            const sal_node *d = &m->graph.nodes[1 + i];
            bad += d->op != SAL_OP_DENSE || d->weights[0] != (float)i || d->bias[0] != 0.5f;
        }
        CHECK(bad == 0, "%d dense layers got the wrong weights", bad);
    }
    sal_model_free(m);
    free(json);
    free(values);
    free(manifest);
    free(layers);
}

/* ----------------------------------------------------------- buffers */

static void test_buffers(void) {
    float v[SMALL_FLOATS];
    for (int i = 0; i < SMALL_FLOATS; i++) v[i] = small_value(i);
    char *json = quoted(SMALL);
    sal_buffer shard = {"small.bin", (const uint8_t *)v, sizeof v};
    sal_error err;
    sal_model *m = sal_model_load_tfjs_buffers(json, strlen(json), &shard, 1, &err);
    CHECK(m != NULL, "from buffers: %s", err.message);
    CHECK(m && sal_model_num_classes(m) == 2 && sal_model_num_layers(m) == 6, "buffers: same model");
    CHECK(m && node_named(m, "fc")->bias[1] == small_value(76), "buffers: last weight");
    sal_model_free(m);

    sal_buffer by_path = {"some/dir/small.bin", (const uint8_t *)v, sizeof v};
    m = sal_model_load_tfjs_buffers(json, strlen(json), &by_path, 1, &err);
    CHECK(m != NULL, "buffer matched by file name: %s", err.message);
    sal_model_free(m);

    sal_buffer other = {"other.bin", (const uint8_t *)v, sizeof v};
    m = sal_model_load_tfjs_buffers(json, strlen(json), &other, 1, &err);
    CHECK(m == NULL && err.status == SAL_ERR_IO && strstr(err.message, "small.bin"), "missing buffer: %s",
          err.message);
    sal_buffer short_shard = {"small.bin", (const uint8_t *)v, sizeof v - 3};
    m = sal_model_load_tfjs_buffers(json, strlen(json), &short_shard, 1, &err);
    CHECK(m == NULL && err.status == SAL_ERR_FORMAT && strstr(err.message, "305"), "short buffer: %s", err.message);
    m = sal_model_load_tfjs_buffers(NULL, 0, NULL, 0, &err);
    CHECK(m == NULL && err.status == SAL_ERR_ARGUMENT, "no JSON");
    free(json);

    char path[512];
    path_in_dir("does-not-exist.json", path, sizeof path);
    m = sal_model_load_tfjs(path, &err);
    CHECK(m == NULL && err.status == SAL_ERR_IO && strstr(err.message, "does-not-exist.json"), "missing model.json: %s",
          err.message);
    sal_model_free(NULL);
}

/* ------------------------------------------------------------ reader */

/* Shards in memory behind a sal_shard_reader that records what it is asked. */
typedef struct {
    const uint8_t *data[2];
    size_t sizes[2];
    int calls, out_of_range;
    int fail_call; /* the call (1-based) that fails; 0: none */
    int explain;   /* the failing call fills err */
} test_reader;

static int test_read(void *user, int index, size_t offset, uint8_t *dst, size_t n, sal_error *err) {
    test_reader *t = user;
    t->calls++;
    if (index < 0 || index > 1 || offset > t->sizes[index] || n > t->sizes[index] - offset) {
        t->out_of_range++;
        return SAL_ERR_IO;
    }
    if (t->calls == t->fail_call) {
        if (!t->explain) return SAL_ERR_IO;
        err->status = SAL_ERR_MEMORY;
        snprintf(err->message, sizeof err->message, "the test reader gives up");
        return SAL_ERR_MEMORY;
    }
    memcpy(dst, t->data[index] + offset, n);
    return SAL_OK;
}

static void forward_small(sal_model *m, float logits[2]) {
    float input[4 * 4 * 2];
    for (int i = 0; i < 32; i++) input[i] = 0.25f * (float)(i % 5) - 0.5f;
    sal_context *ctx = sal_context_create(m, 1, NULL);
    CHECK(ctx && sal_forward(ctx, input, 1, 4, 4, logits, NULL, NULL) == SAL_OK, "forward of the small model");
    sal_context_free(ctx);
}

/* Loads the small model from two shards split inside a float; NULL on failure. */
static sal_model *load_split(const char *json, test_reader *t, const char *second_name, sal_error *err) {
    const char *names[2] = {"a.bin", second_name};
    sal_shard_reader reader = {names, t->sizes, 2, test_read, t};
    return sal_model_load_tfjs_reader(json, strlen(json), &reader, err);
}

static void test_reader_loads(void) {
    float v[SMALL_FLOATS];
    for (int i = 0; i < SMALL_FLOATS; i++) v[i] = small_value(i);
    char *json = quoted(SMALL);
    sal_buffer shard = {"small.bin", (const uint8_t *)v, sizeof v};
    sal_error err;
    sal_model *whole = sal_model_load_tfjs_buffers(json, strlen(json), &shard, 1, &err);
    CHECK(whole != NULL, "from buffers: %s", err.message);
    if (!whole) return;
    float want[2], got[2];
    forward_small(whole, want);
    sal_model_free(whole);
    free(json);

    json = replaced(SMALL, "['small.bin']", "['a.bin','b.bin']");
    char *split = quoted(json);
    const uint8_t *bytes = (const uint8_t *)v;
    test_reader t = {{bytes, bytes + 101}, {101, sizeof v - 101}};
    sal_model *m = load_split(split, &t, "some/dir/b.bin", &err);
    CHECK(m != NULL, "from a reader: %s", err.message);
    CHECK(t.out_of_range == 0 && t.calls >= 2, "reader: %d calls, %d out of range", t.calls, t.out_of_range);
    if (m) forward_small(m, got);
    CHECK(m && memcmp(got, want, sizeof got) == 0, "reader: the same logits as from one buffer");
    sal_model_free(m);

    m = load_split(split, &t, "c.bin", &err);
    CHECK(!m && err.status == SAL_ERR_IO && strstr(err.message, "'b.bin' was not given"), "missing shard: %s",
          err.message);
    t.sizes[1] -= 3;
    m = load_split(split, &t, "b.bin", &err);
    CHECK(!m && err.status == SAL_ERR_FORMAT && strstr(err.message, "305"), "short shard: %s", err.message);
    t.sizes[1] += 3;

    t = (test_reader){{bytes, bytes + 101}, {101, sizeof v - 101}, .fail_call = 2};
    m = load_split(split, &t, "b.bin", &err);
    CHECK(!m && err.status == SAL_ERR_IO && strstr(err.message, "shard 'b.bin'"), "failed read: %s", err.message);
    t = (test_reader){{bytes, bytes + 101}, {101, sizeof v - 101}, .fail_call = 2, .explain = 1};
    m = load_split(split, &t, "b.bin", &err);
    CHECK(!m && err.status == SAL_ERR_MEMORY && strstr(err.message, "gives up"), "explained failure: %s",
          err.message);
    CHECK(sal_model_load_tfjs_reader(split, strlen(split), NULL, &err) == NULL && err.status == SAL_ERR_ARGUMENT,
          "no reader");
    free(split);
    free(json);
}

/* ---------------------------------------------------------- ResNet50 */

#define RESNET_DIR SAL_ASSETS_DIR "/resnet50"

/* Reads n floats at `offset` of a shard of the real model, independently of the importer. */
static int read_shard_floats(const char *shard, long offset, float *out, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", RESNET_DIR, shard);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int ok = fseek(f, offset, SEEK_SET) == 0 && fread(out, sizeof *out, n, f) == n;
    fclose(f);
    return ok;
}

static int count_ops(const sal_graph *g, sal_op_type op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

static void test_resnet50(void) {
    sal_error err;
    sal_model *m = sal_model_load_tfjs(RESNET_DIR "/model.json", &err);
    CHECK(m != NULL, "ResNet50: %s", err.message);
    if (!m) return;
    int h, w, c;
    sal_model_input_size(m, &h, &w, &c);
    CHECK(h == 224 && w == 224 && c == 3, "input %dx%dx%d", h, w, c);
    CHECK(sal_model_num_classes(m) == 1000, "classes %d", sal_model_num_classes(m));
    CHECK(count_ops(&m->graph, SAL_OP_CONV2D) == 53, "53 convolutions, got %d", count_ops(&m->graph, SAL_OP_CONV2D));
    CHECK(count_ops(&m->graph, SAL_OP_AFFINE) == 0, "no affine left");
    CHECK(count_ops(&m->graph, SAL_OP_DENSE) == 1, "one dense");
    int folded = 0;
    for (int i = 0; i < m->graph.n_nodes; i++) {
        const sal_node *n = &m->graph.nodes[i];
        folded += n->op == SAL_OP_CONV2D && strncmp(n->name, "bn", 2) == 0 && n->fold_scale;
    }
    for (int i = 0; i < m->graph.n_aliases; i++) {
        const struct sal_alias *a = &m->graph.aliases[i];
        folded -= !(a->before_fold && (strncmp(a->name, "res", 3) == 0 || strcmp(a->name, "conv1") == 0));
    }
    CHECK(folded == 53, "53 batch norms folded into convolutions, their conv names kept as aliases: got %d", folded);
    /* The model's last activation before global pooling is named activation_48
     * (Keras numbered them activation, activation_1, ... activation_48). */
    const char *spatial = sal_model_last_spatial_layer(m);
    CHECK(spatial && strcmp(spatial, "activation_48") == 0, "last spatial '%s'", spatial ? spatial : "(null)");
    int logits = sal_graph_logits_node(&m->graph);
    CHECK(logits >= 0 && strcmp(m->graph.nodes[logits].name, "fc1000/linear") == 0, "logits node");
    CHECK(sal_graph_find(&m->graph, "bn_conv1") == sal_graph_find(&m->graph, "conv1"), "bn_conv1 -> conv1");
    CHECK(strcmp(sal_model_layer_name(m, 0), "input_1") == 0, "first layer input_1");

    /* Offsets in group 1 (from the manifest): bn_conv1 gamma/beta/mean/var at
     * 423936.., conv1/kernel at 424960, conv1/bias at 462592 (all in shard 1),
     * fc1000/bias at 8654848 = shard 3, offset 266240. */
    static float params[4 * 64], kernel[7 * 7 * 3 * 64], bias[64], fc_bias[1000], want[7 * 7 * 3 * 64], want_b[64];
    int ok = read_shard_floats("group1-shard1of25.bin", 423936, params, 256) &&
             read_shard_floats("group1-shard1of25.bin", 424960, kernel, 7 * 7 * 3 * 64) &&
             read_shard_floats("group1-shard1of25.bin", 462592, bias, 64) &&
             read_shard_floats("group1-shard3of25.bin", 266240, fc_bias, 1000);
    CHECK(ok, "reading the shards directly");
    const sal_node *conv1 = node_named(m, "conv1");
    for (int o = 0; o < 64; o++) {
        double s = params[o] / sqrt((double)params[192 + o] + 0.001);
        want_b[o] = (float)((bias[o] - params[128 + o]) * s + params[64 + o]);
        for (int k = 0; k < 7 * 7 * 3; k++) want[k * 64 + o] = (float)(kernel[k * 64 + o] * s);
    }
    CHECK(conv1 && conv1->in_channels == 3 && conv1->kh == 7 && conv1->stride_h == 2, "conv1 parameters");
    CHECK_CLOSE(conv1->weights, want, 7 * 7 * 3 * 64, 1e-6, 1e-5, "conv1 folded kernel");
    CHECK_CLOSE(conv1->bias, want_b, 64, 1e-5, 1e-5, "conv1 folded bias");
    const sal_node *fc = node_named(m, "fc1000/linear");
    CHECK(fc && memcmp(fc->bias, fc_bias, sizeof fc_bias) == 0, "fc1000 bias read exactly");
    sal_model_free(m);
}

/* A copy of the real model whose last shard is cut short, then one missing. */
static void test_resnet50_damaged(void) {
    char sub[300], from[600], to[600];
    snprintf(sub, sizeof sub, "%s/resnet", g_dir);
    CHECK(mkdir(sub, 0700) == 0, "mkdir %s", sub);
    uint8_t *bytes = malloc(1 << 22);
    FILE *in = fopen(RESNET_DIR "/model.json", "rb");
    size_t n = in ? fread(bytes, 1, 1 << 22, in) : 0;
    if (in) fclose(in);
    snprintf(to, sizeof to, "%s/model.json", sub);
    FILE *out = fopen(to, "wb");
    CHECK(out && n > 0 && fwrite(bytes, 1, n, out) == n, "copying model.json");
    if (out) fclose(out);
    for (int i = 1; i <= 24; i++) {
        snprintf(from, sizeof from, "%s/group1-shard%dof25.bin", RESNET_DIR, i);
        snprintf(to, sizeof to, "%s/group1-shard%dof25.bin", sub, i);
        CHECK(symlink(from, to) == 0, "symlink %s", to);
    }
    in = fopen(RESNET_DIR "/group1-shard25of25.bin", "rb");
    n = in ? fread(bytes, 1, 1000000, in) : 0;
    if (in) fclose(in);
    snprintf(to, sizeof to, "%s/group1-shard25of25.bin", sub);
    out = fopen(to, "wb");
    CHECK(out && n == 1000000 && fwrite(bytes, 1, n, out) == n, "writing the truncated shard");
    if (out) fclose(out);
    free(bytes);

    sal_error err;
    snprintf(to, sizeof to, "%s/model.json", sub);
    sal_model *m = sal_model_load_tfjs(to, &err);
    CHECK(m == NULL && err.status == SAL_ERR_FORMAT, "truncated shard: status %d", (int)err.status);
    /* 24 full shards of 4194304 bytes + 1000000 = 101663296; the manifest needs 102546848. */
    CHECK(strstr(err.message, "group1-shard25of25.bin") && strstr(err.message, "101663296") &&
              strstr(err.message, "102546848"),
          "truncated shard message: %s", err.message);
    sal_model_free(m);

    snprintf(to, sizeof to, "%s/group1-shard7of25.bin", sub);
    unlink(to);
    snprintf(to, sizeof to, "%s/model.json", sub);
    m = sal_model_load_tfjs(to, &err);
    CHECK(m == NULL && err.status == SAL_ERR_IO && strstr(err.message, "group1-shard7of25.bin"),
          "missing shard: %s", err.message);
    sal_model_free(m);

    for (int i = 1; i <= 25; i++) {
        snprintf(to, sizeof to, "%s/group1-shard%dof25.bin", sub, i);
        unlink(to);
    }
    snprintf(to, sizeof to, "%s/model.json", sub);
    unlink(to);
    rmdir(sub);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/sal_tfjs_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_float16();
    test_functional();
    test_sequential_quantized();
    test_layer_types();
    test_errors();
    test_buffers();
    test_reader_loads();
    test_damaged_json();
    test_hostile_json();
    test_large_models();
    test_many_weights();
    test_resnet50();
    test_resnet50_damaged();
    for (int i = 0; i < g_n_created; i++) {
        char path[512];
        path_in_dir(g_created[i], path, sizeof path);
        unlink(path);
    }
    rmdir(g_dir);
    return check_report();
}
