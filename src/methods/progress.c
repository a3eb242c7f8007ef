/* progress.c - reporting how far a long call got, and letting the caller stop it. */
#include "../bytes/error.h"
#include "methods.h"

int sal_progress_step(const sal_progress *p, double done, double total, sal_error *err) {
    if (!p || !p->report) return SAL_OK;
    double fraction = total > 0 ? done / total : 1.0;
    if (!(fraction >= 0)) fraction = 0; /* also catches NaN */
    if (fraction > 1) fraction = 1;
    if (p->report(p->user, fraction) != 0) return sal_fail(err, SAL_ERR_CANCELLED, "cancelled");
    return SAL_OK;
}

static int report_in_range(void *user, double fraction) {
    const sal_progress_range *range = user;
    return range->outer.report(range->outer.user, range->start + fraction * (range->end - range->start));
}

sal_progress sal_progress_sub(const sal_progress *outer, sal_progress_range *storage, double start, double end) {
    sal_progress none = {0};
    if (!outer || !outer->report) return none;
    storage->outer = *outer;
    storage->start = start;
    storage->end = end;
    sal_progress sub = {report_in_range, storage};
    return sub;
}
