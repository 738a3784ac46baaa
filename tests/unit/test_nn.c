/* test_nn.c -- the neural networks (lib/algo/nn.h): gradients against finite differences
 * for every head and both architectures, reproducibility across thread counts, resuming from
 * a checkpoint, the model file, and AUC on HIGGS against PyTorch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algo/nn.h"
#include "core/err.h"
#include "math/stats.h"
#include "testdata.h"
#include "unit.h"

TEST_RNG(0x6e6e7465737431ull)

/* n rows of mixed columns (numeric with missing values, small integers, a categorical of 4
 * codes, noise) and a target for task drawn from their margin. */
static void make_data(struct fmatrix *x, double *y, size_t n, enum nn_task task, int K)
{
    mat_init_mixed(x, n, 4);
    for (size_t r = 0; r < n; r++) {
        double m = mixed_row(x, r, &rng_state);
        if (task == NN_BINARY)
            y[r] = urand() < 1.0 / (1.0 + exp(-(m - 2.5))) ? 1 : 0;
        else if (task == NN_MULTICLASS)
            y[r] = fmod(floor(fabs(m) * 1.3), (double)K);
        else
            y[r] = 3.0 * m + urand();
    }
}

/* Compares the analytic gradient of the mean loss with central differences over every
 * parameter: the relative error of the whole vector, and no single parameter far off (a
 * ReLU kink crossed by the step can spoil a few, hence the allowance). */
static void check_gradient(struct nn_params *p, size_t n, double pos_weight)
{
    struct fmatrix x;
    double *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    make_data(&x, y, n, p->task, p->nclasses);
    for (size_t r = 0; r < n; r++)
        w[r] = 0.5 + urand();
    struct nn *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(nn_init(&x, y, w, p, &m, &err), 0);
    if (m == NULL) {
        mat_free(&x);
        free(y);
        free(w);
        return;
    }
    size_t np = nn_nparams(m);
    float *g = malloc(np * sizeof *g), *W = nn_weights(m);
    double loss = 0;
    CHECK_INT(nn_loss_grad(m, &x, y, w, pos_weight, &loss, g), 0);
    CHECK(loss > 0 && isfinite(loss));
    double num2 = 0, diff2 = 0;
    size_t bad = 0;
    for (size_t i = 0; i < np; i++) {
        float keep = W[i];
        const float h = 1e-2f;
        double lp = 0, lm = 0;
        W[i] = keep + h;
        nn_loss_grad(m, &x, y, w, pos_weight, &lp, NULL);
        W[i] = keep - h;
        nn_loss_grad(m, &x, y, w, pos_weight, &lm, NULL);
        W[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)h), an = g[i];
        num2 += fd * fd;
        diff2 += (fd - an) * (fd - an);
        if (fabs(fd - an) > 0.05 * fabs(fd) + 1e-3)
            bad++;
    }
    double rel = sqrt(diff2 / (num2 > 0 ? num2 : 1));
    if (!(rel < 0.03) || bad > np / 20 + 1)
        UNIT_FAIL("gradient: relative error %.3g, %zu of %zu parameters off", rel, bad, np);
    CHECK(num2 > 0);
    nn_free(m);
    free(g);
    mat_free(&x);
    free(y);
    free(w);
}

static void small_net(struct nn_params *p, enum nn_task task, int lstm)
{
    nn_params_default(p, task);
    p->nclasses = 3;
    p->nhidden = 2;
    p->hidden[0] = 6;
    p->hidden[1] = 5;
    p->lstm_hidden = lstm;
    p->seed = 7;
}

static void test_mlp_gradient_binary(void)
{
    struct nn_params p;
    small_net(&p, NN_BINARY, 0);
    check_gradient(&p, 300, 3.0); /* more rows than a chunk: the chunk sums too */
}

static void test_mlp_gradient_multiclass(void)
{
    struct nn_params p;
    small_net(&p, NN_MULTICLASS, 0);
    check_gradient(&p, 120, 1.0);
}

static void test_mlp_gradient_regression(void)
{
    struct nn_params p;
    small_net(&p, NN_REGRESSION, 0);
    p.nhidden = 1;
    check_gradient(&p, 120, 1.0);
}

static void test_lstm_gradient_binary(void)
{
    struct nn_params p;
    small_net(&p, NN_BINARY, 4);
    check_gradient(&p, 280, 2.0);
}

static void test_lstm_gradient_multiclass_no_hidden(void)
{
    struct nn_params p;
    small_net(&p, NN_MULTICLASS, 5);
    p.nhidden = 0;
    check_gradient(&p, 100, 1.0);
}

/* --- training ----------------------------------------------------------------------------- */

static double auc_of(const struct nn *m, const struct fmatrix *x, const double *y)
{
    size_t n = x->nrows;
    double *out = malloc(2 * n * sizeof *out), *s = malloc(n * sizeof *s), auc = NAN;
    uint8_t *lab = malloc(n);
    CHECK_INT(nn_predict(m, x, out), 0);
    for (size_t i = 0; i < n; i++) {
        s[i] = out[2 * i + 1];
        lab[i] = y[i] == 1;
    }
    CHECK_INT(stats_roc_auc(s, lab, n, &auc), 0);
    free(out);
    free(s);
    free(lab);
    return auc;
}

struct record {
    int calls, epochs;
    double last_train_loss, first_train_loss, valid_acc;
    uint8_t *ckpt;
    size_t ckpt_len;
    int ckpt_epoch;
};

static int record_progress(void *arg, const struct train_progress *pr)
{
    struct record *r = arg;
    r->calls++;
    if (pr->iteration < 0)
        return 0;
    if (r->epochs == 0)
        r->first_train_loss = pr->train_loss;
    r->epochs++;
    r->last_train_loss = pr->train_loss;
    r->valid_acc = pr->valid_accuracy;
    return 0;
}

static int record_checkpoint(void *arg, int epoch, const uint8_t *state, size_t n)
{
    struct record *r = arg;
    free(r->ckpt);
    r->ckpt = malloc(n);
    memcpy(r->ckpt, state, n);
    r->ckpt_len = n;
    r->ckpt_epoch = epoch;
    return 0;
}

static void test_learns_and_is_reproducible_across_threads(void)
{
    size_t n = 1200;
    struct fmatrix x;
    double *y = malloc(n * sizeof *y);
    make_data(&x, y, n, NN_BINARY, 2);
    struct nn_params p;
    nn_params_default(&p, NN_BINARY);
    p.hidden[0] = 32;
    p.hidden[1] = 16;
    p.dropout = 0.1;
    p.batch_size = 600; /* three chunks a batch */
    p.epochs = 8;
    p.learning_rate = 0.01;
    p.seed = 3;
    struct nn *a = NULL, *b = NULL;
    int ea = 0, eb = 0;
    struct record rec = {0};
    struct aiops_error err = AIOPS_ERROR_INIT;
    p.threads = 1;
    CHECK_INT(nn_train(&x, y, NULL, &x, y, &p, record_progress, &rec, NULL, &a, &ea, &err), 0);
    p.threads = 2;
    CHECK_INT(nn_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, NULL, &b, &eb, &err), 0);
    CHECK_INT(ea, 8);
    CHECK_INT(rec.epochs, 8);
    CHECK(rec.calls > rec.epochs); /* the per-batch cancellation checks */
    CHECK(rec.last_train_loss < rec.first_train_loss);
    CHECK(rec.valid_acc > 0.6 && rec.valid_acc <= 1);
    if (a && b) {
        CHECK_MEM(nn_weights(a), nn_nparams(a) * 4, nn_weights(b), nn_nparams(b) * 4);
        CHECK(auc_of(a, &x, y) > 0.75);
    }
    nn_free(a);
    nn_free(b);
    mat_free(&x);
    free(y);
}

static int cancel_at_third(void *arg, const struct train_progress *pr)
{
    (void)pr;
    return ++*(int *)arg >= 3;
}

static void test_cancel_within_an_epoch(void)
{
    size_t n = 2000;
    struct fmatrix x;
    double *y = malloc(n * sizeof *y);
    make_data(&x, y, n, NN_BINARY, 2);
    struct nn_params p;
    nn_params_default(&p, NN_BINARY);
    p.batch_size = 100;
    int calls = 0, e = 0;
    struct nn *m = NULL;
    CHECK_INT(nn_train(&x, y, NULL, NULL, NULL, &p, cancel_at_third, &calls, NULL, &m, &e, NULL),
              AIOPS_ECANCELED);
    CHECK(m == NULL);
    CHECK_INT(calls, 3); /* three batches, not an epoch */
    CHECK_INT(e, 0);
    mat_free(&x);
    free(y);
}

/* A run stopped after its second epoch and resumed from that checkpoint ends with the very
 * weights of a run that never stopped. */
static void test_resume_from_checkpoint_is_exact(void)
{
    size_t n = 900;
    struct fmatrix x;
    double *y = malloc(n * sizeof *y);
    make_data(&x, y, n, NN_MULTICLASS, 3);
    struct nn_params p;
    small_net(&p, NN_MULTICLASS, 3);
    p.dropout = 0.2;
    p.batch_size = 300;
    p.epochs = 4;
    p.early_stopping = 3;
    struct nn *full = NULL, *part = NULL, *resumed = NULL;
    int e = 0;
    CHECK_INT(nn_train(&x, y, NULL, &x, y, &p, NULL, NULL, NULL, &full, &e, NULL), 0);
    struct record rec = {0};
    struct nn_checkpoint ck = {record_checkpoint, &rec, NULL, 0};
    p.epochs = 2; /* the "killed" run: its last checkpoint is epoch 2 */
    CHECK_INT(nn_train(&x, y, NULL, &x, y, &p, NULL, NULL, &ck, &part, &e, NULL), 0);
    CHECK_INT(rec.ckpt_epoch, 2);
    p.epochs = 4;
    struct nn_checkpoint rs = {NULL, NULL, rec.ckpt, rec.ckpt_len};
    CHECK_INT(nn_train(&x, y, NULL, &x, y, &p, NULL, NULL, &rs, &resumed, &e, NULL), 0);
    CHECK_INT(e, 4);
    if (full && resumed)
        CHECK_MEM(nn_weights(full), nn_nparams(full) * 4, nn_weights(resumed),
                  nn_nparams(resumed) * 4);
    /* a damaged checkpoint is refused, not trusted */
    rec.ckpt[rec.ckpt_len / 2] ^= 1;
    struct nn *bad = NULL;
    CHECK_INT(nn_train(&x, y, NULL, &x, y, &p, NULL, NULL, &rs, &bad, &e, NULL), AIOPS_ECORRUPT);
    nn_free(full);
    nn_free(part);
    nn_free(resumed);
    free(rec.ckpt);
    mat_free(&x);
    free(y);
}

static void test_save_load_roundtrip(void)
{
    size_t n = 400;
    struct fmatrix x;
    double *y = malloc(n * sizeof *y);
    make_data(&x, y, n, NN_REGRESSION, 0);
    struct nn_params p;
    small_net(&p, NN_REGRESSION, 3);
    p.epochs = 3;
    struct nn *m = NULL, *l = NULL;
    int e = 0;
    CHECK_INT(nn_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, NULL, &m, &e, NULL), 0);
    if (m == NULL)
        return;
    struct buf b = BUF_INIT;
    CHECK_INT(nn_save(m, &b), 0);
    CHECK_INT(nn_load((const uint8_t *)b.data, b.len, &l), 0);
    double *o1 = malloc(n * sizeof *o1), *o2 = malloc(n * sizeof *o2);
    CHECK_INT(nn_predict(m, &x, o1), 0);
    if (l) {
        CHECK_INT(nn_predict(l, &x, o2), 0);
        CHECK_MEM(o1, n * sizeof *o1, o2, n * sizeof *o2);
    }
    /* predictions are in the target's units: correlated with it, on its scale */
    double sy = 0, sp = 0;
    for (size_t i = 0; i < n; i++)
        sy += y[i], sp += o1[i];
    CHECK(fabs(sp / (double)n - sy / (double)n) < 0.5 * fabs(sy / (double)n) + 1);
    /* every truncation is refused */
    for (size_t cut = 0; cut < b.len; cut += 1 + cut / 7) {
        struct nn *t = NULL;
        CHECK_INT(nn_load((const uint8_t *)b.data, cut, &t), AIOPS_ECORRUPT);
    }
    buf_free(&b);
    free(o1);
    free(o2);
    nn_free(m);
    nn_free(l);
    mat_free(&x);
    free(y);
}

static void test_refusals(void)
{
    struct fmatrix x;
    double y[10];
    make_data(&x, y, 10, NN_BINARY, 2);
    struct nn_params p;
    nn_params_default(&p, NN_BINARY);
    struct nn *m = NULL;
    int e = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    p.dropout = 1;
    CHECK_INT(nn_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, NULL, &m, &e, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "dropout");
    nn_params_default(&p, NN_BINARY);
    p.hidden[0] = 0;
    CHECK_INT(nn_train(&x, y, NULL, NULL, NULL, &p, NULL, NULL, NULL, &m, &e, &err), AIOPS_EINVAL);
    CHECK_STR(err.field, "hidden");
    mat_free(&x);
}

/* --- HIGGS against PyTorch ----------------------------------------------------------------- */

/* Test AUC on the 500 HIGGS test rows after training on the 7,000 training rows; the
 * reference is PyTorch's for the same architecture, optimiser, batch and epochs, averaged
 * over 5 seeds, from
 *   /usr/bin/python3 tests/unit/nn_reference.py  (prints both references)
 * which printed (2026-12-04, PyTorch 1.13):
 *   mlp: mean test AUC 0.7631 (seeds: 0.7753, 0.7620, 0.7574, 0.7629, 0.7580)
 *   tabseq: mean test AUC 0.6889 (seeds: 0.6794, 0.6937, 0.6862, 0.6911, 0.6941)
 * (a reference of NAN would make its case report itself skipped, never passed). */
#define HIGGS_MLP_TORCH_AUC 0.7631
#define HIGGS_TABSEQ_TORCH_AUC 0.6889

static void higgs_case(int lstm, int nseeds, double reference)
{
    if (isnan(reference)) {
        UNIT_SKIP("no PyTorch reference yet: run tests/unit/nn_reference.py and set it");
        return;
    }
    struct dataset d;
    if (dataset_load(&d, "lightgbm_higgs_binary", "higgs_train.csv", "higgs_test.csv", "label") !=
        0) {
        dataset_free(&d);
        return;
    }
    /* the mean over seeds, as the reference is: one seed's AUC wanders by about 0.01 */
    double sum = 0;
    int runs = 0;
    for (int seed = 0; seed < nseeds; seed++) {
        struct nn_params p;
        nn_params_default(&p, NN_BINARY);
        p.lstm_hidden = lstm;
        p.hidden[0] = 256;
        p.hidden[1] = 128;
        p.dropout = 0.2;
        p.batch_size = 256;
        p.epochs = lstm ? 6 : 10;
        p.learning_rate = 1e-3;
        p.seed = (uint64_t)seed;
        p.threads = 2;
        struct nn *m = NULL;
        int e = 0;
        struct aiops_error err = AIOPS_ERROR_INIT;
        CHECK_INT(nn_train(&d.xtr, d.ytr, NULL, NULL, NULL, &p, NULL, NULL, NULL, &m, &e, &err), 0);
        if (m != NULL) {
            double auc = auc_of(m, &d.xte, d.yte);
            printf("# HIGGS %s seed %d: test AUC %.4f\n", lstm ? "tabseq" : "mlp", seed, auc);
            sum += auc;
            runs++;
        }
        nn_free(m);
    }
    if (runs == nseeds) {
        double mean = sum / runs;
        printf("# HIGGS %s mean test AUC %.4f (PyTorch %.4f)\n", lstm ? "tabseq" : "mlp", mean,
               reference);
        CHECK(fabs(mean - reference) <= 0.02);
    }
    dataset_free(&d);
}

static void test_higgs_mlp_auc_matches_pytorch(void)
{
    higgs_case(0, 5, HIGGS_MLP_TORCH_AUC);
}

static void test_higgs_tabseq_auc_matches_pytorch(void)
{
    higgs_case(64, 2, HIGGS_TABSEQ_TORCH_AUC);
}

UNIT_MAIN(UNIT(test_mlp_gradient_binary), UNIT(test_mlp_gradient_multiclass),
          UNIT(test_mlp_gradient_regression), UNIT(test_lstm_gradient_binary),
          UNIT(test_lstm_gradient_multiclass_no_hidden),
          UNIT(test_learns_and_is_reproducible_across_threads), UNIT(test_cancel_within_an_epoch),
          UNIT(test_resume_from_checkpoint_is_exact), UNIT(test_save_load_roundtrip),
          UNIT(test_refusals), UNIT(test_higgs_mlp_auc_matches_pytorch),
          UNIT(test_higgs_tabseq_auc_matches_pytorch))
