/* kernelshap.h -- model-agnostic SHAP values (Kernel SHAP, Lundberg and Lee 2017) as shap's
 * KernelExplainer computes them, for learners TreeSHAP does not explain.
 *
 * The background (what "a feature is absent" means) is the data summarised by k-means, as
 * shap.kmeans does: k centroids weighted by their clusters' sizes, each numeric value moved
 * to the nearest value the data holds (so that centroids are values the model has seen),
 * categorical ones the cluster's most frequent code. A row's values are the weighted linear
 * regression of the model's output on coalitions of its features (a coalition's value: the
 * mean output over the background with the coalition's features set to the row's), with
 * the Shapley kernel's weights and the constraint that the values sum to f(row) - E[f].
 * Coalitions are chosen as shap does: whole subset sizes are enumerated, smallest (and
 * their complements) first, while the budget covers them; the rest are drawn at random by
 * the kernel's weight. nsamples 0 means shap's "auto": 2 * d + 2048 (d: the features whose
 * value differs from some background row; the others get 0), and with 2^d - 2 or fewer
 * coalitions every one is used, which makes the values exact. Outputs are what
 * model_predict gives (class probabilities, or the value). */
#ifndef AIOPS_KERNELSHAP_H
#define AIOPS_KERNELSHAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "data/fmatrix.h"
#include "ml/model.h"

#define KSHAP_DEFAULT_BACKGROUND 10
#define KSHAP_MAX_SAMPLES 100000

struct kshap_background {
    size_t k, nfeat;
    double *rows;   /* k * nfeat, row-major, owned */
    double *weight; /* k, summing to 1, owned */
};

/* Summarises the rows of x, standardised, by k-means (lib/algo/kmeans.h; k clamped to
 * 1 .. min(x->nrows, KMEANS_MAX_K); Lloyd's iterations from one k-means++ start drawn from
 * seed). AIOPS_EINVAL without rows, AIOPS_ENOMEM. The caller frees with
 * kshap_background_free. */
int kshap_background_kmeans(const struct fmatrix *x, size_t k, uint64_t seed,
                            struct kshap_background *out);
void kshap_background_free(struct kshap_background *bg);

/* The SHAP values of row (m->features.n values) into phi[outputs * (nfeat + 1)] (output k's
 * values at phi + k * (nfeat + 1), the last the expected value E[f] over the background).
 * nsamples 0: auto; at most KSHAP_MAX_SAMPLES. threads as model_predict_threads.
 * AIOPS_EINVAL, AIOPS_ENOMEM. */
int kshap_explain(const struct model *m, const struct kshap_background *bg, const double *row,
                  size_t nsamples, uint64_t seed, int threads, double *phi);

/* Solves the n x n system a x = b in place (b becomes x) by Gaussian elimination with partial
 * pivoting; AIOPS_EINVAL when singular. Shared with LIME's ridge (lib/ml/lime.h). */
int kshap_solve(double *a, double *b, size_t n);

#endif
