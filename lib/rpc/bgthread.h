/* bgthread.h -- a background thread of a program's own (a ticker, a flusher, a queue's
 * sender) that runs until it is asked to stop.
 *
 * Its mu and cv may also guard and signal the thread's work (a queue): bg_thread_stop sets
 * stop and broadcasts cv under mu, so a thread waiting on cv for work wakes up to stop. A
 * zeroed struct is ready for bg_thread_start. */
#ifndef AIOPS_BGTHREAD_H
#define AIOPS_BGTHREAD_H

#include <pthread.h>

struct bg_thread {
    pthread_mutex_t mu; /* made by bg_thread_start, destroyed by bg_thread_stop */
    pthread_cond_t cv;
    pthread_t thread;
    int stop;    /* under mu: 1 once bg_thread_stop was called */
    int started; /* 1 from a successful bg_thread_start to bg_thread_stop */
};

/* Makes mu and cv and starts fn(arg) on t's thread: 0, or AIOPS_ENOMEM (nothing to stop). */
int bg_thread_start(struct bg_thread *t, void *(*fn)(void *), void *arg);
/* Asks t's thread to stop, waits for it and destroys mu and cv; nothing when t was not
 * started. */
void bg_thread_stop(struct bg_thread *t);
/* On t's thread: sleeps ms milliseconds unless asked to stop; 1 when stopping, else 0. */
int bg_thread_sleep(struct bg_thread *t, long ms);

#endif
