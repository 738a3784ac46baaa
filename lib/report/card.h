/* card.h -- a model card (seed 002's hand-over documents, after Mitchell et al.'s "Model
 * Cards for Model Reporting") built from a report's inputs (lib/report/inputs.h), as JSON
 * and as Markdown.
 *
 * The card:
 * {"model": {"name", "version", "kind", "task", "target", "created_at", "run_id"},
 *  "intended_use": text (the owner's, else a default that says it was not written),
 *  "training_data": {"dataset_id", "rows", "train_rows", "valid_rows", "evaluated_on",
 *                    "period": {"column", "from", "to"} | null, "target_balance"},
 *  "parameters": the run's parameters,
 *  "metrics": {"overall": {name: value}, "per_class": [...] | null},
 *  "slices": the chosen column's slice (inputs "slices": groups and gaps) | null,
 *  "slice_columns": the columns a slice can be asked for,
 *  "calibration": {"ece", "bins"} | null,
 *  "limitations": [text]: leakage suspects, flagged slice gaps, drift seen, calibration,
 *                 metrics measured on training rows, few evaluation rows,
 *  "how_to_call": {"http", "cli"}} */
#ifndef AIOPS_REPORT_CARD_H
#define AIOPS_REPORT_CARD_H

#include <jansson.h>

#include "core/buf.h"
#include "report/writer.h"

struct card_identity {
    const char *name;    /* the registered model's name */
    int version;         /* its version (0: not registered) */
    const char *run_id;  /* NULL when unknown */
    const char *dataset_id;
};

/* The card of inputs into *out (caller owns). slice_column NULL: the first slice with a
 * flagged gap, else the first slice. AIOPS_ENOTFOUND when slice_column names no slice
 * column; AIOPS_ENOMEM. */
int report_card(const json_t *inputs, const struct card_identity *id, const char *intended_use,
                const char *slice_column, enum report_lang lang, json_t **out);

/* The card as a Markdown document appended to out. AIOPS_ENOMEM. */
int report_card_markdown(const json_t *card, struct buf *out);

#endif
