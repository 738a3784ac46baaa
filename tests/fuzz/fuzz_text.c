/* libFuzzer target for lib/text/: the normaliser and the term generator on any bytes.
 *
 * Properties checked: invalid UTF-8 is refused with an offset inside the input and a valid
 * input's result is valid UTF-8; normalising twice changes nothing (idempotence: every rule
 * leaves text it would not change again); the result has no leading, trailing or double
 * space and no run of 3 equal non-digit code points; every term is inside the hash range;
 * a featurizer fitted on the input gives a unit-norm (or empty) vector with increasing
 * columns. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "core/err.h"
#include "text/featurize.h"
#include "text/normalize.h"

struct one_doc {
    const char *s;
    size_t n;
};

static const char *one_doc_at(void *ctx, size_t i, size_t *len)
{
    struct one_doc *d = ctx;
    (void)i;
    *len = d->n;
    return d->s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const char *s = (const char *)data;
    struct buf a = BUF_INIT, b = BUF_INIT;
    size_t bad = SIZE_MAX;
    int rv = text_normalize(s, size, &a, &bad);
    if (rv == AIOPS_EPARSE) {
        if (bad >= size || utf8_valid(s, size, NULL))
            abort();
        buf_free(&a);
        return 0;
    }
    if (rv != 0)
        abort();
    const char *out = a.data ? a.data : "";
    if (!utf8_valid(out, a.len, NULL))
        abort();
    if (a.len > 0 && (out[0] == ' ' || out[a.len - 1] == ' ' || strstr(out, "  ") != NULL))
        abort();
    if (text_normalize(out, a.len, &b, NULL) != 0 || b.len != a.len ||
        (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    /* no run of three equal non-digit code points */
    uint32_t prev = 0, run = 0;
    for (size_t i = 0; i < a.len;) {
        uint32_t cp;
        i += text_utf8_next(out + i, a.len - i, &cp);
        run = cp == prev ? run + 1 : 1;
        prev = cp;
        if (run > 2 && !(cp >= '0' && cp <= '9'))
            abort();
    }
    struct text_params p;
    text_params_default(&p);
    p.hash_bits = 12;
    p.min_df = 1;
    uint32_t *terms = NULL;
    size_t nterms = 0, cap = 0;
    if (text_terms(&p, out, a.len, &terms, &nterms, &cap) != 0)
        abort();
    for (size_t k = 0; k < nterms; k++)
        if (terms[k] >> p.hash_bits)
            abort();
    free(terms);
    struct one_doc d = {s, size};
    struct text_featurizer *f = NULL;
    struct aiops_error err = {0};
    if (text_featurizer_fit(&p, one_doc_at, &d, 1, &f, NULL, &err) != 0)
        abort();
    struct spmatrix m;
    if (text_featurizer_transform(f, one_doc_at, &d, 1, 1, &m, NULL) != 0)
        abort();
    double ss = 0;
    for (size_t k = m.rowptr[0]; k < m.rowptr[1]; k++) {
        if (k > m.rowptr[0] && m.col[k] <= m.col[k - 1])
            abort();
        ss += (double)m.val[k] * m.val[k];
    }
    if (m.rowptr[1] > 0 && fabs(ss - 1.0) > 1e-4)
        abort();
    spmatrix_free(&m);
    text_featurizer_free(f);
    buf_free(&a);
    buf_free(&b);
    return 0;
}
