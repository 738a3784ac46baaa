/* Label feedback and rolling quality metrics.
 *
 *   POST /api/v1/models/{name}/feedback  {"feedback": [{"id", "label"} | {"id", "value"}]}
 *        ids are the ones /predict answered ("{request id}:{row}", kept by svc-train in
 *        Redis: svc-train/window.c); each known one adds (predicted, actual) to the model's
 *        rolling window; unknown ids (expired, never served, another model's) are reported
 *        back, not an error for the whole batch
 *   GET  /api/v1/models/metrics?model=NAME  accuracy, precision, recall, F1 (binary: the
 *        positive class, the last; multiclass: macro averages) or RMSE and MAE, over the last
 *        METRICS_WINDOW (default 1000) labelled predictions
 * When feedback leaves accuracy under ACCURACY_ALERT_THRESHOLD (default 0.7) over at least
 * MIN_FEEDBACK_FOR_ALERT (20) labels, a performance_alert goes out (alerts.c), at most one per
 * model a minute.
 *
 * Redis: aiops:feedback:{project}:{model}  list of "predicted actual classes" (classes 0 for
 * regression), trimmed to METRICS_WINDOW. A prediction an A/B test's arm answered (its kept
 * record says which: svc-train/abtest.c) also goes to PostgreSQL's ab_test_feedback, once per
 * prediction, for that test's comparison. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/env.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "ml/eval.h"
#include "ml/modelcache.h"
#include "monitor_svc.h"
#include "store/db.h"
#include "store/registry.h"

#define FEEDBACK_MAX_ITEMS 10000
#define MIN_FEEDBACK_FOR_ALERT 20
#define ALERT_GAP_NS (60ull * 1000000000ull)
#define ALERT_MODELS 64

/* When each model last raised an accuracy alert (this replica). */
static struct {
    pthread_mutex_t mu;
    char name[ALERT_MODELS][136];
    uint64_t at[ALERT_MODELS];
    size_t n;
} last_alert = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int alert_due(const char *name)
{
    uint64_t now = time_mono_ns();
    int due = 1;
    pthread_mutex_lock(&last_alert.mu);
    size_t i = 0;
    while (i < last_alert.n && strcmp(last_alert.name[i], name) != 0)
        i++;
    if (i < last_alert.n && now - last_alert.at[i] < ALERT_GAP_NS) {
        due = 0;
    } else {
        if (i == last_alert.n)
            i = last_alert.n < ALERT_MODELS ? last_alert.n++ : (size_t)(now % ALERT_MODELS);
        snprintf(last_alert.name[i], sizeof last_alert.name[i], "%s", name);
        last_alert.at[i] = now;
    }
    pthread_mutex_unlock(&last_alert.mu);
    return due;
}

static long metrics_window(void)
{
    long w = 1000;
    if (env_long("METRICS_WINDOW", 1000, 10, 1000000, &w) != 0)
        w = 1000;
    return w;
}

static double accuracy_threshold(void)
{
    const char *s = getenv("ACCURACY_ALERT_THRESHOLD");
    char *end;
    double t = s ? strtod(s, &end) : 0.7;
    return s && (end == s || *end != '\0' || !(t >= 0.0 && t <= 1.0)) ? 0.7 : t;
}

/* The largest number of classes an entry may give (the trainer's limit, lib/ml/featureset.c):
 * eval_feedback sizes its tables by it. */
#define FEEDBACK_MAX_CLASSES 1000

int feedback_window_read(struct kv *kv, const char *project, const char *model,
                         struct feedback_window *w)
{
    memset(w, 0, sizeof *w);
    redisReply *r = kv_command(kv, "LRANGE aiops:feedback:%s:%s 0 -1", project, model);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(r);
        return AIOPS_EUNAVAIL;
    }
    size_t cap = r->elements ? r->elements : 1;
    w->pred = malloc(cap * 2 * sizeof *w->pred);
    w->classes = malloc(cap * sizeof *w->classes);
    if (w->pred == NULL || w->classes == NULL) {
        freeReplyObject(r);
        feedback_window_free(w);
        return AIOPS_ENOMEM;
    }
    w->actual = w->pred + cap;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        size_t n = w->n;
        if (e->type == REDIS_REPLY_STRING &&
            sscanf(e->str, "%lf %lf %u", &w->pred[n], &w->actual[n], &w->classes[n]) == 3 &&
            w->classes[n] <= FEEDBACK_MAX_CLASSES)
            w->n++;
    }
    freeReplyObject(r);
    return AIOPS_OK;
}

void feedback_window_free(struct feedback_window *w)
{
    free(w->pred);
    free(w->classes);
    memset(w, 0, sizeof *w);
}

/* Rolling metrics of the model's feedback window into a new object; NULL when Redis is down
 * (*unavailable set) or out of memory. */
static json_t *rolling_metrics(struct svc_call *c, const char *name, int *unavailable)
{
    struct feedback_window w;
    int rv = feedback_window_read(svc_kv(c), svc_project(c), name, &w);
    *unavailable = rv == AIOPS_EUNAVAIL;
    if (rv != 0)
        return NULL;
    /* every entry of a model has its number of classes: the newest says */
    size_t classes = w.n ? w.classes[w.n - 1] : 0;
    json_t *o = NULL;
    int failed = eval_feedback(w.pred, w.actual, w.n, classes, &o) != 0;
    feedback_window_free(&w);
    if (!failed)
        jsonx_set_or_fail(o, "model_name", json_string(name), &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void handle_models_metrics(struct svc_call *c)
{
    char name[136];
    if (monitor_latest_model(c, name, sizeof name) != 0)
        return;
    if (!registry_name_valid(name)) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
        return;
    }
    int unavailable;
    json_t *m = rolling_metrics(c, name, &unavailable);
    if (m == NULL)
        svc_reply_failure(c, unavailable ? AIOPS_EUNAVAIL : AIOPS_ENOMEM, "reading feedback");
    else
        svc_reply_json(c, 200, m);
}

/* One request's kept predictions (svc-train/window.c layout). */
struct kept {
    char reqid[40];
    int found;
    int version, regression;
    uint32_t n;
    uint32_t ab_test, ab_arm; /* the A/B test whose arm answered (ab_test 0: none) */
    const char *pred; /* n f64 values inside reply, unaligned: read with memcpy */
    redisReply *reply;
};

static void kept_load(struct svc_call *c, const char *name, const char *reqid, struct kept *k)
{
    freeReplyObject(k->reply);
    memset(k, 0, sizeof *k);
    snprintf(k->reqid, sizeof k->reqid, "%s", reqid);
    k->reply = kv_command(svc_kv(c), "GET aiops:pred:%s:%s", svc_project(c), reqid);
    const redisReply *r = k->reply;
    if (r == NULL || r->type != REDIS_REPLY_STRING)
        return;
    size_t namelen = strnlen(r->str, r->len);
    if (namelen == r->len || strcmp(r->str, name) != 0 || r->len - namelen - 1 < 12)
        return;
    uint32_t hdr[3];
    memcpy(hdr, r->str + namelen + 1, 12);
    size_t preds = (size_t)hdr[2] * sizeof(double), rest = r->len - namelen - 13;
    if (rest != preds && rest != preds + 8) /* + 8: the A/B test and arm */
        return;
    if (rest == preds + 8) {
        memcpy(&k->ab_test, r->str + namelen + 13 + preds, 4);
        memcpy(&k->ab_arm, r->str + namelen + 17 + preds, 4);
    }
    k->version = (int)hdr[0];
    k->regression = hdr[1] != 0;
    k->n = hdr[2];
    k->pred = r->str + namelen + 13;
    k->found = 1;
}

/* The class index of label for m, or -1. */
static long class_of(const struct model *m, const json_t *label)
{
    char text[128];
    if (json_is_string(label))
        snprintf(text, sizeof text, "%s", json_string_value(label));
    else if (json_is_integer(label))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(label));
    else if (json_is_real(label))
        snprintf(text, sizeof text, "%.17g", json_real_value(label));
    else if (json_is_boolean(label))
        snprintf(text, sizeof text, "%s", json_is_true(label) ? "true" : "false");
    else
        return -1;
    for (size_t k = 0; k < m->target.nclasses; k++) {
        const char *lab = m->target.labels[k];
        if (strcmp(lab, text) == 0)
            return (long)k;
        if (m->target.numeric_labels && !json_is_string(label) &&
            strtod(lab, NULL) == json_number_value(label))
            return (long)k;
    }
    return -1;
}

/* Item i of a feedback batch: {"id", "label"} or {"id", "value"}. */
static int check_feedback_item(struct svc_call *c, const json_t *it, size_t i)
{
    const json_t *id = json_object_get(it, "id");
    const json_t *label = json_object_get(it, "label"), *value = json_object_get(it, "value");
    const char *why = NULL;
    if (!json_is_object(it))
        why = "must be an object";
    else if (!json_is_string(id) || json_string_length(id) > 80)
        why = "needs an \"id\" string (as /predict answered it)";
    else if ((label == NULL) == (value == NULL))
        why = "needs exactly one of \"label\" (classification) or \"value\" (regression)";
    else if (value != NULL && (!json_is_number(value) || !isfinite(json_number_value(value))))
        why = "\"value\" must be a finite number";
    else if (label != NULL && !json_is_string(label) && !json_is_number(label) &&
             !json_is_boolean(label))
        why = "\"label\" must be a string, a number or a boolean";
    if (why == NULL)
        return AIOPS_OK;
    char field[48];
    snprintf(field, sizeof field, "feedback[%zu]", i);
    svc_reply_field(c, API_INVALID_REQUEST, field, "%s %s", field, why);
    return AIOPS_EINVAL;
}

/* The feedback of predictions an A/B test's arm answered, stored for GET
 * /api/v1/models/{name}/ab-tests/{id} (svc-train/abtest.c) in one statement per batch. */
struct ab_batch {
    struct buf test, id, arm, pred, actual, classes; /* PostgreSQL array literals' items */
    size_t n;
};

static void ab_batch_add(struct ab_batch *b, const struct kept *k, const char *id, double pred,
                         double actual, size_t classes)
{
    const char *sep = b->n ? "," : "";
    /* ids are "{uuid}:{row}" (checked): nothing in them needs quoting */
    buf_printf(&b->test, "%s%u", sep, k->ab_test);
    buf_printf(&b->id, "%s%s", sep, id);
    buf_printf(&b->arm, "%s%s", sep, k->ab_arm ? "challenger" : "champion");
    buf_printf(&b->pred, "%s%.17g", sep, pred);
    buf_printf(&b->actual, "%s%.17g", sep, actual);
    buf_printf(&b->classes, "%s%zu", sep, classes);
    b->n++;
}

/* Stores the batch (a prediction's first feedback counts: the arm's sample has each
 * prediction once) and frees it. 0, or the error (logged: the rolling window has it). */
static int ab_batch_store(struct svc_call *c, struct ab_batch *b)
{
    struct buf *parts[6] = {&b->test, &b->id, &b->arm, &b->pred, &b->actual, &b->classes};
    char *arrays[6] = {0};
    int rv = AIOPS_OK;
    for (int i = 0; i < 6 && rv == 0 && b->n > 0; i++) {
        size_t len = parts[i]->len;
        arrays[i] = malloc(len + 3);
        if (arrays[i] == NULL) {
            rv = AIOPS_ENOMEM;
            break;
        }
        arrays[i][0] = '{';
        memcpy(arrays[i] + 1, parts[i]->data, len);
        memcpy(arrays[i] + 1 + len, "}", 2);
    }
    if (rv == 0 && b->n > 0)
        rv = db_execv(svc_db(c), NULL,
                      "INSERT INTO ab_test_feedback (test_id, prediction_id, arm, predicted,"
                      " actual, classes) SELECT f.* FROM unnest($1::int[], $2::text[], $3::text[],"
                      " $4::float8[], $5::float8[], $6::int[]) AS f (t, p, a, x, y, k)"
                      " WHERE EXISTS (SELECT 1 FROM ab_tests WHERE ab_tests.id = f.t)"
                      " ON CONFLICT (test_id, prediction_id) DO NOTHING",
                      6, (const char *const *)arrays);
    if (rv != 0)
        log_warn("A/B test feedback of %zu predictions not stored: %s", b->n, aiops_strerror(rv));
    for (int i = 0; i < 6; i++) {
        free(arrays[i]);
        buf_free(parts[i]);
    }
    return rv;
}

void handle_models_feedback(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    if (!registry_name_valid(name)) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "name", name));
        return;
    }
    json_t *body, *items;
    if (svc_json_body_array(c, "feedback", FEEDBACK_MAX_ITEMS,
                            "objects {\"id\", \"label\"} or {\"id\", \"value\"}",
                            check_feedback_item, &body, &items) != 0)
        return;
    size_t i;
    json_t *it;
    json_t *unknown = json_array();
    struct kept k = {0};
    struct cached_model *cm = NULL;
    size_t accepted = 0;
    long window = metrics_window();
    int redis_down = 0;
    struct ab_batch ab = {0};
    json_array_foreach(items, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *colon = strrchr(id, ':');
        char reqid[40] = "";
        char *end;
        unsigned long row = 0;
        const char *reason = "unknown id";
        if (colon != NULL && colon - id == 36) {
            memcpy(reqid, id, 36);
            reqid[36] = '\0';
            row = strtoul(colon + 1, &end, 10);
            if (!uuid_valid(reqid) || end == colon + 1 || *end != '\0')
                reqid[0] = '\0';
        }
        if (reqid[0] != '\0') {
            if (strcmp(k.reqid, reqid) != 0)
                kept_load(c, name, reqid, &k);
            if (k.reply == NULL) {
                redis_down = 1;
                break;
            }
        }
        int ok = reqid[0] != '\0' && k.found && row < k.n;
        double actual = NAN;
        size_t classes = 0;
        if (ok && (cm == NULL || cm->version != k.version)) {
            monitor_model_put(cm);
            if ((cm = monitor_model(c, name, k.version)) == NULL) {
                freeReplyObject(k.reply);
                json_decref(unknown);
                json_decref(body);
                return; /* answered */
            }
        }
        if (ok && k.regression) {
            ok = json_is_number(json_object_get(it, "value"));
            actual = json_number_value(json_object_get(it, "value"));
            reason = "a regression model's feedback takes \"value\"";
        } else if (ok) {
            long cls = class_of(cm->m, json_object_get(it, "label"));
            ok = cls >= 0;
            actual = (double)cls;
            classes = cm->m->target.nclasses;
            reason = "a label the model does not know";
        }
        if (!ok) {
            json_array_append_new(unknown, json_pack("{s:s, s:s}", "id", id, "reason", reason));
            continue;
        }
        double predicted;
        memcpy(&predicted, k.pred + row * sizeof(double), sizeof predicted);
        char entry[96];
        snprintf(entry, sizeof entry, "%.17g %.17g %zu", predicted, actual, classes);
        redisReply *r =
            kv_command(svc_kv(c), "RPUSH aiops:feedback:%s:%s %s", svc_project(c), name, entry);
        redis_down = r == NULL || r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        if (redis_down)
            break;
        accepted++;
        if (k.ab_test != 0)
            ab_batch_add(&ab, &k, id, predicted, actual, classes);
    }
    freeReplyObject(k.reply);
    monitor_model_put(cm);
    if (!redis_down)
        ab_batch_store(c, &ab);
    json_decref(body);
    if (redis_down) {
        json_decref(unknown);
        svc_reply_failure(c, AIOPS_EUNAVAIL, "storing feedback");
        return;
    }
    redisReply *r =
        kv_command(svc_kv(c), "LTRIM aiops:feedback:%s:%s %ld -1", svc_project(c), name, -window);
    freeReplyObject(r);
    int unavailable;
    json_t *metrics = rolling_metrics(c, name, &unavailable);
    if (metrics == NULL) {
        json_decref(unknown);
        svc_reply_failure(c, unavailable ? AIOPS_EUNAVAIL : AIOPS_ENOMEM, "reading feedback");
        return;
    }
    const json_t *acc = json_object_get(metrics, "accuracy");
    double threshold = accuracy_threshold();
    if (acc != NULL && json_real_value(acc) < threshold &&
        json_integer_value(json_object_get(metrics, "feedback_count")) >= MIN_FEEDBACK_FOR_ALERT &&
        alert_due(name)) {
        char msg[200];
        snprintf(msg, sizeof msg, "accuracy of %s fell to %.3f (threshold %.2f)", name,
                 json_real_value(acc), threshold);
        alerts_raise(svc_of(c), svc_project(c),
                     json_pack("{s:s, s:s, s:O}", "severity", "warning", "message", msg, "metrics",
                               metrics));
    }
    svc_reply_json(c, 200,
                   json_pack("{s:I, s:o, s:o}", "accepted", (json_int_t)accepted, "unknown_ids",
                             unknown, "metrics", metrics));
}
