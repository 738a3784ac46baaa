#include "core/err.h"

#include <stdio.h>

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

void aiops_error_clear(struct aiops_error *e)
{
    if (e == NULL)
        return;
    e->code = NULL;
    e->field[0] = '\0';
    e->message[0] = '\0';
    e->offset = -1;
    e->line = 0;
    e->column = 0;
}

int aiops_error_vset(struct aiops_error *e, int rv, const char *field, const char *fmt, va_list ap)
{
    if (e == NULL)
        return rv;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return rv;
}

int aiops_error_set(struct aiops_error *e, int rv, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rv = aiops_error_vset(e, rv, field, fmt, ap);
    va_end(ap);
    return rv;
}
