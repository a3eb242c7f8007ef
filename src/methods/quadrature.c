/* quadrature.c - nodes a_k and weights w_k on [0, 1] with
 * integral_0^1 g(a) da ~ sum_k w_k g(a_k), for `steps` evaluations of g.
 *
 *   riemann_left    a_k = k / n            w_k = 1 / n     (k = 0 .. n-1)
 *   riemann_right   a_k = (k + 1) / n      w_k = 1 / n
 *   riemann_middle  a_k = (k + 1/2) / n    w_k = 1 / n
 *   trapezoid       a_k = k / (n - 1)      w_k = 1 / (n - 1), halved at both ends (n >= 2)
 *   gauss_legendre  a_k = (1 - t_k) / 2    w_k = 1 / ((1 - t_k^2) P_n'(t_k)^2)
 *                   t_k the roots of the Legendre polynomial P_n, by Newton's method;
 *                   exact for polynomials of degree up to 2n - 1.
 */
#include <math.h>

#include "../bytes/error.h"
#include "methods.h"

static void riemann(int n, double offset, double *alphas, double *weights) {
    for (int k = 0; k < n; k++) {
        alphas[k] = (k + offset) / n;
        weights[k] = 1.0 / n;
    }
}

static void trapezoid(int n, double *alphas, double *weights) {
    for (int k = 0; k < n; k++) {
        alphas[k] = (double)k / (n - 1);
        weights[k] = (k == 0 || k == n - 1) ? 0.5 / (n - 1) : 1.0 / (n - 1);
    }
    alphas[n - 1] = 1.0;
}

/* P_n(t) by the three-term recurrence; *derivative gets P_n'(t) (|t| < 1). */
static double legendre(int n, double t, double *derivative) {
    double previous = 1.0, current = t;
    for (int k = 2; k <= n; k++) {
        double next = ((2.0 * k - 1.0) * t * current - (k - 1.0) * previous) / k;
        previous = current;
        current = next;
    }
    *derivative = n * (t * current - previous) / (t * t - 1.0);
    return current;
}

static void gauss_legendre(int n, double *alphas, double *weights) {
    const double pi = 3.14159265358979323846;
    for (int k = 0; k < (n + 1) / 2; k++) {
        double t = cos(pi * (k + 0.75) / (n + 0.5)), derivative = 1.0; /* near the k-th largest root */
        for (int iteration = 0; iteration < 100; iteration++) {
            double step = legendre(n, t, &derivative) / derivative;
            t -= step;
            if (fabs(step) < 1e-16) break;
        }
        legendre(n, t, &derivative);
        double weight = 1.0 / ((1.0 - t * t) * derivative * derivative); /* 2 / (...) on [-1, 1], halved */
        alphas[k] = 0.5 * (1.0 - t);
        alphas[n - 1 - k] = 0.5 * (1.0 + t);
        weights[k] = weights[n - 1 - k] = weight;
    }
    if (n % 2) alphas[n / 2] = 0.5; /* the middle root is exactly 0 */
}

int sal_quadrature_rule(sal_quadrature q, int steps, double *alphas, double *weights, sal_error *err) {
    if (!alphas || !weights) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_quadrature_rule: missing argument");
    if (steps < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "steps must be at least 1 (got %d)", steps);
    switch (q) {
    case SAL_QUADRATURE_RIEMANN_LEFT: riemann(steps, 0.0, alphas, weights); break;
    case SAL_QUADRATURE_RIEMANN_RIGHT: riemann(steps, 1.0, alphas, weights); break;
    case SAL_QUADRATURE_RIEMANN_MIDDLE: riemann(steps, 0.5, alphas, weights); break;
    case SAL_QUADRATURE_RIEMANN_TRAPEZOID:
        if (steps < 2)
            return sal_fail(err, SAL_ERR_ARGUMENT, "steps must be at least 2 for the trapezoid rule (got %d)", steps);
        trapezoid(steps, alphas, weights);
        break;
    case SAL_QUADRATURE_GAUSS_LEGENDRE: gauss_legendre(steps, alphas, weights); break;
    default: return sal_fail(err, SAL_ERR_ARGUMENT, "unknown quadrature %d", (int)q);
    }
    sal_ok(err);
    return SAL_OK;
}
