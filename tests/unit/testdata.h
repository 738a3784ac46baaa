/* testdata.h -- what the unit tests share to build their inputs: the shared public datasets
 * (found, or the test skipped), seeded random numbers, zeroed matrices, a dataset loaded from
 * CSV into train/test matrices the way bench/gbdt_reference.py splits it, models trained
 * the way a run trains them, and lookups in the JSON documents the code under test writes.
 *
 * Everything here is static inline: a test includes it and uses what it needs. */
#ifndef AIOPS_TESTDATA_H
#define AIOPS_TESTDATA_H

#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "algo/linear.h"
#include "core/err.h"
#include "core/rand.h"
#include "data/fmatrix.h"
#include "data/ingest.h"
#include "math/stats.h"
#include "ml/featureset.h"
#include "ml/learner.h"
#include "ml/model.h"
#include "ml/train.h"
#include "unit.h"

/* --- the shared datasets ------------------------------------------------------------------ */

/* $AIOPS_DATA_DIR when set (and only it), else ../shared/data beside the repository (tests
 * run from its root), else /work/shared/data; NULL when that directory does not exist. */
static inline const char *test_data_dir(void)
{
    const char *env = getenv("AIOPS_DATA_DIR");
    const char *cands[] = {env, "../shared/data", "/work/shared/data"};
    size_t n = env != NULL && env[0] != '\0' ? 1 : sizeof cands / sizeof cands[0];
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (cands[i] != NULL && stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    }
    return NULL;
}

/* The data directory, or NULL after marking the running test skipped (UNIT_SKIP). */
static inline const char *test_data_dir_or_skip(void)
{
    const char *d = test_data_dir();
    const char *env = getenv("AIOPS_DATA_DIR");
    if (d == NULL && env != NULL && env[0] != '\0')
        UNIT_SKIP("no shared datasets: AIOPS_DATA_DIR=%s is not a directory", env);
    else if (d == NULL)
        UNIT_SKIP("no shared datasets: set AIOPS_DATA_DIR or place them in ../shared/data");
    return d;
}

/* The path of rel (e.g. "uci_adult/adult_train.csv") under the data directory, in one of a
 * few rotating buffers; NULL after marking the running test skipped when the directory or
 * the file is missing. */
static inline const char *test_data_file(const char *rel)
{
    static char bufs[8][1024];
    static unsigned next;
    const char *d = test_data_dir_or_skip();
    if (d == NULL)
        return NULL;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", d, rel);
    struct stat st;
    if (stat(b, &st) != 0) {
        UNIT_SKIP("no %s in the shared datasets (%s)", rel, d);
        return NULL;
    }
    return b;
}

/* --- random data --------------------------------------------------------------------------- */

/* Steps a 64-bit LCG (Knuth's MMIX constants) and returns its new state: cheap data that a
 * few lines of Python reproduce (tests/unit/test_linear.c quotes them). */
static inline uint64_t lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state;
}

/* The next lcg_next step as a double uniform in [0, 1): its top 53 bits, what the Python
 * reference scripts compute as (s >> 11) * 2.0**-53. */
static inline double lcg_unit(uint64_t *state)
{
    return (double)(lcg_next(state) >> 11) * 0x1p-53;
}

/* Defines the file's seeded generator: rng_state (save and restore it to draw the same data
 * again) and urand(), uniform in [0, 1). */
#define TEST_RNG(seed)                                                                         \
    static uint64_t rng_state = (seed);                                                        \
    static double urand(void)                                                                  \
    {                                                                                          \
        return rand_unit(&rng_state);                                                          \
    }

/* --- matrices ----------------------------------------------------------------------------- */

/* Cell (r, j) of a column-major struct fmatrix. */
#define AT(m, r, j) ((m)->x[(size_t)(j) * (m)->nrows + (r)])

/* An nrows x ncols matrix, every cell 0.0, every column numeric; mat_free frees it. */
static inline void mat_init(struct fmatrix *m, size_t nrows, size_t ncols)
{
    if (fmatrix_alloc(nrows, ncols, m) != 0) {
        fprintf(stderr, "test_matrix: out of memory (%zu x %zu)\n", nrows, ncols);
        abort();
    }
    memset(m->x, 0, nrows * ncols * sizeof *m->x);
}

static inline void mat_free(struct fmatrix *m)
{
    fmatrix_free(m);
}

/* An nrows x ncols matrix holding values[] (column-major, nrows * ncols of them). */
static inline void mat_init_values(struct fmatrix *m, size_t nrows, size_t ncols,
                                   const double *values)
{
    mat_init(m, nrows, ncols);
    memcpy(m->x, values, nrows * ncols * sizeof *values);
}

/* A step and noise over n rows: column 0 is r / n, column 1 uniform noise drawn from *rng
 * row by row, and y[r] = 1 from the middle row on (x0 >= 0.5), else 0. */
static inline void mat_init_step(struct fmatrix *m, double *y, size_t n, uint64_t *rng)
{
    mat_init(m, n, 2);
    for (size_t r = 0; r < n; r++) {
        AT(m, r, 0) = (double)r / (double)n;
        AT(m, r, 1) = rand_unit(rng);
        y[r] = r >= n / 2;
    }
}

/* Four columns of mixed kinds over nrows rows, for models with numeric, missing and
 * categorical splits: 0 numeric (10% missing), 1 small integers, 2 categorical of ncat codes
 * (5% missing), 3 numeric. mixed_row fills the rows. */
static inline void mat_init_mixed(struct fmatrix *m, size_t nrows, uint32_t ncat)
{
    mat_init(m, nrows, 4);
    m->is_cat[2] = 1;
    m->ncat[2] = ncat;
}

/* Draws row r of a mat_init_mixed matrix from *rng; returns a margin to which every column
 * contributes (for the caller to draw a target from). */
static inline double mixed_row(struct fmatrix *m, size_t r, uint64_t *rng)
{
    AT(m, r, 0) = rand_unit(rng) < 0.1 ? NAN : rand_unit(rng) * 10;
    AT(m, r, 1) = floor(rand_unit(rng) * 5);
    AT(m, r, 2) = rand_unit(rng) < 0.05 ? NAN : floor(rand_unit(rng) * m->ncat[2]);
    AT(m, r, 3) = rand_unit(rng) - 0.5;
    return (isnan(AT(m, r, 0)) ? 3 : AT(m, r, 0)) * 0.3 + AT(m, r, 1) * 0.2 +
           (fmod(AT(m, r, 2), 3) == 1 ? 1.5 : 0) + AT(m, r, 3);
}

/* One categorical column of ncat categories over nrows rows: row r holds the code r % period,
 * or NaN (missing) where that is ncat or more. */
static inline void mat_init_codes(struct fmatrix *m, size_t nrows, uint32_t ncat, size_t period)
{
    mat_init(m, nrows, 1);
    m->is_cat[0] = 1;
    m->ncat[0] = ncat;
    for (size_t r = 0; r < nrows; r++)
        AT(m, r, 0) = r % period < ncat ? (double)(r % period) : NAN;
}

/* --- a dataset from CSV into train/test matrices ----------------------------------------- */

/* The shared datasets the quality tests load: dataset_load's dir, train, test and target. */
#define DATASET_HIGGS "lightgbm_higgs_binary", "higgs_train.csv", "higgs_test.csv", "label"
#define DATASET_ADULT "uci_adult", "adult_train.csv", "adult_test.csv", "income"
#define DATASET_LETTER "mlbench_letter_recognition", "LetterRecognition.csv", NULL, "lettr"
#define DATASET_DIAMONDS "ggplot2_diamonds", "diamonds.csv", NULL, "price"

struct dataset {
    struct ingest_result tr, te;
    int have_te;
    struct feature_set fs;
    struct target_spec ts;
    struct fmatrix xtr, xte;
    double *ytr, *yte;
};

/* Row r of a single-file dataset is a test row when splitmix64(42 << 32 | r) % 5 == 0 (the
 * rule bench/gbdt_reference.py applies). */
static inline int hash_test_row(size_t r)
{
    uint64_t s = (42ull << 32) | r;
    return rand_splitmix64(&s) % 5 == 0;
}

static inline void dataset_free(struct dataset *d)
{
    ingest_result_free(&d->tr);
    if (d->have_te)
        ingest_result_free(&d->te);
    feature_set_free(&d->fs);
    target_spec_free(&d->ts);
    fmatrix_free(&d->xtr);
    fmatrix_free(&d->xte);
    free(d->ytr);
    free(d->yte);
}

/* Reads one CSV of the shared datasets; -1 after UNIT_SKIP (missing) or UNIT_FAIL. */
static inline int dataset_read_csv(const char *dir, const char *file, const char *target,
                                   struct ingest_result *r)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", dir, file);
    const char *path = test_data_file(rel);
    if (path == NULL)
        return -1;
    struct ingest_options o = {0};
    o.target = target;
    if (ingest_csv_file(path, &o, r) != 0 || r->n_errors > 0) {
        UNIT_FAIL("cannot read %s", path);
        return -1;
    }
    return 0;
}

/* Loads dir/train (and dir/test, or a hash split of train when test is NULL) with target as
 * the target: features fitted on the training rows, matrices and targets for both parts.
 * -1 when the test cannot go on: skipped (the data is missing) or failed. d is always safe
 * to pass to dataset_free. */
static inline int dataset_load(struct dataset *d, const char *dir, const char *train,
                               const char *test, const char *target)
{
    memset(d, 0, sizeof *d);
    if (dataset_read_csv(dir, train, target, &d->tr) != 0)
        return -1;
    if (test != NULL) {
        d->have_te = 1;
        if (dataset_read_csv(dir, test, target, &d->te) != 0)
            return -1;
    }
    const struct table *t = &d->tr.table;
    long tc = table_find(t, target);
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK(tc >= 0);
    if (features_fit(t, tc, NULL, NULL, &d->fs, &err) != 0) {
        UNIT_FAIL("%s/%s: features_fit refused: %s", dir, train, err.message);
        return -1;
    }
    double *y = malloc(t->nrows * sizeof *y);
    if (target_fit(t, tc, TASK_NONE, &d->ts, y, &err) != 0) {
        UNIT_FAIL("%s/%s: target_fit refused %s: %s", dir, train, target, err.message);
        free(y);
        return -1;
    }
    if (test != NULL) {
        const struct table *tt = &d->te.table;
        d->ytr = y;
        d->yte = malloc(tt->nrows * sizeof *d->yte);
        CHECK_INT(features_matrix(&d->fs, t, &d->xtr, &err, NULL, NULL), 0);
        CHECK_INT(features_matrix(&d->fs, tt, &d->xte, &err, NULL, NULL), 0);
        size_t unknown = 0;
        CHECK_INT(target_apply(&d->ts, tt, table_find(tt, target), d->yte, &unknown), 0);
        CHECK_INT(unknown, 0);
    } else {
        size_t *rtr = malloc(t->nrows * sizeof *rtr), *rte = malloc(t->nrows * sizeof *rte);
        size_t ntr = 0, nte = 0;
        for (size_t r = 0; r < t->nrows; r++) {
            if (hash_test_row(r))
                rte[nte++] = r;
            else
                rtr[ntr++] = r;
        }
        d->ytr = malloc(ntr * sizeof *d->ytr);
        d->yte = malloc(nte * sizeof *d->yte);
        for (size_t i = 0; i < ntr; i++)
            d->ytr[i] = y[rtr[i]];
        for (size_t i = 0; i < nte; i++)
            d->yte[i] = y[rte[i]];
        CHECK_INT(features_matrix_rows(&d->fs, t, rtr, ntr, &d->xtr, &err, NULL, NULL), 0);
        CHECK_INT(features_matrix_rows(&d->fs, t, rte, nte, &d->xte, &err, NULL, NULL), 0);
        free(rtr);
        free(rte);
        free(y);
    }
    for (size_t r = 0; r < d->xtr.nrows; r++)
        if (isnan(d->ytr[r])) {
            UNIT_FAIL("unlabelled training row %zu", r);
            return -1;
        }
    return 0;
}

/* --- how well predictions fit -------------------------------------------------------------- */

/* The share of n rows whose most probable of k classes (prob: k values a row; a tie goes to
 * the first) is the class y[r]. */
static inline double prob_accuracy(const double *prob, const double *y, size_t n, size_t k)
{
    size_t right = 0;
    for (size_t r = 0; r < n; r++)
        right += stats_argmax(prob + r * k, k) == (size_t)y[r];
    return (double)right / (double)n;
}

/* The ROC AUC over n rows of P(class 1) (prob: 2 values a row) against y (> 0.5: positive). */
static inline double prob_auc(const double *prob, const double *y, size_t n)
{
    double *s = malloc(n * sizeof *s), auc = NAN;
    uint8_t *positive = malloc(n);
    for (size_t r = 0; r < n; r++) {
        s[r] = prob[2 * r + 1];
        positive[r] = y[r] > 0.5;
    }
    CHECK_INT(stats_roc_auc(s, positive, n, &auc), 0);
    free(s);
    free(positive);
    return auc;
}

/* The sum of the squared errors of n predictions against y. */
static inline double sum_sq_error(const double *pred, const double *y, size_t n)
{
    double se = 0;
    for (size_t r = 0; r < n; r++)
        se += (pred[r] - y[r]) * (pred[r] - y[r]);
    return se;
}

/* --- models and their JSON ---------------------------------------------------------------- */

/* Defines algo_train_ok(x, y, w, p): algo_train on x, y (weights w, may be NULL) with the
 * parameters p, without validation rows or progress (the arguments after algo: algo_train's
 * up to the model and the error); the model, or NULL after UNIT_FAIL. */
#define TRAIN_OK(algo, ...)                                                                    \
    static inline struct algo *algo##_train_ok(const struct fmatrix *x, const double *y,       \
                                               const double *w, const struct algo##_params *p) \
    {                                                                                          \
        struct algo *m = NULL;                                                                 \
        struct aiops_error err = AIOPS_ERROR_INIT;                                             \
        int rv = algo##_train(__VA_ARGS__, &m, &err);                                          \
        if (rv != 0)                                                                           \
            UNIT_FAIL(#algo "_train: %s (%s)", aiops_strerror(rv), err.message);               \
        return m;                                                                              \
    }

TRAIN_OK(gbdt, x, y, w, NULL, NULL, p, NULL, NULL)
TRAIN_OK(forest, x, y, w, p, NULL, NULL)
TRAIN_OK(linear, x, y, w, p, NULL, NULL)

/* A model and the matrix and targets it was trained on: what the explanation tests start
 * from. */
struct trained {
    struct fmatrix x;
    double *y;       /* x.nrows targets */
    struct model *m; /* NULL when training failed (after UNIT_FAIL) */
};

static inline void trained_free(struct trained *t)
{
    model_free(t->m);
    mat_free(&t->x);
    free(t->y);
}

/* A binary classifier as train_model would build it, without a table: a gbdt of `rounds`
 * rounds `depth` deep on one thread trained on x and y (0/1), its features named names[j]
 * (categorical where x->is_cat[j], with the categories cat_names, NULL-terminated, or none
 * when NULL) and its classes "0" and "1"; NULL after UNIT_FAIL. model_free frees it. */
static inline struct model *gbdt_binary_model(const struct fmatrix *x, const double *y, int rounds,
                                              int depth, const char *const *names,
                                              const char *const *cat_names)
{
    struct gbdt_params p = {0};
    p.objective = GBDT_BINARY;
    p.rounds = rounds;
    p.max_depth = depth;
    p.threads = 1;
    struct gbdt *g = gbdt_train_ok(x, y, NULL, &p);
    if (g == NULL)
        return NULL;
    struct model *m = calloc(1, sizeof *m);
    m->learner = learner_find("gbdt");
    m->algo = g;
    m->features.n = x->ncols;
    m->features.f = calloc(x->ncols, sizeof *m->features.f);
    for (size_t j = 0; j < x->ncols; j++) {
        struct feature *f = &m->features.f[j];
        f->name = strdup(names[j]);
        f->kind = x->is_cat[j] ? FEAT_CATEGORICAL : FEAT_NUMERIC;
        strdict_init(&f->cats);
        for (size_t c = 0; x->is_cat[j] && cat_names != NULL && cat_names[c] != NULL; c++) {
            uint32_t code;
            CHECK_INT(strdict_intern(&f->cats, cat_names[c], strlen(cat_names[c]), &code), 0);
        }
    }
    m->target.task = TASK_BINARY;
    m->target.nclasses = 2;
    m->target.labels = calloc(2, sizeof *m->target.labels);
    m->target.labels[0] = strdup("0");
    m->target.labels[1] = strdup("1");
    return m;
}

/* Learner l trained on t for target with the parameters params_json (a JSON object; NULL:
 * the defaults) through train_model, as a run trains it; NULL after UNIT_FAIL. */
static inline struct model *train_table(const struct learner *l, const struct table *t,
                                        const char *target, const char *params_json)
{
    json_t *p = params_json != NULL ? json_loads(params_json, 0, NULL) : NULL;
    if (params_json != NULL && p == NULL) {
        UNIT_FAIL("train_table: bad parameters %s", params_json);
        return NULL;
    }
    struct train_config cfg = {l, target, p, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = train_model(t, NULL, &cfg, NULL, NULL, &res, &err);
    json_decref(p);
    if (rv != 0) {
        UNIT_FAIL("training %s on %s: %s: %s", l != NULL ? l->name : "(no learner)", target,
                  err.field, err.message);
        return NULL;
    }
    struct model *m = res.model;
    res.model = NULL;
    train_result_free(&res);
    return m;
}

/* The element of doc[list] (an array of objects) whose string member key is value; NULL
 * when there is none. */
static inline json_t *json_find_by(json_t *doc, const char *list, const char *key,
                                   const char *value)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, list), i, e)
    {
        const char *s = json_string_value(json_object_get(e, key));
        if (s != NULL && strcmp(s, value) == 0)
            return e;
    }
    return NULL;
}

#endif
