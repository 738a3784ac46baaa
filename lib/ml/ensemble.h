/* ensemble.h -- a weighted average of trained models of the same features and task: what
 * AutoML (lib/ml/automl.h) builds from its best trials (each trial's fold models, Caruana's
 * greedy selection over trials). It is a learner of its own ("ensemble", lib/ml/
 * learn_ensemble.c) so that the result is one ordinary model file: predict, eval and
 * serving read it as any other. It is not in the registry's list (`aiops train` cannot
 * train one: it has no training of its own), but learner_find() knows it. */
#ifndef AIOPS_ENSEMBLE_H
#define AIOPS_ENSEMBLE_H

#include <stddef.h>

#include "ml/learner.h"

struct ensemble_member {
    const struct learner *learner; /* never the ensemble itself */
    void *algo;                    /* owned (learner->free) */
    double weight;                 /* > 0; the weights of an ensemble sum to 1 */
};

struct ensemble {
    size_t n, cap;
    struct ensemble_member *member;
    size_t num_features, outputs;
};

extern const struct learner learner_ensemble;

/* An empty ensemble of models taking num_features features and writing outputs values per
 * row. AIOPS_ENOMEM. Free with learner_ensemble.free. */
int ensemble_new(size_t num_features, size_t outputs, struct ensemble **out);
/* Adds a member, taking algo over (also on failure: it is then freed). AIOPS_EINVAL when
 * its features or outputs differ or it is an ensemble, AIOPS_ENOMEM. */
int ensemble_add(struct ensemble *e, const struct learner *l, void *algo, double weight);
/* Rescales the weights to sum to 1. */
void ensemble_normalise(struct ensemble *e);

#endif
