/* err.h -- the one error enum of the suite.
 *
 * Functions that can fail return an int: 0 (AIOPS_OK) on success or one of the codes
 * below; results travel through out-parameters. aiops_strerror() names a code. */
#ifndef AIOPS_ERR_H
#define AIOPS_ERR_H

enum aiops_err {
    AIOPS_OK = 0,
    AIOPS_ENOMEM,       /* an allocation failed */
    AIOPS_EINVAL,       /* an argument or input value is not acceptable */
    AIOPS_EPARSE,       /* input is malformed; the caller's detail says where */
    AIOPS_ETOOBIG,      /* input is over a size limit */
    AIOPS_ENOTFOUND,    /* the named thing does not exist */
    AIOPS_EEXIST,       /* the thing already exists */
    AIOPS_EIO,          /* a system call failed; errno has the reason */
    AIOPS_EDB,          /* PostgreSQL refused or is unreachable */
    AIOPS_EREDIS,       /* Redis refused or is unreachable */
    AIOPS_ERPC,         /* an nng operation failed */
    AIOPS_ETIMEDOUT,    /* a deadline passed */
    AIOPS_EUNAVAIL,     /* a dependency is down */
    AIOPS_EAUTH,        /* credentials missing or wrong */
    AIOPS_ECORRUPT,     /* stored bytes failed their check */
    AIOPS_ECANCELED,    /* the operation was cancelled */
    AIOPS_EUNSUPPORTED, /* a valid request for something not implemented */
    AIOPS_ERR_COUNT
};

/* Returns a static, human-readable name for err (never NULL). */
const char *aiops_strerror(int err);

#endif
