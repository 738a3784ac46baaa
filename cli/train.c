/* aiops train / predict / eval -- training and scoring on local files, no server.
 *
 *   aiops train DATA.csv --target COL [--model gbdt|rf|linear] [--valid VALID.csv]
 *               [--param NAME=VALUE]... [--quoting csv|none] --out MODEL
 *       last line of stdout: {"model", "task", "train_seconds", "metrics" (on VALID)}
 *   aiops train [--model NAME] --help
 *       the learners and their parameters (of one learner with --model), from their tables
 *   aiops predict MODEL DATA.csv [--out PRED.csv] [--quoting csv|none]
 *       CSV: prediction,probability (binary: of the positive class, the class that sorts
 *       last) | prediction,p_<class>... (multiclass) | prediction (regression)
 *   aiops eval MODEL DATA.csv [--quoting csv|none]
 *       {"auc","accuracy","f1","logloss"} (+"macro_f1" multiclass) | {"rmse","mae","r2"}
 *
 * --quoting none reads a '"' in DATA (and VALID) as an ordinary character, as Python's
 * csv.QUOTE_NONE does; the default, csv, is CSV quoting as pandas reads it. */

#include "ml/train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "data/csv.h"
#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "data/ingest.h"
#include "ml/featureset.h"
#include "ml/model.h"

static int read_csv(const char *verb, const char *path, const struct ingest_options *read,
                    struct ingest_result *r)
{
    int rv = ingest_csv_file(path, read, r);
    if (rv != 0) {
        cli_error(verb, "cannot read %s: %s", path, aiops_strerror(rv));
        return 1;
    }
    if (r->n_errors > 0) {
        for (size_t i = 0; i < r->n_issues; i++)
            if (r->issues[i].severity == ISSUE_ERROR)
                cli_error(verb, "%s: %s", path, r->issues[i].message);
        return 1;
    }
    return 0;
}

int cli_quoting_arg(const char *verb, const char *value, struct ingest_options *read)
{
    if (ingest_parse_quoting(value, &read->no_quoting) == 0)
        return 0;
    cli_error(verb, "--quoting must be csv or none, not \"%s\"", value);
    return 2;
}

/* --- help: the learners' tables as text ---------------------------------------------------- */

static const char train_usage[] =
    "usage: aiops train DATA.csv --target COL [--model NAME] [--valid VALID.csv] "
    "[--param NAME=VALUE]... [--quoting csv|none] --out MODEL\n"
    "       aiops train [--model NAME] --help";

/* "<lead>a, b<tail>" for a NULL-terminated list of names; nothing for none. */
static void print_names(const char *lead, const char *const *names, const char *tail)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++)
        printf("%s%s%s", i ? ", " : lead, names[i], names[i + 1] == NULL ? tail : "");
}

static void print_param(const struct param_def *d)
{
    char choices[256];
    printf("  %-18s ", d->name);
    switch (d->type) {
    case PARAM_INT:
    case PARAM_NUMBER:
        printf("%s %.10g to %.10g, default %.10g", d->type == PARAM_INT ? "whole number" : "number",
               d->min, d->max, d->def);
        break;
    case PARAM_BOOL:
        printf("true or false, default %s", d->def != 0 ? "true" : "false");
        break;
    case PARAM_STRING:
        param_choices_text(d, choices, sizeof choices);
        printf("%s", d->choices ? choices : "text");
        break;
    case PARAM_COLUMNS:
        printf("column names, NAME,NAME,...");
        break;
    case PARAM_INTS:
        printf("whole numbers N,N,... each %.10g to %.10g, default %s", d->min, d->max,
               d->def_list);
        break;
    }
    print_names("; also ", d->aliases, "");
    printf("\n  %-18s %s\n", "", d->help);
}

static void print_learner(const struct learner *l)
{
    char tasks[128];
    learner_tasks_text(l, tasks, sizeof tasks);
    printf("%s", l->name);
    print_names(" (also ", l->aliases, ")");
    printf(": %s\n  learns %s\n", l->summary, tasks);
}

/* One learner with every parameter it takes; or (l NULL) every learner, each one's own
 * parameters, and once the ones they share. */
static void print_help(const struct learner *l)
{
    printf("%s\n\n", train_usage);
    if (l != NULL) {
        print_learner(l);
        printf("\n--param NAME=VALUE:\n");
        for (size_t i = 0; i < learner_param_count(l); i++)
            print_param(learner_param_at(l, i));
        return;
    }
    const struct param_def *shared[32];
    size_t nshared = 0;
    for (size_t k = 0; k < learner_count(); k++) {
        l = learner_at(k);
        print_learner(l);
        printf("\n--param NAME=VALUE for %s:\n", l->name);
        for (size_t i = 0; i < learner_param_count(l); i++) {
            const struct param_def *d = learner_param_at(l, i), **s = shared;
            if (i < l->nparams) {
                print_param(d);
                continue;
            }
            while (s < shared + nshared && *s != d)
                s++;
            if (s == shared + nshared && nshared < ARRAY_LEN(shared))
                shared[nshared++] = d;
        }
        printf("\n");
    }
    printf("--param NAME=VALUE for every learner they apply to:\n");
    for (size_t i = 0; i < nshared; i++)
        print_param(shared[i]);
}

/* --- train ------------------------------------------------------------------------------- */

static int progress_dots(void *arg, const struct train_progress *p)
{
    (void)arg;
    if (p->total <= 0 || (p->iteration % 10 != 0 && p->iteration != p->total))
        return 0;
    /* without validation rows there is no validation loss to show (it is NaN) */
    if (isnan(p->valid_loss))
        fprintf(stderr, "\r[%d/%d] train loss %.5f", p->iteration, p->total, p->train_loss);
    else
        fprintf(stderr, "\r[%d/%d] train loss %.5f  valid loss %.5f", p->iteration, p->total,
                p->train_loss, p->valid_loss);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    /* without --out the model is trained by the server (remote.c) */
    int offline = 0;
    for (int i = 1; i < argc; i++)
        offline |= strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0;
    if (!offline)
        return cmd_train_remote(argc, argv);
    const char *data = NULL, *target = NULL, *valid_path = NULL, *out_path = NULL;
    const char *model = NULL;
    json_t *params = json_object();
    int quiet = 0, help = 0;
    struct ingest_options read = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--target") == 0 && has)
            target = argv[++i];
        else if (strcmp(a, "--model") == 0 && has)
            model = argv[++i];
        else if (strcmp(a, "--valid") == 0 && has)
            valid_path = argv[++i];
        else if (strcmp(a, "--out") == 0 && has)
            out_path = argv[++i];
        else if (strcmp(a, "--quiet") == 0)
            quiet = 1;
        else if (strcmp(a, "--quoting") == 0 && has) {
            if (cli_quoting_arg("train", argv[++i], &read) != 0) {
                json_decref(params);
                return 2;
            }
        }
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            help = 1;
        else if (strcmp(a, "--param") == 0 && has) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            if (eq == NULL || eq == kv) {
                cli_error("train", "--param takes NAME=VALUE, not \"%s\"", kv);
                json_decref(params);
                return 2;
            }
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
            json_object_set_new(params, name, json_string(eq + 1));
        } else if (a[0] != '-' && data == NULL) {
            data = a;
        } else {
            cli_error("train", "%s", train_usage);
            json_decref(params);
            return 2;
        }
    }
    const struct learner *learner = learner_find(model ? model : "gbdt");
    if (learner == NULL) {
        char names[128];
        learner_names(names, sizeof names);
        cli_error("train", "--model must be %s", names);
        json_decref(params);
        return 2;
    }
    if (help) {
        print_help(model ? learner : NULL);
        json_decref(params);
        return 0;
    }
    /* a clustering model's target is optional: a grouping to score it against */
    if (data == NULL || (target == NULL && learner->needs_target) || out_path == NULL) {
        cli_error("train", "DATA.csv, --target (but for %s) and --out are required",
                  learner_find("kmeans") ? "kmeans" : "clustering");
        json_decref(params);
        return 2;
    }
    struct ingest_result tr, vr;
    memset(&vr, 0, sizeof vr);
    int status = 1;
    if (read_csv("train", data, &read, &tr) != 0 ||
        (valid_path && read_csv("train", valid_path, &read, &vr) != 0))
        goto out;
    struct train_config cfg = {learner, target, params, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = train_model(&tr.table, valid_path ? &vr.table : NULL, &cfg,
                         quiet ? NULL : progress_dots, NULL, &res, &err);
    if (!quiet)
        fputc('\n', stderr);
    if (rv != 0) {
        if (rv == AIOPS_EINVAL)
            cli_error("train", "%s: %s", err.field, err.message);
        else
            cli_error("train", "%s", aiops_strerror(rv));
        goto out;
    }
    rv = model_save_file(res.model, out_path);
    if (rv != 0) {
        cli_error("train", "cannot write %s: %s", out_path, aiops_strerror(rv));
        train_result_free(&res);
        goto out;
    }
    json_t *line = json_pack("{s:s, s:s, s:f, s:I, s:I, s:i}", "model", out_path, "task",
                             model_task_name(res.model), "train_seconds", res.train_seconds,
                             "train_rows", (json_int_t)res.train_rows, "valid_rows",
                             (json_int_t)res.valid_rows, "iterations", res.iterations);
    json_object_set(line, "metrics", res.metrics ? res.metrics : json_null());
    if (json_array_size(res.ignored) > 0)
        json_object_set(line, "ignored_params", res.ignored);
    train_result_free(&res);
    status = cli_print_json(line, 1);
out:
    ingest_result_free(&tr);
    ingest_result_free(&vr);
    json_decref(params);
    return status;
}

/* Loads MODEL and reads DATA into the model's feature matrix. */
int cli_load_model_data(const char *verb, const char *model_path, const char *data,
                        const struct ingest_options *read, struct model **m,
                        struct ingest_result *r)
{
    struct aiops_error why = AIOPS_ERROR_INIT;
    int rv = model_load_file(model_path, m, &why);
    if (rv != 0) {
        cli_error(verb, "%s: %s", model_path, why.message);
        return 1;
    }
    if (read_csv(verb, data, read, r) != 0) {
        model_free(*m);
        return 1;
    }
    return 0;
}

int cli_load_model_matrix(const char *verb, const char *model_path, const char *data,
                          const struct ingest_options *read, struct model **m,
                          struct ingest_result *r, struct fmatrix *x, size_t *type_errors,
                          size_t *unseen)
{
    if (cli_load_model_data(verb, model_path, data, read, m, r) != 0)
        return 1;
    struct aiops_error missing = AIOPS_ERROR_INIT;
    int rv = features_matrix(&(*m)->features, &r->table, x, &missing, type_errors, unseen);
    if (rv == 0)
        return 0;
    if (rv == AIOPS_ENOTFOUND)
        cli_error(verb, "%s has no column %s (a feature of the model)", data, missing.field);
    else
        cli_error(verb, "%s", aiops_strerror(rv));
    fmatrix_free(x);
    model_free(*m);
    ingest_result_free(r);
    return 1;
}

void cli_warn_missing(const char *verb, size_t unseen, size_t type_errors)
{
    if (unseen > 0 || type_errors > 0)
        fprintf(stderr,
                "aiops %s: %zu values of unseen categories and %zu values of the wrong type "
                "were read as missing\n",
                verb, unseen, type_errors);
}

int cli_operand(const char *a, const char **first, const char **second)
{
    if (a[0] == '-')
        return 0;
    if (*first == NULL)
        *first = a;
    else if (*second == NULL)
        *second = a;
    else
        return 0;
    return 1;
}

int cli_long_arg(const char *verb, const char *text, long min, long max, long *out, const char *fmt,
                 ...)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*end == '\0' && v >= min && v <= max) {
        *out = v;
        return 0;
    }
    va_list ap;
    va_start(ap, fmt);
    cli_verror(verb, fmt, ap);
    va_end(ap);
    return 2;
}

int cmd_predict(int argc, char **argv)
{
    /* MODEL not a file: the name of a model registered on the server (remote.c) */
    int out_given = 0;
    for (int i = 1; i < argc; i++)
        out_given |= strcmp(argv[i], "--out") == 0;
    if (argc >= 2 && argv[1][0] != '-' && !out_given && access(argv[1], F_OK) != 0)
        return cmd_predict_remote(argc, argv);
    const char *model_path = NULL, *data = NULL, *out_path = NULL;
    struct ingest_options read = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out_path = argv[++i];
        else if (strcmp(argv[i], "--quoting") == 0 && i + 1 < argc) {
            if (cli_quoting_arg("predict", argv[++i], &read) != 0)
                return 2;
        } else if (!cli_operand(argv[i], &model_path, &data)) {
            model_path = NULL;
            break;
        }
    }
    if (model_path == NULL || data == NULL) {
        cli_error("predict",
                  "usage: aiops predict MODEL DATA.csv [--out PRED.csv] [--quoting csv|none]");
        return 2;
    }
    struct model *m;
    struct ingest_result r;
    struct fmatrix x;
    size_t unseen = 0, type_errors = 0;
    if (cli_load_model_matrix("predict", model_path, data, &read, &m, &r, &x, &type_errors, &unseen) != 0)
        return 1;
    int status = 1, rv = 0;
    double *out = NULL;
    size_t k = model_outputs(m), n = x.nrows;
    if ((out = malloc((n ? n : 1) * k * sizeof *out)) == NULL ||
        (rv = model_predict_threads(m, &x, 0, out)) != 0) {
        cli_error("predict", "%s", aiops_strerror(rv ? rv : AIOPS_ENOMEM));
        goto out;
    }
    cli_warn_missing("predict", unseen, type_errors);
    struct buf b = BUF_INIT;
    const struct target_spec *ts = &m->target;
    if (ts->task == TASK_REGRESSION || ts->task == TASK_NONE) {
        buf_puts(&b, "prediction\n");
    } else if (ts->task == TASK_BINARY) {
        buf_puts(&b, "prediction,probability\n");
    } else {
        buf_puts(&b, "prediction");
        for (size_t c = 0; c < k; c++) {
            char name[300];
            snprintf(name, sizeof name, "p_%s", ts->labels[c]);
            buf_putc(&b, ',');
            csv_put_field(&b, name);
        }
        buf_putc(&b, '\n');
    }
    for (size_t i = 0; i < n; i++) {
        const double *row = out + i * k;
        char num[40];
        if (ts->task == TASK_NONE) { /* clustering: the cluster's id */
            buf_printf(&b, "%.0f\n", row[0]);
            continue;
        }
        if (ts->task == TASK_REGRESSION) {
            fmt_double_shortest(num, sizeof num, row[0]);
            buf_printf(&b, "%s\n", num);
            continue;
        }
        size_t best = 0;
        for (size_t c = 1; c < k; c++)
            if (row[c] > row[best])
                best = c;
        csv_put_field(&b, ts->labels[best]);
        if (ts->task == TASK_BINARY) {
            fmt_double_shortest(num, sizeof num, row[1]);
            buf_printf(&b, ",%s", num);
        } else {
            for (size_t c = 0; c < k; c++) {
                fmt_double_shortest(num, sizeof num, row[c]);
                buf_printf(&b, ",%s", num);
            }
        }
        buf_putc(&b, '\n');
    }
    FILE *f = out_path ? fopen(out_path, "w") : stdout;
    if (f == NULL || fwrite(b.data, 1, b.len, f) != b.len || (out_path && fclose(f) != 0)) {
        cli_error("predict", "cannot write %s", out_path ? out_path : "the output");
    } else {
        status = 0;
    }
    buf_free(&b);
out:
    free(out);
    fmatrix_free(&x);
    model_free(m);
    ingest_result_free(&r);
    return status;
}

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL;
    struct ingest_options read = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quoting") == 0 && i + 1 < argc) {
            if (cli_quoting_arg("eval", argv[++i], &read) != 0)
                return 2;
        } else if (!cli_operand(argv[i], &model_path, &data)) {
            model_path = NULL;
            break;
        }
    }
    if (model_path == NULL || data == NULL) {
        cli_error("eval", "usage: aiops eval MODEL DATA.csv [--quoting csv|none]");
        return 2;
    }
    struct model *m;
    struct ingest_result r;
    if (cli_load_model_data("eval", model_path, data, &read, &m, &r) != 0)
        return 1;
    json_t *metrics = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = train_evaluate(m, &r.table, &metrics, &err);
    int status = 1;
    if (rv == AIOPS_EINVAL) {
        cli_error("eval", "%s", err.message);
    } else if (rv != 0) {
        cli_error("eval", "%s", aiops_strerror(rv));
    } else {
        /* the interface's keys first, the full report after them */
        json_t *o = json_object();
        static const char *const cls[] = {"auc", "accuracy", "f1", "logloss", "macro_f1"};
        static const char *const reg[] = {"rmse", "mae", "r2"};
        static const char *const clu[] = {"inertia", "silhouette", "adjusted_rand", "nmi"};
        int regression = m->target.task == TASK_REGRESSION;
        const char *const *keys = regression ? reg : cls;
        size_t nk = regression ? 3 : (m->target.task == TASK_MULTICLASS ? 5 : 4);
        if (model_is_clustering(m)) /* ARI and NMI only against a target column */
            keys = clu, nk = json_object_get(metrics, "nmi") ? 4 : 2;
        for (size_t i = 0; i < nk; i++) {
            json_t *v = json_object_get(metrics, keys[i]);
            json_object_set(o, keys[i], v ? v : json_null());
        }
        json_object_update_missing(o, metrics);
        status = cli_print_json(o, 1);
    }
    json_decref(metrics);
    model_free(m);
    ingest_result_free(&r);
    return status;
}
