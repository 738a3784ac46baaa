#include "ml/featureset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "core/pool.h"
#include "math/sort.h"
#include "math/stats.h"
#include "text/featurize.h"
#include "text/normalize.h"

/* More classes than this is not classification but a mistake (an id as the target). */
#define MAX_CLASSES 1000

static int in_list(const char *const *list, const char *name)
{
    for (; list != NULL && *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

static size_t count_missing(const struct column *c, size_t n)
{
    size_t m = 0;
    for (size_t r = 0; r < n; r++)
        m += (size_t)column_is_missing(c, r);
    return m;
}

/* Copies a dictionary, keeping a hash index for lookups by text. */
static int dict_copy(const struct strdict *from, struct strdict *to)
{
    strdict_init(to);
    for (uint32_t k = 0; k < from->count; k++) {
        uint32_t code;
        int rv = strdict_intern(to, strdict_str(from, k), strdict_len(from, k), &code);
        if (rv != 0)
            return rv;
    }
    return AIOPS_OK;
}

static int numeric_stats(const struct column *c, size_t n, struct feature *f)
{
    struct stats_moments mo;
    stats_moments(c->f64, n, &mo);
    f->mean = mo.mean;
    f->std = mo.std;
    f->min = mo.min;
    f->max = mo.max;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return AIOPS_ENOMEM;
    size_t m;
    int rv = sort_f64_present(c->f64, n, v, &m);
    f->median = rv == 0 && m > 0 ? stats_quantile_sorted(v, m, 0.5) : NAN;
    free(v);
    return rv;
}

/* The name index of features_find: code j of fs->names is feature j. AIOPS_EEXIST when two
 * features share a name (a table cannot have that; a model file must not). */
static int names_build(struct feature_set *fs)
{
    strdict_init(&fs->names);
    for (size_t j = 0; j < fs->n; j++) {
        uint32_t code;
        int rv = strdict_intern(&fs->names, fs->f[j].name, strlen(fs->f[j].name), &code);
        if (rv != 0)
            return rv;
        if (code != j)
            return AIOPS_EEXIST;
    }
    return AIOPS_OK;
}

long features_find(const struct feature_set *fs, const char *name, size_t len)
{
    uint32_t j;
    return strdict_find(&fs->names, name, len, &j) == 0 ? (long)j : -1;
}

/* --- text features ------------------------------------------------------------------- */

/* The texts of a table column for rows[0..n) (rows NULL: all), as text_doc_fn reads them.
 * Numbers in a text column (a predict table read otherwise) are written out once, up front,
 * because the featurizer reads texts from several threads. */
struct column_docs {
    const struct column *c;
    const size_t *rows;
    char **num_text; /* COL_F64: n strings (NULL when missing), owned */
};

static const char *column_doc(void *ctx, size_t i, size_t *len)
{
    const struct column_docs *d = ctx;
    size_t r = d->rows ? d->rows[i] : i;
    if (d->c->storage == COL_F64) {
        const char *s = d->num_text[i];
        *len = s ? strlen(s) : 0;
        return s;
    }
    uint32_t k = d->c->codes[r];
    if (k == TABLE_MISSING)
        return NULL;
    *len = strdict_len(&d->c->dict, k);
    return strdict_str(&d->c->dict, k);
}

static size_t number_text(double v, char *out, size_t cap);
static int text_threads(void);

static int column_docs_init(struct column_docs *d, const struct column *c, const size_t *rows,
                            size_t n)
{
    d->c = c;
    d->rows = rows;
    d->num_text = NULL;
    if (c->storage != COL_F64)
        return AIOPS_OK;
    d->num_text = calloc(n ? n : 1, sizeof *d->num_text);
    if (d->num_text == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        double v = c->f64[rows ? rows[i] : i];
        if (isnan(v))
            continue;
        char text[40];
        number_text(v, text, sizeof text);
        if ((d->num_text[i] = strdup(text)) == NULL)
            return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

static void column_docs_free(struct column_docs *d, size_t n)
{
    for (size_t i = 0; d->num_text != NULL && i < n; i++)
        free(d->num_text[i]);
    free(d->num_text);
}

/* A text's dense value: its length in code points. */
static double text_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0u) != 0x80u;
    return (double)n;
}

/* Fits f->text on column c and fills f's statistics (of the lengths). */
static int text_feature_fit(const struct column *c, size_t nrows, struct feature *f)
{
    struct text_params tp;
    text_params_default(&tp);
    struct column_docs d;
    int rv = column_docs_init(&d, c, NULL, nrows);
    struct aiops_error err = {0};
    if (rv == 0)
        rv = text_featurizer_fit_threads(&tp, column_doc, &d, nrows, text_threads(), 1, &f->text,
                                         NULL, &err);
    if (rv == 0) {
        double s = 0, ss = 0, mn = INFINITY, mx = -INFINITY;
        size_t n = 0;
        for (size_t i = 0; i < nrows; i++) {
            size_t len;
            const char *t = column_doc(&d, i, &len);
            if (t == NULL)
                continue;
            double v = text_length(t, len);
            s += v;
            ss += v * v;
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            n++;
        }
        f->mean = n ? s / (double)n : NAN;
        f->std = n ? sqrt(fmax(ss / (double)n - f->mean * f->mean, 0)) : NAN;
        f->min = n ? mn : NAN;
        f->max = n ? mx : NAN;
        f->median = NAN;
    }
    column_docs_free(&d, nrows);
    return rv;
}

/* The sparse block of rows[0..n) of t: each text feature's vectors side by side, in feature
 * order. out->sp stays NULL without text features. */
static int text_block_table(const struct feature_set *fs, const struct table *t, const size_t *rows,
                            size_t n, struct fmatrix *out);

int features_fit(const struct table *t, long target, const char *const *only,
                 const char *const *exclude, struct feature_set *out, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    for (const char *const *p = only; p != NULL && *p != NULL; p++)
        if (table_find(t, *p) < 0)
            return aiops_error_set(err, AIOPS_EINVAL, "features", "the data has no column %s", *p);
    out->f = calloc(t->ncols ? t->ncols : 1, sizeof *out->f);
    if (out->f == NULL)
        return AIOPS_ENOMEM;
    int rv = AIOPS_OK;
    for (size_t i = 0; i < t->ncols && rv == 0; i++) {
        const struct column *c = &t->cols[i];
        if ((long)i == target || (only != NULL && !in_list(only, c->name)) ||
            in_list(exclude, c->name))
            continue;
        if (only == NULL && c->type == COL_ID)
            continue;
        size_t missing = count_missing(c, t->nrows);
        if (missing == t->nrows)
            continue;
        struct feature *f = &out->f[out->n];
        f->name = strdup(c->name);
        if (f->name == NULL) {
            rv = AIOPS_ENOMEM;
            break;
        }
        out->n++;
        f->type = c->type;
        f->missing_frac = t->nrows ? (double)missing / (double)t->nrows : 0;
        if (c->type == COL_TEXT) {
            f->kind = FEAT_TEXT;
            rv = text_feature_fit(c, t->nrows, f);
        } else if (c->storage == COL_DICT) {
            f->kind = FEAT_CATEGORICAL;
            f->mean = f->std = f->median = f->min = f->max = NAN;
            rv = dict_copy(&c->dict, &f->cats);
        } else {
            f->kind = FEAT_NUMERIC;
            rv = numeric_stats(c, t->nrows, f);
        }
    }
    if (rv == 0 && out->n == 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "features", "no usable feature column");
    out->fitted = t;
    if (rv == 0 && (rv = names_build(out)) == AIOPS_EEXIST)
        rv = aiops_error_set(err, AIOPS_EINVAL, "features", "a repeated column name");
    if (rv != 0)
        feature_set_free(out);
    return rv;
}

void features_drop_fitted(struct feature_set *fs)
{
    for (size_t j = 0; j < fs->n; j++)
        text_featurizer_drop_terms(fs->f[j].text);
    fs->fitted = NULL;
}

void feature_set_free(struct feature_set *fs)
{
    for (size_t j = 0; j < fs->n; j++) {
        free(fs->f[j].name);
        strdict_free(&fs->f[j].cats);
        text_featurizer_free(fs->f[j].text);
    }
    free(fs->f);
    strdict_free(&fs->names);
    memset(fs, 0, sizeof *fs);
}

/* --- matrices ------------------------------------------------------------------------ */

int features_matrix_alloc(const struct feature_set *fs, size_t nrows, struct fmatrix *m)
{
    int rv = fmatrix_alloc(nrows, fs->n, m);
    if (rv != 0)
        return rv;
    for (size_t j = 0; j < fs->n; j++) {
        m->is_cat[j] = fs->f[j].kind == FEAT_CATEGORICAL;
        m->ncat[j] = m->is_cat[j] ? fs->f[j].cats.count : 0;
    }
    return AIOPS_OK;
}

/* The text a number has as a CSV value (what ingest would have interned): whole numbers
 * without a decimal point, others in their shortest exact form. */
static size_t number_text(double v, char *out, size_t cap)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, cap, "%.0f", v);
    else
        fmt_double_shortest(out, cap, v);
    return strlen(out);
}

/* The training code of a category given as text; boolean features also take any spelling
 * of true/false. NaN when unseen. */
static double category_code(const struct feature *f, const char *s, size_t len)
{
    uint32_t code;
    if (strdict_find(&f->cats, s, len, &code) == 0)
        return (double)code;
    if (f->type == COL_BOOLEAN) {
        int b = numparse_bool(s, len);
        if (b >= 0 && (uint32_t)b < f->cats.count)
            return (double)b; /* code 0 is the false word, 1 the true word (lib/data/table.h) */
    }
    return NAN;
}

static void fill_column(const struct feature *f, const struct column *c, const size_t *rows,
                        size_t n, double *dst, size_t *type_errors, size_t *unseen)
{
    if (f->kind == FEAT_TEXT) {
        for (size_t i = 0; i < n; i++) {
            size_t r = rows ? rows[i] : i;
            if (c->storage == COL_F64) {
                char text[40];
                dst[i] = isnan(c->f64[r])
                             ? NAN
                             : text_length(text, number_text(c->f64[r], text, sizeof text));
            } else {
                uint32_t k = c->codes[r];
                dst[i] = k == TABLE_MISSING
                             ? NAN
                             : text_length(strdict_str(&c->dict, k), strdict_len(&c->dict, k));
            }
        }
        return;
    }
    if (f->kind == FEAT_NUMERIC && c->storage == COL_F64) {
        for (size_t i = 0; i < n; i++)
            dst[i] = c->f64[rows ? rows[i] : i];
        return;
    }
    if (f->kind == FEAT_NUMERIC) {
        /* strings where numbers were trained on: numbers written as text still count */
        for (size_t i = 0; i < n; i++) {
            uint32_t k = c->codes[rows ? rows[i] : i];
            double v = NAN;
            unsigned flags;
            if (k != TABLE_MISSING &&
                !numparse_f64(strdict_str(&c->dict, k), strdict_len(&c->dict, k), &v, &flags)) {
                v = NAN;
                (*type_errors)++;
            }
            dst[i] = v;
        }
        return;
    }
    if (c->storage == COL_DICT) {
        /* translate this table's codes to the training codes once per distinct value */
        double *map = malloc((c->dict.count ? c->dict.count : 1) * sizeof *map);
        for (uint32_t k = 0; map != NULL && k < c->dict.count; k++)
            map[k] = category_code(f, strdict_str(&c->dict, k), strdict_len(&c->dict, k));
        for (size_t i = 0; i < n; i++) {
            uint32_t k = c->codes[rows ? rows[i] : i];
            double v = NAN;
            if (k != TABLE_MISSING) {
                v = map ? map[k]
                        : category_code(f, strdict_str(&c->dict, k), strdict_len(&c->dict, k));
                *unseen += (size_t)isnan(v);
            }
            dst[i] = v;
        }
        free(map);
        return;
    }
    /* numbers where categories were trained on (e.g. codes 1, 2, 3 read as numeric) */
    for (size_t i = 0; i < n; i++) {
        double x = c->f64[rows ? rows[i] : i], v = NAN;
        if (!isnan(x)) {
            char text[40];
            size_t len = number_text(x, text, sizeof text);
            v = category_code(f, text, len);
            *unseen += (size_t)isnan(v);
        }
        dst[i] = v;
    }
}

int features_matrix_rows(const struct feature_set *fs, const struct table *t, const size_t *rows,
                         size_t n, struct fmatrix *out, struct aiops_error *err,
                         size_t *type_errors, size_t *unseen)
{
    size_t te = 0, us = 0;
    aiops_error_clear(err);
    for (size_t j = 0; j < fs->n; j++)
        if (table_find(t, fs->f[j].name) < 0) {
            memset(out, 0, sizeof *out);
            return aiops_error_set(err, AIOPS_ENOTFOUND, fs->f[j].name,
                                   "the data has no column %s (a feature of the model)",
                                   fs->f[j].name);
        }
    int rv = features_matrix_alloc(fs, n, out);
    if (rv != 0)
        return rv;
    for (size_t j = 0; j < fs->n; j++) {
        const struct column *c = &t->cols[table_find(t, fs->f[j].name)];
        fill_column(&fs->f[j], c, rows, n, out->x + j * n, &te, &us);
    }
    if ((rv = text_block_table(fs, t, rows, n, out)) != 0) {
        fmatrix_free(out);
        return rv;
    }
    if (type_errors)
        *type_errors = te;
    if (unseen)
        *unseen = us;
    return AIOPS_OK;
}

int features_matrix(const struct feature_set *fs, const struct table *t, struct fmatrix *out,
                    struct aiops_error *err, size_t *type_errors, size_t *unseen)
{
    return features_matrix_rows(fs, t, NULL, t->nrows, out, err, type_errors, unseen);
}

double feature_value_json(const struct feature *f, enum json_value_kind kind, double num,
                          const char *s, size_t len, const char **reason)
{
    *reason = NULL;
    if (kind == JV_NULL)
        return NAN;
    if (f->kind == FEAT_TEXT) {
        if (kind == JV_STRING)
            return text_length(s, len);
        if (kind == JV_NUMBER) {
            char text[40];
            return text_length(text, number_text(num, text, sizeof text));
        }
        *reason = "expected a string (text)";
        return NAN;
    }
    if (f->kind == FEAT_NUMERIC) {
        double x;
        unsigned flags;
        if (kind == JV_NUMBER)
            return num;
        if (kind == JV_STRING && numparse_f64(s, len, &x, &flags))
            return x;
        *reason = "expected a number";
        return NAN;
    }
    if (kind == JV_STRING)
        return category_code(f, s, len);
    if (kind == JV_NUMBER) {
        char text[40];
        size_t n = number_text(num, text, sizeof text);
        return category_code(f, text, n);
    }
    if ((kind == JV_TRUE || kind == JV_FALSE) && f->type == COL_BOOLEAN)
        return kind == JV_TRUE && f->cats.count > 1 ? 1.0 : 0.0;
    *reason = "expected a string (a category)";
    return NAN;
}

static void json_error_add(json_t *errs, size_t row, const char *col, const char *reason)
{
    if (json_array_size(errs) < 20)
        json_array_append_new(errs, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)row, "column",
                                              col, "reason", reason));
}

/* --- the sparse block ---------------------------------------------------------------------- */

/* Puts the blocks b[0..nb) (each n rows) side by side into one matrix; frees them. */
static int merge_blocks(struct spmatrix *b, size_t nb, size_t n, struct spmatrix **out)
{
    struct spmatrix *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    if (nb == 1) {
        *m = b[0];
        memset(&b[0], 0, sizeof b[0]);
        *out = m;
        return AIOPS_OK;
    }
    size_t nnz = 0, ncols = 0;
    for (size_t k = 0; k < nb; k++) {
        nnz += b[k].rowptr[n];
        ncols += b[k].ncols;
    }
    m->nrows = n;
    m->ncols = ncols;
    m->rowptr = malloc((n + 1) * sizeof *m->rowptr);
    m->col = malloc((nnz ? nnz : 1) * sizeof *m->col);
    m->val = malloc((nnz ? nnz : 1) * sizeof *m->val);
    if (m->rowptr == NULL || m->col == NULL || m->val == NULL || ncols > UINT32_MAX) {
        spmatrix_free(m);
        free(m);
        return AIOPS_ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        m->rowptr[i] = at;
        uint32_t off = 0;
        for (size_t k = 0; k < nb; k++) {
            for (size_t e = b[k].rowptr[i]; e < b[k].rowptr[i + 1]; e++) {
                m->col[at] = off + b[k].col[e];
                m->val[at++] = b[k].val[e];
            }
            off += (uint32_t)b[k].ncols;
        }
    }
    m->rowptr[n] = at;
    for (size_t k = 0; k < nb; k++)
        spmatrix_free(&b[k]);
    *out = m;
    return AIOPS_OK;
}

/* Threads for featurizing a batch: the featurizer uses one below 1,000 texts anyway. */
static int text_threads(void)
{
    int c = pool_cpus();
    return c < 4 ? c : 4;
}

static size_t text_feature_count(const struct feature_set *fs)
{
    size_t k = 0;
    for (size_t j = 0; j < fs->n; j++)
        k += fs->f[j].kind == FEAT_TEXT;
    return k;
}

static int text_block_table(const struct feature_set *fs, const struct table *t, const size_t *rows,
                            size_t n, struct fmatrix *out)
{
    size_t nb = text_feature_count(fs);
    if (nb == 0)
        return AIOPS_OK;
    struct spmatrix *b = calloc(nb, sizeof *b);
    if (b == NULL)
        return AIOPS_ENOMEM;
    int rv = AIOPS_OK;
    for (size_t j = 0, k = 0; j < fs->n && rv == 0; j++) {
        if (fs->f[j].kind != FEAT_TEXT)
            continue;
        const struct text_featurizer *tf = fs->f[j].text;
        if (t == fs->fitted && text_featurizer_has_terms(tf)) {
            /* rows of the fitted table: their terms are kept from the fit */
            rv = text_featurizer_transform_fitted(tf, rows, n, text_threads(), &b[k++]);
            continue;
        }
        struct column_docs d;
        const struct column *c = &t->cols[table_find(t, fs->f[j].name)];
        rv = column_docs_init(&d, c, rows, n);
        if (rv == 0)
            rv = text_featurizer_transform(tf, column_doc, &d, n, text_threads(), &b[k++], NULL);
        column_docs_free(&d, n);
    }
    if (rv == 0)
        rv = merge_blocks(b, nb, n, &out->sp);
    for (size_t k = 0; k < nb; k++)
        spmatrix_free(&b[k]);
    free(b);
    return rv;
}

/* The texts of one feature in JSON rows: strings as they are, numbers written out. */
struct json_docs {
    const char **s;
    size_t *len;
    char **owned;
};

static const char *json_doc(void *ctx, size_t i, size_t *len)
{
    const struct json_docs *d = ctx;
    *len = d->len[i];
    return d->s[i];
}

static int text_block_json(const struct feature_set *fs, const json_t *rows, size_t n,
                           struct fmatrix *out)
{
    size_t nb = text_feature_count(fs);
    if (nb == 0)
        return AIOPS_OK;
    struct spmatrix *b = calloc(nb, sizeof *b);
    struct json_docs d = {calloc(n ? n : 1, sizeof *d.s), calloc(n ? n : 1, sizeof *d.len),
                          calloc(n ? n : 1, sizeof *d.owned)};
    int rv = b && d.s && d.len && d.owned ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t j = 0, k = 0; j < fs->n && rv == 0; j++) {
        if (fs->f[j].kind != FEAT_TEXT)
            continue;
        for (size_t i = 0; i < n && rv == 0; i++) {
            const json_t *v = json_object_get(json_array_get(rows, i), fs->f[j].name);
            free(d.owned[i]);
            d.owned[i] = NULL;
            d.s[i] = NULL;
            d.len[i] = 0;
            if (json_is_string(v)) {
                d.s[i] = json_string_value(v);
                d.len[i] = json_string_length(v);
            } else if (json_is_number(v)) {
                char text[40];
                d.len[i] = number_text(json_number_value(v), text, sizeof text);
                if ((d.owned[i] = strdup(text)) == NULL)
                    rv = AIOPS_ENOMEM;
                d.s[i] = d.owned[i];
            }
        }
        if (rv == 0)
            rv = text_featurizer_transform(fs->f[j].text, json_doc, &d, n, text_threads(), &b[k++],
                                           NULL);
    }
    if (rv == 0)
        rv = merge_blocks(b, nb, n, &out->sp);
    for (size_t k = 0; b != NULL && k < nb; k++)
        spmatrix_free(&b[k]);
    for (size_t i = 0; d.owned != NULL && i < n; i++)
        free(d.owned[i]);
    free(d.owned);
    free(d.s);
    free(d.len);
    free(b);
    return rv;
}

int features_text_block_json(const struct feature_set *fs, const json_t *rows, struct fmatrix *out)
{
    return text_block_json(fs, rows, out->nrows, out);
}

int features_have_text(const struct feature_set *fs)
{
    return text_feature_count(fs) > 0;
}

int features_matrix_json(const struct feature_set *fs, const json_t *rows, struct fmatrix *out,
                         json_t **err)
{
    *err = NULL;
    memset(out, 0, sizeof *out);
    if (!json_is_array(rows))
        return AIOPS_EINVAL;
    size_t n = json_array_size(rows);
    int rv = features_matrix_alloc(fs, n, out);
    if (rv != 0)
        return rv;
    json_t *errs = json_array();
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        if (!json_is_object(row)) {
            json_error_add(errs, i, "", "each instance must be a JSON object");
            continue;
        }
        for (size_t j = 0; j < fs->n; j++) {
            const struct feature *f = &fs->f[j];
            const json_t *v = json_object_get(row, f->name);
            const char *reason = NULL;
            double x;
            if (v == NULL || json_is_null(v))
                x = NAN;
            else if (json_is_number(v))
                x = feature_value_json(f, JV_NUMBER, json_number_value(v), NULL, 0, &reason);
            else if (json_is_string(v))
                x = feature_value_json(f, JV_STRING, 0, json_string_value(v), json_string_length(v),
                                       &reason);
            else if (json_is_boolean(v))
                x = feature_value_json(f, json_is_true(v) ? JV_TRUE : JV_FALSE, 0, NULL, 0,
                                       &reason);
            else
                x = feature_value_json(f, JV_CONTAINER, 0, NULL, 0, &reason);
            if (reason)
                json_error_add(errs, i, f->name, reason);
            out->x[j * n + i] = x;
        }
    }
    if (json_array_size(errs) > 0) {
        fmatrix_free(out);
        *err = errs;
        return AIOPS_EINVAL;
    }
    json_decref(errs);
    if ((rv = text_block_json(fs, rows, n, out)) != 0) {
        fmatrix_free(out);
        return rv;
    }
    return AIOPS_OK;
}

/* --- target -------------------------------------------------------------------------- */

void target_spec_free(struct target_spec *ts)
{
    for (size_t k = 0; k < ts->nclasses; k++)
        free(ts->labels[k]);
    free(ts->labels);
    free(ts->name);
    memset(ts, 0, sizeof *ts);
}

static const struct strdict *cmp_dict;

static int cmp_codes(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t lx = strdict_len(cmp_dict, x), ly = strdict_len(cmp_dict, y);
    int c = memcmp(strdict_str(cmp_dict, x), strdict_str(cmp_dict, y), lx < ly ? lx : ly);
    return c != 0 ? c : (lx > ly) - (lx < ly);
}

static int target_classes_dict(const struct table *t, const struct column *c,
                               struct target_spec *ts, double *y, struct aiops_error *err)
{
    uint32_t nd = c->dict.count;
    uint8_t *seen = calloc(nd ? nd : 1, 1);
    uint32_t *order = malloc((nd ? nd : 1) * sizeof *order);
    double *map = malloc((nd ? nd : 1) * sizeof *map);
    int rv = AIOPS_ENOMEM;
    if (seen == NULL || order == NULL || map == NULL)
        goto out;
    for (size_t r = 0; r < t->nrows; r++)
        if (c->codes[r] != TABLE_MISSING && c->codes[r] < nd)
            seen[c->codes[r]] = 1;
    size_t K = 0;
    for (uint32_t k = 0; k < nd; k++)
        if (seen[k] || (c->type == COL_BOOLEAN && nd == 2))
            order[K++] = k;
    rv = AIOPS_EINVAL;
    if (K < 2) {
        aiops_error_set(err, rv, "target", "%s: the target has fewer than two classes", c->name);
        goto out;
    }
    if (K > MAX_CLASSES) {
        aiops_error_set(err, rv, "target", "%s: the target has more than %d classes", c->name,
                        MAX_CLASSES);
        goto out;
    }
    /* booleans keep false < true (their codes); other labels sort bytewise */
    if (c->type != COL_BOOLEAN) {
        cmp_dict = &c->dict; /* (qsort has no context argument in C11) */
        qsort(order, K, sizeof *order, cmp_codes);
    }
    rv = AIOPS_ENOMEM;
    ts->labels = calloc(K, sizeof *ts->labels);
    if (ts->labels == NULL)
        goto out;
    ts->nclasses = K;
    for (uint32_t k = 0; k < nd; k++)
        map[k] = NAN;
    for (size_t i = 0; i < K; i++) {
        map[order[i]] = (double)i;
        if ((ts->labels[i] = strdup(strdict_str(&c->dict, order[i]))) == NULL)
            goto out;
    }
    for (size_t r = 0; r < t->nrows; r++)
        y[r] = c->codes[r] == TABLE_MISSING || c->codes[r] >= nd ? NAN : map[c->codes[r]];
    rv = AIOPS_OK;
out:
    free(seen);
    free(order);
    free(map);
    return rv;
}

static int target_classes_f64(const struct table *t, const struct column *c, struct target_spec *ts,
                              double *y, struct aiops_error *err)
{
    double *v = malloc((t->nrows ? t->nrows : 1) * sizeof *v);
    if (v == NULL)
        return AIOPS_ENOMEM;
    memcpy(v, c->f64, t->nrows * sizeof *v);
    int rv = sort_f64(v, t->nrows);
    size_t K = 0;
    for (size_t i = 0; rv == 0 && i < t->nrows && !isnan(v[i]); i++)
        if (i == 0 || v[i] != v[i - 1])
            v[K++] = v[i]; /* distinct values, ascending, packed at the front */
    if (rv == 0 && K < 2)
        rv = aiops_error_set(err, AIOPS_EINVAL, "target",
                             "%s: the target has fewer than two classes", c->name);
    else if (rv == 0 && K > MAX_CLASSES)
        rv = aiops_error_set(err, AIOPS_EINVAL, "target", "%s: the target has more than %d classes",
                             c->name, MAX_CLASSES);
    if (rv == 0 && (ts->labels = calloc(K, sizeof *ts->labels)) == NULL)
        rv = AIOPS_ENOMEM;
    for (size_t k = 0; rv == 0 && k < K; k++) {
        char text[40];
        number_text(v[k], text, sizeof text);
        if ((ts->labels[k] = strdup(text)) == NULL)
            rv = AIOPS_ENOMEM;
        ts->nclasses = k + 1;
    }
    for (size_t r = 0; rv == 0 && r < t->nrows; r++) {
        double x = c->f64[r];
        if (isnan(x)) {
            y[r] = NAN;
            continue;
        }
        y[r] = (double)stats_count_below(v, K, x); /* its rank among the distinct values */
    }
    ts->numeric_labels = 1;
    free(v);
    return rv;
}

int target_fit(const struct table *t, long col, enum table_task task, struct target_spec *out,
               double *y, struct aiops_error *err)
{
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    if (col < 0 || (size_t)col >= t->ncols)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "no such target column");
    const struct column *c = &t->cols[col];
    if (task == TASK_NONE)
        task = table_task(c, c->distinct, c->is_integer);
    if (task == TASK_NONE)
        return aiops_error_set(err, AIOPS_EINVAL, "target", "%s: %s", c->name,
                               c->type == COL_DATETIME
                                   ? "a datetime column cannot be a target"
                                   : "the target has fewer than two distinct values");
    if ((out->name = strdup(c->name)) == NULL)
        return AIOPS_ENOMEM;
    int rv;
    if (task == TASK_REGRESSION) {
        if (c->storage != COL_F64 || c->type == COL_DATETIME) {
            rv = aiops_error_set(err, AIOPS_EINVAL, "target",
                                 "%s: a regression target must be numeric", c->name);
        } else {
            memcpy(y, c->f64, t->nrows * sizeof *y);
            rv = AIOPS_OK;
        }
    } else {
        rv = c->storage == COL_DICT ? target_classes_dict(t, c, out, y, err)
                                    : target_classes_f64(t, c, out, y, err);
        /* the number of classes decides binary or multiclass, whatever was asked */
        if (rv == 0)
            task = out->nclasses == 2 ? TASK_BINARY : TASK_MULTICLASS;
    }
    out->task = task;
    if (rv != 0)
        target_spec_free(out);
    return rv;
}

int target_apply(const struct target_spec *ts, const struct table *t, long col, double *y,
                 size_t *unknown)
{
    const struct column *c = &t->cols[col];
    size_t unk = 0;
    if (ts->task == TASK_REGRESSION) {
        if (c->storage != COL_F64)
            return AIOPS_EINVAL;
        memcpy(y, c->f64, t->nrows * sizeof *y);
        *unknown = 0;
        return AIOPS_OK;
    }
    struct strdict labels;
    strdict_init(&labels);
    int rv = AIOPS_OK;
    for (size_t k = 0; k < ts->nclasses && rv == 0; k++) {
        uint32_t code;
        rv = strdict_intern(&labels, ts->labels[k], strlen(ts->labels[k]), &code);
    }
    for (size_t r = 0; r < t->nrows && rv == 0; r++) {
        uint32_t code;
        if (column_is_missing(c, r)) {
            y[r] = NAN;
            continue;
        }
        const char *s;
        size_t len;
        char text[40];
        if (c->storage == COL_DICT) {
            s = strdict_str(&c->dict, c->codes[r]);
            len = strdict_len(&c->dict, c->codes[r]);
        } else {
            len = number_text(c->f64[r], text, sizeof text);
            s = text;
        }
        if (strdict_find(&labels, s, len, &code) == 0) {
            y[r] = (double)code;
        } else {
            y[r] = NAN;
            unk++;
        }
    }
    strdict_free(&labels);
    *unknown = unk;
    return rv;
}

json_t *target_label_json(const struct target_spec *ts, size_t k)
{
    if (k >= ts->nclasses)
        return json_null();
    if (ts->numeric_labels)
        return jsonx_num(strtod(ts->labels[k], NULL), 1);
    return json_string(ts->labels[k]);
}

int class_weights(const struct target_spec *ts, const char *setting, const double *y, size_t n,
                  double *w, struct aiops_error *err)
{
    size_t K = ts->nclasses;
    aiops_error_clear(err);
    double *cw = malloc((K ? K : 1) * sizeof *cw);
    if (cw == NULL)
        return AIOPS_ENOMEM;
    for (size_t k = 0; k < K; k++)
        cw[k] = 1.0;
    int rv = AIOPS_OK;
    if (setting != NULL && strcmp(setting, "balanced") == 0) {
        size_t *count = calloc(K ? K : 1, sizeof *count);
        size_t labelled = 0;
        if (count == NULL) {
            free(cw);
            return AIOPS_ENOMEM;
        }
        for (size_t r = 0; r < n; r++)
            if (!isnan(y[r])) {
                count[(size_t)y[r]]++;
                labelled++;
            }
        for (size_t k = 0; k < K; k++)
            cw[k] = count[k] ? (double)labelled / ((double)K * (double)count[k]) : 1.0;
        free(count);
    } else if (setting != NULL && setting[0] != '\0') {
        /* label:weight,label:weight */
        const char *p = setting;
        while (*p && rv == 0) {
            const char *colon = strchr(p, ':');
            const char *comma = strchr(p, ',');
            if (comma == NULL)
                comma = p + strlen(p);
            if (colon == NULL || colon > comma) {
                rv = aiops_error_set(err, AIOPS_EINVAL, "class_weight",
                                     "class_weight must be \"balanced\" or label:weight pairs");
                break;
            }
            size_t k = 0;
            while (k < K && !(strlen(ts->labels[k]) == (size_t)(colon - p) &&
                              memcmp(ts->labels[k], p, (size_t)(colon - p)) == 0))
                k++;
            char *end;
            double v = strtod(colon + 1, &end);
            if (k == K) {
                rv = aiops_error_set(err, AIOPS_EINVAL, "class_weight",
                                     "class_weight names a class the target does not have");
            } else if (end != comma || !(v > 0) || !isfinite(v)) {
                rv = aiops_error_set(err, AIOPS_EINVAL, "class_weight",
                                     "a class weight must be a positive number");
            } else {
                cw[k] = v;
            }
            p = *comma ? comma + 1 : comma;
        }
    }
    for (size_t r = 0; r < n && rv == 0; r++)
        w[r] = isnan(y[r]) ? 0.0 : cw[(size_t)y[r]];
    free(cw);
    return rv;
}

/* --- persistence ------------------------------------------------------------------------ */

int features_save(const struct feature_set *fs, const struct target_spec *ts, struct buf *out)
{
    int rc = 0;
    rc |= bytes_put_u32(out, (uint32_t)fs->n);
    for (size_t j = 0; j < fs->n; j++) {
        const struct feature *f = &fs->f[j];
        rc |= bytes_put_str(out, f->name, strlen(f->name));
        rc |= bytes_put_u32(out, (uint32_t)f->kind);
        rc |= bytes_put_u32(out, (uint32_t)f->type);
        rc |= bytes_put_f64(out, f->mean);
        rc |= bytes_put_f64(out, f->std);
        rc |= bytes_put_f64(out, f->median);
        rc |= bytes_put_f64(out, f->min);
        rc |= bytes_put_f64(out, f->max);
        rc |= bytes_put_f64(out, f->missing_frac);
        rc |= bytes_put_u32(out, f->cats.count);
        for (uint32_t k = 0; k < f->cats.count; k++)
            rc |= bytes_put_str(out, strdict_str(&f->cats, k), strdict_len(&f->cats, k));
        if (f->kind == FEAT_TEXT)
            rc |= text_featurizer_save(f->text, out);
    }
    rc |= bytes_put_str(out, ts->name, strlen(ts->name));
    rc |= bytes_put_u32(out, (uint32_t)ts->task);
    rc |= bytes_put_u32(out, (uint32_t)ts->numeric_labels);
    rc |= bytes_put_u32(out, (uint32_t)ts->nclasses);
    for (size_t k = 0; k < ts->nclasses; k++)
        rc |= bytes_put_str(out, ts->labels[k], strlen(ts->labels[k]));
    return rc ? AIOPS_ENOMEM : AIOPS_OK;
}

/* A string of the stream as a new NUL-terminated copy; it must not hold a NUL itself. */
static char *get_str(struct bytes_reader *r, size_t *len)
{
    uint32_t n = bytes_get_u32(r);
    const uint8_t *raw = bytes_get_raw(r, n);
    if (raw == NULL || memchr(raw, 0, n) != NULL) {
        r->bad = 1;
        return NULL;
    }
    *len = n;
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        r->bad = 1;
        return NULL;
    }
    memcpy(s, raw, n);
    s[n] = '\0';
    return s;
}

int features_load(const uint8_t *p, size_t n, struct feature_set *fs, struct target_spec *ts)
{
    memset(fs, 0, sizeof *fs);
    memset(ts, 0, sizeof *ts);
    struct bytes_reader r = {p, n, 0, 0};
    size_t len;
    uint32_t nf = bytes_get_u32(&r);
    /* every feature takes at least 64 bytes: bound the allocation by the input */
    if (r.bad || nf == 0 || nf > n / 64)
        return AIOPS_ECORRUPT;
    fs->f = calloc(nf, sizeof *fs->f);
    if (fs->f == NULL)
        return AIOPS_ENOMEM;
    for (uint32_t j = 0; j < nf && !r.bad; j++) {
        struct feature *f = &fs->f[j];
        fs->n = j + 1;
        f->name = get_str(&r, &len);
        uint32_t kind = bytes_get_u32(&r), type = bytes_get_u32(&r);
        if (kind > FEAT_TEXT || type >= COL_TYPE_COUNT) {
            r.bad = 1;
            break;
        }
        f->kind = (enum feat_kind)kind;
        f->type = (enum col_type)type;
        f->mean = bytes_get_f64(&r);
        f->std = bytes_get_f64(&r);
        f->median = bytes_get_f64(&r);
        f->min = bytes_get_f64(&r);
        f->max = bytes_get_f64(&r);
        f->missing_frac = bytes_get_f64(&r);
        uint32_t nc = bytes_get_u32(&r);
        if (r.bad || nc > (r.n - r.off) / 4 || (f->kind != FEAT_CATEGORICAL && nc != 0)) {
            r.bad = 1;
            break;
        }
        if (f->kind == FEAT_TEXT) {
            size_t used = 0;
            int trv = text_featurizer_load(r.p + r.off, r.n - r.off, &f->text, &used);
            if (trv == AIOPS_ENOMEM) {
                feature_set_free(fs);
                return AIOPS_ENOMEM;
            }
            if (trv != 0) {
                r.bad = 1;
                break;
            }
            r.off += used;
        }
        strdict_init(&f->cats);
        for (uint32_t k = 0; k < nc && !r.bad; k++) {
            uint32_t code;
            char *s = get_str(&r, &len);
            if (s == NULL || strdict_intern(&f->cats, s, len, &code) != 0 || code != k)
                r.bad = 1; /* a repeated category would shift every later code */
            free(s);
        }
    }
    ts->name = get_str(&r, &len);
    uint32_t task = bytes_get_u32(&r), numeric = bytes_get_u32(&r), nclasses = bytes_get_u32(&r);
    /* TASK_NONE: a clustering model's (optional) grouping column, without classes */
    if (r.bad || task > TASK_REGRESSION || (task == TASK_NONE && nclasses != 0) || numeric > 1 ||
        nclasses > MAX_CLASSES || nclasses > (r.n - r.off) / 4 ||
        (task == TASK_REGRESSION || task == TASK_NONE) != (nclasses == 0) ||
        (task == TASK_BINARY && nclasses != 2) || (task == TASK_MULTICLASS && nclasses < 3)) {
        r.bad = 1;
    } else {
        ts->task = (enum table_task)task;
        ts->numeric_labels = (int)numeric;
        ts->labels = calloc(nclasses ? nclasses : 1, sizeof *ts->labels);
        if (ts->labels == NULL)
            r.bad = 1;
        for (uint32_t k = 0; k < nclasses && !r.bad; k++) {
            ts->labels[k] = get_str(&r, &len);
            ts->nclasses = k + 1;
        }
    }
    if (r.bad || r.off != r.n || ts->name == NULL) {
        feature_set_free(fs);
        target_spec_free(ts);
        return AIOPS_ECORRUPT;
    }
    for (size_t j = 0; j < fs->n; j++)
        if (fs->f[j].name == NULL) {
            feature_set_free(fs);
            target_spec_free(ts);
            return AIOPS_ECORRUPT;
        }
    int rv = names_build(fs);
    if (rv != 0) {
        feature_set_free(fs);
        target_spec_free(ts);
        return rv == AIOPS_EEXIST ? AIOPS_ECORRUPT : rv;
    }
    return AIOPS_OK;
}
