/* svc-explain: feature importance with significance and correlation matrices of runs
 * (explain_svc.h); its other routes (lib/rpc/routes.c) answer 501 until they land. */
#include "explain_svc.h"

static const struct svc_handler handlers[] = {
    {"explain.importance", handle_importance},
    {"explain.correlation", handle_correlation},
    {"explain.run_importance", handle_run_importance},
    {"explain.shap", handle_shap},
    {"explain.lime", handle_lime},
    {"explain.import", handle_import},
};

SVC_MAIN(SVC_EXPLAIN, handlers)
