/* Unit tests for lib/ml/xgbimport.c with lib/ml/treeshap.c: XGBoost models trained at run time
 * (tests/unit/ref/xgb_reference.py, Debian's python3-xgboost) are imported; their margins
 * equal XGBoost's predict(output_margin=True) and TreeSHAP's contributions equal XGBoost's
 * predict(pred_contribs=True) within 1e-5 on binary, multiclass and regression models. When
 * xgboost cannot be run the tests are SKIPPED (reported as such), never passed. Refusals of
 * bad files name the JSON field. */
#include "unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "algo/gbdt.h"
#include "core/err.h"
#include "ml/model.h"
#include "ml/treeshap.h"
#include "ml/xgbimport.h"
#include "testdata.h"

/* Debian's interpreter, where python3-xgboost is; AIOPS_XGB_PYTHON overrides it (to see the
 * skip: point it at a python without xgboost) */
#define PYTHON "/usr/bin/python3"
#define SCRIPT "tests/unit/ref/xgb_reference.py"

static char refdir[64]; /* "" until the reference is made; "-" when it cannot be */
static char skip_why[240];

static void remove_reference(void)
{
    if (refdir[0] == '/') {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", refdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", refdir);
    }
}

/* Makes XGBoost's models and reference values once for the whole program. */
static const char *reference_dir(void)
{
    if (refdir[0] == '-')
        return NULL;
    if (refdir[0] != '\0')
        return refdir;
    snprintf(refdir, sizeof refdir, "/tmp/aiops_xgbref_XXXXXX");
    if (mkdtemp(refdir) == NULL) {
        snprintf(skip_why, sizeof skip_why, "mkdtemp failed");
        refdir[0] = '-';
        return NULL;
    }
    atexit(remove_reference);
    const char *python = getenv("AIOPS_XGB_PYTHON");
    if (python == NULL || strchr(python, '\'') != NULL)
        python = PYTHON;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "'%.200s' " SCRIPT " %s > %s/log 2>&1", python, refdir, refdir);
    int rc = system(cmd);
    if (rc != 0) {
        int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
        if (code == 3 || code == 127)
            snprintf(skip_why, sizeof skip_why,
                     "python3-xgboost is not installed (%.80s -c 'import xgboost' fails): "
                     "NOT checked against XGBoost",
                     python);
        else
            snprintf(skip_why, sizeof skip_why, "%s failed with exit %d", SCRIPT, code);
        if (code != 3 && code != 127)
            UNIT_FAIL("%s", skip_why);
        refdir[0] = '-';
        return NULL;
    }
    return refdir;
}

/* Reads n doubles from dir/name. */
static double *read_f64(const char *dir, const char *name, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        UNIT_FAIL("cannot open %s", path);
        return NULL;
    }
    double *v = malloc(n * sizeof *v);
    size_t got = fread(v, sizeof *v, n, f);
    fclose(f);
    if (got != n) {
        UNIT_FAIL("%s: %zu values, expected %zu", path, got, n);
        free(v);
        return NULL;
    }
    return v;
}

static void check_task(const char *task, enum table_task want_task, size_t want_outputs)
{
    const char *dir = reference_dir();
    if (dir == NULL) {
        UNIT_SKIP("%s", skip_why);
        return;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s.shape", dir, task);
    FILE *f = fopen(path, "r");
    size_t nrows = 0, ncols = 0, k = 0;
    if (f == NULL || fscanf(f, "%zu %zu %zu", &nrows, &ncols, &k) != 3) {
        UNIT_FAIL("cannot read %s", path);
        if (f)
            fclose(f);
        return;
    }
    fclose(f);
    CHECK_INT(k, want_outputs);

    snprintf(path, sizeof path, "%s/%s.json", dir, task);
    struct model *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = xgb_import_file(path, &m, &err);
    if (rv != 0) {
        UNIT_FAIL("xgb_import_file(%s): %s: %s (%s)", path, aiops_strerror(rv), err.message,
                  err.field);
        return;
    }
    CHECK_INT(m->target.task, want_task);
    CHECK_INT(m->features.n, ncols);
    CHECK_STR(m->features.f[2].name, "f2");
    CHECK_INT(treeshap_model_outputs(m), k);

    char name[64];
    snprintf(name, sizeof name, "%s.x.f64", task);
    double *rows = read_f64(dir, name, nrows * ncols);
    snprintf(name, sizeof name, "%s.margin.f64", task);
    double *want_margin = read_f64(dir, name, nrows * k);
    snprintf(name, sizeof name, "%s.contrib.f64", task);
    double *want_phi = read_f64(dir, name, nrows * k * (ncols + 1));
    double *margin = malloc(nrows * k * sizeof *margin);
    double *phi = malloc(nrows * k * (ncols + 1) * sizeof *phi);
    struct fmatrix x;
    mat_init(&x, nrows, ncols);
    if (rows == NULL || want_margin == NULL || want_phi == NULL)
        goto out;
    for (size_t r = 0; r < nrows; r++)
        for (size_t j = 0; j < ncols; j++)
            AT(&x, r, j) = rows[r * ncols + j];

    /* the same trees: margins equal XGBoost's (XGBoost sums in float32) */
    CHECK_INT(gbdt_predict_margin(m->algo, &x, margin), 0);
    double worst_margin = 0;
    for (size_t i = 0; i < nrows * k; i++)
        worst_margin = fmax(worst_margin, fabs(margin[i] - want_margin[i]));
    CHECK_NEAR(worst_margin, 0, 1e-5);

    /* the same contributions, bias included, on two threads */
    size_t nout = 0;
    CHECK_INT(treeshap_model(m, &x, 2, phi, &nout), 0);
    CHECK_INT(nout, k);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < nrows * k * (ncols + 1); i++) {
        worst = fmax(worst, fabs(phi[i] - want_phi[i]));
        largest = fmax(largest, fabs(want_phi[i]));
    }
    fprintf(stderr,
            "  %s: %zu rows x %zu outputs: max |ours - pred_contribs| = %.3g (largest "
            "contribution %.3g), max |margin diff| = %.3g\n",
            task, nrows, k, worst, largest, worst_margin);
    CHECK_NEAR(worst, 0, 1e-5);
    CHECK(largest > 0.1); /* the comparison is not of zeros */
out:
    mat_free(&x);
    free(rows);
    free(want_margin);
    free(want_phi);
    free(margin);
    free(phi);
    model_free(m);
}

static void test_binary_equals_pred_contribs(void)
{
    check_task("binary", TASK_BINARY, 1);
}

static void test_multiclass_equals_pred_contribs(void)
{
    check_task("multiclass", TASK_MULTICLASS, 3);
}

static void test_regression_equals_pred_contribs(void)
{
    check_task("regression", TASK_REGRESSION, 1);
}

/* --- refusals (no XGBoost needed) ------------------------------------------------------------ */

/* A one-split binary model whose JSON is spelled out, with pieces replaced by the caller. */
static int import_text(const char *objective, const char *left, const char *split_type,
                       struct aiops_error *err)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"learner\":{\"objective\":{\"name\":\"%s\"},"
             "\"learner_model_param\":{\"base_score\":\"5E-1\",\"num_class\":\"0\","
             "\"num_feature\":\"2\"},\"feature_names\":[\"a\",\"b\"],"
             "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"tree_info\":[0],"
             "\"trees\":[{\"left_children\":%s,\"right_children\":[2,-1,-1],"
             "\"split_indices\":[1,0,0],\"split_conditions\":[0.5,-0.2,0.3],"
             "\"default_left\":[1,0,0],\"sum_hessian\":[10,4,6],\"loss_changes\":[3,0,0],"
             "\"split_type\":%s}]}}},\"version\":[1,7,4]}",
             objective, left, split_type);
    struct model *m = NULL;
    int rv = xgb_import(json, strlen(json), &m, err);
    if (rv == 0) {
        /* x < 0.5 goes left exactly as XGBoost: the float below 0.5 left, 0.5 itself right,
         * NaN the default way (left); leaves hold XGBoost's floats */
        double vals[3] = {(double)nextafterf(0.5f, 0.0f), 0.5, NAN};
        struct fmatrix x;
        mat_init(&x, 3, 2);
        for (size_t r = 0; r < 3; r++)
            AT(&x, r, 1) = vals[r];
        double margin[3];
        CHECK_INT(gbdt_predict_margin(m->algo, &x, margin), 0);
        CHECK_NEAR(margin[0], (double)-0.2f, 0);
        CHECK_NEAR(margin[1], (double)0.3f, 0);
        CHECK_NEAR(margin[2], (double)-0.2f, 0);
        CHECK_STR(m->features.f[1].name, "b");
        mat_free(&x);
    }
    model_free(m);
    return rv;
}

static void test_tiny_model_reads_and_splits_like_xgboost(void)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(import_text("binary:logistic", "[1,-1,-1]", "[0,0,0]", &err), 0);
}

static void test_bad_models_name_the_field(void)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(import_text("rank:pairwise", "[1,-1,-1]", "[0,0,0]", &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "learner.objective.name");
    CHECK(strstr(err.message, "rank:pairwise") != NULL);
    /* a node whose child is itself: a cycle */
    CHECK_INT(import_text("binary:logistic", "[0,-1,-1]", "[0,0,0]", &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "trees[0]");
    /* a child out of range */
    CHECK_INT(import_text("binary:logistic", "[7,-1,-1]", "[0,0,0]", &err), AIOPS_EINVAL);
    /* the wrong number of entries */
    CHECK_INT(import_text("binary:logistic", "[1,-1]", "[0,0,0]", &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "trees[0].right_children");
    /* categorical splits */
    CHECK_INT(import_text("binary:logistic", "[1,-1,-1]", "[1,0,0]", &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "categorical") != NULL);
    struct model *m = NULL;
    CHECK_INT(xgb_import("{\"learner\": ", 12, &m, &err), AIOPS_EPARSE);
    CHECK(m == NULL);
    CHECK_INT(xgb_import("{}", 2, &m, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "learner");
}

UNIT_MAIN(UNIT(test_binary_equals_pred_contribs), UNIT(test_multiclass_equals_pred_contribs),
          UNIT(test_regression_equals_pred_contribs),
          UNIT(test_tiny_model_reads_and_splits_like_xgboost), UNIT(test_bad_models_name_the_field))
