/* env.h -- configuration from the environment.
 *
 * A variable that is set but not valid is an error: the functions return AIOPS_EINVAL and
 * log what was wrong, so that a service refuses to start instead of running with a value
 * nobody asked for. An unset or empty variable takes the default. */
#ifndef AIOPS_ENV_H
#define AIOPS_ENV_H

const char *env_str(const char *name, const char *def);
int env_long(const char *name, long def, long min, long max, long *out);
int env_bool(const char *name, int def, int *out);

#endif
