#include "rpc/dialer.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    struct dialset *ds = arg;
    if (ev == NNG_PIPE_EV_ADD_POST)
        atomic_fetch_add(&ds->pipes, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&ds->pipes, 1);
}

static int dial_slot(struct dialset *ds, struct dialset_slot *s)
{
    char url[ADDR_MAX];
    memcpy(url, ds->urls + s->url_off, s->url_len);
    url[s->url_len] = '\0';
    s->attempts = 0;
    return nng_dial(ds->sock, url, &s->d, NNG_FLAG_NONBLOCK);
}

static int dial_all(struct dialset *ds)
{
    const char *p = ds->urls;
    ds->nd = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= ADDR_MAX)
            return NNG_EADDRINVAL;
        for (int i = 0; i < ds->copies; i++) {
            if (ds->nd == DIALSET_MAX)
                return NNG_EINVAL;
            struct dialset_slot *s = &ds->slot[ds->nd];
            s->url_off = (size_t)(p - ds->urls);
            s->url_len = n;
            int rv = dial_slot(ds, s);
            if (rv != 0)
                return rv;
            ds->nd++;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int dialset_start(struct dialset *ds, nng_socket sock, const char *urls, int copies)
{
    memset(ds, 0, sizeof *ds);
    ds->sock = sock;
    snprintf(ds->urls, sizeof ds->urls, "%s", urls);
    ds->copies = copies > 0 ? copies : 1;
    ds->wait_ms = DIALSET_GRACE_MS;
    atomic_init(&ds->pipes, 0);
    int rv;
    if ((rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_POST, pipe_event, ds)) != 0 ||
        (rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, pipe_event, ds)) != 0)
        return rv;
    return dial_all(ds);
}

int dialset_up(const struct dialset *ds)
{
    return atomic_load(&ds->pipes) > 0;
}

/* Connection attempts the dialer has made, successful or not, from nng's statistics. */
static uint64_t dialer_attempts(nng_stat *all, nng_dialer d)
{
    static const char *const counters[] = {"connect", "refused", "canceled", "other", "timeout",
                                           "proto",   "auth",    "oom",      "reject"};
    nng_stat *ds = nng_stat_find_dialer(all, d);
    uint64_t sum = 0;
    for (size_t i = 0; ds != NULL && i < sizeof counters / sizeof *counters; i++) {
        nng_stat *c = nng_stat_find(ds, counters[i]);
        if (c != NULL)
            sum += nng_stat_value(c);
    }
    return sum;
}

static void log_restart(struct dialset *ds, int rv, int n)
{
    ds->restarts++;
    if (rv != 0)
        log_error("rpc: cannot dial %s again: %s", ds->urls, nng_strerror(rv));
    else if (ds->restarts == 1 || ds->restarts % 60 == 0)
        log_warn("rpc: no connection to %s for %d ms and %d dialer(s) stopped trying: dialling "
                 "again (%d time(s))",
                 ds->urls, DIALSET_GRACE_MS, n, ds->restarts);
}

/* Without statistics: every dialer again, waiting longer each time. */
static int restart_blind(struct dialset *ds, uint64_t now)
{
    if (now - ds->down_since_ns < ds->wait_ms * 1000000u)
        return 0;
    for (int i = 0; i < ds->nd; i++)
        nng_dialer_close(ds->slot[i].d);
    int rv = dial_all(ds);
    ds->down_since_ns = now;
    ds->wait_ms = ds->wait_ms * 2 > DIALSET_MAX_WAIT_MS ? DIALSET_MAX_WAIT_MS : ds->wait_ms * 2;
    log_restart(ds, rv, ds->nd);
    return rv == 0 ? ds->nd : 0;
}

int dialset_check(struct dialset *ds)
{
    uint64_t now = time_mono_ns();
    if (dialset_up(ds)) {
        ds->down_since_ns = ds->attempts_ns = 0;
        ds->wait_ms = DIALSET_GRACE_MS;
        return 0;
    }
    if (ds->down_since_ns == 0)
        ds->down_since_ns = now;
    nng_stat *all = NULL;
    if (nng_stats_get(&all) != 0)
        return restart_blind(ds, now);
    uint64_t grace = (uint64_t)DIALSET_GRACE_MS * 1000000u;
    int judged =
        ds->attempts_ns != 0 && now - ds->attempts_ns >= grace && now - ds->down_since_ns >= grace;
    int restarted = 0, rv = 0;
    for (int i = 0; i < ds->nd; i++) {
        struct dialset_slot *s = &ds->slot[i];
        uint64_t a = dialer_attempts(all, s->d);
        if (judged && a == s->attempts) {
            /* no attempt in a whole grace period: it has given up (safe to close) */
            nng_dialer_close(s->d);
            if ((rv = dial_slot(ds, s)) == 0)
                restarted++;
            a = 0;
        }
        if (judged || ds->attempts_ns == 0)
            s->attempts = a;
    }
    nng_stats_free(all);
    if (judged || ds->attempts_ns == 0)
        ds->attempts_ns = now;
    if (restarted > 0 || rv != 0)
        log_restart(ds, rv, restarted);
    return restarted;
}
