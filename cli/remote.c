/* remote.c -- the verbs that work against a server (aiops --url URL [--api-key K] VERB):
 *
 *   aiops runs [--status S] [--model-name N] [--limit N] [--json]
 *   aiops models [--json]
 *   aiops promote NAME VERSION [--json]
 *   aiops watch RUN_ID
 *   aiops report RUN_ID [--pdf OUT.pdf] [--lang ko|en]   (the run's AI report; the PDF)
 *   aiops predict NAME DATA.csv [--version V] [--json]   (NAME not a model file: the
 *        server's registered model; CSV of prediction,p_<class>... or the JSON answer)
 *   aiops drift NAME [--version V]   (NAME not a file: the drift of the model's recent served
 *        rows against its training reference, the same JSON as the offline `aiops drift`;
 *        exit 0 nothing drifted, 1 the data drifted -- or the server refused)
 *   aiops train DATA.csv --target COL [--model M] [--param k=v]... [--model-name N] [--wait]
 *        (train without --out: upload, start the run on the server, and with --wait follow
 *        it over /ws/training/{run_id})
 *
 * Exit status: 0 done (a run waited for completed); 1 the server refused (its error is
 * printed) or the run failed or was canceled; 2 usage; 3 no answer from the server; 130
 * stopped following a run with Ctrl-C (the run goes on). Ctrl-C while following a run asks
 * on a terminal whether to cancel it; elsewhere it stops following.
 * Progress goes to stderr (a bar on a terminal, plain lines otherwise); stdout has the
 * result, and for watch and train --wait its last line is the run's JSON. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "data/csv.h"
#include "http.h"
#include "ws.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define EXIT_INTERRUPTED 130 /* the shell's code for a SIGINT */

/* method path [body] -> *out (the answer's JSON, NULL when not JSON). Returns the HTTP
 * status, or 0 after printing that no answer came (body is taken); a non-2xx status is printed as
 * the API's error code and message. */
static int call_json(const char *verb, const char *method, const char *path, json_t *body,
                     json_t **out)
{
    *out = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    int status = cli_http_json(verb, method, path, text ? "application/json" : NULL, text,
                               text ? strlen(text) : 0, -1, 60, out);
    free(text);
    if (status != 0 && (status < 200 || status > 299)) {
        json_t *err = json_object_get(*out, "error");
        cli_error(verb, "HTTP %d %s: %s", status,
                  json_string_value(json_object_get(err, "code")) ?: "",
                  json_string_value(json_object_get(err, "message")) ?: "");
    }
    return status;
}

static int exit_for(int status)
{
    return status == 0 ? EXIT_UNREACHABLE : status >= 200 && status <= 299 ? 0 : EXIT_REFUSED;
}

/* "auc 0.93" / "rmse 1.2": the metric a run is judged by. */
static void main_metric(json_t *metrics, char *out, size_t cap)
{
    static const char *const keys[] = {"auc", "accuracy", "rmse", "r2", "val_loss"};
    snprintf(out, cap, "-");
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(metrics, keys[i]);
        if (json_is_number(v)) {
            snprintf(out, cap, "%s %.4g", keys[i], json_number_value(v));
            return;
        }
    }
}

int cmd_runs(int argc, char **argv)
{
    struct buf q = BUF_INIT;
    int json = 0;
    const char *limit = "20";
    buf_puts(&q, "/api/v1/runs?");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
            buf_printf(&q, "status=%s&", argv[++i]);
        else if (strcmp(argv[i], "--model-name") == 0 && i + 1 < argc)
            buf_printf(&q, "model_name=%s&", argv[++i]);
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = argv[++i];
        else {
            cli_error("runs", "usage: aiops runs [--status S] [--model-name N] [--limit N] "
                              "[--json]");
            buf_free(&q);
            return EXIT_USAGE;
        }
    }
    buf_printf(&q, "limit=%s", limit);
    json_t *j = NULL;
    int status = q.data ? call_json("runs", "GET", q.data, NULL, &j) : 0;
    buf_free(&q);
    if (exit_for(status) != 0 || json) {
        if (j != NULL)
            cli_print_json(j, 0);
        return exit_for(status);
    }
    size_t i;
    json_t *r;
    printf("%-36s  %-9s  %-7s  %-24s  %s\n", "RUN", "STATUS", "LEARNER", "MODEL", "METRIC");
    json_array_foreach(json_object_get(j, "runs"), i, r)
    {
        char metric[64];
        main_metric(json_object_get(r, "metrics"), metric, sizeof metric);
        printf("%-36s  %-9s  %-7s  %-24s  %s\n", json_string_value(json_object_get(r, "run_id")),
               json_string_value(json_object_get(r, "status")),
               json_string_value(json_object_get(r, "model")),
               json_string_value(json_object_get(r, "model_name")), metric);
    }
    json_decref(j);
    return 0;
}

int cmd_models(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
        cli_error("models", "usage: aiops models [--json]");
        return EXIT_USAGE;
    }
    json_t *j;
    int status = call_json("models", "GET", "/api/v1/models", NULL, &j);
    if (exit_for(status) != 0 || argc == 2) {
        if (j != NULL)
            cli_print_json(j, 0);
        return exit_for(status);
    }
    size_t i;
    json_t *m;
    printf("%-32s  %-10s  %8s  %8s\n", "MODEL", "TASK", "VERSIONS", "CHAMPION");
    json_array_foreach(json_object_get(j, "models"), i, m)
    {
        json_t *champion = json_object_get(json_object_get(m, "aliases"), "champion");
        printf("%-32s  %-10s  %8lld  %8lld\n", json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "task")) ?: "-",
               (long long)json_integer_value(json_object_get(m, "versions")),
               (long long)json_integer_value(champion));
    }
    json_decref(j);
    return 0;
}

int cmd_promote(int argc, char **argv)
{
    char *end = NULL;
    long version = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc < 3 || argc > 4 || *end != '\0' || version < 1 ||
        (argc == 4 && strcmp(argv[3], "--json") != 0)) {
        cli_error("promote", "usage: aiops promote NAME VERSION [--json]");
        return EXIT_USAGE;
    }
    char path[512];
    snprintf(path, sizeof path, "/api/v1/models/%s/promote", argv[1]);
    json_t *j;
    int status =
        call_json("promote", "POST", path, json_pack("{s:I}", "version", (json_int_t)version), &j);
    if (j != NULL)
        cli_print_json(j, argc != 4);
    return exit_for(status);
}

/* --- following a run ----------------------------------------------------------------- */

static int run_finished(const char *status)
{
    return status != NULL && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
                              strcmp(status, "canceled") == 0);
}

/* The run now (NULL after printing why not). */
static json_t *get_run(const char *run_id)
{
    char path[160];
    snprintf(path, sizeof path, "/api/v1/runs/%s", run_id);
    json_t *j;
    int status = call_json("watch", "GET", path, NULL, &j);
    if (status == 200)
        return j;
    json_decref(j);
    return NULL;
}

/* One epoch_update on stderr: a bar redrawn in place on a terminal, a line otherwise. */
static void show_progress(json_t *msg, int tty)
{
    long long epoch = json_integer_value(json_object_get(msg, "epoch"));
    long long total = json_integer_value(json_object_get(msg, "total_epochs"));
    struct buf line = BUF_INIT;
    if (tty) {
        int width = 30, done = total > 0 ? (int)(epoch * width / total) : 0;
        buf_puts(&line, "\r[");
        for (int i = 0; i < width; i++)
            buf_putc(&line, i < done ? '#' : ' ');
        buf_printf(&line, "] %lld/%lld", epoch, total);
    } else {
        buf_printf(&line, "epoch %lld/%lld", epoch, total);
    }
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(msg, "metrics"), key, v)
    {
        if (json_is_number(v))
            buf_printf(&line, tty ? "  %s %.5g" : " %s=%.6g", key, json_number_value(v));
    }
    if (line.data != NULL)
        fprintf(stderr, "%s%s", line.data, tty ? "\033[K" : "\n");
    buf_free(&line);
}

/* Handles one WebSocket message; 1 when it ends the run. */
static int on_run_message(const char *text, int tty)
{
    json_error_t e;
    json_t *msg = json_loads(text, 0, &e);
    const char *type = json_string_value(json_object_get(msg, "type"));
    int ended = 0;
    if (type != NULL && strcmp(type, "epoch_update") == 0)
        show_progress(msg, tty);
    else if (type != NULL && strcmp(type, "training_restarted") == 0)
        fprintf(stderr, "%srun restarted (attempt %lld)\n", tty ? "\n" : "",
                (long long)json_integer_value(json_object_get(msg, "attempt")));
    else if (type != NULL &&
             (strcmp(type, "training_complete") == 0 || strcmp(type, "training_failed") == 0))
        ended = 1;
    json_decref(msg);
    return ended;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* After Ctrl-C: on a terminal, asks whether to cancel the run (and asks the server to);
 * elsewhere nobody can answer, so following stops. Returns 1 when following should stop. */
static int on_interrupt(const char *run_id)
{
    interrupted = 0;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "\ninterrupted: run %s goes on on the server (aiops watch %s)\n", run_id,
                run_id);
        return 1;
    }
    fprintf(stderr, "\nCancel run %s? [y/N] ", run_id);
    char answer[16];
    if (fgets(answer, sizeof answer, stdin) == NULL || (answer[0] != 'y' && answer[0] != 'Y'))
        return 0;
    char path[160];
    snprintf(path, sizeof path, "/api/v1/runs/%s/cancel", run_id);
    json_t *j;
    if (call_json("watch", "POST", path, json_object(), &j) == 200)
        fprintf(stderr, "cancel requested\n");
    json_decref(j);
    return 0;
}

/* Follows run_id until it ends: progress from /ws/training/{run_id}, and the run's state
 * asked for directly when the socket is quiet or gone (it may have ended before the
 * socket opened). *run gets the finished run; returns an exit status. */
static int follow_run(const char *run_id, json_t **run)
{
    *run = NULL;
    char path[160];
    snprintf(path, sizeof path, "/ws/training/%s", run_id);
    struct cli_ws ws;
    int rv = cli_ws_open(path, &ws);
    if (rv == AIOPS_ENOTFOUND || rv == AIOPS_EAUTH) {
        cli_error("watch", "%s", rv == AIOPS_ENOTFOUND ? "no such run" : "not allowed");
        return EXIT_REFUSED;
    }
    int connected = rv == 0, tty = isatty(STDERR_FILENO), stopped = 0;
    struct buf msg = BUF_INIT;
    /* no SA_RESTART: Ctrl-C ends the wait for the socket at once */
    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, &old_sa);
    for (;;) {
        if (interrupted && (stopped = on_interrupt(run_id)) != 0)
            break;
        json_t *now = get_run(run_id);
        if (now == NULL)
            break;
        if (run_finished(json_string_value(json_object_get(now, "status")))) {
            *run = now;
            break;
        }
        json_decref(now);
        if (!connected) { /* no socket: ask again in a second */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        /* messages until a quiet 2 s, the end of the run, or the socket's end */
        while ((rv = cli_ws_recv(&ws, 2000, &msg)) == 0)
            if (on_run_message(msg.data, tty))
                break;
        if (rv != 0 && rv != AIOPS_ETIMEDOUT) {
            cli_ws_close(&ws);
            connected = 0;
        }
    }
    sigaction(SIGINT, &old_sa, NULL);
    if (connected)
        cli_ws_close(&ws);
    buf_free(&msg);
    if (tty)
        fputc('\n', stderr);
    if (stopped)
        return EXIT_INTERRUPTED;
    if (*run == NULL)
        return EXIT_UNREACHABLE;
    return strcmp(json_string_value(json_object_get(*run, "status")), "completed") == 0
               ? 0
               : EXIT_REFUSED;
}

int cmd_watch(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        cli_error("watch", "usage: aiops watch RUN_ID");
        return EXIT_USAGE;
    }
    json_t *run;
    int code = follow_run(argv[1], &run);
    if (run != NULL)
        cli_print_json(run, 1);
    return code;
}

/* "12" -> 12, "0.1" -> 0.1, "true" -> true, anything else stays text (the service reads
 * parameters by their names and types: lib/ml/learner.h). */
static json_t *param_value(const char *v)
{
    char *end = NULL;
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
        return json_boolean(v[0] == 't');
    long long i = strtoll(v, &end, 10);
    if (*v != '\0' && *end == '\0')
        return json_integer(i);
    double d = strtod(v, &end);
    if (*v != '\0' && *end == '\0')
        return json_real(d);
    return json_string(v);
}

/* Reads train's remote options into body; the data file into *data. 0, or a usage error. */
static int train_remote_args(int argc, char **argv, json_t *body, const char **data, int *wait)
{
    json_t *config = json_object();
    json_object_set_new(body, "config", config);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--wait") == 0) {
            *wait = 1;
        } else if ((strcmp(a, "--target") == 0 || strcmp(a, "--model") == 0 ||
                    strcmp(a, "--model-name") == 0) &&
                   has) {
            json_object_set_new(body, strcmp(a, "--model-name") == 0 ? "model_name" : a + 2,
                                json_string(argv[++i]));
        } else if (strcmp(a, "--param") == 0 && has && strchr(argv[i + 1], '=') != NULL &&
                   argv[i + 1][0] != '=') {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
            json_object_set_new(config, name, param_value(eq + 1));
        } else if (a[0] != '-' && *data == NULL) {
            *data = a;
        } else {
            return EXIT_USAGE;
        }
    }
    return *data == NULL ? EXIT_USAGE : 0;
}

int cmd_train_remote(int argc, char **argv)
{
    json_t *body = json_object();
    const char *data = NULL;
    int wait = 0;
    if (train_remote_args(argc, argv, body, &data, &wait) != 0) {
        cli_error("train", "usage: aiops [--url URL] train DATA.csv [--target COL] [--model M] "
                           "[--param NAME=VALUE]... [--model-name N] [--wait]\n"
                           "  (with --out MODEL it trains offline instead)");
        json_decref(body);
        return EXIT_USAGE;
    }
    json_t *uploaded;
    const char *target = json_string_value(json_object_get(body, "target"));
    int status = cli_upload("train", data, target, &uploaded);
    const char *file_id = json_string_value(json_object_get(uploaded, "file_id"));
    if (status != 200 || file_id == NULL) {
        if (uploaded != NULL)
            cli_print_json(uploaded, 0);
        json_decref(body);
        return exit_for(status == 200 ? 500 : status);
    }
    json_object_set_new(body, "file_id", json_string(file_id));
    json_decref(uploaded);
    json_t *started;
    status = call_json("train", "POST", "/api/train", body, &started);
    const char *run_id = json_string_value(json_object_get(started, "run_id"));
    if (exit_for(status) != 0 || run_id == NULL || !wait) {
        if (started != NULL)
            cli_print_json(started, 1);
        return exit_for(status);
    }
    fprintf(stderr, "run %s started\n", run_id);
    json_t *run;
    int code = follow_run(run_id, &run);
    json_decref(started);
    if (run != NULL)
        cli_print_json(run, 1);
    return code;
}

/* --- predictions from the server ------------------------------------------------------- */

/* A CSV cell as a JSON value: empty is null (a missing value), a number is a number,
 * anything else text; the service reads each by the model's column types. */
static json_t *cell_value(const char *p, size_t n)
{
    char text[256];
    if (n == 0)
        return json_null();
    if (n < sizeof text) {
        memcpy(text, p, n);
        text[n] = '\0';
        char *end = NULL;
        double d = strtod(text, &end);
        if (*end == '\0' && end != text)
            return json_real(d);
    }
    return json_stringn(p, n);
}

/* The rows of a CSV file as {"instances": [{column: value}, ...]}; NULL after printing why. */
static json_t *csv_instances(const char *path)
{
    struct buf data = BUF_INIT;
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t k;
    while (f != NULL && (k = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&data, chunk, k);
    if (f == NULL || data.data == NULL) {
        cli_error("predict", "cannot read %s", path);
        if (f != NULL)
            fclose(f);
        buf_free(&data);
        return NULL;
    }
    fclose(f);
    struct csv_config cfg = {csv_sniff(data.data, data.len, 0), 0, 0, 0, 0};
    struct csv_reader rd;
    csv_reader_init(&rd, &cfg);
    json_t *header = json_array(), *rows = json_array();
    size_t pos = 0;
    struct csv_record rec;
    enum csv_status st;
    int rv;
    while ((rv = csv_next(&rd, data.data, data.len, &pos, 1, &rec, &st)) == 0 && st == CSV_RECORD) {
        json_t *row = json_array_size(header) ? json_object() : NULL;
        for (size_t i = 0; i < rec.nstored; i++) {
            const struct csv_field *fl = &rec.fields[i];
            if (row == NULL)
                json_array_append_new(header, json_stringn(fl->p, fl->len));
            else if (i < json_array_size(header))
                json_object_set_new(row, json_string_value(json_array_get(header, i)),
                                    cell_value(fl->p, fl->len));
        }
        if (row != NULL)
            json_array_append_new(rows, row);
    }
    csv_reader_free(&rd);
    buf_free(&data);
    json_decref(header);
    if (rv != 0) {
        cli_error("predict", "%s is not a readable CSV (line %llu)", path,
                  (unsigned long long)rd.err_line);
        json_decref(rows);
        return NULL;
    }
    return json_pack("{s:o}", "instances", rows);
}

/* Prints predictions as CSV: prediction, then p_<class> for each class of the first row. */
static void print_predictions(json_t *preds)
{
    json_t *first = json_object_get(json_array_get(preds, 0), "probabilities");
    const char *cls;
    json_t *v;
    printf("prediction");
    json_object_foreach(first, cls, v) printf(",p_%s", cls);
    printf("\n");
    size_t i;
    json_t *p;
    json_array_foreach(preds, i, p)
    {
        json_t *pred = json_object_get(p, "prediction");
        if (json_is_string(pred))
            printf("%s", json_string_value(pred));
        else
            printf("%.17g", json_number_value(pred));
        json_t *probs = json_object_get(p, "probabilities");
        json_object_foreach(first, cls, v)
            printf(",%.6g", json_number_value(json_object_get(probs, cls)));
        printf("\n");
    }
}

/* /api/v1/models/NAME/WHAT, with ?version=V when version is not NULL. */
static void model_route(char *path, size_t size, const char *name, const char *what,
                        const char *version)
{
    snprintf(path, size, "/api/v1/models/%s/%s%s%s", name, what, version ? "?version=" : "",
             version ? version : "");
}

int cmd_drift_remote(int argc, char **argv)
{
    const char *name = NULL, *version = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            version = argv[++i];
        else if (argv[i][0] != '-' && name == NULL)
            name = argv[i];
        else
            name = NULL, i = argc;
    }
    if (name == NULL) {
        cli_error("drift", "usage: aiops drift NAME [--version V]");
        return EXIT_USAGE;
    }
    char path[512];
    model_route(path, sizeof path, name, "drift", version);
    json_t *j;
    int status = call_json("drift", "GET", path, NULL, &j);
    int rv = exit_for(status);
    if (rv == 0 && json_is_true(json_object_get(j, "dataset_drift")))
        rv = 1;
    if (j != NULL)
        cli_print_json(json_incref(j), 0);
    json_decref(j);
    return rv;
}

int cmd_predict_remote(int argc, char **argv)
{
    const char *name = NULL, *data = NULL, *version = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc)
            version = argv[++i];
        else if (argv[i][0] != '-' && name == NULL)
            name = argv[i];
        else if (argv[i][0] != '-' && data == NULL)
            data = argv[i];
        else
            name = data = NULL, i = argc;
    }
    if (name == NULL || data == NULL) {
        cli_error("predict", "usage: aiops predict NAME DATA.csv [--version V] [--json]");
        return EXIT_USAGE;
    }
    json_t *body = csv_instances(data);
    if (body == NULL)
        return EXIT_REFUSED;
    char path[512];
    model_route(path, sizeof path, name, "predict", version);
    json_t *j;
    int status = call_json("predict", "POST", path, body, &j);
    if (exit_for(status) == 0 && !json)
        print_predictions(json_object_get(j, "predictions"));
    else if (j != NULL)
        cli_print_json(json_incref(j), 0);
    json_decref(j);
    return exit_for(status);
}

/* --- reports from the server ----------------------------------------------------------- */

/* Writes the run's PDF report (made now, in lang) to out_path; an exit status. */
static int fetch_pdf(const char *run_id, const char *lang, const char *out_path)
{
    char path[256];
    snprintf(path, sizeof path, "/api/report/generate-pdf/%s?lang=%s", run_id, lang);
    json_t *j;
    int status = call_json("report", "POST", path,
                           json_pack("{s:b, s:b, s:b}", "includeCharts", 1, "includeInsights", 1,
                                     "includeActionPlan", 1),
                           &j);
    json_decref(j);
    if (exit_for(status) != 0)
        return exit_for(status);
    snprintf(path, sizeof path, "/api/report/pdf/%s", run_id);
    struct cli_response resp;
    if (cli_http("GET", path, NULL, NULL, 0, -1, 120, &resp) != 0) {
        cli_error("report", "no answer from %s", cli_globals.url);
        buf_free(&resp.body);
        return EXIT_UNREACHABLE;
    }
    int code = 0;
    FILE *f = NULL;
    if (resp.status != 200 || resp.body.len < 5 || memcmp(resp.body.data, "%PDF-", 5) != 0) {
        cli_error("report", "HTTP %d: no PDF", resp.status);
        code = EXIT_REFUSED;
    } else if ((f = fopen(out_path, "wb")) == NULL ||
               fwrite(resp.body.data, 1, resp.body.len, f) != resp.body.len) {
        cli_error("report", "cannot write %s", out_path);
        code = EXIT_REFUSED;
    }
    if (f != NULL && fclose(f) != 0 && code == 0) {
        cli_error("report", "cannot write %s", out_path);
        code = EXIT_REFUSED;
    }
    buf_free(&resp.body);
    return code;
}

int cmd_report_remote(int argc, char **argv)
{
    const char *run_id = NULL, *pdf = NULL, *lang = "ko";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pdf") == 0 && i + 1 < argc)
            pdf = argv[++i];
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            lang = argv[++i];
        else if (argv[i][0] != '-' && run_id == NULL)
            run_id = argv[i];
        else
            run_id = NULL, i = argc;
    }
    if (run_id == NULL || (strcmp(lang, "ko") != 0 && strcmp(lang, "en") != 0)) {
        cli_error("report", "usage: aiops report RUN_ID [--pdf OUT.pdf] [--lang ko|en]");
        return EXIT_USAGE;
    }
    char path[256];
    snprintf(path, sizeof path, "/api/report/ai/%s?lang=%s", run_id, lang);
    json_t *j;
    int status = call_json("report", "GET", path, NULL, &j);
    if (j != NULL)
        cli_print_json(j, 0);
    if (exit_for(status) != 0 || pdf == NULL)
        return exit_for(status);
    return fetch_pdf(run_id, lang, pdf);
}
