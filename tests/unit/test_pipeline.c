// SPDX-License-Identifier: Apache-2.0
/*
 * agent/pipeline.c: records as the ring buffer delivers them (built here: this process's own
 * stack, sampled as the BPF program would). Malformed records are counted; a sample whose unwind
 * table is still being built is parked within its byte budget and added once the table is ready,
 * resolved against the mappings it was taken under; nothing stays parked after a final retry.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stack_copy.h"
#include "unit.h"
#include "../../agent/pipeline.h"
#include "../../agent/proc.h"
#include "../../agent/profile.h"
#include "../../agent/unwind.h"
#include "../../agent/unwind_table.h"
#include "../../common/util.h"

#define STACK_COPY 4096

struct fixture {
	struct unwind_cache *unwind;
	struct proc_table *procs;
	struct profile *profile;
	struct pipeline *pl;
};

static void fixture_init(struct fixture *f, uint64_t max_parked_bytes)
{
	struct profile_opts po = {0};
	struct pipeline_opts o;

	f->unwind = unwind_cache__new(64 << 20);
	f->procs = proc_table__new(NULL, f->unwind, NULL);
	f->profile = profile__new(&po);
	o = (struct pipeline_opts){f->procs, f->unwind, f->profile, max_parked_bytes};
	f->pl = pipeline__new(&o);
	CHECK(f->unwind && f->procs && f->profile && f->pl);
}

static void fixture_free(struct fixture *f)
{
	pipeline__free(f->pl);
	profile__free(f->profile);
	proc_table__free(f->procs);
	unwind_cache__free(f->unwind);
}

static struct sonde_sample *new_sample(size_t stack_bytes, size_t *ret_size)
{
	struct sonde_sample *s = calloc(1, sizeof(*s) + stack_bytes);

	*ret_size = sizeof(*s) + stack_bytes;
	s->hdr.type = SONDE_REC_SAMPLE;
	s->hdr.size = (uint32_t)*ret_size;
	s->pid = s->tid = (uint32_t)getpid();
	s->time_ns = 1;
	strcpy(s->comm, "test_pipeline");
	strcpy(s->pcomm, "test_pipeline");
	return s;
}

#if defined(__x86_64__)
/* The end (highest address) of this thread's stack. */
static uint64_t stack_end(void)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	return (uint64_t)(uintptr_t)addr + size;
}

/*
 * A user-mode sample of this thread taken here: registers and the stack above the stack pointer,
 * as the BPF program copies them. Not inlined, so its frame is on the copied stack.
 */
__attribute__((noinline)) static struct sonde_sample *sample_self(size_t *ret_size)
{
	uint64_t ip, sp, bp, end = stack_end();
	struct sonde_sample *s;
	size_t copy;

	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
			 : "=r"(ip), "=r"(sp), "=r"(bp));
	/* as the BPF program does: no further than the stack's end */
	copy = end > sp ? MIN((size_t)(end - sp), STACK_COPY) : 0;
	s = new_sample(copy, ret_size);
	s->flags = SONDE_SAMPLE_USER_REGS;
	s->regs.ip = ip;
	s->regs.sp = sp;
	s->regs.bp = bp;
	s->stack_bytes = (uint32_t)copy;
	copy_stack((uint8_t *)(s + 1), sp, copy);
	return s;
}
#endif

static struct pipeline_stats stats_of(struct fixture *f)
{
	struct pipeline_stats st;

	pipeline__stats(f->pl, &st);
	return st;
}

static void test_malformed_records(void)
{
	struct fixture f;
	struct sonde_rec_hdr odd = {.type = 99, .size = sizeof(odd)};
	struct sonde_sample *s;
	size_t size;

	fixture_init(&f, 1 << 20);
	pipeline__handle_record(f.pl, &odd, 4);		  /* shorter than a header */
	pipeline__handle_record(f.pl, &odd, sizeof(odd)); /* an unknown type */
	s = new_sample(0, &size);
	pipeline__handle_record(f.pl, s, size - 8); /* shorter than a sample */
	s->kstack_len = SONDE_MAX_KSTACK + 1;
	pipeline__handle_record(f.pl, s, size);
	s->kstack_len = 0;
	s->stack_bytes = 64; /* more stack than the record carries */
	pipeline__handle_record(f.pl, s, size);
	CHECK_EQ_U64(stats_of(&f).bad_records, 5);
	CHECK_EQ_U64(stats_of(&f).samples_kept, 0);
	CHECK_EQ_U64(profile__total(f.profile), 0);
	free(s);
	fixture_free(&f);
}

static void test_kernel_sample(void)
{
	struct fixture f;
	struct sonde_sample *s;
	size_t size;

	fixture_init(&f, 1 << 20);
	s = new_sample(0, &size);
	s->flags = SONDE_SAMPLE_KTHREAD | SONDE_SAMPLE_KERNEL_MODE;
	s->kstack_len = 2;
	s->kstack[0] = 0xffffffff81000100ull;
	s->kstack[1] = 0xffffffff81000200ull;
	pipeline__handle_record(f.pl, s, size);
	CHECK_EQ_U64(stats_of(&f).samples_kept, 1);
	CHECK_EQ_U64(stats_of(&f).unwind_status[UNWIND_NO_USER], 1);
	CHECK_EQ_U64(stats_of(&f).unwind_calls, 0);
	CHECK_EQ_U64(profile__total(f.profile), 1);
	CHECK(!pipeline__has_parked(f.pl));
	free(s);
	fixture_free(&f);
}

static void test_process_events(void)
{
	struct sonde_proc_event e = {.hdr = {SONDE_REC_NEWPROC, sizeof(e)},
				     .pid = (uint32_t)getpid()};
	struct proc_table_stats st;
	struct fixture f;

	fixture_init(&f, 1 << 20);
	pipeline__handle_record(f.pl, &e, sizeof(e));
	proc_table__stats(f.procs, &st);
	CHECK_EQ_U64(st.procs, 1);
	CHECK(st.maps_reads >= 1); /* read at once, while the process lives */
	e.hdr.type = SONDE_REC_EXIT;
	pipeline__handle_record(f.pl, &e, sizeof(e));
	proc_table__stats(f.procs, &st);
	CHECK_EQ_U64(st.procs, 0);
	CHECK_EQ_U64(stats_of(&f).bad_records, 0);
	fixture_free(&f);
}

#if defined(__x86_64__)
/*
 * Two samples before any unwind table exists: the first is parked, the second does not fit in
 * the budget and is kept at once with its stack marked pending. Once the tables are built, a
 * retry adds the parked one, unwound, even though the process exec'ed meanwhile (its mappings
 * are the ones it was taken under).
 */
static void test_park_and_retry(void)
{
	struct fixture f;
	struct pipeline_stats st;
	size_t size;
	struct sonde_sample *s = sample_self(&size);
	struct sonde_proc_event exec = {.hdr = {SONDE_REC_EXEC, sizeof(exec)},
					.pid = (uint32_t)getpid()};

	fixture_init(&f, size + size / 2);
	pipeline__handle_record(f.pl, s, size);
	st = stats_of(&f);
	CHECK_EQ_U64(st.parked, 1);
	CHECK_EQ_U64(st.parked_bytes, size);
	CHECK_EQ_U64(st.unwind_calls, 1);
	CHECK_EQ_U64(st.stack_copy_bytes, s->stack_bytes);
	CHECK(s->stack_bytes >= 512);
	CHECK_EQ_U64(profile__total(f.profile), 0);
	CHECK(pipeline__has_parked(f.pl));

	pipeline__handle_record(f.pl, s, size); /* over the budget */
	st = stats_of(&f);
	CHECK_EQ_U64(st.parked, 1);
	CHECK_EQ_U64(st.parked_dropped, 1);
	CHECK_EQ_U64(st.unwind_status[UNWIND_PENDING], 1);
	CHECK_EQ_U64(profile__total(f.profile), 1);

	pipeline__handle_record(f.pl, &exec, sizeof(exec));
	CHECK(unwind_cache__wait(f.unwind, 20000) == 0);
	pipeline__retry_parked(f.pl, false);
	st = stats_of(&f);
	CHECK_EQ_U64(st.parked, 0);
	CHECK_EQ_U64(st.parked_bytes, 0);
	CHECK_EQ_U64(st.samples_kept, 2);
	CHECK_EQ_U64(st.unwind_status[UNWIND_PENDING], 1);
	CHECK_EQ_U64(st.unwind_status[UNWIND_ERR_UNMAPPED], 0);
	CHECK(st.user_frames >= 2); /* this function and its caller, at least */
	CHECK_EQ_U64(profile__total(f.profile), 2);
	CHECK(!pipeline__has_parked(f.pl));
	free(s);
	fixture_free(&f);
}

/* A final retry leaves nothing parked, whatever the tables' state; freeing drops the rest. */
static void test_final_retry_and_free(void)
{
	struct fixture f;
	size_t size;
	struct sonde_sample *s = sample_self(&size);

	fixture_init(&f, 1 << 20);
	pipeline__handle_record(f.pl, s, size);
	pipeline__handle_record(f.pl, s, size);
	CHECK_EQ_U64(stats_of(&f).parked, 2);
	pipeline__retry_parked(f.pl, true);
	CHECK_EQ_U64(stats_of(&f).parked, 0);
	CHECK_EQ_U64(profile__total(f.profile), 2);
	/* parked samples still there when the pipeline is freed are released (ASan: no leak) */
	pipeline__handle_record(f.pl, s, size);
	free(s);
	fixture_free(&f);
}
#endif

int main(void)
{
	RUN(test_malformed_records);
	RUN(test_kernel_sample);
	RUN(test_process_events);
#if defined(__x86_64__)
	RUN(test_park_and_retry);
	RUN(test_final_retry_and_free);
#else
	printf("skip test_park_and_retry, test_final_retry_and_free: x86-64 registers only\n");
#endif
	return unit_done();
}
