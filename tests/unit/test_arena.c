// SPDX-License-Identifier: Apache-2.0
/* common/arena.c: zeroed, aligned, bounded allocations freed at once. */
#include <stdint.h>

#include "unit.h"
#include "../../common/arena.h"

static void test_alloc(void)
{
	struct arena a = {0};
	char *prev = NULL;
	bool zero = true, aligned = true, distinct = true;

	for (size_t n = 1; n < 5000; n += 7) {
		char *p = arena_alloc(&a, n);

		REQUIRE(p != NULL);
		for (size_t i = 0; i < n; i++)
			zero &= p[i] == 0;
		aligned &= ((uintptr_t)p & 15) == 0;
		distinct &= p != prev;
		memset(p, 0xab, n); /* the next allocation must not overlap (ASan would see it) */
		prev = p;
	}
	CHECK(zero);
	CHECK(aligned);
	CHECK(distinct);
	CHECK(a.bytes >= 5000 / 7 * 2500);
	/* a large allocation gets a chunk of its own */
	CHECK(arena_alloc(&a, 10 << 20) != NULL);
	CHECK_STR(arena_strdup(&a, "hello"), "hello");
	CHECK(arena_calloc(&a, SIZE_MAX / 2, 4) == NULL); /* the multiplication overflows */
	{
		uint64_t *v = arena_calloc(&a, 100, sizeof(uint64_t));
		uint64_t sum = 0;

		REQUIRE(v != NULL);
		for (int i = 0; i < 100; i++)
			sum += v[i];
		CHECK_EQ_U64(sum, 0);
	}
	arena_free(&a);
	CHECK(a.head == NULL && a.bytes == 0);
	arena_free(&a); /* twice, and on an empty arena: harmless */
}

static void test_limit(void)
{
	struct arena a = {.limit = 4096};
	size_t got = 0;

	while (arena_alloc(&a, 100))
		got += 100;
	CHECK(got > 0 && got <= 4096);
	CHECK(a.bytes <= 4096);
	CHECK(arena_alloc(&a, 1 << 20) == NULL);
	CHECK(arena_strdup(&a, "x") == NULL || a.bytes <= 4096);
	arena_free(&a);
}

int main(void)
{
	RUN(test_alloc);
	RUN(test_limit);
	return unit_done();
}
