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
    LEARN_NN_ADAM_PARAMS(4096),
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
    .params = tabseq_params,
    .nparams = ARRAY_LEN(tabseq_params),
    .train = tabseq_learn,
    LEARN_NN_LEARNER,
};
