/* random.c - reproducible random numbers without state.
 *
 * Draw i of a seed is splitmix64 (Steele, Lea & Flood 2014) at position i of
 * its stream: mix(seed' + (i + 1) * gamma).  Any draw can be computed on its
 * own, so results do not depend on how the work is split into batches.
 *
 * Normal values 2i and 2i + 1 come from Box-Muller on draw i alone: its high
 * 31 bits give the radius sqrt(-2 ln u), u in (0, 1], its low 32 bits the
 * angle.  The arithmetic is float with our own series for ln, sin and cos (no
 * libm, no fused multiply-add), so native code and WebAssembly give the same
 * bits, and the loops vectorize: SmoothGrad draws 150K values per sample. */
#include <string.h>

#include "methods.h"

#define GAMMA 0x9E3779B97F4A7C15ull
#define CHUNK 256 /* pairs hashed ahead of the float arithmetic */
#define HALF_PI 1.57079632679489661923

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Different seeds start far apart on the counter line. */
static uint64_t draw(uint64_t seed, uint64_t index) { return mix64(mix64(seed) + (index + 1) * GAMMA); }

void sal_random_uniform(uint64_t seed, float *out, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = (float)(draw(seed, i) >> 40) * 0x1.0p-24f; /* 24 bits: exact, < 1 */
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* -2 ln(u) for u in (0, 1]: u = 2^k z with z in [sqrt(1/2), sqrt(2)), and
 * ln z = 2 atanh(s), s = (z - 1) / (z + 1), |s| < 0.172; the series' next
 * term is below 1e-9. */
static inline float minus_two_log(float u) {
    uint32_t offset = bits_of(u) - 0x3F3504F3u; /* bits of sqrt(1/2) */
    int32_t k = (int32_t)offset >> 23;
    float z = float_of(bits_of(u) - (offset & 0xFF800000u));
    float s = (z - 1.0f) / (z + 1.0f), s2 = s * s;
    float series = 2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9))));
    return -2.0f * ((float)k * 0.693147180559945f + s * series);
}

/* sqrt(v) for v >= 0: Newton's iteration for 1/sqrt(v) from the classic
 * first guess on the bits.  libm's sqrtf may set errno, which keeps GCC from
 * vectorizing the loop around it. */
static inline float square_root(float v) {
    float y = float_of(0x5F3759DFu - (bits_of(v) >> 1));
    for (int i = 0; i < 3; i++) y = y * (1.5f - 0.5f * v * y * y);
    return v * y;
}

/* sin and cos of phi in [-pi/4, pi/4] by their Taylor series, whose next
 * terms are below 2e-9. */
static inline void sin_cos(float phi, float *sin_phi, float *cos_phi) {
    float p2 = phi * phi;
    *sin_phi = phi * (1 + p2 * (-1.0f / 6 + p2 * (1.0f / 120 + p2 * (-1.0f / 5040 + p2 * (1.0f / 362880)))));
    *cos_phi = 1 + p2 * (-0.5f + p2 * (1.0f / 24 + p2 * (-1.0f / 720 + p2 * (1.0f / 40320 - p2 * (1.0f / 3628800)))));
}

/* One normal pair from the 64 bits of a draw: u from the high 31 bits, the
 * angle from the low 32 as a quarter turn q (2 bits) plus phi in (-pi/4, pi/4)
 * (24 bits). */
static inline void normal_pair(uint32_t high, uint32_t low, float *first, float *second) {
    float radius = square_root(minus_two_log(((float)(int32_t)(high >> 1) + 0.5f) * 0x1.0p-31f));
    uint32_t q = low >> 30;
    float phi = ((float)((int32_t)((low >> 6) & 0xFFFFFF) - 0x800000) + 0.5f) * (float)(HALF_PI * 0x1.0p-24);
    float sin_phi, cos_phi;
    sin_cos(phi, &sin_phi, &cos_phi);
    /* (cos, sin) of phi + q pi/2: odd q swaps them; signs flip for q = 1, 2 (cos) and q = 2, 3 (sin). */
    float c = q & 1 ? sin_phi : cos_phi, s = q & 1 ? cos_phi : sin_phi;
    *first = float_of(bits_of(radius * c) ^ (((q ^ (q >> 1)) & 1) << 31));
    *second = float_of(bits_of(radius * s) ^ ((q >> 1) << 31));
}

static void normal_pairs(uint64_t seed, size_t first_pair, size_t pairs, float *out) {
    uint32_t high[CHUNK], low[CHUNK]; /* 32-bit halves: the float loop then vectorizes 4 wide in wasm too */
    uint64_t start = mix64(seed) + (first_pair + 1) * GAMMA;
    for (size_t p = 0; p < pairs; p++) {
        uint64_t bits = mix64(start + p * GAMMA);
        high[p] = (uint32_t)(bits >> 32), low[p] = (uint32_t)bits;
    }
    for (size_t p = 0; p < pairs; p++) normal_pair(high[p], low[p], out + 2 * p, out + 2 * p + 1);
}

void sal_random_normal(uint64_t seed, float *out, size_t n) {
    size_t pairs = n / 2;
    for (size_t p = 0; p < pairs; p += CHUNK)
        normal_pairs(seed, p, pairs - p < CHUNK ? pairs - p : CHUNK, out + 2 * p);
    if (n % 2) {
        float last[2];
        normal_pairs(seed, pairs, 1, last);
        out[n - 1] = last[0];
    }
}
