/* SHAP values of rows for the service: exact TreeSHAP for tree models, Kernel SHAP for the
 * rest (lib/ml/treeshap.h, lib/ml/kernelshap.h). */
#include <stdlib.h>
#include <string.h>

#include "explain_svc.h"
#include "ml/kernelshap.h"
#include "ml/treeshap.h"

void explain_values_free(struct explain_values *ev)
{
    free(ev->phi);
    memset(ev, 0, sizeof *ev);
}

int explain_shap_rows(const struct model *m, const struct fmatrix *x,
                      const struct fmatrix *background_rows, size_t max_kernel,
                      struct explain_values *out)
{
    memset(out, 0, sizeof *out);
    const size_t d = m->features.n;
    const int exact = treeshap_supports(m);
    out->nout = exact ? treeshap_model_outputs(m) : model_outputs(m);
    out->nrows = exact || x->nrows < max_kernel ? x->nrows : max_kernel;
    out->method = exact ? "tree" : "kernel";
    out->kshown = out->nout;
    if (m->target.task == TASK_BINARY && out->nout == 2) {
        out->k0 = 1;
        out->kshown = 1;
    }
    out->phi = malloc((out->nrows ? out->nrows : 1) * out->nout * (d + 1) * sizeof *out->phi);
    if (out->phi == NULL)
        return AIOPS_ENOMEM;
    int rv;
    if (exact) {
        size_t got;
        rv = treeshap_model(m, x, 0, out->phi, &got);
    } else {
        struct kshap_background bg = {0};
        double *row = malloc(d * sizeof *row);
        rv = row ? kshap_background_kmeans(background_rows, KSHAP_DEFAULT_BACKGROUND, 0, &bg)
                 : AIOPS_ENOMEM;
        for (size_t r = 0; rv == 0 && r < out->nrows; r++) {
            for (size_t j = 0; j < d; j++)
                row[j] = x->x[j * x->nrows + r];
            rv = kshap_explain(m, &bg, row, 0, r, 0, out->phi + r * out->nout * (d + 1));
        }
        kshap_background_free(&bg);
        free(row);
    }
    if (rv != 0)
        explain_values_free(out);
    return rv;
}

void explain_sort_desc(json_t *list, const char *key)
{
    /* an insertion sort: lists are a model's features (qsort has no context argument in
     * C11, and a static key would race between the service's workers) */
    size_t n = json_array_size(list);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (items == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_incref(json_array_get(list, i));
        double v = json_number_value(json_object_get(it, key));
        size_t j = i;
        while (j > 0 && json_number_value(json_object_get(items[j - 1], key)) < v) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = it;
    }
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, items[i]);
    free(items);
}
