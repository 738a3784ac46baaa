/* normalize.h -- Korean-aware text normalisation, the first step of every text feature.
 *
 * What users type into reviews and chats spells the same word many ways; folding them
 * before counting n-grams is what lets a model learn from 60,000 reviews instead of from
 * each spelling. In order:
 *   1. the input must be valid UTF-8 (AIOPS_EPARSE with the offset of the first bad byte:
 *      every caller is handed outside text);
 *   2. width: full-width ASCII (U+FF01..FF5E) becomes ASCII, the ideographic space a space,
 *      half-width Hangul jamo (U+FFA0..FFDC) the compatibility jamo (U+3164, U+3131..3163);
 *   3. ASCII letters are lower-cased; every Unicode space, tab and line break becomes one
 *      space, other control characters and zero-width characters are dropped;
 *   4. Hangul NFC: conjoining jamo sequences L V and L V T (U+1100.., U+1161.., U+11A8..)
 *      and an LV syllable followed by a T are composed into the precomposed syllable, by
 *      the arithmetic of Unicode 15 section 3.12 (the only composition Korean text needs;
 *      other scripts are passed through as given);
 *   5. numbers: a thousands separator between digits is dropped ("1,000" -> "1000"), and
 *      a run of more than 4 digits (phone numbers, order numbers, amounts) becomes "0000"
 *      so that each does not become a feature of its own; shorter numbers ("10점") are kept;
 *   6. repeats: a run of the same character (not a digit) longer than 2 is cut to 2 ("ㅋㅋㅋㅋ" ->
 * "ㅋㅋ", "ㅠㅠㅠㅠ" -> "ㅠㅠ", "!!!!" -> "!!", "최고오오오" -> "최고오오");
 *   7. leading and trailing spaces are removed. */
#ifndef AIOPS_TEXT_NORMALIZE_H
#define AIOPS_TEXT_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Appends the normalised form of s[0..n) to out (NUL-terminated; out->len excludes the
 * NUL). AIOPS_EPARSE for invalid UTF-8 (*bad_offset, may be NULL, is set), AIOPS_ENOMEM. */
int text_normalize(const char *s, size_t n, struct buf *out, size_t *bad_offset);

/* Decodes one code point of valid UTF-8 at s (n > 0 bytes left) into *cp; returns its
 * length in bytes (1 for a byte that does not start valid UTF-8, with *cp = U+FFFD). */
size_t text_utf8_next(const char *s, size_t n, uint32_t *cp);
/* Writes cp as UTF-8 into out[4]; returns the byte count. */
size_t text_utf8_put(uint32_t cp, char *out);

/* 1 for a precomposed Hangul syllable (U+AC00..D7A3). */
int text_is_hangul_syllable(uint32_t cp);

/* The words of normalised text s[0..n), which single spaces separate: from *at on, the next
 * word s[*start .. *end) (never empty), and *at moves past it; 0 when none is left.
 *   for (size_t at = 0, a, b; text_next_word(s, n, &at, &a, &b);) ...
 * Inline: the featurizer calls it for every word of every document. */
static inline int text_next_word(const char *s, size_t n, size_t *at, size_t *start, size_t *end)
{
    size_t i = *at;
    while (i < n && s[i] == ' ')
        i++;
    size_t j = i;
    while (j < n && s[j] != ' ')
        j++;
    *at = j;
    *start = i;
    *end = j;
    return j > i;
}

#endif
