#include "core/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

int array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return AIOPS_OK;
    size_t n = *cap ? *cap : first ? first : 1;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return AIOPS_ENOMEM;
        n *= 2;
    }
    if (elem != 0 && n > SIZE_MAX / elem)
        return AIOPS_ENOMEM;
    /* the pointer is read and written as bytes: items may point at any T * */
    void *old;
    memcpy(&old, items, sizeof old);
    void *p = realloc(old, n * elem);
    if (p == NULL)
        return AIOPS_ENOMEM;
    memcpy(items, &p, sizeof p);
    *cap = n;
    return AIOPS_OK;
}
