/* pipeline.h - what both CLI commands do first: load the model, read the photo
 * and turn it into the model's input. */
#ifndef SAL_CLI_PIPELINE_H
#define SAL_CLI_PIPELINE_H

#include "../saliency.h"
#include "options.h"

typedef struct {
    sal_model *model;
    sal_context *ctx;
    sal_preprocess preprocess;
    int height, width;
    sal_image photo;  /* the photo as decoded, RGB in [0, 255] */
    sal_image pixels; /* the photo resized and cropped to height x width */
    float *input;     /* height x width x 3, preprocessed */
} cli_pipeline;

int cli_pipeline_open(cli_pipeline *p, const cli_options *opt, sal_error *err);
/* Loads a photo resized and centre-cropped to the model's input, as --image. */
int cli_load_photo(const cli_pipeline *p, const char *path, sal_image *out, sal_error *err);
void cli_pipeline_close(cli_pipeline *p);

#endif
