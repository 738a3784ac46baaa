/* Unit tests for lib/ml/tpe.c, lib/ml/automl.c and the ensemble learner: TPE against random
 * search, determinism, pruning, the budget, the ensemble against its best member, the saved
 * model, and refused requests. Data is generated here (small: the tests run under ASAN). */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/rand.h"
#include "core/time.h"
#include "data/ingest.h"
#include "ml/automl.h"
#include "ml/ensemble.h"
#include "ml/prep.h"
#include "ml/tpe.h"
#include "unit.h"

/* --- TPE ------------------------------------------------------------------------------- */

/* A shifted sphere over a float, a log-scale float and an integer: minimum 0 at
 * (1.3, 0.01, 7). */
static double sphere(const double *v)
{
    double a = v[0] - 1.3, b = log10(v[1]) + 2, c = (v[2] - 7) / 4;
    return a * a + b * b + c * c;
}

/* The best loss of `trials` trials; tpe 0: every draw uniform (the random search). */
static double search_best(int tpe, uint64_t seed, size_t trials)
{
    const struct tpe_dim dims[3] = {
        {.kind = TPE_FLOAT, .lo = -5, .hi = 5},
        {.kind = TPE_FLOAT, .lo = 1e-5, .hi = 1, .log = 1},
        {.kind = TPE_INT, .lo = 0, .hi = 40},
    };
    double values[200 * 3], loss[200], best = INFINITY;
    uint64_t rng = seed;
    for (size_t i = 0; i < trials && i < 200; i++) {
        struct tpe_history h = {values, loss, tpe ? i : 0, 3};
        for (size_t d = 0; d < 3; d++)
            values[i * 3 + d] = tpe_sample(&dims[d], d, &h, &rng);
        CHECK(values[i * 3 + 2] == floor(values[i * 3 + 2]));
        CHECK(values[i * 3 + 1] >= 1e-5 && values[i * 3 + 1] <= 1);
        loss[i] = sphere(values + i * 3);
        best = fmin(best, loss[i]);
    }
    return best;
}

static void test_tpe_beats_random_search(void)
{
    double tpe = 0, rnd = 0;
    int tpe_wins = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        double a = search_best(1, seed, 80), b = search_best(0, seed, 80);
        tpe += a;
        rnd += b;
        tpe_wins += a < b;
    }
    fprintf(stderr, "  mean best of 80 trials: TPE %.4f, random %.4f (TPE better on %d of 10)\n",
            tpe / 10, rnd / 10, tpe_wins);
    CHECK(tpe < 0.5 * rnd);
    CHECK(tpe_wins >= 7);
}

static void test_tpe_gamma_as_optuna(void)
{
    CHECK_INT(tpe_gamma(1), 1);
    CHECK_INT(tpe_gamma(10), 1);
    CHECK_INT(tpe_gamma(11), 2);
    CHECK_INT(tpe_gamma(250), 25);
    CHECK_INT(tpe_gamma(1000), 25);
}

/* The same seed, the same draws; categorical draws are choice indexes. */
static void test_tpe_seeded(void)
{
    struct tpe_dim cat = {.kind = TPE_CATEGORICAL, .nchoices = 3};
    double values[30], loss[30];
    for (size_t i = 0; i < 30; i++) {
        uint64_t r = i;
        values[i] = (double)(i % 3);
        loss[i] = values[i] == 2 ? 0.1 : 1.0 + rand_unit(&r);
    }
    struct tpe_history h = {values, loss, 30, 1};
    uint64_t r1 = 42, r2 = 42;
    size_t twos = 0;
    for (int k = 0; k < 50; k++) {
        double a = tpe_sample(&cat, 0, &h, &r1), b = tpe_sample(&cat, 0, &h, &r2);
        CHECK(a == b);
        CHECK(a == 0 || a == 1 || a == 2);
        twos += a == 2;
    }
    CHECK(twos > 25); /* the good choice dominates */
}

/* --- data ------------------------------------------------------------------------------- */

/* Ingests the CSV text in csv and frees it. */
static int ingest_and_free(struct buf *csv, struct ingest_result *out)
{
    int rv = ingest_csv(csv->data, csv->len, NULL, out);
    buf_free(csv);
    return rv;
}

/* n rows: a, b uniform in [-1, 1], noise, a category; label yes when a * b > 0 (a pattern
 * trees learn and a linear model cannot), 5% of labels flipped. */
static int make_table(size_t n, uint64_t seed, struct ingest_result *out)
{
    struct buf csv = {0};
    buf_puts(&csv, "a,b,noise,g,label\n");
    uint64_t r = seed;
    for (size_t i = 0; i < n; i++) {
        double a = 2 * rand_unit(&r) - 1, b = 2 * rand_unit(&r) - 1, z = rand_unit(&r);
        int yes = (a * b > 0) ^ (rand_unit(&r) < 0.05);
        buf_printf(&csv, "%.4f,%.4f,%.4f,%c,%s\n", a, b, z, "xyz"[i % 3], yes ? "yes" : "no");
    }
    return ingest_and_free(&csv, out);
}

static struct automl_config base_config(void)
{
    struct automl_config cfg = {
        .target = "label",
        .folds = 3,
        .seed = 7,
        .budget_seconds = 600,
        .threads = 2,
    };
    return cfg;
}

static const json_t *entry(const struct automl_result *r, size_t i)
{
    return json_array_get(r->leaderboard, i);
}

/* --- the search ------------------------------------------------------------------------- */

static void test_same_seed_same_leaderboard(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(160, 1, &in), 0);
    struct automl_config cfg = base_config();
    cfg.max_trials = 12; /* past the 10 random ones: TPE's draws are compared too */
    cfg.models = "rf,linear";
    struct automl_result r1, r2;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(automl_run(&in.table, &cfg, &r1, &err), 0);
    CHECK_INT(automl_run(&in.table, &cfg, &r2, &err), 0);
    CHECK_INT(json_array_size(r1.leaderboard), 12);
    CHECK_INT(json_array_size(r2.leaderboard), 12);
    for (size_t i = 0; i < json_array_size(r1.leaderboard); i++) {
        const json_t *a = entry(&r1, i), *b = entry(&r2, i);
        CHECK(json_equal(json_object_get(a, "params"), json_object_get(b, "params")));
        CHECK(json_equal(json_object_get(a, "cv_mean"), json_object_get(b, "cv_mean")));
        CHECK_STR(json_string_value(json_object_get(a, "learner")),
                  json_string_value(json_object_get(b, "learner")));
        CHECK_STR(json_string_value(json_object_get(a, "status")),
                  json_string_value(json_object_get(b, "status")));
    }
    CHECK(json_equal(r1.ensemble, r2.ensemble));
    /* each learner's first trial is its defaults, whatever the seed */
    const json_t *first = json_object_get(entry(&r1, 0), "params");
    CHECK_STR(json_string_value(json_object_get(entry(&r1, 0), "learner")), "rf");
    CHECK_INT(json_integer_value(json_object_get(first, "rounds")), 100);
    CHECK_INT(json_integer_value(json_object_get(first, "max_depth")), -1);
    CHECK_STR(json_string_value(json_object_get(entry(&r1, 1), "learner")), "linear");
    /* another seed: other parameters after them */
    struct automl_result r3;
    cfg.seed = 8;
    CHECK_INT(automl_run(&in.table, &cfg, &r3, &err), 0);
    CHECK(json_equal(first, json_object_get(entry(&r3, 0), "params")));
    CHECK(!json_equal(json_object_get(entry(&r1, 2), "params"),
                      json_object_get(entry(&r3, 2), "params")));
    automl_result_free(&r1);
    automl_result_free(&r2);
    automl_result_free(&r3);
    ingest_result_free(&in);
}

/* Linear models cannot learn a * b > 0: once five trials are complete, a linear trial is
 * worse than the median after its first fold and stops there. */
static void test_pruning_stops_a_bad_trial(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(200, 2, &in), 0);
    struct automl_config cfg = base_config();
    cfg.max_trials = 16;
    cfg.folds = 4;
    cfg.models = "rf,linear";
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
    size_t pruned = 0, complete = 0;
    for (size_t i = 0; i < json_array_size(r.leaderboard); i++) {
        const json_t *e = entry(&r, i);
        const char *status = json_string_value(json_object_get(e, "status"));
        if (strcmp(status, "pruned") == 0) {
            pruned++;
            CHECK(json_is_true(json_object_get(e, "pruned")));
            CHECK(json_integer_value(json_object_get(e, "folds")) < 4);
            CHECK(json_number_value(json_object_get(e, "cv_mean")) <
                  json_number_value(json_object_get(r.best, "cv_mean")));
        } else if (strcmp(status, "complete") == 0) {
            complete++;
            CHECK_INT(json_integer_value(json_object_get(e, "folds")), 4);
        }
    }
    CHECK(pruned >= 1);
    CHECK(complete >= 5);
    /* the best trial is a tree model: the pattern is not linear */
    CHECK(strcmp(json_string_value(json_object_get(r.best, "learner")), "linear") != 0);
    CHECK(json_number_value(json_object_get(r.best, "cv_mean")) > 0.85);
    automl_result_free(&r);
    ingest_result_free(&in);
}

/* Before any median exists (fewer than five complete trials), a linear trial sampled after
 * the forest's defaults joined its history is worse than every fold of that forest after its
 * first fold: pruned there. threads 2: trial i learns from trials 0 .. i - 4. */
static void test_hopeless_trial_pruned_after_one_fold(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(200, 2, &in), 0);
    size_t late_linear = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct automl_config cfg = base_config();
        cfg.max_trials = 8; /* trial 7 learns from trials 0 .. 3: never 5 complete */
        cfg.folds = 4;
        cfg.models = "rf,linear";
        cfg.seed = seed;
        struct automl_result r;
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
        CHECK_INT(json_array_size(r.leaderboard), 8);
        CHECK_STR(json_string_value(json_object_get(entry(&r, 0), "learner")), "rf");
        CHECK_STR(json_string_value(json_object_get(entry(&r, 0), "status")), "complete");
        for (size_t i = 4; i < json_array_size(r.leaderboard); i++) {
            const json_t *e = entry(&r, i);
            if (strcmp(json_string_value(json_object_get(e, "learner")), "linear") != 0)
                continue;
            late_linear++;
            CHECK_STR(json_string_value(json_object_get(e, "status")), "pruned");
            CHECK_INT(json_integer_value(json_object_get(e, "folds")), 1);
        }
        automl_result_free(&r);
    }
    fprintf(stderr, "  linear trials sampled with the forest in their history: %zu\n", late_linear);
    CHECK(late_linear >= 1);
    ingest_result_free(&in);
}

/* The budget is honoured within 10% (release build). Under AddressSanitizer on the shared
 * machine the trials' cancellation and the model's build run slower (measured 3.37 s of a
 * 3 s budget): that build is held to 1.5x. */
#if defined(__SANITIZE_ADDRESS__)
#define BUDGET_SLACK 1.5
#else
#define BUDGET_SLACK 1.1
#endif

static void test_budget_is_honoured(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(300, 3, &in), 0);
    struct automl_config cfg = base_config();
    cfg.budget_seconds = 3;
    cfg.models = "rf,linear";
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    uint64_t t0 = time_mono_ns();
    CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
    double took = (double)(time_mono_ns() - t0) / 1e9;
    fprintf(stderr, "  budget 3 s: %.3f s, %zu trials\n", took, json_array_size(r.leaderboard));
    CHECK(took <= 3 * BUDGET_SLACK);
    CHECK(took >= 2.5); /* no max_trials: the search uses what it was given */
    CHECK(r.seconds <= 3 * BUDGET_SLACK);
    CHECK(json_array_size(r.leaderboard) >= 2);
    automl_result_free(&r);
    ingest_result_free(&in);
}

/* m (a binary model) saved into bytes and read back: the same learner, the same
 * probabilities on the rows of t. */
static void check_round_trip(const struct model *m, const struct table *t, struct buf *bytes)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(model_save(m, bytes), 0);
    struct model *back = NULL;
    CHECK_INT(model_load(bytes->data, bytes->len, &back, &err), 0);
    CHECK(back != NULL && back->learner == m->learner);
    struct fmatrix x;
    CHECK_INT(features_matrix(&m->features, t, &x, NULL, NULL, NULL), 0);
    double *p1 = malloc(x.nrows * 2 * sizeof *p1), *p2 = malloc(x.nrows * 2 * sizeof *p2);
    CHECK_INT(model_predict(m, &x, p1), 0);
    CHECK_INT(model_predict(back, &x, p2), 0);
    CHECK_MEM(p1, x.nrows * 2 * sizeof *p1, p2, x.nrows * 2 * sizeof *p2);
    CHECK(fabs(p1[0] + p1[1] - 1) < 1e-9);
    free(p1);
    free(p2);
    fmatrix_free(&x);
    model_free(back);
}

/* The ensemble's out-of-fold score is never below the best single trial's, and the saved
 * model reads back as an ensemble that predicts the same. */
static void test_ensemble_never_worse_and_saved(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(200, 4, &in), 0);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct automl_config cfg = base_config();
        cfg.max_trials = 8;
        cfg.models = seed == 3 ? "gbdt,rf,linear" : "rf,linear";
        cfg.seed = seed;
        cfg.metric = seed == 2 ? "logloss" : NULL;
        struct automl_result r;
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
        double ens = json_number_value(json_object_get(r.ensemble, "oof_score"));
        double single = json_number_value(json_object_get(r.ensemble, "best_single_oof_score"));
        fprintf(stderr, "  seed %llu %s: ensemble %.5f, best single %.5f, kept %d\n",
                (unsigned long long)seed, r.metric, ens, single,
                json_is_true(json_object_get(r.ensemble, "kept")));
        CHECK(r.higher_is_better ? ens >= single : ens <= single);
        if (json_is_true(json_object_get(r.ensemble, "kept")))
            CHECK(r.higher_is_better ? ens > single : ens < single);
        /* the model's out-of-fold metrics are those of what was selected */
        const json_t *metrics = json_object_get(r.model->meta, "metrics");
        double got = json_number_value(json_object_get(metrics, r.metric));
        CHECK(fabs(got - ens) < 1e-9);
        /* kept: the ensemble; else the best trial refitted (its learner, or the model behind
         * its feature transforms) */
        if (json_is_true(json_object_get(r.ensemble, "kept")))
            CHECK_STR(r.model->learner->name, "ensemble");
        else
            CHECK(r.model->learner == &learner_prep ||
                  strcmp(r.model->learner->name,
                         json_string_value(json_object_get(
                             json_array_get(json_object_get(r.ensemble, "members"), 0),
                             "learner"))) == 0);

        struct buf bytes = {0};
        check_round_trip(r.model, &in.table, &bytes);
        /* damaged member bytes are refused, never crash */
        bytes.data[bytes.len - 40] ^= 0x5a;
        struct model *bad = NULL;
        CHECK(model_load(bytes.data, bytes.len, &bad, &err) != 0);
        buf_free(&bytes);
        automl_result_free(&r);
    }
    ingest_result_free(&in);
}

/* Boosted trees stop early, except in their defaults trial (what `aiops train` gives): the
 * portfolio's two entries follow it, then sampled trials, all with the rounds out of the
 * search (up to its ceiling, 1000, with a patience of 100) and fewer rounds kept where the
 * noisy labels make more overfit. Folds not given: 5 below 20,000 rows. */
static void test_early_stopping_and_portfolio(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(400, 9, &in), 0);
    struct automl_config cfg = base_config();
    cfg.folds = 0;
    cfg.models = "gbdt";
    cfg.max_trials = 4;
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
    CHECK_INT(json_array_size(r.leaderboard), 4);
    const json_t *meta = json_object_get(r.model->meta, "automl");
    CHECK_INT(json_integer_value(json_object_get(meta, "folds")), 5);
    const json_t *first = entry(&r, 0);
    CHECK(json_object_get(first, "early_stopping") == NULL);
    CHECK(fabs(json_number_value(json_object_get(json_object_get(first, "params"),
                                                 "learning_rate")) - 0.1) < 1e-12);
    static const double depth[] = {4, 8};
    size_t stopped_early = 0;
    for (size_t i = 1; i < 4; i++) {
        const json_t *e = entry(&r, i), *params = json_object_get(e, "params");
        CHECK(json_object_get(params, "rounds") == NULL); /* not searched */
        if (i <= 2) { /* the portfolio */
            CHECK(fabs(json_number_value(json_object_get(params, "learning_rate")) - 0.05) < 1e-12);
            CHECK_INT(json_integer_value(json_object_get(params, "max_depth")), (long)depth[i - 1]);
        }
        if (json_integer_value(json_object_get(e, "folds")) == 0)
            continue;
        const json_t *es = json_object_get(e, "early_stopping");
        CHECK(es != NULL);
        CHECK_INT(json_integer_value(json_object_get(es, "patience")), 100);
        double kept = json_number_value(json_object_get(es, "iterations"));
        CHECK(kept >= 1 && kept <= 1000);
        stopped_early += kept < 1000;
    }
    CHECK(stopped_early >= 1);
    automl_result_free(&r);
    ingest_result_free(&in);
}

/* A single best trial (one learner, one trial: nothing to ensemble) is refitted on every
 * row: the model is that learner's, as `aiops train` with those parameters makes it. */
static void test_single_best_is_refitted(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(200, 6, &in), 0);
    struct automl_config cfg = base_config();
    cfg.models = "linear";
    cfg.max_trials = 1;
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
    CHECK(json_is_false(json_object_get(r.ensemble, "kept")));
    CHECK(json_is_true(json_object_get(r.ensemble, "refit")));
    CHECK_STR(r.model->learner->name, "linear");
    CHECK_STR(json_string_value(json_object_get(r.model->meta, "kind")), "linear");
    struct fmatrix x;
    CHECK_INT(features_matrix(&r.model->features, &in.table, &x, NULL, NULL, NULL), 0);
    double *p = malloc(x.nrows * 2 * sizeof *p);
    CHECK_INT(model_predict(r.model, &x, p), 0);
    CHECK(fabs(p[0] + p[1] - 1) < 1e-9);
    free(p);
    fmatrix_free(&x);
    automl_result_free(&r);
    ingest_result_free(&in);
}

/* n rows with a categorical of 40 values whose positive rate grows with the value (target
 * encoding has something to encode), two numbers (one with outliers), noise. */
static int make_cat_table(size_t n, uint64_t seed, struct ingest_result *out)
{
    struct buf csv = {0};
    buf_puts(&csv, "city,a,b,noise,label\n");
    uint64_t r = seed;
    for (size_t i = 0; i < n; i++) {
        unsigned city = (unsigned)(rand_splitmix64(&r) % 40);
        double a = 2 * rand_unit(&r) - 1, b = rand_unit(&r) < 0.03 ? 1e4 : rand_unit(&r);
        int yes = rand_unit(&r) < 0.1 + 0.02 * city + 0.2 * (a > 0);
        buf_printf(&csv, "c%u,%.4f,%.4f,%.4f,%s\n", city, a, b, rand_unit(&r), yes ? "yes" : "no");
    }
    return ingest_and_free(&csv, out);
}

/* The feature transforms are trial parameters (in the leaderboard, scaling only for the
 * learners it matters to), and a final model behind them is saved and read back predicting
 * the same. */
static void test_transforms_are_searched_and_saved(void)
{
    struct ingest_result in;
    CHECK_INT(make_cat_table(300, 8, &in), 0);
    int saw_prep_model = 0;
    for (uint64_t seed = 1; seed <= 4 && !saw_prep_model; seed++) {
        struct automl_config cfg = base_config();
        cfg.models = "gbdt,linear";
        cfg.max_trials = 12;
        cfg.seed = seed;
        struct automl_result r;
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
        size_t target = 0, selected = 0, robust = 0;
        for (size_t i = 0; i < json_array_size(r.leaderboard); i++) {
            const json_t *params = json_object_get(entry(&r, i), "params");
            const char *learner = json_string_value(json_object_get(entry(&r, i), "learner"));
            const char *enc = json_string_value(json_object_get(params, "encoding"));
            const char *sel = json_string_value(json_object_get(params, "select"));
            const json_t *scaling = json_object_get(params, "scaling");
            CHECK(enc != NULL && sel != NULL);
            CHECK((scaling != NULL) == (strcmp(learner, "linear") == 0));
            target += strcmp(enc, "target") == 0;
            selected += strcmp(sel, "none") != 0;
            robust += scaling != NULL && strcmp(json_string_value(scaling), "robust") == 0;
            if (i < 2) /* each learner's defaults first: the identity */
                CHECK(strcmp(enc, "onehot") == 0 && strcmp(sel, "none") == 0);
        }
        CHECK(target > 0 && selected > 0);
        fprintf(stderr, "  seed %llu: %zu trials, target encoding %zu, selection %zu, robust %zu; "
                "model %s\n", (unsigned long long)seed, json_array_size(r.leaderboard), target,
                selected, robust, r.model->learner->name);
        /* the model's own kind, or its ensemble's members' */
        saw_prep_model |= r.model->learner == &learner_prep;
        if (r.model->learner == &learner_ensemble) {
            const struct ensemble *e = r.model->algo;
            for (size_t j = 0; j < e->n; j++)
                saw_prep_model |= e->member[j].learner == &learner_prep;
        }
        struct buf bytes = {0};
        check_round_trip(r.model, &in.table, &bytes);
        buf_free(&bytes);
        automl_result_free(&r);
    }
    CHECK(saw_prep_model);
    ingest_result_free(&in);
}

/* Letter's shape: 26 classes, 16 small-integer features. A forest grown to purity on it is a
 * model of tens of megabytes: the final model is chosen so that refitting and writing it
 * keep the budget, measured to the file written. */
static int make_letter_like(size_t n, uint64_t seed, struct ingest_result *out)
{
    struct buf csv = {0};
    buf_puts(&csv, "lettr");
    for (int j = 0; j < 16; j++)
        buf_printf(&csv, ",x%d", j);
    buf_puts(&csv, "\n");
    uint64_t r = seed;
    double centre[26][16];
    for (int c = 0; c < 26; c++)
        for (int j = 0; j < 16; j++)
            centre[c][j] = 15 * rand_unit(&r);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(rand_splitmix64(&r) % 26);
        buf_printf(&csv, "%c", 'A' + c);
        for (int j = 0; j < 16; j++) {
            double v = round(centre[c][j] + 6 * (rand_unit(&r) - 0.5));
            buf_printf(&csv, ",%d", (int)(v < 0 ? 0 : v > 15 ? 15 : v));
        }
        buf_puts(&csv, "\n");
    }
    return ingest_and_free(&csv, out);
}

static void test_budget_counts_the_final_model(void)
{
    struct ingest_result in;
    CHECK_INT(make_letter_like(6000, 9, &in), 0);
    const double budget = 8;
    struct automl_config cfg = base_config();
    cfg.target = "lettr";
    cfg.models = "rf";
    cfg.budget_seconds = budget;
    char path[] = "/tmp/aiops-automl-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    uint64_t t0 = time_mono_ns();
    cfg.start_ns = t0;
    CHECK_INT(automl_run(&in.table, &cfg, &r, &err), 0);
    double built = (double)(time_mono_ns() - t0) / 1e9;
    CHECK_INT(model_save_file(r.model, path), 0);
    double took = (double)(time_mono_ns() - t0) / 1e9;
    struct stat st;
    CHECK(stat(path, &st) == 0);
    fprintf(stderr, "  budget %.0f s: model built at %.2f s, written at %.2f s (%.1f MB, %s, %zu "
            "trials, refit %d)\n", budget, built, took, (double)st.st_size / 1e6,
            r.model->learner->name, json_array_size(r.leaderboard),
            json_is_true(json_object_get(r.ensemble, "refit")));
    CHECK(took <= budget * BUDGET_SLACK);
    unlink(path);
    automl_result_free(&r);
    ingest_result_free(&in);
}

static void expect_refused(const struct automl_config *cfg, const struct table *t,
                           const char *field)
{
    struct automl_result r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(automl_run(t, cfg, &r, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, field);
    CHECK(err.message[0] != '\0');
    CHECK(r.model == NULL);
}

static void test_bad_requests_name_the_field(void)
{
    struct ingest_result in;
    CHECK_INT(make_table(60, 5, &in), 0);
    struct automl_config cfg = base_config();
    cfg.metric = "rmse";
    expect_refused(&cfg, &in.table, "metric");
    cfg = base_config();
    cfg.metric = "precision@5";
    expect_refused(&cfg, &in.table, "metric");
    cfg = base_config();
    cfg.models = "gbdt,kmeans";
    expect_refused(&cfg, &in.table, "models");
    cfg.models = "gbdt,,rf";
    expect_refused(&cfg, &in.table, "models");
    cfg.models = "ensemble";
    expect_refused(&cfg, &in.table, "models");
    cfg.models = "prep";
    expect_refused(&cfg, &in.table, "models");
    cfg = base_config();
    cfg.budget_seconds = 0;
    expect_refused(&cfg, &in.table, "budget_seconds");
    cfg.budget_seconds = NAN;
    expect_refused(&cfg, &in.table, "budget_seconds");
    cfg = base_config();
    cfg.folds = 1;
    expect_refused(&cfg, &in.table, "folds");
    cfg = base_config();
    cfg.target = "nope";
    expect_refused(&cfg, &in.table, "target");
    ingest_result_free(&in);
}

UNIT_MAIN(UNIT(test_tpe_beats_random_search), UNIT(test_tpe_gamma_as_optuna), UNIT(test_tpe_seeded),
          UNIT(test_same_seed_same_leaderboard), UNIT(test_pruning_stops_a_bad_trial),
          UNIT(test_hopeless_trial_pruned_after_one_fold),
          UNIT(test_budget_is_honoured), UNIT(test_ensemble_never_worse_and_saved),
          UNIT(test_single_best_is_refitted), UNIT(test_early_stopping_and_portfolio),
          UNIT(test_transforms_are_searched_and_saved),
          UNIT(test_budget_counts_the_final_model), UNIT(test_bad_requests_name_the_field))
