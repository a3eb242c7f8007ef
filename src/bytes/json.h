/* json.h - read-only navigation over a parsed JSON document (jsmn tokens).
 *
 * A value is named by its token index; -1 means "absent" (a missing member,
 * an index past the end), so lookups chain without checks and the final
 * read reports what was missing.  Reads take `what`, a description of the
 * value for error messages ("layer 'conv1': filters").
 */
#ifndef SAL_BYTES_JSON_H
#define SAL_BYTES_JSON_H

#include <stddef.h>
#include "../saliency.h"

typedef enum {
    SAL_JSON_ABSENT = 0,
    SAL_JSON_OBJECT,
    SAL_JSON_ARRAY,
    SAL_JSON_STRING,
    SAL_JSON_NUMBER,
    SAL_JSON_BOOL,
    SAL_JSON_NULL
} sal_json_kind;

typedef struct {
    sal_json_kind kind;
    int start, end;  /* byte range in the text (strings: without quotes) */
    int size;        /* arrays: elements; objects: members */
    int next;        /* index of the token after this value's subtree */
    int elements;    /* arrays: where their element indices start in sal_json.elements */
} sal_json_token;

typedef struct {
    const char *text;  /* not owned; must outlive the document */
    size_t length;
    sal_json_token *tokens;
    int n_tokens;
    int *elements;     /* token indices of every array's elements, so that sal_json_at is O(1) */
} sal_json;

/* Parses text[0..length), which must be UTF-8 with arrays and objects nested
 * at most 128 deep; the root value is token 0.  On failure the document is
 * left empty (sal_json_free is still safe). */
int sal_json_parse(sal_json *doc, const char *text, size_t length, sal_error *err);
void sal_json_free(sal_json *doc);

sal_json_kind sal_json_kind_of(const sal_json *doc, int value);
const char *sal_json_kind_name(sal_json_kind kind);
/* A member of an object, or -1 when absent or `object` is not an object. */
int sal_json_member(const sal_json *doc, int object, const char *key);
/* Elements of an array (members of an object); 0 for anything else. */
int sal_json_length(const sal_json *doc, int array);
/* An array element, or -1 when out of range or `array` is not an array. */
int sal_json_at(const sal_json *doc, int array, int index);
/* Absent or null. */
int sal_json_is_null(const sal_json *doc, int value);
/* Is `value` a string equal to s (compared as written, escapes not decoded)? */
int sal_json_string_equals(const sal_json *doc, int value, const char *s);

/* Typed reads: SAL_ERR_FORMAT naming `what` when absent or of the wrong type. */
int sal_json_get_number(const sal_json *doc, int value, double *out, const char *what, sal_error *err);
/* An integral number within [INT_MIN, INT_MAX]. */
int sal_json_get_int(const sal_json *doc, int value, int *out, const char *what, sal_error *err);
int sal_json_get_bool(const sal_json *doc, int value, int *out, const char *what, sal_error *err);
/* Copies the decoded string (escapes resolved, UTF-8) with a '\0'; a string
 * that does not fit in `capacity` bytes, or holds \u0000, is an error (out
 * is then the empty string). */
int sal_json_get_string(const sal_json *doc, int value, char *out, size_t capacity, const char *what,
                        sal_error *err);

#endif
