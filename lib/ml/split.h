/* split.h -- seeded row splits for training and validation: hold-out (plain and
 * stratified), k-fold (plain and stratified) and time-series folds.
 *
 * Each function fills a struct split_folds: per fold, the train and the test row indexes,
 * both ascending, disjoint, all in [0, n). Everything is deterministic for a seed (the
 * generator is xoshiro256** seeded through splitmix64; it is not numpy's, so shuffled splits
 * have the same sizes and class counts as scikit-learn's but not the same rows).
 * Unshuffled k-fold, stratified k-fold and time-series folds reproduce scikit-learn 1.2
 * exactly (KFold, StratifiedKFold, TimeSeriesSplit).
 *
 * Classes are given as y[i] = the class index of row i (0, 1, ... as a double, as
 * target_fit() writes them); a NaN, negative, fractional or huge value is refused. */
#ifndef AIOPS_SPLIT_H
#define AIOPS_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct split_fold {
    size_t *train; /* ntrain row indexes, ascending */
    size_t ntrain;
    size_t *test; /* ntest row indexes, ascending */
    size_t ntest;
};

struct split_folds {
    size_t k;                /* number of folds (1 for a hold-out) */
    struct split_fold *fold; /* k entries, owned */
    size_t *idx;             /* the one allocation every index array points into, owned */
};

/* Releases what a split function filled (a zeroed struct is fine too). */
void split_folds_free(struct split_folds *s);

/* A random hold-out: ceil(test_frac * n) rows for test (as scikit-learn's train_test_split),
 * the rest for train. AIOPS_EINVAL (err, which may be NULL, says why) when
 * test_frac is not in (0, 1) or either side would be empty; AIOPS_ENOMEM. */
int split_holdout(size_t n, double test_frac, uint64_t seed, struct split_folds *out,
                  struct aiops_error *err);

/* A stratified hold-out with the allocation of scikit-learn's StratifiedShuffleSplit
 * (train_test_split(stratify=y)): the train count per class is the "approximate mode"
 * (floor of its proportional share, the rows left over given to the largest remainders,
 * ties broken by the seed), the test count likewise from what remains; rows inside a class
 * are drawn at random. Unlike scikit-learn, a class with a single row is accepted (it goes
 * where the allocation puts it). Errors as split_holdout(), plus a bad class index. */
int split_holdout_stratified(const double *y, size_t n, double test_frac, uint64_t seed,
                             struct split_folds *out, struct aiops_error *err);

/* K-fold as scikit-learn's KFold: fold f tests a contiguous block of the (shuffled when
 * `shuffle`) row order, the first n % k folds one row larger. 2 <= k <= n, else
 * AIOPS_EINVAL. */
int split_kfold(size_t n, size_t k, int shuffle, uint64_t seed, struct split_folds *out,
                struct aiops_error *err);

/* Stratified k-fold as scikit-learn's StratifiedKFold: classes numbered by first appearance,
 * the per-fold count of each class dealt round-robin over the class-sorted rows, and each
 * class's rows given to folds in row order (fold numbers shuffled per class when
 * `shuffle`). AIOPS_EINVAL when k < 2, k > n or every class has fewer than k rows. */
int split_kfold_stratified(const double *y, size_t n, size_t k, int shuffle, uint64_t seed,
                           struct split_folds *out, struct aiops_error *err);

/* scikit-learn's TimeSeriesSplit(n_splits=k, test_size, gap, max_train_size) on the row
 * order: test_size 0 means n / (k + 1); the test blocks are the last k blocks of test_size
 * rows; fold f trains on the rows before its test block minus `gap` rows (only the last
 * max_train rows of them when max_train > 0). AIOPS_EINVAL when k < 2, k + 1 > n or
 * n - gap - k * test_size <= 0, as scikit-learn refuses. */
int split_time_series(size_t n, size_t k, size_t test_size, size_t gap, size_t max_train,
                      struct split_folds *out, struct aiops_error *err);

#endif
