/* `aiops profile FILE.csv [--target COL] [--delimiter C] [--bins N] [--top N] [--compact]`:
 * reads a CSV locally and prints its profile (lib/data/profile.h) as JSON. */

#include "data/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/err.h"
#include "data/ingest.h"

static const char usage[] =
    "usage: aiops profile FILE.csv [--target COL] [--delimiter C] [--bins N] [--top N] "
    "[--compact]\n"
    "  --target COL     the target column (default: clicked, click, label, target or y)\n"
    "  --delimiter C    one of , ; | or tab (default: sniffed)\n"
    "  --bins N         histogram bins (default 20, at most 1000)\n"
    "  --top N          top values per column (default 20, at most 1000)\n"
    "  --compact        one-line JSON\n";

static int parse_count(const char *s, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v == 0 || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cmd_profile(int argc, char **argv)
{
    const char *path = NULL;
    struct ingest_options io = {0};
    struct profile_options po = {0};
    int compact = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--target") == 0 && has_value) {
            io.target = argv[++i];
        } else if (strcmp(a, "--delimiter") == 0 && has_value) {
            if (ingest_parse_delimiter(argv[++i], &io.delimiter) != 0) {
                cli_error("profile", "--delimiter must be one of , ; | tab, not \"%s\"", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--bins") == 0 && has_value) {
            if (parse_count(argv[++i], 1000, &po.hist_bins) != 0) {
                cli_error("profile", "--bins takes a number from 1 to 1000");
                return 2;
            }
        } else if (strcmp(a, "--top") == 0 && has_value) {
            if (parse_count(argv[++i], 1000, &po.top_k) != 0) {
                cli_error("profile", "--top takes a number from 1 to 1000");
                return 2;
            }
        } else if (strcmp(a, "--compact") == 0) {
            compact = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("profile", "unknown option or missing value: %s", a);
            fputs(usage, stderr);
            return 2;
        } else if (path == NULL) {
            path = a;
        } else {
            cli_error("profile", "one file only (got \"%s\" and \"%s\")", path, a);
            return 2;
        }
    }
    if (path == NULL) {
        fputs(usage, stderr);
        return 2;
    }

    struct ingest_result r;
    int rv = ingest_csv_file(path, &io, &r);
    if (rv != 0) {
        cli_error("profile", "%s: %s", path,
                  rv == AIOPS_EIO ? strerror(errno) : aiops_strerror(rv));
        ingest_result_free(&r);
        return 1;
    }
    if (r.n_errors > 0) {
        size_t shown = 0;
        for (size_t i = 0; i < r.n_issues; i++) {
            const struct ingest_issue *is = &r.issues[i];
            if (is->severity != ISSUE_ERROR)
                continue;
            shown++;
            if (is->line > 0)
                cli_error("profile", "%s:%ld: %s: %s", path, is->line, is->code, is->message);
            else
                cli_error("profile", "%s: %s: %s", path, is->code, is->message);
        }
        if (r.n_errors > shown)
            cli_error("profile", "%s: %zu more errors not shown", path, r.n_errors - shown);
        ingest_result_free(&r);
        return 1;
    }
    json_t *doc = NULL;
    rv = profile_compute(&r.table, r.target, &po, &doc);
    ingest_result_free(&r);
    if (rv != 0) {
        cli_error("profile", "%s: %s", path, aiops_strerror(rv));
        return 1;
    }
    return cli_print_json(doc, compact) == 0 ? 0 : 1;
}
