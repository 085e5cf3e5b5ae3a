// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compactor.h"
#include "reader.h"
#include "retention.h"
#include "view.h"
#include "../common/hash.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_INTERVAL_NS (30 * NSEC_PER_SEC)
#define DEFAULT_L0_THRESHOLD 16
#define DEFAULT_ZSTD_LEVEL 9

/* merges running now, in this process (a gauge: tests stop a collector in the middle of one) */
static atomic_uint merges_running;

unsigned int compactor_merges_running(void)
{
	return atomic_load(&merges_running);
}

struct compactor {
	struct compactor_opts opts;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct compactor_stats stats;
};

int compactor_parse_levels(const char *spec, struct compactor_opts *o, char *err, size_t err_size)
{
	char *copy = strdup(spec), *save = NULL, *item;
	uint32_t n = 0;
	int e = 0;

	if (!copy) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	for (item = strtok_r(copy, ",", &save); item && !e; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		struct compact_level l = {0};

		if (colon)
			*colon = 0;
		if (n == COMPACT_MAX_LEVELS) {
			snprintf(err, err_size, "at most %d levels", COMPACT_MAX_LEVELS);
			e = -EINVAL;
		} else if (parse_duration_ns(item, &l.window_ns) || l.window_ns < NSEC_PER_SEC) {
			snprintf(err, err_size,
				 "level %u: window \"%s\" is not a duration of 1s or more", n + 1,
				 item);
			e = -EINVAL;
		} else if (colon && (parse_duration_ns(colon + 1, &l.unit_ns) || !l.unit_ns ||
				     l.unit_ns > 60 * NSEC_PER_SEC)) {
			snprintf(err, err_size, "level %u: resolution \"%s\" is not 1ns .. 60s",
				 n + 1, colon + 1);
			e = -EINVAL;
		} else if (n && (l.window_ns <= o->levels[n - 1].window_ns ||
				 l.window_ns % o->levels[n - 1].window_ns)) {
			snprintf(err, err_size,
				 "level %u: its window must be a multiple of the one below it",
				 n + 1);
			e = -EINVAL;
		} else {
			o->levels[n++] = l;
		}
	}
	if (!e && !n) {
		snprintf(err, err_size, "no levels");
		e = -EINVAL;
	}
	if (!e)
		o->nlevels = n;
	free(copy);
	return e;
}

static void defaults(struct compactor_opts *o)
{
	if (!o->nlevels) {
		char err[128];

		compactor_parse_levels(COMPACT_DEFAULT_LEVELS, o, err, sizeof(err));
	}
	if (!o->interval_ns)
		o->interval_ns = DEFAULT_INTERVAL_NS;
	if (!o->time_unit_ns)
		o->time_unit_ns = 1000000;
	if (!o->l0_threshold)
		o->l0_threshold = DEFAULT_L0_THRESHOLD;
	if (!o->zstd_level)
		o->zstd_level = DEFAULT_ZSTD_LEVEL;
}

/*
 * Merges inputs[0..n) of tenant into one block of level and time unit unit; the inputs stay
 * (the cleanup deletes them once nothing can need them). A merge that could store its output
 * only after deadline_ns (Unix ns; 0 = none) gives up. Returns 0 or -errno (logged).
 */
/* Rows a deletion drops: of service (every one when NULL), before before_ns. */
struct drop {
	const char *service;
	uint64_t before_ns;
};

static bool keep_row(void *ctx, const struct svcdata *src, const struct sd_row *row)
{
	const struct drop *d = ctx;

	return row->time_ns >= d->before_ns || (d->service && strcmp(src->name, d->service) != 0);
}

static int merge(const struct compactor_opts *o, const char *tenant,
		 struct block_ref *const *inputs, size_t n, uint32_t level, uint64_t unit,
		 uint64_t deadline_ns, const struct drop *drop, struct compactor_stats *stats)
{
	VEC(struct svcdata *) out = {0};
	const char **sources = calloc(n, sizeof(*sources));
	struct buf blk = {0};
	char key[OBJSTORE_MAX_KEY], err[512] = "";
	uint64_t lo = UINT64_MAX, hi = 0, bytes_in = 0;
	int e = 0;

	if (!sources)
		return -ENOMEM;
	atomic_fetch_add(&merges_running, 1);
	/* one input at a time, one service at a time: memory is the output and one service */
	for (size_t i = 0; i < n && !e; i++) {
		struct block_info bi = {0};

		sources[i] = inputs[i]->id;
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
				e = svcdata__merge(dst, src, drop ? keep_row : NULL, (void *)drop);
			svcdata__free(src);
		}
		block_info_free(&bi);
	}
	if (!e) {
		struct block_write_opts bo = {.tenant = tenant,
					      .level = level,
					      .time_unit_ns = unit,
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
	if (!e && deadline_ns && clock_ns(CLOCK_REALTIME) > deadline_ns) {
		/* the cleanup may already have deleted what this merge read: store nothing */
		log_warn("compaction gave up: it took longer than half the deletion grace",
			 "tenant=%s level=%u blocks=%zu", tenant, level, n);
		stats->abandoned++;
		e = -ETIMEDOUT;
		goto out;
	}
	if (!e) {
		e = objstore__put(o->store, key, blk.data, blk.len);
		if (e)
			snprintf(err, sizeof(err), "%s", objstore_error());
	}
	if (e) {
		log_warn("compaction failed; it is tried again on the next pass",
			 "tenant=%s level=%u blocks=%zu err=\"%s\"", tenant, level, n, err);
		stats->errors++;
	} else {
		stats->compactions++;
		stats->blocks_in += n;
		stats->bytes_in += bytes_in;
		stats->bytes_out += blk.len;
		log_debug("blocks merged",
			  "tenant=%s key=%s level=%u inputs=%zu bytes_in=%llu bytes_out=%zu",
			  tenant, key, level, n, (unsigned long long)bytes_in, blk.len);
	}
out:
	atomic_fetch_sub(&merges_running, 1);
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

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* Merges the windows of level (1..nlevels) that are due, from a fresh view. */
static int level_pass(const struct compactor_opts *o, const char *tenant, uint32_t level,
		      bool force, struct compactor_stats *stats)
{
	const struct compact_level *L = &o->levels[level - 1];
	uint64_t window_ms = L->window_ns / 1000000, listed = now_ns(),
		 unit = L->unit_ns ? L->unit_ns : o->time_unit_ns;
	struct store_view v = {0};
	VEC(struct block_ref *) in = {0};
	char err[512];
	int e, first_err = 0;

	e = reader_view(o->store, tenant, 0, UINT64_MAX,
			retention_floor_ms(tenant, listed / 1000000), &v, err, sizeof(err));
	if (e) {
		log_warn("compaction cannot read the store", "tenant=%s err=\"%s\"", tenant, err);
		store_view_free(&v);
		return e;
	}
	/* what a reader counts, at this level or below: the inputs of this level's windows */
	for (size_t i = 0; i < v.b.len && !e; i++)
		if (v.b.v[i].state == VIEW_SELECTED && v.b.v[i].ref.level <= level &&
		    VEC_PUSH(&in, &v.b.v[i].ref))
			e = -ENOMEM;
	if (in.len)
		qsort(in.v, in.len, sizeof(*in.v), ref_cmp);
	for (size_t i = 0; i < in.len && !e;) {
		uint64_t w = in.v[i]->min_ms / window_ms;
		size_t j = i, nl0 = 0;
		bool ended =
			force || listed / 1000000 > (w + 1) * window_ms + o->delay_ns / 1000000;

		while (j < in.len && in.v[j]->min_ms / window_ms == w)
			nl0 += in.v[j++]->level == 0;
		/* an open window: only the first level merges, and only once it has enough */
		if (j - i >= 2 && (ended || (level == 1 && nl0 >= o->l0_threshold))) {
			int me = merge(o, tenant, in.v + i, j - i, level, unit,
				       o->grace_ns ? listed + o->grace_ns / 2 : 0, NULL, stats);

			first_err = first_err ? first_err : me;
		}
		i = j;
	}
	VEC_FREE(&in);
	store_view_free(&v);
	return e ? e : first_err;
}

static int by_level(const void *a, const void *b)
{
	const struct view_block *x = *(struct view_block *const *)a,
				*y = *(struct view_block *const *)b;

	return x->ref.level < y->ref.level ? -1 : x->ref.level > y->ref.level;
}

/*
 * Deletes what no reader needs any more: rejected outputs (their sources count instead),
 * covered blocks once what covers them is grace_ns old (lowest level first, so a block goes
 * only after everything it names), and blocks expired grace_ns ago.
 */
static int cleanup(const struct compactor_opts *o, const char *tenant,
		   struct compactor_stats *stats)
{
	uint64_t now = now_ns(), keep = retention_ns(tenant);
	struct store_view v = {0};
	VEC(struct view_block *) order = {0};
	struct hmap deleted = {0};
	uint32_t *namers = NULL; /* per block: stored blocks naming it */
	char err[512];
	int e, first_err = 0;

	e = reader_view(o->store, tenant, 0, UINT64_MAX,
			o->no_retention ? 0 : retention_floor_ms(tenant, now / 1000000), &v, err,
			sizeof(err));
	if (e) {
		log_warn("compaction cannot read the store", "tenant=%s err=\"%s\"", tenant, err);
		store_view_free(&v);
		return e;
	}
	namers = calloc(v.b.len ? v.b.len : 1, sizeof(*namers));
	if (!namers)
		e = -ENOMEM;
	for (size_t i = 0; i < v.b.len && !e; i++) {
		const struct view_block *b = &v.b.v[i];

		if (VEC_PUSH(&order, &v.b.v[i]))
			e = -ENOMEM;
		for (uint32_t k = 0; b->has_info && b->state != VIEW_GONE && k < b->bi.nsources;
		     k++) {
			int64_t x = view_find(&v, b->bi.sources[k]);

			if (x >= 0)
				namers[x]++;
		}
	}
	if (order.len)
		qsort(order.v, order.len, sizeof(*order.v), by_level);
	/*
	 * Rejected ones first, and only those no stored block names (a rejected block named by
	 * another rejected one goes after it: else the other would name a block that is neither
	 * stored nor counted, and never go). Then covered ones, sources first. Each round sweeps
	 * again while a sweep deletes something.
	 */
	for (int round = 0, progress = 1; round < 2 && !e; round += !progress) {
		progress = 0;
		for (size_t i = 0; i < order.len; i++) {
			struct view_block *b = order.v[i];
			bool go = false, expired = false;

			if (round == 0 && b->state == VIEW_REJECTED) {
				go = !b->uncovered && !namers[b - v.b.v] &&
				     b->bi.created_ns + o->grace_ns <= now;
			} else if (round == 1 && b->state == VIEW_COVERED && b->cover >= 0) {
				const struct view_block *c = &v.b.v[b->cover];

				go = c->has_info && c->bi.created_ns + o->grace_ns <= now;
				/* its sources go first: else they would count again */
				for (uint32_t k = 0; go && b->has_info && k < b->bi.nsources; k++) {
					int64_t s = view_find(&v, b->bi.sources[k]);

					go = s < 0 || v.b.v[s].state == VIEW_GONE ||
					     hmap_get(&deleted, (uint64_t)s + 1);
				}
			} else if (round == 1 && b->state == VIEW_EXPIRED) {
				expired = true;
				go = (b->ref.max_ms + 1) * 1000000 + keep + o->grace_ns <= now;
			}
			if (!go)
				continue;
			if (objstore__delete(o->store, b->ref.key) == 0) {
				if (expired) {
					stats->expired++;
					stats->expired_bytes += b->ref.size;
				} else {
					stats->deleted++;
				}
				hmap_put(&deleted, (uint64_t)(b - v.b.v) + 1, (void *)1);
				b->state = VIEW_GONE;
				progress = 1;
				for (uint32_t k = 0; b->has_info && k < b->bi.nsources; k++) {
					int64_t x = view_find(&v, b->bi.sources[k]);

					if (x >= 0 && namers[x])
						namers[x]--;
				}
			} else {
				log_warn("cannot delete a block; tried again on the next pass",
					 "key=%s err=\"%s\"", b->ref.key, objstore_error());
				first_err = first_err ? first_err : -EIO;
			}
		}
	}
	VEC_FREE(&order);
	hmap_free(&deleted);
	free(namers);
	store_view_free(&v);
	return e ? e : first_err;
}

int compactor_delete(const struct compactor_opts *opts, const char *tenant, const char *service,
		     uint64_t before_ns, struct compactor_stats *stats, uint64_t *ret_rewritten)
{
	struct compactor_opts o = *opts;
	struct drop drop = {service, before_ns};
	struct store_view v = {0};
	VEC(struct view_block *) gone = {0};
	char err[512];
	int e, first_err = 0;

	defaults(&o);
	*ret_rewritten = 0;
	e = reader_view(o.store, tenant, 0, before_ns / 1000000, 0, &v, err, sizeof(err));
	if (e) {
		log_error("cannot read the store", "tenant=%s err=\"%s\"", tenant, err);
		store_view_free(&v);
		return e;
	}
	for (size_t i = 0; i < v.b.len && !e; i++) {
		struct view_block *b = &v.b.v[i];
		struct block_info bi = {0};
		bool whole = (b->ref.max_ms + 1) * 1000000 <= before_ns, has = !service,
		     only = true;

		if (b->state == VIEW_GONE || b->ref.min_ms * 1000000 >= before_ns)
			continue;
		if (service) {
			e = reader_footer(o.store, &b->ref, &bi, err, sizeof(err));
			if (e) {
				log_error("cannot read a block", "key=%s err=\"%s\"", b->ref.key,
					  err);
				continue;
			}
			has = block_find_service(&bi, service) >= 0;
			only = has && bi.nservices == 1;
		}
		if (has && whole && only) {
			if (VEC_PUSH(&gone, b))
				e = -ENOMEM;
		} else if (has && b->state == VIEW_SELECTED) {
			/* the rest of it, as a block replacing it: readers count that from now */
			struct block_ref *in = &b->ref;

			if (!bi.tenant)
				e = reader_footer(o.store, in, &bi, err, sizeof(err));
			if (e)
				log_error("cannot read a block", "key=%s err=\"%s\"", b->ref.key,
					  err);
			/*
			 * Its own resolution and level (at least 1: readers learn what a block
			 * replaces from the footers of blocks above level 0).
			 */
			if (!e)
				e = merge(&o, tenant, &in, 1, MAX(b->ref.level, 1), bi.time_unit_ns,
					  0, &drop, stats);
			if (!e)
				++*ret_rewritten;
		}
		block_info_free(&bi);
	}
	/* whole blocks: the lowest levels first, so nothing they name comes back to count */
	if (gone.len)
		qsort(gone.v, gone.len, sizeof(*gone.v), by_level);
	for (size_t i = 0; i < gone.len && !e; i++) {
		if (objstore__delete(o.store, gone.v[i]->ref.key) == 0) {
			stats->deleted++;
		} else {
			log_error("cannot delete a block", "key=%s err=\"%s\"", gone.v[i]->ref.key,
				  objstore_error());
			first_err = first_err ? first_err : -EIO;
		}
	}
	VEC_FREE(&gone);
	store_view_free(&v);
	return e ? e : first_err;
}

static int tenant_pass(const struct compactor_opts *o, const char *tenant, bool force,
		       struct compactor_stats *stats)
{
	int first_err = 0;

	for (uint32_t level = 1; level <= o->nlevels; level++) {
		int e = level_pass(o, tenant, level, force, stats);

		first_err = first_err ? first_err : e;
	}
	{
		int e = cleanup(o, tenant, stats);

		first_err = first_err ? first_err : e;
	}
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
	unsigned int seed = (unsigned int)(clock_ns(CLOCK_REALTIME) ^ (uint64_t)getpid() ^
					   (uint64_t)(uintptr_t)c);

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		/*
		 * 75% to 125% of the interval, at random: instances started together do not merge
		 * the same windows at the same moments (safe anyway, but each repeat is work lost)
		 */
		uint64_t deadline = clock_ns(CLOCK_REALTIME) + c->opts.interval_ns / 4 * 3 +
				    (uint64_t)(rand_r(&seed) % 1024) * (c->opts.interval_ns / 2048);
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
		c->stats.expired += s.expired;
		c->stats.expired_bytes += s.expired_bytes;
		c->stats.abandoned += s.abandoned;
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
