/* nn.c -- MLP and LSTM tabular networks: preprocessing, batched float32 forward and backward
 * passes over sgemm, Adam, checkpoints, the model file (nn.h). */
#include "algo/nn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/pool.h"
#include "core/rand.h"
#include "math/stats.h"

#define NN_MAGIC 0x314e4e41u   /* "ANN1" */
#define CKPT_MAGIC 0x314b4341u /* "ACK1" */
#define NN_MAX_PARAMS (1u << 26)
#define NN_MAX_WIDTH 65536
#define NN_BN_EPS 1e-5 /* torch.nn.BatchNorm1d's defaults */
#define NN_BN_MOMENTUM 0.1f

struct nn {
    enum nn_task task;
    int nclasses, nout;
    int lstm_hidden, nhidden, hidden[NN_MAX_LAYERS];
    double dropout;
    /* preprocessing */
    size_t ncols, D;
    uint8_t *is_cat;
    uint32_t *ncat;
    size_t *pos; /* ncols: first expanded position of the column */
    double *mean, *inv_scale;
    double y_mean, y_scale; /* regression target standardisation */
    /* parameters, one array; dense layer l (0 .. nhidden; the last is the head) has an
       in_dim[l] x out_dim[l] row-major weight and a bias */
    size_t nparams;
    float *w;
    size_t o_wih, o_whh, o_lb, o_w[NN_MAX_LAYERS + 1], o_b[NN_MAX_LAYERS + 1];
    int in_dim[NN_MAX_LAYERS + 1], out_dim[NN_MAX_LAYERS + 1];
    /* batch normalisation of the hidden layers: gamma and beta are parameters (after all
       the others, so the layout of a model without is unchanged); the running mean and
       variance of hidden layer l are bn_mean/bn_var[bn_off[l] ..], bn_total in all */
    int batch_norm;
    size_t o_gamma[NN_MAX_LAYERS], o_beta[NN_MAX_LAYERS], bn_off[NN_MAX_LAYERS], bn_total;
    float *bn_mean, *bn_var;
};

/* --- the LSTM's elementwise gate arithmetic ------------------------------------------- */

/* The gate nonlinearities are most of an LSTM epoch's work besides the products (~2 billion
 * exp an epoch on the benchmark data), so they run 16 lanes at a time on GCC vector types,
 * compiled three times (AVX-512, AVX2, SSE2) and chosen once by the CPU (lstm_kernels). A
 * partial last block is padded with zeros, so every lane takes the same instructions: the
 * results are the same whichever variant runs (no FMA contraction in ISO C mode). */
typedef float vf16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
#define VW 16

/* The helpers take vectors by pointer: a vector argument would have GCC note, for every
 * build without AVX-512, an ABI change that does not concern inlined code. */
#define NN_INLINE static inline __attribute__((always_inline))

/* v = the first n (<= VW) floats at p; the other lanes 0 */
NN_INLINE void vload(vf16 *v, const float *p, size_t n)
{
    memset(v, 0, sizeof *v);
    memcpy(v, p, n * sizeof(float));
}

NN_INLINE void vstore(float *p, const vf16 *v, size_t n)
{
    memcpy(p, v, n * sizeof(float));
}

/* exp in place, within a few ulp for x in [-87, 88] (clamped outside): 2^n by the exponent
 * bits times a degree-6 polynomial on the remainder in [-ln2/2, ln2/2] */
NN_INLINE void vexp(vf16 *v)
{
    vf16 zero = {0}, x = *v, lo = zero - 87.0f, hi = zero + 88.0f, round = zero + 12582912.0f;
    vi16 below = (x < lo);
    vi16 above = (x > hi);
    x = (vf16)((below & (vi16)lo) | (~below & (vi16)x));
    x = (vf16)((above & (vi16)hi) | (~above & (vi16)x));
    vf16 n = (x * 1.44269504f + round) - round; /* to nearest: 1.5 x 2^23 drops the fraction */
    vf16 f = x - n * 0.693145752f - n * 1.42860677e-6f; /* ln 2 in two parts */
    vf16 p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666672f +
                                                 f * (0.0416666418f +
                                                      f * (0.00833336823f + f * 0.00138878601f)))));
    vi16 e = (__builtin_convertvector(n, vi16) + 127) << 23;
    *v = p * (vf16)e;
}

/* the logistic function in place */
NN_INLINE void vsigmoid(vf16 *v)
{
    *v = -*v;
    vexp(v);
    *v = 1.0f / (1.0f + *v);
}

/* tanh in place */
NN_INLINE void vtanh(vf16 *v)
{
    *v = -2.0f * *v;
    vexp(v);
    *v = 2.0f / (1.0f + *v) - 1.0f;
}

/* One step forward for n rows: G (n x 4H: the gate pre-activations i, f, g, o) becomes the
 * gate values; c1 = f c0 + i g, h1 = o tanh(c1), and tanh(c1) into tc1 unless it is NULL
 * (for the backward pass). h1's rows are ldh apart. */
NN_INLINE void gates_forward_body(size_t n, size_t H, float *G, const float *c0, float *c1,
                                  float *tc1, float *h1, size_t ldh)
{
    for (size_t r = 0; r < n; r++) {
        float *g = G + r * 4 * H;
        for (size_t k = 0; k < H; k += VW) {
            size_t w = H - k < VW ? H - k : VW;
            vf16 ig, fg, gg, og, c, tc;
            vload(&ig, g + k, w), vload(&fg, g + H + k, w);
            vload(&gg, g + 2 * H + k, w), vload(&og, g + 3 * H + k, w);
            vsigmoid(&ig), vsigmoid(&fg), vtanh(&gg), vsigmoid(&og);
            vstore(g + k, &ig, w), vstore(g + H + k, &fg, w);
            vstore(g + 2 * H + k, &gg, w), vstore(g + 3 * H + k, &og, w);
            vload(&c, c0 + r * H + k, w);
            c = fg * c + ig * gg;
            vstore(c1 + r * H + k, &c, w);
            tc = c;
            vtanh(&tc);
            if (tc1 != NULL)
                vstore(tc1 + r * H + k, &tc, w);
            tc = og * tc;
            vstore(h1 + r * ldh + k, &tc, w);
        }
    }
}

/* One step backward for n rows: from the step's gate values G, cell states c0 (before) and
 * tanh of c1 (after) in tc1, d/dh_t in dh and d/dc_t in dc, the gate pre-activations'
 * derivatives into dG (n x 4H) and d/dc_{t-1} into dc. */
NN_INLINE void gates_backward_body(size_t n, size_t H, const float *G, const float *c0,
                                   const float *tc1, const float *dh, float *dc, float *dG)
{
    for (size_t r = 0; r < n; r++) {
        const float *g = G + r * 4 * H;
        float *dg = dG + r * 4 * H;
        for (size_t k = 0; k < H; k += VW) {
            size_t w = H - k < VW ? H - k : VW, o = r * H + k;
            vf16 ig, fg, gg, og, tc, dhr, dct, cprev, d;
            vload(&ig, g + k, w), vload(&fg, g + H + k, w);
            vload(&gg, g + 2 * H + k, w), vload(&og, g + 3 * H + k, w);
            vload(&tc, tc1 + o, w), vload(&dhr, dh + o, w), vload(&dct, dc + o, w);
            vload(&cprev, c0 + o, w);
            dct = dct + dhr * og * (1.0f - tc * tc);
            d = dct * gg * ig * (1.0f - ig);
            vstore(dg + k, &d, w);
            d = dct * cprev * fg * (1.0f - fg);
            vstore(dg + H + k, &d, w);
            d = dct * ig * (1.0f - gg * gg);
            vstore(dg + 2 * H + k, &d, w);
            d = dhr * tc * og * (1.0f - og);
            vstore(dg + 3 * H + k, &d, w);
            d = dct * fg;
            vstore(dc + o, &d, w);
        }
    }
}

typedef void (*gates_forward_fn)(size_t, size_t, float *, const float *, float *, float *, float *,
                                 size_t);
typedef void (*gates_backward_fn)(size_t, size_t, const float *, const float *, const float *,
                                  const float *, float *, float *);

#define GATE_VARIANTS(SUFFIX, ATTR)                                                                \
    ATTR static void gates_forward_##SUFFIX(size_t n, size_t H, float *G, const float *c0,         \
                                            float *c1, float *tc1, float *h1, size_t ldh)          \
    {                                                                                              \
        gates_forward_body(n, H, G, c0, c1, tc1, h1, ldh);                                         \
    }                                                                                              \
    ATTR static void gates_backward_##SUFFIX(size_t n, size_t H, const float *G, const float *c0,  \
                                             const float *tc1, const float *dh, float *dc,         \
                                             float *dG)                                            \
    {                                                                                              \
        gates_backward_body(n, H, G, c0, tc1, dh, dc, dG);                                         \
    }

#if defined(__x86_64__)
GATE_VARIANTS(avx512, __attribute__((target("avx512f"))))
GATE_VARIANTS(avx2, __attribute__((target("avx2"))))
#endif
GATE_VARIANTS(base, )

struct lstm_kernels {
    gates_forward_fn forward;
    gates_backward_fn backward;
};

/* The widest variant this CPU runs. */
static struct lstm_kernels lstm_kernels(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return (struct lstm_kernels){gates_forward_avx512, gates_backward_avx512};
    if (__builtin_cpu_supports("avx2"))
        return (struct lstm_kernels){gates_forward_avx2, gates_backward_avx2};
#endif
    return (struct lstm_kernels){gates_forward_base, gates_backward_base};
}

/* --- layout ---------------------------------------------------------------------------- */

static int layout(struct nn *m)
{
    size_t off = 0;
    int H = m->lstm_hidden;
    if (H > 0) { /* w_ih, w_hh, bias back to back: one (H + 2) x 4H matrix (struct ws) */
        m->o_wih = off;
        off += (size_t)4 * (size_t)H;
        m->o_whh = off;
        off += (size_t)H * 4 * (size_t)H;
        m->o_lb = off;
        off += (size_t)4 * (size_t)H;
    }
    int in = H > 0 ? H : (int)m->D;
    for (int l = 0; l <= m->nhidden; l++) {
        int out = l < m->nhidden ? m->hidden[l] : m->nout;
        m->in_dim[l] = in;
        m->out_dim[l] = out;
        m->o_w[l] = off;
        off += (size_t)in * (size_t)out;
        m->o_b[l] = off;
        off += (size_t)out;
        in = out;
        if (off > NN_MAX_PARAMS)
            return AIOPS_ETOOBIG;
    }
    m->bn_total = 0;
    for (int l = 0; m->batch_norm && l < m->nhidden; l++) {
        m->bn_off[l] = m->bn_total;
        m->bn_total += (size_t)m->hidden[l];
        m->o_gamma[l] = off;
        m->o_beta[l] = off + (size_t)m->hidden[l];
        off += 2 * (size_t)m->hidden[l];
        if (off > NN_MAX_PARAMS)
            return AIOPS_ETOOBIG;
    }
    m->nparams = off;
    return 0;
}

static int max_width(const struct nn *m)
{
    int mw = m->lstm_hidden > 0 ? 4 * m->lstm_hidden : 1;
    for (int l = 0; l <= m->nhidden; l++) {
        if (m->in_dim[l] > mw)
            mw = m->in_dim[l];
        if (m->out_dim[l] > mw)
            mw = m->out_dim[l];
    }
    return mw;
}

void nn_free(struct nn *m)
{
    if (m == NULL)
        return;
    free(m->is_cat);
    free(m->ncat);
    free(m->pos);
    free(m->mean);
    free(m->inv_scale);
    free(m->w);
    free(m->bn_mean);
    free(m->bn_var);
    free(m);
}

size_t nn_outputs(const struct nn *m)
{
    return m->task == NN_REGRESSION ? 1 : m->task == NN_BINARY ? 2 : (size_t)m->nclasses;
}

size_t nn_num_features(const struct nn *m)
{
    return m->ncols;
}

size_t nn_nparams(const struct nn *m)
{
    return m->nparams;
}

float *nn_weights(struct nn *m)
{
    return m->w;
}

void nn_params_default(struct nn_params *p, enum nn_task task)
{
    memset(p, 0, sizeof *p);
    p->task = task;
    p->nclasses = task == NN_MULTICLASS ? 3 : 2;
    p->nhidden = 2;
    p->hidden[0] = 256;
    p->hidden[1] = 128;
    p->learning_rate = 1e-3;
    p->beta1 = 0.9;
    p->beta2 = 0.999;
    p->eps = 1e-8;
    p->batch_size = 512;
    p->epochs = 10;
    p->pos_weight = 1.0;
}

/* --- preprocessing --------------------------------------------------------------------- */

/* Mean and population standard deviation of each numeric column over its present values
 * (weighted by w when given); categorical columns take ncat one-hot positions. */
static int fit_prep(struct nn *m, const struct fmatrix *x, const double *w)
{
    size_t c = x->ncols;
    m->ncols = c;
    m->is_cat = calloc(c ? c : 1, 1);
    m->ncat = calloc(c ? c : 1, sizeof *m->ncat);
    m->pos = calloc(c ? c : 1, sizeof *m->pos);
    m->mean = calloc(c ? c : 1, sizeof *m->mean);
    m->inv_scale = calloc(c ? c : 1, sizeof *m->inv_scale);
    if (!m->is_cat || !m->ncat || !m->pos || !m->mean || !m->inv_scale)
        return AIOPS_ENOMEM;
    size_t D = 0;
    for (size_t j = 0; j < c; j++) {
        m->pos[j] = D;
        if (x->is_cat != NULL && x->is_cat[j]) {
            m->is_cat[j] = 1;
            m->ncat[j] = x->ncat[j];
            D += x->ncat[j];
            m->inv_scale[j] = 1;
            continue;
        }
        const double *col = x->x + j * x->nrows;
        double sw = 0, s = 0;
        for (size_t i = 0; i < x->nrows; i++)
            if (!isnan(col[i])) {
                double wi = w ? w[i] : 1.0;
                sw += wi;
                s += wi * col[i];
            }
        double mean = sw > 0 ? s / sw : 0;
        double ss = 0;
        for (size_t i = 0; i < x->nrows; i++)
            if (!isnan(col[i])) {
                double wi = w ? w[i] : 1.0, d = col[i] - mean;
                ss += wi * d * d;
            }
        double sd = sw > 0 ? sqrt(ss / sw) : 0;
        m->mean[j] = mean;
        m->inv_scale[j] = sd > 1e-12 && isfinite(sd) ? 1.0 / sd : 1.0;
        D++;
    }
    m->D = D;
    return D == 0 ? AIOPS_EINVAL : 0;
}

/* Rows rows[0..n) of x (row i itself when rows is NULL, from first) into X[n x D]. */
static void fill_rows(const struct nn *m, const struct fmatrix *x, const size_t *rows, size_t first,
                      size_t n, float *X)
{
    size_t D = m->D;
    memset(X, 0, n * D * sizeof *X);
    for (size_t j = 0; j < m->ncols; j++) {
        const double *col = x->x + j * x->nrows;
        size_t p = m->pos[j];
        if (m->is_cat[j]) {
            for (size_t i = 0; i < n; i++) {
                double v = col[rows ? rows[i] : first + i];
                if (v >= 0 && v < (double)m->ncat[j])
                    X[i * D + p + (size_t)v] = 1.0f;
            }
        } else {
            double mu = m->mean[j], is = m->inv_scale[j];
            for (size_t i = 0; i < n; i++) {
                double v = col[rows ? rows[i] : first + i];
                X[i * D + p] = isnan(v) ? 0.0f : (float)((v - mu) * is);
            }
        }
    }
}

/* --- workspaces ------------------------------------------------------------------------ */

/* What one thread needs to run a chunk of up to `cap` rows. With `history` (training) the
 * LSTM keeps every step's state for the backward pass; without, two slots. A step's input
 * slot in hs is the row [x_t, h_{t-1}, 1] (H + 2 wide): with the parameters' layout (w_ih,
 * w_hh, bias: an (H + 2) x 4H matrix) one product makes all four gates of every row, and
 * one product makes their whole gradient. */
struct ws {
    size_t cap;
    int history;
    struct lstm_kernels kern;
    float *X, *hs, *cs, *tcs, *hlast, *gates, *dG, *dh, *dc;
    float *act[NN_MAX_LAYERS + 1], *mask[NN_MAX_LAYERS];
    float *xhat[NN_MAX_LAYERS]; /* batch normalisation, training: the normalised values */
    float *bna, *bnc;           /* batch normalisation: a layer's coefficients (forward) */
    float *out, *dA, *dB;
    float *mem;
};

static void ws_free(struct ws *s)
{
    free(s->mem);
    memset(s, 0, sizeof *s);
}

static int ws_alloc(const struct nn *m, size_t cap, int history, struct ws *s)
{
    memset(s, 0, sizeof *s);
    s->cap = cap;
    s->history = history;
    size_t H = (size_t)m->lstm_hidden, T = m->D, mw = (size_t)max_width(m);
    size_t steps = history ? T + 1 : 2;
    size_t sizes[12 + 3 * NN_MAX_LAYERS];
    float **ptrs[12 + 3 * NN_MAX_LAYERS];
    size_t k = 0;
    sizes[k] = cap * T, ptrs[k++] = &s->X;
    if (H > 0) {
        sizes[k] = steps * cap * (H + 2), ptrs[k++] = &s->hs;
        sizes[k] = steps * cap * H, ptrs[k++] = &s->cs;
        sizes[k] = cap * H, ptrs[k++] = &s->hlast;
        if (history) /* tanh of each step's cell state, for the backward pass */
            sizes[k] = T * cap * H, ptrs[k++] = &s->tcs;
        sizes[k] = (history ? T : 1) * cap * 4 * H, ptrs[k++] = &s->gates;
        sizes[k] = cap * 4 * H, ptrs[k++] = &s->dG;
        sizes[k] = cap * H, ptrs[k++] = &s->dc;
    }
    for (int l = 0; l < m->nhidden; l++) {
        sizes[k] = cap * (size_t)m->hidden[l], ptrs[k++] = &s->act[l + 1];
        sizes[k] = cap * (size_t)m->hidden[l], ptrs[k++] = &s->mask[l];
        if (m->batch_norm && history)
            sizes[k] = cap * (size_t)m->hidden[l], ptrs[k++] = &s->xhat[l];
    }
    if (m->batch_norm) {
        sizes[k] = mw, ptrs[k++] = &s->bna;
        sizes[k] = mw, ptrs[k++] = &s->bnc;
    }
    sizes[k] = cap * (size_t)m->nout, ptrs[k++] = &s->out;
    sizes[k] = cap * mw, ptrs[k++] = &s->dA;
    sizes[k] = cap * mw, ptrs[k++] = &s->dB;
    size_t total = 0;
    for (size_t i = 0; i < k; i++) {
        if (sizes[i] > ((size_t)1 << 34) / sizeof(float) - total)
            return AIOPS_ETOOBIG;
        total += sizes[i];
    }
    s->mem = malloc(total * sizeof(float));
    if (s->mem == NULL)
        return AIOPS_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < k; i++) {
        *ptrs[i] = s->mem + off;
        off += sizes[i];
    }
    s->act[0] = H > 0 ? s->hlast : s->X;
    s->dh = s->dA;
    s->kern = lstm_kernels();
    return 0;
}

/* --- forward and backward on one chunk --------------------------------------------------- */

/* The dropout key of a row: seed, epoch and its place in the epoch (so masks do not depend
 * on which thread runs the row). 0: no dropout. */
static inline uint64_t row_key(uint64_t seed, int epoch, size_t place)
{
    uint64_t s = seed ^ ((uint64_t)(unsigned)epoch * 0x9e3779b97f4a7c15ull) ^
                 ((uint64_t)place * 0xd1b54a32d192ed03ull);
    return rand_splitmix64(&s);
}

/* The LSTM over X's n rows (already filled): its last hidden state into s->hlast. */
static void lstm_forward(const struct nn *m, struct ws *s, size_t n)
{
    size_t H = (size_t)m->lstm_hidden, HA = H + 2, H4 = 4 * H, T = m->D, cap = s->cap;
    const float *waug = m->w + m->o_wih; /* rows: w_ih, w_hh, bias */
    memset(s->hs, 0, n * HA * sizeof(float));
    memset(s->cs, 0, n * H * sizeof(float));
    for (size_t t = 0; t < T; t++) {
        size_t sp = s->history ? t : (t & 1), sn = s->history ? t + 1 : ((t + 1) & 1);
        float *A = s->hs + sp * cap * HA, *cp = s->cs + sp * cap * H;
        float *An = s->hs + sn * cap * HA, *cn = s->cs + sn * cap * H;
        float *G = s->gates + (s->history ? t : 0) * cap * H4;
        for (size_t r = 0; r < n; r++) {
            A[r * HA] = s->X[r * T + t];
            A[r * HA + H + 1] = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)H4, (int)HA, 1.0f, A,
                    (int)HA, waug, (int)H4, 0.0f, G, (int)H4);
        s->kern.forward(n, H, G, cp, cn, s->history ? s->tcs + t * cap * H : NULL, An + 1, HA);
    }
    const float *hl = s->hs + (s->history ? T : (T & 1)) * cap * HA + 1;
    for (size_t r = 0; r < n; r++)
        memcpy(s->hlast + r * H, hl + r * HA, H * sizeof(float));
}

/* Dense layer l's pre-activations for n rows: into act[l + 1] (the head: out). */
static void dense_forward(const struct nn *m, struct ws *s, size_t n, int l)
{
    int in = m->in_dim[l], out = m->out_dim[l];
    float *Z = l < m->nhidden ? s->act[l + 1] : s->out;
    const float *b = m->w + m->o_b[l];
    for (size_t r = 0; r < n; r++)
        memcpy(Z + r * (size_t)out, b, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, out, in, 1.0f, s->act[l], in,
                m->w + m->o_w[l], out, 1.0f, Z, out);
}

/* Hidden layer l's activation of its pre-activations z in act[l + 1], in place: with batch
 * normalisation (bna not NULL) first xhat = z bna + bnc (kept in xhat[l] for the backward
 * pass when the workspace has it) and gamma xhat + beta; then ReLU and, with keys, inverted
 * dropout; mask[l] gets the derivative of the ReLU and dropout. */
static void hidden_activate(const struct nn *m, struct ws *s, size_t n, int l, const uint64_t *keys,
                            double dropout, const float *bna, const float *bnc)
{
    int out = m->out_dim[l];
    float *Z = s->act[l + 1], *M = s->mask[l];
    if (bna != NULL) {
        const float *gamma = m->w + m->o_gamma[l], *beta = m->w + m->o_beta[l];
        float *xh = s->xhat[l];
        for (size_t r = 0; r < n; r++) {
            float *z = Z + r * (size_t)out;
            for (int k = 0; k < out; k++) {
                float v = z[k] * bna[k] + bnc[k];
                if (xh != NULL)
                    xh[r * (size_t)out + (size_t)k] = v;
                z[k] = gamma[k] * v + beta[k];
            }
        }
    }
    float keep_scale = dropout > 0 ? (float)(1.0 / (1.0 - dropout)) : 1.0f;
    uint32_t thr = (uint32_t)(dropout * 4294967296.0);
    for (size_t r = 0; r < n; r++) {
        float *z = Z + r * (size_t)out, *mk = M + r * (size_t)out;
        if (keys != NULL && dropout > 0) {
            uint64_t st = keys[r] ^ ((uint64_t)(l + 1) << 56);
            for (int k = 0; k < out; k += 2) {
                uint64_t u = rand_splitmix64(&st);
                for (int h = 0; h < 2 && k + h < out; h++) {
                    uint32_t v = (uint32_t)(u >> (32 * h));
                    float keep = v >= thr ? keep_scale : 0.0f;
                    float mm = z[k + h] > 0 ? keep : 0.0f;
                    mk[k + h] = mm;
                    z[k + h] *= mm;
                }
            }
        } else {
            for (int k = 0; k < out; k++) {
                float mm = z[k] > 0 ? 1.0f : 0.0f;
                mk[k] = mm;
                z[k] *= mm;
            }
        }
    }
}

/* Batch normalisation of hidden layer l by the running statistics (inference), as the
 * per-unit a, c of xhat = z a + c. */
static void bn_running_coeffs(const struct nn *m, int l, float *a, float *c)
{
    const float *mu = m->bn_mean + m->bn_off[l], *var = m->bn_var + m->bn_off[l];
    for (int k = 0; k < m->hidden[l]; k++) {
        a[k] = (float)(1.0 / sqrt((double)var[k] + NN_BN_EPS));
        c[k] = -mu[k] * a[k];
    }
}

/* Forward pass of X (n rows, already filled) to s->out; keys[n] (NULL: no dropout). Batch
 * normalisation, if any, uses the running statistics: a training pass with batch statistics
 * is bn_pass's. */
static void forward(const struct nn *m, struct ws *s, size_t n, const uint64_t *keys,
                    double dropout)
{
    if (m->lstm_hidden > 0)
        lstm_forward(m, s, n);
    for (int l = 0; l <= m->nhidden; l++) {
        dense_forward(m, s, n, l);
        if (l == m->nhidden)
            break;
        if (m->batch_norm)
            bn_running_coeffs(m, l, s->bna, s->bnc);
        hidden_activate(m, s, n, l, keys, dropout, m->batch_norm ? s->bna : NULL, s->bnc);
    }
}

/* The loss of the chunk's outputs (sum over rows of weight x loss) and, when d is not NULL,
 * its derivative times scale into d[n x nout]. pred (may be NULL) gets per row: binary p,
 * multiclass the predicted class, regression the value in target units. */
static double loss_rows(const struct nn *m, const float *out, size_t n, const double *y,
                        const double *w, double pos_weight, double scale, float *d, double *pred)
{
    double total = 0;
    int K = m->nout;
    for (size_t r = 0; r < n; r++) {
        const float *o = out + r * (size_t)K;
        double wr = w ? w[r] : 1.0;
        if (m->task == NN_BINARY) {
            double z = o[0], yy = y[r];
            if (yy == 1)
                wr *= pos_weight;
            double l = (z > 0 ? z : 0) - z * yy + log1p(exp(-fabs(z)));
            double p = 1.0 / (1.0 + exp(-z));
            total += wr * l;
            if (d)
                d[r] = (float)(wr * (p - yy) * scale);
            if (pred)
                pred[r] = p;
        } else if (m->task == NN_MULTICLASS) {
            double mx = o[0];
            int best = 0;
            for (int k = 1; k < K; k++)
                if (o[k] > mx)
                    mx = o[k], best = k;
            double se = 0;
            for (int k = 0; k < K; k++)
                se += exp(o[k] - mx);
            int yc = (int)y[r];
            total += wr * (log(se) - (o[yc] - mx));
            if (d)
                for (int k = 0; k < K; k++)
                    d[r * (size_t)K + (size_t)k] =
                        (float)(wr * (exp(o[k] - mx) / se - (k == yc ? 1.0 : 0.0)) * scale);
            if (pred)
                pred[r] = best;
        } else {
            double ys = (y[r] - m->y_mean) / m->y_scale, diff = o[0] - ys;
            total += wr * diff * diff;
            if (d)
                d[r] = (float)(2.0 * wr * diff * scale);
            if (pred)
                pred[r] = o[0] * m->y_scale + m->y_mean;
        }
    }
    return total;
}

/* The buffer that holds d(loss)/d(output of dense layer l), l = -1 for the LSTM's last
 * state: dA for the head, then dB, dA, ... alternating down the layers. */
static float *dbuf(const struct nn *m, const struct ws *s, int l)
{
    return (m->nhidden - l) % 2 == 0 ? s->dA : s->dB;
}

/* Dense layer l's backward step for n rows: its weight and bias gradients into g from
 * dbuf(l) and, below it, d/d(its input) into dbuf(l - 1). */
static void dense_backward(const struct nn *m, const struct ws *s, size_t n, int l, float *g)
{
    int in = m->in_dim[l], out = m->out_dim[l];
    const float *cur = dbuf(m, s, l);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, (int)n, 1.0f, s->act[l], in, cur,
                out, 1.0f, g + m->o_w[l], out);
    float *gb = g + m->o_b[l];
    for (size_t r = 0; r < n; r++)
        for (int k = 0; k < out; k++)
            gb[k] += cur[r * (size_t)out + (size_t)k];
    if (l > 0 || m->lstm_hidden > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, in, out, 1.0f, cur, out,
                    m->w + m->o_w[l], out, 0.0f, dbuf(m, s, l - 1), in);
}

/* From d/d(hidden layer l's activation) in dbuf(l) to d/d(its ReLU input), in place. */
static void hidden_backward(const struct nn *m, const struct ws *s, size_t n, int l)
{
    float *d = dbuf(m, s, l);
    const float *M = s->mask[l];
    for (size_t i = 0; i < n * (size_t)m->out_dim[l]; i++)
        d[i] *= M[i];
}

/* Backpropagation through time from d/dh_T in dh: the LSTM's gradient into g. */
static void lstm_backward(const struct nn *m, struct ws *s, size_t n, float *g, float *dh)
{
    size_t H = (size_t)m->lstm_hidden, HA = H + 2, H4 = 4 * H, T = m->D, cap = s->cap;
    float *dc = s->dc, *dG = s->dG, *dhp = dh == s->dA ? s->dB : s->dA;
    const float *whh = m->w + m->o_whh;
    float *gaug = g + m->o_wih;
    memset(dc, 0, n * H * sizeof(float));
    for (size_t t = T; t-- > 0;) {
        const float *G = s->gates + t * cap * H4;
        const float *tc1 = s->tcs + t * cap * H, *c0 = s->cs + t * cap * H;
        s->kern.backward(n, H, G, c0, tc1, dh, dc, dG);
        const float *A = s->hs + t * cap * HA;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)HA, (int)H4, (int)n, 1.0f, A,
                    (int)HA, dG, (int)H4, 1.0f, gaug, (int)H4);
        if (t == 0)
            break;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)H, (int)H4, 1.0f, dG,
                    (int)H4, whh, (int)H4, 0.0f, dhp, (int)H);
        float *tmp = dh;
        dh = dhp;
        dhp = tmp;
    }
}

/* Backward pass from d(loss)/d(out) in s->dA (n rows): adds the gradient into g. Not for a
 * model with batch normalisation, whose gradient needs the whole batch (bn_pass). */
static void backward(const struct nn *m, struct ws *s, size_t n, float *g)
{
    for (int l = m->nhidden; l >= 0; l--) {
        dense_backward(m, s, n, l, g);
        if (l > 0)
            hidden_backward(m, s, n, l - 1);
    }
    if (m->lstm_hidden > 0)
        lstm_backward(m, s, n, g, dbuf(m, s, -1));
}

/* --- initialisation -------------------------------------------------------------------- */

/* The running statistics' arrays (bn_total each). */
static int bn_alloc(struct nn *m)
{
    size_t c = m->bn_total ? m->bn_total : 1;
    m->bn_mean = calloc(c, sizeof(float));
    m->bn_var = calloc(c, sizeof(float));
    return m->bn_mean && m->bn_var ? 0 : AIOPS_ENOMEM;
}

static int check_params(const struct nn_params *p, const struct fmatrix *x, struct aiops_error *err)
{
    if (p->lstm_hidden < 0 || p->lstm_hidden > 4096)
        return aiops_error_set(err, AIOPS_EINVAL, "lstm_hidden", "lstm_hidden must be 1 .. 4096");
    if (p->nhidden < 0 || p->nhidden > NN_MAX_LAYERS)
        return aiops_error_set(err, AIOPS_EINVAL, "hidden", "at most %d hidden layers",
                               NN_MAX_LAYERS);
    for (int l = 0; l < p->nhidden; l++)
        if (p->hidden[l] < 1 || p->hidden[l] > NN_MAX_WIDTH)
            return aiops_error_set(err, AIOPS_EINVAL, "hidden",
                                   "a hidden layer's width must be 1 .. %d", NN_MAX_WIDTH);
    if (!(p->dropout >= 0 && p->dropout < 1))
        return aiops_error_set(err, AIOPS_EINVAL, "dropout", "dropout must be in [0, 1)");
    if (p->batch_norm && p->lstm_hidden > 0)
        return aiops_error_set(err, AIOPS_EINVAL, "batch_norm",
                               "batch_norm is for the MLP, not the LSTM model");
    if (!(p->learning_rate > 0) || !(p->beta1 >= 0 && p->beta1 < 1) ||
        !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps > 0) || !(p->weight_decay >= 0))
        return aiops_error_set(err, AIOPS_EINVAL, "learning_rate",
                               "learning_rate, betas, eps and weight_decay are out of range");
    if (p->batch_size < 1 || p->epochs < 1 || p->early_stopping < 0)
        return aiops_error_set(err, AIOPS_EINVAL, "batch_size",
                               "batch_size and epochs must be at least 1");
    if (!(p->pos_weight > 0) || !isfinite(p->pos_weight))
        return aiops_error_set(err, AIOPS_EINVAL, "pos_weight", "pos_weight must be positive");
    if (p->task == NN_MULTICLASS && (p->nclasses < 2 || p->nclasses > 100000))
        return aiops_error_set(err, AIOPS_EINVAL, "task", "a classifier needs 2 or more classes");
    if (x->nrows == 0)
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "no training rows");
    return 0;
}

static int check_targets(const struct nn_params *p, const double *y, const double *w, size_t n,
                         struct aiops_error *err)
{
    double K = p->task == NN_MULTICLASS ? p->nclasses : 2;
    for (size_t i = 0; i < n; i++) {
        if (p->task == NN_REGRESSION ? !isfinite(y[i])
                                     : !(y[i] >= 0 && y[i] < K && y[i] == floor(y[i])))
            return aiops_error_set(err, AIOPS_EINVAL, "target",
                                   "row %zu: the target is not a class index or a number", i);
        if (w != NULL && !(w[i] >= 0 && isfinite(w[i])))
            return aiops_error_set(err, AIOPS_EINVAL, "weight", "row %zu: a bad row weight", i);
    }
    return 0;
}

int nn_init(const struct fmatrix *x, const double *y, const double *w, const struct nn_params *p,
            struct nn **out, struct aiops_error *err)
{
    *out = NULL;
    int rv = check_params(p, x, err);
    if (rv == 0)
        rv = check_targets(p, y, w, x->nrows, err);
    if (rv)
        return rv;
    struct nn *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->task = p->task;
    m->nclasses = p->task == NN_MULTICLASS ? p->nclasses : p->task == NN_BINARY ? 2 : 0;
    m->nout = p->task == NN_MULTICLASS ? p->nclasses : 1;
    m->lstm_hidden = p->lstm_hidden;
    m->nhidden = p->nhidden;
    memcpy(m->hidden, p->hidden, sizeof m->hidden);
    m->dropout = p->dropout;
    m->batch_norm = p->batch_norm != 0;
    m->y_mean = 0;
    m->y_scale = 1;
    rv = fit_prep(m, x, w);
    if (rv == AIOPS_EINVAL)
        aiops_error_set(err, rv, "features", "no input values: every feature is empty");
    if (rv == 0 && p->task == NN_REGRESSION) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < x->nrows; i++)
            s += y[i];
        double mu = s / (double)x->nrows;
        for (size_t i = 0; i < x->nrows; i++)
            ss += (y[i] - mu) * (y[i] - mu);
        double sd = sqrt(ss / (double)x->nrows);
        m->y_mean = mu;
        m->y_scale = sd > 1e-12 && isfinite(sd) ? sd : 1.0;
    }
    if (rv == 0 && m->D > 1000000)
        rv = aiops_error_set(err, AIOPS_ETOOBIG, "features", "too many one-hot inputs");
    if (rv == 0 && (rv = layout(m)) == AIOPS_ETOOBIG)
        aiops_error_set(err, rv, "hidden", "the network has more than %u parameters",
                        NN_MAX_PARAMS);
    if (rv == 0 && ((m->w = malloc(m->nparams * sizeof(float))) == NULL ||
                    (m->batch_norm && bn_alloc(m) != 0)))
        rv = AIOPS_ENOMEM;
    if (rv) {
        nn_free(m);
        return rv;
    }
    for (int l = 0; m->batch_norm && l < m->nhidden; l++) /* BatchNorm1d's start */
        for (int k = 0; k < m->hidden[l]; k++) {
            m->w[m->o_gamma[l] + (size_t)k] = 1.0f;
            m->w[m->o_beta[l] + (size_t)k] = 0.0f;
            m->bn_mean[m->bn_off[l] + (size_t)k] = 0.0f;
            m->bn_var[m->bn_off[l] + (size_t)k] = 1.0f;
        }
    /* PyTorch's defaults: uniform in +-1/sqrt(fan_in) (LSTM: +-1/sqrt(H)) */
    uint64_t st = p->seed ^ 0x6e6e2d696e6974ull;
    if (m->lstm_hidden > 0) {
        float k = (float)(1.0 / sqrt((double)m->lstm_hidden));
        for (size_t i = m->o_wih; i < m->o_lb + 4 * (size_t)m->lstm_hidden; i++)
            m->w[i] = (float)(2.0 * rand_unit(&st) - 1.0) * k;
    }
    for (int l = 0; l <= m->nhidden; l++) {
        float k = (float)(1.0 / sqrt((double)m->in_dim[l]));
        size_t end = m->o_b[l] + (size_t)m->out_dim[l];
        for (size_t i = m->o_w[l]; i < end; i++)
            m->w[i] = (float)(2.0 * rand_unit(&st) - 1.0) * k;
    }
    *out = m;
    return 0;
}

/* --- whole-set passes ------------------------------------------------------------------ */

int nn_predict(const struct nn *m, const struct fmatrix *x, double *out)
{
    if (x->ncols != m->ncols)
        return AIOPS_EINVAL;
    for (size_t j = 0; j < m->ncols; j++) {
        int cat = x->is_cat != NULL && x->is_cat[j];
        if (cat != m->is_cat[j])
            return AIOPS_EINVAL;
    }
    size_t n = x->nrows, cap = n < NN_CHUNK ? (n ? n : 1) : NN_CHUNK;
    struct ws s;
    int rv = ws_alloc(m, cap, 0, &s);
    if (rv)
        return rv;
    size_t no = nn_outputs(m);
    for (size_t a = 0; a < n; a += cap) {
        size_t c = n - a < cap ? n - a : cap;
        fill_rows(m, x, NULL, a, c, s.X);
        forward(m, &s, c, NULL, 0);
        for (size_t r = 0; r < c; r++) {
            const float *o = s.out + r * (size_t)m->nout;
            double *d = out + (a + r) * no;
            if (m->task == NN_BINARY) {
                double p = 1.0 / (1.0 + exp(-(double)o[0]));
                d[0] = 1 - p, d[1] = p;
            } else if (m->task == NN_MULTICLASS) {
                double mx = o[0], se = 0;
                for (int k = 1; k < m->nout; k++)
                    mx = o[k] > mx ? o[k] : mx;
                for (int k = 0; k < m->nout; k++)
                    se += (d[k] = exp(o[k] - mx));
                for (int k = 0; k < m->nout; k++)
                    d[k] /= se;
            } else {
                d[0] = o[0] * m->y_scale + m->y_mean;
            }
        }
    }
    ws_free(&s);
    return 0;
}

/* --- training -------------------------------------------------------------------------- */

struct trainer {
    const struct nn *m;
    const struct nn_params *p;
    const struct fmatrix *x; /* the rows of the pass */
    const double *y, *w;
    const size_t *rows; /* the pass's row order (NULL: 0 .. n-1) */
    size_t first, n;    /* rows[first .. first + n) */
    int epoch, train;
    struct ws *ws;       /* per thread (bn_pass: per chunk) */
    float *cgrad;        /* per chunk: nparams */
    double *closs;       /* per chunk */
    double *pred;        /* per row of the pass, at first + i */
    double *ybuf, *wbuf; /* per thread (bn_pass: chunk): NN_CHUNK targets and weights */
    uint64_t *keys;      /* per thread (bn_pass: chunk): NN_CHUNK dropout keys */
    /* bn_pass: the phase its jobs run, on which layer; whether it moves the running
       statistics; per chunk 2 x maxw partial sums; the batch's coefficients of every
       hidden layer (bn_total each); the sums over the chunks (2 x maxw) */
    int phase, layer, update_running;
    size_t maxw;
    double *part, *tot;
    float *bn_a, *bn_c;
    size_t nws; /* workspaces made */
};

/* The trainer's buffers for nws workspaces (threads or, with batch normalisation, chunks),
 * nchunks chunk gradients and nloss chunk losses. AIOPS_ENOMEM, AIOPS_ETOOBIG. */
static int trainer_alloc(struct trainer *T, const struct nn *m, size_t nws, size_t nchunks,
                         size_t nloss)
{
    size_t maxw = (size_t)max_width(m), nb = m->bn_total ? m->bn_total : 1;
    T->maxw = maxw;
    T->ws = calloc(nws, sizeof *T->ws);
    T->cgrad = malloc(nchunks * m->nparams * sizeof(float));
    T->closs = calloc(nloss, sizeof(double));
    T->ybuf = malloc(nws * NN_CHUNK * sizeof(double));
    T->wbuf = malloc(nws * NN_CHUNK * sizeof(double));
    T->keys = malloc(nws * NN_CHUNK * sizeof(uint64_t));
    if (!T->ws || !T->cgrad || !T->closs || !T->ybuf || !T->wbuf || !T->keys)
        return AIOPS_ENOMEM;
    if (m->batch_norm) {
        T->part = malloc(nchunks * 2 * maxw * sizeof(double));
        T->tot = malloc(2 * maxw * sizeof(double));
        T->bn_a = malloc(nb * sizeof(float));
        T->bn_c = malloc(nb * sizeof(float));
        if (!T->part || !T->tot || !T->bn_a || !T->bn_c)
            return AIOPS_ENOMEM;
    }
    for (; T->nws < nws; T->nws++) {
        int rv = ws_alloc(m, NN_CHUNK, 1, &T->ws[T->nws]);
        if (rv)
            return rv;
    }
    return 0;
}

static void trainer_free(struct trainer *T)
{
    for (size_t i = 0; i < T->nws; i++)
        ws_free(&T->ws[i]);
    free(T->ws);
    free(T->cgrad);
    free(T->closs);
    free(T->ybuf);
    free(T->wbuf);
    free(T->keys);
    free(T->part);
    free(T->tot);
    free(T->bn_a);
    free(T->bn_c);
}

/* Chunk c of the pass: its rows' inputs into s->X, and their targets, weights and dropout
 * keys into slot `slot` of the trainer's buffers. Returns the chunk's row count. */
static size_t chunk_input(struct trainer *T, struct ws *s, size_t slot, size_t c)
{
    size_t a = c * NN_CHUNK, cnt = T->n - a < NN_CHUNK ? T->n - a : NN_CHUNK;
    const size_t *rows = T->rows ? T->rows + T->first + a : NULL;
    size_t base = T->first + a;
    fill_rows(T->m, T->x, rows, base, cnt, s->X);
    double *yb = T->ybuf + slot * NN_CHUNK, *wb = T->w ? T->wbuf + slot * NN_CHUNK : NULL;
    uint64_t *keys = T->keys + slot * NN_CHUNK;
    for (size_t i = 0; i < cnt; i++) {
        size_t r = rows ? rows[i] : base + i;
        yb[i] = T->y[r];
        if (wb)
            wb[i] = T->w[r];
        keys[i] = row_key(T->p->seed, T->epoch, base + i);
    }
    return cnt;
}

/* The loss of chunk c (cnt rows, inputs in slot) from s->out into closs[c], its
 * predictions into pred, and with g (zeroed here) its derivative into s->dA. */
static void chunk_loss(struct trainer *T, struct ws *s, size_t slot, size_t c, size_t cnt, float *g)
{
    size_t base = T->first + c * NN_CHUNK;
    T->closs[c] = loss_rows(T->m, s->out, cnt, T->ybuf + slot * NN_CHUNK,
                            T->w ? T->wbuf + slot * NN_CHUNK : NULL, T->p->pos_weight,
                            1.0 / (double)T->n, g ? s->dA : NULL, T->pred ? T->pred + base : NULL);
    if (g)
        memset(g, 0, T->m->nparams * sizeof(float));
}

static void chunk_job(void *arg, int tid, size_t c)
{
    struct trainer *T = arg;
    const struct nn *m = T->m;
    struct ws *s = &T->ws[tid];
    size_t cnt = chunk_input(T, s, (size_t)tid, c);
    int drop = T->train && T->p->dropout > 0;
    forward(m, s, cnt, drop ? T->keys + (size_t)tid * NN_CHUNK : NULL, drop ? T->p->dropout : 0);
    float *g = T->train ? T->cgrad + c * m->nparams : NULL;
    chunk_loss(T, s, (size_t)tid, c, cnt, g);
    if (g)
        backward(m, s, cnt, g);
}

/* --- batch normalisation's training pass ------------------------------------------------ */

/* With batch statistics, a layer of one chunk needs every chunk's previous layer: bn_pass
 * runs each layer's step on all the chunks of the batch (each with its own workspace), sums
 * the chunks' partial sums in chunk order between the steps, and goes on. */
enum { BN_LINEAR, BN_ACTIVATE, BN_BACK, BN_NORM_BACK };

/* Partial column sums of an n x w block: sums[k] += z, sums[w + k] += z z (or z zb with zb). */
static void column_sums(const float *z, const float *zb, size_t n, size_t w, double *sums)
{
    memset(sums, 0, 2 * w * sizeof(double));
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < w; k++) {
            double v = z[r * w + k];
            sums[k] += v;
            sums[w + k] += v * (zb ? zb[r * w + k] : v);
        }
}

static void bn_job(void *arg, int tid, size_t c)
{
    (void)tid;
    struct trainer *T = arg;
    const struct nn *m = T->m;
    struct ws *s = &T->ws[c];
    int l = T->layer, drop = T->p->dropout > 0;
    size_t cnt = T->n - c * NN_CHUNK < NN_CHUNK ? T->n - c * NN_CHUNK : NN_CHUNK;
    double *part = T->part + c * 2 * T->maxw;
    float *g = T->cgrad + c * m->nparams;
    if (T->phase == BN_LINEAR) {
        if (l == 0)
            chunk_input(T, s, c, c);
        dense_forward(m, s, cnt, l);
        if (l < m->nhidden) {
            column_sums(s->act[l + 1], NULL, cnt, (size_t)m->hidden[l], part);
        } else {
            chunk_loss(T, s, c, c, cnt, g);
        }
    } else if (T->phase == BN_ACTIVATE) {
        hidden_activate(m, s, cnt, l, drop ? T->keys + c * NN_CHUNK : NULL, T->p->dropout,
                        T->bn_a + m->bn_off[l], T->bn_c + m->bn_off[l]);
    } else if (T->phase == BN_BACK) {
        dense_backward(m, s, cnt, l, g);
        if (l == 0)
            return;
        /* d/d(gamma xhat + beta) of layer l - 1; its sums are gamma's and beta's gradient */
        size_t w = (size_t)m->hidden[l - 1];
        hidden_backward(m, s, cnt, l - 1);
        column_sums(dbuf(m, s, l - 1), s->xhat[l - 1], cnt, w, part);
        for (size_t k = 0; k < w; k++) {
            g[m->o_beta[l - 1] + k] += (float)part[k];
            g[m->o_gamma[l - 1] + k] += (float)part[w + k];
        }
    } else { /* BN_NORM_BACK: from d/d(gamma xhat + beta) to d/dz for layer l */
        size_t w = (size_t)m->hidden[l];
        const float *gamma = m->w + m->o_gamma[l], *a = T->bn_a + m->bn_off[l];
        const float *xh = s->xhat[l];
        float *d = dbuf(m, s, l);
        double inv_n = 1.0 / (double)T->n;
        for (size_t r = 0; r < cnt; r++)
            for (size_t k = 0; k < w; k++) {
                double v = d[r * w + k] - T->tot[k] * inv_n - xh[r * w + k] * T->tot[w + k] * inv_n;
                d[r * w + k] = (float)(gamma[k] * a[k] * v);
            }
    }
}

/* The chunks' partial sums (chunk order) into T->tot. */
static void bn_totals(struct trainer *T, size_t nchunks, size_t w)
{
    memset(T->tot, 0, 2 * w * sizeof(double));
    for (size_t c = 0; c < nchunks; c++)
        for (size_t k = 0; k < 2 * w; k++)
            T->tot[k] += T->part[c * 2 * T->maxw + k];
}

/* Hidden layer l's batch mean and (biased) variance from the chunks' sums: its
 * coefficients in bn_a, bn_c and, training, the running statistics moved towards them
 * (PyTorch's: the unbiased variance; a batch of one row leaves the variance alone). */
static void bn_batch_stats(struct trainer *T, size_t nchunks, int l)
{
    const struct nn *m = T->m;
    size_t w = (size_t)m->hidden[l], o = m->bn_off[l];
    bn_totals(T, nchunks, w);
    double N = (double)T->n;
    for (size_t k = 0; k < w; k++) {
        double mean = T->tot[k] / N, var = T->tot[w + k] / N - mean * mean;
        var = var > 0 ? var : 0;
        double a = 1.0 / sqrt(var + NN_BN_EPS);
        T->bn_a[o + k] = (float)a;
        T->bn_c[o + k] = (float)(-mean * a);
        if (!T->update_running)
            continue;
        /* the running statistics are state, not parameters: moved here, once a batch */
        m->bn_mean[o + k] += NN_BN_MOMENTUM * ((float)mean - m->bn_mean[o + k]);
        if (T->n > 1)
            m->bn_var[o + k] += NN_BN_MOMENTUM * ((float)(var * N / (N - 1)) - m->bn_var[o + k]);
    }
}

/* A training pass (n rows from first) of a model with batch normalisation, the gradient
 * of each chunk into cgrad; returns the loss sum. */
static double bn_pass(struct pool *pool, struct trainer *T)
{
    const struct nn *m = T->m;
    size_t nchunks = (T->n + NN_CHUNK - 1) / NN_CHUNK;
    for (int l = 0; l <= m->nhidden; l++) {
        T->layer = l;
        T->phase = BN_LINEAR;
        pool_for(pool, 1, nchunks, bn_job, T);
        if (l == m->nhidden)
            break;
        bn_batch_stats(T, nchunks, l);
        T->phase = BN_ACTIVATE;
        pool_for(pool, 1, nchunks, bn_job, T);
    }
    for (int l = m->nhidden; l >= 0; l--) {
        T->layer = l;
        T->phase = BN_BACK;
        pool_for(pool, 1, nchunks, bn_job, T);
        if (l == 0)
            break;
        bn_totals(T, nchunks, (size_t)m->hidden[l - 1]);
        T->layer = l - 1;
        T->phase = BN_NORM_BACK;
        pool_for(pool, 1, nchunks, bn_job, T);
    }
    double s = 0;
    for (size_t c = 0; c < nchunks; c++)
        s += T->closs[c];
    return s;
}

/* nn_loss_grad with batch normalisation: the rows of x as one batch (bn_pass, one thread,
 * without dropout; the running statistics stay). */
static int bn_loss_grad(const struct nn *m, const struct fmatrix *x, const double *y,
                        const double *w, double pos_weight, double *loss, float *grad)
{
    size_t n = x->nrows, nchunks = (n + NN_CHUNK - 1) / NN_CHUNK;
    struct nn_params p;
    nn_params_default(&p, m->task);
    p.pos_weight = pos_weight;
    struct trainer T = {.m = m, .p = &p, .x = x, .y = y, .w = w, .n = n, .train = 1};
    int rv = trainer_alloc(&T, m, nchunks, nchunks, nchunks);
    if (rv == 0) {
        *loss = bn_pass(NULL, &T) / (double)n;
        for (size_t i = 0; grad != NULL && i < m->nparams; i++) {
            grad[i] = 0;
            for (size_t c = 0; c < nchunks; c++)
                grad[i] += T.cgrad[c * m->nparams + i];
        }
    }
    trainer_free(&T);
    return rv;
}

int nn_loss_grad(const struct nn *m, const struct fmatrix *x, const double *y, const double *w,
                 double pos_weight, double *loss, float *grad)
{
    if (x->ncols != m->ncols || (m->batch_norm && x->nrows == 0))
        return AIOPS_EINVAL;
    if (m->batch_norm)
        return bn_loss_grad(m, x, y, w, pos_weight, loss, grad);
    struct ws s;
    size_t n = x->nrows;
    int rv = ws_alloc(m, NN_CHUNK, 1, &s);
    if (rv)
        return rv;
    if (grad)
        memset(grad, 0, m->nparams * sizeof(float));
    double total = 0;
    for (size_t a = 0; a < n; a += NN_CHUNK) {
        size_t c = n - a < NN_CHUNK ? n - a : NN_CHUNK;
        fill_rows(m, x, NULL, a, c, s.X);
        forward(m, &s, c, NULL, 0);
        total += loss_rows(m, s.out, c, y + a, w ? w + a : NULL, pos_weight, 1.0 / (double)n,
                           grad ? s.dA : NULL, NULL);
        if (grad)
            backward(m, &s, c, grad);
    }
    *loss = total / (double)n;
    ws_free(&s);
    return 0;
}

struct reduce_job {
    float *cgrad, *grad;
    size_t nparams, nchunks;
};

#define REDUCE_BLOCK 8192

static void reduce_job_fn(void *arg, int tid, size_t b)
{
    (void)tid;
    struct reduce_job *R = arg;
    size_t lo = b * REDUCE_BLOCK,
           hi = lo + REDUCE_BLOCK < R->nparams ? lo + REDUCE_BLOCK : R->nparams;
    memcpy(R->grad + lo, R->cgrad + lo, (hi - lo) * sizeof(float));
    for (size_t c = 1; c < R->nchunks; c++) {
        const float *src = R->cgrad + c * R->nparams;
        for (size_t i = lo; i < hi; i++)
            R->grad[i] += src[i];
    }
}

/* Runs the pass set in T (n rows from first) on the pool; returns the loss sum. */
static double run_pass(struct pool *pool, struct trainer *T)
{
    size_t nchunks = (T->n + NN_CHUNK - 1) / NN_CHUNK;
    pool_for(pool, 0, nchunks, chunk_job, T);
    double s = 0;
    for (size_t c = 0; c < nchunks; c++)
        s += T->closs[c];
    return s;
}

struct metrics {
    double loss, metric, accuracy;
};

/* Metrics of a pass's per-row predictions against y (rows: the order they were made in). */
static int pass_metrics(const struct nn *m, const double *pred, const double *y, const size_t *rows,
                        size_t n, double *score, uint8_t *lab, struct metrics *out)
{
    out->metric = out->accuracy = NAN;
    if (m->task == NN_BINARY) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            double yy = y[rows ? rows[i] : i];
            score[i] = pred[i];
            lab[i] = yy == 1 ? 1 : 0;
            ok += (pred[i] >= 0.5) == (yy == 1);
        }
        out->accuracy = (double)ok / (double)n;
        return stats_roc_auc(score, lab, n, &out->metric);
    }
    if (m->task == NN_MULTICLASS) {
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += pred[i] == y[rows ? rows[i] : i];
        out->accuracy = out->metric = (double)ok / (double)n;
        return 0;
    }
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double d = pred[i] - y[rows ? rows[i] : i];
        ss += d * d;
    }
    out->metric = sqrt(ss / (double)n);
    return 0;
}

/* The training state a checkpoint holds, besides the weights in m. */
struct state {
    int epoch; /* epochs finished */
    uint64_t step;
    float *am, *av, *best;
    float *best_run; /* batch normalisation: the best epoch's running mean, then variance */
    double best_loss;
    int best_epoch, bad_epochs;
};

/* The float arrays of a checkpoint after the counters: weights, Adam's moments and the best
 * weights (nparams each), then with batch normalisation the running mean and variance and
 * the best epoch's (bn_total, bn_total, 2 bn_total). Returns how many. */
static int state_arrays(const struct nn *m, const struct state *S, float *arrs[7], size_t len[7])
{
    float *a[7] = {m->w, S->am, S->av, S->best, m->bn_mean, m->bn_var, S->best_run};
    size_t np = m->nparams, nb = m->bn_total;
    size_t l[7] = {np, np, np, np, nb, nb, 2 * nb};
    memcpy(arrs, a, sizeof a);
    memcpy(len, l, sizeof l);
    return m->batch_norm ? 7 : 4;
}

static int state_save(const struct nn *m, const struct state *S, struct buf *b)
{
    int rv = bytes_put_u32(b, CKPT_MAGIC);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->epoch);
    rv = rv ? rv : bytes_put_u64(b, S->step);
    rv = rv ? rv : bytes_put_u64(b, m->nparams);
    rv = rv ? rv : bytes_put_f64(b, S->best_loss);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->best_epoch);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->bad_epochs);
    float *arrs[7];
    size_t len[7];
    int na = state_arrays(m, S, arrs, len);
    for (int i = 0; i < na && rv == 0; i++)
        rv = buf_append(b, arrs[i], len[i] * sizeof(float));
    if (rv == 0)
        rv = bytes_put_u32(b, crc32c(0, b->data, b->len));
    return rv;
}

static int state_load(struct nn *m, struct state *S, const uint8_t *p, size_t n, int epochs)
{
    if (n < 4 || bytes_load_le32(p + n - 4) != crc32c(0, p, n - 4))
        return AIOPS_ECORRUPT;
    struct bytes_reader r = {p, n - 4, 0, 0};
    if (bytes_get_u32(&r) != CKPT_MAGIC)
        return AIOPS_ECORRUPT;
    uint32_t epoch = bytes_get_u32(&r);
    uint64_t step = bytes_get_u64(&r), np = bytes_get_u64(&r);
    double best_loss = bytes_get_f64(&r);
    uint32_t be = bytes_get_u32(&r), bad = bytes_get_u32(&r);
    if (r.bad || np != m->nparams || epoch > (uint32_t)epochs || be > epoch || bad > epoch)
        return AIOPS_ECORRUPT;
    float *arrs[7];
    size_t len[7];
    int na = state_arrays(m, S, arrs, len);
    for (int i = 0; i < na; i++) {
        const uint8_t *raw = bytes_get_raw(&r, len[i] * sizeof(float));
        if (raw == NULL)
            return AIOPS_ECORRUPT;
        memcpy(arrs[i], raw, len[i] * sizeof(float));
    }
    if (r.off != r.n)
        return AIOPS_ECORRUPT;
    S->epoch = (int)epoch;
    S->step = step;
    S->best_loss = best_loss;
    S->best_epoch = (int)be;
    S->bad_epochs = (int)bad;
    return 0;
}

/* best = the running mean, then variance (nb each). */
static void bn_running_copy(float *best, const float *mean, const float *var, size_t nb)
{
    if (nb == 0)
        return;
    memcpy(best, mean, nb * sizeof(float));
    memcpy(best + nb, var, nb * sizeof(float));
}

static void bn_running_restore(struct nn *m, const float *best)
{
    if (m->bn_total == 0)
        return;
    memcpy(m->bn_mean, best, m->bn_total * sizeof(float));
    memcpy(m->bn_var, best + m->bn_total, m->bn_total * sizeof(float));
}

static void adam_step(struct nn *m, const struct nn_params *p, struct state *S, const float *g)
{
    S->step++;
    double bc1 = 1.0 - pow(p->beta1, (double)S->step), bc2 = 1.0 - pow(p->beta2, (double)S->step);
    float b1 = (float)p->beta1, b2 = (float)p->beta2, wd = (float)p->weight_decay;
    float step = (float)(p->learning_rate / bc1), isb2 = (float)(1.0 / sqrt(bc2));
    float eps = (float)p->eps;
    float *w = m->w, *am = S->am, *av = S->av;
    for (size_t i = 0; i < m->nparams; i++) {
        float gi = g[i] + wd * w[i];
        am[i] = b1 * am[i] + (1.0f - b1) * gi;
        av[i] = b2 * av[i] + (1.0f - b2) * gi * gi;
        w[i] -= step * am[i] / (sqrtf(av[i]) * isb2 + eps);
    }
}

/* The epoch's order of the rows: a shuffle drawn from the seed and the epoch alone, so that a
 * resumed run draws what the interrupted one would have. */
static void epoch_order(size_t *order, size_t n, uint64_t seed, int epoch)
{
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed ^ ((uint64_t)(unsigned)(epoch + 1) * 0x2545f4914f6cdd1dull));
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rand_xoshiro_below(&rng, (uint64_t)i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

/* The epoch's progress report; the callback's answer (non-zero: cancel). */
static int report_epoch(const struct nn *m, const struct nn_params *p, int epoch,
                        const struct metrics *tm, const struct metrics *vm,
                        train_progress_fn progress, void *arg)
{
    if (progress == NULL)
        return 0;
    const char *mname = m->task == NN_BINARY       ? "auc"
                        : m->task == NN_MULTICLASS ? "accuracy"
                                                   : "rmse";
    struct train_progress pr = {.iteration = epoch + 1,
                                .total = p->epochs,
                                .train_loss = tm->loss,
                                .valid_loss = vm->loss,
                                .train_metric = tm->metric,
                                .valid_metric = vm->metric,
                                .train_accuracy = tm->accuracy,
                                .valid_accuracy = vm->accuracy,
                                .has_accuracy = m->task != NN_REGRESSION,
                                .metric_name = mname};
    return progress(arg, &pr);
}

int nn_train(const struct fmatrix *x, const double *y, const double *w, const struct fmatrix *vx,
             const double *vy, const struct nn_params *p, train_progress_fn progress, void *arg,
             const struct nn_checkpoint *ckpt, struct nn **out, int *epochs_run,
             struct aiops_error *err)
{
    *out = NULL;
    *epochs_run = 0;
    struct nn *m = NULL;
    int rv = nn_init(x, y, w, p, &m, err);
    if (rv)
        return rv;
    if (vx != NULL &&
        (vx->ncols != x->ncols || vy == NULL || check_targets(p, vy, NULL, vx->nrows, err) != 0)) {
        nn_free(m);
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "validation rows do not fit");
    }
    size_t n = x->nrows, nv = vx ? vx->nrows : 0;
    size_t bs = (size_t)p->batch_size < n ? (size_t)p->batch_size : n;
    size_t nchunks = (bs + NN_CHUNK - 1) / NN_CHUNK;
    size_t big = n > nv ? n : nv;
    struct pool *pool = NULL;
    rv = pool_create(p->threads, &pool);
    int nth = pool ? pool_threads(pool) : 1;
    struct trainer T;
    memset(&T, 0, sizeof T);
    struct state S;
    memset(&S, 0, sizeof S);
    size_t *order = NULL;
    double *pred = NULL, *score = NULL;
    uint8_t *lab = NULL;
    float *grad = NULL;
    if (rv == 0) {
        S.am = calloc(m->nparams, sizeof(float));
        S.av = calloc(m->nparams, sizeof(float));
        S.best = malloc(m->nparams * sizeof(float));
        S.best_run = malloc((2 * m->bn_total + 1) * sizeof(float));
        grad = malloc(m->nparams * sizeof(float));
        order = malloc(n * sizeof *order);
        pred = malloc(big * sizeof *pred);
        score = malloc(big * sizeof *score);
        lab = malloc(big);
        if (!S.am || !S.av || !S.best || !S.best_run || !grad || !order || !pred || !score || !lab)
            rv = AIOPS_ENOMEM;
    }
    /* with batch normalisation a workspace per chunk of a batch (bn_pass) */
    size_t nws = m->batch_norm && nchunks > (size_t)nth ? nchunks : (size_t)nth;
    if (rv == 0)
        rv = trainer_alloc(&T, m, nws, nchunks, (big + NN_CHUNK - 1) / NN_CHUNK);
    if (rv == AIOPS_ETOOBIG)
        aiops_error_set(err, rv, "lstm_hidden", "the network's activations do not fit in memory");
    S.best_loss = INFINITY;
    if (rv == 0 && ckpt != NULL && ckpt->resume != NULL) {
        rv = state_load(m, &S, ckpt->resume, ckpt->resume_len, p->epochs);
        if (rv)
            aiops_error_set(err, rv, NULL, "the checkpoint does not fit this run");
    }
    /* one BLAS thread per call: the pool runs one chunk per thread, and OpenBLAS's own
       threads would fight them for the same cores */
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    T.m = m;
    T.p = p;
    T.update_running = 1;
    int stop = 0;
    for (int epoch = S.epoch; rv == 0 && !stop && epoch < p->epochs; epoch++) {
        epoch_order(order, n, p->seed, epoch);
        T.x = x, T.y = y, T.w = w, T.rows = order, T.epoch = epoch, T.train = 1, T.pred = pred;
        double train_loss = 0;
        for (size_t a = 0; a < n && rv == 0; a += bs) {
            T.first = a;
            T.n = n - a < bs ? n - a : bs;
            train_loss += m->batch_norm ? bn_pass(pool, &T) : run_pass(pool, &T);
            struct reduce_job R = {T.cgrad, grad, m->nparams, (T.n + NN_CHUNK - 1) / NN_CHUNK};
            pool_for(pool, 0, (m->nparams + REDUCE_BLOCK - 1) / REDUCE_BLOCK, reduce_job_fn, &R);
            adam_step(m, p, &S, grad);
            struct train_progress tick = {.iteration = -1, .total = p->epochs};
            if (progress && progress(arg, &tick))
                rv = AIOPS_ECANCELED;
        }
        if (rv)
            break;
        struct metrics tm = {train_loss / (double)n, NAN, NAN}, vm = {NAN, NAN, NAN};
        rv = pass_metrics(m, pred, y, order, n, score, lab, &tm);
        if (rv == 0 && vx != NULL) {
            T.x = vx, T.y = vy, T.w = NULL, T.rows = NULL, T.train = 0, T.first = 0, T.n = nv;
            vm.loss = run_pass(pool, &T) / (double)nv;
            rv = pass_metrics(m, pred, vy, NULL, nv, score, lab, &vm);
        }
        if (rv)
            break;
        S.epoch = epoch + 1;
        if (vx != NULL && p->early_stopping > 0) {
            if (vm.loss < S.best_loss) {
                S.best_loss = vm.loss;
                S.best_epoch = epoch + 1;
                S.bad_epochs = 0;
                memcpy(S.best, m->w, m->nparams * sizeof(float));
                bn_running_copy(S.best_run, m->bn_mean, m->bn_var, m->bn_total);
            } else if (++S.bad_epochs >= p->early_stopping) {
                stop = 1;
            }
        }
        /* the epoch is reported before its checkpoint is kept: a run resumed from the
         * checkpoint goes on after this epoch, so its report must not come later */
        if (report_epoch(m, p, epoch, &tm, &vm, progress, arg)) {
            rv = AIOPS_ECANCELED;
        } else if (ckpt != NULL && ckpt->save != NULL) {
            struct buf b = BUF_INIT;
            if (state_save(m, &S, &b) == 0)
                (void)ckpt->save(ckpt->arg, epoch + 1, (const uint8_t *)b.data, b.len);
            buf_free(&b);
        }
    }
    openblas_set_num_threads(blas_threads);
    if (rv == 0 && vx != NULL && p->early_stopping > 0 && S.best_epoch > 0) {
        memcpy(m->w, S.best, m->nparams * sizeof(float));
        bn_running_restore(m, S.best_run);
    }
    *epochs_run = S.epoch;
    trainer_free(&T);
    free(S.am);
    free(S.av);
    free(S.best);
    free(S.best_run);
    free(grad);
    free(order);
    free(pred);
    free(score);
    free(lab);
    pool_free(pool);
    if (rv) {
        nn_free(m);
        return rv;
    }
    *out = m;
    return 0;
}

/* --- the model file -------------------------------------------------------------------- */

int nn_save(const struct nn *m, struct buf *b)
{
    int rv = bytes_put_u32(b, NN_MAGIC);
    /* head[5], flags: 1 batch normalisation (0 in the files made before it) */
    uint32_t head[6] = {(uint32_t)m->task,    (uint32_t)m->nclasses, (uint32_t)m->lstm_hidden,
                        (uint32_t)m->nhidden, (uint32_t)m->ncols,    m->batch_norm ? 1u : 0u};
    for (int i = 0; i < 6 && rv == 0; i++)
        rv = bytes_put_u32(b, head[i]);
    for (int l = 0; l < m->nhidden && rv == 0; l++)
        rv = bytes_put_u32(b, (uint32_t)m->hidden[l]);
    rv = rv ? rv : bytes_put_f64(b, m->dropout);
    rv = rv ? rv : bytes_put_f64(b, m->y_mean);
    rv = rv ? rv : bytes_put_f64(b, m->y_scale);
    for (size_t j = 0; j < m->ncols && rv == 0; j++) {
        rv = bytes_put_u8(b, m->is_cat[j]);
        rv = rv ? rv : bytes_put_u32(b, m->ncat[j]);
        rv = rv ? rv : bytes_put_f64(b, m->mean[j]);
        rv = rv ? rv : bytes_put_f64(b, m->inv_scale[j]);
    }
    rv = rv ? rv : bytes_put_u64(b, m->nparams);
    rv = rv ? rv : buf_append(b, m->w, m->nparams * sizeof(float));
    if (m->batch_norm) {
        rv = rv ? rv : buf_append(b, m->bn_mean, m->bn_total * sizeof(float));
        rv = rv ? rv : buf_append(b, m->bn_var, m->bn_total * sizeof(float));
    }
    return rv;
}

int nn_load(const uint8_t *p, size_t n, struct nn **out)
{
    *out = NULL;
    struct bytes_reader r = {p, n, 0, 0};
    if (bytes_get_u32(&r) != NN_MAGIC)
        return AIOPS_ECORRUPT;
    uint32_t head[6];
    for (int i = 0; i < 6; i++)
        head[i] = bytes_get_u32(&r);
    if (r.bad || head[0] > NN_REGRESSION || head[2] > 4096 || head[3] > NN_MAX_LAYERS ||
        head[4] == 0 || head[4] > 1000000 || head[5] > 1 || (head[5] && head[2] > 0) ||
        (head[0] == NN_MULTICLASS && (head[1] < 2 || head[1] > 100000)))
        return AIOPS_ECORRUPT;
    struct nn *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->task = (enum nn_task)head[0];
    m->nclasses = (int)head[1];
    m->nout = m->task == NN_MULTICLASS ? m->nclasses : 1;
    m->lstm_hidden = (int)head[2];
    m->nhidden = (int)head[3];
    m->ncols = head[4];
    m->batch_norm = head[5] == 1;
    int rv = 0;
    for (int l = 0; l < m->nhidden; l++) {
        uint32_t h = bytes_get_u32(&r);
        if (h < 1 || h > NN_MAX_WIDTH)
            rv = AIOPS_ECORRUPT;
        m->hidden[l] = (int)h;
    }
    m->dropout = bytes_get_f64(&r);
    m->y_mean = bytes_get_f64(&r);
    m->y_scale = bytes_get_f64(&r);
    size_t c = m->ncols;
    if (rv == 0 && (r.bad || c > (r.n - r.off) / 21))
        rv = AIOPS_ECORRUPT;
    if (rv == 0) {
        m->is_cat = calloc(c, 1);
        m->ncat = calloc(c, sizeof *m->ncat);
        m->pos = calloc(c, sizeof *m->pos);
        m->mean = calloc(c, sizeof *m->mean);
        m->inv_scale = calloc(c, sizeof *m->inv_scale);
        if (!m->is_cat || !m->ncat || !m->pos || !m->mean || !m->inv_scale)
            rv = AIOPS_ENOMEM;
    }
    size_t D = 0;
    for (size_t j = 0; rv == 0 && j < c; j++) {
        m->is_cat[j] = bytes_get_u8(&r);
        m->ncat[j] = bytes_get_u32(&r);
        m->mean[j] = bytes_get_f64(&r);
        m->inv_scale[j] = bytes_get_f64(&r);
        m->pos[j] = D;
        if (m->is_cat[j] > 1 || (!m->is_cat[j] && m->ncat[j] != 0) || m->ncat[j] > 1000000 ||
            !isfinite(m->mean[j]) || !isfinite(m->inv_scale[j]))
            rv = AIOPS_ECORRUPT;
        D += m->is_cat[j] ? m->ncat[j] : 1;
    }
    m->D = D;
    if (rv == 0 && (D == 0 || D > 1000000 || !(m->dropout >= 0 && m->dropout < 1) ||
                    !isfinite(m->y_mean) || !(m->y_scale > 0) || !isfinite(m->y_scale)))
        rv = AIOPS_ECORRUPT;
    if (rv == 0 && layout(m) != 0)
        rv = AIOPS_ECORRUPT;
    uint64_t np = rv == 0 ? bytes_get_u64(&r) : 0;
    if (rv == 0 && (r.bad || np != m->nparams))
        rv = AIOPS_ECORRUPT;
    const uint8_t *raw = rv == 0 ? bytes_get_raw(&r, m->nparams * sizeof(float)) : NULL;
    size_t nb = m->batch_norm ? m->bn_total : 0;
    const uint8_t *run = rv == 0 ? bytes_get_raw(&r, 2 * nb * sizeof(float)) : NULL;
    if (rv == 0 && (raw == NULL || run == NULL || r.off != r.n))
        rv = AIOPS_ECORRUPT;
    if (rv == 0 && ((m->w = malloc(m->nparams * sizeof(float))) == NULL ||
                    (m->batch_norm && bn_alloc(m) != 0)))
        rv = AIOPS_ENOMEM;
    if (rv == 0) {
        memcpy(m->w, raw, m->nparams * sizeof(float));
        if (nb > 0) {
            memcpy(m->bn_mean, run, nb * sizeof(float));
            memcpy(m->bn_var, run + nb * sizeof(float), nb * sizeof(float));
        }
    }
    for (size_t i = 0; rv == 0 && i < m->nparams; i++)
        if (!isfinite(m->w[i]))
            rv = AIOPS_ECORRUPT; /* training never makes one: the bytes are damaged */
    for (size_t i = 0; rv == 0 && i < nb; i++)
        if (!isfinite(m->bn_mean[i]) || !(m->bn_var[i] >= 0) || !isfinite(m->bn_var[i]))
            rv = AIOPS_ECORRUPT;
    if (rv) {
        nn_free(m);
        return rv;
    }
    *out = m;
    return 0;
}
