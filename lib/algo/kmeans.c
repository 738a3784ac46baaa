/* kmeans.c -- k-means++ and Lloyd's algorithm with BLAS distances (see kmeans.h).
 *
 * Squared distances are ||x||^2 - 2 x.c + ||c||^2, the cross term one dgemm per block of
 * rows against all centres (or k-means++ candidates): the arithmetic runs at BLAS speed and
 * the rows are read once per iteration. After the first iteration Hamerly's bounds leave
 * only the rows they cannot settle to a product (see "Hamerly's bounds" below). Blocks are
 * the unit of parallel work and of summation: each block writes its own partial sums,
 * added in block order, so the result is the same on any number of threads. */
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
 * partial sums (blocks * (2 k d + k + 1) integers) stay small. */
#define BLOCK_MIN_ROWS 1024
#define MAX_BLOCKS 512

struct plan {
    const double *x;
    size_t n, d, k;
    size_t rows_per, nblocks;
    double *xx;      /* n squared row norms */
    double *scratch; /* threads * rows_per * max(k, trials) dot products */
    size_t scratch_cols;
    double *scale; /* d: each column's fixed-point scale (plan_fixed), or NULL */
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

/* --- exact sums ----------------------------------------------------------------------------
 *
 * Cluster sums are kept in fixed point: per value two 64-bit integers, x times its
 * column's power-of-two scale cut into its integer part and the next 30 bits of the
 * fraction -- about 72 bits below the column's largest magnitude for a million rows,
 * finer than summing in doubles. Integer addition is associative, so a sum is the same
 * whatever the order: the bounded iterations only add and take away the rows that changed
 * cluster and have bit for bit what summing every row (plain Lloyd) has. */

#define FIXED_LO 0x1p30 /* n rows of fractions below 2^30 sum in 63 bits up to 2^32 rows */

/* Adds (sign 1) or takes away (-1) row x into the 2 * d integers of s. */
static void fixed_add(int64_t *s, const double *x, const double *scale, size_t d, int64_t sign)
{
    for (size_t t = 0; t < d; t++) {
        double y = x[t] * scale[t];
        int64_t hi = (int64_t)y;                             /* |y| < 2^62: exact part */
        int64_t lo = (int64_t)((y - (double)hi) * FIXED_LO); /* y - hi is exact */
        s[2 * t] += sign * hi;
        s[2 * t + 1] += sign * lo;
    }
}

/* The value of the fixed-point sum at s (hi, lo) in column scale. */
static double fixed_value(const int64_t *s, double scale)
{
    return ((double)s[0] + (double)s[1] / FIXED_LO) / scale;
}

/* Integers per block of sums: 2 k d values, k counts and the labels changed. */
static size_t sums_stride(const struct plan *pl)
{
    return 2 * pl->k * pl->d + pl->k + 1;
}

struct norms_job {
    struct plan *pl;
    double *colmax; /* nblocks * d: each block's largest magnitude per column */
};

static void norms_block(void *arg, int tid, size_t b)
{
    (void)tid;
    struct norms_job *j = arg;
    struct plan *pl = j->pl;
    size_t d = pl->d;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    row_norms(pl->x + r0 * d, r1 - r0, d, pl->xx + r0);
    double *mx = j->colmax + b * d;
    for (size_t t = 0; t < d; t++)
        mx[t] = 0;
    for (size_t i = r0; i < r1; i++)
        for (size_t t = 0; t < d; t++) {
            double v = fabs(pl->x[i * d + t]);
            mx[t] = v > mx[t] ? v : mx[t];
        }
}

/* Each column's scale: the power of two that puts its largest magnitude below
 * 2^(62 - ceil(log2 n)), so n rows sum in 63 bits. */
static void fixed_scales(struct plan *pl, const double *colmax)
{
    int lg = 0;
    while (lg < 62 && ((size_t)1 << lg) < pl->n + 1)
        lg++;
    for (size_t t = 0; t < pl->d; t++) {
        double mx = 0;
        for (size_t b = 0; b < pl->nblocks; b++)
            mx = colmax[b * pl->d + t] > mx ? colmax[b * pl->d + t] : mx;
        int e = 0;
        if (mx > 0)
            (void)frexp(mx, &e); /* mx < 2^e */
        int shift = 62 - lg - e;
        pl->scale[t] = ldexp(1, shift < -1000 ? -1000 : shift > 1000 ? 1000 : shift);
    }
}

/* --- assignment and the Lloyd step ------------------------------------------------------ */

struct step_job {
    struct plan *pl;
    const double *centers; /* k * d */
    const double *cc;      /* k squared norms */
    int32_t *labels;       /* n, updated in place */
    double *dist2;         /* n, or NULL */
    int64_t *partial;      /* nblocks * sums_stride, or NULL: assign only */
};

/* The nearest of the k centres by the expanded distance cc[c] - 2 g[c] (the first on a tie,
 * as every assignment here decides) and the runner-up's value (INFINITY when k is 1). */
static size_t nearest(const double *g, const double *cc, size_t k, double *bestv, double *second)
{
    size_t best = 0;
    double b = cc[0] - 2 * g[0], s = INFINITY;
    for (size_t c = 1; c < k; c++) {
        double v = cc[c] - 2 * g[c];
        if (v < b)
            s = b, b = v, best = c;
        else if (v < s)
            s = v;
    }
    *bestv = b;
    *second = s;
    return best;
}

/* One block: nearest centres, and with partial its sums, counts and changes. */
static void step_block(void *arg, int tid, size_t b)
{
    struct step_job *j = arg;
    const struct plan *pl = j->pl;
    size_t k = pl->k, d = pl->d;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    double *dots = pl->scratch + (size_t)tid * pl->rows_per * pl->scratch_cols;
    block_dots(pl, r0, r1 - r0, j->centers, k, dots);
    int64_t *sums = NULL, *counts = NULL, changed = 0;
    if (j->partial) {
        sums = j->partial + b * sums_stride(pl);
        counts = sums + 2 * k * d;
        memset(sums, 0, (2 * k * d + k) * sizeof *sums);
    }
    for (size_t i = r0; i < r1; i++) {
        double bestv, second;
        size_t best = nearest(dots + (i - r0) * k, j->cc, k, &bestv, &second);
        double dist = pl->xx[i] + bestv;
        if (dist < 0)
            dist = 0; /* rounding of the expanded form */
        if (j->labels[i] != (int32_t)best)
            changed += 1;
        j->labels[i] = (int32_t)best;
        if (j->dist2)
            j->dist2[i] = dist;
        if (sums) {
            fixed_add(sums + best * 2 * d, pl->x + i * d, pl->scale, d, 1);
            counts[best] += 1;
        }
    }
    if (j->partial)
        counts[k] = changed;
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
static void relocate_empty(const struct plan *pl, int64_t *sums, int64_t *counts,
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
            fixed_add(sums + old * 2 * d, xf, pl->scale, d, -1);
            counts[old] -= 1;
        }
        memset(sums + c * 2 * d, 0, 2 * d * sizeof *sums);
        fixed_add(sums + c * 2 * d, xf, pl->scale, d, 1);
        counts[c] = 1;
        dist2[far] = 0;
    }
}

/* --- Hamerly's bounds ---------------------------------------------------------------------
 *
 * After the first iterations most rows keep their centre, and Hamerly's bounds (Hamerly
 * 2010, "Making k-means even faster") prove it without a distance: upper[i] is at least the
 * distance of row i to its centre, lower[i] at most its distance to every other centre.
 * When the centres move, a row's upper bound grows by its centre's move and its lower bound
 * shrinks by the largest move of another centre. A row whose lower bound -- or twice half
 * the gap from its centre to the nearest other, less its upper bound -- exceeds its upper
 * bound keeps its centre; the other rows of a block are gathered and recomputed with one
 * product (or, when they are most of the block, the whole block is, as plain Lloyd does).
 *
 * The labels are exactly plain Lloyd's. Plain Lloyd decides on expanded distances, each
 * within e = (2d + 2) eps (|x|^2 + max |c|^2) of the true squared distance, so when the true
 * gap between the nearest centre and the runner-up exceeds 2e it picks the true nearest. A
 * row keeps its centre, or is decided from the gathered product, only when its gap is
 * certified above that (the bounds stay true despite rounding: rounded outwards); a near
 * tie takes its label from the block's own product, the very numbers plain Lloyd uses.
 * (With one BLAS thread, OpenBLAS 0.3.21 gives the gathered rows the block's numbers bit
 * for bit anyway; the rule keeps the promise for kernels that do not.) The sums are exact
 * (fixed point, above), so adding and taking away the rows that changed cluster gives
 * them bit for bit: the centres are the same too, and no pass reads every row's values. */

#define ROUND_UP (1 + 4 * DBL_EPSILON)
#define ROUND_DOWN (1 - 4 * DBL_EPSILON)
/* Recompute the whole block with its own product when more than this share of its rows
 * needs recomputing (gathering them would cost as much). */
#define FULL_BLOCK_SHARE 0.5

struct bound_job {
    struct plan *pl;
    const double *centers, *cc; /* k * d; k squared norms */
    double ccmax;               /* the largest of cc */
    double tie;                 /* a gap below tie * (|x|^2 + ccmax) is a near tie */
    int32_t *labels;
    double *upper, *lower;  /* n each */
    const double *moved;    /* k: the last move of each centre, rounded up */
    const double *half_gap; /* k: half the distance to the nearest other centre, down */
    double moved_max, moved_second;
    size_t moved_arg; /* the centre that moved most */
    int first;        /* no bounds yet: every row from the block's product */
    int64_t *partial; /* nblocks * sums_stride: the changes to the sums */
    size_t *rows;     /* threads * rows_per: rows to recompute */
    double *gathered; /* threads * rows_per * d */
    double *gdots;    /* threads * rows_per * k */
};

/* Row i's label and bounds from expanded distances (bestv, second as nearest gives them):
 * widened by the rounding error of the expanded form, so they bound the true distances.
 * A row that changes cluster moves its values and count in the block's delta. */
static void settle_row(const struct bound_job *j, int64_t *delta, size_t i, size_t best,
                       double bestv, double second)
{
    const struct plan *pl = j->pl;
    size_t k = pl->k, d = pl->d;
    double xx = pl->xx[i], slack = j->tie * (xx + j->ccmax);
    double hi = xx + bestv + slack, lo = xx + second - slack;
    j->upper[i] = sqrt(hi > 0 ? hi : 0) * ROUND_UP;
    j->lower[i] = sqrt(lo > 0 ? lo : 0) * ROUND_DOWN;
    int32_t was = j->labels[i];
    if (was == (int32_t)best)
        return;
    int64_t *counts = delta + 2 * k * d;
    if (was >= 0) {
        fixed_add(delta + (size_t)was * 2 * d, pl->x + i * d, pl->scale, d, -1);
        counts[was] -= 1;
    }
    fixed_add(delta + best * 2 * d, pl->x + i * d, pl->scale, d, 1);
    counts[best] += 1;
    counts[k] += 1;
    j->labels[i] = (int32_t)best;
}

/* Rows r0 .. r1 from the block's own product (plain Lloyd's numbers): every row, or with
 * rows != NULL the m rows listed. */
static void settle_from_block(const struct bound_job *j, int64_t *delta, int tid, size_t r0,
                              size_t r1, const size_t *rows, size_t m)
{
    const struct plan *pl = j->pl;
    size_t k = pl->k;
    double *dots = pl->scratch + (size_t)tid * pl->rows_per * pl->scratch_cols;
    block_dots(pl, r0, r1 - r0, j->centers, k, dots);
    size_t count = rows ? m : r1 - r0;
    for (size_t q = 0; q < count; q++) {
        size_t i = rows ? rows[q] : r0 + q;
        double bestv, second;
        size_t best = nearest(dots + (i - r0) * k, j->cc, k, &bestv, &second);
        settle_row(j, delta, i, best, bestv, second);
    }
}

/* Whether bounds up (to the own centre) and lo (to the others) prove row i's centre a the
 * one plain Lloyd picks: every other centre is at least 2 half_gap[a] from centre a, so at
 * least 2 half_gap[a] - up from the row, and the squared gap must exceed plain Lloyd's
 * rounding (see above). */
static int bounds_settle(const struct bound_job *j, size_t i, size_t a, double up, double lo)
{
    double far = (2 * j->half_gap[a] - up) * ROUND_DOWN, lb = far > lo ? far : lo;
    return lb > up && (lb - up) * (lb + up) > j->tie * (j->pl->xx[i] + j->ccmax);
}

/* Moves the bounds of rows r0 .. r1 by the centres' moves and lists in rows the ones they
 * no longer settle; returns how many. (Hamerly first makes the upper bound tight with one
 * distance; here a listed row costs about as little in the gathered product, and the
 * extra pass over the rows cost more than it saved.) */
static size_t stale_rows(const struct bound_job *j, size_t r0, size_t r1, size_t *rows)
{
    size_t m = 0;
    for (size_t i = r0; i < r1; i++) {
        size_t a = (size_t)j->labels[i];
        double up = (j->upper[i] + j->moved[a]) * ROUND_UP;
        double lo = j->lower[i] - (a == j->moved_arg ? j->moved_second : j->moved_max);
        lo = lo > 0 ? lo * ROUND_DOWN : 0;
        j->upper[i] = up;
        j->lower[i] = lo;
        if (!bounds_settle(j, i, a, up, lo))
            rows[m++] = i;
    }
    return m;
}

/* The m listed rows from one product of their gathered copies: the ones with a certified
 * gap settled, the near ties from the block's own product. */
static void settle_gathered(const struct bound_job *j, int64_t *delta, int tid, size_t r0,
                            size_t r1, size_t *rows, size_t m)
{
    const struct plan *pl = j->pl;
    size_t k = pl->k, d = pl->d, ties = 0;
    double *xs = j->gathered + (size_t)tid * pl->rows_per * d;
    double *g = j->gdots + (size_t)tid * pl->rows_per * k;
    for (size_t q = 0; q < m; q++)
        memcpy(xs + q * d, pl->x + rows[q] * d, d * sizeof *xs);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, 1.0, xs, (int)d,
                j->centers, (int)d, 0.0, g, (int)k);
    for (size_t q = 0; q < m; q++) {
        size_t i = rows[q];
        double bestv, second;
        size_t best = nearest(g + q * k, j->cc, k, &bestv, &second);
        /* each of the two values is within e of the truth and plain Lloyd's within e: a gap
         * above 4e (tie covers it twice over) picks what plain Lloyd picks */
        if (second - bestv > j->tie * (pl->xx[i] + j->ccmax))
            settle_row(j, delta, i, best, bestv, second);
        else
            rows[ties++] = i;
    }
    if (ties > 0)
        settle_from_block(j, delta, tid, r0, r1, rows, ties);
}

/* One block of a bounded iteration: labels and bounds, and in the block's partial the
 * changes to the sums, counts and the labels changed. */
static void bound_block(void *arg, int tid, size_t b)
{
    struct bound_job *j = arg;
    const struct plan *pl = j->pl;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    size_t *rows = j->rows + (size_t)tid * pl->rows_per;
    int64_t *delta = j->partial + b * sums_stride(pl);
    memset(delta, 0, sums_stride(pl) * sizeof *delta);
    size_t m = j->first ? r1 - r0 : stale_rows(j, r0, r1, rows);
    if ((double)m > FULL_BLOCK_SHARE * (double)(r1 - r0))
        settle_from_block(j, delta, tid, r0, r1, NULL, 0);
    else if (m > 0)
        settle_gathered(j, delta, tid, r0, r1, rows, m);
}

/* The centre-to-centre half gaps and the largest moves the bounds need this iteration. */
static void bound_prepare(struct bound_job *j, double *half_gap)
{
    const struct plan *pl = j->pl;
    size_t k = pl->k, d = pl->d;
    /* direct distances are within (d + 3) eps, relatively, of the truth */
    double widen = 1 + (double)(d + 8) * DBL_EPSILON;
    j->ccmax = 0;
    for (size_t c = 0; c < k; c++) {
        j->ccmax = j->cc[c] > j->ccmax ? j->cc[c] : j->ccmax;
        double nearest2 = INFINITY;
        for (size_t o = 0; o < k; o++) {
            double s = o == c ? INFINITY : sq_dist(j->centers + c * d, j->centers + o * d, d);
            nearest2 = s < nearest2 ? s : nearest2;
        }
        half_gap[c] = 0.5 * sqrt(nearest2) / widen;
    }
    j->moved_max = j->moved_second = 0;
    j->moved_arg = 0;
    for (size_t c = 0; c < k && !j->first; c++) {
        if (j->moved[c] > j->moved_max) {
            j->moved_second = j->moved_max;
            j->moved_max = j->moved[c];
            j->moved_arg = c;
        } else if (j->moved[c] > j->moved_second) {
            j->moved_second = j->moved[c];
        }
    }
    j->half_gap = half_gap;
}

/* The buffers of one restart: plain Lloyd's, and the bounds' when they are used. */
struct lloyd_bufs {
    int64_t *partial, *sums, *next; /* sums: the running sums, counts; next: this iteration's */
    double *dist2;
    double *upper, *lower, *moved, *half_gap, *gathered, *gdots;
    size_t *rows;
};

static void lloyd_bufs_free(struct lloyd_bufs *lb)
{
    free(lb->partial), free(lb->sums), free(lb->dist2), free(lb->next), free(lb->upper);
    free(lb->lower);
    free(lb->moved), free(lb->half_gap), free(lb->gathered), free(lb->gdots), free(lb->rows);
}

static int lloyd_bufs_alloc(const struct plan *pl, struct pool *pool, int plain,
                            struct lloyd_bufs *lb)
{
    size_t k = pl->k, d = pl->d, stride = sums_stride(pl);
    size_t per = (size_t)pool_threads(pool) * pl->rows_per;
    memset(lb, 0, sizeof *lb);
    lb->partial = malloc(pl->nblocks * stride * sizeof *lb->partial);
    lb->sums = calloc(stride, sizeof *lb->sums);
    lb->next = malloc(stride * sizeof *lb->next);
    lb->dist2 = malloc(pl->n * sizeof *lb->dist2);
    int ok = lb->partial && lb->sums && lb->dist2 && lb->next;
    if (ok && !plain) {
        lb->upper = malloc(pl->n * sizeof *lb->upper);
        lb->lower = malloc(pl->n * sizeof *lb->lower);
        lb->moved = calloc(k, sizeof *lb->moved);
        lb->half_gap = malloc(k * sizeof *lb->half_gap);
        lb->gathered = malloc(per * d * sizeof *lb->gathered);
        lb->gdots = malloc(per * k * sizeof *lb->gdots);
        lb->rows = malloc(per * sizeof *lb->rows);
        ok = lb->upper && lb->lower && lb->moved && lb->half_gap && lb->gathered && lb->gdots &&
             lb->rows;
    }
    if (!ok) {
        lloyd_bufs_free(lb);
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* New centres from the summed rows (an empty cluster keeps its centre); returns the total
 * squared move, summed as plain Lloyd always has, and with moved each centre's move,
 * rounded up, for the bounds. */
static double move_centers(const struct plan *pl, const int64_t *next, double *centers,
                           double *moved)
{
    size_t k = pl->k, d = pl->d;
    const int64_t *counts = next + 2 * k * d;
    double shift = 0, widen = 1 + (double)(d + 8) * DBL_EPSILON;
    for (size_t c = 0; c < k; c++) {
        double own = 0;
        for (size_t t = 0; t < d; t++) {
            double v = counts[c] > 0
                           ? fixed_value(next + (c * d + t) * 2, pl->scale[t]) / (double)counts[c]
                           : centers[c * d + t];
            double m = v - centers[c * d + t];
            shift += m * m;
            own += m * m;
            centers[c * d + t] = v;
        }
        if (moved)
            moved[c] = sqrt(own) * widen;
    }
    return shift;
}

/* One iteration's labels, and per block in lb->partial the sums (plain: every distance) or
 * their changes (through the bounds). */
static void lloyd_assign(struct plan *pl, struct pool *pool, int plain, int first,
                         const double *centers, const double *cc, int32_t *labels,
                         struct lloyd_bufs *lb)
{
    if (plain) {
        struct step_job sj = {pl, centers, cc, labels, lb->dist2, lb->partial};
        pool_for(pool, 0, pl->nblocks, step_block, &sj);
        return;
    }
    struct bound_job bj = {.pl = pl,
                           .centers = centers,
                           .cc = cc,
                           .tie = (double)(8 * pl->d + 16) * DBL_EPSILON,
                           .labels = labels,
                           .upper = lb->upper,
                           .lower = lb->lower,
                           .moved = lb->moved,
                           .first = first,
                           .partial = lb->partial,
                           .rows = lb->rows,
                           .gathered = lb->gathered,
                           .gdots = lb->gdots};
    bound_prepare(&bj, lb->half_gap);
    pool_for(pool, 0, pl->nblocks, bound_block, &bj);
}

/* One restart from the seeds in centers: Lloyd iterations until convergence, then the final
 * assignment. plain: every distance every iteration, no bounds (the same results). */
static int lloyd(struct plan *pl, struct pool *pool, int max_iter, double tol, int plain,
                 double *centers, int32_t *labels, double *inertia, int *iterations)
{
    size_t k = pl->k, d = pl->d, stride = sums_stride(pl), nsum = 2 * k * d + k;
    struct lloyd_bufs lb;
    double cc[KMEANS_MAX_K];
    if (lloyd_bufs_alloc(pl, pool, plain, &lb) != 0)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < pl->n; i++)
        labels[i] = -1;
    int it = 0;
    while (it < max_iter) {
        it++;
        row_norms(centers, k, d, cc);
        lloyd_assign(pl, pool, plain, it == 1, centers, cc, labels, &lb);
        int64_t *next = lb.next, *counts = next + 2 * k * d, changed = 0;
        int empty = 0;
        if (plain)
            memset(lb.sums, 0, nsum * sizeof *lb.sums);
        for (size_t b = 0; b < pl->nblocks; b++) {
            const int64_t *pb = lb.partial + b * stride;
            for (size_t t = 0; t < nsum; t++)
                lb.sums[t] += pb[t];
            changed += pb[nsum];
        }
        /* a relocation moves this iteration's centres, not the rows' sums */
        memcpy(next, lb.sums, nsum * sizeof *next);
        for (size_t c = 0; c < k; c++)
            empty |= counts[c] == 0;
        if (empty && !plain) {
            /* the relocation needs plain Lloyd's distances: one assignment pass (the same
             * labels) for them */
            struct step_job sj = {pl, centers, cc, labels, lb.dist2, NULL};
            pool_for(pool, 0, pl->nblocks, step_block, &sj);
        }
        if (empty)
            relocate_empty(pl, next, counts, labels, lb.dist2);
        double shift = move_centers(pl, next, centers, plain ? NULL : lb.moved);
        if (changed == 0 && it > 1)
            break; /* strict convergence */
        if (shift <= tol)
            break;
    }
    /* the labels and distances of the centres returned: after a strict convergence the
     * labels already are, but a relocated empty cluster moved dist2, so always one pass */
    double total = 0;
    row_norms(centers, k, d, cc);
    struct step_job fj = {pl, centers, cc, labels, lb.dist2, NULL};
    pool_for(pool, 0, pl->nblocks, step_block, &fj);
    for (size_t i = 0; i < pl->n; i++)
        total += lb.dist2[i];
    *inertia = total;
    *iterations = it;
    lloyd_bufs_free(&lb);
    return AIOPS_OK;
}

struct tol_job {
    const struct plan *pl;
    const double *mean; /* NULL: the first pass */
    double *part;       /* nblocks * d column sums (first pass), or nblocks squared deviations */
};

static void tol_block(void *arg, int tid, size_t b)
{
    (void)tid;
    struct tol_job *j = arg;
    const struct plan *pl = j->pl;
    size_t d = pl->d;
    size_t r0 = b * pl->rows_per, r1 = r0 + pl->rows_per < pl->n ? r0 + pl->rows_per : pl->n;
    const double *x = pl->x;
    if (j->mean == NULL) {
        double *sum = j->part + b * d;
        memset(sum, 0, d * sizeof *sum);
        for (size_t i = r0; i < r1; i++)
            for (size_t t = 0; t < d; t++)
                sum[t] += x[i * d + t];
        return;
    }
    double dev = 0;
    for (size_t i = r0; i < r1; i++)
        for (size_t t = 0; t < d; t++) {
            double m = x[i * d + t] - j->mean[t];
            dev += m * m;
        }
    j->part[b] = dev;
}

/* tol in squared units: tol times the mean population variance of the columns, two
 * passes over the blocks (per-block sums added in block order: the same on any number
 * of threads). */
static double scaled_tol(const struct plan *pl, struct pool *pool, double tol)
{
    size_t n = pl->n, d = pl->d;
    if (tol == 0 || n == 0)
        return 0;
    double *mean = calloc(d, sizeof *mean), var = 0;
    struct tol_job j = {pl, NULL, malloc(pl->nblocks * d * sizeof *j.part)};
    if (mean == NULL || j.part == NULL) {
        free(mean), free(j.part);
        return tol;
    }
    pool_for(pool, 0, pl->nblocks, tol_block, &j);
    for (size_t b = 0; b < pl->nblocks; b++)
        for (size_t t = 0; t < d; t++)
            mean[t] += j.part[b * d + t];
    for (size_t t = 0; t < d; t++)
        mean[t] /= (double)n;
    j.mean = mean;
    pool_for(pool, 0, pl->nblocks, tol_block, &j);
    for (size_t b = 0; b < pl->nblocks; b++)
        var += j.part[b];
    free(mean), free(j.part);
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
    pl->scale = malloc(d * sizeof *pl->scale);
    struct norms_job nj = {pl, malloc((pl->nblocks ? pl->nblocks : 1) * d * sizeof *nj.colmax)};
    if (pl->xx == NULL || pl->scratch == NULL || pl->scale == NULL || nj.colmax == NULL) {
        free(nj.colmax);
        return AIOPS_ENOMEM;
    }
    pool_for(pool, 0, pl->nblocks, norms_block, &nj);
    fixed_scales(pl, nj.colmax);
    free(nj.colmax);
    return AIOPS_OK;
}

static void plan_free(struct plan *pl)
{
    free(pl->xx);
    free(pl->scratch);
    free(pl->scale);
}

/* One BLAS thread while k-means runs: the pool already runs one block per thread, OpenBLAS's
 * own threads would spin beside them for the same cores, and the products then do not
 * depend on its thread count. Returns the count to give back to blas_restore. */
static int blas_alone(void)
{
    int was = openblas_get_num_threads();
    openblas_set_num_threads(1);
    return was;
}

static void blas_restore(int was)
{
    if (was > 1)
        openblas_set_num_threads(was);
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
    int rv = pool_create(threads, &pool), blas = blas_alone();
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, k, trials_of(k), pool);
    if (rv == 0)
        rv = plusplus(&pl, pool, seed, centers);
    blas_restore(blas);
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
    int big = n >= 4 * BLOCK_MIN_ROWS, blas = big ? blas_alone() : 0;
    int rv = pool_create(big ? threads : 1, &pool);
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
    blas_restore(blas);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}

static int check_params(size_t n, size_t d, const struct kmeans_params *p, struct aiops_error *err)
{
    if (p->k < 1 || p->k > KMEANS_MAX_K)
        return aiops_error_set(err, AIOPS_EINVAL, "k", "k must be from 1 to %d", KMEANS_MAX_K);
    if (p->k > n)
        return aiops_error_set(err, AIOPS_EINVAL, "k", "k (%zu) is larger than the rows (%zu)",
                               p->k, n);
    if (d == 0 || p->n_init < 1 || p->max_iter < 1 || !(p->tol >= 0))
        return aiops_error_set(err, AIOPS_EINVAL, "config", "bad k-means parameters");
    return AIOPS_OK;
}

int kmeans_fit_from(const double *x, size_t n, size_t d, const struct kmeans_params *p,
                    const double *init, double *centers, int32_t *labels, double *inertia,
                    int *iterations, struct aiops_error *err)
{
    struct kmeans_params one = *p;
    one.n_init = 1;
    int rv = check_params(n, d, &one, err);
    if (rv != 0)
        return rv;
    struct pool *pool = NULL;
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    int32_t *own = labels ? NULL : malloc(n * sizeof *own);
    rv = pool_create(p->threads, &pool);
    int blas = blas_alone();
    if (rv == 0 && labels == NULL && own == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, p->k, p->k, pool);
    if (rv == 0) {
        memmove(centers, init, p->k * d * sizeof *centers);
        rv = lloyd(&pl, pool, p->max_iter, scaled_tol(&pl, pool, p->tol), p->plain_lloyd, centers,
                   labels ? labels : own, inertia, iterations);
    }
    blas_restore(blas);
    free(own);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}

int kmeans_fit(const double *x, size_t n, size_t d, const struct kmeans_params *p,
               train_progress_fn progress, void *progress_arg, double *centers, int32_t *labels,
               double *inertia, int *iterations, struct aiops_error *err)
{
    int rv = check_params(n, d, p, err);
    if (rv != 0)
        return rv;
    size_t k = p->k;
    struct pool *pool = NULL;
    rv = pool_create(p->threads, &pool);
    int blas = blas_alone();
    struct plan pl;
    memset(&pl, 0, sizeof pl);
    double *trial = malloc(k * d * sizeof *trial);
    int32_t *tlabels = malloc(n * sizeof *tlabels);
    if (rv == 0 && (trial == NULL || tlabels == NULL))
        rv = AIOPS_ENOMEM;
    size_t cols = trials_of(k) > k ? trials_of(k) : k;
    if (rv == 0)
        rv = plan_init(&pl, x, n, d, k, cols, pool);
    double tol = rv == 0 ? scaled_tol(&pl, pool, p->tol) : 0, best = DBL_MAX;
    uint64_t seeds = p->seed;
    for (int r = 0; rv == 0 && r < p->n_init; r++) {
        double in = 0;
        int it = 0;
        rv = plusplus(&pl, pool, rand_splitmix64(&seeds), trial);
        if (rv == 0)
            rv = lloyd(&pl, pool, p->max_iter, tol, p->plain_lloyd, trial, tlabels, &in, &it);
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
    blas_restore(blas);
    free(trial);
    free(tlabels);
    plan_free(&pl);
    pool_free(pool);
    return rv;
}
