/* threadpool.c - persistent workers fed by a generation counter.
 *
 * sal_parallel_for publishes a job (fn, ctx, n) under the mutex and bumps the
 * generation.  The indices are cut into one contiguous range per thread (the
 * caller's first); each thread claims indices of its own range from that
 * range's atomic counter, then helps with the others', so uneven tasks still
 * balance themselves.  Own ranges first keep each thread on the same part of
 * the data from one kernel to the next (the rows of an image, say): what it
 * reads, it mostly wrote itself, and finds in its own core's cache.
 * The caller returns once every worker has reported back for that
 * generation, which also guarantees no worker still reads the job when the
 * next one is published.  A pool runs one job at a time: a call made while a
 * job is running (a nested call from a task, or a second caller thread) runs
 * serially on its own thread.
 */
#include "threadpool.h"

#include <stdlib.h>

#if defined(SAL_HAVE_PTHREADS)

#include <pthread.h>
#include <stdatomic.h>

/* How long an idle worker polls for the next job before sleeping (about
 * 0.1-1 ms, depending on the CPU's pause): long enough to bridge the gap
 * between two kernels of one layer, short enough not to burn a core while the
 * caller does serial work.  The caller, its share done, polls as long for the
 * workers to finish before it sleeps: waking it costs more than the tail of a
 * kernel (measured: 7-10% of a MobileNetV2 gradient on two threads). */
enum { SPIN_ROUNDS = 20000 };

/* One range's next index, on a cache line of its own. */
typedef struct {
    atomic_int next;
    char pad[60];
} claim_slot;

typedef struct {
    struct sal_threadpool *pool;
    int self;            /* 1 .. n_workers; the caller is 0 */
} worker_arg;

struct sal_threadpool {
    int n_threads;       /* counts the caller */
    int n_workers;       /* threads actually started */
    pthread_t *workers;
    worker_arg *args;    /* per worker */
    claim_slot *ranges;  /* per thread */
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a new generation or stop */
    pthread_cond_t finished;  /* the last worker left the job */
    atomic_int generation;
    int stop;
    atomic_int pending;  /* workers still inside the current job */
    atomic_int busy;     /* a job is running */
    sal_task_fn fn;
    void *ctx;
    int n;
};

/* Thread t's range of n indices over the pool's threads: [start(t), start(t + 1)). */
static int range_start(const sal_threadpool *pool, int t, int n) {
    return (int)((long long)t * n / pool->n_threads);
}

/* Thread `self`: its own range, then whatever is left of the others'. */
static void run_tasks(sal_threadpool *pool, int self, sal_task_fn fn, void *ctx, int n) {
    for (int k = 0; k < pool->n_threads; k++) {
        int t = (self + k) % pool->n_threads, end = range_start(pool, t + 1, n);
        for (;;) {
            int i = atomic_fetch_add_explicit(&pool->ranges[t].next, 1, memory_order_relaxed);
            if (i >= end) break;
            fn(ctx, i);
        }
    }
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void spin_until_new_generation(sal_threadpool *pool, int seen) {
    for (int round = 0; round < SPIN_ROUNDS; round++) {
        if (atomic_load_explicit(&pool->generation, memory_order_acquire) != seen) return;
        cpu_relax();
    }
}

static void *worker_main(void *arg) {
    sal_threadpool *pool = ((worker_arg *)arg)->pool;
    int self = ((worker_arg *)arg)->self, seen = 0;
    for (;;) {
        spin_until_new_generation(pool, seen);
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->generation) == seen && !pool->stop)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        seen = atomic_load(&pool->generation);
        sal_task_fn fn = pool->fn;
        void *ctx = pool->ctx;
        int n = pool->n;
        pthread_mutex_unlock(&pool->lock);

        run_tasks(pool, self, fn, ctx, n);

        pthread_mutex_lock(&pool->lock);
        if (atomic_fetch_sub(&pool->pending, 1) == 1) pthread_cond_signal(&pool->finished);
        pthread_mutex_unlock(&pool->lock);
    }
}

static void stop_workers(sal_threadpool *pool) {
    pthread_mutex_lock(&pool->lock);
    pool->stop = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_workers; i++) pthread_join(pool->workers[i], NULL);
    pool->n_workers = 0;
}

static void start_workers(sal_threadpool *pool, int wanted) {
    for (int i = 0; i < wanted; i++) {
        pool->args[i] = (worker_arg){pool, i + 1};
        if (pthread_create(&pool->workers[i], NULL, worker_main, &pool->args[i]) != 0) break;
        pool->n_workers++;
    }
    pool->n_threads = pool->n_workers + 1;
}

sal_threadpool *sal_threadpool_create(int n_threads) {
    sal_threadpool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = 1;
    int wanted = n_threads > 1 ? n_threads - 1 : 0;
    if (wanted == 0) return pool;
    pool->workers = calloc((size_t)wanted, sizeof *pool->workers);
    pool->args = calloc((size_t)wanted, sizeof *pool->args);
    pool->ranges = calloc((size_t)wanted + 1, sizeof *pool->ranges);
    if (!pool->workers || !pool->args || !pool->ranges) {
        free(pool->workers);
        free(pool->args);
        free(pool->ranges);
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->finished, NULL);
    /* If the system refuses threads, the pool simply has fewer. */
    start_workers(pool, wanted);
    return pool;
}

void sal_threadpool_free(sal_threadpool *pool) {
    if (!pool) return;
    if (pool->workers) {
        stop_workers(pool);
        pthread_cond_destroy(&pool->finished);
        pthread_cond_destroy(&pool->wake);
        pthread_mutex_destroy(&pool->lock);
        free(pool->workers);
        free(pool->args);
        free(pool->ranges);
    }
    free(pool);
}

int sal_threadpool_size(const sal_threadpool *pool) {
    return pool ? pool->n_threads : 1;
}

static void run_serially(int n, sal_task_fn fn, void *ctx) {
    for (int i = 0; i < n; i++) fn(ctx, i);
}

static int try_claim(sal_threadpool *pool) {
    int expected = 0;
    return atomic_compare_exchange_strong(&pool->busy, &expected, 1);
}

void sal_parallel_for(sal_threadpool *pool, int n, sal_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (!pool || pool->n_workers == 0 || n == 1 || !try_claim(pool)) {
        run_serially(n, fn, ctx);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n = n;
    for (int t = 0; t < pool->n_threads; t++) atomic_store(&pool->ranges[t].next, range_start(pool, t, n));
    atomic_store(&pool->pending, pool->n_workers);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    run_tasks(pool, 0, fn, ctx, n);

    for (int round = 0; round < SPIN_ROUNDS && atomic_load_explicit(&pool->pending, memory_order_acquire) > 0;
         round++)
        cpu_relax();
    pthread_mutex_lock(&pool->lock);
    while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->finished, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    atomic_store(&pool->busy, 0);
}

#else /* no pthreads: every pool is serial */

struct sal_threadpool {
    int n_threads;
};

sal_threadpool *sal_threadpool_create(int n_threads) {
    (void)n_threads;
    sal_threadpool *pool = calloc(1, sizeof *pool);
    if (pool) pool->n_threads = 1;
    return pool;
}

void sal_threadpool_free(sal_threadpool *pool) { free(pool); }

int sal_threadpool_size(const sal_threadpool *pool) {
    (void)pool;
    return 1;
}

void sal_parallel_for(sal_threadpool *pool, int n, sal_task_fn fn, void *ctx) {
    (void)pool;
    for (int i = 0; i < n; i++) fn(ctx, i);
}

#endif
