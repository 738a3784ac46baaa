/* model.h -- a trained model: its features, target, algorithm and metadata; saving it to
 * bytes and reading it back; predicting.
 *
 * File format (little-endian), version MODEL_FORMAT_VERSION:
 *    0  8 bytes  magic "AIOPSMDL"
 *    8  u32      format version
 *   12  u32      section count
 *   16  u32      CRC-32C (lib/data/colstore.h) of every byte after this field
 *   20  sections, each: u32 tag, u64 length, bytes
 *         'META' JSON metadata {"kind", "task", "params", "metrics", "created_at", ...};
 *                "kind" is the learner's name (lib/ml/learner.h; an alias is read too)
 *         'FEAT' features_save() of the feature set and target
 *         'ALGO' the algorithm's own bytes (the learner's save: gbdt_save, forest_save, ...)
 *         'DRFT' optional: the drift reference (lib/ml/reference.h); files written before it
 *                existed have three sections and load with reference NULL
 * A file of another version, a bad checksum, a missing or repeated section, or any
 * inconsistency inside one is refused with a message; nothing in a file can crash the
 * loader (fuzzed: tests/fuzz/fuzz_model.c). */
#ifndef AIOPS_MODEL_H
#define AIOPS_MODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/buf.h"
#include "ml/featureset.h"
#include "ml/learner.h"
#include "ml/reference.h"

#define MODEL_FORMAT_VERSION 1u

struct model {
    const struct learner *learner; /* what algo is (static; never NULL in a model that
                                      train_model or model_load made) */
    void *algo;                    /* the learner's trained object, owned (learner->free) */
    struct feature_set features;
    struct target_spec target;
    json_t *meta;                      /* owned: params, training metrics, timings, created_at */
    struct drift_reference *reference; /* owned; NULL for a model saved before drift
                                          references were kept */
};

/* Frees m, its algorithm, features, target and metadata. NULL is a no-op. */
void model_free(struct model *m);

/* Appends m as a model file (the format above) to out. AIOPS_ENOMEM. */
int model_save(const struct model *m, struct buf *out);
/* Reads a model; on failure returns AIOPS_ECORRUPT (or AIOPS_EUNSUPPORTED for another format
 * version) with a human-readable reason in err. The caller owns *out (model_free). */
int model_load(const void *p, size_t n, struct model **out, struct aiops_error *err);
int model_save_file(const struct model *m, const char *path);
int model_load_file(const char *path, struct model **out, struct aiops_error *err);

/* Predictions for the rows of x (a matrix for m->features): classification fills
 * prob[nrows * nclasses] (row-major, rows sum to 1); regression fills value[nrows]. The
 * caller allocates the output. */
int model_predict(const struct model *m, const struct fmatrix *x, double *out);
/* The same on `threads` threads (<= 0: the online CPUs) when the learner predicts in
 * parallel and x has at least its parallel_rows rows; worth it for batches of thousands of
 * rows (a pool is started and stopped per call). */
int model_predict_threads(const struct model *m, const struct fmatrix *x, int threads, double *out);
/* 1 when m is a clustering model (its learner needs no target; it predicts the cluster). */
int model_is_clustering(const struct model *m);
/* "clustering" for a clustering model, else the target's task name. */
const char *model_task_name(const struct model *m);
/* Number of outputs per row: nclasses, or 1 for regression and clustering. */
size_t model_outputs(const struct model *m);

#endif
