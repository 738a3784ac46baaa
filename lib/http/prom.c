/* prom.c -- Prometheus metrics registry (see prom.h).
 *
 * Layout: a registry holds a list of families under one mutex. A family finds its
 * children through an open-addressing table of atomic pointers that is sized once
 * (2 * PROM_MAX_CHILDREN slots) and never rehashed, and children are never removed, so
 * lookups read it without a lock; only inserting takes the family mutex. A child is one
 * allocation: its counters (atomics; doubles are kept as their bit patterns and updated by
 * compare-and-swap) followed by copies of its label values. */

#include "http/prom.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/numparse.h"

const double prom_default_buckets[PROM_DEFAULT_BUCKETS_N] = {
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10};

#define TABLE_SLOTS 2048 /* power of two, >= 2 * PROM_MAX_CHILDREN: probes stay short */

struct prom_child {
    struct prom_family *fam;
    struct prom_child *next; /* creation order; written under the family mutex */
    uint64_t hash;
    atomic_int used;        /* the overflow child is rendered only once used */
    _Atomic uint64_t value; /* counter/gauge value or histogram sum, as double bits */
    const char *values[PROM_MAX_LABELS];
    _Atomic uint64_t counts[]; /* histogram: per-bucket (not cumulative), +Inf last */
};

struct prom_family {
    struct prom_family *next;
    char *name;
    char *help;
    enum prom_type type;
    size_t nlabels;
    char *labels[PROM_MAX_LABELS];
    double *bounds; /* histogram upper bounds, ascending, +Inf implied after the last */
    size_t nbounds;
    double (*fn)(void *); /* gauge_fn */
    void *fn_arg;

    pthread_mutex_t mu; /* guards inserting children */
    size_t nchildren;
    struct prom_child *first, *last;
    struct prom_child *overflow;
    _Atomic(struct prom_child *) *slots; /* TABLE_SLOTS entries, NULL for label-less */
    struct prom_child *only;             /* the child of a label-less family */
};

struct prom_registry {
    pthread_mutex_t mu;
    struct prom_family *first, *last;
};

/* ---- doubles in atomics ------------------------------------------------------------- */

static uint64_t dbl_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static double bits_dbl(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void atomic_add_dbl(_Atomic uint64_t *p, double d)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    uint64_t nw;
    do {
        nw = dbl_bits(bits_dbl(old) + d);
    } while (!atomic_compare_exchange_weak_explicit(p, &old, nw, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static double load_dbl(const _Atomic uint64_t *p)
{
    return bits_dbl(atomic_load_explicit((_Atomic uint64_t *)p, memory_order_relaxed));
}

void prom_fmt_double(double v, char out[PROM_DBL_MAX])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    fmt_double_shortest(out, PROM_DBL_MAX, v);
}

/* ---- name validation ------------------------------------------------------------------ */

static const char *type_name(enum prom_type t)
{
    switch (t) {
    case PROM_COUNTER:
        return "counter";
    case PROM_GAUGE:
        return "gauge";
    case PROM_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static int is_alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* The data model: [a-zA-Z_:][a-zA-Z0-9_:]* (metric) or [a-zA-Z_][a-zA-Z0-9_]* (label). */
static int valid_name(const char *s, int colon_ok)
{
    if (s == NULL || *s == '\0' || strlen(s) > 200)
        return 0;
    if (!is_alpha_((unsigned char)s[0]) && !(colon_ok && s[0] == ':'))
        return 0;
    for (const char *p = s + 1; *p; p++) {
        int c = (unsigned char)*p;
        if (!is_alpha_(c) && !is_digit(c) && !(colon_ok && c == ':'))
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int token_in(const char *tok, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], tok, n) == 0)
            return 1;
    return 0;
}

/* What promtool's linter (client_golang promlint) objects to in a name, or NULL. Checked
 * token by token ('_'-separated) like promlint does. */
static const char *lint_name(const char *name, enum prom_type type)
{
    static const char *const abbrev[] = {"s",  "ms", "us", "ns", "sec", "b", "kb",
                                         "mb", "gb", "tb", "pb", "m",   "h", "d"};
    static const char *const base[] = {"amperes", "bytes",  "celsius", "grams",   "joules",
                                       "kelvin",  "meters", "metres",  "seconds", "volts"};
    static const char *const nonbase[] = {"minutes",    "hours",    "days",   "weeks", "kelvins",
                                          "fahrenheit", "rankine",  "inches", "yards", "miles",
                                          "bits",       "calories", "pounds", "ounces"};
    static const char *const prefixes[] = {"pico", "nano",  "micro", "milli", "centi", "deci",
                                           "deca", "hecto", "kilo",  "kibi",  "mega",  "mibi",
                                           "giga", "gibi",  "tera",  "tebi",  "peta",  "pebi"};

    if (strchr(name, ':') != NULL)
        return "':' is reserved for recording rules";
    for (const char *p = name; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return "use snake_case (no upper case)";
    if (type == PROM_COUNTER && !ends_with(name, "_total"))
        return "a counter's name must end in \"_total\"";
    if (type != PROM_COUNTER && ends_with(name, "_total"))
        return "only counters end in \"_total\"";
    if (ends_with(name, "_bucket") || ends_with(name, "_count") || ends_with(name, "_sum"))
        return "\"_bucket\", \"_count\" and \"_sum\" are reserved suffixes";
    /* promlint: the type's own name as a "_<type>_" infix or "_<type>" suffix */
    char infix[16];
    snprintf(infix, sizeof infix, "_%s_", type_name(type));
    int typed = strstr(name, infix) != NULL;
    infix[strlen(infix) - 1] = '\0';
    if (typed || ends_with(name, infix))
        return "the metric type does not belong in its name";
    const char *tok = name;
    while (*tok) {
        size_t n = strcspn(tok, "_");
        if (n > 0) {
            if (token_in(tok, n, abbrev, ARRAY_LEN(abbrev)))
                return "abbreviated unit: spell it out in base units (seconds, bytes)";
            if (token_in(tok, n, nonbase, ARRAY_LEN(nonbase)))
                return "non-base unit: use seconds, bytes, meters, grams...";
            for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
                size_t pl = strlen(prefixes[i]);
                if (n > pl && memcmp(tok, prefixes[i], pl) == 0 &&
                    (token_in(tok + pl, n - pl, base, ARRAY_LEN(base)) ||
                     token_in(tok + pl, n - pl, nonbase, ARRAY_LEN(nonbase))))
                    return "prefixed unit: use the base unit (seconds, bytes)";
            }
        }
        tok += n;
        if (*tok == '_')
            tok++;
    }
    return NULL;
}

static const char *check_label(const char *l)
{
    if (!valid_name(l, 0))
        return "invalid label name";
    if (l[0] == '_' && l[1] == '_')
        return "label names starting with \"__\" are reserved";
    if (strcmp(l, "le") == 0 || strcmp(l, "quantile") == 0)
        return "\"le\" and \"quantile\" are reserved label names";
    for (const char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            return "use snake_case label names";
    return NULL;
}

/* ---- children ------------------------------------------------------------------------- */

static size_t child_counts_n(const struct prom_family *f)
{
    return f->type == PROM_HISTOGRAM ? f->nbounds + 1 : 0;
}

/* FNV-1a over the values with a separator that cannot occur in UTF-8 text. *toolong is set
 * when a value is over PROM_MAX_VALUE_LEN. */
static uint64_t hash_values(const struct prom_family *f, const char *const *values, int *toolong)
{
    uint64_t h = 1469598103934665603ull;
    *toolong = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = values[i] ? values[i] : "";
        size_t n = 0;
        for (; v[n] != '\0'; n++) {
            if (n >= PROM_MAX_VALUE_LEN) {
                *toolong = 1;
                return 0;
            }
            h = (h ^ (uint8_t)v[n]) * 1099511628211ull;
        }
        h = (h ^ 0xffu) * 1099511628211ull;
    }
    return h;
}

static int values_equal(const struct prom_family *f, const struct prom_child *ch,
                        const char *const *values)
{
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(ch->values[i], values[i] ? values[i] : "") != 0)
            return 0;
    return 1;
}

static struct prom_child *child_alloc(struct prom_family *f, const char *const *values,
                                      uint64_t hash)
{
    size_t ncounts = child_counts_n(f);
    size_t head = sizeof(struct prom_child) + ncounts * sizeof(_Atomic uint64_t);
    size_t strbytes = 0;
    for (size_t i = 0; i < f->nlabels; i++)
        strbytes += strlen(values[i] ? values[i] : "") + 1;
    struct prom_child *ch = calloc(1, head + strbytes);
    if (ch == NULL)
        return NULL;
    ch->fam = f;
    ch->hash = hash;
    atomic_init(&ch->used, 0);
    atomic_init(&ch->value, dbl_bits(0.0));
    for (size_t i = 0; i < ncounts; i++)
        atomic_init(&ch->counts[i], 0);
    char *s = (char *)ch + head;
    for (size_t i = 0; i < PROM_MAX_LABELS; i++) {
        if (i >= f->nlabels) {
            ch->values[i] = "";
            continue;
        }
        const char *v = values[i] ? values[i] : "";
        size_t n = strlen(v) + 1;
        memcpy(s, v, n);
        ch->values[i] = s;
        s += n;
    }
    return ch;
}

static void child_link(struct prom_family *f, struct prom_child *ch)
{
    if (f->last)
        f->last->next = ch;
    else
        f->first = ch;
    f->last = ch;
}

static struct prom_child *overflow_child(struct prom_family *f)
{
    atomic_store_explicit(&f->overflow->used, 1, memory_order_relaxed);
    return f->overflow;
}

static struct prom_child *probe(struct prom_family *f, const char *const *values, uint64_t h,
                                size_t *free_slot)
{
    for (size_t i = (size_t)h & (TABLE_SLOTS - 1);; i = (i + 1) & (TABLE_SLOTS - 1)) {
        struct prom_child *ch = atomic_load_explicit(&f->slots[i], memory_order_acquire);
        if (ch == NULL) {
            *free_slot = i;
            return NULL;
        }
        if (ch->hash == h && values_equal(f, ch, values))
            return ch;
    }
}

struct prom_child *prom_child(struct prom_family *f, const char *const *values)
{
    if (f == NULL || f->fn != NULL)
        return NULL;
    if (f->nlabels == 0)
        return f->only;
    if (values == NULL) /* a programming error, but metrics must never crash a service */
        return overflow_child(f);
    int toolong;
    uint64_t h = hash_values(f, values, &toolong);
    if (toolong)
        return overflow_child(f);
    size_t slot;
    struct prom_child *ch = probe(f, values, h, &slot);
    if (ch != NULL)
        return ch;

    /* First use of this combination: insert under the lock (re-probing, since another
     * thread may have inserted it meanwhile). */
    pthread_mutex_lock(&f->mu);
    ch = probe(f, values, h, &slot);
    if (ch == NULL && f->nchildren < PROM_MAX_CHILDREN) {
        int ok = 1;
        for (size_t i = 0; i < f->nlabels && ok; i++)
            ok = values[i] == NULL || utf8_valid(values[i], strlen(values[i]), NULL);
        if (ok && (ch = child_alloc(f, values, h)) != NULL) {
            child_link(f, ch);
            f->nchildren++;
            atomic_store_explicit(&f->slots[slot], ch, memory_order_release);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return ch != NULL ? ch : overflow_child(f);
}

void prom_child_inc(struct prom_child *ch, double delta)
{
    if (ch == NULL)
        return;
    if (ch->fam->type == PROM_COUNTER) {
        if (!(delta >= 0)) /* also rejects NaN */
            return;
    } else if (ch->fam->type != PROM_GAUGE) {
        return;
    }
    atomic_add_dbl(&ch->value, delta);
}

void prom_child_set(struct prom_child *ch, double v)
{
    if (ch == NULL || ch->fam->type != PROM_GAUGE)
        return;
    atomic_store_explicit(&ch->value, dbl_bits(v), memory_order_relaxed);
}

void prom_child_observe(struct prom_child *ch, double v)
{
    if (ch == NULL || ch->fam->type != PROM_HISTOGRAM || isnan(v))
        return;
    const struct prom_family *f = ch->fam;
    /* first bound >= v; nbounds (the +Inf bucket) when none */
    size_t lo = 0, hi = f->nbounds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->bounds[mid] >= v)
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&ch->counts[lo], 1, memory_order_relaxed);
    atomic_add_dbl(&ch->value, v);
}

void prom_child_set_histogram(struct prom_child *ch, const uint64_t *cumulative, double sum)
{
    if (ch == NULL || ch->fam->type != PROM_HISTOGRAM || cumulative == NULL)
        return;
    uint64_t below = 0;
    for (size_t b = 0; b <= ch->fam->nbounds; b++) {
        /* counts that shrink (a torn read of the source) are taken as no new observations */
        uint64_t c = cumulative[b] > below ? cumulative[b] : below;
        atomic_store_explicit(&ch->counts[b], c - below, memory_order_relaxed);
        below = c;
    }
    atomic_store_explicit(&ch->value, dbl_bits(sum), memory_order_relaxed);
}

void prom_inc(struct prom_family *fam, const char *const *values, double delta)
{
    prom_child_inc(prom_child(fam, values), delta);
}

void prom_set(struct prom_family *fam, const char *const *values, double v)
{
    prom_child_set(prom_child(fam, values), v);
}

void prom_observe(struct prom_family *fam, const char *const *values, double v)
{
    prom_child_observe(prom_child(fam, values), v);
}

double prom_child_value(const struct prom_child *ch)
{
    return ch == NULL ? 0.0 : load_dbl(&ch->value);
}

/* Snapshot of a histogram child: cumulative counts (cum[nbounds] is the total). The total
 * is the sum of the buckets read, so the +Inf bucket always equals _count even while other
 * threads observe. */
static uint64_t hist_snapshot(const struct prom_child *ch, uint64_t *cum)
{
    uint64_t acc = 0;
    for (size_t i = 0; i <= ch->fam->nbounds; i++) {
        acc += atomic_load_explicit((_Atomic uint64_t *)&ch->counts[i], memory_order_relaxed);
        cum[i] = acc;
    }
    return acc;
}

uint64_t prom_child_count(const struct prom_child *ch)
{
    if (ch == NULL || ch->fam->type != PROM_HISTOGRAM)
        return 0;
    uint64_t cum[PROM_MAX_BUCKETS + 1];
    return hist_snapshot(ch, cum);
}

/* PromQL's bucketQuantile over cumulative counts cum[0..nb] (cum[nb] for +Inf). */
static double bucket_quantile(double q, const double *bounds, size_t nb, const uint64_t *cum)
{
    double total = (double)cum[nb];
    if (!(q >= 0 && q <= 1) || total == 0 || nb == 0)
        return NAN;
    double rank = q * total;
    size_t b = 0;
    while (b < nb && (double)cum[b] < rank)
        b++;
    if (b == nb)
        return bounds[nb - 1];
    if (b == 0 && bounds[0] <= 0)
        return bounds[0];
    double start = 0, end = bounds[b], count = (double)cum[b];
    if (b > 0) {
        start = bounds[b - 1];
        count -= (double)cum[b - 1];
        rank -= (double)cum[b - 1];
    }
    if (count == 0) /* only when rank == 0 and the bucket is empty */
        return start;
    return start + (end - start) * (rank / count);
}

double prom_child_quantile(const struct prom_child *ch, double q)
{
    if (ch == NULL || ch->fam->type != PROM_HISTOGRAM)
        return NAN;
    uint64_t cum[PROM_MAX_BUCKETS + 1];
    hist_snapshot(ch, cum);
    return bucket_quantile(q, ch->fam->bounds, ch->fam->nbounds, cum);
}

/* ---- registry ------------------------------------------------------------------------- */

struct prom_registry *prom_registry_new(void)
{
    struct prom_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    if (pthread_mutex_init(&reg->mu, NULL) != 0) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void family_free(struct prom_family *f)
{
    if (f == NULL)
        return;
    struct prom_child *ch = f->first;
    while (ch != NULL) {
        struct prom_child *next = ch->next;
        free(ch);
        ch = next;
    }
    free(f->overflow);
    free(f->slots);
    free(f->bounds);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void prom_registry_free(struct prom_registry *reg)
{
    if (reg == NULL)
        return;
    struct prom_family *f = reg->first;
    while (f != NULL) {
        struct prom_family *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

/* 1 when an existing family f matches the requested registration exactly. */
static int same_family(const struct prom_family *f, enum prom_type type, size_t nlabels,
                       const char *const *labelnames, const double *bounds, size_t nbounds,
                       double (*fn)(void *), void *fn_arg)
{
    if (f->type != type || f->nlabels != nlabels || f->fn != fn || f->fn_arg != fn_arg)
        return 0;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], labelnames[i]) != 0)
            return 0;
    if (type == PROM_HISTOGRAM) {
        if (f->nbounds != nbounds)
            return 0;
        for (size_t i = 0; i < nbounds; i++)
            if (f->bounds[i] != bounds[i])
                return 0;
    }
    return 1;
}

static struct prom_family *fail(const char *name, const char *why)
{
    log_error("metric \"%s\" not registered: %s", name ? name : "(null)", why);
    return NULL;
}

static struct prom_family *family_new(struct prom_registry *reg, enum prom_type type,
                                      const char *name, const char *help, size_t nlabels,
                                      const char *const *labelnames, const double *bounds,
                                      size_t nbounds, double (*fn)(void *), void *fn_arg)
{
    const char *why;
    if (reg == NULL)
        return fail(name, "no registry");
    if (!valid_name(name, 1))
        return fail(name, "invalid metric name");
    if ((why = lint_name(name, type)) != NULL)
        return fail(name, why);
    if (help == NULL || help[0] == '\0')
        return fail(name, "help text is required");
    if (!utf8_valid(help, strlen(help), NULL))
        return fail(name, "help text is not UTF-8");
    if (nlabels > PROM_MAX_LABELS || (nlabels > 0 && labelnames == NULL))
        return fail(name, "at most 4 labels");
    for (size_t i = 0; i < nlabels; i++) {
        if ((why = check_label(labelnames[i])) != NULL)
            return fail(name, why);
        for (size_t j = 0; j < i; j++)
            if (strcmp(labelnames[i], labelnames[j]) == 0)
                return fail(name, "duplicate label name");
    }
    if (type == PROM_HISTOGRAM) {
        if (bounds == NULL && nbounds == 0) {
            bounds = prom_default_buckets;
            nbounds = PROM_DEFAULT_BUCKETS_N;
        }
        if (bounds == NULL)
            return fail(name, "bounds missing");
        if (nbounds > 0 && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
            nbounds--; /* the +Inf bucket is implied */
        if (nbounds == 0 || nbounds > PROM_MAX_BUCKETS)
            return fail(name, "a histogram needs 1..64 finite bounds");
        for (size_t i = 0; i < nbounds; i++)
            if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
                return fail(name, "bounds must be finite and strictly ascending");
    }

    pthread_mutex_lock(&reg->mu);
    for (struct prom_family *f = reg->first; f != NULL; f = f->next) {
        if (strcmp(f->name, name) != 0)
            continue;
        int same = same_family(f, type, nlabels, labelnames, bounds, nbounds, fn, fn_arg);
        pthread_mutex_unlock(&reg->mu);
        return same ? f : fail(name, "already registered with another type, labels or bounds");
    }

    struct prom_family *f = calloc(1, sizeof *f);
    if (f == NULL || pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        pthread_mutex_unlock(&reg->mu);
        return fail(name, "out of memory");
    }
    f->type = type;
    f->nlabels = nlabels;
    f->fn = fn;
    f->fn_arg = fn_arg;
    f->name = strdup(name);
    f->help = strdup(help);
    int ok = f->name != NULL && f->help != NULL;
    for (size_t i = 0; i < nlabels && ok; i++)
        ok = (f->labels[i] = strdup(labelnames[i])) != NULL;
    if (ok && type == PROM_HISTOGRAM) {
        ok = (f->bounds = malloc(nbounds * sizeof *f->bounds)) != NULL;
        if (ok) {
            memcpy(f->bounds, bounds, nbounds * sizeof *f->bounds);
            f->nbounds = nbounds;
        }
    }
    if (ok && fn == NULL) {
        if (nlabels == 0) {
            ok = (f->only = child_alloc(f, NULL, 0)) != NULL;
            if (ok) {
                child_link(f, f->only);
                f->nchildren = 1;
            }
        } else {
            const char *ov[PROM_MAX_LABELS];
            for (size_t i = 0; i < PROM_MAX_LABELS; i++)
                ov[i] = PROM_OVERFLOW;
            f->slots = calloc(TABLE_SLOTS, sizeof *f->slots);
            f->overflow = child_alloc(f, ov, 0);
            ok = f->slots != NULL && f->overflow != NULL;
            for (size_t i = 0; ok && i < TABLE_SLOTS; i++)
                atomic_init(&f->slots[i], NULL);
        }
    }
    if (!ok) {
        family_free(f);
        pthread_mutex_unlock(&reg->mu);
        return fail(name, "out of memory");
    }
    if (reg->last)
        reg->last->next = f;
    else
        reg->first = f;
    reg->last = f;
    pthread_mutex_unlock(&reg->mu);
    return f;
}

struct prom_family *prom_counter(struct prom_registry *reg, const char *name, const char *help,
                                 size_t nlabels, const char *const *labelnames)
{
    return family_new(reg, PROM_COUNTER, name, help, nlabels, labelnames, NULL, 0, NULL, NULL);
}

struct prom_family *prom_gauge(struct prom_registry *reg, const char *name, const char *help,
                               size_t nlabels, const char *const *labelnames)
{
    return family_new(reg, PROM_GAUGE, name, help, nlabels, labelnames, NULL, 0, NULL, NULL);
}

struct prom_family *prom_gauge_fn(struct prom_registry *reg, const char *name, const char *help,
                                  double (*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return fail(name, "gauge callback missing");
    return family_new(reg, PROM_GAUGE, name, help, 0, NULL, NULL, 0, fn, arg);
}

struct prom_family *prom_histogram(struct prom_registry *reg, const char *name, const char *help,
                                   size_t nlabels, const char *const *labelnames,
                                   const double *bounds, size_t nbounds)
{
    return family_new(reg, PROM_HISTOGRAM, name, help, nlabels, labelnames, bounds, nbounds, NULL,
                      NULL);
}

/* ---- text rendering ------------------------------------------------------------------- */

/* Appends s escaped for a label value (quote_too) or for HELP text (backslash, newline). */
static int put_escaped(struct buf *out, const char *s, int quote_too)
{
    int rv = 0;
    const char *run = s;
    for (const char *p = s;; p++) {
        const char *esc = NULL;
        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '\n')
            esc = "\\n";
        else if (*p == '"' && quote_too)
            esc = "\\\"";
        else if (*p != '\0')
            continue;
        if ((rv = buf_append(out, run, (size_t)(p - run))) != 0)
            return rv;
        if (esc == NULL)
            return 0;
        if ((rv = buf_puts(out, esc)) != 0)
            return rv;
        run = p + 1;
    }
}

/* name{l1="v1",...[,le="x"]} value\n */
static int put_sample(struct buf *out, const struct prom_family *f, const char *suffix,
                      const struct prom_child *ch, const char *le, const char *value)
{
    int rv;
    if ((rv = buf_puts(out, f->name)) != 0 || (rv = buf_puts(out, suffix)) != 0)
        return rv;
    size_t n = ch != NULL ? f->nlabels : 0;
    if (n > 0 || le != NULL) {
        if ((rv = buf_putc(out, '{')) != 0)
            return rv;
        for (size_t i = 0; i < n; i++) {
            if ((rv = buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i])) != 0 ||
                (rv = put_escaped(out, ch->values[i], 1)) != 0 || (rv = buf_putc(out, '"')) != 0)
                return rv;
        }
        if (le != NULL && (rv = buf_printf(out, "%sle=\"%s\"", n ? "," : "", le)) != 0)
            return rv;
        if ((rv = buf_putc(out, '}')) != 0)
            return rv;
    }
    return buf_printf(out, " %s\n", value);
}

static int render_child_text(struct buf *out, const struct prom_family *f,
                             const struct prom_child *ch)
{
    char num[PROM_DBL_MAX];
    int rv;
    if (f->type != PROM_HISTOGRAM) {
        prom_fmt_double(load_dbl(&ch->value), num);
        return put_sample(out, f, "", ch, NULL, num);
    }
    uint64_t cum[PROM_MAX_BUCKETS + 1];
    uint64_t total = hist_snapshot(ch, cum);
    for (size_t i = 0; i <= f->nbounds; i++) {
        char le[PROM_DBL_MAX];
        if (i < f->nbounds)
            prom_fmt_double(f->bounds[i], le);
        else
            strcpy(le, "+Inf");
        snprintf(num, sizeof num, "%llu", (unsigned long long)cum[i]);
        if ((rv = put_sample(out, f, "_bucket", ch, le, num)) != 0)
            return rv;
    }
    prom_fmt_double(load_dbl(&ch->value), num);
    if ((rv = put_sample(out, f, "_sum", ch, NULL, num)) != 0)
        return rv;
    snprintf(num, sizeof num, "%llu", (unsigned long long)total);
    return put_sample(out, f, "_count", ch, NULL, num);
}

static int render_family_text(struct buf *out, struct prom_family *f)
{
    int rv;
    if ((rv = buf_printf(out, "# HELP %s ", f->name)) != 0 ||
        (rv = put_escaped(out, f->help, 0)) != 0 ||
        (rv = buf_printf(out, "\n# TYPE %s %s\n", f->name, type_name(f->type))) != 0)
        return rv;
    if (f->fn != NULL) {
        char num[PROM_DBL_MAX];
        prom_fmt_double(f->fn(f->fn_arg), num);
        return put_sample(out, f, "", NULL, NULL, num);
    }
    pthread_mutex_lock(&f->mu);
    for (const struct prom_child *ch = f->first; ch != NULL && rv == 0; ch = ch->next)
        rv = render_child_text(out, f, ch);
    if (rv == 0 && f->overflow != NULL && atomic_load(&f->overflow->used))
        rv = render_child_text(out, f, f->overflow);
    pthread_mutex_unlock(&f->mu);
    return rv;
}

int prom_render_text(struct prom_registry *reg, struct buf *out)
{
    int rv = 0;
    if (reg == NULL)
        return AIOPS_EINVAL;
    pthread_mutex_lock(&reg->mu);
    for (struct prom_family *f = reg->first; f != NULL && rv == 0; f = f->next)
        rv = render_family_text(out, f);
    pthread_mutex_unlock(&reg->mu);
    return rv;
}

/* ---- JSON rendering ------------------------------------------------------------------- */

static json_t *child_json(const struct prom_family *f, const struct prom_child *ch)
{
    json_t *s = json_object(), *labels = json_object();
    int rv = s == NULL || labels == NULL ? AIOPS_ENOMEM : 0;
    for (size_t i = 0; ch != NULL && i < f->nlabels && rv == 0; i++)
        rv = jsonx_set(labels, f->labels[i], json_string(ch->values[i]));
    if (rv == 0) {
        rv = jsonx_set(s, "labels", labels);
        labels = NULL;
    }
    if (rv == 0 && f->fn != NULL) {
        rv = jsonx_set(s, "value", jsonx_num(f->fn(f->fn_arg), 0));
    } else if (rv == 0 && f->type != PROM_HISTOGRAM) {
        rv = jsonx_set(s, "value", jsonx_num(load_dbl(&ch->value), 0));
    } else if (rv == 0) {
        uint64_t cum[PROM_MAX_BUCKETS + 1];
        uint64_t total = hist_snapshot(ch, cum);
        json_t *b = json_object();
        rv = jsonx_set(s, "count", json_integer((json_int_t)total));
        if (rv == 0)
            rv = jsonx_set(s, "sum", jsonx_num(load_dbl(&ch->value), 0));
        for (size_t i = 0; i <= f->nbounds && rv == 0 && b != NULL; i++) {
            char le[PROM_DBL_MAX];
            if (i < f->nbounds)
                prom_fmt_double(f->bounds[i], le);
            else
                strcpy(le, "+Inf");
            rv = jsonx_set(b, le, json_integer((json_int_t)cum[i]));
        }
        if (rv == 0)
            rv = jsonx_set(s, "buckets", b);
        else
            json_decref(b);
        static const double qs[] = {0.5, 0.95, 0.99};
        static const char *const qn[] = {"p50", "p95", "p99"};
        for (size_t i = 0; i < ARRAY_LEN(qs) && rv == 0; i++)
            rv =
                jsonx_set(s, qn[i], jsonx_num(bucket_quantile(qs[i], f->bounds, f->nbounds, cum), 0));
    }
    json_decref(labels);
    if (rv != 0) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *family_json(struct prom_family *f)
{
    json_t *o = json_object(), *samples = json_array();
    int rv = o == NULL || samples == NULL ? AIOPS_ENOMEM : 0;
    if (rv == 0)
        rv = jsonx_set(o, "type", json_string(type_name(f->type)));
    if (rv == 0)
        rv = jsonx_set(o, "help", json_string(f->help));
    if (f->fn != NULL) {
        if (rv == 0)
            rv = json_array_append_new(samples, child_json(f, NULL)) ? AIOPS_ENOMEM : 0;
    } else if (rv == 0) {
        pthread_mutex_lock(&f->mu);
        for (const struct prom_child *ch = f->first; ch != NULL && rv == 0; ch = ch->next)
            rv = json_array_append_new(samples, child_json(f, ch)) ? AIOPS_ENOMEM : 0;
        if (rv == 0 && f->overflow != NULL && atomic_load(&f->overflow->used))
            rv = json_array_append_new(samples, child_json(f, f->overflow)) ? AIOPS_ENOMEM : 0;
        pthread_mutex_unlock(&f->mu);
    }
    if (rv == 0) {
        rv = jsonx_set(o, "samples", samples);
        samples = NULL;
    }
    json_decref(samples);
    if (rv != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *prom_render_json(struct prom_registry *reg)
{
    if (reg == NULL)
        return NULL;
    json_t *root = json_object();
    int rv = root == NULL ? AIOPS_ENOMEM : 0;
    pthread_mutex_lock(&reg->mu);
    for (struct prom_family *f = reg->first; f != NULL && rv == 0; f = f->next)
        rv = jsonx_set(root, f->name, family_json(f));
    pthread_mutex_unlock(&reg->mu);
    if (rv != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}
