/* test_npy.c - .npy reading and writing against files written by NumPy
 * (tools/make_image_goldens.py), round trips, and malformed files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes/file.h"
#include "bytes/npy.h"
#include "check.h"

#define NPY_GOLDEN(name) SAL_GOLDENS_DIR "/npy/" name
#define SCRATCH "test_npy_scratch.npy"

typedef struct {
    float *data;
    int shape[SAL_NPY_MAX_DIMS];
    int ndim;
    sal_error err;
    int status;
} npy_result;

static npy_result read_npy(const char *path) {
    npy_result r = {0};
    r.status = sal_npy_read(path, &r.data, r.shape, &r.ndim, &r.err);
    return r;
}

static int shape_is(const npy_result *r, int ndim, const int *shape) {
    if (r->ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (r->shape[i] != shape[i]) return 0;
    return 1;
}

static void test_numpy_float32(void) {
    npy_result r = read_npy(NPY_GOLDEN("f4_2x3x4.npy"));
    CHECK(r.status == SAL_OK, "%s", r.err.message);
    CHECK(shape_is(&r, 3, (int[]){2, 3, 4}), "shape ndim %d", r.ndim);
    int exact = 1;
    for (int i = 0; r.data && i < 24; i++) exact &= r.data[i] == i * 0.25f - 3.0f;
    CHECK(exact, "f4 values differ from i * 0.25 - 3");
    free(r.data);
}

static void test_numpy_float64(void) {
    npy_result r = read_npy(NPY_GOLDEN("f8_2x3.npy"));
    CHECK(r.status == SAL_OK, "%s", r.err.message);
    CHECK(shape_is(&r, 2, (int[]){2, 3}), "shape ndim %d", r.ndim);
    int exact = 1;
    for (int i = 0; r.data && i < 6; i++) exact &= r.data[i] == (float)(i * 0.1 - 1.0);
    CHECK(exact, "f8 values differ from float(i * 0.1 - 1)");
    free(r.data);
}

static void test_numpy_integers(void) {
    npy_result r = read_npy(NPY_GOLDEN("i4_6.npy"));
    CHECK(r.status == SAL_OK, "%s", r.err.message);
    CHECK(shape_is(&r, 1, (int[]){6}), "shape ndim %d", r.ndim);
    int exact = 1;
    for (int i = 0; r.data && i < 6; i++) exact &= r.data[i] == (float)(i * 1000 - 7);
    CHECK(exact, "i4 values differ from i * 1000 - 7");
    free(r.data);

    r = read_npy(NPY_GOLDEN("i8_2x2.npy"));
    CHECK(r.status == SAL_OK, "%s", r.err.message);
    CHECK(shape_is(&r, 2, (int[]){2, 2}), "shape ndim %d", r.ndim);
    float expected[4] = {-5.0f, -2.0f, 1.0f, 1099511627780.0f};
    CHECK(r.data && memcmp(r.data, expected, sizeof expected) == 0, "i8 values");
    free(r.data);
}

static void test_numpy_scalar_and_version2(void) {
    npy_result r = read_npy(NPY_GOLDEN("f4_scalar.npy"));
    CHECK(r.status == SAL_OK && r.ndim == 0, "scalar: %s ndim %d", r.err.message, r.ndim);
    CHECK(r.data && r.data[0] == 2.5f, "scalar value");
    free(r.data);

    r = read_npy(NPY_GOLDEN("f4_v2_3.npy"));
    CHECK(r.status == SAL_OK, "version 2: %s", r.err.message);
    CHECK(shape_is(&r, 1, (int[]){3}), "version 2 shape");
    CHECK(r.data && r.data[0] == 1.5f && r.data[1] == -2.0f && r.data[2] == 3.25f, "v2 values");
    free(r.data);
}

static void expect_failure(const char *path, sal_status status, const char *needle) {
    npy_result r = read_npy(path);
    CHECK(r.status == (int)status, "%s: status %d (%s), expected %d", path, r.status,
          r.err.message, (int)status);
    CHECK(r.err.status == status, "%s: err.status %d", path, (int)r.err.status);
    CHECK(strstr(r.err.message, needle) != NULL, "%s: message '%s' lacks '%s'", path,
          r.err.message, needle);
    CHECK(r.data == NULL, "%s: data left allocated", path);
    free(r.data);
}

static void test_numpy_unsupported(void) {
    expect_failure(NPY_GOLDEN("f4_fortran_2x3.npy"), SAL_ERR_UNSUPPORTED, "Fortran");
    expect_failure(NPY_GOLDEN("f4_big_endian_3.npy"), SAL_ERR_UNSUPPORTED, ">f4");
    expect_failure(NPY_GOLDEN("u1_3.npy"), SAL_ERR_UNSUPPORTED, "|u1");
    expect_failure(NPY_GOLDEN("does_not_exist.npy"), SAL_ERR_IO, "does_not_exist.npy");
}

/* Our writer must produce byte for byte what NumPy wrote. */
static void test_write_matches_numpy(void) {
    float values[24];
    for (int i = 0; i < 24; i++) values[i] = i * 0.25f - 3.0f;
    sal_error err;
    int status = sal_npy_write(SCRATCH, values, (int[]){2, 3, 4}, 3, &err);
    CHECK(status == SAL_OK, "write: %s", err.message);
    uint8_t *ours = NULL, *numpys = NULL;
    size_t our_size = 0, numpy_size = 0;
    CHECK(sal_read_file(SCRATCH, &ours, &our_size, &err) == SAL_OK, "%s", err.message);
    CHECK(sal_read_file(NPY_GOLDEN("f4_2x3x4.npy"), &numpys, &numpy_size, &err) == SAL_OK, "%s",
          err.message);
    CHECK(our_size == numpy_size && ours && numpys && memcmp(ours, numpys, our_size) == 0,
          "written file differs from NumPy's (%zu vs %zu bytes)", our_size, numpy_size);
    free(ours);
    free(numpys);
}

static uint32_t next_random(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static void round_trip(const int *shape, int ndim, uint32_t seed) {
    size_t count = 1;
    for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
    float *values = malloc((count ? count : 1) * sizeof *values);
    for (size_t i = 0; i < count; i++) values[i] = (float)next_random(&seed) / 65536.0f - 100.0f;
    if (count >= 4) {
        values[0] = -0.0f;
        values[1] = INFINITY;
        values[2] = NAN;
        values[3] = 1e-40f; /* subnormal */
    }
    sal_error err;
    CHECK(sal_npy_write(SCRATCH, values, shape, ndim, &err) == SAL_OK, "write: %s", err.message);
    npy_result r = read_npy(SCRATCH);
    CHECK(r.status == SAL_OK, "read back: %s", r.err.message);
    CHECK(shape_is(&r, ndim, shape), "round trip of %d dims: shape differs", ndim);
    CHECK(r.data && (count == 0 || memcmp(r.data, values, count * sizeof *values) == 0),
          "round trip of %d dims: values differ bitwise", ndim);
    free(r.data);
    free(values);
}

static void test_round_trips(void) {
    round_trip(NULL, 0, 1);
    round_trip((int[]){5}, 1, 2);
    round_trip((int[]){3, 7}, 2, 3);
    round_trip((int[]){1, 224, 224, 3}, 4, 4);
    round_trip((int[]){2, 0, 3}, 3, 5);
    round_trip((int[]){1, 2, 1, 2, 1, 2, 1, 2}, 8, 6);
}

static void test_header_layout(void) {
    float values[5] = {0};
    sal_error err;
    CHECK(sal_npy_write(SCRATCH, values, (int[]){5}, 1, &err) == SAL_OK, "%s", err.message);
    uint8_t *bytes = NULL;
    size_t size = 0;
    CHECK(sal_read_file(SCRATCH, &bytes, &size, &err) == SAL_OK, "%s", err.message);
    if (!bytes) return;
    size_t header_len = bytes[8] | (size_t)bytes[9] << 8;
    CHECK(memcmp(bytes, "\x93NUMPY\x01\x00", 8) == 0, "magic and version 1.0");
    CHECK((10 + header_len) % 64 == 0, "header end %zu not 64-aligned", 10 + header_len);
    CHECK(size == 10 + header_len + 20, "file size %zu", size);
    CHECK(bytes[10 + header_len - 1] == '\n', "header does not end in a newline");
    CHECK(strstr((char *)bytes + 10, "'shape': (5,), }") != NULL, "1-d shape written as (5,)");
    free(bytes);
}

static void test_write_errors(void) {
    float v[2] = {1, 2};
    sal_error err;
    CHECK(sal_npy_write(SCRATCH, v, (int[]){1, 1, 1, 1, 1, 1, 1, 1, 2}, 9, &err) ==
              SAL_ERR_ARGUMENT, "9 dims accepted");
    CHECK(sal_npy_write(SCRATCH, v, (int[]){-2}, 1, &err) == SAL_ERR_ARGUMENT, "negative dim");
    CHECK(sal_npy_write(SCRATCH, NULL, (int[]){2}, 1, &err) == SAL_ERR_ARGUMENT, "NULL data");
    int status = sal_npy_write("no_such_directory/x.npy", v, (int[]){2}, 1, &err);
    CHECK(status == SAL_ERR_IO, "unwritable path gave %d", status);
    CHECK(strstr(err.message, "no_such_directory/x.npy") != NULL, "message: %s", err.message);
}

/* Writes magic + version 1.0 + `header` (padded to 64 with spaces and '\n')
 * + `data_bytes` zero bytes, then reads it. */
static npy_result read_crafted(const char *header, size_t data_bytes) {
    size_t len = strlen(header);
    size_t padded = (10 + len + 1 + 63) / 64 * 64 - 10;
    size_t total = 10 + padded + data_bytes;
    uint8_t *bytes = calloc(total, 1);
    memcpy(bytes, "\x93NUMPY\x01\x00", 8);
    bytes[8] = (uint8_t)(padded & 0xff);
    bytes[9] = (uint8_t)(padded >> 8);
    memset(bytes + 10, ' ', padded);
    memcpy(bytes + 10, header, len);
    bytes[10 + padded - 1] = '\n';
    sal_write_file(SCRATCH, bytes, total, NULL);
    free(bytes);
    return read_npy(SCRATCH);
}

static void expect_crafted(const char *header, size_t data_bytes, sal_status status,
                           const char *needle) {
    npy_result r = read_crafted(header, data_bytes);
    CHECK(r.status == (int)status, "header %s: status %d (%s), expected %d", header, r.status,
          r.err.message, (int)status);
    CHECK(strstr(r.err.message, needle) != NULL, "header %s: message '%s' lacks '%s'", header,
          r.err.message, needle);
    CHECK(r.data == NULL, "header %s: data allocated on failure", header);
    free(r.data);
}

static void test_malformed_headers(void) {
    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    npy_result r = read_crafted(good, 8);
    CHECK(r.status == SAL_OK, "crafted good file: %s", r.err.message);
    free(r.data);
    r = read_crafted("{\"shape\":(2L,),\"descr\":\"<f4\",\"fortran_order\":False}", 8);
    CHECK(r.status == SAL_OK && r.ndim == 1 && r.shape[0] == 2, "other spelling: %s",
          r.err.message);
    free(r.data);

    expect_crafted(good, 7, SAL_ERR_FORMAT, "truncated data");
    expect_crafted(good, 9, SAL_ERR_FORMAT, "after");
    expect_crafted("{'descr': '<f4', 'shape': (2,), }", 8, SAL_ERR_FORMAT, "lacks");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", 8,
                   SAL_ERR_FORMAT, "'x'");
    expect_crafted("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8,
                   SAL_ERR_FORMAT, "True or False");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8,
                   SAL_ERR_FORMAT, "dimension");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8,
                   SAL_ERR_FORMAT, "dimension");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296,), }", 8,
                   SAL_ERR_FORMAT, "too large");
    expect_crafted("{'descr': '<f8', 'fortran_order': False, "
                   "'shape': (2147483647, 2147483647, 2147483647), }",
                   8, SAL_ERR_FORMAT, "too large");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }",
                   4, SAL_ERR_UNSUPPORTED, "dimensions");
    expect_crafted("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", 8,
                   SAL_ERR_FORMAT, "header");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8, SAL_ERR_FORMAT,
                   "expected");
    expect_crafted("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } junk", 8,
                   SAL_ERR_FORMAT, "after the dict");
    expect_crafted("{'descr': '<f4'", 0, SAL_ERR_FORMAT, "expected");
    expect_crafted("", 0, SAL_ERR_FORMAT, "'{'");
    expect_crafted("{'descr': 'a very long descr string', 'fortran_order': False, 'shape': (), }",
                   4, SAL_ERR_FORMAT, "too long");
}

static void expect_bytes_fail(const uint8_t *bytes, size_t size, sal_status status,
                              const char *what) {
    sal_write_file(SCRATCH, bytes, size, NULL);
    npy_result r = read_npy(SCRATCH);
    CHECK(r.status == (int)status, "%s: status %d (%s)", what, r.status, r.err.message);
    CHECK(r.data == NULL, "%s: data allocated on failure", what);
    free(r.data);
}

static void test_bad_magic_version_and_truncation(void) {
    uint8_t *golden = NULL;
    size_t size = 0;
    sal_error err;
    CHECK(sal_read_file(NPY_GOLDEN("f4_2x3x4.npy"), &golden, &size, &err) == SAL_OK, "%s",
          err.message);
    if (!golden) return;
    for (size_t cut = 0; cut < size; cut++) {
        char what[64];
        snprintf(what, sizeof what, "file cut at %zu of %zu bytes", cut, size);
        expect_bytes_fail(golden, cut, SAL_ERR_FORMAT, what);
    }
    golden[1] = 'X';
    expect_bytes_fail(golden, size, SAL_ERR_FORMAT, "bad magic");
    golden[1] = 'N';
    golden[6] = 3;
    expect_bytes_fail(golden, size, SAL_ERR_UNSUPPORTED, "version 3.0");
    golden[6] = 1;
    golden[8] = 0xff; /* header length beyond the file */
    expect_bytes_fail(golden, size, SAL_ERR_FORMAT, "header length too large");
    free(golden);
}

int main(void) {
    test_numpy_float32();
    test_numpy_float64();
    test_numpy_integers();
    test_numpy_scalar_and_version2();
    test_numpy_unsupported();
    test_write_matches_numpy();
    test_round_trips();
    test_header_layout();
    test_write_errors();
    test_malformed_headers();
    test_bad_magic_version_and_truncation();
    remove(SCRATCH);
    return check_report();
}
