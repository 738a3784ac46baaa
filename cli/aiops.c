/* aiops -- the suite's command line: offline verbs on local files, and verbs that talk
 * to a gateway.
 *
 *   aiops [--url URL] [--api-key KEY] [--token JWT] VERB [ARGS...]
 *
 * Offline: inspect FILE.csv, profile FILE.csv, drift REFERENCE.csv CURRENT.csv. Against a gateway:
 * upload FILE.csv. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/jsonx.h"
#include "core/log.h"

struct cli_globals cli_globals;

int cli_print_json(json_t *j, int compact)
{
    /* numbers are written exactly (shortest round trip), pretty or not */
    struct buf b = BUF_INIT;
    int rv = jsonx_write_indent(j, compact ? 0 : 2, &b);
    json_decref(j);
    if (rv != 0) {
        buf_free(&b);
        fprintf(stderr, "aiops: out of memory\n");
        return 1;
    }
    puts(b.data);
    buf_free(&b);
    return 0;
}

void cli_verror(const char *verb, const char *fmt, va_list ap)
{
    fprintf(stderr, "aiops %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_verror(verb, fmt, ap);
    va_end(ap);
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} verbs[] = {
    {"inspect", cmd_inspect, "inspect FILE.csv [--target COL]   upload summary, offline"},
    {"profile", cmd_profile, "profile FILE.csv [--target COL]   profile (EDA) JSON, offline"},
    {"upload", cmd_upload, "upload FILE.csv [--target COL]    upload to the gateway"},
    {"train", cmd_train,
     "train DATA.csv --target COL [--model gbdt|rf|linear|mlp|tabseq|kmeans] [--valid VALID.csv]\n"
     "        [--param NAME=VALUE]... [--quoting csv|none] --out MODEL     train a model, offline\n"
     "        (--quoting none: every '\"' in the data is text, as csv.QUOTE_NONE reads it)\n"
     "  train DATA.csv [--target COL] [--model M] [--param NAME=VALUE]... [--model-name N]\n"
     "        [--wait]     without --out: upload and train on the server (--wait follows it)"},
    {"predict", cmd_predict,
     "predict MODEL DATA.csv [--out PRED.csv] [--quoting csv|none]   predictions as CSV\n"
     "  predict NAME DATA.csv [--version V] [--json]   NAME not a file: the server's model"},
    {"automl", cmd_automl,
     "automl DATA.csv --target COL [--budget SECONDS] [--metric NAME] [--models gbdt,rf,...]\n"
     "        [--folds K] [--seed N] [--trials N] --out MODEL   AutoML search, offline"},
    {"eval", cmd_eval,
     "eval MODEL DATA.csv [--quoting csv|none]   metrics of MODEL on DATA (JSON)"},
    {"report", cmd_report,
     "report MODEL DATA.csv [--pdf OUT.pdf] [--lang ko|en] [--descriptions MAP.csv]\n"
     "        [--contacts N] [--cost-per-contact X] [--value-per-conversion V] [--target-pct P]\n"
     "        [--currency C] [--card]     AI report JSON (and the PDF), offline\n"
     "  report RUN_ID [--pdf OUT.pdf] [--lang ko|en]   a run's report from the server"},
    {"runs", cmd_runs,
     "runs [--status S] [--model-name N] [--limit N] [--json]   runs on the server"},
    {"models", cmd_models, "models [--json]                    registered models, champions"},
    {"promote", cmd_promote, "promote NAME VERSION              make VERSION the champion"},
    {"watch", cmd_watch,
     "watch RUN_ID                       follow a run; last line: the run's JSON"},
    {"drift", cmd_drift,
     "drift REFERENCE.csv CURRENT.csv [--target COL]   per-feature drift JSON, offline\n"
     "        (exit 0: nothing drifted, 1: drift)\n"
     "  drift NAME [--version V]   NAME not a file: the server's model, its recent served rows"},
    {"import-xgboost", cmd_import_xgboost,
     "import-xgboost MODEL.json --out MODEL   an XGBoost JSON model as our model file"},
    {"shap", cmd_shap,
     "shap MODEL DATA.csv [--out SHAP.csv] [--threads N]   exact TreeSHAP values as CSV"},
    {"importance", cmd_importance,
     "importance MODEL DATA.csv [--repeats N] [--seed S] [--correlation pearson|spearman]\n"
     "        permutation importance, p-values and correlations (JSON)"},
    {"lime", cmd_lime,
     "lime MODEL DATA.csv --row N [--class LABEL] [--samples N] [--seed S]   LIME (JSON)"},
};

static int usage(void)
{
    fprintf(stderr,
            "usage: aiops [--url URL] [--api-key KEY] [--token JWT] VERB [ARGS]\n\nverbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(stderr, "  %s\n", verbs[i].help);
    fprintf(stderr, "\nenvironment: AIOPS_URL, AIOPS_API_KEY, AIOPS_TOKEN\n"
                    "exit status of the server verbs: 0 done, 1 refused by the server (or the "
                    "run failed),\n2 usage, 3 no answer from the server\n");
    return 2;
}

int main(int argc, char **argv)
{
    log_init("aiops");
    cli_globals.url = getenv("AIOPS_URL") ? getenv("AIOPS_URL") : "http://127.0.0.1:8000";
    cli_globals.api_key = getenv("AIOPS_API_KEY");
    cli_globals.token = getenv("AIOPS_TOKEN");
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc)
            return usage();
        if (strcmp(argv[i], "--url") == 0)
            cli_globals.url = argv[++i];
        else if (strcmp(argv[i], "--api-key") == 0)
            cli_globals.api_key = argv[++i];
        else if (strcmp(argv[i], "--token") == 0)
            cli_globals.token = argv[++i];
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        if (strcmp(argv[i], verbs[v].name) == 0)
            return verbs[v].fn(argc - i, argv + i);
    fprintf(stderr, "aiops: unknown verb \"%s\"\n", argv[i]);
    return usage();
}
