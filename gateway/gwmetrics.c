#include "gwmetrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "forward.h"
#include "http/prom.h"

struct gw_metrics {
    struct prom_registry *reg;
    struct prom_family *requests;
    struct prom_family *errors;
    struct prom_family *latency;
    struct prom_family *service_up;
    struct prom_family *ws_dropped;
    struct prom_family *refused;
    struct prom_family *batches;
    struct prom_family *batched_calls;
    struct gw *gw;
    int ws_clients;
    pthread_mutex_t models_lock; /* guards the two below */
    struct buf models_text;      /* svc-monitor's exposition of the served models */
    json_t *models_json;         /* its JSON form; NULL: none */
};

static double uptime(void *arg)
{
    struct gw *gw = arg;
    return time_now() - gw->started;
}

static double inflight(void *arg)
{
    struct gw *gw = arg;
    return gw->inflight;
}

static double ws_clients(void *arg)
{
    struct gw_metrics *m = arg;
    return m->ws_clients;
}

int gw_metrics_init(struct gw *gw)
{
    struct gw_metrics *m = calloc(1, sizeof *m);
    if (m == NULL || (m->reg = prom_registry_new()) == NULL) {
        free(m);
        return AIOPS_ENOMEM;
    }
    m->gw = gw;
    pthread_mutex_init(&m->models_lock, NULL);
    static const char *const req_labels[] = {"route", "method", "code"};
    static const char *const err_labels[] = {"route", "code"};
    static const char *const lat_labels[] = {"route", "method"};
    static const char *const svc_labels[] = {"service"};
    static const char *const drop_labels[] = {"reason"};
    static const char *const build_labels[] = {"version"};
    static const char *const refused_labels[] = {"kind"};
    m->requests =
        prom_counter(m->reg, "aiops_http_requests_total",
                     "HTTP requests answered, by route pattern, method and status.", 3, req_labels);
    m->errors = prom_counter(m->reg, "aiops_http_errors_total",
                             "HTTP responses with a status of 400 or more.", 2, err_labels);
    m->latency =
        prom_histogram(m->reg, "aiops_http_request_duration_seconds",
                       "Time from receiving a request to answering it.", 2, lat_labels, NULL, 0);
    prom_gauge_fn(m->reg, "aiops_http_requests_in_flight", "HTTP requests not yet answered.",
                  inflight, gw);
    prom_gauge_fn(m->reg, "aiops_uptime_seconds", "Seconds since the gateway started.", uptime, gw);
    m->service_up =
        prom_gauge(m->reg, "aiops_service_up",
                   "1 when the gateway has a connection to the service.", 1, svc_labels);
    prom_gauge_fn(m->reg, "aiops_websocket_clients", "Open WebSocket connections.", ws_clients, m);
    m->ws_dropped =
        prom_counter(m->reg, "aiops_websocket_dropped_total",
                     "WebSocket clients closed by the gateway, by reason.", 1, drop_labels);
    m->refused = prom_counter(m->reg, "aiops_envelopes_refused_total",
                              "Messages from the service side whose SERVICE_SECRET seal failed.", 1,
                              refused_labels);
    m->batches = prom_counter(m->reg, "aiops_rpc_batches_total",
                              "Batch envelopes sent to a service (cheap calls read in one "
                              "loop pass, or queued while RPC_BATCH_INFLIGHT others were in "
                              "flight).",
                              1, svc_labels);
    m->batched_calls = prom_counter(m->reg, "aiops_rpc_batched_calls_total",
                                    "Calls sent to a service inside batch envelopes.", 1,
                                    svc_labels);
    struct prom_family *build = prom_gauge(m->reg, "aiops_build_info",
                                           "Always 1; the labels name the build.", 1, build_labels);
    prom_set(build, (const char *const[]){AIOPS_VERSION}, 1);
    /* create every service's and every drop reason's series up front, so that dashboards
     * see zeros instead of gaps */
    for (int id = 1; id < SVC_COUNT; id++) {
        const char *const name[] = {svc_name((enum svc_id)id)};
        prom_set(m->service_up, name, 0);
        prom_inc(m->batches, name, 0);
        prom_inc(m->batched_calls, name, 0);
    }
    prom_inc(m->ws_dropped, (const char *const[]){"slow_consumer"}, 0);
    prom_inc(m->ws_dropped, (const char *const[]){"credentials_expired"}, 0);
    prom_inc(m->refused, (const char *const[]){"event"}, 0);
    prom_inc(m->refused, (const char *const[]){"reply"}, 0);
    if (m->requests == NULL || m->errors == NULL || m->latency == NULL || m->service_up == NULL ||
        m->refused == NULL || m->batches == NULL || m->batched_calls == NULL) {
        prom_registry_free(m->reg);
        free(m);
        return AIOPS_EINVAL;
    }
    gw->metrics = m;
    return AIOPS_OK;
}

void gw_metrics_free(struct gw *gw)
{
    if (gw->metrics == NULL)
        return;
    prom_registry_free(gw->metrics->reg);
    buf_free(&gw->metrics->models_text);
    json_decref(gw->metrics->models_json);
    pthread_mutex_destroy(&gw->metrics->models_lock);
    free(gw->metrics);
    gw->metrics = NULL;
}

void gw_metrics_observe(struct gw *gw, const struct route *route, const char *method, int status,
                        double seconds)
{
    struct gw_metrics *m = gw->metrics;
    /* unmatched paths share one label value: clients must not create series at will */
    const char *rl = route ? route->pattern : "unmatched";
    const char *ml = route ? method : "other";
    char code[4] = "000"; /* an HTTP status has three digits (100-599); no printf per request */
    for (int i = 2, v = status; i >= 0; i--, v /= 10)
        code[i] = (char)('0' + v % 10);
    prom_inc(m->requests, (const char *const[]){rl, ml, code}, 1);
    if (status >= 400)
        prom_inc(m->errors, (const char *const[]){rl, code}, 1);
    prom_observe(m->latency, (const char *const[]){rl, ml}, seconds);
}

void gw_metrics_ws_clients(struct gw *gw, int delta)
{
    gw->metrics->ws_clients += delta;
}

void gw_metrics_ws_dropped(struct gw *gw, const char *reason)
{
    prom_inc(gw->metrics->ws_dropped, (const char *const[]){reason}, 1);
}

void gw_metrics_envelope_refused(struct gw *gw, const char *what)
{
    prom_inc(gw->metrics->refused, (const char *const[]){what}, 1);
}

void gw_metrics_batch(struct gw *gw, enum svc_id service, size_t calls)
{
    const char *const name[] = {svc_name(service)};
    prom_inc(gw->metrics->batches, name, 1);
    prom_inc(gw->metrics->batched_calls, name, (double)calls);
}

static void refresh_services(struct gw *gw)
{
    for (int id = 1; id < SVC_COUNT; id++)
        prom_set(gw->metrics->service_up, (const char *const[]){svc_name((enum svc_id)id)},
                 fwd_service_up(gw, (enum svc_id)id));
}

void gw_metrics_set_models(struct gw *gw, const char *text, size_t len, const char *json)
{
    struct gw_metrics *m = gw->metrics;
    json_t *js = json != NULL ? json_loads(json, 0, NULL) : NULL;
    if (!json_is_object(js)) {
        json_decref(js);
        js = NULL;
    }
    pthread_mutex_lock(&m->models_lock);
    buf_reset(&m->models_text);
    if (text != NULL && buf_append(&m->models_text, text, len) != 0)
        buf_reset(&m->models_text);
    json_t *old = m->models_json;
    m->models_json = js;
    pthread_mutex_unlock(&m->models_lock);
    json_decref(old); /* readers copy it under the lock: nobody else holds it */
}

int gw_metrics_text(struct gw *gw, struct buf *out)
{
    refresh_services(gw);
    int rv = prom_render_text(gw->metrics->reg, out);
    pthread_mutex_lock(&gw->metrics->models_lock);
    if (rv == 0 && gw->metrics->models_text.len > 0)
        rv = buf_append(out, gw->metrics->models_text.data, gw->metrics->models_text.len);
    pthread_mutex_unlock(&gw->metrics->models_lock);
    return rv;
}

json_t *gw_metrics_json(struct gw *gw)
{
    refresh_services(gw);
    json_t *all = prom_render_json(gw->metrics->reg);
    pthread_mutex_lock(&gw->metrics->models_lock);
    /* a deep copy: jansson's reference counts are not shared across threads */
    json_t *models = gw->metrics->models_json ? json_deep_copy(gw->metrics->models_json) : NULL;
    pthread_mutex_unlock(&gw->metrics->models_lock);
    if (all != NULL && models != NULL)
        json_object_update(all, models);
    json_decref(models);
    return all;
}
