/* The live feed of /ws/performance: every MONITOR_INTERVAL_SECONDS (default 10) a
 * system_health message per project ({"health": {"cpu_usage", "memory_usage",
 * "api_success_rate", "error_rate"}}, percentages as in seed 000) and a metrics_update per
 * served model ({"metrics": {"model_name", "requests", "response_time" (p95 over the
 * interval, ms), "accuracy"? (rolling, from label feedback)}}); a p95 over
 * LATENCY_ALERT_MS (default 500) raises a performance_alert (alerts.c).
 *
 * The numbers come from what svc-train writes to Redis once a second (svc-train/serve.c:
 * aiops:predictions:{project}:{model} and its :latency histogram), taken as differences
 * between two ticks, and from /proc for the machine. One thread, its own Redis
 * connection. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "monitor_svc.h"
#include "rpc/bgthread.h"
#include "store/kv.h"

#define TRACKED_MAX 256
#define NB 13 /* svc-train's latency buckets, +Inf included */

static const double bounds[NB] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,    0.25,  0.5,    1,     2.5,  1e300};

/* A model's counters at the last tick. */
struct tracked {
    char key[300];
    long long requests, errors;
    long long cum[NB];
    int seen; /* 0 until a first reading: the first tick only takes the baseline */
};

static struct {
    struct bg_thread ticker;
    long interval, latency_alert_ms;
    struct svc *svc;
    struct tracked t[TRACKED_MAX];
    size_t n;
    unsigned long long cpu_busy, cpu_total;
} hl;

/* Machine CPU use since the last call, percent; NaN the first time. */
static double cpu_usage(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    int got = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                         &v[3], &v[4], &v[5], &v[6], &v[7])
                : 0;
    if (f)
        fclose(f);
    if (got < 4)
        return -1;
    unsigned long long total = 0;
    for (int i = 0; i < 8; i++)
        total += v[i];
    unsigned long long busy = total - v[3] - v[4]; /* idle and iowait */
    double pct = -1;
    if (hl.cpu_total != 0 && total > hl.cpu_total)
        pct = 100.0 * (double)(busy - hl.cpu_busy) / (double)(total - hl.cpu_total);
    hl.cpu_busy = busy;
    hl.cpu_total = total;
    return pct;
}

static double memory_usage(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (f == NULL)
        return -1;
    char line[256];
    double total = 0, avail = -1;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "MemTotal: %lf", &total);
        sscanf(line, "MemAvailable: %lf", &avail);
    }
    fclose(f);
    return total > 0 && avail >= 0 ? 100.0 * (total - avail) / total : -1;
}

static struct tracked *track(const char *key)
{
    for (size_t i = 0; i < hl.n; i++)
        if (strcmp(hl.t[i].key, key) == 0)
            return &hl.t[i];
    if (hl.n == TRACKED_MAX)
        return NULL;
    struct tracked *t = &hl.t[hl.n++];
    memset(t, 0, sizeof *t);
    snprintf(t->key, sizeof t->key, "%s", key);
    return t;
}

static long long hash_field(const redisReply *r, const char *field)
{
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, field) == 0)
            return strtoll(r->element[i + 1]->str, NULL, 10);
    return 0;
}

double monitor_rolling_accuracy(struct kv *kv, const char *project, const char *model,
                                size_t *labels)
{
    struct feedback_window w;
    size_t n = 0, ok = 0;
    if (feedback_window_read(kv, project, model, &w) == 0)
        for (size_t i = 0; i < w.n; i++)
            if (w.classes[i] > 0) { /* a classifier's label (a regressor's have no accuracy) */
                n++;
                ok += w.pred[i] == w.actual[i];
            }
    feedback_window_free(&w);
    if (labels != NULL)
        *labels = n;
    return n > 0 ? (double)ok / (double)n : NAN;
}

/* The KL of the model's last drift check (drift.c), NaN when none is kept. */
static double last_kl(struct kv *kv, const char *project, const char *model)
{
    redisReply *r = kv_command(kv, "GET aiops:drift:%s:%s:kl", project, model);
    double kl = r != NULL && r->type == REDIS_REPLY_STRING ? strtod(r->str, NULL) : NAN;
    freeReplyObject(r);
    return kl;
}

/* Per project: requests and errors of the interval, summed over its models. */
struct project_sum {
    char project[72];
    long long requests, errors;
};

static void tick(struct kv *kv)
{
    struct project_sum ps[64];
    size_t nps = 0;
    char cursor[32] = "0";
    struct model_metrics *mm = model_metrics_begin(bounds, NB - 1);
    do {
        redisReply *r = kv_command(kv, "SCAN %s MATCH aiops:predictions:* COUNT 500", cursor);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            model_metrics_publish(mm, NULL, 0);
            return;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            const char *key = keys->element[i]->str;
            /* aiops:predictions:{project}:{model}: two colons after the prefix mean a
             * latency or per-minute key (names hold no colon: registry_name_valid) */
            const char *rest = key + strlen("aiops:predictions:");
            const char *colon = strchr(rest, ':');
            if (colon == NULL || strchr(colon + 1, ':') != NULL)
                continue;
            struct tracked *t = track(key);
            if (t == NULL)
                continue;
            char project[72], model[136];
            size_t plen = (size_t)(colon - rest);
            snprintf(project, sizeof project, "%.*s", (int)(plen < 71 ? plen : 71), rest);
            snprintf(model, sizeof model, "%s", colon + 1);
            redisReply *h = kv_command(kv, "HGETALL %s", key);
            redisReply *lat = kv_command(kv, "HGETALL %s:latency", key);
            long long req = hash_field(h, "requests"), err = hash_field(h, "errors");
            long long rows = hash_field(h, "rows"), latency_us = hash_field(h, "latency_us");
            long long cum[NB];
            for (int b = 0; b < NB; b++) {
                char field[32];
                if (b < NB - 1)
                    snprintf(field, sizeof field, "le_%g", bounds[b]);
                else
                    snprintf(field, sizeof field, "le_+Inf");
                cum[b] = hash_field(lat, field);
            }
            freeReplyObject(h);
            freeReplyObject(lat);
            double accuracy = monitor_rolling_accuracy(kv, project, model, NULL);
            model_metrics_add(mm, &(struct model_sample){project, model, req, rows, err,
                                                         latency_us, cum, accuracy,
                                                         last_kl(kv, project, model)});
            long long dreq = req - t->requests, derr = err - t->errors;
            int first = !t->seen;
            double p95 = -1;
            long long dtotal = cum[NB - 1] - t->cum[NB - 1];
            for (int b = 0; b < NB && dtotal > 0; b++)
                if ((double)(cum[b] - t->cum[b]) >= 0.95 * (double)dtotal) {
                    p95 = bounds[b] * 1000.0;
                    break;
                }
            t->requests = req;
            t->errors = err;
            memcpy(t->cum, cum, sizeof cum);
            t->seen = 1;
            if (first || dreq <= 0)
                continue;
            size_t k = 0;
            while (k < nps && strcmp(ps[k].project, project) != 0)
                k++;
            if (k == nps && nps < 64) {
                snprintf(ps[nps].project, sizeof ps[nps].project, "%s", project);
                ps[nps].requests = ps[nps].errors = 0;
                nps++;
            }
            if (k < nps) {
                ps[k].requests += dreq;
                ps[k].errors += derr;
            }
            json_t *metrics =
                json_pack("{s:s, s:I, s:I, s:o}", "model_name", model, "requests", dreq, "errors",
                          derr, "response_time", p95 >= 0 ? json_real(p95) : json_null());
            if (metrics != NULL && !isnan(accuracy))
                json_object_set_new(metrics, "accuracy", json_real(accuracy));
            if (metrics == NULL)
                continue;
            if (p95 > (double)hl.latency_alert_ms) {
                char msg[200];
                snprintf(msg, sizeof msg, "p95 latency of %s is %.0f ms (threshold %ld ms)", model,
                         p95, hl.latency_alert_ms);
                alerts_raise(hl.svc, project,
                             json_pack("{s:s, s:s, s:O}", "severity", "warning", "message", msg,
                                       "metrics", metrics));
            }
            svc_publish(hl.svc, project, "/ws/performance", "metrics_update",
                        json_pack("{s:o}", "metrics", metrics));
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    model_metrics_publish(mm, kv, MODEL_METRICS_TTL_TICKS * hl.interval);
    double cpu = cpu_usage(), mem = memory_usage();
    for (size_t k = 0; k < nps; k++) {
        double ok = 100.0 * (double)(ps[k].requests - ps[k].errors) / (double)ps[k].requests;
        svc_publish(hl.svc, ps[k].project, "/ws/performance", "system_health",
                    json_pack("{s:{s:o, s:o, s:f, s:f}}", "health", "cpu_usage",
                              cpu >= 0 ? json_real(cpu) : json_null(), "memory_usage",
                              mem >= 0 ? json_real(mem) : json_null(), "api_success_rate", ok,
                              "error_rate", 100.0 - ok));
    }
}

static void *ticker_main(void *arg)
{
    (void)arg;
    struct kv *kv = NULL;
    if (kv_open(svc_redis_url(hl.svc), &kv) != 0)
        return NULL;
    cpu_usage(); /* the baseline */
    while (!bg_thread_sleep(&hl.ticker, hl.interval * 1000))
        tick(kv);
    kv_close(kv);
    return NULL;
}

int health_start(struct svc *s)
{
    if (env_long("MONITOR_INTERVAL_SECONDS", 10, 1, 86400, &hl.interval) != 0 ||
        env_long("LATENCY_ALERT_MS", 500, 1, 3600000, &hl.latency_alert_ms) != 0)
        return AIOPS_EINVAL;
    hl.svc = s;
    return bg_thread_start(&hl.ticker, ticker_main, NULL);
}

void health_stop(void)
{
    bg_thread_stop(&hl.ticker);
}
