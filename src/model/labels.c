/* labels.c - class names from a labels.json file. */
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../bytes/file.h"
#include "../bytes/json.h"
#include "../saliency.h"

#define MAX_LABELS 1000000

/* Puts `context` before the message already in err. */
static int with_context(sal_error *err, int status, const char *context) {
    if (err) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        sal_fail(err, (sal_status)status, "%.200s: %.300s", context, why);
    }
    return status;
}

/* The class index an object key spells in decimal, or -1. */
static int parse_index(const sal_json *doc, int key) {
    const sal_json_token *t = &doc->tokens[key];
    if (t->end <= t->start || t->end - t->start > 7) return -1;
    long v = 0;
    for (int i = t->start; i < t->end; i++) {
        if (doc->text[i] < '0' || doc->text[i] > '9') return -1;
        v = v * 10 + (doc->text[i] - '0');
    }
    return v < MAX_LABELS ? (int)v : -1;
}

/* Entry e of the root, at token `at`: its class index (an object member's
 * key, an array element's position) and its value, which must be a string. */
static int read_entry(const sal_json *doc, int is_object, int e, int at, int *index, int *value, sal_error *err) {
    *index = is_object ? parse_index(doc, at) : e;
    *value = is_object ? at + 1 : at;
    if (*index < 0) return sal_fail(err, SAL_ERR_FORMAT, "labels: entry %d has a key that is not a class index", e);
    if (sal_json_kind_of(doc, *value) != SAL_JSON_STRING)
        return sal_fail(err, SAL_ERR_FORMAT, "labels: entry %d is not a string", e);
    return SAL_OK;
}

/* Decodes string `value` into *name (replacing a name given before). */
static int copy_name(const sal_json *doc, int value, char **name, sal_error *err) {
    const sal_json_token *t = &doc->tokens[value];
    size_t capacity = (size_t)(t->end - t->start) + 1; /* decoding escapes never lengthens a string */
    char *s = malloc(capacity);
    if (!s) return sal_fail(err, SAL_ERR_MEMORY, "labels: out of memory");
    int status = sal_json_get_string(doc, value, s, capacity, "labels: a class name", err);
    if (status != SAL_OK) {
        free(s);
        return status;
    }
    free(*name);
    *name = s;
    return SAL_OK;
}

/* Two passes over the entries: check them and find the highest index, then copy the names. */
static int fill_labels(const sal_json *doc, sal_labels *out, sal_error *err) {
    sal_json_kind root = sal_json_kind_of(doc, 0);
    if (root != SAL_JSON_OBJECT && root != SAL_JSON_ARRAY)
        return sal_fail(err, SAL_ERR_FORMAT, "labels: expected a JSON object or array");
    int is_object = root == SAL_JSON_OBJECT, entries = sal_json_length(doc, 0);
    int count = 0, index, value, status = SAL_OK;
    for (int e = 0, at = 1; status == SAL_OK && e < entries; e++, at = doc->tokens[at].next) {
        status = read_entry(doc, is_object, e, at, &index, &value, err);
        if (status == SAL_OK && index >= count) count = index + 1;
    }
    if (status != SAL_OK) return status;
    out->names = calloc((size_t)(count ? count : 1), sizeof *out->names);
    if (!out->names) return sal_fail(err, SAL_ERR_MEMORY, "labels: out of memory");
    out->count = count;
    for (int e = 0, at = 1; status == SAL_OK && e < entries; e++, at = doc->tokens[at].next) {
        read_entry(doc, is_object, e, at, &index, &value, NULL);
        status = copy_name(doc, value, &out->names[index], err);
    }
    return status;
}

int sal_labels_parse(const char *json, size_t size, sal_labels *out, sal_error *err) {
    memset(out, 0, sizeof *out);
    sal_json doc;
    int status = sal_json_parse(&doc, json, size, err);
    if (status != SAL_OK) return with_context(err, status, "labels");
    status = fill_labels(&doc, out, err);
    sal_json_free(&doc);
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
    free(data);
    return status != SAL_OK ? with_context(err, status, path) : SAL_OK;
}

void sal_labels_free(sal_labels *labels) {
    if (!labels) return;
    for (int i = 0; i < labels->count; i++) free(labels->names[i]);
    free(labels->names);
    labels->names = NULL;
    labels->count = 0;
}
