/* ingest.h -- CSV text to a typed columnar table, with validation issues and the upload
 * summary (the response body of POST /api/upload, minus file_id and filename).
 *
 * The reader follows RFC 4180 (quoted fields, doubled quotes, CRLF or LF line ends, quoted
 * line breaks), skips a UTF-8 byte-order mark, sniffs the delimiter among , ; TAB and |,
 * and infers each column's type from all of its values (lib/data/table.h types). Empty fields
 * and pandas' default NA words ("NA", "N/A", "NaN", "null", "None", ...) are missing. */
#ifndef AIOPS_INGEST_H
#define AIOPS_INGEST_H

#include <jansson.h>
#include <stddef.h>

#include "data/table.h"

struct ingest_options {
    char delimiter;         /* 0: sniff among ',', ';', '\t', '|' */
    const char *target;     /* the target column; NULL: the first column named clicked, click,
                               label, target or y (case-insensitive, in that order) */
    size_t max_issues;      /* errors and warnings kept, each (0: 100); totals are counted */
    size_t preview_rows;    /* leading data rows kept for the preview (0: 10) */
    size_t max_columns;     /* 0: 10000 */
    size_t max_field_bytes; /* 0: 1 MiB */
    int values_only;        /* 1: numeric columns are not summarised (table_summarize_columns):
                               their missing/distinct/min/max/mean stay 0 and NaN, their type
                               is numeric (never id) and they raise no column warnings; for
                               readers that only want the values (aiops drift) */
    int no_quoting;         /* 1: a '"' is an ordinary character, no field is quoted (Python's
                               csv.QUOTE_NONE); 0: CSV quoting (RFC 4180, pandas' default) */
};

enum issue_severity { ISSUE_ERROR, ISSUE_WARNING };

/* One validation finding. Errors make the input unusable (nothing is stored); warnings
 * are reported beside an accepted table. */
struct ingest_issue {
    enum issue_severity severity;
    const char *code;  /* static: "empty_file", "invalid_utf8", "ragged_row",
                          "unterminated_quote", "duplicate_header", "too_many_columns",
                          "field_too_long", "unknown_target" (errors); "no_target",
                          "constant_column", "mostly_missing", "empty_header",
                          "target_missing_values" (warnings) */
    char *message;     /* owned, human-readable, names the place */
    long row;          /* 1-based record number, the header being record 1; 0: not a row */
    long line;         /* 1-based physical line where the record starts; 0: n/a */
    long column;       /* 1-based column; 0: n/a */
    char *column_name; /* owned; NULL when n/a */
};

struct ingest_result {
    struct table table;    /* empty (0 columns) when n_errors > 0 */
    char delimiter;
    int had_bom;
    long target;           /* index of the target column in table, -1: none */
    size_t n_errors;       /* total found, including those not kept */
    size_t n_warnings;
    struct ingest_issue *issues; /* kept issues, errors first */
    size_t n_issues;
    size_t preview_n;      /* rows in the preview */
    char **preview;        /* preview_n * table.ncols cells, row-major, owned; NULL = missing */
    size_t input_bytes;
};

/* Parses len bytes of CSV. Returns AIOPS_OK when the input was read, whatever it contained
 * (problems are in out->issues; check out->n_errors), AIOPS_ENOMEM otherwise. out is always
 * initialised and must be released with ingest_result_free(). opt may be NULL. */
int ingest_csv(const char *data, size_t len, const struct ingest_options *opt,
               struct ingest_result *out);
/* Same as ingest_csv() for a file, read in blocks (the file is never held whole in memory).
 * AIOPS_EIO when it cannot be read (errno says why). */
int ingest_csv_file(const char *path, const struct ingest_options *opt, struct ingest_result *out);
void ingest_result_free(struct ingest_result *r);

/* A delimiter as users name it: "," ";" "|" or "tab" (also "\t" and a TAB character).
 * AIOPS_EINVAL for anything else. */
int ingest_parse_delimiter(const char *name, char *out);
/* A quoting choice as users name it: "none" (*no_quoting = 1) or "csv" (0).
 * AIOPS_EINVAL for anything else. */
int ingest_parse_quoting(const char *name, int *no_quoting);

/* Builds the upload summary:
 *   {"rows", "column_count", "columns": [{"name","type","missing","distinct","min","max",
 *    "mean"}], "validation": {"isValid","errors":[...],"warnings":[...]},
 *    "info": {"totalRows", "target", "task", and for a binary target "clickedOne", "ctr"},
 *    "preview": [{column: value}, ...]}
 * Issues are {"code","message","row","line","column","column_name"}. clickedOne counts the
 * positive class (the class that sorts last; for booleans the true word) and ctr is its
 * share of all rows in percent, rounded to 2 decimals. The caller owns *out. */
int ingest_summary_json(const struct ingest_result *r, json_t **out);

#endif
