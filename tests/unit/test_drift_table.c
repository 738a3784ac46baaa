/* Unit tests for lib/ml/drift_table.c, the core of `aiops drift`: columns matched by name
 * whatever their order, categories matched by their text whatever their order of first
 * appearance (and categories seen on one side only counted), the target reported apart,
 * text columns and type mismatches skipped with a reason, a missing column refused naming
 * it. */
#include "unit.h"

#include "core/buf.h"
#include "data/ingest.h"
#include "ml/drift_table.h"
#include "testdata.h"

static void read_csv(const char *text, struct ingest_result *r)
{
    struct ingest_options o = {0};
    o.target = "label";
    CHECK_INT(ingest_csv(text, strlen(text), &o, r), 0);
    CHECK_INT(r->n_errors, 0);
}

/* n rows: x = i % 97 (+ shift), color cycling through colors (first-appearance order given
 * by the list), note = free text, label alternating. */
static void make(struct buf *b, size_t n, double shift, const char *const *colors, size_t ncolors,
                 int swap_columns)
{
    buf_puts(b, swap_columns ? "color,x,note,label\n" : "x,color,note,label\n");
    for (size_t i = 0; i < n; i++) {
        double x = (double)(i % 97) + shift;
        const char *c = colors[i % ncolors];
        if (swap_columns)
            buf_printf(b, "%s,%g,\"free text number %zu with spaces\",%d\n", c, x, i, (int)(i % 2));
        else
            buf_printf(b, "%g,%s,\"free text number %zu with spaces\",%d\n", x, c, i, (int)(i % 2));
    }
    buf_putc(b, '\0');
}

static json_t *feature(json_t *doc, const char *name)
{
    return json_find_by(doc, "features", "feature", name);
}

static void test_columns_and_categories_match_by_name(void)
{
    static const char *const ref_colors[] = {"red", "green", "blue"};
    static const char *const cur_colors[] = {"blue", "red", "green"}; /* other order */
    struct buf a = BUF_INIT, b = BUF_INIT;
    make(&a, 3000, 0.0, ref_colors, 3, 0);
    make(&b, 3000, 0.0, cur_colors, 3, 1);
    struct ingest_result ra, rb;
    read_csv(a.data, &ra);
    read_csv(b.data, &rb);
    json_t *doc = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(drift_tables(&ra.table, &rb.table, "label", 2, &doc, &err), 0);
    /* the same data in another column order and category order: nothing drifts */
    CHECK_INT(json_integer_value(json_object_get(doc, "number_of_drifted_columns")), 0);
    json_t *color = feature(doc, "color"), *x = feature(doc, "x");
    CHECK(color != NULL && x != NULL);
    CHECK_STR(json_string_value(json_object_get(color, "method")), "jensenshannon");
    CHECK_NEAR(json_number_value(json_object_get(color, "statistic")), 0.0, 1e-12);
    CHECK_STR(json_string_value(json_object_get(x, "method")), "wasserstein");
    CHECK_NEAR(json_number_value(json_object_get(x, "statistic")), 0.0, 0);
    /* the target is apart, the text column skipped with its reason */
    CHECK(json_is_object(json_object_get(doc, "target")));
    CHECK(feature(doc, "label") == NULL);
    json_t *sk = json_array_get(json_object_get(doc, "skipped"), 0);
    CHECK_STR(json_string_value(json_object_get(sk, "feature")), "note");
    CHECK_INT(json_integer_value(json_object_get(doc, "number_of_columns")), 2);
    json_decref(doc);
    ingest_result_free(&rb);
    buf_reset(&b);

    /* a new category and a shifted number: both drift */
    static const char *const new_colors[] = {"red", "purple", "purple", "blue"};
    make(&b, 3000, 30.0, new_colors, 4, 0);
    read_csv(b.data, &rb);
    CHECK_INT(drift_tables(&ra.table, &rb.table, "label", 2, &doc, &err), 0);
    color = feature(doc, "color");
    CHECK(json_is_true(json_object_get(color, "drift")));
    CHECK_INT(json_integer_value(json_object_get(color, "n_unique")), 4);
    CHECK(json_is_true(json_object_get(feature(doc, "x"), "drift")));
    CHECK(json_is_true(json_object_get(doc, "dataset_drift")));
    json_decref(doc);
    ingest_result_free(&rb);
    buf_reset(&b);

    /* a reference column missing from the current data is refused, naming it */
    CHECK_INT(ingest_csv("x,label\n1,0\n2,1\n", 16, NULL, &rb), 0);
    CHECK_INT(drift_tables(&ra.table, &rb.table, "label", 2, &doc, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "color");
    CHECK(doc == NULL);
    ingest_result_free(&rb);
    ingest_result_free(&ra);
    buf_free(&a);
    buf_free(&b);
}

UNIT_MAIN(UNIT(test_columns_and_categories_match_by_name))
