/* npy.c - NumPy .npy files: writes format 1.0 float32, reads versions 1 and 2
 * with little-endian float32/float64/int32/int64 data in C order. */
#include "npy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "file.h"

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ------------------------------------------------------- little endian */

static uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const uint8_t *p) {
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

static void store_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static float convert_f4(const uint8_t *p) {
    uint32_t bits = load_u32(p);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static float convert_f8(const uint8_t *p) {
    uint64_t bits = load_u64(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return (float)v;
}

static float convert_i4(const uint8_t *p) { return (float)(int32_t)load_u32(p); }
static float convert_i8(const uint8_t *p) { return (float)(int64_t)load_u64(p); }

typedef struct {
    const char *descr;
    size_t item_size;
    float (*convert)(const uint8_t *p);
} npy_dtype;

static const npy_dtype npy_dtypes[] = {
    {"<f4", 4, convert_f4},
    {"<f8", 8, convert_f8},
    {"<i4", 4, convert_i4},
    {"<i8", 8, convert_i8},
};

/* ------------------------------------------------------------- writing */

/* The header dict with spaces and a newline, padded so that the data starts
 * at a multiple of 64 bytes as NumPy does. Returns its length. */
static size_t format_header(char *text, size_t capacity, const int *shape, int ndim) {
    size_t len = (size_t)snprintf(text, capacity, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        len += (size_t)snprintf(text + len, capacity - len, i == 0 ? "%d" : ", %d", shape[i]);
    len += (size_t)snprintf(text + len, capacity - len, ndim == 1 ? ",), }" : "), }");
    size_t padded = (10 + len + 1 + 63) / 64 * 64 - 10;
    memset(text + len, ' ', padded - len - 1);
    text[padded - 1] = '\n';
    return padded;
}

static int check_write_shape(const float *data, const int *shape, int ndim, size_t *count,
                             sal_error *err) {
    if (ndim < 0 || ndim > SAL_NPY_MAX_DIMS)
        return sal_fail(err, SAL_ERR_ARGUMENT, "npy: %d dimensions (at most %d)", ndim,
                        SAL_NPY_MAX_DIMS);
    if (ndim > 0 && !shape) return sal_fail(err, SAL_ERR_ARGUMENT, "npy: shape is NULL");
    *count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return sal_fail(err, SAL_ERR_ARGUMENT, "npy: dimension %d is negative (%d)", i, shape[i]);
        if (shape[i] > 0 && *count > SIZE_MAX / 4 / (size_t)shape[i])
            return sal_fail(err, SAL_ERR_ARGUMENT, "npy: shape is too large");
        *count *= (size_t)shape[i];
    }
    if (*count > 0 && !data) return sal_fail(err, SAL_ERR_ARGUMENT, "npy: data is NULL");
    return SAL_OK;
}

int sal_npy_write(const char *path, const float *data, const int *shape, int ndim, sal_error *err) {
    size_t count = 0;
    int status = check_write_shape(data, shape, ndim, &count, err);
    if (status) return status;
    char header[256]; /* 8 dims of at most 11 characters each fit easily */
    size_t header_len = format_header(header, sizeof header, shape, ndim);
    size_t total = 10 + header_len + count * 4;
    uint8_t *bytes = malloc(total);
    if (!bytes) return sal_fail(err, SAL_ERR_MEMORY, "npy: out of memory writing '%s'", path);
    memcpy(bytes, npy_magic, 6);
    bytes[6] = 1;
    bytes[7] = 0;
    bytes[8] = (uint8_t)(header_len & 0xff);
    bytes[9] = (uint8_t)(header_len >> 8);
    memcpy(bytes + 10, header, header_len);
    uint8_t *out = bytes + 10 + header_len;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], sizeof bits);
        store_u32(out + 4 * i, bits);
    }
    status = sal_write_file(path, bytes, total, err);
    free(bytes);
    return status;
}

/* ---------------------------------------------------- header parsing */

/* A cursor over the header's Python dict literal, e.g.
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
typedef struct {
    const char *text;
    size_t len, pos;
    const char *path;
    sal_error *err;
} dict_cursor;

typedef struct {
    char descr[16];
    int fortran_order;
    int shape[SAL_NPY_MAX_DIMS];
    int ndim;
    int seen; /* bit per key: 1 descr, 2 fortran_order, 4 shape */
} npy_header;

static int cursor_fail(dict_cursor *cur, const char *what) {
    return sal_fail(cur->err, SAL_ERR_FORMAT, "npy '%s': bad header at byte %zu: %s", cur->path,
                    cur->pos, what);
}

static void skip_spaces(dict_cursor *cur) {
    while (cur->pos < cur->len && (cur->text[cur->pos] == ' ' || cur->text[cur->pos] == '\n' ||
                                   cur->text[cur->pos] == '\t' || cur->text[cur->pos] == '\r'))
        cur->pos++;
}

/* Skips spaces and consumes `c` if it comes next. */
static int accept(dict_cursor *cur, char c) {
    skip_spaces(cur);
    if (cur->pos < cur->len && cur->text[cur->pos] == c) {
        cur->pos++;
        return 1;
    }
    return 0;
}

static int parse_string(dict_cursor *cur, char *out, size_t capacity) {
    skip_spaces(cur);
    if (cur->pos >= cur->len || (cur->text[cur->pos] != '\'' && cur->text[cur->pos] != '"'))
        return cursor_fail(cur, "expected a quoted string");
    char quote = cur->text[cur->pos++];
    size_t n = 0;
    while (cur->pos < cur->len && cur->text[cur->pos] != quote) {
        if (n + 1 >= capacity) return cursor_fail(cur, "string too long");
        out[n++] = cur->text[cur->pos++];
    }
    if (cur->pos >= cur->len) return cursor_fail(cur, "unterminated string");
    cur->pos++;
    out[n] = '\0';
    return SAL_OK;
}

static int parse_bool(dict_cursor *cur, int *value) {
    skip_spaces(cur);
    const char *rest = cur->text + cur->pos;
    size_t left = cur->len - cur->pos;
    if (left >= 4 && memcmp(rest, "True", 4) == 0) {
        *value = 1;
        cur->pos += 4;
    } else if (left >= 5 && memcmp(rest, "False", 5) == 0) {
        *value = 0;
        cur->pos += 5;
    } else {
        return cursor_fail(cur, "expected True or False");
    }
    return SAL_OK;
}

static int parse_dim(dict_cursor *cur, int *dim) {
    skip_spaces(cur);
    size_t start = cur->pos;
    long long value = 0;
    while (cur->pos < cur->len && cur->text[cur->pos] >= '0' && cur->text[cur->pos] <= '9') {
        value = value * 10 + (cur->text[cur->pos++] - '0');
        if (value > INT_MAX) return cursor_fail(cur, "dimension too large");
    }
    if (cur->pos == start) return cursor_fail(cur, "expected a dimension");
    if (cur->pos < cur->len && cur->text[cur->pos] == 'L') cur->pos++; /* Python 2 long */
    *dim = (int)value;
    return SAL_OK;
}

static int parse_shape(dict_cursor *cur, npy_header *h) {
    if (!accept(cur, '(')) return cursor_fail(cur, "expected '(' for the shape");
    h->ndim = 0;
    while (!accept(cur, ')')) {
        if (h->ndim == SAL_NPY_MAX_DIMS)
            return sal_fail(cur->err, SAL_ERR_UNSUPPORTED, "npy '%s': more than %d dimensions",
                            cur->path, SAL_NPY_MAX_DIMS);
        int status = parse_dim(cur, &h->shape[h->ndim++]);
        if (status) return status;
        if (!accept(cur, ',')) {
            if (!accept(cur, ')')) return cursor_fail(cur, "expected ',' or ')' in the shape");
            break;
        }
    }
    return SAL_OK;
}

static int parse_entry(dict_cursor *cur, npy_header *h) {
    char key[32];
    int status = parse_string(cur, key, sizeof key);
    if (status) return status;
    if (!accept(cur, ':')) return cursor_fail(cur, "expected ':'");
    if (strcmp(key, "descr") == 0) {
        h->seen |= 1;
        return parse_string(cur, h->descr, sizeof h->descr);
    }
    if (strcmp(key, "fortran_order") == 0) {
        h->seen |= 2;
        return parse_bool(cur, &h->fortran_order);
    }
    if (strcmp(key, "shape") == 0) {
        h->seen |= 4;
        return parse_shape(cur, h);
    }
    return sal_fail(cur->err, SAL_ERR_FORMAT, "npy '%s': unexpected header key '%s'", cur->path, key);
}

static int parse_dict(dict_cursor *cur, npy_header *h) {
    if (!accept(cur, '{')) return cursor_fail(cur, "expected '{'");
    while (!accept(cur, '}')) {
        int status = parse_entry(cur, h);
        if (status) return status;
        if (!accept(cur, ',')) {
            if (!accept(cur, '}')) return cursor_fail(cur, "expected ',' or '}'");
            break;
        }
    }
    skip_spaces(cur);
    if (cur->pos != cur->len) return cursor_fail(cur, "unexpected text after the dict");
    if (h->seen != 7)
        return sal_fail(cur->err, SAL_ERR_FORMAT,
                        "npy '%s': header lacks 'descr', 'fortran_order' or 'shape'", cur->path);
    return SAL_OK;
}

/* ------------------------------------------------------------- reading */

/* Finds where the header dict lies, from the magic and version bytes. */
static int locate_header(const uint8_t *bytes, size_t size, const char *path, size_t *start,
                         size_t *len, sal_error *err) {
    if (size < 10 || memcmp(bytes, npy_magic, 6) != 0)
        return sal_fail(err, SAL_ERR_FORMAT, "'%s' is not a .npy file (no \\x93NUMPY magic)", path);
    int major = bytes[6], minor = bytes[7];
    if (major == 1) {
        *start = 10;
        *len = (size_t)bytes[8] | (size_t)bytes[9] << 8;
    } else if (major == 2 && size >= 12) {
        *start = 12;
        *len = load_u32(bytes + 8);
    } else {
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "npy '%s': format version %d.%d (only 1.x, 2.x)",
                        path, major, minor);
    }
    if (*len > size - *start)
        return sal_fail(err, SAL_ERR_FORMAT, "npy '%s': truncated header (%zu bytes announced)",
                        path, *len);
    return SAL_OK;
}

static int find_dtype(const npy_header *h, const char *path, const npy_dtype **dtype,
                      sal_error *err) {
    for (size_t i = 0; i < sizeof npy_dtypes / sizeof npy_dtypes[0]; i++) {
        if (strcmp(h->descr, npy_dtypes[i].descr) == 0) {
            *dtype = &npy_dtypes[i];
            return SAL_OK;
        }
    }
    return sal_fail(err, SAL_ERR_UNSUPPORTED,
                    "npy '%s': dtype '%s' (supported: <f4, <f8, <i4, <i8)", path, h->descr);
}

/* Checks the layout and that the data after the header is exactly the array. */
static int check_data(const npy_header *h, const npy_dtype *dtype, size_t data_bytes,
                      const char *path, size_t *count, sal_error *err) {
    int long_dims = 0;
    *count = 1;
    for (int i = 0; i < h->ndim; i++) {
        long_dims += h->shape[i] > 1;
        if (h->shape[i] > 0 && *count > SIZE_MAX / dtype->item_size / (size_t)h->shape[i])
            return sal_fail(err, SAL_ERR_FORMAT, "npy '%s': shape is too large", path);
        *count *= (size_t)h->shape[i];
    }
    if (h->fortran_order && long_dims > 1)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "npy '%s': Fortran order (only C order)", path);
    size_t expected = *count * dtype->item_size;
    if (data_bytes < expected)
        return sal_fail(err, SAL_ERR_FORMAT, "npy '%s': truncated data (%zu of %zu bytes)", path,
                        data_bytes, expected);
    if (data_bytes > expected)
        return sal_fail(err, SAL_ERR_FORMAT, "npy '%s': %zu bytes after the %zu bytes of data",
                        path, data_bytes - expected, expected);
    return SAL_OK;
}

static int decode_npy(const uint8_t *bytes, size_t size, const char *path, float **data,
                      int *shape, int *ndim, sal_error *err) {
    size_t start = 0, len = 0;
    int status = locate_header(bytes, size, path, &start, &len, err);
    if (status) return status;
    npy_header h = {0};
    dict_cursor cur = {(const char *)bytes + start, len, 0, path, err};
    if ((status = parse_dict(&cur, &h))) return status;
    const npy_dtype *dtype = NULL;
    if ((status = find_dtype(&h, path, &dtype, err))) return status;
    size_t count = 0;
    size_t data_start = start + len;
    if ((status = check_data(&h, dtype, size - data_start, path, &count, err))) return status;
    float *values = malloc(count ? count * sizeof *values : 1);
    if (!values) return sal_fail(err, SAL_ERR_MEMORY, "npy '%s': out of memory", path);
    for (size_t i = 0; i < count; i++)
        values[i] = dtype->convert(bytes + data_start + i * dtype->item_size);
    *data = values;
    *ndim = h.ndim;
    memcpy(shape, h.shape, (size_t)h.ndim * sizeof *shape);
    return SAL_OK;
}

int sal_npy_read(const char *path, float **data, int *shape, int *ndim, sal_error *err) {
    if (!data || !shape || !ndim) return sal_fail(err, SAL_ERR_ARGUMENT, "npy: NULL output");
    *data = NULL;
    *ndim = 0;
    if (!path) return sal_fail(err, SAL_ERR_ARGUMENT, "npy: path is NULL");
    uint8_t *bytes;
    size_t size;
    int status = sal_read_file(path, &bytes, &size, err);
    if (status) return status;
    status = decode_npy(bytes, size, path, data, shape, ndim, err);
    free(bytes);
    if (!status) sal_ok(err);
    return status;
}
