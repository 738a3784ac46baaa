/* linear.c -- logistic, softmax and ridge regression with their own preprocessing; an
 * L-BFGS solver; closed-form ridge through LAPACK (see linear.h). */

#include "algo/linear.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bigmem.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/pool.h"
#include "core/rand.h"
#include "core/time.h"
#include "math/stats.h"

/* LAPACK's Cholesky solve, exported by libopenblas (Debian ships no lapacke.h with it). The
 * trailing length is gfortran's hidden length of the `uplo` string. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
                   double *b, const int *ldb, int *info, size_t uplo_len);

#define CODE_NONE UINT32_MAX
#define MAX_COLS (1u << 20)
#define MAX_NCAT (1u << 24)
#define MAX_CLASSES 65536u
#define PREDICT_BLOCK 4096
/* Rows per unit of parallel work. Fixed, so that sums (added per chunk, then in chunk
 * order) do not depend on the number of threads. */
#define ROW_CHUNK 16384
#define MAX_THREADS 64
/* The per-iteration training AUC looks at most this many rows (see fit_metric). */
#define METRIC_ROWS 200000

/* What the dense and the sparse model share: the task, the fit, and the input columns'
 * kinds and scaling. */
struct linear_head {
    enum linear_kind kind;
    uint32_t nclass; /* values per predicted row: K, or 1 for regression */
    uint32_t nout;   /* coefficient vectors: logistic 1, softmax K, regression 1 */
    uint32_t ncols;  /* input columns (the dense ones of the sparse model) */
    int fit_intercept;
    int iterations, converged;
    double l2;
    uint8_t *is_cat;      /* ncols */
    uint32_t *ncat;       /* ncols; 0 for numeric columns */
    double *mean, *scale; /* ncols; categorical columns: 0 and 1 */
};

struct linear {
    struct linear_head h;
    double *theta; /* nout * q: per output c at theta + c * q: the numeric block
                      (nnum), the one-hot blocks (pc), the intercept */
    /* derived from is_cat / ncat (linear_derive) */
    uint32_t nnum, ncatcols;
    uint32_t *num_cols; /* nnum: the input column of each numeric slot */
    uint32_t *cat_cols; /* ncatcols */
    size_t *cat_off;    /* ncatcols: start of the column's one-hot block after nnum */
    size_t pc, q;       /* one-hot width; coefficients per output (nnum + pc + 1) */
};

/* Sets h for a model of kind with nclass values per row on ncols input columns, its column
 * arrays allocated (numeric, unscaled until filled in). AIOPS_ENOMEM. */
static int head_init(struct linear_head *h, enum linear_kind kind, uint32_t nclass, uint32_t ncols,
                     int fit_intercept, double l2)
{
    h->kind = kind;
    h->nclass = nclass;
    h->nout = kind == LINEAR_SOFTMAX ? nclass : 1;
    h->ncols = ncols;
    h->fit_intercept = fit_intercept;
    h->l2 = l2;
    size_t nc = ncols ? ncols : 1;
    h->is_cat = calloc(nc, 1);
    h->ncat = calloc(nc, sizeof *h->ncat);
    h->mean = calloc(nc, sizeof *h->mean);
    h->scale = calloc(nc, sizeof *h->scale);
    return h->is_cat && h->ncat && h->mean && h->scale ? AIOPS_OK : AIOPS_ENOMEM;
}

static void head_free(struct linear_head *h)
{
    free(h->is_cat);
    free(h->ncat);
    free(h->mean);
    free(h->scale);
}

/* The input columns as both models save them: per column u8 categorical, u32 categories,
 * f64 mean, f64 scale. Non-zero when out of memory. */
static int head_save_columns(const struct linear_head *h, struct buf *out)
{
    int rc = 0;
    for (uint32_t j = 0; j < h->ncols; j++) {
        rc |= bytes_put_u8(out, h->is_cat[j]);
        rc |= bytes_put_u32(out, h->ncat[j]);
        rc |= bytes_put_f64(out, h->mean[j]);
        rc |= bytes_put_f64(out, h->scale[j]);
    }
    return rc;
}

/* Reads what head_save_columns wrote into h (allocated by head_init), *total_cat the
 * categories of all columns. AIOPS_ECORRUPT for anything inconsistent. */
static int head_load_columns(struct bytes_reader *r, struct linear_head *h, uint64_t *total_cat)
{
    *total_cat = 0;
    for (uint32_t j = 0; j < h->ncols; j++) {
        uint64_t c = bytes_get_u8(r);
        uint32_t k = bytes_get_u32(r);
        double mean = bytes_get_f64(r), scale = bytes_get_f64(r);
        if (r->bad || c > 1 || (c == 0 && k != 0) || (c == 1 && k > MAX_NCAT) || !isfinite(mean) ||
            !(scale > 0) || !isfinite(scale))
            return AIOPS_ECORRUPT;
        h->is_cat[j] = (uint8_t)c;
        h->ncat[j] = k;
        h->mean[j] = mean;
        h->scale[j] = scale;
        *total_cat += k;
    }
    return AIOPS_OK;
}

/* The values per predicted row of a model trained with p. */
static uint32_t param_classes(const struct linear_params *p)
{
    return p->kind == LINEAR_LOGISTIC ? 2 : p->kind == LINEAR_SOFTMAX ? (uint32_t)p->num_class : 1;
}

void linear_free(struct linear *m)
{
    if (m == NULL)
        return;
    head_free(&m->h);
    free(m->theta);
    free(m->num_cols);
    free(m->cat_cols);
    free(m->cat_off);
    free(m);
}

/* Fills the derived layout; AIOPS_ETOOBIG past LINEAR_MAX_COEFS. */
static int linear_derive(struct linear *m)
{
    uint32_t nnum = 0, ncc = 0;
    for (uint32_t j = 0; j < m->h.ncols; j++) {
        if (m->h.is_cat[j])
            ncc++;
        else
            nnum++;
    }
    m->nnum = nnum;
    m->ncatcols = ncc;
    m->num_cols = malloc((nnum ? nnum : 1) * sizeof *m->num_cols);
    m->cat_cols = malloc((ncc ? ncc : 1) * sizeof *m->cat_cols);
    m->cat_off = malloc((ncc ? ncc : 1) * sizeof *m->cat_off);
    if (m->num_cols == NULL || m->cat_cols == NULL || m->cat_off == NULL)
        return AIOPS_ENOMEM;
    size_t pc = 0;
    for (uint32_t j = 0, a = 0, d = 0; j < m->h.ncols; j++) {
        if (m->h.is_cat[j]) {
            m->cat_cols[a] = j;
            m->cat_off[a++] = pc;
            pc += m->h.ncat[j];
        } else {
            m->num_cols[d++] = j;
        }
    }
    m->pc = pc;
    m->q = (size_t)nnum + pc + 1;
    if (m->q > LINEAR_MAX_COEFS || m->q * m->h.nout > LINEAR_MAX_COEFS)
        return AIOPS_ETOOBIG;
    return 0;
}

size_t linear_num_features(const struct linear *m)
{
    return m->h.ncols;
}

size_t linear_outputs(const struct linear *m)
{
    return m->h.nclass;
}

enum linear_kind linear_get_kind(const struct linear *m)
{
    return m->h.kind;
}

void linear_fit_info(const struct linear *m, int *iterations, int *converged)
{
    if (iterations != NULL)
        *iterations = m->h.iterations;
    if (converged != NULL)
        *converged = m->h.converged;
}

void linear_params_default(struct linear_params *p, enum linear_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->num_class = kind == LINEAR_SOFTMAX ? 3 : kind == LINEAR_LOGISTIC ? 2 : 0;
    p->l2 = 1.0;
    p->max_iter = 100;
    p->tol = 1e-4;
    p->fit_intercept = 1;
    p->threads = 0;
}

/* The category code of a stored value, or CODE_NONE (missing, unseen, not a code). */
static inline uint32_t code_of(double v, uint32_t ncat)
{
    if (v >= 0 && v < (double)ncat) {
        uint32_t c = (uint32_t)v;
        if ((double)c == v)
            return c;
    }
    return CODE_NONE;
}

/* Keeps v inside +-1e300: finite, and far enough from DBL_MAX that differences of two such
 * values stay finite (NaN -> 0). Extreme inputs then give extreme but well-defined
 * predictions instead of inf - inf = NaN. */
static inline double clampv(double v)
{
    return v > 1e300 ? 1e300 : v < -1e300 ? -1e300 : v == v ? v : 0.0;
}

/* The standardised value of a numeric input: missing (and non-finite) -> the mean -> 0. */
static inline double std_of(double v, double mean, double scale)
{
    return isfinite(v) ? clampv((v - mean) / scale) : 0.0;
}

static inline double sigmoid(double x)
{
    double e = exp(-fabs(x));
    return (x >= 0 ? 1.0 : e) / (1.0 + e);
}

static int resolve_threads(int threads)
{
    if (threads <= 0)
        threads = pool_cpus();
    return threads < MAX_THREADS ? threads : MAX_THREADS;
}

/* --- L-BFGS --------------------------------------------------------------------------- */

/* Returns the objective at x and writes its gradient into g. */
typedef double (*lbfgs_fn)(void *ctx, const double *x, double *g);
/* Called after each iteration (the last evaluation was at the new point); non-zero stops. */
typedef int (*lbfgs_iter_fn)(void *ctx, int iteration, double f);

#define LBFGS_M 10
#define LBFGS_MAXLS 20
/* scipy's L-BFGS-B default ftol (factr * epsmch): the relative-reduction stopping test */
#define LBFGS_FTOL 2.2204460492503131e-09

struct lbfgs_ls {
    size_t dim;
    const double *x, *d;
    double *xt, *gt;
    lbfgs_fn fn;
    void *ctx;
    double last_a; /* the step of the last evaluation (whose gradient is in gt) */
};

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double ls_eval(struct lbfgs_ls *L, double a, double *dphi)
{
    for (size_t i = 0; i < L->dim; i++)
        L->xt[i] = L->x[i] + a * L->d[i];
    double f = L->fn(L->ctx, L->xt, L->gt);
    *dphi = dot(L->gt, L->d, L->dim);
    L->last_a = a;
    return isnan(f) ? INFINITY : f;
}

/* The minimiser of the cubic through (a, fa, da) and (b, fb, db), kept inside the middle
 * 80% of the interval; bisection when the cubic is of no use. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db)
{
    double lo = a < b ? a : b, hi = a < b ? b : a, w = hi - lo;
    double d1 = da + db - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    double t = NAN;
    if (disc >= 0 && isfinite(disc)) {
        double d2 = (b > a ? 1 : -1) * sqrt(disc);
        t = b - (b - a) * (db + d2 - d1) / (db - da + 2 * d2);
    }
    if (!(t >= lo + 0.1 * w && t <= hi - 0.1 * w))
        t = lo + 0.5 * w;
    return t;
}

/* The rounding noise of an objective near f0 (a sum over many rows): changes below it are
 * not measurable, so the sufficient-decrease test allows them (the "approximate Wolfe"
 * idea of Hager & Zhang); near the optimum the step is then judged by the slope alone. */
static double ls_noise(double f0)
{
    return 1e-13 * fmax(fabs(f0), 1.0);
}

/* Nocedal & Wright's zoom (algorithm 3.6) between lo (sufficient decrease holds) and hi. */
static int ls_zoom(struct lbfgs_ls *L, double f0, double dphi0, double lo, double flo, double dlo,
                   double hi, double fhi, double dhi, int evals, double *a_out, double *f_out)
{
    const double c1 = 1e-4, c2 = 0.9, feps = ls_noise(f0);
    while (evals < LBFGS_MAXLS && fabs(hi - lo) > 1e-16 * (fabs(lo) > 1 ? fabs(lo) : 1)) {
        double a = cubic_step(lo, flo, dlo, hi, fhi, dhi);
        double dphi, f = ls_eval(L, a, &dphi);
        evals++;
        if (!(f <= f0 + c1 * a * dphi0 + feps) || f >= flo) {
            hi = a;
            fhi = f;
            dhi = dphi;
        } else {
            if (fabs(dphi) <= -c2 * dphi0) {
                *a_out = a;
                *f_out = f;
                return 0;
            }
            if (dphi * (hi - lo) >= 0) {
                hi = lo;
                fhi = flo;
                dhi = dlo;
            }
            lo = a;
            flo = f;
            dlo = dphi;
        }
    }
    /* no point met the curvature condition: take the best decrease seen */
    if (lo > 0 && flo < f0) {
        *a_out = lo;
        *f_out = flo;
        return 0;
    }
    return -1;
}

/* A step along d meeting the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9), starting at a1
 * and doubling while the slope stays negative. 0 and the step in *a_out, or -1. */
static int line_search(struct lbfgs_ls *L, double f0, double dphi0, double a1, double *a_out,
                       double *f_out)
{
    const double c1 = 1e-4, c2 = 0.9, feps = ls_noise(f0);
    double a_prev = 0, f_prev = f0, d_prev = dphi0, a = a1;
    for (int evals = 1;; evals++) {
        double dphi, f = ls_eval(L, a, &dphi);
        if (!(f <= f0 + c1 * a * dphi0 + feps) || (evals > 1 && f >= f_prev))
            return ls_zoom(L, f0, dphi0, a_prev, f_prev, d_prev, a, f, dphi, evals, a_out, f_out);
        if (fabs(dphi) <= -c2 * dphi0 || evals >= LBFGS_MAXLS) {
            *a_out = a;
            *f_out = f;
            return 0;
        }
        if (dphi >= 0)
            return ls_zoom(L, f0, dphi0, a, f, dphi, a_prev, f_prev, d_prev, evals, a_out, f_out);
        a_prev = a;
        f_prev = f;
        d_prev = dphi;
        a *= 2;
    }
}

struct lbfgs_result {
    int iterations, converged, canceled;
    double f;
};

static double max_abs(const double *g, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs(g[i]);
        m = a > m ? a : m;
    }
    return m;
}

/* Minimises fn from x (updated in place) until max |g| <= gtol, an iteration lowers f by
 * less than ftol relative to it, or max_iter iterations. AIOPS_ENOMEM, or AIOPS_EINVAL when
 * the objective is not finite at the start. */
static int lbfgs_minimize(size_t dim, double *x, lbfgs_fn fn, lbfgs_iter_fn on_iter, void *ctx,
                          int max_iter, double gtol, double ftol, struct lbfgs_result *res)
{
    memset(res, 0, sizeof *res);
    size_t m = LBFGS_M;
    double *mem = malloc((4 + 2 * m) * dim * sizeof *mem);
    double rho[LBFGS_M], alpha[LBFGS_M];
    if (mem == NULL)
        return AIOPS_ENOMEM;
    double *g = mem, *d = g + dim, *xt = d + dim, *gt = xt + dim, *S = gt + dim, *Y = S + m * dim;
    double f = fn(ctx, x, g);
    if (!isfinite(f)) {
        free(mem);
        return AIOPS_EINVAL;
    }
    size_t nhist = 0, head = 0; /* the newest pair is at head - 1 (mod m) */
    int it = 0, converged = max_abs(g, dim) <= gtol, restarted = 0;
    struct lbfgs_ls L = {dim, x, d, xt, gt, fn, ctx, 0};
    while (!converged && it < max_iter) {
        /* d = -H g by the two-loop recursion */
        memcpy(d, g, dim * sizeof *d);
        for (size_t k = 0; k < nhist; k++) {
            size_t i = (head + m - 1 - k) % m;
            alpha[i] = rho[i] * dot(S + i * dim, d, dim);
            cblas_daxpy((int)dim, -alpha[i], Y + i * dim, 1, d, 1);
        }
        if (nhist > 0) {
            size_t i = (head + m - 1) % m;
            double yy = dot(Y + i * dim, Y + i * dim, dim);
            cblas_dscal((int)dim, 1.0 / (rho[i] * yy), d, 1);
        }
        for (size_t k = nhist; k-- > 0;) {
            size_t i = (head + m - 1 - k) % m;
            double beta = rho[i] * dot(Y + i * dim, d, dim);
            cblas_daxpy((int)dim, alpha[i] - beta, S + i * dim, 1, d, 1);
        }
        for (size_t i = 0; i < dim; i++)
            d[i] = -d[i];
        double gd = dot(g, d, dim);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            nhist = 0;
            for (size_t i = 0; i < dim; i++)
                d[i] = -g[i];
            gd = -dot(g, g, dim);
        }
        /* scipy's first step has unit length; later ones try the quasi-Newton step */
        double a0 = nhist == 0 ? 1.0 / sqrt(-gd) : 1.0, a, fnew;
        if (line_search(&L, f, gd, a0, &a, &fnew) != 0) {
            if (nhist > 0 && !restarted) {
                nhist = 0; /* retry once from steepest descent */
                restarted = 1;
                continue;
            }
            break; /* no progress possible along any direction tried: stop */
        }
        restarted = 0;
        if (L.last_a != a) /* the accepted step was not the last evaluated */
            fnew = ls_eval(&L, a, &(double){0});
        /* the new correction pair, kept only when the curvature is positive */
        double *s = S + head * dim, *yv = Y + head * dim;
        for (size_t i = 0; i < dim; i++) {
            s[i] = xt[i] - x[i];
            yv[i] = gt[i] - g[i];
        }
        double sy = dot(s, yv, dim), yy = dot(yv, yv, dim);
        if (sy > DBL_EPSILON * yy && sy > 0) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            nhist += nhist < m;
        }
        double fold = f;
        memcpy(x, xt, dim * sizeof *x);
        memcpy(g, gt, dim * sizeof *g);
        f = fnew;
        it++;
        if (on_iter != NULL && on_iter(ctx, it, f) != 0) {
            res->canceled = 1;
            break;
        }
        double scale = fmax(fmax(fabs(fold), fabs(f)), 1.0);
        if (max_abs(g, dim) <= gtol || (fold - f) <= ftol * scale)
            converged = 1;
    }
    res->iterations = it;
    res->converged = converged;
    res->f = f;
    free(mem);
    return 0;
}

/* --- the training problem --------------------------------------------------------------- */

struct fit {
    struct linear *m;
    size_t n;         /* rows used: with a target and a positive weight */
    double *Z;        /* n x nnum, column-major, standardised (NULL in direct mode) */
    const double *X;  /* direct mode: the input matrix itself (n x nnum, every row used, every
                         column numeric and finite), the standardisation folded into the
                         coefficients: no copy */
    double *v, *graw; /* direct mode: nnum x nout scratch (raw-scale coefficients, X'R) */
    uint32_t *codes;  /* ncatcols x n (CODE_NONE: no one-hot) */
    double *y, *w;    /* n */
    double sw;        /* sum of weights */
    double *M, *R;    /* n x nout: margins and weighted residuals of the last evaluation */
    uint8_t *y01;     /* binary: the class as 0/1 for the AUC */
    double data_loss; /* of the last evaluation, unpenalised */
    double *partial;  /* per row chunk: its share of a sum */
    size_t nchunks;
    int threads;
    struct pool *pool; /* the row loops' threads (NULL: started per loop) */
    int total;         /* iterations announced to progress */
    train_progress_fn progress;
    void *arg;
};

/* M = margins of every row for theta (intercept, numeric block by BLAS, one-hot by code). */
static void fit_margins(struct fit *F, const double *theta)
{
    const struct linear *m = F->m;
    size_t n = F->n, q = m->q, nout = m->h.nout, nnum = m->nnum;
    if (F->X != NULL) {
        /* b + sum_d theta_d (x_d - mean_d) / scale_d = b' + x . v */
        for (size_t c = 0; c < nout; c++) {
            double b = theta[c * q + q - 1];
            for (size_t d = 0; d < nnum; d++) {
                double v = theta[c * q + d] / m->h.scale[d];
                F->v[c * nnum + d] = v;
                b -= v * m->h.mean[d];
            }
            double *Mc = F->M + c * n;
            for (size_t i = 0; i < n; i++)
                Mc[i] = b;
        }
        if (nout == 1)
            cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)nnum, 1.0, F->X, (int)n, F->v, 1,
                        1.0, F->M, 1);
        else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nout, (int)nnum,
                        1.0, F->X, (int)n, F->v, (int)nnum, 1.0, F->M, (int)n);
        return;
    }
    for (size_t c = 0; c < nout; c++) {
        double b = theta[c * q + q - 1];
        double *Mc = F->M + c * n;
        for (size_t i = 0; i < n; i++)
            Mc[i] = b;
    }
    if (nnum > 0) {
        if (nout == 1)
            cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)nnum, 1.0, F->Z, (int)n, theta, 1,
                        1.0, F->M, 1);
        else
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)nout, (int)nnum,
                        1.0, F->Z, (int)n, theta, (int)q, 1.0, F->M, (int)n);
    }
    for (size_t a = 0; a < m->ncatcols; a++) {
        const uint32_t *code = F->codes + a * n;
        size_t off = nnum + m->cat_off[a];
        for (size_t c = 0; c < nout; c++) {
            const double *t = theta + c * q + off;
            double *Mc = F->M + c * n;
            for (size_t i = 0; i < n; i++)
                if (code[i] != CODE_NONE)
                    Mc[i] += t[code[i]];
        }
    }
}

/* g = the gradient of the data term given the residuals R, plus the penalty's. */
static double fit_gradient(struct fit *F, const double *theta, double *g)
{
    const struct linear *m = F->m;
    size_t n = F->n, q = m->q, nout = m->h.nout, nnum = m->nnum;
    if (F->X != NULL) {
        /* d/dtheta_d = sum_i r_i (x_id - mean_d) / scale_d = ((X'R)_d - mean_d sum r) / scale_d */
        if (nout == 1)
            cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)nnum, 1.0, F->X, (int)n, F->R, 1,
                        0.0, F->graw, 1);
        else
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)nnum, (int)nout, (int)n, 1.0,
                        F->X, (int)n, F->R, (int)n, 0.0, F->graw, (int)nnum);
        for (size_t c = 0; c < nout; c++) {
            const double *Rc = F->R + c * n;
            double sr = 0;
            for (size_t i = 0; i < n; i++)
                sr += Rc[i];
            for (size_t d = 0; d < nnum; d++)
                g[c * q + d] = (F->graw[c * nnum + d] - m->h.mean[d] * sr) / m->h.scale[d];
            g[c * q + q - 1] = m->h.fit_intercept ? sr : 0;
        }
    } else if (nnum > 0) {
        if (nout == 1)
            cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)nnum, 1.0, F->Z, (int)n, F->R, 1,
                        0.0, g, 1);
        else
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)nnum, (int)nout, (int)n, 1.0,
                        F->Z, (int)n, F->R, (int)n, 0.0, g, (int)q);
    }
    for (size_t c = 0; c < nout && F->X == NULL; c++) {
        double *gc = g + c * q;
        const double *Rc = F->R + c * n;
        memset(gc + nnum, 0, (q - nnum) * sizeof *gc);
        for (size_t a = 0; a < m->ncatcols; a++) {
            const uint32_t *code = F->codes + a * n;
            double *ga = gc + nnum + m->cat_off[a];
            for (size_t i = 0; i < n; i++)
                if (code[i] != CODE_NONE)
                    ga[code[i]] += Rc[i];
        }
        if (m->h.fit_intercept) {
            double s = 0;
            for (size_t i = 0; i < n; i++)
                s += Rc[i];
            gc[q - 1] = s;
        }
    }
    /* the penalty l2 / 2 ||beta||^2 over everything but the intercepts */
    double pen = 0;
    for (size_t c = 0; c < nout; c++) {
        const double *tc = theta + c * q;
        double *gc = g + c * q;
        for (size_t j = 0; j + 1 < q; j++) {
            pen += tc[j] * tc[j];
            gc[j] += m->h.l2 * tc[j];
        }
    }
    return 0.5 * m->h.l2 * pen;
}

/* The loss of rows [lo, hi) into F->partial[chunk], their weighted residuals into R. */
static void objective_rows(void *ctx, int tid, size_t chunk)
{
    (void)tid;
    struct fit *F = ctx;
    const struct linear *m = F->m;
    size_t n = F->n, K = m->h.nout, lo = chunk * ROW_CHUNK;
    size_t hi = lo + ROW_CHUNK < n ? lo + ROW_CHUNK : n;
    double loss = 0;
    if (m->h.kind == LINEAR_LOGISTIC) {
        for (size_t i = lo; i < hi; i++) {
            /* one exp serves both ln(1 + e^z) and the sigmoid, without overflow */
            double z = F->M[i], y = F->y[i], w = F->w[i];
            double e = exp(-fabs(z)), p = (z >= 0 ? 1.0 : e) / (1.0 + e);
            loss += w * ((z > 0 ? z : 0) + log1p(e) - y * z);
            F->R[i] = w * (p - y);
        }
    } else if (m->h.kind == LINEAR_SOFTMAX) {
        for (size_t i = lo; i < hi; i++) {
            double mx = -INFINITY, sum = 0, w = F->w[i];
            for (size_t c = 0; c < K; c++)
                mx = F->M[c * n + i] > mx ? F->M[c * n + i] : mx;
            for (size_t c = 0; c < K; c++) {
                double e = exp(F->M[c * n + i] - mx);
                F->R[c * n + i] = e;
                sum += e;
            }
            size_t yi = (size_t)F->y[i];
            loss += w * (log(sum) + mx - F->M[yi * n + i]);
            for (size_t c = 0; c < K; c++)
                F->R[c * n + i] = w * (F->R[c * n + i] / sum - (double)(c == yi));
        }
    } else {
        for (size_t i = lo; i < hi; i++) {
            double r = F->M[i] - F->y[i], w = F->w[i];
            loss += 0.5 * w * r * r;
            F->R[i] = w * r;
        }
    }
    F->partial[chunk] = loss;
}

static double fit_objective(void *ctx, const double *theta, double *g)
{
    struct fit *F = ctx;
    fit_margins(F, theta);
    pool_for(F->pool, F->threads, F->nchunks, objective_rows, F);
    double loss = 0;
    for (size_t c = 0; c < F->nchunks; c++)
        loss += F->partial[c];
    F->data_loss = loss;
    return loss + fit_gradient(F, theta, g);
}

/* The training metric from the margins of the last evaluation (NaN when undefined). */
static double fit_metric(struct fit *F)
{
    const struct linear *m = F->m;
    size_t n = F->n;
    if (m->h.kind == LINEAR_LOGISTIC) {
        /* an exact AUC sorts every row; past METRIC_ROWS rows it is taken over evenly spaced
         * rows, which is plenty for a progress display and keeps it from doubling the
         * iteration time */
        double auc = NAN;
        if (n <= METRIC_ROWS)
            return stats_roc_auc(F->M, F->y01, n, &auc) == 0 ? auc : NAN;
        size_t stride = (n + METRIC_ROWS - 1) / METRIC_ROWS, k = 0;
        double *sc = malloc((n / stride + 1) * sizeof *sc);
        uint8_t *yy = malloc(n / stride + 1);
        if (sc != NULL && yy != NULL) {
            for (size_t i = 0; i < n; i += stride, k++) {
                sc[k] = F->M[i];
                yy[k] = F->y01[i];
            }
            if (stats_roc_auc(sc, yy, k, &auc) != 0)
                auc = NAN;
        }
        free(sc);
        free(yy);
        return auc;
    }
    if (m->h.kind == LINEAR_SOFTMAX) {
        double hit = 0;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t c = 1; c < m->h.nout; c++)
                if (F->M[c * n + i] > F->M[best * n + i])
                    best = c;
            hit += F->w[i] * (double)(best == (size_t)F->y[i]);
        }
        return hit / F->sw;
    }
    return sqrt(2 * F->data_loss / F->sw);
}

static int fit_report(struct fit *F, int iteration, int total)
{
    if (F->progress == NULL)
        return 0;
    const struct linear *m = F->m;
    struct train_progress p = {
        .iteration = iteration,
        .total = total,
        .train_loss =
            m->h.kind == LINEAR_REGRESSION ? 2 * F->data_loss / F->sw : F->data_loss / F->sw,
        .valid_loss = NAN,
        .train_metric = fit_metric(F),
        .valid_metric = NAN,
        .metric_name = m->h.kind == LINEAR_LOGISTIC  ? "auc"
                       : m->h.kind == LINEAR_SOFTMAX ? "accuracy"
                                                     : "rmse",
    };
    return F->progress(F->arg, &p);
}

static int fit_on_iter(void *ctx, int iteration, double f)
{
    struct fit *F = ctx;
    (void)f;
    return fit_report(F, iteration, F->total);
}

/* Ridge by the normal equations of the centred problem (see linear.h); 0, AIOPS_ENOMEM or
 * AIOPS_EINVAL when the system is singular. */
static int ridge_closed_form(struct fit *F, double *theta, struct aiops_error *err)
{
    const struct linear *m = F->m;
    size_t n = F->n, nnum = m->nnum, p = nnum + m->pc;
    if (p == 0) { /* intercept only */
        double sy = 0;
        for (size_t i = 0; i < n; i++)
            sy += F->w[i] * F->y[i];
        theta[0] = m->h.fit_intercept ? sy / F->sw : 0;
        return 0;
    }
    double *A = calloc(p * p, sizeof *A), *b = calloc(p, sizeof *b), *s = calloc(p, sizeof *s);
    double *wy = malloc(n * sizeof *wy), *blk = NULL;
    int rc = 0, unit = 1;
    if (A == NULL || b == NULL || s == NULL || wy == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    double sy = 0;
    for (size_t i = 0; i < n; i++) {
        wy[i] = F->w[i] * F->y[i];
        sy += wy[i];
        unit &= F->w[i] == 1.0;
    }
    if (nnum > 0) {
        /* numeric x numeric: Z' W Z, by blocks of sqrt(w)-scaled rows unless unweighted */
        if (unit) {
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)nnum, (int)n, 1.0, F->Z, (int)n,
                        0.0, A, (int)p);
        } else {
            size_t B = 1024;
            if ((blk = malloc(B * nnum * sizeof *blk)) == NULL) {
                rc = AIOPS_ENOMEM;
                goto done;
            }
            for (size_t r0 = 0; r0 < n; r0 += B) {
                size_t nb = n - r0 < B ? n - r0 : B;
                for (size_t d = 0; d < nnum; d++)
                    for (size_t i = 0; i < nb; i++)
                        blk[d * nb + i] = sqrt(F->w[r0 + i]) * F->Z[d * n + r0 + i];
                cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)nnum, (int)nb, 1.0, blk,
                            (int)nb, 1.0, A, (int)p);
            }
        }
        cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)nnum, 1.0, F->Z, (int)n, F->w, 1, 0.0,
                    s, 1);
        cblas_dgemv(CblasColMajor, CblasTrans, (int)n, (int)nnum, 1.0, F->Z, (int)n, wy, 1, 0.0, b,
                    1);
    }
    /* one-hot columns: their sums, their products with the numeric block and with each
     * other (indexes of a later column are larger, so everything lands in the upper half) */
    for (size_t a = 0; a < m->ncatcols; a++) {
        const uint32_t *ca = F->codes + a * n;
        size_t oa = nnum + m->cat_off[a];
        for (size_t i = 0; i < n; i++) {
            if (ca[i] == CODE_NONE)
                continue;
            size_t k = oa + ca[i];
            s[k] += F->w[i];
            b[k] += wy[i];
            A[k * p + k] += F->w[i];
        }
        for (size_t d = 0; d < nnum; d++) {
            const double *zd = F->Z + d * n;
            for (size_t i = 0; i < n; i++)
                if (ca[i] != CODE_NONE)
                    A[(oa + ca[i]) * p + d] += F->w[i] * zd[i];
        }
        for (size_t a2 = a + 1; a2 < m->ncatcols; a2++) {
            const uint32_t *cb = F->codes + a2 * n;
            size_t ob = nnum + m->cat_off[a2];
            for (size_t i = 0; i < n; i++)
                if (ca[i] != CODE_NONE && cb[i] != CODE_NONE)
                    A[(ob + cb[i]) * p + oa + ca[i]] += F->w[i];
        }
    }
    if (m->h.fit_intercept) { /* centre: an unpenalised intercept */
        for (size_t c = 0; c < p; c++) {
            for (size_t r = 0; r <= c; r++)
                A[c * p + r] -= s[r] * s[c] / F->sw;
            b[c] -= s[c] * sy / F->sw;
        }
    }
    double dmax = 0;
    for (size_t j = 0; j < p; j++)
        dmax = A[j * p + j] > dmax ? A[j * p + j] : dmax;
    /* l2 = 0 is nudged so that collinear one-hot blocks still solve (to a tiny-norm answer) */
    double ridge = m->h.l2 > 0 ? m->h.l2 : 1e-10 * (dmax > 0 ? dmax : 1);
    for (size_t j = 0; j < p; j++) {
        if (!(A[j * p + j] > 1e-12 * dmax)) {
            /* a column with no weight (a category never seen, a constant): coefficient 0 */
            for (size_t r = 0; r < j; r++)
                A[j * p + r] = 0;
            for (size_t c = j + 1; c < p; c++)
                A[c * p + j] = 0;
            A[j * p + j] = 0;
            b[j] = 0;
        }
        A[j * p + j] += ridge;
    }
    int ip = (int)p, one = 1, info = 0;
    dposv_("U", &ip, &one, A, &ip, b, &ip, &info, 1);
    if (info != 0) {
        aiops_error_set(err, AIOPS_EINVAL, NULL,
                        "ridge: the normal equations are singular (LAPACK dposv info %d)", info);
        rc = AIOPS_EINVAL;
        goto done;
    }
    memcpy(theta, b, p * sizeof *theta);
    theta[p] = m->h.fit_intercept ? (sy - dot(s, b, p)) / F->sw : 0;
done:
    free(A);
    free(b);
    free(s);
    free(wy);
    free(blk);
    return rc;
}

static void fit_free(struct fit *F)
{
    free(F->Z);
    free(F->codes);
    free(F->y);
    free(F->w);
    free(F->M);
    free(F->R);
    free(F->y01);
    free(F->partial);
    free(F->v);
    free(F->graw);
    pool_free(F->pool);
}

static int check_params(const struct linear_params *p, struct aiops_error *err)
{
    if (p->kind != LINEAR_LOGISTIC && p->kind != LINEAR_SOFTMAX && p->kind != LINEAR_REGRESSION) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "unknown linear model kind %d",
                               (int)p->kind);
    }
    if (p->kind == LINEAR_SOFTMAX && (p->num_class < 2 || (unsigned)p->num_class > MAX_CLASSES)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "num_class must be in [2, %u], got %d",
                               MAX_CLASSES, p->num_class);
    }
    if (!(p->l2 >= 0) || !isfinite(p->l2)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "l2 must be a finite number >= 0");
    }
    if (p->max_iter < 1 || p->max_iter > 1000000) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "max_iter must be in [1, 1000000], got %d",
                               p->max_iter);
    }
    if (!(p->tol >= 0) || !isfinite(p->tol)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "tol must be a finite number >= 0");
    }
    if (p->solver != LINEAR_SOLVER_LBFGS && p->solver != LINEAR_SOLVER_SAGA) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "unknown solver %d", (int)p->solver);
    }
    if (p->warm_epochs < 0 || p->warm_epochs > 1000) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "warm_epochs must be in [0, 1000], got %d",
                               p->warm_epochs);
    }
    return 0;
}

struct prep {
    struct fit *F;
    const struct fmatrix *x;
    const size_t *rows; /* the used rows; NULL when every row is used */
    uint8_t *finite;    /* per numeric slot: 1 when every used value is finite */
};

/* The value of used row r in input column col. */
static inline double used_value(const struct prep *P, const double *col, size_t r)
{
    return P->rows != NULL ? col[P->rows[r]] : col[r];
}

/* Numeric slot d: the weighted mean of the present values and the population std of the
 * mean-imputed column (scikit-learn's SimpleImputer + StandardScaler). */
static void column_stats(void *ctx, int tid, size_t d)
{
    (void)tid;
    struct prep *P = ctx;
    struct fit *F = P->F;
    struct linear *m = F->m;
    size_t n = F->n;
    uint32_t j = m->num_cols[d];
    const double *col = P->x->x + (size_t)j * P->x->nrows;
    double sw = 0, sx = 0;
    uint8_t fin = 1;
    for (size_t r = 0; r < n; r++) {
        double v = used_value(P, col, r);
        if (isfinite(v)) {
            sw += F->w[r];
            sx += F->w[r] * v;
        } else {
            fin = 0;
        }
    }
    double mean = sw > 0 ? sx / sw : 0, ss = 0;
    if (!isfinite(mean))
        mean = 0;
    for (size_t r = 0; r < n; r++) {
        double v = used_value(P, col, r);
        if (isfinite(v))
            ss += F->w[r] * (v - mean) * (v - mean);
    }
    double var = ss / F->sw, dn = (double)n;
    /* scikit-learn's constant-feature test, then its near-zero scale rule */
    double eps_mean = dn * mean * DBL_EPSILON;
    double bound = dn * DBL_EPSILON * var + eps_mean * eps_mean;
    double sd = sqrt(var);
    if (var <= bound || sd < 10 * DBL_EPSILON || !isfinite(sd))
        sd = 1.0;
    m->h.mean[j] = mean;
    m->h.scale[j] = sd;
    P->finite[d] = fin;
}

/* Numeric slot d: its standardised copy in Z. */
static void column_fill(void *ctx, int tid, size_t d)
{
    (void)tid;
    struct prep *P = ctx;
    struct fit *F = P->F;
    const struct linear *m = F->m;
    uint32_t j = m->num_cols[d];
    const double *col = P->x->x + (size_t)j * P->x->nrows;
    double *z = F->Z + d * F->n, mean = m->h.mean[j], sd = m->h.scale[j];
    for (size_t r = 0; r < F->n; r++)
        z[r] = std_of(used_value(P, col, r), mean, sd);
}

/* Direct mode (see struct fit) saves the copy when the gradient stays accurate without it:
 * classifiers on all-numeric, finite inputs using every row, whose columns are not so far
 * from zero relative to their spread that (X'R)_d - mean_d sum r cancels badly. */
static int direct_ok(const struct fit *F, const struct prep *P)
{
    const struct linear *m = F->m;
    if (m->h.kind == LINEAR_REGRESSION || m->ncatcols > 0 || m->nnum == 0 || P->rows != NULL)
        return 0;
    for (size_t d = 0; d < m->nnum; d++)
        if (!P->finite[d] || fabs(m->h.mean[d]) > 1e4 * m->h.scale[d])
            return 0;
    return 1;
}

/* Selects the rows, fits the preprocessing and builds the standardised problem. */
static int fit_prepare(struct fit *F, const struct fmatrix *x, const double *y, const double *w,
                       struct aiops_error *err)
{
    struct linear *m = F->m;
    size_t N = x->nrows, K = m->h.nclass;
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi >= 0) || !isfinite(wi)) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "row %zu: the sample weight must be a finite number >= 0", i);
        }
        if (isnan(y[i]) || wi == 0)
            continue;
        if (m->h.kind != LINEAR_REGRESSION &&
            (!(y[i] >= 0 && y[i] < (double)K) || y[i] != floor(y[i]))) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "row %zu: the target %g is not a class index in [0, %zu)", i,
                                   y[i], K);
        }
        if (m->h.kind == LINEAR_REGRESSION && !isfinite(y[i])) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL, "row %zu: the target is not finite", i);
        }
        n++;
    }
    if (n == 0) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "no training row has a target and a positive weight");
    }
    if (n >= INT_MAX) {
        return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "too many training rows (%zu)", n);
    }
    F->n = n;
    size_t nnum = m->nnum, nout = m->h.nout;
    F->y = malloc(n * sizeof *F->y);
    F->w = malloc(n * sizeof *F->w);
    F->codes = malloc((m->ncatcols ? m->ncatcols * n : 1) * sizeof *F->codes);
    F->M = malloc(nout * n * sizeof *F->M);
    F->R = malloc(nout * n * sizeof *F->R);
    size_t *rows = malloc(n * sizeof *rows);
    if (!F->y || !F->w || !F->codes || !F->M || !F->R || !rows) {
        free(rows);
        return AIOPS_ENOMEM;
    }
    F->sw = 0;
    for (size_t i = 0, r = 0; i < N; i++) {
        double wi = w ? w[i] : 1.0;
        if (isnan(y[i]) || wi == 0)
            continue;
        rows[r] = i;
        F->y[r] = y[i];
        F->w[r] = wi;
        F->sw += wi;
        r++;
    }
    F->nchunks = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    if ((F->partial = calloc(F->nchunks, sizeof *F->partial)) == NULL) {
        free(rows);
        return AIOPS_ENOMEM;
    }
    struct prep P = {F, x, n == N ? NULL : rows, malloc(nnum ? nnum : 1)};
    if (P.finite == NULL) {
        free(rows);
        return AIOPS_ENOMEM;
    }
    pool_for(F->pool, F->threads, nnum, column_stats, &P);
    if (direct_ok(F, &P)) {
        F->X = x->x;
        F->v = malloc(nnum * nout * sizeof *F->v);
        F->graw = malloc(nnum * nout * sizeof *F->graw);
    } else if ((F->Z = malloc((nnum ? nnum * n : 1) * sizeof *F->Z)) != NULL) {
        pool_for(F->pool, F->threads, nnum, column_fill, &P);
    }
    free(P.finite);
    if ((F->X != NULL && (F->v == NULL || F->graw == NULL)) || (F->X == NULL && F->Z == NULL)) {
        free(rows);
        return AIOPS_ENOMEM;
    }
    for (size_t a = 0; a < m->ncatcols; a++) {
        uint32_t j = m->cat_cols[a];
        const double *col = x->x + (size_t)j * N;
        uint32_t *code = F->codes + a * n;
        for (size_t r = 0; r < n; r++)
            code[r] = code_of(col[rows[r]], m->h.ncat[j]);
    }
    free(rows);
    if (m->h.kind == LINEAR_LOGISTIC) {
        size_t npos = 0;
        if ((F->y01 = malloc(n)) == NULL)
            return AIOPS_ENOMEM;
        for (size_t r = 0; r < n; r++) {
            F->y01[r] = (uint8_t)(F->y[r] == 1);
            npos += F->y01[r];
        }
        if (npos == 0 || npos == n) {
            aiops_error_set(err, AIOPS_EINVAL, NULL,
                            "logistic regression needs rows of both classes; only class %d "
                            "has any",
                            npos ? 1 : 0);
            return AIOPS_EINVAL;
        }
    }
    return 0;
}

int linear_train(const struct fmatrix *x, const double *y, const double *w,
                 const struct linear_params *p, train_progress_fn progress, void *arg,
                 struct linear **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    int rc = check_params(p, err);
    if (rc != 0)
        return rc;
    if (x->ncols > MAX_COLS) {
        return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "too many columns (%zu)", x->ncols);
    }
    struct linear *m = calloc(1, sizeof *m);
    struct fit F = {0};
    double *theta = NULL;
    if (m == NULL)
        return AIOPS_ENOMEM;
    if ((rc = head_init(&m->h, p->kind, param_classes(p), (uint32_t)x->ncols, p->fit_intercept != 0,
                        p->l2)) != 0)
        goto fail;
    for (size_t j = 0; j < x->ncols; j++) {
        m->h.is_cat[j] = x->is_cat[j] != 0;
        m->h.ncat[j] = m->h.is_cat[j] ? x->ncat[j] : 0;
        m->h.scale[j] = 1;
        if (m->h.ncat[j] > MAX_NCAT) {
            aiops_error_set(err, AIOPS_EINVAL, NULL, "column %zu: too many categories (%u)", j,
                            m->h.ncat[j]);
            rc = AIOPS_ETOOBIG;
            goto fail;
        }
    }
    if ((rc = linear_derive(m)) != 0) {
        if (rc == AIOPS_ETOOBIG)
            aiops_error_set(err, AIOPS_EINVAL, NULL,
                            "too many coefficients: one-hot encoding makes %zu per output, "
                            "at most %u in all",
                            m->q, LINEAR_MAX_COEFS);
        goto fail;
    }
    F.m = m;
    F.threads = resolve_threads(p->threads);
    /* one pool for the run: the row loops run once per objective evaluation */
    if (F.threads > 1 && pool_create(F.threads, &F.pool) != 0)
        F.pool = NULL;
    F.progress = progress;
    F.arg = arg;
    if ((rc = fit_prepare(&F, x, y, w, err)) != 0)
        goto fail;
    size_t dim = m->q * m->h.nout;
    if ((theta = calloc(dim, sizeof *theta)) == NULL) {
        rc = AIOPS_ENOMEM;
        goto fail;
    }
    if (m->h.kind == LINEAR_REGRESSION && m->q - 1 <= LINEAR_MAX_CLOSED_FORM) {
        if ((rc = ridge_closed_form(&F, theta, err)) != 0)
            goto fail;
        m->h.iterations = 0;
        m->h.converged = 1;
        double *g = malloc(dim * sizeof *g);
        if (g == NULL) {
            rc = AIOPS_ENOMEM;
            goto fail;
        }
        fit_objective(&F, theta, g); /* the loss and margins for the report */
        free(g);
        if (fit_report(&F, 1, 1) != 0) {
            rc = AIOPS_ECANCELED;
            goto fail;
        }
    } else {
        struct lbfgs_result res;
        F.total = p->max_iter;
        /* scipy's relative-reduction test as scikit-learn meets it for the classifiers; the
         * L-BFGS ridge (no scikit-learn twin) runs to the gradient tolerance instead */
        double ftol = m->h.kind == LINEAR_REGRESSION ? 0.0 : LBFGS_FTOL;
        rc = lbfgs_minimize(dim, theta, fit_objective, fit_on_iter, &F, p->max_iter, p->tol, ftol,
                            &res);
        if (rc == AIOPS_EINVAL)
            aiops_error_set(err, AIOPS_EINVAL, NULL, "the objective is not finite at the start");
        if (rc != 0)
            goto fail;
        if (res.canceled) {
            rc = AIOPS_ECANCELED;
            goto fail;
        }
        m->h.iterations = res.iterations;
        m->h.converged = res.converged;
    }
    if (!m->h.fit_intercept)
        for (size_t c = 0; c < m->h.nout; c++)
            theta[c * m->q + m->q - 1] = 0;
    m->theta = theta;
    fit_free(&F);
    *out = m;
    return 0;
fail:
    free(theta);
    fit_free(&F);
    linear_free(m);
    return rc;
}

/* --- prediction ------------------------------------------------------------------------- */

int linear_predict(const struct linear *m, const struct fmatrix *x, double *out)
{
    if (x->ncols != m->h.ncols)
        return AIOPS_EINVAL;
    for (size_t j = 0; j < x->ncols; j++)
        if ((x->is_cat[j] != 0) != (m->h.is_cat[j] != 0))
            return AIOPS_EINVAL;
    size_t N = x->nrows, nnum = m->nnum, nout = m->h.nout, q = m->q, K = m->h.nclass;
    size_t B = PREDICT_BLOCK;
    double *Zb = malloc((nnum ? nnum : 1) * B * sizeof *Zb);
    double *Mb = malloc(nout * B * sizeof *Mb);
    if (Zb == NULL || Mb == NULL) {
        free(Zb);
        free(Mb);
        return AIOPS_ENOMEM;
    }
    for (size_t r0 = 0; r0 < N; r0 += B) {
        size_t nb = N - r0 < B ? N - r0 : B;
        for (size_t d = 0; d < nnum; d++) {
            uint32_t j = m->num_cols[d];
            const double *col = x->x + (size_t)j * N + r0;
            for (size_t i = 0; i < nb; i++)
                Zb[d * nb + i] = std_of(col[i], m->h.mean[j], m->h.scale[j]);
        }
        for (size_t c = 0; c < nout; c++)
            for (size_t i = 0; i < nb; i++)
                Mb[c * nb + i] = m->theta[c * q + q - 1];
        if (nnum > 0)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)nout, (int)nnum,
                        1.0, Zb, (int)nb, m->theta, (int)q, 1.0, Mb, (int)nb);
        for (size_t a = 0; a < m->ncatcols; a++) {
            uint32_t j = m->cat_cols[a];
            const double *col = x->x + (size_t)j * N + r0;
            size_t off = nnum + m->cat_off[a];
            for (size_t i = 0; i < nb; i++) {
                uint32_t k = code_of(col[i], m->h.ncat[j]);
                if (k == CODE_NONE)
                    continue;
                for (size_t c = 0; c < nout; c++)
                    Mb[c * nb + i] += m->theta[c * q + off + k];
            }
        }
        for (size_t i = 0; i < nout * nb; i++)
            Mb[i] = clampv(Mb[i]);
        double *o = out + r0 * K;
        if (m->h.kind == LINEAR_LOGISTIC) {
            for (size_t i = 0; i < nb; i++) {
                o[2 * i] = sigmoid(-Mb[i]);
                o[2 * i + 1] = sigmoid(Mb[i]);
            }
        } else if (m->h.kind == LINEAR_SOFTMAX) {
            for (size_t i = 0; i < nb; i++) {
                double mx = -INFINITY, s = 0;
                for (size_t c = 0; c < K; c++)
                    mx = Mb[c * nb + i] > mx ? Mb[c * nb + i] : mx;
                for (size_t c = 0; c < K; c++) {
                    o[i * K + c] = exp(Mb[c * nb + i] - mx);
                    s += o[i * K + c];
                }
                for (size_t c = 0; c < K; c++)
                    o[i * K + c] /= s;
            }
        } else {
            memcpy(o, Mb, nb * sizeof *o);
        }
    }
    free(Zb);
    free(Mb);
    return 0;
}

/* --- coefficients as JSON ------------------------------------------------------------------ */

static json_t *num_array(const double *v, size_t n, size_t stride, int *failed)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        jsonx_push_or_fail(a, jsonx_num(v[i * stride], 0), failed);
    if (a == NULL)
        *failed = 1;
    return a;
}

static const char *kind_name(enum linear_kind k)
{
    return k == LINEAR_LOGISTIC ? "logistic" : k == LINEAR_SOFTMAX ? "softmax" : "regression";
}

int linear_coefficients(const struct linear *m, const struct linear_names *names,
                        const char *const *labels, json_t **out)
{
    *out = NULL;
    if (names != NULL)
        for (size_t j = 0; j < m->h.ncols; j++)
            if ((names->cats[j] != NULL) != (m->h.is_cat[j] != 0) ||
                (m->h.is_cat[j] && names->cats[j]->count != m->h.ncat[j]))
                return AIOPS_EINVAL;
    size_t nout = m->h.nout, q = m->q;
    double *tmp = malloc(nout * sizeof *tmp);
    json_t *o = json_object();
    int failed = o == NULL || tmp == NULL;
    struct buf name = BUF_INIT;
    jsonx_set_or_fail(o, "kind", json_string(kind_name(m->h.kind)), &failed);
    jsonx_set_or_fail(o, "l2", jsonx_num(m->h.l2, 0), &failed);
    jsonx_set_or_fail(o, "iterations", json_integer(m->h.iterations), &failed);
    jsonx_set_or_fail(o, "converged", json_boolean(m->h.converged), &failed);
    json_t *outs = json_array();
    for (size_t c = 0; c < nout && !failed; c++) {
        size_t k = m->h.kind == LINEAR_LOGISTIC ? 1 : c;
        if (m->h.kind == LINEAR_REGRESSION)
            jsonx_push_or_fail(outs, json_string("value"), &failed);
        else if (labels != NULL && labels[k] != NULL)
            jsonx_push_or_fail(outs, jsonx_string_lossy(labels[k], strlen(labels[k])), &failed);
        else
            jsonx_push_or_fail(outs, json_integer((json_int_t)k), &failed);
    }
    jsonx_set_or_fail(o, "outputs", outs, &failed);
    jsonx_set_or_fail(o, "intercept", num_array(m->theta + q - 1, nout, q, &failed), &failed);
    /* the intercept for raw inputs: b - sum_j beta_j mean_j / std_j */
    for (size_t c = 0; c < nout && tmp != NULL; c++) {
        double b = m->theta[c * q + q - 1];
        for (size_t d = 0; d < m->nnum; d++) {
            uint32_t j = m->num_cols[d];
            b -= m->theta[c * q + d] * m->h.mean[j] / m->h.scale[j];
        }
        tmp[c] = b;
    }
    if (tmp != NULL)
        jsonx_set_or_fail(o, "intercept_unscaled", num_array(tmp, nout, 1, &failed), &failed);
    json_t *coefs = json_array();
    size_t d = 0, a = 0;
    for (uint32_t j = 0; j < m->h.ncols && !failed; j++) {
        const char *cname = names != NULL ? names->columns[j] : NULL;
        if (!m->h.is_cat[j]) {
            buf_reset(&name);
            failed |= (cname ? buf_puts(&name, cname) : buf_printf(&name, "x%u", j)) != 0;
            json_t *e = json_object();
            jsonx_set_or_fail(e, "name", jsonx_string_lossy(name.data, name.len), &failed);
            jsonx_set_or_fail(e, "column", json_integer(j), &failed);
            jsonx_set_or_fail(e, "category", json_null(), &failed);
            jsonx_set_or_fail(e, "coef", num_array(m->theta + d, nout, q, &failed), &failed);
            for (size_t c = 0; c < nout; c++)
                tmp[c] = m->theta[c * q + d] / m->h.scale[j];
            jsonx_set_or_fail(e, "coef_unscaled", num_array(tmp, nout, 1, &failed), &failed);
            jsonx_push_or_fail(coefs, e, &failed);
            d++;
            continue;
        }
        size_t off = m->nnum + m->cat_off[a++];
        for (uint32_t k = 0; k < m->h.ncat[j] && !failed; k++) {
            buf_reset(&name);
            json_t *cat;
            if (names != NULL) {
                const struct strdict *sd = names->cats[j];
                failed |= buf_printf(&name, "%s=", cname) != 0 ||
                          buf_append(&name, strdict_str(sd, k), strdict_len(sd, k)) != 0;
                cat = jsonx_string_lossy(strdict_str(sd, k), strdict_len(sd, k));
            } else {
                failed |= buf_printf(&name, "x%u=%u", j, k) != 0;
                cat = json_integer(k);
            }
            json_t *e = json_object();
            jsonx_set_or_fail(e, "name", jsonx_string_lossy(name.data, name.len), &failed);
            jsonx_set_or_fail(e, "column", json_integer(j), &failed);
            jsonx_set_or_fail(e, "category", cat, &failed);
            jsonx_set_or_fail(e, "coef", num_array(m->theta + off + k, nout, q, &failed), &failed);
            jsonx_set_or_fail(e, "coef_unscaled", num_array(m->theta + off + k, nout, q, &failed),
                              &failed);
            jsonx_push_or_fail(coefs, e, &failed);
        }
    }
    jsonx_set_or_fail(o, "coefficients", coefs, &failed);
    buf_free(&name);
    free(tmp);
    if (failed) {
        json_decref(o);
        return AIOPS_ENOMEM;
    }
    *out = o;
    return 0;
}

/* --- persistence ------------------------------------------------------------------------
 *
 * Little-endian:
 *   "LIN1"
 *   u32 kind, u32 nclass, u32 nout, u32 ncols, u32 fit_intercept, u32 iterations,
 *   u32 converged, f64 l2
 *   per column: u8 is_cat, u32 ncat, f64 mean, f64 scale
 *   u64 q, then nout * q f64 coefficients
 */

int linear_save(const struct linear *m, struct buf *out)
{
    size_t need = 48 + (size_t)m->h.ncols * 21 + 8 + m->h.nout * m->q * 8;
    int rc = buf_reserve(out, need);
    if (rc != 0)
        return rc;
    rc |= buf_append(out, "LIN1", 4);
    rc |= bytes_put_u32(out, (uint32_t)m->h.kind);
    rc |= bytes_put_u32(out, m->h.nclass);
    rc |= bytes_put_u32(out, m->h.nout);
    rc |= bytes_put_u32(out, m->h.ncols);
    rc |= bytes_put_u32(out, (uint32_t)m->h.fit_intercept);
    rc |= bytes_put_u32(out, (uint32_t)m->h.iterations);
    rc |= bytes_put_u32(out, (uint32_t)m->h.converged);
    rc |= bytes_put_f64(out, m->h.l2);
    rc |= head_save_columns(&m->h, out);
    rc |= bytes_put_u64(out, m->q);
    for (size_t i = 0; i < m->h.nout * m->q; i++)
        rc |= bytes_put_f64(out, m->theta[i]);
    return rc ? AIOPS_ENOMEM : 0;
}

int linear_load(const uint8_t *p, size_t n, struct linear **out)
{
    *out = NULL;
    struct bytes_reader r = {p, n, 0, 0};
    if (n < 4 || memcmp(p, "LIN1", 4) != 0)
        return AIOPS_ECORRUPT;
    r.off = 4;
    uint32_t kind = bytes_get_u32(&r), nclass = bytes_get_u32(&r);
    uint32_t nout = bytes_get_u32(&r), ncols = bytes_get_u32(&r);
    uint32_t fi = bytes_get_u32(&r), iters = bytes_get_u32(&r);
    uint32_t conv = bytes_get_u32(&r);
    double l2 = bytes_get_f64(&r);
    if (r.bad || kind > LINEAR_REGRESSION || fi > 1 || conv > 1 || iters > 1000000 || !(l2 >= 0) ||
        !isfinite(l2) || ncols > MAX_COLS)
        return AIOPS_ECORRUPT;
    if ((kind == LINEAR_LOGISTIC && (nclass != 2 || nout != 1)) ||
        (kind == LINEAR_SOFTMAX && (nclass < 2 || nclass > MAX_CLASSES || nout != nclass)) ||
        (kind == LINEAR_REGRESSION && (nclass != 1 || nout != 1)))
        return AIOPS_ECORRUPT;
    /* each column takes 21 bytes: refuse a count the input cannot hold before allocating */
    if ((size_t)ncols > (n - r.off) / 21)
        return AIOPS_ECORRUPT;
    struct linear *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->h.iterations = (int)iters;
    m->h.converged = (int)conv;
    uint64_t total_cat = 0;
    int rc = head_init(&m->h, (enum linear_kind)kind, nclass, ncols, (int)fi, l2);
    if (rc != 0 || (rc = head_load_columns(&r, &m->h, &total_cat)) != 0)
        goto fail;
    rc = AIOPS_ECORRUPT;
    uint64_t q = bytes_get_u64(&r);
    /* q must be what the columns imply, and the coefficients must fill the rest exactly */
    uint64_t nnum = 0;
    for (uint32_t j = 0; j < ncols; j++)
        nnum += m->h.is_cat[j] == 0;
    if (r.bad || total_cat > LINEAR_MAX_COEFS || q != nnum + total_cat + 1 ||
        q * nout > LINEAR_MAX_COEFS || (n - r.off) / 8 != q * nout || (n - r.off) % 8 != 0)
        goto fail;
    if ((rc = linear_derive(m)) != 0) {
        if (rc == AIOPS_ETOOBIG)
            rc = AIOPS_ECORRUPT;
        goto fail;
    }
    rc = AIOPS_ECORRUPT;
    if ((m->theta = malloc(q * nout * sizeof *m->theta)) == NULL) {
        rc = AIOPS_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < q * nout; i++) {
        m->theta[i] = bytes_get_f64(&r);
        if (!isfinite(m->theta[i]))
            goto fail;
    }
    if (r.bad || r.off != n)
        goto fail;
    *out = m;
    return 0;
fail:
    linear_free(m);
    return rc;
}

/* --- sparse input (see linear.h) -------------------------------------------------------- */

#define SPARSE_MAGIC "LSP1"
#define SPARSE_MAX_WIDTH (1u << 26)

struct linear_sparse {
    struct linear_head h;
    uint64_t nsp; /* sparse input columns */
    /* the design: nnum numeric slots, then one-hot blocks (pc), then nsp sparse columns;
     * p = nnum + pc + nsp features, coefficient of feature f for output c at
     * W[f * nout + c] (a row's non-zero touches nout neighbours), intercepts after */
    uint64_t p;
    double *theta;    /* p * nout + nout */
    uint64_t *offset; /* ncols: the feature of a numeric column, or the start of a one-hot
                         block */
};

void linear_sparse_free(struct linear_sparse *m)
{
    if (m == NULL)
        return;
    head_free(&m->h);
    free(m->theta);
    free(m->offset);
    free(m);
}

size_t linear_sparse_outputs(const struct linear_sparse *m)
{
    return m->h.nclass;
}

size_t linear_sparse_num_features(const struct linear_sparse *m)
{
    return m->h.ncols;
}

size_t linear_sparse_width(const struct linear_sparse *m)
{
    return (size_t)m->nsp;
}

void linear_sparse_fit_info(const struct linear_sparse *m, int *iterations, int *converged)
{
    if (iterations != NULL)
        *iterations = m->h.iterations;
    if (converged != NULL)
        *converged = m->h.converged;
}

/* Lays out the design from is_cat / ncat / nsp; AIOPS_ETOOBIG past LINEAR_MAX_COEFS * 16
 * (the sparse path is meant for wide inputs, but a coefficient table must fit memory). */
static int sparse_layout(struct linear_sparse *m)
{
    m->offset = malloc((m->h.ncols ? m->h.ncols : 1) * sizeof *m->offset);
    if (m->offset == NULL)
        return AIOPS_ENOMEM;
    uint64_t f = 0;
    for (uint32_t j = 0; j < m->h.ncols; j++)
        if (!m->h.is_cat[j])
            m->offset[j] = f++;
    for (uint32_t j = 0; j < m->h.ncols; j++)
        if (m->h.is_cat[j]) {
            m->offset[j] = f;
            f += m->h.ncat[j];
        }
    m->p = f + m->nsp;
    if (m->p * m->h.nout > (uint64_t)LINEAR_MAX_COEFS * 16)
        return AIOPS_ETOOBIG;
    return 0;
}

/* The design CSR of the rows used (rows[0..n)). */
struct design {
    size_t n;
    size_t *rowptr;
    uint64_t *col;
    float *val;
};

/* The design's arrays are bigmem's (huge pages: the solvers read them at random rows). */
static void design_free(struct design *D)
{
    bigmem_free(D->rowptr);
    bigmem_free(D->col);
    bigmem_free(D->val);
}

/* Builds the design rows of x / sp for rows[0..n) (rows NULL: all). */
static int design_build(const struct linear_sparse *m, const struct fmatrix *x,
                        const struct spmatrix *sp, const size_t *rows, size_t n, struct design *D)
{
    memset(D, 0, sizeof *D);
    size_t nnz = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        nnz += m->h.ncols + (sp->rowptr[r + 1] - sp->rowptr[r]);
    }
    D->n = n;
    D->rowptr = bigmem_alloc((n + 1) * sizeof *D->rowptr);
    D->col = bigmem_alloc((nnz ? nnz : 1) * sizeof *D->col);
    D->val = bigmem_alloc((nnz ? nnz : 1) * sizeof *D->val);
    if (D->rowptr == NULL || D->col == NULL || D->val == NULL) {
        design_free(D);
        return AIOPS_ENOMEM;
    }
    size_t k = 0;
    uint64_t spoff = m->p - m->nsp;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        D->rowptr[i] = k;
        for (uint32_t j = 0; j < m->h.ncols; j++) {
            double v = x->x[(size_t)j * x->nrows + r];
            if (m->h.is_cat[j]) {
                uint32_t c = code_of(v, m->h.ncat[j]);
                if (c != CODE_NONE) {
                    D->col[k] = m->offset[j] + c;
                    D->val[k++] = 1.0f;
                }
            } else {
                double s = std_of(v, m->h.mean[j], m->h.scale[j]);
                if (s != 0) {
                    D->col[k] = m->offset[j];
                    D->val[k++] = (float)s;
                }
            }
        }
        for (size_t e = sp->rowptr[r]; e < sp->rowptr[r + 1]; e++) {
            if (sp->col[e] >= m->nsp || !isfinite(sp->val[e]) || sp->val[e] == 0)
                continue;
            D->col[k] = spoff + sp->col[e];
            D->val[k++] = sp->val[e];
        }
    }
    D->rowptr[n] = k;
    return 0;
}

/* Renumbers D's columns (p features) by decreasing count; *order[f] = f's new number. */
static int design_by_frequency(struct design *D, uint64_t p, uint64_t **order)
{
    uint64_t *count = calloc(p ? p : 1, sizeof *count);
    uint64_t *byc = malloc((p ? p : 1) * sizeof *byc);
    *order = malloc((p ? p : 1) * sizeof **order);
    if (count == NULL || byc == NULL || *order == NULL) {
        free(count);
        free(byc);
        return AIOPS_ENOMEM;
    }
    size_t nnz = D->rowptr[D->n];
    for (size_t e = 0; e < nnz; e++)
        count[D->col[e]]++;
    /* a counting sort by count, descending; ties keep feature order (deterministic) */
    uint64_t maxc = 0;
    for (uint64_t f = 0; f < p; f++)
        maxc = count[f] > maxc ? count[f] : maxc;
    uint64_t *start = calloc((size_t)maxc + 2, sizeof *start);
    if (start == NULL) {
        free(count);
        free(byc);
        return AIOPS_ENOMEM;
    }
    for (uint64_t f = 0; f < p; f++)
        start[maxc - count[f] + 1]++;
    for (uint64_t c = 1; c <= maxc + 1; c++)
        start[c] += start[c - 1];
    for (uint64_t f = 0; f < p; f++)
        (*order)[f] = start[maxc - count[f]]++;
    for (size_t e = 0; e < nnz; e++)
        D->col[e] = (*order)[D->col[e]];
    free(start);
    free(count);
    free(byc);
    return 0;
}

/* Margins of design row i into mg[K], K = m->h.nout: sfit_range passes it as a constant
 * for the common counts, so the loops over the outputs unroll (inlined there). */
static inline __attribute__((always_inline)) void design_margins(const struct linear_sparse *m,
                                                                 const double *theta,
                                                                 const struct design *D, size_t i,
                                                                 double *mg, const uint32_t K)
{
    const double *b = theta + m->p * K;
    for (uint32_t c = 0; c < K; c++)
        mg[c] = m->h.fit_intercept ? b[c] : 0;
    for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++) {
        const double *wf = theta + D->col[e] * K;
        double v = D->val[e];
        for (uint32_t c = 0; c < K; c++)
            mg[c] += v * wf[c];
    }
    for (uint32_t c = 0; c < K; c++)
        mg[c] = clampv(mg[c]);
}

/* The loss of one row with margins marg[K], target yi and weight wi; the loss's gradient
 * with respect to the margins into r[K]. */
static inline __attribute__((always_inline)) double row_residual(enum linear_kind kind,
                                                                 const double *marg, double yi,
                                                                 double wi, double *r,
                                                                 const uint32_t K)
{
    if (kind == LINEAR_SOFTMAX) {
        double mx = marg[0];
        for (uint32_t c = 1; c < K; c++)
            mx = marg[c] > mx ? marg[c] : mx;
        double s = 0;
        for (uint32_t c = 0; c < K; c++) {
            r[c] = exp(marg[c] - mx);
            s += r[c];
        }
        uint32_t cy = (uint32_t)yi;
        for (uint32_t c = 0; c < K; c++)
            r[c] = wi * (r[c] / s - (c == cy));
        return wi * (mx + log(s) - marg[cy]);
    }
    if (kind == LINEAR_LOGISTIC) {
        double z = marg[0];
        r[0] = wi * (sigmoid(z) - yi);
        /* log(1 + e^z) - y z, stable for either sign */
        return wi * ((z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - yi * z);
    }
    double d = marg[0] - yi;
    r[0] = wi * 2 * d;
    return wi * d * d;
}

struct sfit {
    const struct linear_sparse *m;
    const struct design *D;
    const double *y, *w; /* D->n each */
    double sw;
    int nthreads;
    double **gbuf; /* per thread, thread 0's is the caller's g */
    double *loss;  /* per thread */
    const double *theta;
    size_t dim;
    double data_loss;
    int saga_two_lanes; /* linear_params */
    train_progress_fn progress;
    void *arg;
    int total;
};

struct sfit_job {
    struct sfit *F;
    int t;
};

/* The loss of rows [from, to) and its gradient, added into g; K is the number of outputs,
 * passed as a constant by sfit_rows for the common counts so that the per-non-zero loops
 * over the outputs are unrolled (they are the whole cost of training). */
static inline __attribute__((always_inline)) double sfit_range(const struct sfit *F, size_t from,
                                                               size_t to, double *g, double *marg,
                                                               double *r, const uint32_t K)
{
    const struct linear_sparse *m = F->m;
    const struct design *D = F->D;
    double *gb = g + m->p * K, loss = 0;
    for (size_t i = from; i < to; i++) {
        double wi = F->w ? F->w[i] : 1.0;
        design_margins(m, F->theta, D, i, marg, K);
        loss += row_residual(m->h.kind, marg, F->y[i], wi, r, K);
        for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++) {
            double *gf = g + D->col[e] * K;
            double v = D->val[e];
            for (uint32_t c = 0; c < K; c++)
                gf[c] += v * r[c];
        }
        if (m->h.fit_intercept)
            for (uint32_t c = 0; c < K; c++)
                gb[c] += r[c];
    }
    return loss;
}

static void *sfit_rows(void *arg)
{
    struct sfit_job *J = arg;
    struct sfit *F = J->F;
    double *g = F->gbuf[J->t];
    memset(g, 0, F->dim * sizeof *g);
    uint32_t K = F->m->h.nout;
    double *marg = malloc(2 * K * sizeof *marg);
    size_t from = F->D->n * (size_t)J->t / (size_t)F->nthreads;
    size_t to = F->D->n * (size_t)(J->t + 1) / (size_t)F->nthreads;
    if (marg == NULL) {
        F->loss[J->t] = NAN;
        return NULL;
    }
    double *r = marg + K;
    switch (K) {
    case 1:
        F->loss[J->t] = sfit_range(F, from, to, g, marg, r, 1);
        break;
    case 3:
        F->loss[J->t] = sfit_range(F, from, to, g, marg, r, 3);
        break;
    case 4:
        F->loss[J->t] = sfit_range(F, from, to, g, marg, r, 4);
        break;
    case 5:
        F->loss[J->t] = sfit_range(F, from, to, g, marg, r, 5);
        break;
    default:
        F->loss[J->t] = sfit_range(F, from, to, g, marg, r, K);
    }
    free(marg);
    return NULL;
}

static double sfit_objective(void *ctx, const double *theta, double *g)
{
    struct sfit *F = ctx;
    const struct linear_sparse *m = F->m;
    F->theta = theta;
    F->gbuf[0] = g;
    struct sfit_job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < F->nthreads; t++)
        jobs[t] = (struct sfit_job){F, t};
    for (int t = 1; t < F->nthreads; t++)
        started[t] = pthread_create(&tid[t], NULL, sfit_rows, &jobs[t]) == 0;
    sfit_rows(&jobs[0]);
    for (int t = 1; t < F->nthreads; t++) {
        if (started[t])
            pthread_join(tid[t], NULL);
        else
            sfit_rows(&jobs[t]);
    }
    double loss = 0;
    for (int t = 0; t < F->nthreads; t++) {
        loss += F->loss[t];
        if (t > 0)
            cblas_daxpy((int)F->dim, 1.0, F->gbuf[t], 1, g, 1);
    }
    F->data_loss = loss;
    /* the penalty on every coefficient but the intercepts; ridge's is l2 ||beta||^2 as the
     * dense path's objective, the classifiers' l2 / 2 ||beta||^2 */
    size_t nw = m->p * m->h.nout;
    double pen = m->h.kind == LINEAR_REGRESSION ? m->h.l2 : m->h.l2 / 2, ss = 0;
    for (size_t k = 0; k < nw; k++) {
        ss += theta[k] * theta[k];
        g[k] += 2 * pen * theta[k];
    }
    return loss + pen * ss;
}

static int sfit_on_iter(void *ctx, int iteration, double f)
{
    struct sfit *F = ctx;
    (void)f;
    if (F->progress == NULL)
        return 0;
    struct train_progress pr = {
        .iteration = iteration,
        .total = F->total,
        .train_loss = F->sw > 0 ? F->data_loss / F->sw : NAN,
        .valid_loss = NAN,
        .train_metric = NAN,
        .valid_metric = NAN,
        .metric_name = F->m->h.kind == LINEAR_LOGISTIC  ? "auc"
                       : F->m->h.kind == LINEAR_SOFTMAX ? "accuracy"
                                                        : "rmse",
    };
    return F->progress(F->arg, &pr);
}

/* A row's weight as SGD and SAGA count it: w_i / mean weight rows (1 unweighted). */
static inline double row_share(const struct sfit *F, size_t i)
{
    return F->w ? F->w[i] * (double)F->D->n / F->sw : 1.0;
}

/* The largest curvature bound of one row's loss over F's rows, lfac ||x_i||^2 (+1 for the
 * intercept) times the row's share: what the SGD and SAGA steps are scaled by. */
static double rows_curvature_bound(const struct sfit *F)
{
    const struct linear_sparse *m = F->m;
    const struct design *D = F->D;
    double lfac = m->h.kind == LINEAR_SOFTMAX ? 0.5 : m->h.kind == LINEAR_LOGISTIC ? 0.25 : 2.0;
    double lmax = 0;
    for (size_t i = 0; i < D->n; i++) {
        double ss = m->h.fit_intercept ? 1.0 : 0.0;
        for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++)
            ss += (double)D->val[e] * D->val[e];
        lmax = fmax(lmax, lfac * ss * row_share(F, i));
    }
    return lmax > 0 ? lmax : 1.0;
}

/* The penalty's gradient factor on the objective divided by the weight sum (l2, or 2 l2
 * for ridge, over sw). */
static double penalty_mu(const struct sfit *F)
{
    return (F->m->h.kind == LINEAR_REGRESSION ? 2 * F->m->h.l2 : F->m->h.l2) / F->sw;
}

/* L-BFGS's warm start (linear.h): `epochs` SGD passes over F's rows on the objective
 * divided by F->sw, from theta (zeros) into theta. The coefficients are kept as scale * V so
 * that the penalty's shrinking of all of them is one multiplication per row (Bottou's
 * trick); a row then costs its non-zeros times K, as in the gradient pass. */
static int sparse_sgd_warm(const struct sfit *F, double *theta, int epochs, uint64_t seed)
{
    const struct linear_sparse *m = F->m;
    const struct design *D = F->D;
    const uint32_t K = m->h.nout;
    size_t n = D->n, nw = (size_t)(m->p * K);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    double *marg = malloc(2 * K * sizeof *marg);
    if (order == NULL || marg == NULL) {
        free(order);
        free(marg);
        return AIOPS_ENOMEM;
    }
    double *r = marg + K, *b = theta + nw;
    double lmax = rows_curvature_bound(F), mu = penalty_mu(F);
    double scale = 1.0;
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (int ep = 0; ep < epochs; ep++) {
        double eta = 1.0 / (lmax * (1.0 + ep));
        rand_xoshiro_shuffle_sz(&rng, order, n);
        for (size_t q = 0; q < n; q++) {
            size_t i = order[q];
            double wi = row_share(F, i);
            for (uint32_t c = 0; c < K; c++)
                marg[c] = 0;
            for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++) {
                const double *vf = theta + D->col[e] * K;
                double v = D->val[e];
                for (uint32_t c = 0; c < K; c++)
                    marg[c] += v * vf[c];
            }
            for (uint32_t c = 0; c < K; c++)
                marg[c] = clampv((m->h.fit_intercept ? b[c] : 0) + scale * marg[c]);
            row_residual(m->h.kind, marg, F->y[i], wi, r, K);
            scale *= 1.0 - eta * mu * wi;
            if (scale < 1e-9) { /* fold the scale back in before it underflows */
                for (size_t k = 0; k < nw; k++)
                    theta[k] *= scale;
                scale = 1.0;
            }
            double step = eta / scale;
            for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++) {
                double *vf = theta + D->col[e] * K;
                double v = D->val[e] * step;
                for (uint32_t c = 0; c < K; c++)
                    vf[c] -= v * r[c];
            }
            if (m->h.fit_intercept)
                for (uint32_t c = 0; c < K; c++)
                    b[c] -= eta * r[c];
        }
    }
    for (size_t k = 0; k < nw; k++)
        theta[k] *= scale;
    free(order);
    free(marg);
    return 0;
}

/* SAGA (Defazio, Bach, Lacoste-Julien 2014) on F's objective divided by the weight sum,
 * one row i a step: with d the sum over rows of each row's last loss gradient,
 *     W <- (W - eta (g_i(W) - g_i(old) + d / n)) / (1 + eta mu),   d += g_i(W) - g_i(old)
 * (here d is updated first, which leaves the fixed point -- the optimum, where every
 * correction is zero -- unchanged). The correction touches the row's features only; the
 * d / n term moves every feature, so it is applied just in time: the coefficients are
 * scale * V (the penalty's shrinking is one multiplication a step), a feature's d_f
 * changes only when a row holding it is taken, so V_f owes d_f times the sum of the steps'
 * eta / (n scale) since f was last brought up to date: `cum` is that running sum and cj[f]
 * its value then. A step costs its row's non-zeros, not the width. Plain SAG (the same
 * without the correction) oscillated here on the intercept, which every row touches.
 *
 * Two cores: the features are split in two parts (even and odd numbers, which after
 * design_by_frequency halves the non-zeros), each with its own copy of the rows' non-zeros
 * and its own coefficients. A step's margins are the two parts' partial sums added in a
 * fixed order; everything after them (the loss gradient, the intercepts, scale, cum) is a
 * function of those margins, so a lane -- a thread owning one part, or one thread owning
 * both -- computes it for itself, and the two lanes meet once a step, to swap their partial
 * margins. The arithmetic is the same whatever the number of lanes: one or two threads give
 * the same model. */
#define SAGA_PARTS 2
#define SAGA_LANE_MIN_WORK 160 /* saga_two_lanes_may_pay */

/* One part's features: its share of each row's non-zeros, and per feature a record of
 * V[K] and d[K] (floats: half the memory a step's scattered reads and writes move) and cj
 * (a double), side by side so that a non-zero touches one record, not three arrays. In a
 * record the outputs go four at a time (saga_f4: V's groups, then d's) and the rest one at
 * a time (V's, then d's), then cj: a step's loops over the outputs are vector operations. */
struct saga_part {
    size_t *rowptr; /* n + 1 */
    uint32_t *col;  /* the feature's number within the part: f / SAGA_PARTS */
    float *val;
    unsigned char *rec;
    size_t nf; /* features in the part */
};

typedef float saga_f4 __attribute__((vector_size(16), may_alias));

/* The most outputs the step's kernels keep in registers; more take the scalar kernels. */
#define SAGA_VECTOR_K 16

/* What every lane keeps for itself (identical values in each). */
struct saga_lane {
    struct saga *S;
    int first, count; /* the parts it owns: [first, first + count) */
    double *rmem;     /* n * K: each row's last loss gradient with respect to its margins */
    double *b, *db;   /* K intercepts and their table sum */
    double *marg;     /* 2 K: the step's margins and its gradient change */
    float *rf;        /* K: the gradient change as floats */
    double scale, cum, loss;
    /* the last step it published (on a cache line of its own: the struct is so aligned) */
    _Alignas(64) _Atomic uint64_t seq;
};

struct saga {
    const struct sfit *F;
    uint32_t K;
    size_t stride, cj_off; /* a record's bytes, and where its cj is */
    size_t pm_stride;      /* doubles between two parts' published margins (a cache line apart) */
    double mu;             /* penalty_mu */
    struct saga_part part[SAGA_PARTS];
    double *pm;            /* per part, 2 (step parity) x K published partial margins */
    const size_t *order;   /* the pass's row order */
    int nlanes;
    struct saga_lane *lane;
    double *theta;         /* F->dim: the model after each pass */
    double eta;
    /* lane 0's orders to the other lanes, under mu_ctl: pass `epoch` runs on `active`
     * lanes (1: lane 0 alone), or stop; `done` counts the other lanes' finished passes */
    pthread_mutex_t mu_ctl;
    pthread_cond_t cv_ctl;
    int epoch, active, stop, done;
    int sync_init; /* mu_ctl and cv_ctl exist */
    int next_probe, probe_gap; /* saga_lanes_for */
};

static inline unsigned char *rec_at(const struct saga *S, const struct saga_part *P, size_t f)
{
    return P->rec + f * S->stride;
}

static inline double *rec_cj(const struct saga *S, const struct saga_part *P, size_t f)
{
    return (double *)(void *)(rec_at(S, P, f) + S->cj_off);
}

/* Where output c's V and d are in a record of K outputs (floats from its start). */
static inline size_t rec_vi(uint32_t K, uint32_t c)
{
    uint32_t g = K / 4 * 4;
    return c < g ? c : 2 * g + (c - g);
}

static inline size_t rec_di(uint32_t K, uint32_t c)
{
    uint32_t g = K / 4 * 4;
    return c < g ? g + c : 2 * g + (K - g) + (c - g);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Waits until lane l has published step `step` (spinning briefly, then yielding: the other
 * lane may not be running when the machine is busy). */
static void saga_wait(const struct saga_lane *l, uint64_t step)
{
    for (unsigned spins = 0; atomic_load_explicit(&l->seq, memory_order_acquire) < step;)
        if (++spins > 256)
            sched_yield();
        else
            cpu_relax();
}

/* Brings every feature of part P up to date and folds scale into V, then copies its
 * coefficients into theta (feature f of the part is f * SAGA_PARTS + index overall). */
static void saga_settle_part(const struct saga *S, int index, double scale, double cum,
                             double *theta)
{
    const struct saga_part *P = &S->part[index];
    const uint32_t K = S->K;
    for (size_t f = 0; f < P->nf; f++) {
        float *r = (float *)(void *)rec_at(S, P, f);
        double *cj = rec_cj(S, P, f), lag = cum - *cj;
        for (uint32_t c = 0; c < K; c++) {
            float *v = r + rec_vi(K, c);
            *v = (float)(scale * (*v - lag * r[rec_di(K, c)]));
            if (theta != NULL)
                theta[(f * SAGA_PARTS + (size_t)index) * K + c] = *v;
        }
        *cj = 0;
    }
}

/* Part P's share of row i's margins into pm[K], bringing its features up to date. The
 * outputs' groups of four are vectors (G of them), the rest (R) scalars; the margins are
 * summed as floats, as the coefficients are. */
static inline __attribute__((always_inline)) void saga_margin_vec(const struct saga *S,
                                                                   const struct saga_part *P,
                                                                   size_t i, double cum,
                                                                   double *pm, const uint32_t K)
{
    const uint32_t G = K / 4, R = K % 4;
    saga_f4 acc[SAGA_VECTOR_K / 4];
    float accr[3];
    for (uint32_t g = 0; g < G; g++)
        acc[g] = (saga_f4){0, 0, 0, 0};
    for (uint32_t c = 0; c < R; c++)
        accr[c] = 0;
    for (size_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
        unsigned char *r = rec_at(S, P, P->col[e]);
        saga_f4 *v4 = (saga_f4 *)(void *)r, *d4 = v4 + G;
        float *vr = (float *)(void *)(d4 + G), *dr = vr + R;
        double *cj = rec_cj(S, P, P->col[e]);
        float lag = (float)(cum - *cj), v = P->val[e];
        for (uint32_t g = 0; g < G; g++) {
            saga_f4 w = v4[g] - lag * d4[g];
            v4[g] = w;
            acc[g] += v * w;
        }
        for (uint32_t c = 0; c < R; c++) {
            vr[c] -= lag * dr[c];
            accr[c] += v * vr[c];
        }
        *cj = cum;
    }
    for (uint32_t g = 0; g < G; g++)
        for (uint32_t c = 0; c < 4; c++)
            pm[4 * g + c] = acc[g][c];
    for (uint32_t c = 0; c < R; c++)
        pm[4 * G + c] = accr[c];
}

/* Part P's correction for row i: V -= corr v rf, d += v rf over the row's features. */
static inline __attribute__((always_inline)) void saga_update_vec(const struct saga *S,
                                                                   const struct saga_part *P,
                                                                   size_t i, float corr,
                                                                   const float *rf,
                                                                   const uint32_t K)
{
    const uint32_t G = K / 4, R = K % 4;
    saga_f4 rg[SAGA_VECTOR_K / 4];
    for (uint32_t g = 0; g < G; g++)
        rg[g] = (saga_f4){rf[4 * g], rf[4 * g + 1], rf[4 * g + 2], rf[4 * g + 3]};
    for (size_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
        unsigned char *r = rec_at(S, P, P->col[e]);
        saga_f4 *v4 = (saga_f4 *)(void *)r, *d4 = v4 + G;
        float *vr = (float *)(void *)(d4 + G), *dr = vr + R, v = P->val[e], cv = corr * v;
        for (uint32_t g = 0; g < G; g++) {
            v4[g] -= cv * rg[g];
            d4[g] += v * rg[g];
        }
        for (uint32_t c = 0; c < R; c++) {
            vr[c] -= cv * rf[4 * G + c];
            dr[c] += v * rf[4 * G + c];
        }
    }
}

/* The same for more than SAGA_VECTOR_K outputs, one at a time (K known only at run time). */
static void saga_margin_scalar(const struct saga *S, const struct saga_part *P, size_t i,
                               double cum, double *pm, const uint32_t K)
{
    for (uint32_t c = 0; c < K; c++)
        pm[c] = 0;
    for (size_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
        float *r = (float *)(void *)rec_at(S, P, P->col[e]), v = P->val[e];
        double *cj = rec_cj(S, P, P->col[e]);
        float lag = (float)(cum - *cj);
        for (uint32_t c = 0; c < K; c++) {
            float *w = r + rec_vi(K, c);
            *w -= lag * r[rec_di(K, c)];
            pm[c] += v * *w;
        }
        *cj = cum;
    }
}

static void saga_update_scalar(const struct saga *S, const struct saga_part *P, size_t i,
                               float corr, const float *rf, const uint32_t K)
{
    for (size_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
        float *r = (float *)(void *)rec_at(S, P, P->col[e]), v = P->val[e];
        for (uint32_t c = 0; c < K; c++) {
            r[rec_vi(K, c)] -= corr * v * rf[c];
            r[rec_di(K, c)] += v * rf[c];
        }
    }
}

static inline __attribute__((always_inline)) void saga_part_margin(const struct saga *S,
                                                                   const struct saga_part *P,
                                                                   size_t i, double cum,
                                                                   double *pm, const uint32_t K)
{
    if (K <= SAGA_VECTOR_K)
        saga_margin_vec(S, P, i, cum, pm, K);
    else
        saga_margin_scalar(S, P, i, cum, pm, K);
}

static inline __attribute__((always_inline)) void saga_part_update(const struct saga *S,
                                                                   const struct saga_part *P,
                                                                   size_t i, float corr,
                                                                   const float *rf,
                                                                   const uint32_t K)
{
    if (K <= SAGA_VECTOR_K)
        saga_update_vec(S, P, i, corr, rf, K);
    else
        saga_update_scalar(S, P, i, corr, rf, K);
}

/* Row i's non-zeros of part P into the cache. */
static inline void saga_prefetch_row(const struct saga_part *P, size_t i)
{
    const char *c = (const char *)(P->col + P->rowptr[i]);
    const char *end = (const char *)(P->col + P->rowptr[i + 1]);
    const char *v = (const char *)(P->val + P->rowptr[i]);
    for (; c < end; c += 64, v += 64) {
        __builtin_prefetch(c);
        __builtin_prefetch(v);
    }
}

/* Row i's feature records of part P into the cache. */
static inline void saga_prefetch(const struct saga *S, const struct saga_part *P, size_t i)
{
    for (size_t e = P->rowptr[i]; e < P->rowptr[i + 1]; e++) {
        const unsigned char *r = rec_at(S, P, P->col[e]);
        __builtin_prefetch(r, 1);
        __builtin_prefetch(r + S->stride - 1, 1);
    }
}

/* One pass of lane L over the rows in S->order; `step` numbers its steps (the lanes meet
 * at each). K the outputs (a constant for the common counts: the loops over them unroll). */
static inline __attribute__((always_inline)) void saga_pass(struct saga_lane *L, uint64_t step,
                                                            const uint32_t K)
{
    struct saga *S = L->S;
    const struct sfit *F = S->F;
    const struct linear_sparse *m = F->m;
    size_t n = F->D->n;
    double *marg = L->marg, *r = marg + K, inv_n = 1.0 / (double)n, eta = S->eta;
    int last = L->first + L->count;
    L->loss = 0;
    for (size_t q = 0; q < n; q++, step++) {
        size_t i = S->order[q];
        /* the next row's features, and the non-zeros of the row after (which the next
         * step's prefetch reads): their cache misses overlap this row's work (one stage
         * ahead only, a pass on nsmc5 took 0.12 s; two, 0.065) */
        if (q + 1 < n)
            for (int t = L->first; t < last; t++)
                saga_prefetch(S, &S->part[t], S->order[q + 1]);
        if (q + 2 < n)
            for (int t = L->first; t < last; t++)
                saga_prefetch_row(&S->part[t], S->order[q + 2]);
        double *pm = S->pm + (step & 1) * K;
        for (int t = L->first; t < last; t++)
            saga_part_margin(S, &S->part[t], i, L->cum, pm + (size_t)t * S->pm_stride, K);
        if (S->active > 1) {
            atomic_store_explicit(&L->seq, step, memory_order_release);
            for (int l = 0; l < S->active; l++)
                if (&S->lane[l] != L)
                    saga_wait(&S->lane[l], step);
        }
        for (uint32_t c = 0; c < K; c++) {
            double s = 0;
            for (int t = 0; t < SAGA_PARTS; t++)
                s += pm[(size_t)t * S->pm_stride + c];
            marg[c] = clampv((m->h.fit_intercept ? L->b[c] : 0) + L->scale * s);
        }
        L->loss += row_residual(m->h.kind, marg, F->y[i], row_share(F, i), r, K);
        double *ri = L->rmem + i * K;
        for (uint32_t c = 0; c < K; c++) {
            double delta = r[c] - ri[c];
            ri[c] = r[c];
            r[c] = delta;
            L->rf[c] = (float)delta;
        }
        float corr = (float)(eta / L->scale);
        for (int t = L->first; t < last; t++)
            saga_part_update(S, &S->part[t], i, corr, L->rf, K);
        for (uint32_t c = 0; c < K; c++) {
            L->db[c] += r[c];
            if (m->h.fit_intercept)
                L->b[c] -= eta * (r[c] + L->db[c] * inv_n);
        }
        L->cum += eta * inv_n / L->scale;
        L->scale /= 1.0 + eta * S->mu;
        if (L->scale < 1e-9) { /* fold the scale back in before it underflows */
            for (int t = L->first; t < last; t++)
                saga_settle_part(S, t, L->scale, L->cum, NULL);
            L->scale = 1.0;
            L->cum = 0;
        }
    }
}

/* Lane L's pass over the rows from step `base` on the parts it owns this pass, then those
 * parts settled into S->theta. */
static void saga_lane_pass(struct saga_lane *L, uint64_t base)
{
    struct saga *S = L->S;
    switch (S->K) {
    case 1:
        saga_pass(L, base, 1);
        break;
    case 3:
        saga_pass(L, base, 3);
        break;
    case 4:
        saga_pass(L, base, 4);
        break;
    case 5:
        saga_pass(L, base, 5);
        break;
    default:
        saga_pass(L, base, S->K);
    }
    for (int t = L->first; t < L->first + L->count; t++)
        saga_settle_part(S, t, L->scale, L->cum, S->theta);
    L->scale = 1.0;
    L->cum = 0;
}

/* Pass ep's steps are numbered from saga_base(ep) (the lanes' seq only grows). */
static uint64_t saga_base(const struct saga *S, int ep)
{
    return (uint64_t)ep * (S->F->D->n + 1) + 1;
}

/* A lane on a thread of its own: the passes lane 0 gives it. A lane that sat out passes
 * takes lane 0's copy of the rows' gradients and the intercepts (lane 0 does not move them
 * until this lane has published its first step). Lane 0 does not wait for a pass it runs
 * alone, so a lane may not see every pass. */
static void *saga_lane_main(void *arg)
{
    struct saga_lane *L = arg;
    struct saga *S = L->S;
    size_t K = S->K, n = S->F->D->n;
    int seen = -1, ran = -1; /* the last pass seen, and the last one run */
    for (;;) {
        pthread_mutex_lock(&S->mu_ctl);
        while (!S->stop && S->epoch == seen)
            pthread_cond_wait(&S->cv_ctl, &S->mu_ctl);
        int stop = S->stop, ep = S->epoch, active = S->active;
        pthread_mutex_unlock(&S->mu_ctl);
        if (stop)
            break;
        seen = ep;
        if (active <= L - S->lane) /* sits this pass out */
            continue;
        if (ran != ep - 1) { /* passes ran without it (it may not have seen them all) */
            memcpy(L->rmem, S->lane[0].rmem, n * K * sizeof *L->rmem);
            memcpy(L->b, S->lane[0].b, K * sizeof *L->b);
            memcpy(L->db, S->lane[0].db, K * sizeof *L->db);
        }
        ran = ep;
        saga_lane_pass(L, saga_base(S, ep));
        pthread_mutex_lock(&S->mu_ctl);
        S->done++;
        pthread_cond_broadcast(&S->cv_ctl);
        pthread_mutex_unlock(&S->mu_ctl);
    }
    return NULL;
}

/* Runs pass ep on `active` lanes: lane 0 here, the others on their threads, the parts shared
 * out between them. */
static void saga_run_pass(struct saga *S, int ep, int active)
{
    pthread_mutex_lock(&S->mu_ctl);
    for (int l = 0; l < S->nlanes; l++) {
        S->lane[l].count = l < active ? SAGA_PARTS / active : 0;
        S->lane[l].first = l < active ? l * S->lane[l].count : 0;
    }
    S->epoch = ep;
    S->active = active;
    S->done = 0;
    pthread_cond_broadcast(&S->cv_ctl);
    pthread_mutex_unlock(&S->mu_ctl);
    saga_lane_pass(&S->lane[0], saga_base(S, ep));
    pthread_mutex_lock(&S->mu_ctl);
    while (S->done < active - 1)
        pthread_cond_wait(&S->cv_ctl, &S->mu_ctl);
    pthread_mutex_unlock(&S->mu_ctl);
}

/* How many lanes pass ep runs on. Two lanes meet at every step: on idle cores a pass on
 * nsmc5 took 0.087 s against 0.106 s on one, but when the other thread waits for a core a
 * pass takes several times longer. So a pass on each count is timed (passes 1 and 2; pass
 * 0 touches the memory first), the faster count is kept, and the other is timed again
 * after 4, 8, 16 ... passes, since the machine's load changes. The model is the same
 * whichever count runs a pass. secs[c]: the last pass timed on c + 1 lanes. */
static int saga_lanes_for(struct saga *S, int ep, const double secs[2])
{
    if (S->nlanes < 2 || ep == 0 || ep == 2)
        return 1;
    if (ep == 1)
        return 2;
    int best = secs[1] < secs[0] ? 2 : 1;
    if (ep < S->next_probe)
        return best;
    S->probe_gap *= 2;
    S->next_probe = ep + S->probe_gap;
    return 3 - best;
}

/* Tasks running or ready to run on the whole machine now, this thread included (Linux's
 * /proc/stat procs_running; -1 when it cannot be read). Unlike the load average it does not
 * lag: what ran a minute ago (a benchmark's peer, say) does not count. */
static long procs_running(void)
{
    FILE *fp = fopen("/proc/stat", "r");
    char line[256];
    long n = -1;
    while (fp != NULL && fgets(line, sizeof line, fp) != NULL)
        if (strncmp(line, "procs_running ", 14) == 0) {
            n = strtol(line + 14, NULL, 10);
            break;
        }
    if (fp != NULL)
        fclose(fp);
    return n;
}

/* Whether two lanes may pay: a step's work (its row's non-zeros times the outputs) well
 * above the cost of the lanes' meeting (~0.5 us), and a core free for the second lane. */
static int saga_two_lanes_may_pay(const struct saga *S)
{
    const struct design *D = S->F->D;
    double per_row = D->n ? (double)D->rowptr[D->n] / (double)D->n * S->K : 0;
    if (per_row < SAGA_LANE_MIN_WORK)
        return 0;
    /* the fewest of a few looks a millisecond apart: one look may catch a passing task */
    long cores = sysconf(_SC_NPROCESSORS_ONLN), running = procs_running();
    for (int look = 1; look < 3 && running >= cores; look++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        long r = procs_running();
        running = r < running ? r : running;
    }
    return running < 0 || running < cores;
}

/* Splits D's non-zeros by part (feature f to part f % SAGA_PARTS as f / SAGA_PARTS) and
 * allocates each part's records. */
static int saga_parts_build(struct saga *S, const struct design *D, uint64_t p)
{
    size_t n = D->n;
    for (int t = 0; t < SAGA_PARTS; t++) {
        struct saga_part *P = &S->part[t];
        P->nf = (size_t)((p + SAGA_PARTS - 1 - (uint64_t)t) / SAGA_PARTS);
        P->rowptr = bigmem_alloc((n + 1) * sizeof *P->rowptr);
        P->rec = bigmem_alloc(P->nf * S->stride + 1);
        if (P->rowptr == NULL || P->rec == NULL)
            return AIOPS_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++)
            S->part[D->col[e] % SAGA_PARTS].rowptr[i + 1]++;
    for (int t = 0; t < SAGA_PARTS; t++) {
        struct saga_part *P = &S->part[t];
        for (size_t i = 0; i < n; i++)
            P->rowptr[i + 1] += P->rowptr[i];
        P->col = bigmem_alloc((P->rowptr[n] ? P->rowptr[n] : 1) * sizeof *P->col);
        P->val = bigmem_alloc((P->rowptr[n] ? P->rowptr[n] : 1) * sizeof *P->val);
        if (P->col == NULL || P->val == NULL)
            return AIOPS_ENOMEM;
    }
    size_t at[SAGA_PARTS];
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < SAGA_PARTS; t++)
            at[t] = S->part[t].rowptr[i];
        for (size_t e = D->rowptr[i]; e < D->rowptr[i + 1]; e++) {
            struct saga_part *P = &S->part[D->col[e] % SAGA_PARTS];
            size_t k = at[D->col[e] % SAGA_PARTS]++;
            P->col[k] = (uint32_t)(D->col[e] / SAGA_PARTS);
            P->val[k] = D->val[e];
        }
    }
    return AIOPS_OK;
}

static void saga_free(struct saga *S)
{
    for (int t = 0; t < SAGA_PARTS; t++) {
        bigmem_free(S->part[t].rowptr);
        bigmem_free(S->part[t].col);
        bigmem_free(S->part[t].val);
        bigmem_free(S->part[t].rec);
    }
    for (int l = 0; S->lane != NULL && l < S->nlanes; l++) {
        bigmem_free(S->lane[l].rmem);
        free(S->lane[l].b);
        free(S->lane[l].db);
        free(S->lane[l].marg);
        free(S->lane[l].rf);
    }
    free(S->lane);
    free(S->pm);
    if (S->sync_init) {
        pthread_mutex_destroy(&S->mu_ctl);
        pthread_cond_destroy(&S->cv_ctl);
    }
}

/* S's lanes: min(F->nthreads, SAGA_PARTS), the parts shared out between them. */
static int saga_lanes_init(struct saga *S, int nthreads, int forced)
{
    size_t n = S->F->D->n, K = S->K;
    S->nlanes = nthreads < SAGA_PARTS ? (nthreads < 1 ? 1 : nthreads) : SAGA_PARTS;
    if (!forced && !saga_two_lanes_may_pay(S))
        S->nlanes = 1;
    S->next_probe = 6;
    S->probe_gap = 4;
    S->lane = aligned_alloc(64, (size_t)S->nlanes * sizeof *S->lane);
    S->pm_stride = (2 * K + 7) / 8 * 8;
    S->pm = aligned_alloc(64, SAGA_PARTS * S->pm_stride * sizeof *S->pm);
    if (S->lane == NULL || S->pm == NULL)
        return AIOPS_ENOMEM;
    memset(S->lane, 0, (size_t)S->nlanes * sizeof *S->lane);
    if (pthread_mutex_init(&S->mu_ctl, NULL) != 0)
        return AIOPS_ENOMEM;
    if (pthread_cond_init(&S->cv_ctl, NULL) != 0) {
        pthread_mutex_destroy(&S->mu_ctl);
        return AIOPS_ENOMEM;
    }
    S->sync_init = 1;
    for (int l = 0; l < S->nlanes; l++) {
        struct saga_lane *L = &S->lane[l];
        L->S = S;
        L->count = SAGA_PARTS / S->nlanes;
        L->first = l * L->count;
        L->scale = 1.0;
        atomic_init(&L->seq, 0);
        L->rmem = bigmem_alloc((n ? n : 1) * K * sizeof *L->rmem);
        L->b = calloc(K, sizeof *L->b);
        L->db = calloc(K, sizeof *L->db);
        L->marg = calloc(2 * K, sizeof *L->marg);
        L->rf = calloc(K, sizeof *L->rf);
        if (!L->rmem || !L->b || !L->db || !L->marg || !L->rf)
            return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* The largest change of a coefficient since prev (updated to theta) over the largest
 * coefficient: scikit-learn's sag and saga stopping test. */
static double saga_change(const double *theta, double *prev, size_t dim)
{
    double dmax = 0, wmax = 0;
    for (size_t k = 0; k < dim; k++) {
        dmax = fmax(dmax, fabs(theta[k] - prev[k]));
        wmax = fmax(wmax, fabs(theta[k]));
        prev[k] = theta[k];
    }
    return wmax > 0 ? dmax / wmax : 0;
}

/* The SAGA solver (linear.h solver "saga"): at most max_epochs passes, rows in an order drawn
 * from seed each pass, until no coefficient moved by more than tol times the largest in a
 * pass. theta (zeros, F->dim) receives the model; *epochs and *converged what happened;
 * progress after each pass (AIOPS_ECANCELED when it says stop). */
static int sparse_saga(struct sfit *F, double *theta, int max_epochs, double tol, uint64_t seed,
                       int *epochs, int *converged)
{
    const uint32_t K = F->m->h.nout;
    size_t n = F->D->n, p = (size_t)F->m->p;
    struct saga S = {.F = F, .K = K, .mu = penalty_mu(F), .theta = theta};
    S.cj_off = (2 * (size_t)K * sizeof(float) + 7) / 8 * 8; /* after V's and d's floats */
    S.stride = (S.cj_off + sizeof(double) + 15) / 16 * 16; /* saga_f4 aligned */
    /* the step starts at 5 / (3 L), L the rows' curvature bound, which is loose for TF-IDF
     * rows (a row's softmax is rarely at its worst curvature): on nsmc5 (15 passes) steps of
     * 0.44, 0.88, 1.3, 2.2 and 3.5 / L -- the first is scikit-learn's saga step
     * 1 / (2 L + min(2 n mu, L)) there -- reached losses 1.009, 0.950, 0.932, 0.924 and 0.933
     * (the optimum 0.9226). Where it is too long the passes' loss swings, and a pass whose
     * loss rose by more than 0.1% halves it (SAGA converges for any step below 1 / (3 L);
     * near the optimum the passes' loss, summed while the coefficients move, wobbles by less
     * than that). */
    S.eta = 5.0 / (3.0 * rows_curvature_bound(F));
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    double *prev = calloc(F->dim, sizeof *prev);
    int rc = order && prev ? AIOPS_OK : AIOPS_ENOMEM;
    if (rc == 0)
        rc = saga_parts_build(&S, F->D, p);
    if (rc == 0)
        rc = saga_lanes_init(&S, F->nthreads, F->saga_two_lanes == 2);
    pthread_t tid[SAGA_PARTS];
    int started = 1; /* lanes running: lane 0 is this thread */
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    for (size_t i = 0; order != NULL && i < n; i++)
        order[i] = i;
    S.order = order;
    S.epoch = -1;
    while (rc == 0 && started < S.nlanes)
        if (pthread_create(&tid[started], NULL, saga_lane_main, &S.lane[started]) == 0)
            started++;
        else
            S.nlanes = started; /* fewer lanes: the same model */
    *epochs = 0;
    *converged = 0;
    double last_loss = INFINITY, secs[2] = {INFINITY, INFINITY};
    for (int ep = 0; rc == 0 && ep < max_epochs && !*converged; ep++) {
        rand_xoshiro_shuffle_sz(&rng, order, n);
        int active = saga_lanes_for(&S, ep, secs);
        uint64_t t0 = time_mono_ns();
        saga_run_pass(&S, ep, active);
        secs[active - 1] = (double)(time_mono_ns() - t0) / 1e9;
        memcpy(theta + p * K, S.lane[0].b, K * sizeof *theta);
        *epochs = ep + 1;
        *converged = saga_change(theta, prev, F->dim) <= tol;
        double loss = S.lane[0].loss;
        if (loss > last_loss * (1 + 1e-3))
            S.eta /= 2;
        last_loss = loss;
        F->data_loss = loss * F->sw / (double)(n ? n : 1);
        if (sfit_on_iter(F, ep + 1, NAN) != 0)
            rc = AIOPS_ECANCELED;
    }
    if (started > 1) {
        pthread_mutex_lock(&S.mu_ctl);
        S.stop = 1;
        pthread_cond_broadcast(&S.cv_ctl);
        pthread_mutex_unlock(&S.mu_ctl);
    }
    for (int l = 1; l < started; l++)
        pthread_join(tid[l], NULL);
    saga_free(&S);
    free(order);
    free(prev);
    return rc;
}

/* The rows used -- a target, a positive weight -- into rows/yu/wu[0..*n), their weight sum
 * into *sw. AIOPS_EINVAL naming the first bad row, or when none is left. */
static int sparse_rows_used(const struct fmatrix *x, const double *y, const double *w,
                            enum linear_kind kind, uint32_t nclass, size_t *rows, double *yu,
                            double *wu, size_t *n_out, double *sw_out, struct aiops_error *err)
{
    size_t n = 0;
    double sw = 0;
    for (size_t i = 0; i < x->nrows; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(isfinite(wi) && wi >= 0))
            return aiops_error_set(err, AIOPS_EINVAL, NULL, "row %zu: weight %g", i, wi);
        if (isnan(y[i]) || wi == 0)
            continue;
        if (kind != LINEAR_REGRESSION &&
            !(y[i] >= 0 && y[i] < (double)nclass && y[i] == floor(y[i])))
            return aiops_error_set(err, AIOPS_EINVAL, NULL, "row %zu: class %g out of range", i,
                                   y[i]);
        if (kind == LINEAR_REGRESSION && !isfinite(y[i]))
            return aiops_error_set(err, AIOPS_EINVAL, NULL, "row %zu: target %g", i, y[i]);
        rows[n] = i;
        yu[n] = y[i];
        wu[n] = wi;
        sw += wi;
        n++;
    }
    if (n == 0)
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "no row with a target and a positive weight");
    *n_out = n;
    *sw_out = sw;
    return AIOPS_OK;
}

/* The dense columns' preprocessing: weighted mean and population std of the mean-imputed
 * column over the rows used; categorical columns keep their category counts. */
static int sparse_standardise(struct linear_sparse *m, const struct fmatrix *x, const size_t *rows,
                              const double *wu, size_t n, double sw, struct aiops_error *err)
{
    for (size_t j = 0; j < x->ncols; j++) {
        m->h.is_cat[j] = x->is_cat[j] != 0;
        m->h.ncat[j] = m->h.is_cat[j] ? x->ncat[j] : 0;
        m->h.scale[j] = 1;
        if (m->h.ncat[j] > MAX_NCAT)
            return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "column %zu: too many categories", j);
        if (m->h.is_cat[j])
            continue;
        const double *col = x->x + j * x->nrows;
        double s = 0, sv = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(col[rows[i]])) {
                s += wu[i] * col[rows[i]];
                sv += wu[i];
            }
        double mean = sv > 0 ? s / sv : 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            double v = isfinite(col[rows[i]]) ? col[rows[i]] - mean : 0;
            ss += wu[i] * v * v;
        }
        double sd = sqrt(ss / sw);
        m->h.mean[j] = mean;
        m->h.scale[j] = sd > 1e-12 * fmax(1.0, fabs(mean)) ? sd : 1.0;
    }
    return AIOPS_OK;
}

int linear_sparse_train(const struct fmatrix *x, const struct spmatrix *sp, const double *y,
                        const double *w, const struct linear_params *p, train_progress_fn progress,
                        void *arg, struct linear_sparse **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    int rc = check_params(p, err);
    if (rc != 0)
        return rc;
    if (sp == NULL || sp->nrows != x->nrows)
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "the sparse block has %zu rows, not %zu",
                               sp ? sp->nrows : 0, x->nrows);
    if (x->ncols > MAX_COLS || sp->ncols > SPARSE_MAX_WIDTH)
        return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "too many columns (%zu + %zu)", x->ncols,
                               sp->ncols);
    struct linear_sparse *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->nsp = sp->ncols;
    int head = head_init(&m->h, p->kind, param_classes(p), (uint32_t)x->ncols,
                         p->fit_intercept != 0, p->l2);
    size_t *rows = malloc((x->nrows ? x->nrows : 1) * sizeof *rows);
    double *yu = malloc((x->nrows ? x->nrows : 1) * sizeof *yu);
    double *wu = malloc((x->nrows ? x->nrows : 1) * sizeof *wu);
    struct design D = {0};
    struct sfit F = {0};
    double *theta = NULL;
    uint64_t *order = NULL; /* order[f]: the training number of feature f */
    if (head != 0 || !rows || !yu || !wu) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    size_t n = 0;
    double sw = 0;
    if ((rc = sparse_rows_used(x, y, w, p->kind, m->h.nclass, rows, yu, wu, &n, &sw, err)) != 0 ||
        (rc = sparse_standardise(m, x, rows, wu, n, sw, err)) != 0)
        goto done;
    if ((rc = sparse_layout(m)) != 0) {
        if (rc == AIOPS_ETOOBIG)
            aiops_error_set(err, rc, NULL, "too many coefficients (%llu features x %u outputs)",
                            (unsigned long long)m->p, m->h.nout);
        goto done;
    }
    if ((rc = design_build(m, x, sp, rows, n, &D)) != 0)
        goto done;
    /* Features renumbered by how many rows have them, most first, while training: text
     * features are Zipf-distributed, and packing the frequent ones together keeps the
     * coefficients most rows touch in cache (training ran ~2x faster on nsmc5). */
    if ((rc = design_by_frequency(&D, m->p, &order)) != 0)
        goto done;
    F.m = m;
    F.D = &D;
    F.y = yu;
    F.w = wu;
    F.sw = sw;
    F.dim = (size_t)(m->p * m->h.nout + m->h.nout);
    F.nthreads = resolve_threads(p->threads);
    F.saga_two_lanes = p->saga_two_lanes;
    if ((size_t)F.nthreads > n / 2000 + 1) /* a thread per couple of thousand rows at most */
        F.nthreads = (int)(n / 2000 + 1);
    F.progress = progress;
    F.arg = arg;
    F.total = p->max_iter;
    F.gbuf = calloc((size_t)F.nthreads, sizeof *F.gbuf);
    F.loss = calloc((size_t)F.nthreads, sizeof *F.loss);
    theta = calloc(F.dim, sizeof *theta);
    if (F.gbuf == NULL || F.loss == NULL || theta == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    for (int t = 1; t < F.nthreads; t++)
        if ((F.gbuf[t] = malloc(F.dim * sizeof **F.gbuf)) == NULL) {
            rc = AIOPS_ENOMEM;
            goto done;
        }
    struct lbfgs_result res = {0};
    if (p->solver == LINEAR_SOLVER_SAGA) {
        rc = sparse_saga(&F, theta, p->max_iter, p->tol, p->seed, &res.iterations, &res.converged);
    } else {
        if (p->warm_epochs > 0 && (rc = sparse_sgd_warm(&F, theta, p->warm_epochs, p->seed)) != 0)
            goto done;
        rc = lbfgs_minimize(F.dim, theta, sfit_objective, sfit_on_iter, &F, p->max_iter, p->tol,
                            LBFGS_FTOL, &res);
        if (rc == AIOPS_EINVAL)
            aiops_error_set(err, rc, NULL, "the objective is not finite at the start");
        if (rc == 0 && res.canceled)
            rc = AIOPS_ECANCELED;
    }
    if (rc == 0) {
        /* back to the features' own numbering */
        double *t2 = malloc(F.dim * sizeof *t2);
        if (t2 == NULL) {
            rc = AIOPS_ENOMEM;
            goto done;
        }
        uint32_t K = m->h.nout;
        for (uint64_t f = 0; f < m->p; f++)
            memcpy(t2 + f * K, theta + (size_t)order[f] * K, K * sizeof *t2);
        memcpy(t2 + m->p * K, theta + m->p * K, K * sizeof *t2);
        m->h.iterations = res.iterations;
        m->h.converged = res.converged;
        m->theta = t2;
    }
done:
    free(order);
    for (int t = 1; F.gbuf != NULL && t < F.nthreads; t++)
        free(F.gbuf[t]);
    free(F.gbuf);
    free(F.loss);
    free(theta);
    design_free(&D);
    free(rows);
    free(yu);
    free(wu);
    if (rc != 0) {
        linear_sparse_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Rows [from, to) of D's predictions into out (nclass a row). */
static void sparse_predict_rows(const struct linear_sparse *m, const struct design *D,
                                size_t from, size_t to, double *marg, double *out)
{
    uint32_t K = m->h.nout;
    for (size_t i = from; i < to; i++) {
        design_margins(m, m->theta, D, i, marg, K);
        double *o = out + i * m->h.nclass;
        if (m->h.kind == LINEAR_SOFTMAX) {
            double mx = marg[0], s = 0;
            for (uint32_t c = 1; c < K; c++)
                mx = marg[c] > mx ? marg[c] : mx;
            for (uint32_t c = 0; c < K; c++)
                s += (o[c] = exp(marg[c] - mx));
            for (uint32_t c = 0; c < K; c++)
                o[c] /= s;
        } else if (m->h.kind == LINEAR_LOGISTIC) {
            double q = sigmoid(marg[0]);
            o[0] = 1 - q;
            o[1] = q;
        } else {
            o[0] = marg[0];
        }
    }
}

#define PREDICT_CHUNK 1024 /* rows a pool task predicts */

struct sparse_predict_job {
    const struct linear_sparse *m;
    const struct design *D;
    double *out;
    _Atomic int failed;
};

static void sparse_predict_chunk(void *arg, int tid, size_t t)
{
    struct sparse_predict_job *J = arg;
    (void)tid;
    size_t from = t * PREDICT_CHUNK, to = from + PREDICT_CHUNK;
    double *marg = malloc(J->m->h.nout * sizeof *marg);
    if (marg == NULL) {
        atomic_store(&J->failed, 1);
        return;
    }
    sparse_predict_rows(J->m, J->D, from, to < J->D->n ? to : J->D->n, marg, J->out);
    free(marg);
}

int linear_sparse_predict_pool(const struct linear_sparse *m, const struct fmatrix *x,
                               const struct spmatrix *sp, struct pool *pool, double *out)
{
    if (x->ncols != m->h.ncols || sp == NULL || sp->nrows != x->nrows || sp->ncols != m->nsp)
        return AIOPS_EINVAL;
    for (size_t j = 0; j < x->ncols; j++)
        if ((x->is_cat[j] != 0) != (m->h.is_cat[j] != 0))
            return AIOPS_EINVAL;
    struct design D;
    int rc = design_build(m, x, sp, NULL, x->nrows, &D);
    if (rc != 0)
        return rc;
    struct sparse_predict_job job = {.m = m, .D = &D, .out = out};
    atomic_init(&job.failed, 0);
    pool_for(pool, pool ? 0 : 1, (D.n + PREDICT_CHUNK - 1) / PREDICT_CHUNK, sparse_predict_chunk,
             &job);
    design_free(&D);
    return atomic_load(&job.failed) ? AIOPS_ENOMEM : AIOPS_OK;
}

int linear_sparse_predict(const struct linear_sparse *m, const struct fmatrix *x,
                          const struct spmatrix *sp, double *out)
{
    return linear_sparse_predict_pool(m, x, sp, NULL, out);
}

int linear_sparse_save(const struct linear_sparse *m, struct buf *out)
{
    size_t nt = (size_t)(m->p * m->h.nout + m->h.nout);
    int rc = buf_reserve(out, 64 + (size_t)m->h.ncols * 21 + nt * 4);
    if (rc != 0)
        return rc;
    rc |= buf_append(out, SPARSE_MAGIC, 4);
    rc |= bytes_put_u32(out, (uint32_t)m->h.kind);
    rc |= bytes_put_u32(out, m->h.nclass);
    rc |= bytes_put_u32(out, m->h.ncols);
    rc |= bytes_put_u32(out, (uint32_t)m->h.fit_intercept);
    rc |= bytes_put_u32(out, (uint32_t)m->h.iterations);
    rc |= bytes_put_u32(out, (uint32_t)m->h.converged);
    rc |= bytes_put_f64(out, m->h.l2);
    rc |= bytes_put_u64(out, m->nsp);
    rc |= head_save_columns(&m->h, out);
    for (size_t i = 0; i < nt; i++) {
        float f = (float)m->theta[i];
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        rc |= bytes_put_u32(out, bits);
    }
    return rc ? AIOPS_ENOMEM : 0;
}

int linear_sparse_load(const uint8_t *p, size_t n, struct linear_sparse **out)
{
    *out = NULL;
    if (n < 4 || memcmp(p, SPARSE_MAGIC, 4) != 0)
        return AIOPS_ECORRUPT;
    struct bytes_reader r = {p, n, 4, 0};
    uint32_t kind = bytes_get_u32(&r), nclass = bytes_get_u32(&r), ncols = bytes_get_u32(&r);
    uint32_t fi = bytes_get_u32(&r), it = bytes_get_u32(&r), conv = bytes_get_u32(&r);
    double l2 = bytes_get_f64(&r);
    uint64_t nsp = bytes_get_u64(&r);
    if (r.bad || kind > LINEAR_REGRESSION || fi > 1 || conv > 1 || it > 1000000 ||
        !(l2 >= 0 && isfinite(l2)) || ncols > MAX_COLS || nsp > SPARSE_MAX_WIDTH ||
        (size_t)ncols * 21 > n - r.off)
        return AIOPS_ECORRUPT;
    if ((kind == LINEAR_LOGISTIC && nclass != 2) || (kind == LINEAR_REGRESSION && nclass != 1) ||
        (kind == LINEAR_SOFTMAX && (nclass < 2 || nclass > MAX_CLASSES)))
        return AIOPS_ECORRUPT;
    struct linear_sparse *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->h.iterations = (int)it;
    m->h.converged = (int)conv;
    m->nsp = nsp;
    uint64_t total_cat = 0;
    int rc = head_init(&m->h, (enum linear_kind)kind, nclass, ncols, (int)fi, l2);
    if (rc == 0)
        rc = head_load_columns(&r, &m->h, &total_cat);
    if (rc == 0 && (rc = sparse_layout(m)) == AIOPS_ETOOBIG)
        rc = AIOPS_ECORRUPT;
    size_t nt = rc == 0 ? (size_t)(m->p * m->h.nout + m->h.nout) : 0;
    if (rc == 0 && (r.bad || nt > (n - r.off) / 4 || nt != (n - r.off) / 4 || (n - r.off) % 4 != 0))
        rc = AIOPS_ECORRUPT;
    if (rc == 0 && (m->theta = malloc(nt * sizeof *m->theta)) == NULL)
        rc = AIOPS_ENOMEM;
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        uint32_t bits = bytes_get_u32(&r);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            rc = AIOPS_ECORRUPT;
        m->theta[i] = f;
    }
    if (rc != 0) {
        linear_sparse_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
