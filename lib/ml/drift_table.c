#include "ml/drift_table.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/pool.h"
#include "math/sort.h"

void drift_summary_set(json_t *doc, json_t *features, json_t *skipped, size_t tested,
                       size_t drifted, int *failed)
{
    double share = tested ? (double)drifted / (double)tested : 0.0;
    jsonx_set_or_fail(doc, "features", features, failed);
    jsonx_set_or_fail(doc, "number_of_columns", json_integer((json_int_t)tested), failed);
    jsonx_set_or_fail(doc, "number_of_drifted_columns", json_integer((json_int_t)drifted), failed);
    jsonx_set_or_fail(doc, "share_drifted", json_real(share), failed);
    jsonx_set_or_fail(doc, "drift_share", json_real(DRIFT_DATASET_SHARE), failed);
    jsonx_set_or_fail(doc, "dataset_drift",
                      json_boolean(tested > 0 && share >= DRIFT_DATASET_SHARE), failed);
    jsonx_set_or_fail(doc, "skipped", skipped, failed);
}

json_t *drift_result_json(const char *feature, const char *type, const struct drift_result *r)
{
    json_t *o = json_object();
    int failed = o == NULL;
    if (failed)
        return NULL;
    jsonx_set_or_fail(o, "feature", json_string(feature), &failed);
    jsonx_set_or_fail(o, "type", json_string(type), &failed);
    jsonx_set_or_fail(o, "method", json_string(drift_method_name(r->method)), &failed);
    jsonx_set_or_fail(o, "statistic", jsonx_num(r->statistic, 0), &failed);
    jsonx_set_or_fail(o, "p_value", jsonx_num(r->p_value, 0), &failed);
    jsonx_set_or_fail(o, "threshold", jsonx_num(r->threshold, 0), &failed);
    jsonx_set_or_fail(o, "psi", jsonx_num(r->psi, 0), &failed);
    jsonx_set_or_fail(o, "ks", jsonx_num(r->ks, 0), &failed);
    jsonx_set_or_fail(o, "ks_p_value", jsonx_num(r->ks_p_value, 0), &failed);
    jsonx_set_or_fail(o, "wasserstein", jsonx_num(r->wasserstein, 0), &failed);
    jsonx_set_or_fail(o, "jensen_shannon", jsonx_num(r->jensen_shannon, 0), &failed);
    jsonx_set_or_fail(o, "chisquare_p_value", jsonx_num(r->chisquare_p_value, 0), &failed);
    jsonx_set_or_fail(o, "n_reference", json_integer((json_int_t)r->n_ref), &failed);
    jsonx_set_or_fail(o, "n_current", json_integer((json_int_t)r->n_cur), &failed);
    jsonx_set_or_fail(o, "n_unique", json_integer((json_int_t)r->n_unique), &failed);
    jsonx_set_or_fail(o, "drift", json_boolean(r->drift), &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

enum col_kind { KIND_NUMERIC, KIND_CATEGORICAL, KIND_SKIPPED };

struct col_job {
    const struct column *ref, *cur;
    enum col_kind kind;
    const char *skip_reason; /* static */
    struct drift_result result;
    int rv;
};

struct table_run {
    struct col_job *jobs;
    atomic_int failed; /* an allocation failed somewhere: stop starting columns */
};

/* The present, finite values of c (Evidently turns +-inf into NaN and drops them), sorted.
 * *out is owned by the caller. */
static int sorted_values(const struct column *c, size_t nrows, double **out, size_t *n)
{
    double *v = malloc((nrows ? nrows : 1) * sizeof *v);
    if (v == NULL)
        return AIOPS_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < nrows; i++)
        if (isfinite(c->f64[i]))
            v[k++] = c->f64[i];
    int rv = sort_f64(v, k);
    if (rv != 0) {
        free(v);
        return rv;
    }
    *out = v;
    *n = k;
    return AIOPS_OK;
}

static int run_numeric(struct col_job *j, size_t ref_rows, size_t cur_rows)
{
    double *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int rv = sorted_values(j->ref, ref_rows, &a, &na);
    if (rv == 0)
        rv = sorted_values(j->cur, cur_rows, &b, &nb);
    if (rv == 0 && (na == 0 || nb == 0)) {
        j->kind = KIND_SKIPPED;
        j->skip_reason = na == 0 ? "no values in the reference" : "no values in the current data";
    } else if (rv == 0) {
        rv = drift_numeric(a, na, b, nb, &j->result);
    }
    free(a);
    free(b);
    return rv;
}

static int cmp_code(const void *x, const void *y, void *dict)
{
    const struct strdict *d = dict;
    return strcmp(strdict_str(d, *(const uint32_t *)x), strdict_str(d, *(const uint32_t *)y));
}

/* The counts of each category on both sides, over the union of the two dictionaries:
 * index k < ref count is the reference's code k, the current's own strings follow. */
static int run_categorical(struct col_job *j, size_t ref_rows, size_t cur_rows)
{
    const struct strdict *rd = &j->ref->dict, *cd = &j->cur->dict;
    size_t kr = rd->count, kc = cd->count, k = kr + kc;
    uint32_t *order = malloc((kr ? kr : 1) * sizeof *order);
    uint32_t *map = malloc((kc ? kc : 1) * sizeof *map); /* current code -> union index */
    uint64_t *rc = calloc(k ? k : 1, sizeof *rc), *cc = calloc(k ? k : 1, sizeof *cc);
    int rv = AIOPS_ENOMEM;
    if (order == NULL || map == NULL || rc == NULL || cc == NULL)
        goto done;
    for (uint32_t i = 0; i < kr; i++)
        order[i] = i;
    qsort_r(order, kr, sizeof *order, cmp_code, (void *)rd);
    for (uint32_t i = 0; i < kc; i++) {
        const char *s = strdict_str(cd, i);
        size_t lo = 0, hi = kr;
        map[i] = (uint32_t)(kr + i);
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(strdict_str(rd, order[mid]), s);
            if (c == 0) {
                map[i] = order[mid];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    for (size_t i = 0; i < ref_rows; i++)
        if (j->ref->codes[i] != TABLE_MISSING)
            rc[j->ref->codes[i]]++;
    for (size_t i = 0; i < cur_rows; i++)
        if (j->cur->codes[i] != TABLE_MISSING)
            cc[map[j->cur->codes[i]]]++;
    rv = drift_categorical(rc, cc, k, &j->result);
    if (rv == AIOPS_EINVAL) {
        j->kind = KIND_SKIPPED;
        j->skip_reason = "no values on one side";
        rv = AIOPS_OK;
    }
done:
    free(order);
    free(map);
    free(rc);
    free(cc);
    return rv;
}

struct table_ctx {
    struct table_run *run;
    size_t ref_rows, cur_rows;
};

static void column_task(void *arg, int tid, size_t i)
{
    (void)tid;
    struct table_ctx *ctx = arg;
    struct col_job *j = &ctx->run->jobs[i];
    if (atomic_load(&ctx->run->failed) || j->kind == KIND_SKIPPED)
        return;
    j->rv = j->kind == KIND_NUMERIC ? run_numeric(j, ctx->ref_rows, ctx->cur_rows)
                                    : run_categorical(j, ctx->ref_rows, ctx->cur_rows);
    if (j->rv != 0)
        atomic_store(&ctx->run->failed, 1);
}

static void classify(struct col_job *j)
{
    const struct column *r = j->ref, *c = j->cur;
    int r_text = r->storage == COL_DICT && (r->type == COL_TEXT || r->type == COL_ID);
    int c_text = c->storage == COL_DICT && (c->type == COL_TEXT || c->type == COL_ID);
    if (r->storage != c->storage) {
        j->kind = KIND_SKIPPED;
        j->skip_reason = "the column holds numbers on one side and strings on the other";
    } else if (r_text || c_text) {
        j->kind = KIND_SKIPPED;
        j->skip_reason = "text and identifier columns are not tested";
    } else {
        j->kind = r->storage == COL_F64 ? KIND_NUMERIC : KIND_CATEGORICAL;
    }
}

int drift_tables(const struct table *ref, const struct table *cur, const char *target, int threads,
                 json_t **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    if (ref->nrows == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "reference", "the reference has no rows");
    if (cur->nrows == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "current", "the current data has no rows");
    struct table_run run = {.jobs = calloc(ref->ncols ? ref->ncols : 1, sizeof *run.jobs)};
    atomic_init(&run.failed, 0);
    if (run.jobs == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < ref->ncols; i++) {
        long c = table_find(cur, ref->cols[i].name);
        if (c < 0) {
            free(run.jobs);
            return aiops_error_set(err, AIOPS_EINVAL, ref->cols[i].name,
                                   "column \"%s\" of the reference is missing from the current "
                                   "data",
                                   ref->cols[i].name);
        }
        run.jobs[i].ref = &ref->cols[i];
        run.jobs[i].cur = &cur->cols[c];
        classify(&run.jobs[i]);
    }
    struct table_ctx ctx = {.run = &run, .ref_rows = ref->nrows, .cur_rows = cur->nrows};
    pool_for(NULL, threads, ref->ncols, column_task, &ctx);
    int rv = atomic_load(&run.failed) ? AIOPS_ENOMEM : AIOPS_OK;
    json_t *doc = json_object(), *features = json_array(), *skipped = json_array();
    int failed = doc == NULL || features == NULL || skipped == NULL;
    size_t tested = 0, drifted = 0;
    for (size_t i = 0; rv == 0 && !failed && i < ref->ncols; i++) {
        struct col_job *j = &run.jobs[i];
        const char *name = j->ref->name;
        if (j->kind == KIND_SKIPPED) {
            json_t *s = json_object();
            jsonx_set_or_fail(s, "feature", json_string(name), &failed);
            jsonx_set_or_fail(s, "reason", json_string(j->skip_reason), &failed);
            jsonx_push_or_fail(skipped, s, &failed);
            continue;
        }
        json_t *f = drift_result_json(name, j->kind == KIND_NUMERIC ? "numeric" : "categorical",
                                      &j->result);
        if (target != NULL && strcmp(name, target) == 0) {
            jsonx_set_or_fail(doc, "target", f, &failed);
            continue;
        }
        jsonx_push_or_fail(features, f, &failed);
        tested++;
        drifted += j->result.drift != 0;
    }
    free(run.jobs);
    drift_summary_set(doc, features, skipped, tested, drifted, &failed);
    return jsonx_build_done(doc, rv, failed, out);
}
