/* addr.h -- where the programs of a stack meet.
 *
 * Every address has a default: an ipc:// socket under the stack's run directory
 * (AIOPS_RUN_DIR, default var/run of the working directory), which `make up` creates with
 * mode 0700 -- so only its owner can reach the services, and two checkouts on one machine
 * never meet. Deployments across hosts set tcp:// addresses in the environment instead:
 *   RPC_LISTEN (a service), INGEST_RPC_URL ... MONITOR_RPC_URL (the gateway: one address,
 *   or a comma-separated list of replicas), EVENTS_IN_URL (services publish to the event
 *   relay there), EVENTS_OUT_URL (gateways subscribe to the relay there). */
#ifndef AIOPS_ADDR_H
#define AIOPS_ADDR_H

#include <stddef.h>

/* Longest address we keep (an ipc:// path must fit a sockaddr_un too: ~107 bytes). */
#define ADDR_MAX 512

/* The default address of `name` ("ingest.rpc", "events.in", ...): ipc://RUN_DIR/name. */
void addr_default(const char *name, char *out, size_t cap);
/* env's value, or the default address of `name`, into out. */
void addr_from_env(const char *env, const char *name, char *out, size_t cap);
/* A listen address as a client dials it: a wildcard host becomes loopback. */
void addr_dialable(const char *listen, char *out, size_t cap);

#endif
