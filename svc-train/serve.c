/* Serving predictions: POST /api/v1/models/{name}/predict and the Open Inference (V2)
 * protocol, from models cached in memory.
 *
 * Models come from lib/ml/modelcache.h (MODEL_CACHE_SIZE versions, default 16, least
 * recently used out first; a version being evicted or replaced is freed only when the last
 * request using it has answered) loaded from lib/store/registry.h. Which version a name (or
 * alias) means is cached for one second: a promotion made through this process is seen at
 * once (serve_forget), one made through another replica within a second -- requests in
 * flight finish on the version they started with, none fails.
 *
 * Every prediction is counted for monitoring: a background thread adds the counts and
 * latencies to Redis once a second (layout below), never on the request's path; the same
 * thread writes the drift window's sample of served rows (window.c). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/env.h"
#include "core/err.h"
#include "core/jscan.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "math/stats.h"
#include "ml/instances.h"
#include "ml/modelcache.h"
#include "ml/segments.h"
#include "rpc/bgthread.h"
#include "store/kv.h"
#include "store/registry.h"
#include "train_svc.h"

#define ALIAS_TTL_NS 1000000000ull
#define STATS_MAX 256

/* Latency buckets (seconds) of the Redis histogram: Prometheus client defaults, finer at
 * the low end where predictions live. */
static const double latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};
#define NBUCKETS (sizeof latency_buckets / sizeof latency_buckets[0])

/* Prediction counts of one model since the last flush. */
struct pred_stats {
    char project[72];
    char name[136];
    long long requests, rows, errors, latency_us;
    long long buckets[NBUCKETS + 1]; /* non-cumulative; last = over the largest bound */
};

static struct {
    struct model_cache *models;

    pthread_mutex_t stats_mu;
    struct pred_stats stats[STATS_MAX];
    size_t nstats;

    struct bg_thread flusher;
    struct svc *svc;
} cache = {.stats_mu = PTHREAD_MUTEX_INITIALIZER};

/* --- the cache ------------------------------------------------------------------------- */

void serve_forget(const char *project, const char *name)
{
    model_cache_forget(cache.models, project, name);
}

/* --- statistics -------------------------------------------------------------------------- */

static void count_prediction(const char *project, const char *name, size_t rows, int error,
                             uint64_t ns)
{
    double sec = (double)ns / 1e9;
    pthread_mutex_lock(&cache.stats_mu);
    struct pred_stats *st = NULL;
    for (size_t i = 0; i < cache.nstats && st == NULL; i++)
        if (strcmp(cache.stats[i].name, name) == 0 && strcmp(cache.stats[i].project, project) == 0)
            st = &cache.stats[i];
    if (st == NULL && cache.nstats < STATS_MAX) {
        st = &cache.stats[cache.nstats++];
        memset(st, 0, sizeof *st);
        snprintf(st->project, sizeof st->project, "%s", project);
        snprintf(st->name, sizeof st->name, "%s", name);
    }
    if (st != NULL) {
        st->requests++;
        st->rows += (long long)rows;
        st->errors += error;
        st->latency_us += (long long)(ns / 1000);
        size_t b = 0;
        while (b < NBUCKETS && sec > latency_buckets[b])
            b++;
        st->buckets[b]++;
    }
    pthread_mutex_unlock(&cache.stats_mu);
}

/* Redis layout (read by monitoring):
 *   aiops:predictions:{project}:{model}            hash: requests, rows, errors, latency_us
 *   aiops:predictions:{project}:{model}:latency    hash: le_<seconds> cumulative counts, le_+Inf
 *   aiops:predictions:{project}:{model}:m:{minute} the first hash's fields per Unix minute,
 *                                                   kept two days */
static void flush_stats(struct kv *kv)
{
    static struct pred_stats batch[STATS_MAX];
    pthread_mutex_lock(&cache.stats_mu);
    size_t n = cache.nstats;
    memcpy(batch, cache.stats, n * sizeof batch[0]);
    cache.nstats = 0;
    pthread_mutex_unlock(&cache.stats_mu);
    long long minute = (long long)(time_now() / 60);
    for (size_t i = 0; i < n; i++) {
        const struct pred_stats *st = &batch[i];
        char key[300], mkey[340];
        snprintf(key, sizeof key, "aiops:predictions:%.71s:%.135s", st->project, st->name);
        snprintf(mkey, sizeof mkey, "%s:m:%lld", key, minute);
        const char *keys[2] = {key, mkey};
        int ok = 1;
        for (int k = 0; k < 2 && ok; k++) {
            redisReply *r = kv_command(kv, "HINCRBY %s requests %lld", keys[k], st->requests);
            ok = r != NULL;
            freeReplyObject(r);
            static const char *const fields[3] = {"rows", "errors", "latency_us"};
            const long long vals[3] = {st->rows, st->errors, st->latency_us};
            for (int f = 0; f < 3 && ok; f++) {
                r = kv_command(kv, "HINCRBY %s %s %lld", keys[k], fields[f], vals[f]);
                ok = r != NULL;
                freeReplyObject(r);
            }
        }
        if (ok) {
            redisReply *r = kv_command(kv, "EXPIRE %s 172800", mkey);
            freeReplyObject(r);
        }
        long long cum = 0;
        char lkey[340];
        snprintf(lkey, sizeof lkey, "%s:latency", key);
        for (size_t b = 0; b <= NBUCKETS && ok; b++) {
            cum += st->buckets[b];
            char field[32];
            if (b < NBUCKETS)
                snprintf(field, sizeof field, "le_%g", latency_buckets[b]);
            else
                snprintf(field, sizeof field, "le_+Inf");
            /* cumulative: a bucket counts every request at or below its bound */
            redisReply *r = kv_command(kv, "HINCRBY %s %s %lld", lkey, field, cum);
            ok = r != NULL;
            freeReplyObject(r);
        }
        if (!ok)
            log_warn("prediction counts for %s not written: Redis unavailable", key);
    }
}

static void *flusher_main(void *arg)
{
    (void)arg;
    struct kv *kv = NULL;
    if (kv_open(svc_redis_url(cache.svc), &kv) != 0)
        kv = NULL;
    while (!bg_thread_sleep(&cache.flusher, 1000))
        if (kv != NULL) {
            flush_stats(kv);
            abtest_flush(kv);
            window_flush(kv);
        }
    if (kv != NULL) {
        flush_stats(kv); /* what came in since the last tick */
        abtest_flush(kv);
        window_flush(kv);
        kv_close(kv);
    }
    return NULL;
}

int serve_start(struct svc *s)
{
    long n;
    if (env_long("MODEL_CACHE_SIZE", 16, 1, 10000, &n) != 0)
        return AIOPS_EINVAL;
    if (window_start() != 0)
        return AIOPS_EINVAL;
    if (model_cache_create((size_t)n, ALIAS_TTL_NS, &cache.models) != 0)
        return AIOPS_ENOMEM;
    cache.svc = s;
    return bg_thread_start(&cache.flusher, flusher_main, NULL);
}

void serve_stop(void)
{
    bg_thread_stop(&cache.flusher);
    model_cache_free(cache.models); /* no request is in flight once the service stopped */
    cache.models = NULL;
}

/* --- the request path ---------------------------------------------------------------------- */

struct predict_ctx {
    uint64_t t0;
    const char *name;
    size_t rows;
    int counted;
};

/* A request that takes part in a running A/B test when it names no version or alias: where
 * its routing key is, and the arm that answers it. */
struct ab_request {
    const char *raw; /* POST .../predict: the body's text */
    size_t len;
    const json_t *body; /* V2: the parsed body */
    struct ab_arm arm;  /* out: test_id 0 when no test answered */
};

/* The hash of a routing key's string (or number) token. */
static uint64_t key_token_hash(struct jscan *js, enum jtok t, int *has_key)
{
    *has_key = t == JT_STRING || t == JT_NUMBER;
    return *has_key ? abtest_key_hash(js->s, js->len) : 0;
}

/* *h the hash of the request's top-level "routing_key" (V2: or parameters.routing_key), a
 * string or a number; 0 when it has none (then the arm is drawn at random). The scan stops
 * at the key: a body that names it first costs little. */
static int routing_key_hash(const struct ab_request *ab, uint64_t *h)
{
    int has_key = 0;
    *h = 0;
    if (ab->body != NULL) {
        const json_t *k = json_object_get(ab->body, "routing_key");
        if (k == NULL)
            k = json_object_get(json_object_get(ab->body, "parameters"), "routing_key");
        char num[40];
        if (json_is_number(k))
            snprintf(num, sizeof num, "%.17g", json_number_value(k));
        if (json_is_string(k))
            *h = abtest_key_hash(json_string_value(k), json_string_length(k));
        else if (json_is_number(k))
            *h = abtest_key_hash(num, strlen(num));
        return json_is_string(k) || json_is_number(k);
    }
    struct jscan js;
    jscan_init(&js, ab->raw, ab->len);
    if (jscan_next(&js) == JT_OBJ_BEGIN)
        while (jscan_next(&js) == JT_KEY) {
            int is_key = jscan_is(&js, "routing_key");
            enum jtok t = jscan_next(&js);
            if (is_key) {
                *h = key_token_hash(&js, t, &has_key);
                break;
            }
            if (t <= JT_END || jscan_skip(&js, t) != 0)
                break;
        }
    jscan_free(&js);
    return has_key;
}

/* Which version the request asks for: the path's, ?version=N, ?alias=A, else the default --
 * or, when it takes part (ab not NULL) in a running A/B test, the arm that answers it. 0 with
 * *version; an error after replying (a bad version, an unknown model or alias). */
static int requested_version(struct svc_call *c, const char *name, const char *path_version,
                             struct ab_request *ab, int *version)
{
    const char *alias = NULL;
    char alias_buf[80];
    long v;
    if (!registry_name_valid(name)) {
        reply_model_not_found(c, name);
        return AIOPS_ENOTFOUND;
    }
    int rv = path_version != NULL ? svc_parse_long(c, API_INVALID_PARAMETER, "version",
                                                   path_version, 1, REGISTRY_MAX_VERSION, &v)
                                  : svc_query_long(c, "version", 0, 1, REGISTRY_MAX_VERSION, &v);
    if (rv != 0)
        return rv;
    if (v > 0) {
        *version = (int)v;
        return AIOPS_OK;
    }
    if (svc_query(c, "alias", alias_buf, sizeof alias_buf) == 0)
        alias = alias_buf;
    if (ab != NULL && alias == NULL) {
        abtest_running(c, name, &ab->arm);
        if (ab->arm.test_id != 0) {
            uint64_t h;
            int has_key = routing_key_hash(ab, &h);
            abtest_choose(&ab->arm, has_key, h);
            *version = ab->arm.version;
            return AIOPS_OK;
        }
    }
    rv = model_cache_resolve(cache.models, svc_project(c), name, alias, registry_cache_resolve,
                             svc_db(c), version);
    if (rv == AIOPS_ENOTFOUND && alias != NULL)
        reply_alias_not_found(c, name, alias);
    else if (rv == AIOPS_ENOTFOUND)
        reply_model_not_found(c, name);
    else if (rv != 0)
        svc_reply_failure(c, rv, "finding the model");
    return rv;
}

/* The model for this request (model_cache_put after use), or NULL after replying. */
static struct cached_model *request_model(struct svc_call *c, const char *name,
                                          const char *path_version, struct ab_request *ab)
{
    int version;
    if (requested_version(c, name, path_version, ab, &version) != 0)
        return NULL;
    struct cached_model *s;
    struct aiops_error err;
    int rv = model_cache_get(cache.models, svc_project(c), name, version, registry_cache_load,
                             svc_db(c), &s, &err);
    if (rv == AIOPS_ENOTFOUND) {
        reply_version_not_found(c, name, version);
        return NULL;
    }
    if (rv == AIOPS_ECORRUPT || rv == AIOPS_EUNSUPPORTED) {
        svc_reply_error(c, API_MODEL_UNREADABLE, err.message[0] ? err.message : NULL,
                        json_pack("{s:s, s:i}", "name", name, "version", version));
        return NULL;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "loading the model");
        return NULL;
    }
    return s;
}

struct cached_model *serve_model_get(struct svc_call *c, const char *name, const char *path_version)
{
    return request_model(c, name, path_version && path_version[0] ? path_version : NULL, NULL);
}

int serve_champion(struct db *db, const char *project, const char *name, struct cached_model **out,
                   struct aiops_error *err)
{
    int version;
    *out = NULL;
    int rv = model_cache_resolve(cache.models, project, name, NULL, registry_cache_resolve, db,
                                 &version);
    if (rv == 0)
        rv = model_cache_get(cache.models, project, name, version, registry_cache_load, db, out,
                             err);
    return rv;
}

void serve_model_put(struct cached_model *s)
{
    if (s != NULL)
        model_cache_put(cache.models, s);
}

/* A model whose prediction is one number per row: regression, or a clustering model's
 * cluster id (it has no classes). */
static int one_value(const struct model *m)
{
    return m->target.task == TASK_REGRESSION || m->target.task == TASK_NONE;
}

/* Predicts the rows of instances (a JSON array of objects): 0 with *out[nrows * outputs]
 * (the caller frees it); an error after replying (422 invalid_instances for rows that do
 * not fit the model), *out NULL. */
static int predict_rows(struct svc_call *c, const struct cached_model *s, const json_t *instances,
                        double **out)
{
    struct fmatrix x;
    json_t *errs = NULL;
    *out = NULL;
    int rv = features_matrix_json(&s->m->features, instances, &x, &errs);
    if (rv == AIOPS_EINVAL) {
        svc_reply_error(c, API_INVALID_INSTANCES, NULL,
                        json_pack("{s:o}", "errors", errs ? errs : json_array()));
        return rv;
    }
    if (rv != 0) {
        json_decref(errs);
        svc_reply_failure(c, rv, "reading the instances");
        return rv;
    }
    size_t k = model_outputs(s->m);
    *out = malloc((x.nrows ? x.nrows : 1) * k * sizeof **out);
    rv = *out ? model_predict(s->m, &x, *out) : AIOPS_ENOMEM;
    fmatrix_free(&x);
    if (rv != 0) {
        free(*out);
        *out = NULL;
        svc_reply_failure(c, rv, "predicting");
    }
    return rv;
}

/* --- POST /api/v1/models/{name}/predict: read straight into the matrix, write straight out --- */

/* The instances of a predict body as a matrix for s's model (lib/ml/instances.h). 0; an
 * error after replying (400 invalid_json with the place of a syntax error, 422
 * invalid_instances naming the rows that do not fit, 422 invalid_request). */
static int read_instances(struct svc_call *c, const struct cached_model *s, struct fmatrix *x)
{
    const Aiops__Request *req = svc_request(c);
    struct aiops_error err;
    json_t *rows = NULL;
    int rv = instances_read(&s->m->features, req->body.data, req->body.len, x, &err, &rows);
    if (rv == AIOPS_EPARSE)
        svc_reply_detail(c, API_INVALID_JSON, NULL, &err);
    else if (rv == AIOPS_EINVAL && rows != NULL)
        svc_reply_error(c, API_INVALID_INSTANCES, NULL, json_pack("{s:o}", "errors", rows));
    else if (rv == AIOPS_EINVAL)
        svc_reply_field(c, API_INVALID_REQUEST, err.field, "%s", err.message);
    else if (rv != 0)
        svc_reply_failure(c, rv, "reading the instances");
    return rv;
}

/* {"predictions": [{"id", "prediction", ...}], "model_name", "model_version"} into b; a
 * prediction's id is "{reqid}:{row}" (label feedback names it: svc-monitor). */
static int write_predictions(struct buf *b, const struct cached_model *s, const char *reqid,
                             const double *out, size_t n)
{
    const struct model *m = s->m;
    size_t k = model_outputs(m);
    const char *text = s->label_text.data;
    int rv = buf_puts(b, "{\"predictions\":[");
    for (size_t i = 0; i < n && rv == 0; i++) {
        const double *row = out + i * k;
        /* no printf: a row of every prediction request */
        rv |= buf_puts(b, i ? ",{\"id\":\"" : "{\"id\":\"");
        rv |= buf_puts(b, reqid);
        rv |= buf_putc(b, ':');
        rv |= buf_put_uint(b, i);
        rv |= buf_puts(b, "\",\"prediction\":");
        if (one_value(m)) {
            rv |= buf_json_double(b, row[0]);
        } else {
            const size_t *o = s->label_off + 4 * stats_argmax(row, k);
            rv |= buf_append(b, text + o[0], o[1] - o[0]);
            rv |= buf_puts(b, ",\"probabilities\":{");
            for (size_t j = 0; j < k; j++) {
                o = s->label_off + 4 * j;
                if (j)
                    rv |= buf_putc(b, ',');
                rv |= buf_append(b, text + o[2], o[3] - o[2]);
                rv |= buf_putc(b, ':');
                rv |= buf_json_double(b, row[j]);
            }
            rv |= buf_putc(b, '}');
        }
        rv |= buf_putc(b, '}');
    }
    rv |= buf_puts(b, "],\"model_name\":");
    rv |= buf_json_str(b, s->name, strlen(s->name));
    rv |= buf_puts(b, ",\"model_version\":");
    rv |= buf_put_uint(b, (unsigned)s->version); /* versions start at 1 */
    rv |= buf_putc(b, '}');
    return rv ? AIOPS_ENOMEM : AIOPS_OK;
}

void handle_models_predict(struct svc_call *c)
{
    uint64_t t0 = time_mono_ns();
    const char *name = svc_param(c, 0);
    const Aiops__Request *req = svc_request(c);
    struct ab_request ab = {(const char *)req->body.data, req->body.len, NULL, {0}};
    struct cached_model *s = request_model(c, name, NULL, &ab);
    if (s == NULL)
        return;
    struct fmatrix x;
    double *out = NULL;
    struct buf reply = {0};
    int ok = 0;
    size_t n = 0;
    if (read_instances(c, s, &x) == 0) {
        n = x.nrows;
        out = malloc(n * model_outputs(s->m) * sizeof *out);
        int rv = out ? model_predict(s->m, &x, out) : AIOPS_ENOMEM;
        char reqid[37];
        uuid_v4_fast(reqid);
        if (rv == 0)
            rv = write_predictions(&reply, s, reqid, out, n);
        if (rv == 0) { /* for the drift window and label feedback: copies, no I/O (window.c) */
            window_add(svc_project(c), name, s->version, s->m, &x, out);
            window_keep_predictions(svc_project(c), reqid, name, s->version, s->m, out, n, &ab.arm);
            if (ab.arm.test_id != 0)
                abtest_count(svc_project(c), &ab.arm, n);
        }
        if (rv == 0) {
            svc_reply_raw(c, 200, "application/json", reply.data, reply.len);
            ok = 1;
        } else {
            svc_reply_failure(c, rv, "predicting");
        }
        fmatrix_free(&x);
    }
    count_prediction(svc_project(c), name, ok ? n : 0, !ok, time_mono_ns() - t0);
    model_cache_put(cache.models, s);
    buf_free(&reply);
    free(out);
}

/* --- Open Inference Protocol (V2) ---------------------------------------------------------- */

/* Appends the scalars of a (possibly nested) JSON array to flat. */
static void flatten(const json_t *data, json_t *flat)
{
    size_t i;
    json_t *v;
    if (!json_is_array(data)) {
        json_array_append(flat, (json_t *)data);
        return;
    }
    json_array_foreach(data, i, v) flatten(v, flat);
}

/* The Open Inference Protocol's tensor datatypes and the JSON values each holds. */
static const struct {
    const char *name;
    char kind;       /* 'b' boolean, 'i' integer, 'f' number, 's' string */
    double min, max; /* integers: the range */
} v2_datatypes[] = {
    {"BOOL", 'b', 0, 0},
    {"UINT8", 'i', 0, 255},
    {"UINT16", 'i', 0, 65535},
    {"UINT32", 'i', 0, 4294967295.0},
    {"UINT64", 'i', 0, 18446744073709551615.0},
    {"INT8", 'i', -128, 127},
    {"INT16", 'i', -32768, 32767},
    {"INT32", 'i', -2147483648.0, 2147483647.0},
    {"INT64", 'i', -9223372036854775808.0, 9223372036854775807.0},
    {"FP16", 'f', 0, 0},
    {"FP32", 'f', 0, 0},
    {"FP64", 'f', 0, 0},
    {"BYTES", 's', 0, 0},
};

/* Whether every value of flat fits datatype (null, a missing value, fits any). NULL when
 * they do, else why not (static). */
static const char *v2_datatype_mismatch(const char *datatype, const json_t *flat)
{
    int t = -1;
    for (size_t k = 0; k < sizeof v2_datatypes / sizeof *v2_datatypes; k++)
        if (datatype != NULL && strcmp(datatype, v2_datatypes[k].name) == 0)
            t = (int)k;
    if (t < 0)
        return "datatype must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, "
               "INT32, INT64, FP16, FP32, FP64, BYTES";
    size_t i;
    const json_t *v;
    json_array_foreach(flat, i, v)
    {
        if (json_is_null(v))
            continue;
        switch (v2_datatypes[t].kind) {
        case 'b':
            if (!json_is_boolean(v))
                return "a BOOL tensor holds true and false";
            break;
        case 'i':
            if (!json_is_integer(v) || (double)json_integer_value(v) < v2_datatypes[t].min ||
                (double)json_integer_value(v) > v2_datatypes[t].max)
                return "an integer tensor holds whole numbers within its datatype's range";
            break;
        case 'f':
            if (!json_is_number(v))
                return "a floating-point tensor holds numbers";
            break;
        default:
            if (!json_is_string(v))
                return "a BYTES tensor holds strings";
        }
    }
    return NULL;
}

/* 422 invalid_request naming field; AIOPS_EINVAL. */
static int v2_fail(struct svc_call *c, const char *field, const char *msg)
{
    svc_reply_field(c, API_INVALID_REQUEST, field, "%s", msg);
    return AIOPS_EINVAL;
}

/* The rows of a V2 request as JSON objects: either one input per feature (named as the
 * feature, shape [N] or [N,1]) or a single input of shape [N, F] whose columns are the
 * model's features in order. 0 with *rows (the caller owns it); AIOPS_EINVAL after answering
 * 422 invalid_request naming the field when the inputs do not fit. */
static int v2_rows(struct svc_call *c, const struct model *m, const json_t *inputs, json_t **rows)
{
    *rows = NULL;
    size_t nin = json_array_size(inputs), F = m->features.n;
    if (!json_is_array(inputs) || nin == 0)
        return v2_fail(c, "inputs", "inputs must be a non-empty array of tensors");
    json_t *flat[256];
    size_t N = 0;
    int matrix = 0;
    if (nin > 256 || nin > F)
        return v2_fail(c, "inputs", "more inputs than the model has features");
    for (size_t i = 0; i < nin; i++) {
        const json_t *in = json_array_get(inputs, i);
        const json_t *shape = json_object_get(in, "shape");
        const char *iname = json_string_value(json_object_get(in, "name"));
        if (!json_is_object(in) || iname == NULL || !json_is_array(shape) ||
            json_object_get(in, "data") == NULL || !json_is_string(json_object_get(in, "datatype")))
            return v2_fail(c, "inputs", "each input needs name, shape, datatype and data");
        size_t d = json_array_size(shape);
        for (size_t k = 0; k < d; k++)
            if (!json_is_integer(json_array_get(shape, k)))
                return v2_fail(c, "shape", "shape holds whole numbers");
        json_int_t rows_n = json_integer_value(json_array_get(shape, 0));
        json_int_t cols_n = d >= 2 ? json_integer_value(json_array_get(shape, 1)) : 1;
        if (d < 1 || d > 2 || rows_n < 1 || cols_n < 1 || rows_n > 10000000)
            return v2_fail(c, "shape", "shape must be [rows] or [rows, columns]");
        if (i == 0)
            N = (size_t)rows_n;
        else if ((size_t)rows_n != N)
            return v2_fail(c, "shape", "every input must have the same number of rows");
        if (nin == 1 && cols_n > 1)
            matrix = 1;
        if (!matrix && cols_n != 1)
            return v2_fail(c, "shape", "a per-feature input has shape [rows] or [rows, 1]");
        if (matrix && (size_t)cols_n != F)
            return v2_fail(c, "shape", "a matrix input needs one column per model feature");
    }
    for (size_t i = 0; i < nin; i++)
        flat[i] = json_array();
    int rv = 0;
    for (size_t i = 0; i < nin && rv == 0; i++) {
        const json_t *in = json_array_get(inputs, i);
        flatten(json_object_get(in, "data"), flat[i]);
        const char *why =
            v2_datatype_mismatch(json_string_value(json_object_get(in, "datatype")), flat[i]);
        if (why != NULL)
            rv = v2_fail(c, "datatype", why);
        else if (json_array_size(flat[i]) != N * (matrix ? F : 1))
            rv = v2_fail(c, "data", "the data does not hold shape's number of values");
    }
    /* per-feature inputs: map each to its feature */
    long which[256];
    for (size_t i = 0; i < nin && rv == 0 && !matrix; i++) {
        const char *iname = json_string_value(json_object_get(json_array_get(inputs, i), "name"));
        which[i] = -1;
        for (size_t j = 0; j < F; j++)
            if (strcmp(m->features.f[j].name, iname) == 0)
                which[i] = (long)j;
        if (which[i] < 0) {
            svc_reply_field(c, API_INVALID_REQUEST, "inputs", "the model has no feature %.120s",
                            iname);
            rv = AIOPS_EINVAL;
        }
    }
    if (rv == 0) {
        *rows = json_array();
        for (size_t r = 0; r < N; r++) {
            json_t *row = json_object();
            if (matrix)
                for (size_t j = 0; j < F; j++)
                    json_object_set(row, m->features.f[j].name, json_array_get(flat[0], r * F + j));
            else
                for (size_t i = 0; i < nin; i++)
                    json_object_set(row, m->features.f[which[i]].name, json_array_get(flat[i], r));
            json_array_append_new(*rows, row);
        }
    }
    for (size_t i = 0; i < nin; i++)
        json_decref(flat[i]);
    return rv;
}

static int labels_are_integers(const struct cached_model *s)
{
    if (!s->m->target.numeric_labels)
        return 0;
    for (size_t k = 0; k < s->m->target.nclasses; k++)
        if (!json_is_integer(s->labels[k]))
            return 0;
    return 1;
}

static const char *label_datatype(const struct cached_model *s)
{
    if (one_value(s->m))
        return "FP64";
    if (labels_are_integers(s))
        return "INT64";
    return s->m->target.numeric_labels ? "FP64" : "BYTES";
}

/* 1 when the request's "outputs" (absent: all) asks for name. */
static int wants_output(const json_t *outputs, const char *name)
{
    if (!json_is_array(outputs) || json_array_size(outputs) == 0)
        return 1;
    size_t i;
    json_t *o;
    json_array_foreach(outputs, i, o)
    {
        const char *n = json_string_value(json_object_get(o, "name"));
        if (n && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

void handle_v2_infer(struct svc_call *c)
{
    uint64_t t0 = time_mono_ns();
    const char *name = svc_param(c, 0);
    const char *path_version = svc_param(c, 1)[0] ? svc_param(c, 1) : NULL;
    json_t *body, *rows = NULL;
    if (svc_json_body(c, &body) != 0)
        return;
    struct ab_request ab = {NULL, 0, body, {0}};
    struct cached_model *s = request_model(c, name, path_version, &ab);
    double *out = NULL;
    int ok = 0;
    size_t n = 0;
    if (s == NULL)
        goto done;
    if (v2_rows(c, s->m, json_object_get(body, "inputs"), &rows) != 0)
        goto done;
    n = json_array_size(rows);
    if (predict_rows(c, s, rows, &out) != 0)
        goto done;
    const struct model *m = s->m;
    size_t k = model_outputs(m);
    json_t *outputs = json_array(), *want = json_object_get(body, "outputs");
    if (wants_output(want, "predict")) {
        json_t *data = json_array();
        for (size_t i = 0; i < n; i++)
            if (one_value(m))
                json_array_append_new(data, jsonx_num(out[i], 0));
            else
                json_array_append(data, s->labels[stats_argmax(out + i * k, k)]);
        json_array_append_new(outputs, json_pack("{s:s, s:[I], s:s, s:o}", "name", "predict",
                                                 "shape", (json_int_t)n, "datatype",
                                                 label_datatype(s), "data", data));
    }
    if (!one_value(m) && wants_output(want, "probabilities")) {
        json_t *data = json_array();
        for (size_t i = 0; i < n * k; i++)
            json_array_append_new(data, jsonx_num(out[i], 0));
        json_t *classes = json_array();
        for (size_t j = 0; j < k; j++)
            json_array_append(classes, s->labels[j]);
        json_array_append_new(outputs, json_pack("{s:s, s:[I, I], s:s, s:o, s:{s:o}}", "name",
                                                 "probabilities", "shape", (json_int_t)n,
                                                 (json_int_t)k, "datatype", "FP64", "data", data,
                                                 "parameters", "classes", classes));
    }
    char ver[16];
    snprintf(ver, sizeof ver, "%d", s->version);
    json_t *reply =
        json_pack("{s:s, s:s, s:o}", "model_name", name, "model_version", ver, "outputs", outputs);
    json_t *id = json_object_get(body, "id");
    if (json_is_string(id))
        json_object_set(reply, "id", id);
    svc_reply_json(c, 200, reply);
    ok = 1;
    if (ab.arm.test_id != 0)
        abtest_count(svc_project(c), &ab.arm, n);
done:
    if (s != NULL) {
        count_prediction(svc_project(c), name, ok ? n : 0, !ok, time_mono_ns() - t0);
        model_cache_put(cache.models, s);
    }
    free(out);
    json_decref(rows);
    json_decref(body);
}

void handle_v2_ready(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    struct cached_model *s = request_model(c, name, NULL, NULL);
    if (s == NULL)
        return;
    char ver[16];
    snprintf(ver, sizeof ver, "%d", s->version);
    model_cache_put(cache.models, s);
    svc_reply_json(c, 200, json_pack("{s:s, s:b, s:s}", "name", name, "ready", 1, "version", ver));
}

void handle_v2_metadata(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    struct cached_model *s = request_model(c, name, NULL, NULL);
    if (s == NULL)
        return;
    const struct model *m = s->m;
    const char *pv[2] = {svc_project(c), name};
    PGresult *r;
    json_t *versions = json_array();
    if (db_execv(svc_db(c), &r,
                 "SELECT version FROM model_versions WHERE project_id = $1 AND name = $2"
                 " ORDER BY version",
                 2, pv) == 0) {
        for (int i = 0; i < PQntuples(r); i++)
            json_array_append_new(versions, json_string(PQgetvalue(r, i, 0)));
        PQclear(r);
    }
    json_t *inputs = json_array();
    for (size_t j = 0; j < m->features.n; j++)
        json_array_append_new(inputs, json_pack("{s:s, s:s, s:[i]}", "name", m->features.f[j].name,
                                                "datatype",
                                                m->features.f[j].kind != FEAT_NUMERIC ? "BYTES"
                                                                                          : "FP64",
                                                "shape", -1));
    json_t *outputs = json_array();
    json_array_append_new(outputs, json_pack("{s:s, s:s, s:[i]}", "name", "predict", "datatype",
                                             label_datatype(s), "shape", -1));
    if (!one_value(m))
        json_array_append_new(outputs,
                              json_pack("{s:s, s:s, s:[i, I]}", "name", "probabilities", "datatype",
                                        "FP64", "shape", -1, (json_int_t)m->target.nclasses));
    char platform[48];
    snprintf(platform, sizeof platform, "aiops-%s", m->learner->name);
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:o, s:s, s:i, s:s, s:o, s:o}", "name", name, "versions",
                             versions, "platform", platform, "version", s->version, "task",
                             model_task_name(m), "inputs", inputs, "outputs", outputs));
    model_cache_put(cache.models, s);
}
