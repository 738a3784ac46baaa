/* gbdt_bench.c -- times gbdt_train / gbdt_predict (or forest_train / forest_predict) on a
 * dataset in the benchmark's binary form (bench/gbdt_data.py writes it), so that CSV
 * parsing is not part of what is measured. Built and run by bench/gbdt_bench.sh.
 *
 *   gbdt_bench TRAIN.bin TEST.bin [key=value ...]
 *     model=gbdt|rf  objective=binary|multiclass|regression  num_class=K  rounds=N  eta=X
 *     max_depth=D  num_leaves=L  max_bin=B  lambda=X  min_child_weight=X  subsample=X
 *     colsample=X  threads=T  seed=S  trees=N  min_samples_leaf=N  max_features=X
 *
 * The binary form: see bench_data.h. Prints one JSON object: train_s, predict_s,
 * predict_rows_per_s and the metric (auc, accuracy or rmse) on TEST. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_data.h"

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "core/pool.h"
#include "core/time.h"
#include "math/stats.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gbdt_bench TRAIN.bin TEST.bin [key=value ...]\n");
        return 2;
    }
    struct fmatrix tr, te;
    double *ytr, *yte;
    if (bench_load(argv[1], &tr, &ytr) != 0 || bench_load(argv[2], &te, &yte) != 0) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    struct gbdt_params gp;
    memset(&gp, 0, sizeof gp);
    struct forest_params fp;
    memset(&fp, 0, sizeof fp);
    int rf = 0;
    /* the numeric settings, each written into the gbdt and/or the forest parameters */
    const struct {
        const char *key;
        int *i[2];
        double *d;
    } settings[] = {
        {"num_class", {&gp.num_class, &fp.num_class}, NULL},
        {"rounds", {&gp.rounds, NULL}, NULL},
        {"eta", {NULL, NULL}, &gp.learning_rate},
        {"max_depth", {&gp.max_depth, &fp.max_depth}, NULL},
        {"num_leaves", {&gp.num_leaves, NULL}, NULL},
        {"max_bin", {&gp.max_bin, NULL}, NULL},
        {"lambda", {NULL, NULL}, &gp.lambda},
        {"min_child_weight", {NULL, NULL}, &gp.min_child_weight},
        {"subsample", {NULL, NULL}, &gp.subsample},
        {"colsample", {NULL, NULL}, &gp.colsample},
        {"threads", {&gp.threads, &fp.threads}, NULL},
        {"trees", {&fp.trees, NULL}, NULL},
        {"min_samples_leaf", {&fp.min_samples_leaf, NULL}, NULL},
        {"max_features", {NULL, NULL}, &fp.max_features},
    };
    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL)
            continue;
        *eq = 0;
        const char *k = argv[i], *v = eq + 1;
        if (!strcmp(k, "model"))
            rf = !strcmp(v, "rf");
        else if (!strcmp(k, "objective"))
            gp.objective = !strcmp(v, "binary")       ? GBDT_BINARY
                           : !strcmp(v, "multiclass") ? GBDT_MULTICLASS
                                                      : GBDT_REGRESSION;
        else if (!strcmp(k, "seed"))
            gp.seed = fp.seed = (unsigned)atoi(v);
        for (size_t s = 0; s < sizeof settings / sizeof settings[0]; s++) {
            if (strcmp(k, settings[s].key) != 0)
                continue;
            for (int t = 0; t < 2; t++)
                if (settings[s].i[t] != NULL)
                    *settings[s].i[t] = atoi(v);
            if (settings[s].d != NULL)
                *settings[s].d = atof(v);
        }
    }
    int K = gp.objective == GBDT_MULTICLASS ? gp.num_class : gp.objective == GBDT_BINARY ? 2 : 1;
    fp.classification = gp.objective != GBDT_REGRESSION;
    if (fp.classification)
        fp.num_class = K;
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct gbdt *g = NULL;
    struct forest *f = NULL;
    uint64_t t0 = time_mono_ns();
    int rv = rf ? forest_train(&tr, ytr, NULL, &fp, NULL, NULL, &f, &err)
                : gbdt_train(&tr, ytr, NULL, NULL, NULL, &gp, NULL, NULL, &g, &err);
    uint64_t t1 = time_mono_ns();
    if (rv != 0) {
        fprintf(stderr, "training failed: %s\n", err.message);
        return 1;
    }
    double *out = malloc(te.nrows * (size_t)K * sizeof *out);
    /* predict throughput over the test rows on the same threads, repeated until at least
     * 0.5 s has passed (the pool is started beforehand, as XGBoost's threads are) */
    struct pool *pool = NULL;
    if (pool_create(gp.threads > 0 ? gp.threads : 0, &pool) != 0)
        return 1;
    uint64_t p0 = time_mono_ns(), p1;
    size_t reps = 0;
    do {
        rv = rf ? forest_predict_pool(f, &te, pool, out) : gbdt_predict_pool(g, &te, pool, out);
        reps++;
        p1 = time_mono_ns();
    } while (rv == 0 && p1 - p0 < 500000000ull);
    double metric = NAN;
    const char *mname = "rmse";
    if (K == 2) {
        double *s = malloc(te.nrows * sizeof *s);
        uint8_t *yb = malloc(te.nrows);
        for (size_t r = 0; r < te.nrows; r++) {
            s[r] = out[2 * r + 1];
            yb[r] = yte[r] > 0.5;
        }
        stats_roc_auc(s, yb, te.nrows, &metric);
        mname = "auc";
        free(s);
        free(yb);
    } else if (K > 2) {
        size_t right = 0;
        for (size_t r = 0; r < te.nrows; r++) {
            size_t am = 0;
            for (size_t k = 1; k < (size_t)K; k++)
                if (out[r * (size_t)K + k] > out[r * (size_t)K + am])
                    am = k;
            right += am == (size_t)yte[r];
        }
        metric = (double)right / (double)te.nrows;
        mname = "accuracy";
    } else {
        double se = 0;
        for (size_t r = 0; r < te.nrows; r++)
            se += (out[r] - yte[r]) * (out[r] - yte[r]);
        metric = sqrt(se / (double)te.nrows);
    }
    double ps = (double)(p1 - p0) / 1e9 / (double)reps;
    printf("{\"impl\": \"aiops\", \"train_s\": %.4f, \"predict_s\": %.5f, "
           "\"predict_rows_per_s\": %.0f, \"%s\": %.6f, \"iterations\": %zu}\n",
           (double)(t1 - t0) / 1e9, ps, (double)te.nrows / ps, mname, metric,
           rf ? forest_num_trees(f) : gbdt_iterations(g));
    pool_free(pool);
    gbdt_free(g);
    forest_free(f);
    free(out);
    return 0;
}
