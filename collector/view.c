// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fetch.h"
#include "view.h"
#include "../common/hash.h"
#include "../common/util.h"

static uint64_t id_key(const char *id)
{
	return hash_bytes(id, strlen(id), 0x5eed) | 1;
}

/* Higher first: level, profiles; then the older, then the smaller id. */
static int priority_cmp(const struct view_block *x, const struct view_block *y)
{
	if (x->ref.level != y->ref.level)
		return x->ref.level > y->ref.level ? -1 : 1;
	if (x->profiles != y->profiles)
		return x->profiles > y->profiles ? -1 : 1;
	if (x->has_info && y->has_info && x->bi.created_ns != y->bi.created_ns)
		return x->bi.created_ns < y->bi.created_ns ? -1 : 1;
	return strcmp(x->ref.id, y->ref.id);
}

struct resolver {
	struct view_block *b;
	size_t n;
	struct hmap index;   /* id key -> block index + 1 */
	struct hmap covered; /* id keys in selected closures */
	uint32_t *mark;	     /* per block: the walk that last visited it */
	uint32_t walk;
	VEC(uint64_t) keys; /* the closure being walked: id keys */
	VEC(size_t) blocks; /* ... and the stored blocks in it */
	VEC(size_t) stack;
	bool *done;
};

static int64_t find(const struct resolver *r, const char *id)
{
	uintptr_t i = (uintptr_t)hmap_get(&r->index, id_key(id));

	if (!i || strcmp(r->b[i - 1].ref.id, id) != 0)
		return -1;
	return (int64_t)i - 1;
}

static bool live(const struct view_block *b)
{
	return b->state != VIEW_EXPIRED && b->state != VIEW_GONE;
}

/* The closure of block i into r->keys and r->blocks. */
static int closure(struct resolver *r, size_t i)
{
	r->keys.len = r->blocks.len = r->stack.len = 0;
	r->walk++;
	r->mark[i] = r->walk;
	if (VEC_PUSH(&r->stack, i))
		return -ENOMEM;
	while (r->stack.len) {
		size_t j = r->stack.v[--r->stack.len];
		const struct view_block *b = &r->b[j];

		if (VEC_PUSH(&r->keys, id_key(b->ref.id)) || VEC_PUSH(&r->blocks, j))
			return -ENOMEM;
		for (uint32_t k = 0; b->has_info && k < b->bi.nsources; k++) {
			int64_t s = find(r, b->bi.sources[k]);

			if (s >= 0 && live(&r->b[s])) {
				if (r->mark[s] != r->walk) {
					r->mark[s] = r->walk;
					if (VEC_PUSH(&r->stack, (size_t)s))
						return -ENOMEM;
				}
			} else if (VEC_PUSH(&r->keys, id_key(b->bi.sources[k]))) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* Decides block i (a candidate); appends the sources of a rejected one to work. */
static int decide(struct resolver *r, size_t i, void *work_vec)
{
	VEC(size_t) *work = work_vec;
	struct view_block *b = &r->b[i];
	bool overlap = false;
	int e;

	r->done[i] = true;
	if (hmap_get(&r->covered, id_key(b->ref.id)))
		return 0; /* covered when its cover was selected */
	e = closure(r, i);
	for (size_t k = 0; !e && k < r->keys.len && !overlap; k++)
		overlap = hmap_get(&r->covered, r->keys.v[k]) != NULL;
	if (e)
		return e;
	if (overlap) {
		b->state = VIEW_REJECTED;
		for (uint32_t k = 0; b->has_info && k < b->bi.nsources; k++) {
			int64_t s = find(r, b->bi.sources[k]);

			if (s >= 0 && live(&r->b[s]) && !r->done[s] && VEC_PUSH(work, (size_t)s))
				return -ENOMEM;
		}
		return 0;
	}
	b->state = VIEW_SELECTED;
	b->cover = (int64_t)i;
	for (size_t k = 0; k < r->keys.len; k++)
		if (hmap_put(&r->covered, r->keys.v[k], (void *)1))
			return -ENOMEM;
	for (size_t k = 0; k < r->blocks.len; k++) {
		size_t j = r->blocks.v[k];

		if (j == i)
			continue;
		r->b[j].state = VIEW_COVERED;
		r->b[j].cover = (int64_t)i;
		r->done[j] = true;
	}
	return 0;
}

struct ranked {
	const struct view_block *b;
	size_t i;
};

static int ranked_cmp(const void *a, const void *b)
{
	return priority_cmp(((const struct ranked *)a)->b, ((const struct ranked *)b)->b);
}

/* Sorts indices of r->b by priority. Returns 0 or -ENOMEM. */
static int sort_by_priority(const struct resolver *r, size_t *v, size_t n)
{
	struct ranked *t = malloc(n * sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		t[k] = (struct ranked){&r->b[v[k]], v[k]};
	qsort(t, n, sizeof(*t), ranked_cmp);
	for (size_t k = 0; k < n; k++)
		v[k] = t[k].i;
	free(t);
	return 0;
}

static int resolve(struct resolver *r)
{
	VEC(size_t) work = {0}, more = {0};
	bool *named = calloc(r->n ? r->n : 1, sizeof(*named));
	int e = 0;

	if (!named)
		return -ENOMEM;
	for (size_t i = 0; i < r->n && !e; i++) {
		struct view_block *b = &r->b[i];

		if (!live(b))
			continue;
		b->state = VIEW_COVERED; /* until decided */
		b->cover = -1;
		e = hmap_put(&r->index, id_key(b->ref.id), (void *)(uintptr_t)(i + 1));
	}
	for (size_t i = 0; i < r->n && !e; i++) {
		const struct view_block *b = &r->b[i];

		for (uint32_t k = 0; live(b) && b->has_info && k < b->bi.nsources; k++) {
			int64_t s = find(r, b->bi.sources[k]);

			if (s >= 0 && (size_t)s != i)
				named[s] = true;
		}
	}
	/* the roots first; then the sources of what was rejected; then anything left (a cycle) */
	for (size_t i = 0; i < r->n && !e; i++)
		if (live(&r->b[i]) && !named[i] && VEC_PUSH(&work, i))
			e = -ENOMEM;
	for (int round = 0; !e && round < 2; round++) {
		while (!e && work.len) {
			if (work.len > 1 && (e = sort_by_priority(r, work.v, work.len)))
				break;
			more.len = 0;
			for (size_t k = 0; k < work.len && !e; k++)
				if (!r->done[work.v[k]])
					e = decide(r, work.v[k], &more);
			work.len = 0;
			for (size_t k = 0; k < more.len && !e; k++)
				if (VEC_PUSH(&work, more.v[k]))
					e = -ENOMEM;
		}
		for (size_t i = 0; i < r->n && !e && round == 0; i++)
			if (live(&r->b[i]) && !r->done[i] && VEC_PUSH(&work, i))
				e = -ENOMEM;
	}
	/* what a rejected block names that is stored nowhere else: counted by no block */
	for (size_t i = 0; i < r->n && !e; i++) {
		struct view_block *b = &r->b[i];

		for (uint32_t k = 0; b->state == VIEW_REJECTED && b->has_info && k < b->bi.nsources;
		     k++) {
			int64_t s = find(r, b->bi.sources[k]);

			if ((s < 0 || !live(&r->b[s])) &&
			    !hmap_get(&r->covered, id_key(b->bi.sources[k])))
				b->uncovered++;
		}
	}
	VEC_FREE(&work);
	VEC_FREE(&more);
	free(named);
	return e;
}

int view_resolve(struct view_block *b, size_t n)
{
	struct resolver r = {.b = b, .n = n};
	int e = -ENOMEM;

	r.mark = calloc(n ? n : 1, sizeof(*r.mark));
	r.done = calloc(n ? n : 1, sizeof(*r.done));
	if (r.mark && r.done)
		e = resolve(&r);
	free(r.mark);
	free(r.done);
	hmap_free(&r.index);
	hmap_free(&r.covered);
	VEC_FREE(&r.keys);
	VEC_FREE(&r.blocks);
	VEC_FREE(&r.stack);
	return e;
}

static bool no_service(void *ctx, const struct block_service_info *si)
{
	(void)ctx;
	(void)si;
	return false;
}

/* One listing and its footers; *ret_stale when a listed block was gone by its footer read. */
static int view_once(struct objstore *s, const char *tenant, uint64_t from_ms, uint64_t to_ms,
		     uint64_t floor_ms, struct store_view *v, bool *ret_stale, char *err,
		     size_t err_size)
{
	block_refs all = {0}, compacted = {0};
	VEC(size_t) at = {0}; /* index in v->b of each of compacted */
	struct fetcher *f = NULL;
	struct fetch_block *fb;
	int e;

	/*
	 * Some S3-compatible servers (s3rver) list an object while its PUT is still being
	 * received, with the bytes so far: too short for a block, it is listed again a little
	 * later (real S3 lists an object only once it is whole).
	 */
	for (int attempt = 0;; attempt++) {
		bool partial = false;

		e = reader_list(s, tenant, &all);
		if (e) {
			snprintf(err, err_size, "%s",
				 e == -EINVAL ? "invalid tenant" : objstore_error());
			goto out;
		}
		for (size_t i = 0; i < all.len && !partial; i++)
			partial = all.v[i].size < BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE &&
				  all.v[i].max_ms >= from_ms && all.v[i].min_ms <= to_ms;
		if (!partial || attempt == 10)
			break;
		all.len = 0;
		usleep(50000);
	}
	for (size_t i = 0; i < all.len && !e; i++) {
		struct view_block vb = {.ref = all.v[i], .cover = -1};

		if (vb.ref.max_ms < from_ms || vb.ref.min_ms > to_ms)
			continue;
		if (vb.ref.max_ms < floor_ms)
			vb.state = VIEW_EXPIRED;
		else if (vb.ref.level > 0 &&
			 (VEC_PUSH(&compacted, vb.ref) || VEC_PUSH(&at, v->b.len)))
			e = -ENOMEM;
		if (!e && VEC_PUSH(&v->b, vb))
			e = -ENOMEM;
	}
	if (e) {
		snprintf(err, err_size, "out of memory");
		goto out;
	}
	if (compacted.len) {
		/* a block deleted since the listing: what replaced it is listed too */
		struct fetch_opts fo = {
			.store = s, .refs = &compacted, .want = no_service, .skip_missing = true};
		size_t k = 0;

		f = fetcher__new(&fo);
		if (!f) {
			snprintf(err, err_size, "out of memory");
			e = -ENOMEM;
		}
		/* blocks come back in the order of refs */
		while (!e && (fb = fetcher__next(f, &e, err, err_size))) {
			struct view_block *vb = &v->b.v[at.v[k++]];

			if (!fb->bi.size && !fb->bi.nservices && !fb->bi.tenant) {
				vb->state = VIEW_GONE;
				*ret_stale = true;
				continue;
			}
			vb->bi = fb->bi;
			memset(&fb->bi, 0, sizeof(fb->bi));
			vb->has_info = true;
			for (uint32_t j = 0; j < vb->bi.nservices; j++)
				vb->profiles += vb->bi.services[j].profiles;
		}
	}
	if (!e) {
		e = view_resolve(v->b.v, v->b.len);
		if (e)
			snprintf(err, err_size, "out of memory");
	}
	for (size_t i = 0; !e && i < v->b.len; i++) {
		switch (v->b.v[i].state) {
		case VIEW_SELECTED:
			v->selected++;
			break;
		case VIEW_COVERED:
			v->covered++;
			break;
		case VIEW_REJECTED:
			v->rejected++;
			break;
		case VIEW_EXPIRED:
			v->expired++;
			break;
		case VIEW_GONE:
			break;
		}
	}
out:
	fetcher__free(f);
	VEC_FREE(&all);
	VEC_FREE(&compacted);
	VEC_FREE(&at);
	return e;
}

int reader_view(struct objstore *s, const char *tenant, uint64_t from_ms, uint64_t to_ms,
		uint64_t floor_ms, struct store_view *v, char *err, size_t err_size)
{
	int e = 0;

	/*
	 * A compacted block deleted between the listing and its footer read was deleted after its
	 * sources (the cleanup's order), which the listing may still show: not knowing what it
	 * replaced, the view could count them. So such a listing is taken again.
	 */
	for (int attempt = 0; attempt < 4; attempt++) {
		bool stale = false;

		store_view_free(v);
		e = view_once(s, tenant, from_ms, to_ms, floor_ms, v, &stale, err, err_size);
		if (e || !stale)
			break;
	}
	/* view_find: the cleanup and `sonde inspect` look up every source of every block */
	for (size_t i = 0; i < v->b.len && !e; i++)
		if (hmap_put(&v->index, id_key(v->b.v[i].ref.id), (void *)(uintptr_t)(i + 1))) {
			snprintf(err, err_size, "out of memory");
			e = -ENOMEM;
		}
	v->indexed = !e;
	return e;
}

void store_view_free(struct store_view *v)
{
	for (size_t i = 0; i < v->b.len; i++)
		block_info_free(&v->b.v[i].bi);
	VEC_FREE(&v->b);
	hmap_free(&v->index);
	memset(v, 0, sizeof(*v));
}

int64_t view_find(const struct store_view *v, const char *id)
{
	uintptr_t i = (uintptr_t)hmap_get(&v->index, id_key(id));

	if (i && strcmp(v->b.v[i - 1].ref.id, id) == 0)
		return (int64_t)i - 1;
	if (v->indexed && !i)
		return -1;
	/* a view built by hand (tests), or another id with the same key */
	for (size_t k = 0; k < v->b.len; k++)
		if (strcmp(v->b.v[k].ref.id, id) == 0)
			return (int64_t)k;
	return -1;
}
