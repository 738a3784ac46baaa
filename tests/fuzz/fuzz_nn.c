/* libFuzzer target: bytes -> nn_load. A network that loads must save back to the same bytes
 * (the format is canonical) and predict on a small all-numeric matrix of its width: finite
 * outputs (probabilities summing to 1), or AIOPS_EINVAL when it has categorical inputs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo/nn.h"
#include "core/buf.h"
#include "core/err.h"
#include "data/fmatrix.h"
#include "fuzz.h"

FUZZ_LOAD_CANONICAL(nn)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nn *m = nn_load_canonical(data, size);
    if (m == NULL)
        return 0;
    size_t ncols = nn_num_features(m), nrows = 3, K = nn_outputs(m);
    if (ncols <= 4096 && nn_nparams(m) <= (1u << 16)) {
        struct fmatrix x;
        if (fmatrix_alloc(nrows, ncols, &x) == 0) {
            for (size_t i = 0; i < nrows * ncols; i++)
                x.x[i] = i % 3 == 0 ? NAN : (double)i * 0.25;
            double *out = malloc(nrows * K * sizeof *out);
            int rc = out ? nn_predict(m, &x, out) : AIOPS_ENOMEM;
            if (rc == 0 && K > 1)
                for (size_t r = 0; r < nrows; r++) {
                    double s = 0;
                    for (size_t k = 0; k < K; k++)
                        s += out[r * K + k];
                    if (!(fabs(s - 1) < 1e-6))
                        abort();
                }
            else if (rc != 0 && rc != AIOPS_EINVAL && rc != AIOPS_ENOMEM)
                abort();
            free(out);
            fmatrix_free(&x);
        }
    }
    nn_free(m);
    return 0;
}
