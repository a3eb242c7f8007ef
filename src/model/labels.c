/* labels.c - class names from a labels.json file. */
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include "jsmn.h"

#include "../bytes/error.h"
#include "../bytes/file.h"
#include "../saliency.h"

#define MAX_LABELS 1000000

static char *token_string(const char *json, const jsmntok_t *t) {
    size_t n = (size_t)(t->end - t->start);
    char *s = malloc(n + 1);
    if (!s) return NULL;
    /* Copies the raw JSON text, resolving the simple escapes class names use. */
    size_t k = 0;
    for (const char *p = json + t->start; p < json + t->end; p++) {
        if (*p == '\\' && p + 1 < json + t->end) {
            p++;
            s[k++] = (*p == 'n') ? '\n' : (*p == 't') ? '\t' : *p;
        } else {
            s[k++] = *p;
        }
    }
    s[k] = '\0';
    return s;
}

/* Parses the key of an object entry as a class index, or returns -1. */
static int parse_index(const char *json, const jsmntok_t *t) {
    long v = 0;
    if (t->type != JSMN_STRING || t->end <= t->start || t->end - t->start > 7) return -1;
    for (int i = t->start; i < t->end; i++) {
        if (json[i] < '0' || json[i] > '9') return -1;
        v = v * 10 + (json[i] - '0');
    }
    return v < MAX_LABELS ? (int)v : -1;
}

static int tokenize(const char *json, size_t size, jsmntok_t **tokens, int *n, sal_error *err) {
    jsmn_parser parser;
    jsmn_init(&parser);
    int count = jsmn_parse(&parser, json, size, NULL, 0);
    if (count < 1) return sal_fail(err, SAL_ERR_FORMAT, "labels: not valid JSON");
    *tokens = malloc((size_t)count * sizeof **tokens);
    if (!*tokens) return sal_fail(err, SAL_ERR_MEMORY, "labels: out of memory");
    jsmn_init(&parser);
    *n = jsmn_parse(&parser, json, size, *tokens, (unsigned)count);
    return SAL_OK;
}

static int fill_labels(const char *json, const jsmntok_t *tok, int n, sal_labels *out, sal_error *err) {
    const jsmntok_t *root = &tok[0];
    int is_object = root->type == JSMN_OBJECT;
    if (!is_object && root->type != JSMN_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "labels: expected a JSON object or array");
    int entries = root->size, step = is_object ? 2 : 1;
    if (1 + entries * step > n) return sal_fail(err, SAL_ERR_FORMAT, "labels: nested values are not allowed");
    int count = 0;
    for (int e = 0; e < entries; e++) {
        const jsmntok_t *key = &tok[1 + e * step], *value = key + (is_object ? 1 : 0);
        int index = is_object ? parse_index(json, key) : e;
        if (index < 0) return sal_fail(err, SAL_ERR_FORMAT, "labels: entry %d has a key that is not a class index", e);
        if (value->type != JSMN_STRING || value->size != 0)
            return sal_fail(err, SAL_ERR_FORMAT, "labels: entry %d is not a string", e);
        if (index + 1 > count) count = index + 1;
    }
    out->names = calloc((size_t)(count ? count : 1), sizeof *out->names);
    if (!out->names) return sal_fail(err, SAL_ERR_MEMORY, "labels: out of memory");
    out->count = count;
    for (int e = 0; e < entries; e++) {
        const jsmntok_t *key = &tok[1 + e * step], *value = key + (is_object ? 1 : 0);
        int index = is_object ? parse_index(json, key) : e;
        free(out->names[index]);
        out->names[index] = token_string(json, value);
        if (!out->names[index]) return sal_fail(err, SAL_ERR_MEMORY, "labels: out of memory");
    }
    return SAL_OK;
}

int sal_labels_parse(const char *json, size_t size, sal_labels *out, sal_error *err) {
    memset(out, 0, sizeof *out);
    jsmntok_t *tokens = NULL;
    int n = 0;
    int status = tokenize(json, size, &tokens, &n, err);
    if (status == SAL_OK && n < 1) status = sal_fail(err, SAL_ERR_FORMAT, "labels: not valid JSON");
    if (status == SAL_OK) status = fill_labels(json, tokens, n, out, err);
    free(tokens);
    if (status != SAL_OK) sal_labels_free(out);
    else sal_ok(err);
    return status;
}

int sal_labels_load(const char *path, sal_labels *out, sal_error *err) {
    uint8_t *data;
    size_t size;
    memset(out, 0, sizeof *out);
    int status = sal_read_file(path, &data, &size, err);
    if (status != SAL_OK) return status;
    status = sal_labels_parse((const char *)data, size, out, err);
    if (status != SAL_OK && err) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        sal_fail(err, (sal_status)status, "%.200s: %.300s", path, why);
    }
    free(data);
    return status;
}

void sal_labels_free(sal_labels *labels) {
    if (!labels) return;
    for (int i = 0; i < labels->count; i++) free(labels->names[i]);
    free(labels->names);
    labels->names = NULL;
    labels->count = 0;
}
