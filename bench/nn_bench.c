/* nn_bench.c -- our side of bench/nn_bench.sh: trains lib/algo/nn.h's network on the raw
 * inputs bench/nn_data.py wrote and prints one JSON line with the seconds of each epoch
 * (taken at the per-epoch progress calls; the first includes the preprocessing, a pass over
 * the columns), the process CPU seconds of each, and the training AUC after the last epoch.
 *
 *   nn_bench DIR KIND LSTM HIDDEN DROPOUT BATCH EPOCHS THREADS */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algo/nn.h"
#include "math/stats.h"

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU seconds of every thread of the process: on a shared, loaded machine the wall time
 * says more about the neighbours than about the code */
static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

struct timing {
    double last, last_cpu, secs[1000], cpu[1000];
    int n;
};

static int on_epoch(void *arg, const struct train_progress *p)
{
    struct timing *t = arg;
    if (p->iteration < 0 || t->n >= 1000)
        return 0;
    double x = now(), c = cpu_now();
    t->secs[t->n] = x - t->last;
    t->cpu[t->n++] = c - t->last_cpu;
    t->last = x;
    t->last_cpu = c;
    return 0;
}

static double *read_f64(const char *dir, const char *name, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    double *v = malloc(n * sizeof *v);
    if (f == NULL || v == NULL || fread(v, sizeof *v, n, f) != n) {
        fprintf(stderr, "nn_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: nn_bench DIR KIND LSTM HIDDEN DROPOUT BATCH EPOCHS THREADS\n");
        return 2;
    }
    const char *dir = argv[1], *kind = argv[2];
    char name[256];
    snprintf(name, sizeof name, "%s/%s.shape", dir, kind);
    FILE *f = fopen(name, "r");
    size_t n = 0, d = 0;
    if (f == NULL || fscanf(f, "%zu %zu", &n, &d) != 2) {
        fprintf(stderr, "nn_bench: cannot read %s\n", name);
        return 1;
    }
    fclose(f);
    struct fmatrix x;
    memset(&x, 0, sizeof x);
    snprintf(name, sizeof name, "%s_x.bin", kind);
    x.x = read_f64(dir, name, n * d);
    x.nrows = n;
    x.ncols = d;
    x.is_cat = calloc(d, 1);
    x.ncat = calloc(d, sizeof *x.ncat);
    snprintf(name, sizeof name, "%s_y.bin", kind);
    double *y = read_f64(dir, name, n);

    struct nn_params p;
    nn_params_default(&p, NN_BINARY);
    p.lstm_hidden = atoi(argv[3]);
    p.nhidden = 0;
    for (char *s = argv[4]; *s && p.nhidden < NN_MAX_LAYERS;) {
        p.hidden[p.nhidden++] = (int)strtol(s, &s, 10);
        s += *s == ',';
    }
    p.dropout = atof(argv[5]);
    p.batch_size = atoi(argv[6]);
    p.epochs = atoi(argv[7]);
    p.threads = atoi(argv[8]);
    struct timing t = {.last = now(), .last_cpu = cpu_now()};
    struct nn *m = NULL;
    int epochs = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = nn_train(&x, y, NULL, NULL, NULL, &p, on_epoch, &t, NULL, &m, &epochs, &err);
    if (rv != 0) {
        fprintf(stderr, "nn_bench: training failed: %s %s\n", aiops_strerror(rv), err.message);
        return 1;
    }
    double *out = malloc(2 * n * sizeof *out), *score = malloc(n * sizeof *score), auc = NAN;
    uint8_t *lab = malloc(n);
    nn_predict(m, &x, out);
    for (size_t i = 0; i < n; i++) {
        score[i] = out[2 * i + 1];
        lab[i] = y[i] == 1;
    }
    stats_roc_auc(score, lab, n, &auc);
    printf("{\"side\": \"ours\", \"epoch_seconds\": [");
    for (int i = 0; i < t.n; i++)
        printf("%s%.4f", i ? ", " : "", t.secs[i]);
    printf("], \"epoch_cpu_seconds\": [");
    for (int i = 0; i < t.n; i++)
        printf("%s%.4f", i ? ", " : "", t.cpu[i]);
    printf("], \"train_auc\": %.6f}\n", auc);
    nn_free(m);
    free(out);
    free(score);
    free(lab);
    free(y);
    free(x.x);
    free(x.is_cat);
    free(x.ncat);
    return 0;
}
