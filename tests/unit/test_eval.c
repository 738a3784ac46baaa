/* Unit tests for lib/ml/eval.c. Reference values from scikit-learn 1.2.1, computed with
 * /usr/bin/python3 on this script (warnings about zero_division omitted):
 *
 * import numpy as np
 * from sklearn import metrics as M
 * from sklearn.calibration import calibration_curve
 * y = np.array([0,1,1,0,1,0,0,1,1,0,1,1])
 * p1 = np.array([0.1,0.4,0.35,0.8,0.7,0.2,0.5,0.5,0.9,0.3,0.65,0.35])
 * P = np.c_[1-p1, p1]; pred = P.argmax(1)
 * M.accuracy_score(y, pred)                                       # 0.5833333333333334
 * M.precision_recall_fscore_support(y, pred, average="binary")    # .75 .42857142857142855
 *                                                                 # .5454545454545454
 * M.precision_recall_fscore_support(y, pred, average="macro")     # .625 .6142857142857143
 *                                                                 # .5804195804195804
 * M.precision_recall_fscore_support(y, pred, average="weighted")  # .6458333333333334
 *                                                                 # .5833333333333334
 * .5745920745920746 M.roc_auc_score(y, p1)               # 0.7285714285714285
 * M.average_precision_score(y, p1)     # 0.7647392290249433
 * M.log_loss(y, P)                     # 0.6324720534187735
 * M.brier_score_loss(y, p1)            # 0.22562499999999996
 * M.confusion_matrix(y, pred)          # [[4, 1], [4, 3]]
 * M.roc_curve(y, p1, drop_intermediate=False)[:2]  # fpr [0 0 .2 .2 .2 .4 .4 .4 .6 .8 1]
 *    # tpr [0 1/7 1/7 2/7 3/7 4/7 5/7 1 1 1 1]
 * M.precision_recall_curve(y, p1)[:2]  # reversed: recall [0 1/7 1/7 2/7 3/7 4/7 5/7 1 1 1 1]
 *    # precision [1 1 .5 2/3 .75 2/3 5/7 7/9 .7 7/11 7/12]
 * M.precision_recall_fscore_support(y, pred)  # p [.5 .75] r [.8 .42857142857142855]
 *                                     # f [.6153846153846154 .5454545454545454] s [5 7]
 * calibration_curve(y, p1, n_bins=10)  # true [0 0 0 1 .5 1 0 1]
 *    # pred [.1 .2 .3 .3666666666666667 .5 .675 .8 .9] (non-empty bins 0,1,2,3,4,6,7,8)
 * y3 = np.array([0,1,2,2,1,0,1,2,0,1])
 * P3 = np.array([[.7,.2,.1],[.2,.5,.3],[.3,.4,.3],[.5,.3,.2],[.1,.8,.1],[.6,.3,.1],
 *                [.4,.4,.2],[.2,.45,.35],[.9,.05,.05],[.3,.6,.1]]); pred3 = P3.argmax(1)
 * M.accuracy_score(y3, pred3)                                        # 0.6
 * M.precision_recall_fscore_support(y3, pred3, average="macro")      # .39999999999999997
 *                                                  # .5833333333333334 .47222222222222215
 * M.precision_recall_fscore_support(y3, pred3, average="weighted")   # .41999999999999993
 *                                                  # .6 .4916666666666666
 * M.precision_recall_fscore_support(y3, pred3)  # p [.6 .6 0] r [1 .75 0]
 *                                      # f [.7499999999999999 .6666666666666665 0] s [3 4 3]
 * M.roc_auc_score(y3, P3, multi_class="ovr")                     # 0.9474206349206349
 * M.average_precision_score(np.eye(3)[y3], P3, average="macro")  # 0.8907407407407407
 * M.log_loss(y3, P3, labels=[0,1,2])                             # 0.7179501012135564
 * M.confusion_matrix(y3, pred3, labels=[0,1,2])     # [[3,0,0],[1,3,0],[1,2,0]]
 * yb = np.array([0,1,0,1]); Pp = np.array([[1.,0],[0,1],[1,0],[0,1]]); Pw = Pp[:, ::-1]
 * M.log_loss(yb, Pp)      # 2.2204460492503136e-16     M.roc_auc_score(yb, Pp[:,1])  # 1.0
 * M.log_loss(yb, Pw)      # 36.04365338911715          M.roc_auc_score(yb, Pw[:,1])  # 0.0
 * M.precision_recall_fscore_support(yb, Pw.argmax(1), average="binary")  # 0 0 0
 * M.average_precision_score(yb, Pw[:,1])  # 0.5
 * yr = np.array([3.0, -0.5, 2.0, 7.0, 4.2]); pr = np.array([2.5, 0.0, 2.0, 8.0, 3.9])
 * M.mean_squared_error(yr, pr)   # 0.318     M.mean_squared_error(yr, pr, squared=False)
 *                                            # 0.5639148871948674
 * M.mean_absolute_error(yr, pr)  # 0.4600000000000001   M.r2_score(yr, pr)  # 0.9480256276150627
 * M.r2_score([2.,2,2], [2.,2,2.5])  # 0.0      M.r2_score([2.,2,2], [2.,2,2])  # 1.0
 */
#include "unit.h"

#include "core/err.h"
#include "ml/eval.h"

#define EPS 1e-12

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return NAN;
    return json_number_value(v);
}

static double cls(const json_t *o, size_t k, const char *key)
{
    return num(json_array_get(json_object_get(o, "per_class"), k), key);
}

static long long cmat(const json_t *o, size_t t, size_t p)
{
    return json_integer_value(
        json_array_get(json_array_get(json_object_get(o, "confusion_matrix"), t), p));
}

static const double YB[12] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 1};
static const double P1[12] = {0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.5, 0.5, 0.9, 0.3, 0.65, 0.35};

static void binary_probs(double *p)
{
    for (size_t i = 0; i < 12; i++) {
        p[2 * i] = 1 - P1[i];
        p[2 * i + 1] = P1[i];
    }
}

static void test_binary_with_ties(void)
{
    double p[24];
    binary_probs(p);
    const char *labels[2] = {"no", "yes"};
    json_t *o = NULL;
    CHECK_INT(eval_classification(YB, p, 12, 2, labels, &o), 0);
    CHECK_INT(num(o, "n"), 12);
    CHECK_NEAR(num(o, "accuracy"), 0.5833333333333334, EPS);
    CHECK_NEAR(num(o, "precision"), 0.75, EPS);
    CHECK_NEAR(num(o, "recall"), 0.42857142857142855, EPS);
    CHECK_NEAR(num(o, "f1"), 0.5454545454545454, EPS);
    CHECK_NEAR(num(o, "macro_precision"), 0.625, EPS);
    CHECK_NEAR(num(o, "macro_recall"), 0.6142857142857143, EPS);
    CHECK_NEAR(num(o, "macro_f1"), 0.5804195804195804, EPS);
    CHECK_NEAR(num(o, "weighted_precision"), 0.6458333333333334, EPS);
    CHECK_NEAR(num(o, "weighted_recall"), 0.5833333333333334, EPS);
    CHECK_NEAR(num(o, "weighted_f1"), 0.5745920745920746, EPS);
    CHECK_NEAR(num(o, "auc"), 0.7285714285714285, EPS);
    CHECK_NEAR(num(o, "pr_auc"), 0.7647392290249433, EPS);
    CHECK_NEAR(num(o, "logloss"), 0.6324720534187735, EPS);
    CHECK_NEAR(num(o, "brier"), 0.22562499999999996, EPS);
    CHECK_INT(cmat(o, 0, 0), 4);
    CHECK_INT(cmat(o, 0, 1), 1);
    CHECK_INT(cmat(o, 1, 0), 4);
    CHECK_INT(cmat(o, 1, 1), 3);
    CHECK_STR(json_string_value(json_object_get(o, "positive_class")), "yes");
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(o, "per_class"), 0), "class")),
              "no");
    CHECK_NEAR(cls(o, 0, "precision"), 0.5, EPS);
    CHECK_NEAR(cls(o, 0, "recall"), 0.8, EPS);
    CHECK_NEAR(cls(o, 0, "f1"), 0.6153846153846154, EPS);
    CHECK_INT(cls(o, 0, "support"), 5);
    CHECK_NEAR(cls(o, 1, "precision"), 0.75, EPS);
    CHECK_NEAR(cls(o, 1, "f1"), 0.5454545454545454, EPS);
    CHECK_INT(cls(o, 1, "support"), 7);

    /* calibration: scikit-learn lists the non-empty bins 0,1,2,3,4,6,7,8 */
    const json_t *cal = json_object_get(o, "calibration");
    CHECK_INT(json_array_size(cal), 10);
    static const int bins[8] = {0, 1, 2, 3, 4, 6, 7, 8};
    static const double obs[8] = {0, 0, 0, 1, .5, 1, 0, 1};
    static const double mp[8] = {.1, .2, .3, 0.3666666666666667, .5, .675, .8, .9};
    size_t total = 0;
    for (size_t b = 0; b < 8; b++) {
        const json_t *bin = json_array_get(cal, (size_t)bins[b]);
        CHECK_NEAR(num(bin, "observed_rate"), obs[b], EPS);
        CHECK_NEAR(num(bin, "mean_predicted"), mp[b], EPS);
        total += (size_t)num(bin, "count");
    }
    CHECK_INT(total, 12);
    CHECK_INT(num(json_array_get(cal, 5), "count"), 0);
    CHECK(json_is_null(json_object_get(json_array_get(cal, 5), "mean_predicted")));
    CHECK_NEAR(num(json_array_get(cal, 9), "upper"), 1.0, 0);
    json_decref(o);

    /* the single-number helpers agree */
    CHECK_NEAR(eval_accuracy(YB, p, 12, 2), 0.5833333333333334, EPS);
    CHECK_NEAR(eval_logloss(YB, p, 12, 2), 0.6324720534187735, EPS);
    CHECK_NEAR(eval_auc(YB, p, 12, 2), 0.7285714285714285, EPS);
}

static void test_multiclass_with_class_never_predicted(void)
{
    static const double y3[10] = {0, 1, 2, 2, 1, 0, 1, 2, 0, 1};
    static const double P3[30] = {.7, .2, .1, .2, .5, .3, .3, .4,  .3,  .5, .3,  .2,  .1, .8, .1,
                                  .6, .3, .1, .4, .4, .2, .2, .45, .35, .9, .05, .05, .3, .6, .1};
    json_t *o = NULL;
    CHECK_INT(eval_classification(y3, P3, 10, 3, NULL, &o), 0);
    CHECK_NEAR(num(o, "accuracy"), 0.6, EPS);
    CHECK_NEAR(num(o, "macro_precision"), 0.39999999999999997, EPS);
    CHECK_NEAR(num(o, "macro_recall"), 0.5833333333333334, EPS);
    CHECK_NEAR(num(o, "macro_f1"), 0.47222222222222215, EPS);
    CHECK_NEAR(num(o, "weighted_precision"), 0.41999999999999993, EPS);
    CHECK_NEAR(num(o, "weighted_recall"), 0.6, EPS);
    CHECK_NEAR(num(o, "weighted_f1"), 0.4916666666666666, EPS);
    CHECK_NEAR(num(o, "auc"), 0.9474206349206349, EPS);
    CHECK_NEAR(num(o, "pr_auc"), 0.8907407407407407, EPS);
    CHECK_NEAR(num(o, "logloss"), 0.7179501012135564, EPS);
    static const int cm[3][3] = {{3, 0, 0}, {1, 3, 0}, {1, 2, 0}};
    for (size_t t = 0; t < 3; t++)
        for (size_t p = 0; p < 3; p++)
            CHECK_INT(cmat(o, t, p), cm[t][p]);
    CHECK_NEAR(cls(o, 0, "f1"), 0.7499999999999999, EPS);
    CHECK_NEAR(cls(o, 1, "f1"), 0.6666666666666665, EPS);
    CHECK_NEAR(cls(o, 2, "precision"), 0.0, 0); /* never predicted: zero_division -> 0 */
    CHECK_NEAR(cls(o, 2, "f1"), 0.0, 0);
    CHECK_INT(json_integer_value(
                  json_object_get(json_array_get(json_object_get(o, "per_class"), 2), "class")),
              2);
    /* binary-only keys are absent */
    CHECK(json_object_get(o, "precision") == NULL);
    CHECK(json_object_get(o, "lift") == NULL);
    CHECK(json_object_get(o, "calibration") == NULL);
    json_decref(o);
    CHECK_NEAR(eval_auc(y3, P3, 10, 3), 0.9474206349206349, EPS);

    /* a 4th class neither present nor predicted stays out of the macro means (labels=None) */
    double P4[40];
    for (size_t i = 0; i < 10; i++) {
        memcpy(P4 + 4 * i, P3 + 3 * i, 3 * sizeof(double));
        P4[4 * i + 3] = 0;
    }
    CHECK_INT(eval_classification(y3, P4, 10, 4, NULL, &o), 0);
    CHECK_NEAR(num(o, "macro_precision"), 0.39999999999999997, EPS);
    CHECK_NEAR(num(o, "macro_f1"), 0.47222222222222215, EPS);
    CHECK_INT(json_array_size(json_object_get(o, "per_class")), 4);
    CHECK_INT(cls(o, 3, "support"), 0);
    CHECK_NEAR(num(o, "auc"), 0.9474206349206349, EPS); /* class 3: AUC undefined, skipped */
    json_decref(o);
}

static void test_perfect_and_worst(void)
{
    static const double yb[4] = {0, 1, 0, 1};
    static const double pp[8] = {1, 0, 0, 1, 1, 0, 0, 1};
    static const double pw[8] = {0, 1, 1, 0, 0, 1, 1, 0};
    json_t *o = NULL;
    CHECK_INT(eval_classification(yb, pp, 4, 2, NULL, &o), 0);
    CHECK_NEAR(num(o, "logloss"), 2.2204460492503136e-16, 1e-30);
    CHECK_NEAR(num(o, "auc"), 1.0, 0);
    CHECK_NEAR(num(o, "pr_auc"), 1.0, 0);
    CHECK_NEAR(num(o, "accuracy"), 1.0, 0);
    CHECK_NEAR(num(o, "f1"), 1.0, 0);
    CHECK_NEAR(num(o, "brier"), 0.0, 0);
    json_decref(o);
    CHECK_INT(eval_classification(yb, pw, 4, 2, NULL, &o), 0);
    CHECK_NEAR(num(o, "logloss"), 36.04365338911715, 1e-12);
    CHECK_NEAR(num(o, "auc"), 0.0, 0);
    CHECK_NEAR(num(o, "pr_auc"), 0.5, EPS);
    CHECK_NEAR(num(o, "precision"), 0.0, 0);
    CHECK_NEAR(num(o, "recall"), 0.0, 0);
    CHECK_NEAR(num(o, "f1"), 0.0, 0);
    CHECK_NEAR(num(o, "brier"), 1.0, 0);
    json_decref(o);
}

static void test_lift_and_gains(void)
{
    /* 20 rows, scores descending by row, positives at rows 0, 1, 2, 5, 10 (rate 0.25) */
    double y[20], p[40];
    for (size_t i = 0; i < 20; i++) {
        double s = 1 - (double)i / 20;
        p[2 * i] = 1 - s;
        p[2 * i + 1] = s;
        y[i] = (i == 0 || i == 1 || i == 2 || i == 5 || i == 10) ? 1 : 0;
    }
    json_t *o = NULL;
    CHECK_INT(eval_classification(y, p, 20, 2, NULL, &o), 0);
    const json_t *lift = json_object_get(o, "lift"), *gains = json_object_get(o, "gains");
    CHECK_INT(json_array_size(lift), 10);
    static const double l[10] = {4, 2, 2, 0, 0, 2, 0, 0, 0, 0};
    static const double cl[10] = {4, 3, 8.0 / 3, 2, 1.6, 5.0 / 3, 10.0 / 7, 1.25, 10.0 / 9, 1};
    static const double g[10] = {40, 60, 80, 80, 80, 100, 100, 100, 100, 100};
    for (size_t d = 0; d < 10; d++) {
        const json_t *e = json_array_get(lift, d), *q = json_array_get(gains, d);
        CHECK_INT(num(e, "decile"), (long long)d + 1);
        CHECK_INT(num(e, "rows"), 2);
        CHECK_NEAR(num(e, "lift"), l[d], EPS);
        CHECK_NEAR(num(e, "cumulative_lift"), cl[d], EPS);
        CHECK_NEAR(num(q, "gain_pct"), g[d], EPS);
        CHECK_NEAR(num(q, "rows_pct"), 10.0 * (double)(d + 1), EPS);
    }
    json_decref(o);

    /* all scores tied: groups follow row order; 7 rows make groups of 0 or 1 row */
    double yt[7] = {1, 0, 0, 0, 0, 0, 1}, pt[14];
    for (size_t i = 0; i < 7; i++)
        pt[2 * i] = pt[2 * i + 1] = 0.5;
    CHECK_INT(eval_classification(yt, pt, 7, 2, NULL, &o), 0);
    lift = json_object_get(o, "lift");
    size_t rows = 0;
    for (size_t d = 0; d < 10; d++)
        rows += (size_t)num(json_array_get(lift, d), "rows");
    CHECK_INT(rows, 7);
    CHECK_INT(num(json_array_get(lift, 0), "rows"), 0); /* 0 * 7 / 10 .. 1 * 7 / 10 */
    CHECK(json_is_null(json_object_get(json_array_get(lift, 0), "lift")));
    CHECK_INT(num(json_array_get(lift, 1), "positives"), 1); /* row 0 */
    CHECK_NEAR(num(json_array_get(json_object_get(o, "gains"), 9), "gain_pct"), 100, 0);
    CHECK_NEAR(num(o, "auc"), 0.5, 0);
    json_decref(o);
}

static void test_missing_targets_and_refusals(void)
{
    double y[3] = {NAN, 1, 0}, p[6] = {0.5, 0.5, 0.2, 0.8, 0.9, 0.1};
    json_t *o = NULL;
    CHECK_INT(eval_classification(y, p, 3, 2, NULL, &o), 0);
    CHECK_INT(num(o, "n"), 2);
    CHECK_NEAR(num(o, "accuracy"), 1.0, 0);
    json_decref(o);
    y[0] = 2;
    CHECK_INT(eval_classification(y, p, 3, 2, NULL, &o), AIOPS_EINVAL);
    CHECK(o == NULL);
    CHECK(isnan(eval_logloss(y, p, 3, 2)));
    y[0] = 0;
    p[0] = NAN;
    CHECK_INT(eval_classification(y, p, 3, 2, NULL, &o), AIOPS_EINVAL);
    CHECK_INT(eval_classification(y, p, 3, 1, NULL, &o), AIOPS_EINVAL);
    /* one class only: AUC undefined */
    double y1[2] = {1, 1}, p1[4] = {0.3, 0.7, 0.6, 0.4};
    CHECK_INT(eval_classification(y1, p1, 2, 2, NULL, &o), 0);
    CHECK(json_is_null(json_object_get(o, "auc")));
    json_decref(o);
    /* no rows at all */
    CHECK_INT(eval_classification(y1, p1, 0, 2, NULL, &o), 0);
    CHECK_INT(num(o, "n"), 0);
    CHECK(json_is_null(json_object_get(o, "accuracy")));
    json_decref(o);
}

static void test_regression(void)
{
    static const double yr[5] = {3.0, -0.5, 2.0, 7.0, 4.2};
    static const double pr[5] = {2.5, 0.0, 2.0, 8.0, 3.9};
    json_t *o = NULL;
    CHECK_INT(eval_regression(yr, pr, 5, &o), 0);
    CHECK_NEAR(num(o, "mse"), 0.318, EPS);
    CHECK_NEAR(num(o, "rmse"), 0.5639148871948674, EPS);
    CHECK_NEAR(num(o, "mae"), 0.4600000000000001, EPS);
    CHECK_NEAR(num(o, "r2"), 0.9480256276150627, EPS);
    json_decref(o);
    CHECK_NEAR(eval_rmse(yr, pr, 5), 0.5639148871948674, EPS);
    CHECK_NEAR(eval_r2(yr, pr, 5), 0.9480256276150627, EPS);
    CHECK_NEAR(eval_mae(yr, pr, 5), 0.4600000000000001, EPS);
    static const double yc[3] = {2, 2, 2}, pc[3] = {2, 2, 2.5}, pe[3] = {2, 2, 2};
    CHECK_NEAR(eval_r2(yc, pc, 3), 0.0, 0);
    CHECK_NEAR(eval_r2(yc, pe, 3), 1.0, 0);
    double yn[3] = {NAN, 1, 2}, pn[3] = {NAN, 1, 3};
    CHECK_NEAR(eval_mse(yn, pn, 3), 0.5, 0); /* the NaN-target row is skipped */
    pn[1] = INFINITY;
    CHECK_INT(eval_regression(yn, pn, 3, &o), AIOPS_EINVAL);
    CHECK(isnan(eval_rmse(yn, pn, 3)));
}

static void test_average_precision_helper(void)
{
    /* skipped labels (2) and NaN scores do not count */
    double s[6] = {0.9, 0.8, NAN, 0.7, 0.6, 0.5};
    uint8_t t[6] = {1, 0, 1, 2, 1, 0};
    /* order .9(1) .8(0) .6(1) .5(0): AP = .5 * 1 + .5 * 2/3 */
    CHECK_NEAR(eval_average_precision(s, t, 6), 0.5 + 1.0 / 3, EPS);
    uint8_t none[6] = {0, 0, 0, 0, 0, 0};
    CHECK(isnan(eval_average_precision(s, none, 6)));
}

static void test_roc_and_pr_curves(void)
{
    uint8_t y01[12];
    for (int i = 0; i < 12; i++)
        y01[i] = (uint8_t)YB[i];
    static const double fpr[11] = {0, 0, .2, .2, .2, .4, .4, .4, .6, .8, 1};
    static const double tpr[11] = {0, 1 / 7., 1 / 7., 2 / 7., 3 / 7., 4 / 7., 5 / 7., 1, 1, 1, 1};
    static const double prec[11] = {1, 1, .5, 2 / 3., .75, 2 / 3., 5 / 7., 7 / 9., .7, 7 / 11.,
                                    7 / 12.};
    struct eval_curve roc, pr;
    CHECK_INT(eval_curves(P1, y01, 12, 100, &roc, &pr), 0);
    CHECK_INT(roc.n, 11);
    CHECK_INT(pr.n, 11);
    for (size_t i = 0; i < 11 && roc.n == 11 && pr.n == 11; i++) {
        CHECK_NEAR(roc.x[i], fpr[i], EPS);
        CHECK_NEAR(roc.y[i], tpr[i], EPS);
        CHECK_NEAR(pr.x[i], tpr[i], EPS);
        CHECK_NEAR(pr.y[i], prec[i], EPS);
    }
    eval_curve_free(&roc);
    eval_curve_free(&pr);
    /* thinned: the first and last points kept, evenly spaced between */
    CHECK_INT(eval_curves(P1, y01, 12, 3, &roc, &pr), 0);
    CHECK_INT(roc.n, 3);
    CHECK_NEAR(roc.x[0], 0, EPS);
    CHECK_NEAR(roc.x[1], fpr[5], EPS);
    CHECK_NEAR(roc.x[2], 1, EPS);
    CHECK_NEAR(pr.y[2], 7 / 12., EPS);
    eval_curve_free(&roc);
    eval_curve_free(&pr);
    /* one class only: no curve */
    uint8_t ones[3] = {1, 1, 1};
    CHECK_INT(eval_curves(P1, ones, 3, 10, &roc, &pr), AIOPS_EINVAL);
    CHECK_INT(roc.n, 0);
}

UNIT_MAIN(UNIT(test_binary_with_ties), UNIT(test_roc_and_pr_curves), UNIT(test_multiclass_with_class_never_predicted),
          UNIT(test_perfect_and_worst), UNIT(test_lift_and_gains),
          UNIT(test_missing_targets_and_refusals), UNIT(test_regression),
          UNIT(test_average_precision_helper))
