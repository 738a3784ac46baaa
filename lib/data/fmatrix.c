#include "data/fmatrix.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int fmatrix_alloc(size_t nrows, size_t ncols, struct fmatrix *m)
{
    memset(m, 0, sizeof *m);
    size_t cells = nrows * ncols;
    if (ncols != 0 && cells / ncols != nrows)
        return AIOPS_ENOMEM;
    m->nrows = nrows;
    m->ncols = ncols;
    m->x = malloc((cells ? cells : 1) * sizeof *m->x);
    m->is_cat = calloc(ncols ? ncols : 1, 1);
    m->ncat = calloc(ncols ? ncols : 1, sizeof *m->ncat);
    if (m->x == NULL || m->is_cat == NULL || m->ncat == NULL) {
        fmatrix_free(m);
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

void fmatrix_free(struct fmatrix *m)
{
    free(m->x);
    free(m->is_cat);
    free(m->ncat);
    if (m->sp != NULL) {
        spmatrix_free(m->sp);
        free(m->sp);
    }
    memset(m, 0, sizeof *m);
}
