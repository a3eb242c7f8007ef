/* random.c - reproducible random numbers without state.
 *
 * Draw i of a seed is splitmix64 (Steele, Lea & Flood 2014) at position i of
 * its stream: mix(seed' + (i + 1) * gamma).  Any draw can be computed on its
 * own, so results do not depend on how the work is split into batches.
 * Normal draws come from Box-Muller on pairs of uniform draws. */
#include <math.h>

#include "methods.h"

#define GAMMA 0x9E3779B97F4A7C15ull

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Different seeds start far apart on the counter line. */
static uint64_t draw(uint64_t seed, uint64_t index) { return mix64(mix64(seed) + (index + 1) * GAMMA); }

/* 53 random bits as a double in [0, 1). */
static double unit_double(uint64_t bits) { return (double)(bits >> 11) * 0x1.0p-53; }

void sal_random_uniform(uint64_t seed, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(draw(seed, i) >> 40) * 0x1.0p-24f; /* 24 bits: exact, < 1 */
}

void sal_random_normal(uint64_t seed, float *out, size_t n) {
    const double two_pi = 6.283185307179586476925;
    for (size_t pair = 0; 2 * pair < n; pair++) {
        double u1 = 1.0 - unit_double(draw(seed, 2 * pair)); /* (0, 1]: log stays finite */
        double u2 = unit_double(draw(seed, 2 * pair + 1));
        double radius = sqrt(-2.0 * log(u1));
        out[2 * pair] = (float)(radius * cos(two_pi * u2));
        if (2 * pair + 1 < n) out[2 * pair + 1] = (float)(radius * sin(two_pi * u2));
    }
}
