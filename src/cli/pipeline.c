#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "../bytes/error.h"

static int prepare_input(cli_pipeline *p, const char *path, sal_error *err) {
    sal_image photo = {0}, crop = {0};
    int status = sal_image_load(path, &photo, err);
    if (status == SAL_OK) status = sal_image_resize_crop(&photo, p->width, p->height, &crop, err);
    if (status == SAL_OK) {
        size_t pixels = (size_t)p->width * p->height;
        p->input = malloc(pixels * 3 * sizeof *p->input);
        if (!p->input) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
        else sal_preprocess_apply(&p->preprocess, crop.data, (int)pixels, p->input);
    }
    sal_image_free(&photo);
    sal_image_free(&crop);
    return status;
}

int cli_pipeline_open(cli_pipeline *p, const cli_options *opt, sal_error *err) {
    memset(p, 0, sizeof *p);
    if (!opt->model) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --model PATH/model.json");
    if (!opt->image) return sal_fail(err, SAL_ERR_ARGUMENT, "missing --image PHOTO");
    int status = sal_preprocess_preset(opt->preprocess, &p->preprocess, err);
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
    free(p->input);
    memset(p, 0, sizeof *p);
}
