/* instances.c -- prediction rows from JSON text straight into a feature matrix. */

#include "ml/instances.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jscan.h"

struct row_reader {
    const struct feature_set *fs;
    double *v; /* row-major: F values per row */
    size_t nrows, cap;
    uint32_t *seen; /* per feature: 1 + the last row that set it (duplicate keys) */
    json_t *errors; /* [{"row", "column", "reason"}], at most INSTANCES_MAX_ERRORS */
    size_t nerrors;
};

static void row_error(struct row_reader *rr, size_t row, const char *col, const char *reason)
{
    if (rr->nerrors++ < INSTANCES_MAX_ERRORS)
        json_array_append_new(rr->errors, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)row,
                                                    "column", col, "reason", reason));
}

/* A new row of missing values. NULL (and the scan stopped) when out of memory. */
static double *add_row(struct jscan *js, struct row_reader *rr)
{
    size_t F = rr->fs->n;
    if (rr->nrows == rr->cap) {
        size_t cap = rr->cap ? rr->cap * 2 : 16;
        double *nv = realloc(rr->v, cap * (F ? F : 1) * sizeof *nv);
        if (nv == NULL) {
            jscan_fail(js, "out of memory");
            return NULL;
        }
        rr->v = nv;
        rr->cap = cap;
    }
    double *dst = rr->v + rr->nrows++ * F;
    for (size_t j = 0; j < F; j++)
        dst[j] = NAN;
    return dst;
}

/* One row (the scanner is just past its '{'). -1 on a syntax error or out of memory. */
static int read_row(struct jscan *js, struct row_reader *rr)
{
    size_t F = rr->fs->n, row = rr->nrows;
    double *dst = add_row(js, rr);
    if (dst == NULL)
        return -1;
    size_t guess = 0; /* clients usually send the columns in the model's order */
    for (;;) {
        enum jtok t = jscan_next(js);
        if (t == JT_OBJ_END)
            return 0;
        if (t != JT_KEY)
            return -1;
        long j = -1;
        const struct strdict *names = &rr->fs->names;
        if (guess < F && strdict_len(names, (uint32_t)guess) == js->len &&
            memcmp(strdict_str(names, (uint32_t)guess), js->s, js->len) == 0)
            j = (long)guess;
        if (j < 0)
            j = features_find(rr->fs, js->s, js->len);
        t = jscan_next(js);
        if (j < 0) { /* not a feature: ignored */
            if (jscan_skip(js, t) != 0)
                return -1;
            continue;
        }
        guess = (size_t)j + 1;
        if (rr->seen[j] == row + 1) {
            jscan_fail(js, "duplicate object key");
            return -1;
        }
        rr->seen[j] = (uint32_t)(row + 1);
        const struct feature *f = &rr->fs->f[j];
        const char *reason = NULL;
        switch (t) {
        case JT_NULL:
            break;
        case JT_NUMBER:
            dst[j] = feature_value_json(f, JV_NUMBER, js->num, NULL, 0, &reason);
            break;
        case JT_STRING:
            dst[j] = feature_value_json(f, JV_STRING, 0, js->s, js->len, &reason);
            break;
        case JT_TRUE:
        case JT_FALSE:
            dst[j] = feature_value_json(f, t == JT_TRUE ? JV_TRUE : JV_FALSE, 0, NULL, 0, &reason);
            break;
        case JT_OBJ_BEGIN:
        case JT_ARR_BEGIN:
            dst[j] = feature_value_json(f, JV_CONTAINER, 0, NULL, 0, &reason);
            if (jscan_skip(js, t) != 0)
                return -1;
            break;
        default:
            return -1;
        }
        if (reason)
            row_error(rr, row, f->name, reason);
    }
}

/* The text features' vectors of a body the scanner has accepted: the texts are read again
 * through jansson (a model with text features spends its time featurizing, not parsing). */
static int text_block(const struct feature_set *fs, const void *body, size_t len, struct fmatrix *x)
{
    json_t *root =
        json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
    json_t *rows = json_object_get(root, "instances");
    if (rows == NULL)
        rows = json_object_get(root, "instance");
    json_t *wrapped = NULL;
    if (json_is_object(rows)) {
        wrapped = json_array();
        json_array_append(wrapped, rows);
        rows = wrapped;
    }
    int rv = json_is_array(rows) && json_array_size(rows) == x->nrows
                 ? features_text_block_json(fs, rows, x)
                 : AIOPS_ENOMEM; /* the scanner accepted it: only memory can fail here */
    json_decref(wrapped);
    json_decref(root);
    return rv;
}

int instances_read(const struct feature_set *fs, const void *body, size_t len, struct fmatrix *x,
                   struct aiops_error *err, json_t **row_errors)
{
    memset(x, 0, sizeof *x);
    aiops_error_clear(err);
    if (row_errors != NULL)
        *row_errors = NULL;
    struct row_reader rr = {.fs = fs, .errors = json_array()};
    rr.seen = calloc(fs->n ? fs->n : 1, sizeof *rr.seen);
    if (rr.seen == NULL || rr.errors == NULL) {
        free(rr.seen);
        json_decref(rr.errors);
        return AIOPS_ENOMEM;
    }
    struct jscan js;
    jscan_init(&js, body, len);
    int found = 0, shape_ok = 1, rv;
    enum jtok t = jscan_next(&js);
    if (t != JT_OBJ_BEGIN && t != JT_ERROR)
        jscan_fail(&js, "the body must be a JSON object");
    while (t != JT_ERROR && !js.reason) {
        t = jscan_next(&js);
        if (t == JT_OBJ_END)
            break;
        if (t != JT_KEY)
            break;
        int is_rows = jscan_is(&js, "instances") || jscan_is(&js, "instance");
        t = jscan_next(&js);
        if (!is_rows) {
            jscan_skip(&js, t);
            continue;
        }
        if (found++) {
            jscan_fail(&js, "duplicate object key");
            break;
        }
        if (t == JT_OBJ_BEGIN) {
            read_row(&js, &rr);
        } else if (t == JT_ARR_BEGIN) {
            while ((t = jscan_next(&js)) != JT_ARR_END && t != JT_ERROR) {
                if (t == JT_OBJ_BEGIN) {
                    if (read_row(&js, &rr) != 0)
                        break;
                } else {
                    row_error(&rr, rr.nrows, "", "each instance must be a JSON object");
                    /* a row all the same, so that later rows keep their numbers */
                    if (add_row(&js, &rr) == NULL || jscan_skip(&js, t) != 0)
                        break;
                }
            }
        } else {
            shape_ok = 0;
            jscan_skip(&js, t);
        }
    }
    if (!js.reason && jscan_next(&js) != JT_END && !js.reason)
        jscan_fail(&js, "end of file expected");
    if (js.reason && strcmp(js.reason, "out of memory") == 0) {
        rv = AIOPS_ENOMEM;
    } else if (js.reason) {
        jscan_error(&js, err);
        rv = AIOPS_EPARSE;
    } else if (!found || !shape_ok || rr.nrows == 0) {
        rv = aiops_error_set(err, AIOPS_EINVAL, "instances",
                             "instances must be a non-empty array of rows");
    } else if (rr.nerrors > 0) {
        rv = rr.nerrors == 1
                 ? aiops_error_set(err, AIOPS_EINVAL, "instances",
                                   "a value of the instances does not fit the model's features")
                 : aiops_error_set(err, AIOPS_EINVAL, "instances",
                                   "%zu values of the instances do not fit the model's features",
                                   rr.nerrors);
        if (row_errors != NULL) {
            *row_errors = rr.errors;
            rr.errors = NULL;
        }
    } else if (features_matrix_alloc(fs, rr.nrows, x) != 0) {
        rv = AIOPS_ENOMEM;
    } else {
        size_t n = rr.nrows, F = fs->n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < F; j++)
                x->x[j * n + i] = rr.v[i * F + j];
        rv = features_have_text(fs) ? text_block(fs, body, len, x) : 0;
        if (rv != 0)
            fmatrix_free(x);
    }
    jscan_free(&js);
    json_decref(rr.errors);
    free(rr.seen);
    free(rr.v);
    return rv;
}
