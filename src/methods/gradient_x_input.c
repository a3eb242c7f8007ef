/* gradient_x_input.c - Gradient * Input (Shrikumar, Greenside, Shcherbina &
 * Kundaje 2016, "Not Just a Black Box"):
 *
 *     M(x) = x (.) dF/dx
 *
 * elementwise; for a ReLU network it is the first-order Taylor term of F
 * around 0 (and equals Integrated Gradients from a zero baseline when F is
 * linear along the path). */
#include "methods.h"

int sal_gradient_x_input(const sal_fn *fn, const float *x, int batch, float *mask, sal_error *err) {
    int status = sal_gradient(fn, x, batch, mask, err);
    if (status != SAL_OK) return status;
    size_t count = (size_t)batch * sal_fn_size(fn);
    for (size_t i = 0; i < count; i++) mask[i] *= x[i];
    return SAL_OK;
}
