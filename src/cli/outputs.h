/* outputs.h - what explain writes: the mask as .npy, a picture as .png, and
 * a JSON summary on stdout. */
#ifndef SAL_CLI_OUTPUTS_H
#define SAL_CLI_OUTPUTS_H

#include "../saliency.h"
#include "explain_settings.h"
#include "pipeline.h"

/* The mask as sal_explain returns it: (H, W, 3) RGB, or (H, W) for one channel. */
int cli_write_npy(const char *path, const sal_explanation *e, sal_error *err);
/* The picture of the mask (see saliency --help): at the model's input size,
 * or with --original-size at the photo's; p gives the photo for --overlay. */
int cli_write_png(const char *path, const sal_explanation *e, const cli_explain_settings *s, const cli_pipeline *p,
                  sal_error *err);
/* One JSON object: method, target, label, score, and completeness when the method has it. */
void cli_print_summary(const sal_explanation *e, sal_method method, const sal_labels *labels);

#endif
