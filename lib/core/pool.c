#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"

/* Workers spin briefly on the job counter before sleeping on the condition variable: tree
 * growing hands out many short jobs in a row, and a futex wake-up per job costs more than
 * most of them. */
#define POOL_SPINS 4000

struct pool {
    int threads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint_fast64_t generation; /* jobs started */
    atomic_int pending;              /* workers still running the current job */
    atomic_int stop;
    int active; /* threads taking part in the current job (written before generation) */
    void (*fn)(void *arg, int tid, int nth);
    void *arg;
};

struct worker_arg {
    struct pool *p;
    int tid;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *v)
{
    struct worker_arg wa = *(struct worker_arg *)v;
    free(v);
    struct pool *p = wa.p;
    uint_fast64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop) &&
               spins < POOL_SPINS) {
            cpu_relax();
            spins++;
        }
        /* the job is read under the lock the caller wrote it under, so that a worker
         * left out of one job cannot mix its fields with the next one's */
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
            pthread_cond_wait(&p->go, &p->mu);
        seen = atomic_load(&p->generation);
        void (*fn)(void *, int, int) = p->fn;
        void *arg = p->arg;
        int active = p->active;
        pthread_mutex_unlock(&p->mu);
        if (atomic_load(&p->stop))
            break;
        if (wa.tid >= active)
            continue;
        fn(arg, wa.tid, active);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int pool_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}

int pool_create(int threads, struct pool **out)
{
    *out = NULL;
    if (threads <= 0)
        threads = pool_cpus();
    struct pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return AIOPS_ENOMEM;
    p->threads = 1;
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->tids = calloc((size_t)threads, sizeof *p->tids);
        if (p->tids == NULL) {
            pool_free(p);
            return AIOPS_ENOMEM;
        }
    }
    for (int t = 1; t < threads; t++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (wa == NULL) {
            pool_free(p);
            return AIOPS_ENOMEM;
        }
        wa->p = p;
        wa->tid = t;
        int e = pthread_create(&p->tids[t], NULL, worker_main, wa);
        if (e != 0) {
            free(wa);
            pool_free(p);
            errno = e;
            return AIOPS_EIO;
        }
        p->threads++;
    }
    *out = p;
    return 0;
}

int pool_threads(const struct pool *p)
{
    return p->threads;
}

void pool_run(struct pool *p, int nthreads, void (*fn)(void *arg, int tid, int nth),
                   void *arg)
{
    if (nthreads > p->threads)
        nthreads = p->threads;
    if (nthreads <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->active = nthreads;
    atomic_store(&p->pending, nthreads - 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, nthreads);
    for (int spins = 0; atomic_load(&p->pending) > 0 && spins < POOL_SPINS; spins++)
        cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void pool_free(struct pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->threads; t++)
        pthread_join(p->tids[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->tids);
    free(p);
}

/* --- parallel for ---------------------------------------------------------------------- */

struct for_job {
    void (*fn)(void *arg, int tid, size_t i);
    void *arg;
    size_t count;
    atomic_size_t next;
};

static void for_take(struct for_job *j, int tid)
{
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->count)
            break;
        j->fn(j->arg, tid, i);
    }
}

static void for_pool_worker(void *v, int tid, int nth)
{
    (void)nth;
    for_take(v, tid);
}

struct for_thread_arg {
    struct for_job *job;
    int tid;
};

static void *for_thread(void *v)
{
    struct for_thread_arg *a = v;
    for_take(a->job, a->tid);
    return NULL;
}

#define FOR_MAX_THREADS 256

void pool_for(struct pool *p, int threads, size_t count,
              void (*fn)(void *arg, int tid, size_t i), void *arg)
{
    struct for_job j = {.fn = fn, .arg = arg, .count = count};
    atomic_init(&j.next, 0);
    if (p != NULL) {
        int nth = pool_threads(p);
        pool_run(p, count < (size_t)nth ? (int)count : nth, for_pool_worker, &j);
        return;
    }
    size_t want = (size_t)(threads > 0 ? threads : pool_cpus());
    if (want > count)
        want = count;
    if (want > FOR_MAX_THREADS)
        want = FOR_MAX_THREADS;
    pthread_t tids[FOR_MAX_THREADS];
    struct for_thread_arg args[FOR_MAX_THREADS];
    size_t started = 0;
    for (size_t t = 1; t < want; t++) {
        args[started] = (struct for_thread_arg){&j, (int)started + 1};
        if (pthread_create(&tids[started], NULL, for_thread, &args[started]) != 0)
            break; /* fewer threads only makes it slower */
        started++;
    }
    for_take(&j, 0);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}
