/* Alerts: every performance_alert svc-monitor raises goes to the WebSocket topic
 * /ws/performance and, when ALERT_WEBHOOK_URL is set, to that webhook as Slack- and
 * Teams-compatible JSON ({"text": ...} plus the alert's own fields).
 *
 * The webhook is posted by a thread of its own through lib/http/outbound.h (the one checked
 * outbound client: OUTBOUND_ALLOW_NETS lists the internal networks it may reach), retried
 * with backoff (0.5, 1, 2, 4 s) on a failure or a 5xx/429 answer, and never blocks a
 * request: alerts wait in a bounded queue and the oldest is dropped (and logged) when it is
 * full. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "http/outbound.h"
#include "monitor_svc.h"
#include "rpc/bgthread.h"

#define QUEUE_MAX 64
#define RETRIES 4

static struct {
    struct bg_thread sender;  /* its mu guards the queue, its cv signals a new body */
    char *queue[QUEUE_MAX];   /* JSON bodies, owned */
    size_t head, count;
    char *url;
    struct outbound_policy policy;
    unsigned long posted, failed, dropped;
} al;

static void post_one(const char *body)
{
    long backoff = 500;
    for (int attempt = 0; attempt <= RETRIES; attempt++) {
        struct outbound_response resp = {0};
        struct aiops_error err = AIOPS_ERROR_INIT;
        int rv = outbound_post(&al.policy, al.url, NULL, "application/json", body, strlen(body),
                               &resp, &err);
        long status = resp.status;
        outbound_response_free(&resp);
        if (rv == 0 && status >= 200 && status < 300) {
            al.posted++;
            return;
        }
        /* a refused address or a bad URL will not get better by waiting; 4xx neither,
         * except 429 (slow down) */
        int retryable = rv == AIOPS_ETIMEDOUT || rv == AIOPS_EUNAVAIL ||
                        (rv == 0 && (status >= 500 || status == 429));
        log_warn("alert webhook: %s (attempt %d)",
                 rv == 0 ? "answered with an error status" : err.message, attempt + 1);
        if (!retryable || attempt == RETRIES || bg_thread_sleep(&al.sender, backoff))
            break;
        backoff *= 2;
    }
    al.failed++;
}

static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&al.sender.mu);
    for (;;) {
        while (!al.sender.stop && al.count == 0)
            pthread_cond_wait(&al.sender.cv, &al.sender.mu);
        if (al.count == 0)
            break; /* stopping with nothing left */
        char *body = al.queue[al.head];
        al.head = (al.head + 1) % QUEUE_MAX;
        al.count--;
        pthread_mutex_unlock(&al.sender.mu);
        post_one(body);
        free(body);
        pthread_mutex_lock(&al.sender.mu);
    }
    pthread_mutex_unlock(&al.sender.mu);
    return NULL;
}

int alerts_start(void)
{
    const char *url = getenv("ALERT_WEBHOOK_URL");
    if (url == NULL || url[0] == '\0')
        return AIOPS_OK;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (outbound_policy_init(&al.policy, getenv("OUTBOUND_ALLOW_NETS"), &err) != 0) {
        log_error("OUTBOUND_ALLOW_NETS: %s", err.message);
        return AIOPS_EINVAL;
    }
    if ((al.url = strdup(url)) == NULL)
        return AIOPS_ENOMEM;
    return bg_thread_start(&al.sender, sender_main, NULL);
}

void alerts_stop(void)
{
    bg_thread_stop(&al.sender);
    while (al.count > 0) {
        free(al.queue[al.head]);
        al.head = (al.head + 1) % QUEUE_MAX;
        al.count--;
    }
    free(al.url);
    al.url = NULL;
}

void alerts_raise(struct svc *s, const char *project, json_t *alert)
{
    if (alert == NULL)
        return;
    if (al.sender.started) {
        /* Slack and Teams show "text"; the alert's own fields ride along for other readers */
        const char *sev = json_string_value(json_object_get(alert, "severity"));
        const char *msg = json_string_value(json_object_get(alert, "message"));
        json_t *hook = json_deep_copy(alert);
        char text[600];
        snprintf(text, sizeof text, "[aiops %s] %s", sev ? sev : "alert", msg ? msg : "");
        if (hook != NULL)
            json_object_set_new(hook, "text", json_string(text));
        char *body = hook ? jsonx_to_string(hook, NULL) : NULL;
        json_decref(hook);
        if (body != NULL) {
            pthread_mutex_lock(&al.sender.mu);
            if (al.count == QUEUE_MAX) {
                free(al.queue[al.head]); /* the oldest goes: a burst must not block anyone */
                al.head = (al.head + 1) % QUEUE_MAX;
                al.count--;
                al.dropped++;
                log_warn("alert webhook queue full: oldest alert dropped");
            }
            al.queue[(al.head + al.count) % QUEUE_MAX] = body;
            al.count++;
            pthread_cond_signal(&al.sender.cv);
            pthread_mutex_unlock(&al.sender.mu);
        }
    }
    svc_publish(s, project, "/ws/performance", "performance_alert", alert);
}
