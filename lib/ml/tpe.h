/* tpe.h -- the Tree-structured Parzen Estimator, as Optuna's default TPESampler samples it
 * (n_startup_trials 10 random trials, n_ei_candidates 24, gamma(n) = min(ceil(0.1 n), 25),
 * univariate: multivariate=False, prior_weight 1, consider_endpoints False, magic clip on,
 * the default weights ramping old trials down past 25).
 *
 * Every dimension is drawn on its own from the trials where it was drawn (a NaN value: the
 * trial did not have it, as the parameters of another learner), which makes the space
 * tree-structured: a learner is a categorical dimension, its parameters are conditional on
 * it. Observations are split by loss (lower is better) into the best gamma(n) ("below", l)
 * and the rest ("above", g); 24 candidates drawn from l, the one with the largest
 * log l(x) - log g(x) is kept. Numeric dimensions live on [lo, hi] (log-transformed with
 * `log`; integers widened by 0.5 each side and rounded back); categorical ones are
 * 0 .. nchoices-1. Deterministic for a generator state. */
#ifndef AIOPS_TPE_H
#define AIOPS_TPE_H

#include <stddef.h>
#include <stdint.h>

#define TPE_STARTUP_TRIALS 10
#define TPE_EI_CANDIDATES 24

enum tpe_kind {
    TPE_FLOAT,
    TPE_INT,
    TPE_CATEGORICAL,
};

struct tpe_dim {
    enum tpe_kind kind;
    double lo, hi;   /* TPE_FLOAT / TPE_INT: the range, inclusive; lo > 0 with log */
    int log;         /* sample log(x) */
    size_t nchoices; /* TPE_CATEGORICAL: >= 1 */
};

/* The trials so far: values[i * ndims + d] is trial i's value of dimension d (NaN when
 * the trial did not have it), loss[i] its loss (lower is better; +INFINITY for a failed
 * one, which then only ever counts among the worse). */
struct tpe_history {
    const double *values;
    const double *loss;
    size_t ntrials, ndims;
};

/* The value of dimension d (dims[d]) for the next trial: uniform (log-uniform) while the
 * history has fewer than TPE_STARTUP_TRIALS trials, TPE afterwards. *rng is a splitmix64
 * state (lib/core/rand.h) and advances. The value is in range (an integer for TPE_INT, a
 * choice index for TPE_CATEGORICAL). */
double tpe_sample(const struct tpe_dim *dim, size_t d, const struct tpe_history *h, uint64_t *rng);

/* Optuna's gamma: how many of n observations count as good. */
size_t tpe_gamma(size_t n);

#endif
