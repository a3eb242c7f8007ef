/* tfjs.h - private to the TF.js layers-model importer (tfjs.c, tfjs_weights.c,
 * model.c): where shards come from, and the decoded weights. */
#ifndef SAL_MODEL_TFJS_H
#define SAL_MODEL_TFJS_H

#include <stddef.h>
#include <stdint.h>

#include "../bytes/json.h"
#include "model.h"

/* Where weight shards come from (files beside model.json, buffers, or a
 * reader).  A source reads whole shards (read) or byte ranges (read_range). */
typedef struct {
    /* The shard's size in bytes, without reading it. */
    int (*size)(void *ctx, const char *path, size_t *size, sal_error *err);
    /* The shard's bytes: *data points at them; *owned is set to a buffer the
     * caller frees (NULL when the bytes are borrowed). */
    int (*read)(void *ctx, const char *path, const uint8_t **data, uint8_t **owned, size_t *size,
                sal_error *err);
    /* Or: bytes [offset, offset + n) of the shard, within its size, into dst. */
    int (*read_range)(void *ctx, const char *path, size_t offset, uint8_t *dst, size_t n, sal_error *err);
    void *ctx;
} sal_shard_source;

#define SAL_TFJS_MAX_RANK 8
#define SAL_TFJS_WEIGHT_NAME_MAX 256

typedef struct {
    char name[SAL_TFJS_WEIGHT_NAME_MAX]; /* as in the manifest: "conv1/kernel" */
    int rank;
    int shape[SAL_TFJS_MAX_RANK];
    size_t count;
    char dtype[16];   /* the stored (dequantized) dtype: "float32", "int32", ... */
    float *data;      /* float32 values (dequantized); NULL for other dtypes or once taken */
} sal_tfjs_weight;

typedef struct {
    sal_tfjs_weight *items;
    int n;
    struct sal_weight_key *keys; /* sorted names and name suffixes, for sal_tfjs_find_weight */
    size_t n_keys;
} sal_tfjs_weights;

/* Decodes every weight of the manifest (an array of {paths, weights}). */
int sal_tfjs_read_weights(const sal_json *doc, int manifest, const sal_shard_source *shards,
                          sal_tfjs_weights *out, sal_error *err);
void sal_tfjs_weights_free(sal_tfjs_weights *weights);
/* "<layer>/<param>", or else the first name ending in "/<layer>/<param>"; NULL if none. */
sal_tfjs_weight *sal_tfjs_find_weight(sal_tfjs_weights *weights, const char *layer, const char *param);

/* Imports model.json text into a simplified graph (initialized here; freed
 * on failure). */
int sal_tfjs_import(const char *json, size_t json_size, const sal_shard_source *shards, sal_graph *graph,
                    sal_error *err);

#endif
