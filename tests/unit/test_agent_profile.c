// SPDX-License-Identifier: Apache-2.0
/* agent/profile.c: samples aggregated by stack, strings and frames stored once, the memory bound.
 */
#include <errno.h>

#include "unit.h"
#include "../../agent/frames.h"

static struct frame kf(uint64_t addr)
{
	struct frame f = {.addr = addr, .kind = FRAME_KERNEL};

	return f;
}

static void test_profile_aggregation(void)
{
	struct profile_opts o = {.keep_timestamps = true};
	struct profile *p = profile__new(&o);
	struct frame s1[3] = {kf(0x10), kf(0x20), kf(0x30)};
	struct frame s2[2] = {kf(0x20), kf(0x30)};
	const struct sample_agg *a;
	const uint32_t *ids;
	uint32_t n;

	CHECK(profile__add(p, 1, 1, "proc", "thr", 0, s1, 3, 100) == 0);
	CHECK(profile__add(p, 1, 1, "proc", "thr", 0, s1, 3, 200) == 0);
	CHECK(profile__add(p, 1, 2, "proc", "thr2", 0, s1, 3, 300) == 0);
	CHECK(profile__add(p, 2, 2, "other", "x", 0, s2, 2, 400) == 0);
	CHECK_EQ_U64(profile__total(p), 4);
	CHECK_EQ_U64(profile__nsamples(p), 3);
	CHECK_EQ_U64(profile__nstacks(p), 2);
	CHECK_EQ_U64(profile__nframes(p), 3); /* shared frames stored once */
	a = profile__sample(p, 0);
	CHECK_EQ_U64(a->count, 2);
	CHECK_EQ_U64(a->ts_count, 2);
	CHECK_STR(profile__str(p, a->proc_name), "proc");
	ids = profile__stack(p, a->stack, &n);
	CHECK_EQ_U64(n, 3);
	CHECK_EQ_U64(profile__frame(p, ids[0])->addr, 0x10);
	CHECK_EQ_U64(profile__string(p, "proc", 4), a->proc_name);
	CHECK_STR(profile__str(p, 0), "");
	profile__reset(p);
	CHECK_EQ_U64(profile__total(p), 0);
	CHECK_EQ_U64(profile__nsamples(p), 0);
	CHECK_EQ_U64(profile__nstrings(p), 1);
	profile__free(p);

	/* the memory bound drops and counts */
	o.max_samples_bytes = 1;
	p = profile__new(&o);
	CHECK(profile__add(p, 1, 1, "a", "b", 0, s1, 3, 1) == -E2BIG);
	CHECK_EQ_U64(profile__dropped(p), 1);
	profile__free(p);
}

int main(void)
{
	RUN(test_profile_aggregation);
	return unit_done();
}
