/* binning.h -- features to small integer bins for histogram tree learning.
 *
 * Numeric features get quantile bins found LightGBM's way: from a seeded sample of at most
 * BIN_SAMPLE_ROWS rows, over the DISTINCT values (a value frequent enough to fill a bin gets
 * a bin of its own, the rest are grouped evenly), with bin edges halfway between neighbouring
 * sample values. A feature with at most max_bin distinct values gets one bin per value.
 * Categorical features get one bin per category seen in the sample (the most frequent
 * max_bin when there are more). Missing values, and categories without a bin (rare, unseen,
 * not a valid code), share one extra bin, the last, which exists only when some training row
 * needs it.
 *
 * The binned matrix is row-major (row r's features at bins + r * nfeat), one byte per value
 * when every feature has at most 256 bins, two bytes otherwise. */
#ifndef AIOPS_BINNING_H
#define AIOPS_BINNING_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"
#include "data/fmatrix.h"

#define BIN_SAMPLE_ROWS 200000

struct bin_feature {
    int is_cat;
    int has_missing; /* the last bin is the missing bin */
    uint32_t nbins;  /* value bins + has_missing; >= 1 */
    uint32_t nvalue; /* value bins, >= 1 */
    double *upper;   /* numeric: nvalue upper bounds, ascending, upper[nvalue-1] = +inf: value v
                        is in the first bin b with v <= upper[b]; owned */
    uint32_t ncat;   /* categorical: the column's category count */
    uint32_t *cat_bin; /* categorical: ncat entries, the bin of each code (nvalue for codes
                          without a bin, i.e. the missing bin); owned */
    uint32_t *bin_cat; /* categorical: nvalue entries, the code of each value bin; owned */
};

struct binner {
    size_t nfeat;
    struct bin_feature *f; /* nfeat, owned */
    uint32_t *offset;      /* nfeat + 1: feature j's bins are [offset[j], offset[j+1]) in a
                              histogram of all features; owned */
    uint32_t total_bins;
    int wide; /* some feature has more than 256 bins: the matrix is uint16 */
};

/* Finds the bins of every column of x (rows: the rows to learn from, NULL = all nrows of x;
 * n of them). max_bin: 2 .. 65535 value bins per feature. pool (may be NULL) shares the
 * features among its threads. AIOPS_EINVAL for a bad max_bin or an empty matrix,
 * AIOPS_ENOMEM. The caller frees with binner_free. */
int binner_fit(const struct fmatrix *x, const uint32_t *rows, size_t n, int max_bin,
               unsigned seed, struct pool *pool, struct binner *out);
void binner_free(struct binner *b);

/* The bin of value v for feature f. */
uint32_t binner_bin(const struct bin_feature *f, double v);

/* The binned matrix of the given rows of x (rows NULL = all; n of them) into *out (when out
 * is not NULL): row i of the result (rows[i] of x) at *out + i * stride values, stride >=
 * nfeat (padding, zero, lets rows start on cache-line boundaries), one byte per value, or
 * a uint16 when b->wide; with cols_out (may be NULL) also the same bins column-major
 * (feature j's n bins at *cols_out + j * n). *out is 64-byte aligned. pool (may be NULL)
 * shares the work. The caller frees *out and *cols_out. AIOPS_ENOMEM, AIOPS_EINVAL. */
int binner_apply(const struct binner *b, const struct fmatrix *x, const uint32_t *rows,
                 size_t n, size_t stride, struct pool *pool, void **out, void **cols_out);

#endif
