#include "core/bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)
#define HEADER 64 /* keeps the caller's memory 64-byte aligned */

/* The header before the caller's memory: how it was obtained, to release it alike. */
struct bigmem_head {
    void *base;    /* what mmap or malloc returned */
    size_t length; /* mapped bytes; 0: malloc'd */
};

void *bigmem_alloc(size_t bytes)
{
    if (bytes == 0 || bytes > SIZE_MAX - HUGE_PAGE - HEADER)
        return NULL;
    if (bytes < BIGMEM_MIN) {
        void *base = NULL;
        if (posix_memalign(&base, HEADER, HEADER + bytes) != 0)
            return NULL;
        memset(base, 0, HEADER + bytes);
        *(struct bigmem_head *)base = (struct bigmem_head){base, 0};
        return (char *)base + HEADER;
    }
    /* the caller's memory starts on a huge page boundary, the header in the page before
     * it: map two huge pages more than the body and unmap what is outside
     * [user - page, user + body) */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    size_t length = body + 2 * HUGE_PAGE;
    char *map = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    char *user = (char *)(((uintptr_t)map + HUGE_PAGE + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
    char *keep = user - page, *end = user + body;
    if (keep > map)
        munmap(map, (size_t)(keep - map));
    if (end < map + length)
        munmap(end, (size_t)(map + length - end));
#ifdef MADV_HUGEPAGE
    madvise(user, body, MADV_HUGEPAGE); /* advice: without it the memory is still good */
#endif
    *(struct bigmem_head *)(user - HEADER) = (struct bigmem_head){keep, (size_t)(end - keep)};
    return user;
}

void bigmem_free(void *p)
{
    if (p == NULL)
        return;
    struct bigmem_head h = *(struct bigmem_head *)((char *)p - HEADER);
    if (h.length == 0)
        free(h.base);
    else
        munmap(h.base, h.length);
}
