/* Unit tests for lib/http/outbound.c: which addresses are internal, the allow-list, and
 * requests to a stub server on loopback -- refused unless loopback is allowed, answered,
 * timed out, cut off when too large. No packet leaves the machine: the refused targets are
 * refused before connect(). */
#include "unit.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "httpstub.h"
#include "http/outbound.h"

static int allowed(const struct outbound_policy *p, const char *text)
{
    uint8_t a[16];
    if (inet_pton(AF_INET, text, a) == 1)
        return outbound_address_allowed(p, AF_INET, a);
    if (inet_pton(AF_INET6, text, a) == 1)
        return outbound_address_allowed(p, AF_INET6, a);
    UNIT_FAIL("%s is not an address", text);
    return -1;
}

static void test_internal_addresses_are_refused(void)
{
    struct outbound_policy p;
    CHECK_INT(outbound_policy_init(&p, NULL, NULL), 0);
    static const char *const internal[] = {
        "127.0.0.1",   "127.255.0.9", "10.1.2.3",      "172.16.0.1",   "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",      "224.0.0.1",
        "255.255.255.255", "198.18.0.1", "::1",         "::",           "fe80::1",
        "fd00::1",     "fc00::5",     "ff02::1",       "::ffff:127.0.0.1", "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe", "::127.0.0.1", "2001:db8::1"};
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++)
        if (allowed(&p, internal[i]) != 0)
            UNIT_FAIL("%s was allowed", internal[i]);
    static const char *const public_[] = {"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1",
                                          "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"};
    for (size_t i = 0; i < sizeof public_ / sizeof public_[0]; i++)
        if (allowed(&p, public_[i]) != 1)
            UNIT_FAIL("%s was refused", public_[i]);
}

static void test_allow_list(void)
{
    struct outbound_policy p;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(outbound_policy_init(&p, " 127.0.0.0/8, ::1 ,10.2.0.0/16", &err), 0);
    CHECK_INT(p.nallow, 3);
    CHECK_INT(allowed(&p, "127.0.0.1"), 1);
    CHECK_INT(allowed(&p, "::1"), 1);
    CHECK_INT(allowed(&p, "10.2.200.1"), 1);
    CHECK_INT(allowed(&p, "10.3.0.1"), 0);
    CHECK_INT(allowed(&p, "192.168.0.1"), 0);
    CHECK_INT(allowed(&p, "::ffff:127.0.0.1"), 1); /* the IPv4 it carries is allowed */
    CHECK_INT(outbound_policy_init(&p, "127.0.0.0/33", &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "127.0.0.0/33") != NULL);
    CHECK_INT(outbound_policy_init(&p, "localhost", &err), AIOPS_EINVAL);
    CHECK_INT(outbound_policy_init(&p, "10.0.0.0/x", &err), AIOPS_EINVAL);
}

static int post(const struct outbound_policy *p, const char *url, struct outbound_response *r,
                struct aiops_error *err)
{
    static const char *const headers[] = {"Authorization: Bearer test-key", NULL};
    return outbound_post(p, url, headers, "application/json", "{\"q\":1}", 7, r, err);
}

static void test_refused_urls(void)
{
    struct outbound_policy p;
    outbound_policy_init(&p, NULL, NULL);
    struct outbound_response r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(post(&p, "ftp://example.com/x", &r, &err), AIOPS_EINVAL);
    outbound_response_free(&r);
    CHECK_INT(post(&p, "file:///etc/passwd", &r, &err), AIOPS_EINVAL);
    outbound_response_free(&r);
    CHECK_INT(post(&p, "not a url", &r, &err), AIOPS_EINVAL);
    outbound_response_free(&r);
    CHECK_INT(post(&p, "http://127.0.0.1:9/", &r, &err), AIOPS_EAUTH);
    CHECK(strstr(err.message, "internal address") != NULL);
    outbound_response_free(&r);
    CHECK_INT(post(&p, "http://[::1]:9/", &r, &err), AIOPS_EAUTH);
    outbound_response_free(&r);
    CHECK_INT(post(&p, "http://169.254.169.254/latest/meta-data", &r, &err), AIOPS_EAUTH);
    outbound_response_free(&r);
}

static void test_name_resolving_to_loopback_is_refused(void)
{
    struct httpstub s;
    CHECK_INT(httpstub_start(&s), 0);
    struct outbound_policy p;
    outbound_policy_init(&p, NULL, NULL);
    struct outbound_response r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    char url[128];
    /* a name, not a literal: the refusal comes from the check at connect time */
    snprintf(url, sizeof url, "http://localhost:%d/", s.port);
    CHECK_INT(post(&p, url, &r, &err), AIOPS_EAUTH);
    CHECK(strstr(err.message, "resolves to") != NULL);
    outbound_response_free(&r);
    usleep(100000);
    CHECK_INT(s.requests, 0); /* nothing reached the server */
    httpstub_stop(&s);
}

static void test_allowed_loopback_is_answered(void)
{
    struct httpstub s;
    CHECK_INT(httpstub_start(&s), 0);
    httpstub_answer(&s, 201, "{\"answer\":42}", 0);
    struct outbound_policy p;
    outbound_policy_init(&p, "127.0.0.1", NULL);
    struct outbound_response r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/x", s.port);
    CHECK_INT(post(&p, url, &r, &err), AIOPS_OK);
    CHECK_INT(r.status, 201);
    CHECK_STR(r.body.data, "{\"answer\":42}");
    CHECK(strstr(s.request, "POST /v1/x HTTP/1.1") != NULL);
    CHECK(strstr(s.request, "Authorization: Bearer test-key") != NULL);
    CHECK(strstr(s.request, "{\"q\":1}") != NULL);
    outbound_response_free(&r);

    httpstub_answer(&s, 500, "{\"error\":\"x\"}", 0); /* an error status is still an answer */
    CHECK_INT(post(&p, url, &r, &err), AIOPS_OK);
    CHECK_INT(r.status, 500);
    outbound_response_free(&r);
    httpstub_stop(&s);
}

static void test_timeout_and_size_limit(void)
{
    struct httpstub s;
    CHECK_INT(httpstub_start(&s), 0);
    struct outbound_policy p;
    outbound_policy_init(&p, "127.0.0.1", NULL);
    p.timeout_ms = 200;
    httpstub_answer(&s, 200, "{}", 1000);
    struct outbound_response r;
    struct aiops_error err = AIOPS_ERROR_INIT;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s.port);
    CHECK_INT(post(&p, url, &r, &err), AIOPS_ETIMEDOUT);
    outbound_response_free(&r);

    p.timeout_ms = 5000;
    p.max_response = 10;
    httpstub_answer(&s, 200, "{\"long\":\"more than ten bytes\"}", 0);
    CHECK_INT(post(&p, url, &r, &err), AIOPS_ETOOBIG);
    outbound_response_free(&r);
    httpstub_stop(&s);
}

UNIT_MAIN(UNIT(test_internal_addresses_are_refused), UNIT(test_allow_list),
          UNIT(test_refused_urls), UNIT(test_name_resolving_to_loopback_is_refused),
          UNIT(test_allowed_loopback_is_answered), UNIT(test_timeout_and_size_limit))
