#include "report/rewriter.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/env.h"
#include "core/jsonx.h"

int rewriter_from_env(struct rewriter_config *c, struct aiops_error *err)
{
    memset(c, 0, sizeof *c);
    const char *base = env_str("LLM_BASE_URL", "");
    if (base[0] == '\0')
        return AIOPS_ENOTFOUND;
    if (strlen(base) >= sizeof c->base_url)
        return aiops_error_set(err, AIOPS_EINVAL, "LLM_BASE_URL", "LLM_BASE_URL is too long");
    snprintf(c->base_url, sizeof c->base_url, "%s", base);
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    snprintf(c->api_key, sizeof c->api_key, "%s", env_str("LLM_API_KEY", ""));
    snprintf(c->model, sizeof c->model, "%s", env_str("LLM_MODEL", "gpt-4o-mini"));
    long timeout;
    if (env_long("LLM_TIMEOUT_MS", 10000, 100, 120000, &timeout) != 0)
        return aiops_error_set(err, AIOPS_EINVAL, "LLM_TIMEOUT_MS",
                               "LLM_TIMEOUT_MS must be 100 to 120000");
    int rv = outbound_policy_init(&c->policy, env_str("OUTBOUND_ALLOW_NETS", ""), err);
    c->policy.timeout_ms = timeout;
    return rv;
}

/* --- the numbers of a text ----------------------------------------------------------------- */

/* Appends "|n|" for every number of s (digits with their decimal point; thousands commas
 * dropped, so "10,000" and "10000" are one number) to out. */
static void numbers_of(const char *s, struct buf *out)
{
    for (const char *p = s; *p != '\0';) {
        if (!isdigit((unsigned char)*p)) {
            p++;
            continue;
        }
        buf_putc(out, '|');
        while (isdigit((unsigned char)*p) ||
               ((*p == ',' || *p == '.') && isdigit((unsigned char)p[1]))) {
            if (*p != ',')
                buf_putc(out, *p);
            p++;
        }
        buf_putc(out, '|');
    }
}

/* The texts of the three members as one string: summary, then every insight and step. */
static void texts_of(const json_t *o, struct buf *out)
{
    buf_puts(out, json_string_value(json_object_get(o, "summary")));
    static const char *const lists[] = {"aiInsights", "actionPlan"};
    for (size_t l = 0; l < 2; l++) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(o, lists[l]), i, e)
        {
            buf_putc(out, '\n');
            buf_puts(out, json_string_value(e));
        }
    }
}

/* 1 when every number of the rewritten texts is one of the original's. */
static int numbers_kept(const json_t *original, const json_t *rewritten)
{
    struct buf a = BUF_INIT, b = BUF_INIT, na = BUF_INIT, nb = BUF_INIT;
    texts_of(original, &a);
    texts_of(rewritten, &b);
    numbers_of(a.data ? a.data : "", &na);
    numbers_of(b.data ? b.data : "", &nb);
    int ok = 1;
    for (const char *p = nb.data; ok && p != NULL && *p == '|';) {
        const char *end = strchr(p + 1, '|');
        char token[64];
        size_t len = (size_t)(end - p) + 1;
        if (len >= sizeof token)
            ok = 0;
        else {
            memcpy(token, p, len);
            token[len] = '\0';
            ok = na.data != NULL && strstr(na.data, token) != NULL;
        }
        p = end + 1;
    }
    buf_free(&a);
    buf_free(&b);
    buf_free(&na);
    buf_free(&nb);
    return ok;
}

/* The rewritten object fits the original: the same members, lists of the same length,
 * all text, no new number. */
static int fits(const json_t *original, const json_t *r)
{
    if (!json_is_object(r) || !json_is_string(json_object_get(r, "summary")))
        return 0;
    static const char *const lists[] = {"aiInsights", "actionPlan"};
    for (size_t l = 0; l < 2; l++) {
        const json_t *a = json_object_get(original, lists[l]), *b = json_object_get(r, lists[l]);
        if (!json_is_array(b) || json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(b); i++)
            if (!json_is_string(json_array_get(b, i)))
                return 0;
    }
    return numbers_kept(original, r);
}

/* --- the exchange ---------------------------------------------------------------------------- */

static const char instructions_ko[] =
    "당신은 마케팅 분석 보고서의 편집자입니다. 주어진 JSON의 summary, aiInsights, actionPlan 문장을 "
    "더 자연스러운 한국어로 다듬되, 숫자는 하나도 바꾸거나 새로 만들지 말고, 항목 수를 유지하여 같은 "
    "구조의 JSON 객체 하나만 답하세요.";
static const char instructions_en[] =
    "You edit a marketing analytics report. Rephrase the summary, aiInsights and actionPlan "
    "sentences of the given JSON into fluent English. Never change or add a number, keep the "
    "number of items, and answer with one JSON object of the same structure only.";

static json_t *request_body(const struct rewriter_config *c, const json_t *report)
{
    json_t *texts = json_pack("{s:O, s:O, s:O}", "summary", json_object_get(report, "summary"),
                              "aiInsights", json_object_get(report, "aiInsights"), "actionPlan",
                              json_object_get(report, "actionPlan"));
    char *user = texts ? jsonx_to_string(texts, NULL) : NULL;
    json_decref(texts);
    const char *lang = json_string_value(json_object_get(report, "lang"));
    json_t *body = user ? json_pack("{s:s, s:i, s:{s:s}, s:[{s:s, s:s}, {s:s, s:s}]}", "model",
                                    c->model, "temperature", 0, "response_format", "type",
                                    "json_object", "messages", "role", "system", "content",
                                    lang && strcmp(lang, "en") == 0 ? instructions_en
                                                                   : instructions_ko,
                                    "role", "user", "content", user)
                        : NULL;
    free(user);
    return body;
}

/* The rewritten texts from the endpoint's answer: 0 with *out (caller owns), or why not. */
static int call_endpoint(const struct rewriter_config *c, const json_t *report, json_t **out,
                         struct aiops_error *err)
{
    *out = NULL;
    char url[600], auth[600];
    snprintf(url, sizeof url, "%s/chat/completions", c->base_url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->api_key);
    const char *headers[2] = {c->api_key[0] ? auth : NULL, NULL};
    json_t *body = request_body(c, report);
    char *text = body ? jsonx_to_string(body, NULL) : NULL;
    json_decref(body);
    if (text == NULL)
        return aiops_error_set(err, AIOPS_ENOMEM, NULL, "out of memory");
    struct outbound_response resp;
    int rv = outbound_post(&c->policy, url, headers, "application/json", text, strlen(text),
                           &resp, err);
    free(text);
    if (rv == 0 && (resp.status < 200 || resp.status > 299))
        rv = aiops_error_set(err, AIOPS_EUNAVAIL, NULL, "the endpoint answered %ld", resp.status);
    json_t *answer = rv == 0 ? json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0,
                                          NULL)
                             : NULL;
    outbound_response_free(&resp);
    const char *content = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(answer, "choices"), 0), "message"),
        "content"));
    if (rv == 0 && content == NULL)
        rv = aiops_error_set(err, AIOPS_EPARSE, NULL, "the answer has no choices[0].message.content");
    if (rv == 0 && (*out = json_loads(content, 0, NULL)) == NULL)
        rv = aiops_error_set(err, AIOPS_EPARSE, NULL, "the rewritten texts are not JSON");
    json_decref(answer);
    return rv;
}

int report_rewrite(const struct rewriter_config *c, json_t *report)
{
    struct aiops_error err = AIOPS_ERROR_INIT;
    json_t *r = NULL;
    int rv = call_endpoint(c, report, &r, &err);
    if (rv == 0 && !fits(report, r))
        rv = aiops_error_set(&err, AIOPS_EPARSE, NULL,
                             "the rewritten texts change the structure or a number");
    if (rv == 0) {
        json_object_set(report, "summary", json_object_get(r, "summary"));
        json_object_set(report, "aiInsights", json_object_get(r, "aiInsights"));
        json_object_set(report, "actionPlan", json_object_get(r, "actionPlan"));
        json_object_set_new(report, "writer", json_string("llm"));
        json_object_set_new(report, "rewriter", json_pack("{s:b, s:s}", "used", 1, "model", c->model));
    } else {
        json_object_set_new(report, "rewriter",
                            json_pack("{s:b, s:s}", "used", 0, "reason",
                                      err.message[0] ? err.message : aiops_strerror(rv)));
    }
    json_decref(r);
    return rv;
}
