#include "algo/forest.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/binning.h"
#include "core/array.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "data/colstore.h"

#define FOREST_MAGIC 0x54535246u /* "FRST" little-endian */
#define FOREST_VERSION 1u
#define FOREST_MAX_CLASSES 10000
#define FOREST_MAX_TREES 100000
#define FOREST_MAX_BIN 255

struct forest {
    int classification;
    uint32_t nout; /* classes, or 1 */
    uint32_t nfeat;
    uint8_t *is_cat;
    uint32_t *ncat;
    uint32_t ntrees;
    struct tree *trees;
};

void forest_free(struct forest *f)
{
    if (f == NULL)
        return;
    for (uint32_t i = 0; i < f->ntrees && f->trees != NULL; i++)
        tree_free(&f->trees[i]);
    free(f->trees);
    free(f->is_cat);
    free(f->ncat);
    free(f);
}

size_t forest_outputs(const struct forest *f)
{
    return f->nout;
}
size_t forest_num_features(const struct forest *f)
{
    return f->nfeat;
}
size_t forest_num_trees(const struct forest *f)
{
    return f->ntrees;
}
const struct tree *forest_tree(const struct forest *f, size_t i)
{
    return i < f->ntrees ? &f->trees[i] : NULL;
}

/* ======================================================================================
 * Growing one tree
 * ====================================================================================== */

/* What every tree reads. */
struct fshared {
    size_t n, nf;
    const struct binner *bn;
    const uint8_t *cb8; /* column-major bins */
    const uint16_t *cb16;
    const double *y, *w;
    const uint8_t *is_cat; /* nf: the categorical features */
    size_t K;              /* classes (classification) */
    size_t D;              /* statistics per bin: K class weights, or (w, w*y) */
    int classification, bootstrap, max_depth;
    size_t mtry, msl;
    unsigned seed;
    uint32_t maxbins, cwords;
    struct tree *trees;
    int ntrees;
    atomic_int next, done, cancel, failed;
    train_progress_fn progress;
    void *arg;
};

struct fsplit {
    int32_t feature;
    uint32_t bin; /* numeric: value bins <= bin go left */
    int default_left;
    int is_cat;
    double score; /* sum over both children of their proxy (sum S^2 / W) */
};

struct fwork {
    const struct fshared *s;
    uint32_t *rows, *tmp;
    double *rw; /* this tree's row weights: bootstrap count * w */
    uint32_t *draws;
    uint32_t *feats;
    uint32_t *bcnt; /* maxbins: rows per bin */
    double *bstat;  /* maxbins * D */
    uint32_t *touched;
    double *key;                /* maxbins: categorical ordering keys */
    uint32_t *order;            /* maxbins */
    double *acc;                /* 2 * D + 2: running sums while scanning */
    uint32_t *cset, *best_cset; /* cwords */
    double *nstat;              /* D: the node's sums */
    struct fstack {
        uint32_t node, begin, end;
        int depth;
    } * stack;
    size_t stack_cap;
    uint64_t rng;
    /* the tree under construction */
    struct tree t;
    size_t node_cap;
    uint32_t cat_cap;
};

static inline uint32_t fbin(const struct fshared *s, size_t j, uint32_t r)
{
    return s->cb8 ? s->cb8[j * s->n + r] : s->cb16[j * s->n + r];
}

/* sum_k S_k^2 / W (classification) or S_y^2 / W (regression): the part of a side's
 * weighted impurity that a split changes (larger is purer). */
static inline double proxy(const struct fshared *s, const double *st, double W)
{
    if (!(W > 0))
        return 0;
    if (!s->classification)
        return st[1] * st[1] / W;
    double q = 0;
    for (size_t k = 0; k < s->K; k++)
        q += st[k] * st[k];
    return q / W;
}

static inline double stat_weight(const struct fshared *s, const double *st)
{
    if (!s->classification)
        return st[0];
    double W = 0;
    for (size_t k = 0; k < s->K; k++)
        W += st[k];
    return W;
}

static int node_new(struct fwork *wk, uint32_t *idx)
{
    struct tree *t = &wk->t;
    if (t->nnodes == wk->node_cap) {
        /* the per-node arrays grow together, each from the capacity they share */
        size_t need = (size_t)t->nnodes + 1, nodes_cap = wk->node_cap, gain_cap = nodes_cap,
               cover_cap = nodes_cap, value_cap = nodes_cap;
        if (array_reserve(&t->nodes, &nodes_cap, need, sizeof *t->nodes, 256) != 0 ||
            array_reserve(&t->gain, &gain_cap, need, sizeof *t->gain, 256) != 0 ||
            array_reserve(&t->cover, &cover_cap, need, sizeof *t->cover, 256) != 0 ||
            array_reserve(&t->value, &value_cap, need, t->nout * sizeof *t->value, 256) != 0)
            return AIOPS_ENOMEM;
        wk->node_cap = nodes_cap;
    }
    *idx = t->nnodes++;
    struct tree_node *nd = &t->nodes[*idx];
    memset(nd, 0, sizeof *nd);
    nd->feature = -1;
    nd->left = nd->right = -1;
    t->gain[*idx] = 0;
    t->cover[*idx] = 0;
    return 0;
}

/* Scans feature j over rows[0..m) of the node; updates *best (and wk->best_cset) when a
 * better split is found. Returns 1 when the feature is constant in the node. */
static int scan_feature(struct fwork *wk, size_t j, const uint32_t *rows, size_t m, double W,
                        size_t cnt, struct fsplit *best)
{
    const struct fshared *s = wk->s;
    const struct bin_feature *f = &s->bn->f[j];
    size_t D = s->D, nt = 0;
    for (size_t i = 0; i < m; i++) {
        uint32_t r = rows[i], b = fbin(s, j, r);
        if (wk->bcnt[b]++ == 0)
            wk->touched[nt++] = b;
        double *st = wk->bstat + (size_t)b * D;
        if (s->classification) {
            st[(size_t)s->y[r]] += wk->rw[r];
        } else {
            st[0] += wk->rw[r];
            st[1] += wk->rw[r] * s->y[r];
        }
    }
    int constant = nt <= 1;
    if (constant)
        goto reset;
    uint32_t mb = f->nvalue; /* the missing bin, when the feature has one */
    int has_m = f->has_missing && wk->bcnt[mb] > 0;
    double *L = wk->acc, *R = wk->acc + D;
    /* the order of the bins to scan */
    size_t no = 0;
    if (f->is_cat) {
        /* Breiman's ordering: by the share of the node's most common class (classification)
         * or the mean target (regression); the missing bin takes part as a category. */
        size_t kref = 0;
        if (s->classification)
            for (size_t k = 1; k < s->K; k++)
                if (wk->nstat[k] > wk->nstat[kref])
                    kref = k;
        for (size_t i = 0; i < nt; i++) {
            uint32_t b = wk->touched[i];
            const double *st = wk->bstat + (size_t)b * D;
            double bw = stat_weight(s, st);
            double key =
                s->classification ? (bw > 0 ? st[kref] / bw : 0) : (bw > 0 ? st[1] / bw : 0);
            /* insertion by (key, bin): few categories per node */
            size_t p = no;
            while (p > 0 &&
                   (wk->key[p - 1] > key || (wk->key[p - 1] == key && wk->order[p - 1] > b))) {
                wk->key[p] = wk->key[p - 1];
                wk->order[p] = wk->order[p - 1];
                p--;
            }
            wk->key[p] = key;
            wk->order[p] = b;
            no++;
        }
    } else if (nt > 24) {
        /* many bins touched: walking all of them in order is cheaper than sorting */
        for (uint32_t b = 0; b < f->nvalue; b++)
            if (wk->bcnt[b] > 0)
                wk->order[no++] = b;
    } else {
        for (size_t i = 0; i < nt; i++) {
            uint32_t b = wk->touched[i];
            if (has_m && b == mb)
                continue;
            size_t p = no;
            while (p > 0 && wk->order[p - 1] > b) {
                wk->order[p] = wk->order[p - 1];
                p--;
            }
            wk->order[p] = b;
            no++;
        }
    }
    /* Scan: numeric features once with the missing bin right and once left (when present);
     * categorical ones once (the missing bin is in the ordering). */
    int passes = (!f->is_cat && has_m) ? 2 : 1;
    for (int pass = 0; pass < passes; pass++) {
        memset(L, 0, D * sizeof *L);
        size_t cl = 0;
        if (pass == 1) {
            const double *st = wk->bstat + (size_t)mb * D;
            for (size_t d = 0; d < D; d++)
                L[d] = st[d];
            cl = wk->bcnt[mb];
        }
        /* numeric with missing right: every value left, missing right is a split too */
        size_t last = (!f->is_cat && has_m && pass == 0) ? no : no - 1;
        for (size_t i = 0; i < last; i++) {
            uint32_t b = wk->order[i];
            const double *st = wk->bstat + (size_t)b * D;
            for (size_t d = 0; d < D; d++)
                L[d] += st[d];
            cl += wk->bcnt[b];
            size_t cr = cnt - cl;
            if (cl < s->msl || cr < s->msl)
                continue;
            double WL = stat_weight(s, L);
            double WR = W - WL;
            if (!(WL > 0) || !(WR > 0))
                continue;
            for (size_t d = 0; d < D; d++)
                R[d] = wk->nstat[d] - L[d];
            double sc = proxy(s, L, WL) + proxy(s, R, WR);
            if (sc > best->score) {
                best->score = sc;
                best->feature = (int32_t)j;
                best->is_cat = f->is_cat;
                if (!f->is_cat) {
                    best->bin = b;
                    best->default_left = pass == 1;
                    if (!has_m)
                        best->default_left = WL > WR;
                } else {
                    memset(wk->best_cset, 0, s->cwords * sizeof *wk->best_cset);
                    for (size_t q = 0; q <= i; q++)
                        wk->best_cset[wk->order[q] / 32] |= 1u << (wk->order[q] % 32);
                    int dl;
                    if (has_m)
                        dl = (int)((wk->best_cset[mb / 32] >> (mb % 32)) & 1u);
                    else
                        dl = WL > WR;
                    /* categories without rows here go the default way, like unseen ones */
                    for (uint32_t c = 0; c < f->nbins; c++) {
                        if (wk->bcnt[c] == 0) {
                            if (dl)
                                wk->best_cset[c / 32] |= 1u << (c % 32);
                            else
                                wk->best_cset[c / 32] &= ~(1u << (c % 32));
                        }
                    }
                    best->default_left = dl;
                }
            }
        }
    }
reset:
    for (size_t i = 0; i < nt; i++) {
        uint32_t b = wk->touched[i];
        wk->bcnt[b] = 0;
        memset(wk->bstat + (size_t)b * D, 0, D * sizeof(double));
    }
    return constant;
}

static inline int goes_left(const struct fwork *wk, const struct fsplit *sp, uint32_t b)
{
    if (sp->is_cat)
        return (int)((wk->best_cset[b / 32] >> (b % 32)) & 1u);
    const struct bin_feature *f = &wk->s->bn->f[sp->feature];
    if (b >= f->nvalue)
        return sp->default_left;
    return b <= sp->bin;
}

static int grow_tree(struct fwork *wk, int ti)
{
    const struct fshared *s = wk->s;
    size_t n = s->n, D = s->D;
    int rv;
    memset(&wk->t, 0, sizeof wk->t);
    wk->t.nout = (uint32_t)(s->classification ? s->K : 1);
    wk->node_cap = wk->cat_cap = 0;
    wk->rng = ((uint64_t)s->seed * 0x9e3779b97f4a7c15ull) ^
              ((uint64_t)(unsigned)ti * 0xd1b54a32d192ed03ull);
    rand_splitmix64(&wk->rng);
    /* the bootstrap sample */
    uint32_t m = 0;
    if (s->bootstrap) {
        memset(wk->draws, 0, n * sizeof *wk->draws);
        for (size_t i = 0; i < n; i++) {
            uint64_t u = rand_splitmix64(&wk->rng) >> 32;
            wk->draws[(u * n) >> 32]++;
        }
        for (size_t r = 0; r < n; r++) {
            if (wk->draws[r] > 0) {
                wk->rw[r] = (double)wk->draws[r] * (s->w ? s->w[r] : 1.0);
                wk->rows[m++] = (uint32_t)r;
            }
        }
    } else {
        for (size_t r = 0; r < n; r++) {
            wk->rw[r] = s->w ? s->w[r] : 1.0;
            wk->rows[m++] = (uint32_t)r;
        }
    }
    uint32_t root;
    if ((rv = node_new(wk, &root)) != 0)
        return rv;
    size_t sp_n = 0;
    wk->stack[sp_n++] = (struct fstack){root, 0, m, 0};
    while (sp_n > 0) {
        struct fstack cur = wk->stack[--sp_n];
        const uint32_t *rows = wk->rows + cur.begin;
        size_t cnt = cur.end - cur.begin;
        /* the node's sums */
        memset(wk->nstat, 0, D * sizeof *wk->nstat);
        double sq = 0;
        for (size_t i = 0; i < cnt; i++) {
            uint32_t r = rows[i];
            if (s->classification) {
                wk->nstat[(size_t)s->y[r]] += wk->rw[r];
            } else {
                wk->nstat[0] += wk->rw[r];
                wk->nstat[1] += wk->rw[r] * s->y[r];
                sq += wk->rw[r] * s->y[r] * s->y[r];
            }
        }
        double W = stat_weight(s, wk->nstat);
        double *val = wk->t.value + (size_t)cur.node * wk->t.nout;
        wk->t.cover[cur.node] = W;
        double impurity;
        if (s->classification) {
            for (size_t k = 0; k < s->K; k++)
                val[k] = W > 0 ? wk->nstat[k] / W : 1.0 / (double)s->K;
            impurity = W > 0 ? 1.0 - proxy(s, wk->nstat, W) / W : 0;
        } else {
            val[0] = W > 0 ? wk->nstat[1] / W : 0;
            impurity = W > 0 ? sq / W - val[0] * val[0] : 0;
        }
        if (cnt < 2 || cnt < 2 * s->msl || (s->max_depth > 0 && cur.depth >= s->max_depth) ||
            impurity <= 1e-12 * (s->classification ? 1.0 : sq / (W > 0 ? W : 1.0)) || !(W > 0))
            continue;
        /* features in random order until mtry non-constant ones were looked at */
        struct fsplit best = {-1, 0, 0, 0, -INFINITY};
        size_t nf = s->nf, seen = 0;
        for (size_t i = 0; i < nf && seen < s->mtry; i++) {
            size_t pick =
                i + (size_t)(((rand_splitmix64(&wk->rng) >> 32) * (uint64_t)(nf - i)) >> 32);
            uint32_t tmp = wk->feats[i];
            wk->feats[i] = wk->feats[pick];
            wk->feats[pick] = tmp;
            if (!scan_feature(wk, wk->feats[i], rows, cnt, W, cnt, &best))
                seen++;
        }
        if (best.feature < 0)
            continue;
        /* partition the rows: left first, both sides in their previous order */
        uint32_t *rw_rows = wk->rows + cur.begin;
        uint32_t *tmp = wk->tmp;
        size_t l = 0, r = cnt;
        for (size_t i = 0; i < cnt; i++) {
            uint32_t row = rw_rows[i];
            size_t left = (size_t)goes_left(wk, &best, fbin(s, (size_t)best.feature, row));
            tmp[l] = row;
            tmp[r - 1] = row;
            l += left;
            r -= 1 - left;
        }
        memcpy(rw_rows, tmp, l * sizeof *tmp);
        for (size_t i = 0; i < cnt - l; i++)
            rw_rows[l + i] = tmp[cnt - 1 - i];
        if (l == 0 || l == cnt)
            continue; /* cannot happen with the count checks; never loop on it */
        uint32_t li, ri;
        if ((rv = node_new(wk, &li)) != 0 || (rv = node_new(wk, &ri)) != 0)
            return rv;
        struct tree_node *nd = &wk->t.nodes[cur.node];
        nd->feature = best.feature;
        nd->left = (int32_t)li;
        nd->right = (int32_t)ri;
        double parent = proxy(s, wk->nstat, W);
        double gain = best.score - parent;
        wk->t.gain[cur.node] = gain > 0 ? gain : 0;
        const struct bin_feature *f = &s->bn->f[best.feature];
        if (best.is_cat) {
            if ((rv = tree_set_catsplit(&wk->t, &wk->cat_cap, nd, f, wk->best_cset,
                                        best.default_left)) != 0)
                return rv;
        } else {
            nd->flags = best.default_left ? TREE_DEFAULT_LEFT : 0;
            nd->threshold = f->upper[best.bin];
        }
        if (sp_n + 2 > wk->stack_cap) {
            size_t nc = wk->stack_cap * 2;
            struct fstack *p = realloc(wk->stack, nc * sizeof *p);
            if (p == NULL)
                return AIOPS_ENOMEM;
            wk->stack = p;
            wk->stack_cap = nc;
        }
        uint32_t mid = cur.begin + (uint32_t)l;
        wk->stack[sp_n++] = (struct fstack){ri, mid, cur.end, cur.depth + 1};
        wk->stack[sp_n++] = (struct fstack){li, cur.begin, mid, cur.depth + 1};
    }
    return 0;
}

static void fwork_free(struct fwork *wk)
{
    free(wk->rows);
    free(wk->tmp);
    free(wk->rw);
    free(wk->draws);
    free(wk->feats);
    free(wk->bcnt);
    free(wk->bstat);
    free(wk->touched);
    free(wk->key);
    free(wk->order);
    free(wk->acc);
    free(wk->cset);
    free(wk->best_cset);
    free(wk->nstat);
    free(wk->stack);
    tree_free(&wk->t);
}

static int fwork_init(struct fwork *wk, const struct fshared *s)
{
    memset(wk, 0, sizeof *wk);
    wk->s = s;
    size_t n = s->n, mb = s->maxbins;
    wk->rows = malloc(n * sizeof *wk->rows);
    wk->tmp = malloc(n * sizeof *wk->tmp);
    wk->rw = malloc(n * sizeof *wk->rw);
    wk->draws = malloc(n * sizeof *wk->draws);
    wk->feats = malloc(s->nf * sizeof *wk->feats);
    wk->bcnt = calloc(mb, sizeof *wk->bcnt);
    wk->bstat = calloc(mb * s->D, sizeof *wk->bstat);
    wk->touched = malloc(mb * sizeof *wk->touched);
    wk->key = malloc(mb * sizeof *wk->key);
    wk->order = malloc(mb * sizeof *wk->order);
    wk->acc = malloc((2 * s->D + 2) * sizeof *wk->acc);
    wk->cset = calloc(s->cwords + 1, sizeof *wk->cset);
    wk->best_cset = calloc(s->cwords + 1, sizeof *wk->best_cset);
    wk->nstat = malloc(s->D * sizeof *wk->nstat);
    wk->stack_cap = 64;
    wk->stack = malloc(wk->stack_cap * sizeof *wk->stack);
    if (wk->rows == NULL || wk->tmp == NULL || wk->rw == NULL || wk->draws == NULL ||
        wk->feats == NULL || wk->bcnt == NULL || wk->bstat == NULL || wk->touched == NULL ||
        wk->key == NULL || wk->order == NULL || wk->acc == NULL || wk->cset == NULL ||
        wk->best_cset == NULL || wk->nstat == NULL || wk->stack == NULL) {
        fwork_free(wk);
        return AIOPS_ENOMEM;
    }
    for (size_t j = 0; j < s->nf; j++)
        wk->feats[j] = (uint32_t)j;
    return 0;
}

static void train_part(void *arg, int tid, int nth)
{
    (void)nth;
    struct fshared *s = arg;
    struct fwork wk;
    if (fwork_init(&wk, s) != 0) {
        atomic_store(&s->failed, AIOPS_ENOMEM);
        return;
    }
    for (;;) {
        if (atomic_load(&s->cancel) || atomic_load(&s->failed))
            break;
        int ti = atomic_fetch_add(&s->next, 1);
        if (ti >= s->ntrees)
            break;
        /* a tree's features are drawn in an order that depends on its seed only */
        for (size_t j = 0; j < s->nf; j++)
            wk.feats[j] = (uint32_t)j;
        int rv = grow_tree(&wk, ti);
        if (rv != 0) {
            tree_free(&wk.t);
            atomic_store(&s->failed, rv);
            break;
        }
        tree_assert_grown(&wk.t, s->nf, s->is_cat);
        s->trees[ti] = wk.t;
        memset(&wk.t, 0, sizeof wk.t);
        int done = atomic_fetch_add(&s->done, 1) + 1;
        /* progress is reported from the caller's thread only (callbacks need not be
         * thread-safe) */
        if (tid == 0 && s->progress) {
            struct train_progress pr = {
                done, s->ntrees, NAN, NAN, NAN, NAN, s->classification ? "accuracy" : "rmse",
                NAN,  NAN,       0};
            if (s->progress(s->arg, &pr) != 0)
                atomic_store(&s->cancel, 1);
        }
    }
    fwork_free(&wk);
}

int forest_train(const struct fmatrix *x, const double *y, const double *w,
                 const struct forest_params *p, train_progress_fn progress, void *arg,
                 struct forest **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    size_t n = x->nrows, nf = x->ncols;
    int ntrees = p->trees ? p->trees : 100;
    if (ntrees < 1 || ntrees > FOREST_MAX_TREES) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "trees must be 1..%d", FOREST_MAX_TREES);
    }
    if (p->max_depth < -1 || p->max_depth > 1000) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "max_depth must be -1 (no limit) or 1..1000");
    }
    if (p->min_samples_leaf < 0) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "min_samples_leaf must be >= 1");
    }
    if (!(p->max_features >= 0) || !isfinite(p->max_features)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "max_features must be a fraction in (0, 1] or a count > 1");
    }
    if (p->bootstrap < -1 || p->bootstrap > 1 || p->threads < 0 || p->threads > 1024) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "bootstrap must be -1, 0 or 1 and threads 0..1024");
    }
    if (p->classification && (p->num_class < 2 || p->num_class > FOREST_MAX_CLASSES)) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL, "num_class must be 2..%d",
                               FOREST_MAX_CLASSES);
    }
    if (n == 0 || nf == 0 || n >= UINT32_MAX) {
        return aiops_error_set(err, AIOPS_EINVAL, NULL,
                               "the training matrix has %zu rows and %zu columns", n, nf);
    }
    for (size_t r = 0; r < n; r++) {
        double v = y[r];
        int ok =
            isfinite(v) && (!p->classification || (v >= 0 && v < p->num_class && v == floor(v)));
        if (!ok) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "target of row %zu is %g: not a valid %s", r, v,
                                   p->classification ? "class" : "number");
        }
        if (w && (!(w[r] >= 0) || !isfinite(w[r]))) {
            return aiops_error_set(err, AIOPS_EINVAL, NULL,
                                   "weight of row %zu is %g: weights must be finite and >= 0", r,
                                   w[r]);
        }
    }

    struct fshared s;
    memset(&s, 0, sizeof s);
    struct binner bn;
    void *cbins = NULL;
    struct pool *pool = NULL;
    struct forest *f = calloc(1, sizeof *f);
    int rv = AIOPS_ENOMEM;
    memset(&bn, 0, sizeof bn);
    if (f == NULL)
        return AIOPS_ENOMEM;
    f->classification = p->classification != 0;
    f->nout = p->classification ? (uint32_t)p->num_class : 1;
    f->nfeat = (uint32_t)nf;
    f->is_cat = calloc(nf, 1);
    f->ncat = calloc(nf, sizeof *f->ncat);
    f->trees = calloc((size_t)ntrees, sizeof *f->trees);
    if (f->is_cat == NULL || f->ncat == NULL || f->trees == NULL)
        goto fail;
    for (size_t j = 0; j < nf; j++) {
        f->is_cat[j] = x->is_cat ? (x->is_cat[j] != 0) : 0;
        f->ncat[j] = f->is_cat[j] && x->ncat ? x->ncat[j] : 0;
    }
    if ((rv = pool_create(p->threads, &pool)) != 0)
        goto fail;
    if ((rv = binner_fit(x, NULL, n, FOREST_MAX_BIN, p->seed, pool, &bn)) != 0 ||
        (rv = binner_apply(&bn, x, NULL, n, nf, pool, NULL, &cbins)) != 0)
        goto fail;
    s.n = n;
    s.nf = nf;
    s.bn = &bn;
    s.cb8 = bn.wide ? NULL : cbins;
    s.cb16 = bn.wide ? cbins : NULL;
    s.y = y;
    s.w = w;
    s.is_cat = f->is_cat;
    s.classification = f->classification;
    s.K = p->classification ? (size_t)p->num_class : 1;
    s.D = p->classification ? s.K : 2;
    s.bootstrap = p->bootstrap >= 0;
    s.max_depth = p->max_depth > 0 ? p->max_depth : -1;
    s.msl = p->min_samples_leaf > 0 ? (size_t)p->min_samples_leaf : 1;
    if (p->max_features == 0)
        s.mtry = p->classification ? (size_t)floor(sqrt((double)nf)) : nf;
    else if (p->max_features <= 1.0)
        s.mtry = (size_t)floor(p->max_features * (double)nf);
    else
        s.mtry = (size_t)floor(p->max_features);
    if (s.mtry < 1)
        s.mtry = 1;
    if (s.mtry > nf)
        s.mtry = nf;
    s.seed = p->seed;
    uint32_t maxbins = 1;
    for (size_t j = 0; j < nf; j++)
        if (bn.f[j].nbins > maxbins)
            maxbins = bn.f[j].nbins;
    s.maxbins = maxbins;
    s.cwords = (maxbins + 31) / 32;
    s.trees = f->trees;
    s.ntrees = ntrees;
    s.progress = progress;
    s.arg = arg;
    atomic_init(&s.next, 0);
    atomic_init(&s.done, 0);
    atomic_init(&s.cancel, 0);
    atomic_init(&s.failed, 0);
    pool_run(pool, pool_threads(pool), train_part, &s);
    f->ntrees = (uint32_t)ntrees; /* trees not grown are empty and freed below */
    if ((rv = atomic_load(&s.failed)) != 0)
        goto fail;
    if (atomic_load(&s.cancel)) {
        aiops_error_set(err, AIOPS_EINVAL, NULL, "training was cancelled after %d trees",
                        atomic_load(&s.done));
        rv = AIOPS_ECANCELED;
        goto fail;
    }
    binner_free(&bn);
    free(cbins);
    pool_free(pool);
    *out = f;
    return 0;
fail:
    binner_free(&bn);
    free(cbins);
    pool_free(pool);
    forest_free(f);
    if (rv == AIOPS_ENOMEM)
        aiops_error_set(err, rv, NULL, "out of memory");
    return rv;
}

/* ======================================================================================
 * Prediction, importance
 * ====================================================================================== */

struct forest_job {
    const struct forest *f;
    double *out;
};

static void forest_block(void *arg, size_t r0, size_t nb, const double *rows)
{
    const struct forest_job *j = arg;
    const struct forest *f = j->f;
    size_t K = f->nout;
    double inv = f->ntrees ? 1.0 / f->ntrees : 0;
    double *o = j->out + r0 * K;
    uint32_t leaf[TREE_BIG_BLOCK];
    memset(o, 0, nb * K * sizeof *o);
    for (size_t t = 0; t < f->ntrees; t++) {
        const struct tree *tr = &f->trees[t];
        tree_leaves(tr, rows, nb, f->nfeat, leaf);
        for (size_t i = 0; i < nb; i++) {
            const double *v = tr->value + (size_t)leaf[i] * K;
            for (size_t k = 0; k < K; k++)
                o[i * K + k] += v[k];
        }
    }
    for (size_t i = 0; i < nb * K; i++)
        o[i] *= inv;
}

int forest_predict(const struct forest *f, const struct fmatrix *x, double *out)
{
    return forest_predict_pool(f, x, NULL, out);
}

int forest_predict_pool(const struct forest *f, const struct fmatrix *x, struct pool *pool,
                        double *out)
{
    if (x->ncols != f->nfeat)
        return AIOPS_EINVAL;
    struct forest_job j = {f, out};
    /* fully grown trees: walk each tree over big blocks (see TREE_BIG_BLOCK), yet keep at
     * least four blocks per thread so that the threads finish together */
    size_t node_bytes = 0;
    for (size_t t = 0; t < f->ntrees; t++)
        node_bytes += f->trees[t].nnodes * sizeof(struct tree_node);
    size_t rows = TREE_BLOCK;
    if (node_bytes > ((size_t)4 << 20)) {
        size_t nth = pool ? (size_t)pool_threads(pool) : 1;
        rows = x->nrows / (4 * nth);
        rows = rows < TREE_BLOCK ? TREE_BLOCK : rows > TREE_BIG_BLOCK ? TREE_BIG_BLOCK : rows;
    }
    return tree_for_blocks(x, pool, rows, forest_block, &j);
}

int forest_importance(const struct forest *f, double *out)
{
    memset(out, 0, f->nfeat * sizeof *out);
    double *per = calloc(f->nfeat ? f->nfeat : 1, sizeof *per);
    if (per == NULL)
        return AIOPS_ENOMEM;
    size_t used = 0;
    for (size_t t = 0; t < f->ntrees; t++) {
        const struct tree *tr = &f->trees[t];
        if (tr->nnodes <= 1)
            continue;
        memset(per, 0, f->nfeat * sizeof *per);
        double sum = 0;
        for (uint32_t i = 0; i < tr->nnodes; i++) {
            int32_t j = tr->nodes[i].feature;
            if (j >= 0 && (uint32_t)j < f->nfeat) {
                per[j] += tr->gain[i];
                sum += tr->gain[i];
            }
        }
        used++;
        if (sum > 0)
            for (uint32_t j = 0; j < f->nfeat; j++)
                out[j] += per[j] / sum;
    }
    free(per);
    double total = 0;
    for (uint32_t j = 0; j < f->nfeat; j++)
        total += out[j];
    if (used > 0 && total > 0)
        for (uint32_t j = 0; j < f->nfeat; j++)
            out[j] /= total;
    return 0;
}

/* ======================================================================================
 * Bytes
 * ====================================================================================== */

/* u32 magic, u32 version, u32 classification, u32 nout, u32 nfeat, u32 ntrees,
 * nfeat x (u32 is_cat, u32 ncat), ntrees x tree (nout values per node), u32 CRC-32C of all
 * the bytes before it. */
int forest_save(const struct forest *f, struct buf *out)
{
    size_t start = out->len;
    int rv;
    if ((rv = bytes_put_u32(out, FOREST_MAGIC)) != 0 ||
        (rv = bytes_put_u32(out, FOREST_VERSION)) != 0 ||
        (rv = bytes_put_u32(out, (uint32_t)f->classification)) != 0 ||
        (rv = bytes_put_u32(out, f->nout)) != 0 || (rv = bytes_put_u32(out, f->nfeat)) != 0 ||
        (rv = bytes_put_u32(out, f->ntrees)) != 0)
        return rv;
    return tree_save_ensemble(f->is_cat, f->ncat, f->nfeat, f->trees, f->ntrees, start, out);
}

int forest_load(const uint8_t *p, size_t n, struct forest **out)
{
    *out = NULL;
    if (n < 4 * 7 || !tree_crc_ok(p, n))
        return AIOPS_ECORRUPT;
    struct bytes_reader r = {p, n - 4, 0, 0};
    uint32_t magic = bytes_get_u32(&r), version = bytes_get_u32(&r), cls = bytes_get_u32(&r);
    uint32_t nout = bytes_get_u32(&r), nfeat = bytes_get_u32(&r), ntrees = bytes_get_u32(&r);
    if (r.bad || magic != FOREST_MAGIC || version != FOREST_VERSION || cls > 1 || nfeat == 0 ||
        ntrees == 0 || ntrees > FOREST_MAX_TREES)
        return AIOPS_ECORRUPT;
    if (cls ? (nout < 2 || nout > FOREST_MAX_CLASSES) : nout != 1)
        return AIOPS_ECORRUPT;
    size_t left = r.n - r.off;
    if ((size_t)nfeat > left / 8 || (size_t)ntrees > left / 8)
        return AIOPS_ECORRUPT;
    struct forest *f = calloc(1, sizeof *f);
    if (f == NULL)
        return AIOPS_ENOMEM;
    f->classification = (int)cls;
    f->nout = nout;
    f->nfeat = nfeat;
    f->is_cat = calloc(nfeat, 1);
    f->ncat = calloc(nfeat, sizeof *f->ncat);
    f->trees = calloc(ntrees, sizeof *f->trees);
    int rv = AIOPS_ENOMEM;
    if (f->is_cat == NULL || f->ncat == NULL || f->trees == NULL)
        goto fail;
    if ((rv = tree_load_ensemble(&r, nout, nfeat, f->is_cat, f->ncat, f->trees, ntrees,
                                 &f->ntrees)) != 0)
        goto fail;
    *out = f;
    return 0;
fail:
    forest_free(f);
    return rv == AIOPS_ENOMEM ? rv : AIOPS_ECORRUPT;
}
