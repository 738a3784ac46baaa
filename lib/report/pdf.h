/* pdf.h -- the PDF report of a run: its pages drawn with libharu (lib/report/pdfdraw.h)
 * from the report's inputs (lib/report/inputs.h) and its AI report (lib/report/writer.h).
 *
 * Pages, in order: a title page (model, run, data, date, headline metrics); the executive
 * summary (the summary, then the insights and the action plan when asked for); the metrics
 * table with the per-class report and the confusion matrix; with charts, the feature
 * importance bars (with descriptions), ROC and precision-recall curves, cumulative gains
 * and lift by decile, calibration, the training curves from the per-iteration history,
 * and the correlation heat map; the model card's page (data, slices with their flagged
 * gaps, limitations); the drift table (or that drift is not measured yet). Every page is
 * numbered "n / N". Charts without data (a regression has no ROC curve) are left out. */
#ifndef AIOPS_REPORT_PDF_H
#define AIOPS_REPORT_PDF_H

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "report/writer.h"

struct report_pdf_options {
    int include_charts, include_insights, include_action_plan; /* seed 000's options */
    enum report_lang lang;
    const char *title; /* NULL: the model's name */
};

/* Appends the PDF of the report to out. inputs and ai are borrowed; card (may be NULL)
 * is the model card (lib/report/card.h) whose page is added. AIOPS_ENOTFOUND without a
 * Korean font (err says what to install), AIOPS_EIO when libharu failed, AIOPS_ENOMEM. */
int report_pdf(const json_t *inputs, const json_t *ai, const json_t *card,
               const struct report_pdf_options *opt, struct buf *out, struct aiops_error *err);

#endif
