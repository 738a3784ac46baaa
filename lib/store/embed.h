/* embed.h -- files compiled into the programs by tools/embed.c (the SQL migrations). */
#ifndef AIOPS_EMBED_H
#define AIOPS_EMBED_H

#include "core/embed.h"

/* The files of migrations/ in name order; the array ends with a {0,0,0} entry. */
extern const struct embedded_file migrations[];
extern const unsigned long migrations_count;

#endif
