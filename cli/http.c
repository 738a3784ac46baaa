#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "cli.h"
#include "core/err.h"

struct pending {
    struct cli_response *out;
    struct event_base *base;
    int done;
    int failed;
};

static void on_done(struct evhttp_request *req, void *arg)
{
    struct pending *p = arg;
    p->done = 1;
    /* the connection stays open (keep-alive): stop the loop ourselves */
    event_base_loopexit(p->base, NULL);
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        p->failed = 1;
        return;
    }
    p->out->status = evhttp_request_get_response_code(req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    snprintf(p->out->content_type, sizeof p->out->content_type, "%s", ct ? ct : "");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (buf_reserve(&p->out->body, n) == 0) {
        evbuffer_remove(in, p->out->body.data + p->out->body.len, n);
        p->out->body.len += n;
        p->out->body.data[p->out->body.len] = '\0';
    }
}

int cli_http(const char *method, const char *path_and_query, const char *content_type,
             const void *body, size_t body_len, int body_fd, int timeout_s,
             struct cli_response *out)
{
    memset(out, 0, sizeof *out);
    struct evhttp_uri *uri = evhttp_uri_parse(cli_globals.url);
    if (uri == NULL || evhttp_uri_get_host(uri) == NULL) {
        fprintf(stderr, "aiops: bad --url %s\n", cli_globals.url);
        evhttp_uri_free(uri);
        return AIOPS_EINVAL;
    }
    const char *host = evhttp_uri_get_host(uri);
    int port = evhttp_uri_get_port(uri);
    if (port < 0)
        port = 80;
    struct event_base *base = event_base_new();
    struct evhttp_connection *con = evhttp_connection_base_new(base, NULL, host, (ev_uint16_t)port);
    evhttp_connection_set_timeout(con, timeout_s);
    struct pending p = {out, base, 0, 0};
    struct evhttp_request *req = evhttp_request_new(on_done, &p);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", host);
    evhttp_add_header(h, "User-Agent", "aiops-cli/" AIOPS_VERSION);
    evhttp_add_header(h, "Accept", "application/json");
    if (content_type)
        evhttp_add_header(h, "Content-Type", content_type);
    if (cli_globals.api_key)
        evhttp_add_header(h, "X-API-Key", cli_globals.api_key);
    if (cli_globals.token) {
        char authz[9000];
        snprintf(authz, sizeof authz, "Bearer %s", cli_globals.token);
        evhttp_add_header(h, "Authorization", authz);
    }
    struct evbuffer *ob = evhttp_request_get_output_buffer(req);
    if (body_fd >= 0) {
        struct stat st;
        if (fstat(body_fd, &st) != 0 || evbuffer_add_file(ob, body_fd, 0, st.st_size) != 0) {
            evhttp_request_free(req);
            evhttp_connection_free(con);
            event_base_free(base);
            evhttp_uri_free(uri);
            return AIOPS_EIO;
        }
    } else if (body_len) {
        evbuffer_add(ob, body, body_len);
    }
    enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    if (strcmp(method, "POST") == 0)
        cmd = EVHTTP_REQ_POST;
    else if (strcmp(method, "DELETE") == 0)
        cmd = EVHTTP_REQ_DELETE;
    else if (strcmp(method, "PUT") == 0)
        cmd = EVHTTP_REQ_PUT;
    char path[4096];
    const char *base_path = evhttp_uri_get_path(uri);
    size_t bl = base_path ? strlen(base_path) : 0;
    while (bl > 0 && base_path[bl - 1] == '/')
        bl--;
    snprintf(path, sizeof path, "%.*s%s", (int)bl, base_path ? base_path : "", path_and_query);
    int rv = AIOPS_OK;
    if (evhttp_make_request(con, req, cmd, path) != 0) {
        rv = AIOPS_EUNAVAIL;
    } else {
        event_base_dispatch(base);
        if (!p.done || p.failed)
            rv = AIOPS_EUNAVAIL;
    }
    evhttp_connection_free(con);
    event_base_free(base);
    evhttp_uri_free(uri);
    return rv;
}

int cli_http_json(const char *verb, const char *method, const char *path_and_query,
                  const char *content_type, const void *body, size_t body_len, int body_fd,
                  int timeout_s, json_t **out)
{
    *out = NULL;
    struct cli_response resp;
    int rv = cli_http(method, path_and_query, content_type, body, body_len, body_fd, timeout_s,
                      &resp);
    if (rv != 0) {
        cli_error(verb, "no answer from %s", cli_globals.url);
        buf_free(&resp.body);
        return 0;
    }
    json_error_t e;
    *out = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, &e);
    buf_free(&resp.body);
    return resp.status;
}
