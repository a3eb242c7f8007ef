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

int sal_backward_memory(sal_context *ctx, int batch, int height, int width, size_t *bytes, sal_error *err) {
    if (!ctx || !bytes) return sal_fail(err, SAL_ERR_ARGUMENT, "sal_backward_memory: missing argument");
    if (batch < 1 || height < 1 || width < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "sal_backward_memory: invalid input size %d x %d x %d", batch, height,
                        width);
    const sal_plan *current = &ctx->plans[SAL_PLAN_BACKWARD];
    if (current->ready && current->batch == batch && current->height == height && current->width == width) {
        *bytes = plan_bytes(current);
        sal_ok(err);
        return SAL_OK;
    }
    /* Plans on a shallow copy of the context, so that ctx keeps the plan it
     * holds.  The probe allocates its buffers for a moment: plan.c offers no
     * layout without allocation yet. */
    sal_context probe = *ctx;
    memset(probe.plans, 0, sizeof probe.plans);
    int status = sal_plan_prepare(&probe, SAL_PLAN_BACKWARD, batch, height, width, err);
    if (status != SAL_OK) return status;
    *bytes = plan_bytes(&probe.plans[SAL_PLAN_BACKWARD]);
    sal_plan_release(&probe.plans[SAL_PLAN_BACKWARD]);
    sal_ok(err);
    return SAL_OK;
}
