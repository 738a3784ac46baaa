#include "rpc/addr.h"

#include <stdio.h>
#include <string.h>

#include "core/env.h"

void addr_default(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "ipc://%s/%s", env_str("AIOPS_RUN_DIR", "var/run"), name);
}

void addr_from_env(const char *env, const char *name, char *out, size_t cap)
{
    const char *v = env_str(env, NULL);
    if (v != NULL)
        snprintf(out, cap, "%s", v);
    else
        addr_default(name, out, cap);
}

void addr_dialable(const char *listen, char *out, size_t cap)
{
    const char *p = strstr(listen, "0.0.0.0");
    if (p == NULL)
        p = strstr(listen, "[::]");
    if (p == NULL) {
        snprintf(out, cap, "%s", listen);
        return;
    }
    size_t skip = p[0] == '0' ? 7 : 4;
    snprintf(out, cap, "%.*s127.0.0.1%s", (int)(p - listen), listen, p + skip);
}
