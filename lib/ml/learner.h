/* learner.h -- a learner is one table of operations, as SQLite's sqlite3_module or nng's
 * protocol ops: its name and aliases, the tasks it learns, its parameters, and how it
 * trains, predicts, saves and loads the algorithm object it makes (lib/algo/).
 *
 * Adding a learner is one file in lib/ml/ (learn_<name>.c: its parameter table and its
 * operations, small functions adapting its lib/algo/ API to the void * algorithm object,
 * ending with `const struct learner learner_<name>`) and its name in the registry at the
 * top of learner.c. Everything else -- the model file's "kind", parameter validation and
 * its 422 messages (lib/ml/train.h), `aiops train --help`, /openapi.json, svc-train's
 * total_epochs -- reads the table. train_model trains learners that need a target and,
 * for a clustering learner (needs_target 0), every row, with the target optional: it is
 * then left out of the features and scored against (adjusted Rand index, NMI).
 *
 * Parameters have one definition each (struct param_def): a learner's own ones in its
 * table, the ones every learner shares (features, exclude, seed, threads; for learners
 * with a target valid_fraction and task; for classifiers class_weight) once, in
 * learner.c. Learners are static and immutable: share them across threads freely. */
#ifndef AIOPS_LEARNER_H
#define AIOPS_LEARNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "algo/progress.h"
#include "core/buf.h"
#include "core/pool.h"
#include "data/fmatrix.h"
#include "data/table.h"

/* --- parameters -------------------------------------------------------------------------- */

enum param_type {
    PARAM_INT,     /* a whole number in [min, max] */
    PARAM_NUMBER,  /* a number in [min, max] */
    PARAM_BOOL,    /* true / false (also "yes"/"no", 0/1, ...) */
    PARAM_STRING,  /* text, one of choices when the definition has them */
    PARAM_COLUMNS, /* column names: a JSON list, or "a,b,c" */
    PARAM_INTS,    /* whole numbers each in [min, max]: a JSON list, or "256,128" (layer
                      widths); normalised to a JSON list of integers */
};

struct param_def {
    const char *name; /* the canonical name: what normalised parameters hold */
    enum param_type type;
    double min, max;            /* PARAM_INT / PARAM_NUMBER: the range accepted, inclusive */
    double def;                 /* PARAM_INT / PARAM_NUMBER / PARAM_BOOL (0 or 1): the
                                   default; text parameters have none (help says why) */
    const char *const *aliases; /* other names accepted for it, NULL-terminated; may be NULL */
    const char *const *choices; /* PARAM_STRING: the values accepted, NULL-terminated; NULL:
                                   any text (checked by whoever reads it) */
    const char *help;           /* one line */
    int auto_zero;              /* PARAM_INT: the text "auto" is accepted and read as 0 */
    const char *def_list;       /* PARAM_INTS: the default ("256,128"); "" for none */
    /* AutoML's search space (lib/ml/automl.h): a parameter with `search` set is tuned, the
     * others stay at their default. PARAM_INT / PARAM_NUMBER are drawn from [search_min,
     * search_max] (a narrower range than [min, max]: what is worth trying, not what is
     * accepted), uniformly or, with PARAM_SEARCH_LOG, on a log scale; PARAM_BOOL from both
     * values; PARAM_STRING from its choices. */
    unsigned search; /* 0, or enum param_search bits */
    double search_min, search_max;
};

enum param_search {
    PARAM_SEARCH = 1u << 0,     /* tuned by AutoML */
    PARAM_SEARCH_LOG = 1u << 1, /* ... on a log scale (search_min > 0) */
};

/* A NULL-terminated list for param_def.aliases / .choices and learner.aliases. */
#define PARAM_LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --- learners ---------------------------------------------------------------------------- */

/* The tasks a learner learns: bits of struct learner.tasks. */
enum learner_task {
    LEARN_BINARY = 1u << 0,
    LEARN_MULTICLASS = 1u << 1,
    LEARN_REGRESSION = 1u << 2,
    LEARN_CLUSTERING = 1u << 3, /* no target: rows are grouped */
};

/* What a learner trains on. Every pointer is borrowed for the call. */
struct learner_input {
    const struct fmatrix *x;    /* the training rows */
    const double *y;            /* x->nrows targets (class index 0 .. nclasses-1, or the value;
                                   never NaN); NULL for a learner that needs no target */
    const double *w;            /* x->nrows row weights (finite, >= 0), or NULL: all 1 */
    const struct fmatrix *vx;   /* validation rows (x's columns), or NULL */
    const double *vy;           /* vx->nrows targets; NULL exactly when vx is */
    enum table_task task;       /* TASK_BINARY, TASK_MULTICLASS, TASK_REGRESSION; TASK_NONE
                                   without a target */
    size_t nclasses;            /* classification: >= 2 */
    const json_t *params;       /* normalised parameters (lib/ml/train.h train_check) with
                                   every numeric and boolean one present: learner_params_full() */
    train_progress_fn progress; /* may be NULL; non-zero return cancels (lib/algo/progress.h) */
    void *progress_arg;
    /* Learners that checkpoint (the neural networks) hand their state after every epoch to
     * checkpoint (may be NULL; its failure does not stop training), and continue from
     * resume[0 .. resume_len) when it is not NULL (AIOPS_ECORRUPT when it does not fit). */
    int (*checkpoint)(void *arg, int epoch, const uint8_t *state, size_t n);
    void *checkpoint_arg;
    const uint8_t *resume;
    size_t resume_len;
};

struct learner {
    const char *name;               /* recorded as the model file's and the run's "kind" */
    const char *const *aliases;     /* other names learner_find() answers to; may be NULL */
    const char *summary;            /* one line, for --help and /openapi.json */
    unsigned tasks;                 /* enum learner_task bits */
    int needs_target;               /* 1: supervised, rows need a target; 0: none is read */
    const struct param_def *params; /* its own parameters (the common ones are added) */
    size_t nparams;
    const char *iterations_param; /* the parameter counting iterations ("rounds"): svc-train
                                     plans total_epochs with it (learner_iterations) */
    size_t parallel_rows;         /* predict on a thread pool from this many rows on; 0: never */
    int scale_sensitive;          /* 1: the scale and outliers of numbers matter to it (linear
                                     and neural learners): AutoML searches its scaling */

    /* Trains on in. Returns 0 with *algo (the caller owns it: free) and *iterations (what
     * the run reports: rounds kept, trees, or max_iter); AIOPS_EINVAL with a message in err
     * for parameters or data the algorithm refuses; AIOPS_ECANCELED when progress asked to
     * stop; AIOPS_ENOMEM, AIOPS_ETOOBIG. On failure *algo is NULL. */
    int (*train)(const struct learner_input *in, void **algo, int *iterations,
                 struct aiops_error *err);
    /* Predictions for the rows of x (num_features columns) into out[x->nrows * outputs]:
     * class probabilities row-major, or values. pool (may be NULL) shares the rows out;
     * learners with parallel_rows 0 ignore it. AIOPS_EINVAL when x does not fit. */
    int (*predict)(const void *algo, const struct fmatrix *x, struct pool *pool, double *out);
    /* Appends the algorithm's bytes (the model file's ALGO section). AIOPS_ENOMEM. */
    int (*save)(const void *algo, struct buf *out);
    /* Reads what save wrote; AIOPS_ECORRUPT for anything inconsistent (never crashes on any
     * bytes), AIOPS_ENOMEM. The caller owns *algo (free). */
    int (*load)(const uint8_t *p, size_t n, void **algo);
    void (*free)(void *algo); /* algo NULL is a no-op */
    size_t (*num_features)(const void *algo);
    size_t (*outputs)(const void *algo); /* values predict writes per row */
    /* Per feature importance into out[num_features] (any scale: callers normalise); NULL
     * for a learner that has none. */
    int (*importance)(const void *algo, double *out);

    /* Clustering learners (LEARN_CLUSTERING); NULL for the others. predict writes the
     * cluster index (0 .. clusters-1) as the one output of a row. */
    /* Rows rows[0..n) of x (n rows from the top when rows is NULL) in the space the learner
     * measures distances in: *out (the caller frees) n * *dim doubles, row-major. For
     * silhouette and inertia. AIOPS_EINVAL when x does not fit, AIOPS_ENOMEM. */
    int (*embed)(const void *algo, const struct fmatrix *x, const size_t *rows, size_t n,
                 double **out, size_t *dim);
    size_t (*clusters)(const void *algo); /* the number of clusters */
};

/* Writing a learner (learn_<name>.c): its operations are called <prefix>_op_<operation>
 * (<prefix>_op_predict, _op_save, _op_load, _op_free, _op_num_features, _op_outputs), and
 * LEARNER_OPS(prefix) puts them into its struct learner. */
#define LEARNER_OPS(prefix)                                                                        \
    .predict = prefix##_op_predict, .save = prefix##_op_save, .load = prefix##_op_load,            \
    .free = prefix##_op_free, .num_features = prefix##_op_num_features,                            \
    .outputs = prefix##_op_outputs

/* The five operations that only adapt a lib/algo/ model `struct type`, whose functions
 * type_save, type_load, type_free, type_num_features and type_outputs take and give it in
 * place of the void * algorithm object: defines type_op_save .. type_op_outputs, with the
 * given linkage (static, or nothing for ones a header declares). */
#define LEARNER_ALGO_ADAPTERS(linkage, type)                                                       \
    linkage int type##_op_save(const void *algo, struct buf *out)                                  \
    {                                                                                              \
        return type##_save(algo, out);                                                             \
    }                                                                                              \
    linkage int type##_op_load(const uint8_t *p, size_t n, void **algo)                            \
    {                                                                                              \
        struct type *m = NULL;                                                                     \
        int rv = type##_load(p, n, &m);                                                            \
        *algo = m;                                                                                 \
        return rv;                                                                                 \
    }                                                                                              \
    linkage void type##_op_free(void *algo)                                                        \
    {                                                                                              \
        type##_free(algo);                                                                         \
    }                                                                                              \
    linkage size_t type##_op_num_features(const void *algo)                                        \
    {                                                                                              \
        return type##_num_features(algo);                                                          \
    }                                                                                              \
    linkage size_t type##_op_outputs(const void *algo)                                             \
    {                                                                                              \
        return type##_outputs(algo);                                                               \
    }

/* The train operation of the learners AutoML builds rather than trains (the ensemble, the
 * model behind feature transforms): AIOPS_EINVAL with a message saying so, *algo NULL. */
int learner_built_by_automl(const struct learner_input *in, void **algo, int *iterations,
                            struct aiops_error *err);

/* The fields of struct learner that the learners AutoML builds have alike: every supervised
 * task, no parameters of their own, a pool for batches (not single rows), no training. */
#define LEARNER_BUILT_BY_AUTOML                                                                    \
    .aliases = NULL, .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION,                  \
    .needs_target = 1, .params = NULL, .nparams = 0, .iterations_param = NULL,                     \
    .parallel_rows = 1024, .train = learner_built_by_automl

/* The learner called name, or answering to it as an alias ("xgboost" is gbdt); NULL when
 * none does (or name is NULL). */
const struct learner *learner_find(const char *name);
/* The registered learners, i in 0 .. learner_count() - 1, in the order help lists them. */
size_t learner_count(void);
const struct learner *learner_at(size_t i);
/* "gbdt, rf or linear": every learner's name, for messages (truncated to fit n bytes). */
void learner_names(char *out, size_t n);
/* The task bit of a target's task (0 for TASK_NONE). */
unsigned learner_task_bit(enum table_task task);
/* "binary, multiclass or regression": the tasks l learns (truncated to fit n bytes). */
void learner_tasks_text(const struct learner *l, char *out, size_t n);

/* Parameters of learner l: its own, then the common ones that apply to it; i in
 * 0 .. learner_param_count(l) - 1. */
size_t learner_param_count(const struct learner *l);
const struct param_def *learner_param_at(const struct learner *l, size_t i);
/* l's parameter called name or answering to it as an alias; NULL when l has none. */
const struct param_def *learner_param_find(const struct learner *l, const char *name);
/* 1 for the names seed 000's neural networks took (batch_size, lstm_hidden, mlp_hidden,
 * dropout): accepted and reported as ignored by every learner that has no parameter of
 * that name (the neural learners have them). */
int learner_param_ignored(const char *name);
/* "a, b or c" for d's choices (empty without choices), truncated to fit n bytes. */
void param_choices_text(const struct param_def *d, char *out, size_t n);

/* *out (the caller owns it) = the normalised parameters with every numeric and boolean
 * parameter of l that they lack added at its default: what l->train reads. AIOPS_ENOMEM. */
int learner_params_full(const struct learner *l, const json_t *normalised, json_t **out);
/* A numeric or boolean parameter of params made by learner_params_full (booleans as 0/1).
 * Asking for one that is not there is a programming error (asserted). */
double learner_param(const json_t *params, const char *name);
/* The iterations a run with normalised params plans: iterations_param's value or default. */
long learner_iterations(const struct learner *l, const json_t *normalised);

/* --- the API description -------------------------------------------------------------- */

/* OpenAPI 3 schemas (components.schemas) from the tables: "<name>_config" per learner (its
 * parameters: type, range, default, aliases as x-aliases, help; the names accepted and
 * ignored as x-ignored) and "train_request", the body of POST /api/train, whose "config" is
 * one of them. The caller owns the object; NULL when out of memory. */
json_t *learner_openapi_schemas(void);
/* The requestBody of POST /api/train: a reference to "train_request". Caller owns. */
json_t *learner_openapi_train_body(void);

#endif
