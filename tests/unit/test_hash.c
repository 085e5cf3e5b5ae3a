// SPDX-License-Identifier: Apache-2.0
/* common/hash.c: the index table and the hash map. */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"
#include "../../common/hash.h"

struct ints {
	uint64_t *v;
	size_t n;
};

static bool int_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct ints *t = ctx;

	return t->v[idx] == *(const uint64_t *)key;
}

static void test_itab(void)
{
	struct itab t = {0};
	struct ints vals = {calloc(10000, sizeof(uint64_t)), 0};

	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t key = i * 977;

		CHECK(itab_find(&t, hash_u64(key), int_eq, &vals, &key) == -1);
		vals.v[vals.n] = key;
		CHECK(itab_add(&t, hash_u64(key), (uint32_t)vals.n) == 0);
		vals.n++;
	}
	for (uint64_t i = 0; i < 10000; i++) {
		uint64_t key = i * 977;

		CHECK_EQ_U64(itab_find(&t, hash_u64(key), int_eq, &vals, &key), i);
	}
	CHECK_EQ_U64(t.len, 10000);
	itab_clear(&t);
	CHECK(itab_find(&t, hash_u64(0), int_eq, &vals, &vals.v[0]) == -1);
	itab_free(&t);
	free(vals.v);
}

static void test_hmap(void)
{
	struct hmap m = {0};
	static int values[5000];
	size_t pos = 0, seen = 0;
	uint64_t k;
	void *v;

	for (int i = 0; i < 5000; i++)
		CHECK(hmap_put(&m, (uint64_t)i * 3 + 1, &values[i]) == 0);
	CHECK_EQ_U64(m.len, 5000);
	for (int i = 0; i < 5000; i += 2)
		CHECK(hmap_del(&m, (uint64_t)i * 3 + 1) == &values[i]);
	CHECK(hmap_del(&m, 2) == NULL);
	for (int i = 0; i < 5000; i++)
		CHECK(hmap_get(&m, (uint64_t)i * 3 + 1) == (i % 2 ? &values[i] : NULL));
	while (hmap_next(&m, &pos, &k, &v)) {
		CHECK(v == &values[(k - 1) / 3]);
		seen++;
	}
	CHECK_EQ_U64(seen, 2500);
	CHECK(hmap_put(&m, 7, NULL) == -EINVAL);
	hmap_free(&m);
}

int main(void)
{
	RUN(test_itab);
	RUN(test_hmap);
	return unit_done();
}
