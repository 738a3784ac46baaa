/* sentiment.c -- see sentiment.h. Texts are scored through the model's own feature set, as
 * JSON rows {"<column>": "<text>"} would be, so the shipped model is read exactly as any
 * model the suite trains. */
#include "ml/sentiment.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/encode.h"
#include "ml/model.h"

struct sentiment_model {
    struct model *model;
    size_t text_feature;  /* index of the text feature */
    double star_value[5]; /* the star count of each class (labels "1" .. "5") */
};

void sentiment_model_free(struct sentiment_model *m)
{
    if (m == NULL)
        return;
    model_free(m->model);
    free(m);
}

const char *sentiment_model_column(const struct sentiment_model *m)
{
    return m->model->features.f[m->text_feature].name;
}

const char *sentiment_label(double overall)
{
    return overall < 2.5 ? "부정" : overall < 3.5 ? "중립" : "긍정";
}

/* The directory of the running program, into dir[cap]; 0 on failure. */
static int exe_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0)
        return 0;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    return 1;
}

static int file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

static int check_model(struct sentiment_model *s, struct aiops_error *err)
{
    const struct model *m = s->model;
    if (m->target.nclasses != 5)
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "the sentiment model must have 5 classes, not %zu",
                               m->target.nclasses);
    for (size_t k = 0; k < 5; k++) {
        char *end;
        s->star_value[k] = strtod(m->target.labels[k], &end);
        if (*end != '\0' || s->star_value[k] != (double)(k + 1))
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "the sentiment model's classes must be 1 .. 5");
    }
    size_t ntext = 0;
    for (size_t j = 0; j < m->features.n; j++)
        if (m->features.f[j].kind == FEAT_TEXT) {
            s->text_feature = j;
            ntext++;
        }
    if (ntext != 1 || m->features.n != 1)
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "the sentiment model must read exactly one text column");
    return 0;
}

int sentiment_model_load(const char *path, struct sentiment_model **out, struct aiops_error *err)
{
    *out = NULL;
    char found[PATH_MAX];
    const char *env = getenv("AIOPS_SENTIMENT_MODEL");
    if (path == NULL && env != NULL && *env != '\0')
        path = env;
    if (path == NULL) {
        char dir[PATH_MAX - 64];
        if (exe_dir(dir, sizeof dir)) {
            snprintf(found, sizeof found, "%s/../models/%s", dir, SENTIMENT_MODEL_FILE);
            if (file_exists(found))
                path = found;
        }
    }
    if (path == NULL) {
        snprintf(found, sizeof found, "models/%s", SENTIMENT_MODEL_FILE);
        if (file_exists(found))
            path = found;
    }
    if (path == NULL || !file_exists(path))
        return aiops_error_set(err, AIOPS_ENOTFOUND, NULL, "no sentiment model (%s) found",
                               path ? path : SENTIMENT_MODEL_FILE);
    struct sentiment_model *s = calloc(1, sizeof *s);
    if (s == NULL)
        return AIOPS_ENOMEM;
    int rv = model_load_file(path, &s->model, err);
    if (rv == 0)
        rv = check_model(s, err);
    if (rv != 0) {
        sentiment_model_free(s);
        return rv;
    }
    *out = s;
    return 0;
}

int sentiment_score(const struct sentiment_model *m, const char *const *texts, const size_t *lens,
                    size_t n, struct sentiment *out)
{
    if (n == 0)
        return 0;
    json_t *rows = json_array();
    int rv = rows ? 0 : AIOPS_ENOMEM;
    const char *col = sentiment_model_column(m);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        json_t *row = json_object();
        json_t *v = texts[i] != NULL && utf8_valid(texts[i], lens[i], NULL)
                        ? json_stringn_nocheck(texts[i], lens[i])
                        : json_null();
        if (row == NULL || v == NULL || json_object_set_new(row, col, v) != 0 ||
            json_array_append_new(rows, row) != 0)
            rv = AIOPS_ENOMEM;
    }
    struct fmatrix x = {0};
    json_t *errs = NULL;
    double *prob = NULL;
    if (rv == 0 && (rv = features_matrix_json(&m->model->features, rows, &x, &errs)) == 0 &&
        (prob = malloc(n * 5 * sizeof *prob)) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0)
        rv = model_predict(m->model, &x, prob);
    for (size_t i = 0; rv == 0 && i < n; i++) {
        double e = 0;
        for (size_t k = 0; k < 5; k++) {
            out[i].star[k] = prob[i * 5 + k];
            e += m->star_value[k] * prob[i * 5 + k];
        }
        out[i].overall = e;
        out[i].label = sentiment_label(e);
    }
    free(prob);
    json_decref(errs);
    fmatrix_free(&x);
    json_decref(rows);
    return rv;
}
