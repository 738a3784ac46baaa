/* aiops-admin -- administration against the database (DATABASE_URL), no gateway needed.
 *
 *   aiops-admin migrate
 *   aiops-admin key create --project P [--name N] [--scopes read,write,predict]
 *   aiops-admin key list [--project P]
 *   aiops-admin key revoke KEY_ID
 *   aiops-admin token create --project P [--sub S] [--scopes ...] [--ttl SECONDS]
 *                                                   (signs with JWT_SECRET)
 *
 * Output is JSON on stdout; a new API key's secret is shown once and only its SHA-256 is
 * stored. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "http/jwt.h"
#include "store/db.h"

static const char *const known_scopes[] = {"read", "write", "predict", "admin"};

/* Says on stderr what went wrong ("aiops-admin: " and the printf-style message) and
 * returns status, so that a failing step is one `return admin_fail(1, ...)`. */
static int admin_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int admin_fail(int status, const char *fmt, ...)
{
    va_list ap;
    fputs("aiops-admin: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return status;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: aiops-admin migrate\n"
        "       aiops-admin key create --project P [--name N] [--scopes read,write,predict]\n"
        "       aiops-admin key list [--project P]\n"
        "       aiops-admin key revoke KEY_ID\n"
        "       aiops-admin token create --project P [--sub S] [--scopes LIST] [--ttl SECONDS]\n"
        "environment: DATABASE_URL (JWT_SECRET for token create)\n");
    return 2;
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static int print(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (s == NULL)
        return 1;
    puts(s);
    free(s);
    return 0;
}

/* Checks a comma-separated scope list; writes the PostgreSQL array literal into out. */
static int parse_scopes(const char *list, char *out, size_t cap, json_t *arr)
{
    size_t o = 0;
    out[o++] = '{';
    char copy[256];
    snprintf(copy, sizeof copy, "%s", list);
    char *save = NULL;
    int n = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known_scopes / sizeof known_scopes[0]; k++)
            ok |= strcmp(t, known_scopes[k]) == 0;
        if (!ok) {
            return admin_fail(AIOPS_EINVAL, "unknown scope \"%s\" (read, write, predict, admin)",
                              t);
        }
        int w = snprintf(out + o, cap - o, "%s%s", n++ ? "," : "", t);
        if (w < 0 || (size_t)w >= cap - o)
            return AIOPS_ETOOBIG;
        o += (size_t)w;
        json_array_append_new(arr, json_string(t));
    }
    if (n == 0 || o + 2 > cap)
        return AIOPS_EINVAL;
    out[o++] = '}';
    out[o] = '\0';
    return AIOPS_OK;
}

static int key_create(struct db *db, int argc, char **argv)
{
    const char *project = opt(argc, argv, "--project", NULL);
    const char *name = opt(argc, argv, "--name", "");
    const char *scopes = opt(argc, argv, "--scopes", "read,write,predict");
    if (project == NULL)
        return usage();
    char pgarr[256];
    json_t *scope_arr = json_array();
    if (parse_scopes(scopes, pgarr, sizeof pgarr, scope_arr) != 0) {
        json_decref(scope_arr);
        return 2;
    }
    uint8_t raw[24], digest[32];
    char secret[64], key[80], prefix[16], id[37];
    if (random_bytes(raw, sizeof raw) != 0) {
        json_decref(scope_arr);
        return 1;
    }
    base64url_encode(secret, raw, sizeof raw);
    snprintf(key, sizeof key, "aiops_%s", secret);
    snprintf(prefix, sizeof prefix, "%.12s", key);
    sha256(key, strlen(key), digest);
    uuid_v4(id);
    int rv;
    if ((rv = db_begin(db)) != 0)
        goto fail;
    const char *p1[1] = {project};
    if ((rv = db_execv(db, NULL, "INSERT INTO projects (id) VALUES ($1) ON CONFLICT DO NOTHING", 1,
                       p1)) != 0)
        goto fail;
    const char *vals[6] = {id, project, name, (const char *)digest, prefix, pgarr};
    int lens[6] = {0, 0, 0, 32, 0, 0}, fmts[6] = {0, 0, 0, 1, 0, 0};
    if ((rv = db_exec(db, NULL,
                      "INSERT INTO api_keys (id, project_id, name, key_hash, prefix, scopes) "
                      "VALUES ($1, $2, $3, $4, $5, $6)",
                      6, vals, lens, fmts)) != 0 ||
        (rv = db_commit(db)) != 0)
        goto fail;
    return print(json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", id, "project", project, "name", name,
                           "scopes", scope_arr, "key", key));
fail:
    db_rollback(db);
    json_decref(scope_arr);
    return admin_fail(
        1, "key create failed: %s%s", aiops_strerror(rv),
        rv == AIOPS_EINVAL ? " (is the project name valid: [A-Za-z0-9][A-Za-z0-9_.-]*?)" : "");
}

static int key_list(struct db *db, int argc, char **argv)
{
    const char *project = opt(argc, argv, "--project", NULL);
    PGresult *r;
    const char *vals[1] = {project};
    int rv = db_execv(db, &r,
                      "SELECT id::text, project_id, name, prefix, array_to_json(scopes)::text, "
                      "created_at::text, revoked_at IS NOT NULL FROM api_keys "
                      "WHERE $1::text IS NULL OR project_id = $1 ORDER BY created_at",
                      1, vals);
    if (rv != 0) {
        return admin_fail(1, "%s", aiops_strerror(rv));
    }
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *scopes = json_loads(PQgetvalue(r, i, 4), 0, NULL);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "id", PQgetvalue(r, i, 0), "project",
                      PQgetvalue(r, i, 1), "name", PQgetvalue(r, i, 2), "prefix",
                      PQgetvalue(r, i, 3), "scopes", scopes ? scopes : json_array(), "created_at",
                      PQgetvalue(r, i, 5), "revoked", PQgetvalue(r, i, 6)[0] == 't'));
    }
    PQclear(r);
    return print(arr);
}

static int key_revoke(struct db *db, const char *id)
{
    if (!uuid_valid(id)) {
        return admin_fail(2, "%s is not a key id", id);
    }
    PGresult *r;
    const char *vals[1] = {id};
    int rv = db_execv(db, &r,
                      "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL "
                      "RETURNING id",
                      1, vals);
    if (rv != 0) {
        return admin_fail(1, "%s", aiops_strerror(rv));
    }
    int n = PQntuples(r);
    PQclear(r);
    if (n == 0) {
        return admin_fail(1, "no active key %s", id);
    }
    return print(json_pack("{s:s, s:b}", "id", id, "revoked", 1));
}

static int token_create(int argc, char **argv)
{
    const char *secret = getenv("JWT_SECRET");
    const char *project = opt(argc, argv, "--project", NULL);
    const char *sub = opt(argc, argv, "--sub", "admin-issued");
    const char *scopes = opt(argc, argv, "--scopes", "read,write,predict");
    long ttl = strtol(opt(argc, argv, "--ttl", "3600"), NULL, 10);
    if (secret == NULL || strlen(secret) < 32) {
        return admin_fail(2, "JWT_SECRET (at least 32 bytes) must be set");
    }
    if (project == NULL || ttl <= 0)
        return usage();
    char pgarr[256], scope_str[256];
    json_t *arr = json_array();
    if (parse_scopes(scopes, pgarr, sizeof pgarr, arr) != 0) {
        json_decref(arr);
        return 2;
    }
    json_decref(arr);
    snprintf(scope_str, sizeof scope_str, "%s", scopes);
    for (char *p = scope_str; *p; p++)
        if (*p == ',')
            *p = ' ';
    int64_t now = (int64_t)time_now();
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "sub", sub, "project", project, "scope",
                               scope_str, "iat", (json_int_t)now, "exp", (json_int_t)(now + ttl));
    char *cj = jsonx_to_string(claims, NULL);
    json_decref(claims);
    char *tok = NULL;
    int rv = cj ? jwt_sign_hs256(cj, secret, strlen(secret), &tok) : AIOPS_ENOMEM;
    free(cj);
    if (rv != 0) {
        return admin_fail(1, "%s", aiops_strerror(rv));
    }
    int st = print(json_pack("{s:s, s:I}", "token", tok, "expires_at", (json_int_t)(now + ttl)));
    free(tok);
    return st;
}

int main(int argc, char **argv)
{
    log_init("aiops-admin");
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "token") == 0 && argc > 2 && strcmp(argv[2], "create") == 0)
        return token_create(argc, argv);
    const char *url = getenv("DATABASE_URL");
    if (url == NULL) {
        return admin_fail(2, "DATABASE_URL is not set");
    }
    struct db *db;
    if (db_open(url, &db) != 0)
        return 1;
    int status;
    if (db_connect(db) != 0) {
        fprintf(stderr, "aiops-admin: cannot connect to the database\n");
        status = 1;
    } else if (strcmp(argv[1], "migrate") == 0) {
        int applied = 0;
        int rv = db_migrate(db, &applied);
        if (rv != 0)
            fprintf(stderr, "aiops-admin: migrate failed: %s\n", aiops_strerror(rv));
        else
            fprintf(stderr, "aiops-admin: %d migration(s) applied\n", applied);
        status = rv ? 1 : 0;
    } else if (strcmp(argv[1], "key") == 0 && argc > 2 && strcmp(argv[2], "create") == 0) {
        status = key_create(db, argc, argv);
    } else if (strcmp(argv[1], "key") == 0 && argc > 2 && strcmp(argv[2], "list") == 0) {
        status = key_list(db, argc, argv);
    } else if (strcmp(argv[1], "key") == 0 && argc > 3 && strcmp(argv[2], "revoke") == 0) {
        status = key_revoke(db, argv[3]);
    } else {
        status = usage();
    }
    db_close(db);
    return status;
}
