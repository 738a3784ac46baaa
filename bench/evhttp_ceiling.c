/* The ceiling for the gateway benchmark: the least an evhttp server can do per request
 * (one loop, a fixed JSON body, no routing, no logging). Built and run by
 * bench/gateway_bench.sh; not part of the product. */
#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    static const char body[] = "{\"status\":\"healthy\"}";
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_reference(b, body, sizeof body - 1, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 8099;
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, on_request, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
        fprintf(stderr, "cannot bind %d\n", port);
        return 1;
    }
    event_base_dispatch(base);
    return 0;
}
