/* aiops report -- the AI report and the PDF of a model on a local CSV, no server.
 *
 *   aiops report MODEL DATA.csv [--pdf OUT.pdf] [--lang ko|en] [--descriptions MAP.csv]
 *                [--contacts N] [--cost-per-contact X] [--value-per-conversion V]
 *                [--target-pct P] [--currency C] [--card]
 *
 * Metrics are measured on every labelled row of DATA.csv (give held-out data); MAP.csv is
 * a `feature,description` file (Korean text kept). Prints the AI report as JSON (with
 * --card, the model card); --pdf also writes the PDF report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/numparse.h"
#include "data/descriptions.h"
#include "data/ingest.h"
#include "ml/model.h"
#include "report/card.h"
#include "report/inputs.h"
#include "report/pdf.h"
#include "report/writer.h"

struct report_args {
    const char *model, *data, *pdf, *descriptions;
    enum report_lang lang;
    struct report_assumptions a;
    int card;
};

static int number_arg(const char *flag, const char *text, double *out)
{
    unsigned flags;
    if (numparse_f64(text, strlen(text), out, &flags))
        return 0;
    cli_error("report", "%s must be a number", flag);
    return 2;
}

static int parse_args(int argc, char **argv, struct report_args *r)
{
    memset(r, 0, sizeof *r);
    report_assumptions_default(&r->a);
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rv = 0;
        if (strcmp(argv[i], "--card") == 0) {
            r->card = 1;
            continue;
        }
        if (strncmp(argv[i], "--", 2) == 0 && v == NULL) {
            cli_error("report", "%s needs a value", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--pdf") == 0)
            r->pdf = v;
        else if (strcmp(argv[i], "--descriptions") == 0)
            r->descriptions = v;
        else if (strcmp(argv[i], "--lang") == 0)
            rv = report_lang_parse(v, &r->lang) == 0
                     ? 0
                     : (cli_error("report", "--lang is ko or en"), 2);
        else if (strcmp(argv[i], "--contacts") == 0)
            rv = number_arg(argv[i], v, &r->a.contacts);
        else if (strcmp(argv[i], "--cost-per-contact") == 0)
            rv = number_arg(argv[i], v, &r->a.cost_per_contact);
        else if (strcmp(argv[i], "--value-per-conversion") == 0)
            rv = number_arg(argv[i], v, &r->a.value_per_conversion);
        else if (strcmp(argv[i], "--target-pct") == 0)
            rv = number_arg(argv[i], v, &r->a.target_pct);
        else if (strcmp(argv[i], "--currency") == 0)
            r->a.currency = v;
        else if (strncmp(argv[i], "--", 2) == 0) {
            cli_error("report", "unknown option %s", argv[i]);
            return 2;
        } else {
            if (positional == 0)
                r->model = argv[i];
            else if (positional == 1)
                r->data = argv[i];
            positional++;
            continue;
        }
        if (rv != 0)
            return rv;
        i++;
    }
    if (positional != 2) {
        cli_error("report",
                  "usage: aiops report MODEL DATA.csv [--pdf OUT.pdf] [--lang ko|en] ...");
        return 2;
    }
    return 0;
}

/* {"feature": "description"} from a feature,description CSV (lib/data/descriptions.h). */
static json_t *read_descriptions(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("report", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct csv_stream s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    json_t *o = json_object();
    int rv = o ? csv_stream_open_fd(&s, fd, &descriptions_csv) : AIOPS_ENOMEM;
    if (rv == 0) {
        rv = descriptions_read_csv(&s, NULL, o, &err);
        csv_stream_close(&s);
    }
    close(fd);
    if (rv != 0) {
        cli_error("report", "%s:%ld: %s", path, err.line,
                  err.message[0] ? err.message : aiops_strerror(rv));
        json_decref(o);
        return NULL;
    }
    return o;
}

static int write_file(const char *path, const struct buf *b)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(b->data, 1, b->len, f) == b->len;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        cli_error("report", "cannot write %s", path);
    return ok ? 0 : 1;
}

/* The report's outputs from its inputs: the JSON printed, the PDF written. */
static int emit(const struct report_args *args, const json_t *in)
{
    json_t *ai = NULL, *card = NULL;
    struct card_identity id = {args->model, 0, NULL, NULL};
    if (report_write(in, &args->a, args->lang, &ai) != 0) {
        cli_error("report", "the assumptions are out of range");
        return 2;
    }
    int status = 1;
    struct buf pdf = BUF_INIT;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (report_card(in, &id, NULL, NULL, args->lang, &card) != 0) {
        cli_error("report", "out of memory");
    } else if (args->pdf != NULL) {
        struct report_pdf_options opt = {1, 1, 1, args->lang, NULL};
        if (report_pdf(in, ai, card, &opt, &pdf, &err) != 0)
            cli_error("report", "the PDF: %s", err.message);
        else
            status = write_file(args->pdf, &pdf);
    } else {
        status = 0;
    }
    if (status == 0) {
        status = cli_print_json(args->card ? card : ai, 0);
        if (args->card)
            card = NULL;
        else
            ai = NULL;
    }
    buf_free(&pdf);
    json_decref(ai);
    json_decref(card);
    return status;
}

int cmd_report(int argc, char **argv)
{
    /* one argument that is not a file, RUN_ID: the server's report of that run (remote.c) */
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && strcmp(argv[i], "--card") != 0)
            i++; /* every other option takes a value */
        else if (argv[i][0] != '-')
            positional++;
    }
    if (positional == 1 && argc >= 2 && argv[1][0] != '-' && access(argv[1], F_OK) != 0)
        return cmd_report_remote(argc, argv);
    struct report_args args;
    int rv = parse_args(argc, argv, &args);
    if (rv != 0)
        return rv;
    json_t *desc = NULL;
    if (args.descriptions != NULL && (desc = read_descriptions(args.descriptions)) == NULL)
        return 1;
    struct model *m;
    struct ingest_result r;
    if (cli_load_model_data("report", args.model, args.data, NULL, &m, &r) != 0) {
        json_decref(desc);
        return 1;
    }
    struct report_source src = {m, &r.table, NULL, 0, "given", NULL, desc};
    json_t *in = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int status = 1;
    if (report_inputs_compute(&src, &in, &err) != 0)
        cli_error("report", "%s", err.message);
    else
        status = emit(&args, in);
    json_decref(in);
    json_decref(desc);
    model_free(m);
    ingest_result_free(&r);
    return status;
}
