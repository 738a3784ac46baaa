#include "tree.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binning.h"
#include "err.h"

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

int tree_for_blocks(const struct fmatrix *x, struct tree_pool *pool, size_t block_rows,
                    void (*block)(void *arg, size_t r0, size_t nb, const double *rows),
                    void *arg)
{
    if (block_rows < 1 || block_rows > TREE_BIG_BLOCK)
        return AIOPS_EINVAL;
    struct blocks_job j = {.x = x, .block = block, .arg = arg, .block_rows = block_rows,
                           .nblocks = (x->nrows + block_rows - 1) / block_rows};
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    int nth = pool ? tree_pool_threads(pool) : 1;
    if ((size_t)nth > j.nblocks)
        nth = j.nblocks ? (int)j.nblocks : 1;
    if (nth > 1)
        tree_pool_run(pool, nth, blocks_worker, &j);
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

/* --- bytes ------------------------------------------------------------------------------ */

int tree_put_u32(struct buf *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return buf_append(b, p, 4);
}

int tree_put_u64(struct buf *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return buf_append(b, p, 8);
}

int tree_put_f64(struct buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return tree_put_u64(b, u);
}

uint32_t tree_get_u32(struct tree_reader *r)
{
    if (r->bad || r->n - r->off < 4) {
        r->bad = 1;
        return 0;
    }
    const uint8_t *p = r->p + r->off;
    r->off += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t tree_get_u64(struct tree_reader *r)
{
    uint64_t lo = tree_get_u32(r);
    uint64_t hi = tree_get_u32(r);
    return lo | hi << 32;
}

double tree_get_f64(struct tree_reader *r)
{
    uint64_t u = tree_get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* Per tree: u32 nnodes, u32 ncatwords; per node: i32 feature, u32 flags, i32 left, i32 right,
 * f64 threshold, u32 cat_off, u32 cat_nwords, f64 gain, f64 cover, nout x f64 value; then
 * ncatwords x u32. */
int tree_write(const struct tree *t, struct buf *out)
{
    int rv;
    if ((rv = tree_put_u32(out, t->nnodes)) != 0 || (rv = tree_put_u32(out, t->ncatwords)) != 0)
        return rv;
    size_t per = 4 * 4 + 8 + 4 * 2 + 8 * 2 + 8 * (size_t)t->nout;
    if ((rv = buf_reserve(out, per * t->nnodes + 4 * (size_t)t->ncatwords)) != 0)
        return rv;
    for (uint32_t i = 0; i < t->nnodes; i++) {
        const struct tree_node *nd = &t->nodes[i];
        if ((rv = tree_put_u32(out, (uint32_t)nd->feature)) != 0 ||
            (rv = tree_put_u32(out, nd->flags)) != 0 ||
            (rv = tree_put_u32(out, (uint32_t)nd->left)) != 0 ||
            (rv = tree_put_u32(out, (uint32_t)nd->right)) != 0 ||
            (rv = tree_put_f64(out, nd->threshold)) != 0 ||
            (rv = tree_put_u32(out, nd->cat_off)) != 0 ||
            (rv = tree_put_u32(out, nd->cat_nwords)) != 0 ||
            (rv = tree_put_f64(out, t->gain[i])) != 0 ||
            (rv = tree_put_f64(out, t->cover[i])) != 0)
            return rv;
        for (uint32_t k = 0; k < t->nout; k++)
            if ((rv = tree_put_f64(out, t->value[(size_t)i * t->nout + k])) != 0)
                return rv;
    }
    for (uint32_t i = 0; i < t->ncatwords; i++)
        if ((rv = tree_put_u32(out, t->catwords[i])) != 0)
            return rv;
    return 0;
}

int tree_read(struct tree_reader *r, uint32_t nout, size_t nfeat, const uint8_t *is_cat,
              struct tree *t)
{
    memset(t, 0, sizeof *t);
    uint32_t nnodes = tree_get_u32(r);
    uint32_t ncw = tree_get_u32(r);
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
        nd->feature = (int32_t)tree_get_u32(r);
        nd->flags = tree_get_u32(r);
        nd->left = (int32_t)tree_get_u32(r);
        nd->right = (int32_t)tree_get_u32(r);
        nd->threshold = tree_get_f64(r);
        nd->cat_off = tree_get_u32(r);
        nd->cat_nwords = tree_get_u32(r);
        t->gain[i] = tree_get_f64(r);
        t->cover[i] = tree_get_f64(r);
        for (uint32_t k = 0; k < nout; k++)
            t->value[(size_t)i * nout + k] = tree_get_f64(r);
    }
    for (uint32_t i = 0; i < ncw; i++)
        t->catwords[i] = tree_get_u32(r);
    int rv = r->bad ? AIOPS_ECORRUPT : tree_check(t, nfeat, is_cat);
    if (rv != 0)
        tree_free(t);
    return rv;
}

/* --- thread pool ------------------------------------------------------------------------ */

/* Workers spin briefly on the job counter before sleeping on the condition variable: tree
 * growing hands out many short jobs in a row, and a futex wake-up per job costs more than
 * most of them. */
#define POOL_SPINS 4000

struct tree_pool {
    int threads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint_fast64_t generation; /* jobs started */
    atomic_int pending;              /* workers still running the current job */
    atomic_int stop;
    int active; /* threads taking part in the current job (written before generation) */
    void (*fn)(void *arg, int tid, int nth);
    void *arg;
};

struct worker_arg {
    struct tree_pool *p;
    int tid;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *v)
{
    struct worker_arg wa = *(struct worker_arg *)v;
    free(v);
    struct tree_pool *p = wa.p;
    uint_fast64_t seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop) &&
               spins < POOL_SPINS) {
            cpu_relax();
            spins++;
        }
        /* the job is read under the lock the caller wrote it under, so that a worker
         * left out of one job cannot mix its fields with the next one's */
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
            pthread_cond_wait(&p->go, &p->mu);
        seen = atomic_load(&p->generation);
        void (*fn)(void *, int, int) = p->fn;
        void *arg = p->arg;
        int active = p->active;
        pthread_mutex_unlock(&p->mu);
        if (atomic_load(&p->stop))
            break;
        if (wa.tid >= active)
            continue;
        fn(arg, wa.tid, active);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

int tree_pool_create(int threads, struct tree_pool **out)
{
    *out = NULL;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : (n > 256 ? 256 : (int)n);
    }
    struct tree_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return AIOPS_ENOMEM;
    p->threads = 1;
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->tids = calloc((size_t)threads, sizeof *p->tids);
        if (p->tids == NULL) {
            tree_pool_free(p);
            return AIOPS_ENOMEM;
        }
    }
    for (int t = 1; t < threads; t++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (wa == NULL) {
            tree_pool_free(p);
            return AIOPS_ENOMEM;
        }
        wa->p = p;
        wa->tid = t;
        int e = pthread_create(&p->tids[t], NULL, worker_main, wa);
        if (e != 0) {
            free(wa);
            tree_pool_free(p);
            errno = e;
            return AIOPS_EIO;
        }
        p->threads++;
    }
    *out = p;
    return 0;
}

int tree_pool_threads(const struct tree_pool *p)
{
    return p->threads;
}

void tree_pool_run(struct tree_pool *p, int nthreads, void (*fn)(void *arg, int tid, int nth),
                   void *arg)
{
    if (nthreads > p->threads)
        nthreads = p->threads;
    if (nthreads <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->active = nthreads;
    atomic_store(&p->pending, nthreads - 1);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    fn(arg, 0, nthreads);
    for (int spins = 0; atomic_load(&p->pending) > 0 && spins < POOL_SPINS; spins++)
        cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void tree_pool_free(struct tree_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->threads; t++)
        pthread_join(p->tids[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->tids);
    free(p);
}
