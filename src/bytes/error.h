/* error.h - filling a sal_error.  Every failing function returns the status it
 * wrote, so `return sal_fail(err, SAL_ERR_FORMAT, "...", ...)` is the idiom.
 * err may be NULL (the message is then dropped). */
#ifndef SAL_BYTES_ERROR_H
#define SAL_BYTES_ERROR_H

#include "../saliency.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int sal_fail(sal_error *err, sal_status status, const char *fmt, ...);
void sal_ok(sal_error *err);

#endif
