// SPDX-License-Identifier: Apache-2.0
/* The read cache of object storage: an LRU list and a hash map of (key, offset, length). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "objstore_cache.h"
#include "../common/hash.h"

struct centry {
	struct centry *prev, *next; /* most recently used first */
	uint64_t hash;
	uint64_t off, len;
	char *key;
	uint8_t *data;
};

struct objcache {
	pthread_mutex_t lock;
	struct hmap map; /* hash -> entry (collisions: the entry is checked, a miss replaces it) */
	struct centry head; /* the list's sentinel */
	uint64_t bytes, max_bytes;
};

static uint64_t centry_hash(const char *key, uint64_t off, uint64_t len)
{
	return (hash_bytes(key, strlen(key), off * 31 + len) | 1);
}

static void centry_unlink(struct objcache *c, struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	c->bytes -= e->len + sizeof(*e) + strlen(e->key);
}

static void centry_free(struct objcache *c, struct centry *e)
{
	centry_unlink(c, e);
	hmap_del(&c->map, e->hash);
	free(e->key);
	free(e->data);
	free(e);
}

struct objcache *objcache__new(uint64_t max_bytes)
{
	struct objcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->head.prev = c->head.next = &c->head;
	c->max_bytes = max_bytes;
	return c;
}

void objcache__free(struct objcache *c)
{
	if (!c)
		return;
	while (c->head.next != &c->head)
		centry_free(c, c->head.next);
	hmap_free(&c->map);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool objcache__get(struct objcache *c, const char *key, uint64_t off, uint64_t len, struct buf *out)
{
	uint64_t h = centry_hash(key, off, len);
	struct centry *e;
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	e = hmap_get(&c->map, h);
	if (e && e->off == off && e->len == len && strcmp(e->key, key) == 0) {
		buf_append(out, e->data, e->len);
		hit = !out->oom;
		/* to the front */
		e->prev->next = e->next;
		e->next->prev = e->prev;
		e->next = c->head.next;
		e->prev = &c->head;
		c->head.next->prev = e;
		c->head.next = e;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void objcache__put(struct objcache *c, const char *key, uint64_t off, const uint8_t *data,
		   uint64_t len)
{
	uint64_t size = len + sizeof(struct centry) + strlen(key);
	struct centry *e, *old;

	if (size > c->max_bytes / 4)
		return; /* one entry may not flush the cache */
	e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	e->data = malloc(len ? len : 1);
	if (!e->key || !e->data) {
		free(e->key);
		free(e->data);
		free(e);
		return;
	}
	memcpy(e->data, data, len);
	e->off = off;
	e->len = len;
	e->hash = centry_hash(key, off, len);
	pthread_mutex_lock(&c->lock);
	old = hmap_get(&c->map, e->hash);
	if (old)
		centry_free(c, old);
	if (hmap_put(&c->map, e->hash, e)) {
		pthread_mutex_unlock(&c->lock);
		free(e->key);
		free(e->data);
		free(e);
		return;
	}
	e->next = c->head.next;
	e->prev = &c->head;
	c->head.next->prev = e;
	c->head.next = e;
	c->bytes += size;
	while (c->bytes > c->max_bytes && c->head.prev != &c->head)
		centry_free(c, c->head.prev);
	pthread_mutex_unlock(&c->lock);
}

void objcache__drop_key(struct objcache *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	for (struct centry *e = c->head.next, *next; e != &c->head; e = next) {
		next = e->next;
		if (strcmp(e->key, key) == 0)
			centry_free(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

uint64_t objcache__bytes(struct objcache *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->bytes;
	pthread_mutex_unlock(&c->lock);
	return n;
}
