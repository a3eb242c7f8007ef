#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include "jsmn.h"

/* ------------------------------------------------------------ parsing */

static void position_of(const char *text, size_t offset, int *line, int *column) {
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else {
            (*column)++;
        }
    }
}

static int fail_at(const char *text, size_t offset, const char *problem, sal_error *err) {
    int line, column;
    position_of(text, offset, &line, &column);
    return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON at line %d, column %d%s", line, column, problem);
}

static int syntax_error(const char *text, size_t length, const jsmn_parser *parser, int code, sal_error *err) {
    if (code == JSMN_ERROR_PART) return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON: the text ends too early");
    return fail_at(text, parser->pos < length ? parser->pos : length, "", err);
}

/* Length of the UTF-8 sequence at s (n bytes available), or 0 when it is not
 * one: a bad lead or continuation byte, an overlong form, a surrogate, or a
 * code point above U+10FFFF. */
static int utf8_sequence(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    int len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || s[0] > 0xf4 || (size_t)len > n) return 0;
    uint32_t cp = s[0] & (0x7fu >> len);
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3fu);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

static int check_utf8(const char *text, size_t length, sal_error *err) {
    for (size_t i = 0; i < length;) {
        int len = utf8_sequence((const unsigned char *)text + i, length - i);
        if (len == 0) return fail_at(text, i, ": the text is not UTF-8", err);
        i += (size_t)len;
    }
    return SAL_OK;
}

/* jsmn finds the array or object a bracket closes by walking up from the last
 * token, a walk as long as the nesting is deep: unbounded depth would make
 * parsing quadratic. */
#define MAX_DEPTH 128

static int check_depth(const char *text, size_t length, sal_error *err) {
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < length && text[i] != '\0'; i++) { /* jsmn too stops at a NUL */
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if ((c == '[' || c == '{') && ++depth > MAX_DEPTH) {
            char problem[64];
            snprintf(problem, sizeof problem, ": nested more than %d deep", MAX_DEPTH);
            return fail_at(text, i, problem, err);
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return SAL_OK;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n || !is_digit(s[i])) return 0;
    if (s[i] == '0') i++;
    else while (i < n && is_digit(s[i])) i++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    return i == n;
}

static int is_word(const char *s, size_t n, const char *word) {
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

static sal_json_kind primitive_kind(const char *s, size_t n) {
    if (is_word(s, n, "true") || is_word(s, n, "false")) return SAL_JSON_BOOL;
    if (is_word(s, n, "null")) return SAL_JSON_NULL;
    if (is_json_number(s, n)) return SAL_JSON_NUMBER;
    return SAL_JSON_ABSENT;
}

static int convert_tokens(sal_json *doc, const jsmntok_t *raw, int n, sal_error *err) {
    for (int i = 0; i < n; i++) {
        sal_json_token *t = &doc->tokens[i];
        t->start = raw[i].start;
        t->end = raw[i].end;
        t->size = raw[i].size;
        switch (raw[i].type) {
        case JSMN_OBJECT: t->kind = SAL_JSON_OBJECT; break;
        case JSMN_ARRAY: t->kind = SAL_JSON_ARRAY; break;
        case JSMN_STRING: t->kind = SAL_JSON_STRING; break;
        default:
            t->kind = primitive_kind(doc->text + t->start, (size_t)(t->end - t->start));
            if (t->kind == SAL_JSON_ABSENT) {
                int line, column;
                position_of(doc->text, (size_t)t->start, &line, &column);
                return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON value '%.*s' at line %d, column %d",
                                t->end - t->start > 40 ? 40 : t->end - t->start, doc->text + t->start, line,
                                column);
            }
        }
    }
    return SAL_OK;
}

/* A value is a plain token (strings carry no child); a key is a string whose
 * one child is its value. */
static int valid_value(const sal_json_token *t) { return t->kind != SAL_JSON_STRING || t->size == 0; }
static int valid_key(const sal_json_token *t) { return t->kind == SAL_JSON_STRING && t->size == 1; }

/* Fills every token's `next` and every array's slice of doc->elements
 * (children come after their parent, so a reverse sweep sees them first) and
 * checks the object/key/value structure. */
static int link_tokens(sal_json *doc, sal_error *err) {
    sal_json_token *tok = doc->tokens;
    int n = doc->n_tokens, used = 0;
    for (int i = n - 1; i >= 0; i--) {
        int j = i + 1;
        int is_object = tok[i].kind == SAL_JSON_OBJECT, is_array = tok[i].kind == SAL_JSON_ARRAY;
        tok[i].elements = used;
        for (int k = 0; k < tok[i].size; k++) { /* primitives have none */
            if (j >= n) return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON structure");
            int ok = is_object ? valid_key(&tok[j]) : valid_value(&tok[j]);
            if (!ok) return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON structure near byte %d", tok[j].start);
            if (is_array) doc->elements[used++] = j; /* every token is one array's element at most */
            j = tok[j].next;
        }
        tok[i].next = j;
    }
    if (!valid_value(&tok[0]) || tok[0].next != n)
        return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON: more than one top-level value");
    return SAL_OK;
}

static int tokenize(sal_json *doc, sal_error *err) {
    jsmn_parser parser;
    jsmn_init(&parser);
    int count = jsmn_parse(&parser, doc->text, doc->length, NULL, 0);
    if (count < 0) return syntax_error(doc->text, doc->length, &parser, count, err);
    if (count == 0) return sal_fail(err, SAL_ERR_FORMAT, "invalid JSON: the document is empty");
    jsmntok_t *raw = NULL;
    if ((size_t)count <= SIZE_MAX / sizeof *doc->tokens) { /* the largest of the three per-token records */
        raw = malloc((size_t)count * sizeof *raw);
        doc->tokens = malloc((size_t)count * sizeof *doc->tokens);
        doc->elements = malloc((size_t)count * sizeof *doc->elements);
    }
    if (!raw || !doc->tokens || !doc->elements) {
        free(raw);
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory parsing JSON (%d tokens)", count);
    }
    jsmn_init(&parser);
    int parsed = jsmn_parse(&parser, doc->text, doc->length, raw, (unsigned)count);
    int status = SAL_OK;
    if (parsed < 0) status = syntax_error(doc->text, doc->length, &parser, parsed, err);
    else if (parsed == 0) status = sal_fail(err, SAL_ERR_FORMAT, "invalid JSON: the document is empty");
    if (status == SAL_OK) {
        doc->n_tokens = parsed;
        status = convert_tokens(doc, raw, parsed, err);
    }
    free(raw);
    return status;
}

int sal_json_parse(sal_json *doc, const char *text, size_t length, sal_error *err) {
    memset(doc, 0, sizeof *doc);
    if (!text) return sal_fail(err, SAL_ERR_ARGUMENT, "no JSON text given");
    if (length >= INT_MAX) return sal_fail(err, SAL_ERR_FORMAT, "JSON text too large (%zu bytes)", length);
    doc->text = text;
    doc->length = length;
    int status = check_utf8(text, length, err);
    if (status == SAL_OK) status = check_depth(text, length, err);
    if (status == SAL_OK) status = tokenize(doc, err);
    if (status == SAL_OK) status = link_tokens(doc, err);
    if (status != SAL_OK) sal_json_free(doc);
    return status;
}

void sal_json_free(sal_json *doc) {
    free(doc->tokens);
    free(doc->elements);
    memset(doc, 0, sizeof *doc);
}

/* --------------------------------------------------------- navigation */

static const sal_json_token *token_at(const sal_json *doc, int value) {
    return value >= 0 && value < doc->n_tokens ? &doc->tokens[value] : NULL;
}

sal_json_kind sal_json_kind_of(const sal_json *doc, int value) {
    const sal_json_token *t = token_at(doc, value);
    return t ? t->kind : SAL_JSON_ABSENT;
}

const char *sal_json_kind_name(sal_json_kind kind) {
    switch (kind) {
    case SAL_JSON_OBJECT: return "an object";
    case SAL_JSON_ARRAY: return "an array";
    case SAL_JSON_STRING: return "a string";
    case SAL_JSON_NUMBER: return "a number";
    case SAL_JSON_BOOL: return "a boolean";
    case SAL_JSON_NULL: return "null";
    default: return "missing";
    }
}

static int raw_equals(const sal_json *doc, const sal_json_token *t, const char *s) {
    size_t n = (size_t)(t->end - t->start);
    return strlen(s) == n && memcmp(doc->text + t->start, s, n) == 0;
}

int sal_json_member(const sal_json *doc, int object, const char *key) {
    const sal_json_token *t = token_at(doc, object);
    if (!t || t->kind != SAL_JSON_OBJECT) return -1;
    int k = object + 1;
    for (int i = 0; i < t->size; i++) {
        if (raw_equals(doc, &doc->tokens[k], key)) return k + 1;
        k = doc->tokens[k].next;
    }
    return -1;
}

int sal_json_length(const sal_json *doc, int array) {
    const sal_json_token *t = token_at(doc, array);
    return t && (t->kind == SAL_JSON_ARRAY || t->kind == SAL_JSON_OBJECT) ? t->size : 0;
}

int sal_json_at(const sal_json *doc, int array, int index) {
    const sal_json_token *t = token_at(doc, array);
    if (!t || t->kind != SAL_JSON_ARRAY || index < 0 || index >= t->size) return -1;
    return doc->elements[t->elements + index];
}

int sal_json_is_null(const sal_json *doc, int value) {
    sal_json_kind kind = sal_json_kind_of(doc, value);
    return kind == SAL_JSON_ABSENT || kind == SAL_JSON_NULL;
}

int sal_json_string_equals(const sal_json *doc, int value, const char *s) {
    const sal_json_token *t = token_at(doc, value);
    return t && t->kind == SAL_JSON_STRING && raw_equals(doc, t, s);
}

/* -------------------------------------------------------------- reads */

static int wrong_kind(const sal_json *doc, int value, const char *expected, const char *what, sal_error *err) {
    sal_json_kind kind = sal_json_kind_of(doc, value);
    if (kind == SAL_JSON_ABSENT) return sal_fail(err, SAL_ERR_FORMAT, "%s is missing", what);
    return sal_fail(err, SAL_ERR_FORMAT, "%s must be %s, not %s", what, expected, sal_json_kind_name(kind));
}

int sal_json_get_number(const sal_json *doc, int value, double *out, const char *what, sal_error *err) {
    const sal_json_token *t = token_at(doc, value);
    if (!t || t->kind != SAL_JSON_NUMBER) return wrong_kind(doc, value, "a number", what, err);
    char buf[128];
    int n = t->end - t->start;
    if (n >= (int)sizeof buf) return sal_fail(err, SAL_ERR_FORMAT, "%s: number too long", what);
    memcpy(buf, doc->text + t->start, (size_t)n);
    buf[n] = '\0';
    *out = strtod(buf, NULL); /* the library never calls setlocale: '.' is the decimal point */
    if (!isfinite(*out)) return sal_fail(err, SAL_ERR_FORMAT, "%s: number %s is out of range", what, buf);
    return SAL_OK;
}

int sal_json_get_int(const sal_json *doc, int value, int *out, const char *what, sal_error *err) {
    double d;
    if (sal_json_kind_of(doc, value) != SAL_JSON_NUMBER) return wrong_kind(doc, value, "an integer", what, err);
    int status = sal_json_get_number(doc, value, &d, what, err);
    if (status) return status;
    if (d != floor(d) || d < INT_MIN || d > INT_MAX)
        return sal_fail(err, SAL_ERR_FORMAT, "%s must be an integer, not %g", what, d);
    *out = (int)d;
    return SAL_OK;
}

int sal_json_get_bool(const sal_json *doc, int value, int *out, const char *what, sal_error *err) {
    const sal_json_token *t = token_at(doc, value);
    if (!t || t->kind != SAL_JSON_BOOL) return wrong_kind(doc, value, "true or false", what, err);
    *out = doc->text[t->start] == 't';
    return SAL_OK;
}

static int hex4(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return 0;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 1;
}

static int utf8_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

static void utf8_write(uint32_t cp, char *out) {
    int n = utf8_length(cp);
    if (n == 1) {
        out[0] = (char)cp;
        return;
    }
    static const unsigned char lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (int i = n - 1; i > 0; i--) {
        out[i] = (char)(0x80 | (cp & 0x3f));
        cp >>= 6;
    }
    out[0] = (char)(lead[n] | cp);
}

/* Decodes a \uXXXX escape (with its low surrogate, if any) at s; returns the
 * number of source bytes consumed after the backslash-u. */
static int decode_unicode(const char *s, const char *end, uint32_t *cp) {
    uint32_t hi, lo;
    if (end - s < 4 || !hex4(s, &hi)) return -1;
    *cp = hi;
    if (hi >= 0xd800 && hi <= 0xdbff && end - s >= 10 && s[4] == '\\' && s[5] == 'u' && hex4(s + 6, &lo) &&
        lo >= 0xdc00 && lo <= 0xdfff) {
        *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
        return 10;
    }
    if (hi >= 0xd800 && hi <= 0xdfff) *cp = 0xfffd; /* lone surrogate */
    return 4;
}

static char simple_escape(char c) {
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;
    }
}

static int decode_string(const sal_json *doc, const sal_json_token *t, char *out, size_t capacity,
                         const char *what, sal_error *err) {
    const char *s = doc->text + t->start, *end = doc->text + t->end;
    size_t n = 0;
    while (s < end) {
        char one[4];
        int len = 1;
        if (*s == '\\' && s + 1 < end && s[1] == 'u') {
            uint32_t cp;
            int used = decode_unicode(s + 2, end, &cp);
            if (used < 0) return sal_fail(err, SAL_ERR_FORMAT, "%s: bad \\u escape", what);
            if (cp == 0) return sal_fail(err, SAL_ERR_FORMAT, "%s: holds a \\u0000 character", what);
            len = utf8_length(cp);
            utf8_write(cp, one);
            s += 2 + used;
        } else if (*s == '\\' && s + 1 < end) {
            one[0] = simple_escape(s[1]);
            s += 2;
        } else {
            one[0] = *s++;
        }
        if (n + (size_t)len >= capacity)
            return sal_fail(err, SAL_ERR_FORMAT, "%s: string longer than %zu bytes", what, capacity - 1);
        memcpy(out + n, one, (size_t)len);
        n += (size_t)len;
    }
    out[n] = '\0';
    return SAL_OK;
}

int sal_json_get_string(const sal_json *doc, int value, char *out, size_t capacity, const char *what,
                        sal_error *err) {
    const sal_json_token *t = token_at(doc, value);
    int status = t && t->kind == SAL_JSON_STRING ? decode_string(doc, t, out, capacity, what, err)
                                                 : wrong_kind(doc, value, "a string", what, err);
    if (status && capacity > 0) out[0] = '\0';
    return status;
}
