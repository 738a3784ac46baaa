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

/* Uploads file (with ?target= when given) and parses the answer into *answer (NULL when it
 * is not JSON). Returns the HTTP status, or 0 after printing why no answer came. */
int cli_upload(const char *verb, const char *file, const char *target, json_t **answer)
{
    *answer = NULL;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error(verb, "cannot open %s", file);
        return 0;
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
    int status = cli_http_json(verb, "POST", path, "text/csv", NULL, 0, fd, 600, answer);
    close(fd);
    return status;
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
    json_t *j = NULL;
    int status = cli_upload("upload", file, target, &j);
    if (status == 0)
        return 1;
    if (j != NULL)
        cli_print_json(j, 0);
    if (status < 200 || status > 299) {
        cli_error("upload", "HTTP %d", status);
        return 1;
    }
    return 0;
}
