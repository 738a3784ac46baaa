/* test_textvec.c -- lib/ml/textvec: the features a text gives, normalisation, Korean
 * matching by shared syllables, TF-IDF weighting, and the stored form. */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "ml/textvec.h"
#include "unit.h"

static struct textvec embed(const char *s)
{
    struct textvec v;
    CHECK_INT(textvec_embed(s, strlen(s), &v), 0);
    return v;
}

static void test_features_and_norm(void)
{
    /* "ab": the word, "a", "b" and "ab" -- four features of weight 1/2 */
    struct textvec v = embed("ab");
    CHECK_INT(v.n, 4);
    for (size_t i = 0; i < v.n; i++)
        CHECK_NEAR(v.val[i], 0.5, 1e-7);
    /* case, punctuation and an invalid byte do not change it */
    struct textvec w = embed("  AB!"), x = embed("a\xff"
                                                 "b");
    CHECK_NEAR(textvec_cosine(&v, &w, NULL), 1.0, 1e-6);
    CHECK_NEAR(textvec_cosine(&v, &x, NULL), 1.0, 1e-6);
    /* a repeated word weighs 1 + ln 2 */
    struct textvec r = embed("q q");
    CHECK_INT(r.n, 2);
    CHECK_NEAR(r.val[0], 1 / sqrt(2.0), 1e-6);
    struct textvec e = embed("  ... ");
    CHECK_INT(e.n, 0);
    CHECK_NEAR(textvec_cosine(&v, &e, NULL), 0.0, 0);
    textvec_free(&v), textvec_free(&w), textvec_free(&x), textvec_free(&r), textvec_free(&e);
}

static void test_korean_ranks_by_shared_syllables(void)
{
    const char *docs[3] = {"충성도 높은 VIP 고객: 구매액 높음 · 정기 구독 · 주 단위 구매",
                           "할인 쿠폰을 찾는 학생 고객, 구매 빈도 낮음",
                           "Budget shoppers who buy once a year"};
    struct textvec d[3];
    for (int i = 0; i < 3; i++)
        d[i] = embed(docs[i]);
    struct textvec q = embed("정기 구독하는 구매액 높은 고객");
    double idf[TEXTVEC_DIM];
    textvec_idf(d, 3, idf);
    double s0 = textvec_cosine(&q, &d[0], idf), s1 = textvec_cosine(&q, &d[1], idf),
           s2 = textvec_cosine(&q, &d[2], idf);
    CHECK(s0 > s1 && s1 > s2);
    CHECK(s0 > 0.3 && s0 < 1);
    CHECK_NEAR(s2, 0.0, 1e-12); /* no character in common */
    CHECK_NEAR(textvec_cosine(&d[0], &d[0], idf), 1.0, 1e-6);
    /* idf: the syllable 고 is in two documents of three (ln(4/3) + 1), the word 고 in none
     * (ln 4 + 1) */
    struct textvec go = embed("고");
    CHECK_INT(go.n, 2);
    int both = 0;
    for (size_t i = 0; i < go.n; i++)
        both += fabs(idf[go.idx[i]] - (log(4.0 / 3.0) + 1)) < 1e-12 ||
                fabs(idf[go.idx[i]] - (log(4.0) + 1)) < 1e-12;
    CHECK_INT(both, 2);
    for (int i = 0; i < 3; i++)
        textvec_free(&d[i]);
    textvec_free(&q), textvec_free(&go);
}

static void test_save_load(void)
{
    struct textvec v = embed("구매액 높음 high spenders"), back;
    struct buf b = BUF_INIT;
    CHECK_INT(textvec_save(&v, &b), 0);
    CHECK_INT(b.len, 4 + 8 * v.n);
    CHECK_INT(textvec_load((const uint8_t *)b.data, b.len, &back), 0);
    CHECK_INT(back.n, v.n);
    CHECK_MEM(back.idx, back.n * 4, v.idx, v.n * 4);
    CHECK_MEM(back.val, back.n * 4, v.val, v.n * 4);
    textvec_free(&back);
    /* truncated, and indexes out of order: refused */
    CHECK_INT(textvec_load((const uint8_t *)b.data, b.len - 1, &back), AIOPS_ECORRUPT);
    if (v.n >= 2) {
        uint8_t *p = (uint8_t *)b.data;
        memcpy(p + 4, p + 12, 4); /* the first index equals the second */
        CHECK_INT(textvec_load((const uint8_t *)b.data, b.len, &back), AIOPS_ECORRUPT);
    }
    buf_free(&b);
    textvec_free(&v);
}

UNIT_MAIN(UNIT(test_features_and_norm), UNIT(test_korean_ranks_by_shared_syllables),
          UNIT(test_save_load))
