/* testdata.h -- where the unit tests find the shared public datasets, and the skip of a test
 * whose dataset is missing. */
#ifndef AIOPS_TESTDATA_H
#define AIOPS_TESTDATA_H

#include <stdlib.h>
#include <sys/stat.h>

#include "unit.h"

/* $AIOPS_DATA_DIR when set (and only it), else ../shared/data beside the repository (tests
 * run from its root), else /work/shared/data; NULL when that directory does not exist. */
static inline const char *test_data_dir(void)
{
    const char *env = getenv("AIOPS_DATA_DIR");
    const char *cands[] = {env, "../shared/data", "/work/shared/data"};
    size_t n = env != NULL && env[0] != '\0' ? 1 : sizeof cands / sizeof cands[0];
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (cands[i] != NULL && stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode))
            return cands[i];
    }
    return NULL;
}

/* The data directory, or NULL after marking the running test skipped (UNIT_SKIP). */
static inline const char *test_data_dir_or_skip(void)
{
    const char *d = test_data_dir();
    const char *env = getenv("AIOPS_DATA_DIR");
    if (d == NULL && env != NULL && env[0] != '\0')
        UNIT_SKIP("no shared datasets: AIOPS_DATA_DIR=%s is not a directory", env);
    else if (d == NULL)
        UNIT_SKIP("no shared datasets: set AIOPS_DATA_DIR or place them in ../shared/data");
    return d;
}

/* The path of rel (e.g. "uci_adult/adult_train.csv") under the data directory, in one of a
 * few rotating buffers; NULL after marking the running test skipped when the directory or
 * the file is missing. */
static inline const char *test_data_file(const char *rel)
{
    static char bufs[8][1024];
    static unsigned next;
    const char *d = test_data_dir_or_skip();
    if (d == NULL)
        return NULL;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", d, rel);
    struct stat st;
    if (stat(b, &st) != 0) {
        UNIT_SKIP("no %s in the shared datasets (%s)", rel, d);
        return NULL;
    }
    return b;
}

#endif
