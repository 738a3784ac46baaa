#include "ml/model.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/pool.h"
#include "data/colstore.h"

#define TAG(a, b, c, d)                                                                            \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_META TAG('M', 'E', 'T', 'A')
#define TAG_FEAT TAG('F', 'E', 'A', 'T')
#define TAG_ALGO TAG('A', 'L', 'G', 'O')
#define TAG_DRFT TAG('D', 'R', 'F', 'T')
#define HEADER_BYTES 20
/* A model file is read whole: bound what a hostile one can make us allocate. */
#define MODEL_MAX_BYTES ((size_t)2 << 30)

static const char magic[8] = {'A', 'I', 'O', 'P', 'S', 'M', 'D', 'L'};

void model_free(struct model *m)
{
    if (m == NULL)
        return;
    if (m->learner != NULL)
        m->learner->free(m->algo);
    feature_set_free(&m->features);
    target_spec_free(&m->target);
    json_decref(m->meta);
    reference_free(m->reference);
    free(m);
}

int model_is_clustering(const struct model *m)
{
    return m != NULL && m->learner != NULL && !m->learner->needs_target;
}

const char *model_task_name(const struct model *m)
{
    if (model_is_clustering(m))
        return "clustering";
    const char *t = table_task_name(m->target.task);
    return t ? t : "none";
}

size_t model_outputs(const struct model *m)
{
    /* a clustering model (no target task) writes the cluster index: one output */
    if (m->target.task == TASK_NONE)
        return 1;
    return m->target.task == TASK_REGRESSION ? 1 : m->target.nclasses;
}

int model_predict(const struct model *m, const struct fmatrix *x, double *out)
{
    if (x->ncols != m->features.n)
        return AIOPS_EINVAL;
    return m->learner->predict(m->algo, x, NULL, out);
}

int model_predict_threads(const struct model *m, const struct fmatrix *x, int threads, double *out)
{
    size_t from = m->learner->parallel_rows;
    if (from == 0 || x->nrows < from || threads == 1)
        return model_predict(m, x, out);
    if (x->ncols != m->features.n)
        return AIOPS_EINVAL;
    struct pool *pool = NULL;
    int rv = pool_create(threads, &pool);
    if (rv != 0)
        return rv;
    rv = m->learner->predict(m->algo, x, pool, out);
    pool_free(pool);
    return rv;
}

/* --- writing -------------------------------------------------------------------------- */

static void section(struct buf *b, uint32_t tag, const void *p, size_t n)
{
    uint64_t len = n;
    buf_append(b, &tag, 4);
    buf_append(b, &len, 8);
    buf_append(b, p, n);
}

int model_save(const struct model *m, struct buf *out)
{
    struct buf meta = BUF_INIT, feat = BUF_INIT, algo = BUF_INIT, drft = BUF_INIT;
    json_t *full = json_deep_copy(m->meta ? m->meta : json_object());
    int rv = full ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        json_object_set_new(full, "kind", json_string(m->learner->name));
        rv = jsonx_write(full, &meta);
    }
    json_decref(full);
    if (rv == 0)
        rv = features_save(&m->features, &m->target, &feat);
    if (rv == 0)
        rv = m->learner->save(m->algo, &algo);
    if (rv == 0 && m->reference != NULL)
        rv = reference_save(m->reference, &drft);
    if (rv == 0) {
        size_t start = out->len;
        uint32_t version = MODEL_FORMAT_VERSION, count = m->reference ? 4 : 3, crc = 0;
        buf_append(out, magic, 8);
        buf_append(out, &version, 4);
        buf_append(out, &count, 4);
        buf_append(out, &crc, 4);
        section(out, TAG_META, meta.data, meta.len);
        section(out, TAG_FEAT, feat.data, feat.len);
        section(out, TAG_ALGO, algo.data, algo.len);
        if (m->reference != NULL)
            section(out, TAG_DRFT, drft.data, drft.len);
        if (out->data == NULL || out->len < start + HEADER_BYTES) {
            rv = AIOPS_ENOMEM;
        } else {
            crc = crc32c(0, out->data + start + HEADER_BYTES, out->len - start - HEADER_BYTES);
            memcpy(out->data + start + 16, &crc, 4);
        }
    }
    buf_free(&meta);
    buf_free(&feat);
    buf_free(&algo);
    buf_free(&drft);
    return rv;
}

int model_save_file(const struct model *m, const char *path)
{
    struct buf b = BUF_INIT;
    int rv = model_save(m, &b);
    if (rv != 0) {
        buf_free(&b);
        return rv;
    }
    /* write to a temporary name, then rename: a crash never leaves half a model */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        buf_free(&b);
        return AIOPS_EIO;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == b.len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    buf_free(&b);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return AIOPS_EIO;
    }
    return AIOPS_OK;
}

/* --- reading -------------------------------------------------------------------------- */

/* The algorithm read from a file must take as many inputs as the feature set holds and give
 * as many outputs as the target needs, or predicting would read or write out of bounds. */
static int algo_fits(const struct model *m)
{
    /* a clustering learner has no target task, every other learner one */
    return m->learner->num_features(m->algo) == m->features.n &&
           m->learner->outputs(m->algo) == model_outputs(m) &&
           (m->target.task == TASK_NONE) == !m->learner->needs_target;
}

int model_load(const void *data, size_t n, struct model **out, struct aiops_error *err)
{
    const uint8_t *p = data;
    *out = NULL;
    aiops_error_clear(err);
    if (n < HEADER_BYTES || memcmp(p, magic, 8) != 0)
        return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "not a model file");
    uint32_t version, count, crc;
    memcpy(&version, p + 8, 4);
    memcpy(&count, p + 12, 4);
    memcpy(&crc, p + 16, 4);
    if (version != MODEL_FORMAT_VERSION)
        return aiops_error_set(err, AIOPS_EUNSUPPORTED, NULL,
                               "model format version %u, this program reads version %u", version,
                               MODEL_FORMAT_VERSION);
    if (crc32c(0, p + HEADER_BYTES, n - HEADER_BYTES) != crc)
        return aiops_error_set(err, AIOPS_ECORRUPT, NULL,
                               "checksum mismatch: the model file is damaged");
    const uint8_t *sec[4] = {NULL, NULL, NULL, NULL};
    size_t len[4] = {0, 0, 0, 0};
    size_t off = HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t tag;
        uint64_t l;
        if (n - off < 12)
            return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "truncated section header");
        memcpy(&tag, p + off, 4);
        memcpy(&l, p + off + 4, 8);
        off += 12;
        if (l > n - off)
            return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "a section runs past the end");
        int k = tag == TAG_META   ? 0
                : tag == TAG_FEAT ? 1
                : tag == TAG_ALGO ? 2
                : tag == TAG_DRFT ? 3
                                  : -1;
        if (k < 0)
            return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "unknown section");
        if (sec[k] != NULL)
            return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "repeated section");
        sec[k] = p + off;
        len[k] = (size_t)l;
        off += (size_t)l;
    }
    if (off != n || !sec[0] || !sec[1] || !sec[2])
        return aiops_error_set(err, AIOPS_ECORRUPT, NULL, "missing section or trailing bytes");
    struct model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    json_error_t je;
    m->meta = json_loadb((const char *)sec[0], len[0], JSON_REJECT_DUPLICATES, &je);
    const char *kind = json_string_value(json_object_get(m->meta, "kind"));
    const struct learner *l = learner_find(kind);
    int rv;
    if (!json_is_object(m->meta) || l == NULL) {
        rv = aiops_error_set(err, AIOPS_ECORRUPT, NULL, "bad metadata");
    } else if ((rv = features_load(sec[1], len[1], &m->features, &m->target)) != 0) {
        rv = aiops_error_set(err, AIOPS_ECORRUPT, NULL, "bad feature section");
    } else if ((rv = l->load(sec[2], len[2], &m->algo)) != 0) {
        rv = aiops_error_set(err, rv == AIOPS_ENOMEM ? rv : AIOPS_ECORRUPT, NULL, "bad %s section",
                             kind);
    } else {
        m->learner = l; /* from here model_free frees algo through it */
    }
    if (rv == 0 && !algo_fits(m))
        rv = aiops_error_set(err, AIOPS_ECORRUPT, NULL,
                             "the algorithm section does not match the features or the target");
    if (rv == 0 && sec[3] != NULL) {
        const char *why = NULL;
        rv = reference_load(sec[3], len[3], &m->features, &m->reference, &why);
        if (rv != 0 && why != NULL)
            rv = aiops_error_set(err, rv, NULL, "bad drift reference section: %s", why);
    }
    if (rv != 0) {
        model_free(m);
        return rv;
    }
    *out = m;
    return AIOPS_OK;
}

int model_load_file(const char *path, struct model **out, struct aiops_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return aiops_error_set(err, AIOPS_EIO, NULL, "cannot read %s: %s", path, strerror(errno));
    }
    if ((size_t)st.st_size > MODEL_MAX_BYTES) {
        close(fd);
        return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "%s is too large to be a model", path);
    }
    size_t n = (size_t)st.st_size, off = 0;
    uint8_t *b = malloc(n ? n : 1);
    while (b != NULL && off < n) {
        ssize_t r = read(fd, b + off, n - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (b == NULL || off != n) {
        free(b);
        return aiops_error_set(err, AIOPS_EIO, NULL, "cannot read %s", path);
    }
    int rv = model_load(b, n, out, err);
    free(b);
    return rv;
}
