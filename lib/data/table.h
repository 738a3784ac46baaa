/* table.h -- an in-memory columnar table: what a CSV becomes, what a dataset stores,
 * what profiling and (later) training read.
 *
 * Two physical storages cover every logical type:
 *   COL_F64   one double per row, NaN = missing (numeric, datetime as Unix seconds UTC,
 *             numeric id-like columns);
 *   COL_DICT  one uint32 code per row into a dictionary of distinct strings, TABLE_MISSING
 *             = missing (categorical, boolean, text, string id-like columns).
 * Rows are 0-based everywhere in this API. A table owns all of its memory; table_free()
 * releases it. */
#ifndef AIOPS_TABLE_H
#define AIOPS_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define TABLE_MISSING UINT32_MAX

enum col_type {
    COL_NUMERIC,     /* numbers; COL_F64 */
    COL_BOOLEAN,     /* true/false yes/no t/f y/n (any case); COL_DICT, dictionary sorted so
                        that code 0 is the false word and code 1 the true word */
    COL_CATEGORICAL, /* strings of low cardinality; COL_DICT */
    COL_DATETIME,    /* ISO-8601 dates and timestamps; COL_F64, Unix seconds UTC */
    COL_TEXT,        /* free text (long, mostly distinct strings); COL_DICT */
    COL_ID,          /* one distinct value per row (an identifier); COL_F64 or COL_DICT */
    COL_TYPE_COUNT
};

enum col_storage { COL_F64, COL_DICT };

/* Interned strings. Code k names the k-th distinct string added; strings are stored
 * NUL-terminated back to back in `bytes`, string k at bytes + offsets[k] with length
 * offsets[k+1] - offsets[k] - 1. The hash index exists only while building. */
struct strdict {
    uint32_t count;
    uint32_t cap;       /* capacity of offsets (count + 1 <= cap) */
    uint64_t *offsets;  /* count + 1 entries */
    char *bytes;
    size_t bytes_len, bytes_cap;
    uint32_t *index;    /* open-addressing hash table of codes; NULL once frozen */
    uint32_t index_cap; /* power of two */
};

struct column {
    char *name;              /* UTF-8, NUL-terminated, owned */
    enum col_type type;
    enum col_storage storage;
    double *f64;             /* COL_F64: nrows values */
    uint32_t *codes;         /* COL_DICT: nrows codes */
    struct strdict dict;     /* COL_DICT */
    /* Summary (table_summarize); NaN where it does not apply. */
    size_t missing;
    size_t distinct;
    int is_integer;          /* COL_F64: every present value is a whole number */
    double min, max, mean;
};

struct table {
    size_t nrows;
    size_t ncols;
    struct column *cols;     /* ncols entries, owned */
};

const char *col_type_name(enum col_type t);
/* Parses a name from col_type_name(); -1 when unknown. */
int col_type_parse(const char *name);

/* --- strdict ------------------------------------------------------------------------- */
void strdict_init(struct strdict *d);
void strdict_free(struct strdict *d);
/* Returns the code of s (adding it when new) through *code. AIOPS_ENOMEM, or AIOPS_ETOOBIG
 * past UINT32_MAX - 1 strings. */
int strdict_intern(struct strdict *d, const char *s, size_t len, uint32_t *code);
/* Looks s up without adding it; AIOPS_ENOTFOUND when absent. Works only before freeze. */
int strdict_find(const struct strdict *d, const char *s, size_t len, uint32_t *code);
static inline const char *strdict_str(const struct strdict *d, uint32_t code)
{
    return d->bytes + d->offsets[code];
}
static inline size_t strdict_len(const struct strdict *d, uint32_t code)
{
    return (size_t)(d->offsets[code + 1] - d->offsets[code] - 1);
}
/* Drops the hash index (lookups by string no longer work; codes and strings stay). */
void strdict_freeze(struct strdict *d);

/* --- the learning task a target implies ----------------------------------------------- */
enum table_task { TASK_NONE, TASK_BINARY, TASK_MULTICLASS, TASK_REGRESSION };

/* Whole-number targets with more distinct values than this are regression. */
#define TABLE_MAX_NUMERIC_CLASSES 20

/* The rule shared by the upload summary, the profile and training: a boolean target is
 * binary (even with one class present); other strings are binary with 2 distinct values and
 * multiclass with more; numbers are binary with 2 distinct values, multiclass when whole with
 * 3..TABLE_MAX_NUMERIC_CLASSES, regression otherwise; datetimes, and anything with fewer than
 * 2 distinct values (1 for booleans), imply no task. `distinct` counts the present values
 * and `integral` says they are all whole numbers (both as the caller counted them: the
 * column's own summary, or its rows with a target). Strings are told from numbers by the
 * column's storage, so an id-like column is judged by what it holds. */
enum table_task table_task(const struct column *c, size_t distinct, int integral);
/* "binary", "multiclass", "regression", or NULL for TASK_NONE. */
const char *table_task_name(enum table_task task);

/* --- table --------------------------------------------------------------------------- */
void table_free(struct table *t);
/* Index of the column named name, or -1. */
long table_find(const struct table *t, const char *name);
/* 1 when row r of column c is missing. */
int column_is_missing(const struct column *c, size_t r);
/* Fills missing/distinct/is_integer/min/max/mean of every column. */
int table_summarize(struct table *t);
/* The same with f64_columns 0 for the string columns only: the numeric ones get 0 and NaN (a
 * reader that wants their values alone skips the distinct counts, the dearest part). */
int table_summarize_columns(struct table *t, int f64_columns);

#endif
