/* test_text.c -- lib/text/: normalisation, lexicons, terms, TF-IDF vectors, persistence.
 * Expected strings and numbers are worked out by hand in the comments. */
#include <math.h>

#include "core/buf.h"
#include "core/err.h"
#include "text/featurize.h"
#include "text/lexicon.h"
#include "text/normalize.h"
#include "unit.h"

/* normalise s (NUL-terminated) into a static buffer */
static const char *norm(const char *s)
{
    static struct buf b = BUF_INIT;
    buf_reset(&b);
    if (text_normalize(s, strlen(s), &b, NULL) != 0)
        return "(error)";
    return b.data ? b.data : "";
}

static void test_hangul_composition(void)
{
    /* U+1112 U+1161 U+11AB U+1100 U+1173 U+11AF = 한글 in conjoining jamo (NFD) */
    CHECK_STR(norm("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab\xe1\x84\x80\xe1\x85\xb3\xe1\x86\xaf"),
              "한글");
    /* LV syllable 가 (U+AC00) + T U+11A8 = 각 (U+AC01) */
    CHECK_STR(norm("\xea\xb0\x80\xe1\x86\xa8"), "각");
    /* L alone and V alone stay as they are: U+1100 then 'x' */
    CHECK_STR(norm("\xe1\x84\x80x"), "\xe1\x84\x80x");
    /* an LVT syllable takes no further T: 각 + U+11A8 stays two code points */
    CHECK_STR(norm("각\xe1\x86\xa8"), "각\xe1\x86\xa8");
}

static void test_width_case_space(void)
{
    CHECK_STR(norm("ＡＢＣ１２３！"), "abc123!");          /* full width -> ASCII, lower case */
    CHECK_STR(norm("  좋아요\t\n최고　 "), "좋아요 최고"); /* ideographic space, runs, trim */
    CHECK_STR(norm("\xef\xbe\xa1\xef\xbe\xa1"), "ㄱㄱ");   /* half-width ㄱ (U+FFA1) */
    CHECK_STR(norm("a\xe2\x80\x8b"
                   "b\xef\xbb\xbf"),
              "ab"); /* zero-width space, BOM dropped */
}

static void test_repeats_and_numbers(void)
{
    CHECK_STR(norm("ㅋㅋㅋㅋㅋㅋ 재밌다"), "ㅋㅋ 재밌다");
    CHECK_STR(norm("ㅠㅠㅠㅠ"), "ㅠㅠ");
    CHECK_STR(norm("최고오오오!!!!!"), "최고오오!!");
    CHECK_STR(norm("10점 만점에 10점"), "10점 만점에 10점");
    CHECK_STR(norm("1,000원"), "1000원");
    CHECK_STR(norm("010-1234-5678"), "010-1234-5678"); /* no run over 4 digits */
    CHECK_STR(norm("1000원 ㅋㅋㅋ"), "1000원 ㅋㅋ");
    CHECK_STR(norm("01012345678"), "0000");
    CHECK_STR(norm("1,234,567원"), "0000원");
    CHECK_STR(norm("a, 1"), "a, 1"); /* a comma not between digits stays */
    CHECK_STR(norm(""), "");
}

static void test_invalid_utf8(void)
{
    struct buf b = BUF_INIT;
    size_t off = 99;
    CHECK_INT(text_normalize("ab\xff"
                             "c",
                             4, &b, &off),
              AIOPS_EPARSE);
    CHECK_INT(off, 2);
    off = 99; /* a truncated 3-byte sequence at the end */
    CHECK_INT(text_normalize("가\xea\xb0", 5, &b, &off), AIOPS_EPARSE);
    CHECK_INT(off, 3);
    buf_free(&b);
}

static void test_lexicons_and_stems(void)
{
    const struct lexicon *josa = lexicon_get("josa");
    CHECK(josa != NULL);
    CHECK_INT(lexicon_size(josa), 506);
    CHECK(lexicon_has(josa, "가", strlen("가")));
    CHECK(lexicon_has(josa, "까지는", strlen("까지는")));
    CHECK(!lexicon_has(josa, "영화", strlen("영화")));
    CHECK(lexicon_get("eomi") != NULL);
    CHECK(lexicon_get("stopwords") != NULL);
    CHECK(lexicon_get("no-such-list") == NULL);
    /* the longest listed particle goes: 영화까지는 -> 영화 (까지는, not 는) */
    const char *w = "영화까지는";
    CHECK_INT(text_stem(w, strlen(w)), strlen("영화"));
    w = "영화가";
    CHECK_INT(text_stem(w, strlen(w)), strlen("영화"));
    w = "가"; /* a particle alone is no stem: kept whole */
    CHECK_INT(text_stem(w, strlen(w)), strlen("가"));
}

static const char *const docs3[] = {"좋다 좋다", "싫다", NULL};

static const char *doc_at(void *ctx, size_t i, size_t *len)
{
    const char *const *d = ctx;
    if (d[i] == NULL)
        return NULL;
    *len = strlen(d[i]);
    return d[i];
}

static void test_terms_counts(void)
{
    struct text_params p;
    text_params_default(&p);
    p.words = 0;
    uint32_t *terms = NULL;
    size_t n = 0, cap = 0;
    /* " 좋다 " -> unigrams 좋, 다 (the lone spaces are not terms); bigrams " 좋", "좋다",
     * "다 "; trigrams " 좋다", "좋다 ": 7 terms */
    CHECK_INT(text_terms(&p, "좋다", strlen("좋다"), &terms, &n, &cap), 0);
    CHECK_INT(n, 7);
    p.words = 1; /* + the word 좋다 (not a stopword) + its stem 좋 (다 is an ending) */
    n = 0;
    CHECK_INT(text_terms(&p, "좋다", strlen("좋다"), &terms, &n, &cap), 0);
    CHECK_INT(n, 9);
    free(terms);
}

static void test_tfidf_values(void)
{
    /* character unigrams only, min_df 1: doc 0 "좋다 좋다" has 좋 x2, 다 x2; doc 1 "싫다"
     * has 싫, 다; doc 2 missing. n = 3: idf(좋) = idf(싫) = ln(4/2) + 1, idf(다) = ln(4/3) + 1.
     * doc 0: 좋 (1 + ln 2) idf(좋), 다 (1 + ln 2) idf(다), then L2-normalised. */
    struct text_params p = {10, 1, 1, 0};
    struct text_featurizer *f = NULL;
    struct aiops_error err = {0};
    size_t invalid = 9;
    CHECK_INT(text_featurizer_fit(&p, doc_at, (void *)docs3, 3, &f, &invalid, &err), 0);
    CHECK_INT(invalid, 0);
    CHECK_INT(text_featurizer_dim(f), 3);
    struct spmatrix m;
    CHECK_INT(text_featurizer_transform(f, doc_at, (void *)docs3, 3, 1, &m, NULL), 0);
    CHECK_INT(m.nrows, 3);
    CHECK_INT(m.rowptr[1] - m.rowptr[0], 2);
    CHECK_INT(m.rowptr[2] - m.rowptr[1], 2);
    CHECK_INT(m.rowptr[3] - m.rowptr[2], 0); /* missing: the zero vector */
    double a = (1 + log(2.0)) * (log(2.0) + 1), b = (1 + log(2.0)) * (log(4.0 / 3) + 1);
    double nrm = sqrt(a * a + b * b);
    double got_max = fmax(m.val[0], m.val[1]), got_min = fmin(m.val[0], m.val[1]);
    CHECK_NEAR(got_max, a / nrm, 1e-6);
    CHECK_NEAR(got_min, b / nrm, 1e-6);
    /* doc 1: 싫 idf ln2+1, 다 idf ln(4/3)+1, tf 1 each */
    double c = log(2.0) + 1, d = log(4.0 / 3) + 1, n1 = sqrt(c * c + d * d);
    CHECK_NEAR(fmax(m.val[2], m.val[3]), c / n1, 1e-6);
    CHECK_NEAR(fmin(m.val[2], m.val[3]), d / n1, 1e-6);
    /* both rows share the column of 다 */
    size_t shared = 0;
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 2; j < 4; j++)
            shared += m.col[i] == m.col[j];
    CHECK_INT(shared, 1);
    spmatrix_free(&m);

    /* save / load gives the same vectors; truncations are refused */
    struct buf saved = BUF_INIT;
    CHECK_INT(text_featurizer_save(f, &saved), 0);
    struct text_featurizer *g = NULL;
    size_t used = 0;
    CHECK_INT(text_featurizer_load((const uint8_t *)saved.data, saved.len, &g, &used), 0);
    CHECK_INT(used, saved.len);
    CHECK_INT(text_featurizer_dim(g), 3);
    for (size_t cut = 0; cut < saved.len; cut++) {
        struct text_featurizer *h = NULL;
        CHECK_INT(text_featurizer_load((const uint8_t *)saved.data, cut, &h, NULL), AIOPS_ECORRUPT);
    }
    struct spmatrix m2;
    CHECK_INT(text_featurizer_transform(g, doc_at, (void *)docs3, 3, 1, &m2, NULL), 0);
    CHECK_INT(m2.rowptr[3], 4);
    spmatrix_free(&m2);
    text_featurizer_free(g);
    buf_free(&saved);
    text_featurizer_free(f);
}

static void test_min_df_and_unknown(void)
{
    /* min_df 2 keeps only 다 (in both texts); a new text of unknown syllables is empty */
    struct text_params p = {12, 2, 1, 0};
    struct text_featurizer *f = NULL;
    struct aiops_error err = {0};
    CHECK_INT(text_featurizer_fit(&p, doc_at, (void *)docs3, 3, &f, NULL, &err), 0);
    CHECK_INT(text_featurizer_dim(f), 1);
    static const char *const other[] = {"없음", "다", "\xff bad"};
    struct spmatrix m;
    size_t invalid = 0;
    CHECK_INT(text_featurizer_transform(f, doc_at, (void *)other, 3, 1, &m, &invalid), 0);
    CHECK_INT(m.rowptr[1], 0);
    CHECK_INT(m.rowptr[2], 1);
    CHECK_NEAR(m.val[0], 1.0, 1e-6); /* a single term, normalised */
    CHECK_INT(m.rowptr[3], 1);       /* invalid UTF-8: read as missing, counted */
    CHECK_INT(invalid, 1);
    spmatrix_free(&m);
    text_featurizer_free(f);
    p.hash_bits = 30;
    CHECK_INT(text_featurizer_fit(&p, doc_at, (void *)docs3, 3, &f, NULL, &err), AIOPS_EINVAL);
}

/* 3,000 made-up reviews (enough for several workers), one missing, one not UTF-8. */
struct made_docs {
    char text[3000][64];
};

static const char *made_doc(void *ctx, size_t i, size_t *len)
{
    struct made_docs *d = ctx;
    if (d->text[i][0] == '\0')
        return NULL;
    *len = strlen(d->text[i]);
    return d->text[i];
}

static void made_docs_fill(struct made_docs *d)
{
    static const char *const words[] = {"영화가", "정말", "재밌다", "별로", "지루했어요", "배우",
                                        "연기는", "\"최고\"", "ㅋㅋㅋㅋ", "2024년", "good!", "다시"};
    for (size_t i = 0; i < 3000; i++) {
        size_t k = i * 2654435761u % 997, at = 0;
        for (size_t w = 0; w < 1 + i % 5 && at < 40; w++) {
            int n = snprintf(d->text[i] + at, sizeof d->text[i] - at, "%s%s", w ? " " : "",
                             words[(k + w * 7) % 12]);
            at += (size_t)n;
        }
    }
    strcpy(d->text[29], "bad \xff byte");
    d->text[17][0] = '\0'; /* missing */
}

/* The vectors of fitted texts from the terms the fit kept are the transform's, bit for bit,
 * for any rows in any order; without kept terms, or past the fitted texts, it refuses. */
static void test_transform_fitted(void)
{
    static struct made_docs d;
    made_docs_fill(&d);
    struct text_params p;
    text_params_default(&p);
    struct text_featurizer *f = NULL;
    struct aiops_error err = {0};
    CHECK_INT(text_featurizer_fit_threads(&p, made_doc, &d, 3000, 3, 1, &f, NULL, &err), 0);
    CHECK(text_featurizer_has_terms(f));
    size_t rows[2500];
    for (size_t i = 0; i < 2500; i++)
        rows[i] = (i * 7919 + 3) % 3000; /* scattered, with 17 and 29 among them */
    struct made_docs *sub = malloc(sizeof *sub);
    for (size_t i = 0; i < 2500; i++)
        memcpy(sub->text[i], d.text[rows[i]], sizeof sub->text[i]);
    for (int all = 0; all < 2; all++) {
        size_t n = all ? 3000 : 2500;
        struct spmatrix a, b;
        CHECK_INT(text_featurizer_transform_fitted(f, all ? NULL : rows, n, 2, &a), 0);
        struct made_docs *src = all ? &d : sub;
        CHECK_INT(text_featurizer_transform(f, made_doc, src, n, 2, &b, NULL), 0);
        CHECK_INT(a.nrows, n);
        CHECK_INT(a.ncols, b.ncols);
        CHECK(memcmp(a.rowptr, b.rowptr, (n + 1) * sizeof *a.rowptr) == 0);
        size_t nnz = b.rowptr[n];
        CHECK(nnz > 10 * n);
        CHECK(memcmp(a.col, b.col, nnz * sizeof *a.col) == 0);
        CHECK(memcmp(a.val, b.val, nnz * sizeof *a.val) == 0);
        spmatrix_free(&a);
        spmatrix_free(&b);
    }
    free(sub);
    struct spmatrix m;
    size_t past = 3000;
    CHECK_INT(text_featurizer_transform_fitted(f, &past, 1, 1, &m), AIOPS_EINVAL);
    text_featurizer_drop_terms(f);
    CHECK(!text_featurizer_has_terms(f));
    CHECK_INT(text_featurizer_transform_fitted(f, NULL, 10, 1, &m), AIOPS_EINVAL);
    text_featurizer_free(f);
    /* without keep_terms nothing is kept */
    CHECK_INT(text_featurizer_fit_threads(&p, made_doc, &d, 3000, 2, 0, &f, NULL, &err), 0);
    CHECK(!text_featurizer_has_terms(f));
    text_featurizer_free(f);
}

UNIT_MAIN(UNIT(test_hangul_composition), UNIT(test_width_case_space),
          UNIT(test_repeats_and_numbers), UNIT(test_invalid_utf8), UNIT(test_lexicons_and_stems),
          UNIT(test_terms_counts), UNIT(test_tfidf_values), UNIT(test_min_df_and_unknown),
          UNIT(test_transform_fitted))
