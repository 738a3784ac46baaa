/* console.h -- the web console's static files (web/), served by the gateway. */
#ifndef AIOPS_GW_CONSOLE_H
#define AIOPS_GW_CONSOLE_H

#include <stddef.h>

struct buf;
struct gw_req;

/* Answers GET/HEAD / and /console/...: the file with its content type, ETag (304 on
 * If-None-Match), Cache-Control, gzip when accepted; 404 JSON for anything else. */
void console_serve(struct gw_req *r);

/* The folder served (CONSOLE_DIR, else web/ near the binary, else the installed copy);
 * NULL when none exists. Resolved once. */
const char *console_dir(void);

/* 1 when a raw (still percent-encoded) path segment may name a console file: only
 * [A-Za-z0-9._-], not starting with a dot, at most 128 bytes. */
int console_segment_ok(const char *seg, size_t len);

/* The Content-Type for a file name, by its extension. */
const char *console_content_type(const char *name);

/* 1 when an Accept-Encoding value accepts gzip (with a q above 0). */
int console_accepts_gzip(const char *accept_encoding);

/* Replaces out with the gzip encoding of in (out may hold in); 0 or -1. */
int console_gzip(const void *in, size_t len, struct buf *out);

#endif
