/* `aiops inspect FILE.csv [--target COL] [--delimiter C]`: the upload summary of a local CSV
 * file (the body POST /api/upload would answer, minus file_id and filename), computed
 * without a server. Exits 1 when the file has validation errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/err.h"
#include "data/ingest.h"

static void usage(void)
{
    fprintf(stderr, "usage: aiops inspect FILE.csv [--target COL] [--delimiter C]\n"
                    "  --target COL     the target column (default: clicked, click, label,\n"
                    "                   target or y)\n"
                    "  --delimiter C    one of , ; | or tab (default: sniffed)\n");
}

/* Accepts a single byte or a name for tab. */
int cmd_inspect(int argc, char **argv)
{
    struct ingest_options opt = {0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (strncmp(a, "--target=", 9) == 0 || strncmp(a, "--delimiter=", 12) == 0) {
            val = strchr(a, '=') + 1;
        } else if (strcmp(a, "--target") == 0 || strcmp(a, "--delimiter") == 0) {
            if (i + 1 >= argc) {
                cli_error("inspect", "%s needs a value", a);
                usage();
                return 2;
            }
            val = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cli_error("inspect", "unknown option %s", a);
            usage();
            return 2;
        } else if (path == NULL) {
            path = a;
            continue;
        } else {
            cli_error("inspect", "one file at a time (got %s and %s)", path, a);
            return 2;
        }
        if (strncmp(a, "--target", 8) == 0) {
            opt.target = val;
        } else if (ingest_parse_delimiter(val, &opt.delimiter) != 0) {
            cli_error("inspect", "bad delimiter \"%s\" (one character, or tab)", val);
            return 2;
        }
    }
    if (path == NULL) {
        usage();
        return 2;
    }
    struct ingest_result r;
    int rv = ingest_csv_file(path, &opt, &r);
    if (rv != 0) {
        if (rv == AIOPS_EIO)
            cli_error("inspect", "%s: %s", path, strerror(errno));
        else
            cli_error("inspect", "%s: %s", path, aiops_strerror(rv));
        ingest_result_free(&r);
        return 1;
    }
    json_t *summary;
    rv = ingest_summary_json(&r, &summary);
    int errors = r.n_errors > 0;
    ingest_result_free(&r);
    if (rv != 0) {
        cli_error("inspect", "%s", aiops_strerror(rv));
        return 1;
    }
    if (cli_print_json(summary, 0) != 0)
        return 1;
    return errors ? 1 : 0;
}
