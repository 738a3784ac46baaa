/* libFuzzer target for lib/ml/instances.c: predict request bodies against a fixed feature set
 * (a categorical, a numeric and a boolean feature).
 *
 * Any refusal is fine; a crash, a leak or a read out of bounds is not. A body that is read
 * must be JSON that jansson accepts too (except integers too big for jansson's json_int_t),
 * give at least one row of the feature set's width, and hold only missing values or known
 * category codes in categorical columns. A refusal must say why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "data/ingest.h"
#include "ml/instances.h"

static struct feature_set fs;

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    const char *csv = "color,size,ok,label\nred,1,yes,0\nblue,2,no,1\ngreen,,yes,1\n";
    struct ingest_result r;
    if (ingest_csv(csv, strlen(csv), NULL, &r) != 0 ||
        features_fit(&r.table, table_find(&r.table, "label"), NULL, NULL, &fs, NULL) != 0)
        abort();
    ingest_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    setup();
    struct fmatrix x;
    struct aiops_error e;
    json_t *rows = NULL;
    int rv = instances_read(&fs, data, size, &x, &e, &rows);
    if (rv == 0) {
        if (x.nrows < 1 || x.ncols != fs.n || rows != NULL)
            abort();
        for (size_t j = 0; j < x.ncols; j++)
            for (size_t i = 0; i < x.nrows; i++) {
                double v = x.x[j * x.nrows + i];
                if (x.is_cat[j] && !isnan(v) && !(v >= 0 && v < x.ncat[j] && v == floor(v)))
                    abort();
            }
        fmatrix_free(&x);
        json_error_t e;
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
        if (j == NULL && strstr(e.text, "too big") == NULL)
            abort();
        json_decref(j);
    } else if (rv == AIOPS_EPARSE) {
        if (rows != NULL || e.message[0] == '\0' || e.offset < 0 || (size_t)e.offset > size ||
            e.line < 1 || e.column < 1)
            abort();
    } else if (rv == AIOPS_EINVAL) {
        if (strcmp(e.field, "instances") != 0 || e.message[0] == '\0' ||
            (rows != NULL &&
             (json_array_size(rows) < 1 || json_array_size(rows) > INSTANCES_MAX_ERRORS)))
            abort();
        json_decref(rows);
    } else if (rv != AIOPS_ENOMEM) {
        abort();
    }
    return 0;
}
