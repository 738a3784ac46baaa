/* Live A/B tests (issue 9):
 *
 *   POST /api/v1/models/{name}/ab-tests  {"challenger_version", "traffic_share"} -> 201
 *   GET  /api/v1/models/{name}/ab-tests            every test of the model, newest first
 *                                                  (?status=running|stopped), each as GET {id}
 *   GET  /api/v1/models/{name}/ab-tests/{id}       traffic, metrics per arm, p-value, verdict
 *   POST /api/v1/models/{name}/ab-tests/{id}/stop  promotes the challenger when significantly
 *                                                  better, else the champion stays; the
 *                                                  decision goes to /ws/performance as
 *                                                  ab_test_stopped (verdict, promoted)
 *
 * While a test runs, a predict request that names no version or alias (serve.c) is answered
 * by the challenger with probability traffic_share: by a hash of its routing_key when it has
 * one (the same key, the same arm), else at random. The arms are the champion when the test
 * started and the challenger. Serving reads the running test from a cache refreshed once a
 * second, never from PostgreSQL per request. Label feedback reaches the arm that answered
 * (svc-monitor/feedback.c stores it in ab_test_feedback, migrations/0013_ab_tests.sql).
 *
 * The arms' predictions are not paired (each request is answered by one arm), so the tests
 * are the unpaired ones of lib/math/signif.h: classification compares the arms' accuracy by
 * the chi-square test of the 2 x 2 table arm x (right, wrong) (Yates-corrected, the
 * two-proportion test); regression compares their squared errors by Welch's t-test. The
 * level is the retrain's (RETRAIN_SIGNIFICANCE_LEVEL), and the decision is stored like a
 * retrain's (retrain_record: shown as GET /api/v1/models/info's last_decision) and with the
 * test. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/rand.h"
#include "core/time.h"
#include "math/signif.h"
#include "ml/eval.h"
#include "ml/modelcache.h"
#include "store/kv.h"
#include "store/registry.h"
#include "train_svc.h"

#define AB_TTL_NS 1000000000ull
#define AB_SLOTS 256
#define DEFAULT_SHARE 0.1

/* --- the serving side: which test runs, which arm answers, traffic ---------------------- */

struct ab_slot {
    char project[72], name[136];
    struct ab_arm arm; /* test_id 0: none runs */
    uint64_t at;       /* when read (time_mono_ns); 0: free */
};

static struct {
    pthread_mutex_t mu;
    struct ab_slot slot[AB_SLOTS];
} running = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Traffic per running test since the last flush. */
struct ab_traffic {
    char project[72];
    int test_id;
    long long requests[2], rows[2]; /* [0] the champion, [1] the challenger */
};

static struct {
    pthread_mutex_t mu;
    struct ab_traffic t[AB_SLOTS];
    size_t n;
} traffic = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct ab_slot *slot_find(const char *project, const char *name)
{
    for (size_t i = 0; i < AB_SLOTS; i++)
        if (running.slot[i].at != 0 && strcmp(running.slot[i].name, name) == 0 &&
            strcmp(running.slot[i].project, project) == 0)
            return &running.slot[i];
    return NULL;
}

/* Forgets what is cached of a model's test (after a start or stop here). */
static void abtest_forget(const char *project, const char *name)
{
    pthread_mutex_lock(&running.mu);
    struct ab_slot *s = slot_find(project, name);
    if (s != NULL)
        s->at = 0;
    pthread_mutex_unlock(&running.mu);
}

/* The running test of a model from PostgreSQL. */
static int read_running(struct db *db, const char *project, const char *name, struct ab_arm *arm)
{
    const char *v[2] = {project, name};
    PGresult *r = NULL;
    memset(arm, 0, sizeof *arm);
    int rv = db_execv(db, &r,
                      "SELECT id, champion_version, challenger_version, traffic_share FROM ab_tests"
                      " WHERE project_id = $1 AND model_name = $2 AND status = 'running'",
                      2, v);
    if (rv == 0 && PQntuples(r) == 1) {
        arm->test_id = atoi(PQgetvalue(r, 0, 0));
        arm->champion_version = atoi(PQgetvalue(r, 0, 1));
        arm->challenger_version = atoi(PQgetvalue(r, 0, 2));
        arm->share = strtod(PQgetvalue(r, 0, 3), NULL);
    }
    PQclear(r);
    return rv;
}

void abtest_running(struct svc_call *c, const char *name, struct ab_arm *arm)
{
    const char *project = svc_project(c);
    uint64_t now = time_mono_ns();
    pthread_mutex_lock(&running.mu);
    struct ab_slot *s = slot_find(project, name);
    int fresh = s != NULL && now - s->at < AB_TTL_NS;
    if (fresh)
        *arm = s->arm;
    pthread_mutex_unlock(&running.mu);
    if (fresh)
        return;
    int rv = read_running(svc_db(c), project, name, arm);
    if (rv != 0) { /* PostgreSQL down: the champion answers, as if no test ran */
        log_warn("the A/B test of %s is unknown (%s): the champion answers", name,
                 aiops_strerror(rv));
        memset(arm, 0, sizeof *arm);
        return;
    }
    pthread_mutex_lock(&running.mu);
    s = slot_find(project, name);
    for (size_t i = 0; s == NULL && i < AB_SLOTS; i++) /* a free slot */
        if (running.slot[i].at == 0)
            s = &running.slot[i];
    for (size_t i = 0; s == NULL && i < AB_SLOTS; i++) /* else the oldest */
        if (i == 0 || running.slot[i].at < s->at)
            s = &running.slot[i];
    snprintf(s->project, sizeof s->project, "%s", project);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->arm = *arm;
    s->at = now ? now : 1;
    pthread_mutex_unlock(&running.mu);
}

uint64_t abtest_key_hash(const void *key, size_t len)
{
    uint8_t d[32];
    sha256(key, len, d);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | d[i];
    return h;
}

void abtest_choose(struct ab_arm *arm, int has_key, uint64_t key_hash)
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    double u;
    if (has_key) {
        u = (double)(key_hash >> 11) * 0x1.0p-53; /* uniform in [0, 1) */
    } else {
        if (!seeded) {
            if (random_bytes(&state, sizeof state) != 0)
                state = time_mono_ns() ^ (uint64_t)(uintptr_t)&state;
            seeded = 1;
        }
        u = rand_unit(&state);
    }
    arm->challenger = u < arm->share;
    arm->version = arm->challenger ? arm->challenger_version : arm->champion_version;
}

void abtest_count(const char *project, const struct ab_arm *arm, size_t rows)
{
    pthread_mutex_lock(&traffic.mu);
    struct ab_traffic *t = NULL;
    for (size_t i = 0; i < traffic.n && t == NULL; i++)
        if (traffic.t[i].test_id == arm->test_id && strcmp(traffic.t[i].project, project) == 0)
            t = &traffic.t[i];
    if (t == NULL && traffic.n < AB_SLOTS) {
        t = &traffic.t[traffic.n++];
        memset(t, 0, sizeof *t);
        snprintf(t->project, sizeof t->project, "%s", project);
        t->test_id = arm->test_id;
    }
    if (t != NULL) {
        t->requests[arm->challenger != 0]++;
        t->rows[arm->challenger != 0] += (long long)rows;
    }
    pthread_mutex_unlock(&traffic.mu);
}

void abtest_flush(struct kv *kv)
{
    static struct ab_traffic batch[AB_SLOTS];
    pthread_mutex_lock(&traffic.mu);
    size_t n = traffic.n;
    memcpy(batch, traffic.t, n * sizeof batch[0]);
    traffic.n = 0;
    pthread_mutex_unlock(&traffic.mu);
    static const char *const arms[2] = {"champion", "challenger"};
    for (size_t i = 0; i < n; i++) {
        char key[120];
        snprintf(key, sizeof key, "aiops:abtest:%.71s:%d", batch[i].project, batch[i].test_id);
        int ok = 1;
        for (int a = 0; a < 2 && ok; a++) {
            redisReply *r =
                kv_command(kv, "HINCRBY %s %s_requests %lld", key, arms[a], batch[i].requests[a]);
            ok = r != NULL;
            freeReplyObject(r);
            r = ok ? kv_command(kv, "HINCRBY %s %s_rows %lld", key, arms[a], batch[i].rows[a])
                   : NULL;
            ok = r != NULL;
            freeReplyObject(r);
        }
        if (!ok)
            log_warn("A/B test traffic for %s not written: Redis unavailable", key);
    }
}

/* --- the comparison --------------------------------------------------------------------- */

#define TEST_COLUMNS                                                                               \
    "id, model_name, status, champion_version, challenger_version, traffic_share, metric,"         \
    " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                \
    " coalesce(to_char(stopped_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''),"  \
    " coalesce(decision::text, '')"

/* Row `row` of a TEST_COLUMNS result as the API shows it (without the report). */
static json_t *test_json(PGresult *r, int row)
{
    const char *stopped = PQgetvalue(r, row, 8), *decision = PQgetvalue(r, row, 9);
    return json_pack("{s:i, s:s, s:s, s:i, s:i, s:o, s:s, s:s, s:o, s:o}", "id",
                     atoi(PQgetvalue(r, row, 0)), "model_name", PQgetvalue(r, row, 1), "status",
                     PQgetvalue(r, row, 2), "champion_version", atoi(PQgetvalue(r, row, 3)),
                     "challenger_version", atoi(PQgetvalue(r, row, 4)), "traffic_share",
                     jsonx_num(strtod(PQgetvalue(r, row, 5), NULL), 0), "metric",
                     PQgetvalue(r, row, 6), "started_at", PQgetvalue(r, row, 7), "stopped_at",
                     stopped[0] ? json_string(stopped) : json_null(), "decision",
                     decision[0] ? json_loads(decision, 0, NULL) : json_null());
}

/* The labelled predictions of one arm. */
struct arm_feedback {
    double *pred, *actual;
    size_t n, classes;
};

/* The arms' feedback of test id: [0] the champion's, [1] the challenger's. */
static int read_feedback(struct db *db, const char *id, struct arm_feedback arms[2])
{
    const char *v[1] = {id};
    PGresult *r = NULL;
    int rv = db_execv(db, &r,
                      "SELECT arm = 'challenger', predicted, actual, classes FROM ab_test_feedback"
                      " WHERE test_id = $1::int",
                      1, v);
    size_t rows = rv == 0 ? (size_t)PQntuples(r) : 0;
    for (int a = 0; a < 2 && rv == 0; a++) {
        arms[a].pred = malloc((rows ? rows : 1) * 2 * sizeof(double));
        if (arms[a].pred == NULL)
            rv = AIOPS_ENOMEM;
        else
            arms[a].actual = arms[a].pred + rows;
    }
    for (size_t i = 0; i < rows && rv == 0; i++) {
        struct arm_feedback *f = &arms[PQgetvalue(r, (int)i, 0)[0] == 't'];
        f->pred[f->n] = strtod(PQgetvalue(r, (int)i, 1), NULL);
        f->actual[f->n] = strtod(PQgetvalue(r, (int)i, 2), NULL);
        f->classes = (size_t)atoi(PQgetvalue(r, (int)i, 3));
        f->n++;
    }
    PQclear(r);
    return rv;
}

/* The test of the arms' metric (regression: squared errors) into v; *better: the
 * challenger's is the better one. */
static int compare_arms(const struct arm_feedback arms[2], int regression,
                        struct retrain_verdict *v, int *better)
{
    double metric[2] = {NAN, NAN};
    struct signif_result res;
    if (regression) {
        double *sq[2] = {NULL, NULL};
        for (int a = 0; a < 2; a++) {
            sq[a] = malloc((arms[a].n ? arms[a].n : 1) * sizeof(double));
            double sum = 0;
            for (size_t i = 0; sq[a] != NULL && i < arms[a].n; i++) {
                double e = arms[a].pred[i] - arms[a].actual[i];
                sq[a][i] = e * e;
                sum += e * e;
            }
            metric[a] = arms[a].n ? sqrt(sum / (double)arms[a].n) : NAN;
        }
        if (sq[0] == NULL || sq[1] == NULL) {
            free(sq[0]);
            free(sq[1]);
            return AIOPS_ENOMEM;
        }
        signif_welch(sq[1], arms[1].n, sq[0], arms[0].n, &res);
        free(sq[0]);
        free(sq[1]);
        *better = metric[1] < metric[0];
    } else {
        uint64_t table[4]; /* rows: champion, challenger; columns: right, wrong */
        for (int a = 0; a < 2; a++) {
            uint64_t right = 0;
            for (size_t i = 0; i < arms[a].n; i++)
                right += arms[a].pred[i] == arms[a].actual[i];
            table[2 * a] = right;
            table[2 * a + 1] = arms[a].n - right;
            metric[a] = arms[a].n ? (double)right / (double)arms[a].n : NAN;
        }
        /* a table with an empty row or column has one degree of freedom less: undefined */
        signif_chi2(table, 2, 2, &res);
        if (res.df != 1)
            res.p = NAN;
        *better = metric[1] > metric[0];
    }
    v->champion_metric = metric[0];
    v->challenger_metric = metric[1];
    v->p_value = arms[0].n >= 2 && arms[1].n >= 2 ? res.p : NAN;
    v->rows = arms[0].n + arms[1].n;
    return AIOPS_OK;
}

static const char *verdict_name(const struct retrain_verdict *v, int better)
{
    if (isnan(v->p_value))
        return "insufficient_data";
    if (v->p_value >= v->level)
        return "no_significant_difference";
    return better ? "challenger_better" : "champion_better";
}

/* The report of a test (row `row` of r, TEST_COLUMNS): traffic and metrics per arm, the
 * test, its p-value and the verdict into *out; v and *better for a decision. 0; an error
 * after replying. */
static int test_report(struct svc_call *c, PGresult *r, int row, struct retrain_verdict *v,
                       int *better, json_t **out)
{
    const char *id = PQgetvalue(r, row, 0);
    int regression = strcmp(PQgetvalue(r, row, 6), "rmse") == 0;
    memset(v, 0, sizeof *v);
    v->champion_version = atoi(PQgetvalue(r, row, 3));
    v->level = retrain_significance_level();
    snprintf(v->metric, sizeof v->metric, "%s", regression ? "rmse" : "accuracy");
    snprintf(v->test, sizeof v->test, "%s", regression ? "welch_t" : "chi2");
    struct arm_feedback arms[2];
    memset(arms, 0, sizeof arms);
    int rv = read_feedback(svc_db(c), id, arms);
    if (rv == 0)
        rv = compare_arms(arms, regression, v, better);
    redisReply *t =
        rv == 0 ? kv_command(svc_kv(c), "HGETALL aiops:abtest:%s:%s", svc_project(c), id) : NULL;
    json_t *arm_json[2] = {NULL, NULL};
    static const char *const names[2] = {"champion", "challenger"};
    for (int a = 0; a < 2 && rv == 0; a++) {
        json_t *metrics = NULL;
        long long counts[2] = {0, 0}; /* requests, rows */
        for (size_t i = 0; t != NULL && t->type == REDIS_REPLY_ARRAY && i + 1 < t->elements; i += 2)
            for (int k = 0; k < 2; k++) {
                char field[32];
                snprintf(field, sizeof field, "%s_%s", names[a], k ? "rows" : "requests");
                if (strcmp(t->element[i]->str, field) == 0)
                    counts[k] = strtoll(t->element[i + 1]->str, NULL, 10);
            }
        rv = eval_feedback(arms[a].pred, arms[a].actual, arms[a].n,
                           regression ? 0 : arms[a].classes, &metrics);
        if (rv == 0)
            arm_json[a] = json_pack(
                "{s:i, s:I, s:I, s:o}", "version", atoi(PQgetvalue(r, row, a ? 4 : 3)), "requests",
                (json_int_t)counts[0], "rows", (json_int_t)counts[1], "metrics", metrics);
    }
    if (rv == 0 && (t == NULL || t->type != REDIS_REPLY_ARRAY))
        rv = AIOPS_EUNAVAIL;
    freeReplyObject(t);
    for (int a = 0; a < 2; a++)
        free(arms[a].pred);
    *out = NULL;
    if (rv == 0) {
        *out = test_json(r, row);
        json_object_set_new(
            *out, "arms",
            json_pack("{s:o, s:o}", "champion", arm_json[0], "challenger", arm_json[1]));
        json_object_set_new(*out, "test", json_string(v->test));
        json_object_set_new(*out, "p_value", jsonx_num(v->p_value, 0));
        json_object_set_new(*out, "significance_level", jsonx_num(v->level, 0));
        json_object_set_new(*out, "labelled_predictions", json_integer((json_int_t)v->rows));
        json_object_set_new(*out, "verdict", json_string(verdict_name(v, *better)));
    } else {
        json_decref(arm_json[0]);
        json_decref(arm_json[1]);
        svc_reply_failure(c, rv, "reading the A/B test");
    }
    return rv;
}

/* --- the routes -------------------------------------------------------------------------- */

/* The test {id} of model {name} (TEST_COLUMNS; FOR UPDATE with lock). 0 with *r; an error
 * after replying (404 for a test of another model or none). */
static int read_test(struct svc_call *c, int lock, PGresult **r)
{
    const char *name = svc_param(c, 0);
    long id;
    *r = NULL;
    if (svc_parse_long(c, API_INVALID_PARAMETER, "id", svc_param(c, 1), 1, 2147483647, &id) != 0)
        return AIOPS_EINVAL;
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%ld", id);
    const char *v[3] = {svc_project(c), name, idbuf};
    int rv = db_execv_one(svc_db(c), r,
                          lock ? "SELECT " TEST_COLUMNS " FROM ab_tests WHERE project_id = $1 AND"
                                 " model_name = $2 AND id = $3::int FOR UPDATE"
                               : "SELECT " TEST_COLUMNS " FROM ab_tests WHERE project_id = $1 AND"
                                 " model_name = $2 AND id = $3::int",
                          3, v);
    if (rv == AIOPS_ENOTFOUND &&
        (!registry_name_valid(name) ||
         registry_model_exists(svc_db(c), svc_project(c), name) == AIOPS_ENOTFOUND))
        reply_model_not_found(c, name);
    else if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_AB_TEST_NOT_FOUND, NULL,
                        json_pack("{s:s, s:I}", "name", name, "id", (json_int_t)id));
    else if (rv != 0)
        svc_reply_failure(c, rv, "reading the A/B test");
    return rv;
}

void handle_ab_get(struct svc_call *c)
{
    PGresult *r;
    if (read_test(c, 0, &r) != 0)
        return;
    struct retrain_verdict v;
    int better = 0;
    json_t *report;
    if (test_report(c, r, 0, &v, &better, &report) == 0)
        svc_reply_json(c, 200, report);
    PQclear(r);
}

void handle_ab_list(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    char status[16];
    if (svc_query_text(c, "status", status, sizeof status) == AIOPS_EINVAL)
        return;
    if (status[0] && strcmp(status, "running") != 0 && strcmp(status, "stopped") != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "status", "status must be running or stopped");
        return;
    }
    int rv = registry_name_valid(name) ? registry_model_exists(svc_db(c), svc_project(c), name)
                                       : AIOPS_ENOTFOUND;
    if (rv == AIOPS_ENOTFOUND) {
        reply_model_not_found(c, name);
        return;
    }
    const char *v[3] = {svc_project(c), name, status[0] ? status : NULL};
    PGresult *r = NULL;
    if (rv == 0)
        rv = db_execv(svc_db(c), &r,
                      "SELECT " TEST_COLUMNS " FROM ab_tests WHERE project_id = $1 AND"
                      " model_name = $2 AND ($3::text IS NULL OR status = $3)"
                      " ORDER BY started_at DESC, id DESC",
                      3, v);
    if (rv != 0) {
        PQclear(r);
        svc_reply_failure(c, rv, "listing the A/B tests");
        return;
    }
    json_t *tests = json_array();
    for (int i = 0; i < PQntuples(r) && rv == 0; i++) {
        struct retrain_verdict verdict;
        int better = 0;
        json_t *report;
        rv = test_report(c, r, i, &verdict, &better, &report); /* answered when it fails */
        if (rv == 0)
            json_array_append_new(tests, report);
    }
    PQclear(r);
    if (rv == 0)
        svc_reply_json(c, 200,
                       json_pack("{s:s, s:I, s:o}", "model_name", name, "total",
                                 (json_int_t)json_array_size(tests), "ab_tests", tests));
    else
        json_decref(tests);
}

/* challenger_version and traffic_share of a start's body. 0; an error after replying 422
 * naming the field. */
static int read_start(struct svc_call *c, const json_t *body, int *version, double *share)
{
    const json_t *jv = json_object_get(body, "challenger_version");
    const json_t *js = json_object_get(body, "traffic_share");
    *share = js != NULL ? json_number_value(js) : DEFAULT_SHARE;
    if (jv == NULL || !json_is_integer(jv) || json_integer_value(jv) < 1 ||
        json_integer_value(jv) > REGISTRY_MAX_VERSION) {
        svc_reply_field(c, API_INVALID_REQUEST, "challenger_version",
                        "challenger_version (the version to test against the champion) must be a"
                        " whole number from 1 to %d",
                        REGISTRY_MAX_VERSION);
        return AIOPS_EINVAL;
    }
    if (js != NULL && (!json_is_number(js) || !(*share > 0 && *share < 1))) {
        svc_reply_field(c, API_INVALID_REQUEST, "traffic_share",
                        "traffic_share (the share of requests the challenger answers) must be a"
                        " number between 0 and 1, both excluded");
        return AIOPS_EINVAL;
    }
    *version = (int)json_integer_value(jv);
    return AIOPS_OK;
}

/* Whether the challenger can be compared with the champion: 0 with *metric ("accuracy" or
 * "rmse"); an error after replying (404 for an unknown version, 422 naming
 * challenger_version). */
static int comparable(struct svc_call *c, const char *name, int champion, int challenger,
                      const char **metric)
{
    char a[16], b[16];
    snprintf(a, sizeof a, "%d", champion);
    snprintf(b, sizeof b, "%d", challenger);
    struct cached_model *ca = NULL, *cb = serve_model_get(c, name, b);
    if (cb != NULL)
        ca = serve_model_get(c, name, a);
    int rv = ca != NULL ? AIOPS_OK : AIOPS_ENOTFOUND;
    if (rv == 0 && challenger == champion) {
        svc_reply_field(c, API_INVALID_REQUEST, "challenger_version",
                        "version %d is the champion of %s: test another version", challenger, name);
        rv = AIOPS_EINVAL;
    } else if (rv == 0 && (ca->m->target.task == TASK_NONE || !retrain_same_target(ca->m, cb->m))) {
        svc_reply_field(c, API_INVALID_REQUEST, "challenger_version",
                        "version %d of %s does not predict the champion's target with its classes"
                        " (or is not a supervised model): their feedback cannot be compared",
                        challenger, name);
        rv = AIOPS_EINVAL;
    }
    if (rv == 0)
        *metric = ca->m->target.task == TASK_REGRESSION ? "rmse" : "accuracy";
    serve_model_put(ca);
    serve_model_put(cb);
    return rv;
}

/* 409 ab_test_running naming the running test of name. */
static void reply_running(struct svc_call *c, const char *name)
{
    struct ab_arm arm;
    int rv = read_running(svc_db(c), svc_project(c), name, &arm);
    svc_reply_error(c, API_AB_TEST_RUNNING, NULL,
                    rv == 0 && arm.test_id
                        ? json_pack("{s:s, s:i}", "name", name, "running_test_id", arm.test_id)
                        : json_pack("{s:s}", "name", name));
}

void handle_ab_create(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    const char *project = svc_project(c);
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    int challenger = 0, champion = 0;
    double share = DEFAULT_SHARE;
    const char *metric = NULL;
    int rv = read_start(c, body, &challenger, &share);
    json_decref(body);
    if (rv != 0)
        return;
    if (!registry_name_valid(name)) {
        reply_model_not_found(c, name);
        return;
    }
    rv = registry_resolve(svc_db(c), project, name, NULL, &champion);
    if (rv == AIOPS_ENOTFOUND)
        reply_model_not_found(c, name);
    else if (rv != 0)
        svc_reply_failure(c, rv, "finding the champion");
    if (rv != 0 || comparable(c, name, champion, challenger, &metric) != 0)
        return;
    char chv[16], cv[16], sh[32];
    snprintf(chv, sizeof chv, "%d", champion);
    snprintf(cv, sizeof cv, "%d", challenger);
    snprintf(sh, sizeof sh, "%.17g", share);
    const char *v[6] = {project, name, chv, cv, sh, metric};
    PGresult *r = NULL;
    rv = db_execv_one(svc_db(c), &r,
                      "INSERT INTO ab_tests (project_id, model_name, champion_version,"
                      " challenger_version, traffic_share, metric) VALUES ($1, $2, $3::int,"
                      " $4::int, $5::float8, $6) RETURNING " TEST_COLUMNS,
                      6, v);
    if (rv == AIOPS_EEXIST) {
        reply_running(c, name);
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "starting the A/B test");
        return;
    }
    abtest_forget(project, name);
    json_t *test = test_json(r, 0);
    log_json(LOG_LEVEL_INFO, "A/B test started", json_incref(test));
    svc_reply_json(c, 201, test);
    PQclear(r);
}

/* Stops the test of row r: the decision (retrain_record: promotes when the challenger is
 * significantly better and the champion is still the test's), stored with the test, in the
 * caller's transaction. *out: the test as the stop answers it. */
static int stop_test(struct svc_call *c, PGresult *r, json_t **out)
{
    const char *name = svc_param(c, 0), *id = PQgetvalue(r, 0, 0);
    struct retrain_verdict v;
    int better = 0;
    json_t *report = NULL, *decision = NULL;
    if (test_report(c, r, 0, &v, &better, &report) != 0)
        return AIOPS_EINVAL; /* answered */
    retrain_decide(&v, better, "labelled predictions");
    int rv = retrain_record(svc_db(c), svc_project(c), name, NULL, atoi(PQgetvalue(r, 0, 4)), &v,
                            &decision);
    if (rv == 0) {
        json_object_set(decision, "verdict", json_object_get(report, "verdict"));
        json_object_set(decision, "arms", json_object_get(report, "arms"));
        char *text = json_dumps(decision, JSON_COMPACT);
        const char *p[3] = {text, svc_project(c), id};
        PGresult *u = NULL;
        rv = text == NULL ? AIOPS_ENOMEM
                          : db_execv_one(svc_db(c), &u,
                                         "UPDATE ab_tests SET status = 'stopped', stopped_at ="
                                         " now(), decision = $1::jsonb WHERE project_id = $2 AND"
                                         " id = $3::int RETURNING " TEST_COLUMNS,
                                         3, p);
        free(text);
        if (rv == 0) {
            json_t *stopped = test_json(u, 0);
            json_object_update_missing(stopped, report);
            *out = stopped;
        }
        PQclear(u);
    }
    json_decref(decision);
    json_decref(report);
    if (rv != 0)
        svc_reply_failure(c, rv, "stopping the A/B test");
    return rv;
}

void handle_ab_stop(struct svc_call *c)
{
    const char *name = svc_param(c, 0), *project = svc_project(c);
    struct db *db = svc_db(c);
    int rv = db_begin(db);
    if (rv != 0) {
        svc_reply_failure(c, rv, "stopping the A/B test");
        return;
    }
    PGresult *r = NULL;
    json_t *out = NULL;
    rv = read_test(c, 1, &r);
    if (rv == 0 && strcmp(PQgetvalue(r, 0, 2), "running") != 0) {
        svc_reply_error(c, API_AB_TEST_STOPPED, NULL,
                        json_pack("{s:s, s:i}", "name", name, "id", atoi(PQgetvalue(r, 0, 0))));
        rv = AIOPS_EINVAL;
    }
    if (rv == 0)
        rv = stop_test(c, r, &out);
    PQclear(r);
    if (rv != 0) {
        db_rollback(db);
        return; /* answered */
    }
    rv = db_finish(db, rv);
    if (rv != 0) {
        json_decref(out);
        svc_reply_failure(c, rv, "stopping the A/B test");
        return;
    }
    abtest_forget(project, name);
    serve_forget(project, name); /* the champion may have changed */
    const json_t *d = json_object_get(out, "decision");
    log_json(LOG_LEVEL_INFO, "A/B test stopped",
             json_pack("{s:s, s:O}", "model_name", name, "decision", d));
    /* where the other model events go (retrain_decision, retrain_triggered) */
    svc_publish(svc_of(c), project, "/ws/performance", "ab_test_stopped",
                json_pack("{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "model_name", name,
                          "test_id", json_object_get(out, "id"), "champion_version",
                          json_object_get(d, "champion_version"), "challenger_version",
                          json_object_get(d, "challenger_version"), "verdict",
                          json_object_get(d, "verdict"), "promoted", json_object_get(d, "promoted"),
                          "p_value", json_object_get(d, "p_value"), "reason",
                          json_object_get(d, "reason")));
    svc_reply_json(c, 200, out);
}
