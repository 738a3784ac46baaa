/* Unit tests for lib/ml/instances.c: predict bodies read straight from JSON text agree with
 * features_matrix_json on the same rows, and every way a body can be wrong is told apart. */
#include "unit.h"

#include "core/err.h"
#include "data/ingest.h"
#include "ml/featureset.h"
#include "ml/instances.h"

/* color (categorical: red, blue), size (numeric), ok (boolean) */
static struct feature_set fit(void)
{
    const char *csv = "color,size,ok,label\nred,1,yes,0\nblue,2,no,1\n";
    struct ingest_result tr;
    struct feature_set fs;
    struct aiops_error err = AIOPS_ERROR_INIT;
    memset(&fs, 0, sizeof fs);
    if (ingest_csv(csv, strlen(csv), NULL, &tr) != 0)
        UNIT_FAIL("ingest failed");
    CHECK_INT(features_fit(&tr.table, table_find(&tr.table, "label"), NULL, NULL, &fs, &err), 0);
    ingest_result_free(&tr);
    return fs;
}

static int read_body(const struct feature_set *fs, const char *body, struct fmatrix *x,
                     struct aiops_error *e, json_t **row_errors)
{
    return instances_read(fs, body, strlen(body), x, e, row_errors);
}

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void test_agrees_with_the_tree_reader(void)
{
    struct feature_set fs = fit();
    const char *rows = "[{\"color\":\"blue\",\"size\":\"2.5\",\"ok\":true},"
                       "{\"size\":3,\"extra\":{\"nested\":[1,2]}},"
                       "{\"ok\":\"NO\",\"color\":\"red\",\"size\":null},"
                       "{\"color\":\"purple\",\"size\":-1e3}]";
    char body[512];
    snprintf(body, sizeof body, "{\"model\":\"x\",\"instances\":%s,\"parameters\":{}}", rows);
    struct fmatrix a, b;
    struct aiops_error e;
    json_t *row_errors = NULL, *err = NULL;
    CHECK_INT(read_body(&fs, body, &a, &e, &row_errors), 0);
    CHECK(row_errors == NULL);
    json_t *tree = json_loads(rows, 0, NULL);
    CHECK_INT(features_matrix_json(&fs, tree, &b, &err), 0);
    CHECK_INT(a.nrows, 4);
    CHECK_INT(a.ncols, b.ncols);
    size_t diff = 0;
    for (size_t i = 0; i < a.nrows * a.ncols; i++)
        diff += !same_value(a.x[i], b.x[i]);
    CHECK_INT(diff, 0);
    CHECK(isnan(a.x[3])); /* purple: unseen, read as missing */
    CHECK(a.is_cat[0] && a.ncat[0] == 2);
    fmatrix_free(&a);
    fmatrix_free(&b);
    json_decref(tree);
    /* one row, as an object, under either name */
    CHECK_INT(read_body(&fs, "{\"instance\":{\"size\":4}}", &a, &e, NULL), 0);
    CHECK_INT(a.nrows, 1);
    CHECK(a.x[1] == 4.0);
    fmatrix_free(&a);
    feature_set_free(&fs);
}

static void test_each_problem_is_named(void)
{
    struct feature_set fs = fit();
    /* not JSON: EPARSE; JSON that cannot be used: EINVAL naming "instances", with the rows
     * that do not fit */
    static const struct {
        const char *body;
        int rv, rows;
    } cases[] = {
        {"", AIOPS_EPARSE, 0},
        {"{\"instances\":[{\"size\":1}]", AIOPS_EPARSE, 0},
        {"[{\"size\":1}]", AIOPS_EPARSE, 0},
        {"{\"instances\":[{\"size\":1,\"size\":2}]}", AIOPS_EPARSE, 0},
        {"{\"instances\":[],\"instances\":[]}", AIOPS_EPARSE, 0},
        {"{\"instances\":[{}]} x", AIOPS_EPARSE, 0},
        {"{}", AIOPS_EINVAL, 0},
        {"{\"instances\":[]}", AIOPS_EINVAL, 0},
        {"{\"instances\":3}", AIOPS_EINVAL, 0},
        {"{\"instances\":[{\"size\":\"big\"}]}", AIOPS_EINVAL, 1},
        {"{\"instances\":[{\"size\":1},7,{\"color\":[1]}]}", AIOPS_EINVAL, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fmatrix x;
        struct aiops_error e;
        json_t *rows = NULL;
        int rv = read_body(&fs, cases[i].body, &x, &e, &rows);
        int named = rv == AIOPS_EPARSE ? e.offset >= 0 && e.line >= 1 && e.field[0] == '\0'
                                       : strcmp(e.field, "instances") == 0;
        if (rv != cases[i].rv || (rows != NULL) != cases[i].rows || !named || e.message[0] == 0)
            UNIT_FAIL("%s: rv %d field \"%s\" rows %d, expected rv %d rows %d", cases[i].body, rv,
                      e.field, rows != NULL, cases[i].rv, cases[i].rows);
        json_decref(rows);
    }
    /* where: a syntax error's position, the rows that do not fit */
    struct fmatrix x;
    struct aiops_error e;
    json_t *rows = NULL;
    CHECK_INT(read_body(&fs, "{\"instances\":\n [{\"size\": tru}]}", &x, &e, &rows), AIOPS_EPARSE);
    CHECK_INT(e.line, 2);
    CHECK_INT(e.column, 12);
    CHECK_INT(e.offset, 25);
    CHECK_INT(read_body(&fs, "{\"instances\":[{\"size\":1},7,{\"color\":[1]}]}", &x, &e, &rows),
              AIOPS_EINVAL);
    CHECK_INT(json_array_size(rows), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(rows, 0), "row")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(rows, 1), "row")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(rows, 1), "column")), "color");
    json_decref(rows);
    /* many bad rows: at most INSTANCES_MAX_ERRORS reported */
    char body[4096] = "{\"instances\":[";
    for (int i = 0; i < 50; i++)
        strcat(body, i ? ",{\"size\":\"x\"}" : "{\"size\":\"x\"}");
    strcat(body, "]}");
    CHECK_INT(read_body(&fs, body, &x, &e, &rows), AIOPS_EINVAL);
    CHECK_INT(json_array_size(rows), INSTANCES_MAX_ERRORS);
    CHECK(strstr(e.message, "50 values") != NULL);
    json_decref(rows);
    feature_set_free(&fs);
}

UNIT_MAIN(UNIT(test_agrees_with_the_tree_reader), UNIT(test_each_problem_is_named))
