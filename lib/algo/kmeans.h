/* kmeans.h -- k-means clustering on a dense row-major matrix of finite doubles: k-means++
 * seeding (scikit-learn's greedy variant), n_init restarts keeping the lowest inertia, and
 * Lloyd iterations whose distances are one BLAS product per block of rows; after the first
 * iteration Hamerly's bounds spare most of them, with exactly the labels, centres, inertia
 * and iteration count of computing them all (plain_lloyd runs that way, for comparison).
 *
 * Results depend on the data, k, n_init, max_iter, tol and seed only -- never on the
 * thread count (ours, or OpenBLAS's: it runs one thread inside): each block of rows sums
 * its own partial centroids and the blocks are added in order. Convergence follows
 * scikit-learn: stop when no label changes, or when the squared movement of all centres is
 * at most tol times the mean column variance; a final assignment then makes labels and
 * inertia match the centres returned.
 *
 * Scaling and one-hot encoding are the caller's (lib/ml/learn_kmeans.c): this file sees
 * numbers only. */
#ifndef AIOPS_KMEANS_H
#define AIOPS_KMEANS_H

#include <stddef.h>
#include <stdint.h>

#include "algo/progress.h"
#include "core/err.h"

#define KMEANS_MAX_K 256

struct kmeans_params {
    size_t k;        /* clusters, 1 .. min(KMEANS_MAX_K, rows) */
    int n_init;      /* restarts, >= 1: the run with the lowest inertia is kept */
    int max_iter;    /* Lloyd iterations per restart, >= 1 */
    double tol;      /* relative to the mean column variance, >= 0 */
    uint64_t seed;   /* every random draw */
    int threads;     /* <= 0: every CPU */
    int plain_lloyd; /* 1: every distance every iteration, no bounds (the same results, slower) */
};

/* Clusters the n rows of x (n * d doubles, row-major). centers receives k * d doubles
 * (row-major); labels (may be NULL) n cluster indexes; *inertia the sum of squared
 * distances of rows to their centre; *iterations the Lloyd iterations of the kept run.
 * progress (may be NULL) is called after each restart; a non-zero return cancels
 * (AIOPS_ECANCELED). AIOPS_EINVAL with err for k larger than the rows or bad parameters,
 * AIOPS_ENOMEM. */
int kmeans_fit(const double *x, size_t n, size_t d, const struct kmeans_params *p,
               train_progress_fn progress, void *progress_arg, double *centers, int32_t *labels,
               double *inertia, int *iterations, struct aiops_error *err);

/* One Lloyd run from the k given centres init (k * d) instead of k-means++ (n_init and seed
 * are not used): what a comparison from the same start, or a caller with its own seeds,
 * needs. Outputs and errors as kmeans_fit's. */
int kmeans_fit_from(const double *x, size_t n, size_t d, const struct kmeans_params *p,
                    const double *init, double *centers, int32_t *labels, double *inertia,
                    int *iterations, struct aiops_error *err);

/* The nearest centre of each row of x (n * d) among centers (k * d): labels[n] and, when
 * dist2 is not NULL, the squared distance to it. *inertia (may be NULL) gets their sum.
 * threads <= 0: every CPU. AIOPS_ENOMEM. */
int kmeans_assign(const double *x, size_t n, size_t d, const double *centers, size_t k, int threads,
                  int32_t *labels, double *dist2, double *inertia);

/* The k-means++ seeds alone (the first step of kmeans_fit for one restart), into centers
 * (k * d): exposed so tests can check that a seed gives the same seeds. AIOPS_ENOMEM. */
int kmeans_plusplus(const double *x, size_t n, size_t d, size_t k, uint64_t seed, int threads,
                    double *centers);

#endif
