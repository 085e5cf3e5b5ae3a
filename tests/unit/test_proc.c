// SPDX-License-Identifier: Apache-2.0
/* agent/proc.c: /proc/PID/maps lines and the process table (against this process). */
#include <errno.h>
#include <link.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/frames.h"

__attribute__((noinline)) int agent_marker_function(int x)
{
	return x + 11;
}

static void test_maps_line(void)
{
	char l1[] = "7f1c2a400000-7f1c2a428000 r-xp 00028000 fe:01 1835042    "
		    "/usr/lib/x86_64-linux-gnu/libc.so.6";
	char l2[] =
		"7ffd5e3f1000-7ffd5e3f3000 r-xp 00000000 00:00 0                          [vdso]";
	char l3[] = "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0";
	char l4[] = "not a maps line";
	char l5[] = "2000-1000 r-xp 00000000 00:00 0";
	struct maps_line ml;

	CHECK(parse_maps_line(l1, &ml) == 0);
	CHECK_EQ_U64(ml.start, 0x7f1c2a400000);
	CHECK_EQ_U64(ml.end, 0x7f1c2a428000);
	CHECK_EQ_U64(ml.pgoff, 0x28000);
	CHECK_EQ_U64(ml.dev, (0xfeull << 20) | 1);
	CHECK_EQ_U64(ml.ino, 1835042);
	CHECK_STR(ml.perms, "r-xp");
	CHECK_STR(ml.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	CHECK(parse_maps_line(l2, &ml) == 0);
	CHECK_STR(ml.path, "[vdso]");
	CHECK(parse_maps_line(l3, &ml) == 0);
	CHECK_STR(ml.path, "");
	CHECK(parse_maps_line(l4, &ml) == -EINVAL);
	CHECK(parse_maps_line(l5, &ml) == -EINVAL);
}

static int bias_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && info->dlpi_name[0])
		return 0;
	*(uint64_t *)data = info->dlpi_addr;
	return 1;
}

static void test_proc_table_self(void)
{
	struct symbolizer *sym = symbolizer__new(NULL);
	struct proc_table *t = proc_table__new(sym, NULL, NULL);
	struct sym_result *r = malloc(sizeof(*r));
	const struct mapping *m;
	struct proc_table_stats st;
	struct proc *p;
	uint64_t bias = 0, addr = (uint64_t)(uintptr_t)&agent_marker_function;
	uint32_t exe_id = UINT32_MAX;

	dl_iterate_phdr(bias_cb, &bias);
	p = proc_table__get(t, (uint32_t)getpid(), true);
	REQUIRE(p != NULL && p->maps_valid && p->maps->n >= 3);
	m = proc_table__resolve(t, p, addr, 0);
	REQUIRE(m != NULL);
	if (m) {
		CHECK(m->flags & MAPPING_BIAS_OK);
		CHECK_EQ_U64(addr - m->bias, addr - bias);
		CHECK(m->obj->kind == OBJECT_FILE);
		CHECK_STR(m->obj->name, "test_proc");
		CHECK(m->obj->build_id[0] != 0);
		CHECK(m->obj->module != NULL);
		symbolizer__prefetch(sym, m->obj->module);
		CHECK(symbolizer__wait(sym, 10000) == 0);
		CHECK(symbolizer__lookup(sym, m->obj->module, addr - m->bias, r) == 0);
		CHECK_STR(r->frames[0].name, "agent_marker_function");
		exe_id = m->obj->id;
	}
	/* a heap address is in no executable mapping */
	{
		void *heap = malloc(16);

		CHECK(proc_table__resolve(t, p, (uintptr_t)heap, 0) == NULL);
		free(heap);
	}
	/* exec replaces the mappings at once (the process may exit before its next sample) */
	proc_table__exec(t, p->pid);
	CHECK(p->maps_valid && p->maps->n > 0);
	CHECK(proc_table__get(t, p->pid, false) == p && p->maps_valid);
	proc_table__exit(t, p->pid);
	CHECK(proc_table__get(t, (uint32_t)getpid(), false) == NULL);
	/* objects no process maps any more are freed when an epoch ends */
	proc_table__stats(t, &st);
	CHECK(st.objects >= 2);
	proc_table__end_epoch(t);
	proc_table__end_epoch(t);
	proc_table__stats(t, &st);
	CHECK(proc_table__object(t, exe_id) == NULL);
	CHECK(st.objects <= 2); /* only the process-independent [vdso] and [anon] stay */
	CHECK_EQ_U64(st.procs, 0);
	/* a process that does not exist */
	p = proc_table__get(t, 0x3ffffff0, true);
	CHECK(p != NULL && p->gone && p->maps->n == 0);
	/* ... and whose exit record never came: freed when the epoch ends; the living stay */
	CHECK(proc_table__get(t, (uint32_t)getpid(), true) != NULL);
	proc_table__end_epoch(t);
	proc_table__stats(t, &st);
	CHECK(proc_table__get(t, 0x3ffffff0, false) == NULL);
	CHECK(proc_table__get(t, (uint32_t)getpid(), false) != NULL);
	CHECK_EQ_U64(st.procs, 1);
	CHECK_EQ_U64(st.reaped, 1);
	proc_table__free(t);
	symbolizer__free(sym);
	free(r);
	agent_marker_function(1);
}

int main(void)
{
	RUN(test_maps_line);
	RUN(test_proc_table_self);
	return unit_done();
}
