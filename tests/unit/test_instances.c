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
    const char *bad;
    memset(&fs, 0, sizeof fs);
    if (ingest_csv(csv, strlen(csv), NULL, &tr) != 0)
        UNIT_FAIL("ingest failed");
    CHECK_INT(features_fit(&tr.table, table_find(&tr.table, "label"), NULL, NULL, &fs, &bad), 0);
    ingest_result_free(&tr);
    return fs;
}

static int read_body(const struct feature_set *fs, const char *body, struct fmatrix *x,
                     enum instances_problem *problem, json_t **details)
{
    return instances_read(fs, body, strlen(body), x, problem, details);
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
    enum instances_problem problem;
    json_t *details = NULL, *err = NULL;
    CHECK_INT(read_body(&fs, body, &a, &problem, &details), 0);
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
    CHECK_INT(read_body(&fs, "{\"instance\":{\"size\":4}}", &a, &problem, &details), 0);
    CHECK_INT(a.nrows, 1);
    CHECK(a.x[1] == 4.0);
    fmatrix_free(&a);
    feature_set_free(&fs);
}

static void test_each_problem_is_named(void)
{
    struct feature_set fs = fit();
    static const struct {
        const char *body;
        enum instances_problem problem;
    } cases[] = {
        {"", INSTANCES_BAD_JSON},
        {"{\"instances\":[{\"size\":1}]", INSTANCES_BAD_JSON},
        {"[{\"size\":1}]", INSTANCES_BAD_JSON},
        {"{\"instances\":[{\"size\":1,\"size\":2}]}", INSTANCES_BAD_JSON},
        {"{\"instances\":[],\"instances\":[]}", INSTANCES_BAD_JSON},
        {"{\"instances\":[{}]} x", INSTANCES_BAD_JSON},
        {"{}", INSTANCES_BAD_SHAPE},
        {"{\"instances\":[]}", INSTANCES_BAD_SHAPE},
        {"{\"instances\":3}", INSTANCES_BAD_SHAPE},
        {"{\"instances\":[{\"size\":\"big\"}]}", INSTANCES_BAD_ROWS},
        {"{\"instances\":[{\"size\":1},7,{\"color\":[1]}]}", INSTANCES_BAD_ROWS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fmatrix x;
        enum instances_problem problem = 0;
        json_t *details = NULL;
        int rv = read_body(&fs, cases[i].body, &x, &problem, &details);
        if (rv != AIOPS_EINVAL || problem != cases[i].problem || details == NULL)
            UNIT_FAIL("%s: rv %d problem %d, expected problem %d", cases[i].body, rv,
                      (int)problem, (int)cases[i].problem);
        json_decref(details);
    }
    /* the details: a syntax error's position, the rows that do not fit */
    struct fmatrix x;
    enum instances_problem problem;
    json_t *details = NULL;
    read_body(&fs, "{\"instances\":\n [{\"size\": tru}]}", &x, &problem, &details);
    CHECK_INT(json_integer_value(json_object_get(details, "line")), 2);
    json_decref(details);
    read_body(&fs, "{\"instances\":[{\"size\":1},7,{\"color\":[1]}]}", &x, &problem, &details);
    json_t *errs = json_object_get(details, "errors");
    CHECK_INT(json_array_size(errs), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(errs, 0), "row")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(errs, 1), "row")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(errs, 1), "column")), "color");
    json_decref(details);
    /* many bad rows: at most INSTANCES_MAX_ERRORS reported */
    char body[4096] = "{\"instances\":[";
    for (int i = 0; i < 50; i++)
        strcat(body, i ? ",{\"size\":\"x\"}" : "{\"size\":\"x\"}");
    strcat(body, "]}");
    read_body(&fs, body, &x, &problem, &details);
    CHECK_INT(json_array_size(json_object_get(details, "errors")), INSTANCES_MAX_ERRORS);
    json_decref(details);
    feature_set_free(&fs);
}

UNIT_MAIN(UNIT(test_agrees_with_the_tree_reader), UNIT(test_each_problem_is_named))
