/* pool.h -- a small pool of worker threads for data-parallel loops, and the parallel-for
 * every module uses on it.
 *
 * A pool is made once for a piece of work (a training run, a big predict) and runs many
 * short jobs: workers spin briefly before sleeping, so handing out a job costs far less
 * than starting threads. The caller's thread always takes part as thread 0. */
#ifndef AIOPS_POOL_H
#define AIOPS_POOL_H

#include <stddef.h>

struct pool;

/* threads <= 0: the online CPUs (at most 256). The caller's thread counts as one: threads - 1
 * workers are started. The caller frees *out with pool_free. AIOPS_ENOMEM / AIOPS_EIO. */
int pool_create(int threads, struct pool **out);
/* Threads of the pool, the caller's included (>= 1). */
int pool_threads(const struct pool *p);
/* Runs fn(arg, tid, nthreads) on `nthreads` threads (1 <= nthreads <= the pool's; tid 0 is
 * the caller) and returns when every call has returned. */
void pool_run(struct pool *p, int nthreads, void (*fn)(void *arg, int tid, int nth), void *arg);
/* Stops and joins the workers. NULL is a no-op. */
void pool_free(struct pool *p);

/* Calls fn(arg, tid, i) once for every i in [0, count), each thread taking the next index:
 * on the pool's threads, or with p == NULL on `threads` threads started for this call (<= 0:
 * the online CPUs; those that cannot be started are done without). tid (0 = the caller) is
 * below pool_threads(p), or below `threads` (resolved), so per-thread scratch can be
 * indexed by it. Returns when every call has returned; fn decides for itself how to stop
 * early (e.g. an atomic error flag). */
void pool_for(struct pool *p, int threads, size_t count,
              void (*fn)(void *arg, int tid, size_t i), void *arg);
/* The online CPUs, 1 .. 256. */
int pool_cpus(void);

#endif
