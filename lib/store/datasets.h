/* datasets.h -- datasets in PostgreSQL: metadata in `datasets`, values in `dataset_chunks`
 * (the columnar form of lib/data/colstore.h). Shared by every service that reads data.
 *
 * Every function is scoped to a project: a dataset of another project is "not found". A
 * stored dataset's values are immutable; it can only be deleted whole. Its feature
 * descriptions (`dataset_descriptions`, migration 0011) are the one part that is replaced. */
#ifndef AIOPS_DATASETS_H
#define AIOPS_DATASETS_H

#include <jansson.h>
#include <stdint.h>

#include "data/ingest.h"
#include "data/table.h"
#include "store/db.h"

/* The dataset of project with this content hash read with these parse options (the
 * uploader's text of them, "" for the default reading): AIOPS_OK with its id (37 bytes) and
 * its stored upload summary (*summary, caller owns); AIOPS_ENOTFOUND. */
int datasets_find_by_hash(struct db *db, const char *project, const uint8_t hash[32],
                          const char *parse_options, char id[37], json_t **summary);

/* Stores a parsed upload (r->table, already summarised) under id in one transaction:
 * metadata, schema, summary and every chunk, or nothing. When the same content with the
 * same parse options was stored concurrently, returns AIOPS_EEXIST with that dataset's id
 * in existing_id. */
int datasets_store(struct db *db, const char *project, const char *id, const char *filename,
                   const uint8_t hash[32], const char *parse_options, size_t size_bytes,
                   const struct ingest_result *r, json_t *summary, char existing_id[37]);

/* The metadata of one dataset as the API shows it: {"id", "filename", "rows", "columns",
 * "target", "size_bytes", "delimiter", "content_sha256", "created_at", "schema": [...]}.
 * AIOPS_ENOTFOUND when absent (or id is not a UUID). */
int datasets_get(struct db *db, const char *project, const char *id, json_t **out);

/* Reads a dataset back into *t (caller table_free()s it). rows_limit > 0 reads only the
 * first chunks needed for that many rows (t->nrows may then be less than the dataset's).
 * AIOPS_ENOTFOUND, AIOPS_ECORRUPT when stored bytes fail their checks. */
int datasets_load(struct db *db, const char *project, const char *id, size_t rows_limit,
                  struct table *t);

/* A page of datasets, newest first: {"datasets": [...], "total", "limit", "offset"}. */
int datasets_list(struct db *db, const char *project, long limit, long offset, json_t **out);

/* Deletes a dataset and its chunks. AIOPS_ENOTFOUND when absent. */
int datasets_delete(struct db *db, const char *project, const char *id);

/* The cached profile for the stored target (NULL when not computed yet) and storing it. */
int datasets_get_profile(struct db *db, const char *project, const char *id, json_t **profile);
int datasets_put_profile(struct db *db, const char *project, const char *id, json_t *profile);

/* The feature descriptions of a dataset, {"feature": "description", ...} in the order they
 * were given ({} when none): AIOPS_OK with *out (caller owns it), AIOPS_ENOTFOUND. */
int datasets_get_descriptions(struct db *db, const char *project, const char *id, json_t **out);
/* Replaces the dataset's descriptions with `descriptions` (an object of strings, checked by
 * the caller; {} removes them all) in one transaction: AIOPS_OK, AIOPS_ENOTFOUND. */
int datasets_put_descriptions(struct db *db, const char *project, const char *id,
                              const json_t *descriptions);
/* Sets "description" of every {"feature", ...} of list from descriptions (null for a
 * feature without one): how every answer that lists features shows them. */
void datasets_describe(json_t *list, const json_t *descriptions);

#endif
