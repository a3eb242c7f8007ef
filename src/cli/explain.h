/* explain.h - the explain command: one saliency method on one photo. */
#ifndef SAL_CLI_EXPLAIN_H
#define SAL_CLI_EXPLAIN_H

#include "../saliency.h"
#include "options.h"

int cli_explain(const cli_options *opt, sal_error *err);

#endif
