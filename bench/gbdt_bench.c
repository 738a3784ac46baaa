/* gbdt_bench.c -- times gbdt_train / gbdt_predict (or forest_train / forest_predict) on a
 * dataset in the benchmark's binary form (bench/gbdt_data.py writes it), so that CSV
 * parsing is not part of what is measured. Built and run by bench/gbdt_bench.sh.
 *
 *   gbdt_bench TRAIN.bin TEST.bin [key=value ...]
 *     model=gbdt|rf  objective=binary|multiclass|regression  num_class=K  rounds=N  eta=X
 *     max_depth=D  num_leaves=L  max_bin=B  lambda=X  min_child_weight=X  subsample=X
 *     colsample=X  threads=T  seed=S  trees=N  min_samples_leaf=N  max_features=X
 *
 * The binary form: int64 nrows, int64 ncols, int64 ncat[ncols] (0: numeric, else the
 * category count of a categorical column coded 0..ncat-1), ncols * nrows float64
 * column-major features (NaN = missing), nrows float64 targets.
 * Prints one JSON object: train_s, predict_s, predict_rows_per_s and the metric (auc,
 * accuracy or rmse) on TEST. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "core/pool.h"
#include "core/time.h"
#include "math/stats.h"

static int load(const char *path, struct fmatrix *m, double **y)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    int64_t hdr[2];
    if (fread(hdr, 8, 2, f) != 2 || hdr[0] <= 0 || hdr[1] <= 0) {
        fclose(f);
        return -1;
    }
    size_t n = (size_t)hdr[0], nc = (size_t)hdr[1];
    int64_t *ncat = malloc(nc * 8);
    m->nrows = n;
    m->ncols = nc;
    m->x = malloc(n * nc * sizeof *m->x);
    m->is_cat = calloc(nc, 1);
    m->ncat = calloc(nc, sizeof *m->ncat);
    *y = malloc(n * sizeof **y);
    if (ncat == NULL || m->x == NULL || *y == NULL || fread(ncat, 8, nc, f) != nc ||
        fread(m->x, 8, n * nc, f) != n * nc || fread(*y, 8, n, f) != n) {
        fclose(f);
        return -1;
    }
    for (size_t j = 0; j < nc; j++) {
        m->is_cat[j] = ncat[j] > 0;
        m->ncat[j] = (uint32_t)ncat[j];
    }
    free(ncat);
    fclose(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: gbdt_bench TRAIN.bin TEST.bin [key=value ...]\n");
        return 2;
    }
    struct fmatrix tr, te;
    double *ytr, *yte;
    if (load(argv[1], &tr, &ytr) != 0 || load(argv[2], &te, &yte) != 0) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    struct gbdt_params gp;
    memset(&gp, 0, sizeof gp);
    struct forest_params fp;
    memset(&fp, 0, sizeof fp);
    int rf = 0;
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
        else if (!strcmp(k, "num_class"))
            gp.num_class = fp.num_class = atoi(v);
        else if (!strcmp(k, "rounds"))
            gp.rounds = atoi(v);
        else if (!strcmp(k, "eta"))
            gp.learning_rate = atof(v);
        else if (!strcmp(k, "max_depth"))
            gp.max_depth = fp.max_depth = atoi(v);
        else if (!strcmp(k, "num_leaves"))
            gp.num_leaves = atoi(v);
        else if (!strcmp(k, "max_bin"))
            gp.max_bin = atoi(v);
        else if (!strcmp(k, "lambda"))
            gp.lambda = atof(v);
        else if (!strcmp(k, "min_child_weight"))
            gp.min_child_weight = atof(v);
        else if (!strcmp(k, "subsample"))
            gp.subsample = atof(v);
        else if (!strcmp(k, "colsample"))
            gp.colsample = atof(v);
        else if (!strcmp(k, "threads"))
            gp.threads = fp.threads = atoi(v);
        else if (!strcmp(k, "seed"))
            gp.seed = fp.seed = (unsigned)atoi(v);
        else if (!strcmp(k, "trees"))
            fp.trees = atoi(v);
        else if (!strcmp(k, "min_samples_leaf"))
            fp.min_samples_leaf = atoi(v);
        else if (!strcmp(k, "max_features"))
            fp.max_features = atof(v);
    }
    int K = gp.objective == GBDT_MULTICLASS ? gp.num_class : gp.objective == GBDT_BINARY ? 2 : 1;
    fp.classification = gp.objective != GBDT_REGRESSION;
    if (fp.classification)
        fp.num_class = K;
    char err[256];
    struct gbdt *g = NULL;
    struct forest *f = NULL;
    uint64_t t0 = time_mono_ns();
    int rv = rf ? forest_train(&tr, ytr, NULL, &fp, NULL, NULL, &f, err, sizeof err)
                : gbdt_train(&tr, ytr, NULL, NULL, NULL, &gp, NULL, NULL, &g, err, sizeof err);
    uint64_t t1 = time_mono_ns();
    if (rv != 0) {
        fprintf(stderr, "training failed: %s\n", err);
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
