/* automl.c -- the search (see automl.h): the space from the learner tables, TPE trials
 * scored by k-fold CV with median pruning over folds, Caruana's ensemble selection. */
#include "ml/automl.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/pool.h"
#include "core/time.h"
#include "ml/ensemble.h"
#include "ml/eval.h"
#include "ml/featureset.h"
#include "ml/split.h"
#include "ml/tpe.h"
#include "ml/train.h"

#define MAX_DIMS 64
#define MAX_FOLDS 20
#define PRUNE_STARTUP 5   /* MedianPruner's n_startup_trials */
#define ENSEMBLE_POOL 5   /* best complete trials whose k fold models are kept (memory) */
#define ENSEMBLE_STEPS 40 /* Caruana's selection rounds */
#define SEARCH_SHARE 0.95 /* of the budget, for trials; the rest builds the model */
#define REFIT_SHARE 0.3   /* of the budget, kept at most for refitting the best trial */

/* --- metrics ----------------------------------------------------------------------------- */

enum metric { M_AUC, M_LOGLOSS, M_ACCURACY, M_F1_MACRO, M_RMSE, M_MAE };
static const char *const metric_names[] = {"auc", "logloss", "accuracy", "f1_macro", "rmse", "mae"};
static const int metric_higher[] = {1, 0, 1, 1, 0, 0};
#define NMETRICS (sizeof metric_names / sizeof metric_names[0])

int automl_metric_known(const char *metric)
{
    for (size_t i = 0; metric != NULL && i < NMETRICS; i++)
        if (strcmp(metric, metric_names[i]) == 0)
            return 1;
    return metric == NULL;
}

/* Macro F1 over the classes present in y or predicted (eval.h's convention). */
static double f1_macro(const double *y, const double *prob, size_t n, size_t K)
{
    double *tp = calloc(3 * K, sizeof *tp);
    if (tp == NULL)
        return NAN;
    double *fp = tp + K, *fn = tp + 2 * K;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t c = 1; c < K; c++)
            if (prob[i * K + c] > prob[i * K + best])
                best = c;
        size_t truth = (size_t)y[i];
        if (best == truth) {
            tp[truth] += 1;
        } else {
            fp[best] += 1;
            fn[truth] += 1;
        }
    }
    double sum = 0;
    size_t used = 0;
    for (size_t c = 0; c < K; c++) {
        if (tp[c] + fp[c] + fn[c] == 0)
            continue;
        sum += 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]);
        used++;
    }
    free(tp);
    return used ? sum / (double)used : NAN;
}

/* The loss to minimise (higher-is-better metrics negated); +INFINITY when undefined. */
static double metric_loss(enum metric m, const double *y, const double *pred, size_t n, size_t K)
{
    double v;
    switch (m) {
    case M_AUC:
        v = -eval_auc(y, pred, n, K);
        break;
    case M_LOGLOSS:
        v = eval_logloss(y, pred, n, K);
        break;
    case M_ACCURACY:
        v = -eval_accuracy(y, pred, n, K);
        break;
    case M_F1_MACRO:
        v = -f1_macro(y, pred, n, K);
        break;
    case M_RMSE:
        v = eval_rmse(y, pred, n);
        break;
    default:
        v = eval_mae(y, pred, n);
        break;
    }
    return isfinite(v) ? v : INFINITY;
}

/* A loss as the metric reads (the sign back for higher-is-better metrics). */
static double loss_score(enum metric m, double loss)
{
    return metric_higher[m] ? -loss : loss;
}

/* --- the search space -------------------------------------------------------------------- */

struct space {
    size_t nlearners;
    const struct learner *learner[16];
    size_t ndims; /* dimension 0: the learner */
    struct tpe_dim dim[MAX_DIMS];
    const struct param_def *def[MAX_DIMS]; /* NULL for dimension 0 */
    size_t owner[MAX_DIMS];                /* the learner index a dimension belongs to */
};

static int parse_models(const char *models, enum table_task task, struct space *s,
                        struct aiops_error *err)
{
    unsigned bit = learner_task_bit(task);
    if (models == NULL || models[0] == '\0') {
        for (size_t i = 0; i < learner_count() && s->nlearners < 16; i++) {
            const struct learner *l = learner_at(i);
            if (l->needs_target && (l->tasks & bit))
                s->learner[s->nlearners++] = l;
        }
        return AIOPS_OK;
    }
    for (const char *p = models; *p;) {
        size_t len = strcspn(p, ",");
        char name[64];
        if (len == 0 || len >= sizeof name)
            return aiops_error_set(err, AIOPS_EINVAL, "models",
                                   "models must be learner names separated by commas");
        memcpy(name, p, len);
        name[len] = '\0';
        const struct learner *l = learner_find(name);
        if (l == NULL || l == &learner_ensemble || !l->needs_target)
            return aiops_error_set(err, AIOPS_EINVAL, "models",
                                   "models: %s is not a supervised learner", name);
        if (!(l->tasks & bit))
            return aiops_error_set(err, AIOPS_EINVAL, "models",
                                   "models: the %s model does not learn %s tasks", name,
                                   table_task_name(task));
        int dup = 0;
        for (size_t i = 0; i < s->nlearners; i++)
            dup |= s->learner[i] == l;
        if (!dup && s->nlearners < 16)
            s->learner[s->nlearners++] = l;
        p += len + (p[len] == ',');
    }
    return s->nlearners ? AIOPS_OK
                        : aiops_error_set(err, AIOPS_EINVAL, "models", "models names no learner");
}

/* The dimensions: the learner, then every searched parameter of each learner. */
static void build_dims(struct space *s)
{
    s->dim[0] = (struct tpe_dim){.kind = TPE_CATEGORICAL, .nchoices = s->nlearners};
    s->ndims = 1;
    for (size_t li = 0; li < s->nlearners; li++) {
        const struct learner *l = s->learner[li];
        for (size_t i = 0; i < l->nparams && s->ndims < MAX_DIMS; i++) {
            const struct param_def *d = &l->params[i];
            if (!(d->search & PARAM_SEARCH))
                continue;
            struct tpe_dim td = {.lo = d->search_min,
                                 .hi = d->search_max,
                                 .log = (d->search & PARAM_SEARCH_LOG) != 0};
            if (d->type == PARAM_INT)
                td.kind = TPE_INT;
            else if (d->type == PARAM_NUMBER)
                td.kind = TPE_FLOAT;
            else if (d->type == PARAM_BOOL)
                td = (struct tpe_dim){.kind = TPE_CATEGORICAL, .nchoices = 2};
            else
                continue; /* text choices: not searched yet */
            s->dim[s->ndims] = td;
            s->def[s->ndims] = d;
            s->owner[s->ndims++] = li;
        }
    }
}

/* --- the data, split once ------------------------------------------------------------------ */

struct cvdata {
    struct target_spec ts;
    struct feature_set fs;
    struct fmatrix x; /* every labelled row */
    double *y;        /* x.nrows targets */
    size_t n, K;      /* rows, outputs per row */
    struct split_folds folds;
    struct fmatrix ftrain[MAX_FOLDS], ftest[MAX_FOLDS];
    double *ytrain[MAX_FOLDS], *ytest[MAX_FOLDS];
};

static void cvdata_free(struct cvdata *d)
{
    target_spec_free(&d->ts);
    feature_set_free(&d->fs);
    fmatrix_free(&d->x);
    free(d->y);
    for (size_t f = 0; f < d->folds.k && f < MAX_FOLDS; f++) {
        fmatrix_free(&d->ftrain[f]);
        fmatrix_free(&d->ftest[f]);
        free(d->ytrain[f]);
        free(d->ytest[f]);
    }
    split_folds_free(&d->folds);
}

/* Rows idx[0..n) of x (with their targets from y) into *out and *yout. */
static int take_rows(const struct fmatrix *x, const double *y, const size_t *idx, size_t n,
                     struct fmatrix *out, double **yout)
{
    int rv = fmatrix_alloc(n, x->ncols, out);
    if (rv != 0 || (*yout = malloc((n ? n : 1) * sizeof **yout)) == NULL)
        return AIOPS_ENOMEM;
    memcpy(out->is_cat, x->is_cat, x->ncols * sizeof *x->is_cat);
    memcpy(out->ncat, x->ncat, x->ncols * sizeof *x->ncat);
    for (size_t j = 0; j < x->ncols; j++) {
        const double *src = x->x + j * x->nrows;
        double *dst = out->x + j * n;
        for (size_t i = 0; i < n; i++)
            dst[i] = src[idx[i]];
    }
    for (size_t i = 0; i < n; i++)
        (*yout)[i] = y[idx[i]];
    return AIOPS_OK;
}

/* The target, the features, the labelled rows' matrix and the folds' matrices. */
static int cvdata_build(const struct table *t, const struct automl_config *cfg, size_t k,
                        struct cvdata *d, struct aiops_error *err)
{
    long tcol = cfg->target ? table_find(t, cfg->target) : -1;
    if (tcol < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "the data has no column %s",
                               cfg->target ? cfg->target : "(none given)");
    double *yall = malloc((t->nrows ? t->nrows : 1) * sizeof *yall);
    size_t *rows = malloc((t->nrows ? t->nrows : 1) * sizeof *rows);
    int rv = yall && rows ? target_fit(t, tcol, TASK_NONE, &d->ts, yall, err) : AIOPS_ENOMEM;
    if (rv == 0)
        rv = features_fit(t, tcol, NULL, NULL, &d->fs, err);
    for (size_t i = 0; rv == 0 && i < t->nrows; i++)
        if (!isnan(yall[i]))
            rows[d->n++] = i;
    if (rv == 0 && d->n < 2 * k)
        rv = aiops_error_set(err, AIOPS_EINVAL, "target",
                             "%zu rows have a target: too few for %zu folds", d->n, k);
    if (rv == 0)
        rv = features_matrix_rows(&d->fs, t, rows, d->n, &d->x, err, NULL, NULL);
    features_drop_fitted(&d->fs); /* t's matrix is built */
    if (rv == 0 && (d->y = malloc(d->n * sizeof *d->y)) == NULL)
        rv = AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < d->n; i++)
        d->y[i] = yall[rows[i]];
    free(yall);
    free(rows);
    if (rv != 0)
        return rv;
    d->K = d->ts.task == TASK_REGRESSION ? 1 : d->ts.nclasses;
    struct aiops_error why = AIOPS_ERROR_INIT;
    rv = d->ts.task == TASK_REGRESSION
             ? split_kfold(d->n, k, 1, cfg->seed, &d->folds, &why)
             : split_kfold_stratified(d->y, d->n, k, 1, cfg->seed, &d->folds, &why);
    if (rv == AIOPS_EINVAL)
        return aiops_error_set(err, AIOPS_EINVAL, "folds", "folds: %s", why.message);
    for (size_t f = 0; rv == 0 && f < k; f++) {
        const struct split_fold *sf = &d->folds.fold[f];
        rv = take_rows(&d->x, d->y, sf->train, sf->ntrain, &d->ftrain[f], &d->ytrain[f]);
        if (rv == 0)
            rv = take_rows(&d->x, d->y, sf->test, sf->ntest, &d->ftest[f], &d->ytest[f]);
    }
    return rv;
}

/* --- trials -------------------------------------------------------------------------------- */

enum trial_status { T_COMPLETE, T_PRUNED, T_STOPPED, T_FAILED };
static const char *const status_names[] = {"complete", "pruned", "stopped", "failed"};

struct trial {
    size_t id, li;  /* its number, its learner's index in the space */
    double *values; /* the space's ndims values (NaN: not this learner's) */
    json_t *params; /* the sampled parameters, canonical names */
    json_t *full;   /* what the learner reads */
    double fold_loss[MAX_FOLDS];
    size_t folds_done;
    double mean, std, seconds, loss; /* loss: mean when complete, else +INFINITY for TPE */
    enum trial_status status;
    char error[256];
    void *algo[MAX_FOLDS]; /* fold models, kept for the best trials only */
    double *oof;           /* n * K out-of-fold predictions (complete trials) */
};

static void trial_release_models(const struct space *s, struct trial *t)
{
    for (size_t f = 0; f < MAX_FOLDS; f++) {
        if (t->algo[f] != NULL)
            s->learner[t->li]->free(t->algo[f]);
        t->algo[f] = NULL;
    }
    free(t->oof);
    t->oof = NULL;
}

/* What every trial of a batch reads and what stops them. */
struct search {
    const struct automl_config *cfg;
    struct space space;
    struct cvdata data;
    enum metric metric;
    size_t k;
    uint64_t start_ns, deadline_ns;
    atomic_int stop;                /* set once the deadline passed or the caller cancelled */
    double prune_median[MAX_FOLDS]; /* per fold: the median mean loss so far (NaN: none) */
    struct trial *trial;
    size_t ntrials, cap;
    atomic_int cancelled; /* by the caller (cfg->cancelled), not by the clock */
};

static int search_should_stop(struct search *s)
{
    if (atomic_load(&s->stop))
        return 1;
    int stop = time_mono_ns() >= s->deadline_ns;
    if (!stop && s->cfg->cancelled != NULL && s->cfg->cancelled(s->cfg->arg)) {
        atomic_store(&s->cancelled, 1);
        stop = 1;
    }
    if (stop)
        atomic_store(&s->stop, 1);
    return stop;
}

static int trial_progress(void *arg, const struct train_progress *p)
{
    (void)p;
    return search_should_stop(arg);
}

/* Trains fold f of trial t and scores it, its predictions into t->oof. */
static int trial_fold(struct search *s, struct trial *t, size_t f)
{
    const struct cvdata *d = &s->data;
    const struct learner *l = s->space.learner[t->li];
    struct learner_input in = {
        .x = &d->ftrain[f],
        .y = d->ytrain[f],
        .task = d->ts.task,
        .nclasses = d->ts.nclasses,
        .params = t->full,
        .progress = trial_progress,
        .progress_arg = s,
    };
    struct aiops_error err = AIOPS_ERROR_INIT;
    int iterations = 0;
    int rv = l->train(&in, &t->algo[f], &iterations, &err);
    if (rv != 0) {
        snprintf(t->error, sizeof t->error, "%s",
                 err.message[0] ? err.message : aiops_strerror(rv));
        return rv;
    }
    const struct split_fold *sf = &d->folds.fold[f];
    double *pred = malloc((sf->ntest ? sf->ntest : 1) * d->K * sizeof *pred);
    rv = pred ? l->predict(t->algo[f], &d->ftest[f], NULL, pred) : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < sf->ntest; i++)
        memcpy(t->oof + sf->test[i] * d->K, pred + i * d->K, d->K * sizeof *pred);
    if (rv == 0)
        t->fold_loss[f] = metric_loss(s->metric, d->ytest[f], pred, sf->ntest, d->K);
    free(pred);
    return rv;
}

/* The trial's folds in turn, pruned when its mean loss so far is worse than the median of
 * the trials that reached the same fold. Runs on a worker thread: touches t and reads s. */
static void trial_run(struct search *s, struct trial *t)
{
    uint64_t t0 = time_mono_ns();
    const struct cvdata *d = &s->data;
    t->status = T_COMPLETE;
    if ((t->oof = malloc(d->n * d->K * sizeof *t->oof)) == NULL) {
        t->status = T_FAILED;
        snprintf(t->error, sizeof t->error, "out of memory");
    }
    double sum = 0;
    for (size_t f = 0; t->status == T_COMPLETE && f < s->k; f++) {
        if (search_should_stop(s)) {
            t->status = T_STOPPED;
            break;
        }
        int rv = trial_fold(s, t, f);
        if (rv == AIOPS_ECANCELED) {
            t->status = T_STOPPED;
            break;
        }
        if (rv != 0) {
            t->status = T_FAILED;
            break;
        }
        sum += t->fold_loss[f];
        t->folds_done = f + 1;
        double median = s->prune_median[f];
        if (f + 1 < s->k && !isnan(median) && sum / (double)(f + 1) > median)
            t->status = T_PRUNED;
    }
    size_t n = t->folds_done;
    t->mean = n ? sum / (double)n : INFINITY;
    double var = 0;
    for (size_t f = 0; f < n; f++)
        var += (t->fold_loss[f] - t->mean) * (t->fold_loss[f] - t->mean);
    t->std = n > 1 ? sqrt(var / (double)n) : 0;
    t->loss = t->status == T_COMPLETE && isfinite(t->mean) ? t->mean : INFINITY;
    t->seconds = (double)(time_mono_ns() - t0) / 1e9;
    if (t->status != T_COMPLETE)
        trial_release_models(&s->space, t);
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The pruning thresholds for the next batch: per fold, the median of the running mean loss
 * of every trial that finished that fold, once PRUNE_STARTUP trials are complete. */
static void update_prune_medians(struct search *s)
{
    size_t complete = 0;
    for (size_t i = 0; i < s->ntrials; i++)
        complete += s->trial[i].status == T_COMPLETE;
    double *v = malloc((s->ntrials ? s->ntrials : 1) * sizeof *v);
    for (size_t f = 0; f < s->k; f++) {
        s->prune_median[f] = NAN;
        if (complete < PRUNE_STARTUP || v == NULL)
            continue;
        size_t m = 0;
        for (size_t i = 0; i < s->ntrials; i++) {
            const struct trial *t = &s->trial[i];
            if (t->folds_done <= f || t->status == T_FAILED || t->status == T_STOPPED)
                continue;
            double sum = 0;
            for (size_t j = 0; j <= f; j++)
                sum += t->fold_loss[j];
            v[m++] = sum / (double)(f + 1);
        }
        if (m == 0)
            continue;
        qsort(v, m, sizeof *v, cmp_double_asc);
        s->prune_median[f] = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
    }
    free(v);
}

/* --- sampling ------------------------------------------------------------------------------ */

/* The value of dimension dim for the JSON parameters. */
static json_t *param_json(const struct param_def *d, double v)
{
    if (d->type == PARAM_INT)
        return json_integer((json_int_t)v);
    if (d->type == PARAM_BOOL)
        return json_boolean(v != 0);
    return json_real(v);
}

/* The first trial of each learner is its defaults (as Optuna's enqueue_trial): what
 * `aiops train` gives, so the search starts from a known-good point and is never below
 * it. Its parameters are the default values, placed in the search range for the sampler. */
static void trial_defaults(const struct space *sp, struct trial *t)
{
    for (size_t d = 1; d < sp->ndims; d++) {
        if (sp->owner[d] != t->li)
            continue;
        const struct param_def *def = sp->def[d];
        t->values[d] = fmin(fmax(def->def, sp->dim[d].lo), sp->dim[d].hi);
        json_object_set_new(t->params, def->name, param_json(def, def->def));
    }
}

/* Samples trial t from the history (the trials before it, sampled or finished). */
static int trial_sample(struct search *s, struct trial *t, const struct tpe_history *h,
                        uint64_t *rng)
{
    const struct space *sp = &s->space;
    if ((t->values = malloc(sp->ndims * sizeof *t->values)) == NULL)
        return AIOPS_ENOMEM;
    for (size_t d = 0; d < sp->ndims; d++)
        t->values[d] = NAN;
    int defaults = t->id < sp->nlearners;
    t->values[0] = defaults ? (double)t->id : tpe_sample(&sp->dim[0], 0, h, rng);
    t->li = (size_t)t->values[0];
    const struct learner *l = sp->learner[t->li];
    json_t *norm = json_object();
    if ((t->params = json_object()) == NULL || norm == NULL) {
        json_decref(norm);
        return AIOPS_ENOMEM;
    }
    if (defaults)
        trial_defaults(sp, t);
    for (size_t d = 1; d < sp->ndims && !defaults; d++) {
        if (sp->owner[d] != t->li)
            continue;
        t->values[d] = tpe_sample(&sp->dim[d], d, h, rng);
        json_object_set_new(t->params, sp->def[d]->name, param_json(sp->def[d], t->values[d]));
    }
    json_object_update(norm, t->params);
    json_object_set_new(norm, "seed", json_integer((json_int_t)(s->cfg->seed & 0xffffffffu)));
    json_object_set_new(norm, "threads", json_integer(1)); /* trials share the CPUs */
    int rv = learner_params_full(l, norm, &t->full);
    json_decref(norm);
    return rv;
}

/* --- the search loop ----------------------------------------------------------------------- */

static json_t *trial_entry(const struct search *s, const struct trial *t)
{
    int scored = t->folds_done > 0 && isfinite(t->mean);
    json_t *e =
        json_pack("{s:I, s:s, s:O, s:o, s:o, s:I, s:o, s:b, s:s}", "trial", (json_int_t)t->id,
                  "learner", s->space.learner[t->li]->name, "params", t->params, "cv_mean",
                  scored ? jsonx_num(loss_score(s->metric, t->mean), 0) : json_null(), "cv_std",
                  scored ? jsonx_num(t->std, 0) : json_null(), "folds", (json_int_t)t->folds_done,
                  "seconds", jsonx_num(t->seconds, 0), "pruned", t->status == T_PRUNED, "status",
                  status_names[t->status]);
    if (e != NULL && t->status == T_FAILED)
        json_object_set_new(e, "error", json_string(t->error));
    return e;
}

/* 1 + the complete trials better than t (0 when t is not complete). */
static size_t trial_rank(const struct search *s, const struct trial *t)
{
    if (t->status != T_COMPLETE)
        return 0;
    size_t rank = 1;
    for (size_t i = 0; i < s->ntrials; i++) {
        const struct trial *o = &s->trial[i];
        if (o->status == T_COMPLETE && (o->loss < t->loss || (o->loss == t->loss && o->id < t->id)))
            rank++;
    }
    return rank;
}

/* Frees the fold models of every complete trial outside the best ENSEMBLE_POOL. */
static void keep_best_models(struct search *s)
{
    for (size_t i = 0; i < s->ntrials; i++) {
        struct trial *t = &s->trial[i];
        if (t->oof != NULL && trial_rank(s, t) > ENSEMBLE_POOL)
            trial_release_models(&s->space, t);
    }
}

static void update_deadline(struct search *s);

static void batch_one(void *arg, int tid, size_t i)
{
    (void)tid;
    struct search *s = arg;
    trial_run(s, &s->trial[s->ntrials + i]);
}

/* Samples `count` trials from the history, runs them at once, reports them. */
static int run_batch(struct search *s, size_t count, struct pool *pool, uint64_t *rng)
{
    size_t nd = s->space.ndims, nt = s->ntrials;
    if (nt + count > s->cap) {
        size_t cap = 2 * (nt + count);
        struct trial *tr = realloc(s->trial, cap * sizeof *tr);
        if (tr == NULL)
            return AIOPS_ENOMEM;
        s->trial = tr;
        s->cap = cap;
    }
    double *values = malloc((nt ? nt : 1) * nd * sizeof *values);
    double *loss = malloc((nt ? nt : 1) * sizeof *loss);
    int rv = values && loss ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < nt; i++) {
        memcpy(values + i * nd, s->trial[i].values, nd * sizeof *values);
        loss[i] = s->trial[i].loss;
    }
    struct tpe_history h = {values, loss, nt, nd};
    for (size_t i = 0; i < count; i++) {
        struct trial *t = &s->trial[nt + i];
        memset(t, 0, sizeof *t);
        t->id = nt + i;
        if (rv == 0)
            rv = trial_sample(s, t, &h, rng);
    }
    free(values);
    free(loss);
    if (rv == 0)
        pool_for(pool, pool_threads(pool), count, batch_one, s);
    s->ntrials = nt + count; /* sampled trials are owned by s whatever happened */
    for (size_t i = 0; rv == 0 && i < count && s->cfg->on_trial != NULL; i++) {
        const struct trial *t = &s->trial[nt + i];
        json_t *e = trial_entry(s, t);
        s->cfg->on_trial(s->cfg->arg, e, trial_rank(s, t));
        json_decref(e);
    }
    update_prune_medians(s);
    keep_best_models(s);
    update_deadline(s);
    return rv;
}

static int search_loop(struct search *s)
{
    int threads = s->cfg->threads > 0 ? s->cfg->threads : pool_cpus();
    uint64_t rng = s->cfg->seed ^ 0x5eed7be5ull;
    /* one pool for the whole search: starting threads per batch costs more than a small
     * trial (measured under AddressSanitizer) */
    struct pool *pool = NULL;
    int rv = pool_create(threads, &pool);
    while (rv == 0 && !search_should_stop(s) &&
           (s->cfg->max_trials == 0 || s->ntrials < s->cfg->max_trials)) {
        size_t count = (size_t)pool_threads(pool);
        if (s->cfg->max_trials > 0 && s->cfg->max_trials - s->ntrials < count)
            count = s->cfg->max_trials - s->ntrials;
        rv = run_batch(s, count, pool, &rng);
    }
    pool_free(pool);
    return rv;
}

/* --- Caruana's ensemble selection ------------------------------------------------------- */

struct selection {
    size_t m;                    /* candidates */
    size_t trial[ENSEMBLE_POOL]; /* their trial indexes */
    size_t count[ENSEMBLE_POOL]; /* times chosen, in the kept step */
    size_t steps;                /* sum of count */
    double loss, single_loss;    /* the kept selection's OOF loss, the best single one's */
    size_t single;               /* the best single candidate */
    int kept;                    /* the ensemble beats the best single trial */
    double *pred;                /* the kept selection's OOF predictions, n * K */
};

/* The greedy selection with replacement: start from the best single trial (by its whole
 * out-of-fold loss), add the candidate that lowers the mean's loss most, keep the best
 * step seen. The result is never worse than the best single trial. */
static int caruana(const struct search *s, struct selection *sel)
{
    const struct cvdata *d = &s->data;
    size_t cells = d->n * d->K;
    double *sum = calloc(cells ? cells : 1, sizeof *sum),
           *tmp = malloc((cells ? cells : 1) * sizeof *tmp);
    sel->pred = malloc((cells ? cells : 1) * sizeof *sel->pred);
    if (sum == NULL || tmp == NULL || sel->pred == NULL) {
        free(sum);
        free(tmp);
        return AIOPS_ENOMEM;
    }
    sel->single_loss = INFINITY;
    for (size_t j = 0; j < sel->m; j++) {
        double l = metric_loss(s->metric, d->y, s->trial[sel->trial[j]].oof, d->n, d->K);
        if (l < sel->single_loss) {
            sel->single_loss = l;
            sel->single = j;
        }
    }
    size_t count[ENSEMBLE_POOL] = {0};
    count[sel->single] = 1;
    memcpy(sum, s->trial[sel->trial[sel->single]].oof, cells * sizeof *sum);
    memcpy(sel->count, count, sizeof count);
    sel->steps = 1;
    sel->loss = sel->single_loss;
    memcpy(sel->pred, sum, cells * sizeof *sum);
    for (size_t step = 2; step <= ENSEMBLE_STEPS && sel->m > 1; step++) {
        double best = INFINITY;
        size_t pick = 0;
        for (size_t j = 0; j < sel->m; j++) {
            const double *o = s->trial[sel->trial[j]].oof;
            for (size_t c = 0; c < cells; c++)
                tmp[c] = (sum[c] + o[c]) / (double)step;
            double l = metric_loss(s->metric, d->y, tmp, d->n, d->K);
            if (l < best) {
                best = l;
                pick = j;
            }
        }
        const double *o = s->trial[sel->trial[pick]].oof;
        for (size_t c = 0; c < cells; c++)
            sum[c] += o[c];
        count[pick]++;
        if (best < sel->loss) {
            sel->loss = best;
            sel->steps = step;
            memcpy(sel->count, count, sizeof count);
            for (size_t c = 0; c < cells; c++)
                sel->pred[c] = sum[c] / (double)step;
        }
    }
    sel->kept = sel->loss < sel->single_loss;
    free(sum);
    free(tmp);
    return AIOPS_OK;
}

/* The candidates: the complete trials whose fold models were kept, best first. */
static void select_candidates(const struct search *s, struct selection *sel)
{
    sel->m = 0;
    for (size_t r = 1; r <= ENSEMBLE_POOL; r++)
        for (size_t i = 0; i < s->ntrials; i++)
            if (s->trial[i].oof != NULL && trial_rank(s, &s->trial[i]) == r &&
                sel->m < ENSEMBLE_POOL)
                sel->trial[sel->m++] = i;
}

/* --- the refit ------------------------------------------------------------------------------ */

/* What refitting trial t on every row takes at most, single-threaded: its folds trained on
 * (k-1)/k of the rows each, with a margin. */
static uint64_t refit_estimate_ns(const struct search *s, const struct trial *t)
{
    double per_fold = t->seconds / (double)(t->folds_done ? t->folds_done : 1);
    return (uint64_t)(per_fold * (double)s->k / (double)(s->k - 1) * 1.3 * 1e9);
}

/* The trials' deadline: SEARCH_SHARE of the budget less the time to refit the best trial so
 * far (at most REFIT_SHARE of the budget: a refit that would not fit is skipped). Updated
 * between batches only, so the trials of a batch read a constant. */
static void update_deadline(struct search *s)
{
    double budget = s->cfg->budget_seconds * 1e9;
    uint64_t reserve = 0;
    for (size_t i = 0; i < s->ntrials; i++)
        if (trial_rank(s, &s->trial[i]) == 1)
            reserve = refit_estimate_ns(s, &s->trial[i]);
    if ((double)reserve > budget * REFIT_SHARE)
        reserve = (uint64_t)(budget * REFIT_SHARE);
    s->deadline_ns = s->start_ns + (uint64_t)(budget * SEARCH_SHARE) - reserve;
}

static int refit_progress(void *arg, const struct train_progress *p)
{
    (void)p;
    const struct search *s = arg;
    uint64_t end = s->start_ns + (uint64_t)(s->cfg->budget_seconds * 1e9);
    return time_mono_ns() >= end || (s->cfg->cancelled != NULL && s->cfg->cancelled(s->cfg->arg));
}

/* Trial t trained on every row (all threads) when that fits in what is left of the budget:
 * the model the single best trial stands for, as `aiops train` would make it. 0 with *algo;
 * else (no time, cancelled, failed) an error, and its fold models serve instead. */
static int refit_trial(struct search *s, const struct trial *t, void **algo)
{
    *algo = NULL;
    uint64_t end = s->start_ns + (uint64_t)(s->cfg->budget_seconds * 1e9);
    if (time_mono_ns() + refit_estimate_ns(s, t) > end ||
        (s->cfg->cancelled != NULL && s->cfg->cancelled(s->cfg->arg)))
        return AIOPS_ECANCELED;
    json_t *params = json_deep_copy(t->full);
    if (params == NULL)
        return AIOPS_ENOMEM;
    json_object_set_new(params, "threads", json_integer(s->cfg->threads > 0 ? s->cfg->threads : 0));
    const struct cvdata *d = &s->data;
    struct learner_input in = {
        .x = &d->x,
        .y = d->y,
        .task = d->ts.task,
        .nclasses = d->ts.nclasses,
        .params = params,
        .progress = refit_progress,
        .progress_arg = s,
    };
    struct aiops_error err = AIOPS_ERROR_INIT;
    int iterations = 0;
    int rv = s->space.learner[t->li]->train(&in, algo, &iterations, &err);
    json_decref(params);
    return rv;
}

/* --- the model ------------------------------------------------------------------------------ */

/* The selection's fold models as one ensemble (taken over from the trials). */
static int build_ensemble(struct search *s, const struct selection *sel, struct ensemble **out)
{
    int rv = ensemble_new(s->data.x.ncols, s->data.K, out);
    for (size_t j = 0; rv == 0 && j < sel->m; j++) {
        struct trial *t = &s->trial[sel->trial[j]];
        double w = (double)sel->count[j] / (double)sel->steps / (double)s->k;
        for (size_t f = 0; rv == 0 && f < s->k && sel->count[j] > 0; f++) {
            rv = ensemble_add(*out, s->space.learner[t->li], t->algo[f], w);
            t->algo[f] = NULL;
        }
    }
    if (rv == 0)
        ensemble_normalise(*out);
    return rv;
}

static json_t *ensemble_json(const struct search *s, const struct selection *sel)
{
    json_t *members = json_array();
    for (size_t j = 0; j < sel->m; j++) {
        if (sel->count[j] == 0)
            continue;
        const struct trial *t = &s->trial[sel->trial[j]];
        json_array_append_new(members,
                              json_pack("{s:I, s:s, s:o}", "trial", (json_int_t)t->id, "learner",
                                        s->space.learner[t->li]->name, "weight",
                                        jsonx_num((double)sel->count[j] / (double)sel->steps, 0)));
    }
    return json_pack("{s:b, s:o, s:o, s:o, s:I}", "kept", sel->kept, "members", members,
                     "oof_score", jsonx_num(loss_score(s->metric, sel->loss), 0),
                     "best_single_oof_score", jsonx_num(loss_score(s->metric, sel->single_loss), 0),
                     "steps", (json_int_t)sel->steps);
}

/* META as train_model writes it (train_model_meta), metrics out of fold, and what
 * the search did under "automl". */
static int model_meta(const struct search *s, struct model *m, json_t *metrics, json_t *automl)
{
    double seconds = (double)(time_mono_ns() - s->start_ns) / 1e9;
    int rv = train_model_meta(m, json_object(), metrics, s->data.n, 0, seconds, 0);
    if (rv != 0) {
        json_decref(automl);
        return rv;
    }
    return json_object_set_new(m->meta, "automl", automl) == 0 ? AIOPS_OK : AIOPS_ENOMEM;
}

/* The model from the selection: the ensemble (or the best trial refitted on every row), the
 * features and target (taken over from
 * s->data), metrics of the out-of-fold predictions, the drift reference from them. */
static int build_model(struct search *s, const struct selection *sel, json_t *automl,
                       const struct learner *refit_learner, void *refit, struct model **out)
{
    struct cvdata *d = &s->data;
    struct model *m = calloc(1, sizeof *m);
    struct ensemble *e = NULL;
    json_t *metrics = NULL;
    double *score = malloc((d->n ? d->n : 1) * sizeof *score);
    int rv = m && score ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0 && refit == NULL)
        rv = build_ensemble(s, sel, &e);
    if (rv == 0)
        rv = d->ts.task == TASK_REGRESSION
                 ? eval_regression(d->y, sel->pred, d->n, &metrics)
                 : eval_classification(d->y, sel->pred, d->n, d->K,
                                       (const char *const *)d->ts.labels, &metrics);
    if (rv == 0) {
        reference_scores(sel->pred, d->n, d->K, d->ts.task == TASK_REGRESSION, score);
        rv = reference_build(&d->fs, &d->x, score, d->n, 0, &m->reference);
    }
    free(score);
    if (rv != 0) {
        learner_ensemble.free(e);
        if (refit != NULL)
            refit_learner->free(refit);
        json_decref(metrics);
        json_decref(automl);
        model_free(m);
        return rv;
    }
    json_object_set_new(metrics, "out_of_fold", json_true());
    m->learner = refit != NULL ? refit_learner : &learner_ensemble;
    m->algo = refit != NULL ? refit : (void *)e;
    m->features = d->fs;
    m->target = d->ts;
    memset(&d->fs, 0, sizeof d->fs);
    memset(&d->ts, 0, sizeof d->ts);
    if ((rv = model_meta(s, m, metrics, automl)) != 0) {
        model_free(m);
        return rv;
    }
    *out = m;
    return AIOPS_OK;
}

/* --- the run ---------------------------------------------------------------------------------- */

static int resolve_metric(const struct automl_config *cfg, enum table_task task, enum metric *m,
                          struct aiops_error *err)
{
    int regression = task == TASK_REGRESSION;
    if (cfg->metric == NULL || cfg->metric[0] == '\0') {
        *m = regression ? M_RMSE : task == TASK_BINARY ? M_AUC : M_ACCURACY;
        return AIOPS_OK;
    }
    for (size_t i = 0; i < NMETRICS; i++) {
        if (strcmp(cfg->metric, metric_names[i]) != 0)
            continue;
        int for_regression = i == M_RMSE || i == M_MAE;
        if (for_regression != regression)
            return aiops_error_set(err, AIOPS_EINVAL, "metric", "metric %s does not score %s tasks",
                                   cfg->metric, table_task_name(task));
        *m = (enum metric)i;
        return AIOPS_OK;
    }
    return aiops_error_set(err, AIOPS_EINVAL, "metric",
                           "metric must be auc, logloss, accuracy, f1_macro, rmse or mae");
}

static int check_config(const struct automl_config *cfg, struct aiops_error *err)
{
    if (!(cfg->budget_seconds > 0) || !isfinite(cfg->budget_seconds) ||
        cfg->budget_seconds > 7 * 86400.0)
        return aiops_error_set(
            err, AIOPS_EINVAL, "budget_seconds",
            "budget_seconds must be a number of seconds above 0, a week at most");
    if (cfg->folds != 0 && (cfg->folds < 2 || cfg->folds > MAX_FOLDS))
        return aiops_error_set(err, AIOPS_EINVAL, "folds", "folds must be from 2 to %d", MAX_FOLDS);
    if (!automl_metric_known(cfg->metric) && cfg->metric[0] != '\0')
        return aiops_error_set(err, AIOPS_EINVAL, "metric",
                               "metric must be auc, logloss, accuracy, f1_macro, rmse or mae");
    return AIOPS_OK;
}

/* The leaderboard, the best trial, the ensemble: into out; the model from the selection. */
static int finish(struct search *s, struct automl_result *out, struct aiops_error *err)
{
    struct selection sel;
    memset(&sel, 0, sizeof sel);
    select_candidates(s, &sel);
    if (sel.m == 0)
        return aiops_error_set(err, AIOPS_EINVAL, "budget_seconds",
                               atomic_load(&s->cancelled)
                                   ? "cancelled before any trial finished"
                                   : "the budget ended before any trial finished all its folds: "
                                     "give more budget_seconds or fewer folds");
    int rv = caruana(s, &sel);
    if (rv == 0 && !sel.kept) { /* the best single trial alone */
        memset(sel.count, 0, sizeof sel.count);
        sel.count[sel.single] = 1;
        sel.steps = 1;
        sel.loss = sel.single_loss;
        memcpy(sel.pred, s->trial[sel.trial[sel.single]].oof,
               s->data.n * s->data.K * sizeof *sel.pred);
    }
    out->leaderboard = json_array();
    for (size_t i = 0; rv == 0 && i < s->ntrials; i++)
        json_array_append_new(out->leaderboard, trial_entry(s, &s->trial[i]));
    /* a single best trial is refitted on every row when time allows, as Optuna users do */
    const struct trial *single = &s->trial[sel.trial[sel.single]];
    void *refit = NULL;
    if (rv == 0 && !sel.kept && refit_trial(s, single, &refit) != 0)
        refit = NULL;
    if (rv == 0) {
        out->best = trial_entry(s, &s->trial[sel.trial[0]]);
        out->ensemble = ensemble_json(s, &sel);
        json_object_set_new(out->ensemble, "refit", json_boolean(refit != NULL));
        json_t *automl = json_pack("{s:s, s:I, s:I, s:O, s:O}", "metric", metric_names[s->metric],
                                   "folds", (json_int_t)s->k, "trials", (json_int_t)s->ntrials,
                                   "best", out->best, "ensemble", out->ensemble);
        rv = build_model(s, &sel, automl, s->space.learner[single->li], refit, &out->model);
    } else if (refit != NULL) {
        s->space.learner[single->li]->free(refit);
    }
    free(sel.pred);
    return rv;
}

static void search_free(struct search *s)
{
    for (size_t i = 0; i < s->ntrials; i++) {
        struct trial *t = &s->trial[i];
        trial_release_models(&s->space, t);
        free(t->values);
        json_decref(t->params);
        json_decref(t->full);
    }
    free(s->trial);
    cvdata_free(&s->data);
    free(s);
}

int automl_run(const struct table *t, const struct automl_config *cfg, struct automl_result *out,
               struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    int rv = check_config(cfg, err);
    if (rv != 0)
        return rv;
    struct search *s = calloc(1, sizeof *s);
    if (s == NULL)
        return AIOPS_ENOMEM;
    s->cfg = cfg;
    s->k = cfg->folds ? cfg->folds : 5;
    s->start_ns = cfg->start_ns ? cfg->start_ns : time_mono_ns();
    s->deadline_ns = s->start_ns + (uint64_t)(cfg->budget_seconds * SEARCH_SHARE * 1e9);
    for (size_t f = 0; f < MAX_FOLDS; f++)
        s->prune_median[f] = NAN;
    if ((rv = cvdata_build(t, cfg, s->k, &s->data, err)) == 0 &&
        (rv = resolve_metric(cfg, s->data.ts.task, &s->metric, err)) == 0 &&
        (rv = parse_models(cfg->models, s->data.ts.task, &s->space, err)) == 0) {
        build_dims(&s->space);
        rv = search_loop(s);
    }
    if (rv == 0)
        rv = finish(s, out, err);
    out->metric = metric_names[s->metric];
    out->higher_is_better = metric_higher[s->metric];
    out->cancelled = atomic_load(&s->cancelled);
    out->seconds = (double)(time_mono_ns() - s->start_ns) / 1e9;
    search_free(s);
    if (rv != 0)
        automl_result_free(out);
    return rv;
}

void automl_result_free(struct automl_result *r)
{
    model_free(r->model);
    json_decref(r->leaderboard);
    json_decref(r->best);
    json_decref(r->ensemble);
    memset(r, 0, sizeof *r);
}
