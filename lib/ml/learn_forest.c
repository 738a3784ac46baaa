/* learn_forest.c -- random forests (lib/algo/forest.h) as a learner: its parameters under
 * scikit-learn's names, and its operations. */
#include <string.h>

#include "algo/forest.h"
#include "algo/tree.h"
#include "core/array.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def forest_params[] = {
    {.name = "rounds", .type = PARAM_INT, .min = 1, .max = 100000, .def = 100,
     .aliases = PARAM_LIST("epochs", "n_estimators", "trees", "num_boost_round"),
     .help = "trees", .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 20,
     .search_max = 100},
    {.name = "max_depth", .type = PARAM_INT, .min = -1, .max = 64, .def = -1,
     .help = "deepest level of a tree (-1 or 0: grown until its leaves are pure)",
     .search = PARAM_SEARCH, .search_min = 4, .search_max = 12},
    {.name = "min_samples_leaf", .type = PARAM_INT, .min = 1, .max = 1 << 30, .def = 1,
     .help = "fewest rows in a leaf", .search = PARAM_SEARCH | PARAM_SEARCH_LOG,
     .search_min = 1, .search_max = 32},
    {.name = "max_features", .type = PARAM_NUMBER, .min = 0, .max = 1e9, .def = 0,
     .help = "features tried per split: 0: sqrt(n) for classification, all for regression; "
             "(0, 1]: that fraction; > 1: that many",
     .search = PARAM_SEARCH, .search_min = 0.1, .search_max = 1},
    {.name = "bootstrap", .type = PARAM_BOOL, .def = 1,
     .help = "grow each tree on a bootstrap sample of the rows"},
};
/* clang-format on */

static int forest_learn(const struct learner_input *in, void **algo, int *iterations,
                        struct aiops_error *err)
{
    const json_t *p = in->params;
    struct forest_params fp;
    memset(&fp, 0, sizeof fp);
    fp.trees = (int)learner_param(p, "rounds");
    fp.max_depth = (int)learner_param(p, "max_depth");
    fp.min_samples_leaf = (int)learner_param(p, "min_samples_leaf");
    fp.max_features = learner_param(p, "max_features");
    fp.bootstrap = learner_param(p, "bootstrap") != 0 ? 1 : -1; /* forest.h: 0 is the default */
    fp.seed = (unsigned)learner_param(p, "seed");
    fp.threads = (int)learner_param(p, "threads");
    fp.classification = in->task != TASK_REGRESSION;
    fp.num_class = in->task == TASK_REGRESSION ? 1 : (int)in->nclasses;
    struct forest *f = NULL;
    int rv = forest_train(in->x, in->y, in->w, &fp, in->progress, in->progress_arg, &f, err);
    *algo = f;
    *iterations = fp.trees;
    return rv;
}

static int forest_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                             double *out)
{
    return forest_predict_pool(algo, x, pool, out);
}

LEARNER_ALGO_ADAPTERS(static, forest)

static int forest_op_importance(const void *algo, double *out)
{
    return forest_importance(algo, out);
}

const struct learner learner_forest = {
    .name = "rf",
    .aliases = PARAM_LIST("forest", "random_forest"),
    .summary = "random forest of decision trees (scikit-learn's RandomForest)",
    .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION,
    .needs_target = 1,
    .params = forest_params,
    .nparams = ARRAY_LEN(forest_params),
    .iterations_param = "rounds",
    .parallel_rows = 4 * TREE_BLOCK,
    .train = forest_learn,
    LEARNER_OPS(forest),
    .importance = forest_op_importance,
};
