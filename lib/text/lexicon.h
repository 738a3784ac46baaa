/* lexicon.h -- the word lists of data/lexicons/ (one item a line; blank lines and lines
 * starting with '#' are skipped), compiled into the programs by tools/embed.c so that a
 * deployed binary finds them without files beside it.
 *
 * Each list is looked up by its file's base name without ".txt": "josa", "eomi",
 * "stopwords", "profanity", "positive", "negative", "honorific", "empathy", "apology",
 * "confirmation", "script", "solution" (data/lexicons/README.md says where each comes from
 * and under which licence). The lists are parsed once, on first use, and are immutable
 * afterwards: share them across threads freely. */
#ifndef AIOPS_TEXT_LEXICON_H
#define AIOPS_TEXT_LEXICON_H

#include <stddef.h>

struct lexicon;

/* The list called name, or NULL when no such file was embedded (or out of memory on the
 * first call). */
const struct lexicon *lexicon_get(const char *name);
/* 1 when s[0..n) is an item of lex (exact bytes). lex NULL: 0. */
int lexicon_has(const struct lexicon *lex, const char *s, size_t n);
/* Number of items; item i (not NUL-terminated: *len bytes), in byte order. */
size_t lexicon_size(const struct lexicon *lex);
const char *lexicon_item(const struct lexicon *lex, size_t i, size_t *len);
/* The longest item (in bytes) of lex, for bounded suffix searches. */
size_t lexicon_max_len(const struct lexicon *lex);

/* The embedded files (the generated build/gen/lexicons_embed.c, from the .txt files of
 * data/lexicons/). */
#include "core/embed.h"
extern const struct embedded_file text_lexicons[];
extern const unsigned long text_lexicons_count;

#endif
