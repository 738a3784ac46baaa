/* console.c -- the web console's static files (web/), served by the gateway at / and
 * /console/{file}, /console/{dir}/{file}.
 *
 * The files are read from CONSOLE_DIR, else from the first web/ found beside the binary
 * or up to three folders above it (bin/ and build/<mode>/bin/ in a clone), else from
 * /usr/local/share/aiops/web (the container image). A path segment may hold only
 * [A-Za-z0-9._-] and may not start with a dot, so no request can name a file outside that
 * folder ("..", "%2e%2e", a slash encoded as %2f are all refused before anything is
 * opened); the final component is opened with O_NOFOLLOW. */

#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/http.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "gw.h"

#define CONSOLE_SEGMENT_MAX 128
#define CONSOLE_FILE_MAX (8u << 20)
/* below this, gzip's header and trailer eat most of what compression saves */
#define CONSOLE_GZIP_MIN 512

static char console_root[PATH_MAX];
static int console_root_resolved;

static int dir_has_index(const char *dir)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof p, "%s/index.html", dir);
    return n > 0 && (size_t)n < sizeof p && access(p, R_OK) == 0;
}

/* The exe's folder, then up to three parents, each with "/web" appended. */
static int find_beside_binary(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (slash == NULL)
            return -1;
        *slash = '\0';
        char cand[PATH_MAX];
        int k = snprintf(cand, sizeof cand, "%s/web", exe[0] ? exe : "");
        if (k > 0 && (size_t)k < sizeof cand && dir_has_index(cand)) {
            snprintf(out, cap, "%s", cand);
            return 0;
        }
    }
    return -1;
}

const char *console_dir(void)
{
    if (console_root_resolved)
        return console_root[0] ? console_root : NULL;
    console_root_resolved = 1;
    const char *env = getenv("CONSOLE_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(console_root, sizeof console_root, "%s", env);
    } else if (find_beside_binary(console_root, sizeof console_root) != 0) {
        const char *shared = "/usr/local/share/aiops/web";
        snprintf(console_root, sizeof console_root, "%s", dir_has_index(shared) ? shared : "");
    }
    if (console_root[0])
        log_info("console: serving %s", console_root);
    else
        log_warn("console: no web/ folder found (set CONSOLE_DIR); / answers 404");
    return console_root[0] ? console_root : NULL;
}

int console_segment_ok(const char *seg, size_t len)
{
    if (len == 0 || len > CONSOLE_SEGMENT_MAX || seg[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = seg[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

const char *console_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static int type_compressible(const char *type)
{
    return strncmp(type, "text/", 5) == 0 || strcmp(type, "application/json") == 0 ||
           strcmp(type, "image/svg+xml") == 0;
}

int console_accepts_gzip(const char *accept_encoding)
{
    if (accept_encoding == NULL)
        return 0;
    /* a list of "coding[;q=x]" items; gzip with q=0 means "never gzip" */
    const char *p = accept_encoding;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        size_t n = (size_t)(p - start);
        if (n >= 4 && strncasecmp(start, "gzip", 4) == 0 &&
            (n == 4 || start[4] == ';' || start[4] == ' ')) {
            const char *q = memchr(start, '=', n);
            if (q == NULL)
                return 1;
            return strtod(q + 1, NULL) > 0.0;
        }
    }
    return 0;
}

int console_gzip(const void *in, size_t len, struct buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 16: a gzip wrapper rather than zlib's */
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&zs, (uLong)len);
    unsigned char *dst = malloc(bound);
    if (dst == NULL) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = dst;
    zs.avail_out = (uInt)bound;
    int rv = deflate(&zs, Z_FINISH);
    size_t produced = (size_t)zs.total_out;
    deflateEnd(&zs);
    if (rv != Z_STREAM_END) {
        free(dst);
        return -1;
    }
    buf_free(out);
    out->data = (char *)dst;
    out->len = produced;
    out->cap = bound;
    return 0;
}

/* Reads root/rel into out; returns 0, or -1 when it is not a readable regular file. */
static int read_console_file(const char *rel, struct buf *out, struct stat *st)
{
    const char *root = console_dir();
    if (root == NULL)
        return -1;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n <= 0 || (size_t)n >= sizeof path)
        return -1;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rv = -1;
    if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && (size_t)st->st_size <= CONSOLE_FILE_MAX) {
        size_t size = (size_t)st->st_size;
        char *data = malloc(size ? size : 1);
        size_t got = 0;
        while (data != NULL && got < size) {
            ssize_t k = read(fd, data + got, size - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        if (data != NULL && got == size) {
            buf_free(out);
            out->data = data;
            out->len = size;
            out->cap = size ? size : 1;
            rv = 0;
        } else {
            free(data);
        }
    }
    close(fd);
    return rv;
}

/* The relative path the request names (index.html for /), or -1 when a segment is not
 * allowed. */
static int console_rel_path(const struct gw_req *r, char *rel, size_t cap)
{
    if (r->params.n == 0) {
        snprintf(rel, cap, "index.html");
        return 0;
    }
    size_t used = 0;
    rel[0] = '\0';
    for (int i = 0; i < r->params.n; i++) {
        if (!console_segment_ok(r->params.value[i], r->params.len[i]))
            return -1;
        int k = snprintf(rel + used, cap - used, "%s%.*s", i ? "/" : "", (int)r->params.len[i],
                         r->params.value[i]);
        if (k < 0 || (size_t)k >= cap - used)
            return -1;
        used += (size_t)k;
    }
    return 0;
}

/* A strong validator of the bytes as sent: SHA-256 of the file, cut to 16 hex digits,
 * with "-gz" for the gzip variant (a different representation needs a different tag). */
static void console_etag(const struct buf *file, int gz, char *out, size_t cap)
{
    uint8_t digest[32];
    sha256(file->data, file->len, digest);
    char hex[17];
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(out, cap, "\"%s%s\"", hex, gz ? "-gz" : "");
}

static int etag_matches(const char *if_none_match, const char *etag)
{
    if (if_none_match == NULL)
        return 0;
    if (strcmp(if_none_match, "*") == 0)
        return 1;
    /* a list; weak comparison (W/ prefixes ignored), as RFC 9110 asks for If-None-Match */
    size_t n = strlen(etag);
    for (const char *p = strstr(if_none_match, etag); p; p = strstr(p + 1, etag))
        if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
            return 1;
    return 0;
}

void console_serve(struct gw_req *r)
{
    char rel[2 * CONSOLE_SEGMENT_MAX + 2];
    struct buf file = BUF_INIT;
    struct stat st;
    if (console_rel_path(r, rel, sizeof rel) != 0 || read_console_file(rel, &file, &st) != 0) {
        buf_free(&file);
        gw_reply_error(r, API_NOT_FOUND, "no such console file",
                       json_pack("{s:s}", "path", r->path));
        return;
    }
    const char *type = console_content_type(rel);
    struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    int gz = type_compressible(type) && file.len >= CONSOLE_GZIP_MIN &&
             console_accepts_gzip(evhttp_find_header(in, "Accept-Encoding"));
    char etag[32];
    console_etag(&file, gz, etag, sizeof etag);
    evhttp_add_header(out, "ETag", etag);
    if (type_compressible(type))
        evhttp_add_header(out, "Vary", "Accept-Encoding");
    /* the file names carry no version: every use revalidates (a 304 costs one round trip),
     * so a new console is seen at once after an upgrade */
    evhttp_add_header(out, "Cache-Control", "no-cache");
    if (strncmp(type, "text/html", 9) == 0) {
        evhttp_add_header(out, "Content-Security-Policy",
                          "default-src 'self'; connect-src 'self' ws: wss:; "
                          "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                          "frame-ancestors 'none'");
        evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    }
    if (etag_matches(evhttp_find_header(in, "If-None-Match"), etag)) {
        buf_free(&file);
        gw_reply(r, 304, NULL, NULL, 0);
        return;
    }
    if (gz && console_gzip(file.data, file.len, &file) == 0)
        evhttp_add_header(out, "Content-Encoding", "gzip");
    else if (gz) /* compression failed: the tag said gzip, send it plain with its own */
        evhttp_remove_header(out, "ETag");
    /* evhttp leaves a HEAD's body out and, with it, the length: say what a GET would get */
    if (strcmp(r->method, "HEAD") == 0) {
        char length[24];
        snprintf(length, sizeof length, "%zu", file.len);
        evhttp_add_header(out, "Content-Length", length);
    }
    gw_reply(r, 200, type, file.data, file.len);
    buf_free(&file);
}
