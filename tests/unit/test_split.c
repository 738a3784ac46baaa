/* Unit tests for lib/ml/split.c. Reference splits from scikit-learn 1.2.1, computed with:
 *
 * /usr/bin/python3 -c "
 * import numpy as np
 * from sklearn.model_selection import StratifiedKFold, TimeSeriesSplit, KFold, train_test_split
 * y=np.array([2,0,1,1,0,2,2,0,1,0,0,2,1,0,0,2,1,1,0,0])
 * for tr,te in StratifiedKFold(3).split(np.zeros(len(y)),y): print(list(te))
 * for n,k in [(10,3),(12,5),(100,4),(7,2)]:
 *   print(n,k,[(len(tr),te[0],te[-1]) for tr,te in TimeSeriesSplit(k).split(np.zeros(n))])
 * print([(tr[0],len(tr),te[0],len(te)) for tr,te in
 *        TimeSeriesSplit(3,test_size=2,gap=1,max_train_size=3).split(np.zeros(20))])
 * for tr,te in KFold(3).split(np.zeros(10)): print(list(te))
 * y2=np.array([0]*50+[1]*30+[2]*20+[3]*3)
 * tr,te=train_test_split(np.arange(len(y2)),test_size=0.25,stratify=y2,random_state=0)
 * print(len(tr),len(te),np.bincount(y2[tr]),np.bincount(y2[te]))"
 */
#include "unit.h"

#include "core/err.h"
#include "ml/split.h"
#include "testdata.h"

/* Every fold: ascending, disjoint train/test, in range; *cover counts test appearances. */
static void check_fold_shape(const struct split_fold *f, size_t n, unsigned *cover)
{
    uint8_t *seen = calloc(n, 1);
    for (size_t i = 0; i < f->ntrain; i++) {
        CHECK(f->train[i] < n);
        if (i > 0)
            CHECK(f->train[i] > f->train[i - 1]);
        if (f->train[i] < n)
            seen[f->train[i]] = 1;
    }
    for (size_t i = 0; i < f->ntest; i++) {
        CHECK(f->test[i] < n);
        if (i > 0)
            CHECK(f->test[i] > f->test[i - 1]);
        if (f->test[i] < n) {
            CHECK(seen[f->test[i]] == 0);
            if (cover != NULL)
                cover[f->test[i]]++;
        }
    }
    free(seen);
}

/* Fold f of s (over n rows) tests exactly the rows want[f][0 .. nwant[f]) and trains on the
 * others, and every row is tested exactly once. */
static void check_folds(const struct split_folds *s, size_t n, const size_t *const *want,
                        const size_t *nwant)
{
    unsigned *cover = calloc(n, sizeof *cover);
    for (size_t f = 0; f < s->k; f++) {
        CHECK_INT(s->fold[f].ntest, nwant[f]);
        CHECK_INT(s->fold[f].ntrain, n - nwant[f]);
        for (size_t j = 0; j < nwant[f] && j < s->fold[f].ntest; j++)
            CHECK_INT(s->fold[f].test[j], want[f][j]);
        check_fold_shape(&s->fold[f], n, cover);
    }
    for (size_t i = 0; i < n; i++)
        CHECK_INT(cover[i], 1);
    free(cover);
}

static void test_kfold_matches_sklearn_unshuffled(void)
{
    struct split_folds s;
    CHECK_INT(split_kfold(10, 3, 0, 0, &s, NULL), 0);
    CHECK_INT(s.k, 3);
    static const size_t want0[] = {0, 1, 2, 3}, want1[] = {4, 5, 6}, want2[] = {7, 8, 9};
    const size_t *want[3] = {want0, want1, want2};
    static const size_t nwant[3] = {4, 3, 3};
    if (s.k == 3)
        check_folds(&s, 10, want, nwant);
    split_folds_free(&s);
}

static void test_kfold_shuffled_is_seeded_and_covers(void)
{
    struct split_folds a, b, c;
    CHECK_INT(split_kfold(1003, 5, 1, 42, &a, NULL), 0);
    CHECK_INT(split_kfold(1003, 5, 1, 42, &b, NULL), 0);
    CHECK_INT(split_kfold(1003, 5, 1, 43, &c, NULL), 0);
    unsigned *cover = calloc(1003, sizeof *cover);
    int same = 1, differs = 0;
    for (size_t f = 0; f < 5; f++) {
        CHECK_INT(a.fold[f].ntest, f < 3 ? 201 : 200);
        check_fold_shape(&a.fold[f], 1003, cover);
        same &= a.fold[f].ntest == b.fold[f].ntest &&
                memcmp(a.fold[f].test, b.fold[f].test, a.fold[f].ntest * sizeof(size_t)) == 0;
        differs |= memcmp(a.fold[f].test, c.fold[f].test, 200 * sizeof(size_t)) != 0;
    }
    CHECK(same);
    CHECK(differs);
    /* shuffled: fold 0 is not the first 201 rows */
    CHECK(a.fold[0].test[200] != 200);
    for (size_t i = 0; i < 1003; i++)
        CHECK_INT(cover[i], 1);
    free(cover);
    split_folds_free(&a);
    split_folds_free(&b);
    split_folds_free(&c);
}

static void test_stratified_kfold_matches_sklearn(void)
{
    static const double y[20] = {2, 0, 1, 1, 0, 2, 2, 0, 1, 0, 0, 2, 1, 0, 0, 2, 1, 1, 0, 0};
    static const size_t want0[] = {0, 1, 2, 3, 4, 5, 7};
    static const size_t want1[] = {6, 8, 9, 10, 11, 12, 13};
    static const size_t want2[] = {14, 15, 16, 17, 18, 19};
    const size_t *want[3] = {want0, want1, want2};
    const size_t nwant[3] = {7, 7, 6};
    struct split_folds s;
    CHECK_INT(split_kfold_stratified(y, 20, 3, 0, 0, &s, NULL), 0);
    CHECK_INT(s.k, 3);
    if (s.k == 3)
        check_folds(&s, 20, want, nwant);
    split_folds_free(&s);
}

static void test_stratified_kfold_shuffled_keeps_proportions(void)
{
    /* 600 rows of class 0, 300 of class 1, 100 of class 2, interleaved */
    size_t n = 1000;
    double *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++)
        y[i] = i % 10 < 6 ? 0 : i % 10 < 9 ? 1 : 2;
    struct split_folds s;
    CHECK_INT(split_kfold_stratified(y, n, 5, 1, 7, &s, NULL), 0);
    unsigned *cover = calloc(n, sizeof *cover);
    for (size_t f = 0; f < 5; f++) {
        size_t cnt[3] = {0};
        for (size_t j = 0; j < s.fold[f].ntest; j++)
            cnt[(size_t)y[s.fold[f].test[j]]]++;
        CHECK_INT(cnt[0], 120);
        CHECK_INT(cnt[1], 60);
        CHECK_INT(cnt[2], 20);
        check_fold_shape(&s.fold[f], n, cover);
    }
    for (size_t i = 0; i < n; i++)
        CHECK_INT(cover[i], 1);
    /* shuffled: the test rows of class 0 in fold 0 are not just the first 120 of them */
    CHECK(s.fold[0].test[s.fold[0].ntest - 1] > 250);
    free(cover);
    split_folds_free(&s);
    free(y);
}

static void test_stratified_holdout_counts_match_sklearn(void)
{
    double y[103];
    for (size_t i = 0; i < 103; i++)
        y[i] = i < 50 ? 0 : i < 80 ? 1 : i < 100 ? 2 : 3;
    struct split_folds s;
    CHECK_INT(split_holdout_stratified(y, 103, 0.25, 0, &s, NULL), 0);
    CHECK_INT(s.k, 1);
    CHECK_INT(s.fold[0].ntrain, 77);
    CHECK_INT(s.fold[0].ntest, 26);
    size_t tr[4] = {0}, te[4] = {0};
    for (size_t j = 0; j < s.fold[0].ntrain; j++)
        tr[(size_t)y[s.fold[0].train[j]]]++;
    for (size_t j = 0; j < s.fold[0].ntest; j++)
        te[(size_t)y[s.fold[0].test[j]]]++;
    CHECK_INT(tr[0], 37);
    CHECK_INT(tr[1], 23);
    CHECK_INT(tr[2], 15);
    CHECK_INT(tr[3], 2);
    CHECK_INT(te[0], 13);
    CHECK_INT(te[1], 7);
    CHECK_INT(te[2], 5);
    CHECK_INT(te[3], 1);
    unsigned cover[103] = {0};
    check_fold_shape(&s.fold[0], 103, cover);
    split_folds_free(&s);
}

static void test_stratified_holdout_large_proportions_and_seed(void)
{
    size_t n = 100000;
    double *y = malloc(n * sizeof *y);
    uint64_t x = 1;
    size_t cls[3] = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(lcg_next(&x) >> 33) % 100;
        y[i] = v < 70 ? 0 : v < 95 ? 1 : 2;
        cls[(size_t)y[i]]++;
    }
    struct split_folds a, b;
    CHECK_INT(split_holdout_stratified(y, n, 0.2, 5, &a, NULL), 0);
    CHECK_INT(split_holdout_stratified(y, n, 0.2, 5, &b, NULL), 0);
    CHECK_INT(a.fold[0].ntest, 20000);
    CHECK(memcmp(a.fold[0].test, b.fold[0].test, 20000 * sizeof(size_t)) == 0);
    size_t te[3] = {0};
    for (size_t j = 0; j < a.fold[0].ntest; j++)
        te[(size_t)y[a.fold[0].test[j]]]++;
    for (size_t c = 0; c < 3; c++) /* within one row of the exact share */
        CHECK_NEAR((double)te[c], (double)cls[c] * 0.2, 1.0);
    unsigned *cover = calloc(n, sizeof *cover);
    check_fold_shape(&a.fold[0], n, cover);
    for (size_t i = 0; i < n; i++) /* train and test together are every row */
        CHECK(cover[i] <= 1);
    CHECK_INT(a.fold[0].ntrain + a.fold[0].ntest, n);
    free(cover);
    free(y);
    split_folds_free(&a);
    split_folds_free(&b);
}

static void test_plain_holdout(void)
{
    struct split_folds s;
    CHECK_INT(split_holdout(10, 0.25, 3, &s, NULL), 0);
    CHECK_INT(s.fold[0].ntest, 3); /* ceil(2.5) as scikit-learn */
    CHECK_INT(s.fold[0].ntrain, 7);
    unsigned cover[10] = {0};
    check_fold_shape(&s.fold[0], 10, cover);
    split_folds_free(&s);
    struct aiops_error why = AIOPS_ERROR_INIT;
    CHECK_INT(split_holdout(10, 0.0, 3, &s, &why), AIOPS_EINVAL);
    CHECK(why.message[0] != '\0');
    CHECK_INT(split_holdout(1, 0.5, 3, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_holdout(10, 1.0, 3, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_holdout(10, NAN, 3, &s, &why), AIOPS_EINVAL);
}

static void test_time_series_matches_sklearn(void)
{
    static const struct {
        size_t n, k;
        size_t ntrain0, test_first0, test_last_end;
    } cases[] = {{10, 3, 4, 4, 9}, {12, 5, 2, 2, 11}, {100, 4, 20, 20, 99}, {7, 2, 3, 3, 6}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct split_folds s;
        CHECK_INT(split_time_series(cases[c].n, cases[c].k, 0, 0, 0, &s, NULL), 0);
        CHECK_INT(s.k, cases[c].k);
        size_t ts = cases[c].n / (cases[c].k + 1);
        for (size_t f = 0; f < s.k; f++) {
            const struct split_fold *fd = &s.fold[f];
            CHECK_INT(fd->ntrain, cases[c].ntrain0 + f * ts);
            CHECK_INT(fd->train[0], 0);
            CHECK_INT(fd->ntest, ts);
            CHECK_INT(fd->test[0], cases[c].test_first0 + f * ts);
            check_fold_shape(fd, cases[c].n, NULL);
        }
        CHECK_INT(s.fold[s.k - 1].test[ts - 1], cases[c].test_last_end);
        split_folds_free(&s);
    }
    /* test_size=2, gap=1, max_train_size=3 on 20 rows:
     * [(10, 3, 14, 2), (12, 3, 16, 2), (14, 3, 18, 2)] as (train[0], ntrain, test[0], ntest) */
    struct split_folds s;
    CHECK_INT(split_time_series(20, 3, 2, 1, 3, &s, NULL), 0);
    for (size_t f = 0; f < 3; f++) {
        CHECK_INT(s.fold[f].train[0], 10 + 2 * f);
        CHECK_INT(s.fold[f].ntrain, 3);
        CHECK_INT(s.fold[f].test[0], 14 + 2 * f);
        CHECK_INT(s.fold[f].ntest, 2);
    }
    split_folds_free(&s);
}

static void test_refusals(void)
{
    struct split_folds s;
    struct aiops_error why = AIOPS_ERROR_INIT;
    double y[4] = {0, 1, NAN, 1};
    CHECK_INT(split_kfold(5, 1, 0, 0, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_kfold(5, 6, 0, 0, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_kfold_stratified(y, 4, 2, 0, 0, &s, &why), AIOPS_EINVAL);
    y[2] = 0.5;
    CHECK_INT(split_holdout_stratified(y, 4, 0.5, 0, &s, &why), AIOPS_EINVAL);
    y[2] = -1;
    CHECK_INT(split_holdout_stratified(y, 4, 0.5, 0, &s, &why), AIOPS_EINVAL);
    double y3[4] = {0, 1, 2, 3}; /* every class smaller than k */
    CHECK_INT(split_kfold_stratified(y3, 4, 2, 0, 0, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_time_series(5, 5, 0, 0, 0, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_time_series(10, 3, 3, 1, 0, &s, &why), AIOPS_EINVAL);
    CHECK_INT(split_time_series(10, 3, 4, 0, 0, &s, &why), AIOPS_EINVAL);
    CHECK(why.message[0] != '\0');
    split_folds_free(&s); /* zeroed by the failing calls: harmless */
}

UNIT_MAIN(UNIT(test_kfold_matches_sklearn_unshuffled),
          UNIT(test_kfold_shuffled_is_seeded_and_covers),
          UNIT(test_stratified_kfold_matches_sklearn),
          UNIT(test_stratified_kfold_shuffled_keeps_proportions),
          UNIT(test_stratified_holdout_counts_match_sklearn),
          UNIT(test_stratified_holdout_large_proportions_and_seed), UNIT(test_plain_holdout),
          UNIT(test_time_series_matches_sklearn), UNIT(test_refusals))
