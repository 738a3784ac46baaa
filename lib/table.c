#include "table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char *const col_type_names[COL_TYPE_COUNT] = {
    [COL_NUMERIC] = "numeric",   [COL_BOOLEAN] = "boolean", [COL_CATEGORICAL] = "categorical",
    [COL_DATETIME] = "datetime", [COL_TEXT] = "text",       [COL_ID] = "id",
};

const char *col_type_name(enum col_type t)
{
    return (unsigned)t < COL_TYPE_COUNT ? col_type_names[t] : "unknown";
}

int col_type_parse(const char *name)
{
    for (int i = 0; i < COL_TYPE_COUNT; i++)
        if (strcmp(name, col_type_names[i]) == 0)
            return i;
    return -1;
}

/* --- strdict ------------------------------------------------------------------------- */

/* FNV-1a is enough here: keys are short and the table is rebuilt per column. */
static uint32_t str_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

void strdict_init(struct strdict *d)
{
    memset(d, 0, sizeof *d);
}

void strdict_free(struct strdict *d)
{
    free(d->offsets);
    free(d->bytes);
    free(d->index);
    memset(d, 0, sizeof *d);
}

static int strdict_grow_index(struct strdict *d)
{
    uint32_t cap = d->index_cap ? d->index_cap * 2 : 64;
    if (cap == 0)
        return AIOPS_ETOOBIG;
    uint32_t *idx = malloc((size_t)cap * sizeof *idx);
    if (idx == NULL)
        return AIOPS_ENOMEM;
    memset(idx, 0xff, (size_t)cap * sizeof *idx);
    for (uint32_t k = 0; k < d->count; k++) {
        uint32_t h = str_hash(strdict_str(d, k), strdict_len(d, k)) & (cap - 1);
        while (idx[h] != UINT32_MAX)
            h = (h + 1) & (cap - 1);
        idx[h] = k;
    }
    free(d->index);
    d->index = idx;
    d->index_cap = cap;
    return AIOPS_OK;
}

static uint32_t *strdict_slot(const struct strdict *d, const char *s, size_t len)
{
    uint32_t mask = d->index_cap - 1;
    uint32_t h = str_hash(s, len) & mask;
    for (;;) {
        uint32_t k = d->index[h];
        if (k == UINT32_MAX)
            return &d->index[h];
        if (strdict_len(d, k) == len && memcmp(strdict_str(d, k), s, len) == 0)
            return &d->index[h];
        h = (h + 1) & mask;
    }
}

int strdict_find(const struct strdict *d, const char *s, size_t len, uint32_t *code)
{
    if (d->index == NULL)
        return AIOPS_ENOTFOUND;
    uint32_t k = *strdict_slot(d, s, len);
    if (k == UINT32_MAX)
        return AIOPS_ENOTFOUND;
    *code = k;
    return AIOPS_OK;
}

int strdict_intern(struct strdict *d, const char *s, size_t len, uint32_t *code)
{
    int rv;
    if (d->index == NULL && d->count > 0)
        return AIOPS_EINVAL; /* frozen */
    if ((uint64_t)(d->count + 1) * 2 > d->index_cap && (rv = strdict_grow_index(d)) != 0)
        return rv;
    uint32_t *slot = strdict_slot(d, s, len);
    if (*slot != UINT32_MAX) {
        *code = *slot;
        return AIOPS_OK;
    }
    if (d->count >= UINT32_MAX - 2)
        return AIOPS_ETOOBIG;
    if (d->count + 2 > d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 16;
        uint64_t *o = realloc(d->offsets, (size_t)cap * sizeof *o);
        if (o == NULL)
            return AIOPS_ENOMEM;
        d->offsets = o;
        d->cap = cap;
        if (d->count == 0)
            d->offsets[0] = 0;
    }
    if (d->bytes_len + len + 1 > d->bytes_cap) {
        size_t cap = d->bytes_cap ? d->bytes_cap : 256;
        while (cap < d->bytes_len + len + 1)
            cap *= 2;
        char *b = realloc(d->bytes, cap);
        if (b == NULL)
            return AIOPS_ENOMEM;
        d->bytes = b;
        d->bytes_cap = cap;
    }
    memcpy(d->bytes + d->bytes_len, s, len);
    d->bytes[d->bytes_len + len] = '\0';
    d->bytes_len += len + 1;
    d->offsets[d->count + 1] = d->bytes_len;
    *slot = d->count;
    *code = d->count++;
    return AIOPS_OK;
}

void strdict_freeze(struct strdict *d)
{
    free(d->index);
    d->index = NULL;
    d->index_cap = 0;
}

/* --- table --------------------------------------------------------------------------- */

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        struct column *c = &t->cols[i];
        free(c->name);
        free(c->f64);
        free(c->codes);
        strdict_free(&c->dict);
    }
    free(t->cols);
    memset(t, 0, sizeof *t);
}

long table_find(const struct table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (long)i;
    return -1;
}

int column_is_missing(const struct column *c, size_t r)
{
    return c->storage == COL_F64 ? isnan(c->f64[r]) : c->codes[r] == TABLE_MISSING;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int summarize_f64(struct column *c, size_t n)
{
    double *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (sorted == NULL)
        return AIOPS_ENOMEM;
    size_t m = 0;
    double sum = 0;
    int integral = 1;
    for (size_t r = 0; r < n; r++) {
        double v = c->f64[r];
        if (isnan(v))
            continue;
        sorted[m++] = v;
        sum += v;
        if (integral && v != floor(v))
            integral = 0;
    }
    qsort(sorted, m, sizeof *sorted, cmp_double);
    size_t distinct = 0;
    for (size_t i = 0; i < m; i++)
        if (i == 0 || sorted[i] != sorted[i - 1])
            distinct++;
    c->missing = n - m;
    c->distinct = distinct;
    c->is_integer = m > 0 && integral;
    c->min = m ? sorted[0] : NAN;
    c->max = m ? sorted[m - 1] : NAN;
    c->mean = m ? sum / (double)m : NAN;
    free(sorted);
    return AIOPS_OK;
}

static int summarize_dict(struct column *c, size_t n)
{
    uint8_t *seen = calloc(c->dict.count ? c->dict.count : 1, 1);
    if (seen == NULL)
        return AIOPS_ENOMEM;
    size_t missing = 0, distinct = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t k = c->codes[r];
        if (k == TABLE_MISSING) {
            missing++;
        } else if (!seen[k]) {
            seen[k] = 1;
            distinct++;
        }
    }
    free(seen);
    c->missing = missing;
    c->distinct = distinct;
    c->is_integer = 0;
    c->min = c->max = c->mean = NAN;
    return AIOPS_OK;
}

int table_summarize(struct table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        struct column *c = &t->cols[i];
        int rv = c->storage == COL_F64 ? summarize_f64(c, t->nrows) : summarize_dict(c, t->nrows);
        if (rv != 0)
            return rv;
    }
    return AIOPS_OK;
}
