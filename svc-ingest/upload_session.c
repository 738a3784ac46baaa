/* Streamed uploads: the gateway sends an upload's body as an ordered sequence of parts on
 * one session (proto/aiops.proto UploadPart: BEGIN, CHUNKs, END or ABORT), so that neither
 * process holds the whole body in memory. The parts are written, as they come, to a spool
 * file of this process (unlinked at once: nothing is left behind, whatever happens), and at
 * END the file is mapped and served exactly as a whole body would be (upload.c): the form is
 * parsed, the CSV hashed, deduplicated, read and stored as before. The mapping's pages are
 * the page cache's, not this process's heap; the kernel takes them back when it needs to.
 *
 * A session lives in this process only: the gateway dials one replica per upload and sends
 * every part there. A session whose deadline (the request's) has passed -- a gateway that
 * died mid-upload -- is closed by the next part to arrive; UPLOAD_SESSIONS_MAX bound them. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/env.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest_svc.h"
#include "rpc/envelope.h"

#define UPLOAD_SESSIONS_MAX 64
/* After an upload at least this big, free heap pages go back to the system (malloc_trim):
 * a burst of big uploads must not leave the process at its peak for good. */
#define UPLOAD_TRIM_BYTES ((uint64_t)1 << 20)

struct upload_session {
    char id[40]; /* "" : a free slot */
    char project[72];
    int fd;            /* the spool file (unlinked) */
    uint64_t bytes;    /* written so far */
    uint32_t next_seq; /* the seq the next part must carry */
    int64_t deadline_ms;
    int busy; /* a worker is serving one of its parts */
};

static struct upload_session sessions[UPLOAD_SESSIONS_MAX];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

static void session_close(struct upload_session *s)
{
    if (s->fd >= 0)
        close(s->fd);
    memset(s, 0, sizeof *s);
    s->fd = -1;
}

/* Closes the sessions whose deadline has passed and that no worker holds (lock held). */
static void reap_expired(int64_t now)
{
    for (size_t i = 0; i < UPLOAD_SESSIONS_MAX; i++) {
        struct upload_session *s = &sessions[i];
        if (s->id[0] != '\0' && !s->busy && s->deadline_ms > 0 && s->deadline_ms < now) {
            log_warn("upload: session %s expired after %llu bytes: dropped", s->id,
                     (unsigned long long)s->bytes);
            session_close(s);
        }
    }
}

/* The session `id` of `project`, marked busy, or NULL when there is none (or another worker
 * holds it: parts of one session never overlap, so that is a misbehaving caller). */
static struct upload_session *session_take(const char *id, const char *project)
{
    struct upload_session *found = NULL;
    pthread_mutex_lock(&sessions_lock);
    reap_expired(time_now_ms());
    for (size_t i = 0; i < UPLOAD_SESSIONS_MAX && found == NULL; i++) {
        struct upload_session *s = &sessions[i];
        if (s->id[0] != '\0' && !s->busy && strcmp(s->id, id) == 0 &&
            strcmp(s->project, project) == 0) {
            s->busy = 1;
            found = s;
        }
    }
    pthread_mutex_unlock(&sessions_lock);
    return found;
}

/* Hands a session back (still open) or, with done, closes it. */
static void session_put(struct upload_session *s, int done)
{
    pthread_mutex_lock(&sessions_lock);
    if (done)
        session_close(s);
    else
        s->busy = 0;
    pthread_mutex_unlock(&sessions_lock);
}

/* A spool file under UPLOAD_SPOOL_DIR (else TMPDIR, else /tmp), already unlinked: -1 with
 * errno when it cannot be made. */
static int spool_open(void)
{
    const char *dir = env_str("UPLOAD_SPOOL_DIR", NULL);
    if (dir == NULL || dir[0] == '\0')
        dir = env_str("TMPDIR", "/tmp");
    char path[4096];
    if (snprintf(path, sizeof path, "%s/aiops-upload-XXXXXX", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static long upload_limit(void)
{
    long v;
    if (env_long("UPLOAD_LIMIT_BYTES", 64L << 20, 1024, 4L << 30, &v) != 0)
        v = 64L << 20;
    return v;
}

static void reply_continue(struct svc_call *c, const struct upload_session *s)
{
    svc_reply_json(c, 100,
                   json_pack("{s:s, s:I}", "session", s->id, "received", (json_int_t)s->bytes));
}

static void part_begin(struct svc_call *c, const Aiops__UploadPart *part)
{
    const Aiops__Request *req = svc_request(c);
    if (part->seq != 0 || part->session[0] == '\0' || strlen(part->session) >= 40) {
        svc_reply_error(c, API_BAD_REQUEST, "an upload session begins with part 0 and an id", NULL);
        return;
    }
    if (upload_check(c) != 0)
        return; /* answered: the session never starts */
    int fd = spool_open();
    if (fd < 0) {
        log_error("upload: cannot make a spool file: %s", strerror(errno));
        svc_reply_failure(c, AIOPS_EIO, "spooling the upload");
        return;
    }
    struct upload_session *s = NULL;
    pthread_mutex_lock(&sessions_lock);
    reap_expired(time_now_ms());
    for (size_t i = 0; i < UPLOAD_SESSIONS_MAX && s == NULL; i++)
        if (sessions[i].id[0] == '\0')
            s = &sessions[i];
    if (s != NULL) {
        snprintf(s->id, sizeof s->id, "%s", part->session);
        snprintf(s->project, sizeof s->project, "%s", svc_project(c));
        s->fd = fd;
        s->bytes = 0;
        s->next_seq = 1;
        s->deadline_ms = req->deadline_ms;
        s->busy = 0;
    }
    pthread_mutex_unlock(&sessions_lock);
    if (s == NULL) {
        close(fd);
        svc_reply_error(c, API_SERVICE_UNAVAILABLE, "too many uploads in progress", NULL);
        return;
    }
    svc_reply_json(c, 100, json_pack("{s:s, s:i}", "session", part->session, "received", 0));
}

/* Appends the part's bytes to the spool: 0, or an error after replying. */
static int spool_write(struct svc_call *c, struct upload_session *s, const uint8_t *p, size_t n)
{
    long limit = upload_limit();
    if (s->bytes + n > (uint64_t)limit) {
        svc_reply_error(c, API_PAYLOAD_TOO_LARGE, NULL,
                        json_pack("{s:I}", "limit", (json_int_t)limit));
        return AIOPS_ETOOBIG;
    }
    while (n > 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            log_error("upload: writing the spool file: %s", strerror(errno));
            svc_reply_failure(c, AIOPS_EIO, "spooling the upload");
            return AIOPS_EIO;
        }
        p += w;
        n -= (size_t)w;
        s->bytes += (uint64_t)w;
    }
    return AIOPS_OK;
}

/* The whole body is spooled: it is served from the file, mapped. */
static void serve_spooled(struct svc_call *c, struct upload_session *s)
{
    void *map = NULL;
    if (s->bytes > 0) {
        map = mmap(NULL, (size_t)s->bytes, PROT_READ, MAP_PRIVATE, s->fd, 0);
        if (map == MAP_FAILED) {
            log_error("upload: mapping the spool file: %s", strerror(errno));
            svc_reply_failure(c, AIOPS_EIO, "reading the spooled upload");
            return;
        }
        madvise(map, (size_t)s->bytes, MADV_SEQUENTIAL);
    }
    upload_serve(c, map, (size_t)s->bytes);
    if (map != NULL)
        munmap(map, (size_t)s->bytes);
    if (s->bytes >= UPLOAD_TRIM_BYTES)
        malloc_trim(0);
}

void upload_part(struct svc_call *c)
{
    const Aiops__Request *req = svc_request(c);
    const Aiops__UploadPart *part = req->upload;
    if (part->kind == AIOPS__UPLOAD_PART__KIND__BEGIN) {
        part_begin(c, part);
        return;
    }
    struct upload_session *s = session_take(part->session, svc_project(c));
    if (s == NULL) {
        if (part->kind == AIOPS__UPLOAD_PART__KIND__ABORT) {
            svc_reply_json(c, 200, json_pack("{s:b}", "aborted", 1));
            return;
        }
        svc_reply_error(c, API_SERVICE_UNAVAILABLE,
                        "the upload session is unknown here (expired, or the service restarted)",
                        json_pack("{s:s}", "session", part->session));
        return;
    }
    if (part->kind == AIOPS__UPLOAD_PART__KIND__ABORT) {
        log_info("upload: session %s aborted after %llu bytes", s->id,
                 (unsigned long long)s->bytes);
        session_put(s, 1);
        svc_reply_json(c, 200, json_pack("{s:b}", "aborted", 1));
        return;
    }
    s->deadline_ms = req->deadline_ms; /* each part brings the time to serve it */
    if (part->seq != s->next_seq) {
        svc_reply_errorf(c, API_BAD_REQUEST, NULL, "upload part %u came where %u was expected",
                         part->seq, s->next_seq);
        session_put(s, 1);
        return;
    }
    s->next_seq++;
    if (part->kind == AIOPS__UPLOAD_PART__KIND__END) {
        serve_spooled(c, s);
        session_put(s, 1);
        return;
    }
    if (spool_write(c, s, req->body.data, req->body.len) != 0) {
        session_put(s, 1);
        return;
    }
    reply_continue(c, s);
    session_put(s, 0);
}
