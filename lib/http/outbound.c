#include "http/outbound.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_CONNECT_MS 3000
#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_RESPONSE (1u << 20)

/* --- which addresses are internal ---------------------------------------------------------- */

struct net_range {
    uint8_t addr[16];
    unsigned prefix;
};

/* IPv4 ranges that are not public unicast (IANA special-purpose registry). */
static const struct net_range internal_v4[] = {
    {{0, 0, 0, 0}, 8},         /* "this network", unspecified */
    {{10, 0, 0, 0}, 8},        /* private */
    {{100, 64, 0, 0}, 10},     /* carrier-grade NAT */
    {{127, 0, 0, 0}, 8},       /* loopback */
    {{169, 254, 0, 0}, 16},    /* link-local (cloud metadata lives here) */
    {{172, 16, 0, 0}, 12},     /* private */
    {{192, 0, 0, 0}, 24},      /* IETF protocol assignments */
    {{192, 0, 2, 0}, 24},      /* documentation */
    {{192, 168, 0, 0}, 16},    /* private */
    {{198, 18, 0, 0}, 15},     /* benchmarking */
    {{198, 51, 100, 0}, 24},   /* documentation */
    {{203, 0, 113, 0}, 24},    /* documentation */
    {{224, 0, 0, 0}, 4},       /* multicast */
    {{240, 0, 0, 0}, 4},       /* reserved, broadcast */
};

/* IPv6 ranges that are not public unicast; IPv4-mapped and NAT64 addresses are judged by
 * the IPv4 address they carry (see v6_embedded_v4). */
static const struct net_range internal_v6[] = {
    {{0}, 127},                                        /* :: and ::1 */
    {{0xfe, 0x80}, 10},                                /* link-local */
    {{0xfe, 0xc0}, 10},                                /* site-local (deprecated) */
    {{0xfc}, 7},                                       /* unique local */
    {{0xff}, 8},                                       /* multicast */
    {{0x20, 0x01, 0x0d, 0xb8}, 32},                    /* documentation */
    {{0x01, 0x00, 0, 0, 0, 0, 0, 0}, 64},              /* discard-only */
};

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

/* The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) or
 * NAT64 (64:ff9b::a.b.c.d) IPv6 address: 1 with it in v4, else 0. */
static int v6_embedded_v4(const uint8_t *a, uint8_t *v4)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t zeros[12] = {0};
    if (memcmp(a, mapped, 12) != 0 && memcmp(a, nat64, 12) != 0 &&
        (memcmp(a, zeros, 12) != 0 || (a[12] | a[13]) == 0))
        return 0;
    memcpy(v4, a + 12, 4);
    return 1;
}

static int in_ranges(const struct net_range *r, size_t n, const uint8_t *a)
{
    for (size_t i = 0; i < n; i++)
        if (prefix_match(a, r[i].addr, r[i].prefix))
            return 1;
    return 0;
}

static int allow_listed(const struct outbound_policy *p, int family, const uint8_t *a)
{
    for (size_t i = 0; i < p->nallow; i++)
        if (p->allow[i].family == family && prefix_match(a, p->allow[i].addr, p->allow[i].prefix))
            return 1;
    return 0;
}

int outbound_address_allowed(const struct outbound_policy *p, int family, const uint8_t *addr)
{
    if (family == AF_INET)
        return !in_ranges(internal_v4, sizeof internal_v4 / sizeof internal_v4[0], addr) ||
               allow_listed(p, 4, addr);
    if (family != AF_INET6)
        return 0;
    uint8_t v4[4];
    if (v6_embedded_v4(addr, v4))
        return outbound_address_allowed(p, AF_INET, v4) || allow_listed(p, 6, addr);
    return !in_ranges(internal_v6, sizeof internal_v6 / sizeof internal_v6[0], addr) ||
           allow_listed(p, 6, addr);
}

/* --- the policy ------------------------------------------------------------------------------- */

static int parse_net(const char *s, size_t n, struct outbound_net *out)
{
    char text[64];
    if (n == 0 || n >= sizeof text)
        return AIOPS_EINVAL;
    memcpy(text, s, n);
    text[n] = '\0';
    char *slash = strchr(text, '/');
    long prefix = -1;
    if (slash != NULL) {
        char *end;
        *slash = '\0';
        prefix = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0')
            return AIOPS_EINVAL;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->addr) == 1)
        out->family = 4;
    else if (inet_pton(AF_INET6, text, out->addr) == 1)
        out->family = 6;
    else
        return AIOPS_EINVAL;
    long bits = out->family == 4 ? 32 : 128;
    if (prefix < 0)
        prefix = bits;
    if (prefix > bits)
        return AIOPS_EINVAL;
    out->prefix = (unsigned)prefix;
    return AIOPS_OK;
}

int outbound_policy_init(struct outbound_policy *p, const char *allow_list,
                         struct aiops_error *err)
{
    memset(p, 0, sizeof *p);
    p->connect_timeout_ms = DEFAULT_CONNECT_MS;
    p->timeout_ms = DEFAULT_TIMEOUT_MS;
    p->max_response = DEFAULT_MAX_RESPONSE;
    for (const char *s = allow_list ? allow_list : ""; *s != '\0';) {
        size_t n = strcspn(s, ",");
        size_t lead = 0;
        while (lead < n && s[lead] == ' ')
            lead++;
        size_t len = n - lead;
        while (len > 0 && s[lead + len - 1] == ' ')
            len--;
        if (len > 0) {
            if (p->nallow == OUTBOUND_MAX_ALLOW)
                return aiops_error_set(err, AIOPS_EINVAL, "OUTBOUND_ALLOW_NETS",
                                       "at most %d allowed networks", OUTBOUND_MAX_ALLOW);
            if (parse_net(s + lead, len, &p->allow[p->nallow]) != 0)
                return aiops_error_set(err, AIOPS_EINVAL, "OUTBOUND_ALLOW_NETS",
                                       "\"%.*s\" is not an address or CIDR network", (int)len,
                                       s + lead);
            p->nallow++;
        }
        s += n + (s[n] == ',');
    }
    return AIOPS_OK;
}

/* --- the request ------------------------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rv;

static void curl_init(void)
{
    curl_init_rv = curl_global_init(CURL_GLOBAL_ALL);
}

struct exchange {
    const struct outbound_policy *p;
    struct outbound_response *resp;
    int refused;       /* an address was refused by the policy */
    char refused_addr[INET6_ADDRSTRLEN];
    int too_big;
};

static size_t max_response(const struct outbound_policy *p)
{
    return p->max_response > 0 ? p->max_response : DEFAULT_MAX_RESPONSE;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct exchange *x = arg;
    size_t n = size * nmemb;
    if (x->resp->body.len + n > max_response(x->p)) {
        x->too_big = 1;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    return buf_append(&x->resp->body, data, n) == 0 ? n : 0;
}

/* Called by libcurl for every socket it is about to connect: the place where the address
 * is known after resolution and nothing has been sent. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct exchange *x = arg;
    const uint8_t *bytes = NULL;
    if (purpose != CURLSOCKTYPE_IPCXN)
        return CURL_SOCKET_BAD;
    if (a->family == AF_INET)
        bytes = (const uint8_t *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
    else if (a->family == AF_INET6)
        bytes = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr;
    if (bytes == NULL || !outbound_address_allowed(x->p, a->family, bytes)) {
        x->refused = 1;
        if (bytes == NULL || inet_ntop(a->family, bytes, x->refused_addr,
                                       sizeof x->refused_addr) == NULL)
            snprintf(x->refused_addr, sizeof x->refused_addr, "(address family %d)", a->family);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* The URL is http(s) with a host; a host that is an address literal is checked now, so
 * that the refusal says so without a connection attempt. */
static int check_url(const struct outbound_policy *p, const char *url, struct aiops_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rv = AIOPS_OK;
    if (u == NULL)
        return AIOPS_ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        rv = aiops_error_set(err, AIOPS_EINVAL, "url", "not a URL with a host");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "url", "only http and https URLs are allowed");
    if (rv == AIOPS_OK) {
        uint8_t a[16];
        size_t n = strlen(host);
        char literal[64] = "";
        /* [v6] literals come with their brackets */
        if (host[0] == '[' && n >= 2 && n - 2 < sizeof literal)
            memcpy(literal, host + 1, n - 2);
        else if (n < sizeof literal)
            memcpy(literal, host, n + 1);
        char *zone = strchr(literal, '%');
        if (zone != NULL)
            *zone = '\0';
        int fam = inet_pton(AF_INET, literal, a) == 1    ? AF_INET
                  : inet_pton(AF_INET6, literal, a) == 1 ? AF_INET6
                                                          : 0;
        if (fam != 0 && !outbound_address_allowed(p, fam, a))
            rv = aiops_error_set(err, AIOPS_EAUTH, "url",
                                 "%s is an internal address, not allowed as a target", literal);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rv;
}

static void configure(CURL *h, const struct outbound_policy *p, struct exchange *x,
                      const char *url, struct curl_slist *hdrs, const void *body, size_t len)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never a proxy from the environment */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     p->connect_timeout_ms > 0 ? p->connect_timeout_ms : DEFAULT_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "aiops/" AIOPS_VERSION);
}

static int map_result(CURLcode rc, const struct exchange *x, const char *url,
                      struct aiops_error *err)
{
    if (x->refused)
        return aiops_error_set(err, AIOPS_EAUTH, "url",
                               "%s resolves to %s, an internal address, not allowed as a target",
                               url, x->refused_addr);
    if (x->too_big)
        return aiops_error_set(err, AIOPS_ETOOBIG, "url", "the answer is larger than %zu bytes",
                               max_response(x->p));
    switch (rc) {
    case CURLE_OK:
        return AIOPS_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return aiops_error_set(err, AIOPS_ETIMEDOUT, "url", "no answer in time: %s",
                               curl_easy_strerror(rc));
    case CURLE_OUT_OF_MEMORY:
        return aiops_error_set(err, AIOPS_ENOMEM, "url", "out of memory");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
        return aiops_error_set(err, AIOPS_EINVAL, "url", "%s", curl_easy_strerror(rc));
    default:
        return aiops_error_set(err, AIOPS_EUNAVAIL, "url", "%s", curl_easy_strerror(rc));
    }
}

void outbound_response_free(struct outbound_response *r)
{
    buf_free(&r->body);
    r->status = 0;
}

int outbound_post(const struct outbound_policy *p, const char *url, const char *const *headers,
                  const char *content_type, const void *body, size_t len,
                  struct outbound_response *resp, struct aiops_error *err)
{
    memset(resp, 0, sizeof *resp);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rv != CURLE_OK)
        return aiops_error_set(err, AIOPS_ENOMEM, "url", "libcurl could not be initialised");
    int rv = check_url(p, url, err);
    if (rv != 0)
        return rv;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL, *next;
    char ct[160];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "application/json");
    int failed = h == NULL || (hdrs = curl_slist_append(NULL, ct)) == NULL;
    /* "Expect: 100-continue" would cost a round trip on every larger body */
    if (!failed && (next = curl_slist_append(hdrs, "Expect:")) == NULL)
        failed = 1;
    for (size_t i = 0; !failed && headers != NULL && headers[i] != NULL; i++) {
        if ((next = curl_slist_append(hdrs, headers[i])) == NULL)
            failed = 1;
        else
            hdrs = next;
    }
    if (failed) {
        curl_slist_free_all(hdrs);
        if (h != NULL)
            curl_easy_cleanup(h);
        return aiops_error_set(err, AIOPS_ENOMEM, "url", "out of memory");
    }
    struct exchange x = {.p = p, .resp = resp};
    configure(h, p, &x, url, hdrs, body, len);
    CURLcode rc = curl_easy_perform(h);
    rv = map_result(rc, &x, url, err);
    if (rv == AIOPS_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return rv;
}
