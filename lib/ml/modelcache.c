#include "ml/modelcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/time.h"

#define ALIAS_SLOTS 256

struct alias_slot {
    char key[288]; /* project \x1f name \x1f alias */
    int version;
    uint64_t expires_ns;
};

struct model_cache {
    pthread_mutex_t mu;
    struct cached_model *models;
    size_t nmodels, cap;
    uint64_t tick, alias_ttl_ns;
    struct alias_slot aliases[ALIAS_SLOTS];
};

int model_cache_create(size_t capacity, uint64_t alias_ttl_ns, struct model_cache **out)
{
    struct model_cache *mc = calloc(1, sizeof *mc);
    *out = NULL;
    if (mc == NULL)
        return AIOPS_ENOMEM;
    pthread_mutex_init(&mc->mu, NULL);
    mc->cap = capacity ? capacity : 1;
    mc->alias_ttl_ns = alias_ttl_ns;
    *out = mc;
    return AIOPS_OK;
}

static void entry_free(struct cached_model *s)
{
    if (s->labels != NULL)
        for (size_t k = 0; k < s->m->target.nclasses; k++)
            json_decref(s->labels[k]);
    free(s->labels);
    buf_free(&s->label_text);
    free(s->label_off);
    model_free(s->m);
    free(s);
}

void model_cache_free(struct model_cache *mc)
{
    if (mc == NULL)
        return;
    struct cached_model *s = mc->models;
    while (s) {
        struct cached_model *next = s->next;
        entry_free(s);
        s = next;
    }
    pthread_mutex_destroy(&mc->mu);
    free(mc);
}

void model_cache_put(struct model_cache *mc, struct cached_model *s)
{
    pthread_mutex_lock(&mc->mu);
    int last = --s->refs == 0 && s->evicted;
    pthread_mutex_unlock(&mc->mu);
    if (last)
        entry_free(s);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void model_cache_forget(struct model_cache *mc, const char *project, const char *name)
{
    char prefix[220];
    int n = snprintf(prefix, sizeof prefix, "%s\x1f%s\x1f", project, name);
    pthread_mutex_lock(&mc->mu);
    for (size_t i = 0; i < ALIAS_SLOTS; i++)
        if (strncmp(mc->aliases[i].key, prefix, (size_t)n) == 0)
            mc->aliases[i].key[0] = '\0';
    pthread_mutex_unlock(&mc->mu);
}

int model_cache_resolve(struct model_cache *mc, const char *project, const char *name,
                        const char *alias, model_resolve_fn resolve, void *arg, int *version)
{
    char key[288];
    snprintf(key, sizeof key, "%s\x1f%s\x1f%s", project, name, alias ? alias : "");
    struct alias_slot *slot = &mc->aliases[fnv1a(key) % ALIAS_SLOTS];
    uint64_t now = time_mono_ns();
    pthread_mutex_lock(&mc->mu);
    int hit = strcmp(slot->key, key) == 0 && slot->expires_ns > now;
    if (hit)
        *version = slot->version;
    pthread_mutex_unlock(&mc->mu);
    if (hit)
        return AIOPS_OK;
    int rv = resolve(arg, project, name, alias, version);
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&mc->mu);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->version = *version;
    slot->expires_ns = now + mc->alias_ttl_ns;
    pthread_mutex_unlock(&mc->mu);
    return AIOPS_OK;
}

static struct cached_model *find_locked(struct model_cache *mc, const char *project,
                                        const char *name, int version)
{
    for (struct cached_model *s = mc->models; s; s = s->next)
        if (s->version == version && strcmp(s->name, name) == 0 && strcmp(s->project, project) == 0)
            return s;
    return NULL;
}

/* A new entry for model m (taken), with its labels written out once for fast replies. */
static int entry_new(const char *project, const char *name, int version, struct model *m,
                     struct cached_model **out)
{
    struct cached_model *s = calloc(1, sizeof *s);
    size_t K = m->target.task == TASK_REGRESSION ? 0 : m->target.nclasses;
    if (s == NULL || (K > 0 && (s->labels = calloc(K, sizeof *s->labels)) == NULL)) {
        free(s);
        model_free(m);
        return AIOPS_ENOMEM;
    }
    snprintf(s->project, sizeof s->project, "%s", project);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->version = version;
    s->m = m;
    if (K > 0 && (s->label_off = calloc(4 * K, sizeof *s->label_off)) == NULL) {
        entry_free(s);
        return AIOPS_ENOMEM;
    }
    for (size_t k = 0; k < K; k++) {
        s->labels[k] = target_label_json(&m->target, k);
        char *text = json_dumps(s->labels[k], JSON_ENCODE_ANY | JSON_COMPACT);
        size_t *o = s->label_off + 4 * k;
        o[0] = s->label_text.len;
        if (text == NULL || buf_puts(&s->label_text, text) != 0) {
            free(text);
            entry_free(s);
            return AIOPS_ENOMEM;
        }
        free(text);
        o[1] = o[2] = s->label_text.len;
        if (buf_json_str(&s->label_text, m->target.labels[k], strlen(m->target.labels[k])) != 0) {
            entry_free(s);
            return AIOPS_ENOMEM;
        }
        o[3] = s->label_text.len;
    }
    *out = s;
    return AIOPS_OK;
}

/* Adds s (not yet listed) and evicts the least recently used beyond the capacity. */
static void insert_locked(struct model_cache *mc, struct cached_model *s)
{
    s->next = mc->models;
    mc->models = s;
    mc->nmodels++;
    while (mc->nmodels > mc->cap) {
        struct cached_model **lru = NULL;
        for (struct cached_model **p = &mc->models; *p; p = &(*p)->next)
            if (*p != s && (lru == NULL || (*p)->used < (*lru)->used))
                lru = p;
        if (lru == NULL)
            break;
        struct cached_model *victim = *lru;
        *lru = victim->next;
        mc->nmodels--;
        victim->evicted = 1;
        if (victim->refs == 0)
            entry_free(victim);
    }
}

int model_cache_get(struct model_cache *mc, const char *project, const char *name, int version,
                    model_load_fn load, void *arg, struct cached_model **out,
                    struct aiops_error *err)
{
    aiops_error_clear(err);
    pthread_mutex_lock(&mc->mu);
    struct cached_model *s = find_locked(mc, project, name, version);
    if (s != NULL) {
        s->refs++;
        s->used = ++mc->tick;
    }
    pthread_mutex_unlock(&mc->mu);
    if (s != NULL) {
        *out = s;
        return AIOPS_OK;
    }
    struct model *m;
    struct cached_model *fresh;
    int rv = load(arg, project, name, version, &m, err);
    if (rv == 0)
        rv = entry_new(project, name, version, m, &fresh);
    if (rv != 0)
        return rv;
    pthread_mutex_lock(&mc->mu);
    /* another thread may have loaded it meanwhile: keep the first */
    s = find_locked(mc, project, name, version);
    if (s == NULL) {
        s = fresh;
        fresh = NULL;
        insert_locked(mc, s);
    }
    s->refs++;
    s->used = ++mc->tick;
    pthread_mutex_unlock(&mc->mu);
    if (fresh != NULL)
        entry_free(fresh);
    *out = s;
    return AIOPS_OK;
}
