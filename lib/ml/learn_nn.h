/* learn_nn.h -- what the two neural learners (learn_mlp.c, learn_tabseq.c) share: reading
 * their parameters into struct nn_params, and the operations on the network they make
 * (lib/algo/nn.h). Private to lib/ml/. */
#ifndef AIOPS_LEARN_NN_H
#define AIOPS_LEARN_NN_H

#include "algo/nn.h"
#include "ml/learner.h"

/* Trains a network for in: an MLP, or the tabular sequence model when lstm_hidden > 0. */
int learn_nn_train(const struct learner_input *in, int lstm_hidden, void **algo, int *iterations,
                   struct aiops_error *err);
int learn_nn_predict(const void *algo, const struct fmatrix *x, struct pool *pool, double *out);
int learn_nn_save(const void *algo, struct buf *out);
int learn_nn_load(const uint8_t *p, size_t n, void **algo);
void learn_nn_free(void *algo);
size_t learn_nn_num_features(const void *algo);
size_t learn_nn_outputs(const void *algo);

#endif
