/* Unit tests for lib/algo/binning.c: bin edges, missing and categorical bins, the binned
 * matrices. */
#include "unit.h"

#include "algo/binning.h"
#include "algo/tree.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "testdata.h"

static void test_few_values_one_bin_each(void)
{
    /* 3 distinct values: 3 bins with edges halfway between them */
    struct fmatrix x;
    double v[] = {2, 1, 4, 4, 1, 2, 2, 4, 1};
    mat_init_values(&x, 9, 1, v);
    struct binner b;
    CHECK_INT(binner_fit(&x, NULL, 9, 255, 0, NULL, &b), 0);
    const struct bin_feature *f = &b.f[0];
    CHECK_INT(f->nvalue, 3);
    CHECK_INT(f->nbins, 3);
    CHECK_INT(f->has_missing, 0);
    CHECK_NEAR(f->upper[0], 1.5, 0);
    CHECK_NEAR(f->upper[1], 3.0, 0);
    CHECK(isinf(f->upper[2]) && f->upper[2] > 0);
    CHECK_INT(binner_bin(f, 1), 0);
    CHECK_INT(binner_bin(f, 1.5), 0); /* an edge belongs to the bin below it */
    CHECK_INT(binner_bin(f, 1.6), 1);
    CHECK_INT(binner_bin(f, -1e300), 0);
    CHECK_INT(binner_bin(f, 1e300), 2);
    CHECK_INT(binner_bin(f, INFINITY), 2);
    CHECK_INT(b.total_bins, 3);
    CHECK_INT(b.wide, 0);
    binner_free(&b);
    mat_free(&x);
}

static void test_missing_gets_the_last_bin(void)
{
    struct fmatrix x;
    double v[] = {1, NAN, 2, 3, NAN, 1, /* column 1: no missing */ 5, 6, 5, 6, 5, 6};
    mat_init_values(&x, 6, 2, v);
    struct binner b;
    CHECK_INT(binner_fit(&x, NULL, 6, 255, 0, NULL, &b), 0);
    CHECK_INT(b.f[0].has_missing, 1);
    CHECK_INT(b.f[0].nvalue, 3);
    CHECK_INT(b.f[0].nbins, 4);
    CHECK_INT(binner_bin(&b.f[0], NAN), 3);
    CHECK_INT(b.f[1].has_missing, 0);
    CHECK_INT(b.f[1].nbins, 2);
    CHECK_INT(b.offset[0], 0);
    CHECK_INT(b.offset[1], 4);
    CHECK_INT(b.offset[2], 6);
    CHECK_INT(b.total_bins, 6);
    void *rows = NULL, *cols = NULL;
    CHECK_INT(binner_apply(&b, &x, NULL, 6, 2, NULL, &rows, &cols), 0);
    const uint8_t *rm = rows, *cm = cols;
    uint8_t want0[] = {0, 3, 1, 2, 3, 0}, want1[] = {0, 1, 0, 1, 0, 1};
    for (size_t r = 0; r < 6; r++) {
        CHECK_INT(rm[r * 2], want0[r]);
        CHECK_INT(rm[r * 2 + 1], want1[r]);
        CHECK_INT(cm[r], want0[r]);
        CHECK_INT(cm[6 + r], want1[r]);
    }
    free(rows);
    free(cols);
    binner_free(&b);
    mat_free(&x);
}

static void test_quantile_bins_even_and_heavy_values(void)
{
    /* 10000 distinct values into 16 bins: each bin holds about 1/16 of them */
    size_t n = 10000;
    struct fmatrix x;
    mat_init(&x, n, 2);
    uint64_t st = 99;
    for (size_t r = 0; r < n; r++) {
        AT(&x, r, 0) = rand_unit(&st) * 1000;
        /* half the rows are exactly 0: that value fills a bin alone */
        AT(&x, r, 1) = r % 2 ? 0.0 : 1 + rand_unit(&st);
    }
    struct binner b;
    CHECK_INT(binner_fit(&x, NULL, n, 16, 0, NULL, &b), 0);
    CHECK_INT(b.f[0].nvalue, 16);
    size_t cnt[16] = {0};
    for (size_t r = 0; r < n; r++)
        cnt[binner_bin(&b.f[0], AT(&x, r, 0))]++;
    for (int k = 0; k < 16; k++)
        CHECK(cnt[k] >= n / 16 - 5 && cnt[k] <= n / 16 + 5);
    for (uint32_t k = 1; k < b.f[0].nvalue; k++)
        CHECK(b.f[0].upper[k] > b.f[0].upper[k - 1]);
    const struct bin_feature *f = &b.f[1];
    CHECK(f->nvalue <= 16 && f->nvalue >= 8);
    CHECK_INT(binner_bin(f, 0.0), 0);
    CHECK(f->upper[0] >= 0.0 && f->upper[0] < 1.0);
    size_t zeros_bin_rows = 0;
    for (size_t r = 0; r < n; r++)
        zeros_bin_rows += binner_bin(f, AT(&x, r, 1)) == 0;
    CHECK_INT(zeros_bin_rows, n / 2);
    binner_free(&b);
    mat_free(&x);
}

static void test_categorical_bins(void)
{
    /* codes 0..5 with code 4 absent, code 5 rare; a max_bin of 3 keeps the 3 most frequent */
    struct fmatrix x;
    double v[] = {0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 5, NAN};
    mat_init_values(&x, 12, 1, v);
    x.is_cat[0] = 1;
    x.ncat[0] = 6;
    struct binner b;
    CHECK_INT(binner_fit(&x, NULL, 12, 255, 0, NULL, &b), 0);
    const struct bin_feature *f = &b.f[0];
    CHECK(f->is_cat);
    CHECK_INT(f->nvalue, 5); /* 0, 1, 2, 3, 5 */
    CHECK_INT(f->has_missing, 1);
    CHECK_INT(binner_bin(f, 0), 0);
    CHECK_INT(binner_bin(f, 3), 3);
    CHECK_INT(binner_bin(f, 5), 4);
    CHECK_INT(f->bin_cat[4], 5);
    CHECK_INT(binner_bin(f, 4), 5); /* a category without rows: the missing bin */
    CHECK_INT(binner_bin(f, NAN), 5);
    CHECK_INT(binner_bin(f, 2.5), 5);
    CHECK_INT(binner_bin(f, -1), 5);
    CHECK_INT(binner_bin(f, 6), 5);
    binner_free(&b);
    CHECK_INT(binner_fit(&x, NULL, 12, 3, 0, NULL, &b), 0);
    f = &b.f[0];
    CHECK_INT(f->nvalue, 3); /* 1, 2, 3 kept, in code order */
    CHECK_INT(f->bin_cat[0], 1);
    CHECK_INT(f->bin_cat[1], 2);
    CHECK_INT(f->bin_cat[2], 3);
    CHECK_INT(binner_bin(f, 0), 3);
    CHECK_INT(binner_bin(f, 5), 3);
    CHECK_INT(binner_bin(f, 3), 2);
    binner_free(&b);
    mat_free(&x);
}

static void test_wide_bins_and_sampling(void)
{
    /* 300 distinct values with max_bin 1000: more than 256 bins, so the matrices are uint16;
     * 250,000 rows: the bins come from a seeded sample and are the same for the same seed */
    size_t n = 250000;
    struct fmatrix x;
    mat_init(&x, n, 2);
    uint64_t st = 5;
    for (size_t r = 0; r < n; r++) {
        AT(&x, r, 0) = (double)(r % 300);
        AT(&x, r, 1) = rand_unit(&st);
    }
    struct binner a, b, c;
    struct pool *pool = NULL;
    CHECK_INT(pool_create(2, &pool), 0);
    CHECK_INT(binner_fit(&x, NULL, n, 1000, 1, NULL, &a), 0);
    CHECK_INT(binner_fit(&x, NULL, n, 1000, 1, pool, &b), 0); /* threads: the same bins */
    CHECK_INT(binner_fit(&x, NULL, n, 1000, 2, NULL, &c), 0);
    CHECK(a.wide);
    CHECK_INT(a.f[0].nvalue, 300);
    CHECK_INT(a.f[1].nvalue, b.f[1].nvalue);
    CHECK_MEM(a.f[1].upper, a.f[1].nvalue * sizeof(double), b.f[1].upper,
              b.f[1].nvalue * sizeof(double));
    CHECK(c.f[1].nvalue != a.f[1].nvalue ||
          memcmp(a.f[1].upper, c.f[1].upper, a.f[1].nvalue * sizeof(double)) != 0);
    void *rows = NULL, *cols = NULL;
    CHECK_INT(binner_apply(&a, &x, NULL, n, 2, pool, &rows, &cols), 0);
    const uint16_t *rm = rows, *cm = cols;
    size_t bad = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < 2; j++) {
            uint32_t want = binner_bin(&a.f[j], AT(&x, r, j));
            bad += rm[r * 2 + j] != want || cm[j * n + r] != want;
        }
    CHECK_INT(bad, 0);
    free(rows);
    free(cols);
    /* a subset of rows, column-major only */
    uint32_t sub[3] = {7, 300, 299};
    CHECK_INT(binner_apply(&a, &x, sub, 3, 2, NULL, NULL, &cols), 0);
    cm = cols;
    CHECK_INT(cm[0], 7);
    CHECK_INT(cm[1], 0);
    CHECK_INT(cm[2], 299);
    free(cols);
    pool_free(pool);
    binner_free(&a);
    binner_free(&b);
    binner_free(&c);
    CHECK_INT(binner_fit(&x, NULL, n, 1, 0, NULL, &a), AIOPS_EINVAL);
    CHECK_INT(binner_fit(&x, NULL, 0, 255, 0, NULL, &a), AIOPS_EINVAL);
    mat_free(&x);
}

UNIT_MAIN(UNIT(test_few_values_one_bin_each), UNIT(test_missing_gets_the_last_bin),
          UNIT(test_quantile_bins_even_and_heavy_values), UNIT(test_categorical_bins),
          UNIT(test_wide_bins_and_sampling))
