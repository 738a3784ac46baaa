/* treeshap.c -- path-dependent TreeSHAP (see treeshap.h).
 *
 * The recursion follows Lundberg et al.'s Algorithm 2 as XGBoost implements it
 * (src/tree/tree_model.cc, TreeShap): a walk down every node carries the "unique path" of
 * features split on so far, each with the fraction of cover that follows the path when the
 * feature is absent (zero_fraction) and whether this row follows it when present
 * (one_fraction, 0 or 1), plus the permutation weights of the subsets of the path. At a
 * leaf, unwinding each feature from the path gives the weight with which the leaf's value
 * goes to it. Splitting again on a feature already on the path first unwinds it, so a
 * feature appears once per path. Doing the same arithmetic in the same order is what makes
 * the values match XGBoost's to rounding. */
#include "ml/treeshap.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct path_elem {
    double zero_fraction; /* share of the cover following the path when the feature is absent */
    double one_fraction;  /* 1 when this row follows the path when the feature is present */
    double pweight;       /* permutation weight of subsets of this size */
    int feature;          /* -1 for the root's placeholder */
};

/* Adds a feature to the end of a path of unique_depth elements (Algorithm 2's EXTEND). */
static void path_extend(struct path_elem *path, unsigned unique_depth, double zero_fraction,
                        double one_fraction, int feature)
{
    path[unique_depth].feature = feature;
    path[unique_depth].zero_fraction = zero_fraction;
    path[unique_depth].one_fraction = one_fraction;
    path[unique_depth].pweight = unique_depth == 0 ? 1.0 : 0.0;
    for (unsigned i = unique_depth; i-- > 0;) {
        path[i + 1].pweight +=
            one_fraction * path[i].pweight * (double)(i + 1) / (double)(unique_depth + 1);
        path[i].pweight = zero_fraction * path[i].pweight * (double)(unique_depth - i) /
                          (double)(unique_depth + 1);
    }
}

/* Removes element path_index, undoing its EXTEND (Algorithm 2's UNWIND). */
static void path_unwind(struct path_elem *path, unsigned unique_depth, unsigned path_index)
{
    const double one_fraction = path[path_index].one_fraction;
    const double zero_fraction = path[path_index].zero_fraction;
    double next_one_portion = path[unique_depth].pweight;
    for (unsigned i = unique_depth; i-- > 0;) {
        if (one_fraction != 0) {
            const double tmp = path[i].pweight;
            path[i].pweight =
                next_one_portion * (double)(unique_depth + 1) / ((double)(i + 1) * one_fraction);
            next_one_portion = tmp - path[i].pweight * zero_fraction * (double)(unique_depth - i) /
                                         (double)(unique_depth + 1);
        } else {
            path[i].pweight = (path[i].pweight * (double)(unique_depth + 1)) /
                              (zero_fraction * (double)(unique_depth - i));
        }
    }
    for (unsigned i = path_index; i < unique_depth; ++i) {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

/* The total permutation weight the path would have without element path_index, without
 * changing the path. */
static double path_unwound_sum(const struct path_elem *path, unsigned unique_depth,
                               unsigned path_index)
{
    const double one_fraction = path[path_index].one_fraction;
    const double zero_fraction = path[path_index].zero_fraction;
    double next_one_portion = path[unique_depth].pweight;
    double total = 0;
    for (unsigned i = unique_depth; i-- > 0;) {
        if (one_fraction != 0) {
            const double tmp =
                next_one_portion * (double)(unique_depth + 1) / ((double)(i + 1) * one_fraction);
            total += tmp;
            next_one_portion =
                path[i].pweight -
                tmp * zero_fraction * ((double)(unique_depth - i) / (double)(unique_depth + 1));
        } else if (zero_fraction != 0) {
            total += (path[i].pweight / zero_fraction) /
                     ((double)(unique_depth - i) / (double)(unique_depth + 1));
        }
    }
    return total;
}

/* One tree's walk state for one row. */
struct shap_walk {
    const struct tree *t;
    const double *row;
    double *phi;     /* nout * stride: output k's contributions at phi + k * stride */
    size_t stride;   /* nfeat + 1 */
    double scale;    /* what the tree's values count for (1, or 1/trees for a forest) */
    size_t out_base; /* the first output this tree's values go to */
    uint32_t nout;   /* values per node */
};

/* The cover of node i as a fraction of its parent's; a parent of no cover (a degenerate
 * tree) sends half each way rather than dividing by zero. */
static double cover_share(const struct tree *t, uint32_t child, uint32_t parent)
{
    double w = t->cover[parent];
    return w > 0 ? t->cover[child] / w : 0.5;
}

static void shap_recurse(const struct shap_walk *s, uint32_t node, struct path_elem *parent_path,
                         unsigned unique_depth, double parent_zero_fraction,
                         double parent_one_fraction, int parent_feature)
{
    /* this node's path lives after its parent's in the scratch, so unwinding it leaves the
     * parent's intact for the sibling */
    struct path_elem *path = parent_path + unique_depth + 1;
    if (unique_depth > 0)
        memcpy(path, parent_path, unique_depth * sizeof *path);
    path_extend(path, unique_depth, parent_zero_fraction, parent_one_fraction, parent_feature);

    const struct tree *t = s->t;
    const struct tree_node *nd = &t->nodes[node];
    if (nd->feature < 0) {
        const double *v = t->value + (size_t)node * s->nout;
        for (unsigned i = 1; i <= unique_depth; ++i) {
            const double w = path_unwound_sum(path, unique_depth, i);
            const struct path_elem *el = &path[i];
            const double f = w * (el->one_fraction - el->zero_fraction) * s->scale;
            double *phi = s->phi + s->out_base * s->stride + (size_t)el->feature;
            for (uint32_t k = 0; k < s->nout; ++k)
                phi[k * s->stride] += f * v[k];
        }
        return;
    }

    const int feature = nd->feature;
    const int left = tree_goes_left(nd, t->catwords, s->row[feature]);
    const uint32_t hot = (uint32_t)(left ? nd->left : nd->right);
    const uint32_t cold = (uint32_t)(left ? nd->right : nd->left);
    const double hot_zero_fraction = cover_share(t, hot, node);
    const double cold_zero_fraction = cover_share(t, cold, node);
    double incoming_zero_fraction = 1, incoming_one_fraction = 1;

    unsigned path_index = 0;
    for (; path_index <= unique_depth; ++path_index)
        if (path[path_index].feature == feature)
            break;
    if (path_index != unique_depth + 1) {
        incoming_zero_fraction = path[path_index].zero_fraction;
        incoming_one_fraction = path[path_index].one_fraction;
        path_unwind(path, unique_depth, path_index);
        unique_depth -= 1;
    }
    shap_recurse(s, hot, path, unique_depth + 1, hot_zero_fraction * incoming_zero_fraction,
                 incoming_one_fraction, feature);
    shap_recurse(s, cold, path, unique_depth + 1, cold_zero_fraction * incoming_zero_fraction, 0,
                 feature);
}

/* --- the precomputed form (Fast TreeSHAP v2, Yang 2021) ------------------------------------
 *
 * At a leaf, the recursion's result depends on the row only through which of the leaf's
 * unique path features the row follows (one_fraction 0 or 1 for each): the zero fractions
 * come from the tree alone. So for a leaf with d unique features there are 2^d possible
 * outcomes, and each one's weights can be computed once per tree with the very EXTEND and
 * UNWOUND_SUM above. A row then only has to find, per leaf, its pattern of followed
 * features -- one pass over the nodes -- and add d precomputed numbers, instead of
 * O(d^2) arithmetic with divisions per leaf. Worth it when there are more rows than
 * patterns; the coefficients are bounded in memory (FAST_BUDGET), trees past it, or deeper
 * than FAST_MAX_DEPTH unique features, take the recursion. The values are the same Shapley
 * values (the formula is symmetric in the path's order); rounding may differ in the last
 * bits from the recursion's. */

#define FAST_MAX_DEPTH 16              /* unique features on a path: 2^16 patterns a leaf */
#define FAST_BUDGET ((size_t)16 << 20) /* coefficients kept for an ensemble (128 MB) */

struct fast_tree {
    uint8_t *slot; /* nnodes: a split's place among its path's unique features */
    uint32_t nleaves;
    uint32_t *leaf_node; /* nleaves */
    uint8_t *leaf_depth; /* nleaves: unique features d on the leaf's path */
    int32_t *leaf_feat;  /* nleaves * FAST_MAX_DEPTH: those features in slot order */
    size_t *leaf_off;    /* nleaves: the leaf's 2^d * d coefficients at coef + off */
    double *coef;        /* pattern s (bit i: the row follows feature i's splits), slot i:
                            coef[off + s * d + i] = weight * (one - zero) of feature i */
    size_t ncoef;
};

static void fast_tree_free(struct fast_tree *f)
{
    if (f == NULL)
        return;
    free(f->slot);
    free(f->leaf_node);
    free(f->leaf_depth);
    free(f->leaf_feat);
    free(f->leaf_off);
    free(f->coef);
    free(f);
}

/* The unique features and zero fractions of the path from the root down to a node. */
struct fast_prefix {
    unsigned d;
    int32_t feat[FAST_MAX_DEPTH];
    double zero[FAST_MAX_DEPTH];
};

/* Walks the tree once: slots of splits, and per leaf its features, depth and offset.
 * 0, or -1 when a path has more than FAST_MAX_DEPTH unique features. */
static int fast_walk(const struct tree *t, struct fast_tree *f, uint32_t node,
                     const struct fast_prefix *pre, double **zero_out)
{
    const struct tree_node *nd = &t->nodes[node];
    if (nd->feature < 0) {
        uint32_t L = f->nleaves++;
        f->leaf_node[L] = node;
        f->leaf_depth[L] = (uint8_t)pre->d;
        memcpy(f->leaf_feat + (size_t)L * FAST_MAX_DEPTH, pre->feat, pre->d * sizeof *pre->feat);
        memcpy(zero_out[0] + (size_t)L * FAST_MAX_DEPTH, pre->zero, pre->d * sizeof *pre->zero);
        f->leaf_off[L] = f->ncoef;
        f->ncoef += ((size_t)1 << pre->d) * pre->d;
        return 0;
    }
    unsigned k = 0;
    while (k < pre->d && pre->feat[k] != nd->feature)
        k++;
    if (k == FAST_MAX_DEPTH)
        return -1;
    f->slot[node] = (uint8_t)k;
    const uint32_t child[2] = {(uint32_t)nd->left, (uint32_t)nd->right};
    for (int c = 0; c < 2; c++) {
        struct fast_prefix next = *pre;
        if (k == pre->d) {
            next.d = pre->d + 1;
            next.feat[k] = nd->feature;
            next.zero[k] = 1;
        }
        next.zero[k] *= cover_share(t, child[c], node);
        if (fast_walk(t, f, child[c], &next, zero_out) != 0)
            return -1;
    }
    return 0;
}

/* The precomputed form of t, or NULL (*rv 0) when t is better left to the recursion: a
 * single leaf, too deep, more patterns than rows, or over what is left of *budget. */
static struct fast_tree *fast_tree_make(const struct tree *t, size_t nrows, size_t *budget, int *rv)
{
    *rv = AIOPS_OK;
    if (t->nodes[0].feature < 0)
        return NULL;
    uint32_t nleaves = (t->nnodes + 1) / 2; /* a binary tree: every split adds one leaf */
    struct fast_tree *f = calloc(1, sizeof *f);
    double *zero = NULL;
    if (f == NULL)
        goto nomem;
    f->slot = calloc(t->nnodes, sizeof *f->slot);
    f->leaf_node = malloc(nleaves * sizeof *f->leaf_node);
    f->leaf_depth = malloc(nleaves * sizeof *f->leaf_depth);
    f->leaf_feat = malloc((size_t)nleaves * FAST_MAX_DEPTH * sizeof *f->leaf_feat);
    f->leaf_off = malloc(nleaves * sizeof *f->leaf_off);
    zero = malloc((size_t)nleaves * FAST_MAX_DEPTH * sizeof *zero);
    if (!f->slot || !f->leaf_node || !f->leaf_depth || !f->leaf_feat || !f->leaf_off || !zero)
        goto nomem;
    struct fast_prefix root = {0};
    int deep = fast_walk(t, f, 0, &root, &zero);
    unsigned maxd = 0;
    for (uint32_t L = 0; L < f->nleaves; L++)
        if (f->leaf_depth[L] > maxd)
            maxd = f->leaf_depth[L];
    if (deep != 0 || ((size_t)1 << maxd) > nrows || f->ncoef > *budget) {
        free(zero);
        fast_tree_free(f);
        return NULL;
    }
    *budget -= f->ncoef;
    f->coef = malloc((f->ncoef ? f->ncoef : 1) * sizeof *f->coef);
    if (f->coef == NULL)
        goto nomem;
    struct path_elem path[FAST_MAX_DEPTH + 1];
    for (uint32_t L = 0; L < f->nleaves; L++) {
        const unsigned d = f->leaf_depth[L];
        const int32_t *feat = f->leaf_feat + (size_t)L * FAST_MAX_DEPTH;
        const double *z = zero + (size_t)L * FAST_MAX_DEPTH;
        for (size_t s = 0; s < ((size_t)1 << d); s++) {
            path_extend(path, 0, 1, 1, -1);
            for (unsigned i = 0; i < d; i++)
                path_extend(path, i + 1, z[i], (double)((s >> i) & 1), feat[i]);
            double *out = f->coef + f->leaf_off[L] + s * d;
            for (unsigned i = 0; i < d; i++) {
                const double w = path_unwound_sum(path, d, i + 1);
                out[i] = w * (path[i + 1].one_fraction - path[i + 1].zero_fraction);
            }
        }
    }
    free(zero);
    return f;
nomem:
    free(zero);
    fast_tree_free(f);
    *rv = AIOPS_ENOMEM;
    return NULL;
}

/* Adds one row's contributions from a precomputed tree. mask: nnodes of scratch. */
static void fast_tree_row(const struct tree *t, const struct fast_tree *f, const double *row,
                          uint32_t *mask, double *phi, size_t stride, double scale)
{
    const struct tree_node *nodes = t->nodes;
    mask[0] = ~0u;
    for (uint32_t i = 0; i < t->nnodes; i++) {
        const struct tree_node *nd = &nodes[i];
        if (nd->feature < 0)
            continue;
        const uint32_t off = ~(1u << f->slot[i]);
        const int left = tree_goes_left(nd, t->catwords, row[nd->feature]);
        mask[nd->left] = mask[i] & (left ? ~0u : off);
        mask[nd->right] = mask[i] & (left ? off : ~0u);
    }
    const uint32_t nout = t->nout;
    for (uint32_t L = 0; L < f->nleaves; L++) {
        const uint32_t node = f->leaf_node[L];
        const unsigned d = f->leaf_depth[L];
        const size_t s = mask[node] & ((1u << d) - 1u);
        const double *c = f->coef + f->leaf_off[L] + s * d;
        const int32_t *feat = f->leaf_feat + (size_t)L * FAST_MAX_DEPTH;
        const double *v = t->value + (size_t)node * nout;
        for (uint32_t k = 0; k < nout; k++) {
            const double vk = v[k] * scale;
            double *p = phi + k * stride;
            for (unsigned i = 0; i < d; i++)
                p[feat[i]] += vk * c[i];
        }
    }
}

/* --- per-ensemble preparation ------------------------------------------------------------- */

/* What every row's walk shares: the trees, where their values go, and per tree the depth
 * (for the scratch) and the cover-weighted mean of its leaves (its share of the bias). */
struct shap_ensemble {
    size_t ntrees;
    const struct tree **trees; /* ntrees, borrowed */
    size_t *out_base;          /* ntrees: the output the tree's first value goes to */
    double scale;              /* per tree */
    size_t nout;               /* outputs per row */
    size_t nfeat;
    double *bias;            /* nout: base score plus the trees' means */
    unsigned depth;          /* the deepest tree's depth (edges) */
    struct fast_tree **fast; /* ntrees: the precomputed form, or NULL: the recursion */
    uint32_t maxnodes;
    atomic_int failed;
};

/* The depth of t (edges from the root to its deepest leaf); children after parents, so one
 * forward pass suffices. */
static unsigned tree_depth(const struct tree *t, unsigned *scratch)
{
    unsigned deepest = 0;
    scratch[0] = 0;
    for (uint32_t i = 0; i < t->nnodes; ++i) {
        const struct tree_node *nd = &t->nodes[i];
        if (nd->feature < 0) {
            if (scratch[i] > deepest)
                deepest = scratch[i];
            continue;
        }
        scratch[nd->left] = scratch[i] + 1;
        scratch[nd->right] = scratch[i] + 1;
    }
    return deepest;
}

/* Adds scale times t's root mean (the leaves' values weighted by cover, as XGBoost's
 * FillNodeMeanValues computes it bottom-up) to bias[0..nout). */
static int add_tree_mean(const struct tree *t, double scale, double *bias)
{
    const uint32_t nout = t->nout;
    double *mean = malloc((size_t)t->nnodes * nout * sizeof *mean);
    if (mean == NULL)
        return AIOPS_ENOMEM;
    for (uint32_t i = t->nnodes; i-- > 0;) {
        const struct tree_node *nd = &t->nodes[i];
        double *m = mean + (size_t)i * nout;
        if (nd->feature < 0) {
            memcpy(m, t->value + (size_t)i * nout, nout * sizeof *m);
            continue;
        }
        const uint32_t l = (uint32_t)nd->left, r = (uint32_t)nd->right;
        const double w = t->cover[i];
        for (uint32_t k = 0; k < nout; ++k) {
            double sum =
                t->cover[l] * mean[(size_t)l * nout + k] + t->cover[r] * mean[(size_t)r * nout + k];
            m[k] =
                w > 0 ? sum / w : 0.5 * (mean[(size_t)l * nout + k] + mean[(size_t)r * nout + k]);
        }
    }
    for (uint32_t k = 0; k < nout; ++k)
        bias[k] += scale * mean[k];
    free(mean);
    return AIOPS_OK;
}

static int treeshap_method = TREESHAP_AUTO;

void treeshap_force_method(enum treeshap_method method)
{
    treeshap_method = (int)method;
}

static int ensemble_finish(struct shap_ensemble *e, size_t nrows)
{
    size_t maxnodes = 1;
    for (size_t i = 0; i < e->ntrees; ++i)
        if (e->trees[i]->nnodes > maxnodes)
            maxnodes = e->trees[i]->nnodes;
    unsigned *scratch = malloc(maxnodes * sizeof *scratch);
    if (scratch == NULL)
        return AIOPS_ENOMEM;
    e->depth = 0;
    for (size_t i = 0; i < e->ntrees; ++i) {
        const struct tree *t = e->trees[i];
        unsigned d = tree_depth(t, scratch);
        if (d > e->depth)
            e->depth = d;
        int rv = add_tree_mean(t, e->scale, e->bias + e->out_base[i]);
        if (rv != 0) {
            free(scratch);
            return rv;
        }
    }
    free(scratch);
    e->maxnodes = (uint32_t)maxnodes;
    if (treeshap_method == TREESHAP_RECURSIVE)
        return AIOPS_OK;
    if ((e->fast = calloc(e->ntrees ? e->ntrees : 1, sizeof *e->fast)) == NULL)
        return AIOPS_ENOMEM;
    size_t budget = FAST_BUDGET;
    if (treeshap_method == TREESHAP_PRECOMPUTED)
        nrows = SIZE_MAX; /* every tree that fits, whatever the rows */
    for (size_t i = 0; i < e->ntrees; ++i) {
        int rv;
        e->fast[i] = fast_tree_make(e->trees[i], nrows, &budget, &rv);
        if (rv != 0)
            return rv;
    }
    return AIOPS_OK;
}

static void ensemble_free(struct shap_ensemble *e)
{
    for (size_t i = 0; e->fast != NULL && i < e->ntrees; i++)
        fast_tree_free(e->fast[i]);
    free(e->fast);
    free(e->trees);
    free(e->out_base);
    free(e->bias);
}

/* e for ntrees trees over nfeat features with nout outputs, to explain the rows of x:
 * AIOPS_EINVAL when x has other columns, AIOPS_ENOMEM. The caller fills the trees, then
 * ensemble_explain. */
static int ensemble_alloc(struct shap_ensemble *e, const struct fmatrix *x, size_t nfeat,
                          size_t ntrees, size_t nout)
{
    memset(e, 0, sizeof *e);
    if (x->ncols != nfeat)
        return AIOPS_EINVAL;
    atomic_init(&e->failed, 0);
    e->ntrees = ntrees;
    e->nout = nout;
    e->nfeat = nfeat;
    e->trees = calloc(ntrees ? ntrees : 1, sizeof *e->trees);
    e->out_base = calloc(ntrees ? ntrees : 1, sizeof *e->out_base);
    e->bias = calloc(nout, sizeof *e->bias);
    if (e->trees == NULL || e->out_base == NULL || e->bias == NULL) {
        ensemble_free(e);
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* --- the rows ----------------------------------------------------------------------------- */

struct shap_job {
    struct shap_ensemble *e;
    double *out;
};

static void shap_block(void *arg, size_t r0, size_t nb, const double *rows)
{
    struct shap_job *j = arg;
    struct shap_ensemble *e = j->e;
    const size_t stride = e->nfeat + 1;
    /* a path of unique depth u (at most depth + 1 elements) sits after its parent's: the
     * scratch is the triangle of all the paths down one branch */
    const size_t levels = (size_t)e->depth + 2;
    struct path_elem *scratch = malloc(levels * (levels + 1) / 2 * sizeof *scratch);
    uint32_t *mask = malloc(e->maxnodes * sizeof *mask);
    if (scratch == NULL || mask == NULL) {
        free(scratch);
        free(mask);
        atomic_store(&e->failed, 1);
        return;
    }
    for (size_t r = 0; r < nb; ++r) {
        double *phi = j->out + (r0 + r) * e->nout * stride;
        memset(phi, 0, e->nout * stride * sizeof *phi);
        for (size_t k = 0; k < e->nout; ++k)
            phi[k * stride + e->nfeat] = e->bias[k];
    }
    /* tree by tree over the block, so that a tree's nodes are fetched once per block */
    for (size_t i = 0; i < e->ntrees; ++i) {
        const struct tree *t = e->trees[i];
        if (t->nodes[0].feature < 0) {
            continue; /* a single leaf: all of it is bias */
        }
        const struct fast_tree *f = e->fast ? e->fast[i] : NULL;
        if (f != NULL) {
            for (size_t r = 0; r < nb; ++r)
                fast_tree_row(t, f, rows + r * e->nfeat, mask,
                              j->out + ((r0 + r) * e->nout + e->out_base[i]) * stride, stride,
                              e->scale);
            continue;
        }
        for (size_t r = 0; r < nb; ++r) {
            struct shap_walk s = {.t = t,
                                  .row = rows + r * e->nfeat,
                                  .phi = j->out + (r0 + r) * e->nout * stride,
                                  .stride = stride,
                                  .scale = e->scale,
                                  .out_base = e->out_base[i],
                                  .nout = t->nout};
            shap_recurse(&s, 0, scratch, 0, 1, 1, -1);
        }
    }
    free(scratch);
    free(mask);
}

/* The SHAP values of x's rows into out once the caller has filled e's trees (rv: 0, or what
 * it found wrong with them); frees e either way. */
static int ensemble_explain(struct shap_ensemble *e, int rv, const struct fmatrix *x,
                            struct pool *pool, double *out)
{
    if (rv == 0)
        rv = ensemble_finish(e, x->nrows);
    if (rv == 0) {
        struct shap_job j = {.e = e, .out = out};
        rv = tree_for_blocks(x, pool, TREE_BLOCK, shap_block, &j);
        if (rv == 0 && atomic_load(&e->failed))
            rv = AIOPS_ENOMEM;
    }
    ensemble_free(e);
    return rv;
}

/* --- the ensembles ------------------------------------------------------------------------ */

size_t treeshap_gbdt_outputs(const struct gbdt *g)
{
    return gbdt_tree_groups(g);
}

size_t treeshap_forest_outputs(const struct forest *f)
{
    return forest_outputs(f);
}

int treeshap_gbdt(const struct gbdt *g, const struct fmatrix *x, struct pool *pool, double *out)
{
    const size_t groups = gbdt_tree_groups(g), ntrees = gbdt_num_trees(g);
    struct shap_ensemble e;
    int rv = ensemble_alloc(&e, x, gbdt_num_features(g), ntrees, groups);
    if (rv != 0)
        return rv;
    e.scale = 1.0;
    for (size_t i = 0; i < ntrees; ++i) {
        e.trees[i] = gbdt_tree(g, i);
        e.out_base[i] = i % groups;
    }
    for (size_t k = 0; k < groups; ++k)
        e.bias[k] = gbdt_base_score(g, k);
    return ensemble_explain(&e, AIOPS_OK, x, pool, out);
}

int treeshap_forest(const struct forest *f, const struct fmatrix *x, struct pool *pool, double *out)
{
    const size_t nout = forest_outputs(f), ntrees = forest_num_trees(f);
    struct shap_ensemble e;
    int rv = ensemble_alloc(&e, x, forest_num_features(f), ntrees, nout);
    if (rv != 0)
        return rv;
    /* a forest predicts the mean of its trees */
    e.scale = ntrees ? 1.0 / (double)ntrees : 0.0;
    for (size_t i = 0; i < ntrees; ++i) {
        e.trees[i] = forest_tree(f, i);
        e.out_base[i] = 0;
        if (e.trees[i]->nout != nout)
            rv = AIOPS_EINVAL;
    }
    return ensemble_explain(&e, rv, x, pool, out);
}

/* --- models -------------------------------------------------------------------------------- */

extern const struct learner learner_gbdt, learner_forest;

int treeshap_supports(const struct model *m)
{
    return m->learner == &learner_gbdt || m->learner == &learner_forest;
}

size_t treeshap_model_outputs(const struct model *m)
{
    if (m->learner == &learner_gbdt)
        return treeshap_gbdt_outputs(m->algo);
    if (m->learner == &learner_forest)
        return treeshap_forest_outputs(m->algo);
    return 0;
}

int treeshap_model(const struct model *m, const struct fmatrix *x, int threads, double *out,
                   size_t *nout)
{
    if (!treeshap_supports(m))
        return AIOPS_EUNSUPPORTED;
    *nout = treeshap_model_outputs(m);
    struct pool *pool = NULL;
    if (threads != 1 && x->nrows > TREE_BLOCK) {
        int rv = pool_create(threads, &pool);
        if (rv != 0)
            return rv;
    }
    int rv = m->learner == &learner_gbdt ? treeshap_gbdt(m->algo, x, pool, out)
                                         : treeshap_forest(m->algo, x, pool, out);
    pool_free(pool);
    return rv;
}
