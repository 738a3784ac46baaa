/* Unit tests for lib/data/profile.c: hand-built tables with known answers, then real datasets
 * through lib/data/ingest.c. Reference numbers come from pandas 1.5.3 / numpy 1.24.2
 * (/usr/bin/python3); each block quotes the expression. */

#include <jansson.h>

#include "core/err.h"
#include "data/ingest.h"
#include "data/profile.h"
#include "data/table.h"
#include "testdata.h"
#include "unit.h"

/* --- building tables by hand --------------------------------------------------------- */

/* A table of nrows rows and no columns yet (add_f64, add_str). */
static struct table empty_table(size_t nrows)
{
    struct table t = {0};
    t.nrows = nrows;
    return t;
}

static struct column *add_col(struct table *t, const char *name, enum col_type type,
                              enum col_storage st)
{
    t->cols = realloc(t->cols, (t->ncols + 1) * sizeof *t->cols);
    struct column *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->type = type;
    c->storage = st;
    strdict_init(&c->dict);
    return c;
}

static void add_f64(struct table *t, const char *name, enum col_type type, const double *v)
{
    struct column *c = add_col(t, name, type, COL_F64);
    c->f64 = malloc((t->nrows ? t->nrows : 1) * sizeof *c->f64);
    memcpy(c->f64, v, t->nrows * sizeof *v);
}

/* v[r] == NULL is missing */
static void add_str(struct table *t, const char *name, enum col_type type, const char *const *v)
{
    struct column *c = add_col(t, name, type, COL_DICT);
    c->codes = malloc((t->nrows ? t->nrows : 1) * sizeof *c->codes);
    for (size_t r = 0; r < t->nrows; r++) {
        c->codes[r] = TABLE_MISSING;
        if (v[r])
            CHECK_INT(strdict_intern(&c->dict, v[r], strlen(v[r]), &c->codes[r]), 0);
    }
    strdict_freeze(&c->dict);
}

static json_t *col_by_name(json_t *doc, const char *name)
{
    return json_find_by(doc, "columns", "name", name);
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* Entry i of arr (class_balance, top_values) names `name` under key and counts count. */
static void check_counted(json_t *arr, size_t i, const char *key, const char *name, long long count)
{
    json_t *e = json_array_get(arr, i);
    const char *got = json_string_value(json_object_get(e, key));
    if (got == NULL || strcmp(got, name) != 0)
        UNIT_FAIL("entry %zu: %s is \"%s\", expected \"%s\"", i, key, got ? got : "(none)", name);
    CHECK_INT(json_integer_value(json_object_get(e, "count")), count);
}

static json_t *find_leak(json_t *doc, const char *col, const char *reason)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(doc, "leakage"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "column")), col) == 0 &&
            strcmp(json_string_value(json_object_get(l, "reason")), reason) == 0)
            return l;
    }
    return NULL;
}

/* 40 rows; row 39 repeats row 38. y = "yes" on every third row. x has one outlier (100),
 * x2 = 2x + 1, leak is ~y shifted by 1000, reason is present exactly on the "yes" rows,
 * color is unrelated to y. */
static void build_small(struct table *t)
{
    enum { N = 40 };
    static const char *const colors[] = {"red", "green", "blue"};
    static const char *const reasons[] = {"late_payment", "fraud"};
    double x[N], x2[N], leak[N], cst[N];
    const char *y[N], *color[N], *reason[N];
    memset(t, 0, sizeof *t);
    t->nrows = N;
    for (int i = 0; i < N; i++) {
        int k = i == 39 ? 38 : i;
        int yes = k % 3 == 0;
        x[i] = (k * 7) % 13 + 0.5 * (k % 2);
        if (k == 5)
            x[i] = 100.0;
        x2[i] = 2 * x[i] + 1;
        leak[i] = yes ? 1000.0 + k : (double)k;
        y[i] = yes ? "yes" : "no";
        color[i] = colors[(k / 2) % 3];
        reason[i] = yes ? reasons[k % 2] : NULL;
        cst[i] = 4.25;
    }
    add_f64(t, "x", COL_NUMERIC, x);
    add_f64(t, "x2", COL_NUMERIC, x2);
    add_f64(t, "leak", COL_NUMERIC, leak);
    add_str(t, "color", COL_CATEGORICAL, color);
    add_str(t, "reason", COL_CATEGORICAL, reason);
    add_f64(t, "constant", COL_NUMERIC, cst);
    add_str(t, "y", COL_CATEGORICAL, y);
}

static void test_small_table_known_answers(void)
{
    struct table t;
    build_small(&t);
    json_t *doc = NULL;
    CHECK_INT(profile_compute(&t, 6, NULL, &doc), 0);
    if (doc == NULL)
        return;
    CHECK_INT(json_integer_value(json_object_get(doc, "rows")), 40);
    CHECK_INT(json_integer_value(json_object_get(doc, "column_count")), 7);
    CHECK_STR(json_string_value(json_object_get(doc, "target")), "y");
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "binary");
    CHECK_INT(json_integer_value(json_object_get(doc, "target_missing")), 0);

    /* class balance in label order: no (27), yes (13: k = 0, 3, ..., 36; row 39 repeats
     * row 38, a "no") */
    json_t *cb = json_object_get(doc, "class_balance");
    CHECK_INT(json_array_size(cb), 2);
    check_counted(cb, 0, "class", "no", 27);
    check_counted(cb, 1, "class", "yes", 13);
    CHECK_NEAR(num(json_array_get(cb, 1), "pct"), 32.5, 1e-12);
    CHECK_NEAR(num(doc, "imbalance_ratio"), 27.0 / 13.0, 1e-15);

    /* df.duplicated().sum() == 1 */
    json_t *dup = json_object_get(doc, "duplicates");
    CHECK_INT(json_integer_value(json_object_get(dup, "rows")), 1);
    CHECK_NEAR(num(dup, "pct"), 2.5, 1e-12);

    /* x: x.mean(), x.std(), x.skew(), x.kurt(), np.quantile(x, [...]), IQR and |z| > 3
     * outliers: 1 and 1, np.histogram(x, bins=20)[0] */
    json_t *xc = col_by_name(doc, "x");
    CHECK_STR(json_string_value(json_object_get(xc, "type")), "numeric");
    CHECK_NEAR(num(xc, "mean"), 8.5, 1e-13);
    CHECK_NEAR(num(xc, "std"), 15.313392831113555, 1e-12);
    CHECK_NEAR(num(xc, "skewness"), 5.725473452729337, 1e-12);
    CHECK_NEAR(num(xc, "kurtosis"), 34.89610343014487, 1e-10);
    json_t *q = json_object_get(xc, "quantiles");
    CHECK(num(q, "p1") == 0.0);
    CHECK(num(q, "p5") == 0.4750000000000001);
    CHECK(num(q, "p25") == 3.0 && num(q, "p50") == 6.0 && num(q, "p75") == 9.625);
    CHECK(num(q, "p95") == 12.5);
    CHECK(num(q, "p99") == 65.87499999999994);
    CHECK_NEAR(num(xc, "iqr"), 6.625, 1e-15);
    CHECK_INT(json_integer_value(json_object_get(xc, "outliers_iqr")), 1);
    CHECK_INT(json_integer_value(json_object_get(xc, "outliers_zscore")), 1);
    CHECK_INT(json_integer_value(json_object_get(xc, "zeros")), 2); /* k = 0 and 26 */
    json_t *hc = json_object_get(json_object_get(xc, "histogram"), "counts");
    static const int want_h[20] = {15, 15, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK_INT(json_array_size(hc), 20);
    for (size_t i = 0; i < 20; i++)
        CHECK_INT(json_integer_value(json_array_get(hc, i)), want_h[i]);
    CHECK_INT(json_array_size(json_object_get(json_object_get(xc, "histogram"), "edges")), 21);
    CHECK(json_object_get(xc, "target_auc") != NULL);

    /* the leaking column and the column present only for "yes" */
    json_t *l = find_leak(doc, "leak", "separates_target");
    CHECK(l != NULL);
    CHECK_NEAR(num(l, "score"), 1.0, 0);
    CHECK_NEAR(num(col_by_name(doc, "leak"), "target_auc"), 1.0, 0);
    l = find_leak(doc, "reason", "present_only_for_one_class");
    CHECK(l != NULL);
    CHECK_NEAR(num(l, "score"), 1.0, 0);
    CHECK(find_leak(doc, "reason", "separates_target") != NULL); /* missing itself is pure */
    CHECK(find_leak(doc, "color", "separates_target") == NULL);
    CHECK(find_leak(doc, "x", "separates_target") == NULL);
    CHECK(find_leak(doc, "y", "separates_target") == NULL);

    /* categorical top values: reason has 13 values, late_payment on even k (0, 6, ..., 36:
     * 7) and fraud on odd k (6), missing 27 */
    json_t *rc = col_by_name(doc, "reason");
    CHECK_INT(json_integer_value(json_object_get(rc, "missing")), 27);
    CHECK_INT(json_integer_value(json_object_get(rc, "distinct")), 2);
    json_t *tv = json_object_get(rc, "top_values");
    CHECK_INT(json_array_size(tv), 2);
    check_counted(tv, 0, "value", "late_payment", 7);
    check_counted(tv, 1, "value", "fraud", 6);
    CHECK_NEAR(num(json_array_get(tv, 0), "pct"), 53.85, 1e-12); /* of the 13 present */

    /* missing table: reason first (27), the rest 0 in column order */
    json_t *mj = json_object_get(doc, "missing");
    CHECK_INT(json_integer_value(json_object_get(mj, "cells")), 27);
    CHECK_INT(json_integer_value(json_object_get(mj, "rows_with_missing")), 27);
    json_t *mc = json_object_get(mj, "columns");
    CHECK_STR(json_string_value(json_object_get(json_array_get(mc, 0), "column")), "reason");
    CHECK_NEAR(num(json_array_get(mc, 0), "missing_pct"), 67.5, 1e-12);
    CHECK_STR(json_string_value(json_object_get(json_array_get(mc, 1), "column")), "x");

    /* correlations: numeric columns x, x2, leak, constant; x ~ x2 exactly; constant null;
     * df.x.corr(df.leak) == -0.10801465334176542 */
    json_t *cr = json_object_get(doc, "correlations");
    CHECK_STR(json_string_value(json_object_get(cr, "method")), "pearson");
    json_t *feat = json_object_get(cr, "features");
    CHECK_INT(json_array_size(feat), 4);
    CHECK_STR(json_string_value(json_array_get(feat, 3)), "constant");
    json_t *mat = json_object_get(cr, "matrix");
    CHECK_NEAR(json_number_value(json_array_get(json_array_get(mat, 0), 1)), 1.0, 1e-14);
    CHECK_NEAR(json_number_value(json_array_get(json_array_get(mat, 0), 2)), -0.10801465334176542,
               1e-13);
    CHECK(json_is_null(json_array_get(json_array_get(mat, 3), 3)));
    CHECK(json_is_null(json_array_get(json_array_get(mat, 0), 3)));
    json_t *tp = json_object_get(cr, "top_pairs");
    CHECK_INT(json_array_size(tp), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tp, 0), "a")), "x");
    CHECK_STR(json_string_value(json_object_get(json_array_get(tp, 0), "b")), "x2");
    json_t *cc = col_by_name(doc, "constant");
    CHECK(num(cc, "std") == 0 && num(cc, "skewness") == 0);
    CHECK_INT(json_integer_value(json_object_get(cc, "distinct")), 1);
    CHECK(json_is_array(json_object_get(doc, "notes")));
    json_decref(doc);
    table_free(&t);
}

static void test_multiclass_and_regression_leaks(void)
{
    enum { N = 300 };
    struct table t = empty_table(N);
    double cls[N], sep[N], noise[N], yreg[N], lin[N];
    uint64_t st = 12345;
    for (int i = 0; i < N; i++) {
        double u = lcg_unit(&st);
        cls[i] = 1 + i % 3;
        sep[i] = cls[i] * 10 + u; /* disjoint ranges per class */
        noise[i] = u;
        yreg[i] = u * 7 + (i % 5);
        lin[i] = i % 17 == 0 ? NAN : 3 * yreg[i] - 2;
    }
    add_f64(&t, "sep", COL_NUMERIC, sep);
    add_f64(&t, "noise", COL_NUMERIC, noise);
    add_f64(&t, "cls", COL_NUMERIC, cls);
    add_f64(&t, "yreg", COL_NUMERIC, yreg);
    add_f64(&t, "lin", COL_NUMERIC, lin);
    json_t *doc = NULL;
    CHECK_INT(profile_compute(&t, 2, NULL, &doc), 0);
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "multiclass");
    CHECK_INT(json_array_size(json_object_get(doc, "class_balance")), 3);
    CHECK_STR(json_string_value(json_object_get(
                  json_array_get(json_object_get(doc, "class_balance"), 2), "class")),
              "3");
    CHECK(find_leak(doc, "sep", "separates_target") != NULL);
    CHECK(find_leak(doc, "noise", "separates_target") == NULL);
    CHECK(json_object_get(col_by_name(doc, "sep"), "target_auc") == NULL);
    json_decref(doc);

    CHECK_INT(profile_compute(&t, 3, NULL, &doc), 0);
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "regression");
    CHECK(json_is_null(json_object_get(doc, "class_balance")));
    json_t *l = find_leak(doc, "lin", "separates_target");
    CHECK(l != NULL);
    CHECK_NEAR(num(l, "score"), 1.0, 1e-12);
    CHECK(find_leak(doc, "noise", "separates_target") == NULL);
    json_decref(doc);

    CHECK_INT(profile_compute(&t, -1, NULL, &doc), 0);
    CHECK(json_is_null(json_object_get(doc, "target")));
    CHECK(json_is_null(json_object_get(doc, "task")));
    CHECK_INT(json_array_size(json_object_get(doc, "leakage")), 0);
    json_decref(doc);
    table_free(&t);
}

static void test_edge_tables(void)
{
    json_t *doc = NULL;
    struct table t = {0};
    /* no columns, no rows */
    CHECK_INT(profile_compute(&t, -1, NULL, &doc), 0);
    CHECK_INT(json_integer_value(json_object_get(doc, "rows")), 0);
    CHECK_INT(json_array_size(json_object_get(json_object_get(doc, "correlations"), "matrix")), 0);
    json_decref(doc);
    CHECK_INT(profile_compute(&t, 0, NULL, &doc), AIOPS_EINVAL);
    CHECK(doc == NULL);

    /* every value missing, infinities, invalid UTF-8, text lengths, a numeric id */
    t.nrows = 4;
    double allnan[] = {NAN, NAN, NAN, NAN}, inf[] = {1, INFINITY, -INFINITY, 2};
    double ids[] = {10, 11, 12, 12};
    const char *txt[] = {"h\xc3\xa9llo", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", NULL, "x"};
    const char *badutf[] = {"ok", "b\377ad", "ok", NULL}; /* \377: never valid UTF-8 */
    add_f64(&t, "empty", COL_NUMERIC, allnan);
    add_f64(&t, "inf", COL_NUMERIC, inf);
    add_f64(&t, "id", COL_ID, ids);
    add_str(&t, "text", COL_TEXT, txt);
    add_str(&t, "b\376name", COL_CATEGORICAL, badutf);
    CHECK_INT(profile_compute(&t, -1, NULL, &doc), 0);
    json_t *e = col_by_name(doc, "empty");
    CHECK(json_is_null(json_object_get(e, "mean")));
    CHECK(json_is_null(json_object_get(e, "histogram")));
    CHECK_INT(json_integer_value(json_object_get(e, "missing")), 4);
    json_t *ic = col_by_name(doc, "inf");
    CHECK(json_is_null(json_object_get(ic, "mean")));
    CHECK(json_is_null(json_object_get(ic, "max")));
    json_t *h = json_object_get(json_object_get(ic, "histogram"), "edges");
    CHECK_NEAR(json_number_value(json_array_get(h, 0)), 1.0, 0); /* finite values only */
    json_t *idc = col_by_name(doc, "id");
    json_t *tv = json_object_get(idc, "top_values");
    check_counted(tv, 0, "value", "12", 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(tv, 1), "value")), "10");
    json_t *tc = col_by_name(doc, "text");
    CHECK_NEAR(num(tc, "mean_length"), (5 + 3 + 1) / 3.0, 1e-15); /* code points */
    CHECK_INT(json_integer_value(json_object_get(tc, "max_length")), 5);
    json_t *bc = col_by_name(doc, "b\xef\xbf\xbdname"); /* U+FFFD for the bad byte */
    CHECK(bc != NULL);
    json_t *btv = json_object_get(bc, "top_values");
    CHECK_STR(json_string_value(json_object_get(json_array_get(btv, 0), "value")), "ok");
    const char *fixed = json_string_value(json_object_get(json_array_get(btv, 1), "value"));
    CHECK_STR(fixed, "b\357\277\275ad");
    json_decref(doc);

    /* a dictionary code past the dictionary is refused */
    t.cols[3].codes[0] = 77;
    CHECK_INT(profile_compute(&t, -1, NULL, &doc), AIOPS_EINVAL);
    CHECK(doc == NULL);
    table_free(&t);
}

static void test_target_edge_cases(void)
{
    struct table t = empty_table(6);
    const char *y1[] = {"a", "a", NULL, "a", "a", "a"};
    const char *b1[] = {"true", "true", "true", NULL, "true", "true"};
    double d[] = {1e9, 1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5};
    add_str(&t, "one", COL_CATEGORICAL, y1);
    add_str(&t, "bool", COL_BOOLEAN, b1);
    add_f64(&t, "when", COL_DATETIME, d);
    json_t *doc = NULL;
    CHECK_INT(profile_compute(&t, 0, NULL, &doc), 0);
    CHECK(json_is_null(json_object_get(doc, "task")));
    CHECK_INT(json_integer_value(json_object_get(doc, "target_missing")), 1);
    CHECK_INT(json_array_size(json_object_get(doc, "notes")), 1);
    json_decref(doc);
    /* a boolean with one class present is still binary (as in the upload summary) */
    CHECK_INT(profile_compute(&t, 1, NULL, &doc), 0);
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "binary");
    CHECK_INT(json_array_size(json_object_get(doc, "class_balance")), 1);
    json_t *w = col_by_name(doc, "when");
    CHECK_STR(json_string_value(json_object_get(w, "min_iso")),
              "2001-09-09T01:46:40Z"); /* as the upload summary writes it */
    json_decref(doc);
    CHECK_INT(profile_compute(&t, 2, NULL, &doc), 0);
    CHECK(json_is_null(json_object_get(doc, "task")));
    json_decref(doc);
    table_free(&t);
}

/* Same input, same bytes: with one thread and with two, repeatedly. */
static void test_deterministic_across_threads(void)
{
    enum { N = 60000 };
    struct table t = empty_table(N);
    double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    const char **s = malloc(N * sizeof *s);
    static const char *const words[] = {"alpha", "beta", "gamma", "delta"};
    uint64_t st = 99;
    for (int i = 0; i < N; i++) {
        a[i] = (double)(lcg_next(&st) >> 40) / 1000.0;
        b[i] = i % 9 == 0 ? NAN : a[i] * 0.5 + (double)(i % 100);
        s[i] = words[(st >> 20) % 4];
    }
    add_f64(&t, "a", COL_NUMERIC, a);
    add_f64(&t, "b", COL_NUMERIC, b);
    add_str(&t, "s", COL_CATEGORICAL, (const char *const *)s);
    for (int i = 0; i < N; i++)
        s[i] = (i % 3 == 0) ? "yes" : "no";
    add_str(&t, "y", COL_CATEGORICAL, (const char *const *)s);
    char *first = NULL;
    for (unsigned th = 1; th <= 100; th *= 10) /* 1, 10, 100: capped at 8 and the job count */
        for (int rep = 0; rep < 2; rep++) {
            struct profile_options o = {.threads = th};
            json_t *doc = NULL;
            CHECK_INT(profile_compute(&t, 3, &o, &doc), 0);
            char *dump = json_dumps(doc, JSON_COMPACT);
            json_decref(doc);
            if (first == NULL)
                first = dump;
            else {
                CHECK_STR(dump, first);
                free(dump);
            }
        }
    free(first);
    free(a);
    free(b);
    free(s);
    table_free(&t);
}

/* --- real datasets ------------------------------------------------------------------- */

/* NULL when path is NULL (test_data_file marked the test skipped) or after a failed check. */
static json_t *profile_file(const char *path, const char *target)
{
    if (path == NULL)
        return NULL;
    struct ingest_options io = {0};
    io.target = target;
    struct ingest_result r;
    int rv = ingest_csv_file(path, &io, &r);
    CHECK_INT(rv, 0);
    CHECK_INT(r.n_errors, 0);
    json_t *doc = NULL;
    if (rv == 0 && r.n_errors == 0)
        CHECK_INT(profile_compute(&r.table, r.target, NULL, &doc), 0);
    ingest_result_free(&r);
    return doc;
}

static void test_bank_marketing(void)
{
    const char *path = test_data_file("uci_bank_marketing/bank.csv");
    if (path == NULL)
        return;
    /* count the classes straight from the file: the last field of each line */
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    char line[4096];
    long yes = 0, no = 0, lines = 0;
    while (fgets(line, sizeof line, f)) {
        if (lines++ == 0)
            continue;
        char *comma = strrchr(line, ',');
        if (comma && strncmp(comma, ",yes", 4) == 0)
            yes++;
        else if (comma && strncmp(comma, ",no", 3) == 0)
            no++;
    }
    fclose(f);
    CHECK_INT(yes + no, 4521);
    json_t *doc = profile_file(path, "y");
    if (doc == NULL)
        return;
    CHECK_INT(json_integer_value(json_object_get(doc, "rows")), 4521);
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "binary");
    json_t *cb = json_object_get(doc, "class_balance");
    CHECK_INT(json_array_size(cb), 2);
    check_counted(cb, 0, "class", "no", no);
    check_counted(cb, 1, "class", "yes", yes);
    CHECK_NEAR(num(json_array_get(cb, 1), "pct"), 11.52, 1e-12); /* 521 / 4521 */
    CHECK_NEAR(num(doc, "imbalance_ratio"), 4000.0 / 521.0, 1e-12);
    /* bank.duplicated().sum() == 0; bank.age.mean/std/skew/kurt, quantile(0.99) */
    CHECK_INT(json_integer_value(json_object_get(json_object_get(doc, "duplicates"), "rows")), 0);
    json_t *age = col_by_name(doc, "age");
    CHECK_NEAR(num(age, "mean"), 41.17009511170095, 1e-12);
    CHECK_NEAR(num(age, "std"), 10.576210958711275, 1e-12);
    CHECK_NEAR(num(age, "skewness"), 0.6995014533559305, 1e-12);
    CHECK_NEAR(num(age, "kurtosis"), 0.3487754872611486, 1e-12);
    CHECK_NEAR(num(json_object_get(age, "quantiles"), "p99"), 72.0, 0);
    /* duration is the textbook near-leak: visible through its AUC, below the 0.98 bar */
    double dauc = num(col_by_name(doc, "duration"), "target_auc");
    CHECK(dauc > 0.8 && dauc < 0.98);
    CHECK(find_leak(doc, "duration", "separates_target") == NULL);
    json_t *job = col_by_name(doc, "job");
    CHECK(json_array_size(json_object_get(job, "top_values")) == 12);
    json_decref(doc);
}

static void test_breast_cancer_correlations(void)
{
    /* bc = pd.read_csv(".../breast_cancer.csv"); c = bc.corr(); c.loc[a, b] */
    static const struct {
        const char *a, *b;
        double r;
    } want[] = {
        {"mean_radius", "mean_perimeter", 0.9978552814938109},
        {"mean_radius", "mean_texture", 0.32378189092773324},
        {"worst_area", "mean_smoothness", 0.20671836342857688},
        {"mean_fractal_dimension", "target", 0.0128376026984319},
        {"radius_error", "worst_concavity", 0.38058463462872194},
    };
    json_t *doc = profile_file(test_data_file("sklearn_breast_cancer/breast_cancer.csv"), "target");
    if (doc == NULL)
        return;
    CHECK_STR(json_string_value(json_object_get(doc, "task")), "binary");
    json_t *cr = json_object_get(doc, "correlations");
    json_t *feat = json_object_get(cr, "features"), *mat = json_object_get(cr, "matrix");
    CHECK_INT(json_array_size(feat), 31);
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        long ia = -1, ib = -1;
        for (size_t i = 0; i < json_array_size(feat); i++) {
            const char *s = json_string_value(json_array_get(feat, i));
            if (strcmp(s, want[w].a) == 0)
                ia = (long)i;
            if (strcmp(s, want[w].b) == 0)
                ib = (long)i;
        }
        CHECK(ia >= 0 && ib >= 0);
        if (ia < 0 || ib < 0)
            continue;
        double r = json_number_value(json_array_get(json_array_get(mat, (size_t)ia), (size_t)ib));
        CHECK_NEAR(r, want[w].r, 1e-9);
    }
    /* {1: 357, 0: 212} */
    json_t *cb = json_object_get(doc, "class_balance");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(cb, 0), "count")), 212);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(cb, 1), "count")), 357);
    json_decref(doc);
}

UNIT_MAIN(UNIT(test_small_table_known_answers), UNIT(test_multiclass_and_regression_leaks),
          UNIT(test_edge_tables), UNIT(test_target_edge_cases),
          UNIT(test_deterministic_across_threads), UNIT(test_bank_marketing),
          UNIT(test_breast_cancer_correlations))
