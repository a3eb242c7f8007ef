#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Reads in growing chunks rather than trusting a seek to the end, so pipes and
 * files that change size while being read are handled too. */
static int read_stream(FILE *f, const char *path, uint8_t **data, size_t *size, sal_error *err) {
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading '%s'", path);
    for (;;) {
        if (cap - len < 2) {
            if (cap > SIZE_MAX / 2) {
                free(buf);
                return sal_fail(err, SAL_ERR_MEMORY, "file '%s' is too large", path);
            }
            uint8_t *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                return sal_fail(err, SAL_ERR_MEMORY, "out of memory reading '%s'", path);
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        int code = errno;
        free(buf);
        return sal_fail(err, SAL_ERR_IO, "cannot read '%s': %s", path, code ? strerror(code) : "read error");
    }
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return SAL_OK;
}

int sal_read_file(const char *path, uint8_t **data, size_t *size, sal_error *err) {
    *data = NULL;
    *size = 0;
    if (!path) return sal_fail(err, SAL_ERR_ARGUMENT, "no file path given");
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sal_fail(err, SAL_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    int status = read_stream(f, path, data, size, err);
    fclose(f);
    return status;
}

int sal_write_file(const char *path, const void *data, size_t size, sal_error *err) {
    if (!path) return sal_fail(err, SAL_ERR_ARGUMENT, "no file path given");
    errno = 0;
    FILE *f = fopen(path, "wb");
    if (!f) return sal_fail(err, SAL_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
    size_t written = size ? fwrite(data, 1, size, f) : 0;
    int write_errno = errno;
    int closed = fclose(f);
    if (written != size || closed != 0) {
        int code = written != size ? write_errno : errno;
        return sal_fail(err, SAL_ERR_IO, "cannot write '%s': %s", path, code ? strerror(code) : "write error");
    }
    return SAL_OK;
}
