/* aiops upload FILE.csv [--target COL] -- sends a CSV to the gateway's POST /api/upload and
 * prints the answer. Exit status 0 on 2xx, 1 otherwise. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/jsonx.h"
#include "http.h"
#include "http/url.h"

/* Percent-encodes s for a query value. */
static void qencode(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

int cmd_upload(int argc, char **argv)
{
    const char *file = NULL, *target = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc)
            target = argv[++i];
        else if (argv[i][0] != '-' && file == NULL)
            file = argv[i];
        else {
            cli_error("upload", "usage: aiops upload FILE.csv [--target COL]");
            return 2;
        }
    }
    if (file == NULL) {
        cli_error("upload", "usage: aiops upload FILE.csv [--target COL]");
        return 2;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("upload", "cannot open %s", file);
        return 1;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char path[2048], enc[900], tenc[600];
    qencode(enc, sizeof enc, base);
    if (target) {
        qencode(tenc, sizeof tenc, target);
        snprintf(path, sizeof path, "/api/upload?filename=%s&target=%s", enc, tenc);
    } else {
        snprintf(path, sizeof path, "/api/upload?filename=%s", enc);
    }
    struct cli_response resp;
    int rv = cli_http("POST", path, "text/csv", NULL, 0, fd, 600, &resp);
    close(fd);
    if (rv != 0) {
        cli_error("upload", "no answer from %s", cli_globals.url);
        buf_free(&resp.body);
        return 1;
    }
    json_error_t e;
    json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &e);
    if (j != NULL)
        cli_print_json(j, 0);
    else
        printf("%s\n", resp.body.data ? resp.body.data : "");
    buf_free(&resp.body);
    if (resp.status < 200 || resp.status > 299) {
        cli_error("upload", "HTTP %d", resp.status);
        return 1;
    }
    return 0;
}
