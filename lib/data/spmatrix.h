/* spmatrix.h -- a sparse matrix in compressed rows (CSR): what text features become
 * (lib/text/featurize.h) and what the linear learners read beside the dense fmatrix.
 *
 * Row r's entries are col[rowptr[r] .. rowptr[r+1]) with values val[...]; columns within a
 * row are strictly increasing. Values are floats: TF-IDF weights need no more, and a
 * 60,000-review corpus has millions of entries. */
#ifndef AIOPS_SPMATRIX_H
#define AIOPS_SPMATRIX_H

#include <stddef.h>
#include <stdint.h>

struct spmatrix {
    size_t nrows, ncols;
    size_t *rowptr; /* nrows + 1 */
    uint32_t *col;  /* rowptr[nrows] */
    float *val;     /* rowptr[nrows] */
};

/* Frees what m owns and leaves it empty (safe on an empty matrix). */
void spmatrix_free(struct spmatrix *m);

#endif
