/* prep.h -- a learner's model behind the feature set's searched transforms (lib/ml/
 * featureset.h, "searched transforms"): the "prep" learner (lib/ml/learn_prep.c) whose
 * predict applies the transforms to the feature set's matrix and hands the result to the
 * inner model. AutoML (lib/ml/automl.h) builds one per fold model and refit of a trial whose
 * transforms are not the identity; it is saved and served as any model (alone, or as an
 * ensemble member). Not in the registry's list (`aiops train` cannot train one), but
 * learner_find() knows it. */
#ifndef AIOPS_PREP_H
#define AIOPS_PREP_H

#include "ml/featureset.h"
#include "ml/learner.h"

struct prep_model {
    struct feature_prep *prep;     /* owned */
    const struct learner *inner;   /* never prep or the ensemble */
    void *algo;                    /* the inner model, owned (inner->free) */
};

extern const struct learner learner_prep;

/* *out = prep in front of inner's algo, taking both over (also on failure: they are then
 * freed). AIOPS_EINVAL when algo does not take prep's nout columns or inner is prep or the
 * ensemble; AIOPS_ENOMEM. Free with learner_prep.free. */
int prep_model_new(struct feature_prep *prep, const struct learner *inner, void *algo,
                   struct prep_model **out);

#endif
