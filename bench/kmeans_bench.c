/* kmeans_bench.c -- times lib/algo/kmeans on a raw little-endian float64 matrix written by
 * bench/kmeans_bench.py (ROWS x COLS, row-major) and prints one JSON line: seconds,
 * inertia, iterations.
 *
 *   kmeans_bench fit FILE ROWS COLS K N_INIT THREADS SEED [bounded|plain]
 *       kmeans_fit: k-means++ (seeded) and Lloyd, n_init restarts
 *   kmeans_bench seeds FILE ROWS COLS K THREADS SEED OUT
 *       writes kmeans_plusplus's K x COLS centres to OUT (raw float64), for both sides of a
 *       comparison from the same start
 *   kmeans_bench from FILE ROWS COLS K THREADS CENTRES [bounded|plain]
 *       kmeans_fit_from: Lloyd alone from the centres in CENTRES
 *
 * bounded (the default) is kmeans_fit as shipped, plain the same without Hamerly's bounds
 * (plain_lloyd = 1): both must print the same inertia and iterations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "algo/kmeans.h"

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

/* CPU seconds of every thread of the process: the steadier figure on a shared machine. */
static double cpu_now(void)
{
    return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

static double *read_doubles(const char *path, size_t count)
{
    double *v = malloc(count * sizeof *v);
    FILE *f = fopen(path, "rb");
    if (v == NULL || f == NULL || fread(v, sizeof *v, count, f) != count) {
        fprintf(stderr, "kmeans_bench: cannot read %zu doubles from %s\n", count, path);
        exit(1);
    }
    fclose(f);
    return v;
}

static int plain_of(int argc, char **argv, int at)
{
    if (argc <= at || strcmp(argv[at], "bounded") == 0)
        return 0;
    if (strcmp(argv[at], "plain") == 0)
        return 1;
    fprintf(stderr, "kmeans_bench: %s is neither bounded nor plain\n", argv[at]);
    exit(2);
}

static int usage(void)
{
    fprintf(stderr, "usage: kmeans_bench fit FILE ROWS COLS K N_INIT THREADS SEED [bounded|plain]\n"
                    "       kmeans_bench seeds FILE ROWS COLS K THREADS SEED OUT\n"
                    "       kmeans_bench from FILE ROWS COLS K THREADS CENTRES [bounded|plain]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 8)
        return usage();
    const char *mode = argv[1];
    size_t n = strtoul(argv[3], NULL, 10), d = strtoul(argv[4], NULL, 10);
    struct kmeans_params p = {
        .k = strtoul(argv[5], NULL, 10), .n_init = 1, .max_iter = 300, .tol = 1e-4};
    double *x = read_doubles(argv[2], n * d), *c = malloc(p.k * d * sizeof *c), inertia = 0;
    int it = 0, rv;
    double t0 = now(), c0 = cpu_now();
    if (strcmp(mode, "fit") == 0 && argc >= 9) {
        p.n_init = atoi(argv[6]);
        p.threads = atoi(argv[7]);
        p.seed = strtoull(argv[8], NULL, 10);
        p.plain_lloyd = plain_of(argc, argv, 9);
        t0 = now(), c0 = cpu_now();
        rv = kmeans_fit(x, n, d, &p, NULL, NULL, c, NULL, &inertia, &it, NULL);
    } else if (strcmp(mode, "seeds") == 0 && argc == 9) {
        rv = kmeans_plusplus(x, n, d, p.k, strtoull(argv[7], NULL, 10), atoi(argv[6]), c);
        FILE *f = fopen(argv[8], "wb");
        if (rv == 0 && (f == NULL || fwrite(c, sizeof *c, p.k * d, f) != p.k * d))
            rv = -1;
        if (f != NULL && fclose(f) != 0)
            rv = -1;
        printf("{\"seconds\": %.4f, \"cpu_seconds\": %.4f}\n", now() - t0, cpu_now() - c0);
        return rv == 0 ? 0 : 1;
    } else if (strcmp(mode, "from") == 0) {
        p.threads = atoi(argv[6]);
        p.plain_lloyd = plain_of(argc, argv, 8);
        double *init = read_doubles(argv[7], p.k * d);
        t0 = now(), c0 = cpu_now();
        rv = kmeans_fit_from(x, n, d, &p, init, c, NULL, &inertia, &it, NULL);
        free(init);
    } else {
        return usage();
    }
    double t1 = now(), c1 = cpu_now();
    if (rv != 0) {
        fprintf(stderr, "kmeans_bench: %s failed (%d)\n", mode, rv);
        return 1;
    }
    printf("{\"seconds\": %.4f, \"cpu_seconds\": %.4f, \"inertia\": %.6f, \"iterations\": %d}\n",
           t1 - t0, c1 - c0, inertia, it);
    free(x);
    free(c);
    return 0;
}
