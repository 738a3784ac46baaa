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

static int dial_all(struct dialset *ds)
{
    char url[ADDR_MAX];
    const char *p = ds->urls;
    ds->nd = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof url)
            return NNG_EADDRINVAL;
        memcpy(url, p, n);
        url[n] = '\0';
        for (int i = 0; i < ds->copies; i++) {
            if (ds->nd == DIALSET_MAX)
                return NNG_EINVAL;
            int rv = nng_dial(ds->sock, url, &ds->d[ds->nd], NNG_FLAG_NONBLOCK);
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

int dialset_check(struct dialset *ds)
{
    uint64_t now = time_mono_ns();
    if (dialset_up(ds)) {
        ds->down_since_ns = 0;
        return 0;
    }
    if (ds->down_since_ns == 0) {
        ds->down_since_ns = now;
        return 0;
    }
    if (now - ds->down_since_ns < (uint64_t)DIALSET_GRACE_MS * 1000000u)
        return 0;
    for (int i = 0; i < ds->nd; i++)
        nng_dialer_close(ds->d[i]);
    int rv = dial_all(ds);
    ds->down_since_ns = now;
    ds->restarts++;
    if (rv != 0)
        log_error("rpc: cannot dial %s again: %s", ds->urls, nng_strerror(rv));
    else if (ds->restarts == 1 || ds->restarts % 60 == 0)
        log_warn("rpc: no connection to %s for %d ms: dialling again (%d time(s))", ds->urls,
                 DIALSET_GRACE_MS, ds->restarts);
    return rv == 0;
}
