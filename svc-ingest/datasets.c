/* GET/DELETE /api/v1/datasets[/{id}[/preview|/profile]]. */

#include "store/datasets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/numparse.h"
#include "data/profile.h"
#include "data/table.h"
#include "ingest_svc.h"

void reply_dataset_failure(struct svc_call *c, int rv, const char *id, const char *what)
{
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_errorf(c, API_DATASET_NOT_FOUND, json_pack("{s:s}", "id", id), "no dataset %.60s",
                         id);
    else
        svc_reply_failure(c, rv, what);
}

void handle_datasets_list(struct svc_call *c)
{
    long limit, offset;
    if (svc_query_long(c, "limit", 50, 1, 1000, &limit) != 0 ||
        svc_query_long(c, "offset", 0, 0, 1L << 40, &offset) != 0)
        return;
    json_t *out;
    int rv = datasets_list(svc_db(c), svc_project(c), limit, offset, &out);
    if (rv != 0) {
        svc_reply_failure(c, rv, "listing datasets");
        return;
    }
    svc_reply_json(c, 200, out);
}

void handle_datasets_get(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    json_t *out;
    int rv = datasets_get(svc_db(c), svc_project(c), id, &out);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "reading the dataset");
        return;
    }
    svc_reply_json(c, 200, out);
}

/* One row of a table as {column: value} with typed values. */
static json_t *row_json(const struct table *t, size_t r)
{
    json_t *o = json_object();
    for (size_t k = 0; k < t->ncols; k++) {
        const struct column *col = &t->cols[k];
        json_t *v;
        if (column_is_missing(col, r)) {
            v = json_null();
        } else if (col->storage == COL_DICT) {
            uint32_t code = col->codes[r];
            if (col->type == COL_BOOLEAN)
                v = json_boolean(code == 1);
            else
                v = json_stringn(strdict_str(&col->dict, code), strdict_len(&col->dict, code));
        } else if (col->type == COL_DATETIME) {
            char ts[40];
            numparse_format_datetime(ts, sizeof ts, col->f64[r]);
            v = json_string(ts);
        } else {
            v = jsonx_num(col->f64[r], col->is_integer);
        }
        json_object_set_new(o, col->name, v);
    }
    return o;
}

void handle_datasets_preview(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    long rows;
    if (svc_query_long(c, "rows", 10, 1, 1000, &rows) != 0)
        return;
    struct table t;
    memset(&t, 0, sizeof t);
    int rv = datasets_load(svc_db(c), svc_project(c), id, (size_t)rows, &t);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "reading the dataset");
        return;
    }
    table_summarize(&t);
    json_t *arr = json_array();
    for (size_t r = 0; r < t.nrows && r < (size_t)rows; r++)
        json_array_append_new(arr, row_json(&t, r));
    json_t *cols = json_array();
    for (size_t k = 0; k < t.ncols; k++)
        json_array_append_new(cols, json_pack("{s:s, s:s}", "name", t.cols[k].name, "type",
                                              col_type_name(t.cols[k].type)));
    table_free(&t);
    svc_reply_json(c, 200, json_pack("{s:s, s:o, s:o}", "id", id, "columns", cols, "rows", arr));
}

void handle_datasets_profile(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    const char *project = svc_project(c);
    char target[256];
    int rv = svc_query_text(c, "target", target, sizeof target);
    if (rv == AIOPS_EINVAL)
        return;
    int explicit_target = target[0] != '\0';
    json_t *meta;
    rv = datasets_get(svc_db(c), project, id, &meta);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "reading the dataset");
        return;
    }
    const char *stored_target = json_string_value(json_object_get(meta, "target"));
    int default_target = !explicit_target || (stored_target && strcmp(stored_target, target) == 0);
    if (!explicit_target && stored_target)
        snprintf(target, sizeof target, "%s", stored_target);
    json_decref(meta);
    json_t *profile = NULL;
    /* a dataset never changes: its profile for the stored target is computed once */
    if (default_target && datasets_get_profile(svc_db(c), project, id, &profile) == 0 &&
        profile != NULL) {
        svc_reply_json(c, 200, profile);
        return;
    }
    struct table t;
    memset(&t, 0, sizeof t);
    if ((rv = datasets_load(svc_db(c), project, id, 0, &t)) != 0) {
        reply_dataset_failure(c, rv, id, "reading the dataset");
        return;
    }
    long tcol = -1;
    if (explicit_target || stored_target) {
        tcol = table_find(&t, target);
        if (tcol < 0 && explicit_target) {
            table_free(&t);
            svc_reply_field(c, API_UNKNOWN_TARGET, "target",
                            "the dataset has no column named %.256s", target);
            return;
        }
    }
    table_summarize(&t);
    rv = profile_compute(&t, tcol, NULL, &profile);
    table_free(&t);
    if (rv != 0) {
        svc_reply_failure(c, rv, "profiling the dataset");
        return;
    }
    json_object_set_new(profile, "dataset_id", json_string(id));
    if (default_target)
        datasets_put_profile(svc_db(c), project, id, profile);
    svc_reply_json(c, 200, profile);
}

void handle_datasets_delete(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    const char *project = svc_project(c);
    int rv = datasets_delete(svc_db(c), project, id);
    if (rv != 0) {
        reply_dataset_failure(c, rv, id, "deleting the dataset");
        return;
    }
    svc_publish(svc_of(c), project, "/ws/datasets", "dataset_deleted",
                json_pack("{s:s}", "file_id", id));
    svc_reply_json(c, 200, json_pack("{s:s, s:b}", "id", id, "deleted", 1));
}
