#include "core/err.h"

static const char *const err_names[AIOPS_ERR_COUNT] = {
    [AIOPS_OK] = "ok",
    [AIOPS_ENOMEM] = "out of memory",
    [AIOPS_EINVAL] = "invalid argument",
    [AIOPS_EPARSE] = "malformed input",
    [AIOPS_ETOOBIG] = "over the size limit",
    [AIOPS_ENOTFOUND] = "not found",
    [AIOPS_EEXIST] = "already exists",
    [AIOPS_EIO] = "input/output error",
    [AIOPS_EDB] = "database error",
    [AIOPS_ERPC] = "rpc error",
    [AIOPS_ETIMEDOUT] = "timed out",
    [AIOPS_EUNAVAIL] = "unavailable",
    [AIOPS_EAUTH] = "authentication failed",
    [AIOPS_ECORRUPT] = "corrupt data",
    [AIOPS_ECANCELED] = "canceled",
    [AIOPS_EUNSUPPORTED] = "not supported",
};

const char *aiops_strerror(int err)
{
    if (err < 0 || err >= AIOPS_ERR_COUNT || err_names[err] == 0)
        return "unknown error";
    return err_names[err];
}
