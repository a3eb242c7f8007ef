/* smoothgrad.c - SmoothGrad (Smilkov, Thorat, Kim, Viegas & Wattenberg 2017,
 * "SmoothGrad: removing noise by adding noise") over any method M:
 *
 *     SmoothGrad(x)   = 1/n sum_k M(x + e_k)            e_k ~ N(0, sigma^2)
 *     SmoothGrad^2(x) = 1/n sum_k M(x + e_k)^2
 *     VarGrad(x)      = 1/n sum_k (M(x + e_k) - SmoothGrad(x))^2
 *
 * with sigma = noise level * (max(x) - min(x)).  The samples go to the method
 * in batches; mean and variance are accumulated in double (Welford). */
#include <math.h>
#include <stdlib.h>

#include "../bytes/error.h"
#include "methods.h"

#define WELFORD_BLOCK 256 /* mask values whose moments stay in L1 cache over a batch */

typedef struct {
    const float *given; /* samples x size, already scaled; NULL: draw from seed */
    uint64_t seed;
    float sigma;
} noise_source;

/* Each sample draws from its own stream, so a sample's noise does not depend
 * on the batch it lands in. */
static uint64_t sample_seed(uint64_t seed, int sample) {
    return seed ^ ((uint64_t)sample + 1) * 0xD1B54A32D192ED03ull;
}

static void noisy_input(const noise_source *noise, const float *x, int sample, size_t size, float *out) {
    if (noise->given) {
        const float *e = noise->given + (size_t)sample * size;
        for (size_t i = 0; i < size; i++) out[i] = x[i] + e[i];
        return;
    }
    sal_random_normal(sample_seed(noise->seed, sample), out, size);
    for (size_t i = 0; i < size; i++) out[i] = x[i] + noise->sigma * out[i];
}

typedef struct {
    double *mean, *m2; /* per mask value: running mean and sum of squared deviations */
    int count;
} moments;

/* Welford's update, sample after sample, on the values [first, first + n)
 * of a batch of masks: the very operations of adding one sample at a time,
 * but each running mean and M2 is loaded once per batch, not once per sample. */
static void add_block(moments *m, const float *masks, int batch, size_t mask_size, size_t first, size_t n) {
    double *mean = m->mean + first, *m2 = m->m2 + first;
    for (int j = 0; j < batch; j++) {
        const float *values = masks + (size_t)j * mask_size + first;
        double share = 1.0 / (m->count + j + 1);
        for (size_t i = 0; i < n; i++) {
            double delta = values[i] - mean[i];
            mean[i] += delta * share;
            m2[i] += delta * (values[i] - mean[i]);
        }
    }
}

static void add_samples(moments *m, const float *masks, int batch, size_t mask_size) {
    for (size_t first = 0; first < mask_size; first += WELFORD_BLOCK)
        add_block(m, masks, batch, mask_size, first,
                  mask_size - first < WELFORD_BLOCK ? mask_size - first : WELFORD_BLOCK);
    m->count += batch;
}

static void aggregate_into(const moments *m, sal_aggregate aggregate, size_t n, float *mask) {
    for (size_t i = 0; i < n; i++) {
        double variance = m->m2[i] / m->count;
        double value = aggregate == SAL_AGGREGATE_MEAN      ? m->mean[i]
                       : aggregate == SAL_AGGREGATE_SQUARED ? variance + m->mean[i] * m->mean[i]
                                                            : variance;
        mask[i] = (float)value;
    }
}

static int check_arguments(const sal_smooth_base *base, const float *x, int samples, sal_aggregate aggregate,
                           const float *mask, sal_error *err) {
    if (!base || !base->explain || !x || !mask) return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad: missing argument");
    if (base->max_batch < 1 || base->size < 1 || base->mask_size < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad: empty input, mask or batch");
    if (samples < 1) return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad needs at least 1 sample (got %d)", samples);
    if ((unsigned)aggregate > SAL_AGGREGATE_VARGRAD)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown SmoothGrad aggregate %d", (int)aggregate);
    return SAL_OK;
}

static int run_samples(const sal_smooth_base *base, const float *x, int samples, const noise_source *noise,
                       const sal_progress *progress, moments *m, float *inputs, float *masks, sal_error *err) {
    for (int done = 0; done < samples;) {
        int n = samples - done < base->max_batch ? samples - done : base->max_batch;
        for (int j = 0; j < n; j++) noisy_input(noise, x, done + j, base->size, inputs + (size_t)j * base->size);
        int status = base->explain(base->user, inputs, n, masks, err);
        if (status != SAL_OK) return status;
        add_samples(m, masks, n, base->mask_size);
        done += n;
        status = sal_progress_step(progress, done, samples, err);
        if (status != SAL_OK) return status;
    }
    return SAL_OK;
}

static int smooth(const sal_smooth_base *base, const float *x, int samples, const noise_source *noise,
                  sal_aggregate aggregate, const sal_progress *progress, float *mask, sal_error *err) {
    size_t batch = (size_t)base->max_batch;
    float *inputs = malloc(batch * base->size * sizeof *inputs);
    float *masks = malloc(batch * base->mask_size * sizeof *masks);
    moments m = {calloc(base->mask_size, sizeof *m.mean), calloc(base->mask_size, sizeof *m.m2), 0};
    int status = (inputs && masks && m.mean && m.m2)
                     ? run_samples(base, x, samples, noise, progress, &m, inputs, masks, err)
                     : sal_fail(err, SAL_ERR_MEMORY, "out of memory for SmoothGrad");
    if (status == SAL_OK) {
        aggregate_into(&m, aggregate, base->mask_size, mask);
        sal_ok(err);
    }
    free(inputs);
    free(masks);
    free(m.mean);
    free(m.m2);
    return status;
}

int sal_smoothgrad_with_noise(const sal_smooth_base *base, const float *x, int samples, const float *noise,
                              sal_aggregate aggregate, const sal_progress *progress, float *mask, sal_error *err) {
    int status = check_arguments(base, x, samples, aggregate, mask, err);
    if (status != SAL_OK) return status;
    if (!noise) return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad: no noise given");
    noise_source source = {.given = noise};
    return smooth(base, x, samples, &source, aggregate, progress, mask, err);
}

int sal_smoothgrad(const sal_smooth_base *base, const float *x, int samples, float noise_level, uint64_t seed,
                   sal_aggregate aggregate, const sal_progress *progress, float *mask, sal_error *err) {
    int status = check_arguments(base, x, samples, aggregate, mask, err);
    if (status != SAL_OK) return status;
    if (!(noise_level >= 0) || !isfinite(noise_level))
        return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad noise level must be a finite number >= 0 (got %g)",
                        (double)noise_level);
    float lo = x[0], hi = x[0];
    for (size_t i = 1; i < base->size; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    noise_source source = {.seed = seed, .sigma = noise_level * (hi - lo)};
    if (!isfinite(source.sigma))
        return sal_fail(err, SAL_ERR_ARGUMENT, "SmoothGrad: sigma = noise level %g x input range %g overflows",
                        (double)noise_level, (double)hi - lo);
    return smooth(base, x, samples, &source, aggregate, progress, mask, err);
}
