/* automl.c -- the search (see automl.h): the space from the learner tables, TPE trials
 * scored by k-fold CV with median pruning over folds, Caruana's ensemble selection. */
#include "ml/automl.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jsonx.h"
#include "core/pool.h"
#include "core/rand.h"
#include "core/time.h"
#include "ml/ensemble.h"
#include "ml/eval.h"
#include "ml/featureset.h"
#include "ml/prep.h"
#include "ml/split.h"
#include "ml/tpe.h"
#include "ml/train.h"

#define MAX_DIMS 64
#define MAX_FOLDS 20
#define PRUNE_STARTUP 5   /* MedianPruner's n_startup_trials */
#define DEFAULT_FOLDS 5
#define LARGE_FOLDS 3        /* folds not given, from LARGE_ROWS labelled rows on */
#define LARGE_ROWS 20000     /* (see default_folds) */
#define ENSEMBLE_POOL 5   /* best complete trials whose k fold models are kept (memory) */
#define ENSEMBLE_CANDIDATES (ENSEMBLE_POOL + 16) /* ... and each learner's best (16 at most) */
#define ENSEMBLE_STEPS 40 /* Caruana's selection rounds */
#define SEARCH_SHARE 0.95 /* of the budget, for trials; the rest builds the model */
#define TRIAL_SHARE 0.5  /* of the search's time, the most one trial takes (behind_pace) */
#define REFIT_SHARE 0.3   /* of the budget, kept at most for refitting the best trial */
#define WRITE_BYTES_PER_SECOND 100e6 /* checksumming and writing a model file (see
                                        write_estimate_ns) */
#define ES_VALID_SHARE 0.15 /* of a fold's training rows, held out for early stopping */
#define ES_MIN_PATIENCE 10 /* early stopping's patience: this many iterations, or a tenth of
                              the trial's, whichever is more */

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
    uint8_t is_prep[MAX_DIMS];             /* a transform of the features (featureset.h),
                                              not a parameter of the learner */
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
        if (l == NULL || l == &learner_ensemble || l == &learner_prep || !l->needs_target)
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

/* The searched iterations of learner l when it stops early (an "early_stopping" parameter
 * next to its iterations: the boosted trees' rounds, the networks' epochs), else NULL. Its
 * sampled trials take the top of the iterations' search range as a ceiling and keep, in each
 * fold, the best iteration on the fold's held-out rows (trial_early_stopping): the rounds
 * are then not a dimension of the search, so a low learning rate is never paired with too
 * few rounds to reach its best (adult: a learning rate of 0.06 at depth 3, sampled with 212
 * rounds, under-fitted and was pruned). */
static const struct param_def *early_stopping_iterations(const struct learner *l)
{
    if (l->iterations_param == NULL || learner_param_find(l, "early_stopping") == NULL)
        return NULL;
    return learner_param_find(l, l->iterations_param);
}

/* Adds parameter d of learner li as a dimension (when it is searched and there is room). */
static void add_dim(struct space *s, size_t li, const struct param_def *d, int is_prep)
{
    if (!(d->search & PARAM_SEARCH) || s->ndims >= MAX_DIMS)
        return;
    struct tpe_dim td = {
        .lo = d->search_min, .hi = d->search_max, .log = (d->search & PARAM_SEARCH_LOG) != 0};
    if (d->type == PARAM_INT) {
        td.kind = TPE_INT;
    } else if (d->type == PARAM_NUMBER) {
        td.kind = TPE_FLOAT;
    } else if (d->type == PARAM_BOOL) {
        td = (struct tpe_dim){.kind = TPE_CATEGORICAL, .nchoices = 2};
    } else if (d->type == PARAM_STRING && d->choices != NULL) {
        size_t n = 0;
        while (d->choices[n] != NULL)
            n++;
        td = (struct tpe_dim){.kind = TPE_CATEGORICAL, .nchoices = n};
    } else {
        return;
    }
    s->dim[s->ndims] = td;
    s->def[s->ndims] = d;
    s->is_prep[s->ndims] = (uint8_t)is_prep;
    s->owner[s->ndims++] = li;
}

/* 1 when feature transform d (featureset.h) can change anything for learner l on x. */
static int prep_applies(const struct param_def *d, const struct learner *l,
                        const struct fmatrix *x, enum table_task task)
{
    if (strcmp(d->name, "scaling") == 0)
        return l->scale_sensitive;
    if (strcmp(d->name, "encoding") == 0) {
        for (size_t j = 0; task != TASK_MULTICLASS && j < x->ncols; j++)
            if (x->is_cat[j] && x->ncat[j] > PREP_TARGET_MIN_CATS)
                return 1;
        return 0;
    }
    return x->ncols >= 2; /* select, select_keep */
}

/* The dimensions: the learner, then every searched parameter of each learner and the
 * feature transforms that apply to it on these data. */
static void build_dims(struct space *s, const struct fmatrix *x, enum table_task task)
{
    s->dim[0] = (struct tpe_dim){.kind = TPE_CATEGORICAL, .nchoices = s->nlearners};
    s->ndims = 1;
    for (size_t li = 0; li < s->nlearners; li++) {
        const struct learner *l = s->learner[li];
        for (size_t i = 0; i < l->nparams; i++)
            if (&l->params[i] != early_stopping_iterations(l))
                add_dim(s, li, &l->params[i], 0);
        for (size_t i = 0; i < prep_param_count(); i++)
            if (prep_applies(prep_param_at(i), l, x, task))
                add_dim(s, li, prep_param_at(i), 1);
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
    /* each fold's training rows parted for early stopping (cvdata_build_stopping; empty when
       no learner searched stops early): fitted on esfit, stopped on esvalid */
    struct fmatrix esfit[MAX_FOLDS], esvalid[MAX_FOLDS];
    double *yesfit[MAX_FOLDS], *yesvalid[MAX_FOLDS];
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
        fmatrix_free(&d->esfit[f]);
        fmatrix_free(&d->esvalid[f]);
        free(d->yesfit[f]);
        free(d->yesvalid[f]);
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

/* The folds when the caller gave none: 5, or 3 from LARGE_ROWS labelled rows on (as the
 * Optuna studies this is measured against, and FLAML's cross-validation): a third of
 * 20,000 rows is held out per fold, enough for a steady score, and a trial costs 2 x 2/3 of
 * the rows' training where 5 folds cost 5 x 4/5: twice the trials in the budget, which a
 * large set needs more than a fifth more training rows per fold (adult, 32,561 rows: 8
 * trials in 60 s with 5 folds). */
static size_t default_folds(size_t labelled)
{
    return labelled >= LARGE_ROWS ? LARGE_FOLDS : DEFAULT_FOLDS;
}

/* The target, the features, the labelled rows' matrix and the folds' matrices; *k folds (0:
 * default_folds, set). */
static int cvdata_build(const struct table *t, const struct automl_config *cfg, size_t *kio,
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
    size_t k = *kio ? *kio : default_folds(d->n);
    *kio = k;
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

/* Each fold's training rows parted at random (seeded) into ES_VALID_SHARE held out for early
 * stopping and the rest to fit: a trial that stops early is stopped on rows of neither its
 * fitting nor its scoring, so its cross-validated score stays unbiased. (Stopping on the
 * scored fold chose the rounds on the rows that judged them: on bank's 3,617 rows the
 * search then preferred such boosted trees by a CV AUC 0.002 above the forests', and lost
 * 0.010 AUC on the held-out test rows.) */
static int cvdata_build_stopping(struct cvdata *d, size_t k, uint64_t seed)
{
    int rv = AIOPS_OK;
    for (size_t f = 0; rv == 0 && f < k; f++) {
        const struct split_fold *sf = &d->folds.fold[f];
        size_t *idx = malloc((sf->ntrain ? sf->ntrain : 1) * sizeof *idx);
        if (idx == NULL)
            return AIOPS_ENOMEM;
        uint64_t r = seed ^ (0x57095ull + f);
        size_t nvalid = 0, nfit = 0;
        for (size_t i = 0; i < sf->ntrain; i++) /* valid from the front, fit from the back */
            if (rand_unit(&r) < ES_VALID_SHARE)
                idx[nvalid++] = sf->train[i];
            else
                idx[sf->ntrain - 1 - nfit++] = sf->train[i];
        if (nvalid == 0 || nfit == 0) { /* a tiny fold: one row held out */
            nvalid = 1;
            nfit = sf->ntrain - 1;
            idx[0] = sf->train[0];
            for (size_t i = 1; i < sf->ntrain; i++)
                idx[i] = sf->train[i];
        }
        rv = take_rows(&d->x, d->y, idx, nvalid, &d->esvalid[f], &d->yesvalid[f]);
        if (rv == 0)
            rv = take_rows(&d->x, d->y, idx + nvalid, nfit, &d->esfit[f], &d->yesfit[f]);
        free(idx);
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
    struct prep_config prep;     /* the feature transforms sampled (featureset.h) */
    const struct learner *model; /* what its fold models are: the learner, or learner_prep
                                    around it when prep is not the identity */
    size_t model_bytes;          /* the first fold model's saved size */
    double save_seconds;         /* ... and the time saving it took */
    double fold_loss[MAX_FOLDS];
    size_t folds_done;
    int early_stopping;     /* the patience its learner was given (0: none; see
                               trial_early_stopping) */
    double iterations_sum;  /* of its fold models' iterations (kept by early stopping) */
    uint64_t start_ns;      /* when it started: its pace is measured from it (behind_pace) */
    double mean, std, seconds, loss; /* loss: mean when complete, else +INFINITY for TPE */
    enum trial_status status;
    char error[256];
    void *algo[MAX_FOLDS]; /* fold models, kept for the best trials only */
    double *oof;           /* n * K out-of-fold predictions (complete trials) */
    double prune_median[MAX_FOLDS]; /* per fold: pruned when its mean loss is above (NaN:
                                       never), from its history (prune_medians) */
    double prune_hopeless;          /* pruned when its mean loss is above: the worst fold of
                                       the best complete trial in its history (or +inf) */
    int done;                       /* finished: the fields above are final */
};

static void trial_release_models(struct trial *t)
{
    for (size_t f = 0; f < MAX_FOLDS; f++) {
        if (t->algo[f] != NULL)
            t->model->free(t->algo[f]);
        t->algo[f] = NULL;
    }
    free(t->oof);
    t->oof = NULL;
}

/* What every trial reads and what stops them. The trials and the counts are changed under
 * lock by the search's threads (search_thread); a running trial touches only itself. */
struct search {
    const struct automl_config *cfg;
    struct space space;
    struct cvdata data;
    enum metric metric;
    size_t k;
    uint64_t start_ns;
    _Atomic uint64_t deadline_ns; /* moved as trials finish, read by the running ones */
    atomic_int stop;              /* set once the deadline passed or the caller cancelled */
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a trial finished or the search ended */
    struct trial **trial;   /* trials 0 .. ntrials-1 (claimed: sampled, maybe running) */
    size_t ntrials, cap;
    size_t ndone; /* trials 0 .. ndone-1 are done */
    size_t lag;   /* trial i learns from trials 0 .. i - lag (history_size) */
    int rv;       /* the first error of a search thread */
    atomic_int cancelled; /* by the caller (cfg->cancelled), not by the clock */
    uint64_t refit_end_ns; /* when a refit must stop (its model still to be written) */
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

/* What the training of fold `fold` of trial t polls (trial_progress). */
struct fold_clock {
    struct search *s;
    const struct trial *t;
    size_t fold;
};

/* 1 when trial t, in fold f, is too slow for the budget: fold f must end within (f + 1) / k
 * of the time the trial is allowed, what is left to the (current) deadline but at most
 * TRIAL_SHARE of the whole search's. A slower trial would be stopped at the deadline with
 * nothing to show, or take much of a core's search for one point, after holding the trials
 * sampled after it (history_size): a recurrent network's defaults on adult's 32,561 rows
 * ran 39 s of a 60 s budget without finishing one fold. (A share of the time left instead
 * stopped every trial of the last seconds within its first fold.) */
static int behind_pace(const struct search *s, const struct trial *t, size_t f)
{
    uint64_t now = time_mono_ns(), deadline = s->deadline_ns;
    if (deadline <= t->start_ns)
        return 1;
    double trial = fmin((double)(deadline - t->start_ns),
                        TRIAL_SHARE * (double)(deadline - s->start_ns));
    double allowed = trial * (double)(f + 1) / (double)s->k;
    return (double)(now - t->start_ns) > allowed;
}

static int trial_progress(void *arg, const struct train_progress *p)
{
    (void)p;
    const struct fold_clock *c = arg;
    return search_should_stop(c->s) || behind_pace(c->s, c->t, c->fold);
}

/* What a trial's model is trained on: rows x with targets y, and for early stopping the
 * validation rows vx, vy (NULL: none). */
struct train_rows {
    const struct fmatrix *x, *vx;
    const double *y, *vy;
};

/* Trial t's model of the rows r (its validation rows for early stopping) into *algo (a
 * t->model) and the iterations it kept into *iterations: its feature transforms fitted on
 * r->x only, then its learner with params. An error's message into error[errlen]. */
static int trial_train(const struct search *s, const struct trial *t, const struct train_rows *r,
                       const json_t *params, train_progress_fn progress, void *progress_arg,
                       void **algo, int *iterations, char *error, size_t errlen)
{
    const struct cvdata *d = &s->data;
    const struct learner *l = s->space.learner[t->li];
    struct feature_prep *prep = NULL;
    struct fmatrix xt = {0}, vxt = {0};
    int rv = AIOPS_OK, with_prep = !prep_config_identity(&t->prep);
    if (with_prep)
        rv = feature_prep_fit(&t->prep, r->x, r->y, d->ts.task, d->ts.nclasses,
                              s->cfg->seed + t->id, &prep, &xt);
    if (rv == 0 && with_prep && r->vx != NULL)
        rv = feature_prep_apply(prep, r->vx, &vxt);
    struct learner_input in = {
        .x = with_prep ? &xt : r->x,
        .y = r->y,
        .vx = r->vx == NULL ? NULL : with_prep ? &vxt : r->vx,
        .vy = r->vx == NULL ? NULL : r->vy,
        .task = d->ts.task,
        .nclasses = d->ts.nclasses,
        .params = params,
        .progress = progress,
        .progress_arg = progress_arg,
    };
    struct aiops_error err = AIOPS_ERROR_INIT;
    *iterations = 0;
    void *inner = NULL;
    if (rv == 0)
        rv = l->train(&in, &inner, iterations, &err);
    xt.sp = NULL; /* borrowed from x */
    fmatrix_free(&xt);
    vxt.sp = NULL;
    fmatrix_free(&vxt);
    if (rv == 0 && with_prep)
        rv = prep_model_new(prep, l, inner, (struct prep_model **)algo);
    else if (rv == 0)
        *algo = inner;
    else
        feature_prep_free(prep);
    if (rv != 0)
        snprintf(error, errlen, "%s", err.message[0] ? err.message : aiops_strerror(rv));
    return rv;
}

/* The saved size of fold model algo of t and the time saving it took: what the final
 * model's writing is estimated from (refit_estimate_ns). */
static void measure_save(struct trial *t, const void *algo)
{
    uint64_t t0 = time_mono_ns();
    struct buf b = {0};
    if (t->model->save(algo, &b) == 0) {
        t->model_bytes = b.len;
        t->save_seconds = (double)(time_mono_ns() - t0) / 1e9;
    }
    buf_free(&b);
}

/* Trains fold f of trial t and scores it, its predictions into t->oof. A trial with early
 * stopping fits a part of the fold's training rows and stops on the rest
 * (cvdata_build_stopping). */
static int trial_fold(struct search *s, struct trial *t, size_t f)
{
    const struct cvdata *d = &s->data;
    struct train_rows rows = {&d->ftrain[f], NULL, d->ytrain[f], NULL};
    if (t->early_stopping)
        rows = (struct train_rows){&d->esfit[f], &d->esvalid[f], d->yesfit[f], d->yesvalid[f]};
    struct fold_clock clock = {s, t, f};
    int iterations = 0;
    int rv = trial_train(s, t, &rows, t->full, trial_progress, &clock, &t->algo[f], &iterations,
                         t->error, sizeof t->error);
    if (rv != 0)
        return rv;
    t->iterations_sum += iterations;
    if (f == 0)
        measure_save(t, t->algo[f]);
    const struct split_fold *sf = &d->folds.fold[f];
    double *pred = malloc((sf->ntest ? sf->ntest : 1) * d->K * sizeof *pred);
    rv = pred ? t->model->predict(t->algo[f], &d->ftest[f], NULL, pred) : AIOPS_ENOMEM;
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
    t->start_ns = t0;
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
        double median = t->prune_median[f], mean = sum / (double)(f + 1);
        if (f + 1 < s->k && ((!isnan(median) && mean > median) || mean > t->prune_hopeless))
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
        trial_release_models(t);
}

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Trial t's pruning thresholds from its history (trials 0 .. nhist-1): per fold, the median
 * of the running mean loss of every trial of it that finished that fold, once PRUNE_STARTUP
 * of them are complete (NaN, never pruned, before); and prune_hopeless. */
static void prune_medians(const struct search *s, size_t nhist, struct trial *t)
{
    size_t complete = 0;
    const struct trial *best = NULL;
    for (size_t i = 0; i < nhist; i++) {
        const struct trial *o = s->trial[i];
        complete += o->status == T_COMPLETE;
        if (o->status == T_COMPLETE && (best == NULL || o->loss < best->loss))
            best = o;
    }
    /* Hopeless: worse than every fold of the best trial. Needs no startup trials, so it
     * prunes where few trials finish (a 26-class set: 4 in a minute) after one fold */
    t->prune_hopeless = INFINITY;
    for (size_t f = 0; best != NULL && f < s->k; f++)
        t->prune_hopeless = f ? fmax(t->prune_hopeless, best->fold_loss[f]) : best->fold_loss[f];
    double *v = malloc((nhist ? nhist : 1) * sizeof *v);
    for (size_t f = 0; f < s->k; f++) {
        t->prune_median[f] = NAN;
        if (complete < PRUNE_STARTUP || v == NULL)
            continue;
        size_t m = 0;
        for (size_t i = 0; i < nhist; i++) {
            const struct trial *o = s->trial[i];
            if (o->folds_done <= f || o->status == T_FAILED || o->status == T_STOPPED)
                continue;
            double sum = 0;
            for (size_t j = 0; j <= f; j++)
                sum += o->fold_loss[j];
            v[m++] = sum / (double)(f + 1);
        }
        if (m == 0)
            continue;
        qsort(v, m, sizeof *v, cmp_double_asc);
        t->prune_median[f] = m % 2 ? v[m / 2] : 0.5 * (v[m / 2 - 1] + v[m / 2]);
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
    if (d->type == PARAM_STRING)
        return json_string(d->choices[(size_t)v]);
    return json_real(v);
}

/* A zero-shot portfolio, as AutoGluon's and FLAML's: fixed configurations known to do well
 * across many tabular sets, tried after every learner's defaults and before the sampler's
 * random start, so that a short budget reaches them whatever the random draws. A learner
 * that is not searched skips its entries; parameters not named keep their defaults.
 * - boosted trees with a lower learning rate than the default (0.05, as CatBoost's and the
 *   usual hand-tuned XGBoost start), row and column subsampling (0.8, 0.7), their rounds
 *   set by early stopping, at two depths: shallow trees (4) for data whose signal is mostly
 *   additive in few interactions (census and marketing tables: adult, bank), deep ones (8,
 *   with larger leaves) for data of many interacting features (letter, diamonds). */
struct portfolio_param {
    const char *name;
    double value;
};
struct portfolio_entry {
    const char *learner;
    struct portfolio_param param[6]; /* up to the first NULL name */
};
static const struct portfolio_entry portfolio[] = {
    {"gbdt",
     {{"learning_rate", 0.05}, {"max_depth", 4}, {"subsample", 0.8}, {"colsample", 0.7}}},
    {"gbdt",
     {{"learning_rate", 0.05},
      {"max_depth", 8},
      {"min_child_weight", 5},
      {"subsample", 0.8},
      {"colsample", 0.7}}},
};
#define NPORTFOLIO (sizeof portfolio / sizeof portfolio[0])

/* The learner index of the fixed trial `id` (each learner's defaults, then the portfolio's
 * entries of searched learners) into *li and its portfolio entry into *entry (NULL for the
 * defaults); 0 when trial id is sampled. */
static int fixed_trial(const struct space *sp, size_t id, size_t *li,
                       const struct portfolio_entry **entry)
{
    *entry = NULL;
    if (id < sp->nlearners) {
        *li = id;
        return 1;
    }
    size_t n = sp->nlearners;
    for (size_t e = 0; e < NPORTFOLIO; e++)
        for (size_t i = 0; i < sp->nlearners; i++)
            if (strcmp(sp->learner[i]->name, portfolio[e].learner) == 0 && n++ == id) {
                *li = i;
                *entry = &portfolio[e];
                return 1;
            }
    return 0;
}

/* The first trial of each learner is its defaults (as Optuna's enqueue_trial): what
 * `aiops train` gives, so the search starts from a known-good point and is never below
 * it. Its parameters are the default values, placed in the search range for the sampler; a
 * portfolio entry's values (entry not NULL) replace those it names. */
static void trial_defaults(const struct space *sp, const struct portfolio_entry *entry,
                           struct trial *t)
{
    for (size_t d = 1; d < sp->ndims; d++) {
        if (sp->owner[d] != t->li)
            continue;
        const struct param_def *def = sp->def[d];
        /* a text choice's default is its first (the identity transform) */
        double v = def->type == PARAM_STRING ? 0 : def->def;
        for (size_t i = 0; entry != NULL && i < 6 && entry->param[i].name != NULL; i++)
            if (strcmp(entry->param[i].name, def->name) == 0)
                v = entry->param[i].value;
        t->values[d] = sp->dim[d].kind == TPE_CATEGORICAL ? v : fmin(fmax(v, sp->dim[d].lo), sp->dim[d].hi);
        json_object_set_new(t->params, def->name, param_json(def, v));
    }
}

/* Early stopping for a trial of a learner that has it (early_stopping_iterations), added to
 * norm: the iterations at the top of their search range (or their default when they have
 * none), each fold keeping its best on its held-out rows (trial_fold); the refit trains the
 * folds' mean scaled to every row (refit_trial). */
static void trial_early_stopping(const struct learner *l, json_t *norm, struct trial *t)
{
    const struct param_def *iters = early_stopping_iterations(l);
    if (iters == NULL)
        return;
    double n = iters->search_max > 0 ? iters->search_max : iters->def;
    t->early_stopping = (int)fmax(ES_MIN_PATIENCE, n / 10);
    json_object_set_new(norm, l->iterations_param, json_integer((json_int_t)n));
    json_object_set_new(norm, "early_stopping", json_integer(t->early_stopping));
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
    const struct portfolio_entry *entry = NULL;
    size_t fixed_li = 0;
    int fixed = fixed_trial(sp, t->id, &fixed_li, &entry);
    t->values[0] = fixed ? (double)fixed_li : tpe_sample(&sp->dim[0], 0, h, rng);
    t->li = (size_t)t->values[0];
    const struct learner *l = sp->learner[t->li];
    json_t *norm = json_object();
    if ((t->params = json_object()) == NULL || norm == NULL) {
        json_decref(norm);
        return AIOPS_ENOMEM;
    }
    if (fixed)
        trial_defaults(sp, entry, t);
    for (size_t d = 1; d < sp->ndims && !fixed; d++) {
        if (sp->owner[d] != t->li)
            continue;
        t->values[d] = tpe_sample(&sp->dim[d], d, h, rng);
        json_object_set_new(t->params, sp->def[d]->name, param_json(sp->def[d], t->values[d]));
    }
    for (size_t d = 1; d < sp->ndims; d++)
        if (sp->owner[d] == t->li && !sp->is_prep[d])
            json_object_set(norm, sp->def[d]->name, json_object_get(t->params, sp->def[d]->name));
    if (prep_config_from_json(t->params, &t->prep) != 0)
        t->prep = (struct prep_config){.keep = 1}; /* (the sampler draws only the choices) */
    t->model = prep_config_identity(&t->prep) ? l : &learner_prep;
    if (!fixed || entry != NULL) /* the defaults trial stays what `aiops train` gives */
        trial_early_stopping(l, norm, t);
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
    if (e != NULL && t->early_stopping && t->folds_done > 0) /* what the folds kept */
        json_object_set_new(e, "early_stopping",
                            json_pack("{s:i, s:o}", "patience", t->early_stopping, "iterations",
                                      jsonx_num(t->iterations_sum / (double)t->folds_done, 0)));
    return e;
}

/* 1 + the complete trials better than t (0 when t is not complete). */
static size_t trial_rank(const struct search *s, const struct trial *t)
{
    if (!t->done || t->status != T_COMPLETE)
        return 0;
    size_t rank = 1;
    for (size_t i = 0; i < s->ntrials; i++) {
        const struct trial *o = s->trial[i];
        if (o->done && o->status == T_COMPLETE && (o->loss < t->loss || (o->loss == t->loss && o->id < t->id)))
            rank++;
    }
    return rank;
}

/* 1 when t is the best finished complete trial of its learner. */
static int best_of_its_learner(const struct search *s, const struct trial *t)
{
    if (!t->done || t->status != T_COMPLETE)
        return 0;
    for (size_t i = 0; i < s->ntrials; i++) {
        const struct trial *o = s->trial[i];
        if (o->done && o->status == T_COMPLETE && o->li == t->li &&
            (o->loss < t->loss || (o->loss == t->loss && o->id < t->id)))
            return 0;
    }
    return 1;
}

/* The ensemble's candidates are the best ENSEMBLE_POOL trials and the best of every other
 * learner: a search that found one learner best fills its top places with near-copies of
 * it (adult and bank: five boosted trees), whose errors an ensemble cannot average out as
 * it can a forest's or a linear model's. Frees the fold models of every other finished
 * trial. */
static int ensemble_candidate(const struct search *s, const struct trial *t)
{
    return trial_rank(s, t) <= ENSEMBLE_POOL || best_of_its_learner(s, t);
}

static void keep_best_models(struct search *s)
{
    for (size_t i = 0; i < s->ntrials; i++) {
        struct trial *t = s->trial[i];
        if (t->done && t->oof != NULL && !ensemble_candidate(s, t))
            trial_release_models(t);
    }
}

static void update_deadline(struct search *s);

/* The trials trial i learns from: 0 .. i - lag (none before), lag = twice the threads.
 * Fixed by i alone, so a search of max_trials gives the same leaderboard whatever the
 * timing; a thread waits only for a trial that outlasts the 2 * threads - 1 started after
 * it (one per thread, as batches did, would wait whenever the other thread's trial is the
 * slower: a 26-class gbdt next to a forest). TPE draws its first 10 trials at random
 * (TPE_STARTUP_TRIALS) anyway. */
static size_t history_size(const struct search *s, size_t i)
{
    return i >= s->lag ? i - s->lag + 1 : 0;
}

/* Trial i made and sampled from its history (done), with its own random stream and its
 * pruning thresholds. Under s->lock. */
static int trial_claim(struct search *s, size_t i, struct trial **out)
{
    if (i >= s->cap) {
        size_t cap = 2 * (i + 1);
        struct trial **tr = realloc(s->trial, cap * sizeof *tr);
        if (tr == NULL)
            return AIOPS_ENOMEM;
        s->trial = tr;
        s->cap = cap;
    }
    struct trial *t = calloc(1, sizeof *t);
    if (t == NULL)
        return AIOPS_ENOMEM;
    t->id = i;
    s->trial[i] = t;
    s->ntrials = i + 1; /* a claimed trial is owned by s whatever happens */
    size_t nd = s->space.ndims, nh = history_size(s, i);
    double *values = malloc((nh ? nh : 1) * nd * sizeof *values);
    double *loss = malloc((nh ? nh : 1) * sizeof *loss);
    int rv = values && loss ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t j = 0; rv == 0 && j < nh; j++) {
        memcpy(values + j * nd, s->trial[j]->values, nd * sizeof *values);
        loss[j] = s->trial[j]->loss;
    }
    struct tpe_history h = {values, loss, nh, nd};
    uint64_t rng = (s->cfg->seed ^ 0x5eed7be5ull) + (uint64_t)i * 0x9e3779b97f4a7c15ull;
    if (rv == 0)
        rv = trial_sample(s, t, &h, &rng);
    free(values);
    free(loss);
    prune_medians(s, nh, t);
    *out = t;
    return rv;
}

/* Trial t finished: reported (with the finished ones after it), the kept models and the
 * deadline updated, waiters woken.
 * Under s->lock. */
static void trial_finished(struct search *s, struct trial *t)
{
    t->done = 1;
    /* reported in their numbers' order, as the leaderboard lists them: a trial that finished
     * before an earlier one waits for it */
    for (; s->ndone < s->ntrials && s->trial[s->ndone]->done; s->ndone++) {
        if (s->cfg->on_trial == NULL)
            continue;
        const struct trial *o = s->trial[s->ndone];
        json_t *e = trial_entry(s, o);
        s->cfg->on_trial(s->cfg->arg, e, trial_rank(s, o));
        json_decref(e);
    }
    keep_best_models(s);
    update_deadline(s);
    pthread_cond_broadcast(&s->changed);
}

/* 1 when a trial claimed now could not finish by the deadline: less time is left than the
 * fastest complete trial took (adult's last 24 trials were claimed in the final second and
 * stopped without a fold). Under s->lock. */
static int no_time_for_a_trial(const struct search *s)
{
    double fastest = INFINITY;
    for (size_t i = 0; i < s->ntrials; i++)
        if (s->trial[i]->done && s->trial[i]->status == T_COMPLETE)
            fastest = fmin(fastest, s->trial[i]->seconds);
    uint64_t now = time_mono_ns(), deadline = s->deadline_ns;
    return isfinite(fastest) && (deadline <= now || (double)(deadline - now) / 1e9 < fastest);
}

/* One thread of the search: claims the next trial once its history is done, runs it,
 * reports it, until the budget, max_trials or an error ends the search, or too little time
 * is left for one more (the thread then ends; the others finish their trials). */
static void search_thread(void *arg, int tid, int nth)
{
    (void)tid, (void)nth;
    struct search *s = arg;
    pthread_mutex_lock(&s->lock);
    while (s->rv == 0 && !search_should_stop(s) &&
           (s->cfg->max_trials == 0 || s->ntrials < s->cfg->max_trials)) {
        size_t i = s->ntrials;
        if (s->ndone < history_size(s, i)) {
            /* woken by a finished trial; the timeout re-checks the clock and cancellation */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 20 * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&s->changed, &s->lock, &until);
            continue;
        }
        if (no_time_for_a_trial(s))
            break;
        struct trial *t = NULL;
        int rv = trial_claim(s, i, &t);
        if (rv != 0) {
            s->rv = rv;
            if (t != NULL)
                t->done = 1;
            break;
        }
        pthread_mutex_unlock(&s->lock);
        trial_run(s, t);
        pthread_mutex_lock(&s->lock);
        trial_finished(s, t);
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static int search_loop(struct search *s)
{
    int threads = s->cfg->threads > 0 ? s->cfg->threads : pool_cpus();
    /* one pool for the whole search: starting threads per batch costs more than a small
     * trial (measured under AddressSanitizer) */
    struct pool *pool = NULL;
    int rv = pool_create(threads, &pool);
    if (rv != 0)
        return rv;
    s->lag = 2 * (size_t)pool_threads(pool);
    /* Trials run one thread each. The neural learners set OpenBLAS's (process-wide) thread
     * count to 1 while they train and put back what they found: of two overlapping, the one
     * finishing first put every CPU back under the other, whose BLAS calls then competed
     * with the other trials' threads. One for the whole search; the refit gets it back. */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    pool_run(pool, pool_threads(pool), search_thread, s);
    openblas_set_num_threads(blas_threads);
    pool_free(pool);
    return s->rv;
}

/* --- Caruana's ensemble selection ------------------------------------------------------- */

struct selection {
    size_t m;                    /* candidates */
    size_t trial[ENSEMBLE_CANDIDATES]; /* their trial indexes */
    size_t count[ENSEMBLE_CANDIDATES]; /* times chosen, in the kept step */
    size_t steps;                /* sum of count */
    double loss, single_loss;    /* the kept selection's OOF loss, the best single one's */
    size_t single;               /* the best single candidate */
    int kept;                    /* the ensemble beats the best single trial */
    size_t chosen;               /* not kept: the candidate the final model is (choose_final) */
    int too_big;                 /* the ensemble beat the best trial but writing it would not
                                    have fit in the budget */
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
        double l = metric_loss(s->metric, d->y, s->trial[sel->trial[j]]->oof, d->n, d->K);
        if (l < sel->single_loss) {
            sel->single_loss = l;
            sel->single = j;
        }
    }
    size_t count[ENSEMBLE_CANDIDATES] = {0};
    count[sel->single] = 1;
    memcpy(sum, s->trial[sel->trial[sel->single]]->oof, cells * sizeof *sum);
    memcpy(sel->count, count, sizeof count);
    sel->steps = 1;
    sel->loss = sel->single_loss;
    memcpy(sel->pred, sum, cells * sizeof *sum);
    for (size_t step = 2; step <= ENSEMBLE_STEPS && sel->m > 1; step++) {
        double best = INFINITY;
        size_t pick = 0;
        for (size_t j = 0; j < sel->m; j++) {
            const double *o = s->trial[sel->trial[j]]->oof;
            for (size_t c = 0; c < cells; c++)
                tmp[c] = (sum[c] + o[c]) / (double)step;
            double l = metric_loss(s->metric, d->y, tmp, d->n, d->K);
            if (l < best) {
                best = l;
                pick = j;
            }
        }
        const double *o = s->trial[sel->trial[pick]]->oof;
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

/* The candidates: the complete trials whose fold models were kept (ensemble_candidate),
 * best first. */
static void select_candidates(const struct search *s, struct selection *sel)
{
    size_t rank[ENSEMBLE_CANDIDATES];
    sel->m = 0;
    for (size_t i = 0; i < s->ntrials && sel->m < ENSEMBLE_CANDIDATES; i++) {
        if (s->trial[i]->oof == NULL || !ensemble_candidate(s, s->trial[i]))
            continue;
        size_t r = trial_rank(s, s->trial[i]), at = sel->m++;
        for (; at > 0 && rank[at - 1] > r; at--) { /* insertion by rank */
            rank[at] = rank[at - 1];
            sel->trial[at] = sel->trial[at - 1];
        }
        rank[at] = r;
        sel->trial[at] = i;
    }
}

/* --- the refit ------------------------------------------------------------------------------ */

/* Writing a model of `bytes` bytes whose algorithm took save_seconds to serialise: the
 * model file serialises it again (and grows its buffer), checksums and writes every byte;
 * WRITE_BYTES_PER_SECOND is a loaded machine's rate for the checksum and the write. */
static uint64_t write_estimate_ns(double bytes, double save_seconds)
{
    return (uint64_t)((2 * save_seconds + bytes / WRITE_BYTES_PER_SECOND) * 1e9);
}

/* Writing trial t refitted on every row: its fold model scaled by rows (k/(k-1): trees
 * grown to purity and their leaves grow with the rows). */
static uint64_t refit_write_ns(const struct search *s, const struct trial *t)
{
    double rows = (double)s->k / (double)(s->k - 1);
    return write_estimate_ns((double)t->model_bytes * rows, t->save_seconds * rows);
}

/* Writing t's k fold models (as the final model, or its share of an ensemble). */
static uint64_t folds_write_ns(const struct search *s, const struct trial *t)
{
    return write_estimate_ns((double)t->model_bytes * (double)s->k,
                             t->save_seconds * (double)s->k);
}

/* The iterations trial t's refit trains after early stopping: its fold models' mean, scaled
 * by the rows (every row over those a fold model fitted), at least 1. */
static double refit_iterations(const struct search *s, const struct trial *t)
{
    double mean = t->iterations_sum / (double)(t->folds_done ? t->folds_done : 1);
    double rows = (double)s->data.n / (double)(s->data.esfit[0].nrows ? s->data.esfit[0].nrows : 1);
    return fmax(1, round(mean * rows));
}

/* What refitting trial t on every row and writing the model takes at most: its folds
 * trained on (k-1)/k of the rows each (one thread each, with a margin; after early stopping
 * k/(k-1) its iterations too), on the refit's threads, then the writing. The threads are
 * counted at half a core each past the first (a loaded machine's share, and the parts of a
 * fit that do not share out): counting none kept back twice the refit's time -- adult's
 * search ended at 45 s of 60 for a refit the kept ensemble did not need. An estimate too
 * low costs the refit, not the budget: it is stopped where the writing must start and the
 * fold models are saved instead (choose_final). */
static uint64_t refit_estimate_ns(const struct search *s, const struct trial *t)
{
    double per_fold = t->seconds / (double)(t->folds_done ? t->folds_done : 1);
    double rows = (double)s->k / (double)(s->k - 1);
    int threads = s->cfg->threads > 0 ? s->cfg->threads : pool_cpus();
    double speedup = 1 + 0.5 * (threads > 1 ? threads - 1 : 0);
    return (uint64_t)(per_fold * rows * (t->early_stopping ? rows : 1) * 1.3 / speedup * 1e9) +
           refit_write_ns(s, t);
}

/* The trials' deadline: SEARCH_SHARE of the budget less the time to refit and write the best
 * trial so far (at most REFIT_SHARE of the budget: a final model that would not fit is
 * chosen otherwise, finish_choice). Updated as each trial finishes (under s->lock); the
 * running trials read it atomically. */
static void update_deadline(struct search *s)
{
    double budget = s->cfg->budget_seconds * 1e9;
    uint64_t reserve = 0;
    for (size_t i = 0; i < s->ntrials; i++)
        if (trial_rank(s, s->trial[i]) == 1)
            reserve = refit_estimate_ns(s, s->trial[i]);
    if ((double)reserve > budget * REFIT_SHARE)
        reserve = (uint64_t)(budget * REFIT_SHARE);
    s->deadline_ns = s->start_ns + (uint64_t)(budget * SEARCH_SHARE) - reserve;
}

static uint64_t budget_end_ns(const struct search *s)
{
    return s->start_ns + (uint64_t)(s->cfg->budget_seconds * 1e9);
}

static int refit_progress(void *arg, const struct train_progress *p)
{
    (void)p;
    const struct search *s = arg;
    return time_mono_ns() >= s->refit_end_ns ||
           (s->cfg->cancelled != NULL && s->cfg->cancelled(s->cfg->arg));
}

/* Trial t trained on every row (all threads) when that and writing it fit in what is left of
 * the budget: the model the single best trial stands for, as `aiops train` would make it.
 * 0 with *algo (a t->model); else (no time, cancelled, failed) an error. */
static int refit_trial(struct search *s, const struct trial *t, void **algo)
{
    *algo = NULL;
    uint64_t end = budget_end_ns(s), write = refit_write_ns(s, t);
    if (time_mono_ns() + refit_estimate_ns(s, t) > end ||
        (s->cfg->cancelled != NULL && s->cfg->cancelled(s->cfg->arg)))
        return AIOPS_ECANCELED;
    s->refit_end_ns = end - write; /* the training stops where the writing must start */
    json_t *params = json_deep_copy(t->full);
    if (params == NULL)
        return AIOPS_ENOMEM;
    json_object_set_new(params, "threads", json_integer(s->cfg->threads > 0 ? s->cfg->threads : 0));
    if (t->early_stopping) {
        /* no rows are held out: the folds' mean kept iterations, scaled to every row (k/(k-1)
         * the rows; more rows bear more rounds), at most the trial's ceiling */
        const char *name = s->space.learner[t->li]->iterations_param;
        double ceiling = learner_param(t->full, name);
        double iters = refit_iterations(s, t);
        json_object_set_new(params, name, json_integer((json_int_t)fmin(ceiling, iters)));
        json_object_set_new(params, "early_stopping", json_integer(0));
    }
    char error[256];
    struct train_rows rows = {&s->data.x, NULL, s->data.y, NULL};
    int iterations = 0;
    int rv = trial_train(s, t, &rows, params, refit_progress, s, algo, &iterations, error,
                         sizeof error);
    json_decref(params);
    return rv;
}

/* --- the model ------------------------------------------------------------------------------ */

/* The selection's fold models as one ensemble (taken over from the trials). */
static int build_ensemble(struct search *s, const struct selection *sel, struct ensemble **out)
{
    int rv = ensemble_new(s->data.x.ncols, s->data.K, out);
    for (size_t j = 0; rv == 0 && j < sel->m; j++) {
        struct trial *t = s->trial[sel->trial[j]];
        double w = (double)sel->count[j] / (double)sel->steps / (double)s->k;
        for (size_t f = 0; rv == 0 && f < s->k && sel->count[j] > 0; f++) {
            rv = ensemble_add(*out, t->model, t->algo[f], w);
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
        const struct trial *t = s->trial[sel->trial[j]];
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

/* The selection reduced to candidate j alone. */
static void use_single(const struct search *s, struct selection *sel, size_t j)
{
    memset(sel->count, 0, sizeof sel->count);
    sel->count[j] = 1;
    sel->steps = 1;
    sel->kept = 0;
    const struct trial *t = s->trial[sel->trial[j]];
    sel->loss = metric_loss(s->metric, s->data.y, t->oof, s->data.n, s->data.K);
    memcpy(sel->pred, t->oof, s->data.n * s->data.K * sizeof *sel->pred);
    sel->chosen = j;
}

/* Writing the selection's fold models. */
static uint64_t selection_write_ns(const struct search *s, const struct selection *sel)
{
    uint64_t ns = 0;
    for (size_t j = 0; j < sel->m; j++)
        if (sel->count[j] > 0)
            ns += folds_write_ns(s, s->trial[sel->trial[j]]);
    return ns;
}

/* The final model within the budget, its writing counted: the ensemble when it was kept and
 * its writing fits; else the best single trial refitted on every row (as Optuna users do)
 * when its training and writing fit, or its fold models when their writing fits; else the
 * next candidate the same way. When none fits (a trial stopped late), the best candidate
 * whose fold models are written within the budget's 10% tolerance -- not a much worse model
 * that only writes faster (adult once saved linear's folds over gbdt's that way); the one
 * that writes fastest only when none does.
 * *refit: the refitted model (a t->model of trial sel->trial[sel->chosen]) or NULL. */
static void choose_final(struct search *s, struct selection *sel, void **refit)
{
    *refit = NULL;
    uint64_t end = budget_end_ns(s);
    sel->chosen = sel->single;
    if (sel->kept && time_mono_ns() + selection_write_ns(s, sel) <= end)
        return;
    sel->too_big = sel->kept;
    size_t cheapest = sel->single, tolerated = SIZE_MAX;
    uint64_t tolerance = end + (uint64_t)(s->cfg->budget_seconds * 1e8);
    for (size_t r = 0; r < sel->m; r++) {
        size_t j = r == 0 ? sel->single : r <= sel->single ? r - 1 : r;
        const struct trial *t = s->trial[sel->trial[j]];
        if (refit_trial(s, t, refit) == 0 ||
            time_mono_ns() + folds_write_ns(s, t) <= end) {
            use_single(s, sel, j);
            return;
        }
        if (tolerated == SIZE_MAX && time_mono_ns() + folds_write_ns(s, t) <= tolerance)
            tolerated = j; /* candidates come best first */
        if (folds_write_ns(s, t) < folds_write_ns(s, s->trial[sel->trial[cheapest]]))
            cheapest = j;
    }
    use_single(s, sel, tolerated != SIZE_MAX ? tolerated : cheapest);
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
    void *refit = NULL;
    if (rv == 0)
        choose_final(s, &sel, &refit);
    out->leaderboard = json_array();
    for (size_t i = 0; rv == 0 && i < s->ntrials; i++)
        json_array_append_new(out->leaderboard, trial_entry(s, s->trial[i]));
    const struct trial *chosen = s->trial[sel.trial[sel.chosen]];
    if (rv == 0) {
        out->best = trial_entry(s, s->trial[sel.trial[0]]);
        out->ensemble = ensemble_json(s, &sel);
        json_object_set_new(out->ensemble, "refit", json_boolean(refit != NULL));
        json_object_set_new(out->ensemble, "too_big_for_budget", json_boolean(sel.too_big));
        json_t *automl = json_pack("{s:s, s:I, s:I, s:O, s:O}", "metric", metric_names[s->metric],
                                   "folds", (json_int_t)s->k, "trials", (json_int_t)s->ntrials,
                                   "best", out->best, "ensemble", out->ensemble);
        rv = build_model(s, &sel, automl, chosen->model, refit, &out->model);
    } else if (refit != NULL) {
        chosen->model->free(refit);
    }
    free(sel.pred);
    return rv;
}

static void search_free(struct search *s)
{
    for (size_t i = 0; i < s->ntrials; i++) {
        struct trial *t = s->trial[i];
        trial_release_models(t);
        free(t->values);
        json_decref(t->params);
        json_decref(t->full);
        free(t);
    }
    free(s->trial);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
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
    s->k = cfg->folds;
    s->start_ns = cfg->start_ns ? cfg->start_ns : time_mono_ns();
    s->deadline_ns = s->start_ns + (uint64_t)(cfg->budget_seconds * SEARCH_SHARE * 1e9);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    if ((rv = cvdata_build(t, cfg, &s->k, &s->data, err)) == 0 &&
        (rv = resolve_metric(cfg, s->data.ts.task, &s->metric, err)) == 0 &&
        (rv = parse_models(cfg->models, s->data.ts.task, &s->space, err)) == 0) {
        build_dims(&s->space, &s->data.x, s->data.ts.task);
        int stopping = 0;
        for (size_t i = 0; i < s->space.nlearners; i++)
            stopping |= early_stopping_iterations(s->space.learner[i]) != NULL;
        if (stopping)
            rv = cvdata_build_stopping(&s->data, s->k, cfg->seed);
        if (rv == 0)
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
