// SPDX-License-Identifier: Apache-2.0
/*
 * agent/unwind.c: this test's own stack, copied the way the BPF program copies a sample's (the
 * registers, then the stack from the stack pointer up), unwinds by DWARF CFI through the test's
 * functions and libc to the thread's entry; and the ways it stops, each with its status and
 * marker frame: no user registers, an address in no mapping, a copy too short, the frame limit.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "stack_copy.h"
#include "unit.h"
#include "../../agent/proc.h"
#include "../../agent/unwind.h"
#include "../../common/util.h"
#include "../../symbolizer/symbolizer.h"

static struct sonde_sample *sample; /* the stack captured by unwind_leaf */

/* The end of the mapping that holds addr (this thread's stack), from /proc/self/maps. */
static uint64_t mapping_end(uint64_t addr)
{
	char *data = NULL, *save = NULL;
	size_t len;
	uint64_t end = 0;

	if (read_file(-1, "/proc/self/maps", 1 << 20, &data, &len))
		return 0;
	for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct maps_line ml;

		if (parse_maps_line(l, &ml) == 0 && addr >= ml.start && addr < ml.end)
			end = ml.end;
	}
	free(data);
	return end;
}

__attribute__((noinline)) static void take_sample(uint64_t ip, uint64_t sp, uint64_t bp)
{
	uint64_t end = mapping_end(sp), len = end > sp ? end - sp : 0;

	if (len > SONDE_STACK_COPY_MAX)
		len = SONDE_STACK_COPY_MAX;
	sample = calloc(1, sizeof(*sample) + len);
	if (!sample)
		return;
	sample->flags = SONDE_SAMPLE_USER_REGS;
	sample->pid = (uint32_t)getpid();
	sample->regs.ip = ip;
	sample->regs.sp = sp;
	sample->regs.bp = bp;
	sample->stack_bytes = (uint32_t)len;
	copy_stack((uint8_t *)(sample + 1), sp, len);
}

__attribute__((noinline)) int unwind_leaf(int depth)
{
	uint64_t ip, sp, bp;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	take_sample(ip, sp, bp);
	return depth + 1;
}

__attribute__((noinline)) int unwind_mid(int depth)
{
	int r = unwind_leaf(depth + 1);

	__asm__ volatile("" ::: "memory"); /* no tail call */
	return r + 1;
}

__attribute__((noinline)) int unwind_outer(int depth)
{
	int r = unwind_mid(depth + 1);

	__asm__ volatile("" ::: "memory");
	return r + 1;
}

struct env {
	struct symbolizer *sym;
	struct unwind_cache *cache;
	struct proc_table *t;
	struct proc *p;
};

static int env_init(struct env *e)
{
	e->sym = symbolizer__new(NULL);
	e->cache = unwind_cache__new(0);
	e->t = proc_table__new(e->sym, e->cache, NULL);
	e->p = e->t ? proc_table__get(e->t, (uint32_t)getpid(), true) : NULL;
	return e->sym && e->cache && e->p ? 0 : -1;
}

static void env_free(struct env *e)
{
	proc_table__free(e->t);
	unwind_cache__free(e->cache);
	symbolizer__free(e->sym);
}

/* unwind_user, again while a table is still being built (as the agent parks the sample) */
static enum unwind_status unwind(struct env *e, const struct sonde_sample *s, struct frame *out,
				 uint32_t max, uint32_t *n)
{
	enum unwind_status st = UNWIND_PENDING;

	for (int i = 0; i < 20 && st == UNWIND_PENDING; i++) {
		st = unwind_user(e->cache, e->t, e->p->maps, s, out, max, n);
		if (st == UNWIND_PENDING)
			unwind_cache__wait(e->cache, 10000);
	}
	return st;
}

/* The function name of a user frame, or "" */
static const char *frame_name(struct env *e, const struct frame *f, struct sym_result *r)
{
	struct object *o = f->kind == FRAME_USER ? proc_table__object(e->t, f->obj_id) : NULL;

	if (!o || !o->module)
		return "";
	if (symbolizer__lookup(e->sym, o->module, f->addr, r) == -EAGAIN) {
		symbolizer__wait(e->sym, 10000);
		if (symbolizer__lookup(e->sym, o->module, f->addr, r))
			return "";
	}
	return r->nframes ? r->frames[r->nframes - 1].name : "";
}

static void test_self_stack(void)
{
	static const char *const expect[] = {"unwind_leaf", "unwind_mid", "unwind_outer",
					     "test_self_stack"};
	struct env e = {0};
	struct sym_result *r = malloc(sizeof(*r));
	struct frame out[64];
	uint32_t n = 0;
	bool main_seen = false;

	REQUIRE(r != NULL);
	unwind_outer(0);
	REQUIRE(sample != NULL && sample->stack_bytes > 0);
	REQUIRE(env_init(&e) == 0);
	CHECK(unwind(&e, sample, out, 64, &n) == UNWIND_COMPLETE);
	CHECK(n >= 6);
	for (uint32_t i = 0; i < n; i++) {
		const char *name = frame_name(&e, &out[i], r);

		CHECK(out[i].kind == FRAME_USER);
		if (i < 4)
			CHECK_STR(name, expect[i]);
		main_seen |= strcmp(name, "main") == 0;
	}
	CHECK(main_seen);
	env_free(&e);
	free(r);
}

static void test_stops(void)
{
	struct env e = {0};
	struct frame out[64];
	struct sonde_sample *s;
	uint32_t n = 0, full = 0;

	if (!sample)
		unwind_outer(0);
	REQUIRE(sample != NULL);
	REQUIRE(env_init(&e) == 0);
	s = malloc(sizeof(*s) + sample->stack_bytes);
	REQUIRE(s != NULL);
	CHECK(unwind(&e, sample, out, 64, &full) == UNWIND_COMPLETE);

	/* the frame limit: that many frames, then the truncation marker */
	CHECK(unwind(&e, sample, out, 2, &n) == UNWIND_TRUNCATED_DEPTH);
	CHECK_EQ_U64(n, 3);
	CHECK(out[2].kind == FRAME_TRUNCATED);

	/* a copy that ends in the leaf's frame: the caller's return address is not in it */
	memcpy(s, sample, sizeof(*s) + sample->stack_bytes);
	s->stack_bytes = 8;
	CHECK(unwind(&e, s, out, 64, &n) == UNWIND_TRUNCATED_COPY);
	CHECK(n >= 2 && n < full && out[n - 1].kind == FRAME_TRUNCATED);

	/* an instruction pointer in no mapping */
	memcpy(s, sample, sizeof(*s));
	s->regs.ip = 0x10;
	CHECK(unwind(&e, s, out, 64, &n) == UNWIND_ERR_UNMAPPED);
	CHECK_EQ_U64(n, 2);
	CHECK(out[0].kind == FRAME_UNMAPPED && out[0].addr == 0x10);
	CHECK(out[1].kind == FRAME_UNWIND_ERROR && out[1].addr == UNWIND_ERR_UNMAPPED);

	/* no user registers (a kernel thread): nothing */
	s->flags = 0;
	CHECK(unwind(&e, s, out, 64, &n) == UNWIND_NO_USER);
	CHECK_EQ_U64(n, 0);

	/* every status has a name of its own */
	for (int i = 0; i < UNWIND_NSTATUS; i++) {
		CHECK(unwind_status_name(i) != NULL && *unwind_status_name(i));
		for (int j = 0; j < i; j++)
			CHECK(strcmp(unwind_status_name(i), unwind_status_name(j)) != 0);
	}
	free(s);
	env_free(&e);
}

int main(void)
{
	RUN(test_self_stack);
	RUN(test_stops);
	free(sample);
	return unit_done();
}
