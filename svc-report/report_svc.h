/* report_svc.h -- svc-report: the AI report, the PDF, performance, dashboards and model
 * cards of runs, all written from one document of measured numbers per run (the report's
 * inputs, lib/report/inputs.h) that inputs.c gathers once and keeps in PostgreSQL. */
#ifndef AIOPS_REPORT_SVC_H
#define AIOPS_REPORT_SVC_H

#include <jansson.h>

#include "rpc/svc.h"

/* inputs.c */
/* The run `run_id` of the caller's project (*run: {"run_id", "status", "model_name",
 * "model_version", "dataset_id", "created_at", "finished_at"}) and its report inputs
 * (*inputs), both owned by the caller: from the cache, or gathered and cached. 0, or an
 * error after answering: 404 run_not_found, 409 run_not_completed with the run's status,
 * 503 when PostgreSQL is down, ... */
int run_inputs(struct svc_call *c, const char *run_id, json_t **run, json_t **inputs);
/* The run of a model version (its run_id into out[37]): 0, or an error after answering
 * 404 model_not_found / version_not_found. */
int version_run(struct svc_call *c, const char *name, const char *version_text, int *version,
                char run_id[37]);

/* ai.c */
int ai_start(struct svc *s);
svc_handler_fn handle_report_ai;
/* The AI report of inputs with the request's lang and assumptions (?lang=, ?contacts=,
 * ?cost_per_contact=, ?value_per_conversion=, ?target_pct=, ?currency=) into *out: 0, or
 * an error after answering 422 naming the parameter. *lang receives the language. */
int ai_report_for(struct svc_call *c, const json_t *inputs, json_t **out, int *lang);

/* pdf.c */
svc_handler_fn handle_report_generate_pdf, handle_report_pdf;

/* dashboard.c */
svc_handler_fn handle_performance, handle_dashboard_si, handle_dashboard_client;

/* card.c */
svc_handler_fn handle_models_card, handle_models_card_put;

#endif
