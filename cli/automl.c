/* aiops automl -- AutoML on a local CSV, no server (lib/ml/automl.h).
 *
 *   aiops automl DATA.csv --target COL [--budget SECONDS] [--metric NAME]
 *                [--models gbdt,rf,linear] [--folds K] [--seed N] [--trials N]
 *                [--threads N] --out MODEL
 *       progress on stderr (a line per trial); the last line of stdout:
 *       {"model", "metric", "leaderboard", "best", "ensemble", "budget_used_seconds", ...} */
#include "ml/automl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/err.h"
#include "core/numparse.h"
#include "core/time.h"
#include "data/ingest.h"

static const char automl_usage[] =
    "usage: aiops automl DATA.csv --target COL [--budget SECONDS] "
    "[--metric auc|logloss|accuracy|f1_macro|rmse|mae] [--models gbdt,rf,linear] [--folds K] "
    "[--seed N] [--trials N] [--threads N] --out MODEL";

struct automl_args {
    const char *data, *target, *out, *metric, *models;
    double budget, folds, seed, trials, threads;
    int quiet;
};

/* A number option: 0 and the value, or 2 after saying what is wrong. */
static int number_arg(const char *name, const char *text, double lo, double hi, double *out)
{
    double v;
    unsigned flags;
    if (!numparse_f64(text, strlen(text), &v, &flags) || !(v >= lo && v <= hi)) {
        cli_error("automl", "%s must be a number from %g to %g, not \"%s\"", name, lo, hi, text);
        return 2;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct automl_args *a)
{
    memset(a, 0, sizeof *a);
    a->budget = 60;
    int rv = 0;
    for (int i = 1; rv == 0 && i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--quiet") == 0) {
            a->quiet = 1;
            continue;
        }
        if (o[0] != '-' && a->data == NULL) {
            a->data = o;
            continue;
        }
        if (v == NULL) {
            cli_error("automl", "%s", automl_usage);
            return 2;
        }
        i++;
        if (strcmp(o, "--target") == 0)
            a->target = v;
        else if (strcmp(o, "--out") == 0)
            a->out = v;
        else if (strcmp(o, "--metric") == 0)
            a->metric = v;
        else if (strcmp(o, "--models") == 0)
            a->models = v;
        else if (strcmp(o, "--budget") == 0)
            rv = number_arg("--budget", v, 0.1, 7 * 86400.0, &a->budget);
        else if (strcmp(o, "--folds") == 0)
            rv = number_arg("--folds", v, 2, 20, &a->folds);
        else if (strcmp(o, "--seed") == 0)
            rv = number_arg("--seed", v, 0, 4294967295.0, &a->seed);
        else if (strcmp(o, "--trials") == 0)
            rv = number_arg("--trials", v, 1, 1e6, &a->trials);
        else if (strcmp(o, "--threads") == 0)
            rv = number_arg("--threads", v, 0, 256, &a->threads);
        else {
            cli_error("automl", "%s", automl_usage);
            return 2;
        }
    }
    if (rv == 0 && (a->data == NULL || a->target == NULL || a->out == NULL)) {
        cli_error("automl", "DATA.csv, --target and --out are required\n%s", automl_usage);
        rv = 2;
    }
    return rv;
}

static void print_trial(void *arg, const json_t *trial, size_t rank)
{
    (void)arg;
    const json_t *mean = json_object_get(trial, "cv_mean");
    fprintf(stderr, "trial %3lld %-8s %-9s cv %s%.5f  %.2fs%s%s\n",
            (long long)json_integer_value(json_object_get(trial, "trial")),
            json_string_value(json_object_get(trial, "learner")),
            json_string_value(json_object_get(trial, "status")), json_is_number(mean) ? "" : "-",
            json_is_number(mean) ? json_number_value(mean) : 0.0,
            json_number_value(json_object_get(trial, "seconds")), rank == 1 ? "  (best)" : "", "");
}

int cmd_automl(int argc, char **argv)
{
    uint64_t start = time_mono_ns();
    struct automl_args a;
    int status = parse_args(argc, argv, &a);
    if (status != 0)
        return status;
    struct ingest_result in;
    int rv = ingest_csv_file(a.data, NULL, &in);
    if (rv != 0) {
        cli_error("automl", "cannot read %s: %s", a.data, aiops_strerror(rv));
        return 1;
    }
    struct automl_config cfg = {
        .target = a.target,
        .metric = a.metric,
        .models = a.models,
        .folds = (size_t)a.folds,
        .seed = (uint64_t)a.seed,
        .budget_seconds = a.budget,
        .max_trials = (size_t)a.trials,
        .threads = (int)a.threads,
        .start_ns = start,
        .on_trial = a.quiet ? NULL : print_trial,
    };
    struct automl_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    rv = in.n_errors > 0 ? AIOPS_EINVAL : automl_run(&in.table, &cfg, &res, &err);
    ingest_result_free(&in);
    if (rv != 0) {
        if (rv == AIOPS_EINVAL && err.field[0])
            cli_error("automl", "%s: %s", err.field, err.message);
        else
            cli_error("automl", "%s", aiops_strerror(rv));
        return 1;
    }
    rv = model_save_file(res.model, a.out);
    if (rv != 0) {
        cli_error("automl", "cannot write %s: %s", a.out, aiops_strerror(rv));
        automl_result_free(&res);
        return 1;
    }
    double used = (double)(time_mono_ns() - start) / 1e9;
    json_t *line =
        json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:f, s:f, s:b}", "model", a.out, "task",
                  model_task_name(res.model), "metric", res.metric, "leaderboard", res.leaderboard,
                  "best", res.best, "ensemble", res.ensemble, "budget_seconds", a.budget,
                  "budget_used_seconds", used, "cancelled", res.cancelled);
    json_object_set(line, "metrics", json_object_get(res.model->meta, "metrics"));
    automl_result_free(&res);
    return cli_print_json(line, 1);
}
