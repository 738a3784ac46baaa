/* nn.h -- feed-forward neural networks trained by Adam: the MLP (dense ReLU layers with
 * dropout) and seed 000's tabular sequence model (an LSTM reading the feature vector as a
 * sequence of one-value steps, its last hidden state going through the same MLP).
 *
 * The model does its own preprocessing, fitted on the training matrix and saved with it: a
 * numeric column is imputed with its training mean and standardised (population standard
 * deviation; a constant column is scaled by 1); a categorical column is one-hot encoded over
 * its training categories (missing or unseen: all zeros). The expanded vector of D values is
 * the MLP's input, or the LSTM's sequence of D steps.
 *
 * Layers and initialisation follow PyTorch: nn.Linear (weights and biases uniform in
 * +-1/sqrt(fan_in)), nn.LSTM (gates i, f, g, o; everything uniform in +-1/sqrt(H)), ReLU,
 * inverted dropout after each hidden activation, torch.optim.Adam (weight_decay added to the
 * gradient, bias-corrected moments). With batch_norm (the MLP only) each hidden layer's
 * pre-activations are normalised as torch.nn.BatchNorm1d does: by the batch's mean and biased
 * variance while training (eps 1e-5), by running estimates (momentum 0.1, the unbiased batch
 * variance; saved with the model) when predicting, then scaled by gamma and shifted by beta,
 * parameters trained by Adam like the weights. Losses are means over the batch: binary
 * cross-entropy on one logit (positives weighted by pos_weight), softmax cross-entropy, or
 * squared error on the standardised target (predictions are returned in the target's units);
 * row weights multiply each row's loss.
 *
 * Computation is float32. A batch is cut into chunks of NN_CHUNK rows; each chunk's forward
 * and backward pass is a few sgemm calls per layer (per LSTM step: the four gates with the
 * input weight and bias in one product forward, two backward; the gate arithmetic in SIMD
 * lanes) on one thread of a pool, into the chunk's own gradient; the chunk gradients are
 * summed in chunk order. With batch normalisation every layer waits for all the chunks of the
 * batch (their sums too are added in chunk order). Dropout masks and shuffles are drawn from
 * the seed, the epoch and the row's place, so the model is the same for a seed whatever the
 * thread count. Every buffer is allocated before the first epoch. */
#ifndef AIOPS_NN_H
#define AIOPS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "algo/progress.h"
#include "core/buf.h"
#include "core/err.h"
#include "data/fmatrix.h"

#define NN_MAX_LAYERS 8 /* hidden dense layers at most */
#define NN_CHUNK 256    /* rows of a batch one thread takes at a time */

enum nn_task { NN_BINARY, NN_MULTICLASS, NN_REGRESSION };

struct nn_params {
    enum nn_task task;
    int nclasses;              /* multiclass: >= 2 */
    int lstm_hidden;           /* 0: an MLP; > 0: the LSTM's hidden size (tabseq) */
    int nhidden;               /* dense hidden layers, 0 .. NN_MAX_LAYERS */
    int hidden[NN_MAX_LAYERS]; /* their widths */
    double dropout;            /* in [0, 1) */
    int batch_norm;            /* MLP only: batch normalisation after each hidden layer */
    double learning_rate;      /* Adam's lr */
    double beta1, beta2, eps;  /* Adam */
    double weight_decay;       /* L2 added to the gradient, as torch.optim.Adam */
    int batch_size, epochs;    /* >= 1 */
    int early_stopping;        /* patience in epochs on the validation loss (0: off) */
    double pos_weight;         /* binary: the weight of a positive row's loss */
    uint64_t seed;
    int threads; /* <= 0: every CPU */
};

/* Checkpoints: after each epoch nn_train hands `save` the whole training state (weights,
 * Adam moments, best weights, early-stopping counters, batch normalisation's running
 * statistics); a non-zero return is logged by the caller and ignored here (training goes
 * on). `resume`, when not NULL, is such a state: training continues after its epoch,
 * exactly as if it had not stopped. A state that does not fit the parameters and data is
 * AIOPS_ECORRUPT. */
struct nn_checkpoint {
    int (*save)(void *arg, int epoch, const uint8_t *state, size_t n);
    void *arg;
    const uint8_t *resume;
    size_t resume_len;
};

struct nn;

/* Fills p with the defaults: an MLP (256, 128), dropout 0, lr 1e-3, betas 0.9/0.999, eps
 * 1e-8, batch 512, 10 epochs, no early stopping, pos_weight 1, for task. */
void nn_params_default(struct nn_params *p, enum nn_task task);

/* Trains on the rows of x (targets y: class index, or the value; w: row weights or NULL),
 * validating on vx/vy when given (both NULL otherwise). progress (may be NULL) is called
 * after each epoch with the mean training loss (over the epoch's batches, with dropout),
 * the validation loss, and the metric (binary: AUC; multiclass: accuracy; regression:
 * RMSE), plus train_accuracy / valid_accuracy for classifiers; a non-zero return, checked
 * after every batch too (with a progress of iteration -1), stops with AIOPS_ECANCELED.
 * With early stopping the weights of the best validation epoch are kept. *epochs_run gets
 * the epochs trained. AIOPS_EINVAL (err says which parameter), AIOPS_ENOMEM,
 * AIOPS_ETOOBIG, AIOPS_ECANCELED, AIOPS_ECORRUPT (resume state). */
int nn_train(const struct fmatrix *x, const double *y, const double *w, const struct fmatrix *vx,
             const double *vy, const struct nn_params *p, train_progress_fn progress, void *arg,
             const struct nn_checkpoint *ckpt, struct nn **out, int *epochs_run,
             struct aiops_error *err);

/* Predictions for x's rows (the training columns): binary 1 - p, p; multiclass K
 * probabilities; regression the value; row-major. AIOPS_EINVAL when x does not fit. */
int nn_predict(const struct nn *m, const struct fmatrix *x, double *out);
size_t nn_outputs(const struct nn *m);
size_t nn_num_features(const struct nn *m);

int nn_save(const struct nn *m, struct buf *out);
/* AIOPS_ECORRUPT for anything inconsistent (never crashes on any bytes), AIOPS_ENOMEM. */
int nn_load(const uint8_t *p, size_t n, struct nn **out);
void nn_free(struct nn *m);

/* --- for the gradient checks ------------------------------------------------------------ */

/* A model fitted to x's preprocessing (and y's scale for regression) with PyTorch's random
 * initial weights for p.seed, untrained. Errors as nn_train. */
int nn_init(const struct fmatrix *x, const double *y, const double *w, const struct nn_params *p,
            struct nn **out, struct aiops_error *err);

/* The model's parameters as one array (nn_nparams floats, the layout nn_train updates). */
size_t nn_nparams(const struct nn *m);
float *nn_weights(struct nn *m);
/* Mean loss over the rows of x (no dropout) and, when grad is not NULL, its gradient with
 * respect to every parameter (without weight decay) into grad[nn_nparams]. Batch
 * normalisation is in training mode: the rows of x are one batch (the running statistics
 * are neither used nor moved; x without rows is AIOPS_EINVAL). */
int nn_loss_grad(const struct nn *m, const struct fmatrix *x, const double *y, const double *w,
                 double pos_weight, double *loss, float *grad);

#endif
