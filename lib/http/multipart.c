/* multipart.c -- multipart/form-data parser. See multipart.h. */

#include "http/multipart.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/err.h"
#include "http/token.h"

/* Parse state: decoded strings are collected in one buffer and referenced by offset until
 * the end, because the buffer may move while it grows. */
#define NO_STR ((size_t)-1)

struct part_tmp {
    size_t name, filename, ctype; /* offsets into strings, or NO_STR */
};

struct mp {
    const uint8_t *b; /* body */
    size_t len;
    struct buf strings;
    struct part_tmp tmp[MULTIPART_MAX_PARTS];
    struct aiops_error *err;
};

static int fail(struct aiops_error *err, int rv, const char *code, size_t offset, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

static int fail(struct aiops_error *err, int rv, const char *code, size_t offset, const char *fmt,
                ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        err->offset = (long)offset;
        va_start(ap, fmt);
        aiops_error_vset(err, rv, NULL, fmt, ap);
        va_end(ap);
    }
    return rv;
}

/* RFC 2046 bchars, space excluded (it may not end a boundary; checked separately). */
static int is_bchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Reads a quoted-string starting at s[*i] == '"' (RFC 9110 5.6.4) into out (unescaped).
 * Returns 0, or -1 on a CTL, a bad escape or a missing closing quote. */
static int quoted_string(const char *s, size_t n, size_t *i, struct buf *out)
{
    size_t k = *i + 1;
    while (k < n) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"') {
            *i = k + 1;
            return 0;
        }
        if (c == '\\') {
            if (k + 1 >= n)
                return -1;
            c = (unsigned char)s[k + 1];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            k += 2;
        } else {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            k++;
        }
        if (buf_putc(out, (char)c) != 0)
            return -2;
    }
    return -1;
}

/* ---- Content-Type of the whole body ------------------------------------------------- */

static int parse_content_type(const char *ct, char *boundary, size_t *blen, struct aiops_error *err)
{
    static const char want[] = "multipart/form-data";
    size_t n = strlen(ct), i = 0;
    while (i < n && is_ows((unsigned char)ct[i]))
        i++;
    /* the media type, then end or something that cannot continue a token */
    if (n - i < sizeof want - 1 || strncasecmp(ct + i, want, sizeof want - 1) != 0 ||
        (n - i > sizeof want - 1 && http_tchar((unsigned char)ct[i + sizeof want - 1])))
        return fail(err, AIOPS_EPARSE, "bad_content_type", i,
                    "Content-Type is not multipart/form-data");
    i += sizeof want - 1;
    int have = 0;
    struct buf v = BUF_INIT;
    int rv = AIOPS_OK;
    for (;;) {
        while (i < n && is_ows((unsigned char)ct[i]))
            i++;
        if (i == n)
            break;
        if (ct[i] != ';') {
            rv = fail(err, AIOPS_EPARSE, "bad_content_type", i, "expected ';' in Content-Type");
            goto out;
        }
        i++;
        while (i < n && is_ows((unsigned char)ct[i]))
            i++;
        if (i == n)
            break; /* a trailing ';' is harmless */
        size_t ns = i;
        while (i < n && http_tchar((unsigned char)ct[i]))
            i++;
        size_t nlen = i - ns;
        if (nlen == 0 || i == n || ct[i] != '=') {
            rv = fail(err, AIOPS_EPARSE, "bad_content_type", i,
                      "malformed parameter in Content-Type");
            goto out;
        }
        i++;
        size_t vs = i;
        buf_reset(&v);
        if (i < n && ct[i] == '"') {
            int q = quoted_string(ct, n, &i, &v);
            if (q == -2) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
            if (q != 0) {
                rv = fail(err, AIOPS_EPARSE, "bad_content_type", vs,
                          "unterminated quoted string in Content-Type");
                goto out;
            }
        } else {
            /* unquoted: a token, leniently extended to any boundary character but space */
            while (i < n && ct[i] != ';' && !is_ows((unsigned char)ct[i]) &&
                   (http_tchar((unsigned char)ct[i]) || is_bchar((unsigned char)ct[i])))
                i++;
            if (buf_append(&v, ct + vs, i - vs) != 0) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
        }
        if (nlen == 8 && strncasecmp(ct + ns, "boundary", 8) == 0) {
            if (have) {
                rv = fail(err, AIOPS_EPARSE, "bad_content_type", ns,
                          "boundary parameter given twice");
                goto out;
            }
            have = 1;
            if (v.len == 0 || v.len > MULTIPART_MAX_BOUNDARY || v.data[v.len - 1] == ' ') {
                rv = fail(err, AIOPS_EPARSE, "bad_boundary", vs,
                          "boundary must be 1..70 characters and not end in a space");
                goto out;
            }
            for (size_t k = 0; k < v.len; k++)
                if (!is_bchar((unsigned char)v.data[k])) {
                    rv = fail(err, AIOPS_EPARSE, "bad_boundary", vs,
                              "boundary has a character outside RFC 2046 bchars");
                    goto out;
                }
            memcpy(boundary, v.data, v.len);
            *blen = v.len;
        }
    }
    if (!have)
        rv = fail(err, AIOPS_EPARSE, "missing_boundary", n,
                  "Content-Type has no boundary parameter");
out:
    buf_free(&v);
    return rv;
}

/* ---- Content-Disposition of one part ------------------------------------------------ */

/* Appends s[0..n) as a NUL-terminated string to strings; *off receives its offset. */
static int add_string(struct mp *m, const char *s, size_t n, size_t *off)
{
    *off = m->strings.len;
    if (buf_append(&m->strings, s, n) != 0 || buf_putc(&m->strings, '\0') != 0)
        return AIOPS_ENOMEM;
    return AIOPS_OK;
}

/* Checks a decoded name or filename and stores it. */
static int store_name(struct mp *m, const char *what, const struct buf *v, size_t at, size_t *off)
{
    if (v->len > MULTIPART_MAX_NAME)
        return fail(m->err, AIOPS_ETOOBIG, "name_too_long", at, "%s is over %d bytes", what,
                    MULTIPART_MAX_NAME);
    if (v->len > 0 && memchr(v->data, '\0', v->len) != NULL)
        return fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at, "%s contains NUL", what);
    if (!utf8_valid(v->data ? v->data : "", v->len, NULL))
        return fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at, "%s is not valid UTF-8",
                    what);
    return add_string(m, v->data ? v->data : "", v->len, off);
}

/* RFC 5987 ext-value: charset "'" [ language ] "'" value-chars. UTF-8 and ISO-8859-1 are
 * decoded into out (as UTF-8); returns 1 for another charset (the caller ignores the
 * parameter), 0 when decoded, -1 when malformed, -2 out of memory. */
static int ext_value(const char *s, size_t n, struct buf *out)
{
    const char *q1 = memchr(s, '\'', n);
    if (q1 == NULL)
        return -1;
    size_t cs = (size_t)(q1 - s);
    const char *q2 = memchr(q1 + 1, '\'', n - cs - 1);
    if (q2 == NULL)
        return -1;
    int latin1;
    if (cs == 5 && strncasecmp(s, "UTF-8", 5) == 0)
        latin1 = 0;
    else if (cs == 10 && strncasecmp(s, "ISO-8859-1", 10) == 0)
        latin1 = 1;
    else if (cs == 0)
        return -1;
    else
        return 1;
    for (size_t i = (size_t)(q2 + 1 - s); i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= n)
                return -1;
            if ((h = hex_value((unsigned char)s[i + 1])) < 0 ||
                (l = hex_value((unsigned char)s[i + 2])) < 0)
                return -1;
            c = (unsigned char)(h * 16 + l);
            i += 2;
        } else if (!(http_tchar(c) && c != '*' && c != '\'' && c != '%')) {
            return -1; /* attr-char only */
        }
        if (latin1 && c >= 0x80) {
            if (buf_putc(out, (char)(0xC0 | (c >> 6))) != 0 ||
                buf_putc(out, (char)(0x80 | (c & 0x3F))) != 0)
                return -2;
        } else if (buf_putc(out, (char)c) != 0) {
            return -2;
        }
    }
    return 0;
}

/* Parses value (n bytes at body offset at) of Content-Disposition into tmp. */
static int parse_disposition(struct mp *m, const char *s, size_t n, size_t at, struct part_tmp *t)
{
    size_t i = 0;
    while (i < n && http_tchar((unsigned char)s[i]))
        i++;
    if (i != 9 || strncasecmp(s, "form-data", 9) != 0)
        return fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at,
                    "Content-Disposition is not form-data");
    struct buf v = BUF_INIT, fn_plain = BUF_INIT, fn_ext = BUF_INIT;
    int have_name = 0, have_fn = 0, have_fnx = 0, fnx_used = 0, rv = AIOPS_OK;
    size_t fn_at = at, fnx_at = at;
    for (;;) {
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        if (s[i] != ';') {
            rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + i,
                      "expected ';' between Content-Disposition parameters");
            goto out;
        }
        i++;
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        size_t ns = i;
        while (i < n && http_tchar((unsigned char)s[i]))
            i++;
        size_t nlen = i - ns;
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        if (nlen == 0 || i == n || s[i] != '=') {
            rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + i,
                      "malformed Content-Disposition parameter");
            goto out;
        }
        i++;
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        size_t vs = i;
        buf_reset(&v);
        int extended = nlen > 0 && s[ns + nlen - 1] == '*';
        if (i < n && s[i] == '"') {
            int q = quoted_string(s, n, &i, &v);
            if (q == -2) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
            if (q != 0) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + vs,
                          "bad quoted string in Content-Disposition");
                goto out;
            }
        } else {
            while (i < n && (http_tchar((unsigned char)s[i]) || (extended && s[i] == '\'')))
                i++;
            if (i == vs) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + vs,
                          "empty Content-Disposition parameter value");
                goto out;
            }
            if (buf_append(&v, s + vs, i - vs) != 0) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
        }
        if (nlen == 4 && strncasecmp(s + ns, "name", 4) == 0) {
            if (have_name++) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + ns,
                          "name given twice");
                goto out;
            }
            if ((rv = store_name(m, "name", &v, at + vs, &t->name)) != 0)
                goto out;
        } else if (nlen == 8 && strncasecmp(s + ns, "filename", 8) == 0) {
            if (have_fn++) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + ns,
                          "filename given twice");
                goto out;
            }
            fn_at = at + vs;
            struct buf tmp = fn_plain;
            fn_plain = v;
            v = tmp;
        } else if (nlen == 9 && strncasecmp(s + ns, "filename*", 9) == 0) {
            if (have_fnx++) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at + ns,
                          "filename* given twice");
                goto out;
            }
            fnx_at = at + vs;
            int e = ext_value(v.data ? v.data : "", v.len, &fn_ext);
            if (e == -2) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
            if (e == -1) {
                rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", fnx_at,
                          "malformed filename* (RFC 5987 ext-value)");
                goto out;
            }
            fnx_used = e == 0;
        }
        /* other parameters (name* included, which RFC 7578 says not to use) are ignored */
    }
    if (!have_name) {
        rv = fail(m->err, AIOPS_EPARSE, "bad_content_disposition", at,
                  "Content-Disposition has no name parameter");
        goto out;
    }
    if (fnx_used)
        rv = store_name(m, "filename*", &fn_ext, fnx_at, &t->filename);
    else if (have_fn)
        rv = store_name(m, "filename", &fn_plain, fn_at, &t->filename);
out:
    buf_free(&v);
    buf_free(&fn_plain);
    buf_free(&fn_ext);
    return rv;
}

/* ---- body framing ------------------------------------------------------------------- */

enum delim { D_NONE, D_PART, D_CLOSE };

/* q is just past "--boundary". Says whether that is a delimiter, and where the part after
 * it starts (D_PART). */
static enum delim delim_tail(const struct mp *m, size_t q, size_t *next)
{
    if (q + 2 <= m->len && m->b[q] == '-' && m->b[q + 1] == '-')
        return D_CLOSE;
    while (q < m->len && is_ows(m->b[q]))
        q++;
    if (q + 2 <= m->len && m->b[q] == '\r' && m->b[q + 1] == '\n') {
        *next = q + 2;
        return D_PART;
    }
    return D_NONE;
}

/* Finds the next CRLF--boundary delimiter at or after from. Returns its offset (the CR) or
 * (size_t)-1, with its kind and the next part's start. */
static size_t find_delim(const struct mp *m, const char *needle, size_t nlen, size_t from,
                         enum delim *kind, size_t *next)
{
    while (from < m->len && m->len - from >= nlen) {
        const uint8_t *hit = memmem(m->b + from, m->len - from, needle, nlen);
        if (hit == NULL)
            break;
        size_t at = (size_t)(hit - m->b);
        *kind = delim_tail(m, at + nlen, next);
        if (*kind != D_NONE)
            return at;
        from = at + 1;
    }
    return (size_t)-1;
}

/* Parses the header section of a part starting at ps; *data_start receives the offset just
 * past the blank line. */
static int parse_part_headers(struct mp *m, size_t ps, size_t idx, struct part_tmp *t,
                              size_t *data_start)
{
    size_t i = ps, limit = ps + MULTIPART_MAX_HEADER_BYTES;
    int have_cd = 0, have_ct = 0;
    if (limit > m->len)
        limit = m->len;
    for (;;) {
        const uint8_t *lf = memchr(m->b + i, '\n', limit - i);
        if (lf == NULL) {
            if (limit < m->len)
                return fail(m->err, AIOPS_ETOOBIG, "header_too_large", ps,
                            "headers of part %zu are over %d bytes", idx + 1,
                            MULTIPART_MAX_HEADER_BYTES);
            return fail(m->err, AIOPS_EPARSE, "unterminated_part", ps,
                        "headers of part %zu never end", idx + 1);
        }
        size_t e = (size_t)(lf - m->b);
        if (e == i || m->b[e - 1] != '\r')
            return fail(m->err, AIOPS_EPARSE, "bad_part_header", e,
                        "part header line ends in a bare LF");
        size_t le = e - 1; /* line is [i, le) */
        if (le == i) {
            *data_start = e + 1;
            break;
        }
        const char *s = (const char *)m->b + i;
        size_t n = le - i, k = 0;
        if (is_ows((unsigned char)s[0]))
            return fail(m->err, AIOPS_EPARSE, "bad_part_header", i,
                        "folded part header line (obs-fold)");
        while (k < n && http_tchar((unsigned char)s[k]))
            k++;
        if (k == 0 || k == n || s[k] != ':')
            return fail(m->err, AIOPS_EPARSE, "bad_part_header", i + k,
                        "part header line is not 'name: value'");
        size_t name_len = k++;
        for (size_t j = k; j < n; j++) {
            unsigned char c = (unsigned char)s[j];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(m->err, AIOPS_EPARSE, "bad_part_header", i + j,
                            "control character in part header");
        }
        while (k < n && is_ows((unsigned char)s[k]))
            k++;
        size_t ve = n;
        while (ve > k && is_ows((unsigned char)s[ve - 1]))
            ve--;
        if (name_len == 19 && strncasecmp(s, "Content-Disposition", 19) == 0) {
            if (have_cd++)
                return fail(m->err, AIOPS_EPARSE, "bad_part_header", i,
                            "Content-Disposition given twice");
            int rv = parse_disposition(m, s + k, ve - k, i + k, t);
            if (rv != 0)
                return rv;
        } else if (name_len == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
            if (have_ct++)
                return fail(m->err, AIOPS_EPARSE, "bad_part_header", i, "Content-Type given twice");
            if (add_string(m, s + k, ve - k, &t->ctype) != 0)
                return AIOPS_ENOMEM;
        }
        i = e + 1;
    }
    if (!have_cd)
        return fail(m->err, AIOPS_EPARSE, "missing_content_disposition", ps,
                    "part %zu has no Content-Disposition", idx + 1);
    return AIOPS_OK;
}

int multipart_parse(const char *content_type, const void *body, size_t len,
                    struct multipart_form *out, struct aiops_error *err)
{
    char boundary[MULTIPART_MAX_BOUNDARY + 1];
    char needle[MULTIPART_MAX_BOUNDARY + 4]; /* CRLF "--" boundary */
    size_t blen = 0;
    int rv;
    memset(out, 0, sizeof *out);
    aiops_error_clear(err);
    if (content_type == NULL)
        return fail(err, AIOPS_EPARSE, "bad_content_type", 0, "no Content-Type");
    if ((rv = parse_content_type(content_type, boundary, &blen, err)) != 0)
        return rv;
    if (body == NULL)
        len = 0;

    struct mp *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->b = body;
    m->len = len;
    m->err = err;
    memcpy(needle, "\r\n--", 4);
    memcpy(needle + 4, boundary, blen);
    size_t nlen = blen + 4;

    /* the first delimiter may open the body (no CRLF before it) */
    enum delim kind = D_NONE;
    size_t next = 0, at;
    if (len >= nlen - 2 && memcmp(m->b, needle + 2, nlen - 2) == 0)
        kind = delim_tail(m, nlen - 2, &next);
    if (kind == D_NONE) {
        at = find_delim(m, needle, nlen, 0, &kind, &next);
        if (at == (size_t)-1) {
            rv = fail(err, AIOPS_EPARSE, "no_parts", 0, "no delimiter line for the boundary");
            goto out;
        }
    }
    if (kind == D_CLOSE) {
        rv = fail(err, AIOPS_EPARSE, "no_parts", next, "the body has no parts");
        goto out;
    }
    size_t n = 0;
    for (;;) {
        if (n == MULTIPART_MAX_PARTS) {
            rv = fail(err, AIOPS_ETOOBIG, "too_many_parts", next, "more than %d parts",
                      MULTIPART_MAX_PARTS);
            goto out;
        }
        struct part_tmp *t = &m->tmp[n];
        t->name = t->filename = t->ctype = NO_STR;
        size_t ds = 0;
        if ((rv = parse_part_headers(m, next, n, t, &ds)) != 0)
            goto out;
        /* From the blank line's CRLF: a part with no data may let that CRLF double as the
         * delimiter's ("...\r\n\r\n--b"), which is then an empty part. */
        at = find_delim(m, needle, nlen, ds - 2, &kind, &next);
        if (at == (size_t)-1) {
            rv = fail(err, AIOPS_EPARSE, "unterminated_part", ds,
                      "part %zu is not closed by a delimiter line", n + 1);
            goto out;
        }
        struct multipart_part *p = &out->parts[n];
        p->data = m->b + ds;
        p->offset = ds;
        p->len = at >= ds ? at - ds : 0;
        n++;
        if (kind == D_CLOSE)
            break;
    }
    /* everything after the close delimiter is epilogue */
    out->nparts = n;
    out->strings = buf_detach(&m->strings, NULL);
    if (out->strings == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct part_tmp *t = &m->tmp[i];
        out->parts[i].name = out->strings + t->name;
        out->parts[i].filename = t->filename == NO_STR ? NULL : out->strings + t->filename;
        out->parts[i].content_type = t->ctype == NO_STR ? NULL : out->strings + t->ctype;
    }
    rv = AIOPS_OK;
out:
    buf_free(&m->strings);
    free(m);
    if (rv != AIOPS_OK)
        multipart_form_free(out);
    return rv;
}

const struct multipart_part *multipart_find(const struct multipart_form *form, const char *name)
{
    for (size_t i = 0; i < form->nparts; i++)
        if (strcmp(form->parts[i].name, name) == 0)
            return &form->parts[i];
    return NULL;
}

void multipart_form_free(struct multipart_form *form)
{
    free(form->strings);
    memset(form, 0, sizeof *form);
}
