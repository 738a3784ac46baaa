/* bench_data.h -- reads a dataset in the benchmarks' binary form, as bench/gbdt_data.py and
 * bench/linear_data.py write it, for the C drivers (gbdt_bench.c, linear_bench.c):
 *
 *   int64 nrows, int64 ncols, int64 ncat[ncols] (0: numeric, else the category count of a
 *   categorical column coded 0..ncat-1), ncols * nrows float64 column-major features (NaN =
 *   missing), nrows float64 targets. */
#ifndef AIOPS_BENCH_DATA_H
#define AIOPS_BENCH_DATA_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/fmatrix.h"

/* Reads path into *m and *y (the caller frees both: fmatrix_free, free); -1 when the file
 * cannot be read or is not in that form. */
static int bench_load(const char *path, struct fmatrix *m, double **y)
{
    *y = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    int64_t hdr[2];
    if (fread(hdr, 8, 2, f) != 2 || hdr[0] <= 0 || hdr[1] <= 0 || hdr[1] > 100000 ||
        fmatrix_alloc((size_t)hdr[0], (size_t)hdr[1], m) != 0) {
        fclose(f);
        return -1;
    }
    size_t n = (size_t)hdr[0], nc = (size_t)hdr[1];
    int64_t *ncat = malloc(nc * 8);
    *y = malloc(n * sizeof **y);
    int ok = ncat && *y && fread(ncat, 8, nc, f) == nc && fread(m->x, 8, n * nc, f) == n * nc &&
             fread(*y, 8, n, f) == n;
    for (size_t j = 0; ok && j < nc; j++) {
        m->is_cat[j] = ncat[j] > 0;
        m->ncat[j] = (uint32_t)ncat[j];
    }
    free(ncat);
    fclose(f);
    if (!ok) {
        fmatrix_free(m);
        free(*y);
        *y = NULL;
    }
    return ok ? 0 : -1;
}

#endif
