/* Unit tests for lib/ml/drift.c: every statistic against scipy 1.10 on fixed samples. The
 * expected numbers come from tests/unit/drift_reference.py (kept beside this file; it builds
 * the same samples from the same LCG): the per-sample statistics from the file it writes,
 * tests/unit/ref/drift_scipy.tsv, the others printed by it and pasted here. */
#include "unit.h"

#include "core/err.h"
#include "math/signif.h"
#include "math/sort.h"
#include "ml/drift.h"
#include "testdata.h"

#define SCIPY_TSV "tests/unit/ref/drift_scipy.tsv"

struct gen {
    unsigned long long seed;
    size_t n;
    double shift, scale;
    int kind; /* 0: sum of three uniforms (bell-shaped); 1: integers 0 .. scale-1, ties */
};

/* The drift_reference.py sample(): bit-identical doubles on both sides. */
static double *sample(const struct gen *g)
{
    double *out = malloc(g->n * sizeof *out);
    uint64_t s = g->seed;
    for (size_t i = 0; i < g->n; i++) {
        double u[3];
        for (int k = 0; k < 3; k++)
            u[k] = lcg_unit(&s);
        out[i] = g->kind == 0 ? g->shift + g->scale * (u[0] + u[1] + u[2] - 1.5)
                              : g->shift + (double)(long long)(u[0] * g->scale);
    }
    CHECK_INT(sort_f64(out, g->n), 0);
    return out;
}

struct scipy_case {
    char name[32];
    struct gen ref, cur;
    double ks, ks_p, wasserstein_normed, psi, js, kl_cur_ref;
};

/* Reads the cases of SCIPY_TSV into k[max]; how many, or -1 after UNIT_FAIL. */
static int read_scipy_cases(struct scipy_case *k, int max)
{
    FILE *f = fopen(SCIPY_TSV, "r");
    if (f == NULL) {
        UNIT_FAIL("cannot open %s (tests run from the repository's root)", SCIPY_TSV);
        return -1;
    }
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        struct scipy_case *c = &k[n];
        if (n == max ||
            sscanf(line, "%31s %llu %zu %lf %lf %d %llu %zu %lf %lf %d %lf %lf %lf %lf %lf %lf",
                   c->name, &c->ref.seed, &c->ref.n, &c->ref.shift, &c->ref.scale, &c->ref.kind,
                   &c->cur.seed, &c->cur.n, &c->cur.shift, &c->cur.scale, &c->cur.kind, &c->ks,
                   &c->ks_p, &c->wasserstein_normed, &c->psi, &c->js, &c->kl_cur_ref) != 17) {
            UNIT_FAIL("%s: case %d does not read (or more than %d): %s", SCIPY_TSV, n + 1, max,
                      line);
            fclose(f);
            return -1;
        }
        n++;
    }
    fclose(f);
    return n;
}

static void test_numeric_statistics_equal_scipy(void)
{
    struct scipy_case cases[16];
    int n = read_scipy_cases(cases, 16);
    CHECK_INT(n, 6); /* equal_n, unequal_n, ties, asymp_close, asymp_far, same */
    for (int c = 0; c < n; c++) {
        const struct scipy_case *k = &cases[c];
        double *ref = sample(&k->ref), *cur = sample(&k->cur);
        struct drift_result r;
        CHECK_INT(drift_numeric(ref, k->ref.n, cur, k->cur.n, &r), 0);
        fprintf(stderr, "# %s: ks %.17g p %.17g w %.17g psi %.17g js %.17g\n", k->name, r.ks,
                r.ks_p_value, r.wasserstein, r.psi, r.jensen_shannon);
        CHECK_REL(r.ks, k->ks, 1e-12);
        CHECK_REL(r.ks_p_value, k->ks_p, 1e-9);
        CHECK_REL(r.wasserstein, k->wasserstein_normed, 1e-9);
        CHECK_REL(r.psi, k->psi, 1e-9);
        CHECK_REL(r.jensen_shannon, k->js, 1e-9);
        CHECK_REL(drift_score_kl(ref, k->ref.n, cur, k->cur.n), k->kl_cur_ref, 1e-9);
        free(ref);
        free(cur);
    }
}

/* drift_numeric of the sample of cur against the sample of ref */
static struct drift_result drift_between(const struct gen *ref, const struct gen *cur)
{
    double *a = sample(ref), *b = sample(cur);
    struct drift_result r;
    CHECK_INT(drift_numeric(a, ref->n, b, cur->n, &r), 0);
    free(a);
    free(b);
    return r;
}

static void test_method_choice_follows_evidently(void)
{
    /* a reference of <= 1000 rows with many values: KS, decided by p < 0.05 */
    struct gen a = {1, 200, 0.0, 1.0, 0}, b = {2, 200, 0.15, 1.0, 0};
    struct drift_result r = drift_between(&a, &b);
    CHECK_STR(drift_method_name(r.method), "ks");
    CHECK_NEAR(r.threshold, 0.05, 0);
    CHECK_INT(r.drift, 1); /* p = 0.0021 */
    /* > 1000 rows: normed Wasserstein at 0.1; 0.079 does not drift although KS p is tiny */
    struct gen c = {9, 20000, 0.0, 1.0, 0}, d = {10, 15000, 0.03, 1.0, 0};
    r = drift_between(&c, &d);
    CHECK_STR(drift_method_name(r.method), "wasserstein");
    CHECK_REL(r.statistic, 0.079168708641201777, 1e-9);
    CHECK_INT(r.drift, 0);
    /* the same reference against itself shifted by half a standard deviation drifts */
    struct gen e = {10, 15000, 0.3, 1.0, 0};
    r = drift_between(&c, &e);
    CHECK_INT(r.drift, 1);
    CHECK(r.statistic > 0.5);
    /* few distinct values, small reference: chi-square over the values */
    struct gen f = {5, 400, 0.0, 4.0, 1}, g = {6, 350, 0.0, 4.0, 1};
    r = drift_between(&f, &g);
    CHECK_INT(r.n_unique, 4);
    CHECK_STR(drift_method_name(r.method), "chisquare");
    CHECK_INT(r.drift, 0);
    /* two values: the z-test */
    struct gen h = {5, 400, 0.0, 2.0, 1};
    r = drift_between(&h, &h);
    CHECK_STR(drift_method_name(r.method), "z");
    CHECK_NEAR(r.p_value, 1.0, 1e-12);
    CHECK_INT(r.drift, 0);
}

static void test_categorical_equals_scipy(void)
{
    const uint64_t ref[] = {120, 80, 40, 10, 0}, cur[] = {100, 95, 30, 25, 0};
    struct drift_result r;
    CHECK_INT(drift_categorical(ref, cur, 5, &r), 0);
    CHECK_INT(r.n_unique, 4);
    CHECK_STR(drift_method_name(r.method), "chisquare");
    CHECK_REL(r.statistic, 31.145833333333336, 1e-12);
    CHECK_REL(r.p_value, 7.9201845355720074e-07, 1e-9);
    CHECK_INT(r.drift, 1);
    CHECK_REL(r.psi, 0.091381466769636474, 1e-12);
    CHECK_REL(r.jensen_shannon, 0.10574918368420358, 1e-12);
    CHECK(isnan(r.ks) && isnan(r.wasserstein));
    /* past 1000 reference rows the deciding test is Jensen-Shannon at 0.1 */
    const uint64_t big_ref[] = {1200, 800, 400, 100}, big_cur[] = {100, 95, 30, 25};
    CHECK_INT(drift_categorical(big_ref, big_cur, 4, &r), 0);
    CHECK_STR(drift_method_name(r.method), "jensenshannon");
    CHECK_REL(r.statistic, 0.10574918368420358, 1e-12);
    CHECK_INT(r.drift, 1);
    /* no values on a side is refused, not a number */
    const uint64_t none[] = {0, 0};
    CHECK_INT(drift_categorical(none, ref, 2, &r), AIOPS_EINVAL);
}

static void test_distributions_equal_scipy(void)
{
    CHECK_REL(signif_chi2_sf(3.5, 1), 0.061368829139402302, 1e-10);
    CHECK_REL(signif_chi2_sf(250, 40), 3.4695368870539687e-32, 1e-9);
    CHECK_REL(signif_chi2_sf(0.01, 7), 0.99999999924305905, 1e-12);
    CHECK_REL(drift_z_test(300, 500, 200, 400), 0.0026997960632602069, 1e-9);
    CHECK_REL(drift_kstwo_sf(0.02, 8000), 0.003277812972787873, 1e-9);
    CHECK_REL(drift_kstwo_sf(0.01, 8000), 0.39788001231862991, 1e-6);
    /* n <= 140 below n x^2 = 4: scipy's Pomeranz recursion, Pelz-Good here */
    CHECK_REL(drift_kstwo_sf(0.05, 100), 0.95321597106357248, 1e-4);
    CHECK_REL(drift_kstwo_sf(0.3, 100), 1.7719869892662917e-08, 1e-9);
}

static void test_kl_levels(void)
{
    CHECK_STR(drift_kl_level(0.1), "normal");
    CHECK_STR(drift_kl_level(0.4), "watch");
    CHECK_STR(drift_kl_level(0.62), "drift");
    CHECK_STR(drift_kl_level(1.5), "severe");
}

UNIT_MAIN(UNIT(test_numeric_statistics_equal_scipy), UNIT(test_method_choice_follows_evidently),
          UNIT(test_categorical_equals_scipy), UNIT(test_distributions_equal_scipy),
          UNIT(test_kl_levels))
