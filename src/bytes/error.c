#include "error.h"

#include <stdarg.h>
#include <stdio.h>

int sal_fail(sal_error *err, sal_status status, const char *fmt, ...) {
    if (err) {
        err->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return (int)status;
}

void sal_ok(sal_error *err) {
    if (err) {
        err->status = SAL_OK;
        err->message[0] = '\0';
    }
}
