/* libFuzzer target: bytes -> linear_load. A model that loads must save back to the same
 * bytes (the format is canonical), predict on a small matrix of its shape (probabilities
 * finite and summing to 1), and list its coefficients when it is small enough. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "algo/linear.h"
#include "core/buf.h"
#include "core/err.h"
#include "fuzz.h"

FUZZ_LOAD_CANONICAL(linear)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct linear *m = linear_load_canonical(data, size);
    if (m == NULL)
        return 0;

    /* the model's shape, read back from its own header: ncols columns of 21 bytes each */
    uint32_t ncols;
    memcpy(&ncols, data + 16, 4);
    const uint8_t *col = data + 40;
    size_t nrows = 3, K = linear_outputs(m);
    if (ncols <= 4096) {
        struct fmatrix x;
        fuzz_matrix(&x, nrows, ncols);
        double *out = malloc(nrows * K * sizeof *out);
        if (out == NULL)
            abort();
        for (uint32_t j = 0; j < ncols; j++) {
            x.is_cat[j] = col[21 * j];
            memcpy(&x.ncat[j], col + 21 * j + 1, 4);
            /* a present value, a missing one, and an out-of-range code / huge number */
            x.x[j * nrows] = x.is_cat[j] ? 0 : 1.5;
            x.x[j * nrows + 1] = NAN;
            x.x[j * nrows + 2] = x.is_cat[j] ? 1e9 : -1e300;
        }
        if (linear_predict(m, &x, out) != 0)
            abort();
        if (linear_get_kind(m) != LINEAR_REGRESSION)
            fuzz_check_distributions(out, nrows, K, 1e-9);
        fmatrix_free(&x);
        free(out);
    }
    if (size < 65536) {
        json_t *j = NULL;
        if (linear_coefficients(m, NULL, NULL, &j) != 0)
            abort();
        json_decref(j);
    }
    linear_free(m);
    return 0;
}
