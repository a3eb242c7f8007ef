/* tfjs_weights.c - the weights manifest of a TF.js model: each group's shards
 * read in order as one byte stream, each entry decoded to float32 a chunk at
 * a time (so a source that reads byte ranges never needs a whole shard). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../bytes/float16.h"
#include "tfjs.h"

#define SHARD_NAME_MAX 1024
/* 2^31, or fewer where that many floats would not fit in a size_t (wasm32). */
#define MAX_WEIGHT_VALUES (SIZE_MAX / sizeof(float) < ((size_t)1 << 31) ? SIZE_MAX / sizeof(float) : ((size_t)1 << 31))
#define CHUNK_BYTES ((size_t)1 << 16)

typedef enum { DECODE_FLOAT32, DECODE_FLOAT16, DECODE_UINT8, DECODE_UINT16, DECODE_SKIP } decode_kind;

/* How one manifest entry is stored, and where in its group's stream. */
typedef struct {
    decode_kind decode;
    int value_bytes;
    double min, scale; /* dequantization: value = q * scale + min */
    size_t offset, bytes;
} entry_layout;

typedef struct {
    int index; /* group number, for messages */
    int n_paths;
    char (*paths)[SHARD_NAME_MAX];
    size_t *sizes;
    entry_layout *layouts;
    int first_weight, n_weights; /* into the weight table */
    size_t total_bytes;          /* what the manifest needs */
} group_plan;

/* ------------------------------------------------------ manifest entries */

static int read_shape(const sal_json *doc, int entry, sal_tfjs_weight *w, sal_error *err) {
    int shape = sal_json_member(doc, entry, "shape");
    if (sal_json_kind_of(doc, shape) != SAL_JSON_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "weight '%s': 'shape' must be an array", w->name);
    w->rank = sal_json_length(doc, shape);
    if (w->rank > SAL_TFJS_MAX_RANK)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "weight '%s': rank %d is above %d", w->name, w->rank,
                        SAL_TFJS_MAX_RANK);
    char what[SAL_TFJS_WEIGHT_NAME_MAX + 32];
    snprintf(what, sizeof what, "weight '%s': shape", w->name);
    w->count = 1;
    for (int d = 0; d < w->rank; d++) {
        int status = sal_json_get_int(doc, sal_json_at(doc, shape, d), &w->shape[d], what, err);
        if (status) return status;
        if (w->shape[d] < 0)
            return sal_fail(err, SAL_ERR_FORMAT, "weight '%s': negative dimension %d", w->name, w->shape[d]);
        if (w->shape[d] > 0 && w->count > MAX_WEIGHT_VALUES / (size_t)w->shape[d])
            return sal_fail(err, SAL_ERR_FORMAT, "weight '%s': shape holds more than %zu values", w->name,
                            MAX_WEIGHT_VALUES);
        w->count *= (size_t)w->shape[d];
    }
    return SAL_OK;
}

static int read_quantization(const sal_json *doc, int quant, const sal_tfjs_weight *w, entry_layout *layout,
                             sal_error *err) {
    char what[SAL_TFJS_WEIGHT_NAME_MAX + 32];
    snprintf(what, sizeof what, "weight '%s': quantization dtype", w->name);
    char dtype[16];
    int status = sal_json_get_string(doc, sal_json_member(doc, quant, "dtype"), dtype, sizeof dtype, what, err);
    if (status) return status;
    if (strcmp(dtype, "float16") == 0) {
        layout->decode = DECODE_FLOAT16;
        layout->value_bytes = 2;
        return SAL_OK;
    }
    if (strcmp(dtype, "uint8") != 0 && strcmp(dtype, "uint16") != 0)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "weight '%s': unsupported quantization dtype '%s'", w->name, dtype);
    layout->decode = dtype[4] == '8' ? DECODE_UINT8 : DECODE_UINT16;
    layout->value_bytes = dtype[4] == '8' ? 1 : 2;
    snprintf(what, sizeof what, "weight '%s': quantization min", w->name);
    status = sal_json_get_number(doc, sal_json_member(doc, quant, "min"), &layout->min, what, err);
    if (status) return status;
    snprintf(what, sizeof what, "weight '%s': quantization scale", w->name);
    return sal_json_get_number(doc, sal_json_member(doc, quant, "scale"), &layout->scale, what, err);
}

static int read_dtype(const sal_json *doc, int entry, sal_tfjs_weight *w, entry_layout *layout, sal_error *err) {
    char what[SAL_TFJS_WEIGHT_NAME_MAX + 32];
    snprintf(what, sizeof what, "weight '%s': dtype", w->name);
    int status = sal_json_get_string(doc, sal_json_member(doc, entry, "dtype"), w->dtype, sizeof w->dtype, what, err);
    if (status) return status;
    int is_float = strcmp(w->dtype, "float32") == 0;
    if (!is_float && strcmp(w->dtype, "int32") != 0 && strcmp(w->dtype, "bool") != 0)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "weight '%s': unsupported dtype '%s'", w->name, w->dtype);
    int quant = sal_json_member(doc, entry, "quantization");
    if (!sal_json_is_null(doc, quant)) {
        status = read_quantization(doc, quant, w, layout, err);
        if (!is_float) layout->decode = DECODE_SKIP;
        return status;
    }
    layout->decode = is_float ? DECODE_FLOAT32 : DECODE_SKIP;
    layout->value_bytes = strcmp(w->dtype, "bool") == 0 ? 1 : 4;
    return SAL_OK;
}

static int read_entry(const sal_json *doc, int entry, int group, int index, sal_tfjs_weight *w,
                      entry_layout *layout, sal_error *err) {
    char what[64];
    snprintf(what, sizeof what, "weightsManifest[%d].weights[%d].name", group, index);
    int status = sal_json_get_string(doc, sal_json_member(doc, entry, "name"), w->name, sizeof w->name, what, err);
    if (!status) status = read_shape(doc, entry, w, err);
    if (!status) status = read_dtype(doc, entry, w, layout, err);
    return status;
}

/* ------------------------------------------------------------ group plans */

static void free_plan(group_plan *plan) {
    free(plan->paths);
    free(plan->sizes);
    free(plan->layouts);
    memset(plan, 0, sizeof *plan);
}

static int read_paths(const sal_json *doc, int group, group_plan *plan, sal_error *err) {
    int paths = sal_json_member(doc, group, "paths");
    if (sal_json_kind_of(doc, paths) != SAL_JSON_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "weightsManifest[%d]: 'paths' must be an array", plan->index);
    plan->n_paths = sal_json_length(doc, paths);
    plan->paths = calloc((size_t)plan->n_paths + 1, sizeof *plan->paths);
    plan->sizes = calloc((size_t)plan->n_paths + 1, sizeof *plan->sizes);
    if (!plan->paths || !plan->sizes) return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading the manifest");
    char what[64];
    for (int i = 0; i < plan->n_paths; i++) {
        snprintf(what, sizeof what, "weightsManifest[%d].paths[%d]", plan->index, i);
        int status = sal_json_get_string(doc, sal_json_at(doc, paths, i), plan->paths[i], SHARD_NAME_MAX, what, err);
        if (status) return status;
    }
    return SAL_OK;
}

static int grow_table(sal_tfjs_weights *table, int extra, sal_error *err) {
    if (extra <= 0) return SAL_OK;
    sal_tfjs_weight *items = realloc(table->items, ((size_t)table->n + (size_t)extra) * sizeof *items);
    if (!items) return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading the manifest");
    memset(items + table->n, 0, (size_t)extra * sizeof *items);
    table->items = items;
    return SAL_OK;
}

/* Reads the group's entries into the table and lays them out in the stream. */
static int read_entries(const sal_json *doc, int group, group_plan *plan, sal_tfjs_weights *table,
                        sal_error *err) {
    int weights = sal_json_member(doc, group, "weights");
    if (sal_json_kind_of(doc, weights) != SAL_JSON_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "weightsManifest[%d]: 'weights' must be an array", plan->index);
    int n = sal_json_length(doc, weights);
    plan->layouts = calloc((size_t)n + 1, sizeof *plan->layouts);
    if (!plan->layouts) return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading the manifest");
    int status = grow_table(table, n, err);
    plan->first_weight = table->n;
    for (int i = 0; i < n && status == SAL_OK; i++) {
        sal_tfjs_weight *w = &table->items[table->n];
        entry_layout *layout = &plan->layouts[i];
        status = read_entry(doc, sal_json_at(doc, weights, i), plan->index, i, w, layout, err);
        if (status) break;
        table->n++;
        plan->n_weights++;
        layout->offset = plan->total_bytes;
        layout->bytes = w->count * (size_t)layout->value_bytes;
        if (layout->bytes > SIZE_MAX / 2 - plan->total_bytes)
            return sal_fail(err, SAL_ERR_FORMAT, "weightsManifest[%d]: weights too large", plan->index);
        plan->total_bytes += layout->bytes;
    }
    return status;
}

/* Shard sizes must add up to exactly what the manifest lays out. */
static int check_shard_sizes(const sal_shard_source *src, group_plan *plan, const sal_tfjs_weights *table,
                             sal_error *err) {
    size_t available = 0;
    for (int i = 0; i < plan->n_paths; i++) {
        int status = src->size(src->ctx, plan->paths[i], &plan->sizes[i], err);
        if (status) return status;
        if (plan->sizes[i] > SIZE_MAX / 2 - available)
            return sal_fail(err, SAL_ERR_FORMAT, "weights group %d: shards too large", plan->index);
        available += plan->sizes[i];
    }
    const char *last = plan->n_paths ? plan->paths[plan->n_paths - 1] : "(none)";
    if (available > plan->total_bytes)
        return sal_fail(err, SAL_ERR_FORMAT,
                        "weights group %d: shards hold %zu bytes but the manifest needs only %zu (last shard '%s')",
                        plan->index, available, plan->total_bytes, last);
    if (available == plan->total_bytes) return SAL_OK;
    int k = 0;
    while (k + 1 < plan->n_weights && plan->layouts[k].offset + plan->layouts[k].bytes <= available) k++;
    return sal_fail(err, SAL_ERR_FORMAT,
                    "weights group %d: shard '%s' ends at byte %zu of the group, but weight '%s' needs bytes up to "
                    "%zu (the manifest needs %zu bytes)",
                    plan->index, last, available, table->items[plan->first_weight + k].name,
                    plan->layouts[k].offset + plan->layouts[k].bytes, plan->total_bytes);
}

/* ----------------------------------------------------------- the stream */

typedef struct {
    const sal_shard_source *src;
    const group_plan *plan;
    int shard;
    const uint8_t *data;
    uint8_t *owned;
    size_t size, pos;
} shard_stream;

static void stream_release(shard_stream *s) {
    free(s->owned);
    s->owned = NULL;
    s->data = NULL;
    s->size = s->pos = 0;
}

static int stream_next_shard(shard_stream *s, sal_error *err) {
    stream_release(s);
    s->shard++;
    if (s->shard >= s->plan->n_paths)
        return sal_fail(err, SAL_ERR_FORMAT, "weights group %d: ran out of shards", s->plan->index);
    const char *path = s->plan->paths[s->shard];
    if (s->src->read_range) { /* read piece by piece in stream_read */
        s->size = s->plan->sizes[s->shard];
        return SAL_OK;
    }
    int status = s->src->read(s->src->ctx, path, &s->data, &s->owned, &s->size, err);
    if (status) return status;
    if (s->size != s->plan->sizes[s->shard])
        return sal_fail(err, SAL_ERR_IO, "shard '%s' changed size while loading (%zu bytes, then %zu)", path,
                        s->plan->sizes[s->shard], s->size);
    return SAL_OK;
}

static int stream_read(shard_stream *s, uint8_t *dst, size_t n, sal_error *err) {
    while (n > 0) {
        if (s->pos == s->size) {
            int status = stream_next_shard(s, err);
            if (status) return status;
            continue;
        }
        size_t take = s->size - s->pos < n ? s->size - s->pos : n;
        if (s->src->read_range) {
            int status = s->src->read_range(s->src->ctx, s->plan->paths[s->shard], s->pos, dst, take, err);
            if (status) return status;
        } else {
            memcpy(dst, s->data + s->pos, take);
        }
        s->pos += take;
        dst += take;
        n -= take;
    }
    return SAL_OK;
}

/* ------------------------------------------------------------- decoding */

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static float decode_value(const entry_layout *layout, const uint8_t *p) {
    switch (layout->decode) {
    case DECODE_FLOAT32: {
        uint32_t bits = le32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    case DECODE_FLOAT16: return sal_half_to_float(le16(p));
    case DECODE_UINT8: return (float)(p[0] * layout->scale + layout->min);
    case DECODE_UINT16: return (float)(le16(p) * layout->scale + layout->min);
    default: return 0.0f;
    }
}

static int decode_entry(shard_stream *s, const entry_layout *layout, sal_tfjs_weight *w, uint8_t *chunk,
                        sal_error *err) {
    if (layout->decode != DECODE_SKIP) {
        w->data = malloc((w->count ? w->count : 1) * sizeof *w->data);
        if (!w->data) return sal_fail(err, SAL_ERR_MEMORY, "out of memory for weight '%s'", w->name);
        snprintf(w->dtype, sizeof w->dtype, "float32");
    }
    size_t per_chunk = CHUNK_BYTES / (size_t)layout->value_bytes;
    for (size_t done = 0; done < w->count;) {
        size_t n = w->count - done < per_chunk ? w->count - done : per_chunk;
        int status = stream_read(s, chunk, n * (size_t)layout->value_bytes, err);
        if (status) return status;
        if (w->data)
            for (size_t i = 0; i < n; i++) w->data[done + i] = decode_value(layout, chunk + i * layout->value_bytes);
        done += n;
    }
    return SAL_OK;
}

static int decode_group(const sal_shard_source *src, const group_plan *plan, sal_tfjs_weights *table,
                        sal_error *err) {
    uint8_t *chunk = malloc(CHUNK_BYTES);
    if (!chunk) return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading weights");
    shard_stream stream = {.src = src, .plan = plan, .shard = -1};
    int status = SAL_OK;
    for (int i = 0; i < plan->n_weights && status == SAL_OK; i++)
        status = decode_entry(&stream, &plan->layouts[i], &table->items[plan->first_weight + i], chunk, err);
    stream_release(&stream);
    free(chunk);
    return status;
}

/* ------------------------------------------------------------ finding */

/* A weight's whole name, or the part after one of its '/'. */
struct sal_weight_key {
    const char *key;
    int whole;  /* the whole name */
    int weight; /* index in items */
};

/* By key; for equal keys, whole names first, then in manifest order. */
static int key_order(const void *a, const void *b) {
    const struct sal_weight_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0) return c;
    if (x->whole != y->whole) return x->whole ? -1 : 1;
    return (x->weight > y->weight) - (x->weight < y->weight);
}

static int index_names(sal_tfjs_weights *weights, sal_error *err) {
    size_t n = 0;
    for (int i = 0; i < weights->n; i++)
        for (const char *c = weights->items[i].name; *c; c++) n += *c == '/';
    n += (size_t)weights->n;
    weights->keys = malloc((n ? n : 1) * sizeof *weights->keys);
    if (!weights->keys) return sal_fail(err, SAL_ERR_MEMORY, "out of memory indexing the weights");
    for (int i = 0; i < weights->n; i++) {
        const char *name = weights->items[i].name;
        weights->keys[weights->n_keys++] = (struct sal_weight_key){name, 1, i};
        for (const char *c = name; *c; c++)
            if (*c == '/') weights->keys[weights->n_keys++] = (struct sal_weight_key){c + 1, 0, i};
    }
    qsort(weights->keys, weights->n_keys, sizeof *weights->keys, key_order);
    return SAL_OK;
}

/* ----------------------------------------------------------------- API */

static int read_group(const sal_json *doc, int group, int index, const sal_shard_source *src,
                      sal_tfjs_weights *table, sal_error *err) {
    if (sal_json_kind_of(doc, group) != SAL_JSON_OBJECT)
        return sal_fail(err, SAL_ERR_FORMAT, "weightsManifest[%d] must be an object", index);
    group_plan plan = {.index = index};
    int status = read_paths(doc, group, &plan, err);
    if (!status) status = read_entries(doc, group, &plan, table, err);
    if (!status) status = check_shard_sizes(src, &plan, table, err);
    if (!status) status = decode_group(src, &plan, table, err);
    free_plan(&plan);
    return status;
}

int sal_tfjs_read_weights(const sal_json *doc, int manifest, const sal_shard_source *shards,
                          sal_tfjs_weights *out, sal_error *err) {
    memset(out, 0, sizeof *out);
    if (sal_json_kind_of(doc, manifest) != SAL_JSON_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "weightsManifest must be an array, not %s",
                        sal_json_kind_name(sal_json_kind_of(doc, manifest)));
    int status = SAL_OK;
    for (int g = 0; g < sal_json_length(doc, manifest) && status == SAL_OK; g++)
        status = read_group(doc, sal_json_at(doc, manifest, g), g, shards, out, err);
    if (status == SAL_OK) status = index_names(out, err);
    if (status) sal_tfjs_weights_free(out);
    return status;
}

void sal_tfjs_weights_free(sal_tfjs_weights *weights) {
    for (int i = 0; i < weights->n; i++) free(weights->items[i].data);
    free(weights->items);
    free(weights->keys);
    memset(weights, 0, sizeof *weights);
}

sal_tfjs_weight *sal_tfjs_find_weight(sal_tfjs_weights *weights, const char *layer, const char *param) {
    char key[SAL_TFJS_WEIGHT_NAME_MAX];
    if (snprintf(key, sizeof key, "%s/%s", layer, param) >= (int)sizeof key) return NULL; /* longer than any name */
    size_t lo = 0, hi = weights->n_keys; /* the first key not below `key` */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(weights->keys[mid].key, key) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == weights->n_keys || strcmp(weights->keys[lo].key, key) != 0) return NULL;
    return &weights->items[weights->keys[lo].weight];
}
