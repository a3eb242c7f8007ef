/* options.h - the CLI's flags: --name value pairs after the command. */
#ifndef SAL_CLI_OPTIONS_H
#define SAL_CLI_OPTIONS_H

typedef struct {
    const char *model;
    const char *image;
    const char *preprocess;
    const char *labels;
    const char *method;
    const char *target;
    const char *npy;
    const char *png;
    const char *mean;          /* "a,b,c": custom preprocessing on top of the preset */
    const char *std;
    const char *scale;
    const char *channel_order; /* "rgb" or "bgr" */
    int top;
    int threads;
    float percentile;
} cli_options;

/* Parses argv[first..argc); on error writes one line into `why` and returns -1. */
int cli_parse_options(int argc, char **argv, int first, cli_options *opt, char *why, int why_size);

#endif
