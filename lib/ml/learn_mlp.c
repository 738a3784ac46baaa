/* learn_mlp.c -- multi-layer perceptrons (lib/algo/nn.h) as a learner: dense ReLU layers with
 * dropout trained by Adam, under PyTorch's names; and the operations both neural learners
 * share (lib/ml/learn_nn.h). */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "ml/learn_nn.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def mlp_params[] = {
    {.name = "hidden", .type = PARAM_INTS, .min = 1, .max = 65536, .def_list = "256,128",
     .aliases = PARAM_LIST("mlp_hidden", "hidden_layer_sizes"),
     .help = "widths of the hidden layers, input side first (at most 8 layers)"},
    {.name = "activation", .type = PARAM_STRING, .choices = PARAM_LIST("relu"),
     .help = "the hidden layers' activation (default relu)"},
    {.name = "dropout", .type = PARAM_NUMBER, .min = 0, .max = 0.95, .def = 0,
     .help = "share of each hidden layer's outputs zeroed while training"},
    {.name = "batch_norm", .type = PARAM_BOOL, .def = 0,
     .help = "batch normalisation after each hidden layer, before the activation (running "
             "mean and variance at prediction, as torch.nn.BatchNorm1d)"},
    LEARN_NN_ADAM_PARAMS(512),
};
/* clang-format on */

int learn_nn_train(const struct learner_input *in, int lstm_hidden, void **algo, int *iterations,
                   struct aiops_error *err)
{
    const json_t *pj = in->params;
    struct nn_params p;
    enum nn_task task = in->task == TASK_REGRESSION ? NN_REGRESSION
                        : in->nclasses == 2         ? NN_BINARY
                                                    : NN_MULTICLASS;
    nn_params_default(&p, task);
    p.nclasses = (int)in->nclasses;
    p.lstm_hidden = lstm_hidden;
    const json_t *hidden = json_object_get(pj, lstm_hidden > 0 ? "mlp_hidden" : "hidden");
    if (json_array_size(hidden) > NN_MAX_LAYERS)
        return aiops_error_set(err, AIOPS_EINVAL, "hidden", "at most %d hidden layers",
                               NN_MAX_LAYERS);
    p.nhidden = (int)json_array_size(hidden);
    for (int l = 0; l < p.nhidden; l++)
        p.hidden[l] = (int)json_integer_value(json_array_get(hidden, (size_t)l));
    p.dropout = learner_param(pj, "dropout");
    if (lstm_hidden == 0) /* tabseq's table has no batch_norm */
        p.batch_norm = learner_param(pj, "batch_norm") != 0;
    p.learning_rate = learner_param(pj, "learning_rate");
    p.beta1 = learner_param(pj, "beta1");
    p.beta2 = learner_param(pj, "beta2");
    p.weight_decay = learner_param(pj, "weight_decay");
    p.batch_size = (int)learner_param(pj, "batch_size");
    p.epochs = (int)learner_param(pj, "epochs");
    p.early_stopping = (int)learner_param(pj, "early_stopping");
    p.pos_weight = learner_param(pj, "pos_weight");
    p.seed = (uint64_t)learner_param(pj, "seed");
    p.threads = (int)learner_param(pj, "threads");
    struct nn_checkpoint ck = {in->checkpoint, in->checkpoint_arg, in->resume, in->resume_len};
    struct nn *m = NULL;
    int rv = nn_train(in->x, in->y, in->w, in->vx, in->vy, &p, in->progress, in->progress_arg, &ck,
                      &m, iterations, err);
    *algo = m;
    return rv;
}

/* Chunks of rows, a few sgemm calls each: it takes no pool (parallel_rows 0). */
int nn_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool, double *out)
{
    (void)pool;
    return nn_predict(algo, x, out);
}

LEARNER_ALGO_ADAPTERS(, nn)

static int mlp_learn(const struct learner_input *in, void **algo, int *iterations,
                     struct aiops_error *err)
{
    return learn_nn_train(in, 0, algo, iterations, err);
}

const struct learner learner_mlp = {
    .name = "mlp",
    .aliases = PARAM_LIST("neural_network", "nn"),
    .summary = "multi-layer perceptron: dense ReLU layers with dropout, trained by Adam on the "
               "standardised, one-hot encoded features",
    .params = mlp_params,
    .nparams = ARRAY_LEN(mlp_params),
    .train = mlp_learn,
    LEARN_NN_LEARNER,
};
