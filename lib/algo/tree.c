#include "algo/tree.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "algo/binning.h"
#include "core/err.h"
#include "core/pool.h"

/* Sizes a loaded tree may claim; far above what training produces, low enough that a
 * corrupt count cannot ask for gigabytes. */
#define TREE_MAX_NODES (1u << 26)
#define TREE_MAX_CATWORDS (1u << 26)

void tree_free(struct tree *t)
{
    if (t == NULL)
        return;
    free(t->nodes);
    free(t->gain);
    free(t->cover);
    free(t->value);
    free(t->catwords);
    memset(t, 0, sizeof *t);
}

void tree_block_rows(const struct fmatrix *x, size_t r0, size_t n, double *buf)
{
    size_t nc = x->ncols;
    for (size_t j = 0; j < nc; j++) {
        const double *col = x->x + j * x->nrows + r0;
        for (size_t i = 0; i < n; i++)
            buf[i * nc + j] = col[i];
    }
}

struct blocks_job {
    const struct fmatrix *x;
    void (*block)(void *arg, size_t r0, size_t nb, const double *rows);
    void *arg;
    size_t nblocks, block_rows;
    atomic_size_t next; /* the next block to take */
    atomic_int failed;
};

static void blocks_worker(void *v, int tid, int nth)
{
    (void)tid;
    (void)nth;
    struct blocks_job *j = v;
    size_t nc = j->x->ncols ? j->x->ncols : 1;
    double *rows = malloc(j->block_rows * nc * sizeof *rows);
    if (rows == NULL) {
        atomic_store(&j->failed, 1);
        return;
    }
    /* blocks taken one at a time: trees make some rows slower than others */
    for (size_t b; (b = atomic_fetch_add(&j->next, 1)) < j->nblocks;) {
        size_t r0 = b * j->block_rows;
        size_t nb = j->x->nrows - r0 < j->block_rows ? j->x->nrows - r0 : j->block_rows;
        tree_block_rows(j->x, r0, nb, rows);
        j->block(j->arg, r0, nb, rows);
    }
    free(rows);
}

int tree_for_blocks(const struct fmatrix *x, struct pool *pool, size_t block_rows,
                    void (*block)(void *arg, size_t r0, size_t nb, const double *rows),
                    void *arg)
{
    if (block_rows < 1 || block_rows > TREE_BIG_BLOCK)
        return AIOPS_EINVAL;
    struct blocks_job j = {.x = x, .block = block, .arg = arg, .block_rows = block_rows,
                           .nblocks = (x->nrows + block_rows - 1) / block_rows};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    int nth = pool ? pool_threads(pool) : 1;
    if ((size_t)nth > j.nblocks)
        nth = j.nblocks ? (int)j.nblocks : 1;
    if (nth > 1)
        pool_run(pool, nth, blocks_worker, &j);
    else
        blocks_worker(&j, 0, 1);
    return atomic_load(&j.failed) ? AIOPS_ENOMEM : AIOPS_OK;
}

/* One step from split node i: numeric nodes without a branch on the outcome. */
static inline uint32_t tree_step(const struct tree *t, uint32_t i, const double *row)
{
    const struct tree_node *nd = &t->nodes[i];
    double v = row[nd->feature];
    int left;
    if (nd->flags & TREE_CATEGORICAL)
        left = tree_goes_left(nd, t->catwords, v);
    else
        left = (v <= nd->threshold) | ((v != v) & (int)(nd->flags & TREE_DEFAULT_LEFT));
    /* an arithmetic select: compilers turn `left ? l : r` into a branch here */
    uint32_t l = (uint32_t)nd->left, r = (uint32_t)nd->right;
    return r ^ ((l ^ r) & (0u - (uint32_t)left));
}

void tree_leaves(const struct tree *t, const double *rows, size_t n, size_t ncols,
                 uint32_t *leaf)
{
    const struct tree_node *nodes = t->nodes;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double *r0 = rows + i * ncols, *r1 = r0 + ncols, *r2 = r1 + ncols,
                     *r3 = r2 + ncols;
        uint32_t a = 0, b = 0, c = 0, d = 0;
        for (;;) {
            int more = 0;
            if (nodes[a].feature >= 0) {
                a = tree_step(t, a, r0);
                more = 1;
            }
            if (nodes[b].feature >= 0) {
                b = tree_step(t, b, r1);
                more = 1;
            }
            if (nodes[c].feature >= 0) {
                c = tree_step(t, c, r2);
                more = 1;
            }
            if (nodes[d].feature >= 0) {
                d = tree_step(t, d, r3);
                more = 1;
            }
            if (!more)
                break;
        }
        leaf[i] = a;
        leaf[i + 1] = b;
        leaf[i + 2] = c;
        leaf[i + 3] = d;
    }
    for (; i < n; i++) {
        uint32_t a = 0;
        while (nodes[a].feature >= 0)
            a = tree_step(t, a, rows + i * ncols);
        leaf[i] = a;
    }
}

int tree_check(const struct tree *t, size_t nfeat, const uint8_t *is_cat)
{
    if (t->nnodes == 0 || t->nnodes > TREE_MAX_NODES || t->nout == 0)
        return AIOPS_ECORRUPT;
    uint8_t *seen = calloc(t->nnodes, 1);
    if (seen == NULL)
        return AIOPS_ENOMEM;
    int rv = AIOPS_ECORRUPT;
    for (uint32_t i = 0; i < t->nnodes; i++) {
        const struct tree_node *nd = &t->nodes[i];
        if (!isfinite(t->gain[i]) || !isfinite(t->cover[i]))
            goto out;
        for (uint32_t k = 0; k < t->nout; k++)
            if (!isfinite(t->value[(size_t)i * t->nout + k]))
                goto out;
        if (nd->feature < 0) {
            if (nd->feature != -1 || nd->left != -1 || nd->right != -1)
                goto out;
            continue;
        }
        if ((size_t)nd->feature >= nfeat || (nd->flags & ~(TREE_DEFAULT_LEFT | TREE_CATEGORICAL)))
            goto out;
        int cat = (nd->flags & TREE_CATEGORICAL) != 0;
        if (cat != (is_cat[nd->feature] != 0))
            goto out;
        if (cat) {
            if (nd->cat_off > t->ncatwords || nd->cat_nwords > t->ncatwords - nd->cat_off)
                goto out;
        } else if (isnan(nd->threshold)) {
            goto out;
        }
        if (nd->left <= (int32_t)i || nd->right <= (int32_t)i || nd->left == nd->right ||
            (uint32_t)nd->left >= t->nnodes || (uint32_t)nd->right >= t->nnodes)
            goto out;
        if (seen[nd->left] || seen[nd->right])
            goto out;
        seen[nd->left] = seen[nd->right] = 1;
    }
    for (uint32_t i = 1; i < t->nnodes; i++)
        if (!seen[i])
            goto out;
    rv = 0;
out:
    free(seen);
    return rv;
}

void tree_assert_grown(const struct tree *t, size_t nfeat, const uint8_t *is_cat)
{
#ifdef NDEBUG
    (void)t;
    (void)nfeat;
    (void)is_cat;
#else
    assert(t->nnodes > 0 && t->nout > 0);
    /* each node but the root is the child of exactly one node (when there is memory to see) */
    uint8_t *seen = calloc(t->nnodes, 1);
    for (uint32_t i = 0; i < t->nnodes; i++) {
        const struct tree_node *nd = &t->nodes[i];
        if (nd->feature < 0) {
            assert(nd->feature == -1 && nd->left == -1 && nd->right == -1);
            continue;
        }
        assert((size_t)nd->feature < nfeat);
        assert(nd->left > (int32_t)i && nd->right > (int32_t)i && nd->left != nd->right);
        assert((uint32_t)nd->left < t->nnodes && (uint32_t)nd->right < t->nnodes);
        int cat = (nd->flags & TREE_CATEGORICAL) != 0;
        assert(cat == (is_cat[nd->feature] != 0));
        assert(!cat || (nd->cat_off <= t->ncatwords &&
                        nd->cat_nwords <= t->ncatwords - nd->cat_off));
        assert(cat || !isnan(nd->threshold));
        (void)cat;
        if (seen != NULL) {
            assert(!seen[nd->left] && !seen[nd->right]);
            seen[nd->left] = seen[nd->right] = 1;
        }
    }
    for (uint32_t i = 1; seen != NULL && i < t->nnodes; i++)
        assert(seen[i]);
    free(seen);
#endif
}

int tree_set_catsplit(struct tree *t, uint32_t *cap, struct tree_node *nd,
                      const struct bin_feature *f, const uint32_t *left_bins, int default_left)
{
    uint32_t maxcode = 0;
    int any = 0;
    for (uint32_t b = 0; b < f->nvalue; b++) {
        int left = (int)((left_bins[b / 32] >> (b % 32)) & 1u);
        if (left != default_left && f->bin_cat[b] >= maxcode) {
            maxcode = f->bin_cat[b];
            any = 1;
        }
    }
    uint32_t nw = any ? maxcode / 32 + 1 : 0;
    if (t->ncatwords + nw > *cap) {
        uint32_t nc = *cap ? *cap : 16;
        while (nc < t->ncatwords + nw)
            nc *= 2;
        uint32_t *p = realloc(t->catwords, nc * sizeof *p);
        if (p == NULL)
            return AIOPS_ENOMEM;
        t->catwords = p;
        *cap = nc;
    }
    nd->flags = TREE_CATEGORICAL | (default_left ? TREE_DEFAULT_LEFT : 0);
    nd->cat_off = t->ncatwords;
    nd->cat_nwords = nw;
    uint32_t *w = t->catwords + t->ncatwords;
    memset(w, 0, nw * sizeof *w);
    for (uint32_t b = 0; b < f->nvalue; b++) {
        int left = (int)((left_bins[b / 32] >> (b % 32)) & 1u);
        if (left != default_left) {
            uint32_t code = f->bin_cat[b];
            w[code / 32] |= 1u << (code % 32);
        }
    }
    t->ncatwords += nw;
    return 0;
}

/* Per tree: u32 nnodes, u32 ncatwords; per node: i32 feature, u32 flags, i32 left, i32 right,
 * f64 threshold, u32 cat_off, u32 cat_nwords, f64 gain, f64 cover, nout x f64 value; then
 * ncatwords x u32. */
int tree_write(const struct tree *t, struct buf *out)
{
    int rv;
    if ((rv = bytes_put_u32(out, t->nnodes)) != 0 || (rv = bytes_put_u32(out, t->ncatwords)) != 0)
        return rv;
    size_t per = 4 * 4 + 8 + 4 * 2 + 8 * 2 + 8 * (size_t)t->nout;
    if ((rv = buf_reserve(out, per * t->nnodes + 4 * (size_t)t->ncatwords)) != 0)
        return rv;
    for (uint32_t i = 0; i < t->nnodes; i++) {
        const struct tree_node *nd = &t->nodes[i];
        if ((rv = bytes_put_u32(out, (uint32_t)nd->feature)) != 0 ||
            (rv = bytes_put_u32(out, nd->flags)) != 0 ||
            (rv = bytes_put_u32(out, (uint32_t)nd->left)) != 0 ||
            (rv = bytes_put_u32(out, (uint32_t)nd->right)) != 0 ||
            (rv = bytes_put_f64(out, nd->threshold)) != 0 ||
            (rv = bytes_put_u32(out, nd->cat_off)) != 0 ||
            (rv = bytes_put_u32(out, nd->cat_nwords)) != 0 ||
            (rv = bytes_put_f64(out, t->gain[i])) != 0 ||
            (rv = bytes_put_f64(out, t->cover[i])) != 0)
            return rv;
        for (uint32_t k = 0; k < t->nout; k++)
            if ((rv = bytes_put_f64(out, t->value[(size_t)i * t->nout + k])) != 0)
                return rv;
    }
    for (uint32_t i = 0; i < t->ncatwords; i++)
        if ((rv = bytes_put_u32(out, t->catwords[i])) != 0)
            return rv;
    return 0;
}

int tree_read(struct bytes_reader *r, uint32_t nout, size_t nfeat, const uint8_t *is_cat,
              struct tree *t)
{
    memset(t, 0, sizeof *t);
    uint32_t nnodes = bytes_get_u32(r);
    uint32_t ncw = bytes_get_u32(r);
    if (r->bad || nnodes == 0 || nnodes > TREE_MAX_NODES || ncw > TREE_MAX_CATWORDS ||
        nout == 0 || nout > 65536)
        return AIOPS_ECORRUPT;
    /* Refuse counts the remaining bytes cannot hold before allocating for them. */
    size_t per = 4 * 4 + 8 + 4 * 2 + 8 * 2 + 8 * (size_t)nout;
    size_t left = r->n - r->off;
    if ((size_t)nnodes > left / per || 4 * (size_t)ncw > left - per * nnodes)
        return AIOPS_ECORRUPT;
    t->nnodes = nnodes;
    t->ncatwords = ncw;
    t->nout = nout;
    t->nodes = malloc(nnodes * sizeof *t->nodes);
    t->gain = malloc(nnodes * sizeof *t->gain);
    t->cover = malloc(nnodes * sizeof *t->cover);
    t->value = malloc((size_t)nnodes * nout * sizeof *t->value);
    t->catwords = ncw ? malloc(ncw * sizeof *t->catwords) : NULL;
    if (t->nodes == NULL || t->gain == NULL || t->cover == NULL || t->value == NULL ||
        (ncw && t->catwords == NULL)) {
        tree_free(t);
        return AIOPS_ENOMEM;
    }
    for (uint32_t i = 0; i < nnodes; i++) {
        struct tree_node *nd = &t->nodes[i];
        nd->feature = (int32_t)bytes_get_u32(r);
        nd->flags = bytes_get_u32(r);
        nd->left = (int32_t)bytes_get_u32(r);
        nd->right = (int32_t)bytes_get_u32(r);
        nd->threshold = bytes_get_f64(r);
        nd->cat_off = bytes_get_u32(r);
        nd->cat_nwords = bytes_get_u32(r);
        t->gain[i] = bytes_get_f64(r);
        t->cover[i] = bytes_get_f64(r);
        for (uint32_t k = 0; k < nout; k++)
            t->value[(size_t)i * nout + k] = bytes_get_f64(r);
    }
    for (uint32_t i = 0; i < ncw; i++)
        t->catwords[i] = bytes_get_u32(r);
    int rv = r->bad ? AIOPS_ECORRUPT : tree_check(t, nfeat, is_cat);
    if (rv != 0)
        tree_free(t);
    return rv;
}

int tree_save_ensemble(const uint8_t *is_cat, const uint32_t *ncat, uint32_t nfeat,
                       const struct tree *trees, uint32_t ntrees, size_t start, struct buf *out)
{
    int rv;
    for (uint32_t j = 0; j < nfeat; j++)
        if ((rv = bytes_put_u32(out, is_cat[j])) != 0 || (rv = bytes_put_u32(out, ncat[j])) != 0)
            return rv;
    for (uint32_t t = 0; t < ntrees; t++)
        if ((rv = tree_write(&trees[t], out)) != 0)
            return rv;
    uint32_t crc = crc32c(0, out->data + start, out->len - start);
    return bytes_put_u32(out, crc);
}

int tree_crc_ok(const uint8_t *p, size_t n)
{
    if (n < 4)
        return 0;
    struct bytes_reader crd = {p + n - 4, 4, 0, 0};
    return bytes_get_u32(&crd) == crc32c(0, p, n - 4);
}

int tree_load_ensemble(struct bytes_reader *r, uint32_t nout, uint32_t nfeat, uint8_t *is_cat,
                       uint32_t *ncat, struct tree *trees, uint32_t ntrees, uint32_t *nread)
{
    for (uint32_t j = 0; j < nfeat; j++) {
        uint32_t ic = bytes_get_u32(r);
        ncat[j] = bytes_get_u32(r);
        if (ic > 1 || (!ic && ncat[j] != 0))
            return AIOPS_ECORRUPT;
        is_cat[j] = (uint8_t)ic;
    }
    if (r->bad)
        return AIOPS_ECORRUPT;
    int rv;
    for (uint32_t t = 0; t < ntrees; t++) {
        if ((rv = tree_read(r, nout, nfeat, is_cat, &trees[t])) != 0)
            return rv;
        *nread = t + 1;
    }
    return r->off == r->n ? AIOPS_OK : AIOPS_ECORRUPT;
}
