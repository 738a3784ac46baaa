/* kmeans_bench.c -- times kmeans_fit on a raw little-endian float64 matrix written by
 * bench/kmeans_bench.py (ROWS x COLS, row-major) and prints one JSON line: seconds,
 * inertia, iterations.
 *
 *   kmeans_bench FILE ROWS COLS K N_INIT THREADS SEED */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "algo/kmeans.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: kmeans_bench FILE ROWS COLS K N_INIT THREADS SEED\n");
        return 2;
    }
    size_t n = strtoul(argv[2], NULL, 10), d = strtoul(argv[3], NULL, 10);
    struct kmeans_params p = {.k = strtoul(argv[4], NULL, 10),
                              .n_init = atoi(argv[5]),
                              .max_iter = 300,
                              .tol = 1e-4,
                              .seed = strtoull(argv[7], NULL, 10),
                              .threads = atoi(argv[6])};
    double *x = malloc(n * d * sizeof *x), *c = malloc(p.k * d * sizeof *c), inertia = 0;
    FILE *f = fopen(argv[1], "rb");
    if (x == NULL || c == NULL || f == NULL || fread(x, sizeof *x, n * d, f) != n * d) {
        fprintf(stderr, "kmeans_bench: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    int it = 0;
    double t0 = now();
    int rv = kmeans_fit(x, n, d, &p, NULL, NULL, c, NULL, &inertia, &it, NULL);
    double t1 = now();
    if (rv != 0) {
        fprintf(stderr, "kmeans_bench: kmeans_fit failed (%d)\n", rv);
        return 1;
    }
    printf("{\"seconds\": %.4f, \"inertia\": %.6f, \"iterations\": %d}\n", t1 - t0, inertia, it);
    free(x);
    free(c);
    return 0;
}
