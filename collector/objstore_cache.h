/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The read cache of object storage: ranged reads (key, offset, length) kept in memory up to a
 * byte budget, least recently used out first. Objects are immutable, so a read of the same range
 * returns the same bytes; deleting a key must drop what is cached of it. Thread-safe (one mutex).
 * The budget counts each entry's data, key and bookkeeping; an entry over a quarter of the
 * budget is not kept, so one large read cannot flush the cache.
 */
#ifndef SONDE_OBJSTORE_CACHE_H
#define SONDE_OBJSTORE_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"

struct objcache;

/* A cache of at most max_bytes; NULL on ENOMEM. */
struct objcache *objcache__new(uint64_t max_bytes);
/* NULL-safe. */
void objcache__free(struct objcache *c);
/* Appends the cached bytes of (key, off, len) to out: true on a hit (which becomes the newest). */
bool objcache__get(struct objcache *c, const char *key, uint64_t off, uint64_t len,
		   struct buf *out);
/* Keeps a copy of len bytes of key at off, evicting the oldest; silently not when out of memory. */
void objcache__put(struct objcache *c, const char *key, uint64_t off, const uint8_t *data,
		   uint64_t len);
/* Drops every range of key. */
void objcache__drop_key(struct objcache *c, const char *key);
/* The bytes held now. */
uint64_t objcache__bytes(struct objcache *c);

#endif
