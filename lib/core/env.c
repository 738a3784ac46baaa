#include "core/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"

const char *env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : def;
}

int env_long(const char *name, long def, long min, long max, long *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return AIOPS_OK;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < min || x > max) {
        log_error("config: %s=%s is not an integer in [%ld, %ld]", name, v, min, max);
        return AIOPS_EINVAL;
    }
    *out = x;
    return AIOPS_OK;
}

int env_bool(const char *name, int def, int *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return AIOPS_OK;
    }
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
        *out = 1;
        return AIOPS_OK;
    }
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) {
        *out = 0;
        return AIOPS_OK;
    }
    log_error("config: %s=%s is not a boolean (1/0/true/false)", name, v);
    return AIOPS_EINVAL;
}
