/* The served models' Prometheus series (monitor_svc.h): one registry per health tick, filled
 * from the totals svc-train's replicas add up in Redis, rendered once and stored for the
 * gateways, which append it to their own /api/metrics. */
#include <math.h>
#include <stdlib.h>

#include "core/log.h"
#include "http/prom.h"
#include "monitor_svc.h"

#define NBOUNDS_MAX 16

struct model_metrics {
    struct prom_registry *reg;
    struct prom_family *predictions, *rows, *errors, *latency, *accuracy, *kl;
    size_t nbounds; /* finite bounds; the samples' cumulative arrays hold one more */
};

struct model_metrics *model_metrics_begin(const double *bounds, size_t nbounds)
{
    struct model_metrics *mm = calloc(1, sizeof *mm);
    if (mm == NULL || nbounds > NBOUNDS_MAX || (mm->reg = prom_registry_new()) == NULL) {
        free(mm);
        return NULL;
    }
    static const char *const labels[] = {"project", "model"};
    mm->nbounds = nbounds;
    mm->predictions = prom_counter(mm->reg, "aiops_model_predictions_total",
                                   "Prediction requests answered per served model.", 2, labels);
    mm->rows = prom_counter(mm->reg, "aiops_model_prediction_rows_total",
                            "Rows predicted per served model.", 2, labels);
    mm->errors = prom_counter(mm->reg, "aiops_model_prediction_errors_total",
                              "Prediction requests per served model that failed.", 2, labels);
    mm->latency = prom_histogram(mm->reg, "aiops_model_prediction_duration_seconds",
                                 "Time svc-train took to answer a prediction request.", 2, labels,
                                 bounds, nbounds);
    mm->accuracy = prom_gauge(mm->reg, "aiops_model_accuracy",
                              "Rolling accuracy of the served model from label feedback.", 2,
                              labels);
    mm->kl = prom_gauge(mm->reg, "aiops_model_drift_kl",
                        "KL divergence of the served scores from the training reference at "
                        "the last drift check.",
                        2, labels);
    if (mm->predictions == NULL || mm->rows == NULL || mm->errors == NULL || mm->latency == NULL ||
        mm->accuracy == NULL || mm->kl == NULL) {
        prom_registry_free(mm->reg);
        free(mm);
        return NULL;
    }
    return mm;
}

void model_metrics_add(struct model_metrics *mm, const struct model_sample *s)
{
    if (mm == NULL)
        return;
    const char *const labels[] = {s->project, s->model};
    prom_inc(mm->predictions, labels, (double)s->requests);
    prom_inc(mm->rows, labels, (double)s->rows);
    prom_inc(mm->errors, labels, (double)s->errors);
    uint64_t cum[NBOUNDS_MAX + 1];
    for (size_t b = 0; b <= mm->nbounds; b++)
        cum[b] = s->cumulative[b] > 0 ? (uint64_t)s->cumulative[b] : 0;
    prom_child_set_histogram(prom_child(mm->latency, labels), cum, (double)s->latency_us / 1e6);
    if (!isnan(s->accuracy))
        prom_set(mm->accuracy, labels, s->accuracy);
    if (!isnan(s->kl))
        prom_set(mm->kl, labels, s->kl);
}

void model_metrics_publish(struct model_metrics *mm, struct kv *kv, long ttl_seconds)
{
    if (mm == NULL)
        return;
    struct buf text = BUF_INIT;
    json_t *js = prom_render_json(mm->reg);
    char *jtext = js ? json_dumps(js, JSON_COMPACT) : NULL;
    if (kv == NULL) {
        /* nothing to store to: the tick failed before reading anything */
    } else if (prom_render_text(mm->reg, &text) == 0 && jtext != NULL) {
        /* binary-safe arguments: the text holds spaces and newlines */
        freeReplyObject(kv_command(kv, "SET aiops:metrics:models %b EX %ld", text.data,
                                   text.len, ttl_seconds));
        freeReplyObject(kv_command(kv, "SET aiops:metrics:models:json %s EX %ld", jtext,
                                   ttl_seconds));
    } else {
        log_warn("the models' metrics could not be rendered: out of memory");
    }
    free(jtext);
    json_decref(js);
    buf_free(&text);
    prom_registry_free(mm->reg);
    free(mm);
}
