/* Vanilla gradients - Simonyan, Vedaldi & Zisserman 2013, "Deep Inside
 * Convolutional Networks".
 *
 *     M_c(x) = dS_c / dx
 *
 * S_c is the pre-softmax score of class c, x the preprocessed input. */
#include "../saliency.h"

int sal_vanilla_gradients(sal_context *ctx, const float *input, int batch, int height, int width,
                          const int *targets, int *chosen_targets, float *mask, sal_error *err) {
    sal_backward_request dS_dx = {
        .targets = targets,
        .chosen_targets = chosen_targets,
        .relu_rule = SAL_RELU_STANDARD,
        .input_gradient = mask,
    };
    return sal_backward(ctx, input, batch, height, width, &dS_dx, err);
}
