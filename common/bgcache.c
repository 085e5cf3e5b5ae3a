// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bgcache.h"
#include "hash.h"
#include "util.h"

struct bgcache_entry {
	uint64_t key;
	uint32_t refs;
	bool in_worker; /* queued or being built: not freed until the build comes back */
	bool detached;	/* no longer in the map (refs reached 0 while in the worker) */
	enum bgcache_state state;
	void *arg;
	void *value;
	size_t bytes;
	uint64_t last_used;
	int error;
	/* written by the worker, read after the entry is on the done list */
	void *built;
	size_t built_bytes;
	int built_err;
	uint64_t build_ns;
	struct bgcache_entry *next_job;
	struct bgcache_entry *next_done;
};

struct bgcache {
	struct bgcache_opts opts;
	struct hmap entries;
	uint64_t clock;
	struct bgcache_stats stats;
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	struct bgcache_entry *jobs_head, *jobs_tail;
	struct bgcache_entry *done;
	uint32_t in_flight;
	bool stop;
};

static void *worker_main(void *arg)
{
	struct bgcache *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct bgcache_entry *e;
		uint64_t t0;

		while (!c->stop && !c->jobs_head)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		e = c->jobs_head;
		c->jobs_head = e->next_job;
		if (!c->jobs_head)
			c->jobs_tail = NULL;
		pthread_mutex_unlock(&c->lock);

		t0 = clock_ns(CLOCK_MONOTONIC);
		e->built = NULL;
		e->built_bytes = 0;
		e->built_err = c->opts.build(c->opts.ctx, e->arg, &e->built, &e->built_bytes);
		e->build_ns = clock_ns(CLOCK_MONOTONIC) - t0;

		pthread_mutex_lock(&c->lock);
		e->next_done = c->done;
		c->done = e;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct bgcache *bgcache__new(const struct bgcache_opts *opts)
{
	struct bgcache *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->opts = *opts;
	c->stats.max_bytes = opts->max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	err = pthread_create(&c->worker, NULL, worker_main, c);
	if (err) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		errno = err;
		return NULL;
	}
	c->worker_started = true;
	if (opts->thread_name)
		pthread_setname_np(c->worker, opts->thread_name);
	return c;
}

static void queue_build(struct bgcache *c, struct bgcache_entry *e)
{
	if (e->state != BGCACHE_READY)
		e->state = BGCACHE_QUEUED;
	e->in_worker = true;
	e->next_job = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->jobs_tail)
		c->jobs_tail->next_job = e;
	else
		c->jobs_head = e;
	c->jobs_tail = e;
	c->in_flight++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	c->stats.queued++;
}

static void drop_value(struct bgcache *c, struct bgcache_entry *e)
{
	if (!e->value)
		return;
	c->stats.bytes -= e->bytes;
	c->stats.ready--;
	c->opts.free_value(c->opts.ctx, e->value);
	e->value = NULL;
	e->bytes = 0;
}

static void entry_free(struct bgcache *c, struct bgcache_entry *e)
{
	drop_value(c, e);
	if (c->opts.free_arg)
		c->opts.free_arg(c->opts.ctx, e->arg);
	c->stats.entries--;
	free(e);
}

struct bgcache_entry *bgcache__find(struct bgcache *c, uint64_t key)
{
	struct bgcache_entry *e = hmap_get(&c->entries, key);

	if (e)
		e->refs++;
	return e;
}

struct bgcache_entry *bgcache__add(struct bgcache *c, uint64_t key, void *arg, bool lazy)
{
	struct bgcache_entry *e = calloc(1, sizeof(*e));

	if (!e || hmap_put(&c->entries, key, e)) {
		free(e);
		if (c->opts.free_arg)
			c->opts.free_arg(c->opts.ctx, arg);
		return NULL;
	}
	e->key = key;
	e->refs = 1;
	e->arg = arg;
	c->stats.entries++;
	if (lazy)
		e->state = BGCACHE_IDLE;
	else
		queue_build(c, e);
	return e;
}

void bgcache__put(struct bgcache *c, struct bgcache_entry *e)
{
	if (!e || --e->refs)
		return;
	hmap_del(&c->entries, e->key);
	if (e->in_worker) {
		e->detached = true; /* freed when its build comes back */
		return;
	}
	entry_free(c, e);
}

void *bgcache_entry__arg(const struct bgcache_entry *e)
{
	return e->arg;
}

int bgcache_entry__error(const struct bgcache_entry *e)
{
	return e->error;
}

static void evict(struct bgcache *c, const struct bgcache_entry *keep)
{
	while (c->stats.bytes > c->stats.max_bytes) {
		struct bgcache_entry *victim = NULL;
		size_t pos = 0;
		void *v;

		while (hmap_next(&c->entries, &pos, NULL, &v)) {
			struct bgcache_entry *e = v;

			if (e->state == BGCACHE_READY && e->value && e != keep &&
			    (!victim || e->last_used < victim->last_used))
				victim = e;
		}
		if (!victim)
			break;
		drop_value(c, victim);
		victim->state = BGCACHE_EVICTED;
		c->stats.evictions++;
	}
}

int bgcache__collect(struct bgcache *c)
{
	struct bgcache_entry *done, *rev = NULL;
	int n = 0;

	pthread_mutex_lock(&c->lock);
	done = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->lock);
	/* the list is newest first: take builds in the order they finished */
	while (done) {
		struct bgcache_entry *next = done->next_done;

		done->next_done = rev;
		rev = done;
		done = next;
	}
	for (done = rev; done;) {
		struct bgcache_entry *e = done;

		done = e->next_done;
		pthread_mutex_lock(&c->lock);
		c->in_flight--;
		pthread_mutex_unlock(&c->lock);
		e->in_worker = false;
		n++;
		c->stats.builds++;
		c->stats.build_ns += e->build_ns;
		e->error = e->built_err;
		if (e->detached) {
			if (e->built)
				c->opts.free_value(c->opts.ctx, e->built);
			entry_free(c, e);
			continue;
		}
		if (e->built_err) {
			c->stats.build_failures++;
			if (e->built)
				c->opts.free_value(c->opts.ctx, e->built);
			/* a rebuild that failed keeps the value it had */
			if (e->state != BGCACHE_READY)
				e->state = BGCACHE_FAILED;
			continue;
		}
		drop_value(c, e);
		e->value = e->built;
		e->bytes = e->built_bytes;
		e->built = NULL;
		e->state = BGCACHE_READY;
		e->last_used = ++c->clock;
		c->stats.bytes += e->bytes;
		c->stats.ready++;
		evict(c, e);
	}
	return n;
}

int bgcache__wait(struct bgcache *c, int timeout_ms)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		uint32_t pending;

		bgcache__collect(c);
		pthread_mutex_lock(&c->lock);
		pending = c->in_flight;
		if (pending && !c->done) {
			uint64_t now = clock_ns(CLOCK_REALTIME) + 20000000;
			struct timespec ts = {(time_t)(now / NSEC_PER_SEC),
					      (long)(now % NSEC_PER_SEC)};

			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		pthread_mutex_unlock(&c->lock);
		if (!pending)
			return 0;
		if (clock_ns(CLOCK_MONOTONIC) > deadline)
			return -ETIMEDOUT;
	}
}

void *bgcache__value(struct bgcache *c, struct bgcache_entry *e, enum bgcache_state *ret_state)
{
	*ret_state = e->state;
	if (e->state == BGCACHE_READY) {
		e->last_used = ++c->clock;
		return e->value;
	}
	if ((e->state == BGCACHE_EVICTED || e->state == BGCACHE_IDLE) && !e->in_worker) {
		queue_build(c, e);
		*ret_state = e->state;
	}
	return NULL;
}

void bgcache__rebuild(struct bgcache *c, struct bgcache_entry *e)
{
	if (!e->in_worker)
		queue_build(c, e);
}

void bgcache__stats(const struct bgcache *c, struct bgcache_stats *ret)
{
	*ret = c->stats;
	ret->pending = c->in_flight;
}

void bgcache__free(struct bgcache *c)
{
	size_t pos = 0;
	void *v;

	if (!c)
		return;
	if (c->worker_started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->worker, NULL);
	}
	/* finished builds not collected, jobs never started, then every entry still mapped */
	while (c->done) {
		struct bgcache_entry *e = c->done;

		c->done = e->next_done;
		e->in_worker = false;
		if (e->built)
			c->opts.free_value(c->opts.ctx, e->built);
		if (e->detached)
			entry_free(c, e);
	}
	for (struct bgcache_entry *e = c->jobs_head, *next; e; e = next) {
		next = e->next_job;
		e->in_worker = false;
		if (e->detached)
			entry_free(c, e);
	}
	while (hmap_next(&c->entries, &pos, NULL, &v))
		entry_free(c, v);
	hmap_free(&c->entries);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
