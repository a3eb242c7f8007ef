/* test_random.h - the C tests' random inputs: xorshift64, floats in [-1, 1),
 * the same sequence on every run for a given seed. */
#ifndef SAL_TEST_RANDOM_H
#define SAL_TEST_RANDOM_H

#include <stdint.h>
#include <stdlib.h>

typedef struct { uint64_t state; } test_rng;

static inline float test_uniform(test_rng *rng) {
    rng->state ^= rng->state << 13;
    rng->state ^= rng->state >> 7;
    rng->state ^= rng->state << 17;
    return (float)((rng->state >> 40) * (2.0 / (1ull << 24)) - 1.0);
}

/* n floats in [-1, 1) (never a NULL for n = 0; NULL only when out of memory). */
static inline float *test_random_floats(test_rng *rng, size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p)
        for (size_t i = 0; i < n; i++) p[i] = test_uniform(rng);
    return p;
}

#endif
