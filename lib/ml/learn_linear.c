/* learn_linear.c -- L2-regularised linear models (lib/algo/linear.h) as a learner: its
 * parameters under scikit-learn's names, and its operations.
 *
 * A feature matrix with a sparse block (text features, struct fmatrix sp) trains the
 * sparse-input model (linear_sparse_*) on the dense columns and the block together; one
 * without trains the dense model. The algorithm object says which it holds; the saved
 * bytes start with the model's own magic ("LIN1" / "LSP1"), which load dispatches on. */
#include <stdlib.h>
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
     .aliases = PARAM_LIST("epochs"), .help = "L-BFGS iterations at most (solver saga: passes)"},
    {.name = "tol", .type = PARAM_NUMBER, .min = 0, .max = 1, .def = 1e-4,
     .help = "stop once no gradient component is larger (solver saga: once no coefficient "
             "moved by more than tol times the largest in a pass)"},
    {.name = "solver", .type = PARAM_STRING, .choices = PARAM_LIST("lbfgs", "saga"),
     .help = "text (sparse) input: lbfgs (default) or saga (max_iter then counts passes)"},
    {.name = "warm_epochs", .type = PARAM_INT, .min = 0, .max = 1000, .def = 0,
     .help = "text (sparse) input: SGD passes that warm-start L-BFGS, rows shuffled by seed"},
};
/* clang-format on */

/* The learner's algorithm object: exactly one of the two is set. */
struct linear_algo {
    struct linear *dense;
    struct linear_sparse *sparse;
};

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
    lp.warm_epochs = (int)learner_param(p, "warm_epochs");
    lp.seed = (uint64_t)learner_param(p, "seed");
    const char *solver = json_string_value(json_object_get(p, "solver"));
    lp.solver =
        solver != NULL && strcmp(solver, "saga") == 0 ? LINEAR_SOLVER_SAGA : LINEAR_SOLVER_LBFGS;
    struct linear_algo *a = calloc(1, sizeof *a);
    if (a == NULL)
        return AIOPS_ENOMEM;
    int rv = in->x->sp != NULL
                 ? linear_sparse_train(in->x, in->x->sp, in->y, in->w, &lp, in->progress,
                                       in->progress_arg, &a->sparse, err)
                 : linear_train(in->x, in->y, in->w, &lp, in->progress, in->progress_arg, &a->dense,
                                err);
    if (rv != 0) {
        free(a);
        a = NULL;
    }
    *algo = a;
    /* the iterations planned, as svc-train's total_epochs counts them */
    *iterations = lp.max_iter;
    return rv;
}

/* Dense: blocks of rows, one BLAS product each, on this thread (BLAS has its own); sparse
 * (text): the rows shared out on the pool. */
static int linear_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                             double *out)
{
    const struct linear_algo *a = algo;
    if (a->sparse != NULL)
        return x->sp ? linear_sparse_predict_pool(a->sparse, x, x->sp, pool, out) : AIOPS_EINVAL;
    return x->sp ? AIOPS_EINVAL : linear_predict(a->dense, x, out);
}

static int linear_op_save(const void *algo, struct buf *out)
{
    const struct linear_algo *a = algo;
    return a->sparse ? linear_sparse_save(a->sparse, out) : linear_save(a->dense, out);
}

static int linear_op_load(const uint8_t *p, size_t n, void **algo)
{
    *algo = NULL;
    struct linear_algo *a = calloc(1, sizeof *a);
    if (a == NULL)
        return AIOPS_ENOMEM;
    int rv = n >= 4 && memcmp(p, "LSP1", 4) == 0 ? linear_sparse_load(p, n, &a->sparse)
                                                 : linear_load(p, n, &a->dense);
    if (rv != 0) {
        free(a);
        return rv;
    }
    *algo = a;
    return 0;
}

static void linear_op_free(void *algo)
{
    struct linear_algo *a = algo;
    if (a == NULL)
        return;
    linear_free(a->dense);
    linear_sparse_free(a->sparse);
    free(a);
}

static size_t linear_op_num_features(const void *algo)
{
    const struct linear_algo *a = algo;
    return a->sparse ? linear_sparse_num_features(a->sparse) : linear_num_features(a->dense);
}

static size_t linear_op_outputs(const void *algo)
{
    const struct linear_algo *a = algo;
    return a->sparse ? linear_sparse_outputs(a->sparse) : linear_outputs(a->dense);
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
    .parallel_rows = 8192, /* the sparse path's; the dense path ignores the pool */
    .scale_sensitive = 1,
    .train = linear_learn,
    LEARNER_OPS(linear),
    .importance = NULL,
};
