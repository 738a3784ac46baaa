/* learner.c -- the registry of learners, the parameters they share, and what is derived
 * from their tables (defaults, names for messages, the OpenAPI schemas). */
#include "ml/learner.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/err.h"
#include "core/jsonx.h"

/* The registry, in the order help lists the learners. A new learner: its learn_*.c, and its
 * name on both lines here. */
extern const struct learner learner_gbdt, learner_forest, learner_linear, learner_mlp,
    learner_tabseq, learner_kmeans, learner_ensemble, learner_prep;
static const struct learner *const registry[] = {&learner_gbdt, &learner_forest, &learner_linear,
                                                 &learner_mlp,  &learner_tabseq, &learner_kmeans};

/* --- parameters every learner shares ---------------------------------------------------- */

enum applies_to {
    FOR_ALL,         /* every learner */
    FOR_SUPERVISED,  /* learners that need a target */
    FOR_CLASSIFIERS, /* learners of a binary or multiclass task */
};

struct common_param {
    struct param_def def;
    enum applies_to applies;
};

/* clang-format off */
static const struct common_param common[] = {
    {{.name = "valid_fraction", .type = PARAM_NUMBER, .min = 0, .max = 0.9, .def = 0,
      .help = "rows held out for validation and early stopping when no validation data is "
              "given (stratified for classification); POST /api/train holds out 0.2 unless "
              "told"},
     FOR_SUPERVISED},
    {{.name = "task", .type = PARAM_STRING,
      .choices = PARAM_LIST("binary", "multiclass", "classification", "regression"),
      .help = "what to learn when the target's values do not say it (default: from the "
              "target; classification: binary or multiclass by its classes)"},
     FOR_SUPERVISED},
    {{.name = "features", .type = PARAM_COLUMNS,
      .help = "the columns to learn from (default: every usable column but the target)"},
     FOR_ALL},
    {{.name = "exclude", .type = PARAM_COLUMNS, .help = "columns to leave out"}, FOR_ALL},
    {{.name = "class_weight", .type = PARAM_STRING,
      .help = "\"balanced\" or label:weight,... (unlisted classes weigh 1; default: all 1)"},
     FOR_CLASSIFIERS},
    {{.name = "seed", .type = PARAM_INT, .min = 0, .max = 4294967295.0, .def = 0,
      .help = "seed of every random draw (held-out rows, samples): same seed, same model"},
     FOR_ALL},
    {{.name = "threads", .type = PARAM_INT, .min = 0, .max = 256, .def = 0,
      .help = "threads to train on (0: every CPU); the model does not depend on it"},
     FOR_ALL},
};
/* clang-format on */

/* Names seed 000 sent for its neural networks. */
static const char *const ignored_names[] = {"batch_size", "lstm_hidden", "mlp_hidden", "dropout",
                                            NULL};

static int common_applies(const struct learner *l, const struct common_param *c)
{
    switch (c->applies) {
    case FOR_SUPERVISED:
        return l->needs_target;
    case FOR_CLASSIFIERS:
        return (l->tasks & (LEARN_BINARY | LEARN_MULTICLASS)) != 0;
    default:
        return 1;
    }
}

/* --- the registry ------------------------------------------------------------------------ */

static int in_list(const char *const *list, const char *name)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

const struct learner *learner_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < ARRAY_LEN(registry); i++)
        if (strcmp(registry[i]->name, name) == 0 || in_list(registry[i]->aliases, name))
            return registry[i];
    /* built, not trained (lib/ml/ensemble.h, lib/ml/prep.h): found for model files, never listed */
    if (name != NULL && strcmp(name, learner_ensemble.name) == 0)
        return &learner_ensemble;
    if (name != NULL && strcmp(name, learner_prep.name) == 0)
        return &learner_prep;
    return NULL;
}

int learner_built_by_automl(const struct learner_input *in, void **algo, int *iterations,
                            struct aiops_error *err)
{
    (void)in;
    *algo = NULL;
    *iterations = 0;
    return aiops_error_set(err, AIOPS_EINVAL, "model",
                           "this kind of model is built by AutoML (aiops automl, POST "
                           "/api/v1/automl), not trained directly");
}

size_t learner_count(void)
{
    return ARRAY_LEN(registry);
}

const struct learner *learner_at(size_t i)
{
    return i < ARRAY_LEN(registry) ? registry[i] : NULL;
}

/* words[0 .. count) as "a, b or c" into out[n]. */
static void or_list(const char *const *words, size_t count, char *out, size_t n)
{
    size_t len = 0;
    if (n > 0)
        out[0] = '\0';
    for (size_t i = 0; i < count && len < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
        int w = snprintf(out + len, n - len, "%s%s", sep, words[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
}

void learner_names(char *out, size_t n)
{
    const char *names[ARRAY_LEN(registry)];
    for (size_t i = 0; i < ARRAY_LEN(registry); i++)
        names[i] = registry[i]->name;
    or_list(names, ARRAY_LEN(registry), out, n);
}

unsigned learner_task_bit(enum table_task task)
{
    switch (task) {
    case TASK_BINARY:
        return LEARN_BINARY;
    case TASK_MULTICLASS:
        return LEARN_MULTICLASS;
    case TASK_REGRESSION:
        return LEARN_REGRESSION;
    default:
        return 0;
    }
}

void learner_tasks_text(const struct learner *l, char *out, size_t n)
{
    static const struct {
        unsigned bit;
        const char *name;
    } tasks[] = {{LEARN_BINARY, "binary"},
                 {LEARN_MULTICLASS, "multiclass"},
                 {LEARN_REGRESSION, "regression"},
                 {LEARN_CLUSTERING, "clustering"}};
    const char *names[ARRAY_LEN(tasks)];
    size_t k = 0;
    for (size_t i = 0; i < ARRAY_LEN(tasks); i++)
        if (l->tasks & tasks[i].bit)
            names[k++] = tasks[i].name;
    or_list(names, k, out, n);
}

/* --- a learner's parameters -------------------------------------------------------------- */

size_t learner_param_count(const struct learner *l)
{
    size_t n = l->nparams;
    for (size_t i = 0; i < ARRAY_LEN(common); i++)
        n += (size_t)common_applies(l, &common[i]);
    return n;
}

const struct param_def *learner_param_at(const struct learner *l, size_t i)
{
    if (i < l->nparams)
        return &l->params[i];
    i -= l->nparams;
    for (size_t k = 0; k < ARRAY_LEN(common); k++) {
        if (!common_applies(l, &common[k]))
            continue;
        if (i-- == 0)
            return &common[k].def;
    }
    return NULL;
}

const struct param_def *learner_param_find(const struct learner *l, const char *name)
{
    size_t n = learner_param_count(l);
    for (size_t i = 0; i < n; i++) {
        const struct param_def *d = learner_param_at(l, i);
        if (strcmp(d->name, name) == 0 || in_list(d->aliases, name))
            return d;
    }
    return NULL;
}

int learner_param_ignored(const char *name)
{
    return in_list(ignored_names, name);
}

void param_choices_text(const struct param_def *d, char *out, size_t n)
{
    size_t count = 0;
    while (d->choices != NULL && d->choices[count] != NULL)
        count++;
    or_list(d->choices, count, out, n);
}

static json_t *default_json(const struct param_def *d)
{
    switch (d->type) {
    case PARAM_INT:
        return json_integer((json_int_t)d->def);
    case PARAM_NUMBER:
        return json_real(d->def);
    case PARAM_BOOL:
        return json_boolean(d->def != 0);
    case PARAM_INTS: {
        json_t *a = json_array();
        for (const char *s = d->def_list; a != NULL && s != NULL && *s != '\0';) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == s || json_array_append_new(a, json_integer(v)) != 0)
                break;
            s = *end == ',' ? end + 1 : end;
        }
        return a;
    }
    default:
        return NULL; /* text parameters have no default value */
    }
}

int learner_params_full(const struct learner *l, const json_t *normalised, json_t **out)
{
    json_t *full = normalised ? json_copy((json_t *)normalised) : json_object();
    size_t n = learner_param_count(l);
    int rv = full ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < n; i++) {
        const struct param_def *d = learner_param_at(l, i);
        json_t *def = json_object_get(full, d->name) ? NULL : default_json(d);
        if (def != NULL)
            rv = jsonx_set(full, d->name, def);
    }
    if (rv != 0) {
        json_decref(full);
        full = NULL;
    }
    *out = full;
    return rv;
}

double learner_param(const json_t *params, const char *name)
{
    const json_t *v = json_object_get(params, name);
    assert(json_is_number(v) || json_is_boolean(v));
    return json_is_boolean(v) ? (double)json_is_true(v) : json_number_value(v);
}

long learner_iterations(const struct learner *l, const json_t *normalised)
{
    const json_t *v = json_object_get(normalised, l->iterations_param);
    if (json_is_number(v))
        return (long)json_number_value(v);
    const struct param_def *d = learner_param_find(l, l->iterations_param);
    assert(d != NULL);
    return (long)d->def;
}

/* --- OpenAPI ------------------------------------------------------------------------------ */

static json_t *string_array(const char *const *list, int *failed)
{
    json_t *a = json_array();
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        jsonx_push_or_fail(a, json_string(list[i]), failed);
    return a; /* NULL (out of memory) fails where it is set */
}

static json_t *param_schema(const struct param_def *d, int *failed)
{
    /* by enum param_type */
    static const char *const types[] = {"integer", "number", "boolean", "string", "array", "array"};
    json_t *s = json_object();
    /* an integer that may also be "auto" (k of kmeans) */
    jsonx_set_or_fail(s, "type",
                      d->auto_zero ? json_pack("[s, s]", types[d->type], "string")
                                   : json_string(types[d->type]),
                      failed);
    if (d->type == PARAM_INT || d->type == PARAM_NUMBER) {
        jsonx_set_or_fail(s, "minimum", jsonx_num(d->min, d->type == PARAM_INT), failed);
        jsonx_set_or_fail(s, "maximum", jsonx_num(d->max, d->type == PARAM_INT), failed);
    }
    json_t *def = default_json(d);
    if (def != NULL)
        jsonx_set_or_fail(s, "default", def, failed);
    if (d->choices != NULL)
        jsonx_set_or_fail(s, "enum", string_array(d->choices, failed), failed);
    if (d->type == PARAM_COLUMNS)
        jsonx_set_or_fail(s, "items", json_pack("{s:s}", "type", "string"), failed);
    if (d->type == PARAM_INTS)
        jsonx_set_or_fail(s, "items",
                          json_pack("{s:s, s:o, s:o}", "type", "integer", "minimum",
                                    jsonx_num(d->min, 1), "maximum", jsonx_num(d->max, 1)),
                          failed);
    jsonx_set_or_fail(s, "description", json_string(d->help), failed);
    if (d->aliases != NULL)
        jsonx_set_or_fail(s, "x-aliases", string_array(d->aliases, failed), failed);
    return s;
}

static json_t *config_schema(const struct learner *l, int *failed)
{
    json_t *props = json_object(), *s = json_object();
    size_t n = learner_param_count(l);
    for (size_t i = 0; i < n; i++) {
        const struct param_def *d = learner_param_at(l, i);
        jsonx_set_or_fail(props, d->name, param_schema(d, failed), failed);
    }
    char tasks[128], text[1024];
    learner_tasks_text(l, tasks, sizeof tasks);
    snprintf(text, sizeof text,
             "%s. Learns %s. A parameter's x-aliases name it too; the names in x-ignored "
             "(seed 000's neural-network settings) are accepted and ignored; any other name is "
             "refused (422 naming it).",
             l->summary, tasks);
    jsonx_set_or_fail(s, "type", json_string("object"), failed);
    jsonx_set_or_fail(s, "title", json_string(l->name), failed);
    jsonx_set_or_fail(s, "description", json_string(text), failed);
    jsonx_set_or_fail(s, "properties", props, failed);
    jsonx_set_or_fail(s, "x-ignored", string_array(ignored_names, failed), failed);
    return s;
}

static json_t *field(const char *type, const char *description)
{
    return json_pack("{s:s, s:s}", "type", type, "description", description);
}

/* The body of svc-train's train.start (svc-train/runs.c handle_train_start). */
static json_t *train_request_schema(int *failed)
{
    json_t *models = json_array(), *configs = json_array(), *props = json_object();
    for (size_t i = 0; i < ARRAY_LEN(registry); i++) {
        const struct learner *l = registry[i];
        char ref[128];
        snprintf(ref, sizeof ref, "#/components/schemas/%s_config", l->name);
        jsonx_push_or_fail(models, json_string(l->name), failed);
        for (size_t k = 0; l->aliases != NULL && l->aliases[k] != NULL; k++)
            jsonx_push_or_fail(models, json_string(l->aliases[k]), failed);
        jsonx_push_or_fail(configs, json_pack("{s:s}", "$ref", ref), failed);
    }
    json_t *file_id = field("string", "an uploaded dataset's id");
    jsonx_set_or_fail(file_id, "format", json_string("uuid"), failed);
    jsonx_set_or_fail(props, "file_id", file_id, failed);
    json_t *target = field("string", "the target column (default: the dataset's)");
    jsonx_set_or_fail(props, "target", target, failed);
    json_t *model = field("string", "the learner, by name or alias (default gbdt)");
    jsonx_set_or_fail(model, "enum", models, failed);
    jsonx_set_or_fail(props, "model", model, failed);
    for (size_t i = 0; i < ARRAY_LEN(common); i++)
        if (strcmp(common[i].def.name, "task") == 0)
            jsonx_set_or_fail(props, "task", param_schema(&common[i].def, failed), failed);
    jsonx_set_or_fail(props, "config",
                      json_pack("{s:o, s:s}", "anyOf", configs, "description",
                                "the learner's parameters: the schema named for it"),
                      failed);
    jsonx_set_or_fail(props, "model_name",
                      field("string", "the registered model's name, 1 to 128 of A-Z a-z 0-9 . _ "
                                      "- (default: from the dataset's file name)"),
                      failed);
    jsonx_set_or_fail(props, "tags", field("object", "the run's tags: name -> text"), failed);
    json_t *s = json_pack("{s:s, s:[s], s:o}", "type", "object", "required", "file_id",
                          "properties", props);
    if (s == NULL)
        *failed = 1;
    return s;
}

json_t *learner_openapi_schemas(void)
{
    int failed = 0;
    json_t *schemas = json_object();
    for (size_t i = 0; i < ARRAY_LEN(registry); i++) {
        char key[128];
        snprintf(key, sizeof key, "%s_config", registry[i]->name);
        jsonx_set_or_fail(schemas, key, config_schema(registry[i], &failed), &failed);
    }
    jsonx_set_or_fail(schemas, "train_request", train_request_schema(&failed), &failed);
    if (failed || schemas == NULL) {
        json_decref(schemas);
        return NULL;
    }
    return schemas;
}

json_t *learner_openapi_train_body(void)
{
    return json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content", "application/json",
                     "schema", "$ref", "#/components/schemas/train_request");
}
