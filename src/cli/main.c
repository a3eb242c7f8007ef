/* saliency - the command-line tool.
 *
 *   saliency classify --model DIR/model.json --image PHOTO [--preprocess caffe]
 *                     [--labels FILE] [--top 5] [--threads N]
 *   saliency explain  --model DIR/model.json --image PHOTO --method vanilla
 *                     [--preprocess caffe] [--target top|N] --npy OUT.npy
 *                     [--png OUT.png] [--percentile 99] [--threads N]
 *   custom preprocessing: --mean A,B,C --std A,B,C --scale S --channel-order rgb|bgr
 *
 * Errors: exit status 1 and one line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bytes/error.h"
#include "../bytes/npy.h"
#include "../bytes/png.h"
#include "../saliency.h"
#include "options.h"
#include "pipeline.h"

static const char usage[] =
    "usage:\n"
    "  saliency classify --model DIR/model.json --image PHOTO [--preprocess caffe|tf|torch|none]\n"
    "                    [--labels FILE] [--top 5] [--threads N]\n"
    "  saliency explain  --model DIR/model.json --image PHOTO --method vanilla [--preprocess caffe]\n"
    "                    [--target top|N] --npy OUT.npy [--png OUT.png] [--percentile 99] [--threads N]\n"
    "preprocessing: input = (pixel * scale - mean) / std per channel, pixels in [0, 255]; a preset\n"
    "(caffe: BGR, ImageNet mean; tf: [-1, 1]; torch: ImageNet mean/std; none) can be changed with\n"
    "  --mean A,B,C  --std A,B,C  --scale S  --channel-order rgb|bgr   (mean/std in the model's channel order)\n";

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* labels.json beside the model, when there is one. */
static int load_labels(const cli_options *opt, sal_labels *labels, sal_error *err) {
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

static int print_ranking(const float *probs, int classes, int top, const sal_labels *labels, sal_error *err) {
    int *order = malloc((size_t)classes * sizeof *order);
    if (!order) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    for (int i = 0; i < classes; i++) order[i] = i;
    if (top > classes) top = classes;
    for (int i = 0; i < top; i++) { /* partial selection sort: top is small */
        int best = i;
        for (int j = i + 1; j < classes; j++)
            if (probs[order[j]] > probs[order[best]]) best = j;
        int t = order[i];
        order[i] = order[best];
        order[best] = t;
    }
    printf("[");
    for (int i = 0; i < top; i++) {
        int c = order[i];
        printf("%s\n  {\"index\": %d, \"label\": ", i ? "," : "", c);
        if (c < labels->count && labels->names[c]) print_json_string(labels->names[c]);
        else printf("null");
        printf(", \"score\": %.8g}", probs[c]);
    }
    printf("\n]\n");
    free(order);
    return SAL_OK;
}

static int classify(const cli_options *opt, sal_error *err) {
    cli_pipeline p;
    sal_labels labels = {0};
    float *probs = NULL;
    int status = cli_pipeline_open(&p, opt, err);
    if (status == SAL_OK) status = load_labels(opt, &labels, err);
    if (status == SAL_OK) {
        int classes = sal_model_num_classes(p.model);
        probs = malloc((size_t)classes * sizeof *probs);
        if (!probs) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        if (status == SAL_OK) status = sal_forward(p.ctx, p.input, 1, p.height, p.width, NULL, probs, err);
        if (status == SAL_OK) status = print_ranking(probs, classes, opt->top, &labels, err);
    }
    free(probs);
    sal_labels_free(&labels);
    cli_pipeline_close(&p);
    return status;
}

static int parse_target(const char *text, int *target, sal_error *err) {
    if (strcmp(text, "top") == 0) {
        *target = -1;
        return SAL_OK;
    }
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 0 || v > 1000000)
        return sal_fail(err, SAL_ERR_ARGUMENT, "--target needs 'top' or a class index, not '%s'", text);
    *target = (int)v;
    return SAL_OK;
}

static int write_outputs(const cli_options *opt, const float *mask, int h, int w, sal_error *err) {
    int shape[3] = {h, w, 3};
    int status = sal_npy_write(opt->npy, mask, shape, 3, err);
    if (status != SAL_OK || !opt->png) return status;
    float *gray = malloc((size_t)h * w * sizeof *gray);
    if (!gray) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    status = sal_visualize_grayscale(mask, h, w, 3, opt->percentile, gray, err);
    if (status == SAL_OK) status = sal_png_write_float(opt->png, gray, w, h, 1, err);
    free(gray);
    return status;
}

static int explain(const cli_options *opt, sal_error *err) {
    if (strcmp(opt->method, "vanilla") != 0)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown method '%s' (available: vanilla)", opt->method);
    if (!opt->npy) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --npy OUT.npy");
    int target;
    int status = parse_target(opt->target, &target, err);
    if (status != SAL_OK) return status;
    cli_pipeline p;
    float *mask = NULL;
    status = cli_pipeline_open(&p, opt, err);
    if (status == SAL_OK) {
        size_t pixels = (size_t)p.height * p.width;
        mask = malloc(pixels * 3 * sizeof *mask);
        if (!mask) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        if (status == SAL_OK)
            status = sal_vanilla_gradients(p.ctx, p.input, 1, p.height, p.width, &target, NULL, mask, err);
        if (status == SAL_OK) {
            sal_preprocess_gradient_to_rgb(&p.preprocess, mask, (int)pixels);
            status = write_outputs(opt, mask, p.height, p.width, err);
        }
    }
    free(mask);
    cli_pipeline_close(&p);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("saliency: missing command: classify or explain (see saliency --help)\n", stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    cli_options opt;
    sal_error err = {0};
    char why[256];
    if (cli_parse_options(argc, argv, 2, &opt, why, sizeof why) != 0) {
        fprintf(stderr, "saliency: %s\n", why);
        return 1;
    }
    int status;
    if (strcmp(argv[1], "classify") == 0) status = classify(&opt, &err);
    else if (strcmp(argv[1], "explain") == 0) status = explain(&opt, &err);
    else status = sal_fail(&err, SAL_ERR_ARGUMENT, "unknown command '%s' (classify or explain)", argv[1]);
    if (status == SAL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        status = sal_fail(&err, SAL_ERR_IO, "could not write to standard output");
    if (status != SAL_OK) {
        fprintf(stderr, "saliency: %s\n", err.message[0] ? err.message : "failed");
        return 1;
    }
    return 0;
}
