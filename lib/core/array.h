/* array.h -- the element count of a fixed-size array, and room in a growable one. */
#ifndef AIOPS_ARRAY_H
#define AIOPS_ARRAY_H

#include <stddef.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Makes room in a growable array for at least `need` entries of elem bytes: `items` is the
 * address of the array's pointer (of any object type; NULL while nothing is allocated) and
 * *cap its capacity in entries, which doubles -- from `first` when nothing is allocated --
 * until it is enough. The one growth policy of the library, with the overflow checks the
 * copies of it lacked. AIOPS_OK, or AIOPS_ENOMEM with the array and *cap unchanged. */
int array_reserve(void *items, size_t *cap, size_t need, size_t elem, size_t first);

#endif
