/* linear_bench.c -- times linear_train / linear_predict (logistic regression) on a dataset in
 * the benchmark's binary form (bench/linear_data.py writes it), so that CSV parsing is not
 * part of what is measured. Built and run by bench/linear_bench.sh.
 *
 *   linear_bench TRAIN.bin TEST.bin [l2=X] [max_iter=N] [tol=X] [progress=0|1]
 *
 * The binary form: see bench_data.h (the targets are class indices). Prints one JSON object:
 * train_s (wall; standardisation included), train_cpu_s (CPU time of all threads),
 * iterations, converged, predict_s, and auc / accuracy / logloss on TEST. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_data.h"

#include "algo/linear.h"
#include "core/err.h"
#include "core/time.h"
#include "ml/eval.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int quiet(void *arg, const struct train_progress *p)
{
    (void)arg;
    (void)p;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s TRAIN.bin TEST.bin [l2=X] [max_iter=N] [tol=X] [progress=0|1]\n",
                argv[0]);
        return 2;
    }
    struct linear_params p;
    linear_params_default(&p, LINEAR_LOGISTIC);
    int progress = 0;
    for (int i = 3; i < argc; i++) {
        const char *v = strchr(argv[i], '=');
        if (v == NULL)
            return 2;
        v++;
        if (strncmp(argv[i], "l2=", 3) == 0)
            p.l2 = atof(v);
        else if (strncmp(argv[i], "max_iter=", 9) == 0)
            p.max_iter = atoi(v);
        else if (strncmp(argv[i], "tol=", 4) == 0)
            p.tol = atof(v);
        else if (strncmp(argv[i], "progress=", 9) == 0)
            progress = atoi(v);
        else
            return 2;
    }
    struct fmatrix tr, te;
    double *ytr, *yte;
    if (bench_load(argv[1], &tr, &ytr) != 0 || bench_load(argv[2], &te, &yte) != 0) {
        fprintf(stderr, "cannot read the inputs\n");
        return 1;
    }
    struct aiops_error err = AIOPS_ERROR_INIT;
    struct linear *m = NULL;
    double c0 = cpu_now();
    uint64_t t0 = time_mono_ns();
    int rc = linear_train(&tr, ytr, NULL, &p, progress ? quiet : NULL, NULL, &m, &err);
    uint64_t t1 = time_mono_ns();
    double c1 = cpu_now();
    if (rc != 0) {
        fprintf(stderr, "train: %s: %s\n", aiops_strerror(rc), err.message);
        return 1;
    }
    double *prob = malloc(te.nrows * 2 * sizeof *prob);
    uint64_t t2 = time_mono_ns();
    rc = linear_predict(m, &te, prob);
    uint64_t t3 = time_mono_ns();
    int iters = 0, conv = 0;
    linear_fit_info(m, &iters, &conv);
    printf("{\"train_s\": %.3f, \"train_cpu_s\": %.3f, \"iterations\": %d, \"converged\": %d, "
           "\"predict_s\": %.4f, "
           "\"auc\": %.6f, \"accuracy\": %.6f, \"logloss\": %.6f}\n",
           (double)(t1 - t0) / 1e9, c1 - c0, iters, conv, (double)(t3 - t2) / 1e9,
           eval_auc(yte, prob, te.nrows, 2), eval_accuracy(yte, prob, te.nrows, 2),
           eval_logloss(yte, prob, te.nrows, 2));
    linear_free(m);
    free(prob);
    fmatrix_free(&tr);
    fmatrix_free(&te);
    free(ytr);
    free(yte);
    return rc == 0 ? 0 : 1;
}
