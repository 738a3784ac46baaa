/* rewriter.h -- the optional LLM rewriter of the AI report: an OpenAI-compatible chat
 * endpoint (POST {LLM_BASE_URL}/chat/completions, Bearer LLM_API_KEY) is asked to rephrase
 * the data-to-text writer's summary, insights and action plan, in the same language, as a
 * JSON object of the same shape. The call goes through the checked outbound client
 * (lib/http/outbound.h) with its timeout.
 *
 * What comes back replaces the texts only when it is an object with the same members, the
 * same number of insights and steps, all text, and every number in it is one the original
 * texts wrote (a rewriter may drop a number, never invent or change one). Otherwise -- no
 * configuration, a refused target, a timeout, an error status, an answer of another shape
 * or with a new number -- the report keeps the writer's texts: nothing is ever missing. */
#ifndef AIOPS_REPORT_REWRITER_H
#define AIOPS_REPORT_REWRITER_H

#include <jansson.h>

#include "core/err.h"
#include "http/outbound.h"

struct rewriter_config {
    char base_url[512]; /* e.g. https://api.openai.com/v1 (no trailing path) */
    char api_key[512];  /* may be empty (a local endpoint) */
    char model[128];    /* LLM_MODEL, default gpt-4o-mini */
    struct outbound_policy policy;
};

/* From the environment: LLM_BASE_URL (unset or empty: AIOPS_ENOTFOUND, no rewriter),
 * LLM_API_KEY, LLM_MODEL, LLM_TIMEOUT_MS (default 10000, 100..120000), OUTBOUND_ALLOW_NETS
 * (lib/http/outbound.h). AIOPS_EINVAL with err naming the variable for a bad value. */
int rewriter_from_env(struct rewriter_config *c, struct aiops_error *err);

/* Rewrites report (lib/report/writer.h's answer) in place. AIOPS_OK when the rewritten
 * texts were taken: "writer" becomes "llm" and "rewriter" {"used": true, "model"}.
 * Otherwise the texts are left as they were, "rewriter" is {"used": false, "reason"}, and
 * the failure is returned (AIOPS_ETIMEDOUT, AIOPS_EAUTH for a refused target, AIOPS_EPARSE
 * for an answer that does not fit, AIOPS_EUNAVAIL, ...). */
int report_rewrite(const struct rewriter_config *c, json_t *report);

#endif
