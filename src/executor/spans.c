/* spans.c - see spans.h. */
#include "spans.h"

#include <string.h>

#define SPAN 16384 /* floats: 64 KB, a multiple of every vector width */

typedef enum { SPAN_ACT_FORWARD, SPAN_ACT_BACKWARD, SPAN_ADD, SPAN_ACCUMULATE, SPAN_COPY } span_kind;

typedef struct {
    span_kind kind;
    sal_kernel_activation act;
    sal_kernel_relu_rule rule;
    const float *a, *b, *c; /* inputs, by kind: x, y, dy / a, b / x / src */
    float *out;
    size_t count;
    int channels;
} span_job;

#define AT(p) ((p) ? (p) + first : NULL)

static void run_span(void *ctx, int index) {
    const span_job *job = ctx;
    size_t first = (size_t)index * SPAN, n = job->count - first < SPAN ? job->count - first : SPAN;
    switch (job->kind) {
    case SPAN_ACT_FORWARD: sal_activation_forward(job->act, job->a + first, job->out + first, n, job->channels); break;
    case SPAN_ACT_BACKWARD:
        sal_activation_backward(job->act, job->rule, AT(job->a), AT(job->b), job->c + first, job->out + first, n,
                                job->channels);
        break;
    case SPAN_ADD:
        sal_add(job->a + first, job->b + first, job->out + first, n);
        if (job->act != SAL_K_LINEAR) sal_activation_forward(job->act, job->out + first, job->out + first, n, (int)n);
        break;
    case SPAN_ACCUMULATE: sal_accumulate(job->out + first, job->a + first, n); break;
    case SPAN_COPY: memcpy(job->out + first, job->a + first, n * sizeof(float)); break;
    }
}

#undef AT

static void run_spans(sal_threadpool *pool, const span_job *job) {
    size_t spans = (job->count + SPAN - 1) / SPAN;
    sal_parallel_for(pool, (int)spans, run_span, (void *)job);
}

void sal_spans_activation_forward(sal_threadpool *pool, sal_kernel_activation act, const float *x, float *y,
                                  size_t count, int channels) {
    if (act == SAL_K_SOFTMAX) {
        sal_activation_forward(act, x, y, count, channels);
        return;
    }
    span_job job = {.kind = SPAN_ACT_FORWARD, .act = act, .a = x, .out = y, .count = count, .channels = channels};
    run_spans(pool, &job);
}

void sal_spans_activation_backward(sal_threadpool *pool, sal_kernel_activation act, sal_kernel_relu_rule rule,
                                   const float *x, const float *y, const float *dy, float *dx, size_t count,
                                   int channels) {
    if (act == SAL_K_SOFTMAX) {
        sal_activation_backward(act, rule, x, y, dy, dx, count, channels);
        return;
    }
    span_job job = {.kind = SPAN_ACT_BACKWARD, .act = act, .rule = rule, .a = x, .b = y, .c = dy, .out = dx,
                    .count = count, .channels = channels};
    run_spans(pool, &job);
}

void sal_spans_add(sal_threadpool *pool, const float *a, const float *b, float *y, size_t count,
                   sal_kernel_activation then) {
    span_job job = {.kind = SPAN_ADD, .act = then, .a = a, .b = b, .out = y, .count = count};
    run_spans(pool, &job);
}

void sal_spans_accumulate(sal_threadpool *pool, float *y, const float *x, size_t count) {
    span_job job = {.kind = SPAN_ACCUMULATE, .a = x, .out = y, .count = count};
    run_spans(pool, &job);
}

void sal_spans_copy(sal_threadpool *pool, float *dst, const float *src, size_t count) {
    span_job job = {.kind = SPAN_COPY, .a = src, .out = dst, .count = count};
    run_spans(pool, &job);
}
