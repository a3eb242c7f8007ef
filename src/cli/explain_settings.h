/* explain_settings.h - the explain command's flags checked and turned into
 * sal_explain_options and the picture's settings. */
#ifndef SAL_CLI_EXPLAIN_SETTINGS_H
#define SAL_CLI_EXPLAIN_SETTINGS_H

#include "../saliency.h"
#include "options.h"

typedef struct {
    sal_explain_options explain; /* the library's defaults, changed by the flags */
    const char *baseline_photo;  /* --baseline PATH (explain.baseline is then SAL_BASELINE_IMAGE) */
    const char *npy, *png;
    int colormap;                /* a sal_colormap, or -1 when --colormap is not given */
    int overlay;
    float alpha;
    float percentile;
    float xrai_top;              /* --xrai-top PERCENT, or -1 when not given */
    int original_size;
    int progress;
} cli_explain_settings;

/* Every explain flag is checked here, before the model loads; errors name the flag. */
int cli_explain_settings_parse(const cli_options *opt, cli_explain_settings *s, sal_error *err);

#endif
