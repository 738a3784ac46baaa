/* err.h -- the one error enum of the suite, and the one way to say what went wrong where.
 *
 * Functions that can fail return an int: 0 (AIOPS_OK) on success or one of the codes
 * below; results travel through out-parameters. aiops_strerror() names a code. A function
 * whose caller needs more than the code (which field, which byte, why) also takes a
 * `struct aiops_error *` and fills it on failure. */
#ifndef AIOPS_ERR_H
#define AIOPS_ERR_H

#include <stdarg.h>

enum aiops_err {
    AIOPS_OK = 0,
    AIOPS_ENOMEM,       /* an allocation failed */
    AIOPS_EINVAL,       /* an argument or input value is not acceptable (also PostgreSQL's
                           "bad data" and CHECK violations, lib/store/db.h) */
    AIOPS_EPARSE,       /* input is malformed; the caller's detail says where */
    AIOPS_ETOOBIG,      /* input is over a size limit */
    AIOPS_ENOTFOUND,    /* the named thing does not exist */
    AIOPS_EEXIST,       /* the thing already exists (PostgreSQL: a unique violation) */
    AIOPS_EIO,          /* a system call failed; errno has the reason */
    AIOPS_EDB,          /* PostgreSQL refused a statement or a COPY for a reason not mapped
                           to another code (logged where it happened). A server that is
                           down or a connection that broke is AIOPS_EUNAVAIL. */
    AIOPS_ERPC,         /* an nng operation failed */
    AIOPS_ETIMEDOUT,    /* a deadline passed */
    AIOPS_EUNAVAIL,     /* a dependency (PostgreSQL, Redis, a service) is down or unreachable */
    AIOPS_EAUTH,        /* credentials missing or wrong */
    AIOPS_ECORRUPT,     /* stored bytes failed their check */
    AIOPS_ECANCELED,    /* the operation was cancelled */
    AIOPS_EUNSUPPORTED, /* a valid request for something not implemented */
    AIOPS_ERR_COUNT
};

/* Returns a static, human-readable name for err (never NULL). */
const char *aiops_strerror(int err);

/* --- the detail of a failure ------------------------------------------------------------- */

#define AIOPS_ERROR_FIELD 64
#define AIOPS_ERROR_MESSAGE 256

/* What went wrong and where, left by a failing function for its caller, who shows it (a
 * command line) or turns it into an API error's "details" (jsonx_error_details(),
 * lib/core/jsonx.h). Plain data that owns nothing: copy it freely, keep it on the stack.
 * AIOPS_ERROR_INIT or aiops_error_clear() make it empty: no code, "" field and message,
 * offset -1, line and column 0. A function taking one accepts NULL (nothing is recorded)
 * and, unless it says otherwise, leaves it empty on success. */
struct aiops_error {
    const char *code;                  /* static machine-readable reason ("bad_boundary"),
                                          or NULL */
    char field[AIOPS_ERROR_FIELD];     /* the request field or parameter at fault, or "" */
    char message[AIOPS_ERROR_MESSAGE]; /* what is wrong, in words, or "" */
    long offset;                       /* byte offset of the problem in the input; -1: none */
    long line, column;                 /* 1-based place in a text input; 0: none */
};

#define AIOPS_ERROR_INIT {NULL, "", "", -1, 0, 0}

/* Empties e (NULL: nothing). */
void aiops_error_clear(struct aiops_error *e);
/* Records field (NULL: "") and the printf-style message in e, both truncated to fit, and
 * returns rv -- so that a failing function can `return aiops_error_set(err, AIOPS_EINVAL,
 * "rounds", "rounds must be ...")`. code and the position are left as they are. e may be
 * NULL: rv is returned and nothing recorded. */
int aiops_error_set(struct aiops_error *e, int rv, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int aiops_error_vset(struct aiops_error *e, int rv, const char *field, const char *fmt, va_list ap);

#endif
