/* Unit tests for lib/http/prom.c. */

#include <pthread.h>
#include <unistd.h>

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/prom.h"
#include "unit.h"

static double uptime_fn(void *arg)
{
    return *(double *)arg;
}

/* A small registry exercising every type; *uptime feeds the gauge callback. */
static struct prom_registry *sample_registry(double *uptime)
{
    struct prom_registry *reg = prom_registry_new();
    static const char *const rc[] = {"route", "code"};
    static const char *const r[] = {"route"};
    static const char *const q[] = {"queue"};
    static const double bounds[] = {0.125, 0.5, 1};

    struct prom_family *req =
        prom_counter(reg, "aiops_http_requests_total", "HTTP requests.\nBy route \\ code.", 2, rc);
    prom_gauge_fn(reg, "aiops_uptime_seconds", "Seconds since start.", uptime_fn, uptime);
    struct prom_family *lat =
        prom_histogram(reg, "aiops_request_duration_seconds", "Request latency.", 1, r, bounds, 3);
    struct prom_family *depth = prom_gauge(reg, "aiops_queue_depth", "Queued jobs.", 1, q);
    prom_counter(reg, "aiops_errors_total", "Errors.", 0, NULL);

    prom_inc(req, (const char *const[]){"/a", "200"}, 1);
    prom_inc(req, (const char *const[]){"/b", "500"}, 1);
    prom_inc(req, (const char *const[]){"/a", "200"}, 2);
    /* observations on the bucket boundaries land in that bucket (le) */
    const double obs[] = {0.125, 0.5, 1, 2, 0.0625};
    for (size_t i = 0; i < ARRAY_LEN(obs); i++)
        prom_observe(lat, (const char *const[]){"/a"}, obs[i]);
    prom_set(depth, (const char *const[]){"a\"b\\c\nd"}, 3);
    prom_inc(depth, (const char *const[]){"a\"b\\c\nd"}, -0.5);
    return reg;
}

static const char sample_text[] =
    "# HELP aiops_http_requests_total HTTP requests.\\nBy route \\\\ code.\n"
    "# TYPE aiops_http_requests_total counter\n"
    "aiops_http_requests_total{route=\"/a\",code=\"200\"} 3\n"
    "aiops_http_requests_total{route=\"/b\",code=\"500\"} 1\n"
    "# HELP aiops_uptime_seconds Seconds since start.\n"
    "# TYPE aiops_uptime_seconds gauge\n"
    "aiops_uptime_seconds 12.5\n"
    "# HELP aiops_request_duration_seconds Request latency.\n"
    "# TYPE aiops_request_duration_seconds histogram\n"
    "aiops_request_duration_seconds_bucket{route=\"/a\",le=\"0.125\"} 2\n"
    "aiops_request_duration_seconds_bucket{route=\"/a\",le=\"0.5\"} 3\n"
    "aiops_request_duration_seconds_bucket{route=\"/a\",le=\"1\"} 4\n"
    "aiops_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 5\n"
    "aiops_request_duration_seconds_sum{route=\"/a\"} 3.6875\n"
    "aiops_request_duration_seconds_count{route=\"/a\"} 5\n"
    "# HELP aiops_queue_depth Queued jobs.\n"
    "# TYPE aiops_queue_depth gauge\n"
    "aiops_queue_depth{queue=\"a\\\"b\\\\c\\nd\"} 2.5\n"
    "# HELP aiops_errors_total Errors.\n"
    "# TYPE aiops_errors_total counter\n"
    "aiops_errors_total 0\n";

static void test_render_text_exact(void)
{
    double uptime = 12.5;
    struct prom_registry *reg = sample_registry(&uptime);
    struct buf b = BUF_INIT;
    CHECK_INT(prom_render_text(reg, &b), 0);
    CHECK_STR(b.data, sample_text);
    /* the callback is evaluated at every render */
    uptime = 13;
    buf_reset(&b);
    CHECK_INT(prom_render_text(reg, &b), 0);
    CHECK(strstr(b.data, "\naiops_uptime_seconds 13\n") != NULL);
    buf_free(&b);
    prom_registry_free(reg);
}

/* Runs `promtool check metrics` on text; -1 when promtool is not installed. Its report goes
 * to stderr so that stdout stays TAP. */
static int promtool_check(const char *text)
{
    if (access("/usr/bin/promtool", X_OK) != 0)
        return -1;
    FILE *p = popen("/usr/bin/promtool check metrics 1>&2", "w");
    if (p == NULL)
        return -1;
    fputs(text, p);
    return pclose(p);
}

static void test_promtool_accepts_output(void)
{
    double uptime = 1;
    struct prom_registry *reg = sample_registry(&uptime);
    /* a few awkward values as well */
    struct prom_family *g =
        prom_gauge(reg, "aiops_odd_values", "Odd values.", 1, (const char *const[]){"kind"});
    prom_set(g, (const char *const[]){"nan"}, NAN);
    prom_set(g, (const char *const[]){"inf"}, INFINITY);
    prom_set(g, (const char *const[]){"ninf"}, -INFINITY);
    prom_set(g, (const char *const[]){"tiny"}, 5e-324);
    prom_set(g, (const char *const[]){"big"}, 1.7976931348623157e308);
    prom_set(g, (const char *const[]){"\xea\xb0\x80 utf8"}, 1);
    struct prom_family *h = prom_histogram(reg, "aiops_upload_size_bytes", "Upload sizes.", 0, NULL,
                                           (const double[]){1024, 1048576, INFINITY}, 3);
    prom_observe(h, NULL, 2000);
    struct buf b = BUF_INIT;
    CHECK_INT(prom_render_text(reg, &b), 0);
    int rc = promtool_check(b.data);
    if (rc == -1)
        fprintf(stderr, "  note: /usr/bin/promtool not found, skipping promtool check\n");
    else
        CHECK_INT(rc, 0);
    CHECK(strstr(b.data, "aiops_odd_values{kind=\"nan\"} NaN\n") != NULL);
    CHECK(strstr(b.data, "aiops_odd_values{kind=\"ninf\"} -Inf\n") != NULL);
    CHECK(strstr(b.data, "aiops_upload_size_bytes_bucket{le=\"1048576\"} 1\n") != NULL);
    buf_free(&b);
    prom_registry_free(reg);
}

static void test_fmt_double(void)
{
    struct {
        double v;
        const char *want;
    } cases[] = {
        {0, "0"},
        {-0.0, "-0"},
        {1, "1"},
        {0.005, "0.005"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3, "0.3333333333333333"},
        {123456789, "123456789"},
        {1e21, "1e+21"},
        {2.5e-7, "2.5e-07"},
        {NAN, "NaN"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[PROM_DBL_MAX];
        prom_fmt_double(cases[i].v, out);
        CHECK_STR(out, cases[i].want);
    }
    /* every finite value round-trips */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        char out[PROM_DBL_MAX];
        prom_fmt_double(v, out);
        if (strtod(out, NULL) != v)
            UNIT_FAIL("%s does not read back as %.17g", out, v);
    }
}

static void test_registration_rules(void)
{
    struct prom_registry *reg = prom_registry_new();
    static const char *const one[] = {"route"};
    /* names the data model or promtool's linter rejects */
    CHECK(prom_counter(reg, "9lives_total", "h", 0, NULL) == NULL);
    CHECK(prom_counter(reg, "a-b_total", "h", 0, NULL) == NULL);
    CHECK(prom_counter(reg, "", "h", 0, NULL) == NULL);
    CHECK(prom_counter(reg, NULL, "h", 0, NULL) == NULL);
    CHECK(prom_counter(reg, "aiops_requests", "h", 0, NULL) == NULL);      /* no _total */
    CHECK(prom_gauge(reg, "aiops_requests_total", "h", 0, NULL) == NULL);  /* _total */
    CHECK(prom_counter(reg, "aiops_requests_total", "", 0, NULL) == NULL); /* no help */
    CHECK(prom_counter(reg, "aiops:requests_total", "h", 0, NULL) == NULL);
    CHECK(prom_counter(reg, "aiopsRequests_total", "h", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_latency_ms", "h", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_latency_milliseconds", "h", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_size_kilobytes", "h", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_age_hours", "h", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_jobs_count", "h", 0, NULL) == NULL);
    CHECK(prom_histogram(reg, "aiops_wait_seconds_bucket", "h", 0, NULL, NULL, 0) == NULL);
    CHECK(prom_gauge(reg, "aiops_queue_gauge", "h", 0, NULL) == NULL);
    /* label names */
    CHECK(prom_gauge(reg, "aiops_a", "h", 1, (const char *const[]){"1x"}) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 1, (const char *const[]){"__x"}) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 1, (const char *const[]){"le"}) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 1, (const char *const[]){"a:b"}) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 2, (const char *const[]){"x", "x"}) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 5, (const char *const[]){"a", "b", "c", "d", "e"}) ==
          NULL);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 1, (const char *const[]){"le"}, NULL, 0) ==
          NULL);
    /* bounds */
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, (const double[]){1, 1}, 2) ==
          NULL);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, (const double[]){2, 1}, 2) ==
          NULL);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, (const double[]){NAN}, 1) ==
          NULL);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, (const double[]){INFINITY}, 1) ==
          NULL);

    /* the same registration twice is the same family; a different one is refused */
    struct prom_family *a = prom_counter(reg, "aiops_hits_total", "Hits.", 1, one);
    CHECK(a != NULL);
    CHECK(prom_counter(reg, "aiops_hits_total", "Hits.", 1, one) == a);
    CHECK(prom_counter(reg, "aiops_hits_total", "Hits.", 0, NULL) == NULL);
    CHECK(prom_gauge(reg, "aiops_a", "h", 1, one) != NULL);
    CHECK(prom_histogram(reg, "aiops_a", "h", 1, one, NULL, 0) == NULL);
    struct prom_family *h = prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, NULL, 0);
    CHECK(h != NULL);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, prom_default_buckets,
                         PROM_DEFAULT_BUCKETS_N) == h);
    CHECK(prom_histogram(reg, "aiops_hist_seconds", "h", 0, NULL, prom_default_buckets, 3) == NULL);

    /* updates of the wrong kind are ignored, NULL is harmless */
    struct prom_child *c = prom_child(a, (const char *const[]){"/x"});
    prom_child_inc(c, -1);
    prom_child_inc(c, NAN);
    prom_child_set(c, 5);
    prom_child_observe(c, 5);
    CHECK_NEAR(prom_child_value(c), 0, 0);
    prom_child_inc(c, 0.5);
    CHECK_NEAR(prom_child_value(c), 0.5, 0);
    prom_inc(NULL, NULL, 1);
    prom_observe(NULL, NULL, 1);
    prom_child_inc(NULL, 1);
    CHECK(prom_child(NULL, NULL) == NULL);
    prom_observe(h, NULL, NAN);
    CHECK_INT(prom_child_count(prom_child(h, NULL)), 0);
    /* a missing values array on a labelled family lands in the overflow child */
    prom_inc(a, NULL, 2);
    CHECK_NEAR(prom_child_value(prom_child(a, NULL)), 2, 0);
    /* NULL label values count as "" */
    CHECK(prom_child(a, (const char *const[]){NULL}) == prom_child(a, (const char *const[]){""}));
    prom_registry_free(reg);
}

static void test_default_buckets(void)
{
    struct prom_registry *reg = prom_registry_new();
    struct prom_family *h = prom_histogram(reg, "aiops_op_seconds", "Op time.", 0, NULL, NULL, 0);
    prom_observe(h, NULL, 0.3);
    struct buf b = BUF_INIT;
    CHECK_INT(prom_render_text(reg, &b), 0);
    const char *les[] = {"0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25",
                         "0.5",   "0.75", "1",     "2.5",  "5",     "7.5", "10"};
    const char *p = b.data;
    for (size_t i = 0; i < ARRAY_LEN(les); i++) {
        char want[80];
        snprintf(want, sizeof want, "aiops_op_seconds_bucket{le=\"%s\"} %d\n", les[i],
                 i >= 7 ? 1 : 0);
        const char *q = strstr(p, want);
        if (q == NULL)
            UNIT_FAIL("missing or out of order: %s", want);
        else
            p = q;
    }
    CHECK(strstr(p, "aiops_op_seconds_bucket{le=\"+Inf\"} 1\naiops_op_seconds_sum 0.3\n"
                    "aiops_op_seconds_count 1\n") != NULL);
    buf_free(&b);
    prom_registry_free(reg);
}

static void test_render_json(void)
{
    double uptime = 7;
    struct prom_registry *reg = sample_registry(&uptime);
    json_t *j = prom_render_json(reg);
    CHECK(j != NULL);
    json_t *req = json_object_get(j, "aiops_http_requests_total");
    CHECK_STR(json_string_value(json_object_get(req, "type")), "counter");
    CHECK_STR(json_string_value(json_object_get(req, "help")), "HTTP requests.\nBy route \\ code.");
    json_t *s0 = json_array_get(json_object_get(req, "samples"), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(s0, "labels"), "route")), "/a");
    CHECK_STR(json_string_value(json_object_get(json_object_get(s0, "labels"), "code")), "200");
    CHECK_NEAR(json_number_value(json_object_get(s0, "value")), 3, 0);
    CHECK_INT(json_array_size(json_object_get(req, "samples")), 2);

    json_t *up = json_object_get(j, "aiops_uptime_seconds");
    CHECK_NEAR(json_number_value(
                   json_object_get(json_array_get(json_object_get(up, "samples"), 0), "value")),
               7, 0);

    json_t *lat = json_object_get(j, "aiops_request_duration_seconds");
    CHECK_STR(json_string_value(json_object_get(lat, "type")), "histogram");
    json_t *h = json_array_get(json_object_get(lat, "samples"), 0);
    CHECK_INT(json_integer_value(json_object_get(h, "count")), 5);
    CHECK_NEAR(json_number_value(json_object_get(h, "sum")), 3.6875, 0);
    json_t *bk = json_object_get(h, "buckets");
    CHECK_INT(json_object_size(bk), 4);
    CHECK_INT(json_integer_value(json_object_get(bk, "0.125")), 2);
    CHECK_INT(json_integer_value(json_object_get(bk, "0.5")), 3);
    CHECK_INT(json_integer_value(json_object_get(bk, "1")), 4);
    CHECK_INT(json_integer_value(json_object_get(bk, "+Inf")), 5);
    /* rank 2.5 of 5 lies in (0.125, 0.5]: 0.125 + 0.375 * (0.5 / 1) */
    CHECK_NEAR(json_number_value(json_object_get(h, "p50")), 0.3125, 1e-12);
    /* rank 4.75 falls in +Inf: the highest finite bound */
    CHECK_NEAR(json_number_value(json_object_get(h, "p95")), 1, 0);
    CHECK_NEAR(json_number_value(json_object_get(h, "p99")), 1, 0);
    json_t *q = json_object_get(j, "aiops_queue_depth");
    json_t *qs = json_array_get(json_object_get(q, "samples"), 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(qs, "labels"), "queue")),
              "a\"b\\c\nd");
    CHECK_NEAR(json_number_value(json_object_get(qs, "value")), 2.5, 0);
    json_decref(j);

    /* empty histograms and non-finite values become null */
    struct prom_family *e = prom_histogram(reg, "aiops_empty_seconds", "Empty.", 0, NULL, NULL, 0);
    struct prom_family *g = prom_gauge(reg, "aiops_nan", "NaN.", 0, NULL);
    prom_set(g, NULL, NAN);
    (void)e;
    j = prom_render_json(reg);
    json_t *es =
        json_array_get(json_object_get(json_object_get(j, "aiops_empty_seconds"), "samples"), 0);
    CHECK(json_is_null(json_object_get(es, "p50")));
    CHECK_INT(json_integer_value(json_object_get(es, "count")), 0);
    json_t *gs = json_array_get(json_object_get(json_object_get(j, "aiops_nan"), "samples"), 0);
    CHECK(json_is_null(json_object_get(gs, "value")));
    json_decref(j);
    prom_registry_free(reg);
}

static void test_quantiles(void)
{
    struct prom_registry *reg = prom_registry_new();
    struct prom_family *h =
        prom_histogram(reg, "aiops_q_seconds", "Q.", 0, NULL, (const double[]){1, 2, 4}, 3);
    struct prom_child *c = prom_child(h, NULL);
    CHECK(isnan(prom_child_quantile(c, 0.5)));
    for (int i = 0; i < 10; i++)
        prom_child_observe(c, 0.5); /* 10 in (0,1] */
    for (int i = 0; i < 10; i++)
        prom_child_observe(c, 3); /* 10 in (2,4] */
    CHECK_INT(prom_child_count(c), 20);
    CHECK_NEAR(prom_child_quantile(c, 0.25), 0.5, 1e-12); /* rank 5 of 10 in [0,1] */
    CHECK_NEAR(prom_child_quantile(c, 0.5), 1, 1e-12);    /* rank 10: end of bucket 1 */
    CHECK_NEAR(prom_child_quantile(c, 0.75), 3, 1e-12);   /* rank 15: middle of (2,4] */
    CHECK_NEAR(prom_child_quantile(c, 1), 4, 1e-12);
    CHECK(isnan(prom_child_quantile(c, 1.5)));
    CHECK(isnan(prom_child_quantile(c, -0.1)));
    prom_child_observe(c, 100); /* +Inf bucket */
    CHECK_NEAR(prom_child_quantile(c, 1), 4, 1e-12);
    CHECK(isnan(prom_child_quantile(NULL, 0.5)));
    prom_registry_free(reg);
}

static void test_overflow_child(void)
{
    struct prom_registry *reg = prom_registry_new();
    struct prom_family *f =
        prom_counter(reg, "aiops_paths_total", "Paths.", 1, (const char *const[]){"path"});
    char v[32];
    for (int i = 0; i < PROM_MAX_CHILDREN; i++) {
        snprintf(v, sizeof v, "/p/%d", i);
        prom_inc(f, (const char *const[]){v}, 1);
    }
    struct prom_child *last = prom_child(f, (const char *const[]){"/p/999"});
    CHECK(last != NULL);
    CHECK_NEAR(prom_child_value(last), 1, 0);
    struct buf b = BUF_INIT;
    CHECK_INT(prom_render_text(reg, &b), 0);
    CHECK(strstr(b.data, PROM_OVERFLOW) == NULL); /* not shown until used */
    buf_reset(&b);

    /* over the cap, too long, not UTF-8: all into the overflow child */
    prom_inc(f, (const char *const[]){"/p/new"}, 1);
    prom_inc(f, (const char *const[]){"/p/new2"}, 2);
    char longv[PROM_MAX_VALUE_LEN + 2];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    prom_inc(f, (const char *const[]){longv}, 4);
    struct prom_child *ov = prom_child(f, (const char *const[]){"/p/new3"});
    CHECK(ov == prom_child(f, (const char *const[]){longv}));
    CHECK_NEAR(prom_child_value(ov), 7, 0);
    /* existing children still resolve to themselves */
    CHECK(prom_child(f, (const char *const[]){"/p/999"}) == last);
    CHECK_INT(prom_render_text(reg, &b), 0);
    CHECK(strstr(b.data, "aiops_paths_total{path=\"__overflow__\"} 7\n") != NULL);
    int lines = 0;
    for (const char *p = b.data; *p; p++)
        lines += *p == '\n';
    CHECK_INT(lines, 2 + PROM_MAX_CHILDREN + 1);
    buf_free(&b);

    struct prom_family *g =
        prom_gauge(reg, "aiops_bad", "Bad values.", 1, (const char *const[]){"v"});
    prom_set(g, (const char *const[]){"\xff\xfe"}, 1);
    prom_set(g, (const char *const[]){"ok"}, 2);
    CHECK_NEAR(prom_child_value(prom_child(g, (const char *const[]){"\xff\xfe"})), 1, 0);
    json_t *j = prom_render_json(reg);
    json_t *s = json_object_get(json_object_get(j, "aiops_bad"), "samples");
    CHECK_INT(json_array_size(s), 2);
    CHECK_STR(
        json_string_value(json_object_get(json_object_get(json_array_get(s, 1), "labels"), "v")),
        PROM_OVERFLOW);
    json_decref(j);
    prom_registry_free(reg);
}

struct worker {
    struct prom_family *hist;
    struct prom_family *ctr;
    int id;
};

#define N_THREADS 4
#define N_OPS 100000

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct prom_child *mine = prom_child(w->hist, (const char *const[]){"shared"});
    char label[16];
    for (int i = 0; i < N_OPS; i++) {
        prom_child_observe(mine, (double)(i % 4) * 0.25); /* 0, .25, .5, .75 */
        /* label lookups racing with creation: 50 routes shared by every thread */
        snprintf(label, sizeof label, "/r/%d", i % 50);
        prom_inc(w->ctr, (const char *const[]){label}, 1);
    }
    return NULL;
}

static void test_concurrent_updates_are_exact(void)
{
    struct prom_registry *reg = prom_registry_new();
    struct prom_family *h =
        prom_histogram(reg, "aiops_conc_seconds", "Concurrency.", 1, (const char *const[]){"k"},
                       (const double[]){0.25, 0.5}, 2);
    struct prom_family *c =
        prom_counter(reg, "aiops_conc_total", "Concurrency.", 1, (const char *const[]){"route"});
    pthread_t th[N_THREADS];
    struct worker w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (struct worker){h, c, i};
        CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    /* scrape while they run: every render must be self-consistent */
    struct buf b = BUF_INIT;
    for (int i = 0; i < 20; i++) {
        buf_reset(&b);
        CHECK_INT(prom_render_text(reg, &b), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    struct prom_child *ch = prom_child(h, (const char *const[]){"shared"});
    CHECK_INT(prom_child_count(ch), N_THREADS * N_OPS);
    /* each thread adds 25000 * (0 + .25 + .5 + .75): exact in binary */
    CHECK_NEAR(prom_child_value(ch), N_THREADS * 25000 * 1.5, 0);
    buf_reset(&b);
    CHECK_INT(prom_render_text(reg, &b), 0);
    CHECK(strstr(b.data, "aiops_conc_seconds_bucket{k=\"shared\",le=\"0.25\"} 200000\n") != NULL);
    CHECK(strstr(b.data, "aiops_conc_seconds_bucket{k=\"shared\",le=\"0.5\"} 300000\n") != NULL);
    CHECK(strstr(b.data, "aiops_conc_seconds_bucket{k=\"shared\",le=\"+Inf\"} 400000\n") != NULL);
    CHECK(strstr(b.data, "aiops_conc_seconds_count{k=\"shared\"} 400000\n") != NULL);
    for (int r = 0; r < 50; r++) {
        char label[16];
        snprintf(label, sizeof label, "/r/%d", r);
        CHECK_NEAR(prom_child_value(prom_child(c, (const char *const[]){label})),
                   N_THREADS * N_OPS / 50, 0);
    }
    CHECK(strstr(b.data, PROM_OVERFLOW) == NULL);
    buf_free(&b);
    prom_registry_free(reg);
}

UNIT_MAIN(UNIT(test_render_text_exact), UNIT(test_promtool_accepts_output), UNIT(test_fmt_double),
          UNIT(test_registration_rules), UNIT(test_default_buckets), UNIT(test_render_json),
          UNIT(test_quantiles), UNIT(test_overflow_child), UNIT(test_concurrent_updates_are_exact))
