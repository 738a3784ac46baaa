#include "ml/train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "core/time.h"
#include "ml/eval.h"
#include "ml/featureset.h"
#include "ml/segments.h"
#include "ml/split.h"

/* --- parameters ------------------------------------------------------------------------ */

/* v, sent as `key` for parameter d, as the JSON value normalised parameters hold (*out,
 * owned by the caller) -- or the 422 reason it is refused. */
static int number_value(const struct param_def *d, const char *key, const json_t *v, json_t **out,
                        struct aiops_error *err)
{
    double x = 0;
    unsigned flags;
    if (json_is_number(v))
        x = json_number_value(v);
    else if (d->auto_zero && json_is_string(v) && strcmp(json_string_value(v), "auto") == 0)
        x = 0;
    else if (!json_is_string(v) ||
             !numparse_f64(json_string_value(v), json_string_length(v), &x, &flags))
        return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be a number", key);
    int whole = d->type == PARAM_INT;
    if (!(x >= d->min && x <= d->max) || (whole && x != floor(x)))
        return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be %s from %g to %g", key,
                               whole ? "a whole number" : "a number", d->min, d->max);
    *out = whole ? json_integer((json_int_t)x) : json_real(x);
    return AIOPS_OK;
}

static int bool_value(const char *key, const json_t *v, json_t **out, struct aiops_error *err)
{
    int b;
    if (json_is_boolean(v))
        b = json_is_true(v);
    else if (json_is_string(v) &&
             (b = numparse_bool(json_string_value(v), json_string_length(v))) >= 0)
        ;
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        b = (int)json_integer_value(v);
    else
        return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be true or false", key);
    *out = json_boolean(b);
    return AIOPS_OK;
}

static int columns_value(const char *key, const json_t *v, json_t **out, struct aiops_error *err)
{
    if (json_is_string(v)) { /* "a,b,c" from the command line */
        json_t *list = json_array();
        const char *s = json_string_value(v);
        while (*s) {
            size_t n = strcspn(s, ",");
            if (n > 0)
                json_array_append_new(list, json_stringn(s, n));
            s += n + (s[n] == ',');
        }
        *out = list;
        return AIOPS_OK;
    }
    if (!json_is_array(v))
        return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be a list of column names", key);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e))
            return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be a list of column names",
                                   key);
    }
    *out = json_copy((json_t *)v);
    return AIOPS_OK;
}

/* A list of whole numbers in d's range: a JSON list, or "256,128" from the command line. */
static int ints_value(const struct param_def *d, const char *key, const json_t *v, json_t **out,
                      struct aiops_error *err)
{
    json_t *list = json_array();
    if (list == NULL)
        return AIOPS_ENOMEM;
    int ok = 1;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (ok && *s) {
            size_t n = strcspn(s, ",");
            double x;
            unsigned flags;
            ok = n > 0 && numparse_f64(s, n, &x, &flags) &&
                 json_array_append_new(list, json_real(x)) == 0;
            s += n + (s[n] == ',');
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
        {
            ok = ok && json_is_number(e) &&
                 json_array_append_new(list, json_real(json_number_value(e))) == 0;
        }
    } else {
        ok = 0;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        double x = json_real_value(e);
        ok = ok && x >= d->min && x <= d->max && x == floor(x);
        if (ok)
            json_array_set_new(list, i, json_integer((json_int_t)x));
    }
    if (!ok || json_array_size(list) == 0) {
        json_decref(list);
        return aiops_error_set(err, AIOPS_EINVAL, key,
                               "%s must be a list of whole numbers from %g to %g", key, d->min,
                               d->max);
    }
    *out = list;
    return AIOPS_OK;
}

static int param_value(const struct param_def *d, const char *key, const json_t *v, json_t **out,
                       struct aiops_error *err)
{
    switch (d->type) {
    case PARAM_INT:
    case PARAM_NUMBER:
        return number_value(d, key, v, out, err);
    case PARAM_BOOL:
        return bool_value(key, v, out, err);
    case PARAM_STRING:
        if (!json_is_string(v))
            return aiops_error_set(err, AIOPS_EINVAL, key, "%s must be a string", key);
        *out = json_copy((json_t *)v);
        return AIOPS_OK;
    case PARAM_INTS:
        return ints_value(d, key, v, out, err);
    default:
        return columns_value(key, v, out, err);
    }
}

/* A text parameter with choices holds one of them (checked once every name is known). */
static int check_choices(const struct learner *l, const json_t *norm, struct aiops_error *err)
{
    size_t n = learner_param_count(l);
    for (size_t i = 0; i < n; i++) {
        const struct param_def *d = learner_param_at(l, i);
        const char *v = json_string_value(json_object_get(norm, d->name));
        if (d->choices == NULL || v == NULL)
            continue;
        int ok = 0;
        for (size_t k = 0; d->choices[k] != NULL; k++)
            ok |= strcmp(v, d->choices[k]) == 0;
        if (!ok) {
            char text[256];
            param_choices_text(d, text, sizeof text);
            return aiops_error_set(err, AIOPS_EINVAL, d->name, "%s must be %s", d->name, text);
        }
    }
    return AIOPS_OK;
}

/* Normalises params into *out (canonical names, typed values), refusing what is unknown,
 * mistyped or out of range; names accepted but ignored go to *ignored. The caller owns both,
 * whatever the outcome. */
static int normalise(const struct learner *l, const json_t *params, json_t **out, json_t **ignored,
                     struct aiops_error *err)
{
    *out = json_object();
    *ignored = json_array();
    if (*out == NULL || *ignored == NULL)
        return AIOPS_ENOMEM;
    if (params == NULL)
        return AIOPS_OK;
    if (!json_is_object(params))
        return aiops_error_set(err, AIOPS_EINVAL, "config", "the parameters must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        if (learner_param_find(l, key) == NULL && learner_param_ignored(key)) {
            json_array_append_new(*ignored, json_string(key));
            continue;
        }
        const struct param_def *d = learner_param_find(l, key);
        if (d == NULL)
            return aiops_error_set(err, AIOPS_EINVAL, key, "%s is not a parameter of the %s model",
                                   key, l->name);
        json_t *value = NULL;
        int rv = param_value(d, key, v, &value, err);
        if (rv != 0)
            return rv;
        json_object_set_new(*out, d->name, value);
    }
    return check_choices(l, *out, err);
}

static int known_learner(const struct train_config *cfg, struct aiops_error *err)
{
    if (cfg->learner != NULL)
        return AIOPS_OK;
    char names[128];
    learner_names(names, sizeof names);
    return aiops_error_set(err, AIOPS_EINVAL, "model", "unknown model (%s)", names);
}

int train_check(const struct train_config *cfg, json_t **normalised, struct aiops_error *err)
{
    json_t *norm = NULL, *ignored = NULL;
    if (normalised)
        *normalised = NULL;
    int rv = known_learner(cfg, err);
    if (rv == 0)
        rv = normalise(cfg->learner, cfg->params, &norm, &ignored, err);
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
    const struct learner *l = m->learner;
    int rv = l->importance ? l->importance(m->algo, imp) : AIOPS_EUNSUPPORTED;
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

void labelled_predictions_free(struct labelled_predictions *p)
{
    free(p->rows);
    free(p->y);
    free(p->pred);
    memset(p, 0, sizeof *p);
}

int train_predict_labelled(const struct model *m, const struct table *t, const size_t *rows,
                           size_t n, struct labelled_predictions *out, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    long tcol = table_find(t, m->target.name);
    if (tcol < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "target",
                               "the data has no column %s (the model's target)", m->target.name);
    size_t cand = rows != NULL ? n : t->nrows;
    double *y = malloc((t->nrows ? t->nrows : 1) * sizeof *y);
    out->rows = malloc((cand ? cand : 1) * sizeof *out->rows);
    out->y = malloc((cand ? cand : 1) * sizeof *out->y);
    out->outputs = model_outputs(m);
    if (y == NULL || out->rows == NULL || out->y == NULL) {
        free(y);
        labelled_predictions_free(out);
        return AIOPS_ENOMEM;
    }
    if (target_apply(&m->target, t, tcol, y, &out->unknown) != 0) {
        free(y);
        labelled_predictions_free(out);
        return aiops_error_set(err, AIOPS_EINVAL, "target",
                               "the target column %s does not fit the model", m->target.name);
    }
    for (size_t i = 0; i < cand; i++) {
        size_t r = rows != NULL ? rows[i] : i;
        if (r < t->nrows && !isnan(y[r])) {
            out->rows[out->n] = r;
            out->y[out->n++] = y[r];
        }
    }
    free(y);
    struct fmatrix x;
    memset(&x, 0, sizeof x);
    int rv = features_matrix_rows(&m->features, t, out->rows, out->n, &x, err, NULL, NULL);
    if (rv == AIOPS_ENOTFOUND) {
        rv = AIOPS_EINVAL;
        if (err != NULL) /* the message names the column; the request's data is at fault */
            snprintf(err->field, sizeof err->field, "data");
    }
    if (rv == 0 &&
        (out->pred = malloc((out->n ? out->n : 1) * out->outputs * sizeof *out->pred)) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0)
        rv = model_predict_threads(m, &x, 0, out->pred);
    fmatrix_free(&x);
    if (rv != 0)
        labelled_predictions_free(out);
    return rv;
}

static int evaluate_clusters(const struct model *m, const struct table *t, json_t **metrics,
                             struct aiops_error *err);

int train_evaluate(const struct model *m, const struct table *t, json_t **metrics,
                   struct aiops_error *err)
{
    *metrics = NULL;
    if (model_is_clustering(m))
        return evaluate_clusters(m, t, metrics, err);
    struct labelled_predictions p;
    int rv = train_predict_labelled(m, t, NULL, 0, &p, err);
    if (rv != 0)
        return rv;
    if (m->target.task == TASK_REGRESSION)
        rv = eval_regression(p.y, p.pred, p.n, metrics);
    else
        rv = eval_classification(p.y, p.pred, p.n, m->target.nclasses,
                                 (const char *const *)m->target.labels, metrics);
    if (rv == 0 && p.unknown > 0)
        json_object_set_new(*metrics, "unknown_class_rows", json_integer((json_int_t)p.unknown));
    labelled_predictions_free(&p);
    return rv;
}

/* --- training ----------------------------------------------------------------------------- */

/* What train_model's steps hand on to each other; run_free releases what is still here. */
struct run {
    const struct train_config *cfg;
    const struct train_checkpoint *ckpt; /* may be NULL */
    const struct learner *l;
    json_t *p;                /* the normalised parameters: what META records */
    json_t *full;             /* the same with every default: what the learner reads */
    long tcol;                /* the target column */
    struct target_spec ts;    /* handed to the model once it is trained */
    struct feature_set fs;    /* likewise */
    double *y;                /* t->nrows targets (NaN: unlabelled) */
    size_t *rows, nl;         /* the labelled rows of t */
    struct split_folds folds; /* held-out validation rows (when held out) */
    const size_t *train_rows; /* rows or the fold's training rows */
    size_t ntrain;
    struct fmatrix x, vx; /* the training and validation matrices (vx.x NULL: none) */
    double *yt, *w, *yv;  /* the targets and weights of x, the targets of vx */
    int weighted;         /* w holds class weights (else all rows weigh 1) */
};

static void run_free(struct run *r)
{
    json_decref(r->p);
    json_decref(r->full);
    feature_set_free(&r->fs);
    target_spec_free(&r->ts);
    fmatrix_free(&r->x);
    fmatrix_free(&r->vx);
    split_folds_free(&r->folds);
    free(r->y);
    free(r->yt);
    free(r->yv);
    free(r->w);
    free(r->rows);
}

/* The target column, its task and every row's target; the learner must learn that task. */
static int resolve_target(struct run *r, const struct table *t, struct aiops_error *err)
{
    const char *target = r->cfg->target;
    r->tcol = target ? table_find(t, target) : -1;
    if (r->tcol < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "the data has no column %s",
                               target ? target : "(none given)");
    if (t->nrows == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "file_id", "the data has no rows");
    if ((r->y = malloc(t->nrows * sizeof *r->y)) == NULL)
        return AIOPS_ENOMEM;
    int rv = target_fit(t, r->tcol, task_override(r->p), &r->ts, r->y, err);
    if (rv == 0 && !(r->l->tasks & learner_task_bit(r->ts.task)))
        rv = aiops_error_set(err, AIOPS_EINVAL, "model", "the %s model does not learn %s tasks",
                             r->l->name, table_task_name(r->ts.task));
    return rv;
}

static int fit_features(struct run *r, const struct table *t, struct aiops_error *err)
{
    const char **only = string_list(json_object_get(r->p, "features"));
    const char **exclude = string_list(json_object_get(r->p, "exclude"));
    int rv = features_fit(t, r->tcol, only, exclude, &r->fs, err);
    free(only);
    free(exclude);
    return rv;
}

/* The rows with a target: training takes them all unless validation rows are held out. */
static int pick_labelled(struct run *r, const struct table *t, struct train_result *out,
                         struct aiops_error *err)
{
    if ((r->rows = malloc(t->nrows * sizeof *r->rows)) == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < t->nrows; i++)
        if (!isnan(r->y[i]))
            r->rows[r->nl++] = i;
    out->unlabelled_rows = t->nrows - r->nl;
    if (r->nl == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "no row has a value in %s",
                               r->cfg->target);
    r->train_rows = r->rows;
    r->ntrain = r->nl;
    return AIOPS_OK;
}

/* The validation matrix from a table of its own: its labelled rows. */
static int valid_given(struct run *r, const struct table *valid, struct train_result *out,
                       struct aiops_error *err)
{
    long vt = table_find(valid, r->cfg->target);
    if (vt < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "valid", "the validation data has no column %s",
                               r->cfg->target);
    size_t unknown = 0, nv = 0;
    double *vy = malloc((valid->nrows ? valid->nrows : 1) * sizeof *vy);
    size_t *vrows = malloc((valid->nrows ? valid->nrows : 1) * sizeof *vrows);
    if (vy == NULL || vrows == NULL || target_apply(&r->ts, valid, vt, vy, &unknown) != 0) {
        free(vy);
        free(vrows);
        return aiops_error_set(err, AIOPS_EINVAL, "valid",
                               "the validation target does not fit the training target");
    }
    for (size_t i = 0; i < valid->nrows; i++)
        if (!isnan(vy[i]))
            vrows[nv] = i, vy[nv++] = vy[i];
    struct aiops_error missing = AIOPS_ERROR_INIT;
    int rv = features_matrix_rows(&r->fs, valid, vrows, nv, &r->vx, &missing, NULL, NULL);
    free(vrows);
    r->yv = vy;
    if (rv == AIOPS_ENOTFOUND)
        return aiops_error_set(err, AIOPS_EINVAL, "valid", "the validation data has no column %s",
                               missing.field);
    if (rv == 0)
        out->valid_rows = nv;
    return rv;
}

/* Splits the nl labelled rows (table rows `rows`, targets y by table row) into training
 * and validation rows with fraction vf and seed, stratified for classification, and turns
 * the fold's positions into table rows. The one place the held-out rows are chosen:
 * train_model and train_holdout_rows must agree on them. */
static int holdout_split(enum table_task task, const double *y, const size_t *rows, size_t nl,
                         double vf, uint64_t seed, struct split_folds *folds,
                         struct aiops_error *err)
{
    double *yl = malloc((nl ? nl : 1) * sizeof *yl);
    if (yl == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < nl; i++)
        yl[i] = y[rows[i]];
    int rv = task == TASK_REGRESSION ? split_holdout(nl, vf, seed, folds, err)
                                     : split_holdout_stratified(yl, nl, vf, seed, folds, err);
    free(yl);
    if (rv != 0)
        return rv;
    struct split_fold *f = &folds->fold[0];
    for (size_t i = 0; i < f->ntrain; i++)
        f->train[i] = rows[f->train[i]];
    for (size_t i = 0; i < f->ntest; i++)
        f->test[i] = rows[f->test[i]];
    return AIOPS_OK;
}

/* Validation rows are held out of the labelled ones when valid_fraction asks for them and
 * there are enough rows to spare. */
static int holdout_wanted(double vf, size_t nl)
{
    return vf > 0 && nl >= 10;
}

/* Validation rows held out of the labelled ones (stratified for classification). */
static int valid_held_out(struct run *r, const struct table *t, struct train_result *out,
                          struct aiops_error *err)
{
    const json_t *given = json_object_get(r->p, "valid_fraction");
    double vf = given ? json_number_value(given) : r->cfg->valid_fraction;
    if (!holdout_wanted(vf, r->nl))
        return AIOPS_OK;
    uint64_t seed = (uint64_t)learner_param(r->full, "seed");
    struct aiops_error why = AIOPS_ERROR_INIT;
    int rv = holdout_split(r->ts.task, r->y, r->rows, r->nl, vf, seed, &r->folds, &why);
    if (rv == AIOPS_EINVAL)
        return aiops_error_set(err, AIOPS_EINVAL, "valid_fraction", "%s",
                               why.message[0] ? why.message : "cannot hold out validation rows");
    if (rv != 0)
        return rv;
    struct split_fold *f = &r->folds.fold[0];
    r->train_rows = f->train;
    r->ntrain = f->ntrain;
    if ((rv = features_matrix_rows(&r->fs, t, f->test, f->ntest, &r->vx, err, NULL, NULL)) != 0)
        return rv;
    if ((r->yv = malloc((f->ntest ? f->ntest : 1) * sizeof *r->yv)) == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < f->ntest; i++)
        r->yv[i] = r->y[f->test[i]];
    out->valid_rows = f->ntest;
    return AIOPS_OK;
}

int train_holdout_rows(const struct model *m, const struct table *t, size_t **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    const json_t *params = json_object_get(m->meta, "params");
    double vf = json_number_value(json_object_get(params, "valid_fraction"));
    long tcol = table_find(t, m->target.name);
    if (tcol < 0)
        return AIOPS_EINVAL;
    json_t *full = NULL;
    double *y = malloc((t->nrows ? t->nrows : 1) * sizeof *y);
    size_t *labelled = malloc((t->nrows ? t->nrows : 1) * sizeof *labelled), nl = 0, unknown = 0;
    struct split_folds folds;
    memset(&folds, 0, sizeof folds);
    int rv = y && labelled ? learner_params_full(m->learner, params, &full) : AIOPS_ENOMEM;
    if (rv == 0 && target_apply(&m->target, t, tcol, y, &unknown) != 0)
        rv = AIOPS_EINVAL;
    for (size_t i = 0; rv == 0 && i < t->nrows; i++)
        if (!isnan(y[i]))
            labelled[nl++] = i;
    if (rv == 0 && unknown > 0)
        rv = AIOPS_EINVAL; /* not the table the model was trained on */
    if (rv == 0 && holdout_wanted(vf, nl)) {
        rv = holdout_split(m->target.task, y, labelled, nl, vf,
                           (uint64_t)learner_param(full, "seed"), &folds, NULL);
        size_t nt = rv == 0 ? folds.fold[0].ntest : 0;
        if (rv == 0 && nt > 0 && (*rows = malloc(nt * sizeof **rows)) == NULL)
            rv = AIOPS_ENOMEM;
        if (rv == 0 && nt > 0) {
            memcpy(*rows, folds.fold[0].test, nt * sizeof **rows);
            *n = nt;
        }
    }
    split_folds_free(&folds);
    json_decref(full);
    free(labelled);
    free(y);
    return rv;
}

/* The training matrix, its targets and, with class_weight, its row weights. */
static int training_matrix(struct run *r, const struct table *t, struct train_result *out,
                           struct aiops_error *err)
{
    int rv = features_matrix_rows(&r->fs, t, r->train_rows, r->ntrain, &r->x, err, NULL, NULL);
    if (rv != 0)
        return rv;
    r->yt = malloc(r->ntrain * sizeof *r->yt);
    r->w = malloc(r->ntrain * sizeof *r->w);
    if (r->yt == NULL || r->w == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < r->ntrain; i++)
        r->yt[i] = r->y[r->train_rows[i]];
    out->train_rows = r->ntrain;
    const char *cw = json_string_value(json_object_get(r->p, "class_weight"));
    r->weighted = cw != NULL && cw[0] != '\0';
    if (r->weighted && r->ts.task == TASK_REGRESSION)
        return aiops_error_set(err, AIOPS_EINVAL, "class_weight",
                               "class_weight applies to classification only");
    if (r->weighted)
        rv = class_weights(&r->ts, cw, r->yt, r->ntrain, r->w, err);
    return rv;
}

/* Trains the learner into a new model (*m, the caller's), which takes the features and
 * target over from r. */
static int run_learner(struct run *r, train_progress_fn progress, void *arg, struct model **m,
                       struct train_result *out, struct aiops_error *err)
{
    if ((*m = calloc(1, sizeof **m)) == NULL)
        return AIOPS_ENOMEM;
    int has_valid = r->vx.x != NULL;
    struct learner_input in = {
        .x = &r->x,
        .y = r->yt, /* NULL for a clustering learner */
        .w = r->weighted ? r->w : NULL,
        .vx = has_valid ? &r->vx : NULL,
        .vy = has_valid ? r->yv : NULL,
        .task = r->ts.task,
        .nclasses = r->ts.nclasses,
        .params = r->full,
        .progress = progress,
        .progress_arg = arg,
        .checkpoint = r->ckpt ? r->ckpt->checkpoint : NULL,
        .checkpoint_arg = r->ckpt ? r->ckpt->arg : NULL,
        .resume = r->ckpt ? r->ckpt->resume : NULL,
        .resume_len = r->ckpt ? r->ckpt->resume_len : 0,
    };
    int rv = r->l->train(&in, &(*m)->algo, &out->iterations, err);
    if (rv == AIOPS_EINVAL) {
        /* the algorithm names no field: the request's parameters as a whole are at fault */
        if (err && err->field[0] == '\0')
            snprintf(err->field, sizeof err->field, "config");
        if (err && err->message[0] == '\0')
            snprintf(err->message, sizeof err->message,
                     "the parameters are not valid for this data");
    }
    if (rv != 0)
        return rv;
    (*m)->learner = r->l;
    (*m)->features = r->fs;
    (*m)->target = r->ts;
    memset(&r->fs, 0, sizeof r->fs);
    memset(&r->ts, 0, sizeof r->ts);
    return AIOPS_OK;
}

/* Metrics of m on the validation rows (*metrics NULL without them), and the drift reference
 * (lib/ml/reference.h): the training rows' features and the scores of the validation rows,
 * or of the training rows when none were held out. */
static int evaluate_valid(const struct run *r, struct model *m, json_t **metrics)
{
    const struct fmatrix *vx = &r->vx;
    const struct fmatrix *scored = vx->x != NULL ? vx : &r->x;
    size_t k = model_outputs(m), n = scored->nrows;
    double *pred = malloc((n ? n : 1) * k * sizeof *pred);
    double *score = malloc((n ? n : 1) * sizeof *score);
    int rv = pred && score ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0)
        rv = model_predict_threads(m, scored, (int)learner_param(r->full, "threads"), pred);
    if (rv == 0 && vx->x != NULL)
        rv = m->target.task == TASK_REGRESSION
                 ? eval_regression(r->yv, pred, vx->nrows, metrics)
                 : eval_classification(r->yv, pred, vx->nrows, m->target.nclasses,
                                       (const char *const *)m->target.labels, metrics);
    if (rv == 0) {
        reference_scores(pred, n, k, m->target.task == TASK_REGRESSION, score);
        rv = reference_build(&m->features, &r->x, score, n, vx->x == NULL, &m->reference);
    }
    free(pred);
    free(score);
    return rv;
}

int train_model_meta(struct model *m, json_t *params, json_t *metrics, size_t train_rows,
                     size_t valid_rows, double train_seconds, int iterations)
{
    char created[40];
    time_iso8601(created, sizeof created, time_now());
    json_t *feats = json_array();
    for (size_t j = 0; j < m->features.n; j++)
        json_array_append_new(
            feats,
            json_pack("{s:s, s:s}", "name", m->features.f[j].name, "kind",
                      m->features.f[j].kind == FEAT_CATEGORICAL ? "categorical" : "numeric"));
    m->meta = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:f, s:i, s:s, s:s, s:o}", "kind",
                        m->learner->name, "task", model_task_name(m), "target", m->target.name,
                        "params", params, "metrics", metrics ? metrics : json_null(), "features",
                        feats, "train_rows", (json_int_t)train_rows, "valid_rows",
                        (json_int_t)valid_rows, "train_seconds", train_seconds, "iterations",
                        iterations, "created_at", created, "version", AIOPS_VERSION, "importance",
                        importance_json(m));
    return m->meta ? AIOPS_OK : AIOPS_ENOMEM;
}

/* The model's metadata: what was trained, on what, how, how well. */
static int build_meta(const struct run *r, struct model *m, const struct train_result *out)
{
    return train_model_meta(m, json_incref(r->p), json_incref(out->metrics), out->train_rows,
                            out->valid_rows, out->train_seconds, out->iterations);
}

/* --- clustering -------------------------------------------------------------------------- */

/* A clustering learner's optional target: a grouping to score against, left out of the
 * features. The model records its name ("" without one) and no task. */
static int cluster_target(struct run *r, const struct table *t, struct aiops_error *err)
{
    const char *target = r->cfg->target;
    r->tcol = -1;
    if (target != NULL && target[0] != '\0' && (r->tcol = table_find(t, target)) < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "the data has no column %s", target);
    if (t->nrows == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "file_id", "the data has no rows");
    r->ts.task = TASK_NONE;
    r->ts.name = strdup(r->tcol >= 0 ? target : "");
    return r->ts.name ? AIOPS_OK : AIOPS_ENOMEM;
}

/* The model's clusters of x's rows into *labels (the caller frees). */
static int cluster_labels(const struct model *m, const struct fmatrix *x, int threads,
                          int32_t **labels)
{
    size_t n = x->nrows;
    double *pred = malloc((n ? n : 1) * sizeof *pred);
    *labels = malloc((n ? n : 1) * sizeof **labels);
    int rv = pred && *labels ? model_predict_threads(m, x, threads, pred) : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < n; i++)
        (*labels)[i] = (int32_t)pred[i];
    free(pred);
    if (rv != 0) {
        free(*labels);
        *labels = NULL;
    }
    return rv;
}

/* Metrics of a clustering model on x (the rows of t given by rows, all when NULL), scored
 * against the model's target column when it has one and t holds it. */
static int cluster_metrics(const struct model *m, const struct fmatrix *x, const int32_t *labels,
                           const struct table *t, json_t **metrics)
{
    long tcol = m->target.name[0] ? table_find(t, m->target.name) : -1;
    int32_t *truth = NULL;
    size_t kt = 0;
    int rv = tcol >= 0 ? segments_truth(t, tcol, &truth, &kt) : AIOPS_OK;
    if (rv == 0)
        rv = segments_metrics(m, x, labels, truth, kt, metrics);
    free(truth);
    return rv;
}

/* Every row trains a clustering learner; its metrics are measured on them, and each cluster
 * gets its name and description in the metadata ("clusters"). */
static int train_clusters(struct run *r, const struct table *t, train_progress_fn progress,
                          void *arg, struct model **m, struct train_result *out,
                          struct aiops_error *err)
{
    int rv;
    struct aiops_error missing = AIOPS_ERROR_INIT;
    if ((rv = cluster_target(r, t, err)) != 0 || (rv = fit_features(r, t, err)) != 0)
        return rv;
    rv = features_matrix(&r->fs, t, &r->x, &missing, NULL, NULL);
    features_drop_fitted(&r->fs); /* t's only matrix is built */
    if (rv != 0)
        return rv;
    out->train_rows = t->nrows;
    uint64_t t0 = time_mono_ns();
    if ((rv = run_learner(r, progress, arg, m, out, err)) != 0)
        return rv;
    out->train_seconds = (double)(time_mono_ns() - t0) / 1e9;
    int32_t *labels = NULL;
    json_t *clusters = NULL;
    rv = cluster_labels(*m, &r->x, (int)learner_param(r->full, "threads"), &labels);
    if (rv == 0)
        rv = cluster_metrics(*m, &r->x, labels, t, &out->metrics);
    if (rv == 0)
        rv = segments_describe(*m, &r->x, labels, &clusters);
    free(labels);
    if (rv == 0)
        rv = build_meta(r, *m, out);
    if (rv == 0)
        json_object_set_new((*m)->meta, "clusters", clusters);
    else
        json_decref(clusters);
    return rv;
}

int train_model(const struct table *t, const struct table *valid, const struct train_config *cfg,
                train_progress_fn progress, void *arg, struct train_result *out,
                struct aiops_error *err)
{
    return train_model_checkpointed(t, valid, cfg, NULL, progress, arg, out, err);
}

int train_model_checkpointed(const struct table *t, const struct table *valid,
                             const struct train_config *cfg, const struct train_checkpoint *ckpt,
                             train_progress_fn progress, void *arg, struct train_result *out,
                             struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    struct run r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.ckpt = ckpt;
    r.l = cfg->learner;
    struct model *m = NULL;
    int rv;
    if ((rv = known_learner(cfg, err)) != 0 ||
        (rv = normalise(r.l, cfg->params, &r.p, &out->ignored, err)) != 0 ||
        (rv = learner_params_full(r.l, r.p, &r.full)) != 0)
        goto out;
    if (!r.l->needs_target) {
        if ((rv = train_clusters(&r, t, progress, arg, &m, out, err)) != 0)
            goto out;
        out->model = m;
        m = NULL;
        goto out;
    }
    uint64_t t0 = time_mono_ns();
    if ((rv = resolve_target(&r, t, err)) != 0 || (rv = fit_features(&r, t, err)) != 0 ||
        (rv = pick_labelled(&r, t, out, err)) != 0)
        goto out;
    rv = valid != NULL ? valid_given(&r, valid, out, err) : valid_held_out(&r, t, out, err);
    if (rv == 0)
        rv = training_matrix(&r, t, out, err);
    features_drop_fitted(&r.fs); /* t's matrices are built */
    if (rv != 0 || (rv = run_learner(&r, progress, arg, &m, out, err)) != 0)
        goto out;
    out->train_seconds = (double)(time_mono_ns() - t0) / 1e9;
    if ((rv = evaluate_valid(&r, m, &out->metrics)) != 0 || (rv = build_meta(&r, m, out)) != 0)
        goto out;
    out->model = m;
    m = NULL;
out:
    run_free(&r);
    if (rv != 0) {
        model_free(m);
        train_result_free(out);
    }
    return rv;
}

/* A clustering model's metrics on every row of t (against its target column when t has
 * it). */
static int evaluate_clusters(const struct model *m, const struct table *t, json_t **metrics,
                             struct aiops_error *err)
{
    struct fmatrix x;
    memset(&x, 0, sizeof x);
    struct aiops_error missing = AIOPS_ERROR_INIT;
    int32_t *labels = NULL;
    int rv = features_matrix(&m->features, t, &x, &missing, NULL, NULL);
    if (rv == AIOPS_ENOTFOUND)
        rv = aiops_error_set(err, AIOPS_EINVAL, "data",
                             "the data has no column %s (a feature of the model)", missing.field);
    if (rv == 0 && x.nrows == 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "data", "the data has no rows");
    if (rv == 0)
        rv = cluster_labels(m, &x, 0, &labels);
    if (rv == 0)
        rv = cluster_metrics(m, &x, labels, t, metrics);
    free(labels);
    fmatrix_free(&x);
    return rv;
}
