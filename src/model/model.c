/* model.c - the sal_model_* functions: loading a TF.js layers model from
 * files, buffers or a shard reader, and what a loaded model tells about itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../bytes/file.h"
#include "tfjs.h"

/* Where a free (null) input dimension is probed to learn the class count and
 * the spatial layers. */
#define PROBE_SIZE 224

/* ------------------------------------------------------- shard sources */

typedef struct {
    char *directory; /* of model.json */
} file_shards;

static char *shard_path(const file_shards *files, const char *name) {
    size_t size = strlen(files->directory) + strlen(name) + 2;
    char *path = malloc(size);
    if (path) snprintf(path, size, "%s/%s", files->directory, name);
    return path;
}

static int file_shard_size(void *ctx, const char *name, size_t *size, sal_error *err) {
    char *path = shard_path(ctx, name);
    if (!path) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    FILE *f = fopen(path, "rb");
    long end = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) end = ftell(f);
    if (f) fclose(f);
    int status = SAL_OK;
    if (!f) status = sal_fail(err, SAL_ERR_IO, "cannot open weight shard '%s'", path);
    else if (end < 0) status = sal_fail(err, SAL_ERR_IO, "cannot read weight shard '%s'", path);
    else *size = (size_t)end;
    free(path);
    return status;
}

static int file_shard_read(void *ctx, const char *name, const uint8_t **data, uint8_t **owned, size_t *size,
                           sal_error *err) {
    char *path = shard_path(ctx, name);
    if (!path) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = sal_read_file(path, owned, size, err);
    *data = *owned;
    free(path);
    return status;
}

typedef struct {
    const sal_buffer *buffers;
    int n;
} buffer_shards;

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Shards are matched by the manifest's name in a first pass, else by file
 * name in a second (the caller may give full paths). */
static int names_match(const char *given, const char *wanted, int pass) {
    if (!given) return 0;
    return strcmp(pass == 0 ? given : base_name(given), pass == 0 ? wanted : base_name(wanted)) == 0;
}

static const sal_buffer *find_buffer(const buffer_shards *b, const char *name) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < b->n; i++)
            if (names_match(b->buffers[i].name, name, pass)) return &b->buffers[i];
    return NULL;
}

static int buffer_shard_size(void *ctx, const char *name, size_t *size, sal_error *err) {
    const sal_buffer *buffer = find_buffer(ctx, name);
    if (!buffer) return sal_fail(err, SAL_ERR_IO, "weight shard '%s' was not given", name);
    if (!buffer->data && buffer->size > 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "weight shard '%s' has no data", name);
    *size = buffer->size;
    return SAL_OK;
}

static int buffer_shard_read(void *ctx, const char *name, const uint8_t **data, uint8_t **owned, size_t *size,
                             sal_error *err) {
    int status = buffer_shard_size(ctx, name, size, err);
    *owned = NULL;
    *data = status ? NULL : find_buffer(ctx, name)->data;
    return status;
}

/* The index of the reader's shard `name`, or -1 with err filled. */
static int find_reader_shard(const sal_shard_reader *r, const char *name, sal_error *err) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r->n_shards; i++)
            if (names_match(r->names[i], name, pass)) return i;
    sal_fail(err, SAL_ERR_IO, "weight shard '%s' was not given", name);
    return -1;
}

static int reader_shard_size(void *ctx, const char *name, size_t *size, sal_error *err) {
    const sal_shard_reader *r = ctx;
    int i = find_reader_shard(r, name, err);
    if (i < 0) return SAL_ERR_IO;
    *size = r->sizes[i];
    return SAL_OK;
}

static int reader_shard_read_range(void *ctx, const char *name, size_t offset, uint8_t *dst, size_t n,
                                   sal_error *err) {
    const sal_shard_reader *r = ctx;
    int i = find_reader_shard(r, name, err);
    if (i < 0) return SAL_ERR_IO;
    sal_ok(err); /* to tell whether the reader explains its failure */
    int status = r->read(r->user, i, offset, dst, n, err);
    if (status == SAL_OK) return SAL_OK;
    if (err && err->status != SAL_OK) return err->status;
    return sal_fail(err, SAL_ERR_IO, "cannot read bytes %zu to %zu of weight shard '%s'", offset, offset + n, name);
}

/* -------------------------------------------------------------- loading */

static int input_node(const sal_graph *g) {
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == SAL_OP_INPUT) return i;
    return -1;
}

/* Output shapes at the declared input size (PROBE_SIZE where it is free). */
static int probe_shapes(const sal_model *model, sal_shape **shapes, sal_error *err) {
    *shapes = malloc((size_t)(model->graph.n_nodes ? model->graph.n_nodes : 1) * sizeof **shapes);
    if (!*shapes) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int h = model->in_h ? model->in_h : PROBE_SIZE, w = model->in_w ? model->in_w : PROBE_SIZE;
    int status = sal_graph_infer_shapes(&model->graph, 1, h, w, *shapes, err);
    if (status) {
        free(*shapes);
        *shapes = NULL;
    }
    return status;
}

/* Aliases by node, those naming the output before a fold first, then in the
 * order they were made. */
static int alias_order(const void *a, const void *b) {
    const struct sal_alias *x = *(const struct sal_alias *const *)a, *y = *(const struct sal_alias *const *)b;
    if (x->node != y->node) return x->node < y->node ? -1 : 1;
    if (x->before_fold != y->before_fold) return x->before_fold ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Node names and aliases in graph order: a folded convolution before its
 * batch norm, a dropped Dropout after the layer it passes on. */
static int list_layer_names(sal_model *model, sal_error *err) {
    const sal_graph *g = &model->graph;
    model->layer_names = malloc((size_t)(g->n_nodes + g->n_aliases) * sizeof *model->layer_names);
    const struct sal_alias **aliases = malloc((size_t)(g->n_aliases ? g->n_aliases : 1) * sizeof *aliases);
    if (!model->layer_names || !aliases) {
        free(aliases);
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    }
    for (int a = 0; a < g->n_aliases; a++) aliases[a] = &g->aliases[a];
    qsort(aliases, (size_t)g->n_aliases, sizeof *aliases, alias_order);
    int n = 0, a = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        while (a < g->n_aliases && aliases[a]->node == i && aliases[a]->before_fold)
            model->layer_names[n++] = aliases[a++]->name;
        model->layer_names[n++] = g->nodes[i].name;
        while (a < g->n_aliases && aliases[a]->node == i) model->layer_names[n++] = aliases[a++]->name;
    }
    model->n_layer_names = n;
    free(aliases);
    return SAL_OK;
}

static int describe_model(sal_model *model, sal_error *err) {
    const sal_graph *g = &model->graph;
    int input = input_node(g);
    int logits = sal_graph_logits_node(g);
    if (input < 0 || logits < 0) return sal_fail(err, SAL_ERR_FORMAT, "the model has no input or no output");
    model->in_h = g->nodes[input].input_shape.h;
    model->in_w = g->nodes[input].input_shape.w;
    model->in_c = g->nodes[input].input_shape.c;
    sal_shape *shapes;
    int status = probe_shapes(model, &shapes, err);
    if (status) return status;
    model->n_classes = shapes[logits].c;
    free(shapes);
    return list_layer_names(model, err);
}

static sal_model *load(const char *json, size_t size, const sal_shard_source *shards, sal_error *err) {
    sal_model *model = calloc(1, sizeof *model);
    if (!model) {
        sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        return NULL;
    }
    int status = sal_tfjs_import(json, size, shards, &model->graph, err);
    if (!status) status = describe_model(model, err);
    if (status) {
        sal_model_free(model);
        return NULL;
    }
    sal_ok(err);
    return model;
}

static char *directory_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash == path) n = 1; /* the root directory */
    char *dir = malloc(n + 1);
    if (!dir) return NULL;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    return dir;
}

/* Says which model.json a message is about (JSON errors only know a line). */
static void prefix_error(sal_error *err, const char *path) {
    if (!err || err->status == SAL_OK) return;
    char message[sizeof err->message + 210];
    int path_chars = (int)strlen(path) > 200 ? 200 : (int)strlen(path);
    snprintf(message, sizeof message, "%.*s: %s", path_chars, path, err->message);
    memcpy(err->message, message, sizeof err->message - 1);
    err->message[sizeof err->message - 1] = '\0';
}

sal_model *sal_model_load_tfjs(const char *model_json_path, sal_error *err) {
    if (!model_json_path) {
        sal_fail(err, SAL_ERR_ARGUMENT, "no model.json path given");
        return NULL;
    }
    uint8_t *json;
    size_t size;
    if (sal_read_file(model_json_path, &json, &size, err)) return NULL;
    file_shards files = {directory_of(model_json_path)};
    sal_model *model = NULL;
    if (!files.directory) {
        sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    } else {
        sal_shard_source source = {.size = file_shard_size, .read = file_shard_read, .ctx = &files};
        model = load((const char *)json, size, &source, err);
        if (!model) prefix_error(err, model_json_path);
    }
    free(files.directory);
    free(json);
    return model;
}

sal_model *sal_model_load_tfjs_buffers(const char *json, size_t json_size, const sal_buffer *shards, int n_shards,
                                       sal_error *err) {
    if (!json || n_shards < 0 || (n_shards > 0 && !shards)) {
        sal_fail(err, SAL_ERR_ARGUMENT, "sal_model_load_tfjs_buffers: missing JSON text or shard list");
        return NULL;
    }
    buffer_shards buffers = {shards, n_shards};
    sal_shard_source source = {.size = buffer_shard_size, .read = buffer_shard_read, .ctx = &buffers};
    return load(json, json_size, &source, err);
}

sal_model *sal_model_load_tfjs_reader(const char *json, size_t json_size, const sal_shard_reader *shards,
                                      sal_error *err) {
    if (!json || !shards || !shards->read || shards->n_shards < 0 ||
        (shards->n_shards > 0 && (!shards->names || !shards->sizes))) {
        sal_fail(err, SAL_ERR_ARGUMENT, "sal_model_load_tfjs_reader: missing JSON text, shard list or read function");
        return NULL;
    }
    sal_shard_source source = {.size = reader_shard_size, .read_range = reader_shard_read_range,
                               .ctx = (void *)shards};
    return load(json, json_size, &source, err);
}

void sal_model_free(sal_model *model) {
    if (!model) return;
    sal_graph_free(&model->graph);
    free(model->layer_names);
    free(model);
}

/* ------------------------------------------------------------ queries */

void sal_model_input_size(const sal_model *model, int *height, int *width, int *channels) {
    if (height) *height = model ? model->in_h : 0;
    if (width) *width = model ? model->in_w : 0;
    if (channels) *channels = model ? model->in_c : 0;
}

int sal_model_num_classes(const sal_model *model) { return model ? model->n_classes : 0; }

int sal_model_num_layers(const sal_model *model) { return model ? model->n_layer_names : 0; }

const char *sal_model_layer_name(const sal_model *model, int index) {
    if (!model || index < 0 || index >= model->n_layer_names) return NULL;
    return model->layer_names[index];
}

/* Shapes come from a probe at the declared size (free sizes at PROBE_SIZE). */
const char *sal_model_last_spatial_layer(const sal_model *model) {
    if (!model) return NULL;
    sal_shape *shapes;
    if (probe_shapes(model, &shapes, NULL)) return NULL;
    const char *name = NULL;
    for (int i = model->graph.n_nodes - 1; i >= 0 && !name; i--)
        if (shapes[i].rank == 4 && (shapes[i].h > 1 || shapes[i].w > 1)) name = model->graph.nodes[i].name;
    free(shapes);
    return name;
}
