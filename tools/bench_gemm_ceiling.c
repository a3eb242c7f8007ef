/* bench_gemm_ceiling.c - the matrix-multiply ceiling: what a register-blocked
 * SIMD mul+add microkernel reaches on data that stays in L1.  Prints figures;
 * asserts nothing.
 *
 *   bench_gemm_ceiling [--threads N] [--k K] [--seconds S]
 *
 * Each tile shape MR x NR (NR = vectors x SAL_VF_WIDTH floats) runs the same
 * loop as the library's GEMM microkernel (broadcast one A value per row, load
 * the NR-wide B row, multiply and add into MR x vectors accumulators) over a
 * packed K x NR sliver of B and a K x MR sliver of A, again and again.  The
 * best shape on one thread is the ceiling; it is then run on N threads at
 * once (each on its own data), which shows what sharing the cores costs.
 * Every figure is the best of many short trials (~5 ms each, for --seconds
 * per shape): on a machine shared with other work, some trials still run
 * undisturbed, and the best of them is the ceiling.
 * Multiplies and adds stay separate (no fused multiply-add), as in the
 * library's default builds.  Machine-readable lines:
 *
 *   ceiling_gflops_per_thread 36.8              (best shape, 1 thread)
 *   ceiling_gflops_per_thread_threads_2 35.9     (the same shape, 2 threads)
 *   ceiling_json {...}                           (everything above as JSON)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(SAL_HAVE_PTHREADS)
#include <pthread.h>
#endif

#include "kernels/simd.h"

#define VW SAL_VF_WIDTH
#define MAX_MR 8
#define MAX_NV 4
#define MAX_THREADS 64
#define TRIAL_SECONDS 0.005

typedef struct {
    int k;
    const float *a;   /* k x MAX_MR, k-major: the MR values of one k are adjacent */
    const float *b;   /* k x NR, packed like the library's panels */
    float *c;         /* MAX_MR x MAX_NV vectors, receives the sums */
    long repeats;
} sliver;

/* One tile's sums over the sliver, repeated; mr and nv are constants in each instantiation. */
SAL_INLINE void tile_loop(const int mr, const int nv, const sliver *s) {
    for (long rep = 0; rep < s->repeats; rep++) {
        sal_vf acc[MAX_MR][MAX_NV];
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) acc[r][v] = sal_vf_zero();
        const float *a = s->a, *b = s->b;
        for (int p = 0; p < s->k; p++, a += MAX_MR, b += nv * VW) {
            sal_vf bv[MAX_NV];
            for (int v = 0; v < nv; v++) bv[v] = sal_vf_load(b + v * VW);
            for (int r = 0; r < mr; r++) {
                sal_vf av = sal_vf_splat(a[r]);
                for (int v = 0; v < nv; v++) acc[r][v] += av * bv[v];
            }
        }
        /* Added into C, which may alias A and B as far as the compiler
         * knows, so no repetition can be hoisted or skipped. */
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < nv; v++) {
                float *c = s->c + (r * MAX_NV + v) * VW;
                sal_vf_store(c, sal_vf_load(c) + acc[r][v]);
            }
    }
}

#define TILE(MR_, NV_) \
    static void tile_##MR_##x##NV_(const sliver *s) { tile_loop(MR_, NV_, s); }
TILE(4, 1) TILE(8, 1) TILE(3, 2) TILE(4, 2) TILE(5, 2) TILE(6, 2) TILE(7, 2) TILE(8, 2)
TILE(2, 3) TILE(3, 3) TILE(4, 3) TILE(5, 3) TILE(2, 4) TILE(3, 4) TILE(4, 4)

typedef struct {
    int mr, nv;
    void (*run)(const sliver *);
} tile_shape;

static const tile_shape shapes[] = {
    {4, 1, tile_4x1}, {8, 1, tile_8x1}, {3, 2, tile_3x2}, {4, 2, tile_4x2}, {5, 2, tile_5x2},
    {6, 2, tile_6x2}, {7, 2, tile_7x2}, {8, 2, tile_8x2}, {2, 3, tile_2x3}, {3, 3, tile_3x3},
    {4, 3, tile_4x3}, {5, 3, tile_5x3}, {2, 4, tile_2x4}, {3, 4, tile_3x4}, {4, 4, tile_4x4},
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

typedef struct {
    int threads, k;
    double seconds;
} options;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double shape_flop(const tile_shape *shape, const sliver *s) {
    return 2.0 * shape->mr * shape->nv * VW * (double)s->k * (double)s->repeats;
}

/* A sliver of random-ish data, in one allocation (freed with free(s->a)). */
static int sliver_create(sliver *s, int k) {
    size_t a_floats = (size_t)k * MAX_MR, b_floats = (size_t)k * MAX_NV * VW, c_floats = MAX_MR * MAX_NV * VW;
    float *mem = malloc((a_floats + b_floats + c_floats) * sizeof(float));
    if (!mem) return -1;
    for (size_t i = 0; i < a_floats + b_floats; i++) mem[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
    *s = (sliver){.k = k, .a = mem, .b = mem + a_floats, .c = mem + a_floats + b_floats, .repeats = 1};
    return 0;
}

/* Repeats such that one run of the shape lasts about TRIAL_SECONDS (at its best). */
static long calibrate(const tile_shape *shape, sliver *s) {
    s->repeats = 1;
    double fastest = 1e30;
    for (int i = 0; i < 8; i++) {
        double start = now_seconds();
        shape->run(s);
        double took = now_seconds() - start;
        if (took < fastest) fastest = took;
        if (took < TRIAL_SECONDS / 16 && s->repeats < LONG_MAX / 4) s->repeats *= 4, fastest = 1e30, i = 0;
    }
    double scaled = (double)s->repeats * TRIAL_SECONDS / (fastest > 0 ? fastest : 1e-9);
    return scaled < 1 ? 1 : (long)scaled;
}

static int trials_for(double seconds) {
    int trials = (int)(seconds / TRIAL_SECONDS);
    return trials < 3 ? 3 : trials;
}

/* Best GFLOP/s of the trials on the calling thread. */
static double single_thread_gflops(const tile_shape *shape, sliver *s, double seconds) {
    s->repeats = calibrate(shape, s);
    double best = 0;
    for (int t = trials_for(seconds); t > 0; t--) {
        double start = now_seconds();
        shape->run(s);
        double rate = shape_flop(shape, s) / (now_seconds() - start) * 1e-9;
        if (rate > best) best = rate;
    }
    return best;
}

#if defined(SAL_HAVE_PTHREADS)

typedef struct {
    const tile_shape *shape;
    sliver s;
    int trials;
    pthread_barrier_t *start, *done;
} thread_work;

static void *thread_main(void *arg) {
    thread_work *w = arg;
    for (int t = 0; t < w->trials; t++) {
        pthread_barrier_wait(w->start);
        w->shape->run(&w->s);
        pthread_barrier_wait(w->done);
    }
    return NULL;
}

/* Best per-thread GFLOP/s of the trials with every thread busy at once:
 * one thread's work over the wall time until the last one finished. */
static int multi_thread_gflops(const tile_shape *shape, int threads, int k, long repeats, int trials,
                               double *out) {
    thread_work work[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    pthread_barrier_t start, done;
    int started = 0, status = 0;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads && !status; i++) {
        work[i] = (thread_work){.shape = shape, .trials = trials, .start = &start, .done = &done};
        status = sliver_create(&work[i].s, k);
        work[i].s.repeats = repeats;
        if (!status) status = pthread_create(&ids[i], NULL, thread_main, &work[i]);
        if (!status) started++;
        else if (work[i].s.a) free((void *)work[i].s.a);
    }
    if (status) {
        /* Threads already waiting can never pass the barrier: give up loudly. */
        fprintf(stderr, "bench_gemm_ceiling: could not start %d threads (%d started)\n", threads, started);
        exit(1);
    }
    double best = 0;
    for (int t = 0; t < trials; t++) {
        pthread_barrier_wait(&start);
        double begin = now_seconds();
        pthread_barrier_wait(&done);
        double rate = shape_flop(shape, &work[0].s) / (now_seconds() - begin) * 1e-9;
        if (rate > best) best = rate;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(ids[i], NULL);
        free((void *)work[i].s.a);
    }
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&done);
    *out = best;
    return 0;
}

#endif

static int parse_int(const char *text, int min, int max, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o) {
    *o = (options){.threads = 2, .k = 256, .seconds = 0.3};
    for (int i = 1; i < argc; i += 2) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = value != NULL;
        if (ok && !strcmp(flag, "--threads")) ok = !parse_int(value, 1, MAX_THREADS, &o->threads);
        else if (ok && !strcmp(flag, "--k")) ok = !parse_int(value, 1, 1 << 16, &o->k);
        else if (ok && !strcmp(flag, "--seconds")) {
            char *end = NULL;
            o->seconds = strtod(value, &end);
            ok = end != value && !*end && o->seconds > 0 && o->seconds < 100;
        } else ok = 0;
        if (!ok) {
            fprintf(stderr, "bench_gemm_ceiling: bad option '%s %s'\n"
                    "usage: bench_gemm_ceiling [--threads N] [--k K] [--seconds S]\n", flag, value ? value : "");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(argc, argv, &o)) return 2;
    sliver s;
    if (sliver_create(&s, o.k)) {
        fprintf(stderr, "bench_gemm_ceiling: out of memory\n");
        return 1;
    }
    printf("# %d-float vectors, K = %d (A %zu + B <= %zu bytes per sliver), best of %d trials of ~%.0f ms\n", VW,
           o.k, (size_t)o.k * MAX_MR * sizeof(float), (size_t)o.k * MAX_NV * VW * sizeof(float),
           trials_for(o.seconds), TRIAL_SECONDS * 1e3);
    int best_shape = 0;
    double best = 0;
    for (int i = 0; i < N_SHAPES; i++) {
        double rate = single_thread_gflops(&shapes[i], &s, o.seconds);
        printf("# tile %dx%d (%d x %d vectors): %.1f GFLOP/s\n", shapes[i].mr, shapes[i].nv * VW, shapes[i].mr,
               shapes[i].nv, rate);
        if (rate > best) best = rate, best_shape = i;
    }
    const tile_shape *shape = &shapes[best_shape];
    printf("ceiling_gflops_per_thread %.1f\n", best);
    double per_thread = best;
    int threads = 1;
#if defined(SAL_HAVE_PTHREADS)
    if (o.threads > 1) {
        long repeats = calibrate(shape, &s);
        if (multi_thread_gflops(shape, o.threads, o.k, repeats, trials_for(o.seconds), &per_thread) == 0) {
            threads = o.threads;
            printf("ceiling_gflops_per_thread_threads_%d %.1f\n", threads, per_thread);
        }
    }
#else
    if (o.threads > 1) printf("# built without threads: --threads %d ignored\n", o.threads);
#endif
    printf("ceiling_json {\"tile\":\"%dx%d\",\"vector_floats\":%d,\"k\":%d,\"gflops_per_thread\":%.2f,"
           "\"threads\":%d,\"gflops_per_thread_all_threads\":%.2f}\n",
           shape->mr, shape->nv * VW, VW, o.k, best, threads, per_thread);
    free((void *)s.a);
    return 0;
}
