#include "explain_settings.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"

static int whole_number(const char *flag, const char *text, int lo, int hi, int *out, sal_error *err) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs a whole number from %d to %d, not '%s'", flag, lo, hi, text);
    *out = (int)v;
    return SAL_OK;
}

static int number(const char *flag, const char *text, float lo, float hi, float *out, sal_error *err) {
    char *end;
    errno = 0;
    float v = strtof(text, &end);
    if (errno || end == text || *end || !(v >= lo && v <= hi))
        return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs a number from %g to %g, not '%s'", flag, (double)lo,
                        (double)hi, text);
    *out = v;
    return SAL_OK;
}

static int seed_number(const char *text, uint64_t *out, sal_error *err) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] < '0' || text[0] > '9')
        return sal_fail(err, SAL_ERR_ARGUMENT, "--seed needs a whole number from 0 to 2^64 - 1, not '%s'", text);
    *out = (uint64_t)v;
    return SAL_OK;
}

/* Index of `text` in names[0..count), or an error listing them. */
static int one_of(const char *flag, const char *text, const char *const *names, int count, int *out,
                  sal_error *err) {
    char list[256] = "";
    for (int i = 0; i < count; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return SAL_OK;
        }
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return sal_fail(err, SAL_ERR_ARGUMENT, "unknown %s '%s' (%s)", flag, text, list);
}

static int parse_method(const char *text, sal_method *out, sal_error *err) {
    int method = sal_method_from_name(text);
    if (method >= 0) {
        *out = (sal_method)method;
        return SAL_OK;
    }
    const char *names[SAL_METHOD_COUNT];
    for (int i = 0; i < SAL_METHOD_COUNT; i++) names[i] = sal_method_name((sal_method)i);
    return one_of("--method", text, names, SAL_METHOD_COUNT, &method, err);
}

/* sal_aggregate, sal_quadrature and sal_colormap order. */
static const char *const aggregate_names[] = {"mean", "squared", "vargrad"};
static const char *const quadrature_names[] = {"riemann_left", "riemann_right", "riemann_middle",
                                               "riemann_trapezoid", "gauss_legendre"};
static const char *const baseline_names[] = {"black", "white", "noise", "blur"};
static const char *const colormap_names[] = {"gray", "inferno", "viridis", "jet", "diverging"};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* black|white|noise|blur, or the path of a photo. */
static void parse_baseline(const char *text, cli_explain_settings *s) {
    for (int i = 0; i < COUNT(baseline_names); i++) {
        if (strcmp(text, baseline_names[i]) == 0) {
            s->explain.baseline = (sal_baseline)i;
            return;
        }
    }
    s->explain.baseline = SAL_BASELINE_IMAGE;
    s->baseline_photo = text;
}

static int parse_target(const char *text, int *target, sal_error *err) {
    if (strcmp(text, "top") == 0) {
        *target = -1;
        return SAL_OK;
    }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0 || v > 100000000)
        return sal_fail(err, SAL_ERR_ARGUMENT, "--target needs 'top' or a class index, not '%s'", text);
    *target = (int)v;
    return SAL_OK;
}

static int parse_enums(const cli_options *opt, cli_explain_settings *s, sal_error *err) {
    sal_explain_options *e = &s->explain;
    int index = 0, status = parse_method(opt->method, &e->method, err);
    if (!status && opt->aggregate &&
        !(status = one_of("--aggregate", opt->aggregate, aggregate_names, COUNT(aggregate_names), &index, err)))
        e->smooth_aggregate = (sal_aggregate)index;
    if (!status && opt->quadrature &&
        !(status = one_of("--quadrature", opt->quadrature, quadrature_names, COUNT(quadrature_names), &index, err)))
        e->quadrature = (sal_quadrature)index;
    if (!status && opt->colormap)
        status = one_of("--colormap", opt->colormap, colormap_names, COUNT(colormap_names), &s->colormap, err);
    if (!status && opt->baseline) parse_baseline(opt->baseline, s);
    return status;
}

static int parse_numbers(const cli_options *opt, sal_explain_options *e, sal_error *err) {
    int status = parse_target(opt->target, &e->target, err), budget_mb = 0;
    if (!status && opt->smooth) status = whole_number("--smooth", opt->smooth, 0, 100000, &e->smooth_samples, err);
    if (!status && opt->noise) status = number("--noise", opt->noise, 0.0f, 100.0f, &e->smooth_noise, err);
    if (!status && opt->seed) status = seed_number(opt->seed, &e->seed, err);
    if (!status && opt->steps) status = whole_number("--steps", opt->steps, 1, 100000, &e->steps, err);
    if (!status && opt->window) status = whole_number("--window", opt->window, 1, 100000, &e->window, err);
    if (!status && opt->stride) status = whole_number("--stride", opt->stride, 1, 100000, &e->stride, err);
    if (!status && opt->baseline_value)
        status = number("--baseline-value", opt->baseline_value, 0.0f, 255.0f, &e->baseline_value, err);
    if (!status && opt->memory_budget) {
        status = whole_number("--memory-budget", opt->memory_budget, 1, 1 << 20, &budget_mb, err);
        e->memory_budget = (size_t)budget_mb << 20;
    }
    return status;
}

/* --xrai-top PERCENT: a picture of XRAI's ranked regions, so only with --method xrai. */
static int parse_xrai_top(const char *text, cli_explain_settings *s, sal_error *err) {
    if (s->explain.method != SAL_METHOD_XRAI)
        return sal_fail(err, SAL_ERR_ARGUMENT, "--xrai-top needs --method xrai (it shows XRAI's top regions)");
    return number("--xrai-top", text, 0.0f, 100.0f, &s->xrai_top, err);
}

int cli_explain_settings_parse(const cli_options *opt, cli_explain_settings *s, sal_error *err) {
    memset(s, 0, sizeof *s);
    sal_explain_defaults(&s->explain);
    s->explain.layer = opt->layer;
    s->npy = opt->npy;
    s->png = opt->png;
    s->colormap = -1;
    s->overlay = opt->overlay;
    s->alpha = 0.5f;
    s->percentile = opt->percentile;
    s->progress = opt->progress;
    s->original_size = opt->original_size;
    s->xrai_top = -1.0f;
    if (!s->npy && !s->png) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --npy OUT.npy or --png OUT.png");
    int status = parse_enums(opt, s, err);
    if (!status) status = parse_numbers(opt, &s->explain, err);
    if (!status && opt->alpha) status = number("--alpha", opt->alpha, 0.0f, 1.0f, &s->alpha, err);
    if (!status && opt->xrai_top) status = parse_xrai_top(opt->xrai_top, s, err);
    return status;
}
