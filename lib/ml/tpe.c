/* tpe.c -- Optuna's univariate TPE (samplers/_tpe/sampler.py, parzen_estimator.py). */
#include "ml/tpe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"

size_t tpe_gamma(size_t n)
{
    size_t g = (n + 9) / 10; /* ceil(0.1 n) */
    return g < 25 ? g : 25;
}

/* Optuna's default_weights: 1 for the newest 25, a ramp from 1/n up for the older ones;
 * w[i] for the i-th observation in trial order. */
static void default_weights(size_t n, double *w)
{
    if (n < 25) {
        for (size_t i = 0; i < n; i++)
            w[i] = 1.0;
        return;
    }
    size_t ramp = n - 25;
    for (size_t i = 0; i < ramp; i++)
        w[i] = ramp == 1
                   ? 1.0 / (double)n
                   : 1.0 / (double)n + (1.0 - 1.0 / (double)n) * (double)i / (double)(ramp - 1);
    for (size_t i = ramp; i < n; i++)
        w[i] = 1.0;
}

/* A mixture: component i has weight w[i] (summing to 1) and, numeric, a normal (mu, sigma)
 * truncated to [lo, hi]; categorical, the choice probabilities p[i * k ..]. The last
 * component is the prior. */
struct parzen {
    size_t n; /* components, the prior included */
    double *w, *mu, *sigma, *p;
    double lo, hi; /* in the transformed space */
    size_t k;      /* categorical: choices; 0: numeric */
};

static void parzen_free(struct parzen *e)
{
    free(e->w);
    free(e->mu);
    free(e->sigma);
    free(e->p);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sigma of each numeric component from its neighbours (sorted order), clipped as the
 * magic clip does; the prior keeps hi - lo. obs holds n observations, prior at index n. */
static void numeric_sigmas(struct parzen *e, size_t n)
{
    size_t m = n + 1;
    double *sorted = malloc((m + 2) * sizeof *sorted);
    if (sorted == NULL) { /* degrade to the widest kernels: still a valid density */
        for (size_t i = 0; i < m; i++)
            e->sigma[i] = e->hi - e->lo;
        return;
    }
    sorted[0] = e->lo;
    memcpy(sorted + 1, e->mu, m * sizeof *sorted);
    qsort(sorted + 1, m, sizeof *sorted, cmp_double);
    sorted[m + 1] = e->hi;
    double range = e->hi - e->lo;
    double minsigma = range / fmin(100.0, 1.0 + (double)m);
    for (size_t i = 0; i < m; i++) {
        /* find mu's place in the sorted list: the sigma is the larger gap beside it */
        double *at = bsearch(&e->mu[i], sorted + 1, m, sizeof *sorted, cmp_double);
        size_t j = at != NULL ? (size_t)(at - sorted) : 1;
        double left = sorted[j] - sorted[j - 1], right = sorted[j + 1] - sorted[j];
        if (m >= 2 && j == 1) /* consider_endpoints False: the end kernels ignore lo / hi */
            left = right;
        if (m >= 2 && j == m)
            right = left;
        double s = fmax(left, right);
        e->sigma[i] = fmin(fmax(s, minsigma), range);
    }
    e->sigma[n] = range; /* the prior */
    free(sorted);
}

/* The estimator of the observations obs[0..n) (transformed; in trial order). */
static int parzen_build(const struct tpe_dim *dim, const double *obs, size_t n, struct parzen *e)
{
    memset(e, 0, sizeof *e);
    e->n = n + 1;
    e->w = malloc(e->n * sizeof *e->w);
    if (e->w == NULL)
        return -1;
    default_weights(n, e->w);
    e->w[n] = 1.0; /* prior_weight */
    double total = 0;
    for (size_t i = 0; i < e->n; i++)
        total += e->w[i];
    for (size_t i = 0; i < e->n; i++)
        e->w[i] /= total;
    if (dim->kind == TPE_CATEGORICAL) {
        e->k = dim->nchoices;
        if ((e->p = malloc(e->n * e->k * sizeof *e->p)) == NULL)
            return -1;
        /* each kernel: prior_weight / k everywhere, + 1 on its observation, normalised */
        for (size_t i = 0; i < e->n; i++) {
            double *row = e->p + i * e->k, sum = 0;
            for (size_t c = 0; c < e->k; c++)
                row[c] = 1.0 / (double)e->k;
            if (i < n && obs[i] >= 0 && obs[i] < (double)e->k)
                row[(size_t)obs[i]] += 1.0;
            for (size_t c = 0; c < e->k; c++)
                sum += row[c];
            for (size_t c = 0; c < e->k; c++)
                row[c] /= sum;
        }
        return 0;
    }
    e->lo = dim->log ? log(dim->lo) : dim->lo;
    e->hi = dim->log ? log(dim->hi) : dim->hi;
    if (dim->kind == TPE_INT) {
        e->lo = dim->log ? log(dim->lo - 0.5 > 0 ? dim->lo - 0.5 : dim->lo * 0.5) : dim->lo - 0.5;
        e->hi = dim->log ? log(dim->hi + 0.5) : dim->hi + 0.5;
    }
    e->mu = malloc(e->n * sizeof *e->mu);
    e->sigma = malloc(e->n * sizeof *e->sigma);
    if (e->mu == NULL || e->sigma == NULL)
        return -1;
    memcpy(e->mu, obs, n * sizeof *obs);
    e->mu[n] = 0.5 * (e->lo + e->hi);
    numeric_sigmas(e, n);
    return 0;
}

static double normal_cdf(double z)
{
    return 0.5 * erfc(-z / sqrt(2.0));
}

/* log of the mixture's density at x (transformed space; a choice index when categorical). */
static double parzen_logpdf(const struct parzen *e, double x)
{
    double sum = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->k > 0) {
            sum += e->w[i] * e->p[i * e->k + (size_t)x];
            continue;
        }
        double s = e->sigma[i], z = (x - e->mu[i]) / s;
        double mass = normal_cdf((e->hi - e->mu[i]) / s) - normal_cdf((e->lo - e->mu[i]) / s);
        if (mass < 1e-300)
            mass = 1e-300;
        sum += e->w[i] * exp(-0.5 * z * z) / (s * sqrt(2 * M_PI) * mass);
    }
    return log(sum > 1e-300 ? sum : 1e-300);
}

/* A standard normal draw (Box-Muller). */
static double normal_draw(uint64_t *rng)
{
    double u = rand_unit(rng), v = rand_unit(rng);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * M_PI * v);
}

static double parzen_draw(const struct parzen *e, uint64_t *rng)
{
    double u = rand_unit(rng), acc = 0;
    size_t i = 0;
    for (; i + 1 < e->n; i++) {
        acc += e->w[i];
        if (u < acc)
            break;
    }
    if (e->k > 0) {
        double v = rand_unit(rng), c_acc = 0;
        const double *row = e->p + i * e->k;
        for (size_t c = 0; c + 1 < e->k; c++) {
            c_acc += row[c];
            if (v < c_acc)
                return (double)c;
        }
        return (double)(e->k - 1);
    }
    /* truncated normal by rejection; a kernel far outside the range falls back to clipping */
    for (int tries = 0; tries < 100; tries++) {
        double x = e->mu[i] + e->sigma[i] * normal_draw(rng);
        if (x >= e->lo && x <= e->hi)
            return x;
    }
    return fmin(fmax(e->mu[i], e->lo), e->hi);
}

/* A transformed value back to the dimension's own scale and type, in range. */
static double untransform(const struct tpe_dim *dim, double x)
{
    if (dim->kind == TPE_CATEGORICAL)
        return x;
    double v = dim->log ? exp(x) : x;
    if (dim->kind == TPE_INT)
        v = round(v);
    return fmin(fmax(v, dim->lo), dim->hi);
}

static double transform(const struct tpe_dim *dim, double v)
{
    return dim->kind != TPE_CATEGORICAL && dim->log ? log(v) : v;
}

static double random_value(const struct tpe_dim *dim, uint64_t *rng)
{
    double u = rand_unit(rng);
    if (dim->kind == TPE_CATEGORICAL) {
        size_t c = (size_t)(u * (double)dim->nchoices);
        return (double)(c < dim->nchoices ? c : dim->nchoices - 1);
    }
    double lo = dim->lo, hi = dim->hi;
    if (dim->kind == TPE_INT) {
        lo -= 0.5;
        hi += 0.5;
        if (dim->log && lo <= 0)
            lo = dim->lo * 0.5;
    }
    double x = dim->log ? exp(log(lo) + u * (log(hi) - log(lo))) : lo + u * (hi - lo);
    return untransform(dim, transform(dim, x));
}

struct ranked {
    double loss;
    size_t trial;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->loss != y->loss)
        return x->loss < y->loss ? -1 : 1;
    return (x->trial > y->trial) - (x->trial < y->trial);
}

static int cmp_trial(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    return (x->trial > y->trial) - (x->trial < y->trial);
}

/* The observations of dimension d in `group` (sorted by trial), transformed, into out. */
static void group_values(const struct tpe_dim *dim, size_t d, const struct tpe_history *h,
                         struct ranked *group, size_t n, double *out)
{
    qsort(group, n, sizeof *group, cmp_trial);
    for (size_t i = 0; i < n; i++)
        out[i] = transform(dim, h->values[group[i].trial * h->ndims + d]);
}

double tpe_sample(const struct tpe_dim *dim, size_t d, const struct tpe_history *h, uint64_t *rng)
{
    if (h->ntrials < TPE_STARTUP_TRIALS)
        return random_value(dim, rng);
    struct ranked *seen = malloc((h->ntrials ? h->ntrials : 1) * sizeof *seen);
    double *obs = malloc((h->ntrials ? h->ntrials : 1) * sizeof *obs);
    if (seen == NULL || obs == NULL) {
        free(seen);
        free(obs);
        return random_value(dim, rng);
    }
    size_t n = 0;
    for (size_t i = 0; i < h->ntrials; i++)
        if (!isnan(h->values[i * h->ndims + d]))
            seen[n++] = (struct ranked){h->loss[i], i};
    qsort(seen, n, sizeof *seen, cmp_ranked);
    size_t nb = tpe_gamma(n);
    struct parzen below, above;
    group_values(dim, d, h, seen, nb, obs);
    int rv = parzen_build(dim, obs, nb, &below);
    group_values(dim, d, h, seen + nb, n - nb, obs);
    rv |= parzen_build(dim, obs, n - nb, &above);
    double best = NAN, best_score = -INFINITY;
    for (int c = 0; rv == 0 && c < TPE_EI_CANDIDATES; c++) {
        double x = parzen_draw(&below, rng);
        double score = parzen_logpdf(&below, x) - parzen_logpdf(&above, x);
        if (score > best_score) {
            best_score = score;
            best = x;
        }
    }
    parzen_free(&below);
    parzen_free(&above);
    free(seen);
    free(obs);
    return isnan(best) ? random_value(dim, rng) : untransform(dim, best);
}
