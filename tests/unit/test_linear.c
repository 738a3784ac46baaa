/* Unit tests for lib/algo/linear.c.
 *
 * The reference coefficients come from scikit-learn 1.2.1 on the same synthetic data (the
 * generator below is reproduced bit for bit in Python), standardised the way linear.c does
 * it (weighted mean of the present values, population std of the mean-imputed column), the
 * categorical column one-hot encoded with a missing category as all zeros. Script:
 *
 * import numpy as np
 * from sklearn.linear_model import LogisticRegression, Ridge
 * M64 = (1 << 64) - 1
 * class LCG:
 *     def __init__(s, seed): s.s = seed
 *     def u(s):
 *         s.s = (s.s * 6364136223846793005 + 1442695040888963407) & M64
 *         return (s.s >> 11) * 2.0**-53
 * def data(n=300, seed=12345):
 *     g = LCG(seed); X = np.zeros((n, 4)); yb = np.zeros(n); ys = np.zeros(n)
 *     yr = np.zeros(n); w = np.zeros(n); ce = [0.5, -0.5, 1.0]
 *     for i in range(n):
 *         u = [g.u() for _ in range(10)]
 *         x0 = 3*u[0]-1; x1 = 10+5*(u[1]+u[2]+u[3]-1.5); x2 = 1000*u[5]; c = float(int(3*u[6]))
 *         if u[4] < 0.1: x1 = np.nan
 *         if u[7] < 0.05: c = np.nan
 *         X[i] = [x0, x1, x2, c]
 *         x1v = 0.0 if np.isnan(x1) else x1 - 10; cv = 0.0 if np.isnan(c) else ce[int(c)]
 *         z = 1.5*x0 - 0.3*x1v + 0.002*x2 + cv - 1
 *         yb[i] = 1.0 if u[8] < 1/(1+np.exp(-z)) else 0.0
 *         s = np.array([x0, 0.3*x1v, 0.002*x2 - 1 + cv]); p = np.exp(s - s.max()); p /= p.sum()
 *         ys[i] = min(float(np.searchsorted(np.cumsum(p), u[8], side='right')), 2)
 *         yr[i] = 2*x0 - 0.5*x1v + 0.003*x2 + cv + (u[8]-0.5)
 *         w[i] = 0.5 + u[9]
 *     return X, yb, ys, yr, w
 * def design(X, w):
 *     cols = []
 *     for j in range(3):
 *         x = X[:, j]; pr = ~np.isnan(x)
 *         mean = (w[pr]*x[pr]).sum()/w[pr].sum()
 *         var = (w[pr]*(x[pr]-mean)**2).sum()/w.sum()
 *         cols.append(np.where(pr, (x-mean)/np.sqrt(var), 0.0))
 *     for k in range(3): cols.append((X[:, 3] == k).astype(float))
 *     return np.column_stack(cols)
 * X, yb, ys, yr, w = data(); Zw = design(X, w); Z1 = design(X, np.ones(len(w)))
 * m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(Zw, yb, sample_weight=w)
 * m = LogisticRegression(C=2.0, tol=1e-10, max_iter=10000).fit(Z1, ys)     # multinomial
 * m = Ridge(alpha=2.0).fit(Zw, yr, sample_weight=w)
 * Zd = Z1[:, [0, 2]]       # numeric, finite columns, every row used: the "direct mode"
 * m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(Zd, yb)
 * m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(Zd, ys)
 * (printing coef_, intercept_ and predict_proba of the first rows)
 *
 * scikit-learn's L-BFGS stops on scipy's relative-reduction test (ftol 2.2e-9), as ours
 * does, so its logistic coefficients are within ~1e-5 of the exact optimum (scipy with
 * ftol=0 gives 1.16667532 for the first one, scikit-learn 1.16668622): logistic and
 * softmax are compared to 1e-4, the closed-form ridge to 1e-9. */
#include "unit.h"

#include "algo/linear.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "testdata.h"

#define N 300

struct data {
    double x[4 * N]; /* column-major: x0, x1 (NaN 10%), x2, category code (NaN 5%) */
    double yb[N], ys[N], yr[N], w[N];
    uint8_t is_cat[4];
    uint32_t ncat[4];
    struct fmatrix fm;
};

static void make_data(struct data *d)
{
    static const double ce[3] = {0.5, -0.5, 1.0};
    uint64_t lcg_state = 12345;
    for (size_t i = 0; i < N; i++) {
        double u[10];
        for (int k = 0; k < 10; k++)
            u[k] = lcg_unit(&lcg_state);
        double x0 = 3 * u[0] - 1, x1 = 10 + 5 * (u[1] + u[2] + u[3] - 1.5), x2 = 1000 * u[5];
        double c = (double)(int)(3 * u[6]);
        if (u[4] < 0.1)
            x1 = NAN;
        if (u[7] < 0.05)
            c = NAN;
        d->x[i] = x0;
        d->x[N + i] = x1;
        d->x[2 * N + i] = x2;
        d->x[3 * N + i] = c;
        double x1v = isnan(x1) ? 0 : x1 - 10, cv = isnan(c) ? 0 : ce[(int)c];
        double z = 1.5 * x0 - 0.3 * x1v + 0.002 * x2 + cv - 1;
        d->yb[i] = u[8] < 1 / (1 + exp(-z)) ? 1 : 0;
        double s[3] = {x0, 0.3 * x1v, 0.002 * x2 - 1 + cv}, mx = fmax(s[0], fmax(s[1], s[2]));
        double p[3], sum = 0;
        for (int k = 0; k < 3; k++)
            sum += p[k] = exp(s[k] - mx);
        double cum = 0;
        d->ys[i] = 2;
        for (int k = 0; k < 3; k++) {
            cum += p[k] / sum;
            if (u[8] < cum) {
                d->ys[i] = k;
                break;
            }
        }
        d->yr[i] = 2 * x0 - 0.5 * x1v + 0.003 * x2 + cv + (u[8] - 0.5);
        d->w[i] = 0.5 + u[9];
    }
    memset(d->is_cat, 0, sizeof d->is_cat);
    memset(d->ncat, 0, sizeof d->ncat);
    d->is_cat[3] = 1;
    d->ncat[3] = 3;
    d->fm = (struct fmatrix){N, 4, d->x, d->is_cat, d->ncat, NULL};
}

static struct data *new_data(void)
{
    struct data *d = malloc(sizeof *d);
    make_data(d);
    return d;
}

/* The default parameters of a kind. */
static struct linear_params params(enum linear_kind kind)
{
    struct linear_params p;
    linear_params_default(&p, kind);
    return p;
}

/* The same, run to scikit-learn's precision: tol 1e-10, 10000 iterations. */
static struct linear_params exact_params(enum linear_kind kind)
{
    struct linear_params p = params(kind);
    p.tol = 1e-10;
    p.max_iter = 10000;
    return p;
}

/* coef[c][k] of output c, k-th expanded column (x0, x1, x2, cat=0, cat=1, cat=2) */
static double coef(const json_t *j, size_t k, size_t c)
{
    return json_number_value(json_array_get(
        json_object_get(json_array_get(json_object_get(j, "coefficients"), k), "coef"), c));
}

static double intercept(const json_t *j, size_t c)
{
    return json_number_value(json_array_get(json_object_get(j, "intercept"), c));
}

/* Output c's ncoef coefficients are want[c * ncoef + k] and its intercept want_b[c], within
 * eps, for each of nout outputs. */
static void check_coefs(const json_t *j, size_t nout, size_t ncoef, const double *want,
                        const double *want_b, double eps)
{
    for (size_t c = 0; c < nout; c++) {
        for (size_t k = 0; k < ncoef; k++)
            CHECK_NEAR(coef(j, k, c), want[c * ncoef + k], eps);
        CHECK_NEAR(intercept(j, c), want_b[c], eps);
    }
}

/* Trains on fm (the test fails if that fails) and returns the coefficients JSON; *m is the
 * model. */
static json_t *fit(const struct fmatrix *fm, const double *y, const double *w,
                   const struct linear_params *p, struct linear **m)
{
    json_t *j = NULL;
    *m = linear_train_ok(fm, y, w, p);
    if (*m == NULL)
        return NULL;
    CHECK_INT(linear_coefficients(*m, NULL, NULL, &j), 0);
    return j;
}

static void test_data_matches_python_generator(void)
{
    struct data *d = new_data();
    /* first rows as printed by the script */
    CHECK_NEAR(d->x[0], -0.6712641820435161, 1e-15);
    CHECK_NEAR(d->x[N], 12.43373349132999, 1e-13);
    CHECK_NEAR(d->x[2 * N + 1], 332.73709390218255, 1e-12);
    CHECK_NEAR(d->x[3 * N + 1], 1.0, 0);
    CHECK_NEAR(d->yb[1], 1, 0);
    CHECK_NEAR(d->ys[0], 2, 0);
    CHECK_NEAR(d->yr[1], 3.14221834, 1e-8);
    CHECK_NEAR(d->w[0], 0.68816854, 1e-8);
    size_t pos = 0, cls[3] = {0};
    for (size_t i = 0; i < N; i++) {
        pos += d->yb[i] == 1;
        cls[(size_t)d->ys[i]]++;
    }
    CHECK_INT(pos, 193);
    CHECK_INT(cls[0], 115);
    CHECK_INT(cls[1], 83);
    CHECK_INT(cls[2], 102);
    free(d);
}

static void test_logistic_weighted_matches_sklearn(void)
{
    struct data *d = new_data();
    struct linear_params p = exact_params(LINEAR_LOGISTIC);
    struct linear *m = NULL;
    json_t *j = fit(&d->fm, d->yb, d->w, &p, &m);
    static const double want[6] = {1.166686221154207,  -0.5995238229540143, 0.6527240971476064,
                                   0.1928993732803082, -0.5844018386685644, 0.1475203938933408};
    static const double want_b[1] = {0.8878557865534411};
    check_coefs(j, 1, 6, want, want_b, 1e-4);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(j, "coefficients"), 4), "name")),
              "x3=1");
    CHECK(json_is_true(json_object_get(j, "converged")));
    json_decref(j);
    double prob[2 * N];
    CHECK_INT(linear_predict(m, &d->fm, prob), 0);
    static const double p1[3] = {0.2417011007694861, 0.7622671091116066, 0.4583231548656142};
    for (size_t i = 0; i < 3; i++) {
        CHECK_NEAR(prob[2 * i + 1], p1[i], 2e-5);
        CHECK_NEAR(prob[2 * i] + prob[2 * i + 1], 1.0, 1e-15);
    }
    linear_free(m);
    free(d);
}

static void test_softmax_matches_sklearn(void)
{
    struct data *d = new_data();
    struct linear_params p = exact_params(LINEAR_SOFTMAX);
    p.num_class = 3;
    p.l2 = 0.5; /* C = 2 */
    struct linear *m = NULL;
    json_t *j = fit(&d->fm, d->ys, NULL, &p, &m);
    static const double want[3][6] = {
        {0.8314782069943057, -0.29356447430438737, -0.1688449285379409, -0.3234674377750712,
         0.03620839328673597, -0.37281196273796174},
        {-0.33630402420678907, 0.5122574210371396, -0.08123158760522599, 0.23714716845207331,
         0.5093652987311517, -0.05961533129364648},
        {-0.495174182787519, -0.21869294673274986, 0.25007651614316706, 0.08632026932299802,
         -0.5455736920178877, 0.43242729403160746}};
    static const double want_b[3] = {0.2948732266486867, -0.3746545432986002, 0.07978131664991472};
    check_coefs(j, 3, 6, &want[0][0], want_b, 1e-4);
    CHECK_INT(json_array_size(json_object_get(j, "outputs")), 3);
    json_decref(j);
    double prob[3 * N];
    CHECK_INT(linear_predict(m, &d->fm, prob), 0);
    static const double pw[2][3] = {{0.04049632817403746, 0.35711174754525965, 0.6023919242807028},
                                    {0.7627123830248185, 0.20232310212712498, 0.03496451484805655}};
    for (size_t i = 0; i < 2; i++)
        for (size_t c = 0; c < 3; c++)
            CHECK_NEAR(prob[3 * i + c], pw[i][c], 2e-5);
    linear_free(m);
    free(d);
}

static void test_ridge_weighted_matches_sklearn(void)
{
    struct data *d = new_data();
    struct linear_params p = params(LINEAR_REGRESSION);
    p.l2 = 2.0;
    struct linear *m = NULL;
    json_t *j = fit(&d->fm, d->yr, d->w, &p, &m);
    static const double want[6] = {1.7070025008600787, -1.1938571942198377, 0.8045303944748893,
                                   0.4080979321441479, -0.5741852228524661, 0.8873175700789914};
    static const double want_b[1] = {2.8096533845107956};
    check_coefs(j, 1, 6, want, want_b, 1e-9);
    CHECK_INT(json_integer_value(json_object_get(j, "iterations")), 0);
    json_decref(j);
    /* a prediction is the intercept plus the coefficients on the standardised row */
    double pred[N];
    CHECK_INT(linear_predict(m, &d->fm, pred), 0);
    CHECK_INT(linear_outputs(m), 1);
    linear_free(m);
    free(d);
}

/* Columns x0 and x2 only: every value finite and every row used, so training reads the
 * input matrix directly (the standardisation folded into the coefficients) instead of a
 * standardised copy. The same answers as scikit-learn, and as the copy path (forced here by
 * one extra row without a target). */
static void test_direct_mode_matches_sklearn_and_copy_path(void)
{
    struct data *d = new_data();
    double *x = malloc(2 * (N + 1) * sizeof *x), yb[N + 1], ys[N + 1];
    for (size_t i = 0; i < N; i++) {
        x[i] = d->x[i];
        x[N + i] = d->x[2 * N + i];
    }
    uint8_t ic[2] = {0, 0};
    uint32_t nc[2] = {0, 0};
    struct fmatrix fm = {N, 2, x, ic, nc, NULL};
    struct linear_params p = exact_params(LINEAR_LOGISTIC);
    struct linear *m = NULL;
    json_t *j = fit(&fm, d->yb, NULL, &p, &m);
    CHECK_NEAR(coef(j, 0, 0), 1.0811603952164885, 1e-4);
    CHECK_NEAR(coef(j, 1, 0), 0.6640891546478319, 1e-4);
    CHECK_NEAR(intercept(j, 0), 0.7760811263919679, 1e-4);
    double direct0 = coef(j, 0, 0);
    json_decref(j);
    linear_free(m);

    /* the copy path: the same rows plus one whose target is missing */
    double *x2 = malloc(2 * (N + 1) * sizeof *x2);
    for (size_t i = 0; i < N; i++) {
        x2[i] = x[i];
        x2[N + 1 + i] = x[N + i];
        yb[i] = d->yb[i];
        ys[i] = d->ys[i];
    }
    x2[N] = x2[2 * N + 1] = 123.0;
    yb[N] = ys[N] = NAN;
    struct fmatrix f2 = {N + 1, 2, x2, ic, nc, NULL};
    j = fit(&f2, yb, NULL, &p, &m);
    CHECK_NEAR(coef(j, 0, 0), direct0, 1e-6);
    json_decref(j);
    linear_free(m);

    p = exact_params(LINEAR_SOFTMAX);
    p.num_class = 3;
    j = fit(&fm, d->ys, NULL, &p, &m);
    static const double want[3][2] = {{0.8147345441951717, -0.17593864162284145},
                                      {-0.32818274546392756, -0.08959853918739573},
                                      {-0.48655179873124366, 0.26553718081023725}};
    static const double want_b[3] = {0.0376673149107012, -0.07990538712461741, 0.04223807221391558};
    check_coefs(j, 3, 2, &want[0][0], want_b, 1e-4);
    json_decref(j);
    /* predictions from the saved model agree with those of the copy-path model */
    struct linear *m2 = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_train(&f2, ys, NULL, &p, NULL, NULL, &m2, &err), 0);
    double pa[3 * N], pb[3 * N];
    CHECK_INT(linear_predict(m, &fm, pa), 0);
    CHECK_INT(linear_predict(m2, &fm, pb), 0);
    double worst = 0;
    for (size_t i = 0; i < 3 * N; i++)
        worst = fmax(worst, fabs(pa[i] - pb[i]));
    CHECK_NEAR(worst, 0, 1e-6);
    linear_free(m);
    linear_free(m2);
    free(x);
    free(x2);
    free(d);
}

/* Sums are taken per fixed chunk of rows and added in chunk order: the model is the same
 * bit for bit whatever the number of threads (50,000 rows: 4 chunks). */
static void test_threads_do_not_change_the_result(void)
{
    size_t n = 50000;
    double *x = malloc(3 * n * sizeof *x), *y = malloc(n * sizeof *y);
    uint64_t lcg_state = 99;
    for (size_t i = 0; i < n; i++) {
        x[i] = lcg_unit(&lcg_state) * 4 - 2;
        x[n + i] = lcg_unit(&lcg_state) < 0.05 ? NAN : lcg_unit(&lcg_state) * 100;
        x[2 * n + i] = (double)(int)(lcg_unit(&lcg_state) * 5);
        y[i] = lcg_unit(&lcg_state) < 1 / (1 + exp(-(x[i] + 0.3 * x[2 * n + i] - 0.5))) ? 1 : 0;
    }
    uint8_t ic[3] = {0, 0, 1};
    uint32_t nc[3] = {0, 0, 5};
    struct fmatrix fm = {n, 3, x, ic, nc, NULL};
    struct linear_params p = params(LINEAR_LOGISTIC);
    struct linear *a = NULL, *b = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    p.threads = 1;
    CHECK_INT(linear_train(&fm, y, NULL, &p, NULL, NULL, &a, &err), 0);
    p.threads = 3;
    CHECK_INT(linear_train(&fm, y, NULL, &p, NULL, NULL, &b, &err), 0);
    struct buf ba = BUF_INIT, bb = BUF_INIT;
    CHECK_INT(linear_save(a, &ba), 0);
    CHECK_INT(linear_save(b, &bb), 0);
    CHECK_MEM(ba.data, ba.len, bb.data, bb.len);
    buf_free(&ba);
    buf_free(&bb);
    linear_free(a);
    linear_free(b);
    free(x);
    free(y);
}

/* A categorical column with 5000 categories puts ridge past the closed-form limit, onto
 * L-BFGS; without an intercept the answer is known exactly per category:
 * beta_k = sum_{i in k} w_i y_i / (sum_{i in k} w_i + l2). */
static void test_ridge_lbfgs_many_categories(void)
{
    size_t n = 20000, K = 5000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    double *sy = calloc(K, sizeof *sy), *sw = calloc(K, sizeof *sw);
    uint64_t lcg_state = 7;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(lcg_unit(&lcg_state) * (double)K);
        x[i] = (double)k;
        y[i] = (double)(k % 7) - 3 + lcg_unit(&lcg_state);
        w[i] = 0.5 + lcg_unit(&lcg_state);
        sy[k] += w[i] * y[i];
        sw[k] += w[i];
    }
    uint8_t is_cat = 1;
    uint32_t ncat = (uint32_t)K;
    struct fmatrix fm = {n, 1, x, &is_cat, &ncat, NULL};
    struct linear_params p = params(LINEAR_REGRESSION);
    p.l2 = 3.0;
    p.fit_intercept = 0;
    p.tol = 1e-6;
    p.max_iter = 1000;
    struct linear *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_train(&fm, y, w, &p, NULL, NULL, &m, &err), 0);
    int iters = 0, conv = 0;
    linear_fit_info(m, &iters, &conv);
    CHECK(iters > 0);
    CHECK(conv);
    /* predict one row per category: the coefficient itself */
    double *xc = malloc(K * sizeof *xc), *pred = malloc(K * sizeof *pred);
    for (size_t k = 0; k < K; k++)
        xc[k] = (double)k;
    struct fmatrix fc = {K, 1, xc, &is_cat, &ncat, NULL};
    CHECK_INT(linear_predict(m, &fc, pred), 0);
    double worst = 0;
    for (size_t k = 0; k < K; k++)
        worst = fmax(worst, fabs(pred[k] - sy[k] / (sw[k] + 3.0)));
    CHECK_NEAR(worst, 0, 1e-6);
    linear_free(m);
    free(x);
    free(y);
    free(w);
    free(sy);
    free(sw);
    free(xc);
    free(pred);
}

static void test_save_load_roundtrip_and_unseen_category(void)
{
    struct data *d = new_data();
    struct linear_params p = params(LINEAR_SOFTMAX);
    p.num_class = 3;
    struct linear *m = NULL, *m2 = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_train(&d->fm, d->ys, d->w, &p, NULL, NULL, &m, &err), 0);
    struct buf b = BUF_INIT;
    CHECK_INT(linear_save(m, &b), 0);
    CHECK_INT(linear_load((const uint8_t *)b.data, b.len, &m2), 0);
    double p1[3 * N], p2[3 * N];
    CHECK_INT(linear_predict(m, &d->fm, p1), 0);
    CHECK_INT(linear_predict(m2, &d->fm, p2), 0);
    CHECK(memcmp(p1, p2, sizeof p1) == 0);
    /* every truncation and a flipped byte in the header are refused, never a crash */
    for (size_t cut = 0; cut < b.len; cut++) {
        struct linear *bad = NULL;
        CHECK_INT(linear_load((const uint8_t *)b.data, cut, &bad), AIOPS_ECORRUPT);
        CHECK(bad == NULL);
    }
    b.data[5] ^= 0x40; /* kind */
    struct linear *m3 = NULL;
    CHECK_INT(linear_load((const uint8_t *)b.data, b.len, &m3), AIOPS_ECORRUPT);
    CHECK(m3 == NULL);
    buf_free(&b);
    /* an unseen category (code >= ncat) and a missing one both get no one-hot weight */
    double row[8] = {0.5, 0.5, 10, 10, 400, 400, 7, NAN};
    uint8_t ic[4] = {0, 0, 0, 1};
    uint32_t nc[4] = {0, 0, 0, 3};
    struct fmatrix two = {2, 4, row, ic, nc, NULL};
    double pr[6];
    CHECK_INT(linear_predict(m, &two, pr), 0);
    for (size_t c = 0; c < 3; c++)
        CHECK_NEAR(pr[c], pr[3 + c], 0);
    /* a matrix of another shape is refused */
    ic[3] = 0;
    CHECK_INT(linear_predict(m, &two, pr), AIOPS_EINVAL);
    linear_free(m);
    linear_free(m2);
    free(d);
}

struct progress_log {
    int calls, last_iter, stop_at;
    double first_loss, last_loss, last_metric;
    const char *name;
};

static int on_progress(void *arg, const struct train_progress *p)
{
    struct progress_log *l = arg;
    if (l->calls == 0)
        l->first_loss = p->train_loss;
    l->calls++;
    l->last_iter = p->iteration;
    l->last_loss = p->train_loss;
    l->last_metric = p->train_metric;
    l->name = p->metric_name;
    return l->stop_at > 0 && p->iteration >= l->stop_at;
}

static void test_progress_and_cancel(void)
{
    struct data *d = new_data();
    struct linear_params p = params(LINEAR_LOGISTIC);
    struct linear *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct progress_log log = {0};
    CHECK_INT(linear_train(&d->fm, d->yb, NULL, &p, on_progress, &log, &m, &err), 0);
    int iters = 0;
    linear_fit_info(m, &iters, NULL);
    CHECK_INT(log.calls, iters);
    CHECK(log.last_loss < log.first_loss);
    CHECK(log.last_loss > 0.3 && log.last_loss < 0.693);
    CHECK(log.last_metric > 0.7 && log.last_metric < 1.0); /* AUC */
    CHECK_STR(log.name, "auc");
    linear_free(m);
    m = NULL;
    struct progress_log stop = {.stop_at = 3};
    CHECK_INT(linear_train(&d->fm, d->yb, NULL, &p, on_progress, &stop, &m, &err), AIOPS_ECANCELED);
    CHECK(m == NULL);
    CHECK_INT(stop.last_iter, 3);
    /* ridge reports once, with RMSE */
    struct progress_log rl = {0};
    p = params(LINEAR_REGRESSION);
    CHECK_INT(linear_train(&d->fm, d->yr, NULL, &p, on_progress, &rl, &m, &err), 0);
    CHECK_INT(rl.calls, 1);
    CHECK_STR(rl.name, "rmse");
    CHECK_NEAR(rl.last_metric * rl.last_metric, rl.last_loss, 1e-12);
    linear_free(m);
    free(d);
}

static void test_refusals(void)
{
    struct data *d = new_data();
    struct linear_params p = params(LINEAR_LOGISTIC);
    struct linear *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    double *y = malloc(N * sizeof *y), *w = malloc(N * sizeof *w);
    for (size_t i = 0; i < N; i++) {
        y[i] = 1;
        w[i] = 1;
    }
    CHECK_INT(linear_train(&d->fm, y, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "both classes") != NULL);
    y[7] = 2;
    CHECK_INT(linear_train(&d->fm, y, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "row 7") != NULL);
    w[3] = -1;
    CHECK_INT(linear_train(&d->fm, d->yb, w, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "row 3") != NULL);
    for (size_t i = 0; i < N; i++)
        y[i] = NAN;
    CHECK_INT(linear_train(&d->fm, y, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    p.l2 = -1;
    CHECK_INT(linear_train(&d->fm, d->yb, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    p = params(LINEAR_SOFTMAX);
    p.num_class = 1;
    CHECK_INT(linear_train(&d->fm, d->ys, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    /* too many one-hot coefficients */
    uint32_t big[4] = {0, 0, 0, 1u << 23};
    struct fmatrix fb = d->fm;
    fb.ncat = big;
    p = params(LINEAR_LOGISTIC);
    CHECK_INT(linear_train(&fb, d->yb, NULL, &p, NULL, NULL, &m, &err), AIOPS_ETOOBIG);
    CHECK(m == NULL);
    free(y);
    free(w);
    free(d);
}

static void test_missing_targets_and_zero_weights_are_skipped(void)
{
    /* rows with a NaN target or weight 0 must not change the fit */
    struct data *d = new_data();
    struct linear_params p = params(LINEAR_REGRESSION);
    struct linear *a = NULL, *b = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_train(&d->fm, d->yr, d->w, &p, NULL, NULL, &a, &err), 0);
    /* the same rows plus 300 extra rows that carry no weight / no target */
    struct data *e = new_data();
    size_t n2 = 2 * N;
    double *x2 = malloc(4 * n2 * sizeof *x2), *y2 = malloc(n2 * sizeof *y2),
           *w2 = malloc(n2 * sizeof *w2);
    for (size_t j = 0; j < 4; j++)
        for (size_t i = 0; i < n2; i++)
            x2[j * n2 + i] = i < N ? d->x[j * N + i] : (j == 3 ? 1 : 1e6);
    for (size_t i = 0; i < n2; i++) {
        y2[i] = i < N ? d->yr[i] : (i % 2 ? NAN : 1e9);
        w2[i] = i < N ? d->w[i] : (i % 2 ? 1 : 0);
    }
    struct fmatrix f2 = {n2, 4, x2, d->is_cat, d->ncat, NULL};
    CHECK_INT(linear_train(&f2, y2, w2, &p, NULL, NULL, &b, &err), 0);
    double pa[N], pb[N];
    CHECK_INT(linear_predict(a, &d->fm, pa), 0);
    CHECK_INT(linear_predict(b, &d->fm, pb), 0);
    for (size_t i = 0; i < N; i++)
        CHECK_NEAR(pa[i], pb[i], 1e-10);
    linear_free(a);
    linear_free(b);
    free(x2);
    free(y2);
    free(w2);
    free(d);
    free(e);
}

/* A small text-like problem for the sparse path: rows of 6 non-zeros among 80 columns,
 * L2-normalised, 3 classes drawn from a softmax of a hidden linear model (seeded). */
/* An empty dense block of rows rows and room for nnz non-zeros a row of a sparse one. */
static void sparse_alloc(struct fmatrix *x, struct spmatrix *sp, size_t rows, size_t cols,
                         size_t nnz)
{
    CHECK_INT(fmatrix_alloc(rows, 0, x), 0);
    sp->nrows = rows;
    sp->ncols = cols;
    sp->rowptr = malloc((rows + 1) * sizeof *sp->rowptr);
    sp->col = malloc(rows * nnz * sizeof *sp->col);
    sp->val = malloc(rows * nnz * sizeof *sp->val);
}

#define SP_ROWS 600
#define SP_COLS 80
#define SP_NNZ 6
static void sparse_problem(struct fmatrix *x, struct spmatrix *sp, double *y)
{
    struct rand_xoshiro r;
    rand_xoshiro_seed(&r, 42);
    uint64_t st = 7; /* splitmix64 state for the uniform draws */
    sparse_alloc(x, sp, SP_ROWS, SP_COLS, SP_NNZ);
    for (size_t i = 0; i < SP_ROWS; i++) {
        sp->rowptr[i] = i * SP_NNZ;
        double ss = 0, m[3] = {0, 0, 0};
        for (size_t k = 0; k < SP_NNZ; k++) {
            uint32_t c = (uint32_t)(k * (SP_COLS / SP_NNZ) + rand_xoshiro_below(&r, SP_COLS / SP_NNZ));
            float v = (float)(0.2 + rand_unit(&st));
            sp->col[i * SP_NNZ + k] = c;
            sp->val[i * SP_NNZ + k] = v;
            ss += (double)v * v;
        }
        for (size_t k = 0; k < SP_NNZ; k++) {
            float *v = &sp->val[i * SP_NNZ + k];
            *v = (float)(*v / sqrt(ss));
            m[sp->col[i * SP_NNZ + k] % 3] += 3.0 * *v;
        }
        double u = rand_unit(&st), z = exp(m[0]) + exp(m[1]) + exp(m[2]);
        y[i] = u < exp(m[0]) / z ? 0 : u < (exp(m[0]) + exp(m[1])) / z ? 1 : 2;
    }
    sp->rowptr[SP_ROWS] = SP_ROWS * SP_NNZ;
}

/* The predictions on x / sp of a softmax trained there by solver (max_iter: its iterations or
 * passes; tol as linear.h) with warm_epochs and seed; *iterations (may be NULL) what it used. */
static double *sparse_solve_predict(const struct fmatrix *x, const struct spmatrix *sp,
                                    const double *y, enum linear_solver solver, int max_iter,
                                    double tol, int warm_epochs, uint64_t seed, int *iterations)
{
    struct linear_params p = params(LINEAR_SOFTMAX);
    p.num_class = 3;
    p.max_iter = max_iter;
    p.tol = tol;
    p.threads = 1;
    p.warm_epochs = warm_epochs;
    p.solver = solver;
    p.seed = seed;
    struct linear_sparse *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_sparse_train(x, sp, y, NULL, &p, NULL, NULL, &m, &err), 0);
    if (m == NULL)
        return NULL;
    if (iterations != NULL)
        linear_sparse_fit_info(m, iterations, NULL);
    double *out = malloc(SP_ROWS * 3 * sizeof *out);
    CHECK_INT(linear_sparse_predict(m, x, sp, out), 0);
    linear_sparse_free(m);
    return out;
}

static double *sparse_fit_predict(const struct fmatrix *x, const struct spmatrix *sp,
                                  const double *y, int max_iter, int warm_epochs, uint64_t seed)
{
    return sparse_solve_predict(x, sp, y, LINEAR_SOLVER_LBFGS, max_iter, 1e-10, warm_epochs, seed,
                                NULL);
}

static double max_diff(const double *a, const double *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

/* warm_epochs: SGD's start leads L-BFGS to the same optimum; on its own (one L-BFGS
 * iteration after it) it is much closer to the optimum than one iteration from zero; the
 * same seed gives the same model, another seed another start; a bad count is refused. */
static void test_sparse_sgd_warm_start(void)
{
    struct fmatrix x;
    struct spmatrix sp = {0};
    double *y = malloc(SP_ROWS * sizeof *y);
    sparse_problem(&x, &sp, y);
    double *opt = sparse_fit_predict(&x, &sp, y, 500, 0, 1);
    double *warm_opt = sparse_fit_predict(&x, &sp, y, 500, 5, 1);
    double *cold1 = sparse_fit_predict(&x, &sp, y, 1, 0, 1);
    double *warm1 = sparse_fit_predict(&x, &sp, y, 1, 30, 1);
    double *warm1b = sparse_fit_predict(&x, &sp, y, 1, 30, 1);
    double *warm1s = sparse_fit_predict(&x, &sp, y, 1, 30, 2);
    if (opt && warm_opt && cold1 && warm1 && warm1b && warm1s) {
        size_t n = SP_ROWS * 3;
        CHECK(max_diff(opt, warm_opt, n) < 1e-4);
        double d_cold = max_diff(opt, cold1, n), d_warm = max_diff(opt, warm1, n);
        CHECK(d_cold > 0.1);
        CHECK(d_warm < 0.1 * d_cold);
        CHECK(max_diff(warm1, warm1b, n) == 0);
        CHECK(max_diff(warm1, warm1s, n) > 0);
    }
    struct linear_params p = params(LINEAR_SOFTMAX);
    p.num_class = 3;
    p.warm_epochs = -1;
    struct linear_sparse *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_sparse_train(&x, &sp, y, NULL, &p, NULL, NULL, &m, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "warm_epochs") != NULL);
    free(opt);
    free(warm_opt);
    free(cold1);
    free(warm1);
    free(warm1b);
    free(warm1s);
    free(y);
    spmatrix_free(&sp);
    fmatrix_free(&x);
}

/* solver SAGA reaches L-BFGS's optimum with a tight tol (predictions to 1e-4, as the
 * warm start's test: L-BFGS's own relative stop is that close); with the default tol it
 * stops by its relative-change test after fewer passes, near the optimum; one pass is far
 * from it; the same seed gives the same model, another seed another path to the optimum. */
static void test_sparse_saga_reaches_the_lbfgs_optimum(void)
{
    struct fmatrix x;
    struct spmatrix sp = {0};
    double *y = malloc(SP_ROWS * sizeof *y);
    sparse_problem(&x, &sp, y);
    int it_tight = 0, it_default = 0;
    double *opt = sparse_fit_predict(&x, &sp, y, 500, 0, 1);
    double *sag = sparse_solve_predict(&x, &sp, y, LINEAR_SOLVER_SAGA, 2000, 1e-6, 0, 1, &it_tight);
    double *sagb = sparse_solve_predict(&x, &sp, y, LINEAR_SOLVER_SAGA, 2000, 1e-6, 0, 1, NULL);
    double *sags = sparse_solve_predict(&x, &sp, y, LINEAR_SOLVER_SAGA, 2000, 1e-6, 0, 2, NULL);
    double *sag4 =
        sparse_solve_predict(&x, &sp, y, LINEAR_SOLVER_SAGA, 2000, 1e-4, 0, 1, &it_default);
    double *sag1 = sparse_solve_predict(&x, &sp, y, LINEAR_SOLVER_SAGA, 1, 1e-4, 0, 1, NULL);
    if (opt && sag && sagb && sags && sag4 && sag1) {
        size_t n = SP_ROWS * 3;
        CHECK(max_diff(opt, sag, n) < 1e-4);
        CHECK(max_diff(sag, sagb, n) == 0);
        CHECK(max_diff(opt, sags, n) < 1e-4);
        CHECK(max_diff(sag, sags, n) > 0);
        CHECK(it_default > 1 && it_default < it_tight && it_tight < 2000);
        CHECK(max_diff(opt, sag4, n) < 1e-2);
        CHECK(max_diff(opt, sag1, n) > 10 * max_diff(opt, sag4, n));
    }
    free(opt);
    free(sag);
    free(sagb);
    free(sags);
    free(sag4);
    free(sag1);
    free(y);
    spmatrix_free(&sp);
    fmatrix_free(&x);
}

/* A problem of `classes` classes (2: logistic) on MC_ROWS rows of MC_NNZ of MC_COLS
 * features, the class drawn from a softmax of a random linear score. */
#define MC_ROWS 2500
#define MC_COLS 1200
#define MC_NNZ 40
static void multiclass_problem(uint32_t classes, struct fmatrix *x, struct spmatrix *sp,
                               double *y)
{
    uint64_t st = 11 + classes;
    double *w = malloc(MC_COLS * classes * sizeof *w), *s = malloc(classes * sizeof *s);
    for (size_t k = 0; k < (size_t)MC_COLS * classes; k++)
        w[k] = 6 * (rand_unit(&st) - 0.5);
    sparse_alloc(x, sp, MC_ROWS, MC_COLS, MC_NNZ);
    for (size_t i = 0; i < MC_ROWS; i++) {
        sp->rowptr[i] = i * MC_NNZ;
        for (uint32_t c = 0; c < classes; c++)
            s[c] = 0;
        for (size_t k = 0; k < MC_NNZ; k++) {
            /* columns in increasing order, a few frequent ones first */
            uint32_t col = (uint32_t)(k * (MC_COLS / MC_NNZ) +
                                      (uint32_t)(rand_unit(&st) * (MC_COLS / MC_NNZ)));
            float v = (float)(0.3 + rand_unit(&st)) / 2;
            sp->col[i * MC_NNZ + k] = col;
            sp->val[i * MC_NNZ + k] = v;
            for (uint32_t c = 0; c < classes; c++)
                s[c] += v * w[(size_t)col * classes + c];
        }
        double z = 0, u = rand_unit(&st), acc = 0;
        for (uint32_t c = 0; c < classes; c++)
            z += exp(s[c]);
        y[i] = classes - 1;
        for (uint32_t c = 0; c < classes; c++)
            if (u < (acc += exp(s[c]) / z)) {
                y[i] = c;
                break;
            }
    }
    sp->rowptr[MC_ROWS] = MC_ROWS * MC_NNZ;
    free(w);
    free(s);
}

static double *multiclass_fit_predict(const struct fmatrix *x, const struct spmatrix *sp,
                                      const double *y, uint32_t classes,
                                      enum linear_solver solver, double tol, int threads)
{
    struct linear_params p = params(classes > 2 ? LINEAR_SOFTMAX : LINEAR_LOGISTIC);
    p.num_class = classes > 2 ? (int)classes : 0;
    p.max_iter = solver == LINEAR_SOLVER_SAGA ? 3000 : 2000;
    p.tol = tol;
    p.threads = threads;
    p.solver = solver;
    p.seed = 3;
    p.saga_two_lanes = threads > 1 ? 2 : 0;
    struct linear_sparse *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(linear_sparse_train(x, sp, y, NULL, &p, NULL, NULL, &m, &err), 0);
    if (m == NULL)
        return NULL;
    double *out = malloc(MC_ROWS * classes * sizeof *out);
    CHECK_INT(linear_sparse_predict(m, x, sp, out), 0);
    /* on a pool, in blocks of rows: the same predictions */
    double *pooled = malloc(MC_ROWS * classes * sizeof *pooled);
    struct pool *pool = NULL;
    CHECK_INT(pool_create(3, &pool), 0);
    CHECK_INT(linear_sparse_predict_pool(m, x, sp, pool, pooled), 0);
    CHECK(memcmp(out, pooled, MC_ROWS * (classes > 2 ? classes : 2) * sizeof *out) == 0);
    pool_free(pool);
    free(pooled);
    linear_sparse_free(m);
    return out;
}

/* SAGA's step kernels for every shape of output count -- one (logistic), four at a time
 * with one left over (5), fours only (8), and beyond the vector kernels (20) -- reach
 * L-BFGS's optimum; and one thread or two (two lanes allowed whatever the load: passes on
 * two lanes meeting at each step and on one, a lane that sat out a pass catching up) give
 * the same model to the last bit. */
static void test_sparse_saga_output_counts_and_lanes(void)
{
    const uint32_t counts[] = {2, 5, 8, 20};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        uint32_t classes = counts[k], nout = classes > 2 ? classes : 1;
        struct fmatrix x;
        struct spmatrix sp = {0};
        double *y = malloc(MC_ROWS * sizeof *y);
        multiclass_problem(classes, &x, &sp, y);
        double *opt = multiclass_fit_predict(&x, &sp, y, classes, LINEAR_SOLVER_LBFGS, 1e-10, 1);
        double *one = multiclass_fit_predict(&x, &sp, y, classes, LINEAR_SOLVER_SAGA, 1e-6, 1);
        double *two = multiclass_fit_predict(&x, &sp, y, classes, LINEAR_SOLVER_SAGA, 1e-6, 2);
        if (opt && one && two) {
            size_t n = MC_ROWS * (size_t)(nout > 1 ? nout : 1);
            double d = max_diff(opt, one, n);
            if (d >= 1e-3)
                fprintf(stderr, "  %u classes: SAGA %.2g from the optimum\n", classes, d);
            CHECK(d < 1e-3);
            CHECK(max_diff(one, two, n) == 0);
        }
        free(opt);
        free(one);
        free(two);
        free(y);
        spmatrix_free(&sp);
        fmatrix_free(&x);
    }
}

UNIT_MAIN(UNIT(test_data_matches_python_generator), UNIT(test_logistic_weighted_matches_sklearn),
          UNIT(test_softmax_matches_sklearn), UNIT(test_ridge_weighted_matches_sklearn),
          UNIT(test_direct_mode_matches_sklearn_and_copy_path),
          UNIT(test_threads_do_not_change_the_result), UNIT(test_ridge_lbfgs_many_categories),
          UNIT(test_save_load_roundtrip_and_unseen_category), UNIT(test_progress_and_cancel),
          UNIT(test_refusals), UNIT(test_missing_targets_and_zero_weights_are_skipped),
          UNIT(test_sparse_sgd_warm_start), UNIT(test_sparse_saga_reaches_the_lbfgs_optimum),
          UNIT(test_sparse_saga_output_counts_and_lanes))
