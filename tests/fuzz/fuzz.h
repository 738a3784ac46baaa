/* fuzz.h -- what the libFuzzer targets share. A failed check aborts (libFuzzer reports it
 * with the input). */
#ifndef AIOPS_FUZZ_H
#define AIOPS_FUZZ_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "data/fmatrix.h"

/* libFuzzer's entry point, which every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

/* Defines algo_load_canonical(data, size) for a model format of lib/algo: the model algo_load
 * reads from data, or NULL after a clean refusal (AIOPS_ECORRUPT or AIOPS_ENOMEM, nothing
 * made) or for more than 1 MiB (not tried); a model that loads must save back to exactly data
 * (the format is canonical). Any other outcome aborts. */
#define FUZZ_LOAD_CANONICAL(algo)                                                              \
    static struct algo *algo##_load_canonical(const uint8_t *data, size_t size)                \
    {                                                                                          \
        if (size > (1u << 20))                                                                 \
            return NULL;                                                                       \
        struct algo *m = NULL;                                                                 \
        int rc = algo##_load(data, size, &m);                                                  \
        if (rc != 0) {                                                                         \
            if (m != NULL || (rc != AIOPS_ECORRUPT && rc != AIOPS_ENOMEM))                     \
                abort();                                                                       \
            return NULL;                                                                       \
        }                                                                                      \
        struct buf b = BUF_INIT;                                                               \
        if (algo##_save(m, &b) != 0 || b.len != size || memcmp(b.data, data, size) != 0)       \
            abort();                                                                           \
        buf_free(&b);                                                                          \
        return m;                                                                              \
    }

#endif
