/* segments.c -- clustering metrics and cluster descriptions (see segments.h). */
#include "ml/segments.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/rand.h"
#include "math/stats.h"
#include "ml/eval.h"

/* Traits named per cluster, and how far from the overall a trait must be to count. */
#define MAX_TRAITS 3
#define MIN_TRAIT_SCORE 0.25

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int segments_truth(const struct table *t, long col, int32_t **codes, size_t *k)
{
    const struct column *c = &t->cols[col];
    size_t n = t->nrows;
    *k = 0;
    if ((*codes = malloc((n ? n : 1) * sizeof **codes)) == NULL)
        return AIOPS_ENOMEM;
    if (c->storage == COL_DICT) {
        for (size_t i = 0; i < n; i++)
            (*codes)[i] = c->codes[i] == TABLE_MISSING ? -1 : (int32_t)c->codes[i];
        *k = c->dict.count;
        return AIOPS_OK;
    }
    /* numbers: their distinct values in order */
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL) {
        free(*codes);
        *codes = NULL;
        return AIOPS_ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(c->f64[i]))
            v[m++] = c->f64[i];
    qsort(v, m, sizeof *v, cmp_f64);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (u == 0 || v[i] != v[u - 1])
            v[u++] = v[i];
    for (size_t i = 0; i < n; i++) {
        double x = c->f64[i];
        if (isnan(x)) {
            (*codes)[i] = -1;
            continue;
        }
        (*codes)[i] = (int32_t)stats_count_below(v, u, x);
    }
    free(v);
    *k = u;
    return AIOPS_OK;
}

int segments_metrics(const struct model *m, const struct fmatrix *x, const int32_t *labels,
                     const int32_t *truth, size_t ktruth, json_t **out)
{
    *out = NULL;
    const struct learner *l = m->learner;
    size_t k = l->clusters(m->algo), n = x->nrows, dim = 0;
    double *z = NULL;
    int rv = l->embed(m->algo, x, NULL, n, &z, &dim);
    double *mean = calloc(k * (dim ? dim : 1), sizeof *mean);
    size_t *size = calloc(k, sizeof *size);
    size_t ns = n < SEGMENTS_SILHOUETTE_SAMPLE ? n : SEGMENTS_SILHOUETTE_SAMPLE;
    size_t *pick = malloc((n ? n : 1) * sizeof *pick);
    double *sz = malloc((ns ? ns : 1) * (dim ? dim : 1) * sizeof *sz);
    int32_t *sl = malloc((ns ? ns : 1) * sizeof *sl);
    if (rv == 0 && (!mean || !size || !pick || !sz || !sl))
        rv = AIOPS_ENOMEM;
    double inertia = 0, silhouette = NAN;
    if (rv == 0) {
        for (size_t i = 0; i < n; i++) {
            size_t c = (size_t)labels[i];
            size[c]++;
            for (size_t t = 0; t < dim; t++)
                mean[c * dim + t] += z[i * dim + t];
        }
        for (size_t c = 0; c < k; c++)
            for (size_t t = 0; t < dim; t++)
                mean[c * dim + t] /= size[c] ? (double)size[c] : 1;
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < dim; t++) {
                double d = z[i * dim + t] - mean[(size_t)labels[i] * dim + t];
                inertia += d * d;
            }
        /* a fixed-seed sample: the same model and rows give the same silhouette */
        struct rand_xoshiro rng;
        rand_xoshiro_seed(&rng, 20240601);
        for (size_t i = 0; i < n; i++)
            pick[i] = i;
        for (size_t i = 0; i < ns; i++) {
            size_t r = i + (size_t)rand_xoshiro_below(&rng, n - i), t = pick[i];
            pick[i] = pick[r], pick[r] = t;
            memcpy(sz + i * dim, z + pick[i] * dim, dim * sizeof *sz);
            sl[i] = labels[pick[i]];
        }
        silhouette = eval_silhouette(sz, ns, dim, sl, k);
    }
    json_t *o = rv == 0 ? json_object() : NULL, *sizes = json_array();
    if (rv == 0 && (o == NULL || sizes == NULL))
        rv = AIOPS_ENOMEM;
    if (rv == 0) {
        for (size_t c = 0; c < k; c++)
            json_array_append_new(sizes, json_integer((json_int_t)size[c]));
        json_object_set_new(o, "rows", json_integer((json_int_t)n));
        json_object_set_new(o, "clusters", json_integer((json_int_t)k));
        json_object_set(o, "sizes", sizes);
        json_object_set_new(o, "inertia", jsonx_num(inertia, 0));
        json_object_set_new(o, "silhouette",
                            isnan(silhouette) ? json_null() : jsonx_num(silhouette, 0));
        json_object_set_new(o, "silhouette_rows", json_integer((json_int_t)ns));
        if (truth != NULL) {
            json_object_set_new(o, "adjusted_rand",
                                jsonx_num(eval_adjusted_rand(truth, ktruth, labels, k, n), 0));
            json_object_set_new(o, "nmi", jsonx_num(eval_nmi(truth, ktruth, labels, k, n), 0));
        }
        *out = o;
        o = NULL;
    }
    json_decref(o);
    json_decref(sizes);
    free(z), free(mean), free(size), free(pick), free(sz), free(sl);
    return rv;
}

/* --- descriptions ----------------------------------------------------------------------- */

struct trait {
    double score;                    /* how far from all rows, in standard deviations */
    char ko[192], en[192];           /* for the name */
    char ko_long[256], en_long[256]; /* for the description */
};

static void add_trait(struct trait *top, size_t *ntop, const struct trait *t)
{
    if (t->score < MIN_TRAIT_SCORE)
        return;
    size_t at = *ntop;
    while (at > 0 && top[at - 1].score < t->score)
        at--;
    if (at >= MAX_TRAITS)
        return;
    size_t last = *ntop < MAX_TRAITS ? *ntop : MAX_TRAITS - 1;
    memmove(top + at + 1, top + at, (last - at) * sizeof *top);
    top[at] = *t;
    if (*ntop < MAX_TRAITS)
        (*ntop)++;
}

/* Cuts a partial UTF-8 sequence off the end of s, which snprintf may have truncated in the
 * middle of a character (a long column name): the text stays valid UTF-8 for JSON. */
static void utf8_clip(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

static void trait_clip(struct trait *t)
{
    utf8_clip(t->ko);
    utf8_clip(t->en);
    utf8_clip(t->ko_long);
    utf8_clip(t->en_long);
}

/* A number as people read it: whole numbers without decimals, others to 3 digits. */
static void fmt_num(char *b, size_t n, double v)
{
    if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15)
        snprintf(b, n, "%.0f", v);
    else
        snprintf(b, n, "%.3g", v);
}

static void numeric_trait(const struct feature *f, double cm, double all, double sd,
                          struct trait *t)
{
    t->score = sd > 0 ? fabs(cm - all) / sd : 0;
    int high = cm > all;
    char a[32], b[32];
    fmt_num(a, sizeof a, cm);
    fmt_num(b, sizeof b, all);
    snprintf(t->ko, sizeof t->ko, "%s %s", f->name, high ? "높음" : "낮음");
    snprintf(t->en, sizeof t->en, "%s %s", high ? "high" : "low", f->name);
    snprintf(t->ko_long, sizeof t->ko_long, "%s 평균 %s(전체 %s)", f->name, a, b);
    snprintf(t->en_long, sizeof t->en_long, "average %s %s (all customers %s)", f->name, a, b);
    trait_clip(t);
}

static void category_trait(const struct feature *f, uint32_t code, double pc, double pa,
                           struct trait *t)
{
    double sd = sqrt(pa * (1 - pa));
    t->score = sd > 0 ? (pc - pa) / sd : 0;
    const char *cat = strdict_str(&f->cats, code);
    snprintf(t->ko, sizeof t->ko, "%s %s", f->name, cat);
    snprintf(t->en, sizeof t->en, "%s %s", f->name, cat);
    snprintf(t->ko_long, sizeof t->ko_long, "%s %s 비율 %.0f%%(전체 %.0f%%)", f->name, cat,
             100 * pc, 100 * pa);
    snprintf(t->en_long, sizeof t->en_long, "%s is %s for %.0f%% (all customers %.0f%%)", f->name,
             cat, 100 * pc, 100 * pa);
    trait_clip(t);
}

/* Joins the traits' texts (field at byte offset off of struct trait) with sep. */
static void join_traits(const struct trait *top, size_t ntop, size_t off, const char *sep,
                        char *out, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < ntop; i++) {
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s%s", i ? sep : "", (const char *)&top[i] + off);
    }
    utf8_clip(out);
}

/* Per cluster and feature: the mean of a numeric feature, the category shares of a
 * categorical one, over its rows with a value. */
static json_t *describe_cluster(const struct model *m, const struct fmatrix *x,
                                const int32_t *labels, size_t c, size_t size, double *share_all,
                                double *share_c)
{
    const struct feature_set *fs = &m->features;
    struct trait top[MAX_TRAITS], t;
    size_t ntop = 0, n = x->nrows;
    json_t *centroid = json_object();
    for (size_t j = 0; j < fs->n; j++) {
        const struct feature *f = &fs->f[j];
        const double *col = x->x + j * n;
        if (f->kind == FEAT_NUMERIC) {
            double s = 0, ss = 0, cnt = 0, sc = 0, cc = 0;
            for (size_t i = 0; i < n; i++) {
                if (isnan(col[i]))
                    continue;
                s += col[i], cnt++;
                if (labels[i] == (int32_t)c)
                    sc += col[i], cc++;
            }
            double all = cnt ? s / cnt : 0, cm = cc ? sc / cc : all;
            for (size_t i = 0; i < n; i++)
                if (!isnan(col[i]))
                    ss += (col[i] - all) * (col[i] - all);
            numeric_trait(f, cm, all, cnt ? sqrt(ss / cnt) : 0, &t);
            add_trait(top, &ntop, &t);
            json_object_set_new(centroid, f->name, jsonx_num(cm, 0));
            continue;
        }
        uint32_t ncat = f->cats.count;
        memset(share_all, 0, ncat * sizeof *share_all);
        memset(share_c, 0, ncat * sizeof *share_c);
        double cnt = 0, cc = 0;
        for (size_t i = 0; i < n; i++) {
            double v = col[i];
            if (!(v >= 0 && v < (double)ncat))
                continue;
            share_all[(size_t)v]++, cnt++;
            if (labels[i] == (int32_t)c)
                share_c[(size_t)v]++, cc++;
        }
        uint32_t dom = 0;
        for (uint32_t k = 0; k < ncat; k++) {
            share_all[k] /= cnt ? cnt : 1;
            share_c[k] /= cc ? cc : 1;
            if (share_c[k] > share_c[dom])
                dom = k;
        }
        /* the category most over-represented names the trait; the most common is the centre */
        uint32_t over = 0;
        double best = -INFINITY;
        for (uint32_t k = 0; k < ncat; k++) {
            double sd = sqrt(share_all[k] * (1 - share_all[k]));
            double sc = sd > 0 ? (share_c[k] - share_all[k]) / sd : 0;
            if (sc > best)
                best = sc, over = k;
        }
        if (ncat > 0) {
            category_trait(f, over, share_c[over], share_all[over], &t);
            add_trait(top, &ntop, &t);
            json_object_set_new(centroid, f->name, json_string(strdict_str(&f->cats, dom)));
        }
    }
    char name_ko[600], name_en[600], d_ko[800], d_en[800], desc_ko[1000], desc_en[1000];
    double pct = n ? 100.0 * (double)size / (double)n : 0;
    if (ntop == 0) {
        snprintf(name_ko, sizeof name_ko, "평균적인 고객 %zu", c + 1);
        snprintf(name_en, sizeof name_en, "typical customers %zu", c + 1);
        snprintf(d_ko, sizeof d_ko, "전체와 뚜렷한 차이가 없음");
        snprintf(d_en, sizeof d_en, "no clear difference from all customers");
    } else {
        join_traits(top, ntop, offsetof(struct trait, ko), " · ", name_ko, sizeof name_ko);
        join_traits(top, ntop, offsetof(struct trait, en), " · ", name_en, sizeof name_en);
        join_traits(top, ntop, offsetof(struct trait, ko_long), ", ", d_ko, sizeof d_ko);
        join_traits(top, ntop, offsetof(struct trait, en_long), "; ", d_en, sizeof d_en);
    }
    snprintf(desc_ko, sizeof desc_ko, "고객 %zu명(%.1f%%)의 군집: %s.", size, pct, d_ko);
    snprintf(desc_en, sizeof desc_en, "%zu customers (%.1f%%): %s.", size, pct, d_en);
    utf8_clip(desc_ko);
    utf8_clip(desc_en);
    return json_pack("{s:I, s:I, s:o, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)c, "size",
                     (json_int_t)size, "share", jsonx_num(pct / 100, 0), "name", name_ko,
                     "description", desc_ko, "name_en", name_en, "description_en", desc_en,
                     "centroid", centroid);
}

int segments_describe(const struct model *m, const struct fmatrix *x, const int32_t *labels,
                      json_t **out)
{
    size_t k = m->learner->clusters(m->algo), maxcat = 1;
    for (size_t j = 0; j < m->features.n; j++)
        if (m->features.f[j].cats.count > maxcat)
            maxcat = m->features.f[j].cats.count;
    size_t *size = calloc(k, sizeof *size);
    double *sa = malloc(maxcat * sizeof *sa), *sc = malloc(maxcat * sizeof *sc);
    json_t *list = json_array();
    int rv = size && sa && sc && list ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t i = 0; rv == 0 && i < x->nrows; i++)
        size[labels[i]]++;
    for (size_t c = 0; rv == 0 && c < k; c++) {
        json_t *o = describe_cluster(m, x, labels, c, size[c], sa, sc);
        if (o == NULL || json_array_append_new(list, o) != 0)
            rv = AIOPS_ENOMEM;
    }
    free(size), free(sa), free(sc);
    if (rv != 0) {
        json_decref(list);
        list = NULL;
    }
    *out = list;
    return rv;
}
