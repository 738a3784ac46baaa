/* Unit tests for lib/rpc/envelope.c: the protobuf-c wire messages between gateway and services. */

#include <nng/nng.h>

#include "core/err.h"
#include "rpc/envelope.h"
#include "unit.h"

static void test_request_round_trip(void)
{
    Aiops__Request m = AIOPS__REQUEST__INIT;
    Aiops__Principal p = AIOPS__PRINCIPAL__INIT;
    char *scopes[] = {"read", "write"};
    p.subject = "key:1";
    p.project = "team-a";
    p.scopes = scopes;
    p.n_scopes = 2;
    p.method = "api_key";
    Aiops__Header h1 = AIOPS__HEADER__INIT, h2 = AIOPS__HEADER__INIT;
    h1.name = "Content-Type";
    h1.value = "text/csv";
    h2.name = "X-Thing";
    h2.value = "\xea\xb0\x80";
    Aiops__Header *hs[] = {&h1, &h2};
    char *params[] = {"abc%20d"};
    static const uint8_t body[] = {'a', ',', 'b', '\n', 0, 0xff};
    m.request_id = "rid-1";
    m.principal = &p;
    m.deadline_ms = 1763800000123;
    m.method = "POST";
    m.path = "/api/upload";
    m.query = "target=y";
    m.headers = hs;
    m.n_headers = 2;
    m.body.data = (uint8_t *)body;
    m.body.len = sizeof body;
    m.route = "upload";
    m.path_params = params;
    m.n_path_params = 1;
    nng_msg *msg = NULL;
    CHECK_INT(envelope_pack_request(&m, &msg), 0);
    CHECK_INT(m.version, PROTOCOL_VERSION);
    Aiops__Request *back = NULL;
    CHECK_INT(envelope_unpack_request(nng_msg_body(msg), nng_msg_len(msg), &back), 0);
    CHECK_STR(back->request_id, "rid-1");
    CHECK_STR(back->principal->project, "team-a");
    CHECK_INT(back->principal->n_scopes, 2);
    CHECK_INT(back->deadline_ms, 1763800000123);
    CHECK_STR(back->route, "upload");
    CHECK_STR(back->path_params[0], "abc%20d");
    CHECK_MEM(back->body.data, back->body.len, body, sizeof body);
    CHECK_STR(envelope_header(back, "content-type"), "text/csv");
    CHECK(envelope_header(back, "missing") == NULL);
    CHECK(envelope_has_scope(back->principal, "write"));
    CHECK(!envelope_has_scope(back->principal, "admin"));
    aiops__request__free_unpacked(back, NULL);
    nng_msg_free(msg);
}

static void test_admin_scope_covers_everything(void)
{
    Aiops__Principal p = AIOPS__PRINCIPAL__INIT;
    char *scopes[] = {"admin"};
    p.scopes = scopes;
    p.n_scopes = 1;
    CHECK(envelope_has_scope(&p, "predict"));
    CHECK(!envelope_has_scope(NULL, "read"));
}

static void test_response_and_event(void)
{
    Aiops__Response r = AIOPS__RESPONSE__INIT;
    r.request_id = "x";
    r.status = 413;
    r.content_type = "application/json";
    r.body.data = (uint8_t *)"{}";
    r.body.len = 2;
    nng_msg *msg;
    CHECK_INT(envelope_pack_response(&r, &msg), 0);
    Aiops__Response *rb;
    CHECK_INT(envelope_unpack_response(nng_msg_body(msg), nng_msg_len(msg), &rb), 0);
    CHECK_INT(rb->status, 413);
    CHECK_MEM(rb->body.data, rb->body.len, "{}", 2);
    aiops__response__free_unpacked(rb, NULL);
    nng_msg_free(msg);

    Aiops__Event e = AIOPS__EVENT__INIT;
    e.topic = "/ws/training/r1";
    e.type = "epoch_update";
    e.project = "p";
    e.payload.data = (uint8_t *)"{\"epoch\":5}";
    e.payload.len = 11;
    CHECK_INT(envelope_pack_event(&e, &msg), 0);
    Aiops__Event *eb;
    CHECK_INT(envelope_unpack_event(nng_msg_body(msg), nng_msg_len(msg), &eb), 0);
    CHECK_STR(eb->topic, "/ws/training/r1");
    CHECK_STR(eb->project, "p");
    CHECK_INT(eb->payload.len, 11);
    aiops__event__free_unpacked(eb, NULL);
    nng_msg_free(msg);
}

static void test_garbage_and_other_versions_are_refused(void)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    Aiops__Request *m = NULL;
    CHECK_INT(envelope_unpack_request(garbage, sizeof garbage, &m), AIOPS_EPARSE);
    CHECK(m == NULL);
    /* a well-formed message of another protocol version */
    Aiops__Request r = AIOPS__REQUEST__INIT;
    r.version = PROTOCOL_VERSION + 1;
    r.route = "health";
    uint8_t buf[64];
    size_t n = aiops__request__pack(&r, buf);
    CHECK_INT(envelope_unpack_request(buf, n, &m), AIOPS_EUNSUPPORTED);
    /* a truncated one */
    Aiops__Request ok = AIOPS__REQUEST__INIT;
    ok.route = "health";
    ok.path = "/a/long/enough/path";
    nng_msg *msg;
    CHECK_INT(envelope_pack_request(&ok, &msg), 0);
    CHECK_INT(envelope_unpack_request(nng_msg_body(msg), nng_msg_len(msg) - 3, &m), AIOPS_EPARSE);
    nng_msg_free(msg);
}

UNIT_MAIN(UNIT(test_request_round_trip), UNIT(test_admin_scope_covers_everything),
          UNIT(test_response_and_event), UNIT(test_garbage_and_other_versions_are_refused))
