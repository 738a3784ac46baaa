/* textvec.h -- local text embeddings for persona search: no external service, and Korean
 * works as well as English.
 *
 * A text becomes a sparse vector over TEXTVEC_DIM hashed features: every word (a run of
 * characters that are not spaces or ASCII punctuation, ASCII lower-cased) and every run of
 * 1, 2 and 3 characters (Unicode code points: Hangul syllables, letters) inside a word, so
 * "구매액" shares "구매" with "구매 빈도" and a typo shares most of its n-grams. The weight of
 * a feature is 1 + ln(count) (sublinear term frequency); vectors are L2-normalised. Search
 * weighs both sides by inverse document frequency over the documents searched (TF-IDF) and
 * ranks by cosine similarity. Invalid UTF-8 bytes are skipped. */
#ifndef AIOPS_TEXTVEC_H
#define AIOPS_TEXTVEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define TEXTVEC_DIM 8192u

struct textvec {
    size_t n;      /* features present */
    uint32_t *idx; /* n feature numbers, ascending */
    float *val;    /* n weights; the vector has length 1 (or is empty) */
};

/* The embedding of s[0..len) into *out (the caller frees with textvec_free). AIOPS_ENOMEM. */
int textvec_embed(const char *s, size_t len, struct textvec *out);
void textvec_free(struct textvec *v);

/* Serialised as u32 n, then n (u32 idx, f32 val) little-endian. AIOPS_ENOMEM. */
int textvec_save(const struct textvec *v, struct buf *out);
/* AIOPS_ECORRUPT for bytes textvec_save could not have written (indexes out of range or
 * not ascending, non-finite weights). */
int textvec_load(const uint8_t *p, size_t n, struct textvec *out);

/* The cosine similarity of a and b (each feature weighted by idf[feature], TEXTVEC_DIM
 * entries, or 1 when idf is NULL): in [-1, 1], 0 when either is empty. */
double textvec_cosine(const struct textvec *a, const struct textvec *b, const double *idf);
/* Smooth inverse document frequency of each feature over docs[0..n) into idf[TEXTVEC_DIM],
 * as scikit-learn's TfidfVectorizer: ln((1 + n) / (1 + df)) + 1. */
void textvec_idf(const struct textvec *docs, size_t n, double *idf);

#endif
