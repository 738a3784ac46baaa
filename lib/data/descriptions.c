#include "data/descriptions.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/encode.h"

const struct csv_config descriptions_csv = {.delimiter = ',', .max_fields = 3};

int descriptions_add(json_t *set, const json_t *columns, const char *feature, const char *text,
                     size_t len, struct aiops_error *err)
{
    if (feature[0] == '\0')
        return aiops_error_set(err, AIOPS_EINVAL, "feature", "the feature name is empty");
    if (columns != NULL && json_object_get(columns, feature) == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, feature, "the dataset has no column named %.200s",
                               feature);
    if (json_object_get(set, feature) != NULL)
        return aiops_error_set(err, AIOPS_EINVAL, feature, "%.200s is described twice", feature);
    if (json_object_size(set) >= DESCRIPTIONS_MAX)
        return aiops_error_set(err, AIOPS_EINVAL, feature, "at most %d features can be described",
                               DESCRIPTIONS_MAX);
    if (len == 0 || len > DESCRIPTION_MAX_BYTES)
        return aiops_error_set(err, AIOPS_EINVAL, feature,
                               "the description of %.200s must be 1 to %d bytes, not %zu", feature,
                               DESCRIPTION_MAX_BYTES, len);
    json_t *s = json_stringn(text, len);
    if (s == NULL || json_object_set_new(set, feature, s) != 0)
        return AIOPS_ENOMEM;
    return AIOPS_OK;
}

/* A field with the spaces and tabs around it taken away. */
static void trimmed(const struct csv_field *f, const char **p, size_t *len)
{
    const char *s = f->p, *e = f->p + f->len;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *p = s;
    *len = (size_t)(e - s);
}

static int place(struct aiops_error *err, int rv, const char *code, uint64_t line, uint64_t offset)
{
    if (err != NULL) {
        err->code = code;
        err->line = (long)line;
        err->offset = (long)offset;
    }
    return rv;
}

/* One record: the header (the first) or a pair. */
static int read_record(const struct csv_record *rec, const json_t *columns, json_t *set,
                       struct aiops_error *err)
{
    if (rec->nfields != 2)
        return place(err,
                     aiops_error_set(err, AIOPS_EPARSE, NULL,
                                     "line %llu has %zu fields; each line is feature,description",
                                     (unsigned long long)rec->line, rec->nfields),
                     "ragged_row", rec->line, rec->offset);
    for (size_t k = 0; rec->maybe_high && k < 2; k++) {
        size_t bad;
        if (!utf8_valid(rec->fields[k].p, rec->fields[k].len, &bad))
            return place(err,
                         aiops_error_set(err, AIOPS_EPARSE, NULL,
                                         "line %llu is not valid UTF-8 (save the file as UTF-8)",
                                         (unsigned long long)rec->line),
                         "invalid_csv", rec->line, rec->offset + rec->fields[k].raw + bad);
    }
    const char *f, *d;
    size_t flen, dlen;
    trimmed(&rec->fields[0], &f, &flen);
    trimmed(&rec->fields[1], &d, &dlen);
    if (rec->number == 1) {
        if (flen == 7 && strncasecmp(f, "feature", 7) == 0 && dlen == 11 &&
            strncasecmp(d, "description", 11) == 0)
            return AIOPS_OK;
        return place(err,
                     aiops_error_set(err, AIOPS_EPARSE, NULL,
                                     "the first line must be the header feature,description"),
                     "invalid_csv", rec->line, rec->offset);
    }
    char *feature = strndup(f, flen);
    if (feature == NULL)
        return AIOPS_ENOMEM;
    int rv = descriptions_add(set, columns, feature, d, dlen, err);
    free(feature);
    return rv == AIOPS_EINVAL ? place(err, rv, NULL, rec->line, rec->offset) : rv;
}

int descriptions_read_csv(struct csv_stream *s, const json_t *columns, json_t *set,
                          struct aiops_error *err)
{
    aiops_error_clear(err);
    struct csv_record rec;
    int got = 0, rv;
    while ((rv = csv_stream_next(s, &rec, &got)) == 0 && got)
        if ((rv = read_record(&rec, columns, set, err)) != 0)
            return rv;
    if (rv == AIOPS_EPARSE) {
        const int quote = s->rd.err == CSV_ERR_UNTERMINATED_QUOTE;
        aiops_error_set(err, rv, NULL,
                        quote ? "a quoted field is not closed" : "a field is too long");
        return place(err, rv, quote ? "unterminated_quote" : "field_too_long", s->rd.err_line,
                     s->rd.err_pos);
    }
    if (rv == 0 && s->rd.records == 0)
        return place(err,
                     aiops_error_set(err, AIOPS_EPARSE, NULL,
                                     "the CSV is empty: send the header feature,description and "
                                     "a line per feature"),
                     "invalid_csv", 0, 0);
    return rv;
}
