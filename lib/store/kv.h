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
/* PING; AIOPS_OK or AIOPS_EUNAVAIL. */
int kv_ping(struct kv *kv);

#endif
