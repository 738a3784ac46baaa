/* libFuzzer target for lib/ml/xgbimport.c: any bytes as an XGBoost JSON model. Any refusal
 * is fine; a crash, a leak or a read out of bounds is not. A model that imports must
 * predict a few rows (missing values and thresholds' neighbours included) with
 * probabilities that sum to one, and TreeSHAP's values of those rows must sum to its
 * margins. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "algo/gbdt.h"
#include "core/err.h"
#include "fuzz.h"
#include "ml/model.h"
#include "ml/treeshap.h"
#include "ml/xgbimport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (xgb_import((const char *)data, size, &m, &err) != 0) {
        if (m != NULL)
            abort();
        return 0;
    }
    enum { ROWS = 4 };
    const size_t nf = m->features.n, k = model_outputs(m), g = treeshap_model_outputs(m);
    struct fmatrix x;
    fuzz_matrix(&x, ROWS, nf);
    for (size_t j = 0; j < nf; j++) {
        x.x[j * ROWS + 0] = NAN;
        x.x[j * ROWS + 1] = -1.5;
        x.x[j * ROWS + 2] = 0.5;
        x.x[j * ROWS + 3] = 1e6;
    }
    double *prob = calloc(ROWS * k + 1, sizeof *prob),
           *margin = calloc(ROWS * g + 1, sizeof *margin);
    double *phi = calloc(ROWS * g * (nf + 1) + 1, sizeof *phi);
    size_t got = 0;
    if (prob == NULL || margin == NULL || phi == NULL || model_predict(m, &x, prob) != 0 ||
        gbdt_predict_margin(m->algo, &x, margin) != 0 || treeshap_model(m, &x, 1, phi, &got) != 0)
        abort();
    if (m->target.task != TASK_REGRESSION)
        fuzz_check_distributions(prob, ROWS, k, 1e-9);
    for (size_t r = 0; r < ROWS; r++)
        for (size_t o = 0; o < g; o++) {
            double s = 0;
            for (size_t j = 0; j <= nf; j++)
                s += phi[(r * g + o) * (nf + 1) + j];
            const double want = margin[r * g + o];
            if (isfinite(want) && !(fabs(s - want) <= 1e-6 * (1 + fabs(want))))
                abort();
        }
    free(prob);
    free(margin);
    free(phi);
    fmatrix_free(&x);
    model_free(m);
    return 0;
}
