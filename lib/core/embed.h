/* embed.h -- files compiled into the programs by tools/embed.c: the SQL migrations
 * (lib/store/embed.h), and the text lexicons (lib/text/lexicon.h). A
 * deployed binary needs no files beside it. */
#ifndef AIOPS_CORE_EMBED_H
#define AIOPS_CORE_EMBED_H

struct embedded_file {
    const char *name; /* base name, e.g. "0001_init.sql" */
    const char *data; /* the bytes, NUL-terminated */
    unsigned long len;
};

#endif
