/* context_fn.c - a CNN context seen as the function the methods explain:
 * F(x) = logit of the target class, dF/dx under a chosen ReLU rule. */
#include <stdlib.h>

#include "../bytes/error.h"
#include "../executor/executor.h"
#include "methods.h"

#define DEFAULT_BUDGET ((size_t)512 << 20) /* for a memory_budget of 0 */
#define LARGEST_BATCH 32

static int eval_context(const sal_fn *fn, const float *x, int batch, float *scores, float *grads, sal_error *err) {
    const sal_context_fn *cf = fn->user;
    if (batch < 1 || batch > fn->max_batch)
        return sal_fail(err, SAL_ERR_ARGUMENT, "batch of %d inputs: this function takes 1 to %d at once", batch,
                        fn->max_batch);
    int *targets = malloc((size_t)batch * sizeof *targets);
    float *logits = malloc((size_t)batch * (size_t)cf->classes * sizeof *logits);
    int status = SAL_OK;
    if (!targets || !logits) status = sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    if (status == SAL_OK && grads) {
        for (int b = 0; b < batch; b++) targets[b] = cf->target;
        sal_backward_request request = {.targets = targets, .relu_rule = cf->rule, .input_gradient = grads,
                                        .logits = logits};
        status = sal_backward(cf->ctx, x, batch, fn->height, fn->width, &request, err);
    } else if (status == SAL_OK) {
        status = sal_forward(cf->ctx, x, batch, fn->height, fn->width, logits, NULL, err);
    }
    if (status == SAL_OK && scores)
        for (int b = 0; b < batch; b++) scores[b] = logits[(size_t)b * cf->classes + cf->target];
    free(targets);
    free(logits);
    return status;
}

/* Batches for a memory budget (0 when not even one image fits).  Run image
 * by image (executor.h), memory stops growing once every worker has an image,
 * so the batch is then a few rounds of images: between batches the methods
 * report progress and can be cancelled. */
#define ROUNDS_PER_BATCH 4

static int batch_that_fits(sal_context *ctx, int height, int width, size_t budget, size_t *fits, sal_error *err) {
    size_t one = 0, rounds = 0;
    int status = sal_backward_memory(ctx, 1, height, width, &one, err);
    int batch = ROUNDS_PER_BATCH * ctx->workers < LARGEST_BATCH ? ROUNDS_PER_BATCH * ctx->workers : LARGEST_BATCH;
    if (status == SAL_OK) status = sal_backward_memory(ctx, batch, height, width, &rounds, err);
    if (status != SAL_OK) return status;
    if (rounds && rounds <= budget) *fits = (size_t)batch;
    else *fits = one ? budget / one : LARGEST_BATCH;
    return SAL_OK;
}

int sal_fn_for_context(sal_fn *fn, sal_context_fn *storage, sal_context *ctx, int height, int width, int target,
                       sal_relu_rule rule, size_t memory_budget, sal_error *err) {
    if (!fn || !storage || !ctx) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_fn_for_context: missing argument");
    int classes = sal_model_num_classes(ctx->model);
    if (target < 0 || target >= classes)
        return sal_fail(err, SAL_ERR_ARGUMENT, "target class %d is out of range (the model has %d classes)", target,
                        classes);
    if ((unsigned)rule > SAL_RELU_DECONVNET) return sal_fail(err, SAL_ERR_ARGUMENT, "unknown ReLU rule %d", (int)rule);
    size_t budget = memory_budget ? memory_budget : DEFAULT_BUDGET;
    size_t fits = 0;
    int status = batch_that_fits(ctx, height, width, budget, &fits, err);
    if (status != SAL_OK) return status;
    int channels = 0;
    sal_model_input_size(ctx->model, NULL, NULL, &channels);
    *storage = (sal_context_fn){.ctx = ctx, .target = target, .rule = rule, .classes = classes};
    *fn = (sal_fn){.eval = eval_context, .height = height, .width = width, .channels = channels,
                   .max_batch = fits < 1 ? 1 : fits > LARGEST_BATCH ? LARGEST_BATCH : (int)fits, .user = storage};
    sal_ok(err);
    return SAL_OK;
}
