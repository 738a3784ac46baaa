/* prom.h -- Prometheus metrics: counters, gauges and histograms with labels, rendered in
 * the text exposition format 0.0.4 (GET /api/metrics) and as JSON (GET /api/metrics/json).
 *
 *   static const char *const route_labels[] = {"route", "status"};
 *   struct prom_family *req = prom_counter(reg, "aiops_http_requests_total",
 *                                          "HTTP requests served.", 2, route_labels);
 *   prom_inc(req, (const char *const[]){"/api/health", "200"}, 1);
 *
 *   struct prom_child *lat = prom_child(latency_family, (const char *const[]){"/api/upload"});
 *   prom_child_observe(lat, seconds);              (hot path: no label lookup)
 *
 * Thread-safety: every function may be called from any thread. Updating a child never
 * takes a lock (atomics only) and never allocates; the first use of a label combination
 * takes the family's lock once to create the child. Registration and rendering take the
 * registry's lock; rendering reads counters while writers keep going, so a scrape sees each
 * child at some instant between the start and the end of the render.
 *
 * Names are checked at registration against the data model ([a-zA-Z_:][a-zA-Z0-9_:]* for
 * families, [a-zA-Z_][a-zA-Z0-9_]* for labels, no "__" prefix) and against the naming
 * rules that `promtool check metrics` lints, so that /metrics always passes it: non-empty
 * help, counters end in "_total" and nothing else does, no "_bucket"/"_count"/"_sum"
 * suffix, no "le"/"quantile" label, no ':' or upper case, no abbreviated or non-base units
 * ("_ms", "_milliseconds": use seconds and bytes).
 *
 * Robustness: the number of children per family is capped (PROM_MAX_CHILDREN); label
 * combinations beyond the cap, label values longer than PROM_MAX_VALUE_LEN bytes or not
 * valid UTF-8, and children that could not be allocated all count into one child whose
 * label values are all PROM_OVERFLOW ("__overflow__"). A NULL family or child is accepted
 * by every update function and ignored, so a failed registration never crashes a service. */
#ifndef AIOPS_PROM_H
#define AIOPS_PROM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"

#define PROM_MAX_LABELS 4
#define PROM_MAX_CHILDREN 1000
#define PROM_MAX_VALUE_LEN 128
#define PROM_MAX_BUCKETS 64
#define PROM_OVERFLOW "__overflow__"
/* Room for any value prom_fmt_double() writes, terminator included. */
#define PROM_DBL_MAX 32

/* client_python's default histogram buckets (seconds): .005 .01 .025 .05 .075 .1 .25 .5
 * .75 1 2.5 5 7.5 10. */
#define PROM_DEFAULT_BUCKETS_N 14
extern const double prom_default_buckets[PROM_DEFAULT_BUCKETS_N];

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_registry;
struct prom_family;
struct prom_child;

/* A new, empty registry (NULL when out of memory). prom_registry_free() releases it with
 * every family and child; no pointer obtained from it may be used afterwards. */
struct prom_registry *prom_registry_new(void);
void prom_registry_free(struct prom_registry *reg);

/* Registers a family and returns it; the registry owns it (valid until
 * prom_registry_free). name, help and the label names are copied. nlabels is 0..4.
 * Registering the same name again with the same type, labels (and bounds) returns the
 * existing family, so independent modules may share one. Returns NULL (and logs why) for
 * an invalid or conflicting name, invalid label names, or out of memory. */
struct prom_family *prom_counter(struct prom_registry *reg, const char *name, const char *help,
                                 size_t nlabels, const char *const *labelnames);
struct prom_family *prom_gauge(struct prom_registry *reg, const char *name, const char *help,
                               size_t nlabels, const char *const *labelnames);
/* A label-less gauge whose value is fn(arg), evaluated at every render, with the registry
 * lock held: fn must be quick and must not call into this registry. */
struct prom_family *prom_gauge_fn(struct prom_registry *reg, const char *name, const char *help,
                                  double (*fn)(void *arg), void *arg);
/* bounds: the bucket upper bounds, finite and strictly ascending, at most
 * PROM_MAX_BUCKETS (a trailing +Inf is accepted and dropped: the +Inf bucket is always
 * there). bounds == NULL with nbounds == 0 selects prom_default_buckets. */
struct prom_family *prom_histogram(struct prom_registry *reg, const char *name, const char *help,
                                   size_t nlabels, const char *const *labelnames,
                                   const double *bounds, size_t nbounds);

/* The child of fam for these label values (an array of fam's nlabels strings; NULL for a
 * label-less family; a NULL string counts as "", a NULL array as the overflow child).
 * Created on first use; the family owns it and it stays valid until prom_registry_free, so
 * hot paths resolve it once and keep it.
 * Returns NULL only when fam is NULL or a gauge_fn family; see the overflow rule above. */
struct prom_child *prom_child(struct prom_family *fam, const char *const *values);

/* Counter: adds delta (>= 0; negative or NaN deltas are ignored). Gauge: adds delta (may be
 * negative). Ignored for histograms. */
void prom_child_inc(struct prom_child *ch, double delta);
/* Gauge: sets the value. Ignored for other types. */
void prom_child_set(struct prom_child *ch, double v);
/* Histogram: counts v into the first bucket whose bound is >= v (le semantics) and adds it
 * to the sum. NaN is ignored. Ignored for other types. */
void prom_child_observe(struct prom_child *ch, double v);

/* Histogram: replaces the child's counts with those of a histogram kept elsewhere (e.g.
 * summed across processes): cumulative[b] observations <= bound b for each bound, then
 * the total (+Inf) last -- nbounds + 1 values -- and their sum. Ignored for other types. */
void prom_child_set_histogram(struct prom_child *ch, const uint64_t *cumulative, double sum);

/* Shorthands: prom_child(fam, values) followed by the update. */
void prom_inc(struct prom_family *fam, const char *const *values, double delta);
void prom_set(struct prom_family *fam, const char *const *values, double v);
void prom_observe(struct prom_family *fam, const char *const *values, double v);

/* Reading back (tests, alerts). Counter/gauge value; histogram sum. 0 for NULL. */
double prom_child_value(const struct prom_child *ch);
/* Histogram: number of observations (0 for other types and NULL). */
uint64_t prom_child_count(const struct prom_child *ch);
/* Histogram: the q-quantile (0 <= q <= 1) estimated as PromQL histogram_quantile() does:
 * linear interpolation inside the bucket holding the rank, the lowest bucket starting at 0,
 * the highest finite bound when the rank falls in the +Inf bucket. NaN when there are no
 * observations, q is out of range, or ch is not a histogram. */
double prom_child_quantile(const struct prom_child *ch, double q);

/* Appends the whole registry to out in the text exposition format 0.0.4 (serve it as
 * "text/plain; version=0.0.4; charset=utf-8"): per family "# HELP", "# TYPE", then its
 * samples; histograms as cumulative _bucket{le=...} lines ending with le="+Inf", _sum,
 * _count. Families in registration order, children in creation order.
 * AIOPS_ENOMEM when out grows past memory (out then holds a partial text). */
int prom_render_text(struct prom_registry *reg, struct buf *out);

/* The registry as a new JSON object (the caller owns the reference; NULL when out of
 * memory):
 *   {"<family>": {"type": "counter"|"gauge"|"histogram", "help": "...",
 *                 "samples": [{"labels": {...}, "value": v}, ...]}}
 * where histogram samples are {"labels", "count", "sum", "buckets": {"0.005": n, ...,
 * "+Inf": count} (cumulative), "p50", "p95", "p99"}. Non-finite numbers and quantiles of
 * empty histograms are null. */
json_t *prom_render_json(struct prom_registry *reg);

/* Formats v as Prometheus and Go's ParseFloat read it: "+Inf", "-Inf", "NaN", otherwise the
 * shortest "%.{15,16,17}g" text that reads back as exactly v (e.g. "0.005", "1", "1e+21"). */
void prom_fmt_double(double v, char out[PROM_DBL_MAX]);

#endif
