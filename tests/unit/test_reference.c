/* Unit tests for lib/ml/reference.c and the model file's 'DRFT' section: a model trained on
 * UCI adult carries a drift reference that survives saving and loading; adult's own test
 * rows do not drift against it, the same rows with age + 10 flag age and only age; a model
 * file without the section (the format before it) still loads; a damaged section is
 * refused. */
#include "unit.h"

#include "testdata.h"

#include "core/bytes.h"
#include "core/err.h"
#include "data/ingest.h"
#include "ml/drift.h"
#include "ml/model.h"
#include "ml/reference.h"
#include "ml/train.h"

static struct model *train_adult(struct ingest_result *tr)
{
    if (dataset_read_csv("uci_adult", "adult_train.csv", "income", tr) != 0)
        return NULL;
    return train_table(learner_find("gbdt"), &tr->table, "income",
                       "{\"valid_fraction\": 0.2, \"rounds\": 30}");
}

static json_t *feature_entry(json_t *doc, const char *name)
{
    return json_find_by(doc, "features", "feature", name);
}

static void test_adult_reference_flags_shifted_age_only(void)
{
    struct ingest_result tr, te;
    memset(&te, 0, sizeof te);
    struct model *m = train_adult(&tr);
    if (m == NULL) {
        ingest_result_free(&tr);
        return;
    }
    CHECK(m->reference != NULL);
    CHECK_INT(m->reference->n, m->features.n);
    CHECK_INT(m->reference->train_rows, 26048); /* 32561 rows, 20% held out */
    CHECK_INT(m->reference->score_rows, 6513);
    CHECK_INT(m->reference->scores_from_training, 0);
    long age = -1;
    for (size_t j = 0; j < m->features.n; j++)
        if (strcmp(m->features.f[j].name, "age") == 0)
            age = (long)j;
    CHECK(age >= 0);
    /* ages run 17 .. 90: the sketch's ends are the training extremes */
    const struct ref_feature *fa = &m->reference->f[age];
    CHECK_INT(fa->nsketch, REF_SKETCH);
    CHECK_NEAR(fa->sketch[0], 17, 0);
    CHECK_NEAR(fa->sketch[REF_SKETCH - 1], 90, 0);

    /* saved and loaded, the reference is byte for byte the same */
    struct buf a = BUF_INIT, b = BUF_INIT, file = BUF_INIT;
    CHECK_INT(model_save(m, &file), 0);
    struct model *back = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(model_load(file.data, file.len, &back, &err), 0);
    CHECK(back != NULL && back->reference != NULL);
    if (back != NULL && back->reference != NULL) {
        CHECK_INT(reference_save(m->reference, &a), 0);
        CHECK_INT(reference_save(back->reference, &b), 0);
        CHECK_MEM(a.data, a.len, b.data, b.len);
    }

    if (dataset_read_csv("uci_adult", "adult_test.csv", "income", &te) == 0) {
        struct fmatrix x;
        struct aiops_error missing = AIOPS_ERROR_INIT;
        CHECK_INT(features_matrix(&m->features, &te.table, &x, &missing, NULL, NULL), 0);
        /* only the first 1000 rows: a served window's size */
        struct fmatrix w;
        CHECK_INT(fmatrix_alloc(1000, x.ncols, &w), 0);
        for (size_t j = 0; j < x.ncols; j++) {
            memcpy(w.x + j * 1000, x.x + j * x.nrows, 1000 * sizeof *w.x);
            w.is_cat[j] = x.is_cat[j];
            w.ncat[j] = x.ncat[j];
        }
        json_t *doc = NULL;
        CHECK_INT(reference_drift(back->reference, &back->features, &w, NULL, 0, &doc), 0);
        CHECK_INT(json_integer_value(json_object_get(doc, "number_of_drifted_columns")), 0);
        CHECK(json_is_false(json_object_get(feature_entry(doc, "age"), "drift")));
        CHECK_STR(json_string_value(json_object_get(feature_entry(doc, "age"), "method")),
                  "wasserstein");
        json_decref(doc);
        for (size_t i = 0; i < 1000; i++)
            w.x[(size_t)age * 1000 + i] += 10.0;
        CHECK_INT(reference_drift(back->reference, &back->features, &w, NULL, 0, &doc), 0);
        json_t *fa_doc = feature_entry(doc, "age");
        CHECK(json_is_true(json_object_get(fa_doc, "drift")));
        CHECK(json_number_value(json_object_get(fa_doc, "statistic")) > 0.5);
        CHECK_INT(json_integer_value(json_object_get(doc, "number_of_drifted_columns")), 1);
        json_decref(doc);
        fmatrix_free(&w);
        fmatrix_free(&x);
    }
    buf_free(&a);
    buf_free(&b);

    /* a model saved without a reference (the format before it): loads, reference NULL */
    struct drift_reference *keep = m->reference;
    m->reference = NULL;
    struct buf old = BUF_INIT;
    CHECK_INT(model_save(m, &old), 0);
    m->reference = keep;
    struct model *legacy = NULL;
    CHECK_INT(model_load(old.data, old.len, &legacy, &err), 0);
    CHECK(legacy != NULL && legacy->reference == NULL);
    CHECK(old.len < file.len);
    model_free(legacy);
    buf_free(&old);

    /* a damaged reference (its first feature's kind flipped, checksum made good) is refused */
    size_t drft = 0;
    for (size_t i = 20; i + 4 <= file.len; i++)
        if (memcmp(file.data + i, "DRFT", 4) == 0)
            drft = i;
    CHECK(drft > 0);
    if (drft > 0) {
        file.data[drft + 12 + 4 + 4 + 8 + 1] ^= 1;
        uint32_t crc = crc32c(0, file.data + 20, file.len - 20);
        memcpy(file.data + 16, &crc, 4);
        struct model *bad = NULL;
        CHECK_INT(model_load(file.data, file.len, &bad, &err), AIOPS_ECORRUPT);
        CHECK(strstr(err.message, "drift reference") != NULL);
        CHECK(bad == NULL);
    }
    buf_free(&file);
    model_free(back);
    model_free(m);
    ingest_result_free(&tr);
    ingest_result_free(&te);
}

static void test_scores_pick_the_positive_or_top_class(void)
{
    const double binary[] = {0.8, 0.2, 0.3, 0.7};
    const double multi[] = {0.1, 0.6, 0.3, 0.5, 0.2, 0.3};
    double s[2];
    reference_scores(binary, 2, 2, 0, s);
    CHECK_NEAR(s[0], 0.2, 0);
    CHECK_NEAR(s[1], 0.7, 0);
    reference_scores(multi, 2, 3, 0, s);
    CHECK_NEAR(s[0], 0.6, 0);
    CHECK_NEAR(s[1], 0.5, 0);
}

UNIT_MAIN(UNIT(test_adult_reference_flags_shifted_age_only),
          UNIT(test_scores_pick_the_positive_or_top_class))
