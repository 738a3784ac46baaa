/* learn_gbdt.c -- gradient-boosted trees (lib/algo/gbdt.h) as a learner: its parameters
 * under the names XGBoost and LightGBM users know, and its operations. */
#include <string.h>

#include "algo/gbdt.h"
#include "algo/tree.h"
#include "core/array.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def gbdt_params[] = {
    {.name = "rounds", .type = PARAM_INT, .min = 1, .max = 100000, .def = 100,
     .aliases = PARAM_LIST("epochs", "n_estimators", "trees", "num_boost_round"),
     .help = "boosting rounds (a tree per round, one per class for multiclass)",
     .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 50, .search_max = 1000},
    {.name = "learning_rate", .type = PARAM_NUMBER, .min = 1e-6, .max = 10, .def = 0.1,
     .aliases = PARAM_LIST("eta"), .help = "shrinkage of every tree's values",
     .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 0.01, .search_max = 0.3},
    {.name = "max_depth", .type = PARAM_INT, .min = -1, .max = 64, .def = 6,
     .help = "deepest level of a tree (-1: no limit)",
     .search = PARAM_SEARCH, .search_min = 2, .search_max = 10},
    {.name = "num_leaves", .type = PARAM_INT, .min = 0, .max = 1 << 20, .def = 0,
     .help = "most leaves of a tree, grown best-first as LightGBM does (0: depth-wise growth "
             "to max_depth)"},
    {.name = "max_bin", .type = PARAM_INT, .min = 2, .max = 65535, .def = 255,
     .help = "value bins per feature"},
    {.name = "lambda", .type = PARAM_NUMBER, .min = 0, .max = 1e12, .def = 1.0,
     .aliases = PARAM_LIST("reg_lambda", "l2"), .help = "L2 regularisation of leaf values",
     .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 1e-3, .search_max = 10},
    {.name = "min_child_weight", .type = PARAM_NUMBER, .min = 0, .max = 1e12, .def = 1.0,
     .help = "least hessian sum in a child",
     .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 1e-2, .search_max = 20},
    {.name = "subsample", .type = PARAM_NUMBER, .min = 1e-6, .max = 1, .def = 1.0,
     .help = "fraction of the rows drawn for each tree",
     .search = PARAM_SEARCH, .search_min = 0.5, .search_max = 1},
    {.name = "colsample", .type = PARAM_NUMBER, .min = 1e-6, .max = 1, .def = 1.0,
     .aliases = PARAM_LIST("colsample_bytree"),
     .help = "fraction of the features drawn for each tree",
     .search = PARAM_SEARCH, .search_min = 0.3, .search_max = 1},
    {.name = "early_stopping", .type = PARAM_INT, .min = 0, .max = 100000, .def = 0,
     .aliases = PARAM_LIST("early_stopping_rounds"),
     .help = "stop after this many rounds without a lower validation loss and keep the best "
             "round (0: off)"},
};
/* clang-format on */

static int gbdt_learn(const struct learner_input *in, void **algo, int *iterations,
                      struct aiops_error *err)
{
    const json_t *p = in->params;
    struct gbdt_params gp;
    memset(&gp, 0, sizeof gp);
    int K = in->task == TASK_REGRESSION ? 1 : (int)in->nclasses;
    gp.objective = in->task == TASK_REGRESSION ? GBDT_REGRESSION
                   : K == 2                    ? GBDT_BINARY
                                               : GBDT_MULTICLASS;
    gp.num_class = K;
    gp.rounds = (int)learner_param(p, "rounds");
    gp.learning_rate = learner_param(p, "learning_rate");
    gp.max_depth = (int)learner_param(p, "max_depth");
    gp.num_leaves = (int)learner_param(p, "num_leaves");
    gp.max_bin = (int)learner_param(p, "max_bin");
    gp.lambda = learner_param(p, "lambda");
    gp.min_child_weight = learner_param(p, "min_child_weight");
    gp.subsample = learner_param(p, "subsample");
    gp.colsample = learner_param(p, "colsample");
    gp.early_stopping = (int)learner_param(p, "early_stopping");
    gp.seed = (unsigned)learner_param(p, "seed");
    gp.threads = (int)learner_param(p, "threads");
    struct gbdt *g = NULL;
    int rv = gbdt_train(in->x, in->y, in->w, in->vx, in->vy, &gp, in->progress, in->progress_arg,
                        &g, err);
    if (rv == 0) {
        *algo = g;
        *iterations = (int)gbdt_iterations(g);
    }
    return rv;
}

static int gbdt_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                           double *out)
{
    return gbdt_predict_pool(algo, x, pool, out);
}

LEARNER_ALGO_ADAPTERS(static, gbdt)

/* by gain: the loss reduction each feature's splits bring */
static int gbdt_op_importance(const void *algo, double *out)
{
    return gbdt_importance(algo, 1, out);
}

const struct learner learner_gbdt = {
    .name = "gbdt",
    .aliases = PARAM_LIST("xgboost"),
    .summary = "gradient-boosted decision trees, histogram method (XGBoost / LightGBM style)",
    .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION,
    .needs_target = 1,
    .params = gbdt_params,
    .nparams = ARRAY_LEN(gbdt_params),
    .iterations_param = "rounds",
    .parallel_rows = 4 * TREE_BLOCK,
    .train = gbdt_learn,
    LEARNER_OPS(gbdt),
    .importance = gbdt_op_importance,
};
