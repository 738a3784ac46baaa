/* test_kmeans.c -- lib/algo/kmeans and the clustering metrics of lib/ml/eval: k-means++ is
 * reproducible, inertia is what the labels say, the thread count changes nothing, Hamerly's
 * bounds change nothing either (the same labels, centres, inertia and iterations as plain
 * Lloyd, ties and empty clusters included), and on iris and wine the adjusted Rand index is
 * within 0.02 of scikit-learn's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/kmeans.h"
#include "core/rand.h"
#include "ml/eval.h"
#include "ml/model.h"
#include "ml/train.h"
#include "testdata.h"
#include "unit.h"

/* Three well-separated blobs in 4 dimensions, n rows, row-major; truth[i] the blob. */
static double *blobs(size_t n, uint64_t seed, int32_t *truth)
{
    double *x = malloc(n * 4 * sizeof *x);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        int32_t b = (int32_t)(i % 3);
        truth[i] = b;
        for (size_t t = 0; t < 4; t++)
            x[i * 4 + t] = 10.0 * b * (t == (size_t)b ? 1 : 0.3) + rand_unit(&s) - 0.5;
    }
    return x;
}

static void test_plusplus_is_reproducible(void)
{
    size_t n = 3000;
    int32_t *truth = malloc(n * sizeof *truth);
    double *x = blobs(n, 7, truth), a[3 * 4], b[3 * 4], c[3 * 4];
    CHECK_INT(kmeans_plusplus(x, n, 4, 3, 42, 1, a), 0);
    CHECK_INT(kmeans_plusplus(x, n, 4, 3, 42, 2, b), 0);
    CHECK_INT(kmeans_plusplus(x, n, 4, 3, 43, 1, c), 0);
    CHECK_MEM(a, sizeof a, b, sizeof b);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* every seed is a row of the data, and the greedy draw puts one in each blob */
    int seen[3] = {0, 0, 0};
    for (size_t c0 = 0; c0 < 3; c0++) {
        size_t row = n;
        for (size_t i = 0; i < n && row == n; i++)
            if (memcmp(x + i * 4, a + c0 * 4, 4 * sizeof *x) == 0)
                row = i;
        CHECK(row < n);
        if (row < n)
            seen[truth[row]]++;
    }
    CHECK_INT(seen[0], 1);
    CHECK_INT(seen[1], 1);
    CHECK_INT(seen[2], 1);
    free(x);
    free(truth);
}

static void test_fit_inertia_and_threads(void)
{
    size_t n = 9000, d = 4;
    int32_t *truth = malloc(n * sizeof *truth), *l1 = malloc(n * sizeof *l1),
            *l2 = malloc(n * sizeof *l2);
    double *x = blobs(n, 11, truth), c1[12], c2[12], in1 = 0, in2 = 0;
    int it1 = 0, it2 = 0;
    struct kmeans_params p = {
        .k = 3, .n_init = 3, .max_iter = 300, .tol = 1e-4, .seed = 5, .threads = 1};
    CHECK_INT(kmeans_fit(x, n, d, &p, NULL, NULL, c1, l1, &in1, &it1, NULL), 0);
    p.threads = 2;
    CHECK_INT(kmeans_fit(x, n, d, &p, NULL, NULL, c2, l2, &in2, &it2, NULL), 0);
    CHECK_MEM(c1, sizeof c1, c2, sizeof c2);
    CHECK_MEM(l1, n * sizeof *l1, l2, n * sizeof *l2);
    CHECK(in1 == in2);
    CHECK(it1 >= 1 && it1 <= 300);
    /* inertia is the sum of squared distances to the assigned centres, each the nearest */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY, own = 0;
        for (size_t c = 0; c < 3; c++) {
            double s = 0;
            for (size_t t = 0; t < d; t++)
                s += (x[i * d + t] - c1[c * d + t]) * (x[i * d + t] - c1[c * d + t]);
            if (s < best)
                best = s;
            if ((int32_t)c == l1[i])
                own = s;
        }
        CHECK(own <= best + 1e-9);
        sum += own;
    }
    CHECK_NEAR(in1, sum, 1e-6 * sum);
    /* uniform noise of width 1 in 4 dimensions: 4/12 per row around the true centres */
    CHECK_NEAR(in1 / (double)n, 4.0 / 12.0, 0.02);
    CHECK_NEAR(eval_adjusted_rand(truth, 3, l1, 3, n), 1.0, 1e-12);
    /* each centre is the mean of its rows */
    for (size_t c = 0; c < 3; c++) {
        double m = 0, cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (l1[i] == (int32_t)c)
                m += x[i * d], cnt++;
        CHECK_NEAR(c1[c * d], m / cnt, 1e-9);
    }
    /* kmeans_assign agrees */
    double in3 = 0;
    CHECK_INT(kmeans_assign(x, n, d, c1, 3, 2, l2, NULL, &in3), 0);
    CHECK_MEM(l1, n * sizeof *l1, l2, n * sizeof *l2);
    CHECK_NEAR(in3, in1, 1e-9 * in1);
    free(x), free(truth), free(l1), free(l2);
}

/* n rows of d columns from 8 overlapping blobs of unequal spread (as bench/kmeans_bench.py
 * makes, smaller): Lloyd needs tens of iterations and many rows change centre. */
static double *overlapping(size_t n, size_t d, uint64_t seed)
{
    double *x = malloc(n * d * sizeof *x), mid[8 * 16], spread[8];
    uint64_t s = seed;
    for (size_t c = 0; c < 8; c++) {
        spread[c] = 0.5 + 1.5 * rand_unit(&s);
        for (size_t t = 0; t < d; t++)
            mid[c * d + t] = 2 * rand_unit(&s) - 1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)(rand_unit(&s) * 8);
        for (size_t t = 0; t < d; t++) /* a sum of three uniforms: near a normal */
            x[i * d + t] =
                mid[c * d + t] + spread[c] * (rand_unit(&s) + rand_unit(&s) + rand_unit(&s) - 1.5);
    }
    return x;
}

/* Fits x with and without the bounds (from init when given, else k-means++) and checks the
 * two agree exactly: labels, centres, iterations; inertia within 1e-9 relative. Returns
 * the iterations. */
static int check_bounds_exact(const char *what, const double *x, size_t n, size_t d,
                              struct kmeans_params p, const double *init)
{
    size_t k = p.k;
    int32_t *l0 = malloc(n * sizeof *l0), *l1 = malloc(n * sizeof *l1);
    double *c0 = malloc(k * d * sizeof *c0), *c1 = malloc(k * d * sizeof *c1), in0 = -1, in1 = -2;
    int it0 = -1, it1 = -2;
    for (int plain = 0; plain < 2; plain++) {
        p.plain_lloyd = plain;
        int32_t *l = plain ? l1 : l0;
        double *c = plain ? c1 : c0, *in = plain ? &in1 : &in0;
        int *it = plain ? &it1 : &it0;
        if (init)
            CHECK_INT(kmeans_fit_from(x, n, d, &p, init, c, l, in, it, NULL), 0);
        else
            CHECK_INT(kmeans_fit(x, n, d, &p, NULL, NULL, c, l, in, it, NULL), 0);
    }
    size_t differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += l0[i] != l1[i];
    printf("# %s: %d iterations, inertia %.10g (plain %.10g), %zu labels differ\n", what, it0, in0,
           in1, differ);
    CHECK_INT(differ, 0);
    CHECK_INT(it0, it1);
    CHECK_NEAR(in0, in1, 1e-9 * in1);
    CHECK_MEM(c0, k * d * sizeof *c0, c1, k * d * sizeof *c1);
    free(l0), free(l1), free(c0), free(c1);
    return it0;
}

static void test_bounds_match_plain_lloyd(void)
{
    size_t n = 30000, d = 12;
    double *x = overlapping(n, d, 2026);
    struct kmeans_params p = {
        .k = 8, .n_init = 2, .max_iter = 300, .tol = 1e-4, .seed = 3, .threads = 2};
    CHECK(check_bounds_exact("k-means++, tol 1e-4", x, n, d, p, NULL) > 5);
    p.tol = 0; /* to strict convergence: the long tail where few rows move */
    p.seed = 4;
    CHECK(check_bounds_exact("k-means++, tol 0", x, n, d, p, NULL) > 20);
    p.threads = 1;
    p.k = 20;
    CHECK(check_bounds_exact("k = 20, one thread", x, n, d, p, NULL) > 5);
    p.max_iter = 4; /* stopped by max_iter, not convergence */
    CHECK_INT(check_bounds_exact("max_iter 4", x, n, d, p, NULL), 4);
    p.k = 1;
    p.max_iter = 300;
    check_bounds_exact("k = 1", x, n, d, p, NULL);
    /* every centre starts on the same corner row: the first takes every row, the others
     * are empty and relocated, and rows travel across the whole space for many
     * iterations */
    double *init = malloc(8 * d * sizeof *init);
    size_t corner = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i * d] + x[i * d + 1] < x[corner * d] + x[corner * d + 1])
            corner = i;
    for (size_t c = 0; c < 8; c++)
        memcpy(init + c * d, x + corner * d, d * sizeof *init);
    p.k = 8;
    p.threads = 2;
    CHECK(check_bounds_exact("one corner, empty clusters", x, n, d, p, init) > 10);
    free(init);
    free(x);
}

/* Rows on an integer lattice, each many times, and centres on it too: distances are exact
 * in floating point, so many rows lie exactly halfway between two centres (the first
 * centre wins) in the first iteration, and by symmetry in later ones. */
static void test_bounds_on_ties(void)
{
    size_t side = 7, d = 3, reps = 40, n = side * side * side * reps;
    double *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        size_t v = i % (side * side * side);
        x[i * d] = (double)(v % side);
        x[i * d + 1] = (double)(v / side % side);
        x[i * d + 2] = (double)(v / (side * side));
    }
    double init[4 * 3] = {1, 1, 3, 5, 1, 3, 1, 5, 3, 5, 5, 3};
    struct kmeans_params p = {.k = 4, .max_iter = 300, .tol = 0, .threads = 2};
    check_bounds_exact("lattice, square of centres", x, n, d, p, init);
    double line[4 * 3] = {3, 3, 0, 3, 3, 2, 3, 3, 4, 3, 3, 6}; /* equal gaps on one axis */
    check_bounds_exact("lattice, centres on a line", x, n, d, p, line);
    /* two centres on the same point: the second is empty from the start */
    double twin[4 * 3] = {3, 3, 3, 3, 3, 3, 0, 0, 0, 6, 6, 6};
    check_bounds_exact("lattice, twin centres", x, n, d, p, twin);
    free(x);
    /* rows mirrored in the plane x0 = 3 (exactly: multiples of 1/1024) and a tenth of them
     * on it, centres in mirrored pairs: the pairs stay mirrored up to rounding, so each
     * iteration the rows on the plane are ties to the last bit, decided by the rounding of
     * plain Lloyd's own products */
    size_t half = 6000, m = 2 * half + half / 5, dm = 16;
    double *y = malloc(m * dm * sizeof *y), pairs[4 * 16];
    uint64_t s = 77;
    for (size_t i = 0; i < half; i++)
        for (size_t t = 0; t < dm; t++) {
            double v = floor(rand_unit(&s) * 6 * 1024) / 1024;
            y[i * dm + t] = v;
            y[(half + i) * dm + t] = t == 0 ? 6 - v : v;
        }
    for (size_t i = 2 * half; i < m; i++) {
        memcpy(y + i * dm, y + (i - 2 * half) * dm, dm * sizeof *y);
        y[i * dm] = 3;
    }
    for (size_t c = 0; c < 4; c += 2) /* rows c and their mirrors */
        for (size_t t = 0; t < dm; t++) {
            pairs[c * dm + t] = y[c * dm + t];
            pairs[(c + 1) * dm + t] = y[(half + c) * dm + t];
        }
    p.tol = 0;
    check_bounds_exact("mirrored rows and centres", y, m, dm, p, pairs);
    free(y);
}

static void test_fit_refuses(void)
{
    double x[4] = {1, 2, 3, 4}, c[8], in;
    int it;
    struct kmeans_params p = {.k = 5, .n_init = 1, .max_iter = 10, .tol = 0, .seed = 0};
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(kmeans_fit(x, 4, 1, &p, NULL, NULL, c, NULL, &in, &it, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "k");
    /* as many clusters as distinct rows: zero inertia */
    p.k = 4;
    CHECK_INT(kmeans_fit(x, 4, 1, &p, NULL, NULL, c, NULL, &in, &it, &err), 0);
    CHECK_NEAR(in, 0, 1e-12);
}

static void test_metrics_against_sklearn(void)
{
    /* values from scikit-learn 1.2.1 (adjusted_rand_score, normalized_mutual_info_score,
     * silhouette_score) on these inputs */
    int32_t a[6] = {0, 0, 1, 1, 2, 2}, b[6] = {0, 0, 1, 2, 2, 2}, r[6] = {2, 2, 0, 0, 1, 1};
    CHECK_NEAR(eval_adjusted_rand(a, 3, b, 3, 6), 0.4444444444444444, 1e-12);
    CHECK_NEAR(eval_nmi(a, 3, b, 3, 6), 0.7396673768007591, 1e-12);
    CHECK_NEAR(eval_adjusted_rand(a, 3, r, 3, 6), 1.0, 1e-12);
    CHECK_NEAR(eval_nmi(a, 3, r, 3, 6), 1.0, 1e-12);
    double x[10] = {0, 0, 0, 1, 5, 5, 5, 6, 10, 0};
    int32_t l[5] = {0, 0, 1, 1, 2};
    CHECK_NEAR(eval_silhouette(x, 5, 2, l, 3), 0.6868685568070343, 1e-12);
    int32_t one[5] = {0, 0, 0, 0, 0};
    CHECK(isnan(eval_silhouette(x, 5, 2, one, 1)));
}

/* A CSV of numbers with the label in the last column (the shared iris and wine files):
 * standardised rows (population std, as StandardScaler) and labels numbered in order of
 * first appearance. NULL after UNIT_SKIP when the file is missing. */
static double *load_scaled(const char *rel, size_t *n, size_t *d, int32_t **labels, size_t *nl)
{
    const char *path = test_data_file(rel);
    if (path == NULL)
        return NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        UNIT_SKIP("cannot open %s", path);
        return NULL;
    }
    char line[4096], names[16][64];
    size_t cap = 256, rows = 0, cols = 0;
    double *x = NULL;
    int32_t *y = malloc(cap * sizeof *y);
    *nl = 0;
    CHECK(fgets(line, sizeof line, f) != NULL); /* header */
    for (char *s = line; *s; s++)
        cols += *s == ',';
    x = malloc(cap * cols * sizeof *x);
    while (fgets(line, sizeof line, f)) {
        if (rows == cap) {
            cap *= 2;
            x = realloc(x, cap * cols * sizeof *x);
            y = realloc(y, cap * sizeof *y);
        }
        char *s = line;
        for (size_t t = 0; t < cols; t++) {
            x[rows * cols + t] = strtod(s, &s);
            s++; /* the comma */
        }
        s[strcspn(s, "\r\n")] = '\0';
        size_t k = 0;
        while (k < *nl && strcmp(names[k], s) != 0)
            k++;
        if (k == *nl && *nl < 16)
            snprintf(names[(*nl)++], sizeof names[0], "%s", s);
        y[rows++] = (int32_t)k;
    }
    fclose(f);
    for (size_t t = 0; t < cols; t++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < rows; i++)
            m += x[i * cols + t];
        m /= (double)rows;
        for (size_t i = 0; i < rows; i++)
            v += (x[i * cols + t] - m) * (x[i * cols + t] - m);
        double sd = sqrt(v / (double)rows);
        for (size_t i = 0; i < rows; i++)
            x[i * cols + t] = (x[i * cols + t] - m) / sd;
    }
    *n = rows, *d = cols, *labels = y;
    return x;
}

/* Ours against scikit-learn 1.2.1's KMeans(n_clusters=3, n_init=10), standardised, ARI
 * averaged over 10 seeds on both sides. Reference numbers from
 *     /usr/bin/python3 bench/kmeans_reference.py /work/shared/data
 *   iris: ari 0.6174 nmi 0.6578 inertia 139.8205
 *   wine: ari 0.8992 nmi 0.8776 inertia 1277.9285 */
static void check_dataset(const char *rel, size_t rows, double ref_ari, double ref_nmi,
                          double ref_inertia)
{
    size_t n, d, nl;
    int32_t *truth = NULL;
    double *x = load_scaled(rel, &n, &d, &truth, &nl);
    if (x == NULL)
        return;
    CHECK_INT(n, rows);
    CHECK_INT(nl, 3);
    int32_t *labels = malloc(n * sizeof *labels);
    double *c = malloc(3 * d * sizeof *c), ari = 0, nmi = 0, best = INFINITY;
    for (uint64_t seed = 0; seed < 10; seed++) {
        struct kmeans_params p = {
            .k = 3, .n_init = 10, .max_iter = 300, .tol = 1e-4, .seed = seed, .threads = 2};
        double in;
        int it;
        CHECK_INT(kmeans_fit(x, n, d, &p, NULL, NULL, c, labels, &in, &it, NULL), 0);
        ari += eval_adjusted_rand(truth, nl, labels, 3, n) / 10;
        nmi += eval_nmi(truth, nl, labels, 3, n) / 10;
        best = fmin(best, in);
    }
    printf("# %s: ari %.4f (sklearn %.4f) nmi %.4f (sklearn %.4f) inertia %.4f (sklearn %.4f)\n",
           rel, ari, ref_ari, nmi, ref_nmi, best, ref_inertia);
    CHECK_NEAR(ari, ref_ari, 0.02);
    CHECK_NEAR(nmi, ref_nmi, 0.02);
    CHECK_NEAR(best, ref_inertia, 0.005 * ref_inertia);
    free(x), free(truth), free(labels), free(c);
}

static void test_iris_ari_matches_sklearn(void)
{
    check_dataset("sklearn_iris/iris.csv", 150, 0.6174, 0.6578, 139.8205);
}

static void test_wine_ari_matches_sklearn(void)
{
    check_dataset("sklearn_wine/wine.csv", 178, 0.8992, 0.8776, 1277.9285);
}

/* The learner through train_model, as `aiops train --model kmeans --target cultivar` runs
 * it on wine: scaling inside the model reproduces the standardised runs above; the target
 * is left out of the features and scored; k=auto finds 3; the model file round-trips with
 * the same clusters; every cluster is named in Korean and English. */
static void test_learner_on_wine(void)
{
    struct ingest_result r;
    if (dataset_read_csv("sklearn_wine", "wine.csv", NULL, &r) != 0)
        return;
    const struct learner *l = learner_find("kmeans");
    CHECK(l != NULL && !l->needs_target);
    json_t *params = json_pack("{s:s, s:i, s:i}", "k", "auto", "n_init", 10, "seed", 0);
    struct train_config cfg = {l, "cultivar", params, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(train_model(&r.table, NULL, &cfg, NULL, NULL, &res, &err), 0);
    json_decref(params);
    if (res.model == NULL) {
        UNIT_FAIL("%s: %s", err.field, err.message);
        ingest_result_free(&r);
        return;
    }
    struct model *m = res.model;
    CHECK_INT(m->features.n, 13); /* the target is not a feature */
    CHECK_STR(model_task_name(m), "clustering");
    const json_t *mt = res.metrics;
    CHECK_INT(json_integer_value(json_object_get(mt, "clusters")), 3);
    /* the same standardised problem as test_wine_ari_matches_sklearn with seed 0 */
    CHECK_NEAR(json_number_value(json_object_get(mt, "inertia")), 1277.9285, 0.01);
    CHECK(json_number_value(json_object_get(mt, "adjusted_rand")) > 0.87);
    CHECK(json_number_value(json_object_get(mt, "nmi")) > 0.85);
    /* scikit-learn's silhouette_score of the standardised rows with these labels (written
     * by `aiops predict`) is 0.2848589191898987 */
    CHECK_NEAR(json_number_value(json_object_get(mt, "silhouette")), 0.2848589191898987, 1e-9);
    const json_t *clusters = json_object_get(m->meta, "clusters");
    CHECK_INT(json_array_size(clusters), 3);
    size_t i, total = 0;
    const json_t *cl;
    json_array_foreach(clusters, i, cl)
    {
        const char *name = json_string_value(json_object_get(cl, "name"));
        const char *desc = json_string_value(json_object_get(cl, "description"));
        CHECK(name != NULL && (strstr(name, "높음") || strstr(name, "낮음")));
        CHECK(desc != NULL && strstr(desc, "명(") != NULL);
        CHECK(json_string_value(json_object_get(cl, "name_en")) != NULL);
        CHECK(json_is_number(json_object_get(json_object_get(cl, "centroid"), "alcohol")));
        total += (size_t)json_integer_value(json_object_get(cl, "size"));
    }
    CHECK_INT(total, 178);
    /* saved and loaded: the same cluster for every row; evaluation agrees with training */
    struct buf b = BUF_INIT;
    struct model *back = NULL;
    CHECK_INT(model_save(m, &b), 0);
    CHECK_INT(model_load(b.data, b.len, &back, &err), 0);
    json_t *again = NULL;
    if (back != NULL)
        CHECK_INT(train_evaluate(back, &r.table, &again, &err), 0);
    CHECK_NEAR(json_number_value(json_object_get(again, "adjusted_rand")),
               json_number_value(json_object_get(mt, "adjusted_rand")), 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(again, "inertia")),
               json_number_value(json_object_get(mt, "inertia")), 1e-6);
    json_decref(again);
    model_free(back);
    buf_free(&b);
    train_result_free(&res);
    ingest_result_free(&r);
}

/* Cluster names from long Korean column names are cut at character boundaries: they stay
 * valid UTF-8 (JSON) and training succeeds. */
static void test_long_korean_column_names(void)
{
    struct buf csv = BUF_INIT;
    char longname[400] = "";
    while (strlen(longname) < 330)
        strcat(longname, "구매액");
    buf_printf(&csv, "%s,구독\n", longname);
    for (int i = 0; i < 60; i++)
        buf_printf(&csv, "%d,%s\n", i % 2 ? 100 + i : i, i % 2 ? "예" : "아니오");
    struct ingest_result r;
    CHECK_INT(ingest_csv(csv.data, csv.len, NULL, &r), 0);
    buf_free(&csv);
    json_t *params = json_pack("{s:i, s:i}", "k", 2, "seed", 1);
    struct train_config cfg = {learner_find("kmeans"), NULL, params, 0};
    struct train_result res;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(train_model(&r.table, NULL, &cfg, NULL, NULL, &res, &err), 0);
    json_decref(params);
    const json_t *clusters = res.model ? json_object_get(res.model->meta, "clusters") : NULL;
    CHECK_INT(json_array_size(clusters), 2);
    size_t i;
    const json_t *cl;
    json_array_foreach(clusters, i, cl)
    {
        /* jansson refuses invalid UTF-8: a dump and a load of the name prove it valid */
        const char *name = json_string_value(json_object_get(cl, "name"));
        CHECK(name != NULL && strlen(name) > 100);
        char *text = json_dumps(cl, JSON_COMPACT);
        json_t *back = text ? json_loads(text, 0, NULL) : NULL;
        CHECK(back != NULL);
        json_decref(back);
        free(text);
    }
    const json_t *sizes = json_object_get(res.metrics, "sizes");
    CHECK_INT(json_integer_value(json_array_get(sizes, 0)) +
                  json_integer_value(json_array_get(sizes, 1)),
              60);
    train_result_free(&res);
    ingest_result_free(&r);
}

UNIT_MAIN(UNIT(test_plusplus_is_reproducible), UNIT(test_fit_inertia_and_threads),
          UNIT(test_bounds_match_plain_lloyd), UNIT(test_bounds_on_ties), UNIT(test_fit_refuses),
          UNIT(test_metrics_against_sklearn), UNIT(test_iris_ari_matches_sklearn),
          UNIT(test_wine_ari_matches_sklearn), UNIT(test_learner_on_wine),
          UNIT(test_long_korean_column_names))
