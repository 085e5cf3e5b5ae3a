// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"
#include "qctl.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_PARALLEL 4
#define WAIT_TICK_NS (100 * 1000000ULL) /* how often a waiting caller checks its query control */

struct slot {
	struct fetch_block b;
	bool done;
	int err;
	char msg[256];
};

struct fetcher {
	struct fetch_opts o;
	struct qctl *ctl; /* the caller's, or NULL */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a slot done, or room to read ahead, or stop */
	struct slot *slots;  /* one per block */
	size_t n;
	size_t next_read; /* the next block a reader takes */
	size_t next_out;  /* the next block the caller gets */
	bool holding;	  /* the caller has slots[next_out] */
	bool stop;
	size_t window;
	pthread_t *threads;
	unsigned int nthreads;
};

/*
 * Decoded services, shared by the queries that read them: blocks never change, so an entry
 * (block key, service, sections) never goes stale. The cache holds a reference, each reader
 * one more; an entry evicted while read is freed by its last reader.
 */
struct dentry {
	uint64_t hash;
	char key[OBJSTORE_MAX_KEY];
	uint32_t svc, mask;
	struct svcdata *sd;
	size_t bytes;
	unsigned int refs;
	bool cached;
	struct dentry *prev, *next; /* LRU, most recent first */
};

static struct {
	pthread_mutex_t lock;
	struct hmap map; /* hash -> entry */
	struct dentry lru;
	uint64_t bytes, max;
	uint64_t hits, misses;
} dc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t dhash(const char *key, uint32_t svc, uint32_t mask)
{
	return hash_bytes(key, strlen(key), ((uint64_t)svc << 32) | mask) | 1;
}

static void lru_unlink(struct dentry *d)
{
	d->prev->next = d->next;
	d->next->prev = d->prev;
}

static void lru_front(struct dentry *d)
{
	d->next = dc.lru.next;
	d->prev = &dc.lru;
	dc.lru.next->prev = d;
	dc.lru.next = d;
}

static void dentry_put(struct dentry *d) /* under dc.lock */
{
	if (--d->refs == 0) {
		svcdata__free(d->sd);
		free(d);
	}
}

/* Drops entries, least recent first, until the cache holds at most max bytes. */
static void dc_trim(uint64_t max) /* under dc.lock */
{
	while (dc.bytes > max && dc.lru.prev != &dc.lru) {
		struct dentry *d = dc.lru.prev;

		lru_unlink(d);
		hmap_del(&dc.map, d->hash);
		d->cached = false;
		dc.bytes -= d->bytes;
		dentry_put(d);
	}
}

void fetcher_set_decoded_cache(uint64_t max_bytes)
{
	pthread_mutex_lock(&dc.lock);
	if (!dc.lru.next)
		dc.lru.next = dc.lru.prev = &dc.lru;
	dc.max = max_bytes;
	dc_trim(max_bytes);
	pthread_mutex_unlock(&dc.lock);
}

void fetcher_decoded_cache_stats(uint64_t *hits, uint64_t *misses, uint64_t *bytes)
{
	pthread_mutex_lock(&dc.lock);
	*hits = dc.hits;
	*misses = dc.misses;
	*bytes = dc.bytes;
	pthread_mutex_unlock(&dc.lock);
}

/* A cached decoding of (key, svc, mask), with a reference for the caller, or NULL. */
static struct dentry *dc_get(const char *key, uint32_t svc, uint32_t mask)
{
	uint64_t h = dhash(key, svc, mask);
	struct dentry *d;

	pthread_mutex_lock(&dc.lock);
	d = dc.max ? hmap_get(&dc.map, h) : NULL;
	if (d && (d->svc != svc || d->mask != mask || strcmp(d->key, key) != 0))
		d = NULL; /* a hash collision: decoded again */
	if (d) {
		d->refs++;
		lru_unlink(d);
		lru_front(d);
		dc.hits++;
	} else if (dc.max) {
		dc.misses++;
	}
	pthread_mutex_unlock(&dc.lock);
	return d;
}

/* Takes sd (just decoded) into the cache when it fits; the entry for the caller, or NULL. */
static struct dentry *dc_put(const char *key, uint32_t svc, uint32_t mask, struct svcdata *sd)
{
	size_t bytes = svcdata__bytes(sd) + sizeof(struct dentry);
	uint64_t h = dhash(key, svc, mask);
	struct dentry *d;

	pthread_mutex_lock(&dc.lock);
	/* one service may take an eighth of the cache; another reader may have put it already */
	if (!dc.max || bytes > dc.max / 8 || hmap_get(&dc.map, h) || !(d = calloc(1, sizeof(*d)))) {
		pthread_mutex_unlock(&dc.lock);
		return NULL;
	}
	d->hash = h;
	str_copy(d->key, key, sizeof(d->key));
	d->svc = svc;
	d->mask = mask;
	d->sd = sd;
	d->bytes = bytes;
	d->refs = 2; /* the cache's and the caller's */
	if (hmap_put(&dc.map, h, d)) {
		pthread_mutex_unlock(&dc.lock);
		free(d);
		return NULL;
	}
	d->cached = true;
	lru_front(d);
	dc.bytes += bytes;
	dc_trim(dc.max);
	pthread_mutex_unlock(&dc.lock);
	return d;
}

static void free_block(struct fetch_block *b)
{
	for (uint32_t j = 0; b->svc && j < b->bi.nservices; j++) {
		if (b->held && b->held[j]) {
			pthread_mutex_lock(&dc.lock);
			dentry_put(b->held[j]);
			pthread_mutex_unlock(&dc.lock);
		} else {
			svcdata__free(b->svc[j]);
		}
	}
	free(b->svc);
	free(b->held);
	b->svc = NULL;
	b->held = NULL;
	block_info_free(&b->bi);
}

/* Reads block i: its footer, then each wanted service. */
static void read_block(struct fetcher *f, struct slot *sl, size_t i)
{
	const struct block_ref *ref = &f->o.refs->v[i];
	int e = reader_footer(f->o.store, ref, &sl->b.bi, sl->msg, sizeof(sl->msg));

	if (e == -ENOENT && f->o.skip_missing) {
		sl->err = 0;
		return;
	}
	if (!e && sl->b.bi.nservices) {
		sl->b.svc = calloc(sl->b.bi.nservices, sizeof(*sl->b.svc));
		sl->b.held = calloc(sl->b.bi.nservices, sizeof(*sl->b.held));
		if (!sl->b.svc || !sl->b.held) {
			snprintf(sl->msg, sizeof(sl->msg), "out of memory");
			e = -ENOMEM;
		}
	}
	for (uint32_t j = 0; !e && j < sl->b.bi.nservices; j++) {
		if (!f->o.want(f->o.want_ctx, &sl->b.bi.services[j]))
			continue;
		sl->b.held[j] = dc_get(ref->key, j, f->o.mask);
		if (sl->b.held[j]) {
			sl->b.svc[j] = sl->b.held[j]->sd;
			continue;
		}
		sl->b.svc[j] = reader_service(f->o.store, ref, &sl->b.bi, j, f->o.mask, &e, sl->msg,
					      sizeof(sl->msg));
		if (sl->b.svc[j])
			sl->b.held[j] = dc_put(ref->key, j, f->o.mask, sl->b.svc[j]);
	}
	sl->err = e;
}

static void *reader_thread(void *arg)
{
	struct fetcher *f = arg;

	qctl_set_current(f->ctl);
	pthread_mutex_lock(&f->lock);
	for (;;) {
		size_t i;

		while (!f->stop && f->next_read < f->n && f->next_read >= f->next_out + f->window)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop || f->next_read >= f->n)
			break;
		i = f->next_read++;
		pthread_mutex_unlock(&f->lock);
		read_block(f, &f->slots[i], i);
		pthread_mutex_lock(&f->lock);
		f->slots[i].done = true;
		pthread_cond_broadcast(&f->cond);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static atomic_uint default_parallel = DEFAULT_PARALLEL;

void fetcher_set_parallel(unsigned int n)
{
	atomic_store(&default_parallel, n ? n : DEFAULT_PARALLEL);
}

struct fetcher *fetcher__new(const struct fetch_opts *o)
{
	struct fetcher *f = calloc(1, sizeof(*f));
	unsigned int want;

	if (!f)
		return NULL;
	f->o = *o;
	if (!f->o.parallel)
		f->o.parallel = atomic_load(&default_parallel);
	f->ctl = qctl_current();
	f->n = o->refs->len;
	f->window = 2 * (size_t)f->o.parallel;
	want = (unsigned int)MIN((size_t)f->o.parallel, f->n);
	f->slots = calloc(f->n ? f->n : 1, sizeof(*f->slots));
	f->threads = calloc(want ? want : 1, sizeof(*f->threads));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (!f->slots || !f->threads) {
		fetcher__free(f);
		return NULL;
	}
	for (; f->nthreads < want; f->nthreads++)
		if (pthread_create(&f->threads[f->nthreads], NULL, reader_thread, f))
			break;
	if (want && !f->nthreads) {
		fetcher__free(f);
		return NULL;
	}
	return f;
}

static void release_held(struct fetcher *f)
{
	if (!f->holding)
		return;
	free_block(&f->slots[f->next_out].b);
	f->next_out++;
	f->holding = false;
	pthread_cond_broadcast(&f->cond);
}

struct fetch_block *fetcher__next(struct fetcher *f, int *ret_err, char *err, size_t err_size)
{
	struct slot *sl;
	int e = 0;

	pthread_mutex_lock(&f->lock);
	release_held(f);
	*ret_err = 0;
	if (f->next_out >= f->n) {
		pthread_mutex_unlock(&f->lock);
		return NULL;
	}
	sl = &f->slots[f->next_out];
	while (!sl->done && !e) {
		struct timespec ts;
		uint64_t t = clock_ns(CLOCK_REALTIME) + WAIT_TICK_NS;

		ts.tv_sec = (time_t)(t / NSEC_PER_SEC);
		ts.tv_nsec = (long)(t % NSEC_PER_SEC);
		pthread_cond_timedwait(&f->cond, &f->lock, &ts);
		/* the readers check too, but only between reads: a read can take long */
		if (!sl->done)
			e = qctl_check(f->ctl);
	}
	if (!e && sl->err) {
		e = sl->err;
		snprintf(err, err_size, "%s", sl->msg);
	} else if (e) {
		snprintf(err, err_size, "%s", qctl_reason(e));
	} else {
		f->holding = true;
	}
	pthread_mutex_unlock(&f->lock);
	*ret_err = e;
	return e ? NULL : &sl->b;
}

void fetcher__free(struct fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = true;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (unsigned int i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	for (size_t i = 0; f->slots && i < f->n; i++)
		free_block(&f->slots[i].b);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->lock);
	free(f->slots);
	free(f->threads);
	free(f);
}
