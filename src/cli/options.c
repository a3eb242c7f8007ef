#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

#define TEXT(field) offsetof(cli_options, field)

/* Flags whose value is kept as text (a `const char *` field). */
static const struct {
    const char *flag;
    size_t offset;
} text_flags[] = {
    {"--model", TEXT(model)},       {"--image", TEXT(image)},
    {"--preprocess", TEXT(preprocess)}, {"--labels", TEXT(labels)},
    {"--mean", TEXT(mean)},         {"--std", TEXT(std)},
    {"--scale", TEXT(scale)},       {"--channel-order", TEXT(channel_order)},
    {"--target", TEXT(target)},     {"--method", TEXT(method)},
    {"--smooth", TEXT(smooth)},     {"--noise", TEXT(noise)},
    {"--aggregate", TEXT(aggregate)}, {"--seed", TEXT(seed)},
    {"--steps", TEXT(steps)},       {"--baseline", TEXT(baseline)},
    {"--quadrature", TEXT(quadrature)}, {"--layer", TEXT(layer)},
    {"--window", TEXT(window)},     {"--stride", TEXT(stride)},
    {"--baseline-value", TEXT(baseline_value)}, {"--memory-budget", TEXT(memory_budget)},
    {"--npy", TEXT(npy)},           {"--png", TEXT(png)},
    {"--colormap", TEXT(colormap)}, {"--alpha", TEXT(alpha)},
    {"--xrai-top", TEXT(xrai_top)},
};

/* Switches: present or not, no value. */
static const struct {
    const char *flag;
    size_t offset; /* of an int field */
} switch_flags[] = {
    {"--overlay", offsetof(cli_options, overlay)},
    {"--progress", offsetof(cli_options, progress)},
    {"--original-size", offsetof(cli_options, original_size)},
};

static int find_switch(const char *flag) {
    for (size_t i = 0; i < sizeof switch_flags / sizeof switch_flags[0]; i++)
        if (strcmp(flag, switch_flags[i].flag) == 0) return (int)i;
    return -1;
}

static int set_value(cli_options *opt, const char *flag, const char *value, char *why, int why_size) {
    for (size_t i = 0; i < sizeof text_flags / sizeof text_flags[0]; i++) {
        if (strcmp(flag, text_flags[i].flag) == 0) {
            *(const char **)((char *)opt + text_flags[i].offset) = value;
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
    }
    return -1;
}

static int is_value_flag(const char *flag) {
    for (size_t i = 0; i < sizeof text_flags / sizeof text_flags[0]; i++)
        if (strcmp(flag, text_flags[i].flag) == 0) return 1;
    return strcmp(flag, "--top") == 0 || strcmp(flag, "--threads") == 0 || strcmp(flag, "--percentile") == 0;
}

int cli_parse_options(int argc, char **argv, int first, cli_options *opt, char *why, int why_size) {
    memset(opt, 0, sizeof *opt);
    opt->preprocess = "caffe";
    opt->method = "vanilla";
    opt->target = "top";
    opt->top = 5;
    opt->percentile = 99.0f;
    for (int i = first; i < argc; i++) {
        const char *flag = argv[i];
        int switch_index = find_switch(flag);
        if (strncmp(flag, "--", 2) != 0 && i > first && find_switch(argv[i - 1]) >= 0) {
            snprintf(why, (size_t)why_size, "option '%s' takes no value, not '%s'", argv[i - 1], flag);
            return -1;
        } else if (strncmp(flag, "--", 2) != 0) {
            snprintf(why, (size_t)why_size, "unexpected argument '%s' (options are --name value)", flag);
            return -1;
        } else if (switch_index >= 0) {
            *(int *)((char *)opt + switch_flags[switch_index].offset) = 1;
        } else if (!is_value_flag(flag)) {
            snprintf(why, (size_t)why_size, "unknown option '%s' (see saliency --help)", flag);
            return -1;
        } else if (i + 1 >= argc || is_value_flag(argv[i + 1]) || find_switch(argv[i + 1]) >= 0) {
            snprintf(why, (size_t)why_size, "option '%s' needs a value", flag);
            return -1;
        } else if (set_value(opt, flag, argv[++i], why, why_size) != 0) {
            return -1;
        }
    }
    return 0;
}
