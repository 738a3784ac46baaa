/* Unit tests for lib/ml/featureset.c: features and targets fitted on one table and applied to
 * others by name and by text. */
#include "unit.h"

#include "core/err.h"
#include "data/ingest.h"
#include "ml/featureset.h"

static struct ingest_result load(const char *csv)
{
    struct ingest_result r;
    int rv = ingest_csv(csv, strlen(csv), NULL, &r);
    if (rv != 0 || r.n_errors != 0)
        UNIT_FAIL("ingest failed: %d, %zu errors", rv, r.n_errors);
    return r;
}

static void test_fit_and_apply_by_name(void)
{
    struct ingest_result tr = load("id,color,size,when,label\n"
                                   "1,red,1.5,2020-01-01,yes\n2,blue,2.5,2020-01-02,no\n"
                                   "3,red,,2020-01-03,yes\n4,green,4.0,2020-01-04,no\n");
    struct feature_set fs;
    struct aiops_error err = AIOPS_ERROR_INIT;
    long target = table_find(&tr.table, "label");
    CHECK_INT(features_fit(&tr.table, target, NULL, NULL, &fs, &err), 0);
    /* the id is left out; color categorical; size and when numeric */
    CHECK_INT(fs.n, 3);
    CHECK_STR(fs.f[0].name, "color");
    CHECK_INT(fs.f[0].kind, FEAT_CATEGORICAL);
    CHECK_INT(fs.f[0].cats.count, 3);
    CHECK_STR(fs.f[1].name, "size");
    CHECK_NEAR(fs.f[1].mean, 8.0 / 3.0, 1e-12);
    CHECK_NEAR(fs.f[1].median, 2.5, 1e-12);
    CHECK_INT(fs.f[2].kind, FEAT_NUMERIC);
    /* new data: other column order, categories in another order, an unseen one, a
     * missing value, and a numeric column written as text */
    struct ingest_result te = load("size,color,when\n3,green,2020-02-01\n,purple,2020-02-02\n"
                                   "7,red,\n");
    struct fmatrix m;
    size_t type_errors = 9, unseen = 9;
    CHECK_INT(features_matrix(&fs, &te.table, &m, &err, &type_errors, &unseen), 0);
    CHECK_INT(m.nrows, 3);
    CHECK_INT(m.ncols, 3);
    CHECK(m.is_cat[0] && m.ncat[0] == 3 && !m.is_cat[1]);
    uint32_t green;
    CHECK_INT(strdict_find(&fs.f[0].cats, "green", 5, &green), 0);
    CHECK(m.x[0] == (double)green);   /* matched by text, not by the new table's code */
    CHECK(isnan(m.x[1]));              /* purple was never seen */
    CHECK(m.x[3] == 3.0 && isnan(m.x[4]) && m.x[5] == 7.0);
    CHECK_INT(unseen, 1);
    CHECK_INT(type_errors, 0);
    fmatrix_free(&m);
    /* a feature column missing from the new table */
    struct ingest_result te2 = load("size,when\n1,2020-01-01\n");
    CHECK_INT(features_matrix(&fs, &te2.table, &m, &err, NULL, NULL), AIOPS_ENOTFOUND);
    CHECK_STR(err.field, "color");
    feature_set_free(&fs);
    /* a listed feature column the table does not have */
    const char *const only[] = {"size", "weight", NULL};
    CHECK_INT(features_fit(&tr.table, target, only, NULL, &fs, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "features");
    CHECK(strstr(err.message, "weight") != NULL);
    ingest_result_free(&tr);
    ingest_result_free(&te);
    ingest_result_free(&te2);
}

static void test_targets(void)
{
    struct ingest_result tr = load("x,y,grade,price,flag\n1,b,3,10.5,true\n2,a,1,11,false\n"
                                   "3,b,2,12,true\n4,,3,13.25,false\n5,c,1,,true\n");
    double y[5];
    struct target_spec ts;
    struct aiops_error err = AIOPS_ERROR_INIT;
    /* strings: sorted labels, missing -> NaN, multiclass */
    CHECK_INT(target_fit(&tr.table, table_find(&tr.table, "y"), TASK_NONE, &ts, y, &err), 0);
    CHECK_INT(ts.task, TASK_MULTICLASS);
    CHECK_INT(ts.nclasses, 3);
    CHECK_STR(ts.labels[0], "a");
    CHECK_STR(ts.labels[2], "c");
    CHECK(y[0] == 1 && y[1] == 0 && isnan(y[3]) && y[4] == 2);
    target_spec_free(&ts);
    /* small whole numbers: classes with numeric labels */
    CHECK_INT(target_fit(&tr.table, table_find(&tr.table, "grade"), TASK_NONE, &ts, y, &err), 0);
    CHECK_INT(ts.task, TASK_MULTICLASS);
    CHECK(ts.numeric_labels);
    CHECK_STR(ts.labels[0], "1");
    json_t *j = target_label_json(&ts, 2);
    CHECK(json_is_integer(j) && json_integer_value(j) == 3);
    json_decref(j);
    target_spec_free(&ts);
    /* booleans: binary, false before true */
    CHECK_INT(target_fit(&tr.table, table_find(&tr.table, "flag"), TASK_NONE, &ts, y, &err), 0);
    CHECK_INT(ts.task, TASK_BINARY);
    CHECK(y[0] == 1 && y[1] == 0);
    /* class weights */
    double w[5];
    CHECK_INT(class_weights(&ts, "balanced", y, 5, w, &err), 0);
    CHECK_NEAR(w[0], 5.0 / (2 * 3), 1e-12); /* true: 3 rows */
    CHECK_NEAR(w[1], 5.0 / (2 * 2), 1e-12);
    CHECK_INT(class_weights(&ts, "true:4", y, 5, w, &err), 0);
    CHECK(w[0] == 4 && w[1] == 1);
    CHECK_INT(class_weights(&ts, "maybe:2", y, 5, w, &err), AIOPS_EINVAL);
    CHECK_INT(class_weights(&ts, "true:-1", y, 5, w, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "class_weight");
    target_spec_free(&ts);
    /* regression needs numbers */
    CHECK_INT(target_fit(&tr.table, table_find(&tr.table, "price"), TASK_NONE, &ts, y, &err), 0);
    CHECK_INT(ts.task, TASK_REGRESSION);
    CHECK(y[0] == 10.5 && isnan(y[4]));
    target_spec_free(&ts);
    CHECK_INT(target_fit(&tr.table, table_find(&tr.table, "y"), TASK_REGRESSION, &ts, y, &err),
              AIOPS_EINVAL);
    CHECK_STR(err.field, "target");
    ingest_result_free(&tr);
}

static void test_json_rows_and_round_trip(void)
{
    struct ingest_result tr = load("color,size,ok,label\nred,1,yes,0\nblue,2,no,1\n");
    struct feature_set fs;
    struct target_spec ts;
    struct aiops_error fit_err = AIOPS_ERROR_INIT;
    double y[2];
    long tcol = table_find(&tr.table, "label");
    CHECK_INT(features_fit(&tr.table, tcol, NULL, NULL, &fs, &fit_err), 0);
    CHECK_INT(target_fit(&tr.table, tcol, TASK_NONE, &ts, y, &fit_err), 0);
    json_t *rows = json_loads("[{\"color\":\"blue\",\"size\":\"2.5\",\"ok\":true},"
                              "{\"size\":3,\"extra\":1},{\"color\":\"red\",\"ok\":\"NO\"}]",
                              0, NULL);
    struct fmatrix m;
    json_t *err;
    CHECK_INT(features_matrix_json(&fs, rows, &m, &err), 0);
    uint32_t blue;
    strdict_find(&fs.f[0].cats, "blue", 4, &blue);
    CHECK(m.x[0] == (double)blue && isnan(m.x[1]));
    CHECK(m.x[3] == 2.5 && m.x[4] == 3.0 && isnan(m.x[5]));
    CHECK(m.x[6] == 1.0 && m.x[8] == 0.0); /* true -> the true word; "NO" -> false */
    fmatrix_free(&m);
    json_decref(rows);
    rows = json_loads("[{\"size\":\"big\"},{\"color\":[1]}]", 0, NULL);
    CHECK_INT(features_matrix_json(&fs, rows, &m, &err), AIOPS_EINVAL);
    CHECK_INT(json_array_size(err), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(err, 0), "column")), "size");
    json_decref(err);
    json_decref(rows);
    /* save and load back */
    struct buf b = BUF_INIT;
    CHECK_INT(features_save(&fs, &ts, &b), 0);
    struct feature_set fs2;
    struct target_spec ts2;
    CHECK_INT(features_load((const uint8_t *)b.data, b.len, &fs2, &ts2), 0);
    CHECK_INT(fs2.n, fs.n);
    CHECK_STR(fs2.f[0].name, "color");
    CHECK_INT(fs2.f[0].cats.count, 2);
    CHECK_STR(ts2.labels[1], "1");
    CHECK_INT(ts2.task, TASK_BINARY);
    /* every truncation and many single-byte changes are refused or decode cleanly */
    for (size_t cut = 0; cut < b.len; cut++) {
        struct feature_set f3;
        struct target_spec t3;
        if (features_load((const uint8_t *)b.data, cut, &f3, &t3) == 0)
            UNIT_FAIL("a truncation to %zu bytes was accepted", cut);
    }
    feature_set_free(&fs2);
    target_spec_free(&ts2);
    buf_free(&b);
    feature_set_free(&fs);
    target_spec_free(&ts);
    ingest_result_free(&tr);
}

UNIT_MAIN(UNIT(test_fit_and_apply_by_name), UNIT(test_targets), UNIT(test_json_rows_and_round_trip))
