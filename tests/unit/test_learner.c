/* Unit tests for lib/ml/learner.c and the learners on it (learn_*.c): the registry and its
 * aliases, parameter definitions (aliases, defaults, validation messages through
 * train_check), that each learner hands lib/algo exactly the parameters its table says,
 * that every learner's model survives save/load and predicts the same, and the OpenAPI
 * schemas made from the tables. */
#include "unit.h"

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "algo/linear.h"
#include "core/buf.h"
#include "core/err.h"
#include "data/ingest.h"
#include "ml/eval.h"
#include "ml/learner.h"
#include "ml/model.h"
#include "ml/train.h"
#include "testdata.h"

#define NROWS 300 /* above the tree learners' parallel_rows: their pool path runs */

static void test_registry_names_and_aliases(void)
{
    static const char *const names[][2] = {
        {"gbdt", "gbdt"},        {"xgboost", "gbdt"},  {"rf", "rf"},          {"forest", "rf"},
        {"random_forest", "rf"}, {"linear", "linear"}, {"logistic", "linear"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct learner *l = learner_find(names[i][0]);
        CHECK(l != NULL);
        if (l != NULL)
            CHECK_STR(l->name, names[i][1]);
    }
    CHECK(learner_find("deep-forest") == NULL);
    CHECK(learner_find("") == NULL);
    CHECK(learner_find(NULL) == NULL);
    CHECK(learner_find("GBDT") == NULL);
    char text[64];
    learner_names(text, sizeof text);
    CHECK_STR(text, "gbdt, rf, linear, mlp, tabseq or kmeans");
    learner_names(text, 8); /* truncated, still a string */
    CHECK_STR(text, "gbdt, r");
    CHECK_INT(learner_count(), 6);
    CHECK(learner_at(learner_count()) == NULL);
}

/* What every learner must fill in for the code that reads the table blind. */
static void test_every_learner_is_complete(void)
{
    for (size_t i = 0; i < learner_count(); i++) {
        const struct learner *l = learner_at(i);
        CHECK(l->name != NULL && l->summary != NULL && l->tasks != 0);
        CHECK(l->train && l->predict && l->save && l->load && l->free && l->num_features &&
              l->outputs);
        CHECK(learner_find(l->name) == l);
        const struct param_def *it = learner_param_find(l, l->iterations_param);
        CHECK(it != NULL && it->type == PARAM_INT && it->min >= 1);
        /* every name and alias answers for one parameter only */
        for (size_t a = 0; a < learner_param_count(l); a++) {
            const struct param_def *d = learner_param_at(l, a);
            CHECK(d->help != NULL && d->help[0] != '\0');
            CHECK(learner_param_find(l, d->name) == d);
            for (size_t k = 0; d->aliases != NULL && d->aliases[k] != NULL; k++)
                CHECK(learner_param_find(l, d->aliases[k]) == d);
            if (d->type == PARAM_INT || d->type == PARAM_NUMBER)
                CHECK(d->min <= d->def && d->def <= d->max);
        }
        CHECK(learner_param_at(l, learner_param_count(l)) == NULL);
    }
    CHECK(learner_find("linear")->importance == NULL);
    CHECK(learner_find("gbdt")->importance != NULL);
    char tasks[64];
    learner_tasks_text(learner_find("rf"), tasks, sizeof tasks);
    CHECK_STR(tasks, "binary, multiclass or regression");
}

static const char *param_name(const char *learner, const char *name)
{
    const struct param_def *d = learner_param_find(learner_find(learner), name);
    return d ? d->name : "(none)";
}

static void test_parameter_aliases(void)
{
    CHECK_STR(param_name("gbdt", "epochs"), "rounds");
    CHECK_STR(param_name("rf", "epochs"), "rounds");
    CHECK_STR(param_name("linear", "epochs"), "max_iter");
    CHECK_STR(param_name("gbdt", "n_estimators"), "rounds");
    CHECK_STR(param_name("rf", "trees"), "rounds");
    CHECK_STR(param_name("gbdt", "num_boost_round"), "rounds");
    CHECK_STR(param_name("gbdt", "eta"), "learning_rate");
    CHECK_STR(param_name("gbdt", "reg_lambda"), "lambda");
    CHECK_STR(param_name("linear", "l2"), "lambda");
    CHECK_STR(param_name("gbdt", "colsample_bytree"), "colsample");
    CHECK_STR(param_name("gbdt", "early_stopping_rounds"), "early_stopping");
    CHECK_STR(param_name("rf", "eta"), "(none)");
    CHECK_STR(param_name("linear", "rounds"), "(none)");
    CHECK_STR(param_name("rf", "max_iter"), "(none)");
    /* the shared ones, defined once */
    static const char *const shared[] = {"valid_fraction", "task", "features", "exclude",
                                         "class_weight",   "seed", "threads"};
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        const struct param_def *d = learner_param_find(learner_find("gbdt"), shared[i]);
        CHECK(d != NULL);
        CHECK(learner_param_find(learner_find("rf"), shared[i]) == d);
        CHECK(learner_param_find(learner_find("linear"), shared[i]) == d);
    }
    CHECK(learner_param_ignored("batch_size") && learner_param_ignored("dropout"));
    CHECK(!learner_param_ignored("rounds"));
}

/* train_check's verdict on params (JSON text) for a learner: its field and message. */
static int check(const char *learner, const char *params, struct aiops_error *err,
                 json_t **normalised)
{
    json_t *p = json_loads(params, 0, NULL);
    CHECK(p != NULL);
    struct train_config cfg = {learner ? learner_find(learner) : NULL, "y", p, 0};
    memset(err, 0, sizeof *err);
    int rv = train_check(&cfg, normalised, err);
    json_decref(p);
    return rv;
}

static void refused(const char *learner, const char *params, const char *field, const char *message)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(check(learner, params, &err, NULL), AIOPS_EINVAL);
    CHECK_STR(err.field, field);
    CHECK_STR(err.message, message);
}

static void test_validation_messages(void)
{
    refused("gbdt", "{\"rounds\": 0}", "rounds", "rounds must be a whole number from 1 to 100000");
    refused("gbdt", "{\"epochs\": 0}", "epochs", "epochs must be a whole number from 1 to 100000");
    refused("linear", "{\"epochs\": 0}", "epochs", "epochs must be a whole number from 1 to 1e+06");
    refused("gbdt", "{\"max_depth\": 2.5}", "max_depth",
            "max_depth must be a whole number from -1 to 64");
    refused("gbdt", "{\"eta\": \"fast\"}", "eta", "eta must be a number");
    refused("gbdt", "{\"colsample\": 1.5}", "colsample",
            "colsample must be a number from 1e-06 to 1");
    refused("rf", "{\"bootstrap\": \"maybe\"}", "bootstrap", "bootstrap must be true or false");
    refused("linear", "{\"rounds\": 5}", "rounds", "rounds is not a parameter of the linear model");
    refused("rf", "{\"eta\": 0.1}", "eta", "eta is not a parameter of the rf model");
    refused("gbdt", "{\"no_such_param\": 1}", "no_such_param",
            "no_such_param is not a parameter of the gbdt model");
    refused("gbdt", "{\"task\": \"clustering\"}", "task",
            "task must be binary, multiclass, classification or regression");
    refused("gbdt", "{\"features\": [1]}", "features", "features must be a list of column names");
    refused("gbdt", "{\"class_weight\": 3}", "class_weight", "class_weight must be a string");
    refused("gbdt", "{\"valid_fraction\": 0.95}", "valid_fraction",
            "valid_fraction must be a number from 0 to 0.9");
    refused("gbdt", "[1, 2]", "config", "the parameters must be a JSON object");
    refused(NULL, "{}", "model", "unknown model (gbdt, rf, linear, mlp, tabseq or kmeans)");
}

static void test_normalised_parameters(void)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    json_t *n = NULL;
    CHECK_INT(check("gbdt",
                    "{\"epochs\": \"30\", \"eta\": 0.3, \"batch_size\": 32, \"features\": "
                    "\"a,,b\", \"task\": \"binary\", \"seed\": 7}",
                    &err, &n),
              0);
    CHECK(json_is_integer(json_object_get(n, "rounds")));
    CHECK_INT(json_integer_value(json_object_get(n, "rounds")), 30);
    CHECK_NEAR(json_number_value(json_object_get(n, "learning_rate")), 0.3, 0);
    CHECK(json_object_get(n, "batch_size") == NULL && json_object_get(n, "epochs") == NULL);
    CHECK_INT(json_array_size(json_object_get(n, "features")), 2);
    CHECK_STR(json_string_value(json_array_get(json_object_get(n, "features"), 1)), "b");
    CHECK_INT(json_object_size(n), 5);
    json_decref(n);
    CHECK_INT(check("rf", "{\"bootstrap\": \"no\"}", &err, &n), 0);
    CHECK(json_is_false(json_object_get(n, "bootstrap")));
    json_decref(n);
}

static void test_defaults_filled_in(void)
{
    const struct learner *g = learner_find("gbdt"), *rf = learner_find("rf");
    const struct learner *lin = learner_find("linear");
    json_t *given = json_pack("{s:i}", "rounds", 7), *full = NULL;
    CHECK_INT(learner_params_full(g, given, &full), 0);
    CHECK_NEAR(learner_param(full, "rounds"), 7, 0);
    CHECK_NEAR(learner_param(full, "learning_rate"), 0.1, 0);
    CHECK_NEAR(learner_param(full, "max_depth"), 6, 0);
    CHECK_NEAR(learner_param(full, "max_bin"), 255, 0);
    CHECK_NEAR(learner_param(full, "seed"), 0, 0);
    CHECK(json_object_get(full, "class_weight") == NULL); /* text: no default value */
    CHECK_INT(json_object_size(given), 1);                /* the given object is not changed */
    json_decref(full);
    CHECK_INT(learner_params_full(rf, NULL, &full), 0);
    CHECK_NEAR(learner_param(full, "max_depth"), -1, 0);
    CHECK_NEAR(learner_param(full, "bootstrap"), 1, 0);
    json_decref(full);
    CHECK_INT(learner_params_full(lin, NULL, &full), 0);
    CHECK_NEAR(learner_param(full, "max_iter"), 100, 0);
    CHECK_NEAR(learner_param(full, "tol"), 1e-4, 0);
    json_decref(full);
    CHECK_INT(learner_iterations(g, given), 7);
    CHECK_INT(learner_iterations(rf, NULL), 100);
    json_t *iters = json_pack("{s:i}", "max_iter", 12);
    CHECK_INT(learner_iterations(lin, iters), 12);
    json_decref(iters);
    json_decref(given);
}

/* --- what each learner hands lib/algo ------------------------------------------------------ */

/* NROWS rows: x0 uniform-ish, x1 periodic, x2 a category of 3; y a noisy binary function. */
static void make_matrix(struct fmatrix *x, double *y)
{
    static uint8_t is_cat[3] = {0, 0, 1};
    static uint32_t ncat[3] = {0, 0, 3};
    x->nrows = NROWS;
    x->ncols = 3;
    x->x = calloc(3 * NROWS, sizeof *x->x);
    x->is_cat = is_cat;
    x->ncat = ncat;
    x->sp = NULL; /* no text features */
    for (size_t r = 0; r < NROWS; r++) {
        double a = (double)((r * 37) % 101) / 101.0, b = sin((double)r);
        x->x[r] = r % 23 == 0 ? NAN : a;
        x->x[NROWS + r] = b;
        x->x[2 * NROWS + r] = (double)(r % 3);
        y[r] = a + 0.5 * b + (r % 3 == 1 ? 0.4 : 0) + 0.3 * sin(7.0 * (double)r) > 0.6;
    }
}

/* The bytes of l trained on x, y with params (train_check's normalising, then defaults). */
static void learner_bytes(const char *name, const char *params, const struct fmatrix *x,
                          const double *y, struct buf *out)
{
    const struct learner *l = learner_find(name);
    struct aiops_error terr = AIOPS_ERROR_INIT;
    json_t *norm = NULL, *full = NULL;
    CHECK_INT(check(name, params, &terr, &norm), 0);
    CHECK_INT(learner_params_full(l, norm, &full), 0);
    struct learner_input in = {.x = x, .y = y, .task = TASK_BINARY, .nclasses = 2, .params = full};
    void *algo = NULL;
    int iterations = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(l->train(&in, &algo, &iterations, &err), 0);
    CHECK_INT(iterations, learner_iterations(l, norm));
    if (algo != NULL)
        CHECK_INT(l->save(algo, out), 0);
    l->free(algo);
    json_decref(norm);
    json_decref(full);
}

/* lib/algo's own training, called directly: trains on x, y with its params struct and
 * appends the model's bytes to out. */
typedef void (*algo_train_fn)(const struct fmatrix *x, const double *y, const void *params,
                              struct buf *out);

/* Defines algo_direct(), an algo_train_fn for lib/algo/<algo>.h (the three differ only in
 * their names). */
#define ALGO_DIRECT(algo)                                                                      \
    static void algo##_direct(const struct fmatrix *x, const double *y, const void *params,    \
                              struct buf *out)                                                 \
    {                                                                                          \
        struct algo *m = algo##_train_ok(x, y, NULL, params);                                  \
        if (m != NULL)                                                                         \
            CHECK_INT(algo##_save(m, out), 0);                                                 \
        algo##_free(m);                                                                        \
    }

ALGO_DIRECT(gbdt)
ALGO_DIRECT(forest)
ALGO_DIRECT(linear)

/* The learner given params (JSON) makes the same model as its algorithm given algo_params. */
static void same_as_algo(const char *learner, const char *params, algo_train_fn direct,
                         const void *algo_params)
{
    struct fmatrix x;
    double y[NROWS];
    make_matrix(&x, y);
    struct buf got = BUF_INIT, want = BUF_INIT;
    learner_bytes(learner, params, &x, y, &got);
    direct(&x, y, algo_params, &want);
    CHECK(got.len > 0);
    CHECK_MEM(got.data, got.len, want.data, want.len);
    buf_free(&got);
    buf_free(&want);
    free(x.x);
}

static void test_gbdt_gets_its_parameters(void)
{
    /* the table's defaults are the algorithm's */
    struct gbdt_params defaults = {.objective = GBDT_BINARY, .num_class = 2};
    same_as_algo("gbdt", "{}", gbdt_direct, &defaults);
    /* every parameter reaches the algorithm, under each of its names */
    struct gbdt_params every = {.objective = GBDT_BINARY,
                                .num_class = 2,
                                .rounds = 9,
                                .learning_rate = 0.3,
                                .max_depth = 3,
                                .max_bin = 31,
                                .lambda = 2,
                                .min_child_weight = 0.5,
                                .subsample = 0.8,
                                .colsample = 0.7,
                                .seed = 11,
                                .threads = 2};
    same_as_algo("gbdt",
                 "{\"num_boost_round\": 9, \"eta\": 0.3, \"max_depth\": 3, \"max_bin\": 31, "
                 "\"l2\": 2, \"min_child_weight\": 0.5, \"subsample\": 0.8, "
                 "\"colsample_bytree\": 0.7, \"seed\": 11, \"threads\": 2}",
                 gbdt_direct, &every);
    struct gbdt_params leafwise = {
        .objective = GBDT_BINARY, .num_class = 2, .rounds = 5, .num_leaves = 6, .max_depth = -1};
    same_as_algo("gbdt", "{\"num_leaves\": 6, \"max_depth\": -1, \"rounds\": 5}", gbdt_direct,
                 &leafwise);
}

static void test_forest_gets_its_parameters(void)
{
    struct forest_params defaults = {.trees = 12, .classification = 1, .num_class = 2};
    same_as_algo("rf", "{\"rounds\": 12}", forest_direct, &defaults);
    struct forest_params every = {.trees = 6,
                                  .max_depth = 4,
                                  .min_samples_leaf = 3,
                                  .max_features = 0.5,
                                  .seed = 5,
                                  .threads = 1,
                                  .classification = 1,
                                  .num_class = 2};
    same_as_algo("rf",
                 "{\"n_estimators\": 6, \"max_depth\": 4, \"min_samples_leaf\": 3, "
                 "\"max_features\": 0.5, \"seed\": 5, \"threads\": 1}",
                 forest_direct, &every);
    /* bootstrap false: every tree sees every row (forest.h's -1; its 0 means the default) */
    struct forest_params all_rows = {
        .trees = 3, .bootstrap = -1, .classification = 1, .num_class = 2};
    same_as_algo("rf", "{\"rounds\": 3, \"bootstrap\": false}", forest_direct, &all_rows);
}

static void test_linear_gets_its_parameters(void)
{
    struct linear_params lp;
    linear_params_default(&lp, LINEAR_LOGISTIC);
    same_as_algo("linear", "{}", linear_direct, &lp);
    lp.l2 = 0.25;
    lp.max_iter = 7;
    lp.tol = 1e-8;
    same_as_algo("linear", "{\"l2\": 0.25, \"epochs\": 7, \"tol\": 1e-8}", linear_direct, &lp);
}

/* --- through train_model and the model file ----------------------------------------------- */

/* A table of NROWS rows: a, b numeric (a sometimes missing), color categorical, and three
 * targets: yes/no, one of three species, a value. */
static struct ingest_result make_table(void)
{
    struct buf csv = BUF_INIT;
    buf_puts(&csv, "a,b,color,label,species,value\n");
    static const char *const colors[] = {"red", "green", "blue"};
    static const char *const species[] = {"setosa", "versicolor", "virginica"};
    for (size_t r = 0; r < NROWS; r++) {
        double a = (double)((r * 37) % 101) / 101.0, b = sin((double)r);
        double z = a + 0.5 * b + (r % 3 == 1 ? 0.4 : 0) + 0.3 * sin(7.0 * (double)r);
        if (r % 23 == 0)
            buf_printf(&csv, ",%.6f,", b);
        else
            buf_printf(&csv, "%.6f,%.6f,", a, b);
        buf_printf(&csv, "%s,%s,%s,%.6f\n", colors[r % 3], z > 0.6 ? "yes" : "no",
                   species[(size_t)(z * 2.2) % 3], 3 * z + b);
    }
    struct ingest_result res;
    int rv = ingest_csv(csv.data, csv.len, NULL, &res);
    CHECK_INT(rv, 0);
    CHECK_INT(res.n_errors, 0);
    buf_free(&csv);
    return res;
}

/* m saved and loaded: the same bytes again and the same predictions, serial or pooled. */
static void round_trip(const struct model *m, const struct table *t)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    struct model *back = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(model_save(m, &a), 0);
    CHECK_INT(model_load(a.data, a.len, &back, &err), 0);
    if (back == NULL)
        return;
    CHECK(back->learner == m->learner);
    CHECK_STR(json_string_value(json_object_get(back->meta, "kind")), m->learner->name);
    CHECK_INT(model_save(back, &b), 0);
    CHECK_MEM(a.data, a.len, b.data, b.len);
    struct fmatrix x;
    CHECK_INT(features_matrix(&m->features, t, &x, NULL, NULL, NULL), 0);
    size_t k = model_outputs(m);
    double *p1 = calloc(NROWS * k, sizeof *p1), *p2 = calloc(NROWS * k, sizeof *p2);
    double *p3 = calloc(NROWS * k, sizeof *p3);
    CHECK_INT(model_predict(m, &x, p1), 0);
    CHECK_INT(model_predict(back, &x, p2), 0);
    CHECK_INT(model_predict_threads(back, &x, 2, p3), 0);
    CHECK_MEM(p1, NROWS * k * sizeof *p1, p2, NROWS * k * sizeof *p2);
    CHECK_MEM(p1, NROWS * k * sizeof *p1, p3, NROWS * k * sizeof *p3);
    free(p1);
    free(p2);
    free(p3);
    fmatrix_free(&x);
    model_free(back);
    buf_free(&a);
    buf_free(&b);
}

static void test_every_learner_round_trips(void)
{
    struct ingest_result t = make_table();
    static const char *const targets[] = {"label", "species", "value"};
    static const enum table_task tasks[] = {TASK_BINARY, TASK_MULTICLASS, TASK_REGRESSION};
    for (size_t i = 0; i < learner_count(); i++) {
        const struct learner *l = learner_at(i);
        for (size_t k = 0; k < 3; k++) {
            struct model *m =
                train_table(l, &t.table, targets[k],
                            "{\"epochs\": 8, \"seed\": 3, \"features\": \"a,b,color\"}");
            if (m == NULL)
                continue;
            CHECK(m->learner == l);
            /* a clustering model keeps the target's name only, to score against */
            CHECK_INT(m->target.task, l->needs_target ? tasks[k] : TASK_NONE);
            CHECK_INT(l->num_features(m->algo), 3);
            round_trip(m, &t.table);
            model_free(m);
        }
    }
    ingest_result_free(&t);
}

/* A learner that does not learn the target's task is refused naming the model. */
static void test_task_the_learner_does_not_learn(void)
{
    struct ingest_result t = make_table();
    struct learner regression_only = *learner_find("gbdt");
    regression_only.tasks = LEARN_REGRESSION;
    json_t *p = json_object();
    struct train_config cfg = {&regression_only, "label", p, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(train_model(&t.table, NULL, &cfg, NULL, NULL, &res, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "model");
    CHECK_STR(err.message, "the gbdt model does not learn binary tasks");
    CHECK(res.model == NULL && res.ignored == NULL && res.metrics == NULL);
    json_decref(p);
    ingest_result_free(&t);
}

/* train_holdout_rows gives back the rows the run validated on: their count, and metrics on
 * them equal to the run's, for a stratified (classification) and a plain split. */
static void test_holdout_rows_are_the_validation_rows(void)
{
    struct ingest_result t = make_table();
    static const char *const targets[] = {"label", "value"};
    static const char *const metric[] = {"logloss", "rmse"};
    for (size_t k = 0; k < 2; k++) {
        struct model *m = train_table(learner_find("gbdt"), &t.table, targets[k],
                                      "{\"rounds\": 5, \"seed\": 11, \"valid_fraction\": 0.25}");
        if (m == NULL)
            continue;
        size_t *rows, n;
        CHECK_INT(train_holdout_rows(m, &t.table, &rows, &n), 0);
        json_t *meta_metrics = json_object_get(m->meta, "metrics");
        CHECK_INT(n, json_integer_value(json_object_get(m->meta, "valid_rows")));
        struct labelled_predictions p;
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(train_predict_labelled(m, &t.table, rows, n, &p, &err), 0);
        CHECK_INT(p.n, n);
        double again = k == 0 ? eval_logloss(p.y, p.pred, p.n, 2) : eval_rmse(p.y, p.pred, p.n);
        CHECK_NEAR(again, json_number_value(json_object_get(meta_metrics, metric[k])), 1e-12);
        labelled_predictions_free(&p);
        free(rows);
        model_free(m);
    }
    /* without valid_fraction nothing was held out */
    struct model *m = train_table(learner_find("gbdt"), &t.table, "label", "{\"rounds\": 2}");
    size_t *rows, n;
    CHECK_INT(train_holdout_rows(m, &t.table, &rows, &n), 0);
    CHECK_INT(n, 0);
    CHECK(rows == NULL);
    model_free(m);
    ingest_result_free(&t);
}

static void test_ignored_parameters_are_reported(void)
{
    struct ingest_result t = make_table();
    json_t *p = json_pack("{s:i, s:i, s:f}", "rounds", 2, "batch_size", 32, "dropout", 0.5);
    struct train_config cfg = {learner_find("gbdt"), "label", p, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(train_model(&t.table, NULL, &cfg, NULL, NULL, &res, &err), 0);
    CHECK_INT(json_array_size(res.ignored), 2);
    CHECK_INT(res.iterations, 2);
    CHECK(json_object_get(json_object_get(res.model->meta, "params"), "batch_size") == NULL);
    train_result_free(&res);
    json_decref(p);
    ingest_result_free(&t);
}

static void test_openapi_schemas(void)
{
    json_t *s = learner_openapi_schemas();
    CHECK(s != NULL);
    const json_t *gbdt = json_object_get(json_object_get(s, "gbdt_config"), "properties");
    const json_t *rounds = json_object_get(gbdt, "rounds");
    CHECK_STR(json_string_value(json_object_get(rounds, "type")), "integer");
    CHECK_INT(json_integer_value(json_object_get(rounds, "default")), 100);
    CHECK_INT(json_integer_value(json_object_get(rounds, "maximum")), 100000);
    CHECK_STR(json_string_value(json_array_get(json_object_get(rounds, "x-aliases"), 0)), "epochs");
    CHECK(json_object_get(gbdt, "seed") != NULL && json_object_get(gbdt, "max_iter") == NULL);
    const json_t *rf = json_object_get(json_object_get(s, "rf_config"), "properties");
    CHECK(json_is_true(json_object_get(json_object_get(rf, "bootstrap"), "default")));
    const json_t *lin = json_object_get(json_object_get(s, "linear_config"), "properties");
    CHECK(json_object_get(lin, "rounds") == NULL && json_object_get(lin, "max_iter") != NULL);
    const json_t *req = json_object_get(json_object_get(s, "train_request"), "properties");
    /* names and aliases: gbdt xgboost rf ... linear logistic, mlp neural_network nn, tabseq lstm
       tabular_seq, kmeans and its aliases */
    CHECK_INT(json_array_size(json_object_get(json_object_get(req, "model"), "enum")), 16);
    CHECK_INT(json_array_size(json_object_get(json_object_get(req, "config"), "anyOf")), 6);
    CHECK_INT(json_array_size(json_object_get(json_object_get(req, "task"), "enum")), 4);
    json_decref(s);
    json_t *body = learner_openapi_train_body();
    CHECK_STR(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(body, "content"), "application/json"),
                            "schema"),
            "$ref")),
        "#/components/schemas/train_request");
    json_decref(body);
}

UNIT_MAIN(UNIT(test_registry_names_and_aliases), UNIT(test_every_learner_is_complete),
          UNIT(test_parameter_aliases), UNIT(test_validation_messages),
          UNIT(test_normalised_parameters), UNIT(test_defaults_filled_in),
          UNIT(test_gbdt_gets_its_parameters), UNIT(test_forest_gets_its_parameters),
          UNIT(test_linear_gets_its_parameters), UNIT(test_every_learner_round_trips),
          UNIT(test_task_the_learner_does_not_learn),
          UNIT(test_holdout_rows_are_the_validation_rows),
          UNIT(test_ignored_parameters_are_reported), UNIT(test_openapi_schemas))
