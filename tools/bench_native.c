/* bench_native.c - times a model natively through the public API (plus the
 * library's sal_fail for its own errors): forward passes, vanilla gradients,
 * SmoothGrad and Integrated Gradients (sal_explain, so with the library's own
 * batching of samples and steps).  Prints figures; asserts nothing.
 *
 *   bench_native --model PATH [--image PATH] [--preprocess caffe|tf|torch|none]
 *                [--backend default|portable|xnnpack] [--threads N] [--batch B]
 *                [--runs R] [--warmup W] [--heavy-runs R] [--heavy-warmup W]
 *                [--figures forward,gradient,smoothgrad,ig] [--smooth-samples 25]
 *                [--smooth-noise 0.15] [--ig-steps 32] [--forward-gflop G]
 *
 * The photo defaults to photos/cat.jpg beside the model's folder (the layout
 * of the asset cache).  --heavy-runs/--heavy-warmup (default: --runs and
 * --warmup) apply to smoothgrad and ig.  --forward-gflop, the floating-point
 * operations of one forward pass of one image, adds GFLOP/s to the human
 * lines (a gradient counts twice a forward pass: forward plus input-gradient
 * backward, no weight gradients).  Besides the human lines, each figure is
 * printed as one JSON object on a line of its own (the lines starting "{"). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes/error.h"
#include "saliency.h"

#define GRADIENT_FORWARD_EQUIVALENTS 2.0

enum { FIGURE_FORWARD = 1, FIGURE_GRADIENT = 2, FIGURE_SMOOTHGRAD = 4, FIGURE_IG = 8 };

typedef struct {
    const char *model_path;
    const char *image_path;
    const char *preprocess;
    sal_backend backend;
    int threads, runs, warmup, heavy_runs, heavy_warmup, batch;
    int figures; /* FIGURE_* bits */
    int smooth_samples, ig_steps;
    double smooth_noise;
    double forward_gflop; /* per image; 0: unknown */
} bench_options;

typedef struct {
    sal_context *ctx;
    sal_preprocess preprocess;
    sal_image pixels;    /* the photo at the model's input size */
    float *input;        /* batch x height x width x 3, preprocessed */
    int batch, height, width;
    float *logits;       /* batch x classes */
    float *mask;         /* batch x height x width x 3 */
    int *chosen_targets; /* batch */
    sal_explain_options smoothgrad, ig;
} bench_job;

typedef int (*bench_step)(bench_job *job, sal_error *err);

typedef struct {
    double median, min, max;
    int runs, warmup;
} timing;

static const char usage[] =
    "usage: bench_native --model PATH [--image PATH] [--preprocess caffe|tf|torch|none]\n"
    "                    [--backend default|portable|xnnpack] [--threads N] [--batch B]\n"
    "                    [--runs R] [--warmup W] [--heavy-runs R] [--heavy-warmup W]\n"
    "                    [--figures forward,gradient,smoothgrad,ig] [--smooth-samples 25]\n"
    "                    [--smooth-noise 0.15] [--ig-steps 32] [--forward-gflop G]\n";

static int parse_count(const char *flag, const char *text, int min, int *out, sal_error *err) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || value < min || value > INT_MAX) {
        return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs an integer >= %d, got '%s'", flag, min, text);
    }
    *out = (int)value;
    return SAL_OK;
}

static int parse_real(const char *flag, const char *text, double *out, sal_error *err) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !(value >= 0)) {
        return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs a number >= 0, got '%s'", flag, text);
    }
    *out = value;
    return SAL_OK;
}

static int parse_backend(const char *text, sal_backend *out, sal_error *err) {
    const sal_backend all[] = {SAL_BACKEND_DEFAULT, SAL_BACKEND_PORTABLE, SAL_BACKEND_XNNPACK};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!strcmp(text, sal_backend_name(all[i]))) {
            if (!sal_backend_available(all[i]))
                return sal_fail(err, SAL_ERR_UNSUPPORTED, "backend '%s' is not compiled into this build", text);
            *out = all[i];
            return SAL_OK;
        }
    }
    return sal_fail(err, SAL_ERR_ARGUMENT, "unknown backend '%s' (default, portable or xnnpack)", text);
}

/* A comma-separated list of figure names into FIGURE_* bits. */
static int parse_figures(const char *text, int *out, sal_error *err) {
    static const struct { const char *name; int bit; } names[] = {
        {"forward", FIGURE_FORWARD}, {"gradient", FIGURE_GRADIENT},
        {"smoothgrad", FIGURE_SMOOTHGRAD}, {"ig", FIGURE_IG}};
    int bits = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strlen(names[i].name) == n && !strncmp(p, names[i].name, n)) {
                bits |= names[i].bit;
                found = 1;
            }
        }
        if (!found)
            return sal_fail(err, SAL_ERR_ARGUMENT, "unknown figure '%.*s' (forward, gradient, smoothgrad, ig)",
                            (int)n, p);
        p += n + (p[n] == ',');
    }
    if (!bits) return sal_fail(err, SAL_ERR_ARGUMENT, "--figures names no figure");
    *out = bits;
    return SAL_OK;
}

static int parse_option(const char *flag, const char *value, bench_options *o, sal_error *err) {
    if (!strcmp(flag, "--model")) o->model_path = value;
    else if (!strcmp(flag, "--image")) o->image_path = value;
    else if (!strcmp(flag, "--preprocess")) o->preprocess = value;
    else if (!strcmp(flag, "--backend")) return parse_backend(value, &o->backend, err);
    else if (!strcmp(flag, "--threads")) return parse_count(flag, value, 1, &o->threads, err);
    else if (!strcmp(flag, "--runs")) return parse_count(flag, value, 1, &o->runs, err);
    else if (!strcmp(flag, "--warmup")) return parse_count(flag, value, 0, &o->warmup, err);
    else if (!strcmp(flag, "--heavy-runs")) return parse_count(flag, value, 1, &o->heavy_runs, err);
    else if (!strcmp(flag, "--heavy-warmup")) return parse_count(flag, value, 0, &o->heavy_warmup, err);
    else if (!strcmp(flag, "--batch")) return parse_count(flag, value, 1, &o->batch, err);
    else if (!strcmp(flag, "--figures")) return parse_figures(value, &o->figures, err);
    else if (!strcmp(flag, "--smooth-samples")) return parse_count(flag, value, 1, &o->smooth_samples, err);
    else if (!strcmp(flag, "--smooth-noise")) return parse_real(flag, value, &o->smooth_noise, err);
    else if (!strcmp(flag, "--ig-steps")) return parse_count(flag, value, 1, &o->ig_steps, err);
    else if (!strcmp(flag, "--forward-gflop")) return parse_real(flag, value, &o->forward_gflop, err);
    else return sal_fail(err, SAL_ERR_ARGUMENT, "unknown option '%s'", flag);
    return SAL_OK;
}

static int parse_options(int argc, char **argv, bench_options *o, sal_error *err) {
    *o = (bench_options){.preprocess = "caffe", .backend = SAL_BACKEND_DEFAULT, .threads = 1, .runs = 5,
                         .warmup = 1, .heavy_runs = -1, .heavy_warmup = -1, .batch = 1,
                         .figures = FIGURE_FORWARD | FIGURE_GRADIENT, .smooth_samples = 25,
                         .smooth_noise = 0.15, .ig_steps = 32};
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs a value", argv[i]);
        int status = parse_option(argv[i], argv[i + 1], o, err);
        if (status) return status;
    }
    if (!o->model_path) return sal_fail(err, SAL_ERR_ARGUMENT, "--model PATH is required");
    if (o->heavy_runs < 0) o->heavy_runs = o->runs;
    if (o->heavy_warmup < 0) o->heavy_warmup = o->warmup;
    return SAL_OK;
}

/* <folder of the model's folder>/photos/cat.jpg, written into buf. */
static int default_image_path(const char *model_path, char *buf, size_t size, sal_error *err) {
    const char *slash = strrchr(model_path, '/');
    int n = slash ? snprintf(buf, size, "%.*s/../photos/cat.jpg", (int)(slash - model_path), model_path)
                  : snprintf(buf, size, "../photos/cat.jpg");
    if (n < 0 || (size_t)n >= size) return sal_fail(err, SAL_ERR_ARGUMENT, "model path too long: %s", model_path);
    return SAL_OK;
}

/* The photo, resized and centre-cropped to the job's size, kept as pixels
 * (for sal_explain) and preprocessed into the input, repeated batch times. */
static int load_input(bench_job *job, const char *path, const char *preprocess, sal_error *err) {
    sal_image photo = {0};
    size_t pixels = (size_t)job->height * job->width;
    int status = sal_image_load(path, &photo, err);
    if (!status) status = sal_image_resize_crop(&photo, job->width, job->height, &job->pixels, err);
    if (!status) status = sal_preprocess_preset(preprocess, &job->preprocess, err);
    if (!status) {
        job->input = malloc(sizeof(float) * pixels * 3 * (size_t)job->batch);
        if (!job->input) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory for a batch of %d inputs", job->batch);
    }
    if (!status) {
        sal_preprocess_apply(&job->preprocess, job->pixels.data, (int)pixels, job->input);
        for (int b = 1; b < job->batch; b++) memcpy(job->input + b * pixels * 3, job->input, sizeof(float) * pixels * 3);
    }
    sal_image_free(&photo);
    return status;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts ms in place. */
static timing summarize(double *ms, int n) {
    qsort(ms, (size_t)n, sizeof *ms, compare_doubles);
    double median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    return (timing){.median = median, .min = ms[0], .max = ms[n - 1], .runs = n};
}

static int step_forward(bench_job *job, sal_error *err) {
    return sal_forward(job->ctx, job->input, job->batch, job->height, job->width, job->logits, NULL, err);
}

static int step_gradient(bench_job *job, sal_error *err) {
    return sal_vanilla_gradients(job->ctx, job->input, job->batch, job->height, job->width, NULL,
                                 job->chosen_targets, job->mask, err);
}

static int run_explain(bench_job *job, const sal_explain_options *options, sal_error *err) {
    sal_explanation out = {0};
    int status = sal_explain(job->ctx, &job->preprocess, &job->pixels, options, &out, err);
    sal_explanation_free(&out);
    return status;
}

static int step_smoothgrad(bench_job *job, sal_error *err) {
    return run_explain(job, &job->smoothgrad, err);
}

static int step_ig(bench_job *job, sal_error *err) {
    return run_explain(job, &job->ig, err);
}

/* Runs step `warmup` times untimed, then `runs` times timed. */
static int time_step(bench_step step, bench_job *job, int runs, int warmup, timing *result, sal_error *err) {
    double *ms = malloc(sizeof(double) * (size_t)runs);
    if (!ms) return sal_fail(err, SAL_ERR_MEMORY, "out of memory for %d timings", runs);
    int status = SAL_OK;
    for (int i = 0; i < warmup && !status; i++) status = step(job, err);
    for (int i = 0; i < runs && !status; i++) {
        double start = now_ms();
        status = step(job, err);
        ms[i] = now_ms() - start;
    }
    if (!status) {
        *result = summarize(ms, runs);
        result->warmup = warmup;
    }
    free(ms);
    return status;
}

/* Allocates the job's input and outputs and sets its explain options; job->ctx stays NULL. */
static int job_create(bench_job *job, const sal_model *model, const bench_options *o,
                      const char *image_path, sal_error *err) {
    int channels, classes = sal_model_num_classes(model);
    sal_model_input_size(model, &job->height, &job->width, &channels);
    if (job->height <= 0) job->height = 224;
    if (job->width <= 0) job->width = 224;
    job->batch = o->batch;
    int status = load_input(job, image_path, o->preprocess, err);
    if (status) return status;
    job->logits = malloc(sizeof(float) * (size_t)job->batch * (size_t)(classes > 0 ? classes : 1));
    job->mask = malloc(sizeof(float) * (size_t)job->batch * job->height * job->width * 3);
    job->chosen_targets = malloc(sizeof(int) * (size_t)job->batch);
    if (!job->logits || !job->mask || !job->chosen_targets)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory for a batch of %d", job->batch);
    sal_explain_defaults(&job->smoothgrad);
    job->smoothgrad.method = SAL_METHOD_VANILLA;
    job->smoothgrad.smooth_samples = o->smooth_samples;
    job->smoothgrad.smooth_noise = (float)o->smooth_noise;
    sal_explain_defaults(&job->ig);
    job->ig.method = SAL_METHOD_INTEGRATED_GRADIENTS;
    job->ig.steps = o->ig_steps;
    return SAL_OK;
}

static void job_free(bench_job *job) {
    sal_context_free(job->ctx);
    sal_image_free(&job->pixels);
    free(job->input);
    free(job->logits);
    free(job->mask);
    free(job->chosen_targets);
}

typedef struct {
    const char *name;
    int bit;
    bench_step step;
    double forward_equivalents; /* per image of the batch (per sal_explain for the methods) */
    int heavy;
} figure;

static figure figure_info(int bit, const bench_options *o) {
    switch (bit) {
    case FIGURE_FORWARD: return (figure){"forward", bit, step_forward, 1.0, 0};
    case FIGURE_GRADIENT: return (figure){"gradient", bit, step_gradient, GRADIENT_FORWARD_EQUIVALENTS, 0};
    case FIGURE_SMOOTHGRAD:
        return (figure){"smoothgrad", bit, step_smoothgrad, GRADIENT_FORWARD_EQUIVALENTS * o->smooth_samples, 1};
    default: return (figure){"ig", bit, step_ig, GRADIENT_FORWARD_EQUIVALENTS * o->ig_steps, 1};
    }
}

/* text as a JSON string: quotes, backslashes and control characters escaped. */
static void print_json_string(const char *text) {
    putchar('"');
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if (*c < 0x20) printf("\\u%04x", *c);
        else putchar(*c);
    }
    putchar('"');
}

static void print_figure(const figure *f, timing t, const bench_options *o, const bench_job *job,
                         const char *backend) {
    int images = f->heavy ? 1 : job->batch;
    printf("%-10s median %9.1f ms  min %9.1f ms  max %9.1f ms", f->name, t.median, t.min, t.max);
    if (o->forward_gflop > 0)
        printf("  %7.1f GFLOP/s", o->forward_gflop * f->forward_equivalents * images / (t.median * 1e-3));
    printf("\n");
    printf("{\"tool\":\"bench_native\",\"model\":");
    print_json_string(o->model_path);
    printf(",\"backend\":\"%s\",\"threads\":%d,\"batch\":%d,\"figure\":\"%s\",\"median_ms\":%.3f,"
           "\"min_ms\":%.3f,\"max_ms\":%.3f,\"runs\":%d,\"warmup\":%d",
           backend, o->threads, images, f->name, t.median, t.min, t.max, t.runs, t.warmup);
    if (f->bit == FIGURE_SMOOTHGRAD) printf(",\"samples\":%d,\"noise\":%g", o->smooth_samples, o->smooth_noise);
    if (f->bit == FIGURE_IG) printf(",\"steps\":%d", o->ig_steps);
    printf("}\n");
    fflush(stdout);
}

static int bench_model(const sal_model *model, const bench_options *o, const char *image_path, sal_error *err) {
    bench_job job = {0};
    int status = job_create(&job, model, o, image_path, err);
    if (!status) {
        job.ctx = sal_context_create_backend(model, o->threads, o->backend, err);
        if (!job.ctx) status = err->status ? (int)err->status : sal_fail(err, SAL_ERR_MEMORY, "no context");
    }
    if (!status) status = step_gradient(&job, err); /* the target, and a first warm-up */
    const char *backend = status ? "" : sal_backend_name(sal_context_backend(job.ctx));
    if (!status) {
        int height, width, channels, classes = sal_model_num_classes(model);
        sal_model_input_size(model, &height, &width, &channels);
        printf("model      %s (%dx%dx%d input, %d classes)\n", o->model_path, height, width, channels, classes);
        printf("image      %s (resized to %dx%d, %s preprocessing)\n", image_path, job.width, job.height,
               o->preprocess);
        printf("setup      backend %s  threads %d  batch %d  runs %d after %d warm-up (smoothgrad, ig: %d after %d)\n",
               backend, o->threads, o->batch, o->runs, o->warmup, o->heavy_runs, o->heavy_warmup);
        printf("target     class %d\n", job.chosen_targets[0]);
        fflush(stdout);
    }
    for (int bit = FIGURE_FORWARD; bit <= FIGURE_IG && !status; bit <<= 1) {
        if (!(o->figures & bit)) continue;
        figure f = figure_info(bit, o);
        timing t;
        status = f.heavy ? time_step(f.step, &job, o->heavy_runs, o->heavy_warmup, &t, err)
                         : time_step(f.step, &job, o->runs, o->warmup, &t, err);
        if (!status) print_figure(&f, t, o, &job, backend);
    }
    job_free(&job);
    return status;
}

int main(int argc, char **argv) {
    sal_error err = {0};
    bench_options options;
    char image_path[4096];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(usage, stdout);
        return 0;
    }
    if (parse_options(argc, argv, &options, &err)) {
        fprintf(stderr, "bench_native: %s\n%s", err.message, usage);
        return 2;
    }
    if (options.image_path) snprintf(image_path, sizeof image_path, "%s", options.image_path);
    else if (default_image_path(options.model_path, image_path, sizeof image_path, &err)) {
        fprintf(stderr, "bench_native: %s\n", err.message);
        return 2;
    }

    sal_model *model = sal_model_load_tfjs(options.model_path, &err);
    if (!model) {
        fprintf(stderr, "bench_native: %s\n", err.message);
        return 1;
    }
    int status = bench_model(model, &options, image_path, &err);
    sal_model_free(model);
    if (status) {
        fprintf(stderr, "bench_native: %s\n", err.message);
        return 1;
    }
    return 0;
}
