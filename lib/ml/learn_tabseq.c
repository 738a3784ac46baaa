/* learn_tabseq.c -- seed 000's TabularSeqModel (lib/algo/nn.h) as a learner: an LSTM reads
 * the standardised feature vector as a sequence of one-value steps and its last hidden state
 * goes through an MLP head. The parameters are the seed's `config` fields one to one
 * (epochs, batch_size, learning_rate, lstm_hidden, mlp_hidden, dropout) with its defaults. */
#include "core/array.h"
#include "ml/learn_nn.h"
#include "ml/learner.h"

/* clang-format off */
static const struct param_def tabseq_params[] = {
    {.name = "lstm_hidden", .type = PARAM_INT, .min = 1, .max = 4096, .def = 64,
     .help = "the LSTM's hidden size"},
    {.name = "mlp_hidden", .type = PARAM_INTS, .min = 1, .max = 65536, .def_list = "256,128",
     .aliases = PARAM_LIST("hidden"),
     .help = "widths of the ReLU layers after the LSTM (at most 8 layers)"},
    {.name = "dropout", .type = PARAM_NUMBER, .min = 0, .max = 0.95, .def = 0.2,
     .help = "share of each hidden layer's outputs zeroed while training"},
    {.name = "learning_rate", .type = PARAM_NUMBER, .min = 1e-7, .max = 10, .def = 1e-3,
     .aliases = PARAM_LIST("lr"), .help = "Adam's step size"},
    {.name = "beta1", .type = PARAM_NUMBER, .min = 0, .max = 0.9999, .def = 0.9,
     .help = "Adam's first-moment decay"},
    {.name = "beta2", .type = PARAM_NUMBER, .min = 0, .max = 0.999999, .def = 0.999,
     .help = "Adam's second-moment decay"},
    {.name = "weight_decay", .type = PARAM_NUMBER, .min = 0, .max = 10, .def = 0,
     .help = "L2 penalty added to the gradient (torch.optim.Adam's weight_decay)"},
    {.name = "batch_size", .type = PARAM_INT, .min = 1, .max = 1 << 20, .def = 4096,
     .help = "rows per Adam step"},
    {.name = "epochs", .type = PARAM_INT, .min = 1, .max = 100000, .def = 10,
     .help = "passes over the training rows"},
    {.name = "early_stopping", .type = PARAM_INT, .min = 0, .max = 100000, .def = 0,
     .aliases = PARAM_LIST("patience"),
     .help = "stop after this many epochs without a lower validation loss and keep the best "
             "epoch's weights (0: off)"},
    {.name = "pos_weight", .type = PARAM_NUMBER, .min = 1e-6, .max = 1e6, .def = 1,
     .help = "binary: weight of a positive row's loss (e.g. negatives / positives for rare "
             "clicks)"},
};
/* clang-format on */

static int tabseq_learn(const struct learner_input *in, void **algo, int *iterations,
                        struct aiops_error *err)
{
    return learn_nn_train(in, (int)learner_param(in->params, "lstm_hidden"), algo, iterations, err);
}

const struct learner learner_tabseq = {
    .name = "tabseq",
    .aliases = PARAM_LIST("lstm", "tabular_seq"),
    .summary = "seed 000's LSTM tabular model: an LSTM over the standardised feature vector, "
               "then an MLP head, trained by Adam",
    .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION,
    .needs_target = 1,
    .params = tabseq_params,
    .nparams = ARRAY_LEN(tabseq_params),
    .iterations_param = "epochs",
    .parallel_rows = 0,
    .train = tabseq_learn,
    .predict = learn_nn_predict,
    .save = learn_nn_save,
    .load = learn_nn_load,
    .free = learn_nn_free,
    .num_features = learn_nn_num_features,
    .outputs = learn_nn_outputs,
    .importance = NULL,
};
