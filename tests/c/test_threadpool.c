/* test_threadpool.c - sal_parallel_for runs every index exactly once, on any
 * pool size, nested, repeatedly, and from several caller threads. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "executor/threadpool.h"

#if defined(SAL_HAVE_PTHREADS)
#include <pthread.h>
#endif

enum { MAX_TASKS = 5000 };

typedef struct {
    atomic_int hits[MAX_TASKS];
} hit_counter;

static void count_hit(void *ctx, int i) {
    hit_counter *c = ctx;
    atomic_fetch_add(&c->hits[i], 1);
}

static int all_hit_once(hit_counter *c, int n) {
    for (int i = 0; i < n; i++)
        if (atomic_load(&c->hits[i]) != 1) return 0;
    for (int i = n; i < MAX_TASKS; i++)
        if (atomic_load(&c->hits[i]) != 0) return 0;
    return 1;
}

static void reset(hit_counter *c) {
    for (int i = 0; i < MAX_TASKS; i++) atomic_store(&c->hits[i], 0);
}

static void test_sizes(hit_counter *c) {
    CHECK(sal_threadpool_size(NULL) == 1, "NULL pool has size %d", sal_threadpool_size(NULL));
    int sizes[] = {-3, 0, 1, 2, 3, 4};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        sal_threadpool *pool = sal_threadpool_create(sizes[s]);
        CHECK(pool != NULL, "create(%d) returned NULL", sizes[s]);
        if (!pool) continue;
#if defined(SAL_HAVE_PTHREADS)
        int expected = sizes[s] > 1 ? sizes[s] : 1;
#else
        int expected = 1;
#endif
        CHECK(sal_threadpool_size(pool) == expected, "create(%d) has size %d", sizes[s], sal_threadpool_size(pool));
        int counts[] = {0, 1, 2, 3, 7, 64, 1000, MAX_TASKS};
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            reset(c);
            sal_parallel_for(pool, counts[k], count_hit, c);
            CHECK(all_hit_once(c, counts[k]), "pool %d, n %d: some index not run exactly once", sizes[s], counts[k]);
        }
        reset(c);
        sal_parallel_for(pool, -5, count_hit, c);
        CHECK(all_hit_once(c, 0), "negative n ran tasks");
        sal_threadpool_free(pool);
    }
    sal_threadpool_free(NULL);
    reset(c);
    sal_parallel_for(NULL, 777, count_hit, c);
    CHECK(all_hit_once(c, 777), "NULL pool: some index not run exactly once");
}

/* A serial pool runs the indices in order on the calling thread. */
typedef struct {
    int order[100];
    int count;
} order_log;

static void log_order(void *ctx, int i) {
    order_log *log = ctx;
    log->order[log->count++] = i;
}

static void test_pool_of_one(void) {
    sal_threadpool *pool = sal_threadpool_create(1);
    order_log log = {{0}, 0};
    sal_parallel_for(pool, 100, log_order, &log);
    int in_order = log.count == 100;
    for (int i = 0; i < log.count; i++) in_order &= log.order[i] == i;
    CHECK(in_order, "pool of one: %d tasks, not in order", log.count);
    sal_threadpool_free(pool);
}

/* Nested calls: each outer task fans out again on the same pool. */
typedef struct {
    sal_threadpool *pool;
    hit_counter *inner;
    int inner_n;
} nest_ctx;

typedef struct {
    const nest_ctx *nest;
    int outer;
} inner_ctx;

static void inner_task(void *ctx, int j) {
    const inner_ctx *ic = ctx;
    count_hit(ic->nest->inner, ic->outer * ic->nest->inner_n + j);
}

static void outer_task(void *ctx, int i) {
    const nest_ctx *nest = ctx;
    inner_ctx ic = {nest, i};
    sal_parallel_for(nest->pool, nest->inner_n, inner_task, &ic);
}

static void test_nested(hit_counter *c) {
    int sizes[] = {1, 2, 4};
    for (size_t s = 0; s < 3; s++) {
        sal_threadpool *pool = sal_threadpool_create(sizes[s]);
        reset(c);
        nest_ctx nest = {pool, c, 37};
        sal_parallel_for(pool, 50, outer_task, &nest);
        CHECK(all_hit_once(c, 50 * 37), "nested, pool %d: some (outer, inner) pair not run exactly once", sizes[s]);
        sal_threadpool_free(pool);
    }
}

/* Uneven tasks: a few are much longer; all must still complete exactly once. */
static void uneven_task(void *ctx, int i) {
    volatile double x = 0;
    int work = (i % 17 == 0) ? 200000 : 100;
    for (int k = 0; k < work; k++) x += k * 0.5;
    count_hit(ctx, i);
}

static void test_uneven(hit_counter *c) {
    sal_threadpool *pool = sal_threadpool_create(3);
    reset(c);
    sal_parallel_for(pool, 300, uneven_task, c);
    CHECK(all_hit_once(c, 300), "uneven tasks: some index not run exactly once");
    sal_threadpool_free(pool);
}

typedef struct {
    atomic_long sum;
} sum_ctx;

static void add_index(void *ctx, int i) {
    sum_ctx *s = ctx;
    atomic_fetch_add(&s->sum, i + 1);
}

static void test_many_dispatches(void) {
    sal_threadpool *pool = sal_threadpool_create(2);
    sum_ctx s;
    atomic_init(&s.sum, 0);
    long expected = 0;
    for (int round = 0; round < 20000; round++) {
        int n = 1 + round % 9;
        sal_parallel_for(pool, n, add_index, &s);
        expected += (long)n * (n + 1) / 2;
    }
    CHECK(atomic_load(&s.sum) == expected, "20000 dispatches: sum %ld, expected %ld", atomic_load(&s.sum), expected);
    sal_threadpool_free(pool);
}

static void test_create_free_repeatedly(void) {
    int ok = 1;
    for (int round = 0; round < 200; round++) {
        sal_threadpool *pool = sal_threadpool_create(1 + round % 4);
        if (!pool) {
            ok = 0;
            break;
        }
        if (round % 3 == 0) {
            sum_ctx s;
            atomic_init(&s.sum, 0);
            sal_parallel_for(pool, 10, add_index, &s);
            ok &= atomic_load(&s.sum) == 55;
        }
        sal_threadpool_free(pool);
    }
    CHECK(ok, "create/run/free 200 times");
}

#if defined(SAL_HAVE_PTHREADS)
/* Two tasks that each wait for the other to start: they only both finish if
 * the caller and a worker run them at the same time. */
typedef struct {
    atomic_int started;
    atomic_int met;
} rendezvous;

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void meet_task(void *ctx, int i) {
    rendezvous *r = ctx;
    atomic_fetch_add(&r->started, 1);
    double deadline = seconds_now() + 10.0;
    while (atomic_load(&r->started) < 2 && seconds_now() < deadline) {
    }
    if (atomic_load(&r->started) >= 2) atomic_fetch_add(&r->met, 1);
}

static void test_runs_concurrently(void) {
    sal_threadpool *pool = sal_threadpool_create(2);
    rendezvous r;
    atomic_init(&r.started, 0);
    atomic_init(&r.met, 0);
    sal_parallel_for(pool, 2, meet_task, &r);
    CHECK(atomic_load(&r.met) == 2, "two tasks on a pool of two did not run at the same time");
    sal_threadpool_free(pool);
}

/* Two outside threads share one pool: both loops must complete correctly. */
typedef struct {
    sal_threadpool *pool;
    hit_counter counter;
    int ok;
} caller_ctx;

static void *caller_main(void *arg) {
    caller_ctx *cc = arg;
    cc->ok = 1;
    for (int round = 0; round < 200; round++) {
        reset(&cc->counter);
        sal_parallel_for(cc->pool, 500, count_hit, &cc->counter);
        cc->ok &= all_hit_once(&cc->counter, 500);
    }
    return NULL;
}

static void test_two_callers(void) {
    sal_threadpool *pool = sal_threadpool_create(3);
    caller_ctx *callers = calloc(2, sizeof *callers);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        callers[t].pool = pool;
        pthread_create(&threads[t], NULL, caller_main, &callers[t]);
    }
    for (int t = 0; t < 2; t++) pthread_join(threads[t], NULL);
    CHECK(callers[0].ok && callers[1].ok, "two callers sharing a pool lost or repeated tasks");
    free(callers);
    sal_threadpool_free(pool);
}
#endif

int main(void) {
    hit_counter *c = malloc(sizeof *c);
    test_sizes(c);
    test_pool_of_one();
    test_nested(c);
    test_uneven(c);
    test_many_dispatches();
    test_create_free_repeatedly();
#if defined(SAL_HAVE_PTHREADS)
    test_runs_concurrently();
    test_two_callers();
#endif
    free(c);
    return check_report();
}
