/* featurize.h -- text into sparse TF-IDF vectors: the features of a `text` column.
 *
 * A text is normalised (text/normalize.h), split into words at spaces, and becomes terms:
 *   - character n-grams of 1..char_ngram_max code points (Hangul: syllables) inside each
 *     word padded with a space on both sides, so that n-grams see word boundaries (what
 *     scikit-learn calls analyzer="char_wb"; the lone space is not a term);
 *   - when `words` is on, each word with its leading and trailing punctuation removed
 *     (unless it is a stopword of data/lexicons/stopwords.txt) and, when the word ends in a
 *     particle (data/lexicons/josa.txt) or else an ending (eomi.txt) leaving a stem of at
 *     least one code point, that stem as a term of its own ("영화가" -> "영화가", "영화"):
 *     the longest listed suffix is stripped.
 * Each term is hashed (32-bit FNV-1a over a kind byte and its UTF-8) into 2^hash_bits
 * buckets. Fitting counts in how many training texts each bucket occurs (df); buckets in
 * at least min_df texts form the vocabulary (its columns, in bucket order) with
 * idf = ln((1 + n) / (1 + df)) + 1 (scikit-learn's smooth_idf). A text's vector holds
 * (1 + ln tf) * idf for each vocabulary bucket it has (sublinear tf), scaled to unit L2
 * norm; buckets outside the vocabulary are ignored, as TfidfVectorizer ignores unknown
 * terms. A missing or empty text is the zero vector. */
#ifndef AIOPS_TEXT_FEATURIZE_H
#define AIOPS_TEXT_FEATURIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "data/spmatrix.h"

struct text_params {
    unsigned hash_bits;      /* 10 .. 24 [20] */
    unsigned min_df;         /* >= 1 [2] */
    unsigned char_ngram_max; /* 0 .. 3 [3]; 0: no character n-grams */
    unsigned words;          /* 0 / 1 [1]: word and stem terms */
};

void text_params_default(struct text_params *p);

/* The texts a featurizer reads: text i (0 .. n-1) into *len bytes, NULL when missing. */
typedef const char *(*text_doc_fn)(void *ctx, size_t i, size_t *len);

struct text_featurizer;

/* The byte length of the stem of the word w[0..n): n minus the longest particle (josa) it
 * ends in, or else the longest ending (eomi), leaving at least one code point; n when it
 * ends in neither. */
size_t text_stem(const char *w, size_t n);

/* Appends the hashed terms of one normalised text to *terms (grown with realloc; *cap is
 * its capacity), unsorted and repeated as they occur. AIOPS_ENOMEM. */
int text_terms(const struct text_params *p, const char *norm, size_t len, uint32_t **terms,
               size_t *nterms, size_t *cap);

/* Fits a featurizer on n texts. Texts that are not valid UTF-8 are counted in *invalid (may
 * be NULL) and read as missing. AIOPS_EINVAL with err for bad parameters; AIOPS_ENOMEM. */
int text_featurizer_fit(const struct text_params *p, text_doc_fn doc, void *ctx, size_t n,
                        struct text_featurizer **out, size_t *invalid, struct aiops_error *err);
/* The same on `threads` threads (<= 1: one; each keeps its own counts). With keep_terms the
 * featurizer also keeps every fitted text's terms (4 bytes a term, not saved) for
 * text_featurizer_transform_fitted, until text_featurizer_drop_terms. */
int text_featurizer_fit_threads(const struct text_params *p, text_doc_fn doc, void *ctx, size_t n,
                                int threads, int keep_terms, struct text_featurizer **out,
                                size_t *invalid, struct aiops_error *err);
/* The vectors of n texts as rows of out (ncols = text_featurizer_dim); invalid UTF-8 is read
 * as missing and counted in *invalid (may be NULL). `threads` (<= 0: one) share the rows.
 * AIOPS_ENOMEM (out left empty). */
int text_featurizer_transform(const struct text_featurizer *f, text_doc_fn doc, void *ctx, size_t n,
                              int threads, struct spmatrix *out, size_t *invalid);
/* The vectors of fitted texts docs[0..n) (NULL: 0 .. n-1) from their kept terms, without
 * reading the texts again: the same rows text_featurizer_transform makes of those texts.
 * AIOPS_EINVAL when the terms were not kept (or were dropped) or a text index is not one of
 * the fitted texts' (out left empty); AIOPS_ENOMEM. */
int text_featurizer_transform_fitted(const struct text_featurizer *f, const size_t *docs, size_t n,
                                     int threads, struct spmatrix *out);
/* 1 when f holds its fitted texts' terms. */
int text_featurizer_has_terms(const struct text_featurizer *f);
/* Frees the kept terms (nothing when there are none). */
void text_featurizer_drop_terms(struct text_featurizer *f);
size_t text_featurizer_dim(const struct text_featurizer *f);
const struct text_params *text_featurizer_params(const struct text_featurizer *f);
/* Texts it was fitted on. */
size_t text_featurizer_ndocs(const struct text_featurizer *f);
void text_featurizer_free(struct text_featurizer *f);

/* Serialised form (inside a model file). text_featurizer_load: AIOPS_ECORRUPT for anything
 * inconsistent (never crashes on any bytes), AIOPS_ENOMEM; *used (may be NULL) = bytes read. */
int text_featurizer_save(const struct text_featurizer *f, struct buf *out);
int text_featurizer_load(const uint8_t *p, size_t n, struct text_featurizer **out, size_t *used);

#endif
