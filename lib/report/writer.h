/* writer.h -- the AI report (seed 000's fields) written from measured numbers only: a
 * deterministic data-to-text writer in Korean or English over a report's inputs
 * (lib/report/inputs.h), with the business assumptions of the ROI estimate taken from the
 * caller and stated in the text.
 *
 * The ROI estimate (binary tasks; the others have none and say why): a campaign contacts
 * `contacts` people. Chosen at random, they convert at the measured base rate; chosen from
 * the top target_pct% of the model's scores, at base rate x the cumulative lift there
 * (the measured gains curve, interpolated between deciles). Revenue is conversions x
 * value_per_conversion, cost contacts x cost_per_contact, ROI (revenue - cost) / cost in
 * percent. roiIncrease is ROI with the model minus ROI at random, in percentage points;
 * additionalRevenue the revenue difference in millions of the currency.
 *
 * The answer:
 * {"summary", "accuracy" (percent, null for regression), "roiIncrease", "additionalRevenue",
 *  "topFeatures": [{"feature", "importance", "pValue", "ci", "description"}] (5),
 *  "aiInsights": [text], "actionPlan": [text], "lang", "writer": "data-to-text",
 *  "assumptions": {"contacts", "cost_per_contact", "value_per_conversion", "target_pct",
 *                  "currency"},
 *  "roi": {"base_rate", "cumulative_lift", "gain_pct", "conversions_model",
 *          "conversions_random", "roi_model_pct", "roi_random_pct"} | null,
 *  "facts": [{"name", "value", "text"}]: every number the text shows, the measured (or
 *           assumed) value and how it is written}
 * The same inputs, assumptions and language always give the same answer. */
#ifndef AIOPS_REPORT_WRITER_H
#define AIOPS_REPORT_WRITER_H

#include <jansson.h>

enum report_lang { REPORT_KO, REPORT_EN };

struct report_assumptions {
    double contacts;             /* people a campaign contacts; > 0 */
    double cost_per_contact;     /* >= 0 */
    double value_per_conversion; /* >= 0 */
    double target_pct;           /* the top share of scores contacted, 1..100 */
    const char *currency;        /* shown after amounts, e.g. "KRW" */
};

/* The defaults: 10,000 contacts, 500 per contact, 20,000 per conversion, the top 20%, KRW. */
void report_assumptions_default(struct report_assumptions *a);

/* "ko" or "en" into *lang; AIOPS_EINVAL for anything else. */
int report_lang_parse(const char *s, enum report_lang *lang);

/* The AI report of inputs into *out (caller owns). AIOPS_EINVAL when inputs has no
 * metrics or an assumption is out of range; AIOPS_ENOMEM. */
int report_write(const json_t *inputs, const struct report_assumptions *a, enum report_lang lang,
                 json_t **out);

#endif
