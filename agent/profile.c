// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "labels.h"
#include "../common/strtab.h"

#define DEFAULT_MAX_BYTES (1ull << 30)

struct ts_node {
	uint64_t ts;
	uint32_t next; /* index+1, 0 = end */
};

struct profile {
	struct profile_opts opts;
	VEC(struct frame) frames;
	struct itab frame_idx;
	VEC(uint32_t) stack_frames;
	VEC(struct stack_ref) stacks;
	struct itab stack_idx;
	struct strtab strings;
	VEC(struct sample_agg) samples;
	struct itab sample_idx;
	VEC(struct ts_node) ts_pool;
	VEC(struct label_ids) label_pairs;
	VEC(struct stack_ref) labelsets; /* off/len into label_pairs */
	struct itab labelset_idx;
	uint64_t generation;
	uint64_t first_ns, last_ns;
	uint64_t total;
	uint64_t dropped;
};

struct profile *profile__new(const struct profile_opts *opts)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (opts)
		p->opts = *opts;
	if (!p->opts.max_samples_bytes)
		p->opts.max_samples_bytes = DEFAULT_MAX_BYTES;
	profile__reset(p);
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	VEC_FREE(&p->frames);
	itab_free(&p->frame_idx);
	VEC_FREE(&p->stack_frames);
	VEC_FREE(&p->stacks);
	itab_free(&p->stack_idx);
	strtab_free(&p->strings);
	VEC_FREE(&p->samples);
	itab_free(&p->sample_idx);
	VEC_FREE(&p->ts_pool);
	VEC_FREE(&p->label_pairs);
	VEC_FREE(&p->labelsets);
	itab_free(&p->labelset_idx);
	free(p);
}

void profile__reset(struct profile *p)
{
	p->frames.len = 0;
	itab_clear(&p->frame_idx);
	p->stack_frames.len = 0;
	p->stacks.len = 0;
	itab_clear(&p->stack_idx);
	strtab_clear(&p->strings);
	p->samples.len = 0;
	itab_clear(&p->sample_idx);
	p->ts_pool.len = 0;
	p->label_pairs.len = 0;
	p->labelsets.len = 0;
	itab_clear(&p->labelset_idx);
	p->generation++;
	p->first_ns = p->last_ns = 0;
	p->total = 0;
	p->dropped = 0;
	/* string 0 is "", label set 0 the empty set */
	profile__string(p, "", 0);
	profile__labelset(p, NULL);
}

uint64_t profile__generation(const struct profile *p)
{
	return p->generation;
}

struct labelset_key {
	const struct label_ids *pairs;
	uint32_t n;
};

static bool labelset_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *p = ctx;
	const struct labelset_key *k = key;
	const struct stack_ref *s = &p->labelsets.v[idx];

	return s->len == k->n && (k->n == 0 || memcmp(&p->label_pairs.v[s->off], k->pairs,
						      k->n * sizeof(*k->pairs)) == 0);
}

uint32_t profile__labelset(struct profile *p, const struct proc_labels *labels)
{
	struct label_ids pairs[LABELS_MAX];
	struct labelset_key k = {pairs, 0};
	struct stack_ref ref;
	uint64_t h;
	int64_t idx;

	for (uint32_t i = 0; labels && i < labels->n; i++) {
		pairs[i].key = profile__string(p, labels->v[i].key, strlen(labels->v[i].key));
		pairs[i].value = profile__string(p, labels->v[i].value, strlen(labels->v[i].value));
		if (pairs[i].key == UINT32_MAX || pairs[i].value == UINT32_MAX)
			return UINT32_MAX;
		k.n++;
	}
	h = hash_bytes(pairs, k.n * sizeof(*pairs), 19);
	idx = itab_find(&p->labelset_idx, h, labelset_eq, p, &k);
	if (idx >= 0)
		return (uint32_t)idx;
	ref.off = (uint32_t)p->label_pairs.len;
	ref.len = k.n;
	if (VEC_RESERVE(&p->label_pairs, k.n))
		return UINT32_MAX;
	if (k.n)
		memcpy(p->label_pairs.v + p->label_pairs.len, pairs, k.n * sizeof(*pairs));
	idx = (int64_t)p->labelsets.len;
	if (VEC_PUSH(&p->labelsets, ref) || itab_add(&p->labelset_idx, h, (uint32_t)idx)) {
		p->labelsets.len = (size_t)idx;
		return UINT32_MAX;
	}
	p->label_pairs.len += k.n;
	return (uint32_t)idx;
}

const struct label_ids *profile__labelset_get(const struct profile *p, uint32_t id, uint32_t *ret_n)
{
	*ret_n = p->labelsets.v[id].len;
	return p->label_pairs.v + p->labelsets.v[id].off;
}

size_t profile__nlabelsets(const struct profile *p)
{
	return p->labelsets.len;
}

uint64_t profile__first_ns(const struct profile *p)
{
	return p->first_ns;
}

uint64_t profile__last_ns(const struct profile *p)
{
	return p->last_ns;
}

uint32_t profile__string(struct profile *p, const char *s, size_t len)
{
	return strtab_intern(&p->strings, s, len);
}

static bool frame_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *p = ctx;

	return memcmp(&p->frames.v[idx], key, sizeof(struct frame)) == 0;
}

static int64_t intern_frame(struct profile *p, const struct frame *f)
{
	struct frame k = *f;
	uint64_t h;
	int64_t idx;

	memset(k.pad, 0, sizeof(k.pad));
	h = hash_bytes(&k, sizeof(k), 3);
	idx = itab_find(&p->frame_idx, h, frame_eq, p, &k);
	if (idx >= 0)
		return idx;
	idx = (int64_t)p->frames.len;
	if (VEC_PUSH(&p->frames, k) || itab_add(&p->frame_idx, h, (uint32_t)idx))
		return -ENOMEM;
	return idx;
}

struct stack_key {
	const uint32_t *ids;
	uint32_t len;
};

static bool stack_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *p = ctx;
	const struct stack_key *k = key;
	const struct stack_ref *s = &p->stacks.v[idx];

	return s->len == k->len &&
	       memcmp(&p->stack_frames.v[s->off], k->ids, k->len * sizeof(uint32_t)) == 0;
}

static bool sample_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct profile *p = ctx;
	const struct sample_agg *a = &p->samples.v[idx], *b = key;

	return a->pid == b->pid && a->tid == b->tid && a->stack == b->stack &&
	       a->proc_name == b->proc_name && a->thread_name == b->thread_name &&
	       a->labels == b->labels;
}

size_t profile__bytes(const struct profile *p)
{
	return p->frames.cap * sizeof(*p->frames.v) + p->stack_frames.cap * sizeof(uint32_t) +
	       p->stacks.cap * sizeof(*p->stacks.v) + strtab_bytes(&p->strings) +
	       p->samples.cap * sizeof(*p->samples.v) + p->ts_pool.cap * sizeof(*p->ts_pool.v) +
	       (p->frame_idx.cap + p->stack_idx.cap + p->sample_idx.cap) * sizeof(struct itab_slot);
}

int profile__add(struct profile *p, uint32_t pid, uint32_t tid, const char *proc_name,
		 const char *thread_name, uint32_t labelset, const struct frame *frames, uint32_t n,
		 uint64_t time_ns)
{
	uint32_t ids[PROFILE_MAX_FRAMES];
	struct stack_key sk = {ids, 0};
	struct sample_agg key = {0};
	uint64_t h;
	int64_t idx;

	if (profile__bytes(p) > p->opts.max_samples_bytes) {
		p->dropped++;
		return -E2BIG;
	}
	for (uint32_t i = 0; i < n && i < PROFILE_MAX_FRAMES; i++) {
		struct frame marker = {.kind = FRAME_TRUNCATED};

		/* a stack over the limit keeps its leaf end and says it was cut */
		idx = intern_frame(p, (n > PROFILE_MAX_FRAMES && i == PROFILE_MAX_FRAMES - 1)
					      ? &marker
					      : &frames[i]);
		if (idx < 0)
			goto oom;
		ids[i] = (uint32_t)idx;
	}
	if (n > PROFILE_MAX_FRAMES)
		n = PROFILE_MAX_FRAMES;
	sk.len = n;
	h = hash_bytes(ids, n * sizeof(uint32_t), 5);
	idx = itab_find(&p->stack_idx, h, stack_eq, p, &sk);
	if (idx < 0) {
		struct stack_ref ref = {(uint32_t)p->stack_frames.len, n};

		if (VEC_RESERVE(&p->stack_frames, n))
			goto oom;
		memcpy(p->stack_frames.v + p->stack_frames.len, ids, n * sizeof(uint32_t));
		idx = (int64_t)p->stacks.len;
		if (VEC_PUSH(&p->stacks, ref))
			goto oom;
		p->stack_frames.len += n;
		if (itab_add(&p->stack_idx, h, (uint32_t)idx)) {
			p->stacks.len--;
			p->stack_frames.len -= n;
			goto oom;
		}
	}
	key.pid = pid;
	key.tid = tid;
	key.stack = (uint32_t)idx;
	key.proc_name = profile__string(p, proc_name, strlen(proc_name));
	key.thread_name = profile__string(p, thread_name, strlen(thread_name));
	key.labels = labelset < p->labelsets.len ? labelset : 0;
	if (key.proc_name == UINT32_MAX || key.thread_name == UINT32_MAX)
		goto oom;
	h = hash_bytes(&key, offsetof(struct sample_agg, ts_count), 9);
	idx = itab_find(&p->sample_idx, h, sample_eq, p, &key);
	if (idx < 0) {
		idx = (int64_t)p->samples.len;
		if (VEC_PUSH(&p->samples, key))
			goto oom;
		if (itab_add(&p->sample_idx, h, (uint32_t)idx)) {
			p->samples.len--;
			goto oom;
		}
	}
	if (p->opts.keep_timestamps) {
		struct sample_agg *s = &p->samples.v[idx];
		struct ts_node node = {time_ns, s->ts_head};

		if (VEC_PUSH(&p->ts_pool, node) == 0) {
			s->ts_head = (uint32_t)p->ts_pool.len;
			s->ts_count++;
		}
	}
	p->samples.v[idx].count++;
	p->total++;
	if (!p->first_ns || time_ns < p->first_ns)
		p->first_ns = time_ns;
	if (time_ns > p->last_ns)
		p->last_ns = time_ns;
	return 0;
oom:
	p->dropped++;
	return -ENOMEM;
}

size_t profile__nsamples(const struct profile *p)
{
	return p->samples.len;
}

const struct sample_agg *profile__sample(const struct profile *p, size_t i)
{
	return &p->samples.v[i];
}

const uint32_t *profile__stack(const struct profile *p, uint32_t stack, uint32_t *ret_len)
{
	const struct stack_ref *s = &p->stacks.v[stack];

	*ret_len = s->len;
	return p->stack_frames.v + s->off;
}

size_t profile__nframes(const struct profile *p)
{
	return p->frames.len;
}

const struct frame *profile__frame(const struct profile *p, uint32_t frame)
{
	return &p->frames.v[frame];
}

size_t profile__nstacks(const struct profile *p)
{
	return p->stacks.len;
}

const char *profile__str(const struct profile *p, uint32_t id)
{
	return strtab_get(&p->strings, id);
}

size_t profile__nstrings(const struct profile *p)
{
	return strtab_count(&p->strings);
}

void profile__timestamps(const struct profile *p, const struct sample_agg *s,
			 void (*fn)(void *ctx, uint64_t ts), void *ctx)
{
	for (uint32_t i = s->ts_head; i; i = p->ts_pool.v[i - 1].next)
		fn(ctx, p->ts_pool.v[i - 1].ts);
}

uint64_t profile__total(const struct profile *p)
{
	return p->total;
}

uint64_t profile__dropped(const struct profile *p)
{
	return p->dropped;
}
