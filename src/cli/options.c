#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

static int parse_int(const char *text, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *text, float lo, float hi, float *out) {
    char *end;
    errno = 0;
    float v = strtof(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

typedef struct {
    const char *flag;
    size_t offset; /* of a `const char *` field in cli_options */
} string_flag;

static const string_flag string_flags[] = {
    {"--model", offsetof(cli_options, model)},         {"--image", offsetof(cli_options, image)},
    {"--preprocess", offsetof(cli_options, preprocess)}, {"--labels", offsetof(cli_options, labels)},
    {"--method", offsetof(cli_options, method)},       {"--target", offsetof(cli_options, target)},
    {"--npy", offsetof(cli_options, npy)},             {"--png", offsetof(cli_options, png)},
    {"--mean", offsetof(cli_options, mean)},           {"--std", offsetof(cli_options, std)},
    {"--scale", offsetof(cli_options, scale)},         {"--channel-order", offsetof(cli_options, channel_order)},
};

static int set_option(cli_options *opt, const char *flag, const char *value, char *why, int why_size) {
    for (size_t i = 0; i < sizeof string_flags / sizeof string_flags[0]; i++) {
        if (strcmp(flag, string_flags[i].flag) == 0) {
            *(const char **)((char *)opt + string_flags[i].offset) = value;
            return 0;
        }
    }
    if (strcmp(flag, "--top") == 0) {
        if (parse_int(value, 1, INT_MAX, &opt->top) == 0) return 0;
        snprintf(why, (size_t)why_size, "--top needs a positive whole number, not '%s'", value);
    } else if (strcmp(flag, "--threads") == 0) {
        if (parse_int(value, 0, 256, &opt->threads) == 0) return 0;
        snprintf(why, (size_t)why_size, "--threads needs a number from 0 (all cores) to 256, not '%s'", value);
    } else if (strcmp(flag, "--percentile") == 0) {
        if (parse_float(value, 0.0f, 100.0f, &opt->percentile) == 0) return 0;
        snprintf(why, (size_t)why_size, "--percentile needs a number from 0 to 100, not '%s'", value);
    } else {
        snprintf(why, (size_t)why_size, "unknown option '%s' (see saliency --help)", flag);
    }
    return -1;
}

int cli_parse_options(int argc, char **argv, int first, cli_options *opt, char *why, int why_size) {
    memset(opt, 0, sizeof *opt);
    opt->preprocess = "caffe";
    opt->method = "vanilla";
    opt->target = "top";
    opt->top = 5;
    opt->percentile = 99.0f;
    for (int i = first; i < argc; i += 2) {
        if (strncmp(argv[i], "--", 2) != 0) {
            snprintf(why, (size_t)why_size, "unexpected argument '%s' (options are --name value)", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            snprintf(why, (size_t)why_size, "option '%s' needs a value", argv[i]);
            return -1;
        }
        if (set_option(opt, argv[i], argv[i + 1], why, why_size) != 0) return -1;
    }
    return 0;
}
