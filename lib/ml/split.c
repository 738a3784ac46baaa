/* split.c -- seeded hold-out, k-fold and time-series row splits (see split.h). */

#include "ml/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rand.h"

/* Class indexes above this are refused: they would only size per-class tables. */
#define SPLIT_MAX_CLASS (1u << 24)

/* --- result building ------------------------------------------------------------------- */

void split_folds_free(struct split_folds *s)
{
    if (s == NULL)
        return;
    free(s->fold);
    free(s->idx);
    memset(s, 0, sizeof *s);
}

/* Allocates k folds whose index arrays total `total` entries. */
static int folds_alloc(struct split_folds *out, size_t k, size_t total)
{
    memset(out, 0, sizeof *out);
    out->fold = calloc(k, sizeof *out->fold);
    out->idx = malloc((total ? total : 1) * sizeof *out->idx);
    if (out->fold == NULL || out->idx == NULL) {
        split_folds_free(out);
        return AIOPS_ENOMEM;
    }
    out->k = k;
    return 0;
}

/* With fold_of[i] = the fold that tests row i (every row tested once), each fold trains on
 * all the other rows. Both lists come out ascending. */
static int folds_from_assignment(const uint32_t *fold_of, size_t n, size_t k,
                                 struct split_folds *out)
{
    if (n > SIZE_MAX / sizeof(size_t) / k)
        return AIOPS_ETOOBIG;
    int rc = folds_alloc(out, k, n * k);
    if (rc != 0)
        return rc;
    size_t *counts = calloc(k, sizeof *counts);
    if (counts == NULL) {
        split_folds_free(out);
        return AIOPS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        counts[fold_of[i]]++;
    size_t *p = out->idx;
    for (size_t f = 0; f < k; f++) {
        struct split_fold *fd = &out->fold[f];
        fd->ntest = counts[f];
        fd->ntrain = n - counts[f];
        fd->train = p;
        fd->test = p + fd->ntrain;
        p += n;
        size_t a = 0, b = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold_of[i] == f)
                fd->test[b++] = i;
            else
                fd->train[a++] = i;
        }
    }
    free(counts);
    return 0;
}

/* One fold from a mark per row: 1 = train, 2 = test, 0 = neither. */
static int fold_from_marks(const uint8_t *mark, size_t n, size_t ntrain, size_t ntest,
                           struct split_folds *out)
{
    int rc = folds_alloc(out, 1, ntrain + ntest);
    if (rc != 0)
        return rc;
    struct split_fold *fd = &out->fold[0];
    fd->train = out->idx;
    fd->test = out->idx + ntrain;
    for (size_t i = 0; i < n; i++) {
        if (mark[i] == 1)
            fd->train[fd->ntrain++] = i;
        else if (mark[i] == 2)
            fd->test[fd->ntest++] = i;
    }
    return 0;
}

/* Validates class indexes; *nclass receives max + 1. */
static int check_classes(const double *y, size_t n, size_t *nclass, struct aiops_error *err)
{
    double hi = -1;
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        if (!(v >= 0 && v < (double)SPLIT_MAX_CLASS) || v != floor(v)) {
            return aiops_error_set(
                err, AIOPS_EINVAL, NULL,
                "class indexes must be whole numbers in [0, 2^24) (no missing values)");
        }
        hi = v > hi ? v : hi;
    }
    *nclass = (size_t)(hi + 1);
    return 0;
}

/* n_test as scikit-learn's _validate_shuffle_split computes it for a float test_size. */
static int holdout_sizes(size_t n, double test_frac, size_t *ntrain, size_t *ntest,
                         struct aiops_error *err)
{
    if (!(test_frac > 0 && test_frac < 1)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "the test fraction must be in (0, 1)");
    }
    double t = ceil(test_frac * (double)n);
    if (t >= (double)n || t < 1) {
        return aiops_error_set(
            err, AIOPS_EINVAL, NULL,
            "too few rows for this test fraction: the train or test part is empty");
    }
    *ntest = (size_t)t;
    *ntrain = n - *ntest;
    return 0;
}

/* --- hold-out -------------------------------------------------------------------------- */

int split_holdout(size_t n, double test_frac, uint64_t seed, struct split_folds *out,
                  struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    size_t ntrain, ntest;
    int rc = holdout_sizes(n, test_frac, &ntrain, &ntest, err);
    if (rc != 0)
        return rc;
    size_t *perm = malloc(n * sizeof *perm);
    uint8_t *mark = malloc(n);
    if (perm == NULL || mark == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    struct rand_xoshiro r;
    rand_xoshiro_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    rand_xoshiro_shuffle_sz(&r, perm, n);
    for (size_t i = 0; i < n; i++)
        mark[perm[i]] = i < ntest ? 2 : 1;
    rc = fold_from_marks(mark, n, ntrain, ntest, out);
done:
    free(perm);
    free(mark);
    return rc;
}

/* scikit-learn's _approximate_mode: how many of n_draws to take from each class so that
 * the counts follow the class proportions; the rows left after flooring go to the largest
 * remainders, ties among equal remainders broken at random. draws[c] receives the count. */
static int approximate_mode(const size_t *counts, size_t nclass, size_t n_draws, struct rand_xoshiro *r,
                            size_t *draws)
{
    size_t total = 0;
    for (size_t c = 0; c < nclass; c++)
        total += counts[c];
    double *rem = malloc((nclass ? nclass : 1) * sizeof *rem);
    uint32_t *ties = malloc((nclass ? nclass : 1) * sizeof *ties);
    if (rem == NULL || ties == NULL) {
        free(rem);
        free(ties);
        return AIOPS_ENOMEM;
    }
    size_t need = n_draws;
    for (size_t c = 0; c < nclass; c++) {
        /* the same operation order as numpy: counts / total * n_draws */
        double cont = total ? (double)counts[c] / (double)total * (double)n_draws : 0;
        double fl = floor(cont);
        draws[c] = (size_t)fl;
        need -= draws[c];
        rem[c] = cont - fl;
    }
    double prev = INFINITY;
    while (need > 0) {
        /* the largest remainder below the previous one, and the classes holding it */
        double best = -1;
        for (size_t c = 0; c < nclass; c++)
            if (rem[c] < prev && rem[c] > best)
                best = rem[c];
        if (best < 0)
            break; /* cannot happen: the remainders add up to `need` */
        size_t nt = 0;
        for (size_t c = 0; c < nclass; c++)
            if (rem[c] == best)
                ties[nt++] = (uint32_t)c;
        if (nt > need) {
            /* a random subset of `need` of them: a partial Fisher-Yates */
            for (size_t i = 0; i < need; i++) {
                size_t j = i + (size_t)rand_xoshiro_below(r, nt - i);
                uint32_t t = ties[i];
                ties[i] = ties[j];
                ties[j] = t;
            }
            nt = need;
        }
        for (size_t i = 0; i < nt; i++)
            draws[ties[i]]++;
        need -= nt;
        prev = best;
    }
    free(rem);
    free(ties);
    return 0;
}

int split_holdout_stratified(const double *y, size_t n, double test_frac, uint64_t seed,
                             struct split_folds *out, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    size_t ntrain, ntest, nclass;
    int rc = holdout_sizes(n, test_frac, &ntrain, &ntest, err);
    if (rc == 0)
        rc = check_classes(y, n, &nclass, err);
    if (rc != 0)
        return rc;
    size_t *counts = calloc(nclass, sizeof *counts);
    size_t *start = calloc(nclass + 1, sizeof *start);
    size_t *ntr = calloc(nclass, sizeof *ntr);
    size_t *nte = calloc(nclass, sizeof *nte);
    size_t *rest = calloc(nclass, sizeof *rest);
    size_t *rows = malloc(n * sizeof *rows);
    uint8_t *mark = calloc(n, 1);
    if (!counts || !start || !ntr || !nte || !rest || !rows || !mark) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        counts[(size_t)y[i]]++;
    /* classes that do not occur are no classes for the allocation (np.unique): dense[c]
     * numbers the present ones in class order, and counts[] is compacted to match */
    size_t *dense = calloc(nclass, sizeof *dense);
    if (dense == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    size_t np = 0;
    for (size_t c = 0; c < nclass; c++) {
        dense[c] = np;
        if (counts[c] > 0)
            counts[np++] = counts[c];
    }
    struct rand_xoshiro r;
    rand_xoshiro_seed(&r, seed);
    rc = approximate_mode(counts, np, ntrain, &r, ntr);
    for (size_t c = 0; rc == 0 && c < np; c++)
        rest[c] = counts[c] - ntr[c];
    if (rc == 0)
        rc = approximate_mode(rest, np, ntest, &r, nte);
    if (rc != 0) {
        free(dense);
        goto done;
    }
    /* rows grouped by class (each group in row order), then shuffled inside the group */
    for (size_t c = 0; c < np; c++)
        start[c + 1] = start[c] + counts[c];
    memcpy(rest, start, np * sizeof *rest); /* reused as fill positions */
    for (size_t i = 0; i < n; i++)
        rows[rest[dense[(size_t)y[i]]]++] = i;
    free(dense);
    for (size_t c = 0; c < np; c++) {
        size_t *g = rows + start[c];
        rand_xoshiro_shuffle_sz(&r, g, counts[c]);
        for (size_t j = 0; j < ntr[c]; j++)
            mark[g[j]] = 1;
        for (size_t j = ntr[c]; j < ntr[c] + nte[c]; j++)
            mark[g[j]] = 2;
    }
    rc = fold_from_marks(mark, n, ntrain, ntest, out);
done:
    free(counts);
    free(start);
    free(ntr);
    free(nte);
    free(rest);
    free(rows);
    free(mark);
    return rc;
}

/* --- k-fold ---------------------------------------------------------------------------- */

static int check_k(size_t n, size_t k, struct aiops_error *err)
{
    if (k < 2) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "at least 2 folds are needed");
    }
    if (k > n) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "more folds than rows");
    }
    if (k > UINT32_MAX) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "too many folds");
    }
    return 0;
}

int split_kfold(size_t n, size_t k, int shuffle, uint64_t seed, struct split_folds *out,
                struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    int rc = check_k(n, k, err);
    if (rc != 0)
        return rc;
    size_t *order = malloc(n * sizeof *order);
    uint32_t *fold_of = malloc(n * sizeof *fold_of);
    if (order == NULL || fold_of == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    if (shuffle) {
        struct rand_xoshiro r;
        rand_xoshiro_seed(&r, seed);
        rand_xoshiro_shuffle_sz(&r, order, n);
    }
    size_t pos = 0;
    for (size_t f = 0; f < k; f++) {
        size_t size = n / k + (f < n % k ? 1 : 0);
        for (size_t j = 0; j < size; j++)
            fold_of[order[pos++]] = (uint32_t)f;
    }
    rc = folds_from_assignment(fold_of, n, k, out);
done:
    free(order);
    free(fold_of);
    return rc;
}

int split_kfold_stratified(const double *y, size_t n, size_t k, int shuffle, uint64_t seed,
                           struct split_folds *out, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    size_t nclass;
    int rc = check_k(n, k, err);
    if (rc == 0)
        rc = check_classes(y, n, &nclass, err);
    if (rc != 0)
        return rc;
    size_t *enc = malloc(nclass * sizeof *enc);      /* class index -> order of appearance */
    size_t *counts = calloc(nclass, sizeof *counts); /* by encoded class */
    size_t *fill = calloc(nclass, sizeof *fill);
    uint32_t *fold_of = malloc(n * sizeof *fold_of);
    size_t *deal = malloc(n * sizeof *deal); /* fold numbers, shuffled as row indexes are */
    if (!enc || !counts || !fill || !fold_of || !deal) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    size_t ne = 0;
    for (size_t c = 0; c < nclass; c++)
        enc[c] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)y[i];
        if (enc[c] == SIZE_MAX)
            enc[c] = ne++;
        counts[enc[c]]++;
    }
    int enough = 0;
    for (size_t e = 0; e < ne; e++)
        enough |= counts[e] >= k;
    if (!enough) {
        rc = aiops_error_set(err, AIOPS_EINVAL, NULL,
                             "every class has fewer rows than there are folds");
        goto done;
    }
    /* Class e occupies [lo, hi) of the class-sorted row order; fold f receives the
     * positions p of that range with p % k == f (scikit-learn's round robin). deal[] holds,
     * class after class, the fold of each of its rows in row order. */
    struct rand_xoshiro r;
    rand_xoshiro_seed(&r, seed);
    size_t lo = 0;
    size_t *d = deal;
    for (size_t e = 0; e < ne; e++) {
        size_t hi = lo + counts[e];
        size_t *cls = d;
        for (size_t f = 0; f < k; f++) {
            size_t below_hi = hi / k + (f < hi % k ? 1 : 0);
            size_t below_lo = lo / k + (f < lo % k ? 1 : 0);
            for (size_t j = below_lo; j < below_hi; j++)
                *d++ = f;
        }
        if (shuffle)
            rand_xoshiro_shuffle_sz(&r, cls, counts[e]);
        lo = hi;
    }
    /* the start of each class's block in deal[] */
    for (size_t e = 1; e < ne; e++)
        fill[e] = fill[e - 1] + counts[e - 1];
    for (size_t i = 0; i < n; i++) {
        size_t e = enc[(size_t)y[i]];
        fold_of[i] = (uint32_t)deal[fill[e]++]; /* k <= UINT32_MAX (check_k) */
    }
    rc = folds_from_assignment(fold_of, n, k, out);
done:
    free(enc);
    free(counts);
    free(fill);
    free(fold_of);
    free(deal);
    return rc;
}

/* --- time series ----------------------------------------------------------------------- */

int split_time_series(size_t n, size_t k, size_t test_size, size_t gap, size_t max_train,
                      struct split_folds *out, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    if (k < 2) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "at least 2 folds are needed");
    }
    if (k >= n) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "more folds (plus one) than rows");
    }
    if (test_size == 0)
        test_size = n / (k + 1);
    if (test_size > n / k || k * test_size + gap >= n) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "too many rows for tests and gap: no training rows would be left");
    }
    size_t first = n - k * test_size;
    size_t total = 0;
    for (size_t f = 0; f < k; f++) {
        size_t train_end = first + f * test_size - gap;
        size_t ntrain = (max_train > 0 && max_train < train_end) ? max_train : train_end;
        total += ntrain + test_size;
    }
    int rc = folds_alloc(out, k, total);
    if (rc != 0)
        return rc;
    size_t *p = out->idx;
    for (size_t f = 0; f < k; f++) {
        struct split_fold *fd = &out->fold[f];
        size_t test_start = first + f * test_size;
        size_t train_end = test_start - gap;
        size_t train_start = (max_train > 0 && max_train < train_end) ? train_end - max_train : 0;
        fd->train = p;
        fd->ntrain = train_end - train_start;
        for (size_t i = train_start; i < train_end; i++)
            *p++ = i;
        fd->test = p;
        fd->ntest = test_size;
        for (size_t i = test_start; i < test_start + test_size; i++)
            *p++ = i;
    }
    return 0;
}
