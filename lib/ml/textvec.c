/* textvec.c -- hashed character n-gram and word embeddings (see textvec.h). */
#include "ml/textvec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"

/* Longest word read (code points); longer runs are cut into words of this length. */
#define MAX_WORD 256

/* One code point of s at *i (advanced); -1 for an invalid byte (skipped by one). */
static long next_cp(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    size_t need = c < 0x80             ? 0
                  : (c & 0xE0) == 0xC0 ? 1
                  : (c & 0xF0) == 0xE0 ? 2
                  : (c & 0xF8) == 0xF0 ? 3
                                       : 9;
    if (need == 9 || *i + need >= len + (need == 0)) {
        (*i)++;
        return -1;
    }
    long cp = need == 0 ? c : c & (0x3F >> need);
    for (size_t k = 1; k <= need; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return -1;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    *i += need + 1;
    return cp;
}

/* Characters that end a word: whitespace, ASCII punctuation and the middle dot used in
 * cluster names. */
static int separates(long cp)
{
    if (cp <= 0x20 || cp == 0x7F || cp == 0xB7 || cp == 0x3000 || cp == 0x2022 || cp == 0x30FB)
        return 1;
    return cp < 0x80 &&
           !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'));
}

/* FNV-1a over a tag and code points: the feature number of an n-gram or word. */
static uint32_t feature_of(uint32_t tag, const long *cp, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ tag;
    h *= 1099511628211ull;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)cp[i];
        for (int b = 0; b < 4; b++) {
            h ^= (v >> (8 * b)) & 0xFF;
            h *= 1099511628211ull;
        }
    }
    return (uint32_t)(h % TEXTVEC_DIM);
}

static void count_word(const long *w, size_t n, float *counts)
{
    if (n == 0)
        return;
    counts[feature_of(0, w, n)] += 1; /* the word itself */
    for (size_t g = 1; g <= 3; g++)
        for (size_t i = 0; i + g <= n; i++)
            counts[feature_of((uint32_t)g, w + i, g)] += 1;
}

int textvec_embed(const char *s, size_t len, struct textvec *out)
{
    memset(out, 0, sizeof *out);
    float *counts = calloc(TEXTVEC_DIM, sizeof *counts);
    if (counts == NULL)
        return AIOPS_ENOMEM;
    long word[MAX_WORD];
    size_t wn = 0, i = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (i < len) {
        long cp = next_cp(u, len, &i);
        if (cp < 0)
            continue;
        if (separates(cp)) {
            count_word(word, wn, counts);
            wn = 0;
            continue;
        }
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        word[wn++] = cp;
        if (wn == MAX_WORD) {
            count_word(word, wn, counts);
            wn = 0;
        }
    }
    count_word(word, wn, counts);
    size_t nz = 0;
    double norm = 0;
    for (uint32_t f = 0; f < TEXTVEC_DIM; f++)
        if (counts[f] > 0) {
            double w = 1 + log(counts[f]);
            norm += w * w;
            nz++;
        }
    out->idx = malloc((nz ? nz : 1) * sizeof *out->idx);
    out->val = malloc((nz ? nz : 1) * sizeof *out->val);
    if (out->idx == NULL || out->val == NULL) {
        free(counts);
        textvec_free(out);
        return AIOPS_ENOMEM;
    }
    norm = sqrt(norm);
    for (uint32_t f = 0; f < TEXTVEC_DIM; f++)
        if (counts[f] > 0) {
            out->idx[out->n] = f;
            out->val[out->n++] = (float)((1 + log(counts[f])) / norm);
        }
    free(counts);
    return AIOPS_OK;
}

void textvec_free(struct textvec *v)
{
    free(v->idx);
    free(v->val);
    memset(v, 0, sizeof *v);
}

int textvec_save(const struct textvec *v, struct buf *out)
{
    int rc = bytes_put_u32(out, (uint32_t)v->n);
    for (size_t i = 0; i < v->n; i++) {
        uint32_t bits;
        memcpy(&bits, &v->val[i], sizeof bits);
        rc |= bytes_put_u32(out, v->idx[i]);
        rc |= bytes_put_u32(out, bits);
    }
    return rc ? AIOPS_ENOMEM : AIOPS_OK;
}

int textvec_load(const uint8_t *p, size_t n, struct textvec *out)
{
    memset(out, 0, sizeof *out);
    struct bytes_reader r = {p, n, 0, 0};
    uint32_t count = bytes_get_u32(&r);
    if (r.bad || count > TEXTVEC_DIM || (size_t)count * 8 != n - 4)
        return AIOPS_ECORRUPT;
    out->idx = malloc((count ? count : 1) * sizeof *out->idx);
    out->val = malloc((count ? count : 1) * sizeof *out->val);
    if (out->idx == NULL || out->val == NULL) {
        textvec_free(out);
        return AIOPS_ENOMEM;
    }
    for (uint32_t i = 0; i < count; i++) {
        uint32_t f = bytes_get_u32(&r), bits = bytes_get_u32(&r);
        float v;
        memcpy(&v, &bits, sizeof v);
        if (f >= TEXTVEC_DIM || (i > 0 && f <= out->idx[i - 1]) || !isfinite(v)) {
            textvec_free(out);
            return AIOPS_ECORRUPT;
        }
        out->idx[i] = f;
        out->val[i] = v;
        out->n = i + 1;
    }
    return AIOPS_OK;
}

double textvec_cosine(const struct textvec *a, const struct textvec *b, const double *idf)
{
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a->n; i++) {
        double w = a->val[i] * (idf ? idf[a->idx[i]] : 1);
        na += w * w;
    }
    for (size_t j = 0; j < b->n; j++) {
        double w = b->val[j] * (idf ? idf[b->idx[j]] : 1);
        nb += w * w;
    }
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        if (a->idx[i] < b->idx[j]) {
            i++;
        } else if (a->idx[i] > b->idx[j]) {
            j++;
        } else {
            double w = idf ? idf[a->idx[i]] : 1;
            dot += (double)a->val[i] * w * (double)b->val[j] * w;
            i++, j++;
        }
    }
    return na > 0 && nb > 0 ? dot / sqrt(na * nb) : 0;
}

void textvec_idf(const struct textvec *docs, size_t n, double *idf)
{
    for (uint32_t f = 0; f < TEXTVEC_DIM; f++)
        idf[f] = 0;
    for (size_t d = 0; d < n; d++)
        for (size_t i = 0; i < docs[d].n; i++)
            idf[docs[d].idx[i]] += 1;
    for (uint32_t f = 0; f < TEXTVEC_DIM; f++)
        idf[f] = log((1.0 + (double)n) / (1.0 + idf[f])) + 1;
}
