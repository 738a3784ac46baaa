/* descriptions.h -- feature descriptions: what each feature (a column of a dataset) means in
 * the user's words (Korean text kept), as {"feature": "description", ...} in the order given.
 * The one reader of a `feature,description` CSV and the one check of a pair, for the API
 * (svc-ingest, PUT /api/v1/datasets/{id}/descriptions) and the command line (`aiops report
 * --descriptions`). */
#ifndef AIOPS_DESCRIPTIONS_H
#define AIOPS_DESCRIPTIONS_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"
#include "data/csv.h"

#define DESCRIPTIONS_MAX 10000
#define DESCRIPTION_MAX_BYTES 2000

/* How a descriptions CSV is read: comma-separated, at most 3 fields stored a record (so
 * that a third is seen). */
extern const struct csv_config descriptions_csv;

/* Checks one pair and adds it to set: AIOPS_OK; AIOPS_EINVAL with err (its field the
 * feature, or "feature" when that is empty; its message what is wrong) when the feature is
 * empty, not a key of columns (NULL: any name is taken), already in set or one over
 * DESCRIPTIONS_MAX, or the text is empty or over DESCRIPTION_MAX_BYTES; AIOPS_ENOMEM. text
 * (len bytes) must be valid UTF-8. */
int descriptions_add(json_t *set, const json_t *columns, const char *feature, const char *text,
                     size_t len, struct aiops_error *err);

/* Reads a feature,description CSV from s (opened with descriptions_csv) into set, each pair
 * through descriptions_add: the first record must be the header `feature,description`;
 * spaces and tabs around a field are not part of it; the text must be UTF-8 (a byte-order
 * mark is skipped by the stream). A header alone gives nothing. AIOPS_OK; on failure err
 * has the line (and offset) -- AIOPS_EPARSE, err->code the API error it is
 * ("invalid_csv": empty input, no header, not UTF-8; "ragged_row": not two fields;
 * "unterminated_quote", "field_too_long"); AIOPS_EINVAL from descriptions_add; AIOPS_EIO,
 * AIOPS_ENOMEM. */
int descriptions_read_csv(struct csv_stream *s, const json_t *columns, json_t *set,
                          struct aiops_error *err);

#endif
