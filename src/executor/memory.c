/* memory.c - how much working memory a backward pass needs, so that methods
 * can size their batches to a memory budget. */
#include <stdint.h>
#include <string.h>

#include "../bytes/error.h"
#include "executor.h"

static size_t plan_bytes(const sal_plan *plan) {
    size_t floats = plan->arena_floats + plan->scratch_floats + plan->tmp_floats; /* each fit when allocated */
    return floats > SIZE_MAX / sizeof(float) ? SIZE_MAX : floats * sizeof(float);
}

/* The bytes of one backward plan for batch x height x width: the context's
 * own when it has that plan, else those of a probe plan, allocated for a
 * moment (plan.c offers no layout without allocation yet). */
static int backward_plan_bytes(const sal_context *ctx, int batch, int height, int width, size_t *bytes,
                               sal_error *err) {
    const sal_plan *current = &ctx->plans[0][SAL_PLAN_BACKWARD];
    if (current->ready && current->batch == batch && current->height == height && current->width == width) {
        *bytes = plan_bytes(current);
        return SAL_OK;
    }
    sal_plan probe;
    memset(&probe, 0, sizeof probe);
    int status = sal_plan_prepare(ctx, &probe, SAL_PLAN_BACKWARD, batch, height, width, err);
    if (status == SAL_OK) *bytes = plan_bytes(&probe);
    sal_plan_release(&probe);
    return status;
}

/* A batch takes one plan of one image per busy worker (executor.h). */
int sal_backward_memory(sal_context *ctx, int batch, int height, int width, size_t *bytes, sal_error *err) {
    if (!ctx || !bytes) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_backward_memory: missing argument");
    if (batch < 1 || height < 1 || width < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_backward_memory: invalid input size %d x %d x %d", batch, height,
                        width);
    size_t one_plan = 0;
    int status = backward_plan_bytes(ctx, 1, height, width, &one_plan, err);
    if (status != SAL_OK) return status;
    size_t plans = (size_t)(batch < ctx->workers ? batch : ctx->workers);
    *bytes = one_plan > SIZE_MAX / plans ? SIZE_MAX : one_plan * plans;
    sal_ok(err);
    return SAL_OK;
}
