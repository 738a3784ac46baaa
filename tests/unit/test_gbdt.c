/* Unit tests for lib/algo/gbdt.c (and the tree and binning code under it): exact behaviour on
 * tiny hand-made data, persistence, corruption, determinism, and quality against XGBoost
 * 1.7.4 on the shared datasets. */
#include "core/bytes.h"
#include "unit.h"

#include "algo/gbdt.h"
#include "core/array.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "data/colstore.h"
#include "data/ingest.h"
#include "math/stats.h"
#include "ml/featureset.h"
#include "testdata.h"

/* --- helpers ---------------------------------------------------------------------------- */

TEST_RNG(12345)

/* P(class 1) of one row given as values */
static double predict1(const struct gbdt *g, const double *row, size_t ncols, const uint8_t *is_cat,
                       const uint32_t *ncat)
{
    struct fmatrix m = {1, ncols, (double *)row, (uint8_t *)is_cat, (uint32_t *)ncat, NULL};
    double out[2];
    CHECK_INT(gbdt_predict(g, &m, out), 0);
    return out[1];
}

/* Binary classification on one thread: rounds rounds at learning_rate (0: the default). */
static struct gbdt_params binary_params(int rounds, double learning_rate)
{
    struct gbdt_params p = {0};
    p.objective = GBDT_BINARY;
    p.rounds = rounds;
    p.learning_rate = learning_rate;
    p.threads = 1;
    return p;
}

/* One binary stump: a single round of depth 1, learning rate 1, one thread. */
static struct gbdt_params stump_params(void)
{
    struct gbdt_params p = binary_params(1, 1);
    p.max_depth = 1;
    return p;
}

/* --- exact behaviour on tiny data -------------------------------------------------------- */

static void test_perfect_split(void)
{
    /* y = (x0 >= 0.5) with a noise column beside it: one stump finds the split between 0.49
     * and 0.50, and with lambda 0 and eta 1 its leaves are exactly -G/H = -+2. */
    struct fmatrix x;
    double y[100];
    mat_init_step(&x, y, 100, &rng_state);
    struct gbdt_params p = stump_params();
    p.lambda = -1;           /* 0 */
    p.min_child_weight = -1; /* 0 */
    struct gbdt *g = gbdt_train_ok(&x, y, NULL, &p);
    if (g == NULL)
        goto out;
    CHECK_INT(gbdt_iterations(g), 1);
    CHECK_INT(gbdt_num_trees(g), 1);
    CHECK_NEAR(gbdt_base_score(g, 0), 0.0, 1e-12);
    const struct tree *t = gbdt_tree(g, 0);
    CHECK_INT(t->nnodes, 3);
    CHECK_INT(t->nodes[0].feature, 0);
    CHECK(t->nodes[0].threshold > 0.49 && t->nodes[0].threshold < 0.50);
    CHECK_NEAR(t->nodes[0].threshold, 0.495, 1e-12);
    int l = t->nodes[0].left, r = t->nodes[0].right;
    CHECK_NEAR(t->value[l], -2.0, 1e-9);
    CHECK_NEAR(t->value[r], 2.0, 1e-9);
    CHECK_NEAR(t->cover[0], 25.0, 1e-9); /* 100 rows of hessian 0.25 */
    /* the gain of the split: GL^2/HL + GR^2/HR - G^2/H = 25^2/12.5 * 2 - 0 */
    CHECK_NEAR(t->gain[0], 100.0, 1e-6);
    double row[2] = {0.2, 0.7};
    CHECK_NEAR(predict1(g, row, 2, x.is_cat, x.ncat), 1.0 / (1.0 + exp(2.0)), 1e-9);
    row[0] = 0.9;
    CHECK_NEAR(predict1(g, row, 2, x.is_cat, x.ncat), 1.0 / (1.0 + exp(-2.0)), 1e-9);
    double imp[2];
    CHECK_INT(gbdt_importance(g, 0, imp), 0);
    CHECK_NEAR(imp[0], 1.0, 0);
    CHECK_NEAR(imp[1], 0.0, 0);
out:
    gbdt_free(g);
    mat_free(&x);
}

static void test_missing_direction_is_learned(void)
{
    /* x0 > 5 means class 1; missing x0 is class 1 in the first data set and class 0 in the
     * second: the split sends missing values right, then left. */
    for (int flip = 0; flip < 2; flip++) {
        struct fmatrix x;
        mat_init(&x, 300, 1);
        double y[300];
        for (size_t r = 0; r < 300; r++) {
            if (r % 3 == 0) {
                AT(&x, r, 0) = NAN;
                y[r] = flip ? 0 : 1;
            } else {
                AT(&x, r, 0) = (double)(r % 10);
                y[r] = AT(&x, r, 0) > 5;
            }
        }
        struct gbdt_params p = stump_params();
        struct gbdt *g = gbdt_train_ok(&x, y, NULL, &p);
        if (g == NULL) {
            mat_free(&x);
            continue;
        }
        const struct tree *t = gbdt_tree(g, 0);
        CHECK_INT(t->nodes[0].feature, 0);
        CHECK(t->nodes[0].threshold > 5 && t->nodes[0].threshold < 6);
        CHECK_INT(t->nodes[0].flags & TREE_DEFAULT_LEFT, flip ? TREE_DEFAULT_LEFT : 0);
        double nan_row[1] = {NAN}, low[1] = {1}, high[1] = {8};
        double pn = predict1(g, nan_row, 1, x.is_cat, x.ncat);
        double pl = predict1(g, low, 1, x.is_cat, x.ncat);
        double ph = predict1(g, high, 1, x.is_cat, x.ncat);
        CHECK(pl < 0.5 && ph > 0.5);
        CHECK_NEAR(pn, flip ? pl : ph, 0);
        gbdt_free(g);
        mat_free(&x);
    }
}

static void test_categorical_split_groups_categories(void)
{
    /* 8 categories, class 1 exactly for {1, 3, 4, 6}: one sorted categorical split separates
     * them; with 3 categories (one-vs-rest) category 2 is cut from the others. */
    struct fmatrix x;
    mat_init_codes(&x, 400, 8, 8);
    double y[400];
    for (size_t r = 0; r < 400; r++) {
        size_t c = r % 8;
        y[r] = (c == 1 || c == 3 || c == 4 || c == 6) ? 1 : 0;
    }
    struct gbdt_params p = stump_params();
    struct gbdt *g = gbdt_train_ok(&x, y, NULL, &p);
    if (g != NULL) {
        const struct tree *t = gbdt_tree(g, 0);
        CHECK_INT(t->nnodes, 3);
        CHECK(t->nodes[0].flags & TREE_CATEGORICAL);
        for (int c = 0; c < 8; c++) {
            double row[1] = {c};
            double pc = predict1(g, row, 1, x.is_cat, x.ncat);
            if (c == 1 || c == 3 || c == 4 || c == 6)
                CHECK(pc > 0.5);
            else
                CHECK(pc < 0.5);
        }
        /* unseen / missing / not-a-code values do not crash and go the default way */
        double nanrow[1] = {NAN};
        double pdef = predict1(g, nanrow, 1, x.is_cat, x.ncat);
        double odd[] = {99, -1, 2.5, 1e300, -INFINITY, INFINITY, 4294967296.0};
        for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
            double row[1] = {odd[i]};
            CHECK_NEAR(predict1(g, row, 1, x.is_cat, x.ncat), pdef, 0);
        }
    }
    gbdt_free(g);
    mat_free(&x);

    mat_init_codes(&x, 300, 3, 3);
    for (size_t r = 0; r < 300; r++)
        y[r] = r % 3 == 2;
    g = gbdt_train_ok(&x, y, NULL, &p);
    if (g != NULL) {
        const struct tree *t = gbdt_tree(g, 0);
        CHECK(t->nodes[0].flags & TREE_CATEGORICAL);
        double r0[1] = {0}, r1[1] = {1}, r2[1] = {2};
        CHECK(predict1(g, r2, 1, x.is_cat, x.ncat) > 0.5);
        CHECK(predict1(g, r0, 1, x.is_cat, x.ncat) < 0.5);
        CHECK_NEAR(predict1(g, r0, 1, x.is_cat, x.ncat), predict1(g, r1, 1, x.is_cat, x.ncat), 0);
    }
    gbdt_free(g);
    mat_free(&x);
}

static void test_categorical_missing_goes_with_its_group(void)
{
    /* categories 0..5 plus missing values that behave like categories 4 and 5 */
    struct fmatrix x;
    mat_init_codes(&x, 700, 6, 7); /* code 6: missing */
    double y[700];
    for (size_t r = 0; r < 700; r++)
        y[r] = r % 7 >= 4;
    struct gbdt_params p = stump_params();
    struct gbdt *g = gbdt_train_ok(&x, y, NULL, &p);
    if (g != NULL) {
        double nanrow[1] = {NAN}, c5[1] = {5}, c0[1] = {0};
        CHECK(predict1(g, nanrow, 1, x.is_cat, x.ncat) > 0.5);
        CHECK_NEAR(predict1(g, nanrow, 1, x.is_cat, x.ncat), predict1(g, c5, 1, x.is_cat, x.ncat),
                   0);
        CHECK(predict1(g, c0, 1, x.is_cat, x.ncat) < 0.5);
    }
    gbdt_free(g);
    mat_free(&x);
}

struct loss_log {
    int n;
    double valid[512];
    int cancel_at;
};

static int log_progress(void *arg, const struct train_progress *pr)
{
    struct loss_log *lg = arg;
    if (lg->n < 512)
        lg->valid[lg->n++] = pr->valid_loss;
    CHECK_INT(pr->iteration, lg->n);
    CHECK(pr->metric_name != NULL);
    return lg->cancel_at > 0 && pr->iteration >= lg->cancel_at;
}

static void test_early_stopping_keeps_best_round(void)
{
    /* a weak signal plus heavy label noise: validation loss improves, then worsens */
    size_t n = 600;
    struct fmatrix x, vx;
    mat_init(&x, n, 3);
    mat_init(&vx, n, 3);
    double *y = malloc(n * sizeof *y), *vy = malloc(n * sizeof *vy);
    for (size_t r = 0; r < n; r++) {
        for (int j = 0; j < 3; j++) {
            AT(&x, r, j) = urand();
            AT(&vx, r, j) = urand();
        }
        y[r] = urand() < (AT(&x, r, 0) > 0.5 ? 0.7 : 0.3);
        vy[r] = urand() < (AT(&vx, r, 0) > 0.5 ? 0.7 : 0.3);
    }
    struct gbdt_params p = binary_params(300, 0.3);
    p.early_stopping = 5;
    struct loss_log lg = {0};
    struct gbdt *g = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(gbdt_train(&x, y, NULL, &vx, vy, &p, log_progress, &lg, &g, &err), 0);
    if (g != NULL) {
        int best = 0;
        for (int i = 1; i < lg.n; i++)
            if (lg.valid[i] < lg.valid[best])
                best = i;
        CHECK(lg.n < 300);                       /* it stopped */
        CHECK_INT(lg.n, best + 1 + 5);           /* 5 rounds after the best */
        CHECK_INT(gbdt_iterations(g), best + 1); /* and kept the best */
        /* the kept model's validation loss is the best one seen */
        double *pr = malloc(2 * n * sizeof *pr), loss = 0;
        CHECK_INT(gbdt_predict(g, &vx, pr), 0);
        for (size_t r = 0; r < n; r++)
            loss -= log(vy[r] > 0.5 ? pr[2 * r + 1] : pr[2 * r]);
        CHECK_NEAR(loss / (double)n, lg.valid[best], 1e-9);
        free(pr);
    }
    gbdt_free(g);
    /* cancellation */
    struct loss_log lc = {0};
    lc.cancel_at = 3;
    g = (struct gbdt *)&lc; /* must be reset to NULL */
    p.early_stopping = 0;
    CHECK_INT(gbdt_train(&x, y, NULL, &vx, vy, &p, log_progress, &lc, &g, &err), AIOPS_ECANCELED);
    CHECK(g == NULL);
    CHECK_INT(lc.n, 3);
    free(y);
    free(vy);
    mat_free(&x);
    mat_free(&vx);
}

static void test_weights_change_the_model(void)
{
    size_t n = 400;
    struct fmatrix x;
    mat_init(&x, n, 2);
    double *y = malloc(2 * n * sizeof *y), *w = malloc(2 * n * sizeof *w);
    for (size_t r = 0; r < n; r++) {
        AT(&x, r, 0) = (double)(r % 50);
        AT(&x, r, 1) = (double)(r % 7);
        y[r] = urand() < (AT(&x, r, 0) > 25 ? 0.8 : 0.2);
        w[r] = AT(&x, r, 1) == 3 ? 10.0 : 1.0;
    }
    struct gbdt_params p = binary_params(10, 0);
    struct gbdt *a = gbdt_train_ok(&x, y, NULL, &p), *b = gbdt_train_ok(&x, y, w, &p);
    double *pa = malloc(2 * n * sizeof *pa), *pb = malloc(2 * n * sizeof *pb);
    if (a && b) {
        CHECK_INT(gbdt_predict(a, &x, pa), 0);
        CHECK_INT(gbdt_predict(b, &x, pb), 0);
        double maxd = 0;
        for (size_t r = 0; r < 2 * n; r++)
            maxd = fmax(maxd, fabs(pa[r] - pb[r]));
        CHECK(maxd > 0.01);
    }
    gbdt_free(b);
    /* Rows of weight 0 change nothing: the same data plus junk rows (same x values, so the
     * same bins, flipped labels) weighted 0 gives the same predictions. */
    struct fmatrix x2;
    mat_init(&x2, 2 * n, 2);
    for (size_t r = 0; r < 2 * n; r++) {
        AT(&x2, r, 0) = AT(&x, r % n, 0);
        AT(&x2, r, 1) = AT(&x, r % n, 1);
        y[r] = r < n ? y[r] : 1 - y[r - n];
        w[r] = r < n ? 1.0 : 0.0;
    }
    b = gbdt_train_ok(&x2, y, w, &p);
    if (a && b) {
        CHECK_INT(gbdt_predict(b, &x, pb), 0);
        double maxd = 0;
        for (size_t r = 0; r < 2 * n; r++)
            maxd = fmax(maxd, fabs(pa[r] - pb[r]));
        CHECK(maxd < 1e-9);
    }
    gbdt_free(a);
    gbdt_free(b);
    free(pa);
    free(pb);
    free(y);
    free(w);
    mat_free(&x);
    mat_free(&x2);
}

/* A model with numeric, missing and categorical splits for persistence tests. */
static struct gbdt *mixed_model(struct fmatrix *x, enum gbdt_objective obj, int threads, size_t n)
{
    mat_init_mixed(x, n, 12);
    double *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        double m = mixed_row(x, r, &rng_state);
        if (obj == GBDT_REGRESSION)
            y[r] = m + urand();
        else if (obj == GBDT_BINARY)
            y[r] = urand() < 1 / (1 + exp(-(m - 2)));
        else
            y[r] = (double)((int)(m + urand()) % 3);
    }
    struct gbdt_params p = {0};
    p.objective = obj;
    p.num_class = 3;
    p.rounds = 20;
    p.threads = threads;
    p.subsample = 0.8;
    p.colsample = 0.75;
    p.seed = 7;
    struct gbdt *g = gbdt_train_ok(x, y, NULL, &p);
    free(y);
    return g;
}

static void test_save_load_predict_identical(void)
{
    enum gbdt_objective objs[] = {GBDT_BINARY, GBDT_MULTICLASS, GBDT_REGRESSION};
    for (size_t o = 0; o < 3; o++) {
        struct fmatrix x;
        struct gbdt *g = mixed_model(&x, objs[o], 1, 2000), *h = NULL;
        if (g == NULL) {
            mat_free(&x);
            continue;
        }
        struct buf b = BUF_INIT, b2 = BUF_INIT;
        CHECK_INT(gbdt_save(g, &b), 0);
        CHECK_INT(gbdt_load((const uint8_t *)b.data, b.len, &h), 0);
        if (h != NULL) {
            size_t k = gbdt_outputs(g);
            CHECK_INT(gbdt_outputs(h), k);
            CHECK_INT(k, objs[o] == GBDT_MULTICLASS ? 3 : objs[o] == GBDT_BINARY ? 2 : 1);
            double *pa = malloc(x.nrows * k * sizeof *pa), *pb = malloc(x.nrows * k * sizeof *pb);
            CHECK_INT(gbdt_predict(g, &x, pa), 0);
            CHECK_INT(gbdt_predict(h, &x, pb), 0);
            CHECK_MEM(pa, x.nrows * k * sizeof *pa, pb, x.nrows * k * sizeof *pb);
            for (size_t r = 0; r < x.nrows && k > 1; r++) {
                double s = 0;
                for (size_t c = 0; c < k; c++)
                    s += pa[r * k + c];
                CHECK_NEAR(s, 1.0, 1e-12);
            }
            CHECK_INT(gbdt_save(h, &b2), 0);
            CHECK_MEM(b.data, b.len, b2.data, b2.len);
            free(pa);
            free(pb);
        }
        /* a categorical split exists in at least one tree */
        int cat = 0;
        for (size_t t = 0; t < gbdt_num_trees(g); t++)
            for (uint32_t i = 0; i < gbdt_tree(g, t)->nnodes; i++)
                cat |= (gbdt_tree(g, t)->nodes[i].flags & TREE_CATEGORICAL) != 0;
        CHECK(cat);
        gbdt_free(h);
        gbdt_free(g);
        buf_free(&b);
        buf_free(&b2);
        mat_free(&x);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_load_refuses_corruption(void)
{
    struct fmatrix x;
    struct gbdt *g = mixed_model(&x, GBDT_BINARY, 1, 300), *h = NULL;
    struct buf b = BUF_INIT;
    if (g == NULL)
        goto out;
    CHECK_INT(gbdt_save(g, &b), 0);
    uint8_t *p = malloc(b.len);
    /* every truncation */
    for (size_t n = 0; n < b.len; n++) {
        CHECK_INT(gbdt_load((const uint8_t *)b.data, n, &h), AIOPS_ECORRUPT);
        CHECK(h == NULL);
    }
    /* every single-byte change (the checksum catches them) */
    size_t step = b.len / 2000 + 1;
    for (size_t i = 0; i < b.len; i += step) {
        memcpy(p, b.data, b.len);
        p[i] ^= 0x5a;
        CHECK_INT(gbdt_load(p, b.len, &h), AIOPS_ECORRUPT);
    }
    /* structural damage under a valid checksum: a child pointing back at the root, a split
     * feature out of range, an absurd tree count */
    size_t first_tree = 4 * 6 + 8 + 8 + 8 * 4; /* header, base score, 4 features */
    size_t node0 = first_tree + 8;
    struct {
        size_t off;
        uint32_t v;
    } edits[] = {{node0 + 8, 0}, {node0, 99}, {20, 0x7fffffff}, {first_tree, 0}, {node0 + 4, 7}};
    for (size_t e = 0; e < ARRAY_LEN(edits); e++) {
        memcpy(p, b.data, b.len);
        put32(p + edits[e].off, edits[e].v);
        put32(p + b.len - 4, crc32c(0, p, b.len - 4));
        CHECK_INT(gbdt_load(p, b.len, &h), AIOPS_ECORRUPT);
        CHECK(h == NULL);
    }
    /* unchanged bytes load */
    memcpy(p, b.data, b.len);
    CHECK_INT(gbdt_load(p, b.len, &h), 0);
    gbdt_free(h);
    free(p);
out:
    gbdt_free(g);
    buf_free(&b);
    mat_free(&x);
}

static void test_same_model_whatever_the_threads(void)
{
    /* enough rows for the parallel histogram and partition paths */
    struct fmatrix x1, x2;
    uint64_t saved = rng_state;
    struct gbdt *a = mixed_model(&x1, GBDT_BINARY, 1, 60000);
    rng_state = saved;
    struct gbdt *b = mixed_model(&x2, GBDT_BINARY, 2, 60000);
    struct buf ba = BUF_INIT, bb = BUF_INIT;
    if (a && b) {
        CHECK_INT(gbdt_save(a, &ba), 0);
        CHECK_INT(gbdt_save(b, &bb), 0);
        CHECK_MEM(ba.data, ba.len, bb.data, bb.len);
        /* predictions shared among threads equal the single-threaded ones */
        struct pool *pool = NULL;
        CHECK_INT(pool_create(3, &pool), 0);
        size_t n = x1.nrows;
        double *p1 = malloc(n * 2 * sizeof *p1), *p2 = malloc(n * 2 * sizeof *p2);
        CHECK_INT(gbdt_predict(a, &x1, p1), 0);
        CHECK_INT(gbdt_predict_pool(a, &x1, pool, p2), 0);
        CHECK_MEM(p1, n * 2 * sizeof *p1, p2, n * 2 * sizeof *p2);
        free(p1);
        free(p2);
        pool_free(pool);
    }
    gbdt_free(a);
    gbdt_free(b);
    buf_free(&ba);
    buf_free(&bb);
    mat_free(&x1);
    mat_free(&x2);
}

static void test_leafwise_and_depth_limits(void)
{
    size_t n = 3000;
    struct fmatrix x;
    mat_init(&x, n, 5);
    double *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        double s = 0;
        for (int j = 0; j < 5; j++)
            s += (AT(&x, r, j) = urand()) * (j + 1);
        y[r] = sin(s) + urand() * 0.1;
    }
    struct gbdt_params p = {0};
    p.objective = GBDT_REGRESSION;
    p.rounds = 5;
    p.num_leaves = 7;
    p.threads = 1;
    struct gbdt *g = gbdt_train_ok(&x, y, NULL, &p);
    for (size_t t = 0; g && t < gbdt_num_trees(g); t++) {
        const struct tree *tr = gbdt_tree(g, t);
        CHECK_INT(tr->nnodes, 13); /* 7 leaves */
    }
    gbdt_free(g);
    p.num_leaves = 0;
    p.max_depth = 2;
    g = gbdt_train_ok(&x, y, NULL, &p);
    for (size_t t = 0; g && t < gbdt_num_trees(g); t++)
        CHECK_INT(gbdt_tree(g, t)->nnodes, 7); /* a full tree of depth 2 */
    gbdt_free(g);
    /* regression fits: training RMSE drops well below the target's spread */
    p.max_depth = 0;
    p.rounds = 100;
    g = gbdt_train_ok(&x, y, NULL, &p);
    if (g) {
        double *pr = malloc(n * sizeof *pr), se = 0;
        struct stats_moments mo;
        stats_moments(y, n, &mo);
        CHECK_INT(gbdt_predict(g, &x, pr), 0);
        for (size_t r = 0; r < n; r++)
            se += (pr[r] - y[r]) * (pr[r] - y[r]);
        CHECK(sqrt(se / (double)n) < 0.3 * mo.std);
        free(pr);
    }
    gbdt_free(g);
    free(y);
    mat_free(&x);
}

static void test_bad_input_is_refused(void)
{
    struct fmatrix x;
    mat_init(&x, 10, 1);
    double y[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    struct gbdt *g = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct gbdt_params p = {0};
    p.objective = GBDT_BINARY;
    p.rounds = -1;
    CHECK_INT(gbdt_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, &g, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "rounds") != NULL);
    p.rounds = 0;
    p.subsample = 1.5;
    CHECK_INT(gbdt_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, &g, &err), AIOPS_EINVAL);
    p.subsample = 0;
    p.objective = GBDT_MULTICLASS;
    p.num_class = 1;
    CHECK_INT(gbdt_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, &g, &err), AIOPS_EINVAL);
    p.objective = GBDT_BINARY;
    y[3] = 2;
    CHECK_INT(gbdt_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, &g, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "row 3") != NULL);
    y[3] = 1;
    double w[10] = {1, 1, 1, -1, 1, 1, 1, 1, 1, 1};
    CHECK_INT(gbdt_train(&x, y, w, NULL, NULL, &p, NULL, NULL, &g, &err), AIOPS_EINVAL);
    CHECK(g == NULL);
    /* a constant feature trains to a model of stumps that predicts the prior */
    p.rounds = 3;
    g = gbdt_train_ok(&x, y, NULL, &p);
    if (g) {
        double out[20];
        CHECK_INT(gbdt_predict(g, &x, out), 0);
        CHECK_NEAR(out[1], 0.5, 1e-12);
        CHECK_INT(gbdt_tree(g, 0)->nnodes, 1);
        /* a matrix with the wrong column count is refused */
        struct fmatrix x2;
        mat_init(&x2, 2, 3);
        CHECK_INT(gbdt_predict(g, &x2, out), AIOPS_EINVAL);
        mat_free(&x2);
    }
    gbdt_free(g);
    mat_free(&x);
}

/* --- the shared datasets against XGBoost ------------------------------------------------- */

/* XGBoost's parameters in bench/gbdt_reference.py: 100 rounds, eta 0.1, depth 6, lambda 1,
 * min_child_weight 1, 255 bins, seed 0. */
static struct gbdt *train_like_xgboost(const struct dataset *d, enum gbdt_objective obj)
{
    struct gbdt_params p = {0};
    p.objective = obj;
    p.num_class = (int)d->ts.nclasses;
    p.rounds = 100;
    p.learning_rate = 0.1;
    p.max_depth = 6;
    p.max_bin = 255;
    p.threads = 2;
    return gbdt_train_ok(&d->xtr, d->ytr, NULL, &p);
}

static double test_auc(const struct gbdt *g, const struct dataset *d)
{
    size_t n = d->xte.nrows;
    double *pr = malloc(2 * n * sizeof *pr);
    CHECK_INT(gbdt_predict(g, &d->xte, pr), 0);
    double auc = prob_auc(pr, d->yte, n);
    free(pr);
    return auc;
}

/* Reference values: `/usr/bin/python3 bench/gbdt_reference.py` (XGBoost 1.7.4,
 * tree_method="hist", the parameters of train_like_xgboost; categoricals as pandas category
 * dtype with enable_categorical=True). Bounds: AUC >= XGBoost - 0.005, accuracy >= XGBoost
 * - 0.01, RMSE <= XGBoost * 1.03. */
#define XGB_HIGGS_AUC 0.828576
#define XGB_ADULT_AUC 0.927505
#define XGB_LETTER_ACCURACY 0.947193
#define XGB_DIAMONDS_RMSE 540.0161

/* Loads a dataset (the test is skipped without it), checks it has ntrain and ntest rows,
 * trains on it like XGBoost for obj and hands the model to check. */
static void vs_xgboost(const char *dir, const char *train, const char *test, const char *target,
                       size_t ntrain, size_t ntest, enum gbdt_objective obj,
                       void (*check)(const struct gbdt *, const struct dataset *))
{
    struct dataset d;
    if (dataset_load(&d, dir, train, test, target) == 0) {
        CHECK_INT(d.xtr.nrows, ntrain);
        CHECK_INT(d.xte.nrows, ntest);
        struct gbdt *g = train_like_xgboost(&d, obj);
        if (g)
            check(g, &d);
        gbdt_free(g);
    }
    dataset_free(&d);
}

static void check_higgs(const struct gbdt *g, const struct dataset *d)
{
    double auc = test_auc(g, d);
    printf("# higgs: AUC %.6f (XGBoost %.6f)\n", auc, XGB_HIGGS_AUC);
    CHECK(auc >= XGB_HIGGS_AUC - 0.005);
}

static void test_higgs_vs_xgboost(void)
{
    vs_xgboost(DATASET_HIGGS, 7000, 500, GBDT_BINARY, check_higgs);
}

static void check_adult(const struct gbdt *g, const struct dataset *d)
{
    double auc = test_auc(g, d);
    printf("# adult: AUC %.6f (XGBoost %.6f)\n", auc, XGB_ADULT_AUC);
    CHECK(auc >= XGB_ADULT_AUC - 0.005);
    /* the categorical features are split as categories */
    int cat = 0;
    for (size_t t = 0; t < gbdt_num_trees(g); t++)
        for (uint32_t i = 0; i < gbdt_tree(g, t)->nnodes; i++)
            cat += (gbdt_tree(g, t)->nodes[i].flags & TREE_CATEGORICAL) != 0;
    CHECK(cat > 0);
    /* relationship / marital status / capital gain lead the gain importance */
    double imp[14];
    CHECK_INT(gbdt_importance(g, 1, imp), 0);
    const char *name = d->fs.f[stats_argmax(imp, 14)].name;
    CHECK(!strcmp(name, "relationship") || !strcmp(name, "marital_status") ||
          !strcmp(name, "capital_gain"));
}

static void test_adult_vs_xgboost(void)
{
    vs_xgboost(DATASET_ADULT, 32561, 16281, GBDT_BINARY, check_adult);
}

static void check_letter(const struct gbdt *g, const struct dataset *d)
{
    CHECK_INT(d->ts.nclasses, 26);
    size_t n = d->xte.nrows;
    double *pr = malloc(n * 26 * sizeof *pr);
    CHECK_INT(gbdt_predict(g, &d->xte, pr), 0);
    double acc = prob_accuracy(pr, d->yte, n, 26);
    printf("# letter: accuracy %.6f (XGBoost %.6f)\n", acc, XGB_LETTER_ACCURACY);
    CHECK(acc >= XGB_LETTER_ACCURACY - 0.01);
    free(pr);
}

static void test_letter_vs_xgboost(void)
{
    vs_xgboost(DATASET_LETTER, 16099, 3901, GBDT_MULTICLASS, check_letter);
}

static void check_diamonds(const struct gbdt *g, const struct dataset *d)
{
    CHECK_INT(d->ts.task, TASK_REGRESSION);
    size_t n = d->xte.nrows;
    double *pr = malloc(n * sizeof *pr);
    CHECK_INT(gbdt_predict(g, &d->xte, pr), 0);
    double rmse = sqrt(sum_sq_error(pr, d->yte, n) / (double)n);
    printf("# diamonds: RMSE %.4f (XGBoost %.4f)\n", rmse, XGB_DIAMONDS_RMSE);
    CHECK(rmse <= XGB_DIAMONDS_RMSE * 1.03);
    free(pr);
}

static void test_diamonds_vs_xgboost(void)
{
    vs_xgboost(DATASET_DIAMONDS, 43244, 10696, GBDT_REGRESSION, check_diamonds);
}

/* Small data (issue 11): rows k, k + 43, k + 86, ... of the diamonds split (the file is sorted
 * by price), the first 1,000 for training and 250 for testing, as bench/gbdt_reference.py's
 * diamonds_small; XGBoost's RMSE on the same rows there. Bound: every sample within 6% of
 * XGBoost's RMSE (250 test rows are noisy) and the five together within 1%. */
static const double xgb_small_rmse[] = {829.4537, 748.7958, 821.7416, 765.1482, 809.1409};
#define SMALL_STRIDE 43

/* Rows from, from + stride, ... of src (at most n of them) into out (caller frees). */
static void stride_rows(const struct fmatrix *src, const double *y, size_t from, size_t stride,
                        size_t n, struct fmatrix *out, double *yout)
{
    size_t have = src->nrows > from ? (src->nrows - from + stride - 1) / stride : 0;
    n = n < have ? n : have;
    CHECK_INT(fmatrix_alloc(n, src->ncols, out), 0);
    for (size_t j = 0; j < src->ncols; j++) {
        out->is_cat[j] = src->is_cat[j];
        out->ncat[j] = src->ncat[j];
        for (size_t i = 0; i < n; i++)
            out->x[j * n + i] = src->x[j * src->nrows + from + i * stride];
    }
    for (size_t i = 0; i < n; i++)
        yout[i] = y[from + i * stride];
}

static void test_small_diamonds_vs_xgboost(void)
{
    struct dataset d;
    if (dataset_load(&d, DATASET_DIAMONDS) != 0) {
        dataset_free(&d);
        return;
    }
    double ratio_sum = 0;
    size_t k_count = sizeof xgb_small_rmse / sizeof *xgb_small_rmse;
    for (size_t k = 0; k < k_count; k++) {
        struct dataset s = d;
        double ytr[1000], yte[250], pr[250];
        stride_rows(&d.xtr, d.ytr, k, SMALL_STRIDE, 1000, &s.xtr, ytr);
        stride_rows(&d.xte, d.yte, k, SMALL_STRIDE, 250, &s.xte, yte);
        s.ytr = ytr;
        struct gbdt *g = train_like_xgboost(&s, GBDT_REGRESSION);
        double se = 0;
        CHECK(g != NULL && gbdt_predict(g, &s.xte, pr) == 0);
        if (g != NULL)
            se = sum_sq_error(pr, yte, s.xte.nrows);
        double rmse = sqrt(se / (double)s.xte.nrows);
        printf("# diamonds, 1000 rows from %zu: RMSE %.4f (XGBoost %.4f)\n", k, rmse,
               xgb_small_rmse[k]);
        CHECK(rmse <= xgb_small_rmse[k] * 1.06);
        ratio_sum += rmse / xgb_small_rmse[k];
        gbdt_free(g);
        fmatrix_free(&s.xtr);
        fmatrix_free(&s.xte);
    }
    printf("# diamonds small: mean RMSE ratio to XGBoost %.4f\n", ratio_sum / (double)k_count);
    CHECK(ratio_sum / (double)k_count <= 1.01);
    dataset_free(&d);
}

UNIT_MAIN(UNIT(test_perfect_split), UNIT(test_missing_direction_is_learned),
          UNIT(test_categorical_split_groups_categories),
          UNIT(test_categorical_missing_goes_with_its_group),
          UNIT(test_early_stopping_keeps_best_round), UNIT(test_weights_change_the_model),
          UNIT(test_save_load_predict_identical), UNIT(test_load_refuses_corruption),
          UNIT(test_same_model_whatever_the_threads), UNIT(test_leafwise_and_depth_limits),
          UNIT(test_bad_input_is_refused), UNIT(test_higgs_vs_xgboost), UNIT(test_adult_vs_xgboost),
          UNIT(test_letter_vs_xgboost), UNIT(test_diamonds_vs_xgboost),
          UNIT(test_small_diamonds_vs_xgboost))
