/* aiops import-xgboost / shap -- explanations on local files, no server.
 *
 *   aiops import-xgboost MODEL.json --out MODEL
 *       reads an XGBoost JSON model (lib/ml/xgbimport.h) and writes it as our model file;
 *       prints {"model", "task", "features", "trees", "objective"}
 *   aiops shap MODEL DATA.csv [--out SHAP.csv] [--threads N]
 *       exact TreeSHAP values (lib/ml/treeshap.h) of a gbdt or rf model, one row per input
 *       row: one column per feature in the model's feature order, then bias; the values of
 *       a row sum to the raw output (the margin of boosted trees, before the sigmoid or
 *       softmax; a forest's probability of the positive class or its value). Multiclass
 *       models: a block of such columns per class, named FEATURE:CLASS and bias:CLASS.
 *       Binary forests: the positive class's (the class that sorts last). Other learners:
 *       Kernel SHAP (lib/ml/kernelshap.h) of the predicted probabilities or values, DATA
 *       summarised by k-means as the background; binary: the positive class's.
 *   aiops importance MODEL DATA.csv [--repeats N] [--seed S] [--threads T]
 *                    [--correlation pearson|spearman]
 *       permutation importance with p-values on DATA's labelled rows, and the features'
 *       correlation matrix (lib/ml/importance.h): {"rows", "score", "score_value",
 *       "repeats", "importance": [...], "correlation": {"features", "matrix", "method"}}
 *   aiops lime MODEL DATA.csv --row N [--class LABEL] [--samples N] [--seed S]
 *       LIME (lib/ml/lime.h) for data row N (0 = the first), bins learnt from DATA: the
 *       class explained (default: the positive class, or the predicted one), the model's and
 *       the local fit's predictions, and [{"feature", "condition", "weight"}] */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data/csv.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "data/ingest.h"
#include "ml/featureset.h"
#include "ml/importance.h"
#include "ml/kernelshap.h"
#include "ml/lime.h"
#include "ml/model.h"
#include "ml/treeshap.h"
#include "ml/xgbimport.h"

int cmd_import_xgboost(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-' && in == NULL)
            in = argv[i];
        else {
            in = NULL;
            break;
        }
    }
    if (in == NULL || out == NULL) {
        cli_error("import-xgboost", "usage: aiops import-xgboost MODEL.json --out MODEL");
        return 2;
    }
    struct model *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = xgb_import_file(in, &m, &err);
    if (rv != 0) {
        if (err.field[0] != '\0')
            cli_error("import-xgboost", "%s: %s (field %s)", in, err.message, err.field);
        else
            cli_error("import-xgboost", "%s: %s", in,
                      err.message[0] ? err.message : aiops_strerror(rv));
        return 1;
    }
    if ((rv = model_save_file(m, out)) != 0) {
        cli_error("import-xgboost", "%s: %s", out, aiops_strerror(rv));
        model_free(m);
        return 1;
    }
    json_t *imported = json_object_get(m->meta, "imported");
    json_t *summary = json_pack(
        "{s:s, s:s, s:I, s:I, s:O}", "model", out, "task", table_task_name(m->target.task),
        "features", (json_int_t)m->features.n, "trees",
        (json_int_t)json_integer_value(json_object_get(m->meta, "iterations")), "objective",
        json_object_get(imported, "objective") ? json_object_get(imported, "objective")
                                               : json_null());
    model_free(m);
    return summary ? cli_print_json(summary, 0) : 1;
}

/* The column name of value j (a feature, or nfeat: the bias) of output k. */
static void shap_column(struct buf *b, const struct model *m, size_t nout, size_t k, size_t j)
{
    const char *name = j < m->features.n ? m->features.f[j].name : "bias";
    if (nout == 1) {
        csv_put_field(b, name);
        return;
    }
    struct buf both = BUF_INIT;
    buf_printf(&both, "%s:%s", name, m->target.labels[k]);
    csv_put_field(b, both.data ? both.data : "");
    buf_free(&both);
}

int cmd_shap(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *out_path = NULL;
    long threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (cli_long_arg("shap", argv[++i], 0, 256, &threads,
                             "--threads must be 0 (every CPU) .. 256") != 0)
                return 2;
        } else if (!cli_operand(argv[i], &model_path, &data)) {
            model_path = NULL;
            break;
        }
    }
    if (model_path == NULL || data == NULL) {
        cli_error("shap", "usage: aiops shap MODEL DATA.csv [--out SHAP.csv] [--threads N]");
        return 2;
    }
    struct model *m;
    struct ingest_result r;
    struct fmatrix x = {0};
    size_t unseen = 0, type_errors = 0;
    if (cli_load_model_matrix("shap", model_path, data, NULL, &m, &r, &x, &type_errors, &unseen) != 0)
        return 1;
    int status = 1, rv = 0;
    double *phi = NULL;
    struct buf b = BUF_INIT;
    const int exact = treeshap_supports(m);
    const size_t n = x.nrows, nfeat = m->features.n;
    const size_t nout = exact ? treeshap_model_outputs(m) : model_outputs(m);
    size_t got = 0;
    if ((phi = malloc((n ? n : 1) * nout * (nfeat + 1) * sizeof *phi)) == NULL) {
        cli_error("shap", "%s", aiops_strerror(AIOPS_ENOMEM));
        goto out;
    }
    if (exact) {
        rv = treeshap_model(m, &x, (int)threads, phi, &got);
    } else if (n > 0) {
        /* other learners: Kernel SHAP against DATA summarised by k-means */
        struct kshap_background bg = {0};
        double *row = malloc(nfeat * sizeof *row);
        rv = row ? kshap_background_kmeans(&x, KSHAP_DEFAULT_BACKGROUND, 0, &bg) : AIOPS_ENOMEM;
        for (size_t i = 0; rv == 0 && i < n; i++) {
            for (size_t j = 0; j < nfeat; j++)
                row[j] = x.x[j * n + i];
            rv = kshap_explain(m, &bg, row, 0, i, (int)threads, phi + i * nout * (nfeat + 1));
        }
        kshap_background_free(&bg);
        free(row);
    }
    if (rv != 0) {
        cli_error("shap", "%s", aiops_strerror(rv));
        goto out;
    }
    cli_warn_missing("shap", unseen, type_errors);
    /* a binary forest explains both classes' probabilities, which mirror each other: the
     * positive class's is the one shown, as predict shows its probability */
    size_t k0 = 0, kshown = nout;
    if (m->target.task == TASK_BINARY && nout == 2) {
        k0 = 1;
        kshown = 1;
    }
    for (size_t k = 0; k < kshown; k++)
        for (size_t j = 0; j <= nfeat; j++) {
            if (k + j > 0)
                buf_putc(&b, ',');
            shap_column(&b, m, kshown, k0 + k, j);
        }
    buf_putc(&b, '\n');
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < kshown; k++) {
            const double *p = phi + (i * nout + k0 + k) * (nfeat + 1);
            for (size_t j = 0; j <= nfeat; j++) {
                char num[40];
                fmt_double_shortest(num, sizeof num, p[j]);
                if (k + j > 0)
                    buf_putc(&b, ',');
                buf_puts(&b, num);
            }
        }
        buf_putc(&b, '\n');
    }
    if (b.data == NULL) {
        cli_error("shap", "out of memory");
        goto out;
    }
    FILE *f = out_path ? fopen(out_path, "wb") : stdout;
    if (f == NULL) {
        cli_error("shap", "cannot write %s", out_path);
        goto out;
    }
    if (fwrite(b.data, 1, b.len, f) != b.len)
        cli_error("shap", "write failed");
    else
        status = 0;
    if (out_path != NULL && fclose(f) != 0)
        status = 1;
out:
    buf_free(&b);
    free(phi);
    fmatrix_free(&x);
    model_free(m);
    ingest_result_free(&r);
    return status;
}

/* The rows of r's table with a target the model knows: their matrix and targets. 0, or 1
 * after saying why. */
static int labelled_rows(const char *verb, const char *data, const struct model *m,
                         const struct table *t, struct fmatrix *x, double **y_out)
{
    long col = table_find(t, m->target.name);
    if (col < 0) {
        cli_error(verb, "%s has no column %s (the model's target)", data, m->target.name);
        return 1;
    }
    double *all = malloc((t->nrows ? t->nrows : 1) * sizeof *all);
    size_t *rows = malloc((t->nrows ? t->nrows : 1) * sizeof *rows);
    size_t unknown = 0, n = 0;
    if (all == NULL || rows == NULL || target_apply(&m->target, t, col, all, &unknown) != 0) {
        cli_error(verb, "out of memory");
        free(all);
        free(rows);
        return 1;
    }
    for (size_t i = 0; i < t->nrows; i++)
        if (!isnan(all[i])) {
            all[n] = all[i];
            rows[n++] = i;
        }
    struct aiops_error missing = AIOPS_ERROR_INIT;
    int rv = n == 0 ? AIOPS_EINVAL
                    : features_matrix_rows(&m->features, t, rows, n, x, &missing, NULL, NULL);
    free(rows);
    if (rv != 0) {
        if (rv == AIOPS_ENOTFOUND)
            cli_error(verb, "%s has no column %s (a feature of the model)", data, missing.field);
        else if (n == 0)
            cli_error(verb, "%s has no row with a target the model knows", data);
        else
            cli_error(verb, "%s", aiops_strerror(rv));
        free(all);
        return 1;
    }
    *y_out = all;
    return 0;
}

int cmd_importance(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *method = "pearson";
    long repeats = IMPORTANCE_DEFAULT_REPEATS, seed = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
            if (cli_long_arg("importance", argv[++i], 1, IMPORTANCE_MAX_REPEATS, &repeats,
                             "--repeats must be 1..%d", IMPORTANCE_MAX_REPEATS) != 0)
                return 2;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (cli_long_arg("importance", argv[++i], 0, LONG_MAX, &seed,
                             "--seed must be a whole number >= 0") != 0)
                return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (cli_long_arg("importance", argv[++i], 0, 256, &threads,
                             "--threads must be 0 (every CPU) .. 256") != 0)
                return 2;
        } else if (strcmp(argv[i], "--correlation") == 0 && i + 1 < argc) {
            method = argv[++i];
        } else if (!cli_operand(argv[i], &model_path, &data)) {
            model_path = NULL;
            break;
        }
    }
    if (model_path == NULL || data == NULL ||
        (strcmp(method, "pearson") != 0 && strcmp(method, "spearman") != 0)) {
        cli_error("importance", "usage: aiops importance MODEL DATA.csv [--repeats N] [--seed S] "
                                "[--threads T] [--correlation pearson|spearman]");
        return 2;
    }
    struct model *m;
    struct ingest_result r;
    if (cli_load_model_data("importance", model_path, data, NULL, &m, &r) != 0)
        return 1;
    struct fmatrix x = {0};
    double *y = NULL, score = NAN;
    json_t *list = NULL, *corr = NULL;
    int status = 1;
    if (labelled_rows("importance", data, m, &r.table, &x, &y) != 0)
        goto out;
    int rv = importance_score(m, &x, y, (int)threads, &score);
    if (rv == 0)
        rv =
            importance_list_json(m, &x, y, (int)repeats, (uint64_t)seed, (int)threads, NULL, &list);
    if (rv == 0)
        rv = importance_correlation_json(m, &x, method, &corr);
    if (rv != 0) {
        cli_error("importance", "%s", aiops_strerror(rv));
        goto out;
    }
    json_t *doc = json_pack("{s:I, s:s, s:o, s:I, s:o, s:o}", "rows", (json_int_t)x.nrows, "score",
                            m->target.task == TASK_REGRESSION ? "r2" : "accuracy", "score_value",
                            jsonx_num(score, 0), "repeats", (json_int_t)repeats, "importance", list,
                            "correlation", corr);
    list = corr = NULL;
    status = doc ? cli_print_json(doc, 0) : 1;
out:
    json_decref(list);
    json_decref(corr);
    free(y);
    fmatrix_free(&x);
    model_free(m);
    ingest_result_free(&r);
    return status;
}

int cmd_lime(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *label = NULL;
    long row = -1, samples = 0, seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--row") == 0 && i + 1 < argc) {
            if (cli_long_arg("lime", argv[++i], 0, LONG_MAX, &row,
                             "--row must be a row number >= 0 (the first data row is 0)") != 0)
                return 2;
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            if (cli_long_arg("lime", argv[++i], 2, LIME_MAX_SAMPLES, &samples,
                             "--samples must be 2..%d", LIME_MAX_SAMPLES) != 0)
                return 2;
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (cli_long_arg("lime", argv[++i], 0, LONG_MAX, &seed,
                             "--seed must be a whole number >= 0") != 0)
                return 2;
        } else if (strcmp(argv[i], "--class") == 0 && i + 1 < argc) {
            label = argv[++i];
        } else if (!cli_operand(argv[i], &model_path, &data)) {
            model_path = NULL;
            break;
        }
    }
    if (model_path == NULL || data == NULL || row < 0) {
        cli_error("lime", "usage: aiops lime MODEL DATA.csv --row N [--class LABEL] "
                          "[--samples N] [--seed S]");
        return 2;
    }
    struct model *m;
    struct ingest_result r;
    struct fmatrix x = {0};
    if (cli_load_model_matrix("lime", model_path, data, NULL, &m, &r, &x, NULL, NULL) != 0)
        return 1;
    int status = 1, rv = 0;
    struct lime_explainer e = {0};
    double *values = NULL, *pred = NULL;
    if ((size_t)row >= x.nrows) {
        cli_error("lime", "--row %ld: %s has %zu data rows (0 .. %zu)", row, data, x.nrows,
                  x.nrows ? x.nrows - 1 : 0);
        goto out;
    }
    const size_t d = m->features.n, k = model_outputs(m);
    values = malloc(d * sizeof *values);
    pred = malloc(k * sizeof *pred);
    if (values == NULL || pred == NULL) {
        cli_error("lime", "%s", aiops_strerror(AIOPS_ENOMEM));
        goto out;
    }
    for (size_t j = 0; j < d; j++)
        values[j] = x.x[j * x.nrows + (size_t)row];
    /* the class explained: the one asked for, the positive class of a binary task, or the
     * class predicted */
    size_t output = 0;
    if (m->target.task != TASK_REGRESSION) {
        struct fmatrix one = x;
        one.nrows = 1;
        one.x = values;
        if ((rv = model_predict(m, &one, pred)) != 0) {
            cli_error("lime", "%s", aiops_strerror(rv));
            goto out;
        }
        if (label != NULL) {
            size_t c = 0;
            while (c < m->target.nclasses && strcmp(m->target.labels[c], label) != 0)
                c++;
            if (c == m->target.nclasses) {
                cli_error("lime", "--class %s is not a class of the model", label);
                goto out;
            }
            output = c;
        } else if (m->target.task == TASK_BINARY) {
            output = 1;
        } else {
            for (size_t c = 1; c < k; c++)
                if (pred[c] > pred[output])
                    output = c;
        }
    }
    struct lime_result res;
    if ((rv = lime_fit(&x, &e)) != 0 ||
        (rv = lime_explain(m, &e, values, output, (size_t)samples, (uint64_t)seed, 0, &res)) != 0) {
        cli_error("lime", "%s", aiops_strerror(rv));
        goto out;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < res.nused; i++) {
        char cond[512];
        size_t j = res.feature[i];
        lime_condition(&e, &m->features, j, values[j], cond, sizeof cond);
        json_array_append_new(list,
                              json_pack("{s:s, s:s, s:o}", "feature", m->features.f[j].name,
                                        "condition", cond, "weight", jsonx_num(res.weight[i], 0)));
    }
    json_t *doc = json_pack(
        "{s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:o}", "row", (json_int_t)row, "class",
        m->target.task == TASK_REGRESSION ? json_null() : json_string(m->target.labels[output]),
        "prediction", jsonx_num(res.model_pred, 0), "local_prediction",
        jsonx_num(res.local_pred, 0), "intercept", jsonx_num(res.intercept, 0), "score",
        jsonx_num(res.score, 0), "samples", (json_int_t)(samples ? samples : LIME_DEFAULT_SAMPLES),
        "explanation", list);
    status = doc ? cli_print_json(doc, 0) : 1;
out:
    lime_free(&e);
    free(values);
    free(pred);
    fmatrix_free(&x);
    model_free(m);
    ingest_result_free(&r);
    return status;
}
