/* test_textmodel.c -- a `text` column through the model pipeline: ingest infers it, the
 * linear learner trains on its TF-IDF vectors, the model file keeps the featurizer, and the
 * predict path (instances_read) featurizes new texts; gbdt trains on the same table (it sees
 * the text's length). */
#include "core/buf.h"
#include "core/err.h"
#include "data/ingest.h"
#include "ml/instances.h"
#include "ml/learner.h"
#include "ml/model.h"
#include "ml/train.h"
#include "testdata.h"
#include "unit.h"

#define NROWS 240

/* Reviews built from a positive or a negative phrase, a filler and a number, so that every
 * text is distinct (ingest calls such a column text). Label: pos / neg by the phrase. */
static struct ingest_result reviews(void)
{
    static const char *const pos[] = {"정말 좋아요", "최고의 영화", "재밌어요 ㅋㅋㅋㅋ",
                                      "감동적이다"};
    static const char *const neg[] = {"너무 별로", "최악의 영화", "지루해요 ㅠㅠㅠ", "돈 아깝다"};
    static const char *const filler[] = {"배우", "스토리", "음악", "연출", "결말"};
    struct buf csv = BUF_INIT;
    buf_puts(&csv, "id,review,label\n");
    for (size_t r = 0; r < NROWS; r++) {
        int p = r % 2 == 0;
        buf_printf(&csv, "%zu,\"%s %s %zu번\",%s\n", r, filler[r % 5],
                   p ? pos[r / 2 % 4] : neg[r / 2 % 4], r, p ? "pos" : "neg");
    }
    struct ingest_result res;
    CHECK_INT(ingest_csv(csv.data, csv.len, NULL, &res), 0);
    CHECK_INT(res.n_errors, 0);
    buf_free(&csv);
    return res;
}

static struct model *train(const struct table *t, const char *learner)
{
    return train_table(learner_find(learner), t, "label", "{\"exclude\": \"id\"}");
}

/* P(pos) of two new reviews through the predict path. */
static void predict_two(const struct model *m, double *p_pos)
{
    const char *body = "{\"instances\": [{\"review\": \"음악 정말 좋아요 최고의 영화\"},"
                       " {\"review\": \"최악의 영화 너무 별로\"}]}";
    struct fmatrix x;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(instances_read(&m->features, body, strlen(body), &x, &err, NULL), 0);
    CHECK(x.sp != NULL);
    if (x.sp == NULL)
        return;
    CHECK_INT(x.sp->nrows, 2);
    double out[4];
    CHECK_INT(model_predict(m, &x, out), 0);
    /* classes sort bytewise: "neg" < "pos" */
    p_pos[0] = out[1];
    p_pos[1] = out[3];
    fmatrix_free(&x);
}

static void test_linear_on_text(void)
{
    struct ingest_result in = reviews();
    long col = table_find(&in.table, "review");
    CHECK(col >= 0);
    if (col < 0)
        return;
    CHECK_INT(in.table.cols[col].type, COL_TEXT);
    struct model *m = train(&in.table, "linear");
    if (m == NULL) {
        ingest_result_free(&in);
        return;
    }
    CHECK_INT(m->features.n, 1);
    CHECK_INT(m->features.f[0].kind, FEAT_TEXT);
    double p[2];
    predict_two(m, p);
    CHECK(p[0] > 0.8);
    CHECK(p[1] < 0.2);
    /* the model file keeps the featurizer: the same probabilities after a round trip (the
     * coefficients are saved as floats) */
    struct buf bytes = BUF_INIT;
    struct model *back = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(model_save(m, &bytes), 0);
    CHECK_INT(model_load(bytes.data, bytes.len, &back, &err), 0);
    if (back != NULL) {
        double q[2];
        predict_two(back, q);
        CHECK_NEAR(q[0], p[0], 1e-5);
        CHECK_NEAR(q[1], p[1], 1e-5);
        model_free(back);
    }
    /* a truncated file is refused, never read */
    struct model *cut = NULL;
    CHECK(model_load(bytes.data, bytes.len - 7, &cut, &err) != 0);
    buf_free(&bytes);
    model_free(m);
    ingest_result_free(&in);
}

static void test_gbdt_on_text_length(void)
{
    struct ingest_result in = reviews();
    struct model *m = train(&in.table, "gbdt");
    CHECK(m != NULL);
    if (m != NULL) {
        CHECK_INT(m->features.f[0].kind, FEAT_TEXT);
        model_free(m);
    }
    ingest_result_free(&in);
}

UNIT_MAIN(UNIT(test_linear_on_text), UNIT(test_gbdt_on_text_length))
