/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A keyed cache of values built in the background: an entry is created with an argument (what
 * to build from), a worker thread builds its value, and the owning thread takes finished values
 * in with bgcache__collect(). Ready values are evicted least-recently-used when their bytes
 * exceed the budget, and rebuilt when asked for again.
 *
 * Threading: every call but the build callback runs on one owning thread; the build callback
 * runs on the cache's worker and must only touch its arguments. Values are used (and freed)
 * only on the owning thread, so no value is ever freed under a reader.
 */
#ifndef SONDE_BGCACHE_H
#define SONDE_BGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bgcache_state {
	BGCACHE_QUEUED = 0, /* waiting for, or being built by, the worker */
	BGCACHE_IDLE = 4,   /* added lazily: built on first request */
	BGCACHE_READY,
	BGCACHE_EVICTED, /* built once, dropped for memory: rebuilt on next use */
	BGCACHE_FAILED,
};

/* Builds the value for arg (on the worker). Returns 0 or a negative errno. */
typedef int (*bgcache_build_fn)(void *ctx, void *arg, void **ret_value, size_t *ret_bytes);
typedef void (*bgcache_free_fn)(void *ctx, void *ptr);

struct bgcache_opts {
	uint64_t max_bytes;
	bgcache_build_fn build;
	bgcache_free_fn free_value;
	bgcache_free_fn free_arg; /* may be NULL */
	void *ctx;
	const char *thread_name; /* the worker's name in ps/top (15 chars), or NULL */
};

struct bgcache_stats {
	uint64_t entries;
	uint64_t ready;
	uint64_t bytes; /* held by ready values */
	uint64_t max_bytes;
	uint64_t builds;
	uint64_t build_failures;
	uint64_t build_ns; /* worker time spent building */
	uint64_t evictions;
	uint64_t queued;
	uint64_t pending; /* builds queued or running now */
};

struct bgcache;
struct bgcache_entry;

/* Starts the worker. Returns NULL with errno set. */
struct bgcache *bgcache__new(const struct bgcache_opts *opts);
/* Stops the worker (after its current build) and frees every entry. NULL-safe. */
void bgcache__free(struct bgcache *c);

/* The entry for key with a new reference, or NULL. */
struct bgcache_entry *bgcache__find(struct bgcache *c, uint64_t key);
/*
 * Creates the entry for key (which must not exist), owning arg, with one reference, and
 * queues its build (or, when lazy, leaves it idle until its value is first asked for).
 * Returns NULL (arg freed) when out of memory.
 */
struct bgcache_entry *bgcache__add(struct bgcache *c, uint64_t key, void *arg, bool lazy);
void bgcache__put(struct bgcache *c, struct bgcache_entry *e);
/*
 * The entry's value if ready (marking it recently used), else NULL with *ret_state saying why;
 * an idle or evicted entry is queued for building.
 */
void *bgcache__value(struct bgcache *c, struct bgcache_entry *e, enum bgcache_state *ret_state);
/* Queues a ready or failed entry for building again (its current value stays until then). */
void bgcache__rebuild(struct bgcache *c, struct bgcache_entry *e);
void *bgcache_entry__arg(const struct bgcache_entry *e);
/* The last build's error (0 when it succeeded). */
int bgcache_entry__error(const struct bgcache_entry *e);

/* Takes in finished builds and evicts over budget. Returns how many finished. */
int bgcache__collect(struct bgcache *c);
/* Waits up to timeout_ms for every queued build, collecting. Returns 0 or -ETIMEDOUT. */
int bgcache__wait(struct bgcache *c, int timeout_ms);
void bgcache__stats(const struct bgcache *c, struct bgcache_stats *ret);

#endif
