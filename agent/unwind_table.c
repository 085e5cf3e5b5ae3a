// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unwind_table.h"
#include "../common/buf.h"
#include "../common/hash.h"
#include "../common/util.h"

#define DEFAULT_MAX_BYTES (512ull << 20)
#define MAX_RULES 0xfff0 /* distinct rules per file; more means a malformed file */

struct build_row {
	uint64_t start;
	uint64_t end;
	uint32_t rule;
};

struct builder {
	VEC(struct build_row) rows;
	VEC(struct cfi_rule) rules;
	struct itab rule_idx;
	bool sorted;
	int err;
};

static bool rule_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct builder *b = ctx;

	return memcmp(&b->rules.v[idx], key, sizeof(struct cfi_rule)) == 0;
}

static int add_row(void *ctx, uint64_t start, uint64_t end, const struct cfi_rule *rule)
{
	struct builder *b = ctx;
	uint64_t h = hash_bytes(rule, sizeof(*rule), 17);
	int64_t idx = itab_find(&b->rule_idx, h, rule_eq, b, rule);
	struct build_row row = { start, end, 0 };

	if (idx < 0) {
		if (b->rules.len >= MAX_RULES) {
			b->err = -E2BIG;
			return 1;
		}
		idx = (int64_t)b->rules.len;
		if (VEC_PUSH(&b->rules, *rule) || itab_add(&b->rule_idx, h, (uint32_t)idx)) {
			b->err = -ENOMEM;
			return 1;
		}
	}
	row.rule = (uint32_t)idx;
	/* merge with the previous row when contiguous and equal: most FDE tails are */
	if (b->rows.len) {
		struct build_row *prev = &b->rows.v[b->rows.len - 1];

		if (prev->end == start && prev->rule == row.rule) {
			prev->end = end;
			return 0;
		}
		if (start < prev->start)
			b->sorted = false;
	}
	if (VEC_PUSH(&b->rows, row)) {
		b->err = -ENOMEM;
		return 1;
	}
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct build_row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Turns sorted [start, end) rows into (pc, rule) starts with explicit gaps. */
static int finish(struct builder *b, struct unwind_table *t)
{
	VEC(uint32_t) pcs = { 0 };
	VEC(uint16_t) idx = { 0 };
	uint64_t base, covered = 0;

	if (!b->rows.len)
		return 0;
	if (!b->sorted)
		qsort(b->rows.v, b->rows.len, sizeof(*b->rows.v), row_cmp);
	base = b->rows.v[0].start;
	for (size_t i = 0; i < b->rows.len; i++) {
		const struct build_row *r = &b->rows.v[i];
		uint64_t start = r->start;

		if (r->end <= covered)
			continue; /* inside an earlier FDE: duplicate or overlapping entry */
		if (start < covered)
			start = covered;
		if (r->end - base > UINT32_MAX)
			break; /* more than 4 GiB of code: keep the first 4 GiB */
		if (pcs.len && start > covered) {
			/* a gap between FDEs */
			if (VEC_PUSH(&pcs, (uint32_t)(covered - base)) || VEC_PUSH(&idx, UNWIND_NO_RULE))
				goto oom;
		}
		if (!(idx.len && idx.v[idx.len - 1] == r->rule && start == covered)) {
			if (VEC_PUSH(&pcs, (uint32_t)(start - base)) ||
			    VEC_PUSH(&idx, (uint16_t)r->rule))
				goto oom;
		}
		covered = r->end;
	}
	if (VEC_PUSH(&pcs, (uint32_t)(covered - base)) || VEC_PUSH(&idx, UNWIND_NO_RULE))
		goto oom;
	t->base = base;
	t->nrows = (uint32_t)pcs.len;
	t->pcs = pcs.v;
	t->rule_idx = idx.v;
	t->nrules = (uint32_t)b->rules.len;
	t->rules = malloc(b->rules.len * sizeof(*t->rules));
	if (!t->rules)
		return -ENOMEM;
	memcpy(t->rules, b->rules.v, b->rules.len * sizeof(*t->rules));
	return 0;
oom:
	VEC_FREE(&pcs);
	VEC_FREE(&idx);
	return -ENOMEM;
}

struct sections {
	Elf_Data *eh_frame, *debug_frame;
	uint64_t eh_frame_addr, text_addr, got_addr;
	bool has_gopclntab;
};

static void find_sections(Elf *elf, struct sections *s)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	memset(s, 0, sizeof(*s));
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (strcmp(name, ".eh_frame") == 0) {
			s->eh_frame = elf_getdata(scn, NULL);
			s->eh_frame_addr = sh.sh_addr;
		} else if (strcmp(name, ".debug_frame") == 0) {
			s->debug_frame = elf_getdata(scn, NULL);
		} else if (strcmp(name, ".text") == 0) {
			s->text_addr = sh.sh_addr;
		} else if (strcmp(name, ".got") == 0) {
			s->got_addr = sh.sh_addr;
		} else if (strcmp(name, ".gopclntab") == 0 ||
			   strcmp(name, ".data.rel.ro.gopclntab") == 0) {
			s->has_gopclntab = true;
		}
	}
}

int unwind_table__build(int fd, struct unwind_table **ret)
{
	struct builder b = { .sorted = true };
	struct unwind_table *t = NULL;
	struct sections sec;
	struct cfi_section cs = { 0 };
	Elf *elf;
	int err = 0;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	if (elf_kind(elf) != ELF_K_ELF) {
		err = -EINVAL;
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto out;
	}
	find_sections(elf, &sec);
	/* .eh_frame is what the code runs with; .debug_frame only when there is none */
	if (sec.eh_frame && sec.eh_frame->d_buf && sec.eh_frame->d_size) {
		cs.data = sec.eh_frame->d_buf;
		cs.size = sec.eh_frame->d_size;
		cs.addr = sec.eh_frame_addr;
		cs.is_eh_frame = true;
	} else if (sec.debug_frame && sec.debug_frame->d_buf && sec.debug_frame->d_size) {
		cs.data = sec.debug_frame->d_buf;
		cs.size = sec.debug_frame->d_size;
		t->from_debug_frame = true;
	}
	cs.text_addr = sec.text_addr;
	cs.data_addr = sec.got_addr;
	if (cs.data) {
		cfi_parse(&cs, add_row, &b, &t->cfi);
		if (b.err) {
			err = b.err;
			goto out;
		}
		err = finish(&b, t);
		if (err)
			goto out;
	}
	if (sec.has_gopclntab) {
		int gerr = gopclntab__open(fd, &t->go);

		if (gerr)
			t->go = NULL; /* an older Go layout: fall back to CFI and frame pointers */
	}
	t->bytes = sizeof(*t) + t->nrows * (sizeof(uint32_t) + sizeof(uint16_t)) +
		   t->nrules * sizeof(struct cfi_rule) + (t->go ? gopclntab__bytes(t->go) : 0);
	*ret = t;
	t = NULL;
out:
	unwind_table__free(t);
	VEC_FREE(&b.rows);
	VEC_FREE(&b.rules);
	itab_free(&b.rule_idx);
	elf_end(elf);
	return err;
}

const struct cfi_rule *unwind_table__lookup(const struct unwind_table *t, uint64_t addr)
{
	uint32_t lo = 0, hi = t->nrows, off;
	uint16_t r;

	if (!t->nrows || addr < t->base || addr - t->base > UINT32_MAX)
		return NULL;
	off = (uint32_t)(addr - t->base);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->pcs[mid] <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	r = t->rule_idx[lo - 1];
	return r == UNWIND_NO_RULE ? NULL : &t->rules[r];
}

void unwind_table__free(struct unwind_table *t)
{
	if (!t)
		return;
	free(t->pcs);
	free(t->rule_idx);
	free(t->rules);
	gopclntab__free(t->go);
	free(t);
}

/* ---- the cache ------------------------------------------------------------------------- */

struct unwind_entry {
	uint64_t key;
	uint32_t refs;
	bool in_worker; /* a job for this entry is queued or running */
	enum unwind_entry_state state;
	int fd;
	struct unwind_table *table;
	uint64_t last_used;
	struct unwind_entry *next_job; /* worker queue link */
	struct unwind_entry *next_done;
	struct unwind_table *built; /* handed from the worker */
	int build_err;
	uint64_t build_ns;
};

struct unwind_cache {
	struct hmap entries; /* key -> entry */
	uint64_t clock;
	struct unwind_cache_stats stats;
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	struct unwind_entry *jobs_head, *jobs_tail;
	struct unwind_entry *done;
	uint32_t in_flight;
	bool stop;
};

static void *worker_main(void *arg)
{
	struct unwind_cache *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct unwind_entry *e;
		uint64_t t0;
		int fd;

		while (!c->stop && !c->jobs_head)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->stop)
			break;
		e = c->jobs_head;
		c->jobs_head = e->next_job;
		if (!c->jobs_head)
			c->jobs_tail = NULL;
		fd = e->fd;
		pthread_mutex_unlock(&c->lock);

		/* the entry is not freed while in_worker is set; fd belongs to it */
		t0 = clock_ns(CLOCK_MONOTONIC);
		e->built = NULL;
		e->build_err = unwind_table__build(fd, &e->built);
		e->build_ns = clock_ns(CLOCK_MONOTONIC) - t0;

		pthread_mutex_lock(&c->lock);
		e->next_done = c->done;
		c->done = e;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct unwind_cache *unwind_cache__new(uint64_t max_bytes)
{
	struct unwind_cache *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->stats.max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
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
	return c;
}

static void queue_build(struct unwind_cache *c, struct unwind_entry *e)
{
	e->state = UNWIND_ENTRY_QUEUED;
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

static void entry_free(struct unwind_cache *c, struct unwind_entry *e)
{
	if (e->table) {
		c->stats.bytes -= e->table->bytes;
		c->stats.ready--;
		unwind_table__free(e->table);
	}
	if (e->fd >= 0)
		close(e->fd);
	c->stats.entries--;
	free(e);
}

struct unwind_entry *unwind_cache__get(struct unwind_cache *c, uint64_t key, int fd)
{
	struct unwind_entry *e = hmap_get(&c->entries, key);

	if (e) {
		e->refs++;
		return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key;
	e->refs = 1;
	e->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (e->fd < 0 || hmap_put(&c->entries, key, e)) {
		if (e->fd >= 0)
			close(e->fd);
		free(e);
		return NULL;
	}
	c->stats.entries++;
	queue_build(c, e);
	return e;
}

void unwind_cache__put(struct unwind_cache *c, struct unwind_entry *e)
{
	if (!e || --e->refs)
		return;
	hmap_del(&c->entries, e->key);
	if (e->in_worker)
		return; /* freed when its build comes back */
	entry_free(c, e);
}

static void evict(struct unwind_cache *c, const struct unwind_entry *keep)
{
	while (c->stats.bytes > c->stats.max_bytes) {
		struct unwind_entry *victim = NULL;
		size_t pos = 0;
		void *v;

		while (hmap_next(&c->entries, &pos, NULL, &v)) {
			struct unwind_entry *e = v;

			if (e->state == UNWIND_ENTRY_READY && e != keep &&
			    (!victim || e->last_used < victim->last_used))
				victim = e;
		}
		if (!victim)
			break;
		c->stats.bytes -= victim->table->bytes;
		c->stats.ready--;
		unwind_table__free(victim->table);
		victim->table = NULL;
		victim->state = UNWIND_ENTRY_EVICTED;
		c->stats.evictions++;
	}
}

int unwind_cache__collect(struct unwind_cache *c)
{
	struct unwind_entry *done;
	int n = 0;

	pthread_mutex_lock(&c->lock);
	done = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->lock);
	/* the list is newest first: take builds in the order they finished */
	{
		struct unwind_entry *rev = NULL;

		while (done) {
			struct unwind_entry *next = done->next_done;

			done->next_done = rev;
			rev = done;
			done = next;
		}
		done = rev;
	}
	while (done) {
		struct unwind_entry *e = done;

		done = e->next_done;
		pthread_mutex_lock(&c->lock);
		c->in_flight--;
		pthread_mutex_unlock(&c->lock);
		e->in_worker = false;
		n++;
		c->stats.builds++;
		c->stats.build_ns += e->build_ns;
		if (e->refs == 0) {
			unwind_table__free(e->built);
			entry_free(c, e);
			continue;
		}
		if (e->build_err) {
			c->stats.build_failures++;
			e->state = UNWIND_ENTRY_FAILED;
			continue;
		}
		e->table = e->built;
		e->built = NULL;
		e->state = UNWIND_ENTRY_READY;
		e->last_used = ++c->clock;
		c->stats.bytes += e->table->bytes;
		c->stats.ready++;
		evict(c, e);
	}
	return n;
}

int unwind_cache__wait(struct unwind_cache *c, int timeout_ms)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000;
	int err = 0;

	for (;;) {
		uint32_t pending;

		unwind_cache__collect(c);
		pthread_mutex_lock(&c->lock);
		pending = c->in_flight;
		if (pending && !c->done) {
			struct timespec ts;
			uint64_t now = clock_ns(CLOCK_REALTIME) + 20000000;

			ts.tv_sec = (time_t)(now / NSEC_PER_SEC);
			ts.tv_nsec = (long)(now % NSEC_PER_SEC);
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		pthread_mutex_unlock(&c->lock);
		if (!pending)
			break;
		if (clock_ns(CLOCK_MONOTONIC) > deadline) {
			err = -ETIMEDOUT;
			break;
		}
	}
	return err;
}

const struct unwind_table *unwind_cache__table(struct unwind_cache *c, struct unwind_entry *e,
					       enum unwind_entry_state *ret_state)
{
	if (e->state == UNWIND_ENTRY_READY) {
		e->last_used = ++c->clock;
		*ret_state = e->state;
		return e->table;
	}
	if (e->state == UNWIND_ENTRY_EVICTED && !e->in_worker)
		queue_build(c, e);
	*ret_state = e->state;
	return NULL;
}

void unwind_cache__stats(const struct unwind_cache *c, struct unwind_cache_stats *ret)
{
	*ret = c->stats;
}

void unwind_cache__free(struct unwind_cache *c)
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
	/* finished builds not yet collected, then every entry still known */
	while (c->done) {
		struct unwind_entry *e = c->done;

		c->done = e->next_done;
		e->in_worker = false;
		unwind_table__free(e->built);
		if (e->refs == 0)
			entry_free(c, e);
	}
	/* queued jobs never started: entries nobody refers to are only on this list */
	for (struct unwind_entry *e = c->jobs_head, *next; e; e = next) {
		next = e->next_job;
		e->in_worker = false;
		if (e->refs == 0)
			entry_free(c, e);
	}
	while (hmap_next(&c->entries, &pos, NULL, &v))
		entry_free(c, v);
	hmap_free(&c->entries);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}
