/* learn_linear.c -- L2-regularised linear models (lib/algo/linear.h) as a learner: its
 * parameters under scikit-learn's names, and its operations. */
#include <string.h>

#include "algo/linear.h"
#include "core/array.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def linear_params[] = {
    {.name = "lambda", .type = PARAM_NUMBER, .min = 0, .max = 1e12, .def = 1.0,
     .aliases = PARAM_LIST("reg_lambda", "l2"),
     .help = "L2 penalty: scikit-learn's 1 / C, or Ridge's alpha",
     .search = PARAM_SEARCH | PARAM_SEARCH_LOG, .search_min = 1e-4, .search_max = 100},
    {.name = "max_iter", .type = PARAM_INT, .min = 1, .max = 1000000, .def = 100,
     .aliases = PARAM_LIST("epochs"), .help = "L-BFGS iterations at most"},
    {.name = "tol", .type = PARAM_NUMBER, .min = 0, .max = 1, .def = 1e-4,
     .help = "stop once no gradient component is larger"},
};
/* clang-format on */

static int linear_learn(const struct learner_input *in, void **algo, int *iterations,
                        struct aiops_error *err)
{
    const json_t *p = in->params;
    struct linear_params lp;
    memset(&lp, 0, sizeof lp);
    int K = in->task == TASK_REGRESSION ? 1 : (int)in->nclasses;
    lp.kind = in->task == TASK_REGRESSION ? LINEAR_REGRESSION
              : K == 2                    ? LINEAR_LOGISTIC
                                          : LINEAR_SOFTMAX;
    lp.num_class = K;
    lp.l2 = learner_param(p, "lambda");
    lp.max_iter = (int)learner_param(p, "max_iter");
    lp.tol = learner_param(p, "tol");
    lp.fit_intercept = 1;
    lp.threads = (int)learner_param(p, "threads");
    struct linear *m = NULL;
    int rv = linear_train(in->x, in->y, in->w, &lp, in->progress, in->progress_arg, &m, err);
    *algo = m;
    /* the iterations planned, as svc-train's total_epochs counts them */
    *iterations = lp.max_iter;
    return rv;
}

/* Blocks of rows, one BLAS product each: it takes no pool (parallel_rows 0). */
static int linear_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                             double *out)
{
    (void)pool;
    return linear_predict(algo, x, out);
}

static int linear_op_save(const void *algo, struct buf *out)
{
    return linear_save(algo, out);
}

static int linear_op_load(const uint8_t *p, size_t n, void **algo)
{
    struct linear *m = NULL;
    int rv = linear_load(p, n, &m);
    *algo = m;
    return rv;
}

static void linear_op_free(void *algo)
{
    linear_free(algo);
}

static size_t linear_op_num_features(const void *algo)
{
    return linear_num_features(algo);
}

static size_t linear_op_outputs(const void *algo)
{
    return linear_outputs(algo);
}

const struct learner learner_linear = {
    .name = "linear",
    .aliases = PARAM_LIST("logistic"),
    .summary = "L2-regularised linear models: logistic, softmax or ridge regression",
    .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION,
    .needs_target = 1,
    .params = linear_params,
    .nparams = ARRAY_LEN(linear_params),
    .iterations_param = "max_iter",
    .parallel_rows = 0,
    .train = linear_learn,
    .predict = linear_op_predict,
    .save = linear_op_save,
    .load = linear_op_load,
    .free = linear_op_free,
    .num_features = linear_op_num_features,
    .outputs = linear_op_outputs,
    .importance = NULL,
};
