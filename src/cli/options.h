/* options.h - the CLI's flags: "--name value" pairs and a few switches
 * ("--name" alone) after the command.  Values stay text here; the command
 * that uses a flag checks it and names the flag when it is wrong. */
#ifndef SAL_CLI_OPTIONS_H
#define SAL_CLI_OPTIONS_H

typedef struct {
    /* both commands */
    const char *model;
    const char *image;
    const char *preprocess;
    const char *labels;
    const char *mean;          /* "a,b,c": custom preprocessing on top of the preset */
    const char *std;
    const char *scale;
    const char *channel_order; /* "rgb" or "bgr" */
    int threads;
    /* classify */
    int top;
    /* explain: what to explain and how (NULL: the library's default) */
    const char *target;
    const char *method;
    const char *smooth, *noise, *aggregate, *seed;
    const char *steps, *baseline, *quadrature;
    const char *layer;
    const char *window, *stride, *baseline_value;
    const char *memory_budget;
    /* explain: outputs */
    const char *npy;
    const char *png;
    const char *colormap;
    const char *alpha;
    const char *xrai_top;      /* PERCENT of the picture's area: XRAI's top regions */
    float percentile;
    int overlay;               /* switches */
    int original_size;
    int progress;
} cli_options;

/* Parses argv[first..argc); on error writes one line into `why` and returns -1. */
int cli_parse_options(int argc, char **argv, int first, cli_options *opt, char *why, int why_size);

#endif
