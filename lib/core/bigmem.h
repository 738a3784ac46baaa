/* bigmem.h -- large arrays on transparent huge pages.
 *
 * A training pass that reads and writes tens of megabytes at random (a sparse linear
 * model's coefficients, its rows) spends much of its time in TLB misses and first-touch
 * page faults on 4 KiB pages. bigmem_alloc maps such an array on its own, 2 MiB aligned,
 * and asks the kernel for huge pages (MADV_HUGEPAGE: honoured when the system's policy is
 * "madvise" or "always", ignored otherwise). The memory is zeroed. The caller owns it and
 * releases it with bigmem_free (never free()); bigmem_free(NULL) does nothing. */
#ifndef AIOPS_BIGMEM_H
#define AIOPS_BIGMEM_H

#include <stddef.h>

/* bytes zeroed bytes, 64-byte aligned (2 MiB aligned from BIGMEM_MIN up), or NULL when
 * the system has no memory for it (also for bytes == 0). Below BIGMEM_MIN bytes it is
 * calloc's memory with a small header, as huge pages would not pay. */
void *bigmem_alloc(size_t bytes);
void bigmem_free(void *p);

#define BIGMEM_MIN (1u << 20)

#endif
