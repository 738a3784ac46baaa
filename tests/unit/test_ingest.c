/* Unit tests for lib/data/ingest.c and lib/core/numparse.c: type inference on the real datasets under
 * shared/data beside the repository (see each SOURCE.md), target detection, warnings, the upload
 * summary JSON, and exact number parsing. */

#include <jansson.h>

#include "core/err.h"
#include "core/numparse.h"
#include "data/ingest.h"
#include "testdata.h"
#include "unit.h"

#include <sys/stat.h>

/* -1 without a path (test_data_file marked the test skipped) or after a failed check. */
static int load(const char *path, const char *target, struct ingest_result *r)
{
    if (path == NULL)
        return -1;
    struct ingest_options o = {.target = target};
    int rv = ingest_csv_file(path, &o, r);
    if (rv != 0)
        UNIT_FAIL("ingest_csv_file(%s) = %d", path, rv);
    else if (r->n_errors != 0)
        UNIT_FAIL("%s: %zu errors, first: %s", path, r->n_errors, r->issues[0].message);
    return rv;
}

static const struct column *col(const struct ingest_result *r, const char *name)
{
    long i = table_find(&r->table, name);
    if (i < 0) {
        UNIT_FAIL("no column %s", name);
        static struct column none;
        return &none;
    }
    return &r->table.cols[i];
}

static size_t count_issues(const struct ingest_result *r, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_issues; i++)
        n += strcmp(r->issues[i].code, code) == 0;
    return n;
}

/* Column name of r is categorical with `distinct` distinct values. */
static void check_categorical(const struct ingest_result *r, const char *name, size_t distinct)
{
    const struct column *c = col(r, name);
    if (c->type != COL_CATEGORICAL || c->distinct != distinct)
        UNIT_FAIL("column %s: type %d with %zu distinct values, expected categorical with %zu",
                  name, (int)c->type, c->distinct, distinct);
}

static void test_adult(void)
{
    struct ingest_result r;
    if (load(test_data_file("uci_adult/adult_train.csv"), "income", &r) != 0)
        return;
    CHECK_INT(r.table.nrows, 32561);
    CHECK_INT(r.table.ncols, 15);
    const char *cats[] = {"workclass", "education", "marital_status", "occupation", "relationship",
                          "race",      "sex",       "native_country", "income"};
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
        CHECK_INT(col(&r, cats[i])->type, COL_CATEGORICAL);
        CHECK_INT(col(&r, cats[i])->storage, COL_DICT);
    }
    const char *nums[] = {"age",          "fnlwgt",       "education_num",
                          "capital_gain", "capital_loss", "hours_per_week"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        CHECK_INT(col(&r, nums[i])->type, COL_NUMERIC);
        CHECK_INT(col(&r, nums[i])->is_integer, 1);
    }
    /* 4262 missing cells in all (SOURCE.md): workclass, occupation, native_country */
    size_t missing = 0;
    for (size_t c = 0; c < r.table.ncols; c++)
        missing += r.table.cols[c].missing;
    CHECK_INT(missing, 4262);
    CHECK_INT(col(&r, "workclass")->missing, 1836);
    CHECK_INT(col(&r, "sex")->distinct, 2);
    CHECK_INT(col(&r, "income")->distinct, 2);
    CHECK_INT(r.target, table_find(&r.table, "income"));
    CHECK_INT(count_issues(&r, "no_target"), 0);
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    json_t *info = json_object_get(j, "info");
    CHECK_STR(json_string_value(json_object_get(info, "task")), "binary");
    /* ">50K" sorts after "<=50K": 7841 rows (SOURCE.md) */
    CHECK_INT(json_integer_value(json_object_get(info, "clickedOne")), 7841);
    CHECK_NEAR(json_real_value(json_object_get(info, "ctr")), 24.08, 1e-9);
    json_decref(j);
    ingest_result_free(&r);
}

static void test_diamonds(void)
{
    struct ingest_result r;
    if (load(test_data_file("ggplot2_diamonds/diamonds.csv"), "price", &r) != 0)
        return;
    CHECK_INT(r.table.nrows, 53940);
    check_categorical(&r, "cut", 5);
    check_categorical(&r, "color", 7);
    check_categorical(&r, "clarity", 8);
    const struct column *price = col(&r, "price");
    CHECK_INT(price->type, COL_NUMERIC);
    CHECK_INT(price->is_integer, 1);
    CHECK_NEAR(price->min, 326, 0);
    CHECK_NEAR(price->max, 18823, 0);
    CHECK_NEAR(price->mean, 3932.7997, 1e-4);
    CHECK_INT(col(&r, "carat")->is_integer, 0);
    CHECK_NEAR(col(&r, "carat")->f64[0], 0.23, 0);
    /* dictionary in order of first appearance, values as written (quotes removed) */
    const struct column *cut = col(&r, "cut");
    CHECK_STR(strdict_str(&cut->dict, cut->codes[0]), "Ideal");
    CHECK_STR(strdict_str(&cut->dict, cut->codes[1]), "Premium");
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "info"), "task")), "regression");
    json_t *cols = json_object_get(j, "columns");
    json_t *p = json_array_get(cols, (size_t)table_find(&r.table, "price"));
    CHECK(json_is_integer(json_object_get(p, "min")));
    CHECK_INT(json_integer_value(json_object_get(p, "min")), 326);
    CHECK_INT(json_integer_value(json_object_get(p, "max")), 18823);
    CHECK(json_is_real(json_object_get(p, "mean")));
    json_decref(j);
    ingest_result_free(&r);

    /* without an explicit target the first column named like one wins: "y" here */
    CHECK_INT(ingest_csv_file(test_data_file("ggplot2_diamonds/diamonds.csv"), NULL, &r), 0);
    CHECK_INT(r.target, table_find(&r.table, "y"));
    ingest_result_free(&r);
}

static void test_penguins_iris(void)
{
    struct ingest_result r;
    if (load(test_data_file("palmerpenguins_penguins/penguins.csv"), NULL, &r) != 0)
        return;
    CHECK_INT(r.table.nrows, 344);
    check_categorical(&r, "species", 3);
    CHECK_INT(col(&r, "island")->type, COL_CATEGORICAL);
    CHECK_INT(col(&r, "sex")->type, COL_CATEGORICAL);
    CHECK_INT(col(&r, "sex")->missing, 11);
    CHECK_INT(col(&r, "bill_length_mm")->type, COL_NUMERIC);
    CHECK_INT(col(&r, "bill_length_mm")->missing, 2);
    CHECK_INT(col(&r, "body_mass_g")->missing, 2);
    CHECK_INT(col(&r, "year")->type, COL_NUMERIC);
    CHECK_INT(col(&r, "year")->is_integer, 1);
    CHECK_INT(r.target, -1);
    CHECK_INT(count_issues(&r, "no_target"), 1);
    ingest_result_free(&r);

    if (load(test_data_file("sklearn_iris/iris.csv"), "species", &r) != 0)
        return;
    CHECK_INT(r.table.nrows, 150);
    check_categorical(&r, "species", 3);
    CHECK_INT(col(&r, "petal_width_cm")->type, COL_NUMERIC);
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "info"), "task")), "multiclass");
    json_decref(j);
    ingest_result_free(&r);
}

/* Counts rows whose last field is "yes", reading the file on its own. */
static long count_yes(const char *path, long *rows)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[4096];
    long yes = 0;
    *rows = -1; /* the header */
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        (*rows)++;
        yes += n >= 4 && strcmp(line + n - 4, ",yes") == 0;
    }
    fclose(f);
    return yes;
}

static void test_bank_ctr(void)
{
    const char *path = test_data_file("uci_bank_marketing/bank.csv");
    struct ingest_result r;
    if (load(path, NULL, &r) != 0)
        return;
    long rows;
    long yes = count_yes(path, &rows);
    CHECK_INT(rows, 4521);
    CHECK_INT(yes, 521);
    CHECK_INT(r.target, table_find(&r.table, "y"));
    const struct column *y = col(&r, "y");
    CHECK_INT(y->type, COL_BOOLEAN);
    CHECK_STR(strdict_str(&y->dict, 0), "no");
    CHECK_STR(strdict_str(&y->dict, 1), "yes");
    CHECK_INT(col(&r, "housing")->type, COL_BOOLEAN);
    CHECK_INT(col(&r, "job")->type, COL_CATEGORICAL);
    CHECK_INT(col(&r, "duration")->type, COL_NUMERIC);
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    CHECK_INT(json_integer_value(json_object_get(j, "rows")), rows);
    CHECK_INT(json_integer_value(json_object_get(j, "column_count")), 17);
    json_t *info = json_object_get(j, "info");
    CHECK_INT(json_integer_value(json_object_get(info, "totalRows")), rows);
    CHECK_STR(json_string_value(json_object_get(info, "target")), "y");
    CHECK_STR(json_string_value(json_object_get(info, "task")), "binary");
    CHECK_INT(json_integer_value(json_object_get(info, "clickedOne")), yes);
    CHECK_NEAR(json_real_value(json_object_get(info, "ctr")),
               round(10000.0 * (double)yes / (double)rows) / 100.0, 1e-12);
    CHECK_NEAR(json_real_value(json_object_get(info, "ctr")), 11.52, 1e-12);
    CHECK(json_is_true(json_object_get(json_object_get(j, "validation"), "isValid")));
    /* preview: 10 objects in column order, typed */
    json_t *prev = json_object_get(j, "preview");
    CHECK_INT(json_array_size(prev), 10);
    json_t *row0 = json_array_get(prev, 0);
    CHECK_INT(json_object_size(row0), 17);
    CHECK_STR(json_object_iter_key(json_object_iter(row0)), "age");
    CHECK(json_is_integer(json_object_get(row0, "age")));
    CHECK_INT(json_integer_value(json_object_get(row0, "age")), 30);
    CHECK_STR(json_string_value(json_object_get(row0, "job")), "unemployed");
    CHECK(json_is_false(json_object_get(row0, "y")));
    CHECK(json_is_false(json_object_get(row0, "loan")));
    json_decref(j);
    ingest_result_free(&r);
}

static void test_other_datasets(void)
{
    struct {
        const char *path;
        size_t rows, cols;
        const char *target;
        long positives; /* binary targets: SOURCE.md class counts; -1: not binary */
    } sets[] = {
        {"deepctr_avazu_sample/avazu_sample.csv", 100, 24, "click", 20},
        {"deepctr_criteo_sample/criteo_sample.csv", 200, 40, "label", 49},
        {"lightgbm_higgs_binary/higgs_train.csv", 7000, 29, "label", 3716},
        {"lightgbm_higgs_binary/higgs_test.csv", 500, 29, "label", 272},
        {"sklearn_breast_cancer/breast_cancer.csv", 569, 31, "target", 357},
        {"mlbench_letter_recognition/LetterRecognition.csv", 20000, 17, NULL, -1},
        {"sklearn_digits/digits.csv", 1797, 65, NULL, -1},
        {"sklearn_wine/wine.csv", 178, 14, NULL, -1},
        {"uci_adult/adult_test.csv", 16281, 15, NULL, -1},
        {"xgboost_agaricus/agaricus_categorical_train.csv", 6513, 23, NULL, -1},
        {"xgboost_agaricus/agaricus_onehot_test.csv", 1611, 127, NULL, -1},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        struct ingest_result r;
        if (load(test_data_file(sets[i].path), NULL, &r) != 0)
            continue;
        CHECK_INT(r.table.nrows, sets[i].rows);
        CHECK_INT(r.table.ncols, sets[i].cols);
        json_t *j;
        CHECK_INT(ingest_summary_json(&r, &j), 0);
        json_t *info = json_object_get(j, "info");
        if (sets[i].target) {
            CHECK_STR(json_string_value(json_object_get(info, "target")), sets[i].target);
            CHECK_INT(json_integer_value(json_object_get(info, "clickedOne")), sets[i].positives);
        } else {
            CHECK(json_is_null(json_object_get(info, "target")));
        }
        json_decref(j);
        ingest_result_free(&r);
    }
    struct ingest_result r;
    if (load(test_data_file("deepctr_avazu_sample/avazu_sample.csv"), NULL, &r) == 0) {
        /* 19-20 digit ids are beyond 2^53: kept as their text, all distinct */
        const struct column *id = col(&r, "id");
        CHECK_INT(id->type, COL_ID);
        CHECK_INT(id->storage, COL_DICT);
        CHECK_INT(id->distinct, 100);
        CHECK_STR(strdict_str(&id->dict, id->codes[0]), "1000009418151094273");
        CHECK_INT(col(&r, "site_id")->type, COL_CATEGORICAL);
        CHECK_INT(col(&r, "C1")->type, COL_NUMERIC);
        CHECK_INT(count_issues(&r, "constant_column"), 1);
        ingest_result_free(&r);
    }
    if (load(test_data_file("deepctr_criteo_sample/criteo_sample.csv"), NULL, &r) == 0) {
        CHECK_INT(col(&r, "I1")->type, COL_NUMERIC);
        CHECK_INT(col(&r, "C1")->type, COL_CATEGORICAL);
        size_t missing = 0;
        for (size_t c = 0; c < r.table.ncols; c++)
            missing += r.table.cols[c].missing;
        CHECK_INT(missing, 1101);
        CHECK_INT(count_issues(&r, "mostly_missing"), 2);
        ingest_result_free(&r);
    }
}

static struct ingest_result parse(const char *text, const struct ingest_options *o)
{
    struct ingest_result r;
    int rv = ingest_csv(text, strlen(text), o, &r);
    if (rv != 0)
        UNIT_FAIL("ingest_csv = %d", rv);
    return r;
}

static void test_type_inference(void)
{
    struct ingest_result r =
        parse("n,flag,b,when,mixed,words,na,inf,thousands\n"
              "1,0,yes,2024-01-31,5,Hello there my friend,NA,inf,\"1,000\"\n"
              "2.5,1,No,2024-02-29T12:30:00Z,x7,Some other long sentence,,-Infinity,\"2,000\"\n"
              "-3e2,1,YES,2024/03/01 01:02:03.5+09:00,6,Again with spaces here,null,1.5,3\n"
              "+.5,0,no,,NaN,Yet another phrase with words,N/A,2,4\n",
              NULL);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(col(&r, "n")->type, COL_NUMERIC);
    CHECK_NEAR(col(&r, "n")->f64[2], -300, 0);
    CHECK_NEAR(col(&r, "n")->f64[3], 0.5, 0);
    CHECK_INT(col(&r, "flag")->type, COL_NUMERIC); /* 0/1 stays numeric */
    const struct column *b = col(&r, "b");
    CHECK_INT(b->type, COL_BOOLEAN);
    CHECK_INT(b->dict.count, 2);
    CHECK_STR(strdict_str(&b->dict, 0), "No");
    CHECK_STR(strdict_str(&b->dict, 1), "yes");
    CHECK_INT(b->codes[0], 1);
    CHECK_INT(b->codes[3], 0);
    const struct column *w = col(&r, "when");
    CHECK_INT(w->type, COL_DATETIME);
    CHECK_NEAR(w->f64[0], 1706659200, 0);   /* 2024-01-31T00:00:00Z */
    CHECK_NEAR(w->f64[1], 1709209800, 0);   /* 2024-02-29T12:30:00Z */
    CHECK_NEAR(w->f64[2], 1709222523.5, 0); /* 2024-03-01T01:02:03.5+09:00 */
    CHECK(isnan(w->f64[3]));
    /* numbers, then a string: strings with the original text of the earlier rows */
    const struct column *m = col(&r, "mixed");
    CHECK_INT(m->type, COL_CATEGORICAL);
    CHECK_STR(strdict_str(&m->dict, m->codes[0]), "5");
    CHECK_STR(strdict_str(&m->dict, m->codes[1]), "x7");
    CHECK_STR(strdict_str(&m->dict, m->codes[2]), "6");
    CHECK_INT(m->codes[3], TABLE_MISSING);
    CHECK_INT(col(&r, "words")->type, COL_TEXT);
    CHECK_INT(col(&r, "na")->missing, 4);
    CHECK_INT(col(&r, "inf")->type, COL_NUMERIC);
    CHECK(isinf(col(&r, "inf")->f64[0]) && col(&r, "inf")->f64[0] > 0);
    CHECK(isinf(col(&r, "inf")->f64[1]) && col(&r, "inf")->f64[1] < 0);
    CHECK_INT(col(&r, "thousands")->type, COL_CATEGORICAL);
    CHECK_INT(count_issues(&r, "mostly_missing"), 1);
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    json_t *cols = json_object_get(j, "columns");
    json_t *wc = json_array_get(cols, 3);
    CHECK_STR(json_string_value(json_object_get(wc, "type")), "datetime");
    CHECK_STR(json_string_value(json_object_get(wc, "min")), "2024-01-31T00:00:00Z");
    CHECK_STR(json_string_value(json_object_get(wc, "max")), "2024-02-29T16:02:03.500Z");
    json_t *ic = json_array_get(cols, 7);
    CHECK(json_is_null(json_object_get(ic, "min")));
    CHECK(json_is_null(json_object_get(ic, "mean")));
    json_t *row1 = json_array_get(json_object_get(j, "preview"), 1);
    CHECK(json_is_real(json_object_get(row1, "n")));
    CHECK_STR(json_string_value(json_object_get(row1, "when")), "2024-02-29T12:30:00Z");
    CHECK(json_is_false(json_object_get(row1, "b")));
    CHECK(json_is_null(json_object_get(row1, "na")));
    CHECK(json_is_null(json_object_get(row1, "inf")));
    CHECK_STR(json_string_value(json_object_get(row1, "mixed")), "x7");
    char *dump = json_dumps(j, 0);
    CHECK(dump != NULL && strstr(dump, ":nan") == NULL && strstr(dump, ":inf") == NULL &&
          strstr(dump, ":NaN") == NULL && strstr(dump, ":-inf") == NULL);
    free(dump);
    json_decref(j);
    ingest_result_free(&r);
}

static void test_ids_and_text(void)
{
    char text[8192];
    size_t k = (size_t)sprintf(text, "row,user_id,token,code,desc\n");
    for (int i = 0; i < 30; i++)
        k += (size_t)sprintf(text + k, "%d,%d,tok%04d,%d,%s\n", 100 + i, 7 * i + 3, i * 37, i % 3,
                             "\"a description that is long enough to be free text, surely\"");
    struct ingest_result r = parse(text, NULL);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(col(&r, "row")->type, COL_ID);     /* consecutive */
    CHECK_INT(col(&r, "user_id")->type, COL_ID); /* named like an id */
    CHECK_INT(col(&r, "user_id")->storage, COL_F64);
    CHECK_INT(col(&r, "token")->type, COL_ID); /* distinct short strings */
    CHECK_INT(col(&r, "token")->storage, COL_DICT);
    CHECK_INT(col(&r, "code")->type, COL_NUMERIC);
    CHECK_INT(col(&r, "desc")->type, COL_TEXT); /* long */
    CHECK_INT(count_issues(&r, "constant_column"), 1);
    ingest_result_free(&r);
}

/* values_only (aiops drift): the same values and string columns, numeric columns unsummarised */
static void test_values_only(void)
{
    char text[8192];
    size_t k = (size_t)sprintf(text, "row,x,cat,words\n");
    for (int i = 0; i < 30; i++)
        k += (size_t)sprintf(text + k, "%d,%s,%s,%s\n", 100 + i, i % 7 == 3 ? "" : "2.5",
                             i % 3 ? "a" : "b",
                             "\"a description that is long enough to be free text, surely\"");
    struct ingest_options o = {.values_only = 1};
    struct ingest_result full = parse(text, NULL), lean = parse(text, &o);
    CHECK_INT(lean.n_errors, 0);
    CHECK_INT(lean.table.nrows, 30);
    for (size_t c = 0; c < 2; c++) {
        const struct column *f = &full.table.cols[c], *l = &lean.table.cols[c];
        CHECK_INT(l->storage, COL_F64);
        CHECK_INT(l->type, COL_NUMERIC); /* "row" is an id when summarised */
        CHECK(isnan(l->min) && isnan(l->max) && isnan(l->mean));
        CHECK_INT(l->distinct, 0);
        for (size_t i = 0; i < 30; i++)
            CHECK(memcmp(&f->f64[i], &l->f64[i], sizeof(double)) == 0);
    }
    CHECK_INT(col(&full, "row")->type, COL_ID);
    CHECK_INT(col(&full, "x")->distinct, 1);
    CHECK_INT(col(&lean, "cat")->type, COL_CATEGORICAL);
    CHECK_INT(col(&lean, "cat")->distinct, 2);
    CHECK_INT(col(&lean, "words")->type, COL_TEXT);
    CHECK_INT(count_issues(&full, "constant_column"), 2); /* x and words */
    CHECK_INT(count_issues(&lean, "constant_column"), 1); /* x is not summarised */
    ingest_result_free(&full);
    ingest_result_free(&lean);
}

static void test_targets_and_warnings(void)
{
    struct ingest_result r = parse("a,Clicked,,c\n1,0,x,5\n2,1,y,5\n3,,z,5\n", NULL);
    CHECK_INT(r.n_errors, 0);
    CHECK_INT(r.target, 1);
    CHECK_STR(r.table.cols[2].name, "column_3");
    CHECK_INT(count_issues(&r, "empty_header"), 1);
    CHECK_INT(count_issues(&r, "constant_column"), 1);
    CHECK_INT(count_issues(&r, "target_missing_values"), 1);
    CHECK_INT(count_issues(&r, "no_target"), 0);
    for (size_t i = 0; i < r.n_issues; i++) {
        if (strcmp(r.issues[i].code, "constant_column") == 0) {
            CHECK_INT(r.issues[i].column, 4);
            CHECK_STR(r.issues[i].column_name, "c");
        }
        CHECK_INT(r.issues[i].severity, ISSUE_WARNING);
    }
    json_t *j;
    CHECK_INT(ingest_summary_json(&r, &j), 0);
    json_t *info = json_object_get(j, "info");
    CHECK_INT(json_integer_value(json_object_get(info, "clickedOne")), 1);
    CHECK_NEAR(json_real_value(json_object_get(info, "ctr")), 33.33, 1e-12);
    json_t *warn = json_object_get(json_object_get(j, "validation"), "warnings");
    CHECK_INT(json_array_size(warn), 3);
    json_t *w0 = json_array_get(warn, 0);
    CHECK_STR(json_string_value(json_object_get(w0, "code")), "empty_header");
    CHECK_INT(json_integer_value(json_object_get(w0, "column")), 3);
    CHECK_INT(json_integer_value(json_object_get(w0, "row")), 1);
    json_decref(j);
    ingest_result_free(&r);

    /* label beats target and y by the order of names, whatever the column order */
    r = parse("y,target,label\n1,2,3\n4,5,6\n", NULL);
    CHECK_INT(r.target, 2);
    ingest_result_free(&r);

    struct ingest_options o = {.target = "nope"};
    r = parse("a,b\n1,2\n", &o);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "unknown_target");
    CHECK_STR(r.issues[0].column_name, "nope");
    CHECK_INT(r.table.ncols, 0);
    CHECK_INT(r.target, -1);
    json_t *e;
    CHECK_INT(ingest_summary_json(&r, &e), 0);
    CHECK(json_is_false(json_object_get(json_object_get(e, "validation"), "isValid")));
    CHECK_INT(json_array_size(json_object_get(e, "preview")), 0);
    json_decref(e);
    ingest_result_free(&r);

    r = parse("a,b,a\n1,2,3\n", NULL);
    CHECK_INT(r.n_errors, 1);
    CHECK_STR(r.issues[0].code, "duplicate_header");
    CHECK_INT(r.issues[0].column, 3);
    CHECK_STR(r.issues[0].message, "column 3 repeats the name \"a\" of column 1");
    ingest_result_free(&r);

    o = (struct ingest_options){.delimiter = ';', .preview_rows = 2};
    r = parse("a;b\n1;x\n2;y\n3;z\n", &o);
    CHECK_INT(r.delimiter, ';');
    CHECK_INT(r.preview_n, 2);
    CHECK_STR(r.preview[3], "y");
    CHECK_INT(count_issues(&r, "no_target"), 1);
    ingest_result_free(&r);
}

/* 1 when numparse_f64, _pad8 and _pad16 all read s[0..k) (a number in strtod's syntax) as
 * strtod does, bit for bit, with the same flags; the padded forms get bytes after it that
 * look like more digits. */
static int parses_as_strtod(const char *s, size_t k)
{
    char copy[96], padded[96 + 16];
    if (k >= sizeof copy)
        return 0;
    memcpy(copy, s, k);
    copy[k] = '\0';
    memset(padded, '9', sizeof padded);
    memcpy(padded, s, k);
    double want = strtod(copy, NULL), got = -1, got8 = -2, got16 = -3;
    unsigned fl = 99, fl8 = 98, fl16 = 97;
    int ok = numparse_f64(copy, k, &got, &fl) && numparse_f64_pad8(padded, k, &got8, &fl8) &&
             numparse_f64_pad16(padded, k, &got16, &fl16);
    return ok && memcmp(&got, &want, 8) == 0 && memcmp(&got8, &want, 8) == 0 &&
           memcmp(&got16, &want, 8) == 0 && fl == fl8 && fl == fl16;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The forms CSV writers produce: random doubles of every magnitude (subnormals included)
 * printed with 1 to 17 significant digits in %g / %e / %f, with and without a sign, and
 * random short decimals with leading and trailing zeros -- 3,000,000 strings, seeded. */
static void test_numparse_printed(void)
{
    uint64_t s = 0x2545f4914f6cdd1dull;
    long bad = 0;
    char buf[400];
    for (long i = 0; i < 3000000; i++) {
        uint64_t x = xorshift(&s), bits = xorshift(&s);
        double d;
        int k;
        if (x % 4 == 0) {
            /* any finite double, subnormals and the extremes included */
            memcpy(&d, &bits, 8);
            if (!isfinite(d))
                d = 1.0;
            k = snprintf(buf, sizeof buf, (x >> 2) & 1 ? "%.*e" : "%.*g", (int)((x >> 3) % 17) + 1,
                         d);
        } else if (x % 4 == 1) {
            /* values near 1 at 6 significant digits and so on: pandas' and numpy's output */
            d = (double)(bits >> 11) / 9007199254740992.0 * pow(10.0, (double)((x >> 2) % 13) - 6);
            if ((x >> 6) & 1)
                d = -d;
            k = snprintf(buf, sizeof buf, "%.*g", (int)((x >> 7) % 17) + 1, d);
        } else if (x % 4 == 2) {
            /* fixed decimals: leading zeros, trailing zeros, up to 20 decimals */
            d = (double)(bits >> 11) / 9007199254740992.0 * pow(10.0, (double)((x >> 2) % 9) - 3);
            k = snprintf(buf, sizeof buf, (x >> 6) & 1 ? "-%.*f" : "%.*f", (int)((x >> 7) % 21), d);
        } else {
            /* digit strings: 1..24 digits, a '.' anywhere (or none), an optional '-' */
            size_t n = 1 + (size_t)((x >> 2) % 24), j = 0;
            if ((x >> 7) & 1)
                buf[j++] = '-';
            size_t dot = (x >> 8) % 3 ? (size_t)((x >> 10) % (n + 1)) : (size_t)-1;
            for (size_t q = 0; q < n; q++) {
                if (q == dot)
                    buf[j++] = '.';
                buf[j++] = (char)('0' + xorshift(&s) % 10);
            }
            if (dot == n)
                buf[j++] = '.';
            k = (int)j;
            buf[k] = '\0';
        }
        if (k <= 0 || (size_t)k >= 96)
            continue;
        if (!parses_as_strtod(buf, (size_t)k) && bad++ < 5)
            UNIT_FAIL("%s: not read as strtod reads it", buf);
    }
    CHECK_INT(bad, 0);
    /* the edges: more digits than a double holds, subnormals, overflow, signs, zeros */
    const char *edges[] = {"0",
                           "-0",
                           "0.0",
                           "-0.000",
                           "00000000000000000000001",
                           "9007199254740993",
                           "9007199254740992.5",
                           "123456789012345",
                           "1234567890123456",
                           "12345678.9012345",
                           "1234567.89012345",
                           "1234567.8901234",
                           "0.123456789012345",
                           "-1.08769",
                           "12345678",
                           "123456789",
                           "-99999999",
                           "99999999.",
                           ".99999999",
                           "1.7976931348623157e308",
                           "1.7976931348623159e308",
                           "1e308",
                           "2e308",
                           "4.9406564584124654e-324",
                           "2.4703282292062328e-324",
                           "2.4703282292062327e-324",
                           "1e-324",
                           "2.2250738585072011e-308",
                           "2.2250738585072014e-308",
                           "123456789012345678901234567890e-30",
                           "0.30000000000000004",
                           "1.00000000000000011102230246251565404236316680908203125",
                           "1.00000000000000011102230246251565404236316680908203124",
                           "-7.2057594037927933e16",
                           "1e22",
                           "1e23",
                           "8.5e-5",
                           "5e-1",
                           "+5.5"};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        if (!parses_as_strtod(edges[i], strlen(edges[i])))
            UNIT_FAIL("%s: not read as strtod reads it", edges[i]);
    /* what is not a number is not one to the short form either */
    const char *no[] = {"-", ".", "-.", "1.2.3", "1..2", "--1", "1-2", "1 2", "1,5", "0x1f",
                        "12345678901234.5e", "\xef\xbc\x91", "1.5\x01"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        char padded[64];
        double v;
        memset(padded, '7', sizeof padded);
        memcpy(padded, no[i], strlen(no[i]));
        if (numparse_f64_pad16(padded, strlen(no[i]), &v, NULL))
            UNIT_FAIL("\"%s\" parsed as a number", no[i]);
    }
}

static void test_numparse_exact(void)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    long bad = 0;
    char buf[64];
    for (long i = 0; i < 1000000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint64_t x = s;
        size_t k = 0;
        if (x % 3 == 0)
            buf[k++] = (x >> 2) & 1 ? '-' : '+';
        x >>= 3;
        int nd = 1 + (int)(x % 22);
        x >>= 5;
        int dot = (x & 3) ? (int)((x >> 2) % (uint64_t)(nd + 1)) : -1;
        x >>= 8;
        for (int d = 0; d < nd; d++) {
            if (d == dot)
                buf[k++] = '.';
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buf[k++] = (char)('0' + s % 10);
        }
        if (dot == nd)
            buf[k++] = '.';
        if ((x & 3) == 0) {
            buf[k++] = 'e';
            if (x & 4)
                buf[k++] = '-';
            k += (size_t)sprintf(buf + k, "%d", (int)((x >> 3) % 330));
        }
        buf[k] = '\0';
        if (!parses_as_strtod(buf, k) && bad++ < 5)
            UNIT_FAIL("%s: not read as strtod reads it", buf);
    }
    CHECK_INT(bad, 0);
    double v;
    unsigned fl = 0;
    const char *no[] = {"",    "+",     "-",    ".",     "e5",    "1e",
                        "1e+", "1,000", "0x10", "nan",   "1.2.3", "--1",
                        "1 2", "inf5",  "+-1",  "1e5.0", "1_000", "\xef\xbc\x91"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (numparse_f64(no[i], strlen(no[i]), &v, NULL))
            UNIT_FAIL("\"%s\" parsed as a number", no[i]);
    /* found by fuzzing: a NUL where the word "inf" ends was read past the word */
    CHECK(!numparse_f64("inf\0\0", 5, &v, NULL));
    CHECK(!numparse_f64("infinity\0\0", 10, &v, NULL));
    CHECK(numparse_f64(" 12 ", 4, &v, &fl) && v == 12 && fl == NUMPARSE_INTEGER);
    CHECK(numparse_f64("-0", 2, &v, &fl) && v == 0 && signbit(v));
    CHECK(numparse_f64("1e400", 5, &v, &fl) && isinf(v) && fl == 0);
    CHECK(numparse_f64("Infinity", 8, &v, &fl) && isinf(v) && fl == NUMPARSE_INF);
    CHECK(numparse_f64("123456789012345678901234567890", 30, &v, &fl) &&
          v == 1.2345678901234568e29);
    CHECK(numparse_f64("0.000000000000000000000000000001", 32, &v, &fl) && v == 1e-30);
}

static void test_numparse_words(void)
{
    const char *na[] = {"",     "#N/A",   "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN",
                        "-nan", "1.#IND", "1.#QNAN",  "<NA>", "N/A",     "NA",       "NULL",
                        "NaN",  "None",   "n/a",      "nan",  "null"};
    for (size_t i = 0; i < sizeof na / sizeof na[0]; i++)
        CHECK(numparse_is_na(na[i], strlen(na[i])));
    CHECK(!numparse_is_na("na", 2));
    CHECK(!numparse_is_na(" NA", 3));
    CHECK(!numparse_is_na("none", 4));
    CHECK_INT(numparse_bool("TRUE", 4), 1);
    CHECK_INT(numparse_bool("f", 1), 0);
    CHECK_INT(numparse_bool("No", 2), 0);
    CHECK_INT(numparse_bool("Y", 1), 1);
    CHECK_INT(numparse_bool("1", 1), -1);
    CHECK_INT(numparse_bool("nope", 4), -1);
    double t;
    CHECK(numparse_datetime("1970-01-01", 10, &t) && t == 0);
    CHECK(numparse_datetime("2000-02-29T23:59:59Z", 20, &t) && t == 951868799);
    CHECK(numparse_datetime("1969-12-31 23:00:00-01:00", 25, &t) && t == 0);
    CHECK(numparse_datetime("2020/1/2", 8, &t) && t == 1577923200);
    CHECK(numparse_datetime("2020-01-02T03:04", 16, &t) && t == 1577934240);
    CHECK(numparse_datetime("2020-01-02T03:04:05+0530", 24, &t) && t == 1577934245 - 19800);
    const char *bad[] = {"2021-02-29",    "2020-13-01",
                         "2020-00-10",    "2020-01-32",
                         "20200101",      "2020-01-01T24:00",
                         "2020-01-01T12", "2020-01-01x",
                         "2020-01/01",    "2020-01-01T10:00:00+25:00",
                         "12:30",         "2020-01-01T10:00:00.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (numparse_datetime(bad[i], strlen(bad[i]), &t))
            UNIT_FAIL("\"%s\" parsed as a datetime", bad[i]);
    char iso[40];
    numparse_format_datetime(iso, sizeof iso, -1.5);
    CHECK_STR(iso, "1969-12-31T23:59:58.500Z");
    numparse_format_datetime(iso, sizeof iso, 951868799);
    CHECK_STR(iso, "2000-02-29T23:59:59Z");
    numparse_format_datetime(iso, sizeof iso, NAN);
    CHECK_STR(iso, "");
}

UNIT_MAIN(UNIT(test_adult), UNIT(test_diamonds), UNIT(test_penguins_iris), UNIT(test_bank_ctr),
          UNIT(test_other_datasets), UNIT(test_type_inference), UNIT(test_ids_and_text),
          UNIT(test_values_only), UNIT(test_targets_and_warnings), UNIT(test_numparse_exact), UNIT(test_numparse_printed),
          UNIT(test_numparse_words))
