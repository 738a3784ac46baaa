/* tree.h -- the decision tree shared by the tree learners (lib/algo/gbdt.h, lib/algo/forest.h):
 * its structure, prediction on raw feature values, and its bytes inside a model.
 *
 * A tree splits on raw values, never on bins, so a model predicts from the matrix that
 * lib/ml/featureset.h builds without knowing how its training data was binned:
 *   numeric node:     x <= threshold goes left, x > threshold goes right;
 *   categorical node: the category codes in the node's bitset go to the NON-default side,
 *                     every other code goes the default way;
 *   missing (NaN), and for categorical nodes anything that is not a code (negative, not
 *   whole, or past the bitset: an unseen category), goes the default way.
 * Children always have larger indices than their parent (node 0 is the root), so every walk
 * from the root ends; tree_check() enforces that on loaded bytes, tree_assert_grown() asserts
 * it of trees the learners grow. */
#ifndef AIOPS_TREE_H
#define AIOPS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "algo/progress.h"
#include "core/buf.h"
#include "core/bytes.h"
#include "core/pool.h"
#include "data/fmatrix.h"

#define TREE_DEFAULT_LEFT 1u /* missing values go left */
#define TREE_CATEGORICAL 2u  /* a category-set split */

struct tree_node {
    double threshold;    /* numeric split */
    int32_t feature;     /* split feature; -1 for a leaf */
    uint32_t flags;      /* TREE_* */
    int32_t left, right; /* children; -1 for a leaf */
    uint32_t cat_off;    /* categorical: first word of the bitset in tree.catwords */
    uint32_t cat_nwords; /* categorical: words in the bitset (code c is bit c % 32 of word c/32) */
};

struct tree {
    uint32_t nnodes;
    struct tree_node *nodes; /* nnodes, owned */
    double *gain;            /* nnodes: loss reduction of the split (0 at leaves), owned */
    double *cover;           /* nnodes: hessian sum (gbdt) / weighted rows (forest), owned */
    uint32_t nout;           /* outputs per node (1, or the classes of a forest classifier) */
    double *value;           /* nnodes * nout: a node's output (what it would predict as a
                                leaf); owned */
    uint32_t ncatwords;
    uint32_t *catwords; /* ncatwords, owned (NULL when 0) */
};

void tree_free(struct tree *t);

/* 1 when value v goes to the left child of split node nd. */
static inline int tree_goes_left(const struct tree_node *nd, const uint32_t *catwords, double v)
{
    int dl = (int)(nd->flags & TREE_DEFAULT_LEFT);
    if (v != v)
        return dl;
    if (!(nd->flags & TREE_CATEGORICAL))
        return v <= nd->threshold;
    if (!(v >= 0.0) || v >= (double)nd->cat_nwords * 32.0)
        return dl;
    uint32_t c = (uint32_t)v;
    if ((double)c != v)
        return dl;
    int in = (int)((catwords[nd->cat_off + c / 32] >> (c % 32)) & 1u);
    return in ? !dl : dl;
}

/* The leaf a row reaches; row[j] is feature j. */
static inline uint32_t tree_leaf(const struct tree *t, const double *row)
{
    uint32_t i = 0;
    const struct tree_node *nodes = t->nodes;
    while (nodes[i].feature >= 0) {
        const struct tree_node *nd = &nodes[i];
        i = (uint32_t)(tree_goes_left(nd, t->catwords, row[nd->feature]) ? nd->left : nd->right);
    }
    return i;
}

/* The leaves that rows[0..n) reach (row i's features at rows + i * ncols) into leaf[0..n).
 * Four walks advance together, without branches on the (unpredictable) split outcomes of
 * numeric nodes, so that the processor overlaps them. */
void tree_leaves(const struct tree *t, const double *rows, size_t n, size_t ncols,
                 uint32_t *leaf);

/* Rows of a column-major matrix are predicted in blocks of TREE_BLOCK rows, copied row-major
 * first so that a walk reads one row's features from one place. */
#define TREE_BLOCK 64
/* Copies rows [r0, r0 + n) of x row-major into buf (n * x->ncols). */
void tree_block_rows(const struct fmatrix *x, size_t r0, size_t n, double *buf);

/* Large ensembles (deep forests: megabytes of nodes per tree) walk each tree over this many
 * rows at a time instead, so that a tree's nodes are fetched once per block, not once per
 * TREE_BLOCK rows. */
#define TREE_BIG_BLOCK 2048

/* Calls block(arg, r0, nb, rows) for every block of block_rows rows of x (1 ..
 * TREE_BIG_BLOCK; the last block may be shorter), rows being the block copied row-major
 * into the calling thread's scratch. With a pool (may be NULL) the blocks are shared out
 * among its threads, so block() must only write the outputs of its own rows. AIOPS_ENOMEM,
 * AIOPS_EINVAL for a block size out of range. */
int tree_for_blocks(const struct fmatrix *x, struct pool *pool, size_t block_rows,
                    void (*block)(void *arg, size_t r0, size_t nb, const double *rows),
                    void *arg);

/* Checks a tree's structure against a model of nfeat features whose categorical flags are
 * is_cat: child indices after their parent and in range, each node reached once, leaves
 * marked consistently, split features in range and of the right kind, bitsets inside
 * catwords, finite values. AIOPS_ECORRUPT when anything is off. */
int tree_check(const struct tree *t, size_t nfeat, const uint8_t *is_cat);

/* Asserts the structure this header promises of a tree a learner has just grown (the
 * checks of tree_check but the values, which the data decide): a grower that breaks it is a
 * programming error, caught where it happens in the sanitizer build rather than as a model
 * file that will not load. */
void tree_assert_grown(const struct tree *t, size_t nfeat, const uint8_t *is_cat);

/* Makes nd (of t) a split on categorical feature f from its training form, a set of bins:
 * value bins whose bit in left_bins (bit b of word b / 32) differs from default_left go to
 * the non-default side; their category codes become the node's bitset, appended to
 * t->catwords (*cap words allocated; grown as needed). Sets nd's flags, cat_off and
 * cat_nwords. AIOPS_ENOMEM. */
struct bin_feature;
int tree_set_catsplit(struct tree *t, uint32_t *cap, struct tree_node *nd,
                      const struct bin_feature *f, const uint32_t *left_bins, int default_left);

/* Appends t (nout must match what tree_read is told). AIOPS_ENOMEM. */
int tree_write(const struct tree *t, struct buf *out);
/* Reads a tree that tree_write wrote, with nout outputs per node, and checks it with
 * tree_check. AIOPS_ECORRUPT (or AIOPS_ENOMEM); *t is left empty on failure. */
int tree_read(struct bytes_reader *r, uint32_t nout, size_t nfeat, const uint8_t *is_cat,
              struct tree *t);

/* What forest and GBDT models save after their own header: nfeat x (u32 is_cat, u32 ncat),
 * ntrees x tree (tree_write), then u32 CRC-32C of out's bytes from `start` (where the
 * model's header began). AIOPS_ENOMEM. */
int tree_save_ensemble(const uint8_t *is_cat, const uint32_t *ncat, uint32_t nfeat,
                       const struct tree *trees, uint32_t ntrees, size_t start, struct buf *out);
/* 1 when p[0..n) ends with the CRC-32C of the bytes before it (n >= 4), else 0. */
int tree_crc_ok(const uint8_t *p, size_t n);
/* Reads what tree_save_ensemble wrote before the CRC from r, which must end exactly there:
 * is_cat and ncat (nfeat each), trees[0..ntrees) with nout outputs per node; *nread counts
 * the trees read so far (for the caller to free). AIOPS_ECORRUPT, AIOPS_ENOMEM. */
int tree_load_ensemble(struct bytes_reader *r, uint32_t nout, uint32_t nfeat, uint8_t *is_cat,
                       uint32_t *ncat, struct tree *trees, uint32_t ntrees, uint32_t *nread);

#endif
