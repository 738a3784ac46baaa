/* The seed-000 routes of svc-explain. */
#include <string.h>

#include "explain_svc.h"

/* GET /api/report/feature-importance/{run_id} -> [{"feature", "importance", "pValue",
 * "ci": [lo, hi], "description", ...}] most important first (lib/ml/importance.h). */
void handle_importance(struct svc_call *c)
{
    json_t *list;
    if (explain_result(c, svc_param(c, 0), "importance", &list) != 0)
        return;
    svc_reply_json(c, 200, list);
}

/* GET /api/report/correlation/{run_id}[?method=pearson|spearman] -> {"features",
 * "matrix", "method"}. */
void handle_correlation(struct svc_call *c)
{
    char method[16] = "pearson";
    int rv = svc_query(c, "method", method, sizeof method);
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "method", "method must be pearson or spearman");
        return;
    }
    if (strcmp(method, "pearson") != 0 && strcmp(method, "spearman") != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "method", "method must be pearson or spearman");
        return;
    }
    json_t *doc;
    const char *kind = method[0] == 'p' ? "correlation_pearson" : "correlation_spearman";
    if (explain_result(c, svc_param(c, 0), kind, &doc) != 0)
        return;
    svc_reply_json(c, 200, doc);
}
