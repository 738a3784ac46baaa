/* fuzz.h -- what the libFuzzer targets share. A failed check aborts (libFuzzer reports it
 * with the input). */
#ifndef AIOPS_FUZZ_H
#define AIOPS_FUZZ_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/fmatrix.h"

/* An nrows x ncols matrix, all numeric, every cell 0.0 (fmatrix_free frees it). */
static inline void fuzz_matrix(struct fmatrix *m, size_t nrows, size_t ncols)
{
    if (fmatrix_alloc(nrows, ncols, m) != 0)
        abort();
    memset(m->x, 0, nrows * ncols * sizeof *m->x);
}

/* Each of the rows of out (k values a row) is a probability distribution: every value in
 * [0, 1] (NaN is not) and a sum less than eps away from 1. */
static inline void fuzz_check_distributions(const double *out, size_t rows, size_t k, double eps)
{
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t c = 0; c < k; c++) {
            if (!(out[r * k + c] >= 0 && out[r * k + c] <= 1))
                abort();
            s += out[r * k + c];
        }
        if (!(fabs(s - 1) < eps))
            abort();
    }
}

#endif
