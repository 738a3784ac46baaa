/* fmatrix.h -- the numeric matrix the learners read: column-major doubles, one flag per
 * column saying whether it holds category codes.
 *
 * Numeric columns hold the value (NaN when missing); categorical columns hold a category's
 * code 0 .. ncat-1 as a double (NaN when missing or unseen). lib/ml/featureset.h builds one
 * from a table or JSON rows; the learners (lib/algo/) never see a table. */
#ifndef AIOPS_FMATRIX_H
#define AIOPS_FMATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "data/spmatrix.h"

struct fmatrix {
    size_t nrows, ncols;
    double *x;           /* ncols * nrows, column-major: column j at x + j * nrows */
    uint8_t *is_cat;     /* ncols flags */
    uint32_t *ncat;      /* ncols: categories of a categorical column, 0 otherwise */
    struct spmatrix *sp; /* the TF-IDF vectors of the text features (nrows rows), owned;
                            NULL without text features. Learners that read it (linear)
                            train on it; the others see each text feature as its dense
                            column only (lib/ml/featureset.h) */
};

/* An all-numeric nrows x ncols matrix, values uninitialised (is_cat and ncat zero).
 * AIOPS_ENOMEM, with *m left empty. The caller frees with fmatrix_free. */
int fmatrix_alloc(size_t nrows, size_t ncols, struct fmatrix *m);
/* Frees what m owns (sp included) and leaves it empty (safe on an empty matrix). */
void fmatrix_free(struct fmatrix *m);

#endif
