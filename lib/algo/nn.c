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
    vi16 below = x < lo, above = x > hi;
    x = (vf16)((below & (vi16)lo) | (~below & (vi16)x));
    x = (vf16)((above & (vi16)hi) | (~above & (vi16)x));
    vf16 n = (x * 1.44269504f + round) - round; /* to nearest: 1.5 x 2^23 drops the fraction */
    vf16 f = x - n * 0.693145752f - n * 1.42860677e-6f; /* ln 2 in two parts */
    vf16 p = 1.0f + f * (1.0f + f * (0.5f + f * (0.166666672f +
                                                 f * (0.0416666418f + f * (0.00833336823f +
                                                                           f * 0.00138878601f)))));
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
 * gate values; c1 = f c0 + i g, h1 = o tanh(c1). h1's rows are ldh apart. */
NN_INLINE void gates_forward_body(size_t n, size_t H, float *G, const float *c0, float *c1,
                                  float *h1, size_t ldh)
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
            tc = og * tc;
            vstore(h1 + r * ldh + k, &tc, w);
        }
    }
}

/* One step backward for n rows: from the step's gate values G, cell states c0 (before) and
 * c1 (after), d/dh_t in dh and d/dc_t in dc, the gate pre-activations' derivatives into dG
 * (n x 4H) and d/dc_{t-1} into dc. */
NN_INLINE void gates_backward_body(size_t n, size_t H, const float *G, const float *c0,
                                   const float *c1, const float *dh, float *dc, float *dG)
{
    for (size_t r = 0; r < n; r++) {
        const float *g = G + r * 4 * H;
        float *dg = dG + r * 4 * H;
        for (size_t k = 0; k < H; k += VW) {
            size_t w = H - k < VW ? H - k : VW, o = r * H + k;
            vf16 ig, fg, gg, og, tc, dhr, dct, cprev, d;
            vload(&ig, g + k, w), vload(&fg, g + H + k, w);
            vload(&gg, g + 2 * H + k, w), vload(&og, g + 3 * H + k, w);
            vload(&tc, c1 + o, w), vload(&dhr, dh + o, w), vload(&dct, dc + o, w);
            vload(&cprev, c0 + o, w);
            vtanh(&tc);
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

typedef void (*gates_forward_fn)(size_t, size_t, float *, const float *, float *, float *,
                                 size_t);
typedef void (*gates_backward_fn)(size_t, size_t, const float *, const float *, const float *,
                                  const float *, float *, float *);

#define GATE_VARIANTS(SUFFIX, ATTR)                                                            \
    ATTR static void gates_forward_##SUFFIX(size_t n, size_t H, float *G, const float *c0,     \
                                            float *c1, float *h1, size_t ldh)                  \
    {                                                                                          \
        gates_forward_body(n, H, G, c0, c1, h1, ldh);                                          \
    }                                                                                          \
    ATTR static void gates_backward_##SUFFIX(size_t n, size_t H, const float *G,               \
                                             const float *c0, const float *c1, const float *dh, \
                                             float *dc, float *dG)                             \
    {                                                                                          \
        gates_backward_body(n, H, G, c0, c1, dh, dc, dG);                                      \
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
    float *X, *hs, *cs, *hlast, *gates, *dG, *dh, *dc;
    float *act[NN_MAX_LAYERS + 1], *mask[NN_MAX_LAYERS];
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
    size_t sizes[9 + 2 * NN_MAX_LAYERS];
    float **ptrs[9 + 2 * NN_MAX_LAYERS];
    size_t k = 0;
    sizes[k] = cap * T, ptrs[k++] = &s->X;
    if (H > 0) {
        sizes[k] = steps * cap * (H + 2), ptrs[k++] = &s->hs;
        sizes[k] = steps * cap * H, ptrs[k++] = &s->cs;
        sizes[k] = cap * H, ptrs[k++] = &s->hlast;
        sizes[k] = (history ? T : 1) * cap * 4 * H, ptrs[k++] = &s->gates;
        sizes[k] = cap * 4 * H, ptrs[k++] = &s->dG;
        sizes[k] = cap * H, ptrs[k++] = &s->dc;
    }
    for (int l = 0; l < m->nhidden; l++) {
        sizes[k] = cap * (size_t)m->hidden[l], ptrs[k++] = &s->act[l + 1];
        sizes[k] = cap * (size_t)m->hidden[l], ptrs[k++] = &s->mask[l];
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

/* Forward pass of X (n rows, already filled) to s->out; keys[n] (NULL: no dropout). */
static void forward(const struct nn *m, struct ws *s, size_t n, const uint64_t *keys,
                    double dropout)
{
    const float *W = m->w;
    int Hi = m->lstm_hidden;
    if (Hi > 0) {
        size_t H = (size_t)Hi, HA = H + 2, H4 = 4 * H, T = m->D, cap = s->cap;
        const float *waug = W + m->o_wih; /* rows: w_ih, w_hh, bias */
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)H4, (int)HA, 1.0f,
                        A, (int)HA, waug, (int)H4, 0.0f, G, (int)H4);
            s->kern.forward(n, H, G, cp, cn, An + 1, HA);
        }
        const float *hl = s->hs + (s->history ? T : (T & 1)) * cap * HA + 1;
        for (size_t r = 0; r < n; r++)
            memcpy(s->hlast + r * H, hl + r * HA, H * sizeof(float));
    }
    for (int l = 0; l <= m->nhidden; l++) {
        int in = m->in_dim[l], out = m->out_dim[l];
        float *Z = l < m->nhidden ? s->act[l + 1] : s->out;
        const float *b = W + m->o_b[l];
        for (size_t r = 0; r < n; r++)
            memcpy(Z + r * (size_t)out, b, (size_t)out * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, out, in, 1.0f, s->act[l], in,
                    W + m->o_w[l], out, 1.0f, Z, out);
        if (l == m->nhidden)
            break;
        float *M = s->mask[l];
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

/* Backward pass from d(loss)/d(out) in s->dA (n rows): adds the gradient into g. */
static void backward(const struct nn *m, struct ws *s, size_t n, float *g)
{
    const float *W = m->w;
    float *cur = s->dA, *prev = s->dB;
    for (int l = m->nhidden; l >= 0; l--) {
        int in = m->in_dim[l], out = m->out_dim[l];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, (int)n, 1.0f, s->act[l], in,
                    cur, out, 1.0f, g + m->o_w[l], out);
        float *gb = g + m->o_b[l];
        for (size_t r = 0; r < n; r++)
            for (int k = 0; k < out; k++)
                gb[k] += cur[r * (size_t)out + (size_t)k];
        if (l == 0 && m->lstm_hidden == 0)
            break;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, in, out, 1.0f, cur, out,
                    W + m->o_w[l], out, 0.0f, prev, in);
        if (l > 0) {
            const float *M = s->mask[l - 1];
            for (size_t i = 0; i < n * (size_t)in; i++)
                prev[i] *= M[i];
        }
        float *t = cur;
        cur = prev;
        prev = t;
    }
    if (m->lstm_hidden == 0)
        return;
    /* backpropagation through time: cur holds d/dh_T */
    size_t H = (size_t)m->lstm_hidden, HA = H + 2, H4 = 4 * H, T = m->D, cap = s->cap;
    float *dh = cur, *dc = s->dc, *dG = s->dG, *dhp = prev;
    const float *whh = W + m->o_whh;
    float *gaug = g + m->o_wih;
    memset(dc, 0, n * H * sizeof(float));
    for (size_t t = T; t-- > 0;) {
        const float *G = s->gates + t * cap * H4;
        const float *c1 = s->cs + (t + 1) * cap * H, *c0 = s->cs + t * cap * H;
        s->kern.backward(n, H, G, c0, c1, dh, dc, dG);
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

/* --- initialisation -------------------------------------------------------------------- */

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
    if (rv == 0 && (m->w = malloc(m->nparams * sizeof(float))) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv) {
        nn_free(m);
        return rv;
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

int nn_loss_grad(const struct nn *m, const struct fmatrix *x, const double *y, const double *w,
                 double pos_weight, double *loss, float *grad)
{
    if (x->ncols != m->ncols)
        return AIOPS_EINVAL;
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
    struct ws *ws;       /* per thread */
    float *cgrad;        /* per chunk: nparams */
    double *closs;       /* per chunk */
    double *pred;        /* per row of the pass, at first + i */
    double *ybuf, *wbuf; /* per thread: NN_CHUNK targets and weights in chunk order */
    uint64_t *keys;      /* per thread: NN_CHUNK dropout keys */
};

static void chunk_job(void *arg, int tid, size_t c)
{
    struct trainer *T = arg;
    const struct nn *m = T->m;
    struct ws *s = &T->ws[tid];
    size_t a = c * NN_CHUNK, cnt = T->n - a < NN_CHUNK ? T->n - a : NN_CHUNK;
    const size_t *rows = T->rows ? T->rows + T->first + a : NULL;
    size_t base = T->first + a;
    fill_rows(m, T->x, rows, base, cnt, s->X);
    double *yb = T->ybuf + (size_t)tid * NN_CHUNK,
           *wb = T->w ? T->wbuf + (size_t)tid * NN_CHUNK : NULL;
    uint64_t *keys = T->keys + (size_t)tid * NN_CHUNK;
    for (size_t i = 0; i < cnt; i++) {
        size_t r = rows ? rows[i] : base + i;
        yb[i] = T->y[r];
        if (wb)
            wb[i] = T->w[r];
        keys[i] = row_key(T->p->seed, T->epoch, base + i);
    }
    int drop = T->train && T->p->dropout > 0;
    forward(m, s, cnt, drop ? keys : NULL, drop ? T->p->dropout : 0);
    float *g = T->train ? T->cgrad + c * m->nparams : NULL;
    T->closs[c] = loss_rows(m, s->out, cnt, yb, wb, T->p->pos_weight, 1.0 / (double)T->n,
                            g ? s->dA : NULL, T->pred ? T->pred + base : NULL);
    if (g) {
        memset(g, 0, m->nparams * sizeof(float));
        backward(m, s, cnt, g);
    }
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
    double best_loss;
    int best_epoch, bad_epochs;
};

static int state_save(const struct nn *m, const struct state *S, struct buf *b)
{
    int rv = bytes_put_u32(b, CKPT_MAGIC);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->epoch);
    rv = rv ? rv : bytes_put_u64(b, S->step);
    rv = rv ? rv : bytes_put_u64(b, m->nparams);
    rv = rv ? rv : bytes_put_f64(b, S->best_loss);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->best_epoch);
    rv = rv ? rv : bytes_put_u32(b, (uint32_t)S->bad_epochs);
    const float *arrs[4] = {m->w, S->am, S->av, S->best};
    for (int i = 0; i < 4 && rv == 0; i++)
        rv = buf_append(b, arrs[i], m->nparams * sizeof(float));
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
    float *arrs[4] = {m->w, S->am, S->av, S->best};
    for (int i = 0; i < 4; i++) {
        const uint8_t *raw = bytes_get_raw(&r, m->nparams * sizeof(float));
        if (raw == NULL)
            return AIOPS_ECORRUPT;
        memcpy(arrs[i], raw, m->nparams * sizeof(float));
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
        T.ws = calloc((size_t)nth, sizeof *T.ws);
        T.cgrad = malloc(nchunks * m->nparams * sizeof(float));
        T.closs = calloc((big + NN_CHUNK - 1) / NN_CHUNK, sizeof(double));
        T.ybuf = malloc((size_t)nth * NN_CHUNK * sizeof(double));
        T.wbuf = malloc((size_t)nth * NN_CHUNK * sizeof(double));
        T.keys = malloc((size_t)nth * NN_CHUNK * sizeof(uint64_t));
        S.am = calloc(m->nparams, sizeof(float));
        S.av = calloc(m->nparams, sizeof(float));
        S.best = malloc(m->nparams * sizeof(float));
        grad = malloc(m->nparams * sizeof(float));
        order = malloc(n * sizeof *order);
        pred = malloc(big * sizeof *pred);
        score = malloc(big * sizeof *score);
        lab = malloc(big);
        if (!T.ws || !T.cgrad || !T.closs || !T.ybuf || !T.wbuf || !T.keys || !S.am || !S.av ||
            !S.best || !grad || !order || !pred || !score || !lab)
            rv = AIOPS_ENOMEM;
    }
    for (int t = 0; rv == 0 && t < nth; t++)
        rv = ws_alloc(m, NN_CHUNK, 1, &T.ws[t]);
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
    int stop = 0;
    for (int epoch = S.epoch; rv == 0 && !stop && epoch < p->epochs; epoch++) {
        epoch_order(order, n, p->seed, epoch);
        T.x = x, T.y = y, T.w = w, T.rows = order, T.epoch = epoch, T.train = 1, T.pred = pred;
        double train_loss = 0;
        for (size_t a = 0; a < n && rv == 0; a += bs) {
            T.first = a;
            T.n = n - a < bs ? n - a : bs;
            train_loss += run_pass(pool, &T);
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
            } else if (++S.bad_epochs >= p->early_stopping) {
                stop = 1;
            }
        }
        if (ckpt != NULL && ckpt->save != NULL) {
            struct buf b = BUF_INIT;
            if (state_save(m, &S, &b) == 0)
                (void)ckpt->save(ckpt->arg, epoch + 1, (const uint8_t *)b.data, b.len);
            buf_free(&b);
        }
        if (report_epoch(m, p, epoch, &tm, &vm, progress, arg))
            rv = AIOPS_ECANCELED;
    }
    openblas_set_num_threads(blas_threads);
    if (rv == 0 && vx != NULL && p->early_stopping > 0 && S.best_epoch > 0)
        memcpy(m->w, S.best, m->nparams * sizeof(float));
    *epochs_run = S.epoch;
    for (int t = 0; T.ws != NULL && t < nth; t++)
        ws_free(&T.ws[t]);
    free(T.ws);
    free(T.cgrad);
    free(T.closs);
    free(T.ybuf);
    free(T.wbuf);
    free(T.keys);
    free(S.am);
    free(S.av);
    free(S.best);
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
    uint32_t head[6] = {(uint32_t)m->task,    (uint32_t)m->nclasses, (uint32_t)m->lstm_hidden,
                        (uint32_t)m->nhidden, (uint32_t)m->ncols,    0};
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
        head[4] == 0 || head[4] > 1000000 ||
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
    if (rv == 0 && (raw == NULL || r.off != r.n))
        rv = AIOPS_ECORRUPT;
    if (rv == 0 && (m->w = malloc(m->nparams * sizeof(float))) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv == 0)
        memcpy(m->w, raw, m->nparams * sizeof(float));
    for (size_t i = 0; rv == 0 && i < m->nparams; i++)
        if (!isfinite(m->w[i]))
            rv = AIOPS_ECORRUPT; /* training never makes one: the bytes are damaged */
    if (rv) {
        nn_free(m);
        return rv;
    }
    *out = m;
    return 0;
}
