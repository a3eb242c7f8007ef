#include "pipeline.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"

int cli_load_photo(const cli_pipeline *p, const char *path, sal_image *out, sal_error *err) {
    sal_image photo = {0};
    int status = sal_image_load(path, &photo, err);
    if (status == SAL_OK) status = sal_image_resize_crop(&photo, p->width, p->height, out, err);
    sal_image_free(&photo);
    return status;
}

static int prepare_input(cli_pipeline *p, const char *path, sal_error *err) {
    int status = sal_image_load(path, &p->photo, err);
    if (status == SAL_OK) status = sal_image_resize_crop(&p->photo, p->width, p->height, &p->pixels, err);
    if (status != SAL_OK) return status;
    size_t pixels = (size_t)p->width * p->height;
    p->input = malloc(pixels * 3 * sizeof *p->input);
    if (!p->input) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    sal_preprocess_apply(&p->preprocess, p->pixels.data, (int)pixels, p->input);
    return SAL_OK;
}

/* Reads "a,b,c" (or one number for all three channels). */
static int parse_triple(const char *flag, const char *text, int positive, float out[3], sal_error *err) {
    const char *p = text;
    for (int c = 0; c < 3; c++) {
        char *end;
        out[c] = strtof(p, &end);
        int bad = end == p || !isfinite(out[c]) || (positive && !(out[c] > 0));
        if (!bad && c == 0 && *end == '\0') {
            out[1] = out[2] = out[0];
            return SAL_OK;
        }
        if (bad || *end != (c < 2 ? ',' : '\0'))
            return sal_fail(err, SAL_ERR_ARGUMENT, "%s needs three %snumbers like 1,2,3 (or one), not '%s'", flag,
                            positive ? "positive " : "", text);
        p = end + 1;
    }
    return SAL_OK;
}

static int parse_scale(const char *text, float *out, sal_error *err) {
    char *end;
    float v = strtof(text, &end);
    if (end == text || *end || !isfinite(v) || !(v > 0))
        return sal_fail(err, SAL_ERR_ARGUMENT, "--scale needs one positive number, not '%s'", text);
    *out = v;
    return SAL_OK;
}

/* The preset, then --mean, --std, --scale and --channel-order on top of it. */
static int choose_preprocess(sal_preprocess *p, const cli_options *opt, sal_error *err) {
    int status = sal_preprocess_preset(opt->preprocess, p, err);
    if (status == SAL_OK && opt->mean) status = parse_triple("--mean", opt->mean, 0, p->mean, err);
    if (status == SAL_OK && opt->std) status = parse_triple("--std", opt->std, 1, p->std, err);
    if (status == SAL_OK && opt->scale) status = parse_scale(opt->scale, &p->scale, err);
    if (status == SAL_OK && opt->channel_order) {
        if (strcmp(opt->channel_order, "rgb") != 0 && strcmp(opt->channel_order, "bgr") != 0)
            return sal_fail(err, SAL_ERR_ARGUMENT, "--channel-order is rgb or bgr, not '%s'", opt->channel_order);
        p->bgr = strcmp(opt->channel_order, "bgr") == 0;
    }
    return status;
}

int cli_pipeline_open(cli_pipeline *p, const cli_options *opt, sal_error *err) {
    memset(p, 0, sizeof *p);
    if (!opt->model) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --model PATH/model.json");
    if (!opt->image) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --image PHOTO");
    int status = choose_preprocess(&p->preprocess, opt, err);
    if (status != SAL_OK) return status;
    p->model = sal_model_load_tfjs(opt->model, err);
    if (!p->model) return err->status;
    int channels;
    sal_model_input_size(p->model, &p->height, &p->width, &channels);
    if (channels != 3)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model takes %d input channels; photos have 3", channels);
    if (p->height <= 0 || p->width <= 0)
        return sal_fail(err, SAL_ERR_UNSUPPORTED, "the model does not declare its input size");
    p->ctx = sal_context_create(p->model, opt->threads, err);
    if (!p->ctx) return err->status;
    return prepare_input(p, opt->image, err);
}

void cli_pipeline_close(cli_pipeline *p) {
    sal_context_free(p->ctx);
    sal_model_free(p->model);
    sal_image_free(&p->photo);
    sal_image_free(&p->pixels);
    free(p->input);
    memset(p, 0, sizeof *p);
}
