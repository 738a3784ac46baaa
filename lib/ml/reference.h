/* reference.h -- the drift reference a model carries: what its training rows looked like per
 * feature and what its prediction scores looked like on the validation rows, saved at
 * training time so that drift is measured later without the training data (Evidently
 * recomputes it from the raw reference every time; issue #506 there asks for this).
 *
 * Per numeric feature: the present and missing counts, a quantile sketch -- every training
 * value when there are at most REF_SKETCH of them (then tests are exact), else REF_SKETCH
 * quantiles at i / (REF_SKETCH - 1) (numpy's default type 7) standing for the rows, which
 * keeps ECDF-based statistics (KS, Wasserstein, binned PSI/JS) within 1 / (REF_SKETCH - 1)
 * of the raw data -- and numpy's DRIFT_BINS-bin histogram over [min, max] for display. Per
 * categorical feature: the count of each training category. The scores: a sketch of the
 * model's score on the validation rows (the positive class's probability for a binary task,
 * the top class's probability for a multiclass one, the value for regression; the training
 * rows when none were held out).
 *
 * Stored as the model file's optional 'DRFT' section (lib/ml/model.h); models saved before
 * it existed load with no reference. Layout (little-endian):
 *   u32 version (1), u32 features, u64 training rows, u8 score source (0 valid, 1 train)
 *   per feature: u8 kind (0 numeric, 1 categorical), u64 present, u64 missing, then
 *     numeric: u32 q, q f64 sorted finite; u32 bins, bins + 1 f64 edges, bins u64 counts
 *     categorical: u32 k (= the feature's training categories), k u64 counts
 *   u64 scored rows, u32 q, q f64 sorted finite
 * A section that does not fit the model's features, or is inconsistent in itself, is
 * refused (AIOPS_ECORRUPT). */
#ifndef AIOPS_REFERENCE_H
#define AIOPS_REFERENCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "data/fmatrix.h"
#include "ml/featureset.h"

#define REF_SKETCH 1001
/* Bounds a loaded section may not exceed (a hostile file cannot make us allocate more). */
#define REF_MAX_SKETCH 100000
#define REF_MAX_BINS 1000

struct ref_feature {
    int categorical;
    uint64_t present, missing;
    double *sketch; /* numeric: nsketch sorted values, owned */
    uint32_t nsketch;
    double *edges; /* numeric: nbins + 1, owned */
    uint64_t *hist;
    uint32_t nbins;
    uint64_t *counts; /* categorical: ncats, owned */
    uint32_t ncats;
};

struct drift_reference {
    uint64_t train_rows;
    int scores_from_training; /* no validation rows: scores of the training rows */
    size_t n;
    struct ref_feature *f; /* n, owned */
    uint64_t score_rows;
    double *score_sketch; /* sorted, owned */
    uint32_t score_nsketch;
};

/* The score of each row of a prediction (nrows x outputs, row-major) as the reference keeps
 * it, into score[nrows]. */
void reference_scores(const double *pred, size_t nrows, size_t outputs, int regression,
                      double *score);

/* Builds the reference from the training matrix x (the model's features, in order) and the
 * scores of nscores rows. The caller frees *out with reference_free. AIOPS_ENOMEM. */
int reference_build(const struct feature_set *fs, const struct fmatrix *x, const double *scores,
                    size_t nscores, int scores_from_training, struct drift_reference **out);
void reference_free(struct drift_reference *r);

int reference_save(const struct drift_reference *r, struct buf *out);
/* Reads a 'DRFT' section for the features fs. AIOPS_ECORRUPT with a reason in *why (static)
 * when it is damaged or does not fit fs; AIOPS_ENOMEM. */
int reference_load(const uint8_t *p, size_t n, const struct feature_set *fs,
                   struct drift_reference **out, const char **why);

/* Drift of the rows of cur (a matrix for fs, e.g. the recent served rows) against the
 * reference: the lib/ml/drift_table.h document ("features", "share_drifted", ...) plus
 * "prediction" {"kl_divergence", "level"} when scores (ncur of them) are given. Features
 * with no value in cur are listed under "skipped". The caller owns *out. AIOPS_ENOMEM. */
int reference_drift(const struct drift_reference *r, const struct feature_set *fs,
                    const struct fmatrix *cur, const double *scores, size_t nscores, json_t **out);
/* KL(current scores || reference scores) (lib/ml/drift.h drift_score_kl); NaN without
 * scores on either side. */
double reference_score_kl(const struct drift_reference *r, const double *scores, size_t n);

/* A summary for people: {"train_rows", "score_rows", "features": [{"feature", "type",
 * "present", "missing", "quantiles": {"p01", "p25", "p50", "p75", "p99"} |
 * "categories": {name: count}}]}. NULL when out of memory. */
json_t *reference_json(const struct drift_reference *r, const struct feature_set *fs);

#endif
