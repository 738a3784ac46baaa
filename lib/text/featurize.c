/* featurize.c -- see featurize.h. */
#include "text/featurize.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/pool.h"
#include "math/sort.h"
#include "text/lexicon.h"
#include "text/normalize.h"

#define TXF_MAGIC 0x31465854u /* "TXF1" */
/* Code points of the longest word n-grams are built from (longer words still give every
 * n-gram; this bounds the padded window buffer only). */
#define NGRAM_MAX 3

struct text_featurizer {
    struct text_params p;
    size_t ndocs;
    size_t nvocab;
    uint32_t *bucket; /* nvocab, strictly increasing */
    float *idf;       /* nvocab */
    uint32_t *column; /* 2^hash_bits: the vocabulary column of a bucket, UINT32_MAX when
                         outside it (derived: one lookup per term instead of a bisection) */
    /* the fitted texts' sorted terms, when the fit kept them (until text_featurizer_drop_terms):
     * text i's are kept[kept_at[i] .. kept_at[i + 1]) -- a transform of the fitted texts reads
     * them instead of normalising and splitting every text again */
    uint32_t *kept;
    size_t *kept_at; /* ndocs + 1 */
};

static int build_columns(struct text_featurizer *f)
{
    size_t nb = (size_t)1 << f->p.hash_bits;
    f->column = malloc(nb * sizeof *f->column);
    if (f->column == NULL)
        return AIOPS_ENOMEM;
    memset(f->column, 0xFF, nb * sizeof *f->column);
    for (size_t k = 0; k < f->nvocab; k++)
        f->column[f->bucket[k]] = (uint32_t)k;
    return AIOPS_OK;
}

void text_params_default(struct text_params *p)
{
    p->hash_bits = 20;
    p->min_df = 2;
    p->char_ngram_max = 3;
    p->words = 1;
}

static int params_ok(const struct text_params *p)
{
    return p->hash_bits >= 10 && p->hash_bits <= 24 && p->min_df >= 1 &&
           p->char_ngram_max <= NGRAM_MAX && p->words <= 1 && (p->char_ngram_max > 0 || p->words);
}

/* --- terms ----------------------------------------------------------------------------- */

static uint32_t fnv1a(uint8_t kind, const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    h = (h ^ kind) * 16777619u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int push_term(uint32_t **terms, size_t *nterms, size_t *cap, uint32_t t)
{
    if (*nterms == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        uint32_t *nt = realloc(*terms, nc * sizeof *nt);
        if (nt == NULL)
            return AIOPS_ENOMEM;
        *terms = nt;
        *cap = nc;
    }
    (*terms)[(*nterms)++] = t;
    return AIOPS_OK;
}

/* Punctuation trimmed from the ends of a word before it is a word term: ASCII punctuation
 * and the CJK / general punctuation blocks. */
static int is_punct(uint32_t cp)
{
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E) || (cp >= 0x2010 && cp <= 0x206F) ||
           (cp >= 0x3000 && cp <= 0x303F) || cp == 0xB7;
}

/* The byte length of the stem of word w[0..n) after stripping the longest suffix listed in
 * lex that leaves at least one code point; n when none is listed. */
static size_t strip_suffix(const struct lexicon *lex, const char *w, size_t n)
{
    size_t maxlen = lexicon_max_len(lex);
    uint32_t cp;
    size_t first = text_utf8_next(w, n, &cp); /* the stem keeps at least this */
    for (size_t i = first; i < n;) {
        if (n - i <= maxlen && lexicon_has(lex, w + i, n - i))
            return i;
        i += text_utf8_next(w + i, n - i, &cp);
    }
    return n;
}

size_t text_stem(const char *w, size_t n)
{
    size_t s = strip_suffix(lexicon_get("josa"), w, n);
    return s < n ? s : strip_suffix(lexicon_get("eomi"), w, n);
}

static int word_terms(const struct text_params *p, const char *w, size_t n, uint32_t **terms,
                      size_t *nterms, size_t *cap)
{
    /* character n-grams of " w " */
    if (p->char_ngram_max > 0) {
        size_t starts[NGRAM_MAX + 1]; /* byte offsets of the last code points seen */
        /* walk the padded word code point by code point; for each position emit the
         * n-grams ending there */
        size_t pos_count = 0;
        const size_t total = n + 2;
        /* the padded word, materialised as one buffer: small words are the rule, so copy */
        char stackbuf[256];
        char *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
        if (buf == NULL)
            return AIOPS_ENOMEM;
        buf[0] = ' ';
        memcpy(buf + 1, w, n);
        buf[total - 1] = ' ';
        int rv = AIOPS_OK;
        for (size_t i = 0; i < total && rv == 0;) {
            uint32_t cp;
            size_t len = text_utf8_next(buf + i, total - i, &cp);
            memmove(starts + 1, starts, NGRAM_MAX * sizeof *starts);
            starts[0] = i;
            pos_count++;
            i += len;
            for (size_t k = 1; k <= p->char_ngram_max && k <= pos_count && rv == 0; k++) {
                size_t from = starts[k - 1];
                if (k == 1 && buf[from] == ' ')
                    continue;
                rv = push_term(terms, nterms, cap, fnv1a('c', buf + from, i - from));
            }
        }
        if (buf != stackbuf)
            free(buf);
        if (rv != 0)
            return rv;
    }
    if (p->words) {
        /* trim punctuation */
        size_t a = 0, b = n;
        while (a < b) {
            uint32_t cp;
            size_t len = text_utf8_next(w + a, b - a, &cp);
            if (!is_punct(cp))
                break;
            a += len;
        }
        while (b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)w[k] & 0xC0u) == 0x80u)
                k--;
            uint32_t cp;
            text_utf8_next(w + k, b - k, &cp);
            if (!is_punct(cp))
                break;
            b = k;
        }
        if (b > a && !lexicon_has(lexicon_get("stopwords"), w + a, b - a)) {
            int rv = push_term(terms, nterms, cap, fnv1a('w', w + a, b - a));
            size_t s = text_stem(w + a, b - a);
            if (rv == 0 && s < b - a)
                rv = push_term(terms, nterms, cap, fnv1a('s', w + a, s));
            if (rv != 0)
                return rv;
        }
    }
    return AIOPS_OK;
}

int text_terms(const struct text_params *p, const char *norm, size_t len, uint32_t **terms,
               size_t *nterms, size_t *cap)
{
    uint32_t mask = p->hash_bits >= 32 ? 0xFFFFFFFFu : ((1u << p->hash_bits) - 1u);
    size_t first = *nterms;
    for (size_t at = 0, i, j; text_next_word(norm, len, &at, &i, &j);) {
        int rv = word_terms(p, norm + i, j - i, terms, nterms, cap);
        if (rv != 0)
            return rv;
    }
    for (size_t k = first; k < *nterms; k++)
        (*terms)[k] &= mask;
    return AIOPS_OK;
}

/* Worker t of nt's share of n texts, [from, to), and the scratch their terms are read into:
 * what a worker of the fit and of the transform have alike. */
struct doc_share {
    const struct text_params *p;
    text_doc_fn doc;
    void *ctx;
    const struct text_featurizer *kept; /* not NULL: text i is fitted text kept_rows[i] (i when
                                           kept_rows is NULL), its terms read from the fit */
    const size_t *kept_rows;
    size_t from, to;
    size_t invalid; /* texts that were not valid UTF-8 */
    int rv;
    struct buf norm;
    uint32_t *terms; /* the last text's terms, sorted (read from the text) */
    size_t nterms, cap;
    uint32_t *scratch; /* the sort's, scratch_cap */
    size_t scratch_cap;
    const uint32_t *view; /* the last text's nterms sorted terms: terms, or the kept ones */
};

static struct doc_share doc_share_make(const struct text_params *p, text_doc_fn doc, void *ctx,
                                       size_t n, size_t t, size_t nt)
{
    return (struct doc_share){
        .p = p, .doc = doc, .ctx = ctx, .from = n * t / nt, .to = n * (t + 1) / nt};
}

static void doc_share_free(struct doc_share *s)
{
    free(s->terms);
    free(s->scratch);
    buf_free(&s->norm);
}

/* The sorted terms of text i into s->view (s->terms, or the kept terms of a fitted text);
 * 0 terms for a missing or invalid text (counted in s->invalid). */
static int doc_terms(struct doc_share *s, size_t i)
{
    s->nterms = 0;
    if (s->kept != NULL) {
        size_t d = s->kept_rows ? s->kept_rows[i] : i;
        s->view = s->kept->kept + s->kept->kept_at[d];
        s->nterms = s->kept->kept_at[d + 1] - s->kept->kept_at[d];
        return AIOPS_OK;
    }
    s->view = s->terms;
    size_t len = 0;
    const char *text = s->doc(s->ctx, i, &len);
    if (text == NULL)
        return AIOPS_OK;
    buf_reset(&s->norm);
    int rv = text_normalize(text, len, &s->norm, NULL);
    if (rv == AIOPS_EPARSE) {
        s->invalid++;
        return AIOPS_OK;
    }
    if (rv != 0)
        return rv;
    if ((rv = text_terms(s->p, s->norm.data, s->norm.len, &s->terms, &s->nterms, &s->cap)) != 0)
        return rv;
    if (s->scratch_cap < s->nterms) {
        free(s->scratch);
        s->scratch_cap = s->cap;
        if ((s->scratch = malloc(s->scratch_cap * sizeof *s->scratch)) == NULL) {
            s->scratch_cap = 0;
            return AIOPS_ENOMEM;
        }
    }
    sort_u32_radix(s->terms, s->scratch, s->nterms, s->p->hash_bits);
    s->view = s->terms;
    return AIOPS_OK;
}

/* One worker's share of a fit: document frequencies of its texts, and their terms when
 * they are kept. */
struct fit_part {
    struct doc_share s;
    uint32_t *df;      /* 2^hash_bits */
    size_t *kept_len;  /* NULL: terms not kept; else s.to - s.from */
    uint32_t *kept;    /* its texts' terms one after another */
    size_t nkept, kept_cap;
};

static int fit_part_keep(struct fit_part *P, size_t i)
{
    const struct doc_share *s = &P->s;
    if (P->nkept + s->nterms > P->kept_cap) {
        size_t nc = (P->kept_cap + s->nterms) * 2;
        uint32_t *nk = realloc(P->kept, nc * sizeof *nk);
        if (nk == NULL)
            return AIOPS_ENOMEM;
        P->kept = nk;
        P->kept_cap = nc;
    }
    if (s->nterms > 0)
        memcpy(P->kept + P->nkept, s->terms, s->nterms * sizeof *s->terms);
    P->nkept += s->nterms;
    P->kept_len[i - s->from] = s->nterms;
    return AIOPS_OK;
}

static void fit_part_run(void *arg, int tid, size_t t)
{
    struct fit_part *P = (struct fit_part *)arg + t;
    struct doc_share *s = &P->s;
    (void)tid;
    for (size_t i = s->from; i < s->to && s->rv == 0; i++) {
        s->rv = doc_terms(s, i);
        const uint32_t *terms = s->terms;
        for (size_t k = 0; s->rv == 0 && k < s->nterms; k++)
            if (k == 0 || terms[k] != terms[k - 1])
                P->df[terms[k]]++;
        if (s->rv == 0 && P->kept_len != NULL)
            s->rv = fit_part_keep(P, i);
    }
    doc_share_free(s);
}

/* The parts' kept terms, in text order, into f->kept and f->kept_at (n texts whose term
 * counts are kept_len[0..n)). */
static int fit_gather_kept(struct text_featurizer *f, struct fit_part *parts, size_t nt,
                           const size_t *kept_len, size_t n)
{
    size_t total = 0;
    for (size_t t = 0; t < nt; t++)
        total += parts[t].nkept;
    f->kept_at = malloc((n + 1) * sizeof *f->kept_at);
    f->kept = malloc((total ? total : 1) * sizeof *f->kept);
    int rv = f->kept_at && f->kept ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        f->kept_at[0] = 0;
        for (size_t i = 0; i < n; i++)
            f->kept_at[i + 1] = f->kept_at[i] + kept_len[i];
        for (size_t t = 0, at = 0; t < nt; at += parts[t].nkept, t++)
            if (parts[t].nkept > 0)
                memcpy(f->kept + at, parts[t].kept, parts[t].nkept * sizeof *f->kept);
    }
    return rv;
}

/* Workers for n texts: up to threads (at most 16), one below 1000 texts (a thread costs more
 * than a few hundred short texts). */
static size_t text_workers(int threads, size_t n)
{
    size_t nt = threads > 1 ? (size_t)threads : 1;
    if (nt > 16)
        nt = 16;
    return n < 1000 ? 1 : nt;
}

int text_featurizer_fit_threads(const struct text_params *p, text_doc_fn doc, void *ctx, size_t n,
                                int threads, int keep_terms, struct text_featurizer **out,
                                size_t *invalid, struct aiops_error *err)
{
    *out = NULL;
    if (!params_ok(p))
        return aiops_error_set(err, AIOPS_EINVAL, "text",
                               "text parameters out of range "
                               "(hash_bits 10..24, min_df >= 1, char_ngram_max 0..3)");
    size_t nb = (size_t)1 << p->hash_bits, bad = 0;
    size_t nt = text_workers(threads, n);
    struct fit_part parts[16];
    int rv = AIOPS_OK;
    size_t *kept_len = keep_terms ? calloc(n ? n : 1, sizeof *kept_len) : NULL;
    if (keep_terms && kept_len == NULL)
        rv = AIOPS_ENOMEM;
    for (size_t t = 0; t < nt; t++) {
        parts[t] = (struct fit_part){.s = doc_share_make(p, doc, ctx, n, t, nt),
                                     .df = calloc(nb, sizeof(uint32_t))};
        if (kept_len != NULL)
            parts[t].kept_len = kept_len + parts[t].s.from;
        if (parts[t].df == NULL || (keep_terms && kept_len == NULL))
            parts[t].s.rv = rv = AIOPS_ENOMEM;
    }
    if (rv == 0)
        pool_for(NULL, (int)nt, nt, fit_part_run, parts);
    uint32_t *df = parts[0].df;
    for (size_t t = 0; t < nt; t++) {
        rv = rv ? rv : parts[t].s.rv;
        bad += parts[t].s.invalid;
        for (size_t b = 0; t > 0 && df != NULL && parts[t].df != NULL && b < nb; b++)
            df[b] += parts[t].df[b];
        if (t > 0)
            free(parts[t].df);
    }
    struct text_featurizer *f = NULL;
    if (rv == 0 && (f = calloc(1, sizeof *f)) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0) {
        f->p = *p;
        f->ndocs = n;
        for (size_t b = 0; b < nb; b++)
            f->nvocab += df[b] >= p->min_df;
        f->bucket = malloc((f->nvocab ? f->nvocab : 1) * sizeof *f->bucket);
        f->idf = malloc((f->nvocab ? f->nvocab : 1) * sizeof *f->idf);
        if (f->bucket == NULL || f->idf == NULL)
            rv = AIOPS_ENOMEM;
        size_t k = 0;
        for (size_t b = 0; rv == 0 && b < nb; b++)
            if (df[b] >= p->min_df) {
                f->bucket[k] = (uint32_t)b;
                f->idf[k] = (float)(log((1.0 + (double)n) / (1.0 + (double)df[b])) + 1.0);
                k++;
            }
        if (rv == 0)
            rv = build_columns(f);
    }
    if (keep_terms && rv == 0)
        rv = fit_gather_kept(f, parts, nt, kept_len, n);
    for (size_t t = 0; t < nt; t++)
        free(parts[t].kept);
    free(kept_len);
    free(df);
    if (rv != 0) {
        text_featurizer_free(f);
        return rv == AIOPS_ENOMEM ? aiops_error_set(err, rv, NULL, "out of memory") : rv;
    }
    if (invalid)
        *invalid = bad;
    *out = f;
    return AIOPS_OK;
}

static long vocab_index(const struct text_featurizer *f, uint32_t b)
{
    uint32_t c = f->column[b];
    return c == UINT32_MAX ? -1 : (long)c;
}

/* One worker's share of a transform: its rows into growing arrays, or (in_place) into its
 * stretch of the output, which holds every term of its texts (a bound on their non-zeros). */
struct part {
    struct doc_share s;
    const struct text_featurizer *f;
    size_t *rowlen; /* s.to - s.from */
    uint32_t *col;
    float *val;
    size_t nnz, cap;
    int in_place;
};

/* 1 + log(tf) for the term counts most texts have, computed once. */
#define LOG_TF_TABLE 32
static double log_tf[LOG_TF_TABLE];
static pthread_once_t log_tf_once = PTHREAD_ONCE_INIT;

static void log_tf_init(void)
{
    for (size_t k = 1; k < LOG_TF_TABLE; k++)
        log_tf[k] = 1.0 + log((double)k);
}

static inline double sublinear_tf(size_t count)
{
    return count < LOG_TF_TABLE ? log_tf[count] : 1.0 + log((double)count);
}

static void transform_part(void *arg, int tid, size_t t)
{
    struct part *P = (struct part *)arg + t;
    struct doc_share *s = &P->s;
    (void)tid;
    for (size_t i = s->from; i < s->to && s->rv == 0; i++) {
        if ((s->rv = doc_terms(s, i)) != 0)
            break;
        const uint32_t *terms = s->view;
        size_t nterms = s->nterms;
        if (P->nnz + nterms > P->cap) { /* never in place: its stretch holds every term */
            size_t nc = (P->cap + nterms) * 2;
            uint32_t *nc_col = realloc(P->col, nc * sizeof *nc_col);
            if (nc_col != NULL)
                P->col = nc_col;
            float *nc_val = nc_col ? realloc(P->val, nc * sizeof *nc_val) : NULL;
            if (nc_val == NULL) {
                s->rv = AIOPS_ENOMEM;
                break;
            }
            P->val = nc_val;
            P->cap = nc;
        }
        size_t start = P->nnz;
        double ss = 0;
        /* the next text's buckets: its column lookups (a 4 MiB table, read at random) then
         * overlap this text's work */
        if (s->kept != NULL && i + 1 < s->to) {
            size_t d = s->kept_rows ? s->kept_rows[i + 1] : i + 1;
            for (size_t k = s->kept->kept_at[d]; k < s->kept->kept_at[d + 1]; k++)
                __builtin_prefetch(&P->f->column[s->kept->kept[k]]);
        }
        for (size_t k = 0; k < nterms;) {
            size_t e = k;
            while (e < nterms && terms[e] == terms[k])
                e++;
            long c = vocab_index(P->f, terms[k]);
            if (c >= 0) {
                double v = sublinear_tf(e - k) * P->f->idf[c];
                P->col[P->nnz] = (uint32_t)c; /* increasing: buckets are sorted */
                P->val[P->nnz] = (float)v;
                P->nnz++;
                ss += v * v;
            }
            k = e;
        }
        if (ss > 0) {
            double inv = 1.0 / sqrt(ss);
            for (size_t k = start; k < P->nnz; k++)
                P->val[k] = (float)(P->val[k] * inv);
        }
        P->rowlen[i - s->from] = P->nnz - start;
    }
    doc_share_free(s);
}

/* text_featurizer_transform's work: texts from doc, or (kept_rows_given) the fitted texts
 * kept_rows (NULL: 0 .. n-1) by their kept terms. */
static int transform_texts(const struct text_featurizer *f, text_doc_fn doc, void *ctx,
                           int kept_rows_given, const size_t *kept_rows, size_t n, int threads,
                           struct spmatrix *out, size_t *invalid)
{
    memset(out, 0, sizeof *out);
    pthread_once(&log_tf_once, log_tf_init);
    size_t nt = text_workers(threads, n);
    struct part parts[16];
    size_t *rowlen = calloc(n ? n : 1, sizeof *rowlen);
    if (rowlen == NULL)
        return AIOPS_ENOMEM;
    int rv = AIOPS_OK;
    size_t bound = 0; /* the fitted texts' terms: their non-zeros are no more */
    for (size_t t = 0; t < nt; t++) {
        parts[t] = (struct part){.s = doc_share_make(&f->p, doc, ctx, n, t, nt), .f = f};
        parts[t].rowlen = rowlen + parts[t].s.from;
        if (kept_rows_given) {
            parts[t].s.kept = f;
            parts[t].s.kept_rows = kept_rows;
            parts[t].in_place = 1;
            for (size_t i = parts[t].s.from; i < parts[t].s.to; i++) {
                size_t d = kept_rows ? kept_rows[i] : i;
                parts[t].cap += f->kept_at[d + 1] - f->kept_at[d];
            }
            bound += parts[t].cap;
        }
    }
    if (kept_rows_given) { /* each part writes its stretch of the output: no copy after */
        out->col = malloc((bound ? bound : 1) * sizeof *out->col);
        out->val = malloc((bound ? bound : 1) * sizeof *out->val);
        if (out->col == NULL || out->val == NULL)
            rv = AIOPS_ENOMEM;
        for (size_t t = 0, at = 0; rv == 0 && t < nt; at += parts[t].cap, t++) {
            parts[t].col = out->col + at;
            parts[t].val = out->val + at;
        }
    }
    if (rv == 0)
        pool_for(NULL, (int)nt, nt, transform_part, parts);
    size_t nnz = 0, bad = 0;
    for (size_t t = 0; t < nt; t++) {
        rv = rv ? rv : parts[t].s.rv;
        nnz += parts[t].nnz;
        bad += parts[t].s.invalid;
    }
    if (rv == 0) {
        out->nrows = n;
        out->ncols = f->nvocab;
        out->rowptr = malloc((n + 1) * sizeof *out->rowptr);
        if (!kept_rows_given) {
            out->col = malloc((nnz ? nnz : 1) * sizeof *out->col);
            out->val = malloc((nnz ? nnz : 1) * sizeof *out->val);
        }
        if (out->rowptr == NULL || out->col == NULL || out->val == NULL)
            rv = AIOPS_ENOMEM;
    }
    if (rv == 0) {
        out->rowptr[0] = 0;
        for (size_t i = 0; i < n; i++)
            out->rowptr[i + 1] = out->rowptr[i] + rowlen[i];
        size_t at = 0; /* parts' rows one after another (in place: moved down their gaps) */
        for (size_t t = 0; t < nt; t++) {
            if (parts[t].nnz && parts[t].col != out->col + at) {
                memmove(out->col + at, parts[t].col, parts[t].nnz * sizeof *out->col);
                memmove(out->val + at, parts[t].val, parts[t].nnz * sizeof *out->val);
            }
            at += parts[t].nnz;
        }
        if (kept_rows_given && nnz > 0 && nnz < bound) { /* give back the bound's slack */
            uint32_t *col = realloc(out->col, nnz * sizeof *col);
            out->col = col ? col : out->col;
            float *val = realloc(out->val, nnz * sizeof *val);
            out->val = val ? val : out->val;
        }
    }
    for (size_t t = 0; t < nt; t++)
        if (!parts[t].in_place) {
            free(parts[t].col);
            free(parts[t].val);
        }
    free(rowlen);
    if (rv != 0)
        spmatrix_free(out);
    else if (invalid)
        *invalid = bad;
    return rv;
}

int text_featurizer_transform(const struct text_featurizer *f, text_doc_fn doc, void *ctx, size_t n,
                              int threads, struct spmatrix *out, size_t *invalid)
{
    return transform_texts(f, doc, ctx, 0, NULL, n, threads, out, invalid);
}

int text_featurizer_has_terms(const struct text_featurizer *f)
{
    return f->kept_at != NULL;
}

int text_featurizer_transform_fitted(const struct text_featurizer *f, const size_t *docs, size_t n,
                                     int threads, struct spmatrix *out)
{
    memset(out, 0, sizeof *out);
    if (f->kept_at == NULL)
        return AIOPS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((docs ? docs[i] : i) >= f->ndocs)
            return AIOPS_EINVAL;
    return transform_texts(f, NULL, NULL, 1, docs, n, threads, out, NULL);
}

void text_featurizer_drop_terms(struct text_featurizer *f)
{
    if (f == NULL)
        return;
    free(f->kept);
    free(f->kept_at);
    f->kept = NULL;
    f->kept_at = NULL;
}

size_t text_featurizer_dim(const struct text_featurizer *f)
{
    return f->nvocab;
}

const struct text_params *text_featurizer_params(const struct text_featurizer *f)
{
    return &f->p;
}

size_t text_featurizer_ndocs(const struct text_featurizer *f)
{
    return f->ndocs;
}

void text_featurizer_free(struct text_featurizer *f)
{
    if (f == NULL)
        return;
    free(f->bucket);
    free(f->idf);
    free(f->column);
    text_featurizer_drop_terms(f);
    free(f);
}

int text_featurizer_save(const struct text_featurizer *f, struct buf *out)
{
    int rv = bytes_put_u32(out, TXF_MAGIC);
    rv = rv ? rv : bytes_put_u32(out, f->p.hash_bits);
    rv = rv ? rv : bytes_put_u32(out, f->p.min_df);
    rv = rv ? rv : bytes_put_u32(out, f->p.char_ngram_max);
    rv = rv ? rv : bytes_put_u32(out, f->p.words);
    rv = rv ? rv : bytes_put_u64(out, f->ndocs);
    rv = rv ? rv : bytes_put_u64(out, f->nvocab);
    for (size_t k = 0; rv == 0 && k < f->nvocab; k++)
        rv = bytes_put_u32(out, f->bucket[k]);
    for (size_t k = 0; rv == 0 && k < f->nvocab; k++) {
        uint32_t bits;
        memcpy(&bits, &f->idf[k], sizeof bits);
        rv = bytes_put_u32(out, bits);
    }
    return rv;
}

int text_featurizer_load(const uint8_t *p, size_t n, struct text_featurizer **out, size_t *used)
{
    *out = NULL;
    struct bytes_reader r = {p, n, 0, 0};
    struct text_params tp;
    uint32_t magic = bytes_get_u32(&r);
    tp.hash_bits = bytes_get_u32(&r);
    tp.min_df = bytes_get_u32(&r);
    tp.char_ngram_max = bytes_get_u32(&r);
    tp.words = bytes_get_u32(&r);
    uint64_t ndocs = bytes_get_u64(&r), nvocab = bytes_get_u64(&r);
    if (r.bad || magic != TXF_MAGIC || !params_ok(&tp) || nvocab > ((uint64_t)1 << tp.hash_bits) ||
        nvocab * 8 > n - r.off)
        return AIOPS_ECORRUPT;
    struct text_featurizer *f = calloc(1, sizeof *f);
    if (f == NULL)
        return AIOPS_ENOMEM;
    f->p = tp;
    f->ndocs = (size_t)ndocs;
    f->nvocab = (size_t)nvocab;
    f->bucket = malloc((f->nvocab ? f->nvocab : 1) * sizeof *f->bucket);
    f->idf = malloc((f->nvocab ? f->nvocab : 1) * sizeof *f->idf);
    if (f->bucket == NULL || f->idf == NULL) {
        text_featurizer_free(f);
        return AIOPS_ENOMEM;
    }
    int rv = AIOPS_OK;
    for (size_t k = 0; k < f->nvocab; k++) {
        f->bucket[k] = bytes_get_u32(&r);
        if (f->bucket[k] >> tp.hash_bits || (k > 0 && f->bucket[k] <= f->bucket[k - 1]))
            rv = AIOPS_ECORRUPT;
    }
    for (size_t k = 0; k < f->nvocab; k++) {
        uint32_t bits = bytes_get_u32(&r);
        memcpy(&f->idf[k], &bits, sizeof bits);
        if (!(isfinite(f->idf[k]) && f->idf[k] >= 1.0f))
            rv = AIOPS_ECORRUPT;
    }
    if (r.bad || rv != 0) {
        text_featurizer_free(f);
        return AIOPS_ECORRUPT;
    }
    if (build_columns(f) != 0) {
        text_featurizer_free(f);
        return AIOPS_ENOMEM;
    }
    if (used)
        *used = r.off;
    *out = f;
    return AIOPS_OK;
}

int text_featurizer_fit(const struct text_params *p, text_doc_fn doc, void *ctx, size_t n,
                        struct text_featurizer **out, size_t *invalid, struct aiops_error *err)
{
    return text_featurizer_fit_threads(p, doc, ctx, n, 1, 0, out, invalid, err);
}
