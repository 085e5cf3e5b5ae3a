// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compactor.h"
#include "reader.h"
#include "../common/hash.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_DURATION_NS (600 * NSEC_PER_SEC)
#define DEFAULT_INTERVAL_NS (30 * NSEC_PER_SEC)
#define DEFAULT_L0_THRESHOLD 16
#define DEFAULT_MAX_INPUT (512ULL << 20)
#define DEFAULT_ZSTD_LEVEL 9

struct compactor {
	struct compactor_opts opts;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct compactor_stats stats;
};

static void defaults(struct compactor_opts *o)
{
	if (!o->block_duration_ns)
		o->block_duration_ns = DEFAULT_DURATION_NS;
	if (!o->interval_ns)
		o->interval_ns = DEFAULT_INTERVAL_NS;
	if (!o->time_unit_ns)
		o->time_unit_ns = 1000000;
	if (!o->l0_threshold)
		o->l0_threshold = DEFAULT_L0_THRESHOLD;
	if (!o->max_input_bytes)
		o->max_input_bytes = DEFAULT_MAX_INPUT;
	if (!o->zstd_level)
		o->zstd_level = DEFAULT_ZSTD_LEVEL;
}

static uint64_t id_hash(const char *id)
{
	return hash_bytes(id, strlen(id), 7) | 1;
}

/* Merges inputs[0..n) of tenant into one block and deletes them. Returns 0 or -errno (logged). */
static int merge(const struct compactor_opts *o, const char *tenant,
		 struct block_ref *const *inputs, size_t n, struct compactor_stats *stats)
{
	VEC(struct svcdata *) out = {0};
	const char **sources = calloc(n, sizeof(*sources));
	struct buf blk = {0};
	char key[OBJSTORE_MAX_KEY], err[512] = "";
	uint32_t level = 0;
	uint64_t lo = UINT64_MAX, hi = 0, bytes_in = 0;
	int e = 0;

	if (!sources)
		return -ENOMEM;
	for (size_t i = 0; i < n && !e; i++) {
		struct block_info bi = {0};

		sources[i] = inputs[i]->id;
		level = MAX(level, inputs[i]->level + 1);
		bytes_in += inputs[i]->size;
		e = reader_footer(o->store, inputs[i], &bi, err, sizeof(err));
		for (uint32_t s = 0; !e && s < bi.nservices; s++) {
			struct svcdata *src = reader_service(o->store, inputs[i], &bi, s, SECS_ALL,
							     &e, err, sizeof(err));
			struct svcdata *dst = NULL;

			if (!src)
				break;
			for (size_t k = 0; k < out.len && !dst; k++)
				if (strcmp(out.v[k]->name, src->name) == 0)
					dst = out.v[k];
			if (!dst) {
				dst = svcdata__new(src->name);
				if (!dst || VEC_PUSH(&out, dst)) {
					svcdata__free(dst);
					e = -ENOMEM;
				}
			}
			if (!e)
				e = svcdata__merge(dst, src, NULL, NULL);
			svcdata__free(src);
		}
		block_info_free(&bi);
	}
	if (!e) {
		struct block_write_opts bo = {.tenant = tenant,
					      .level = level,
					      .time_unit_ns = o->time_unit_ns,
					      .zstd_level = o->zstd_level,
					      .sources = sources,
					      .nsources = n};

		e = block_encode(out.v, out.len, &bo, &blk);
		if (e)
			snprintf(err, sizeof(err), "cannot encode: %s", strerror(-e));
	}
	for (size_t k = 0; k < out.len; k++) {
		if (out.v[k]->rows.len) {
			lo = MIN(lo, out.v[k]->min_time_ns);
			hi = MAX(hi, out.v[k]->max_time_ns);
		}
	}
	if (!e && lo == UINT64_MAX)
		lo = hi = inputs[0]->min_ms *
			  1000000; /* nothing in them: a block that only replaces */
	if (!e)
		e = block_key(tenant, lo, hi, level, key, sizeof(key));
	if (!e) {
		e = objstore__put(o->store, key, blk.data, blk.len);
		if (e)
			snprintf(err, sizeof(err), "%s", objstore_error());
	}
	if (e) {
		log_warn("compaction failed; it is tried again on the next pass",
			 "tenant=%s blocks=%zu err=\"%s\"", tenant, n, err);
		stats->errors++;
	} else {
		stats->compactions++;
		stats->blocks_in += n;
		stats->bytes_in += bytes_in;
		stats->bytes_out += blk.len;
		log_debug("blocks merged",
			  "tenant=%s key=%s inputs=%zu bytes_in=%llu bytes_out=%zu", tenant, key, n,
			  (unsigned long long)bytes_in, blk.len);
		/* the new block hides the inputs already; a failed delete is retried next pass */
		for (size_t i = 0; i < n; i++)
			if (objstore__delete(o->store, inputs[i]->key) == 0)
				stats->deleted++;
	}
	for (size_t k = 0; k < out.len; k++)
		svcdata__free(out.v[k]);
	VEC_FREE(&out);
	buf_free(&blk);
	free(sources);
	return e;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct block_ref *x = *(struct block_ref *const *)a,
			       *y = *(struct block_ref *const *)b;

	if (x->min_ms != y->min_ms)
		return x->min_ms < y->min_ms ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int tenant_pass(const struct compactor_opts *o, const char *tenant, bool force,
		       struct compactor_stats *stats)
{
	uint64_t window_ms = o->block_duration_ns / 1000000,
		 now_ms = clock_ns(CLOCK_REALTIME) / 1000000;
	block_refs all = {0};
	struct hmap replaced = {0}, dirty = {0};
	VEC(struct block_ref *) live = {0};
	char err[512];
	int e, first_err = 0;

	e = reader_list(o->store, tenant, &all);
	if (e) {
		log_warn("compaction cannot list blocks", "tenant=%s err=\"%s\"", tenant,
			 objstore_error());
		return e;
	}
	/* 1. what merged blocks replace, and which merged blocks still have inputs around */
	for (size_t i = 0; i < all.len; i++) {
		struct block_info bi = {0};

		if (all.v[i].level == 0)
			continue;
		e = reader_footer(o->store, &all.v[i], &bi, err, sizeof(err));
		if (e) {
			log_warn("compaction skips an unreadable block", "key=%s err=\"%s\"",
				 all.v[i].key, err);
			first_err = first_err ? first_err : e;
			hmap_put(&dirty, id_hash(all.v[i].id), (void *)1);
			continue;
		}
		for (uint32_t k = 0; k < bi.nsources; k++)
			hmap_put(&replaced, id_hash(bi.sources[k]), &all.v[i]);
		block_info_free(&bi);
	}
	/* 2. delete the replaced (left by a crash or a failed delete) */
	for (size_t i = 0; i < all.len; i++) {
		struct block_ref *by = hmap_get(&replaced, id_hash(all.v[i].id));

		if (!by)
			continue;
		if (objstore__delete(o->store, all.v[i].key) == 0) {
			stats->deleted++;
		} else {
			/* the merged block must not be merged again while its input is around */
			hmap_put(&dirty, id_hash(by->id), (void *)1);
			first_err = first_err ? first_err : -EIO;
		}
	}
	for (size_t i = 0; i < all.len; i++)
		if (!hmap_get(&replaced, id_hash(all.v[i].id)) && VEC_PUSH(&live, &all.v[i]))
			break; /* out of memory: compact what is listed so far */
	if (live.len)
		qsort(live.v, live.len, sizeof(*live.v), ref_cmp);
	/* 3. per window */
	for (size_t i = 0; i < live.len;) {
		uint64_t w = live.v[i]->min_ms / window_ms;
		size_t j = i, nl0 = 0;
		bool ended = force || now_ms > (w + 1) * window_ms + o->delay_ns / 1000000,
		     blocked = false;
		VEC(struct block_ref *) pick = {0};
		uint64_t bytes = 0;

		while (j < live.len && live.v[j]->min_ms / window_ms == w) {
			nl0 += live.v[j]->level == 0;
			blocked |= hmap_get(&dirty, id_hash(live.v[j]->id)) != NULL;
			j++;
		}
		if (!blocked && j - i >= 2 && (ended || nl0 >= o->l0_threshold)) {
			for (size_t k = i; k < j; k++) {
				/* an open window merges its level-0 blocks only */
				if (!ended && live.v[k]->level != 0)
					continue;
				if (pick.len >= 2 && bytes + live.v[k]->size > o->max_input_bytes)
					break;
				bytes += live.v[k]->size;
				if (VEC_PUSH(&pick, live.v[k]))
					break;
			}
			if (pick.len >= 2) {
				e = merge(o, tenant, pick.v, pick.len, stats);
				first_err = first_err ? first_err : e;
			}
		}
		VEC_FREE(&pick);
		i = j;
	}
	VEC_FREE(&live);
	VEC_FREE(&all);
	hmap_free(&replaced);
	hmap_free(&dirty);
	return first_err;
}

int compactor_pass(const struct compactor_opts *opts, const char *tenant, bool force,
		   struct compactor_stats *stats)
{
	struct compactor_opts o = *opts;
	struct name_list t = {0};
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	int e = 0, first = 0;

	defaults(&o);
	if (tenant) {
		first = tenant_pass(&o, tenant, force, stats);
	} else {
		e = reader_tenants(o.store, name_list_add, &t);
		if (e) {
			log_warn("compaction cannot list tenants", "err=\"%s\"", objstore_error());
			first = e;
		}
		for (size_t i = 0; i < t.v.len; i++) {
			e = tenant_pass(&o, t.v.v[i], force, stats);
			first = first ? first : e;
		}
		name_list_free(&t);
	}
	stats->passes++;
	stats->ns += clock_ns(CLOCK_MONOTONIC) - t0;
	return first;
}

static void *compactor_main(void *arg)
{
	struct compactor *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		uint64_t deadline = clock_ns(CLOCK_REALTIME) + c->opts.interval_ns;
		struct timespec ts = {(time_t)(deadline / NSEC_PER_SEC),
				      (long)(deadline % NSEC_PER_SEC)};
		struct compactor_stats s = {0};

		while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
			;
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->lock);
		compactor_pass(&c->opts, NULL, false, &s);
		pthread_mutex_lock(&c->lock);
		c->stats.passes += s.passes;
		c->stats.compactions += s.compactions;
		c->stats.blocks_in += s.blocks_in;
		c->stats.bytes_in += s.bytes_in;
		c->stats.bytes_out += s.bytes_out;
		c->stats.deleted += s.deleted;
		c->stats.errors += s.errors;
		c->stats.ns += s.ns;
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct compactor *compactor__new(const struct compactor_opts *opts)
{
	struct compactor *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->opts = *opts;
	defaults(&c->opts);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	err = pthread_create(&c->thread, NULL, compactor_main, c);
	if (err) {
		/* pthread_create returns its error; errno is not set */
		log_error("cannot start the compactor thread", "err=\"%s\"", strerror(err));
		compactor__free(c);
		return NULL;
	}
	c->started = true;
	pthread_setname_np(c->thread, "sonde-compact");
	return c;
}

void compactor__stats(struct compactor *c, struct compactor_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->stats;
	pthread_mutex_unlock(&c->lock);
}

void compactor__free(struct compactor *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->started)
		pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
