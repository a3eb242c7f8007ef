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
    float *input; /* height x width x 3, preprocessed */
} cli_pipeline;

int cli_pipeline_open(cli_pipeline *p, const cli_options *opt, sal_error *err);
void cli_pipeline_close(cli_pipeline *p);

#endif
