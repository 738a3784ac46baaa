#include "ml/reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "math/sort.h"
#include "math/stats.h"
#include "ml/drift.h"
#include "ml/drift_table.h"

#define REF_FORMAT 1u

void reference_scores(const double *pred, size_t nrows, size_t outputs, int regression,
                      double *score)
{
    for (size_t i = 0; i < nrows; i++) {
        const double *p = pred + i * outputs;
        if (regression || outputs == 1) {
            score[i] = p[0];
        } else if (outputs == 2) {
            score[i] = p[1]; /* the positive class is the last */
        } else {
            double best = p[0];
            for (size_t k = 1; k < outputs; k++)
                if (p[k] > best)
                    best = p[k];
            score[i] = best;
        }
    }
}

void reference_free(struct drift_reference *r)
{
    if (r == NULL)
        return;
    for (size_t j = 0; j < r->n; j++) {
        free(r->f[j].sketch);
        free(r->f[j].edges);
        free(r->f[j].hist);
        free(r->f[j].counts);
    }
    free(r->f);
    free(r->score_sketch);
    free(r);
}

/* The finite values of x[0..n), sorted, into a new array (*out; *k of them). */
static int sorted_finite(const double *x, size_t n, double **out, size_t *k)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return AIOPS_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            v[m++] = x[i];
    int rv = sort_f64(v, m);
    if (rv != 0) {
        free(v);
        return rv;
    }
    *out = v;
    *k = m;
    return AIOPS_OK;
}

/* Every value when there are few, else REF_SKETCH quantiles. */
static int sketch_of(const double *sorted, size_t n, double **out, uint32_t *nq)
{
    size_t q = n <= REF_SKETCH ? n : REF_SKETCH;
    double *s = malloc((q ? q : 1) * sizeof *s);
    if (s == NULL)
        return AIOPS_ENOMEM;
    if (n <= REF_SKETCH) {
        if (n > 0)
            memcpy(s, sorted, n * sizeof *s);
    } else {
        for (size_t i = 0; i < q; i++)
            s[i] = stats_quantile_sorted(sorted, n, (double)i / (double)(q - 1));
    }
    *out = s;
    *nq = (uint32_t)q;
    return AIOPS_OK;
}

static int build_numeric(struct ref_feature *f, const double *col, size_t nrows)
{
    double *v = NULL;
    size_t k = 0;
    int rv = sorted_finite(col, nrows, &v, &k);
    if (rv != 0)
        return rv;
    f->present = k;
    f->missing = nrows - k;
    rv = sketch_of(v, k, &f->sketch, &f->nsketch);
    if (rv == 0 && k > 0) {
        f->nbins = DRIFT_BINS;
        f->edges = malloc((DRIFT_BINS + 1) * sizeof *f->edges);
        f->hist = malloc(DRIFT_BINS * sizeof *f->hist);
        if (f->edges == NULL || f->hist == NULL)
            rv = AIOPS_ENOMEM;
        else if (stats_histogram_edges(v[0], v[k - 1], DRIFT_BINS, f->edges) == 0)
            stats_histogram_sorted(v, k, f->edges, DRIFT_BINS, f->hist);
        else
            f->nbins = 0; /* a range too wide to bin: no histogram, the sketch still works */
    }
    free(v);
    return rv;
}

static int build_categorical(struct ref_feature *f, const double *col, size_t nrows, uint32_t ncats)
{
    f->categorical = 1;
    f->ncats = ncats;
    f->counts = calloc(ncats ? ncats : 1, sizeof *f->counts);
    if (f->counts == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < nrows; i++) {
        double c = col[i];
        if (c >= 0.0 && c < (double)ncats) {
            f->counts[(size_t)c]++;
            f->present++;
        } else {
            f->missing++;
        }
    }
    return AIOPS_OK;
}

int reference_build(const struct feature_set *fs, const struct fmatrix *x, const double *scores,
                    size_t nscores, int scores_from_training, struct drift_reference **out)
{
    *out = NULL;
    if (x->ncols != fs->n)
        return AIOPS_EINVAL;
    struct drift_reference *r = calloc(1, sizeof *r);
    if (r == NULL || (r->f = calloc(fs->n ? fs->n : 1, sizeof *r->f)) == NULL) {
        free(r);
        return AIOPS_ENOMEM;
    }
    r->n = fs->n;
    r->train_rows = x->nrows;
    r->scores_from_training = scores_from_training;
    int rv = AIOPS_OK;
    for (size_t j = 0; rv == 0 && j < fs->n; j++) {
        const double *col = x->x + j * x->nrows;
        rv = fs->f[j].kind == FEAT_CATEGORICAL
                 ? build_categorical(&r->f[j], col, x->nrows, fs->f[j].cats.count)
                 : build_numeric(&r->f[j], col, x->nrows);
    }
    if (rv == 0) {
        double *v = NULL;
        size_t k = 0;
        rv = sorted_finite(scores, nscores, &v, &k);
        if (rv == 0) {
            r->score_rows = k;
            rv = sketch_of(v, k, &r->score_sketch, &r->score_nsketch);
            free(v);
        }
    }
    if (rv != 0) {
        reference_free(r);
        return rv;
    }
    *out = r;
    return AIOPS_OK;
}

/* --- the 'DRFT' section ---------------------------------------------------------------- */

static int put_doubles(struct buf *b, const double *v, size_t n)
{
    int rv = 0;
    for (size_t i = 0; rv == 0 && i < n; i++)
        rv = bytes_put_f64(b, v[i]);
    return rv;
}

int reference_save(const struct drift_reference *r, struct buf *out)
{
    int rv = bytes_put_u32(out, REF_FORMAT);
    rv = rv ? rv : bytes_put_u32(out, (uint32_t)r->n);
    rv = rv ? rv : bytes_put_u64(out, r->train_rows);
    rv = rv ? rv : bytes_put_u8(out, (uint8_t)(r->scores_from_training != 0));
    for (size_t j = 0; rv == 0 && j < r->n; j++) {
        const struct ref_feature *f = &r->f[j];
        rv = bytes_put_u8(out, (uint8_t)(f->categorical != 0));
        rv = rv ? rv : bytes_put_u64(out, f->present);
        rv = rv ? rv : bytes_put_u64(out, f->missing);
        if (f->categorical) {
            rv = rv ? rv : bytes_put_u32(out, f->ncats);
            for (uint32_t k = 0; rv == 0 && k < f->ncats; k++)
                rv = bytes_put_u64(out, f->counts[k]);
        } else {
            rv = rv ? rv : bytes_put_u32(out, f->nsketch);
            rv = rv ? rv : put_doubles(out, f->sketch, f->nsketch);
            rv = rv ? rv : bytes_put_u32(out, f->nbins);
            if (f->nbins > 0) {
                rv = rv ? rv : put_doubles(out, f->edges, (size_t)f->nbins + 1);
                for (uint32_t k = 0; rv == 0 && k < f->nbins; k++)
                    rv = bytes_put_u64(out, f->hist[k]);
            }
        }
    }
    rv = rv ? rv : bytes_put_u64(out, r->score_rows);
    rv = rv ? rv : bytes_put_u32(out, r->score_nsketch);
    rv = rv ? rv : put_doubles(out, r->score_sketch, r->score_nsketch);
    return rv;
}

/* q sorted finite doubles (q <= REF_MAX_SKETCH) into a new array; NULL with *why set. */
static double *get_sorted(struct bytes_reader *rd, uint32_t q, const char **why)
{
    if (q > REF_MAX_SKETCH || (size_t)q * 8 > rd->n - rd->off) {
        *why = "a reference sketch is too long";
        return NULL;
    }
    double *v = malloc((q ? q : 1) * sizeof *v);
    if (v == NULL) {
        *why = NULL;
        return NULL;
    }
    for (uint32_t i = 0; i < q; i++) {
        v[i] = bytes_get_f64(rd);
        if (!isfinite(v[i]) || (i > 0 && v[i] < v[i - 1])) {
            *why = "a reference sketch is not sorted finite numbers";
            free(v);
            return NULL;
        }
    }
    return v;
}

static int load_feature(struct bytes_reader *rd, const struct feature *spec, struct ref_feature *f,
                        const char **why)
{
    uint8_t kind = bytes_get_u8(rd);
    f->present = bytes_get_u64(rd);
    f->missing = bytes_get_u64(rd);
    if (rd->bad || kind > 1 || (kind == 1) != (spec->kind == FEAT_CATEGORICAL)) {
        *why = "a reference feature does not match the model's feature";
        return AIOPS_ECORRUPT;
    }
    if (kind == 1) {
        f->categorical = 1;
        f->ncats = bytes_get_u32(rd);
        if (rd->bad || f->ncats != spec->cats.count || (size_t)f->ncats * 8 > rd->n - rd->off) {
            *why = "reference category counts do not match the model's categories";
            return AIOPS_ECORRUPT;
        }
        if ((f->counts = calloc(f->ncats ? f->ncats : 1, sizeof *f->counts)) == NULL)
            return AIOPS_ENOMEM;
        uint64_t sum = 0;
        for (uint32_t k = 0; k < f->ncats; k++) {
            f->counts[k] = bytes_get_u64(rd);
            sum += f->counts[k];
        }
        if (sum != f->present) {
            *why = "reference category counts do not add up";
            return AIOPS_ECORRUPT;
        }
        return AIOPS_OK;
    }
    uint32_t q = bytes_get_u32(rd);
    if (rd->bad || (q == 0) != (f->present == 0) || q > f->present) {
        *why = "a reference sketch does not fit its counts";
        return AIOPS_ECORRUPT;
    }
    f->nsketch = q;
    if ((f->sketch = get_sorted(rd, q, why)) == NULL)
        return *why ? AIOPS_ECORRUPT : AIOPS_ENOMEM;
    f->nbins = bytes_get_u32(rd);
    if (rd->bad || f->nbins > REF_MAX_BINS) {
        *why = "a reference histogram is damaged";
        return AIOPS_ECORRUPT;
    }
    if (f->nbins == 0)
        return AIOPS_OK;
    if ((f->edges = get_sorted(rd, f->nbins + 1, why)) == NULL)
        return *why ? AIOPS_ECORRUPT : AIOPS_ENOMEM;
    if ((f->hist = malloc(f->nbins * sizeof *f->hist)) == NULL)
        return AIOPS_ENOMEM;
    for (uint32_t k = 0; k < f->nbins; k++)
        f->hist[k] = bytes_get_u64(rd);
    return AIOPS_OK;
}

int reference_load(const uint8_t *p, size_t n, const struct feature_set *fs,
                   struct drift_reference **out, const char **why)
{
    *out = NULL;
    *why = NULL;
    struct bytes_reader rd = {.p = p, .n = n, .off = 0, .bad = 0};
    uint32_t version = bytes_get_u32(&rd), nf = bytes_get_u32(&rd);
    uint64_t rows = bytes_get_u64(&rd);
    uint8_t source = bytes_get_u8(&rd);
    if (rd.bad || version != REF_FORMAT || nf != fs->n || source > 1) {
        *why = "the drift reference does not fit the model";
        return AIOPS_ECORRUPT;
    }
    struct drift_reference *r = calloc(1, sizeof *r);
    if (r == NULL || (r->f = calloc(nf ? nf : 1, sizeof *r->f)) == NULL) {
        free(r);
        return AIOPS_ENOMEM;
    }
    r->n = nf;
    r->train_rows = rows;
    r->scores_from_training = source;
    int rv = AIOPS_OK;
    for (size_t j = 0; rv == 0 && j < nf; j++) {
        rv = load_feature(&rd, &fs->f[j], &r->f[j], why);
        if (rv == 0 && r->f[j].present + r->f[j].missing != rows) {
            *why = "a reference feature's counts do not match the training rows";
            rv = AIOPS_ECORRUPT;
        }
    }
    if (rv == 0) {
        r->score_rows = bytes_get_u64(&rd);
        r->score_nsketch = bytes_get_u32(&rd);
        if (rd.bad || r->score_nsketch > r->score_rows) {
            *why = "the reference scores are damaged";
            rv = AIOPS_ECORRUPT;
        } else if ((r->score_sketch = get_sorted(&rd, r->score_nsketch, why)) == NULL) {
            rv = *why ? AIOPS_ECORRUPT : AIOPS_ENOMEM;
        }
    }
    if (rv == 0 && (rd.bad || rd.off != rd.n)) {
        *why = "the drift reference is truncated or has trailing bytes";
        rv = AIOPS_ECORRUPT;
    }
    if (rv != 0) {
        reference_free(r);
        return rv;
    }
    *out = r;
    return AIOPS_OK;
}

/* --- drift against the reference -------------------------------------------------------- */

double reference_score_kl(const struct drift_reference *r, const double *scores, size_t n)
{
    if (r->score_nsketch == 0 || n == 0)
        return NAN;
    return drift_score_kl(r->score_sketch, r->score_nsketch, scores, n);
}

static int feature_drift(const struct ref_feature *f, const double *col, size_t nrows,
                         struct drift_result *res, int *skipped)
{
    *skipped = 0;
    if (f->categorical) {
        uint64_t *cc = calloc(f->ncats ? f->ncats : 1, sizeof *cc);
        if (cc == NULL)
            return AIOPS_ENOMEM;
        for (size_t i = 0; i < nrows; i++)
            if (col[i] >= 0.0 && col[i] < (double)f->ncats)
                cc[(size_t)col[i]]++;
        int rv = drift_categorical(f->counts, cc, f->ncats, res);
        free(cc);
        if (rv == AIOPS_EINVAL) {
            *skipped = 1;
            rv = AIOPS_OK;
        }
        return rv;
    }
    double *v = NULL;
    size_t k = 0;
    int rv = sorted_finite(col, nrows, &v, &k);
    if (rv != 0)
        return rv;
    if (k == 0 || f->nsketch == 0)
        *skipped = 1;
    else
        rv = drift_numeric_sketch(f->sketch, f->nsketch, (size_t)f->present, v, k, res);
    free(v);
    return rv;
}

int reference_drift(const struct drift_reference *r, const struct feature_set *fs,
                    const struct fmatrix *cur, const double *scores, size_t nscores, json_t **out)
{
    *out = NULL;
    if (cur->ncols != fs->n || r->n != fs->n)
        return AIOPS_EINVAL;
    json_t *doc = json_object(), *features = json_array(), *skipped = json_array();
    int failed = doc == NULL || features == NULL || skipped == NULL, rv = AIOPS_OK;
    size_t tested = 0, drifted = 0;
    for (size_t j = 0; rv == 0 && !failed && j < fs->n; j++) {
        struct drift_result res;
        int skip = 0;
        rv = feature_drift(&r->f[j], cur->x + j * cur->nrows, cur->nrows, &res, &skip);
        if (rv != 0)
            break;
        if (skip) {
            json_t *s = json_object();
            jsonx_set_or_fail(s, "feature", json_string(fs->f[j].name), &failed);
            jsonx_set_or_fail(s, "reason", json_string("no values to compare"), &failed);
            jsonx_push_or_fail(skipped, s, &failed);
            continue;
        }
        jsonx_push_or_fail(
            features,
            drift_result_json(fs->f[j].name, r->f[j].categorical ? "categorical" : "numeric", &res),
            &failed);
        tested++;
        drifted += res.drift != 0;
    }
    drift_summary_set(doc, features, skipped, tested, drifted, &failed);
    jsonx_set_or_fail(doc, "reference_rows", json_integer((json_int_t)r->train_rows), &failed);
    jsonx_set_or_fail(doc, "current_rows", json_integer((json_int_t)cur->nrows), &failed);
    if (scores != NULL) {
        double kl = reference_score_kl(r, scores, nscores);
        json_t *pred = json_object();
        jsonx_set_or_fail(pred, "kl_divergence", jsonx_num(kl, 0), &failed);
        jsonx_set_or_fail(pred, "level", json_string(drift_kl_level(kl)), &failed);
        jsonx_set_or_fail(doc, "prediction", pred, &failed);
    }
    return jsonx_build_done(doc, rv, failed, out);
}

json_t *reference_json(const struct drift_reference *r, const struct feature_set *fs)
{
    json_t *doc = json_object(), *features = json_array();
    int failed = doc == NULL || features == NULL;
    static const double qs[] = {0.01, 0.25, 0.5, 0.75, 0.99};
    static const char *const qn[] = {"p01", "p25", "p50", "p75", "p99"};
    for (size_t j = 0; !failed && j < r->n && j < fs->n; j++) {
        const struct ref_feature *f = &r->f[j];
        json_t *o = json_object();
        jsonx_set_or_fail(o, "feature", json_string(fs->f[j].name), &failed);
        jsonx_set_or_fail(o, "type", json_string(f->categorical ? "categorical" : "numeric"),
                          &failed);
        jsonx_set_or_fail(o, "present", json_integer((json_int_t)f->present), &failed);
        jsonx_set_or_fail(o, "missing", json_integer((json_int_t)f->missing), &failed);
        if (f->categorical) {
            json_t *c = json_object();
            for (uint32_t k = 0; k < f->ncats; k++)
                jsonx_set_or_fail(c, strdict_str(&fs->f[j].cats, k),
                                  json_integer((json_int_t)f->counts[k]), &failed);
            jsonx_set_or_fail(o, "categories", c, &failed);
        } else {
            json_t *q = json_object();
            for (size_t k = 0; k < 5; k++)
                jsonx_set_or_fail(q, qn[k],
                                  jsonx_num(stats_quantile_sorted(f->sketch, f->nsketch, qs[k]), 0),
                                  &failed);
            jsonx_set_or_fail(o, "quantiles", q, &failed);
        }
        jsonx_push_or_fail(features, o, &failed);
    }
    jsonx_set_or_fail(doc, "train_rows", json_integer((json_int_t)r->train_rows), &failed);
    jsonx_set_or_fail(doc, "score_rows", json_integer((json_int_t)r->score_rows), &failed);
    jsonx_set_or_fail(doc, "features", features, &failed);
    if (failed) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
