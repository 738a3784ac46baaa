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

/* Defines check_algo(p, n, data, size) for a tree model of lib/algo: loads p; a model that
 * loads predicts rows made from data and computes its importances (IMPORTANCE: the call, of
 * model into imp), and saves to bytes that load again and save the same. */
#define CHECK_TREES(algo, IMPORTANCE)                                                          \
    static void check_##algo(const uint8_t *p, size_t n, const uint8_t *data, size_t size)     \
    {                                                                                          \
        struct algo *model = NULL;                                                             \
        if (algo##_load(p, n, &model) != 0) {                                                  \
            if (model != NULL)                                                                 \
                abort();                                                                       \
            return;                                                                            \
        }                                                                                      \
        struct fmatrix m;                                                                      \
        if (make_rows(&m, algo##_num_features(model), data, size) == 0) {                      \
            size_t k = algo##_outputs(model);                                                  \
            double *out = malloc(ROWS * k * sizeof *out);                                      \
            if (out == NULL || algo##_predict(model, &m, out) != 0)                            \
                abort();                                                                       \
            free(out);                                                                         \
            double *imp = malloc(algo##_num_features(model) * sizeof *imp);                    \
            if (imp == NULL || IMPORTANCE != 0)                                                \
                abort();                                                                       \
            free(imp);                                                                         \
            fmatrix_free(&m);                                                                  \
        }                                                                                      \
        struct buf b1 = BUF_INIT, b2 = BUF_INIT;                                               \
        struct algo *h = NULL;                                                                 \
        if (algo##_save(model, &b1) != 0 ||                                                    \
            algo##_load((const uint8_t *)b1.data, b1.len, &h) != 0 ||                          \
            algo##_save(h, &b2) != 0 || b1.len != b2.len ||                                    \
            memcmp(b1.data, b2.data, b1.len) != 0)                                             \
            abort();                                                                           \
        algo##_free(h);                                                                        \
        algo##_free(model);                                                                    \
        buf_free(&b1);                                                                         \
        buf_free(&b2);                                                                         \
    }

CHECK_TREES(gbdt, gbdt_importance(model, 1, imp))
CHECK_TREES(forest, forest_importance(model, imp))

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
