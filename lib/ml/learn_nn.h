/* learn_nn.h -- what the two neural learners (learn_mlp.c, learn_tabseq.c) share: reading
 * their parameters into struct nn_params, and the operations on the network they make
 * (lib/algo/nn.h). Private to lib/ml/. */
#ifndef AIOPS_LEARN_NN_H
#define AIOPS_LEARN_NN_H

#include "algo/nn.h"
#include "ml/learner.h"

/* The parameters both neural learners read the same way (learn_nn_train): Adam, batches,
 * epochs, early stopping and the positive class's weight; entries of their param_def
 * tables, batch_size's default each one's own. */
/* clang-format off */
#define LEARN_NN_ADAM_PARAMS(batch_size_def) \
    {.name = "learning_rate", .type = PARAM_NUMBER, .min = 1e-7, .max = 10, .def = 1e-3, \
     .aliases = PARAM_LIST("lr"), .help = "Adam's step size"}, \
    {.name = "beta1", .type = PARAM_NUMBER, .min = 0, .max = 0.9999, .def = 0.9, \
     .help = "Adam's first-moment decay"}, \
    {.name = "beta2", .type = PARAM_NUMBER, .min = 0, .max = 0.999999, .def = 0.999, \
     .help = "Adam's second-moment decay"}, \
    {.name = "weight_decay", .type = PARAM_NUMBER, .min = 0, .max = 10, .def = 0, \
     .help = "L2 penalty added to the gradient (torch.optim.Adam's weight_decay)"}, \
    {.name = "batch_size", .type = PARAM_INT, .min = 1, .max = 1 << 20, .def = batch_size_def, \
     .help = "rows per Adam step"}, \
    {.name = "epochs", .type = PARAM_INT, .min = 1, .max = 100000, .def = 10, \
     .help = "passes over the training rows"}, \
    {.name = "early_stopping", .type = PARAM_INT, .min = 0, .max = 100000, .def = 0, \
     .aliases = PARAM_LIST("patience"), \
     .help = "stop after this many epochs without a lower validation loss and keep the best " \
             "epoch's weights (0: off)"}, \
    {.name = "pos_weight", .type = PARAM_NUMBER, .min = 1e-6, .max = 1e6, .def = 1, \
     .help = "binary: weight of a positive row's loss (e.g. negatives / positives for rare " \
             "clicks)"}
/* clang-format on */

/* The fields of struct learner the two neural learners have alike: the tasks, epochs as the
 * iterations, and the operations on the network (no thread pool: see nn_op_predict). */
#define LEARN_NN_LEARNER                                                                           \
    .tasks = LEARN_BINARY | LEARN_MULTICLASS | LEARN_REGRESSION, .needs_target = 1,                \
    .iterations_param = "epochs", .parallel_rows = 0, .scale_sensitive = 1, LEARNER_OPS(nn),       \
    .importance = NULL

/* Trains a network for in: an MLP, or the tabular sequence model when lstm_hidden > 0. */
int learn_nn_train(const struct learner_input *in, int lstm_hidden, void **algo, int *iterations,
                   struct aiops_error *err);
/* The operations on the network (learn_mlp.c; LEARNER_OPS(nn) in learner.h). */
int nn_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool, double *out);
int nn_op_save(const void *algo, struct buf *out);
int nn_op_load(const uint8_t *p, size_t n, void **algo);
void nn_op_free(void *algo);
size_t nn_op_num_features(const void *algo);
size_t nn_op_outputs(const void *algo);

#endif
