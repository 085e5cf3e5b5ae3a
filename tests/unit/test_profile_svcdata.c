// SPDX-License-Identifier: Apache-2.0
/*
 * profile/svcdata.c, the one in-memory profile: interning, the stack tree, series, merging
 * with a filter, row sorting and saturating values. (Blocks of it: test_block.c.)
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "svcdata_fixture.h"
#include "../../profile/svcdata.h"

static uint32_t s(struct svcdata *sd, const char *str)
{
	return svcdata__string(sd, str, strlen(str));
}

static uint32_t loc(struct svcdata *sd, const char *fn)
{
	struct sd_function f = {.name = s(sd, fn)};
	struct sd_line ln = {.function = svcdata__function(sd, &f)};
	struct sd_location l = {.address = strlen(fn), .nlines = 1};

	return svcdata__location(sd, &l, &ln);
}

static void test_interning(void)
{
	struct svcdata *sd = svcdata__new("svc");
	struct sd_type t = {s(sd, "samples"), s(sd, "count"), 0, 0, 5};
	struct sd_label ab[2] = {{s(sd, "b"), s(sd, "2")}, {s(sd, "a"), s(sd, "1")}};
	struct sd_label ba[2] = {ab[1], ab[0]};
	uint32_t type = svcdata__type(sd, &t), main_ = loc(sd, "main"), f = loc(sd, "f");
	uint32_t leaf_first[2] = {f, main_};

	CHECK_EQ_U64(s(sd, ""), 0);
	CHECK_EQ_U64(s(sd, "main"), s(sd, "main"));
	CHECK_EQ_U64(loc(sd, "main"), main_);
	CHECK_EQ_U64(svcdata__type(sd, &t), type);
	/* labels are a set: order does not make another series; kept sorted by key (id) */
	CHECK_EQ_U64(svcdata__series(sd, type, ab, 2), svcdata__series(sd, type, ba, 2));
	CHECK(sd->labels.v[sd->series.v[1].first_label].key <
	      sd->labels.v[sd->series.v[1].first_label + 1].key);
	CHECK_STR(svcdata__label(sd, 1, "b"), "2");
	/* stacks are tree nodes, root first; the empty stack is the root */
	CHECK_EQ_U64(svcdata__stack(sd, leaf_first, 0), 0);
	CHECK_EQ_U64(svcdata__stack(sd, leaf_first + 1, 1), svcdata__child(sd, 0, main_));
	CHECK_EQ_U64(svcdata__stack(sd, leaf_first, 2),
		     svcdata__child(sd, svcdata__child(sd, 0, main_), f));
	CHECK_EQ_U64(sd->nodes.len, 3);
	svcdata__free(sd);
}

static bool keep_big(void *ctx, const struct svcdata *src, const struct sd_row *row)
{
	return row->value >= *(const int64_t *)ctx;
}

static void test_merge_and_sort(void)
{
	struct svcdata *a = svcdata__new("a"), *m = svcdata__new("m");
	struct sd_type t = {s(a, "samples"), s(a, "count"), 0, 0, 5};
	struct sd_label l = {s(a, "k"), s(a, "v")};
	uint32_t series = svcdata__series(a, svcdata__type(a, &t), &l, 1);
	uint32_t locs[2] = {loc(a, "f"), loc(a, "main")};
	uint32_t st = svcdata__stack(a, locs, 2);
	int64_t min = 2;

	CHECK(svcdata__row(a, series, st, 3500, 1) == 0);
	CHECK(svcdata__row(a, series, st, 3100, 2) == 0);
	CHECK(svcdata__row(a, series, st, 1000, 4) == 0);
	CHECK(svcdata__row(a, series, svcdata__stack(a, locs + 1, 1), 3000, 8) == 0);
	CHECK(svcdata__merge(m, a, keep_big, &min) == 0);
	CHECK_EQ_U64(m->rows.len, 3); /* the row of 1 left out */
	CHECK_STR(svcdata__label(m, m->rows.v[0].series, "k"), "v");
	/* times to whole thousands: (3100, st) and (3000, main) stay apart, as their stacks do */
	CHECK_EQ_U64(svcdata__sort_rows(m, 1000), 3);
	CHECK_EQ_U64(m->min_time_ns, 1000);
	CHECK_EQ_U64(m->max_time_ns, 3000);
	CHECK(svcdata__merge(m, a, NULL, NULL) == 0);
	CHECK_EQ_U64(svcdata__sort_rows(m, 1000), 3); /* 1 + 2 joined the 2 at 3000 */
	{
		int64_t total = 0;

		for (size_t i = 0; i < m->rows.len; i++)
			total += m->rows.v[i].value;
		CHECK_EQ_U64(total, 2 + 4 + 8 + 15);
	}
	svcdata__free(a);
	svcdata__free(m);
}

static void test_saturation(void)
{
	CHECK(value_add(INT64_MAX, 1) == INT64_MAX);
	CHECK(value_add(INT64_MIN, -1) == INT64_MIN);
	CHECK(value_mul(INT64_MAX / 2, 3) == INT64_MAX);
	CHECK(value_mul(INT64_MAX / 2, -3) == INT64_MIN);
	CHECK(value_mul(-4, 10000000) == -40000000);
}

/* Two services of known contents merge: interned once, values added. */
static void test_merge_known(void)
{
	struct svcdata *a = sample_service("svc", 1), *b = sample_service("svc", 10), *m;

	CHECK_EQ_U64(a->nodes.len,
		     4); /* root + 3: the shorter stack shares the longer one's nodes */
	CHECK_EQ_U64(a->locations.len, 4);
	CHECK_EQ_U64(a->series.len, 3);
	CHECK_STR(svcdata__label(a, 1, "thread.name"), "main");
	CHECK(svcdata__label(a, 1, "nope") == NULL);
	/* merging interns: equal entries stay one */
	m = svcdata__new("svc");
	CHECK(svcdata__merge(m, a, NULL, NULL) == 0);
	CHECK(svcdata__merge(m, b, NULL, NULL) == 0);
	CHECK_EQ_U64(m->nodes.len, 4);
	CHECK_EQ_U64(m->locations.len, 4);
	CHECK_EQ_U64(m->series.len, 3);
	CHECK_EQ_U64(m->rows.len, 8);
	CHECK_EQ_U64(m->profiles, 4);
	/* rows in the same ms, series and stack add up */
	CHECK_EQ_U64(svcdata__sort_rows(m, 1000000), 3 * 2 - 3);
	{
		int64_t total = 0;

		for (size_t i = 0; i < m->rows.len; i++)
			total += m->rows.v[i].value;
		CHECK_EQ_U64(total, 15 + 150);
	}
	CHECK_EQ_U64(value_add(INT64_MAX, 5), INT64_MAX);
	/* value x period saturates too (a sum of requests each within bounds can pass int64) */
	CHECK_EQ_U64(value_mul(INT64_MAX / 2, 3), INT64_MAX);
	CHECK(value_mul(-(INT64_MAX / 2), 3) == INT64_MIN);
	CHECK_EQ_U64(value_mul(7, 10000000), 70000000);
	svcdata__free(a);
	svcdata__free(b);
	svcdata__free(m);
}

int main(void)
{
	RUN(test_merge_known);
	RUN(test_interning);
	RUN(test_merge_and_sort);
	RUN(test_saturation);
	return unit_done();
}
