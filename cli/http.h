/* http.h -- the command line's HTTP client (libevent's evhttp client, one request at a
 * time, blocking until the answer). */
#ifndef AIOPS_CLI_HTTP_H
#define AIOPS_CLI_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

struct cli_response {
    int status;      /* HTTP status; 0 when no answer */
    struct buf body; /* owned; buf_free() it */
    char content_type[128];
};

/* Sends method path_and_query to cli_globals.url with the credentials of cli_globals.
 * The body is `body_len` bytes from memory or, when body_fd >= 0, the whole file (sent
 * without reading it into memory). AIOPS_EUNAVAIL when the gateway cannot be reached,
 * AIOPS_ETIMEDOUT after timeout_s seconds. */
int cli_http(const char *method, const char *path_and_query, const char *content_type,
             const void *body, size_t body_len, int body_fd, int timeout_s,
             struct cli_response *out);

/* cli_http for verb, the answer parsed into *out (NULL when it is not JSON). Returns the
 * HTTP status, or 0 after printing that no answer came. */
int cli_http_json(const char *verb, const char *method, const char *path_and_query,
                  const char *content_type, const void *body, size_t body_len, int body_fd,
                  int timeout_s, json_t **out);

#endif
