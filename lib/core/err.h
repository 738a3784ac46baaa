/* err.h -- the one error enum of the suite.
 *
 * Functions that can fail return an int: 0 (AIOPS_OK) on success or one of the codes
 * below; results travel through out-parameters. aiops_strerror() names a code. */
#ifndef AIOPS_ERR_H
#define AIOPS_ERR_H

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

#endif
