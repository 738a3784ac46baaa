/* normalize.c -- see normalize.h; works on an array of code points, one pass per rule. */
#include "text/normalize.h"

#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/err.h"

/* Unicode 15, section 3.12, "Conjoining Jamo Behavior" */
#define S_BASE 0xAC00u
#define L_BASE 0x1100u
#define V_BASE 0x1161u
#define T_BASE 0x11A7u
#define L_COUNT 19u
#define V_COUNT 21u
#define T_COUNT 28u
#define S_COUNT (L_COUNT * V_COUNT * T_COUNT)

/* A run of digits longer than this is folded to NUMBER_FOLD (see normalize.h, rule 5). */
#define NUMBER_MAX_DIGITS 4
/* A run of one character longer than this is cut to it (rule 6). */
#define REPEAT_MAX 2

size_t text_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0u) != 0x80u) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

size_t text_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0u | (cp >> 6));
        o[1] = (unsigned char)(0x80u | (cp & 0x3Fu));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0u | (cp >> 12));
        o[1] = (unsigned char)(0x80u | ((cp >> 6) & 0x3Fu));
        o[2] = (unsigned char)(0x80u | (cp & 0x3Fu));
        return 3;
    }
    o[0] = (unsigned char)(0xF0u | (cp >> 18));
    o[1] = (unsigned char)(0x80u | ((cp >> 12) & 0x3Fu));
    o[2] = (unsigned char)(0x80u | ((cp >> 6) & 0x3Fu));
    o[3] = (unsigned char)(0x80u | (cp & 0x3Fu));
    return 4;
}

int text_is_hangul_syllable(uint32_t cp)
{
    return cp >= S_BASE && cp < S_BASE + S_COUNT;
}

static int is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

/* Dropped: C0/C1 controls other than spaces, zero-width characters, the BOM. */
static int is_dropped(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || (cp >= 0x200B && cp <= 0x200D) ||
           cp == 0x2060 || cp == 0xFEFF;
}

/* Half-width Hangul jamo (U+FFA0..FFDC) to the compatibility jamo; 0 for the unassigned
 * gaps of that block. */
static uint32_t halfwidth_jamo(uint32_t cp)
{
    if (cp == 0xFFA0)
        return 0x3164; /* Hangul filler */
    if (cp >= 0xFFA1 && cp <= 0xFFBE)
        return 0x3131 + (cp - 0xFFA1); /* consonants */
    if (cp >= 0xFFC2 && cp <= 0xFFC7)
        return 0x314F + (cp - 0xFFC2); /* vowels, in rows of six with gaps between */
    if (cp >= 0xFFCA && cp <= 0xFFCF)
        return 0x3155 + (cp - 0xFFCA);
    if (cp >= 0xFFD2 && cp <= 0xFFD7)
        return 0x315B + (cp - 0xFFD2);
    if (cp >= 0xFFDA && cp <= 0xFFDC)
        return 0x3161 + (cp - 0xFFDA);
    return 0;
}

/* Rules 2 and 3 for one code point: its replacement, 0 to drop it. */
static uint32_t fold_char(uint32_t cp)
{
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        cp -= 0xFEE0;
    else if (cp >= 0xFFA0 && cp <= 0xFFDC) {
        uint32_t j = halfwidth_jamo(cp);
        cp = j ? j : cp;
    }
    if (is_space(cp))
        return ' ';
    if (is_dropped(cp))
        return 0;
    if (cp >= 'A' && cp <= 'Z')
        return cp + ('a' - 'A');
    return cp;
}

/* Rule 4: appends cp to cps[0..*n), composing it with the last code point when Hangul
 * composition applies. */
static void push_composed(uint32_t *cps, size_t *n, uint32_t cp)
{
    if (*n > 0) {
        uint32_t last = cps[*n - 1];
        if (last >= L_BASE && last < L_BASE + L_COUNT && cp >= V_BASE && cp < V_BASE + V_COUNT) {
            cps[*n - 1] = S_BASE + ((last - L_BASE) * V_COUNT + (cp - V_BASE)) * T_COUNT;
            return;
        }
        if (text_is_hangul_syllable(last) && (last - S_BASE) % T_COUNT == 0 && cp > T_BASE &&
            cp < T_BASE + T_COUNT) {
            cps[*n - 1] = last + (cp - T_BASE);
            return;
        }
    }
    cps[(*n)++] = cp;
}

static int is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

/* Rule 5, in place; returns the new length. */
static size_t fold_numbers(uint32_t *cps, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (!is_digit(cps[i])) {
            cps[o++] = cps[i++];
            continue;
        }
        /* a number: digits, with single commas between digits dropped */
        size_t start = o, digits = 0;
        while (i < n) {
            if (is_digit(cps[i])) {
                cps[o++] = cps[i++];
                digits++;
            } else if (cps[i] == ',' && i + 1 < n && is_digit(cps[i + 1])) {
                i++;
            } else {
                break;
            }
        }
        if (digits > NUMBER_MAX_DIGITS) {
            o = start;
            for (int k = 0; k < NUMBER_MAX_DIGITS; k++)
                cps[o++] = '0';
        }
    }
    return o;
}

/* Rules 6 and 7 and one space for a run of spaces, in place; returns the new length. */
static size_t fold_repeats(uint32_t *cps, size_t n)
{
    size_t o = 0, run = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = cps[i];
        if (cp == ' ' && (o == 0 || cps[o - 1] == ' '))
            continue;
        run = (o > 0 && cps[o - 1] == cp) ? run + 1 : 1;
        if (run > REPEAT_MAX && !is_digit(cp)) /* "1000" is a number, not a stutter */
            continue;
        cps[o++] = cp;
    }
    while (o > 0 && cps[o - 1] == ' ')
        o--;
    return o;
}

int text_normalize(const char *s, size_t n, struct buf *out, size_t *bad_offset)
{
    size_t bad = 0;
    if (!utf8_valid(s, n, &bad)) {
        if (bad_offset)
            *bad_offset = bad;
        return AIOPS_EPARSE;
    }
    /* at most one code point per input byte */
    uint32_t *cps = malloc((n ? n : 1) * sizeof *cps);
    if (cps == NULL)
        return AIOPS_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += text_utf8_next(s + i, n - i, &cp);
        cp = fold_char(cp);
        if (cp != 0)
            push_composed(cps, &m, cp);
    }
    m = fold_numbers(cps, m);
    m = fold_repeats(cps, m);
    int rv = buf_reserve(out, m * 4 + 1);
    if (rv == 0) {
        for (size_t i = 0; i < m; i++)
            out->len += text_utf8_put(cps[i], out->data + out->len);
        out->data[out->len] = '\0';
    }
    free(cps);
    return rv;
}
