/* kmeans.c -- k-means++ and Lloyd's algorithm with BLAS distances (see kmeans.h).
 *
 * Squared distances are ||x||^2 - 2 x.c + ||c||^2, the cross term one dgemm per block of
 * rows against all centres (or k-means++ candidates): the arithmetic runs at BLAS speed and
 * the rows are read once per iteration. Blocks are the unit of parallel work and of
 * summation: each block writes its own partial sums, added in block order, so the result
 * is the same on any number of threads. */
#include "algo/kmeans.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/rand.h"
#include "math/stats.h"

/* Rows per block: big enough for an efficient product, few enough blocks that their
 * partial sums (blocks * k * d doubles) stay small. */
#define BLOCK_MIN_ROWS 1024
#define MAX_BLOCKS 512

struct plan {
    const double *x;
    size_t n, d, k;
    size_t rows_per, nblocks;
    double *xx;      /* n squared row norms */
    double *scratch; /* threads * rows_per * max(k, trials) dot products */
    size_t scratch_cols;
};

static void plan_blocks(struct plan *pl)
{
    size_t rows = BLOCK_MIN_ROWS;
    if ((pl->n + rows - 1) / rows > MAX_BLOCKS)
        rows = (pl->n + MAX_BLOCKS - 1) / MAX_BLOCKS;
    pl->rows_per = rows;
    pl->nblocks = pl->n == 0 ? 0 : (pl->n + rows - 1) / rows;
}

/* dots[m * kc] = rows r0 .. r0+m of x times the kc rows of c, transposed. */
static void block_dots(const struct plan *pl, size_t r0, size_t m, const double *c, size_t kc,
                       double *dots)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)kc, (int)pl->d, 1.0,
                pl->x + r0 * pl->d, (int)pl->d, c, (int)pl->d, 0.0, dots, (int)kc);
}

static double sq_dist(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

static void row_norms(const double *c, size_t k, size_t d, double *out)
{
    for (size_t i = 0; i < k; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++)
            s += c[i * d + j] * c[i * d + j];
        out[i] = s;
    }
}

struct norms_job {
    struct plan *pl;
};

static void norms_block(void *arg, int tid, size_t b)
{
    (void)tid;
    struct plan *pl = ((struct norms_job *)arg)->pl;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    row_norms(pl->x + r0 * pl->d, r1 - r0, pl->d, pl->xx + r0);
}

/* --- assignment and the Lloyd step ------------------------------------------------------ */

struct step_job {
    struct plan *pl;
    const double *centers; /* k * d */
    const double *cc;      /* k squared norms */
    int32_t *labels;       /* n, updated in place */
    double *dist2;         /* n, or NULL */
    double *partial;       /* nblocks * (k * d + k + 2), or NULL: assign only */
};

/* One block: nearest centres, and with partial its sums, counts, inertia and changes. */
static void step_block(void *arg, int tid, size_t b)
{
    struct step_job *j = arg;
    const struct plan *pl = j->pl;
    size_t k = pl->k, d = pl->d;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    double *dots = pl->scratch + (size_t)tid * pl->rows_per * pl->scratch_cols;
    block_dots(pl, r0, r1 - r0, j->centers, k, dots);
    double *sums = NULL, *counts = NULL, inertia = 0, changed = 0;
    if (j->partial) {
        sums = j->partial + b * (k * d + k + 2);
        counts = sums + k * d;
        memset(sums, 0, (k * d + k) * sizeof *sums);
    }
    for (size_t i = r0; i < r1; i++) {
        const double *g = dots + (i - r0) * k;
        size_t best = 0;
        double bestv = j->cc[0] - 2 * g[0];
        for (size_t c = 1; c < k; c++) {
            double v = j->cc[c] - 2 * g[c];
            if (v < bestv)
                bestv = v, best = c;
        }
        double dist = pl->xx[i] + bestv;
        if (dist < 0)
            dist = 0; /* rounding of the expanded form */
        inertia += dist;
        if (j->labels[i] != (int32_t)best)
            changed += 1;
        j->labels[i] = (int32_t)best;
        if (j->dist2)
            j->dist2[i] = dist;
        if (sums) {
            const double *xi = pl->x + i * d;
            double *s = sums + best * d;
            for (size_t t = 0; t < d; t++)
                s[t] += xi[t];
            counts[best] += 1;
        }
    }
    if (j->partial) {
        counts[k] = inertia;
        counts[k + 1] = changed;
    }
}

/* --- k-means++ ------------------------------------------------------------------------ */

struct pp_job {
    struct plan *pl;
    const double *cand;  /* trials * d */
    const double *candn; /* trials squared norms */
    size_t trials;
    const double *closest; /* n */
    double *pot;           /* nblocks * trials */
    double *mind;          /* n * trials: min(closest, distance to the candidate), kept so
                              the chosen candidate's needs no second pass over the rows */
};

static void pp_block(void *arg, int tid, size_t b)
{
    struct pp_job *j = arg;
    const struct plan *pl = j->pl;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    double *dots = pl->scratch + (size_t)tid * pl->rows_per * pl->scratch_cols;
    block_dots(pl, r0, r1 - r0, j->cand, j->trials, dots);
    double *pot = j->pot + b * j->trials;
    for (size_t t = 0; t < j->trials; t++)
        pot[t] = 0;
    for (size_t i = r0; i < r1; i++) {
        const double *g = dots + (i - r0) * j->trials;
        for (size_t t = 0; t < j->trials; t++) {
            double dist = pl->xx[i] - 2 * g[t] + j->candn[t];
            if (dist < 0)
                dist = 0;
            double m = dist < j->closest[i] ? dist : j->closest[i];
            j->mind[i * j->trials + t] = m;
            pot[t] += m;
        }
    }
}

struct closest_job {
    struct plan *pl;
    const double *center;
    double *closest;
    double *blocksum; /* nblocks */
    int first;        /* 1: set closest, else take the minimum */
};

static void closest_block(void *arg, int tid, size_t b)
{
    (void)tid;
    struct closest_job *j = arg;
    const struct plan *pl = j->pl;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    double s = 0;
    for (size_t i = r0; i < r1; i++) {
        double dist = sq_dist(pl->x + i * pl->d, j->center, pl->d);
        if (j->first || dist < j->closest[i])
            j->closest[i] = dist;
        s += j->closest[i];
    }
    j->blocksum[b] = s;
}

/* The first index whose cumulative sum reaches r (numpy's searchsorted, side "left"). */
static size_t search_cumsum(const double *cum, size_t n, double r)
{
    size_t lo = stats_count_below(cum, n, r);
    return lo < n ? lo : n - 1;
}

/* scikit-learn's greedy k-means++: the first centre uniformly at random, then for each
 * next one 2 + floor(ln k) candidates drawn in proportion to the squared distance to the
 * nearest centre so far, keeping the candidate that lowers the total the most. */
static int plusplus(struct plan *pl, struct pool *pool, uint64_t seed, double *centers)
{
    size_t n = pl->n, d = pl->d, k = pl->k;
    size_t trials = 2 + (size_t)log((double)k);
    double *closest = malloc(n * sizeof *closest);
    double *cum = malloc(n * sizeof *cum);
    double *blocksum = malloc(pl->nblocks * sizeof *blocksum);
    double *pot = malloc(pl->nblocks * trials * sizeof *pot);
    double *cand = malloc(trials * d * sizeof *cand);
    double *mind = malloc(n * trials * sizeof *mind);
    double candn[16];
    size_t ids[16];
    if (!closest || !cum || !blocksum || !pot || !cand || !mind) {
        free(closest), free(cum), free(blocksum), free(pot), free(cand), free(mind);
        return AIOPS_ENOMEM;
    }
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    size_t first = (size_t)rand_xoshiro_below(&rng, n);
    memcpy(centers, pl->x + first * d, d * sizeof *centers);
    struct closest_job cj = {pl, centers, closest, blocksum, 1};
    pool_for(pool, 0, pl->nblocks, closest_block, &cj);
    for (size_t c = 1; c < k; c++) {
        double acc = 0;
        for (size_t i = 0; i < n; i++)
            cum[i] = acc += closest[i];
        double total = acc;
        for (size_t t = 0; t < trials; t++) {
            double r = (double)(rand_xoshiro_next(&rng) >> 11) * 0x1.0p-53 * total;
            ids[t] = search_cumsum(cum, n, r);
            memcpy(cand + t * d, pl->x + ids[t] * d, d * sizeof *cand);
        }
        row_norms(cand, trials, d, candn);
        struct pp_job pj = {pl, cand, candn, trials, closest, pot, mind};
        pool_for(pool, 0, pl->nblocks, pp_block, &pj);
        size_t best = 0;
        double bestpot = DBL_MAX;
        for (size_t t = 0; t < trials; t++) {
            double s = 0;
            for (size_t b = 0; b < pl->nblocks; b++)
                s += pot[b * trials + t];
            if (s < bestpot)
                bestpot = s, best = t;
        }
        memcpy(centers + c * d, cand + best * d, d * sizeof *centers);
        for (size_t i = 0; i < n; i++)
            closest[i] = mind[i * trials + best];
    }
    free(closest), free(cum), free(blocksum), free(pot), free(cand), free(mind);
    return AIOPS_OK;
}

/* --- Lloyd ------------------------------------------------------------------------------ */

/* Moves each empty cluster onto the row farthest from its centre (not yet moved), taking
 * that row out of its old cluster's sum, as scikit-learn relocates empty clusters. */
static void relocate_empty(const struct plan *pl, double *sums, double *counts,
                           const int32_t *labels, double *dist2)
{
    size_t k = pl->k, d = pl->d;
    for (size_t c = 0; c < k; c++) {
        if (counts[c] > 0)
            continue;
        size_t far = 0;
        double fard = -1;
        for (size_t i = 0; i < pl->n; i++)
            if (dist2[i] > fard)
                fard = dist2[i], far = i;
        if (fard <= 0)
            return; /* fewer distinct rows than clusters: nothing to move */
        const double *xf = pl->x + far * d;
        size_t old = (size_t)labels[far];
        if (counts[old] > 1) {
            for (size_t t = 0; t < d; t++)
                sums[old * d + t] -= xf[t];
            counts[old] -= 1;
        }
        memcpy(sums + c * d, xf, d * sizeof *sums);
        counts[c] = 1;
        dist2[far] = 0;
    }
}

/* One restart from the seeds in centers: Lloyd iterations until convergence, then the final
 * assignment. */
static int lloyd(struct plan *pl, struct pool *pool, int max_iter, double tol, double *centers,
                 int32_t *labels, double *inertia, int *iterations)
{
    size_t k = pl->k, d = pl->d, stride = k * d + k + 2;
    double *partial = malloc(pl->nblocks * stride * sizeof *partial);
    double *dist2 = malloc(pl->n * sizeof *dist2);
    double *next = malloc((k * d + k) * sizeof *next);
    double cc[KMEANS_MAX_K];
    if (!partial || !dist2 || !next) {
        free(partial), free(dist2), free(next);
        return AIOPS_ENOMEM;
    }
    for (size_t i = 0; i < pl->n; i++)
        labels[i] = -1;
    int strict = 0, it = 0;
    while (it < max_iter) {
        it++;
        row_norms(centers, k, d, cc);
        struct step_job sj = {pl, centers, cc, labels, dist2, partial};
        pool_for(pool, 0, pl->nblocks, step_block, &sj);
        double *counts = next + k * d, changed = 0;
        memset(next, 0, (k * d + k) * sizeof *next);
        for (size_t b = 0; b < pl->nblocks; b++) {
            const double *pb = partial + b * stride;
            for (size_t t = 0; t < k * d + k; t++)
                next[t] += pb[t];
            changed += pb[k * d + k + 1];
        }
        relocate_empty(pl, next, counts, labels, dist2);
        double shift = 0;
        for (size_t c = 0; c < k; c++)
            for (size_t t = 0; t < d; t++) {
                double v = counts[c] > 0 ? next[c * d + t] / counts[c] : centers[c * d + t];
                double m = v - centers[c * d + t];
                shift += m * m;
                centers[c * d + t] = v;
            }
        if (changed == 0 && it > 1) {
            strict = 1;
            break;
        }
        if (shift <= tol)
            break;
    }
    /* the labels and distances of the centres returned: after a strict convergence the
     * labels already are, but a relocated empty cluster moved dist2, so always one pass */
    (void)strict;
    double total = 0;
    row_norms(centers, k, d, cc);
    struct step_job fj = {pl, centers, cc, labels, dist2, NULL};
    pool_for(pool, 0, pl->nblocks, step_block, &fj);
    for (size_t i = 0; i < pl->n; i++)
        total += dist2[i];
    *inertia = total;
    *iterations = it;
    free(partial), free(dist2), free(next);
    return AIOPS_OK;
}

/* tol in squared units: tol times the mean population variance of the columns. */
static double scaled_tol(const double *x, size_t n, size_t d, double tol)
{
    if (tol == 0 || n == 0)
        return 0;
    double *mean = calloc(d, sizeof *mean), var = 0;
    if (mean == NULL)
        return tol;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++)
            mean[t] += x[i * d + t];
    for (size_t t = 0; t < d; t++)
        mean[t] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) {
            double m = x[i * d + t] - mean[t];
            var += m * m;
        }
    free(mean);
    return tol * var / ((double)n * (double)d);
}

static int plan_init(struct plan *pl, const double *x, size_t n, size_t d, size_t k, size_t cols,
                     struct pool *pool)
{
    memset(pl, 0, sizeof *pl);
    pl->x = x, pl->n = n, pl->d = d, pl->k = k;
    plan_blocks(pl);
    pl->scratch_cols = cols;
    pl->xx = malloc((n ? n : 1) * sizeof *pl->xx);
    pl->scratch = malloc((size_t)pool_threads(pool) * pl->rows_per * cols * sizeof *pl->scratch);
    if (pl->xx == NULL || pl->scratch == NULL)
        return AIOPS_ENOMEM;
    struct norms_job nj = {pl};
    pool_for(pool, 0, pl->nblocks, norms_block, &nj);
    return AIOPS_OK;
}

static void plan_free(struct plan *pl)
{
    free(pl->xx);
    free(pl->scratch);
}

static size_t trials_of(size_t k)
{
    return 2 + (size_t)log((double)k);
}

int kmeans_plusplus(const double *x, size_t n, size_t d, size_t k, uint64_t seed, int threads,
                    double *centers)
{
    if (k == 0 || k > n || k > KMEANS_MAX_K)
        return AIOPS_EINVAL;
    struct pool *pool = NULL;
    int rv = pool_create(threads, &pool);
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, k, trials_of(k), pool);
    if (rv == 0)
        rv = plusplus(&pl, pool, seed, centers);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}

int kmeans_assign(const double *x, size_t n, size_t d, const double *centers, size_t k, int threads,
                  int32_t *labels, double *dist2, double *inertia)
{
    if (k == 0 || k > KMEANS_MAX_K)
        return AIOPS_EINVAL;
    if (n == 0) {
        if (inertia)
            *inertia = 0;
        return AIOPS_OK;
    }
    /* small batches (one served profile) are not worth threads */
    struct pool *pool = NULL;
    int rv = pool_create(n < 4 * BLOCK_MIN_ROWS ? 1 : threads, &pool);
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    double *own = NULL, cc[KMEANS_MAX_K];
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, k, k, pool);
    if (rv == 0 && dist2 == NULL && inertia != NULL &&
        (dist2 = own = malloc(n * sizeof *own)) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0) {
        row_norms(centers, k, d, cc);
        struct step_job sj = {&pl, centers, cc, labels, dist2, NULL};
        pool_for(pool, 0, pl.nblocks, step_block, &sj);
        if (inertia) {
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += dist2[i];
            *inertia = s;
        }
    }
    free(own);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}

int kmeans_fit(const double *x, size_t n, size_t d, const struct kmeans_params *p,
               train_progress_fn progress, void *progress_arg, double *centers, int32_t *labels,
               double *inertia, int *iterations, struct aiops_error *err)
{
    if (p->k < 1 || p->k > KMEANS_MAX_K)
        return aiops_error_set(err, AIOPS_EINVAL, "k", "k must be from 1 to %d", KMEANS_MAX_K);
    if (p->k > n)
        return aiops_error_set(err, AIOPS_EINVAL, "k", "k (%zu) is larger than the rows (%zu)",
                               p->k, n);
    if (d == 0 || p->n_init < 1 || p->max_iter < 1 || !(p->tol >= 0))
        return aiops_error_set(err, AIOPS_EINVAL, "config", "bad k-means parameters");
    size_t k = p->k;
    struct pool *pool = NULL;
    int rv = pool_create(p->threads, &pool);
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    double *trial = malloc(k * d * sizeof *trial);
    int32_t *tlabels = malloc(n * sizeof *tlabels);
    if (rv == 0 && (trial == NULL || tlabels == NULL))
        rv = AIOPS_ENOMEM;
    size_t cols = trials_of(k) > k ? trials_of(k) : k;
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, k, cols, pool);
    double tol = rv == 0 ? scaled_tol(x, n, d, p->tol) : 0, best = DBL_MAX;
    uint64_t seeds = p->seed;
    for (int r = 0; rv == 0 && r < p->n_init; r++) {
        double in = 0;
        int it = 0;
        rv = plusplus(&pl, pool, rand_splitmix64(&seeds), trial);
        if (rv == 0)
            rv = lloyd(&pl, pool, p->max_iter, tol, trial, tlabels, &in, &it);
        if (rv == 0 && in < best) {
            best = in;
            memcpy(centers, trial, k * d * sizeof *centers);
            if (labels)
                memcpy(labels, tlabels, n * sizeof *labels);
            *iterations = it;
        }
        if (rv == 0 && progress) {
            struct train_progress pr = {.iteration = r + 1,
                                        .total = p->n_init,
                                        .train_loss = in / (double)n,
                                        .valid_loss = NAN,
                                        .train_metric = NAN,
                                        .valid_metric = NAN,
                                        .metric_name = "inertia"};
            if (progress(progress_arg, &pr) != 0)
                rv = AIOPS_ECANCELED;
        }
    }
    if (rv == 0)
        *inertia = best;
    free(trial);
    free(tlabels);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}
