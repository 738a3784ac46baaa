/* cli.h -- what the `aiops` command's verbs share.
 *
 * Each verb is `int cmd_<verb>(int argc, char **argv)` with argv[0] the verb itself; it
 * returns the process exit status (0 ok, 1 failure, 2 usage error) and prints its result
 * on stdout, diagnostics on stderr. */
#ifndef AIOPS_CLI_H
#define AIOPS_CLI_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* Global options given before the verb (aiops --url URL --api-key KEY verb ...). */
struct cli_globals {
    const char *url;     /* gateway base URL; default $AIOPS_URL or http://127.0.0.1:8000 */
    const char *api_key; /* $AIOPS_API_KEY */
    const char *token;   /* $AIOPS_TOKEN (JWT) */
};
extern struct cli_globals cli_globals;

/* Prints j on stdout as pretty JSON (compact when `compact`), then a newline. Takes j. */
int cli_print_json(json_t *j, int compact);
/* Prints "aiops VERB: message" on stderr (cli_verror: from a va_list). */
void cli_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_verror(const char *verb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

struct model;
struct ingest_result;
struct ingest_options;
/* Reads a model file and a CSV for verb (read: how, NULL: the defaults): 0, or 1 after
 * printing why (nothing to free). */
int cli_load_model_data(const char *verb, const char *model_path, const char *data,
                        const struct ingest_options *read, struct model **m,
                        struct ingest_result *r);
/* The value of --quoting ("csv" or "none") into read->no_quoting: 0, or 2 (the usage status)
 * after printing why. */
int cli_quoting_arg(const char *verb, const char *value, struct ingest_options *read);

struct fmatrix;
/* cli_load_model_data, then the model's feature matrix of DATA's rows into x (type_errors
 * and unseen, may be NULL, as features_matrix counts them): 0, or 1 after printing why
 * (nothing to free). */
int cli_load_model_matrix(const char *verb, const char *model_path, const char *data,
                          const struct ingest_options *read, struct model **m,
                          struct ingest_result *r, struct fmatrix *x, size_t *type_errors,
                          size_t *unseen);
/* Says on stderr how many values were read as missing (unseen categories, the wrong type);
 * nothing when none were. */
void cli_warn_missing(const char *verb, size_t unseen, size_t type_errors);

/* Takes a, an argument that is not an option, as the first of two operands still missing
 * (*first, then *second): 1, or 0 when a is an option or both are given already. */
int cli_operand(const char *a, const char **first, const char **second);
/* A whole-number option's value text in [min, max] into *out: 0, or 2 (the usage status)
 * after printing "aiops VERB: " and the message fmt makes. */
int cli_long_arg(const char *verb, const char *text, long min, long max, long *out, const char *fmt,
                 ...) __attribute__((format(printf, 6, 7)));


int cmd_inspect(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_automl(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_drift(int argc, char **argv);
int cmd_import_xgboost(int argc, char **argv);
int cmd_shap(int argc, char **argv);
int cmd_importance(int argc, char **argv);
int cmd_lime(int argc, char **argv);

/* Against a server (remote.c, upload.c). */
int cli_upload(const char *verb, const char *file, const char *target, json_t **answer);
int cmd_runs(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_promote(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_train_remote(int argc, char **argv);
int cmd_predict_remote(int argc, char **argv);
int cmd_drift_remote(int argc, char **argv);
int cmd_report_remote(int argc, char **argv);

#endif
