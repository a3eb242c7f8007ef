/* saliency - the command-line tool: classify a photo, or explain a class
 * with any of the library's saliency methods (see `usage` below).
 *
 * Errors: exit status 1 and one line "saliency: MESSAGE" on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"
#include "../saliency.h"
#include "common.h"
#include "explain.h"
#include "options.h"
#include "pipeline.h"

static const char usage[] =
    "usage:\n"
    "  saliency classify --model DIR/model.json --image PHOTO [--preprocess caffe|tf|torch|none]\n"
    "                    [--labels FILE] [--top 5] [--threads N]\n"
    "  saliency explain  --model DIR/model.json --image PHOTO [--preprocess caffe|tf|torch|none]\n"
    "                    [--labels FILE] [--target top|N] [--method METHOD] [method options]\n"
    "                    --npy OUT.npy and/or --png OUT.png [picture options] [--threads N]\n"
    "                    [--memory-budget MB] [--progress]\n"
    "\n"
    "The photo is resized and centre-cropped to the model's input.\n"
    "preprocessing: input = (pixel * scale - mean) / std per channel, pixels in [0, 255]; a preset\n"
    "(caffe: BGR, ImageNet mean; tf: [-1, 1]; torch: ImageNet mean/std; none) can be changed with\n"
    "  --mean A,B,C  --std A,B,C  --scale S  --channel-order rgb|bgr   (mean/std in the model's channel order)\n"
    "\n"
    "methods (--method, default vanilla):\n"
    "  vanilla, gradient-x-input, guided-backprop, deconvnet, integrated-gradients, occlusion,\n"
    "  grad-cam, guided-grad-cam, xrai, blur-ig, guided-ig\n"
    "method options (defaults are the papers'):\n"
    "  --smooth SAMPLES          SmoothGrad over the method with SAMPLES noisy copies (0: off)\n"
    "    --noise 0.15            noise sigma as a share of the input's range\n"
    "    --aggregate mean|squared|vargrad\n"
    "    --seed N                seed of every random draw (SmoothGrad, noise baseline)\n"
    "  --steps 32                path steps (integrated-gradients, xrai, blur-ig, guided-ig)\n"
    "  --baseline black|white|noise|blur|PHOTO   (a PHOTO is resized and cropped like --image)\n"
    "  --quadrature riemann_left|riemann_right|riemann_middle|riemann_trapezoid|gauss_legendre\n"
    "  --layer NAME              layer of grad-cam / guided-grad-cam (default: the last spatial one)\n"
    "  --window 16 --stride 8    occlusion patch size and step, in pixels\n"
    "  --baseline-value 0        pixel value (0-255) of the occluding patch\n"
    "  --memory-budget MB        working memory for batches of samples/steps/windows (default 512)\n"
    "  --progress                a progress bar on stderr\n"
    "outputs:\n"
    "  --npy OUT.npy             the mask, float32: (H, W, 3) in RGB order, or (H, W) for grad-cam and xrai\n"
    "                            (always at the model's input size)\n"
    "  --png OUT.png             a picture at the model's input size: grayscale of |mask| clipped at\n"
    "                            --percentile 99 (grad-cam and xrai: divided by their largest value)\n"
    "    --colormap gray|inferno|viridis|jet|diverging   colour it (diverging: signed, blue-white-red)\n"
    "    --overlay               blend it over the resized photo with --alpha 0.5\n"
    "    --original-size         draw it at the photo's size: the picture resampled (bilinear) onto the\n"
    "                            part of the photo the model saw, 0 elsewhere; --overlay uses the photo\n"
    "    --xrai-top PERCENT      (xrai) show 1 in the top regions covering PERCENT % of the area, 0 elsewhere\n"
    "  stdout: one JSON object {\"method\", \"target\", \"label\", \"score\"} and, for integrated-gradients,\n"
    "  xrai, blur-ig and guided-ig, \"score_difference\" F(x) - F(baseline), \"completeness_gap\"\n"
    "  (score_difference - sum of the mask) and \"completeness_gap_percent\" (of |score_difference|).\n";

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
        cli_print_label(labels, c);
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
    if (status == SAL_OK) status = cli_load_labels(opt, &labels, err);
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
    else if (strcmp(argv[1], "explain") == 0) status = cli_explain(&opt, &err);
    else status = sal_fail(&err, SAL_ERR_ARGUMENT, "unknown command '%s' (classify or explain)", argv[1]);
    if (status == SAL_OK && (fflush(stdout) != 0 || ferror(stdout)))
        status = sal_fail(&err, SAL_ERR_IO, "could not write to standard output");
    if (status != SAL_OK) {
        fprintf(stderr, "saliency: %s\n", err.message[0] ? err.message : "failed");
        return 1;
    }
    return 0;
}
