/* bgthread.c -- background threads that run until asked to stop (see bgthread.h). */
#include "rpc/bgthread.h"

#include <time.h>

#include "core/err.h"

int bg_thread_start(struct bg_thread *t, void *(*fn)(void *), void *arg)
{
    t->stop = 0;
    t->started = 0;
    if (pthread_mutex_init(&t->mu, NULL) != 0)
        return AIOPS_ENOMEM;
    if (pthread_cond_init(&t->cv, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        return AIOPS_ENOMEM;
    }
    if (pthread_create(&t->thread, NULL, fn, arg) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        return AIOPS_ENOMEM;
    }
    t->started = 1;
    return AIOPS_OK;
}

void bg_thread_stop(struct bg_thread *t)
{
    if (!t->started)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    t->started = 0;
}

int bg_thread_sleep(struct bg_thread *t, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu);
    /* cv is also signalled for the thread's own work: sleep on until the time is up */
    while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0)
        ;
    int stop = t->stop;
    pthread_mutex_unlock(&t->mu);
    return stop;
}
