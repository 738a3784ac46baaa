/* xgbimport.c -- XGBoost JSON models into our gbdt model (see xgbimport.h). Every value is
 * checked before use: the file is outside input. */
#include "ml/xgbimport.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/gbdt.h"
#include "core/time.h"

extern const struct learner learner_gbdt;

/* Nodes per tree read: what tree_check accepts (lib/algo/tree.c). */
#define XGB_MAX_NODES (1u << 26)

/* A member of an object, or NULL with err naming the path. */
static json_t *member(json_t *obj, const char *key, const char *path, struct aiops_error *err)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (v == NULL)
        aiops_error_set(err, AIOPS_EINVAL, path, "%s is missing", path);
    return v;
}

/* A number XGBoost writes as a JSON string ("5E-1"; XGBoost 2 writes "[5E-1]"), or a JSON
 * number. 0 with *out, or AIOPS_EINVAL naming path. */
static int number_field(json_t *v, const char *path, double *out, struct aiops_error *err)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        while (*s == '[' || *s == ' ')
            s++;
        char *end = NULL;
        errno = 0;
        *out = strtod(s, &end);
        if (end == s || errno != 0)
            return aiops_error_set(err, AIOPS_EINVAL, path, "%s is not a number", path);
        while (*end == ']' || *end == ' ')
            end++;
        if (*end != '\0')
            return aiops_error_set(err, AIOPS_EINVAL, path, "%s is not a number", path);
    } else {
        return aiops_error_set(err, AIOPS_EINVAL, path, "%s is not a number", path);
    }
    if (!isfinite(*out))
        return aiops_error_set(err, AIOPS_EINVAL, path, "%s is not finite", path);
    return AIOPS_OK;
}

/* A whole number in [lo, hi]. */
static int count_field(json_t *v, const char *path, long lo, long hi, long *out,
                       struct aiops_error *err)
{
    double d;
    int rv = number_field(v, path, &d, err);
    if (rv != 0)
        return rv;
    if (d != floor(d) || d < (double)lo || d > (double)hi)
        return aiops_error_set(err, AIOPS_EINVAL, path, "%s must be a whole number in %ld..%ld",
                               path, lo, hi);
    *out = (long)d;
    return AIOPS_OK;
}

/* --- objectives ------------------------------------------------------------------------- */

struct xgb_objective {
    const char *name;
    enum gbdt_objective obj;
    int logit_base; /* base_score is a probability: its margin is the logit */
};

static const struct xgb_objective objectives[] = {
    {"binary:logistic", GBDT_BINARY, 1},          {"binary:logitraw", GBDT_BINARY, 0},
    {"multi:softprob", GBDT_MULTICLASS, 0},       {"multi:softmax", GBDT_MULTICLASS, 0},
    {"reg:squarederror", GBDT_REGRESSION, 0},     {"reg:linear", GBDT_REGRESSION, 0},
    {"reg:pseudohubererror", GBDT_REGRESSION, 0}, {"reg:absoluteerror", GBDT_REGRESSION, 0},
};

/* --- trees ------------------------------------------------------------------------------- */

/* One of a tree's per-node arrays, of n numbers. */
static json_t *node_array(json_t *tree, const char *key, size_t n, const char *tpath,
                          struct aiops_error *err)
{
    char path[AIOPS_ERROR_FIELD];
    snprintf(path, sizeof path, "%s.%s", tpath, key);
    json_t *a = member(tree, key, path, err);
    if (a == NULL)
        return NULL;
    if (!json_is_array(a) || json_array_size(a) != n) {
        aiops_error_set(err, AIOPS_EINVAL, path,
                        "%s must be an array of %zu numbers (one per node)", path, n);
        return NULL;
    }
    return a;
}

/* Element i of a node array as a number (booleans as 0/1: default_left was written both
 * ways). */
static int node_number(json_t *a, size_t i, const char *tpath, const char *key, double *out,
                       struct aiops_error *err)
{
    json_t *v = json_array_get(a, i);
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return AIOPS_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return aiops_error_set(err, AIOPS_EINVAL, tpath, "%s.%s[%zu] is not a finite number", tpath,
                               key, i);
    *out = json_number_value(v);
    return AIOPS_OK;
}

static int tree_alloc(struct tree *t, uint32_t nnodes)
{
    memset(t, 0, sizeof *t);
    t->nnodes = nnodes;
    t->nout = 1;
    t->nodes = calloc(nnodes, sizeof *t->nodes);
    t->gain = calloc(nnodes, sizeof *t->gain);
    t->cover = calloc(nnodes, sizeof *t->cover);
    t->value = calloc(nnodes, sizeof *t->value);
    if (t->nodes == NULL || t->gain == NULL || t->cover == NULL || t->value == NULL) {
        tree_free(t);
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* Reads tree number ti. XGBoost may number nodes in any order; ours have children after
 * their parent, so nodes are renumbered breadth-first from the root, which also proves
 * every node is reached once (no cycles, no shared children). */
static int read_tree(json_t *jt, size_t ti, uint32_t nfeat, struct tree *t, struct aiops_error *err)
{
    char tpath[AIOPS_ERROR_FIELD];
    snprintf(tpath, sizeof tpath, "trees[%zu]", ti);
    json_t *left = member(jt, "left_children", tpath, err);
    if (left == NULL)
        return AIOPS_EINVAL;
    size_t n = json_array_size(left);
    if (n == 0 || n > XGB_MAX_NODES)
        return aiops_error_set(err, AIOPS_EINVAL, tpath, "%s.left_children must list 1..%u nodes",
                               tpath, XGB_MAX_NODES);
    json_t *right, *split, *cond, *dleft, *hess, *loss;
    if ((right = node_array(jt, "right_children", n, tpath, err)) == NULL ||
        (split = node_array(jt, "split_indices", n, tpath, err)) == NULL ||
        (cond = node_array(jt, "split_conditions", n, tpath, err)) == NULL ||
        (dleft = node_array(jt, "default_left", n, tpath, err)) == NULL ||
        (hess = node_array(jt, "sum_hessian", n, tpath, err)) == NULL ||
        (loss = node_array(jt, "loss_changes", n, tpath, err)) == NULL)
        return AIOPS_EINVAL;
    json_t *stype = json_object_get(jt, "split_type"); /* optional: all numeric without it */

    int rv = tree_alloc(t, (uint32_t)n);
    if (rv != 0)
        return rv;
    uint32_t *order = malloc(n * sizeof *order); /* new id -> XGBoost's */
    uint32_t *newid = malloc(n * sizeof *newid); /* XGBoost's -> new id, UINT32_MAX unseen */
    if (order == NULL || newid == NULL) {
        rv = AIOPS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        newid[i] = UINT32_MAX;
    order[0] = 0;
    newid[0] = 0;
    uint32_t placed = 1;
    for (uint32_t at = 0; at < placed; at++) {
        const uint32_t old = order[at];
        struct tree_node *nd = &t->nodes[at];
        double l, r, f, c, d, h, g, st = 0;
        if ((rv = node_number(left, old, tpath, "left_children", &l, err)) ||
            (rv = node_number(right, old, tpath, "right_children", &r, err)) ||
            (rv = node_number(split, old, tpath, "split_indices", &f, err)) ||
            (rv = node_number(cond, old, tpath, "split_conditions", &c, err)) ||
            (rv = node_number(dleft, old, tpath, "default_left", &d, err)) ||
            (rv = node_number(hess, old, tpath, "sum_hessian", &h, err)) ||
            (rv = node_number(loss, old, tpath, "loss_changes", &g, err)))
            goto out;
        if (json_is_array(stype) && json_array_size(stype) == n &&
            (rv = node_number(stype, old, tpath, "split_type", &st, err)) != 0)
            goto out;
        /* XGBoost holds every number of a tree in single precision and writes it with the
         * fewest digits that give the float back, so the float is the value meant; reading
         * the digits as a double would put a threshold a hair off the data value it
         * stands for, and send rows equal to it the other way */
        c = (double)(float)c;
        t->cover[at] = (double)(float)h;
        if (l == -1 && r == -1) {
            nd->feature = nd->left = nd->right = -1;
            t->value[at] = c; /* XGBoost keeps a leaf's value in split_conditions */
            continue;
        }
        rv = AIOPS_EINVAL;
        if (st != 0) {
            aiops_error_set(err, rv, tpath,
                            "%s.split_type[%u]: categorical splits are not imported", tpath, old);
            goto out;
        }
        if (f != floor(f) || f < 0 || f >= (double)nfeat) {
            aiops_error_set(err, rv, tpath, "%s.split_indices[%u] is not a feature 0..%u", tpath,
                            old, nfeat - 1);
            goto out;
        }
        if (l != floor(l) || r != floor(r) || l < 0 || r < 0 || l >= (double)n || r >= (double)n ||
            newid[(size_t)l] != UINT32_MAX || newid[(size_t)r] != UINT32_MAX || l == r) {
            aiops_error_set(err, rv, tpath,
                            "%s node %u: children must be other nodes of the tree, each reached "
                            "once",
                            tpath, old);
            goto out;
        }
        nd->feature = (int32_t)f;
        nd->flags = d != 0 ? TREE_DEFAULT_LEFT : 0;
        nd->threshold = nextafter(c, -INFINITY); /* x < c  <=>  x <= the double below c */
        t->gain[at] = (double)(float)g;
        newid[(size_t)l] = placed;
        order[placed] = (uint32_t)l;
        nd->left = (int32_t)placed++;
        newid[(size_t)r] = placed;
        order[placed] = (uint32_t)r;
        nd->right = (int32_t)placed++;
    }
    if (placed != n) {
        rv = aiops_error_set(err, AIOPS_EINVAL, tpath,
                             "%s: %zu of its %zu nodes are not reached from the root", tpath,
                             n - placed, n);
        goto out;
    }
    rv = AIOPS_OK;
out:
    free(order);
    free(newid);
    if (rv != 0)
        tree_free(t);
    return rv;
}

/* --- the model ----------------------------------------------------------------------------- */

struct import {
    json_t *root;
    const struct xgb_objective *objective;
    uint32_t nfeat, groups, ntrees;
    double base_score;
    struct tree *trees; /* ntrees, round by round */
    json_t *names;      /* learner.feature_names, or NULL */
};

static void import_free(struct import *im)
{
    for (uint32_t i = 0; im->trees != NULL && i < im->ntrees; i++)
        tree_free(&im->trees[i]);
    free(im->trees);
    json_decref(im->root);
}

static int read_header(struct import *im, struct aiops_error *err)
{
    json_t *learner = member(im->root, "learner", "learner", err);
    if (learner == NULL)
        return AIOPS_EINVAL;
    json_t *objective = member(learner, "objective", "learner.objective", err);
    json_t *oname = objective ? member(objective, "name", "learner.objective.name", err) : NULL;
    if (oname == NULL)
        return AIOPS_EINVAL;
    const char *name = json_string_value(oname);
    for (size_t i = 0; name && i < sizeof objectives / sizeof objectives[0]; i++)
        if (strcmp(name, objectives[i].name) == 0)
            im->objective = &objectives[i];
    if (im->objective == NULL)
        return aiops_error_set(err, AIOPS_EINVAL, "learner.objective.name",
                               "objective %s is not imported (binary:logistic, binary:logitraw, "
                               "multi:softprob, multi:softmax or reg:squarederror and its "
                               "relatives are)",
                               name ? name : "(not a string)");
    json_t *mp = member(learner, "learner_model_param", "learner.learner_model_param", err);
    if (mp == NULL)
        return AIOPS_EINVAL;
    long nfeat, nclass;
    int rv;
    json_t *v;
    if ((v = member(mp, "num_feature", "learner.learner_model_param.num_feature", err)) == NULL ||
        (rv = count_field(v, "learner.learner_model_param.num_feature", 1, 1000000, &nfeat, err)) !=
            0)
        return AIOPS_EINVAL;
    if ((v = member(mp, "num_class", "learner.learner_model_param.num_class", err)) == NULL ||
        (rv = count_field(v, "learner.learner_model_param.num_class", 0, 10000, &nclass, err)) != 0)
        return AIOPS_EINVAL;
    if ((v = member(mp, "base_score", "learner.learner_model_param.base_score", err)) == NULL ||
        (rv = number_field(v, "learner.learner_model_param.base_score", &im->base_score, err)) != 0)
        return AIOPS_EINVAL;
    if (im->objective->obj == GBDT_MULTICLASS) {
        if (nclass < 2)
            return aiops_error_set(err, AIOPS_EINVAL, "learner.learner_model_param.num_class",
                                   "a multi: objective needs num_class >= 2");
        im->groups = (uint32_t)nclass;
    } else {
        im->groups = 1;
    }
    if (im->objective->logit_base) {
        if (!(im->base_score > 0 && im->base_score < 1))
            return aiops_error_set(err, AIOPS_EINVAL, "learner.learner_model_param.base_score",
                                   "base_score of binary:logistic must be in (0, 1)");
        im->base_score = -log(1.0 / im->base_score - 1.0);
    }
    im->nfeat = (uint32_t)nfeat;
    json_t *names = json_object_get(learner, "feature_names");
    if (json_is_array(names) && json_array_size(names) > 0) {
        if (json_array_size(names) != im->nfeat)
            return aiops_error_set(err, AIOPS_EINVAL, "learner.feature_names",
                                   "learner.feature_names lists %zu names for %u features",
                                   json_array_size(names), im->nfeat);
        for (size_t j = 0; j < im->nfeat; j++) {
            const char *s = json_string_value(json_array_get(names, j));
            if (s == NULL || *s == '\0' || strlen(s) > 256)
                return aiops_error_set(err, AIOPS_EINVAL, "learner.feature_names",
                                       "learner.feature_names[%zu] must be a name of 1..256 "
                                       "bytes",
                                       j);
            for (size_t i = 0; i < j; i++)
                if (strcmp(s, json_string_value(json_array_get(names, i))) == 0)
                    return aiops_error_set(err, AIOPS_EINVAL, "learner.feature_names",
                                           "learner.feature_names names %s twice", s);
        }
        im->names = names;
    }
    json_t *types = json_object_get(learner, "feature_types");
    for (size_t j = 0; json_is_array(types) && j < json_array_size(types); j++) {
        const char *s = json_string_value(json_array_get(types, j));
        if (s != NULL && strcmp(s, "c") == 0)
            return aiops_error_set(err, AIOPS_EINVAL, "learner.feature_types",
                                   "learner.feature_types[%zu] is categorical: categorical "
                                   "features are not imported",
                                   j);
    }
    return AIOPS_OK;
}

static int read_trees(struct import *im, struct aiops_error *err)
{
    json_t *booster = member(json_object_get(im->root, "learner"), "gradient_booster",
                             "learner.gradient_booster", err);
    if (booster == NULL)
        return AIOPS_EINVAL;
    const char *bname = json_string_value(json_object_get(booster, "name"));
    if (bname == NULL || strcmp(bname, "gbtree") != 0)
        return aiops_error_set(err, AIOPS_EINVAL, "learner.gradient_booster.name",
                               "booster %s is not imported (gbtree is)",
                               bname ? bname : "(missing)");
    json_t *model = member(booster, "model", "learner.gradient_booster.model", err);
    json_t *trees =
        model ? member(model, "trees", "learner.gradient_booster.model.trees", err) : NULL;
    json_t *info =
        model ? member(model, "tree_info", "learner.gradient_booster.model.tree_info", err) : NULL;
    if (trees == NULL || info == NULL)
        return AIOPS_EINVAL;
    size_t n = json_array_size(trees);
    if (!json_is_array(trees) || !json_is_array(info) || json_array_size(info) != n)
        return aiops_error_set(err, AIOPS_EINVAL, "learner.gradient_booster.model.tree_info",
                               "tree_info must give the output of each of the %zu trees", n);
    if (n > 10000000)
        return aiops_error_set(err, AIOPS_ETOOBIG, "learner.gradient_booster.model.trees",
                               "more than 10,000,000 trees");
    /* trees of output k in the order XGBoost adds them: per output a running count places
     * them round by round */
    size_t *count = calloc(im->groups, sizeof *count);
    size_t *slot = malloc((n ? n : 1) * sizeof *slot);
    if (count == NULL || slot == NULL) {
        free(count);
        free(slot);
        return AIOPS_ENOMEM;
    }
    int rv = AIOPS_OK;
    for (size_t i = 0; i < n && rv == 0; i++) {
        long k;
        char path[AIOPS_ERROR_FIELD];
        snprintf(path, sizeof path, "tree_info[%zu]", i);
        rv = count_field(json_array_get(info, i), path, 0, (long)im->groups - 1, &k, err);
        if (rv == 0)
            slot[i] = count[k]++ * im->groups + (size_t)k;
    }
    for (uint32_t k = 1; rv == 0 && k < im->groups; k++)
        if (count[k] != count[0])
            rv = aiops_error_set(err, AIOPS_EINVAL, "learner.gradient_booster.model.tree_info",
                                 "outputs have different numbers of trees (%zu for 0, %zu for "
                                 "%u)",
                                 count[0], count[k], k);
    if (rv == 0 && n > 0 && (im->trees = calloc(n, sizeof *im->trees)) == NULL)
        rv = AIOPS_ENOMEM;
    for (size_t i = 0; i < n && rv == 0; i++) {
        rv = read_tree(json_array_get(trees, i), i, im->nfeat, &im->trees[slot[i]], err);
        if (rv == 0)
            im->ntrees = (uint32_t)(i + 1);
    }
    /* ntrees counts the trees read, for freeing; all of them were when rv is 0 */
    if (rv != 0 && im->trees != NULL) {
        for (size_t i = 0; i < n; i++)
            tree_free(&im->trees[i]);
        free(im->trees);
        im->trees = NULL;
        im->ntrees = 0;
    } else {
        im->ntrees = (uint32_t)n;
    }
    free(count);
    free(slot);
    return rv;
}

/* The model around the imported trees: numeric features, the target "label". */
static int build_model(struct import *im, struct gbdt *g, struct model **out)
{
    struct model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return AIOPS_ENOMEM;
    m->learner = &learner_gbdt;
    m->algo = g;
    int rv = AIOPS_ENOMEM;
    strdict_init(&m->features.names);
    m->features.f = calloc(im->nfeat, sizeof *m->features.f);
    if (m->features.f == NULL)
        goto fail;
    m->features.n = im->nfeat;
    json_t *feats = json_array();
    if (feats == NULL)
        goto fail;
    for (uint32_t j = 0; j < im->nfeat; j++) {
        struct feature *f = &m->features.f[j];
        char fallback[24];
        snprintf(fallback, sizeof fallback, "f%u", j);
        const char *name = im->names ? json_string_value(json_array_get(im->names, j)) : fallback;
        f->name = strdup(name);
        strdict_init(&f->cats);
        f->kind = FEAT_NUMERIC;
        f->type = COL_NUMERIC;
        /* the training data's statistics are not in the file */
        f->mean = f->std = f->median = f->min = f->max = f->missing_frac = NAN;
        if (f->name == NULL || json_array_append_new(feats, json_pack("{s:s, s:s}", "name", name,
                                                                      "kind", "numeric")) != 0) {
            json_decref(feats);
            goto fail;
        }
    }
    struct target_spec *ts = &m->target;
    ts->name = strdup("label");
    if (ts->name == NULL) {
        json_decref(feats);
        goto fail;
    }
    enum gbdt_objective obj = im->objective->obj;
    ts->task = obj == GBDT_BINARY       ? TASK_BINARY
               : obj == GBDT_MULTICLASS ? TASK_MULTICLASS
                                        : TASK_REGRESSION;
    if (ts->task != TASK_REGRESSION) {
        ts->nclasses = obj == GBDT_BINARY ? 2 : im->groups;
        ts->numeric_labels = 1;
        ts->labels = calloc(ts->nclasses, sizeof *ts->labels);
        if (ts->labels == NULL) {
            json_decref(feats);
            goto fail;
        }
        for (size_t k = 0; k < ts->nclasses; k++) {
            char label[24];
            snprintf(label, sizeof label, "%zu", k);
            if ((ts->labels[k] = strdup(label)) == NULL) {
                json_decref(feats);
                goto fail;
            }
        }
    }
    char created[40];
    time_iso8601(created, sizeof created, time_now());
    json_t *version = json_object_get(im->root, "version");
    m->meta =
        json_pack("{s:s, s:s, s:s, s:{}, s:n, s:o, s:I, s:I, s:i, s:s, s:s, s:{s:s, s:s, "
                  "s:O}}",
                  "kind", learner_gbdt.name, "task", table_task_name(ts->task), "target", ts->name,
                  "params", "metrics", "features", feats, "train_rows", (json_int_t)0, "valid_rows",
                  (json_int_t)0, "iterations", (int)(im->ntrees / im->groups), "created_at",
                  created, "version", AIOPS_VERSION, "imported", "from", "xgboost", "objective",
                  im->objective->name, "xgboost_version", version ? version : json_null());
    if (m->meta == NULL)
        goto fail;
    *out = m;
    return AIOPS_OK;
fail:
    model_free(m);
    return rv;
}

int xgb_import(const char *json, size_t len, struct model **out, struct aiops_error *err)
{
    *out = NULL;
    aiops_error_clear(err);
    if (len > XGB_IMPORT_MAX_BYTES)
        return aiops_error_set(err, AIOPS_ETOOBIG, NULL, "the model is over %zu bytes",
                               XGB_IMPORT_MAX_BYTES);
    struct import im;
    memset(&im, 0, sizeof im);
    json_error_t je;
    im.root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (im.root == NULL) {
        int rv = aiops_error_set(err, AIOPS_EPARSE, NULL, "not JSON: %s", je.text);
        if (err != NULL) {
            err->line = je.line;
            err->column = je.column;
            err->offset = (long)je.position;
        }
        return rv;
    }
    double *base = NULL;
    struct gbdt *g = NULL;
    struct model *m = NULL;
    struct buf bytes = BUF_INIT;
    int rv;
    if ((rv = read_header(&im, err)) != 0 || (rv = read_trees(&im, err)) != 0)
        goto out;
    if (im.ntrees == 0) {
        rv = aiops_error_set(err, AIOPS_EINVAL, "learner.gradient_booster.model.trees",
                             "the model has no trees");
        goto out;
    }
    rv = AIOPS_ENOMEM;
    if ((base = malloc(im.groups * sizeof *base)) == NULL)
        goto out;
    for (uint32_t k = 0; k < im.groups; k++)
        base[k] = im.base_score;
    rv = gbdt_from_trees(im.objective->obj, im.groups, im.nfeat, im.trees, im.ntrees, base, 0, &g);
    if (rv == AIOPS_ECORRUPT) {
        rv = aiops_error_set(err, AIOPS_EINVAL, "learner.gradient_booster.model.trees",
                             "a tree is not a valid decision tree (values, covers, splits)");
        goto out;
    }
    if (rv != 0)
        goto out;
    if ((rv = build_model(&im, g, &m)) != 0) {
        gbdt_free(g);
        goto out;
    }
    /* what is handed out is what a reload of its file gives */
    if ((rv = model_save(m, &bytes)) != 0)
        goto out;
    model_free(m);
    m = NULL;
    rv = model_load(bytes.data, bytes.len, out, err);
out:
    buf_free(&bytes);
    model_free(m);
    free(base);
    import_free(&im);
    return rv;
}

int xgb_import_file(const char *path, struct model **out, struct aiops_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return aiops_error_set(err, AIOPS_EIO, NULL, "%s: %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[65536];
    size_t got;
    int rv = AIOPS_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > XGB_IMPORT_MAX_BYTES) {
            rv = aiops_error_set(err, AIOPS_ETOOBIG, NULL, "%s is over %zu bytes", path,
                                 XGB_IMPORT_MAX_BYTES);
            break;
        }
        if (buf_append(&b, chunk, got) != 0) {
            rv = AIOPS_ENOMEM;
            break;
        }
    }
    if (rv == 0 && ferror(f))
        rv = aiops_error_set(err, AIOPS_EIO, NULL, "%s: read error", path);
    fclose(f);
    if (rv == 0)
        rv = xgb_import((const char *)b.data, b.len, out, err);
    buf_free(&b);
    return rv;
}
