/* threadpool.h - a small fixed pool of pthreads for the kernels.
 *
 * sal_parallel_for(pool, n, fn, ctx) calls fn(ctx, i) for i in [0, n), spread
 * over the pool's threads and the calling thread, and returns when all are
 * done.  A NULL pool, a pool of one thread, or a build without pthreads runs
 * everything on the calling thread.  Calls from inside a task run serially.
 */
#ifndef SAL_THREADPOOL_H
#define SAL_THREADPOOL_H

typedef struct sal_threadpool sal_threadpool;

typedef void (*sal_task_fn)(void *ctx, int index);

/* n_threads counts the calling thread; <= 1 gives a pool that runs serially.
 * Returns NULL only when out of memory. */
sal_threadpool *sal_threadpool_create(int n_threads);
void sal_threadpool_free(sal_threadpool *pool);
int sal_threadpool_size(const sal_threadpool *pool); /* 1 for NULL */
void sal_parallel_for(sal_threadpool *pool, int n, sal_task_fn fn, void *ctx);

#endif
