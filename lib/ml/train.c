#include "ml/train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "algo/linear.h"
#include "core/array.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "core/time.h"
#include "ml/eval.h"
#include "ml/featureset.h"
#include "ml/split.h"

/* --- parameters ------------------------------------------------------------------------ */

enum ptype { P_INT, P_NUM, P_BOOL, P_STR, P_LIST };

#define K_GBDT (1u << MODEL_GBDT)
#define K_RF (1u << MODEL_FOREST)
#define K_LIN (1u << MODEL_LINEAR)
#define K_ALL (K_GBDT | K_RF | K_LIN)

struct param_def {
    const char *name;
    unsigned kinds;
    enum ptype type;
    double min, max;
};

static const struct param_def param_defs[] = {
    {"rounds", K_GBDT | K_RF, P_INT, 1, 100000},
    {"learning_rate", K_GBDT, P_NUM, 1e-6, 10},
    {"max_depth", K_GBDT | K_RF, P_INT, -1, 64},
    {"num_leaves", K_GBDT, P_INT, 0, 1 << 20},
    {"max_bin", K_GBDT, P_INT, 2, 65535},
    {"lambda", K_GBDT | K_LIN, P_NUM, 0, 1e12},
    {"min_child_weight", K_GBDT, P_NUM, 0, 1e12},
    {"subsample", K_GBDT, P_NUM, 1e-6, 1},
    {"colsample", K_GBDT, P_NUM, 1e-6, 1},
    {"early_stopping", K_GBDT, P_INT, 0, 100000},
    {"min_samples_leaf", K_RF, P_INT, 1, 1 << 30},
    {"max_features", K_RF, P_NUM, 0, 1e9},
    {"bootstrap", K_RF, P_BOOL, 0, 1},
    {"max_iter", K_LIN, P_INT, 1, 1000000},
    {"tol", K_LIN, P_NUM, 0, 1},
    {"class_weight", K_ALL, P_STR, 0, 0},
    {"seed", K_ALL, P_INT, 0, 4294967295.0},
    {"threads", K_ALL, P_INT, 0, 256},
    {"valid_fraction", K_ALL, P_NUM, 0, 0.9},
    {"task", K_ALL, P_STR, 0, 0},
    {"features", K_ALL, P_LIST, 0, 0},
    {"exclude", K_ALL, P_LIST, 0, 0},
};

/* Names the users of seed 000 send for a neural network: accepted, reported as ignored. */
static const char *const nn_only[] = {"batch_size", "lstm_hidden", "mlp_hidden", "dropout"};

static int fail(struct train_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct train_error *err, const char *field, const char *fmt, ...)
{
    snprintf(err->field, sizeof err->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return AIOPS_EINVAL;
}

static const char *canonical_name(const char *name, enum model_kind kind)
{
    if (strcmp(name, "epochs") == 0)
        return kind == MODEL_LINEAR ? "max_iter" : "rounds";
    if (strcmp(name, "n_estimators") == 0 || strcmp(name, "trees") == 0 ||
        strcmp(name, "num_boost_round") == 0)
        return "rounds";
    if (strcmp(name, "eta") == 0)
        return "learning_rate";
    if (strcmp(name, "reg_lambda") == 0 || strcmp(name, "l2") == 0)
        return "lambda";
    if (strcmp(name, "colsample_bytree") == 0)
        return "colsample";
    if (strcmp(name, "early_stopping_rounds") == 0)
        return "early_stopping";
    return name;
}

/* Normalises params into *out (canonical names, typed values), refusing what is unknown,
 * mistyped or out of range. */
static int normalise(enum model_kind kind, const json_t *params, json_t **out, json_t **ignored,
                     struct train_error *err)
{
    *out = json_object();
    *ignored = json_array();
    if (params == NULL)
        return AIOPS_OK;
    if (!json_is_object(params))
        return fail(err, "config", "the parameters must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        int nn = 0;
        for (size_t i = 0; i < ARRAY_LEN(nn_only); i++)
            nn |= strcmp(key, nn_only[i]) == 0;
        if (nn) {
            json_array_append_new(*ignored, json_string(key));
            continue;
        }
        const char *name = canonical_name(key, kind);
        const struct param_def *d = NULL;
        for (size_t i = 0; i < ARRAY_LEN(param_defs); i++)
            if (strcmp(param_defs[i].name, name) == 0)
                d = &param_defs[i];
        if (d == NULL || !(d->kinds & (1u << kind)))
            return fail(err, key, "%s is not a parameter of the %s model", key,
                        model_kind_name(kind));
        double x = 0;
        unsigned flags;
        switch (d->type) {
        case P_INT:
        case P_NUM:
            if (json_is_number(v))
                x = json_number_value(v);
            else if (!json_is_string(v) ||
                     !numparse_f64(json_string_value(v), json_string_length(v), &x, &flags))
                return fail(err, key, "%s must be a number", key);
            if (!(x >= d->min && x <= d->max) || (d->type == P_INT && x != floor(x)))
                return fail(err, key, "%s must be %s from %g to %g", key,
                            d->type == P_INT ? "a whole number" : "a number", d->min, d->max);
            json_object_set_new(*out, name,
                                d->type == P_INT ? json_integer((json_int_t)x) : json_real(x));
            break;
        case P_BOOL:
            if (json_is_boolean(v))
                x = json_is_true(v);
            else if (json_is_string(v) &&
                     (x = numparse_bool(json_string_value(v), json_string_length(v))) >= 0)
                ;
            else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
                x = (double)json_integer_value(v);
            else
                return fail(err, key, "%s must be true or false", key);
            json_object_set_new(*out, name, json_boolean(x != 0));
            break;
        case P_STR:
            if (!json_is_string(v))
                return fail(err, key, "%s must be a string", key);
            json_object_set_new(*out, name, json_copy(v));
            break;
        case P_LIST:
            if (json_is_string(v)) { /* "a,b,c" from the command line */
                json_t *list = json_array();
                const char *s = json_string_value(v);
                while (*s) {
                    size_t n = strcspn(s, ",");
                    if (n > 0)
                        json_array_append_new(list, json_stringn(s, n));
                    s += n + (s[n] == ',');
                }
                json_object_set_new(*out, name, list);
            } else if (json_is_array(v)) {
                size_t i;
                json_t *e;
                json_array_foreach(v, i, e) if (!json_is_string(e)) return fail(
                    err, key, "%s must be a list of column names", key);
                json_object_set_new(*out, name, json_copy(v));
            } else {
                return fail(err, key, "%s must be a list of column names", key);
            }
            break;
        }
    }
    const char *task = json_string_value(json_object_get(*out, "task"));
    if (task && strcmp(task, "binary") && strcmp(task, "multiclass") &&
        strcmp(task, "classification") && strcmp(task, "regression"))
        return fail(err, "task", "task must be binary, multiclass, classification or regression");
    return AIOPS_OK;
}

static double num(const json_t *p, const char *name, double def)
{
    const json_t *v = json_object_get(p, name);
    return v ? json_number_value(v) : def;
}

int train_check(const struct train_config *cfg, json_t **normalised, struct train_error *err)
{
    json_t *norm, *ignored;
    if (normalised)
        *normalised = NULL;
    if ((unsigned)cfg->kind >= MODEL_KIND_COUNT)
        return fail(err, "model", "unknown model (gbdt, rf or linear)");
    int rv = normalise(cfg->kind, cfg->params, &norm, &ignored, err);
    if (rv == 0 && normalised) {
        *normalised = norm;
        norm = NULL;
    }
    json_decref(norm);
    json_decref(ignored);
    return rv;
}

/* --- helpers -------------------------------------------------------------------------- */

/* A NULL-terminated array of the strings of a JSON list (borrowed), or NULL. */
static const char **string_list(const json_t *list)
{
    if (!json_is_array(list))
        return NULL;
    size_t n = json_array_size(list);
    const char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++)
        v[i] = json_string_value(json_array_get(list, i));
    return v;
}

static enum table_task task_override(const json_t *p)
{
    const char *t = json_string_value(json_object_get(p, "task"));
    if (t == NULL)
        return TASK_NONE;
    if (strcmp(t, "regression") == 0)
        return TASK_REGRESSION;
    return TASK_BINARY; /* any classification: target_fit decides binary or multiclass */
}

void train_result_free(struct train_result *r)
{
    if (r->model)
        model_free(r->model);
    json_decref(r->metrics);
    json_decref(r->ignored);
    memset(r, 0, sizeof *r);
}

static json_t *importance_json(const struct model *m)
{
    size_t n = m->features.n;
    double *imp = calloc(n ? n : 1, sizeof *imp);
    if (imp == NULL)
        return json_null();
    int rv = m->kind == MODEL_GBDT     ? gbdt_importance(m->algo.gbdt, 1, imp)
             : m->kind == MODEL_FOREST ? forest_importance(m->algo.forest, imp)
                                       : AIOPS_EUNSUPPORTED;
    json_t *o = json_object();
    double total = 0;
    for (size_t j = 0; rv == 0 && j < n; j++)
        total += imp[j];
    for (size_t j = 0; rv == 0 && j < n; j++)
        json_object_set_new(o, m->features.f[j].name, jsonx_num(total > 0 ? imp[j] / total : 0, 0));
    free(imp);
    if (rv != 0) {
        json_decref(o);
        return json_null();
    }
    return o;
}

int train_evaluate(const struct model *m, const struct table *t, json_t **metrics,
                   struct train_error *err)
{
    *metrics = NULL;
    long tcol = table_find(t, m->target.name);
    if (tcol < 0)
        return fail(err, "target", "the data has no column %s (the model's target)",
                    m->target.name);
    double *y = malloc((t->nrows ? t->nrows : 1) * sizeof *y);
    size_t unknown = 0;
    if (y == NULL)
        return AIOPS_ENOMEM;
    int rv = target_apply(&m->target, t, tcol, y, &unknown);
    if (rv != 0) {
        free(y);
        return fail(err, "target", "the target column %s does not fit the model", m->target.name);
    }
    /* rows with a known target */
    size_t *rows = malloc((t->nrows ? t->nrows : 1) * sizeof *rows), n = 0;
    for (size_t r = 0; rows != NULL && r < t->nrows; r++)
        if (!isnan(y[r]))
            rows[n] = r, y[n++] = y[r];
    struct fmatrix x;
    const char *missing;
    rv = rows ? features_matrix_rows(&m->features, t, rows, n, &x, &missing, NULL, NULL)
              : AIOPS_ENOMEM;
    free(rows);
    if (rv == AIOPS_ENOTFOUND) {
        free(y);
        return fail(err, "data", "the data has no column %s (a feature of the model)", missing);
    }
    size_t k = model_outputs(m);
    double *out = rv == 0 ? malloc((n ? n : 1) * k * sizeof *out) : NULL;
    if (rv == 0 && out == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0)
        rv = model_predict_threads(m, &x, 0, out);
    if (rv == 0) {
        if (m->target.task == TASK_REGRESSION)
            rv = eval_regression(y, out, n, metrics);
        else
            rv = eval_classification(y, out, n, m->target.nclasses,
                                        (const char *const *)m->target.labels, metrics);
    }
    if (rv == 0 && unknown > 0)
        json_object_set_new(*metrics, "unknown_class_rows", json_integer((json_int_t)unknown));
    free(out);
    free(y);
    fmatrix_free(&x);
    return rv;
}

/* --- training ----------------------------------------------------------------------------- */

int train_model(const struct table *t, const struct table *valid, const struct train_config *cfg,
                train_progress_fn progress, void *arg, struct train_result *out,
                struct train_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    json_t *p = NULL;
    int rv;
    if ((unsigned)cfg->kind >= MODEL_KIND_COUNT)
        return fail(err, "model", "unknown model (gbdt, rf or linear)");
    if ((rv = normalise(cfg->kind, cfg->params, &p, &out->ignored, err)) != 0) {
        json_decref(p);
        return rv;
    }
    struct feature_set fs = {0};
    struct target_spec ts = {0};
    struct fmatrix x = {0}, vx = {0};
    double *y = NULL, *yt = NULL, *yv = NULL, *w = NULL, *vpred = NULL;
    size_t *rows = NULL;
    struct split_folds folds = {0};
    const char **only = string_list(json_object_get(p, "features"));
    const char **exclude = string_list(json_object_get(p, "exclude"));
    struct model *m = NULL;
    uint64_t t0 = time_mono_ns();

    long tcol = cfg->target ? table_find(t, cfg->target) : -1;
    if (tcol < 0) {
        rv = fail(err, "target", "the data has no column %s", cfg->target ? cfg->target : "(none given)");
        goto out;
    }
    if (t->nrows == 0) {
        rv = fail(err, "file_id", "the data has no rows");
        goto out;
    }
    const char *why = NULL;
    if ((y = malloc(t->nrows * sizeof *y)) == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    if ((rv = target_fit(t, tcol, task_override(p), &ts, y, &why)) != 0) {
        if (rv == AIOPS_EINVAL)
            fail(err, "target", "%s: %s", cfg->target, why);
        goto out;
    }
    if ((rv = features_fit(t, tcol, only, exclude, &fs, &why)) != 0) {
        if (rv == AIOPS_EINVAL)
            fail(err, "features", "%s", strcmp(why, "(no usable feature column)") == 0
                                            ? "no usable feature column"
                                            : why);
        goto out;
    }
    /* labelled rows only */
    if ((rows = malloc(t->nrows * sizeof *rows)) == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    size_t nl = 0;
    for (size_t r = 0; r < t->nrows; r++)
        if (!isnan(y[r]))
            rows[nl++] = r;
    out->unlabelled_rows = t->nrows - nl;
    if (nl == 0) {
        rv = fail(err, "target", "no row has a value in %s", cfg->target);
        goto out;
    }
    size_t *train_rows = rows, ntrain = nl;
    double vf = num(p, "valid_fraction", cfg->valid_fraction);
    uint64_t seed = (uint64_t)num(p, "seed", 0);
    if (valid != NULL) {
        long vt = table_find(valid, cfg->target);
        const char *missing;
        size_t unk = 0;
        if (vt < 0) {
            rv = fail(err, "valid", "the validation data has no column %s", cfg->target);
            goto out;
        }
        double *vy_all = malloc((valid->nrows ? valid->nrows : 1) * sizeof *vy_all);
        size_t *vrows = malloc((valid->nrows ? valid->nrows : 1) * sizeof *vrows), nv = 0;
        if (vy_all == NULL || vrows == NULL || target_apply(&ts, valid, vt, vy_all, &unk) != 0) {
            free(vy_all);
            free(vrows);
            rv = fail(err, "valid", "the validation target does not fit the training target");
            goto out;
        }
        for (size_t r = 0; r < valid->nrows; r++)
            if (!isnan(vy_all[r]))
                vrows[nv] = r, vy_all[nv++] = vy_all[r];
        rv = features_matrix_rows(&fs, valid, vrows, nv, &vx, &missing, NULL, NULL);
        free(vrows);
        yv = vy_all;
        if (rv == AIOPS_ENOTFOUND) {
            fail(err, "valid", "the validation data has no column %s", missing);
            goto out;
        }
        if (rv != 0)
            goto out;
        out->valid_rows = nv;
    } else if (vf > 0 && nl >= 10) {
        /* hold out validation rows (stratified for classification) */
        double *yl = malloc(nl * sizeof *yl);
        if (yl == NULL) {
            rv = AIOPS_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < nl; i++)
            yl[i] = y[rows[i]];
        rv = ts.task == TASK_REGRESSION ? split_holdout(nl, vf, seed, &folds, &why)
                                        : split_holdout_stratified(yl, nl, vf, seed, &folds, &why);
        free(yl);
        if (rv == AIOPS_EINVAL) {
            rv = fail(err, "valid_fraction", "%s", why ? why : "cannot hold out validation rows");
            goto out;
        }
        if (rv != 0)
            goto out;
        /* map fold positions back to table rows */
        struct split_fold *f = &folds.fold[0];
        for (size_t i = 0; i < f->ntrain; i++)
            f->train[i] = rows[f->train[i]];
        for (size_t i = 0; i < f->ntest; i++)
            f->test[i] = rows[f->test[i]];
        train_rows = f->train;
        ntrain = f->ntrain;
        const char *missing;
        if ((rv = features_matrix_rows(&fs, t, f->test, f->ntest, &vx, &missing, NULL, NULL)) != 0)
            goto out;
        if ((yv = malloc((f->ntest ? f->ntest : 1) * sizeof *yv)) == NULL) {
            rv = AIOPS_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < f->ntest; i++)
            yv[i] = y[f->test[i]];
        out->valid_rows = f->ntest;
    }
    const char *missing;
    if ((rv = features_matrix_rows(&fs, t, train_rows, ntrain, &x, &missing, NULL, NULL)) != 0)
        goto out;
    yt = malloc(ntrain * sizeof *yt);
    w = malloc(ntrain * sizeof *w);
    if (yt == NULL || w == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ntrain; i++)
        yt[i] = y[train_rows[i]];
    out->train_rows = ntrain;
    const char *cw = json_string_value(json_object_get(p, "class_weight"));
    int weighted = cw != NULL && cw[0] != '\0';
    if (weighted && ts.task == TASK_REGRESSION) {
        rv = fail(err, "class_weight", "class_weight applies to classification only");
        goto out;
    }
    if (weighted && (rv = class_weights(&ts, cw, yt, ntrain, w, &why)) != 0) {
        fail(err, "class_weight", "%s", why);
        goto out;
    }

    if ((m = calloc(1, sizeof *m)) == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    m->kind = cfg->kind;
    char msg[256] = "";
    int K = ts.task == TASK_REGRESSION ? 1 : (int)ts.nclasses;
    int threads = (int)num(p, "threads", 0);
    const struct fmatrix *vxp = vx.x ? &vx : NULL;
    switch (cfg->kind) {
    case MODEL_GBDT: {
        struct gbdt_params gp;
        memset(&gp, 0, sizeof gp);
        gp.objective = ts.task == TASK_REGRESSION ? GBDT_REGRESSION
                       : K == 2                   ? GBDT_BINARY
                                                  : GBDT_MULTICLASS;
        gp.num_class = K;
        gp.rounds = (int)num(p, "rounds", 100);
        gp.learning_rate = num(p, "learning_rate", 0.1);
        gp.max_depth = (int)num(p, "max_depth", 6);
        gp.num_leaves = (int)num(p, "num_leaves", 0);
        gp.max_bin = (int)num(p, "max_bin", 255);
        gp.lambda = num(p, "lambda", 1.0);
        gp.min_child_weight = num(p, "min_child_weight", 1.0);
        gp.subsample = num(p, "subsample", 1.0);
        gp.colsample = num(p, "colsample", 1.0);
        gp.early_stopping = (int)num(p, "early_stopping", 0);
        gp.seed = (unsigned)seed;
        gp.threads = threads;
        rv = gbdt_train(&x, yt, weighted ? w : NULL, vxp, vxp ? yv : NULL, &gp, progress, arg,
                        &m->algo.gbdt, msg, sizeof msg);
        if (rv == 0)
            out->iterations = (int)gbdt_iterations(m->algo.gbdt);
        break;
    }
    case MODEL_FOREST: {
        struct forest_params fp;
        memset(&fp, 0, sizeof fp);
        fp.trees = (int)num(p, "rounds", 100);
        fp.max_depth = (int)num(p, "max_depth", -1);
        fp.min_samples_leaf = (int)num(p, "min_samples_leaf", 1);
        fp.max_features = num(p, "max_features", 0);
        fp.bootstrap = json_object_get(p, "bootstrap") ? json_is_true(json_object_get(p, "bootstrap")) : 1;
        fp.seed = (unsigned)seed;
        fp.threads = threads;
        fp.classification = ts.task != TASK_REGRESSION;
        fp.num_class = K;
        rv = forest_train(&x, yt, weighted ? w : NULL, &fp, progress, arg, &m->algo.forest, msg,
                          sizeof msg);
        out->iterations = fp.trees;
        break;
    }
    case MODEL_LINEAR: {
        struct linear_params lp;
        memset(&lp, 0, sizeof lp);
        lp.kind = ts.task == TASK_REGRESSION ? LINEAR_REGRESSION
                  : K == 2                   ? LINEAR_LOGISTIC
                                             : LINEAR_SOFTMAX;
        lp.num_class = K;
        lp.l2 = num(p, "lambda", 1.0);
        lp.max_iter = (int)num(p, "max_iter", 100);
        lp.tol = num(p, "tol", 1e-4);
        lp.fit_intercept = 1;
        lp.threads = threads;
        rv = linear_train(&x, yt, weighted ? w : NULL, &lp, progress, arg, &m->algo.linear, msg,
                          sizeof msg);
        out->iterations = lp.max_iter;
        break;
    }
    default:
        rv = AIOPS_EINVAL;
    }
    if (rv == AIOPS_EINVAL) {
        fail(err, "config", "%s", msg[0] ? msg : "the parameters are not valid for this data");
        goto out;
    }
    if (rv != 0)
        goto out;
    out->train_seconds = (double)(time_mono_ns() - t0) / 1e9;
    /* the model owns the features and target from here */
    m->features = fs;
    m->target = ts;
    memset(&fs, 0, sizeof fs);
    memset(&ts, 0, sizeof ts);

    if (vx.x != NULL) {
        size_t k = model_outputs(m);
        if ((vpred = malloc((vx.nrows ? vx.nrows : 1) * k * sizeof *vpred)) == NULL) {
            rv = AIOPS_ENOMEM;
            goto out;
        }
        if ((rv = model_predict_threads(m, &vx, threads, vpred)) != 0)
            goto out;
        rv = m->target.task == TASK_REGRESSION
                 ? eval_regression(yv, vpred, vx.nrows, &out->metrics)
                 : eval_classification(yv, vpred, vx.nrows, m->target.nclasses,
                                          (const char *const *)m->target.labels, &out->metrics);
        if (rv != 0)
            goto out;
    }
    char created[40];
    time_iso8601(created, sizeof created, time_now());
    json_t *feats = json_array();
    for (size_t j = 0; j < m->features.n; j++)
        json_array_append_new(feats, json_pack("{s:s, s:s}", "name", m->features.f[j].name, "kind",
                                               m->features.f[j].kind == FEAT_CATEGORICAL
                                                   ? "categorical"
                                                   : "numeric"));
    m->meta = json_pack("{s:s, s:s, s:s, s:O, s:O, s:o, s:I, s:I, s:f, s:i, s:s, s:s, s:o}",
                        "kind", model_kind_name(m->kind), "task", table_task_name(m->target.task),
                        "target", m->target.name, "params", p, "metrics",
                        out->metrics ? out->metrics : json_null(), "features", feats,
                        "train_rows", (json_int_t)out->train_rows, "valid_rows",
                        (json_int_t)out->valid_rows, "train_seconds", out->train_seconds,
                        "iterations", out->iterations, "created_at", created, "version",
                        AIOPS_VERSION, "importance", importance_json(m));
    if (m->meta == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    out->model = m;
    m = NULL;
out:
    if (m != NULL)
        model_free(m);
    feature_set_free(&fs);
    target_spec_free(&ts);
    fmatrix_free(&x);
    fmatrix_free(&vx);
    split_folds_free(&folds);
    free(y);
    free(yt);
    free(yv);
    free(w);
    free(vpred);
    free(rows);
    free(only);
    free(exclude);
    json_decref(p);
    if (rv != 0) {
        json_decref(out->metrics);
        out->metrics = NULL;
    }
    return rv;
}
