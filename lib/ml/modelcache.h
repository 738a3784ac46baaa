/* modelcache.h -- loaded model versions shared by a service's threads, and what a model name
 * or alias means for a short while, so that hot requests neither read nor parse a model file.
 *
 * The cache holds up to `capacity` versions (least recently used out first) with reference
 * counts: a version evicted or replaced is freed only when the last request holding it lets
 * go (model_cache_put). Where models and aliases come from is the caller's business, through
 * callbacks (svc-train, svc-explain and svc-monitor pass lib/store/registry.h's functions on
 * the calling worker's connection), so every service loads the same models the same way.
 * Loading happens outside the cache's lock: a large model never holds up requests for
 * others. Thread-safe. */
#ifndef AIOPS_MODELCACHE_H
#define AIOPS_MODELCACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "ml/model.h"

struct cached_model {
    char project[72];
    char name[136];
    int version;
    struct model *m;          /* owned by the cache */
    json_t **labels;          /* classification: each class's label as JSON (NULL otherwise) */
    struct buf label_text;    /* classification: per class, its label as a JSON value and as
                                 a JSON object key, written once for fast replies */
    size_t *label_off;        /* 4 offsets per class: value start, value end, key start, key
                                 end, into label_text */
    /* the cache's own */
    int refs, evicted;
    uint64_t used;
    struct cached_model *next;
};

/* Loads version `version` of a model (caller-side storage). The cache owns *out on success.
 * AIOPS_ENOTFOUND, AIOPS_ECORRUPT/AIOPS_EUNSUPPORTED with the reason in err->message, or
 * another AIOPS_E*: passed on as is. err may be NULL. */
typedef int (*model_load_fn)(void *arg, const char *project, const char *name, int version,
                             struct model **out, struct aiops_error *err);
/* The version alias (NULL: the default) of a model means now; AIOPS_ENOTFOUND. */
typedef int (*model_resolve_fn)(void *arg, const char *project, const char *name,
                                const char *alias, int *version);

struct model_cache;

/* capacity >= 1 versions; resolved aliases are remembered for alias_ttl_ns. The caller
 * frees *out with model_cache_free once no entry is held. AIOPS_ENOMEM. */
int model_cache_create(size_t capacity, uint64_t alias_ttl_ns, struct model_cache **out);
void model_cache_free(struct model_cache *mc);

/* A held reference to a version (model_cache_put when done), loaded through load(arg, ...)
 * on a miss. Errors (and err, which may be NULL) are load's; AIOPS_ENOMEM. */
int model_cache_get(struct model_cache *mc, const char *project, const char *name, int version,
                    model_load_fn load, void *arg, struct cached_model **out,
                    struct aiops_error *err);
void model_cache_put(struct model_cache *mc, struct cached_model *cm);

/* What alias (NULL: the default) of a model means, remembered for the TTL; asks
 * resolve(arg, ...) when not remembered. Errors are resolve's. */
int model_cache_resolve(struct model_cache *mc, const char *project, const char *name,
                        const char *alias, model_resolve_fn resolve, void *arg, int *version);
/* Forgets what the aliases of a model meant (after an alias changed through this process). */
void model_cache_forget(struct model_cache *mc, const char *project, const char *name);

#endif
