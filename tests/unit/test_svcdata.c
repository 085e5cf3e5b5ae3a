// SPDX-License-Identifier: Apache-2.0
/* collector/svcdata.c: interning and merging of service data. */

#include "unit.h"
#include "svcdata_fixture.h"

/* A small service: two stacks sharing a caller, two series, rows in two times. */
static void test_svcdata(void)
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
	svcdata__free(a);
	svcdata__free(b);
	svcdata__free(m);
}

int main(void)
{
	RUN(test_svcdata);
	return unit_done();
}
