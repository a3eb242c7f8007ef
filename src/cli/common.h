/* common.h - what both CLI commands print: JSON strings and class names. */
#ifndef SAL_CLI_COMMON_H
#define SAL_CLI_COMMON_H

#include "../saliency.h"
#include "options.h"

/* Prints s as a JSON string literal on stdout. */
void cli_print_json_string(const char *s);
/* --labels, else labels.json beside the model when there is one (else none). */
int cli_load_labels(const cli_options *opt, sal_labels *labels, sal_error *err);
/* Prints the class's name as a JSON string, or null. */
void cli_print_label(const sal_labels *labels, int index);

#endif
