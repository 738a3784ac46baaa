/* libFuzzer target for lib/ml/model.c (and through it the feature set, gbdt, forest and linear
 * loaders).
 *
 * Input: one flag byte, then a model file. Flag bit 0 reseals the file's CRC-32C before
 * loading, so that the checks behind the checksum -- section table, feature set, each
 * algorithm's own bytes -- are explored too. Any refusal is fine; a crash, a leak or a read
 * out of bounds is not. A model that loads must save again to bytes that load to a model
 * that saves to the same bytes, and must predict a few rows (with missing values and an
 * unseen category code) with finite probabilities that sum to one. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "data/colstore.h"
#include "fuzz.h"
#include "ml/model.h"

static void reseal(uint8_t *p, size_t len)
{
    if (len < 20)
        return;
    uint32_t crc = crc32c(0, p + 20, len - 20);
    for (int i = 0; i < 4; i++)
        p[16 + i] = (uint8_t)(crc >> (8 * i));
}

static void check_predict(const struct model *m)
{
    enum { ROWS = 4 };
    size_t nf = m->features.n;
    struct fmatrix x;
    fuzz_matrix(&x, ROWS, nf);
    size_t k = model_outputs(m);
    double *out = calloc(ROWS * k + 1, sizeof *out);
    if (out == NULL)
        abort();
    for (size_t j = 0; j < nf; j++) {
        int cat = m->features.f[j].kind == FEAT_CATEGORICAL;
        x.is_cat[j] = (uint8_t)cat;
        x.ncat[j] = cat ? m->features.f[j].cats.count : 0;
        double *col = x.x + j * ROWS;
        col[0] = NAN;               /* missing */
        col[1] = cat ? 0 : -1e300;  /* extreme */
        col[2] = cat ? NAN : 1e300; /* unseen category reads as missing */
        col[3] = cat ? (double)(x.ncat[j] ? x.ncat[j] - 1 : 0) : 0.5;
    }
    if (model_predict(m, &x, out) == 0 && m->target.task != TASK_REGRESSION)
        fuzz_check_distributions(out, ROWS, k, 1e-6);
    free(out);
    fmatrix_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    uint8_t *p = malloc(size);
    if (p == NULL)
        return 0;
    memcpy(p, data + 1, size - 1);
    if (data[0] & 1)
        reseal(p, size - 1);
    struct model *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (model_load(p, size - 1, &m, &err) == 0) {
        struct buf a = {0}, b = {0};
        struct model *m2 = NULL;
        if (model_save(m, &a) != 0 || model_load(a.data, a.len, &m2, &err) != 0 ||
            model_save(m2, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            abort();
        check_predict(m);
        model_free(m2);
        model_free(m);
        buf_free(&a);
        buf_free(&b);
    }
    free(p);
    return 0;
}
