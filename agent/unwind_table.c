// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unwind_table.h"
#include "../common/bgcache.h"
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
	struct build_row row = {start, end, 0};

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
	VEC(uint32_t) pcs = {0};
	VEC(uint16_t) idx = {0};
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
			if (VEC_PUSH(&pcs, (uint32_t)(covered - base)) ||
			    VEC_PUSH(&idx, UNWIND_NO_RULE))
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
	struct builder b = {.sorted = true};
	struct unwind_table *t = NULL;
	struct sections sec;
	struct cfi_section cs = {0};
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

/* ---- the cache: a bgcache of tables, each built from a duplicated fd -------------------- */

struct unwind_cache {
	struct bgcache *bg;
};

static int build_cb(void *ctx, void *arg, void **ret_value, size_t *ret_bytes)
{
	struct unwind_table *t = NULL;
	int err = unwind_table__build((int)(intptr_t)arg - 1, &t);

	(void)ctx;
	if (err)
		return err;
	*ret_value = t;
	*ret_bytes = t->bytes;
	return 0;
}

static void free_table_cb(void *ctx, void *value)
{
	(void)ctx;
	unwind_table__free(value);
}

static void close_fd_cb(void *ctx, void *arg)
{
	(void)ctx;
	close((int)(intptr_t)arg - 1);
}

struct unwind_cache *unwind_cache__new(uint64_t max_bytes)
{
	struct unwind_cache *c = calloc(1, sizeof(*c));
	struct bgcache_opts o = {
		.max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES,
		.build = build_cb,
		.free_value = free_table_cb,
		.free_arg = close_fd_cb,
		.thread_name = "sonde-unwind",
	};

	if (!c)
		return NULL;
	c->bg = bgcache__new(&o);
	if (!c->bg) {
		free(c);
		return NULL;
	}
	return c;
}

void unwind_cache__free(struct unwind_cache *c)
{
	if (!c)
		return;
	bgcache__free(c->bg);
	free(c);
}

struct unwind_entry *unwind_cache__get(struct unwind_cache *c, uint64_t key, int fd)
{
	struct bgcache_entry *e = bgcache__find(c->bg, key);
	int dup;

	if (e)
		return (struct unwind_entry *)e;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup < 0)
		return NULL;
	/* the fd travels as the entry's argument, offset by one so that fd 0 is not NULL */
	return (struct unwind_entry *)bgcache__add(c->bg, key, (void *)(intptr_t)(dup + 1), false);
}

void unwind_cache__put(struct unwind_cache *c, struct unwind_entry *e)
{
	bgcache__put(c->bg, (struct bgcache_entry *)e);
}

const struct unwind_table *unwind_cache__table(struct unwind_cache *c, struct unwind_entry *e,
					       enum unwind_entry_state *ret_state)
{
	enum bgcache_state st;
	const struct unwind_table *t = bgcache__value(c->bg, (struct bgcache_entry *)e, &st);

	*ret_state = (enum unwind_entry_state)st;
	return t;
}

int unwind_cache__collect(struct unwind_cache *c)
{
	return bgcache__collect(c->bg);
}

int unwind_cache__wait(struct unwind_cache *c, int timeout_ms)
{
	return bgcache__wait(c->bg, timeout_ms);
}

void unwind_cache__stats(const struct unwind_cache *c, struct unwind_cache_stats *ret)
{
	bgcache__stats(c->bg, ret);
}
