/* file.h - whole-file reads and writes. */
#ifndef SAL_BYTES_FILE_H
#define SAL_BYTES_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "../saliency.h"

/* Reads the whole file into a malloc'ed buffer with a '\0' appended (not
 * counted in *size).  Caller frees. */
int sal_read_file(const char *path, uint8_t **data, size_t *size, sal_error *err);
int sal_write_file(const char *path, const void *data, size_t size, sal_error *err);

#endif
