#include "algo/gbdt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/binning.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "data/colstore.h"
#include "math/stats.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define GBDT_MAGIC 0x54444247u /* "GBDT" little-endian */
#define GBDT_VERSION 1u
#define GBDT_MAX_CLASSES 10000
#define GBDT_MAX_ROUNDS 1000000
#define GBDT_MAX_LEAVES (1 << 20)
/* Nodes smaller than this build their histogram on one thread (the pool's hand-off and the
 * per-thread histograms cost more than they save). */
#define PAR_MIN_ROWS 2048
/* Partitioning does less per row: it is shared out only for larger nodes. */
#define PAR_MIN_PART 16384

struct gbdt {
    enum gbdt_objective obj;
    uint32_t nfeat;
    uint8_t *is_cat; /* nfeat */
    uint32_t *ncat;  /* nfeat */
    uint32_t groups; /* trees per round */
    uint32_t ntrees; /* rounds * groups */
    struct tree *trees;
    double *base; /* groups */
    double learning_rate;
};

void gbdt_free(struct gbdt *g)
{
    if (g == NULL)
        return;
    for (uint32_t i = 0; i < g->ntrees && g->trees != NULL; i++)
        tree_free(&g->trees[i]);
    free(g->trees);
    free(g->is_cat);
    free(g->ncat);
    free(g->base);
    free(g);
}

size_t gbdt_iterations(const struct gbdt *g)
{
    return g->groups ? g->ntrees / g->groups : 0;
}
size_t gbdt_tree_groups(const struct gbdt *g)
{
    return g->groups;
}
size_t gbdt_num_trees(const struct gbdt *g)
{
    return g->ntrees;
}
const struct tree *gbdt_tree(const struct gbdt *g, size_t i)
{
    return i < g->ntrees ? &g->trees[i] : NULL;
}
double gbdt_base_score(const struct gbdt *g, size_t k)
{
    return k < g->groups ? g->base[k] : NAN;
}
enum gbdt_objective gbdt_objective(const struct gbdt *g)
{
    return g->obj;
}
size_t gbdt_num_features(const struct gbdt *g)
{
    return g->nfeat;
}
size_t gbdt_outputs(const struct gbdt *g)
{
    return g->obj == GBDT_BINARY ? 2 : g->obj == GBDT_MULTICLASS ? g->groups : 1;
}

/* ======================================================================================
 * Tree growing
 * ====================================================================================== */

struct split {
    double gain; /* loss reduction; <= 0: no split */
    int32_t feature;
    uint32_t bin;     /* numeric: value bins <= bin go left */
    int default_left; /* where the missing bin goes */
    int is_cat;
    int64_t GL, HL; /* the left child's sums */
};

struct gnode {
    uint32_t begin, end; /* rows[begin, end) */
    int64_t G, H;
    int depth;
    int64_t *hist; /* 2 * total_bins (g, h) pairs while the node may still be split */
    struct split sp;
    int32_t left, right;
};

struct catcand {
    double key;
    uint32_t bin;
    int64_t g, h;
};

struct gctx {
    size_t n, nf;
    const struct binner *bn;
    const uint8_t *b8; /* row-major bins (histograms read whole rows), rows `stride` apart */
    const uint16_t *b16;
    size_t stride;
    const uint8_t *cb8; /* the same column-major (partitioning reads one feature) */
    const uint16_t *cb16;
    int32_t *gh;       /* 2n: fixed-point (g, h) of each row (sums are 64-bit) */
    double ginv, hinv; /* fixed point -> real */
    uint32_t *rows, *tmp;
    /* parameters */
    double lambda, mcw, min_gain, eta, cat_smooth, cat_l2;
    int max_depth, max_leaves, leafwise, onehot_max, cat_threshold;
    /* the features of the current tree */
    uint32_t *feats;
    size_t nsel;
    /* the tree under construction */
    struct gnode *nodes;
    size_t nnodes, cap;
    uint32_t *csets; /* cwords per node: categorical splits' bins that go left */
    size_t cwords;
    uint32_t *cand_set; /* cwords: the best categorical set while searching */
    /* histograms */
    size_t hlen; /* int64 values in one histogram */
    int64_t **freeh;
    size_t nfree, freecap;
    int64_t **thist; /* per extra thread */
    struct pool *pool;
    int threads;
    struct catcand *cc;
    size_t ccap;
    size_t *nleft_t; /* per thread, partition counts */
};

static int64_t *hist_get(struct gctx *c)
{
    if (c->nfree > 0)
        return c->freeh[--c->nfree];
    return malloc(c->hlen * sizeof(int64_t));
}

static int hist_put(struct gctx *c, int64_t *h)
{
    if (h == NULL)
        return 0;
    if (c->nfree == c->freecap) {
        size_t nc = c->freecap ? c->freecap * 2 : 16;
        int64_t **p = realloc(c->freeh, nc * sizeof *p);
        if (p == NULL) {
            free(h);
            return AIOPS_ENOMEM;
        }
        c->freeh = p;
        c->freecap = nc;
    }
    c->freeh[c->nfree++] = h;
    return 0;
}

/* --- histogram building ---------------------------------------------------------------- */

#define PF_DIST 16

/* A row's (g, h), widened to 64 bits, and its addition to histogram entry e: one 128-bit
 * add where SSE2 exists. */
#if defined(__SSE2__)
typedef __m128i ghpair;
static inline ghpair gh_load(const int32_t *p)
{
    __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)p);
    return _mm_unpacklo_epi32(v, _mm_srai_epi32(v, 31)); /* sign-extend both */
}
static inline void gh_add(int64_t *e, ghpair v)
{
    __m128i *q = (__m128i *)(void *)e;
    _mm_storeu_si128(q, _mm_add_epi64(_mm_loadu_si128(q), v));
}
#else
typedef struct {
    int64_t g, h;
} ghpair;
static inline ghpair gh_load(const int32_t *p)
{
    ghpair v = {p[0], p[1]};
    return v;
}
static inline void gh_add(int64_t *e, ghpair v)
{
    e[0] += v.g;
    e[1] += v.h;
}
#endif

/* Rows go two at a time: the two chains of histogram updates are independent, which the
 * processor overlaps (about 20% faster than one row at a time). */
static void build_rows_u8(const struct gctx *c, const uint32_t *rows, size_t n, int64_t *h)
{
    const size_t nf = c->nf, stride = c->stride;
    const uint8_t *bins = c->b8;
    const int32_t *gh = c->gh;
    const uint32_t *off = c->bn->offset;
    const uint32_t *feats = c->feats;
    const size_t ns = c->nsel;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        if (i + PF_DIST + 1 < n) {
            __builtin_prefetch(bins + (size_t)rows[i + PF_DIST] * stride);
            __builtin_prefetch(gh + 2 * (size_t)rows[i + PF_DIST]);
            __builtin_prefetch(bins + (size_t)rows[i + PF_DIST + 1] * stride);
            __builtin_prefetch(gh + 2 * (size_t)rows[i + PF_DIST + 1]);
        }
        size_t ra = rows[i], rb = rows[i + 1];
        ghpair va = gh_load(gh + 2 * ra), vb = gh_load(gh + 2 * rb);
        const uint8_t *ba = bins + ra * stride, *bb = bins + rb * stride;
        if (ns == nf) {
            for (size_t j = 0; j < nf; j++) {
                gh_add(h + 2 * ((size_t)off[j] + ba[j]), va);
                gh_add(h + 2 * ((size_t)off[j] + bb[j]), vb);
            }
        } else {
            for (size_t k = 0; k < ns; k++) {
                size_t j = feats[k];
                gh_add(h + 2 * ((size_t)off[j] + ba[j]), va);
                gh_add(h + 2 * ((size_t)off[j] + bb[j]), vb);
            }
        }
    }
    for (; i < n; i++) {
        size_t r = rows[i];
        ghpair v = gh_load(gh + 2 * r);
        const uint8_t *b = bins + r * stride;
        for (size_t k = 0; k < ns; k++) {
            size_t j = ns == nf ? k : feats[k];
            gh_add(h + 2 * ((size_t)off[j] + b[j]), v);
        }
    }
}

static void build_rows_u16(const struct gctx *c, const uint32_t *rows, size_t n, int64_t *h)
{
    const size_t stride = c->stride;
    const uint16_t *bins = c->b16;
    const int32_t *gh = c->gh;
    const uint32_t *off = c->bn->offset;
    const uint32_t *feats = c->feats;
    const size_t ns = c->nsel;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        ghpair v = gh_load(gh + 2 * r);
        const uint16_t *b = bins + r * stride;
        for (size_t k = 0; k < ns; k++) {
            size_t j = feats[k];
            gh_add(h + 2 * ((size_t)off[j] + b[j]), v);
        }
    }
}

static void build_rows(const struct gctx *c, const uint32_t *rows, size_t n, int64_t *h)
{
    if (c->b8 != NULL)
        build_rows_u8(c, rows, n, h);
    else
        build_rows_u16(c, rows, n, h);
}

struct hist_job {
    const struct gctx *c;
    const uint32_t *rows;
    size_t n;
    int64_t *dst;
};

static void hist_part(void *arg, int tid, int nth)
{
    const struct hist_job *jb = arg;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    int64_t *h = tid == 0 ? jb->dst : jb->c->thist[tid - 1];
    memset(h, 0, jb->c->hlen * sizeof *h);
    build_rows(jb->c, jb->rows + lo, hi - lo, h);
}

static void hist_reduce(void *arg, int tid, int nth)
{
    const struct hist_job *jb = arg;
    size_t len = jb->c->hlen;
    size_t lo = len * (size_t)tid / (size_t)nth, hi = len * (size_t)(tid + 1) / (size_t)nth;
    /* hist_part ran on the same nth threads: nth - 1 partial histograms to add */
    for (int t = 0; t + 1 < nth; t++) {
        const int64_t *s = jb->c->thist[t];
        for (size_t i = lo; i < hi; i++)
            jb->dst[i] += s[i];
    }
}

/* Integer sums make the result independent of how rows are shared among threads. */
static void hist_build(struct gctx *c, const struct gnode *nd, int64_t *dst)
{
    size_t n = nd->end - nd->begin;
    int nth = c->threads;
    if ((size_t)nth > n / PAR_MIN_ROWS)
        nth = (int)(n / PAR_MIN_ROWS);
    struct hist_job jb = {c, c->rows + nd->begin, n, dst};
    if (nth <= 1) {
        memset(dst, 0, c->hlen * sizeof *dst);
        build_rows(c, jb.rows, n, dst);
        return;
    }
    pool_run(c->pool, nth, hist_part, &jb);
    pool_run(c->pool, nth, hist_reduce, &jb);
}

/* --- split finding --------------------------------------------------------------------- */

static inline double leaf_gain(double g, double h, double lambda)
{
    return g * g / (h + lambda);
}

/* The loss reduction of sending gradient and hessian sums (GL, HL) of node nd left and the
 * rest right, with L2 penalty lam; -INFINITY when a side has no hessian or less than the
 * minimum child weight (the split is not allowed). */
static inline double split_gain(const struct gctx *c, const struct gnode *nd, int64_t GL,
                                int64_t HL, double lam, double parent)
{
    int64_t HR = nd->H - HL;
    if (HL <= 0 || HR <= 0)
        return -INFINITY;
    double hl = (double)HL * c->hinv, hr = (double)HR * c->hinv;
    if (hl < c->mcw || hr < c->mcw)
        return -INFINITY;
    double gl = (double)GL * c->ginv, gr = (double)(nd->G - GL) * c->ginv;
    return leaf_gain(gl, hl, lam) + leaf_gain(gr, hr, lam) - parent;
}

/* One left-to-right pass over bins [0, end) of feature j: the left side starts from
 * (GL, HL) -- the missing values' sums when they go left, else 0 -- and gains each bin in
 * turn; a split better than *best replaces it. */
static inline void scan_numeric_pass(const struct gctx *c, const struct gnode *nd, size_t j,
                                     const int64_t *h, double parent, int64_t GL, int64_t HL,
                                     uint32_t end, int default_left, struct split *best)
{
    for (uint32_t b = 0; b < end; b++) {
        GL += h[2 * b];
        HL += h[2 * b + 1];
        double gain = split_gain(c, nd, GL, HL, c->lambda, parent);
        if (gain > best->gain) {
            best->gain = gain;
            best->feature = (int32_t)j;
            best->bin = b;
            best->default_left = default_left;
            best->is_cat = 0;
            best->GL = GL;
            best->HL = HL;
        }
    }
}

static void scan_numeric(const struct gctx *c, const struct gnode *nd, size_t j, const int64_t *h,
                         double parent, struct split *best)
{
    const struct bin_feature *f = &c->bn->f[j];
    uint32_t nv = f->nvalue;
    int64_t Gm = 0, Hm = 0;
    if (f->has_missing) {
        Gm = h[2 * nv];
        Hm = h[2 * nv + 1];
    }
    int mp = Gm != 0 || Hm != 0;
    uint32_t steps = nv > 0 ? nv - 1 : 0; /* the thresholds between values */
    /* Missing values right; with missing values present the last step (every value left,
     * missing right) is an "is missing" split. */
    scan_numeric_pass(c, nd, j, h, parent, 0, 0, mp ? nv : steps, 0, best);
    /* then missing values left */
    if (mp)
        scan_numeric_pass(c, nd, j, h, parent, Gm, Hm, steps, 1, best);
}

/* Categories present in a node above which cat_smooth and cat_l2 apply. */
#define CAT_REGULARISED_FROM 8

static int catcand_cmp(const void *a, const void *b)
{
    const struct catcand *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->bin > y->bin) - (x->bin < y->bin);
}

/* LightGBM's categorical split: few categories one-vs-rest, otherwise categories sorted by
 * gradient / (hessian + cat_smooth) and prefixes from either end scanned. The chosen set of
 * bins going left is written to c->cand_set when it beats *best. */
static void scan_categorical(struct gctx *c, const struct gnode *nd, size_t j, const int64_t *h,
                             double parent, struct split *best)
{
    const struct bin_feature *f = &c->bn->f[j];
    size_t m = 0;
    for (uint32_t b = 0; b < f->nbins; b++) {
        if (h[2 * b + 1] > 0) {
            c->cc[m].bin = b;
            c->cc[m].g = h[2 * b];
            c->cc[m].h = h[2 * b + 1];
            m++;
        }
    }
    if (m < 2)
        return;
    int found = 0;
    size_t bestk = 0;
    int from_right = 0;
    double bgain = best->gain;
    int64_t bGL = 0, bHL = 0;
    if (m <= (size_t)c->onehot_max) {
        for (size_t i = 0; i < m; i++) {
            int64_t GL = c->cc[i].g, HL = c->cc[i].h;
            double gain = split_gain(c, nd, GL, HL, c->lambda, parent);
            if (gain > bgain) {
                bgain = gain;
                found = 1;
                bestk = i; /* one-hot: the single category at cc[i] */
                bGL = GL;
                bHL = HL;
            }
        }
        if (!found)
            return;
        memset(c->cand_set, 0, c->cwords * sizeof *c->cand_set);
        uint32_t b = c->cc[bestk].bin;
        c->cand_set[b / 32] |= 1u << (b % 32);
    } else {
        /* LightGBM's smoothing guards many-valued features against partitions fitted to a
         * few rows per category; a handful of categories cannot be overfitted that way, and
         * there it only held small data back (issue 11: 1,000 diamonds, 25% above XGBoost's
         * RMSE, which has no such terms) */
        int many = m > CAT_REGULARISED_FROM;
        double lam = c->lambda + (many ? c->cat_l2 : 0), smooth = many ? c->cat_smooth : 0;
        for (size_t i = 0; i < m; i++)
            c->cc[i].key = ((double)c->cc[i].g * c->ginv) / ((double)c->cc[i].h * c->hinv + smooth);
        qsort(c->cc, m, sizeof *c->cc, catcand_cmp);
        size_t maxk = (size_t)c->cat_threshold;
        if (maxk > (m + 1) / 2)
            maxk = (m + 1) / 2;
        for (int dir = 0; dir < 2; dir++) {
            int64_t GL = 0, HL = 0;
            for (size_t k = 0; k < maxk && k + 1 < m; k++) {
                const struct catcand *cd = &c->cc[dir ? m - 1 - k : k];
                GL += cd->g;
                HL += cd->h;
                double gain = split_gain(c, nd, GL, HL, lam, parent);
                if (gain > bgain) {
                    bgain = gain;
                    found = 1;
                    bestk = k + 1;
                    from_right = dir;
                    bGL = GL;
                    bHL = HL;
                }
            }
        }
        if (!found)
            return;
        memset(c->cand_set, 0, c->cwords * sizeof *c->cand_set);
        for (size_t k = 0; k < bestk; k++) {
            uint32_t b = c->cc[from_right ? m - 1 - k : k].bin;
            c->cand_set[b / 32] |= 1u << (b % 32);
        }
    }
    /* The missing bin's side is the default; without missing rows here, the heavier side.
     * Categories with no rows in this node follow the default too (like unseen ones). */
    int dl;
    uint32_t mb = f->nvalue;
    int missing_here = f->has_missing && (h[2 * mb] != 0 || h[2 * mb + 1] != 0);
    if (missing_here)
        dl = (int)((c->cand_set[mb / 32] >> (mb % 32)) & 1u);
    else
        dl = bHL > nd->H - bHL;
    for (uint32_t b = 0; b < f->nbins; b++) {
        if (h[2 * b] == 0 && h[2 * b + 1] == 0) {
            if (dl)
                c->cand_set[b / 32] |= 1u << (b % 32);
            else
                c->cand_set[b / 32] &= ~(1u << (b % 32));
        }
    }
    best->gain = bgain;
    best->feature = (int32_t)j;
    best->bin = 0;
    best->default_left = dl;
    best->is_cat = 1;
    best->GL = bGL;
    best->HL = bHL;
}

/* Finds node i's best split among the tree's features; its gain is the loss reduction. */
static void find_split(struct gctx *c, size_t i)
{
    struct gnode *nd = &c->nodes[i];
    double g = (double)nd->G * c->ginv, h = (double)nd->H * c->hinv;
    double parent = leaf_gain(g, h, c->lambda);
    struct split best = {0};
    best.gain = 0;
    best.feature = -1;
    for (size_t k = 0; k < c->nsel; k++) {
        size_t j = c->feats[k];
        const int64_t *fh = nd->hist + 2 * (size_t)c->bn->offset[j];
        if (c->bn->f[j].is_cat) {
            double before = best.gain;
            scan_categorical(c, nd, j, fh, parent, &best);
            if (best.gain > before)
                memcpy(c->csets + i * c->cwords, c->cand_set, c->cwords * sizeof *c->csets);
        } else {
            scan_numeric(c, nd, j, fh, parent, &best);
        }
    }
    if (best.feature >= 0 && !(best.gain > c->min_gain))
        best.feature = -1;
    if (best.feature < 0)
        best.gain = 0;
    nd->sp = best;
}

/* --- partitioning ----------------------------------------------------------------------- */

/* Node i's categorical bin set (NULL when no feature is categorical). */
static inline const uint32_t *node_cset(const struct gctx *c, size_t i)
{
    return c->cwords ? c->csets + i * c->cwords : NULL;
}

static inline uint32_t row_bin(const struct gctx *c, size_t r, size_t j)
{
    return c->b8 ? c->b8[r * c->stride + j] : c->b16[r * c->stride + j];
}

static inline int split_left(const struct gctx *c, const struct split *sp, const uint32_t *cset,
                             uint32_t bin)
{
    if (sp->is_cat)
        return (int)((cset[bin / 32] >> (bin % 32)) & 1u);
    const struct bin_feature *f = &c->bn->f[sp->feature];
    if (bin >= f->nvalue)
        return sp->default_left;
    return bin <= sp->bin;
}

struct part_job {
    struct gctx *c;
    const struct gnode *nd;
    const uint32_t *cset;
    size_t n;
};

/* Splits one thread's share of the rows into tmp: left rows forward from its start, right
 * rows backward from its end. Both slots are written every time so that the loop has no
 * branch on the (unpredictable) direction. */
#define PART_LOOP(COL, LEFT_EXPR)                                                                  \
    for (size_t i = lo; i < hi; i++) {                                                             \
        uint32_t row = rows[i];                                                                    \
        uint32_t b = (COL)[row];                                                                   \
        size_t left = (size_t)(LEFT_EXPR);                                                         \
        tmp[l] = row;                                                                              \
        tmp[r - 1] = row;                                                                          \
        l += left;                                                                                 \
        r -= 1 - left;                                                                             \
    }

static void part_split(void *arg, int tid, int nth)
{
    const struct part_job *jb = arg;
    struct gctx *c = jb->c;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    const uint32_t *rows = c->rows + jb->nd->begin;
    uint32_t *tmp = c->tmp + jb->nd->begin;
    size_t l = lo, r = hi;
    const struct split *sp = &jb->nd->sp;
    size_t j = (size_t)sp->feature;
    const uint32_t *cs = jb->cset;
    uint32_t thr = sp->bin, nv = c->bn->f[j].nvalue, dl = (uint32_t)sp->default_left;
    if (c->cb8 != NULL) {
        const uint8_t *col = c->cb8 + j * c->n;
        if (sp->is_cat)
            PART_LOOP(col, (cs[b / 32] >> (b % 32)) & 1u)
        else
            PART_LOOP(col, (b <= thr) | ((b >= nv) & dl))
    } else {
        const uint16_t *col = c->cb16 + j * c->n;
        if (sp->is_cat)
            PART_LOOP(col, (cs[b / 32] >> (b % 32)) & 1u)
        else
            PART_LOOP(col, (b <= thr) | ((b >= nv) & dl))
    }
    c->nleft_t[tid] = l - lo;
}

static void part_gather(void *arg, int tid, int nth)
{
    const struct part_job *jb = arg;
    struct gctx *c = jb->c;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    size_t lpos = 0, rpos = 0, ltotal = 0;
    for (int t = 0; t < nth; t++)
        ltotal += c->nleft_t[t];
    for (int t = 0; t < tid; t++) {
        size_t tlo = jb->n * (size_t)t / (size_t)nth, thi = jb->n * (size_t)(t + 1) / (size_t)nth;
        lpos += c->nleft_t[t];
        rpos += (thi - tlo) - c->nleft_t[t];
    }
    uint32_t *rows = c->rows + jb->nd->begin;
    const uint32_t *tmp = c->tmp + jb->nd->begin;
    size_t nl = c->nleft_t[tid];
    memcpy(rows + lpos, tmp + lo, nl * sizeof *rows);
    /* Right rows were stored backwards: restore ascending order for cache-friendly reads. */
    uint32_t *dst = rows + ltotal + rpos;
    for (size_t i = hi; i > lo + nl; i--)
        *dst++ = tmp[i - 1];
}

/* Partitions node i's rows in place (left first, both sides in ascending row order). */
static size_t partition(struct gctx *c, size_t i)
{
    const struct gnode *nd = &c->nodes[i];
    size_t n = nd->end - nd->begin;
    int nth = c->threads;
    if ((size_t)nth > n / PAR_MIN_PART)
        nth = (int)(n / PAR_MIN_PART);
    if (nth < 1)
        nth = 1;
    struct part_job jb = {c, nd, node_cset(c, i), n};
    pool_run(c->pool, nth, part_split, &jb);
    size_t nl = 0;
    for (int t = 0; t < nth; t++)
        nl += c->nleft_t[t];
    pool_run(c->pool, nth, part_gather, &jb);
    return nl;
}

/* --- growing one tree ------------------------------------------------------------------- */

static int node_add(struct gctx *c, uint32_t begin, uint32_t end, int64_t G, int64_t H, int depth)
{
    if (c->nnodes == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        struct gnode *p = realloc(c->nodes, nc * sizeof *p);
        if (p == NULL)
            return AIOPS_ENOMEM;
        c->nodes = p;
        if (c->cwords > 0) {
            uint32_t *q = realloc(c->csets, nc * c->cwords * sizeof *q);
            if (q == NULL)
                return AIOPS_ENOMEM;
            c->csets = q;
        }
        c->cap = nc;
    }
    struct gnode *nd = &c->nodes[c->nnodes++];
    memset(nd, 0, sizeof *nd);
    nd->begin = begin;
    nd->end = end;
    nd->G = G;
    nd->H = H;
    nd->depth = depth;
    nd->left = nd->right = -1;
    nd->sp.feature = -1;
    return 0;
}

/* Whether a node of this depth and hessian could be split at all (else no histogram). */
static int splittable(const struct gctx *c, const struct gnode *nd)
{
    if (c->max_depth >= 0 && nd->depth >= c->max_depth)
        return 0;
    if (nd->end - nd->begin < 2)
        return 0;
    return (double)nd->H * c->hinv >= 2.0 * c->mcw && nd->H > 0;
}

/* Candidates: nodes with a split found, not yet applied. Best-first picks the largest
 * gain (ties: the earliest node); depth-wise takes them in creation order. */
static size_t pick(const struct gctx *c, const size_t *cand, size_t ncand)
{
    size_t best = 0;
    if (c->leafwise) {
        for (size_t k = 1; k < ncand; k++)
            if (c->nodes[cand[k]].sp.gain > c->nodes[cand[best]].sp.gain)
                best = k;
    }
    return best;
}

static int grow(struct gctx *c, uint32_t nrows_root, int64_t G, int64_t H)
{
    int rv;
    c->nnodes = 0;
    if ((rv = node_add(c, 0, nrows_root, G, H, 0)) != 0)
        return rv;
    size_t *cand = malloc((size_t)(c->max_leaves + 1) * sizeof *cand);
    if (cand == NULL)
        return AIOPS_ENOMEM;
    size_t ncand = 0;
    int leaves = 1;
    if (splittable(c, &c->nodes[0])) {
        c->nodes[0].hist = hist_get(c);
        if (c->nodes[0].hist == NULL) {
            rv = AIOPS_ENOMEM;
            goto out;
        }
        hist_build(c, &c->nodes[0], c->nodes[0].hist);
        find_split(c, 0);
        if (c->nodes[0].sp.feature >= 0) {
            cand[ncand++] = 0;
        } else {
            hist_put(c, c->nodes[0].hist);
            c->nodes[0].hist = NULL;
        }
    }
    while (ncand > 0 && leaves < c->max_leaves) {
        size_t k = pick(c, cand, ncand);
        size_t pi = cand[k];
        memmove(cand + k, cand + k + 1, (ncand - k - 1) * sizeof *cand);
        ncand--;
        size_t nl = partition(c, pi);
        struct gnode *p = &c->nodes[pi];
        uint32_t mid = p->begin + (uint32_t)nl;
        int64_t GL = p->sp.GL, HL = p->sp.HL, GR = p->G - GL, HR = p->H - HL;
        size_t li = c->nnodes;
        if ((rv = node_add(c, p->begin, mid, GL, HL, p->depth + 1)) != 0 ||
            (rv = node_add(c, mid, c->nodes[pi].end, GR, HR, c->nodes[pi].depth + 1)) != 0)
            goto out;
        p = &c->nodes[pi];
        p->left = (int32_t)li;
        p->right = (int32_t)(li + 1);
        leaves++;
        struct gnode *L = &c->nodes[li], *R = &c->nodes[li + 1];
        int sl = splittable(c, L) && leaves < c->max_leaves;
        int sr = splittable(c, R) && leaves < c->max_leaves;
        int64_t *ph = p->hist;
        p->hist = NULL;
        if (sl || sr) {
            /* Build the smaller child, derive the larger from the parent. */
            struct gnode *small = (L->end - L->begin) <= (R->end - R->begin) ? L : R;
            struct gnode *large = small == L ? R : L;
            int64_t *sh = hist_get(c);
            if (sh == NULL) {
                free(ph);
                rv = AIOPS_ENOMEM;
                goto out;
            }
            hist_build(c, small, sh);
            for (size_t q = 0; q < c->hlen; q++)
                ph[q] -= sh[q];
            small->hist = sh;
            large->hist = ph;
            ph = NULL;
            for (int side = 0; side < 2; side++) {
                size_t ci = li + (size_t)side;
                struct gnode *ch = &c->nodes[ci];
                if (side == 0 ? sl : sr) {
                    find_split(c, ci);
                    ch = &c->nodes[ci];
                }
                if (ch->sp.feature >= 0 && (side == 0 ? sl : sr)) {
                    cand[ncand++] = ci;
                } else {
                    hist_put(c, ch->hist);
                    ch->hist = NULL;
                }
            }
        }
        if (ph != NULL)
            hist_put(c, ph);
    }
    rv = 0;
out:
    for (size_t k = 0; k < c->nnodes; k++) {
        if (c->nodes[k].hist != NULL) {
            hist_put(c, c->nodes[k].hist);
            c->nodes[k].hist = NULL;
        }
    }
    free(cand);
    return rv;
}

/* The grown tree with raw thresholds and category sets, ready to predict from values. */
static int emit_tree(const struct gctx *c, struct tree *t)
{
    memset(t, 0, sizeof *t);
    size_t nn = c->nnodes;
    t->nnodes = (uint32_t)nn;
    t->nout = 1;
    t->nodes = calloc(nn, sizeof *t->nodes);
    t->gain = calloc(nn, sizeof *t->gain);
    t->cover = calloc(nn, sizeof *t->cover);
    t->value = calloc(nn, sizeof *t->value);
    if (t->nodes == NULL || t->gain == NULL || t->cover == NULL || t->value == NULL)
        goto nomem;
    uint32_t catcap = 0;
    for (size_t i = 0; i < nn; i++) {
        const struct gnode *nd = &c->nodes[i];
        struct tree_node *tn = &t->nodes[i];
        double g = (double)nd->G * c->ginv, h = (double)nd->H * c->hinv;
        t->value[i] = -g / (h + c->lambda) * c->eta;
        t->cover[i] = h;
        if (nd->left < 0) {
            tn->feature = -1;
            tn->left = tn->right = -1;
            continue;
        }
        tn->feature = nd->sp.feature;
        tn->left = nd->left;
        tn->right = nd->right;
        t->gain[i] = nd->sp.gain;
        const struct bin_feature *f = &c->bn->f[nd->sp.feature];
        if (nd->sp.is_cat) {
            if (tree_set_catsplit(t, &catcap, tn, f, node_cset(c, i), nd->sp.default_left) != 0)
                goto nomem;
        } else {
            tn->flags = nd->sp.default_left ? TREE_DEFAULT_LEFT : 0;
            tn->threshold = f->upper[nd->sp.bin];
        }
    }
    return 0;
nomem:
    tree_free(t);
    return AIOPS_ENOMEM;
}

/* The leaf a training row reaches, walking the grown tree on bins. */
static size_t leaf_of_row(const struct gctx *c, size_t r)
{
    size_t i = 0;
    while (c->nodes[i].left >= 0) {
        const struct gnode *nd = &c->nodes[i];
        uint32_t bin = row_bin(c, r, (size_t)nd->sp.feature);
        i = (size_t)(split_left(c, &nd->sp, node_cset(c, i), bin) ? nd->left : nd->right);
    }
    return i;
}

/* ======================================================================================
 * Objectives
 * ====================================================================================== */

static inline double sigmoid(double m)
{
    return 1.0 / (1.0 + exp(-m));
}

struct grad_job {
    const struct gbdt *m;
    size_t n, K, k;
    const double *y, *w, *F, *P;
    double *gd, *hd;
    double *gmax, *hmax; /* per thread */
};

static void grad_part(void *arg, int tid, int nth)
{
    const struct grad_job *jb = arg;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    double gmax = 0, hmax = 0;
    const double *y = jb->y, *w = jb->w, *F = jb->F;
    double *gd = jb->gd, *hd = jb->hd;
    /* plain compares, not fmax(): they inline, and no value here is NaN */
    switch (jb->m->obj) {
    case GBDT_BINARY:
        for (size_t r = lo; r < hi; r++) {
            double wr = w ? w[r] : 1.0;
            double p = sigmoid(F[r]);
            double h = p * (1.0 - p);
            h = h > 1e-16 ? h : 1e-16;
            gd[r] = (p - y[r]) * wr;
            hd[r] = h * wr;
        }
        break;
    case GBDT_MULTICLASS: {
        const double *P = jb->P;
        size_t K = jb->K, k = jb->k;
        for (size_t r = lo; r < hi; r++) {
            double wr = w ? w[r] : 1.0;
            double p = P[r * K + k];
            double h = 2.0 * p * (1.0 - p);
            h = h > 1e-16 ? h : 1e-16;
            gd[r] = (p - ((size_t)y[r] == k ? 1.0 : 0.0)) * wr;
            hd[r] = h * wr;
        }
        break;
    }
    default:
        for (size_t r = lo; r < hi; r++) {
            double wr = w ? w[r] : 1.0;
            gd[r] = (F[r] - y[r]) * wr;
            hd[r] = wr;
        }
        break;
    }
    for (size_t r = lo; r < hi; r++) {
        double a = gd[r] < 0 ? -gd[r] : gd[r];
        gmax = a > gmax ? a : gmax;
        hmax = hd[r] > hmax ? hd[r] : hmax;
    }
    jb->gmax[tid] = gmax;
    jb->hmax[tid] = hmax;
}

struct quant_job {
    size_t n;
    const double *gd, *hd;
    double gs, hs;
    int32_t *gh;
};

static void quant_part(void *arg, int tid, int nth)
{
    const struct quant_job *jb = arg;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    for (size_t r = lo; r < hi; r++) {
        /* truncation: exact for the sums' purpose and a single instruction */
        jb->gh[2 * r] = (int32_t)(jb->gd[r] * jb->gs);
        jb->gh[2 * r + 1] = (int32_t)(jb->hd[r] * jb->hs);
    }
}

/* A power of two that maps values of magnitude <= vmax into +-2^30: a row's gradient and
 * hessian are 32-bit fixed point (finer than the float32 XGBoost keeps them in), their sums
 * 64-bit, which holds 2^32 rows. */
static double fixed_scale(double vmax)
{
    if (!(vmax > 0))
        return ldexp(1.0, 30);
    int e;
    frexp(vmax, &e); /* vmax < 2^e */
    int s = 30 - e;
    if (s > 1000)
        s = 1000;
    return ldexp(1.0, s);
}

static void softmax_rows(const double *F, size_t n, size_t K, double *P)
{
    for (size_t r = 0; r < n; r++) {
        const double *f = F + r * K;
        double *p = P + r * K;
        double mx = f[0];
        for (size_t k = 1; k < K; k++)
            mx = fmax(mx, f[k]);
        double s = 0;
        for (size_t k = 0; k < K; k++) {
            p[k] = exp(f[k] - mx);
            s += p[k];
        }
        for (size_t k = 0; k < K; k++)
            p[k] /= s;
    }
}

/* Loss and task metric of margins F (n x groups) against y (weights w may be NULL). */
static int eval_metrics(const struct gbdt *m, const double *F, const double *y, const double *w,
                        size_t n, int want_metric, double *loss, double *metric)
{
    size_t K = m->groups;
    double sl = 0, sw = 0;
    *metric = NAN;
    if (m->obj == GBDT_BINARY) {
        for (size_t r = 0; r < n; r++) {
            double wr = w ? w[r] : 1.0, f = F[r];
            /* log(1 + e^-f) for y = 1, log(1 + e^f) for y = 0, computed stably */
            double z = y[r] > 0.5 ? -f : f;
            double l = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
            sl += wr * l;
            sw += wr;
        }
        if (want_metric) {
            uint8_t *yb = malloc(n ? n : 1);
            if (yb == NULL)
                return AIOPS_ENOMEM;
            for (size_t r = 0; r < n; r++)
                yb[r] = y[r] > 0.5;
            int rv = stats_roc_auc(F, yb, n, metric);
            free(yb);
            if (rv != 0)
                return rv;
        }
    } else if (m->obj == GBDT_MULTICLASS) {
        double right = 0;
        for (size_t r = 0; r < n; r++) {
            double wr = w ? w[r] : 1.0;
            const double *f = F + r * K;
            double mx = f[0];
            size_t am = 0;
            for (size_t k = 1; k < K; k++)
                if (f[k] > mx) {
                    mx = f[k];
                    am = k;
                }
            double s = 0;
            for (size_t k = 0; k < K; k++)
                s += exp(f[k] - mx);
            size_t yk = (size_t)y[r];
            sl += wr * (log(s) - (f[yk] - mx));
            sw += wr;
            right += wr * (am == yk);
        }
        *metric = sw > 0 ? right / sw : NAN;
    } else {
        for (size_t r = 0; r < n; r++) {
            double wr = w ? w[r] : 1.0, d = F[r] - y[r];
            sl += wr * d * d;
            sw += wr;
        }
        *metric = sw > 0 ? sqrt(sl / sw) : NAN;
    }
    *loss = sw > 0 ? sl / sw : NAN;
    return 0;
}

/* ======================================================================================
 * Training
 * ====================================================================================== */

struct gparams {
    int rounds, max_depth, num_leaves, max_bin, early_stopping, threads;
    int leafwise, onehot_max, cat_threshold;
    double eta, lambda, mcw, subsample, colsample, min_gain, cat_smooth, cat_l2;
};

static int resolve_params(const struct gbdt_params *p, struct gparams *q, struct aiops_error *err)
{
#define BAD(...)                                                                                   \
    do {                                                                                           \
        return aiops_error_set(err, AIOPS_EINVAL, NULL, __VA_ARGS__);                              \
    } while (0)
    if (p->objective != GBDT_BINARY && p->objective != GBDT_MULTICLASS &&
        p->objective != GBDT_REGRESSION)
        BAD("unknown objective");
    if (p->objective == GBDT_MULTICLASS && (p->num_class < 2 || p->num_class > GBDT_MAX_CLASSES))
        BAD("num_class must be 2..%d for multiclass", GBDT_MAX_CLASSES);
    q->rounds = p->rounds ? p->rounds : 100;
    if (q->rounds < 1 || q->rounds > GBDT_MAX_ROUNDS)
        BAD("rounds must be 1..%d", GBDT_MAX_ROUNDS);
    q->eta = p->learning_rate != 0 ? p->learning_rate : 0.1;
    if (!(q->eta > 0 && q->eta <= 1e3))
        BAD("learning_rate must be > 0");
    q->leafwise = p->num_leaves != 0;
    if (p->max_depth < -1 || p->max_depth > 64)
        BAD("max_depth must be -1 (no limit) or 1..64");
    q->max_depth = p->max_depth ? p->max_depth : (q->leafwise ? -1 : 6);
    if (p->num_leaves != 0 && (p->num_leaves < 2 || p->num_leaves > GBDT_MAX_LEAVES))
        BAD("num_leaves must be 2..%d", GBDT_MAX_LEAVES);
    if (p->num_leaves)
        q->num_leaves = p->num_leaves;
    else if (q->max_depth < 0)
        q->num_leaves = 31, q->leafwise = 1;
    else
        q->num_leaves = q->max_depth >= 20 ? GBDT_MAX_LEAVES : 1 << q->max_depth;
    q->max_bin = p->max_bin ? p->max_bin : 255;
    if (q->max_bin < 2 || q->max_bin > 65535)
        BAD("max_bin must be 2..65535");
    if (!isfinite(p->lambda) || !isfinite(p->min_child_weight) || !isfinite(p->min_split_gain))
        BAD("lambda, min_child_weight and min_split_gain must be finite");
    q->lambda = p->lambda > 0 ? p->lambda : p->lambda < 0 ? 0 : 1.0;
    q->mcw = p->min_child_weight > 0 ? p->min_child_weight : p->min_child_weight < 0 ? 0 : 1.0;
    q->min_gain = p->min_split_gain > 0 ? p->min_split_gain : 0;
    q->subsample = p->subsample ? p->subsample : 1.0;
    q->colsample = p->colsample ? p->colsample : 1.0;
    if (!(q->subsample > 0 && q->subsample <= 1) || !(q->colsample > 0 && q->colsample <= 1))
        BAD("subsample and colsample must be in (0, 1]");
    if (p->early_stopping < 0)
        BAD("early_stopping must be >= 0");
    q->early_stopping = p->early_stopping;
    if (p->threads < 0 || p->threads > 1024)
        BAD("threads must be 0..1024");
    q->threads = p->threads;
    q->onehot_max = p->max_cat_to_onehot > 0 ? p->max_cat_to_onehot : 4;
    q->cat_threshold = p->max_cat_threshold > 0 ? p->max_cat_threshold : 32;
    if (!isfinite(p->cat_smooth) || !isfinite(p->cat_l2))
        BAD("cat_smooth and cat_l2 must be finite");
    q->cat_smooth = p->cat_smooth > 0 ? p->cat_smooth : p->cat_smooth < 0 ? 0 : 10.0;
    q->cat_l2 = p->cat_l2 > 0 ? p->cat_l2 : p->cat_l2 < 0 ? 0 : 10.0;
    return 0;
#undef BAD
}

static int check_targets(enum gbdt_objective obj, int K, const double *y, size_t n,
                         const char *what, struct aiops_error *err)
{
    for (size_t r = 0; r < n; r++) {
        double v = y[r];
        int ok = isfinite(v);
        if (ok && obj == GBDT_BINARY)
            ok = v == 0.0 || v == 1.0;
        else if (ok && obj == GBDT_MULTICLASS)
            ok = v >= 0 && v < K && v == floor(v);
        if (!ok) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "%s target of row %zu is %g: not a valid %s", what, r, v,
                                   obj == GBDT_REGRESSION ? "number" : "class");
        }
    }
    return 0;
}

/* Everything a training run works in between rounds; state_free releases it. */
struct train_state {
    struct gctx c;
    struct gparams q;
    unsigned seed;
    const struct fmatrix *x, *vx; /* training and validation rows (vx may be NULL) */
    const double *y, *w, *vy;     /* their targets; w: row weights or NULL */
    size_t K;                     /* trees per round */
    struct binner bn;
    void *bins, *cbins;
    double *F, *P, *gd, *hd, *vF; /* margins (n x K), softmax of F, gradients, valid margins */
    double gmax[1024], hmax[1024];
    uint8_t *in_tree; /* rows of the current tree's sample */
    double *blk;      /* TREE_BLOCK validation rows, row-major */
    size_t tcap;      /* trees allocated in the model */
};

static void state_free(struct train_state *s)
{
    struct gctx *c = &s->c;
    for (size_t k = 0; k < c->nfree; k++)
        free(c->freeh[k]);
    free(c->freeh);
    if (c->thist != NULL)
        for (int t = 0; t + 1 < c->threads; t++)
            free(c->thist[t]);
    free(c->thist);
    free(c->nodes);
    free(c->csets);
    free(c->cand_set);
    free(c->cc);
    free(c->feats);
    free(c->rows);
    free(c->tmp);
    free(c->gh);
    free(c->nleft_t);
    pool_free(c->pool);
    binner_free(&s->bn);
    free(s->bins);
    free(s->cbins);
    free(s->F);
    free(s->P);
    free(s->gd);
    free(s->hd);
    free(s->vF);
    free(s->in_tree);
    free(s->blk);
}

static int add_tree(struct gbdt *m, size_t *cap, struct tree *t)
{
    if (m->ntrees == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        struct tree *p = realloc(m->trees, nc * sizeof *p);
        if (p == NULL)
            return AIOPS_ENOMEM;
        m->trees = p;
        *cap = nc;
    }
    m->trees[m->ntrees++] = *t;
    return 0;
}

/* Adds each leaf's value to the margins of its rows; thread tid takes the leaves whose first
 * row falls in its share of the row positions (leaves are disjoint ranges of c->rows). */
struct upd_job {
    const struct gctx *c;
    const struct tree *t;
    double *F;
    size_t K, k;
};

static void upd_part(void *arg, int tid, int nth)
{
    const struct upd_job *jb = arg;
    const struct gctx *c = jb->c;
    size_t nr = c->nodes[0].end;
    size_t lo = nr * (size_t)tid / (size_t)nth, hi = nr * (size_t)(tid + 1) / (size_t)nth;
    for (size_t i = 0; i < c->nnodes; i++) {
        const struct gnode *nd = &c->nodes[i];
        if (nd->left >= 0 || nd->begin < lo || nd->begin >= hi)
            continue;
        double v = jb->t->value[i];
        for (uint32_t a = nd->begin; a < nd->end; a++)
            jb->F[(size_t)c->rows[a] * jb->K + jb->k] += v;
    }
}

/* out[r * stride + k] += tree(x row r), for every row of x. */
static void tree_add_rows(const struct tree *t, const struct fmatrix *x, double *out, size_t stride,
                          size_t k, double *blk)
{
    for (size_t r0 = 0; r0 < x->nrows; r0 += TREE_BLOCK) {
        size_t nb = x->nrows - r0 < TREE_BLOCK ? x->nrows - r0 : TREE_BLOCK;
        tree_block_rows(x, r0, nb, blk);
        uint32_t leaf[TREE_BLOCK];
        tree_leaves(t, blk, nb, x->ncols, leaf);
        for (size_t i = 0; i < nb; i++)
            out[(r0 + i) * stride + k] += t->value[leaf[i]];
    }
}

/* --- before the first round ------------------------------------------------------------- */

/* What the parameters cannot say about the data: its shape, targets and weights. */
static int check_inputs(const struct fmatrix *x, const double *y, const double *w,
                        const struct fmatrix *vx, const double *vy, const struct gbdt_params *p,
                        struct aiops_error *err)
{
    size_t n = x->nrows, nf = x->ncols;
    int rv;
    if (n == 0 || nf == 0 || n >= UINT32_MAX) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "the training matrix has %zu rows and %zu columns", n, nf);
    }
    if ((vx == NULL) != (vy == NULL) || (vx && vx->ncols != nf)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "the validation set must have targets and the training columns");
    }
    int K = p->objective == GBDT_MULTICLASS ? p->num_class : 1;
    if ((rv = check_targets(p->objective, K, y, n, "training", err)) != 0)
        return rv;
    if (vx && (rv = check_targets(p->objective, K, vy, vx->nrows, "validation", err)) != 0)
        return rv;
    double wsum = 0;
    for (size_t r = 0; w && r < n; r++) {
        if (!(w[r] >= 0) || !isfinite(w[r])) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "weight of row %zu is %g: weights must be finite and >= 0", r,
                                   w[r]);
        }
        wsum += w[r];
    }
    if (w && !(wsum > 0)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "every row has weight 0");
    }
    return 0;
}

/* Base scores: log-odds of the weighted prior, the weighted mean, log class priors. */
static int base_scores(struct gbdt *m, const double *y, const double *w, size_t n)
{
    size_t K = m->groups;
    double *cls = calloc(K + 1, sizeof *cls), sw = 0, sy = 0;
    if (cls == NULL)
        return AIOPS_ENOMEM;
    for (size_t r = 0; r < n; r++) {
        double wr = w ? w[r] : 1.0;
        sw += wr;
        sy += wr * y[r];
        if (m->obj == GBDT_MULTICLASS)
            cls[(size_t)y[r]] += wr;
    }
    if (m->obj == GBDT_BINARY) {
        double pr = fmin(fmax(sy / sw, 1e-6), 1 - 1e-6);
        m->base[0] = log(pr / (1 - pr));
    } else if (m->obj == GBDT_REGRESSION) {
        m->base[0] = sy / sw;
    } else {
        for (size_t k = 0; k < K; k++)
            m->base[k] = log(fmax(cls[k] / sw, 1e-6));
    }
    free(cls);
    return 0;
}

/* A model without trees: the features' kinds and the base scores. */
static int model_start(const struct train_state *s, enum gbdt_objective obj, struct gbdt **out)
{
    const struct fmatrix *x = s->x;
    size_t nf = x->ncols;
    struct gbdt *m = calloc(1, sizeof *m);
    if ((*out = m) == NULL)
        return AIOPS_ENOMEM;
    m->obj = obj;
    m->nfeat = (uint32_t)nf;
    m->groups = (uint32_t)s->K;
    m->learning_rate = s->q.eta;
    m->is_cat = calloc(nf, 1);
    m->ncat = calloc(nf, sizeof *m->ncat);
    m->base = calloc(s->K, sizeof *m->base);
    if (m->is_cat == NULL || m->ncat == NULL || m->base == NULL)
        return AIOPS_ENOMEM;
    for (size_t j = 0; j < nf; j++) {
        m->is_cat[j] = x->is_cat ? (x->is_cat[j] != 0) : 0;
        m->ncat[j] = m->is_cat[j] && x->ncat ? x->ncat[j] : 0;
    }
    return base_scores(m, s->y, s->w, x->nrows);
}

/* Bins every feature into s->bins (row-major) and s->cbins (column-major). */
static int bin_features(struct train_state *s, struct aiops_error *err)
{
    struct gctx *c = &s->c;
    const struct fmatrix *x = s->x;
    size_t n = x->nrows, nf = x->ncols;
    int rv;
    if ((rv = pool_create(s->q.threads, &c->pool)) != 0)
        return rv;
    c->threads = pool_threads(c->pool);
    if ((rv = binner_fit(x, NULL, n, s->q.max_bin, s->seed, c->pool, &s->bn)) != 0) {
        return aiops_error_set(err, rv, NULL, "binning the features failed");
    }
    /* rows padded to a power of two bytes (up to a cache line; whole lines beyond) never
     * straddle two cache lines */
    size_t width = s->bn.wide ? 2 : 1, rowbytes = nf * width, sb = 1;
    if (rowbytes <= 64) {
        while (sb < rowbytes)
            sb *= 2;
    } else {
        sb = (rowbytes + 63) / 64 * 64;
    }
    c->stride = sb / width;
    return binner_apply(&s->bn, x, NULL, n, c->stride, c->pool, &s->bins, &s->cbins);
}

/* The tree grower's settings and buffers, and the margins at the base scores. */
static int state_alloc(struct train_state *s, const struct gbdt *m)
{
    struct gctx *c = &s->c;
    const struct gparams *q = &s->q;
    size_t n = s->x->nrows, nf = s->x->ncols, K = s->K, vn = s->vx ? s->vx->nrows : 0;
    c->n = n;
    c->nf = nf;
    c->bn = &s->bn;
    c->b8 = s->bn.wide ? NULL : s->bins;
    c->b16 = s->bn.wide ? s->bins : NULL;
    c->cb8 = s->bn.wide ? NULL : s->cbins;
    c->cb16 = s->bn.wide ? s->cbins : NULL;
    c->lambda = q->lambda;
    c->mcw = q->mcw;
    c->min_gain = q->min_gain;
    c->eta = q->eta;
    c->cat_smooth = q->cat_smooth;
    c->cat_l2 = q->cat_l2;
    c->max_depth = q->max_depth;
    c->max_leaves = q->num_leaves;
    c->leafwise = q->leafwise;
    c->onehot_max = q->onehot_max;
    c->cat_threshold = q->cat_threshold;
    c->hlen = 2 * (size_t)s->bn.total_bins;
    uint32_t maxcat = 0;
    for (size_t j = 0; j < nf; j++)
        if (s->bn.f[j].is_cat && s->bn.f[j].nbins > maxcat)
            maxcat = s->bn.f[j].nbins;
    c->cwords = maxcat ? (maxcat + 31) / 32 : 0;
    c->cand_set = calloc(c->cwords + 1, sizeof *c->cand_set);
    c->cc = malloc(((size_t)maxcat + 1) * sizeof *c->cc);
    c->feats = malloc(nf * sizeof *c->feats);
    c->rows = malloc(n * sizeof *c->rows);
    c->tmp = malloc(n * sizeof *c->tmp);
    c->gh = malloc(2 * n * sizeof *c->gh);
    c->nleft_t = calloc((size_t)c->threads, sizeof *c->nleft_t);
    c->thist = calloc((size_t)c->threads, sizeof *c->thist);
    s->F = malloc(n * K * sizeof *s->F);
    s->gd = malloc(n * sizeof *s->gd);
    s->hd = malloc(n * sizeof *s->hd);
    s->in_tree = malloc(n);
    s->blk = malloc(TREE_BLOCK * nf * sizeof *s->blk);
    if (c->cand_set == NULL || c->cc == NULL || c->feats == NULL || c->rows == NULL ||
        c->tmp == NULL || c->gh == NULL || c->nleft_t == NULL || c->thist == NULL || s->F == NULL ||
        s->gd == NULL || s->hd == NULL || s->in_tree == NULL || s->blk == NULL)
        return AIOPS_ENOMEM;
    for (int t = 0; t + 1 < c->threads; t++)
        if ((c->thist[t] = malloc(c->hlen * sizeof(int64_t))) == NULL)
            return AIOPS_ENOMEM;
    if (K > 1 && (s->P = malloc(n * K * sizeof *s->P)) == NULL)
        return AIOPS_ENOMEM;
    if (s->vx && (s->vF = malloc((vn ? vn : 1) * K * sizeof *s->vF)) == NULL)
        return AIOPS_ENOMEM;
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < K; k++)
            s->F[r * K + k] = m->base[k];
    for (size_t r = 0; r < vn; r++)
        for (size_t k = 0; k < K; k++)
            s->vF[r * K + k] = m->base[k];
    return 0;
}

/* --- one round ---------------------------------------------------------------------------- */

/* The rows of the next tree into c->rows[0 .. return value), marked in s->in_tree: every
 * row, or each with probability subsample (at least one). */
static uint32_t sample_rows(struct train_state *s, uint64_t *rs)
{
    struct gctx *c = &s->c;
    size_t n = c->n;
    uint32_t nr = 0;
    if (s->q.subsample >= 1.0) {
        for (size_t r = 0; r < n; r++)
            c->rows[r] = (uint32_t)r;
        return (uint32_t)n;
    }
    for (size_t r = 0; r < n; r++) {
        s->in_tree[r] = rand_unit(rs) < s->q.subsample;
        if (s->in_tree[r])
            c->rows[nr++] = (uint32_t)r;
    }
    if (nr == 0) {
        s->in_tree[0] = 1;
        c->rows[nr++] = 0;
    }
    return nr;
}

/* The features of the next tree into c->feats[0 .. c->nsel), ascending (histograms are then
 * read in memory order): every feature, or colsample of them drawn at random. */
static void sample_features(struct gctx *c, double colsample, uint64_t *rs)
{
    size_t nf = c->nf;
    for (size_t j = 0; j < nf; j++)
        c->feats[j] = (uint32_t)j;
    c->nsel = nf;
    if (colsample >= 1.0)
        return;
    size_t want = (size_t)llround(colsample * (double)nf);
    if (want < 1)
        want = 1;
    for (size_t j = 0; j < want; j++) {
        size_t pick_j = j + (size_t)(rand_splitmix64(rs) % (nf - j));
        uint32_t t = c->feats[j];
        c->feats[j] = c->feats[pick_j];
        c->feats[pick_j] = t;
    }
    for (size_t a = 1; a < want; a++)
        for (size_t b = a; b > 0 && c->feats[b - 1] > c->feats[b]; b--) {
            uint32_t t = c->feats[b];
            c->feats[b] = c->feats[b - 1];
            c->feats[b - 1] = t;
        }
    c->nsel = want;
}

/* Gradients and hessians of output k at the current margins, into c->gh in fixed point. */
static void gradients(struct train_state *s, const struct gbdt *m, size_t k)
{
    struct gctx *c = &s->c;
    size_t n = c->n;
    struct grad_job gj = {m, n, s->K, k, s->y, s->w, s->F, s->P, s->gd, s->hd, s->gmax, s->hmax};
    int gth = n >= 65536 ? c->threads : 1;
    pool_run(c->pool, gth, grad_part, &gj);
    double gmax = 0, hmax = 0;
    for (int t = 0; t < gth; t++) {
        gmax = fmax(gmax, s->gmax[t]);
        hmax = fmax(hmax, s->hmax[t]);
    }
    struct quant_job qj = {n, s->gd, s->hd, fixed_scale(gmax), fixed_scale(hmax), c->gh};
    pool_run(c->pool, gth, quant_part, &qj);
    c->ginv = 1.0 / qj.gs;
    c->hinv = 1.0 / qj.hs;
}

/* Grows a tree on the nr sampled rows and appends it to the model. */
static int fit_tree(struct train_state *s, struct gbdt *m, uint32_t nr)
{
    struct gctx *c = &s->c;
    int64_t G = 0, H = 0;
    for (uint32_t i = 0; i < nr; i++) {
        G += c->gh[2 * (size_t)c->rows[i]];
        H += c->gh[2 * (size_t)c->rows[i] + 1];
    }
    struct tree t;
    int rv;
    if ((rv = grow(c, nr, G, H)) != 0 || (rv = emit_tree(c, &t)) != 0)
        return rv;
    tree_assert_grown(&t, m->nfeat, m->is_cat);
    if ((rv = add_tree(m, &s->tcap, &t)) != 0)
        tree_free(&t);
    return rv;
}

/* Adds the newest tree (output k) to the margins: sampled rows through their leaf's rows,
 * the others by walking the bins, validation rows by walking the tree. */
static void update_margins(struct train_state *s, const struct gbdt *m, size_t k, uint32_t nr)
{
    struct gctx *c = &s->c;
    const struct tree *t = &m->trees[m->ntrees - 1];
    struct upd_job uj = {c, t, s->F, s->K, k};
    pool_run(c->pool, nr >= 65536 ? c->threads : 1, upd_part, &uj);
    if (nr < c->n)
        for (size_t r = 0; r < c->n; r++)
            if (!s->in_tree[r])
                s->F[r * s->K + k] += t->value[leaf_of_row(c, r)];
    if (s->vx)
        tree_add_rows(t, s->vx, s->vF, s->K, k, s->blk);
}

/* One boosting round: a tree per output, each fitted to the gradients of the margins. */
static int boost_round(struct train_state *s, struct gbdt *m, int round)
{
    size_t K = s->K;
    if (K > 1)
        softmax_rows(s->F, s->c.n, K, s->P);
    for (size_t k = 0; k < K; k++) {
        uint64_t rs = ((uint64_t)s->seed << 32) ^ ((uint64_t)round * K + k + 1) * 0x9e37ull;
        uint32_t nr = sample_rows(s, &rs);
        sample_features(&s->c, s->q.colsample, &rs);
        gradients(s, m, k);
        int rv = fit_tree(s, m, nr);
        if (rv != 0)
            return rv;
        update_margins(s, m, k, nr);
    }
    return 0;
}

/* The validation loss after a round (*vloss; NaN without validation rows) and the
 * progress report; AIOPS_ECANCELED when progress asks to stop. */
static int report_round(struct train_state *s, const struct gbdt *m, int round,
                        train_progress_fn progress, void *arg, double *vloss,
                        struct aiops_error *err)
{
    double vmetric = NAN, tloss = NAN, tmetric = NAN;
    int rv;
    *vloss = NAN;
    if (s->vx && (rv = eval_metrics(m, s->vF, s->vy, NULL, s->vx->nrows, progress != NULL, vloss,
                                    &vmetric)) != 0)
        return rv;
    if (progress == NULL)
        return 0;
    if ((rv = eval_metrics(m, s->F, s->y, s->w, s->c.n, 1, &tloss, &tmetric)) != 0)
        return rv;
    struct train_progress pr = {round + 1,
                                s->q.rounds,
                                tloss,
                                *vloss,
                                tmetric,
                                vmetric,
                                m->obj == GBDT_BINARY       ? "auc"
                                : m->obj == GBDT_MULTICLASS ? "accuracy"
                                                            : "rmse",
                                NAN,
                                NAN,
                                0};
    if (progress(arg, &pr) != 0) {
        return aiops_error_set(err, AIOPS_ECANCELED, NULL, "training was cancelled after round %d",
                               round + 1);
    }
    return 0;
}

int gbdt_train(const struct fmatrix *x, const double *y, const double *w, const struct fmatrix *vx,
               const double *vy, const struct gbdt_params *p, train_progress_fn progress, void *arg,
               struct gbdt **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    struct train_state s;
    memset(&s, 0, sizeof s);
    int rv;
    if ((rv = resolve_params(p, &s.q, err)) != 0 ||
        (rv = check_inputs(x, y, w, vx, vy, p, err)) != 0)
        return rv;
    s.seed = p->seed;
    s.x = x;
    s.y = y;
    s.w = w;
    s.vx = vx;
    s.vy = vy;
    s.K = p->objective == GBDT_MULTICLASS ? (size_t)p->num_class : 1;
    struct gbdt *m = NULL;
    if ((rv = model_start(&s, p->objective, &m)) != 0 || (rv = bin_features(&s, err)) != 0 ||
        (rv = state_alloc(&s, m)) != 0)
        goto fail;
    /* early stopping keeps the trees of the round with the lowest validation loss */
    int stopping = vx != NULL && s.q.early_stopping > 0, best_round = -1;
    double best_loss = INFINITY;
    for (int round = 0; round < s.q.rounds; round++) {
        double vloss;
        if ((rv = boost_round(&s, m, round)) != 0 ||
            (rv = report_round(&s, m, round, progress, arg, &vloss, err)) != 0)
            goto fail;
        if (stopping && vloss < best_loss) {
            best_loss = vloss;
            best_round = round;
        } else if (stopping && round - best_round >= s.q.early_stopping) {
            break;
        }
    }
    if (stopping && best_round >= 0) {
        size_t keep = (size_t)(best_round + 1) * s.K;
        while (m->ntrees > keep)
            tree_free(&m->trees[--m->ntrees]);
    }
    state_free(&s);
    *out = m;
    return 0;
fail:
    state_free(&s);
    gbdt_free(m);
    if (rv == AIOPS_ENOMEM)
        aiops_error_set(err, rv, NULL, "out of memory");
    return rv;
}

/* ======================================================================================
 * Prediction, importance
 * ====================================================================================== */

struct margin_job {
    const struct gbdt *g;
    double *out;
};

static void margin_block(void *arg, size_t r0, size_t nb, const double *rows)
{
    const struct margin_job *j = arg;
    const struct gbdt *g = j->g;
    size_t K = g->groups;
    uint32_t leaf[TREE_BLOCK];
    double *o = j->out + r0 * K;
    for (size_t i = 0; i < nb; i++)
        for (size_t k = 0; k < K; k++)
            o[i * K + k] = g->base[k];
    for (size_t t = 0; t < g->ntrees; t++) {
        const struct tree *tr = &g->trees[t];
        size_t k = t % K;
        tree_leaves(tr, rows, nb, g->nfeat, leaf);
        for (size_t i = 0; i < nb; i++)
            o[i * K + k] += tr->value[leaf[i]];
    }
}

static int predict_margin(const struct gbdt *g, const struct fmatrix *x, struct pool *pool,
                          double *out)
{
    if (x->ncols != g->nfeat)
        return AIOPS_EINVAL;
    struct margin_job j = {g, out};
    return tree_for_blocks(x, pool, TREE_BLOCK, margin_block, &j);
}

int gbdt_predict_margin(const struct gbdt *g, const struct fmatrix *x, double *out)
{
    return predict_margin(g, x, NULL, out);
}

int gbdt_predict(const struct gbdt *g, const struct fmatrix *x, double *out)
{
    return gbdt_predict_pool(g, x, NULL, out);
}

int gbdt_predict_pool(const struct gbdt *g, const struct fmatrix *x, struct pool *pool, double *out)
{
    size_t n = x->nrows;
    if (g->obj == GBDT_BINARY) {
        /* margins into the second half of out, then expanded to (1 - p, p) pairs */
        int rv = predict_margin(g, x, pool, out + n);
        if (rv != 0)
            return rv;
        for (size_t r = 0; r < n; r++) {
            double pr = sigmoid(out[n + r]);
            out[2 * r] = 1.0 - pr;
            out[2 * r + 1] = pr;
        }
        return 0;
    }
    int rv = predict_margin(g, x, pool, out);
    if (rv != 0 || g->obj != GBDT_MULTICLASS)
        return rv;
    size_t K = g->groups;
    for (size_t r = 0; r < n; r++) {
        double *f = out + r * K, mx = f[0], s = 0;
        for (size_t k = 1; k < K; k++)
            mx = fmax(mx, f[k]);
        for (size_t k = 0; k < K; k++) {
            f[k] = exp(f[k] - mx);
            s += f[k];
        }
        for (size_t k = 0; k < K; k++)
            f[k] /= s;
    }
    return 0;
}

int gbdt_importance(const struct gbdt *g, int gain, double *out)
{
    memset(out, 0, g->nfeat * sizeof *out);
    for (size_t t = 0; t < g->ntrees; t++) {
        const struct tree *tr = &g->trees[t];
        for (uint32_t i = 0; i < tr->nnodes; i++) {
            int32_t f = tr->nodes[i].feature;
            if (f >= 0 && (uint32_t)f < g->nfeat)
                out[f] += gain ? tr->gain[i] : 1.0;
        }
    }
    return 0;
}

/* ======================================================================================
 * Bytes
 * ====================================================================================== */

/* u32 magic, u32 version, u32 objective, u32 groups, u32 nfeat, u32 ntrees, f64 eta,
 * groups x f64 base, nfeat x (u32 is_cat, u32 ncat), ntrees x tree, u32 CRC-32C of all the
 * bytes before it. */
int gbdt_save(const struct gbdt *g, struct buf *out)
{
    size_t start = out->len;
    int rv;
    if ((rv = bytes_put_u32(out, GBDT_MAGIC)) != 0 || (rv = bytes_put_u32(out, GBDT_VERSION)) ||
        (rv = bytes_put_u32(out, (uint32_t)g->obj)) || (rv = bytes_put_u32(out, g->groups)) ||
        (rv = bytes_put_u32(out, g->nfeat)) || (rv = bytes_put_u32(out, g->ntrees)) ||
        (rv = bytes_put_f64(out, g->learning_rate)))
        return rv;
    for (uint32_t k = 0; k < g->groups; k++)
        if ((rv = bytes_put_f64(out, g->base[k])) != 0)
            return rv;
    return tree_save_ensemble(g->is_cat, g->ncat, g->nfeat, g->trees, g->ntrees, start, out);
}

int gbdt_load(const uint8_t *p, size_t n, struct gbdt **out)
{
    *out = NULL;
    if (n < 4 * 6 + 8 + 4 || !tree_crc_ok(p, n))
        return AIOPS_ECORRUPT;
    struct bytes_reader r = {p, n - 4, 0, 0};
    uint32_t magic = bytes_get_u32(&r), version = bytes_get_u32(&r), obj = bytes_get_u32(&r);
    uint32_t groups = bytes_get_u32(&r), nfeat = bytes_get_u32(&r), ntrees = bytes_get_u32(&r);
    double eta = bytes_get_f64(&r);
    if (r.bad || magic != GBDT_MAGIC || version != GBDT_VERSION || obj > GBDT_REGRESSION ||
        groups == 0 || groups > GBDT_MAX_CLASSES || nfeat == 0 || !isfinite(eta))
        return AIOPS_ECORRUPT;
    if ((obj == GBDT_MULTICLASS) != (groups > 1) || ntrees % groups != 0)
        return AIOPS_ECORRUPT;
    /* every count must fit in the bytes that remain before anything is allocated for it */
    size_t left = r.n - r.off;
    if ((size_t)groups > left / 8 || (size_t)nfeat > (left - 8 * (size_t)groups) / 8 ||
        (size_t)ntrees > left / 8)
        return AIOPS_ECORRUPT;
    struct gbdt *g = calloc(1, sizeof *g);
    if (g == NULL)
        return AIOPS_ENOMEM;
    g->obj = (enum gbdt_objective)obj;
    g->groups = groups;
    g->nfeat = nfeat;
    g->learning_rate = eta;
    g->base = calloc(groups, sizeof *g->base);
    g->is_cat = calloc(nfeat, 1);
    g->ncat = calloc(nfeat, sizeof *g->ncat);
    g->trees = calloc(ntrees ? ntrees : 1, sizeof *g->trees);
    int rv = AIOPS_ENOMEM;
    if (g->base == NULL || g->is_cat == NULL || g->ncat == NULL || g->trees == NULL)
        goto fail;
    rv = AIOPS_ECORRUPT;
    for (uint32_t k = 0; k < groups; k++)
        if (!isfinite(g->base[k] = bytes_get_f64(&r)))
            goto fail;
    if ((rv = tree_load_ensemble(&r, 1, nfeat, g->is_cat, g->ncat, g->trees, ntrees,
                                 &g->ntrees)) != 0)
        goto fail;
    *out = g;
    return 0;
fail:
    gbdt_free(g);
    return rv == AIOPS_ENOMEM ? rv : AIOPS_ECORRUPT;
}

int gbdt_from_trees(enum gbdt_objective obj, uint32_t groups, uint32_t nfeat, struct tree *trees,
                    uint32_t ntrees, const double *base, double learning_rate, struct gbdt **out)
{
    *out = NULL;
    if (groups == 0 || groups > GBDT_MAX_CLASSES || nfeat == 0 || ntrees % groups != 0 ||
        (obj == GBDT_MULTICLASS) != (groups > 1) || !isfinite(learning_rate))
        return AIOPS_ECORRUPT;
    for (uint32_t k = 0; k < groups; k++)
        if (!isfinite(base[k]))
            return AIOPS_ECORRUPT;
    struct gbdt *g = calloc(1, sizeof *g);
    if (g == NULL)
        return AIOPS_ENOMEM;
    g->obj = obj;
    g->groups = groups;
    g->nfeat = nfeat;
    g->learning_rate = learning_rate;
    g->base = malloc(groups * sizeof *g->base);
    g->is_cat = calloc(nfeat, 1);
    g->ncat = calloc(nfeat, sizeof *g->ncat);
    g->trees = malloc((ntrees ? ntrees : 1) * sizeof *g->trees);
    if (g->base == NULL || g->is_cat == NULL || g->ncat == NULL || g->trees == NULL) {
        gbdt_free(g); /* ntrees is still 0: the caller's trees are untouched */
        return AIOPS_ENOMEM;
    }
    for (uint32_t t = 0; t < ntrees; t++)
        if (trees[t].nout != 1 || tree_check(&trees[t], nfeat, g->is_cat) != 0) {
            gbdt_free(g);
            return AIOPS_ECORRUPT;
        }
    memcpy(g->base, base, groups * sizeof *g->base);
    memcpy(g->trees, trees, ntrees * sizeof *g->trees);
    memset(trees, 0, ntrees * sizeof *trees);
    g->ntrees = ntrees;
    *out = g;
    return AIOPS_OK;
}
