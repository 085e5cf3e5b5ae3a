// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "segment.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_MAX_BYTES (8u << 20)
#define DEFAULT_MAX_AGE_NS (NSEC_PER_SEC / 2)
#define DEFAULT_MAX_PENDING (256u << 20)
#define DEFAULT_THREADS 2
#define TICK_NS (50 * 1000000ULL)

struct waiter {
	segwriter_done_fn done;
	void *ctx;
	uint64_t added_ns;
};

struct head {
	struct strtab names; /* service names -> index into services */
	VEC(struct svcdata *) services;
	VEC(struct waiter) waiters;
	uint64_t opened_ns;
	uint64_t bytes; /* accounted in pending */
	uint64_t samples;
	uint64_t profiles;
	struct head *next; /* in the ready list */
	char tenant[72];
};

struct tenant {
	char name[72];
	pthread_mutex_t lock; /* guards open */
	struct head *open;
	uint64_t last_ns; /* CLOCK_MONOTONIC: its last head was made ready (under w->lock) */
};

struct segwriter {
	struct segwriter_opts opts;
	pthread_mutex_t lock;	/* guards everything below but the tenants' heads */
	pthread_cond_t cond;	/* work for the writers */
	pthread_cond_t drained; /* a head was written */
	VEC(struct tenant *) tenants;
	struct head *ready, *ready_tail;
	uint64_t writing; /* heads being written */
	bool stop;
	bool draining;
	uint64_t pending_bytes;
	struct segwriter_stats stats;
	pthread_t *threads;
	unsigned int nthreads;
};

static void head_free(struct head *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->services.len; i++)
		svcdata__free(h->services.v[i]);
	VEC_FREE(&h->services);
	VEC_FREE(&h->waiters);
	strtab_free(&h->names);
	free(h);
}

/* Tells every waiter of h, then frees it. Called without locks. */
static void head_finish(struct segwriter *w, struct head *h, int err)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), ack_ns = 0;

	for (size_t i = 0; i < h->waiters.len; i++) {
		h->waiters.v[i].done(h->waiters.v[i].ctx, err);
		ack_ns += now - h->waiters.v[i].added_ns;
	}
	pthread_mutex_lock(&w->lock);
	if (err) {
		w->stats.failed += h->waiters.len;
	} else {
		w->stats.acked += h->waiters.len;
		w->stats.ack_ns += ack_ns;
	}
	w->pending_bytes -= h->bytes;
	pthread_mutex_unlock(&w->lock);
	head_free(h);
}

static struct tenant *tenant_get(struct segwriter *w, const char *name)
{
	struct tenant *t;

	for (size_t i = 0; i < w->tenants.len; i++)
		if (strcmp(w->tenants.v[i]->name, name) == 0)
			return w->tenants.v[i];
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	str_copy(t->name, name, sizeof(t->name));
	/* a new tenant's first data waits max_age like the rest: its first burst is one block */
	t->last_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_init(&t->lock, NULL);
	if (VEC_PUSH(&w->tenants, t)) {
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

/* Moves h to the ready list. Called with w->lock. */
static void make_ready(struct segwriter *w, struct head *h)
{
	h->next = NULL;
	if (w->ready_tail)
		w->ready_tail->next = h;
	else
		w->ready = h;
	w->ready_tail = h;
	pthread_cond_signal(&w->cond);
}

static size_t head_bytes(const struct head *h)
{
	size_t n = strtab_bytes(&h->names);

	for (size_t i = 0; i < h->services.len; i++)
		n += svcdata__bytes(h->services.v[i]);
	return n;
}

static int apply_otlp(const void *src, struct svcdata *const *dst, uint64_t now_ns)
{
	return ingest_apply(src, dst, now_ns);
}

void seg_input_otlp(const struct ingest_request *r, struct seg_input *ret)
{
	struct ingest_counts counts;

	memset(ret, 0, sizeof(*ret));
	ingest_request_counts(r, &counts);
	ret->apply = apply_otlp;
	ret->src = r;
	ret->nsvc = ingest_request_services(r, &ret->names);
	ret->samples = counts.samples;
	ret->profiles = counts.profiles;
}

int segwriter__add(struct segwriter *w, const char *tenant, const struct ingest_request *r,
		   segwriter_done_fn done, void *ctx)
{
	struct seg_input in;

	seg_input_otlp(r, &in);
	return segwriter__add_input(w, tenant, &in, done, ctx);
}

int segwriter__add_input(struct segwriter *w, const char *tenant, const struct seg_input *in,
			 segwriter_done_fn done, void *ctx)
{
	const char *const *names = in->names;
	size_t nsvc = in->nsvc;
	struct svcdata **dst = NULL;
	struct {
		uint64_t samples, profiles;
	} counts = {in->samples, in->profiles};
	struct tenant *t;
	struct head *h, *failed = NULL;
	uint64_t before = 0, after = 0;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	if (w->stop || w->draining || w->pending_bytes >= w->opts.max_pending_bytes) {
		w->stats.refused++;
		pthread_mutex_unlock(&w->lock);
		return -EBUSY;
	}
	t = tenant_get(w, tenant);
	pthread_mutex_unlock(&w->lock);
	if (!t)
		return -ENOMEM;
	dst = calloc(nsvc ? nsvc : 1, sizeof(*dst));
	if (!dst)
		return -ENOMEM;

	pthread_mutex_lock(&t->lock);
	h = t->open;
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h) {
			err = -ENOMEM;
			goto unlock;
		}
		h->opened_ns = clock_ns(CLOCK_MONOTONIC);
		str_copy(h->tenant, tenant, sizeof(h->tenant));
		t->open = h;
	}
	before = h->bytes;
	for (size_t i = 0; i < nsvc && !err; i++) {
		uint32_t id = strtab_find(&h->names, names[i], strlen(names[i]));

		if (id == STRTAB_NONE) {
			/* a new service: its data first, then its name (ids stay in step) */
			struct svcdata *sd = svcdata__new(names[i]);

			if (!sd || VEC_PUSH(&h->services, sd)) {
				svcdata__free(sd);
				err = -ENOMEM;
				break;
			}
			id = strtab_intern(&h->names, names[i], strlen(names[i]));
			if (id == STRTAB_NONE) {
				svcdata__free(h->services.v[--h->services.len]);
				err = -ENOMEM;
				break;
			}
		}
		dst[i] = h->services.v[id];
	}
	if (!err) {
		struct waiter wt = {done, ctx, clock_ns(CLOCK_MONOTONIC)};

		err = VEC_PUSH(&h->waiters, wt);
		if (!err) {
			err = in->apply(in->src, dst, clock_ns(CLOCK_REALTIME));
			if (err) {
				/*
				 * Part of the request may be in the head and it cannot be taken
				 * out: the whole head is failed (nothing in it was acknowledged
				 * yet), so every client resends and nothing is stored twice.
				 */
				t->open = NULL;
				failed = h;
			}
		}
	}
	if (!failed) {
		h->samples += counts.samples;
		h->profiles += counts.profiles;
		after = head_bytes(h);
		h->bytes = after;
	}
unlock:
	pthread_mutex_unlock(&t->lock);
	free(dst);
	pthread_mutex_lock(&w->lock);
	if (!err) {
		w->stats.requests++;
		w->stats.samples += counts.samples;
		w->stats.profiles += counts.profiles;
		w->pending_bytes += after - before;
		/* full, or the first data after a quiet max_age: written now, not in a tick */
		if (after >= w->opts.max_bytes ||
		    clock_ns(CLOCK_MONOTONIC) >= t->last_ns + w->opts.max_age_ns)
			pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (failed) {
		/* this request's own waiter is the last: the caller learns of it by the return */
		failed->waiters.len--;
		head_finish(w, failed, -ENOMEM);
		return -ENOMEM;
	}
	return err;
}

/* Heads due (or all, when draining) to the ready list. Called with w->lock. */
static void collect_due(struct segwriter *w, uint64_t now)
{
	for (size_t i = 0; i < w->tenants.len; i++) {
		struct tenant *t = w->tenants.v[i];
		struct head *h;

		pthread_mutex_lock(&t->lock);
		h = t->open;
		/*
		 * A tenant's heads are written at most once per max_age (its PUTs per second stay
		 * bounded), and at once after a quiet max_age (a lone agent's request waits for
		 * nothing). A head opened after now was read is young, not 2^64 ns old.
		 */
		if (h && (w->draining || w->stop || h->bytes >= w->opts.max_bytes ||
			  (now >= h->opened_ns && now >= t->last_ns + w->opts.max_age_ns))) {
			t->open = NULL;
			t->last_ns = now;
			make_ready(w, h);
		}
		pthread_mutex_unlock(&t->lock);
	}
}

/* Encodes and stores h as a block. Returns 0 or -errno (logged). */
static int write_head(struct segwriter *w, struct head *h, uint64_t *ret_bytes)
{
	struct block_write_opts bo = {.tenant = h->tenant,
				      .level = 0,
				      .time_unit_ns = w->opts.time_unit_ns,
				      .zstd_level = w->opts.zstd_level};
	struct buf out = {0};
	char key[OBJSTORE_MAX_KEY];
	uint64_t lo = UINT64_MAX, hi = 0;
	int err;

	err = block_encode(h->services.v, h->services.len, &bo, &out);
	if (err) {
		log_error("cannot encode a block; its requests are failed and will be resent",
			  "tenant=%s err=\"%s\"", h->tenant, strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < h->services.len; i++) {
		if (!h->services.v[i]->rows.len)
			continue;
		lo = MIN(lo, h->services.v[i]->min_time_ns);
		hi = MAX(hi, h->services.v[i]->max_time_ns);
	}
	if (lo == UINT64_MAX) {
		/* no samples at all (empty profiles): nothing to store, all is durable */
		goto out;
	}
	err = block_key(h->tenant, lo, hi, 0, key, sizeof(key));
	if (!err)
		err = objstore__put(w->opts.store, key, out.data, out.len);
	if (err) {
		log_error("cannot store a block; its requests are failed and will be resent",
			  "tenant=%s key=%s err=\"%s\"", h->tenant, key, objstore_error());
		goto out;
	}
	*ret_bytes = out.len;
	log_debug("block written",
		  "tenant=%s key=%s bytes=%zu services=%zu samples=%llu requests=%zu", h->tenant,
		  key, out.len, h->services.len, (unsigned long long)h->samples, h->waiters.len);
out:
	buf_free(&out);
	return err;
}

static void *writer_main(void *arg)
{
	struct segwriter *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct head *h;
		struct timespec ts;
		uint64_t t0, bytes = 0, deadline;
		int err;

		collect_due(w, clock_ns(CLOCK_MONOTONIC));
		if (!w->ready) {
			if (w->stop)
				break;
			deadline = clock_ns(CLOCK_REALTIME) + TICK_NS;
			ts.tv_sec = (time_t)(deadline / NSEC_PER_SEC);
			ts.tv_nsec = (long)(deadline % NSEC_PER_SEC);
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			continue;
		}
		h = w->ready;
		w->ready = h->next;
		if (!w->ready)
			w->ready_tail = NULL;
		w->writing++;
		pthread_mutex_unlock(&w->lock);

		t0 = clock_ns(CLOCK_MONOTONIC);
		err = write_head(w, h, &bytes);
		t0 = clock_ns(CLOCK_MONOTONIC) - t0;

		pthread_mutex_lock(&w->lock);
		w->stats.write_ns += t0;
		if (err) {
			w->stats.write_errors++;
		} else if (bytes) {
			w->stats.blocks++;
			w->stats.block_bytes += bytes;
		}
		pthread_mutex_unlock(&w->lock);
		head_finish(w, h, err);
		pthread_mutex_lock(&w->lock);
		w->writing--;
		pthread_cond_broadcast(&w->drained);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct segwriter *segwriter__new(const struct segwriter_opts *opts)
{
	struct segwriter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->opts = *opts;
	if (!w->opts.max_bytes)
		w->opts.max_bytes = DEFAULT_MAX_BYTES;
	if (!w->opts.max_age_ns)
		w->opts.max_age_ns = DEFAULT_MAX_AGE_NS;
	if (!w->opts.max_pending_bytes)
		w->opts.max_pending_bytes = DEFAULT_MAX_PENDING;
	if (!w->opts.threads)
		w->opts.threads = DEFAULT_THREADS;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_cond_init(&w->drained, NULL);
	w->threads = calloc(w->opts.threads, sizeof(*w->threads));
	if (!w->threads) {
		segwriter__free(w);
		return NULL;
	}
	for (unsigned int i = 0; i < w->opts.threads; i++) {
		int err = pthread_create(&w->threads[i], NULL, writer_main, w);

		if (err) {
			/* pthread_create returns its error; errno is not set */
			log_error("cannot start a block writer thread", "err=\"%s\"",
				  strerror(err));
			segwriter__free(w);
			return NULL;
		}
		pthread_setname_np(w->threads[i], "sonde-writer");
		w->nthreads++;
	}
	return w;
}

int segwriter__drain(struct segwriter *w, uint64_t deadline_ns)
{
	int err = 0;

	pthread_mutex_lock(&w->lock);
	w->draining = true;
	pthread_cond_broadcast(&w->cond);
	for (;;) {
		bool open = false;
		struct timespec ts;
		uint64_t now = clock_ns(CLOCK_MONOTONIC), real;

		for (size_t i = 0; i < w->tenants.len && !open; i++)
			open = w->tenants.v[i]->open != NULL;
		if (!open && !w->ready && !w->writing)
			break;
		if (now >= deadline_ns) {
			err = -ETIMEDOUT;
			break;
		}
		real = clock_ns(CLOCK_REALTIME) + MIN(deadline_ns - now, TICK_NS);
		ts.tv_sec = (time_t)(real / NSEC_PER_SEC);
		ts.tv_nsec = (long)(real % NSEC_PER_SEC);
		pthread_cond_timedwait(&w->drained, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

void segwriter__stats(struct segwriter *w, struct segwriter_stats *ret)
{
	uint64_t open = 0;

	pthread_mutex_lock(&w->lock);
	*ret = w->stats;
	ret->pending_bytes = w->pending_bytes;
	for (size_t i = 0; i < w->tenants.len; i++)
		open += w->tenants.v[i]->open != NULL;
	ret->open_heads = open;
	pthread_mutex_unlock(&w->lock);
}

void segwriter__free(struct segwriter *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* the threads wrote what was ready when they stopped; anything else is failed */
	for (size_t i = 0; i < w->tenants.len; i++) {
		struct tenant *t = w->tenants.v[i];

		if (t->open)
			head_finish(w, t->open, -ECANCELED);
		pthread_mutex_destroy(&t->lock);
		free(t);
	}
	while (w->ready) {
		struct head *h = w->ready;

		w->ready = h->next;
		head_finish(w, h, -ECANCELED);
	}
	VEC_FREE(&w->tenants);
	free(w->threads);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->drained);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
