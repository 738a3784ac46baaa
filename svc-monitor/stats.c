/* GET /api/v1/stats (seed 004's system statistics): what the project holds and has done, in
 * one read -- counseling sessions (stored, labeled, per outcome), their processing (per status
 * and predicted outcome, the last 24 hours, the mean time of the four steps), callbacks (per
 * delivery state), datasets, runs (per status) and registered models. */
#include <stdlib.h>

#include "core/time.h"
#include "monitor_svc.h"

/* A JSON object of counts as PostgreSQL aggregated it ({} when it cannot be read). */
static json_t *counts_json(const char *text)
{
    json_t *o = json_loads(text[0] ? text : "{}", 0, NULL);
    return o ? o : json_object();
}

static json_int_t at(const PGresult *r, int col)
{
    return strtoll(PQgetvalue(r, 0, col), NULL, 10);
}

void handle_stats(struct svc_call *c)
{
    const char *v[] = {svc_project(c)};
    PGresult *r;
    /* each aggregate a scalar subquery: one round trip, every count of the same instant */
    if (svc_execv(
            c, &r, "reading the statistics",
            "SELECT (SELECT count(*) FROM call_sessions WHERE project_id = $1),"
            " (SELECT count(*) FROM call_sessions WHERE project_id = $1 AND outcome IS NOT NULL),"
            " (SELECT coalesce(json_object_agg(outcome, n), '{}')::text FROM (SELECT outcome,"
            "  count(*) n FROM call_sessions WHERE project_id = $1 AND outcome IS NOT NULL"
            "  GROUP BY outcome) s),"
            " (SELECT coalesce(json_object_agg(status, n), '{}')::text FROM (SELECT status,"
            "  count(*) n FROM call_results WHERE project_id = $1 GROUP BY status) s),"
            " (SELECT coalesce(json_object_agg(prediction, n), '{}')::text FROM (SELECT"
            "  prediction, count(*) n FROM call_results WHERE project_id = $1 AND prediction IS"
            "  NOT NULL GROUP BY prediction) s),"
            " (SELECT count(*) FROM call_results WHERE project_id = $1 AND created_at > now() -"
            "  interval '24 hours'),"
            " (SELECT coalesce(avg(processing_ms), 0) FROM call_results WHERE project_id = $1"
            "  AND status = 'completed'),"
            " (SELECT coalesce(json_object_agg(callback_status, n), '{}')::text FROM (SELECT"
            "  callback_status, count(*) n FROM call_results WHERE project_id = $1 AND"
            "  callback_status IS NOT NULL GROUP BY callback_status) s),"
            " (SELECT count(*) FROM datasets WHERE project_id = $1),"
            " (SELECT coalesce(json_object_agg(status, n), '{}')::text FROM (SELECT status,"
            "  count(*) n FROM runs WHERE project_id = $1 GROUP BY status) s),"
            " (SELECT count(*) FROM models WHERE project_id = $1)",
            1, v) != 0)
        return;
    char now[32];
    time_iso8601(now, sizeof now, time_now());
    json_t *by_status = counts_json(PQgetvalue(r, 0, 3));
    json_int_t processed = 0;
    const char *k;
    json_t *n;
    json_object_foreach(by_status, k, n) processed += json_integer_value(n);
    svc_reply_json(
        c, 200,
        json_pack("{s:{s:I, s:I, s:o}, s:{s:I, s:o, s:o, s:I, s:f}, s:{s:o}, s:I, s:{s:o}, "
                  "s:I, s:s}",
                  "sessions", "stored", at(r, 0), "labeled", at(r, 1), "by_outcome",
                  counts_json(PQgetvalue(r, 0, 2)), "processing", "total", processed, "by_status",
                  by_status, "by_prediction", counts_json(PQgetvalue(r, 0, 4)), "last_24h",
                  at(r, 5), "avg_processing_ms", strtod(PQgetvalue(r, 0, 6), NULL), "callbacks",
                  "by_status", counts_json(PQgetvalue(r, 0, 7)), "datasets", at(r, 8), "runs",
                  "by_status", counts_json(PQgetvalue(r, 0, 9)), "models", at(r, 10),
                  "generated_at", now));
    PQclear(r);
}
