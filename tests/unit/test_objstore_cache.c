// SPDX-License-Identifier: Apache-2.0
/*
 * collector/objstore_cache: hits and misses by (key, offset, length), least recently used out
 * first within the byte budget, the per-entry bound, dropping a key, and use from many threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../collector/objstore_cache.h"
#include "../../common/util.h"

static bool has(struct objcache *c, const char *key, uint64_t off, uint64_t len)
{
	struct buf b = {0};
	bool hit = objcache__get(c, key, off, len, &b);

	buf_free(&b);
	return hit;
}

static void test_hits(void)
{
	struct objcache *c = objcache__new(1 << 20);
	struct buf b = {0};

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK(!objcache__get(c, "k", 0, 5, &b));
	CHECK_EQ_U64(objcache__bytes(c), 0);
	objcache__put(c, "k", 10, (const uint8_t *)"hello", 5);
	CHECK(objcache__bytes(c) >= 5);
	/* appended to what out holds */
	buf_puts(&b, ">");
	CHECK(objcache__get(c, "k", 10, 5, &b));
	CHECK_STR(buf_cstr(&b), ">hello");
	/* another offset, length or key is another entry */
	CHECK(!has(c, "k", 11, 5) && !has(c, "k", 10, 4) && !has(c, "k2", 10, 5));
	/* the same range again replaces, and costs nothing more */
	{
		uint64_t before = objcache__bytes(c);

		objcache__put(c, "k", 10, (const uint8_t *)"HELLO", 5);
		CHECK_EQ_U64(objcache__bytes(c), before);
		buf_reset(&b);
		CHECK(objcache__get(c, "k", 10, 5, &b));
		CHECK_STR(buf_cstr(&b), "HELLO");
	}
	/* an empty range is an entry too */
	objcache__put(c, "k", 15, (const uint8_t *)"", 0);
	CHECK(has(c, "k", 15, 0));
	/* dropping a key drops all its ranges, and only its */
	objcache__put(c, "other", 0, (const uint8_t *)"x", 1);
	objcache__drop_key(c, "k");
	CHECK(!has(c, "k", 10, 5) && !has(c, "k", 15, 0));
	CHECK(has(c, "other", 0, 1));
	objcache__drop_key(c, "other");
	CHECK_EQ_U64(objcache__bytes(c), 0);
	buf_free(&b);
	objcache__free(c);
	objcache__free(NULL);
}

/* Entries of 1000 bytes in a budget of 4400: four fit (with their overhead), not five. */
static void test_lru(void)
{
	struct objcache *c = objcache__new(4400);
	uint8_t data[1000];
	char key[8];

	if (!c)
		return;
	memset(data, 'x', sizeof(data));
	/* over a quarter of the budget: not kept, nothing evicted for it */
	objcache__put(c, "big", 0, data, 1100);
	CHECK(!has(c, "big", 0, 1100));
	CHECK_EQ_U64(objcache__bytes(c), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		objcache__put(c, key, 0, data, 1000);
	}
	CHECK(has(c, "k0", 0, 1000) && has(c, "k1", 0, 1000) && has(c, "k2", 0, 1000) &&
	      has(c, "k3", 0, 1000));
	CHECK(objcache__bytes(c) <= 4400 && objcache__bytes(c) >= 4000);
	/* k0 was read first, so k1 is now the least recently used: the fifth entry evicts it */
	CHECK(has(c, "k0", 0, 1000));
	objcache__put(c, "k4", 0, data, 1000);
	CHECK(!has(c, "k1", 0, 1000));
	CHECK(has(c, "k0", 0, 1000) && has(c, "k2", 0, 1000) && has(c, "k3", 0, 1000) &&
	      has(c, "k4", 0, 1000));
	CHECK(objcache__bytes(c) <= 4400);
	objcache__free(c);
}

struct worker {
	struct objcache *c;
	int id;
	int wrong;
};

/* Each thread puts and reads its own ranges and the shared ones: a hit is always right. */
static void *work(void *arg)
{
	struct worker *w = arg;
	struct buf b = {0};

	for (int i = 0; i < 2000; i++) {
		char key[32], want[32];
		int k = (i * 7 + w->id) % 64;

		snprintf(key, sizeof(key), "key%d", k);
		snprintf(want, sizeof(want), "value of %d", k);
		buf_reset(&b);
		if (objcache__get(w->c, key, (uint64_t)k, strlen(want), &b)) {
			if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0)
				w->wrong++;
		} else {
			objcache__put(w->c, key, (uint64_t)k, (const uint8_t *)want, strlen(want));
		}
		if (i % 97 == 0)
			objcache__drop_key(w->c, key);
	}
	buf_free(&b);
	return NULL;
}

static void test_threads(void)
{
	struct objcache *c = objcache__new(2000); /* small: evictions all the time */
	struct worker w[4];
	pthread_t t[4];

	if (!c)
		return;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){c, i, 0};
		CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ_U64(w[i].wrong, 0);
	}
	CHECK(objcache__bytes(c) <= 2000);
	objcache__free(c);
}

int main(void)
{
	RUN(test_hits);
	RUN(test_lru);
	RUN(test_threads);
	return unit_done();
}
