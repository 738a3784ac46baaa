/* libFuzzer target for the tree models' loaders (lib/algo/gbdt.c gbdt_load, lib/algo/forest.c
 * forest_load, lib/algo/tree.c tree_read).
 *
 * Input: one control byte, then the model bytes. Control bit 0 picks the loader (0: gbdt,
 * 1: forest); bit 1 re-seals the trailing CRC-32C so that the checks behind the checksum are
 * explored too. Any result but a crash or an out-of-bounds read is fine; a model that loads
 * must predict a few rows (made from the input, with NaN, infinities, huge and fractional
 * category codes) without crashing, and save to bytes that load again and save the same. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "core/bytes.h"
#include "core/err.h"
#include "data/colstore.h"
#include "fuzz.h"

#define ROWS 8

static void reseal(uint8_t *p, size_t len)
{
    if (len < 4)
        return;
    uint32_t crc = crc32c(0, p, len - 4);
    for (int i = 0; i < 4; i++)
        p[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

/* A matrix of ROWS rows for nfeat features with values drawn from the input bytes. */
static int make_rows(struct fmatrix *m, size_t nfeat, const uint8_t *data, size_t size)
{
    static const double special[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e300, -1e300,
                                     0.5, 1.0, 2.0, 3.0, 31.0, 32.0, 4294967296.0, -1.0};
    if (nfeat > 4096)
        return -1;
    fuzz_matrix(m, ROWS, nfeat);
    for (size_t i = 0; i < nfeat * ROWS; i++) {
        uint8_t b = size ? data[i % size] : 0;
        m->x[i] = b < 0x80 ? special[b % (sizeof special / sizeof special[0])]
                           : (double)(b - 0x80) / 7.0 - 3.0;
    }
    return 0;
}

static void check_gbdt(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    struct gbdt *g = NULL;
    if (gbdt_load(p, n, &g) != 0) {
        if (g != NULL)
            abort();
        return;
    }
    struct fmatrix m;
    if (make_rows(&m, gbdt_num_features(g), data, size) == 0) {
        size_t k = gbdt_outputs(g);
        double *out = malloc(ROWS * k * sizeof *out);
        if (out == NULL || gbdt_predict(g, &m, out) != 0)
            abort();
        free(out);
        double *imp = malloc(gbdt_num_features(g) * sizeof *imp);
        if (imp == NULL || gbdt_importance(g, 1, imp) != 0)
            abort();
        free(imp);
        fmatrix_free(&m);
    }
    struct buf b1 = BUF_INIT, b2 = BUF_INIT;
    struct gbdt *h = NULL;
    if (gbdt_save(g, &b1) != 0 || gbdt_load((const uint8_t *)b1.data, b1.len, &h) != 0 ||
        gbdt_save(h, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort();
    gbdt_free(h);
    gbdt_free(g);
    buf_free(&b1);
    buf_free(&b2);
}

static void check_forest(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
    struct forest *f = NULL;
    if (forest_load(p, n, &f) != 0) {
        if (f != NULL)
            abort();
        return;
    }
    struct fmatrix m;
    if (make_rows(&m, forest_num_features(f), data, size) == 0) {
        size_t k = forest_outputs(f);
        double *out = malloc(ROWS * k * sizeof *out);
        if (out == NULL || forest_predict(f, &m, out) != 0)
            abort();
        free(out);
        double *imp = malloc(forest_num_features(f) * sizeof *imp);
        if (imp == NULL || forest_importance(f, imp) != 0)
            abort();
        free(imp);
        fmatrix_free(&m);
    }
    struct buf b1 = BUF_INIT, b2 = BUF_INIT;
    struct forest *h = NULL;
    if (forest_save(f, &b1) != 0 || forest_load((const uint8_t *)b1.data, b1.len, &h) != 0 ||
        forest_save(h, &b2) != 0 || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort();
    forest_free(h);
    forest_free(f);
    buf_free(&b1);
    buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    memcpy(p, data + 1, n);
    if (ctl & 2)
        reseal(p, n);
    if (ctl & 1)
        check_forest(p, n, data, size);
    else
        check_gbdt(p, n, data, size);
    free(p);
    return 0;
}
