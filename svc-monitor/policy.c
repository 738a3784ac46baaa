/* Retraining policies (issue 9, migrations/0014_retrain_policy.sql):
 *
 *   GET /api/v1/models/{name}/retrain-policy   the policy and what it last did (a model
 *                                               without one: the defaults, "enabled": false)
 *   PUT /api/v1/models/{name}/retrain-policy   sets any of its fields (the rest keep their
 *                                               value, or the default)
 *
 * Every RETRAIN_CHECK_SECONDS (default 60) one thread takes each enabled policy: it runs the
 * model's drift check through the route that answers GET /api/drift/status (so a detection is
 * stored, alerted and exported as it would be for a caller), then the rules in order -- the
 * check's KL over max_kl; drift_events events in drift_days days; rolling accuracy under
 * min_accuracy over at least min_feedback labels; a minute of retrain_cron since the last
 * check -- and the first that holds queues a retrain (lib/store/runqueue.h, tagged with the
 * reason), unless one of the model's retrains is queued or running or the last was less than
 * cooldown_minutes ago. The trigger goes to /ws/performance (retrain_triggered) and, as an
 * info alert, to ALERT_WEBHOOK_URL; the retrain's decision is svc-train's (retrain.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cron.h"
#include "core/crypto.h"
#include "core/env.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "monitor_svc.h"
#include "rpc/bgthread.h"
#include "store/registry.h"
#include "store/runqueue.h"

struct policy {
    int enabled;
    long drift_events, drift_days, min_feedback, cooldown_minutes;
    long retention_days; /* 0: keep every version */
    double max_kl, min_accuracy;
    char cron[128]; /* "": no schedule */
};

static const struct policy DEFAULTS = {0, 5, 7, 20, 60, 0, 1.0, 0.7, ""};

#define POLICY_COLUMNS                                                                             \
    "enabled, drift_events, drift_days, min_feedback, cooldown_minutes, max_kl, min_accuracy,"   \
    " coalesce(retrain_cron, ''), coalesce(retention_days, 0)"

/* The row's POLICY_NCOLUMNS columns (POLICY_COLUMNS) from column `at`. */
#define POLICY_NCOLUMNS 9
static void policy_from_row(PGresult *r, int row, int at, struct policy *p)
{
    p->enabled = PQgetvalue(r, row, at)[0] == 't';
    p->drift_events = strtol(PQgetvalue(r, row, at + 1), NULL, 10);
    p->drift_days = strtol(PQgetvalue(r, row, at + 2), NULL, 10);
    p->min_feedback = strtol(PQgetvalue(r, row, at + 3), NULL, 10);
    p->cooldown_minutes = strtol(PQgetvalue(r, row, at + 4), NULL, 10);
    p->max_kl = strtod(PQgetvalue(r, row, at + 5), NULL);
    p->min_accuracy = strtod(PQgetvalue(r, row, at + 6), NULL);
    snprintf(p->cron, sizeof p->cron, "%s", PQgetvalue(r, row, at + 7));
    p->retention_days = strtol(PQgetvalue(r, row, at + 8), NULL, 10);
}

/* --- the routes ------------------------------------------------------------------------- */

/* The stored policy (or the defaults) and its record as JSON: 0 with *out, or an error
 * after replying. */
static int policy_read(struct svc_call *c, const char *name, struct policy *p, json_t **last)
{
    const char *v[2] = {svc_project(c), name};
    PGresult *r = NULL;
    if (svc_execv(c, &r, "reading the retrain policy",
                  "SELECT " POLICY_COLUMNS ", to_char(last_checked_at AT TIME ZONE 'UTC',"
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(last_triggered_at AT TIME ZONE 'UTC',"
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), last_reason, last_run_id::text"
                  " FROM retrain_policies WHERE project_id = $1 AND model_name = $2",
                  2, v) != 0)
        return -1;
    *p = DEFAULTS;
    *last = json_object();
    static const char *const keys[4] = {"last_checked_at", "last_triggered_at", "last_reason",
                                        "last_run_id"};
    for (int k = 0; k < 4 && *last != NULL; k++) {
        int have = PQntuples(r) == 1 && !PQgetisnull(r, 0, POLICY_NCOLUMNS + k);
        json_object_set_new(*last, keys[k], have ? json_string(PQgetvalue(r, 0, POLICY_NCOLUMNS + k))
                                                 : json_null());
    }
    if (PQntuples(r) == 1)
        policy_from_row(r, 0, 0, p);
    PQclear(r);
    return 0;
}

static void reply_policy(struct svc_call *c, const char *name, const struct policy *p,
                         json_t *last)
{
    json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:f, s:f, s:I, s:o, s:I}", "model_name", name,
                          "enabled", p->enabled, "drift_events", (json_int_t)p->drift_events,
                          "drift_days", (json_int_t)p->drift_days, "max_kl", p->max_kl,
                          "min_accuracy", p->min_accuracy, "min_feedback",
                          (json_int_t)p->min_feedback, "retrain_cron",
                          p->cron[0] ? json_string(p->cron) : json_null(), "cooldown_minutes",
                          (json_int_t)p->cooldown_minutes);
    if (o != NULL)
        json_object_set_new(o, "retention_days",
                            p->retention_days ? json_integer(p->retention_days) : json_null());
    if (o != NULL && last != NULL)
        json_object_update(o, last);
    json_decref(last);
    svc_reply_json(c, 200, o);
}

/* The path's model, which must exist: 0, or -1 after replying. */
static const char *policy_model(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    int rv = registry_model_exists(svc_db(c), svc_project(c), name);
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
    else if (rv != 0)
        svc_reply_failure(c, rv, "reading the model");
    return rv == 0 ? name : NULL;
}

void handle_retrain_policy_get(struct svc_call *c)
{
    const char *name = policy_model(c);
    struct policy p;
    json_t *last = NULL;
    if (name != NULL && policy_read(c, name, &p, &last) == 0)
        reply_policy(c, name, &p, last);
}

/* A whole-number member from lo to hi into *out: 0 (absent: unchanged), or -1 after
 * replying 422 naming it. */
static int member_long(struct svc_call *c, const json_t *body, const char *key, long lo, long hi,
                       long *out)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        svc_reply_field(c, API_INVALID_REQUEST, key, "%s must be a whole number from %ld to %ld",
                        key, lo, hi);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

static int member_number(struct svc_call *c, const json_t *body, const char *key, double lo,
                         double hi, double *out)
{
    const json_t *v = json_object_get(body, key);
    if (v == NULL)
        return 0;
    if (!json_is_number(v) || !(json_number_value(v) >= lo && json_number_value(v) <= hi)) {
        svc_reply_field(c, API_INVALID_REQUEST, key, "%s must be a number from %g to %g", key,
                        lo, hi);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* The body's changes applied to p: 0, or -1 after replying 422 naming the member. */
static int policy_apply(struct svc_call *c, const json_t *body, struct policy *p)
{
    static const char *const known[] = {"enabled",      "drift_events",     "drift_days",
                                        "max_kl",       "min_accuracy",     "min_feedback",
                                        "retrain_cron", "cooldown_minutes", "retention_days"};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
            k++;
        if (k == sizeof known / sizeof known[0]) {
            svc_reply_field(c, API_INVALID_REQUEST, key,
                            "%s is not a field of a retrain policy (enabled, drift_events,"
                            " drift_days, max_kl, min_accuracy, min_feedback, retrain_cron,"
                            " cooldown_minutes, retention_days)",
                            key);
            return -1;
        }
    }
    const json_t *en = json_object_get(body, "enabled"), *cr = json_object_get(body, "retrain_cron");
    if (en != NULL && !json_is_boolean(en)) {
        svc_reply_field(c, API_INVALID_REQUEST, "enabled", "enabled must be true or false");
        return -1;
    }
    p->enabled = en != NULL ? json_is_true(en) : 1; /* setting a policy turns it on */
    if (member_long(c, body, "drift_events", 1, 100000, &p->drift_events) != 0 ||
        member_long(c, body, "drift_days", 1, 3650, &p->drift_days) != 0 ||
        member_long(c, body, "min_feedback", 1, 1000000, &p->min_feedback) != 0 ||
        member_long(c, body, "cooldown_minutes", 0, 525600, &p->cooldown_minutes) != 0 ||
        member_number(c, body, "max_kl", 0, 1000, &p->max_kl) != 0 ||
        member_number(c, body, "min_accuracy", 0, 1, &p->min_accuracy) != 0)
        return -1;
    const json_t *keep = json_object_get(body, "retention_days");
    if (json_is_null(keep))
        p->retention_days = 0;
    else if (member_long(c, body, "retention_days", 1, 36500, &p->retention_days) != 0)
        return -1;
    if (cr != NULL && !json_is_null(cr)) {
        struct cron parsed;
        struct aiops_error err = AIOPS_ERROR_INIT;
        if (!json_is_string(cr) || json_string_length(cr) >= sizeof p->cron ||
            cron_parse(json_string_value(cr), &parsed, &err) != 0) {
            svc_reply_field(c, API_INVALID_REQUEST, "retrain_cron", "%s",
                            err.message[0] ? err.message
                                           : "retrain_cron must be a five-field cron schedule"
                                             " (at most 127 characters) or null");
            return -1;
        }
        snprintf(p->cron, sizeof p->cron, "%s", json_string_value(cr));
    } else if (cr != NULL) {
        p->cron[0] = '\0';
    }
    return 0;
}

void handle_retrain_policy_put(struct svc_call *c)
{
    json_t *body = NULL;
    const char *name = NULL;
    struct policy p;
    json_t *last = NULL;
    if (svc_json_body(c, &body) != 0 || (name = policy_model(c)) == NULL ||
        policy_read(c, name, &p, &last) != 0 || policy_apply(c, body, &p) != 0) {
        json_decref(last);
        json_decref(body);
        return;
    }
    char num[7][32];
    snprintf(num[0], 32, "%ld", p.drift_events);
    snprintf(num[1], 32, "%ld", p.drift_days);
    snprintf(num[2], 32, "%.17g", p.max_kl);
    snprintf(num[3], 32, "%.17g", p.min_accuracy);
    snprintf(num[4], 32, "%ld", p.min_feedback);
    snprintf(num[5], 32, "%ld", p.cooldown_minutes);
    snprintf(num[6], 32, "%ld", p.retention_days);
    const char *v[11] = {svc_project(c), name,   p.enabled ? "true" : "false",
                         num[0],         num[1], num[2],
                         num[3],         num[4], p.cron[0] ? p.cron : NULL,
                         num[5],         p.retention_days ? num[6] : NULL};
    if (svc_execv(c, NULL, "storing the retrain policy",
                  "INSERT INTO retrain_policies (project_id, model_name, enabled, drift_events,"
                  " drift_days, max_kl, min_accuracy, min_feedback, retrain_cron,"
                  " cooldown_minutes, retention_days) VALUES ($1, $2, $3::boolean, $4::int,"
                  " $5::int, $6::float8, $7::float8, $8::int, $9, $10::int, $11::int)"
                  " ON CONFLICT (project_id, model_name) DO"
                  " UPDATE SET enabled = EXCLUDED.enabled, drift_events = EXCLUDED.drift_events,"
                  " drift_days = EXCLUDED.drift_days, max_kl = EXCLUDED.max_kl,"
                  " min_accuracy = EXCLUDED.min_accuracy, min_feedback = EXCLUDED.min_feedback,"
                  " retrain_cron = EXCLUDED.retrain_cron,"
                  " cooldown_minutes = EXCLUDED.cooldown_minutes,"
                  " retention_days = EXCLUDED.retention_days, updated_at = now()",
                  11, v) == 0)
        reply_policy(c, name, &p, last);
    else
        json_decref(last);
    json_decref(body);
}

/* --- the checks --------------------------------------------------------------------------- */

static struct {
    struct bg_thread thread;
    long check_seconds;
    struct svc *svc;
} pol;

/* An enabled policy as the checker reads it. */
struct due_policy {
    char project[72], model[136];
    struct policy p;
    time_t last_checked; /* or when it was set */
    int cooled_down;     /* no trigger within cooldown_minutes */
};

/* The model's drift check, through GET /api/drift/status: its KL (NaN when there is none:
 * no served rows, no reference). */
static double drift_check(struct db *db, struct kv *kv, const struct due_policy *d)
{
    char query[160];
    snprintf(query, sizeof query, "model=%s", d->model); /* names need no escaping */
    int status = 0;
    json_t *reply = NULL;
    svc_call_local(pol.svc, db, kv,
                   &(struct svc_local_call){d->project, "GET", "drift.status", query, NULL, 0,
                                            NULL},
                   &status, &reply);
    double kl = NAN;
    if (status == 200 && json_is_number(json_object_get(reply, "kl_divergence")))
        kl = json_number_value(json_object_get(reply, "kl_divergence"));
    json_decref(reply);
    return kl;
}

/* Drift events of the model within the policy's days; -1 on a database error. */
static long drift_events(struct db *db, const struct due_policy *d)
{
    char days[24];
    snprintf(days, sizeof days, "%ld", d->p.drift_days);
    const char *v[3] = {d->project, d->model, days};
    PGresult *r = NULL;
    if (db_execv_one(db, &r,
                     "SELECT count(*) FROM drift_events WHERE project_id = $1 AND model_name = $2"
                     " AND detected_at > now() - make_interval(days => $3::int)",
                     3, v) != 0)
        return -1;
    long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

/* The first rule of d that holds, into reason (cap bytes): 1, or 0 when none does. */
static int rule_holds(struct db *db, struct kv *kv, const struct due_policy *d, char *reason,
                      size_t cap)
{
    double kl = drift_check(db, kv, d);
    if (kl > d->p.max_kl) {
        snprintf(reason, cap, "the served scores' KL divergence is %.3f (over %g)", kl,
                 d->p.max_kl);
        return 1;
    }
    long events = drift_events(db, d);
    if (events >= d->p.drift_events) {
        snprintf(reason, cap, "%ld drift events in %ld days (at least %ld)", events,
                 d->p.drift_days, d->p.drift_events);
        return 1;
    }
    size_t labels = 0;
    double acc = monitor_rolling_accuracy(kv, d->project, d->model, &labels);
    if (labels >= (size_t)d->p.min_feedback && acc < d->p.min_accuracy) {
        snprintf(reason, cap, "rolling accuracy is %.3f over %zu labels (under %g)", acc, labels,
                 d->p.min_accuracy);
        return 1;
    }
    struct cron cr;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (d->p.cron[0] && cron_parse(d->p.cron, &cr, &err) == 0 &&
        cron_due(&cr, d->last_checked, time(NULL))) {
        snprintf(reason, cap, "scheduled (retrain_cron \"%s\")", d->p.cron);
        return 1;
    }
    return 0;
}

/* Queues the retrain d's rule asked for and records it. */
static void trigger(struct db *db, const struct due_policy *d, const char *reason)
{
    struct retrain_plan plan;
    struct aiops_error err = AIOPS_ERROR_INIT;
    char run_id[37];
    uuid_v4(run_id);
    json_t *tags = json_pack("{s:s}", "trigger", reason);
    int rv = retrain_plan_read(db, d->project, d->model, &plan, &err);
    if (rv == 0) {
        rv = tags ? retrain_queue(db, d->project, d->model, &plan, tags, run_id) : AIOPS_ENOMEM;
        retrain_plan_free(&plan);
    }
    json_decref(tags);
    char note[800];
    if (rv != 0)
        snprintf(note, sizeof note, "%s; the retrain could not be queued: %s", reason,
                 err.message[0] ? err.message : aiops_strerror(rv));
    const char *v[4] = {d->project, d->model, rv == 0 ? reason : note, rv == 0 ? run_id : NULL};
    db_execv(db, NULL,
             "UPDATE retrain_policies SET last_triggered_at = now(), last_reason = $3,"
             " last_run_id = $4::uuid WHERE project_id = $1 AND model_name = $2",
             4, v);
    log_json(rv == 0 ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "retrain policy triggered",
             json_pack("{s:s, s:s, s:s, s:s?}", "project", d->project, "model_name", d->model,
                       "reason", rv == 0 ? reason : note, "run_id", rv == 0 ? run_id : NULL));
    if (rv != 0)
        return;
    svc_publish(pol.svc, d->project, "/ws/performance", "retrain_triggered",
                json_pack("{s:s, s:s, s:s}", "model_name", d->model, "reason", reason, "run_id",
                          run_id));
    char msg[600];
    snprintf(msg, sizeof msg, "retraining %s: %s", d->model, reason);
    alerts_raise(pol.svc, d->project,
                 json_pack("{s:s, s:s, s:{s:s, s:s}}", "severity", "info", "message", msg,
                           "metrics", "model_name", d->model, "run_id", run_id));
}

/* Deletes d's versions older than its retention_days but the newest and every one an alias
 * names -- so never the champion (REGISTRY_CHAMPION's version, or else the newest). */
static void prune_versions(struct db *db, const struct due_policy *d)
{
    char days[24];
    snprintf(days, sizeof days, "%ld", d->p.retention_days);
    const char *v[3] = {d->project, d->model, days};
    PGresult *r = NULL;
    if (db_execv(db, &r,
                 "DELETE FROM model_versions v WHERE v.project_id = $1 AND v.name = $2"
                 " AND v.created_at < now() - make_interval(days => $3::int)"
                 " AND v.version < (SELECT max(version) FROM model_versions"
                 "   WHERE project_id = $1 AND name = $2)"
                 " AND NOT EXISTS (SELECT 1 FROM model_aliases a WHERE a.project_id = $1"
                 "   AND a.name = $2 AND a.version = v.version)"
                 " RETURNING v.version",
                 3, v) != 0)
        return;
    if (PQntuples(r) > 0)
        log_json(LOG_LEVEL_INFO, "model versions pruned",
                 json_pack("{s:s, s:s, s:i, s:I}", "project", d->project, "model_name", d->model,
                           "versions", PQntuples(r), "retention_days",
                           (json_int_t)d->p.retention_days));
    PQclear(r);
}

static void check_policy(struct db *db, struct kv *kv, const struct due_policy *d)
{
    if (d->p.retention_days > 0)
        prune_versions(db, d);
    char reason[256];
    int holds = rule_holds(db, kv, d, reason, sizeof reason);
    const char *v[2] = {d->project, d->model};
    db_execv(db, NULL,
             "UPDATE retrain_policies SET last_checked_at = now() WHERE project_id = $1"
             " AND model_name = $2",
             2, v);
    if (holds && d->cooled_down && retrain_pending(db, d->project, d->model) == 0)
        trigger(db, d, reason);
}

static void check_all(struct db *db, struct kv *kv)
{
    PGresult *r = NULL;
    if (db_execv(db, &r,
                 "SELECT project_id, model_name, " POLICY_COLUMNS ","
                 " extract(epoch FROM coalesce(last_checked_at, updated_at))::bigint,"
                 " last_triggered_at IS NULL OR"
                 " last_triggered_at < now() - make_interval(mins => cooldown_minutes)"
                 " FROM retrain_policies WHERE enabled ORDER BY project_id, model_name",
                 0, NULL) != 0)
        return;
    for (int i = 0; i < PQntuples(r); i++) {
        struct due_policy d;
        snprintf(d.project, sizeof d.project, "%s", PQgetvalue(r, i, 0));
        snprintf(d.model, sizeof d.model, "%s", PQgetvalue(r, i, 1));
        policy_from_row(r, i, 2, &d.p);
        d.last_checked = (time_t)strtoll(PQgetvalue(r, i, 2 + POLICY_NCOLUMNS), NULL, 10);
        d.cooled_down = PQgetvalue(r, i, 3 + POLICY_NCOLUMNS)[0] == 't';
        check_policy(db, kv, &d);
    }
    PQclear(r);
}

static void *policy_main(void *arg)
{
    (void)arg;
    struct db *db = NULL;
    struct kv *kv = NULL;
    while (!bg_thread_sleep(&pol.thread, pol.check_seconds * 1000)) {
        if (db == NULL && db_open(svc_database_url(pol.svc), &db) != 0)
            continue;
        if (kv == NULL && kv_open(svc_redis_url(pol.svc), &kv) != 0)
            continue;
        check_all(db, kv);
    }
    db_close(db);
    kv_close(kv);
    return NULL;
}

int policy_start(struct svc *s)
{
    if (env_long("RETRAIN_CHECK_SECONDS", 60, 1, 86400, &pol.check_seconds) != 0)
        return AIOPS_EINVAL;
    pol.svc = s;
    return bg_thread_start(&pol.thread, policy_main, NULL);
}

void policy_stop(void)
{
    bg_thread_stop(&pol.thread);
}
