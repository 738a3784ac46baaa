/* `aiops drift REFERENCE.csv CURRENT.csv [--target COL] [--threads N] [--delimiter C]`:
 * data drift of every column of CURRENT against REFERENCE (lib/ml/drift_table.h), offline.
 * Prints the drift JSON on its last line; exit 0 when no column drifted, 1 when one did,
 * 2 on bad usage or unreadable input. The two files are read at the same time and the
 * columns compared in parallel, each sorted once. */
#include "ml/drift_table.h"

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/pool.h"
#include "data/ingest.h"

static const char usage[] =
    "usage: aiops drift REFERENCE.csv CURRENT.csv [--target COL] [--threads N] "
    "[--delimiter C]\n"
    "  --target COL     reported apart as \"target\" and left out of the drifted share\n"
    "  --threads N      columns compared at a time (default: the online CPUs, at most 256)\n"
    "  --delimiter C    one of , ; | or tab (default: sniffed per file)\n"
    "Prints the per-feature JSON on its last line; exit 0: nothing drifted, 1: drift, 2: "
    "error.\n";

struct read_job {
    const char *path;
    struct ingest_options opt;
    struct ingest_result result;
    int rv;
    int saved_errno;
};

static void read_one(void *arg, int tid, size_t i)
{
    (void)tid;
    struct read_job *j = (struct read_job *)arg + i;
    errno = 0;
    j->rv = ingest_csv_file(j->path, &j->opt, &j->result);
    j->saved_errno = errno;
}

/* 0 when job read a usable table, else prints why and returns 2. */
static int check_read(const struct read_job *j)
{
    if (j->rv != 0) {
        cli_error("drift", "%s: %s", j->path,
                  j->rv == AIOPS_EIO ? strerror(j->saved_errno) : aiops_strerror(j->rv));
        return 2;
    }
    if (j->result.n_errors == 0)
        return 0;
    for (size_t i = 0; i < j->result.n_issues; i++) {
        const struct ingest_issue *is = &j->result.issues[i];
        if (is->severity != ISSUE_ERROR)
            continue;
        if (is->line > 0)
            cli_error("drift", "%s:%ld: %s: %s", j->path, is->line, is->code, is->message);
        else
            cli_error("drift", "%s: %s: %s", j->path, is->code, is->message);
    }
    return 2;
}

int cmd_drift(int argc, char **argv)
{
    /* one argument, not a file: the name of a model registered on the server (remote.c) */
    if (argc >= 2 && argv[1][0] != '-' && (argc == 2 || argv[2][0] == '-') &&
        access(argv[1], F_OK) != 0)
        return cmd_drift_remote(argc, argv);
    struct read_job jobs[2];
    memset(jobs, 0, sizeof jobs);
    const char *target = NULL;
    char delimiter = 0;
    long threads = 0;
    int nfiles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--target") == 0 && has_value) {
            target = argv[++i];
        } else if (strcmp(a, "--threads") == 0 && has_value) {
            const char *text = argv[++i];
            if (cli_long_arg("drift", text, 1, 256, &threads,
                             "--threads takes a number from 1 to 256, not \"%s\"", text) != 0)
                return 2;
        } else if (strcmp(a, "--delimiter") == 0 && has_value) {
            if (ingest_parse_delimiter(argv[++i], &delimiter) != 0) {
                cli_error("drift", "--delimiter must be one of , ; | tab, not \"%s\"", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("drift", "unknown option or missing value: %s", a);
            fputs(usage, stderr);
            return 2;
        } else if (nfiles < 2) {
            jobs[nfiles++].path = a;
        } else {
            cli_error("drift", "two files only: REFERENCE.csv CURRENT.csv (got a third, \"%s\")",
                      a);
            return 2;
        }
    }
    if (nfiles != 2) {
        fputs(usage, stderr);
        return 2;
    }
    for (int k = 0; k < 2; k++) {
        jobs[k].opt.delimiter = delimiter;
        /* the target only names a column here: never let ingest pick one by its name */
        jobs[k].opt.target = target;
        /* the statistics sort the values themselves: no upload summaries */
        jobs[k].opt.values_only = 1;
    }
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* Each column's sort buffers (megabytes) are freed and taken again for the next column:
     * served from the heap and never handed back, they are not faulted in afresh each time
     * (measured: a third of the system time, 2 x 200,000 x 100). 32 MiB is glibc's ceiling. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
    pool_for(NULL, 2, 2, read_one, jobs);
    int status = check_read(&jobs[0]);
    if (status == 0)
        status = check_read(&jobs[1]);
    json_t *doc = NULL;
    if (status == 0) {
        struct aiops_error err = AIOPS_ERROR_INIT;
        int rv = drift_tables(&jobs[0].result.table, &jobs[1].result.table, target,
                              (int)threads, &doc, &err);
        if (rv != 0) {
            cli_error("drift", "%s", err.message[0] ? err.message : aiops_strerror(rv));
            status = 2;
        }
    }
    ingest_result_free(&jobs[0].result);
    ingest_result_free(&jobs[1].result);
    if (status != 0)
        return status;
    int drifted = json_integer_value(json_object_get(doc, "number_of_drifted_columns")) > 0;
    return cli_print_json(doc, 1) == 0 ? drifted : 2;
}
