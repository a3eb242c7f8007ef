#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bytes/error.h"

void cli_print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int cli_load_labels(const cli_options *opt, sal_labels *labels, sal_error *err) {
    memset(labels, 0, sizeof *labels);
    if (opt->labels) return sal_labels_load(opt->labels, labels, err);
    const char *slash = strrchr(opt->model, '/');
    size_t dir = slash ? (size_t)(slash - opt->model + 1) : 0;
    char *path = malloc(dir + sizeof "labels.json");
    if (!path) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    memcpy(path, opt->model, dir);
    strcpy(path + dir, "labels.json");
    int status = access(path, R_OK) == 0 ? sal_labels_load(path, labels, err) : SAL_OK;
    free(path);
    return status;
}

void cli_print_label(const sal_labels *labels, int index) {
    if (index >= 0 && index < labels->count && labels->names[index]) cli_print_json_string(labels->names[index]);
    else printf("null");
}
