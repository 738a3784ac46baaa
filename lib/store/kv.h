/* kv.h -- one Redis connection that survives server restarts (hiredis underneath).
 *
 * Used by one thread at a time. Connects lazily; a command that fails because the
 * connection broke reconnects and is retried once. URL: redis://[:password@]host[:port][/db]
 * (also redis://user:password@host...). */
#ifndef AIOPS_KV_H
#define AIOPS_KV_H

#include <hiredis/hiredis.h>

struct kv;

/* Parses url; does not connect yet. AIOPS_EINVAL when the URL is not understood. */
int kv_open(const char *url, struct kv **out);
void kv_close(struct kv *kv);
/* Connects now if needed: AIOPS_OK or AIOPS_EUNAVAIL. */
int kv_connect(struct kv *kv);
int kv_is_up(const struct kv *kv);
/* Runs a command (hiredis format string: %s, %b, and d/i/o/u/x/f conversions with the
 * hh/h/l/ll modifiers only -- no %zu). Returns the reply (caller freeReplyObject()s it) or
 * NULL when Redis is unavailable. An error reply is returned as a reply of type
 * REDIS_REPLY_ERROR. */
redisReply *kv_command(struct kv *kv, const char *fmt, ...);
/* Pipelining: many commands in one round trip (a background thread writing thousands of
 * keys a second would otherwise wait for Redis once per key). kv_format_argv appends one
 * command of argc arguments (argv[i] of lens[i] bytes, binary-safe) to b in Redis's wire
 * protocol, without a format to parse or an allocation beyond b's growth: AIOPS_OK or
 * AIOPS_ENOMEM. kv_pipeline sends the n commands of cmds (len bytes of kv_format_argv's
 * output) at once and reads their n replies: the number of error replies, or -1 when Redis is
 * unavailable. A connection that broke is reopened and the whole batch sent once more, so
 * only idempotent commands (SET, not RPUSH) belong in one. */
struct buf;
int kv_format_argv(struct buf *b, int argc, const char *const *argv, const size_t *lens);
long kv_pipeline(struct kv *kv, const char *cmds, size_t len, size_t n);
/* PING; AIOPS_OK or AIOPS_EUNAVAIL. */
int kv_ping(struct kv *kv);

#endif
