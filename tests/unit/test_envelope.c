/* Unit tests for lib/rpc/envelope.c: the protobuf-c wire messages between gateway and services. */

#include <nng/nng.h>

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/time.h"
#include "rpc/envelope.h"
#include "unit.h"

/* The key both ends of these tests share. */
static const struct envelope_key *shared_key(void)
{
    static struct envelope_key key;
    if (key.len == 0)
        CHECK_INT(envelope_key_init(&key, "0123456789abcdef0123456789abcdef-secret"), 0);
    return &key;
}

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
    CHECK_INT(envelope_pack_request(shared_key(), &m, &msg), 0);
    CHECK_INT(m.version, PROTOCOL_VERSION);
    Aiops__Request *back = NULL;
    CHECK_INT(envelope_unpack_request(shared_key(), nng_msg_body(msg), nng_msg_len(msg), &back), 0);
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
    /* the same request packed first (as a call waiting for a batch) and sealed alone later:
     * the same bytes between the seals, served as the one-call form */
    ProtobufCBinaryData packed = {0, NULL};
    CHECK_INT(envelope_request_to_bytes(&m, &packed), 0);
    nng_msg *alone = NULL;
    CHECK_INT(envelope_seal_request(shared_key(), &packed, &alone), 0);
    CHECK_INT(nng_msg_len(alone), nng_msg_len(msg));
    CHECK_MEM((uint8_t *)nng_msg_body(alone) + 12, nng_msg_len(alone) - ENVELOPE_SEAL_BYTES,
              (uint8_t *)nng_msg_body(msg) + 12, nng_msg_len(msg) - ENVELOPE_SEAL_BYTES);
    CHECK(!envelope_is_batch(nng_msg_body(alone), nng_msg_len(alone)));
    CHECK_INT(envelope_unpack_request(shared_key(), nng_msg_body(alone), nng_msg_len(alone), &back),
              0);
    CHECK_STR(back->request_id, "rid-1");
    CHECK_MEM(back->body.data, back->body.len, body, sizeof body);
    aiops__request__free_unpacked(back, NULL);
    /* tampered after sealing: refused */
    ((uint8_t *)nng_msg_body(alone))[20] ^= 1;
    back = NULL;
    CHECK_INT(envelope_unpack_request(shared_key(), nng_msg_body(alone), nng_msg_len(alone), &back),
              AIOPS_EAUTH);
    CHECK(back == NULL);
    nng_msg_free(alone);
    free(packed.data);
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
    CHECK_INT(envelope_pack_response(shared_key(), &r, &msg), 0);
    Aiops__Response *rb;
    CHECK_INT(envelope_unpack_response(shared_key(), nng_msg_body(msg), nng_msg_len(msg), &rb), 0);
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
    CHECK_INT(envelope_pack_event(shared_key(), &e, &msg), 0);
    Aiops__Event *eb;
    CHECK_INT(envelope_unpack_event(shared_key(), nng_msg_body(msg), nng_msg_len(msg), &eb), 0);
    CHECK_STR(eb->topic, "/ws/training/r1");
    CHECK_STR(eb->project, "p");
    CHECK_INT(eb->payload.len, 11);
    aiops__event__free_unpacked(eb, NULL);
    nng_msg_free(msg);
}

/* Seals n payload bytes by hand, as a peer holding the key (or not) would, sent at sent_ms. */
static size_t seal_by_hand(const char *secret, int64_t sent_ms, const uint8_t *payload, size_t n,
                           uint8_t *out)
{
    memcpy(out, "AIO1", 4);
    bytes_store_le64(out + 4, (uint64_t)sent_ms);
    memcpy(out + 12, payload, n);
    hmac_sha256(secret, strlen(secret), out, 12 + n, out + 12 + n);
    return n + ENVELOPE_SEAL_BYTES;
}

static void test_garbage_and_other_versions_are_refused(void)
{
    static const char *secret = "0123456789abcdef0123456789abcdef-secret";
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    uint8_t buf[256];
    Aiops__Request *m = NULL;
    size_t n = seal_by_hand(secret, time_now_ms(), garbage, sizeof garbage, buf);
    CHECK_INT(envelope_unpack_request(shared_key(), buf, n, &m), AIOPS_EPARSE);
    CHECK(m == NULL);
    /* a well-formed, sealed message of another protocol version */
    Aiops__Request r = AIOPS__REQUEST__INIT;
    r.version = PROTOCOL_VERSION + 1;
    r.route = "health";
    uint8_t pb[64];
    n = seal_by_hand(secret, time_now_ms(), pb, aiops__request__pack(&r, pb), buf);
    CHECK_INT(envelope_unpack_request(shared_key(), buf, n, &m), AIOPS_EUNSUPPORTED);
    /* a truncated one fails its seal */
    Aiops__Request ok = AIOPS__REQUEST__INIT;
    ok.route = "health";
    ok.path = "/a/long/enough/path";
    nng_msg *msg;
    CHECK_INT(envelope_pack_request(shared_key(), &ok, &msg), 0);
    CHECK_INT(envelope_unpack_request(shared_key(), nng_msg_body(msg), nng_msg_len(msg) - 3, &m),
              AIOPS_EAUTH);
    nng_msg_free(msg);
}

/* The seal: only the shared secret makes a message a peer believes, within the window. */
static void test_seal_refuses_strangers_tampering_and_replays(void)
{
    Aiops__Request r = AIOPS__REQUEST__INIT;
    Aiops__Principal p = AIOPS__PRINCIPAL__INIT;
    p.project = "victim";
    r.principal = &p;
    r.route = "datasets.list";
    r.version = PROTOCOL_VERSION;
    uint8_t pb[128], buf[256];
    size_t pn = aiops__request__pack(&r, pb);
    Aiops__Request *m = NULL;
    /* a bare protobuf message, as a 30-line nng client would send it */
    CHECK_INT(envelope_unpack_request(shared_key(), pb, pn, &m), AIOPS_EAUTH);
    /* sealed with another secret */
    size_t n = seal_by_hand("another-secret-of-at-least-32-bytes!!", time_now_ms(), pb, pn, buf);
    CHECK_INT(envelope_unpack_request(shared_key(), buf, n, &m), AIOPS_EAUTH);
    /* the right secret, then one byte changed anywhere */
    const char *secret = "0123456789abcdef0123456789abcdef-secret";
    n = seal_by_hand(secret, time_now_ms(), pb, pn, buf);
    CHECK_INT(envelope_unpack_request(shared_key(), buf, n, &m), 0);
    aiops__request__free_unpacked(m, NULL);
    for (size_t i = 0; i < n; i++) {
        buf[i] ^= 0x20;
        CHECK_INT(envelope_unpack_request(shared_key(), buf, n, &m), AIOPS_EAUTH);
        buf[i] ^= 0x20;
    }
    /* outside the window, either way */
    int64_t now = time_now_ms();
    const uint8_t *payload;
    size_t len;
    n = seal_by_hand(secret, now - ENVELOPE_WINDOW_MS - 1000, pb, pn, buf);
    CHECK_INT(envelope_open(shared_key(), buf, n, now, &payload, &len), AIOPS_EAUTH);
    n = seal_by_hand(secret, now + ENVELOPE_WINDOW_MS + 1000, pb, pn, buf);
    CHECK_INT(envelope_open(shared_key(), buf, n, now, &payload, &len), AIOPS_EAUTH);
    n = seal_by_hand(secret, now - ENVELOPE_WINDOW_MS + 1000, pb, pn, buf);
    CHECK_INT(envelope_open(shared_key(), buf, n, now, &payload, &len), 0);
    CHECK_MEM(payload, len, pb, pn);
    /* short inputs and the refusal frame */
    CHECK_INT(envelope_open(shared_key(), buf, ENVELOPE_SEAL_BYTES - 1, now, &payload, &len), AIOPS_EAUTH);
    CHECK(envelope_is_refusal(ENVELOPE_REFUSAL, 4));
    CHECK(!envelope_is_refusal(buf, n));
}

static void test_secrets_must_be_long_enough(void)
{
    struct envelope_key k;
    CHECK_INT(envelope_key_init(&k, NULL), AIOPS_EINVAL);
    CHECK_INT(envelope_key_init(&k, ""), AIOPS_EINVAL);
    CHECK_INT(envelope_key_init(&k, "0123456789abcdef0123456789abcde"), AIOPS_EINVAL); /* 31 */
    CHECK_INT(envelope_key_init(&k, "0123456789abcdef0123456789abcdef"), 0);
    char longer[300];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    CHECK_INT(envelope_key_init(&k, longer), AIOPS_EINVAL);
}

/* Batches: elements come back as packed, in order; the two forms are never mistaken for each
 * other; an element is checked like a sealed message (version, form). */
static void test_batches_round_trip_and_keep_their_form(void)
{
    Aiops__Request a = AIOPS__REQUEST__INIT, b = AIOPS__REQUEST__INIT;
    a.request_id = "first";
    a.route = "health";
    b.request_id = "second";
    b.route = "models.predict";
    b.body.data = (uint8_t *)"{\"instances\":[]}";
    b.body.len = 16;
    ProtobufCBinaryData items[3];
    CHECK_INT(envelope_request_to_bytes(&a, &items[0]), 0);
    CHECK_INT(envelope_request_to_bytes(&b, &items[1]), 0);
    static const uint8_t junk[] = {0xff, 0xff, 0xff};
    items[2].data = (uint8_t *)junk;
    items[2].len = sizeof junk;
    nng_msg *msg = NULL;
    CHECK_INT(envelope_pack_batch(shared_key(), items, 3, &msg), 0);
    const void *body = nng_msg_body(msg);
    size_t len = nng_msg_len(msg);
    CHECK(envelope_is_batch(body, len));
    Aiops__Request *single = NULL;
    CHECK_INT(envelope_unpack_request(shared_key(), body, len, &single), AIOPS_EAUTH);
    Aiops__Batch *back = NULL;
    CHECK_INT(envelope_unpack_batch(shared_key(), body, len, &back), 0);
    CHECK_INT(back->n_requests, 3);
    Aiops__Request *r = NULL;
    CHECK_INT(envelope_request_from_bytes(back->requests[0].data, back->requests[0].len, &r), 0);
    CHECK_STR(r->request_id, "first");
    aiops__request__free_unpacked(r, NULL);
    CHECK_INT(envelope_request_from_bytes(back->requests[1].data, back->requests[1].len, &r), 0);
    CHECK_STR(r->request_id, "second");
    CHECK_INT(r->body.len, 16);
    aiops__request__free_unpacked(r, NULL);
    CHECK_INT(envelope_request_from_bytes(back->requests[2].data, back->requests[2].len, &r),
              AIOPS_EPARSE);
    aiops__batch__free_unpacked(back, NULL);
    /* tampered: one byte of the second element flipped */
    ((uint8_t *)nng_msg_body(msg))[len / 2] ^= 1;
    CHECK_INT(envelope_unpack_batch(shared_key(), body, len, &back), AIOPS_EAUTH);
    nng_msg_free(msg);

    /* a single message is never taken for a batch */
    CHECK_INT(envelope_pack_request(shared_key(), &a, &msg), 0);
    CHECK(!envelope_is_batch(nng_msg_body(msg), nng_msg_len(msg)));
    CHECK_INT(envelope_unpack_batch(shared_key(), nng_msg_body(msg), nng_msg_len(msg), &back),
              AIOPS_EAUTH);
    nng_msg_free(msg);

    /* replies: an element of another version is refused, not misread */
    Aiops__Response ok = AIOPS__RESPONSE__INIT;
    ok.request_id = "first";
    ok.status = 200;
    ProtobufCBinaryData answers[2];
    CHECK_INT(envelope_response_to_bytes(&ok, &answers[0]), 0);
    Aiops__Response later = AIOPS__RESPONSE__INIT;
    later.version = PROTOCOL_VERSION + 1;
    uint8_t pb[32];
    answers[1].len = aiops__response__pack(&later, pb);
    answers[1].data = pb;
    CHECK_INT(envelope_pack_batch_reply(shared_key(), answers, 2, &msg), 0);
    Aiops__BatchReply *reply = NULL;
    CHECK_INT(envelope_unpack_batch_reply(shared_key(), nng_msg_body(msg), nng_msg_len(msg), &reply),
              0);
    Aiops__Response *resp = NULL;
    CHECK_INT(envelope_response_from_bytes(reply->responses[0].data, reply->responses[0].len, &resp),
              0);
    CHECK_INT(resp->status, 200);
    aiops__response__free_unpacked(resp, NULL);
    CHECK_INT(envelope_response_from_bytes(reply->responses[1].data, reply->responses[1].len, &resp),
              AIOPS_EUNSUPPORTED);
    aiops__batch_reply__free_unpacked(reply, NULL);
    nng_msg_free(msg);
    free(answers[0].data);
    free(items[0].data);
    free(items[1].data);
}

UNIT_MAIN(UNIT(test_request_round_trip), UNIT(test_admin_scope_covers_everything),
          UNIT(test_response_and_event), UNIT(test_garbage_and_other_versions_are_refused),
          UNIT(test_seal_refuses_strangers_tampering_and_replays),
          UNIT(test_secrets_must_be_long_enough), UNIT(test_batches_round_trip_and_keep_their_form))
