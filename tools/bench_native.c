/* bench_native.c - times forward passes and vanilla gradients of a model on a
 * photo, through the public API (plus the library's sal_fail for its own
 * errors).  Prints figures; asserts nothing.
 *
 *   bench_native --model PATH [--image PATH] [--threads N] [--runs R]
 *                [--warmup W] [--batch B]
 *
 * The photo defaults to photos/cat.jpg beside the model's folder (the layout
 * of the asset cache).  FLOP rates assume ResNet50 at 224x224. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bytes/error.h"
#include "saliency.h"

/* ResNet50 at 224x224: 4.1e9 multiply-adds, i.e. 8.2e9 operations. */
#define FORWARD_FLOP 8.2e9
/* A vanilla gradient is a forward pass plus a backward pass that computes
 * data gradients only (no weight gradients): about twice the forward work. */
#define GRADIENT_FORWARD_EQUIVALENTS 2.0

typedef struct {
    const char *model_path;
    const char *image_path;
    int threads, runs, warmup, batch;
} bench_options;

typedef struct {
    sal_context *ctx;
    float *input;
    int batch, height, width;
    float *logits;       /* batch x classes */
    float *mask;         /* batch x height x width x 3 */
    int *chosen_targets; /* batch */
} bench_job;

typedef int (*bench_step)(bench_job *job, sal_error *err);

typedef struct {
    double median, min, max;
} timing;

static const char usage[] =
    "usage: bench_native --model PATH [--image PATH] [--threads N] [--runs R] [--warmup W] [--batch B]\n";

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

static int parse_options(int argc, char **argv, bench_options *o, sal_error *err) {
    *o = (bench_options){.threads = 1, .runs = 5, .warmup = 1, .batch = 1};
    for (int i = 1; i < argc; i += 2) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int status = SAL_OK;
        if (!value) {
            return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs a value", flag);
        }
        if (!strcmp(flag, "--model")) o->model_path = value;
        else if (!strcmp(flag, "--image")) o->image_path = value;
        else if (!strcmp(flag, "--threads")) status = parse_count(flag, value, 1, &o->threads, err);
        else if (!strcmp(flag, "--runs")) status = parse_count(flag, value, 1, &o->runs, err);
        else if (!strcmp(flag, "--warmup")) status = parse_count(flag, value, 0, &o->warmup, err);
        else if (!strcmp(flag, "--batch")) status = parse_count(flag, value, 1, &o->batch, err);
        else {
            return sal_fail(err, SAL_ERR_ARGUMENT, "unknown option '%s'", flag);
        }
        if (status) return status;
    }
    if (!o->model_path) return sal_fail(err, SAL_ERR_ARGUMENT, "--model PATH is required");
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

/* The photo, resized and centre-cropped to height x width, caffe-preprocessed,
 * repeated batch times. */
static int load_input(const char *path, int height, int width, int batch, float **out, sal_error *err) {
    sal_image photo = {0}, cropped = {0};
    sal_preprocess caffe;
    size_t pixels = (size_t)height * width;
    int status = sal_image_load(path, &photo, err);
    if (!status) status = sal_image_resize_crop(&photo, width, height, &cropped, err);
    if (!status) status = sal_preprocess_preset("caffe", &caffe, err);
    float *input = status ? NULL : malloc(sizeof(float) * pixels * 3 * (size_t)batch);
    if (!status && !input) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory for a batch of %d inputs", batch);
    if (!status) {
        sal_preprocess_apply(&caffe, cropped.data, (int)pixels, input);
        for (int b = 1; b < batch; b++) memcpy(input + b * pixels * 3, input, sizeof(float) * pixels * 3);
        *out = input;
    }
    sal_image_free(&photo);
    sal_image_free(&cropped);
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
    return (timing){.median = median, .min = ms[0], .max = ms[n - 1]};
}

static int step_forward(bench_job *job, sal_error *err) {
    return sal_forward(job->ctx, job->input, job->batch, job->height, job->width, job->logits, NULL, err);
}

static int step_gradient(bench_job *job, sal_error *err) {
    return sal_vanilla_gradients(job->ctx, job->input, job->batch, job->height, job->width, NULL,
                                 job->chosen_targets, job->mask, err);
}

/* Runs step warmup times untimed, then runs times timed. */
static int time_step(bench_step step, bench_job *job, const bench_options *o, double *ms,
                     timing *result, sal_error *err) {
    for (int i = 0; i < o->warmup; i++) {
        int status = step(job, err);
        if (status) return status;
    }
    for (int i = 0; i < o->runs; i++) {
        double start = now_ms();
        int status = step(job, err);
        if (status) return status;
        ms[i] = now_ms() - start;
    }
    *result = summarize(ms, o->runs);
    return SAL_OK;
}

static void print_timing(const char *what, timing t, double flop_per_run) {
    printf("%-9s median %9.1f ms  min %9.1f ms  max %9.1f ms  %7.1f GFLOP/s\n", what, t.median, t.min,
           t.max, flop_per_run / (t.median * 1e-3) / 1e9);
}

static int argmax(const float *values, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (values[i] > values[best]) best = i;
    return best;
}

/* Allocates the job's input and outputs; job->ctx stays NULL. */
static int job_create(bench_job *job, const sal_model *model, const bench_options *o,
                      const char *image_path, sal_error *err) {
    int channels, classes = sal_model_num_classes(model);
    sal_model_input_size(model, &job->height, &job->width, &channels);
    if (job->height <= 0) job->height = 224;
    if (job->width <= 0) job->width = 224;
    job->batch = o->batch;
    float *input = NULL;
    int status = load_input(image_path, job->height, job->width, job->batch, &input, err);
    if (status) return status;
    job->input = input;
    job->logits = malloc(sizeof(float) * (size_t)job->batch * (size_t)(classes > 0 ? classes : 1));
    job->mask = malloc(sizeof(float) * (size_t)job->batch * job->height * job->width * 3);
    job->chosen_targets = malloc(sizeof(int) * (size_t)job->batch);
    if (!job->logits || !job->mask || !job->chosen_targets)
        return sal_fail(err, SAL_ERR_MEMORY, "out of memory for a batch of %d", job->batch);
    return SAL_OK;
}

static void job_free(bench_job *job) {
    sal_context_free(job->ctx);
    free(job->input);
    free(job->logits);
    free(job->mask);
    free(job->chosen_targets);
}

static void print_report(const sal_model *model, const bench_options *o, const char *image_path,
                         const bench_job *job, timing forward, timing gradient) {
    int height, width, channels, classes = sal_model_num_classes(model);
    sal_model_input_size(model, &height, &width, &channels);
    printf("model     %s (%dx%dx%d input, %d classes)\n", o->model_path, height, width, channels, classes);
    printf("image     %s (resized to %dx%d, caffe preprocessing)\n", image_path, job->height, job->width);
    printf("setup     threads %d  batch %d  warmup %d  runs %d\n", o->threads, o->batch, o->warmup, o->runs);
    printf("top class %d (gradient target %d)\n", argmax(job->logits, classes), job->chosen_targets[0]);
    print_timing("forward", forward, FORWARD_FLOP * o->batch);
    print_timing("gradient", gradient, FORWARD_FLOP * GRADIENT_FORWARD_EQUIVALENTS * o->batch);
}

static int bench_model(const sal_model *model, const bench_options *o, const char *image_path, sal_error *err) {
    bench_job job = {0};
    double *ms = malloc(sizeof(double) * (size_t)o->runs);
    int status = ms ? job_create(&job, model, o, image_path, err)
                    : sal_fail(err, SAL_ERR_MEMORY, "out of memory for %d timings", o->runs);
    if (!status) {
        job.ctx = sal_context_create(model, o->threads, err);
        if (!job.ctx) status = err->status ? (int)err->status : sal_fail(err, SAL_ERR_MEMORY, "no context");
    }
    timing forward, gradient;
    if (!status) status = time_step(step_forward, &job, o, ms, &forward, err);
    if (!status) status = time_step(step_gradient, &job, o, ms, &gradient, err);
    if (!status) print_report(model, o, image_path, &job, forward, gradient);
    job_free(&job);
    free(ms);
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
