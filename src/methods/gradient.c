/* gradient.c - the three backpropagation saliency maps, one function.
 *
 * Each is M(x) = dF/dx computed by the chain rule, and they differ only in
 * how a ReLU y = max(x, 0) passes the gradient dy back (fn's ReLU rule):
 *
 *   Vanilla gradients (Simonyan, Vedaldi & Zisserman 2013):
 *       dx = dy * [x > 0]
 *   Guided Backpropagation (Springenberg, Dosovitskiy, Brox & Riedmiller 2015):
 *       dx = dy * [x > 0] * [dy > 0]
 *   Deconvnet (Zeiler & Fergus 2014):
 *       dx = dy * [dy > 0]
 *
 * F is the pre-softmax score of the explained class. */
#include "../bytes/error.h"
#include "methods.h"

int sal_gradient(const sal_fn *fn, const float *x, int batch, float *mask, sal_error *err) {
    if (!fn || !x || !mask) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_gradient: missing argument");
    if (batch < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_gradient: batch of %d inputs", batch);
    size_t size = sal_fn_size(fn);
    for (int first = 0; first < batch; first += fn->max_batch) {
        int n = batch - first < fn->max_batch ? batch - first : fn->max_batch;
        int status = fn->eval(fn, x + (size_t)first * size, n, NULL, mask + (size_t)first * size, err);
        if (status != SAL_OK) return status;
    }
    sal_ok(err);
    return SAL_OK;
}
