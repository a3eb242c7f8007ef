/* check.h - the few assertions the C tests share. Each test file is one
 * program; it prints every failure and ends with "N passed, N failed". */
#ifndef SAL_TEST_CHECK_H
#define SAL_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* Largest |a-b| / (atol + rtol*|b|) over n values; <= 1 means close. */
static inline double check_close_ratio(const float *a, const float *b, size_t n, double atol, double rtol) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d)) return NAN; /* fails the check */
        double r = d == 0 ? 0 : d / (atol + rtol * fabs((double)b[i]));
        if (r > worst) worst = r;
    }
    return worst;
}

#define CHECK_CLOSE(a, b, n, atol, rtol, what)                               \
    do {                                                                     \
        double r_ = check_close_ratio((a), (b), (n), (atol), (rtol));        \
        CHECK(r_ <= 1.0, "%s: worst error ratio %g (atol %g rtol %g)", (what), r_, \
              (double)(atol), (double)(rtol));                               \
    } while (0)

static inline int check_report(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
