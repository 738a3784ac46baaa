/* sentiment.h -- the shipped 5-point Korean sentiment model (models/sentiment-ko.aiops,
 * trained by scripts/train-sentiment.sh on nsmc5: a `linear` model on one text column) and
 * what the call features read from it.
 *
 * The model file is looked for, in order: the path in $AIOPS_SENTIMENT_MODEL; then
 * models/sentiment-ko.aiops beside the directory of the running program (bin/../models, as
 * the repository and `make up` lay it out); then ./models/sentiment-ko.aiops. */
#ifndef AIOPS_SENTIMENT_H
#define AIOPS_SENTIMENT_H

#include <stddef.h>

#include "core/err.h"

#define SENTIMENT_MODEL_FILE "sentiment-ko.aiops"

struct sentiment_model;

struct sentiment {
    double star[5];    /* P(1 star) .. P(5 stars): emo_1_star_score .. emo_5_star_score */
    double overall;    /* the expected star count, sum k * P(k): overall_sentiment, 1 .. 5 */
    const char *label; /* "부정" (overall < 2.5), "중립" (< 3.5), "긍정" (static) */
};

/* Loads the model from path (NULL: the places above). AIOPS_ENOTFOUND when no file is
 * found; AIOPS_ECORRUPT / AIOPS_EINVAL with err when the file is not a 5-class model on one
 * text feature. The caller frees with sentiment_model_free. */
int sentiment_model_load(const char *path, struct sentiment_model **out, struct aiops_error *err);
void sentiment_model_free(struct sentiment_model *m);
/* The name of the text feature the model reads ("review"). */
const char *sentiment_model_column(const struct sentiment_model *m);

/* Scores n texts (texts[i] of lens[i] bytes; NULL: missing) into out[n]. Invalid UTF-8 is
 * scored as an empty text. AIOPS_ENOMEM. */
int sentiment_score(const struct sentiment_model *m, const char *const *texts, const size_t *lens,
                    size_t n, struct sentiment *out);

/* The label of an expected star count. */
const char *sentiment_label(double overall);

#endif
