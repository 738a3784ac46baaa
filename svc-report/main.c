/* svc-report: the AI report, the PDF report, performance, the operator and customer
 * dashboards and model cards (report_svc.h). Every answer is written from measured
 * numbers gathered once per run and kept in PostgreSQL, so any replica answers fast. */
#include "report_svc.h"

static const struct svc_handler handlers[] = {
    {"report.ai", handle_report_ai},
    {"report.generate_pdf", handle_report_generate_pdf},
    {"report.pdf", handle_report_pdf},
    {"performance.get", handle_performance},
    {"dashboard.si", handle_dashboard_si},
    {"dashboard.client", handle_dashboard_client},
    {"models.card", handle_models_card},
    {"models.card_put", handle_models_card_put},
};

SVC_MAIN(SVC_REPORT, handlers, .start = ai_start)
