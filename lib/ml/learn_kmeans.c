/* learn_kmeans.c -- k-means customer segments (lib/algo/kmeans.h) as a learner. The model
 * carries its own preprocessing, so served profiles are measured exactly as the training
 * rows were: numeric features standardised with the training mean and population standard
 * deviation (scikit-learn's StandardScaler; a missing value sits at the mean), categorical
 * features one-hot (a missing or unseen category is all zeros). k is given, or "auto": the
 * k of 2..10 with the best silhouette on a seeded sample of the rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo/kmeans.h"
#include "core/array.h"
#include "core/bytes.h"
#include "core/rand.h"
#include "ml/eval.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def kmeans_params[] = {
    {.name = "k", .type = PARAM_INT, .min = 0, .max = KMEANS_MAX_K, .def = 8, .auto_zero = 1,
     .aliases = PARAM_LIST("n_clusters"),
     .help = "clusters; \"auto\" (or 0): the k of 2..10 with the best silhouette on a sample"},
    {.name = "n_init", .type = PARAM_INT, .min = 1, .max = 100, .def = 1,
     .help = "k-means++ restarts; the one with the lowest inertia is kept"},
    {.name = "max_iter", .type = PARAM_INT, .min = 1, .max = 100000, .def = 300,
     .aliases = PARAM_LIST("epochs"), .help = "Lloyd iterations per restart at most"},
    {.name = "tol", .type = PARAM_NUMBER, .min = 0, .max = 1, .def = 1e-4,
     .help = "stop when the centres move less (relative to the mean feature variance)"},
};
/* clang-format on */

/* The sample k=auto scores candidates on, and the candidates. */
#define AUTO_SAMPLE 2000
#define AUTO_K_MIN 2
#define AUTO_K_MAX 10

struct kmodel {
    size_t ninputs; /* feature columns read */
    size_t dim;     /* the space distances are measured in */
    size_t k;
    uint32_t *ncat;       /* ninputs: categories of a one-hot input, 0 for a numeric one */
    double *mean, *scale; /* ninputs: numeric inputs' standardisation */
    size_t *offset;       /* ninputs: first dimension of each input */
    double *centers;      /* k * dim */
};

static void kmodel_free(struct kmodel *m)
{
    if (m == NULL)
        return;
    free(m->ncat);
    free(m->mean);
    free(m->scale);
    free(m->offset);
    free(m->centers);
    free(m);
}

static struct kmodel *kmodel_new(size_t ninputs)
{
    struct kmodel *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    size_t n = ninputs ? ninputs : 1;
    m->ninputs = ninputs;
    m->ncat = calloc(n, sizeof *m->ncat);
    m->mean = calloc(n, sizeof *m->mean);
    m->scale = calloc(n, sizeof *m->scale);
    m->offset = calloc(n, sizeof *m->offset);
    if (!m->ncat || !m->mean || !m->scale || !m->offset) {
        kmodel_free(m);
        return NULL;
    }
    return m;
}

/* Offsets from the inputs' widths; 0 when the space would be too wide to be sensible. */
static size_t layout(struct kmodel *m)
{
    size_t dim = 0;
    for (size_t j = 0; j < m->ninputs; j++) {
        m->offset[j] = dim;
        dim += m->ncat[j] > 0 ? m->ncat[j] : 1;
        if (dim > 100000)
            return 0;
    }
    return dim;
}

/* Rows rows[0..n) of x (all rows when rows is NULL) in the model's space: out[n * dim]. */
static void transform(const struct kmodel *m, const struct fmatrix *x, const size_t *rows, size_t n,
                      double *out)
{
    memset(out, 0, n * m->dim * sizeof *out);
    for (size_t j = 0; j < m->ninputs; j++) {
        const double *col = x->x + j * x->nrows;
        size_t off = m->offset[j];
        for (size_t i = 0; i < n; i++) {
            double v = col[rows ? rows[i] : i];
            double *o = out + i * m->dim + off;
            if (m->ncat[j] > 0) {
                if (v >= 0 && v < (double)m->ncat[j])
                    o[(size_t)v] = 1;
            } else {
                *o = isnan(v) ? 0 : (v - m->mean[j]) / m->scale[j];
            }
        }
    }
}

/* The training columns' statistics: population mean and deviation (1 when constant). */
static void fit_scaling(struct kmodel *m, const struct fmatrix *x)
{
    for (size_t j = 0; j < m->ninputs; j++) {
        m->ncat[j] = x->is_cat[j] ? x->ncat[j] : 0;
        m->scale[j] = 1; /* one-hot columns are not scaled (and the file wants scale > 0) */
        if (m->ncat[j] > 0)
            continue;
        const double *col = x->x + j * x->nrows;
        double s = 0, ss = 0, cnt = 0;
        for (size_t i = 0; i < x->nrows; i++)
            if (!isnan(col[i]))
                s += col[i], cnt++;
        double mean = cnt > 0 ? s / cnt : 0;
        for (size_t i = 0; i < x->nrows; i++)
            if (!isnan(col[i]))
                ss += (col[i] - mean) * (col[i] - mean);
        double sd = cnt > 0 ? sqrt(ss / cnt) : 0;
        m->mean[j] = mean;
        m->scale[j] = sd > 0 && isfinite(sd) ? sd : 1;
    }
}

/* k=auto: the k of 2..10 whose clustering of a seeded sample has the best silhouette. */
static int choose_k(const double *z, size_t n, size_t dim, const struct kmeans_params *base,
                    size_t *k, struct aiops_error *err)
{
    size_t ns = n < AUTO_SAMPLE ? n : AUTO_SAMPLE;
    double *sample = malloc(ns * dim * sizeof *sample);
    int32_t *labels = malloc(ns * sizeof *labels);
    double *centers = malloc(AUTO_K_MAX * dim * sizeof *centers);
    size_t *pick = malloc(n * sizeof *pick);
    int rv = sample && labels && centers && pick ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        /* a partial Fisher-Yates shuffle: the first ns of a seeded permutation */
        struct rand_xoshiro rng;
        rand_xoshiro_seed(&rng, base->seed ^ 0x5eed5eedull);
        for (size_t i = 0; i < n; i++)
            pick[i] = i;
        for (size_t i = 0; i < ns; i++) {
            size_t r = i + (size_t)rand_xoshiro_below(&rng, n - i);
            size_t t = pick[i];
            pick[i] = pick[r], pick[r] = t;
            memcpy(sample + i * dim, z + pick[i] * dim, dim * sizeof *sample);
        }
    }
    double best = -INFINITY;
    *k = AUTO_K_MIN;
    for (size_t c = AUTO_K_MIN; rv == 0 && c <= AUTO_K_MAX && c < ns; c++) {
        struct kmeans_params p = *base;
        p.k = c;
        double inertia;
        int it;
        rv = kmeans_fit(sample, ns, dim, &p, NULL, NULL, centers, labels, &inertia, &it, err);
        double s = rv == 0 ? eval_silhouette(sample, ns, dim, labels, c) : NAN;
        if (s > best)
            best = s, *k = c;
    }
    if (rv == 0 && ns <= AUTO_K_MIN)
        rv = aiops_error_set(err, AIOPS_EINVAL, "k", "k=auto needs at least %d rows",
                             AUTO_K_MIN + 1);
    free(sample), free(labels), free(centers), free(pick);
    return rv;
}

static int kmeans_learn(const struct learner_input *in, void **algo, int *iterations,
                        struct aiops_error *err)
{
    *algo = NULL;
    const struct fmatrix *x = in->x;
    struct kmodel *m = kmodel_new(x->ncols);
    if (m == NULL)
        return AIOPS_ENOMEM;
    fit_scaling(m, x);
    if ((m->dim = layout(m)) == 0) {
        kmodel_free(m);
        return aiops_error_set(err, AIOPS_EINVAL, "features",
                               "too many one-hot columns for k-means (over 100000)");
    }
    const json_t *jp = in->params;
    struct kmeans_params p = {
        .k = (size_t)learner_param(jp, "k"),
        .n_init = (int)learner_param(jp, "n_init"),
        .max_iter = (int)learner_param(jp, "max_iter"),
        .tol = learner_param(jp, "tol"),
        .seed = (uint64_t)learner_param(jp, "seed"),
        .threads = (int)learner_param(jp, "threads"),
    };
    size_t n = x->nrows;
    double *z = malloc((n ? n : 1) * m->dim * sizeof *z);
    if (z == NULL) {
        kmodel_free(m);
        return AIOPS_ENOMEM;
    }
    transform(m, x, NULL, n, z);
    int rv = AIOPS_OK;
    if (p.k == 0)
        rv = choose_k(z, n, m->dim, &p, &p.k, err);
    if (rv == 0 && (m->centers = malloc(p.k * m->dim * sizeof *m->centers)) == NULL)
        rv = AIOPS_ENOMEM;
    double inertia = 0;
    if (rv == 0)
        rv = kmeans_fit(z, n, m->dim, &p, in->progress, in->progress_arg, m->centers, NULL,
                        &inertia, iterations, err);
    free(z);
    if (rv != 0) {
        kmodel_free(m);
        return rv;
    }
    m->k = p.k;
    *algo = m;
    return AIOPS_OK;
}

static int kmeans_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                             double *out)
{
    (void)pool;
    const struct kmodel *m = algo;
    if (x->ncols != m->ninputs)
        return AIOPS_EINVAL;
    size_t n = x->nrows;
    if (n == 0)
        return AIOPS_OK;
    double *z = malloc(n * m->dim * sizeof *z);
    int32_t *labels = malloc(n * sizeof *labels);
    int rv = z && labels ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        transform(m, x, NULL, n, z);
        rv = kmeans_assign(z, n, m->dim, m->centers, m->k, 0, labels, NULL, NULL);
    }
    for (size_t i = 0; rv == 0 && i < n; i++)
        out[i] = labels[i];
    free(z);
    free(labels);
    return rv;
}

static int kmeans_op_embed(const void *algo, const struct fmatrix *x, const size_t *rows, size_t n,
                           double **out, size_t *dim)
{
    const struct kmodel *m = algo;
    *out = NULL;
    *dim = m->dim;
    if (x->ncols != m->ninputs)
        return AIOPS_EINVAL;
    if ((*out = malloc((n ? n : 1) * m->dim * sizeof **out)) == NULL)
        return AIOPS_ENOMEM;
    transform(m, x, rows, n, *out);
    return AIOPS_OK;
}

static int kmeans_op_save(const void *algo, struct buf *out)
{
    const struct kmodel *m = algo;
    int rc = bytes_put_u32(out, (uint32_t)m->ninputs);
    rc |= bytes_put_u32(out, (uint32_t)m->k);
    for (size_t j = 0; j < m->ninputs; j++) {
        rc |= bytes_put_u32(out, m->ncat[j]);
        rc |= bytes_put_f64(out, m->mean[j]);
        rc |= bytes_put_f64(out, m->scale[j]);
    }
    for (size_t i = 0; i < m->k * m->dim; i++)
        rc |= bytes_put_f64(out, m->centers[i]);
    return rc ? AIOPS_ENOMEM : AIOPS_OK;
}

static int kmeans_op_load(const uint8_t *p, size_t n, void **algo)
{
    *algo = NULL;
    struct bytes_reader r = {p, n, 0, 0};
    uint32_t ninputs = bytes_get_u32(&r), k = bytes_get_u32(&r);
    /* every input takes 20 bytes: bound the allocation by the input */
    if (r.bad || ninputs == 0 || ninputs > n / 20 || k == 0 || k > KMEANS_MAX_K)
        return AIOPS_ECORRUPT;
    struct kmodel *m = kmodel_new(ninputs);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->k = k;
    for (size_t j = 0; j < ninputs; j++) {
        m->ncat[j] = bytes_get_u32(&r);
        m->mean[j] = bytes_get_f64(&r);
        m->scale[j] = bytes_get_f64(&r);
        if (!isfinite(m->mean[j]) || !(m->scale[j] > 0) || !isfinite(m->scale[j]))
            r.bad = 1;
    }
    m->dim = r.bad ? 0 : layout(m);
    if (r.bad || m->dim == 0 || (r.n - r.off) / 8 / k < m->dim ||
        (r.n - r.off) != (size_t)k * m->dim * 8) {
        kmodel_free(m);
        return AIOPS_ECORRUPT;
    }
    if ((m->centers = malloc(k * m->dim * sizeof *m->centers)) == NULL) {
        kmodel_free(m);
        return AIOPS_ENOMEM;
    }
    for (size_t i = 0; i < k * m->dim; i++)
        if (!isfinite(m->centers[i] = bytes_get_f64(&r)))
            r.bad = 1;
    if (r.bad || r.off != r.n) {
        kmodel_free(m);
        return AIOPS_ECORRUPT;
    }
    *algo = m;
    return AIOPS_OK;
}

static void kmeans_op_free(void *algo)
{
    kmodel_free(algo);
}

static size_t kmeans_op_num_features(const void *algo)
{
    return ((const struct kmodel *)algo)->ninputs;
}

static size_t kmeans_op_outputs(const void *algo)
{
    (void)algo;
    return 1;
}

static size_t kmeans_op_clusters(const void *algo)
{
    return ((const struct kmodel *)algo)->k;
}

const struct learner learner_kmeans = {
    .name = "kmeans",
    .aliases = PARAM_LIST("k-means", "segments"),
    .summary = "k-means customer segments: k-means++, restarts, scaling and one-hot inside",
    .tasks = LEARN_CLUSTERING,
    .needs_target = 0,
    .params = kmeans_params,
    .nparams = ARRAY_LEN(kmeans_params),
    .iterations_param = "n_init",
    .parallel_rows = 0,
    .train = kmeans_learn,
    LEARNER_OPS(kmeans),
    .importance = NULL,
    .embed = kmeans_op_embed,
    .clusters = kmeans_op_clusters,
};
