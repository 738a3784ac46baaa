/* spmatrix.c -- see spmatrix.h. */
#include "data/spmatrix.h"

#include <stdlib.h>
#include <string.h>

void spmatrix_free(struct spmatrix *m)
{
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}
