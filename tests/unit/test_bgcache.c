// SPDX-License-Identifier: Apache-2.0
/* common/bgcache.c: the background-built, byte-bounded cache. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../common/bgcache.h"

struct bg_ctx {
	int builds;
	int frees;
};

/* Builds a value of arg bytes (arg 0 fails), slowly enough that a put can race it. */
static int bg_build(void *ctx, void *arg, void **ret_value, size_t *ret_bytes)
{
	struct bg_ctx *c = ctx;
	size_t n = (size_t)(uintptr_t)arg;

	__atomic_fetch_add(&c->builds, 1, __ATOMIC_RELAXED);
	usleep(2000);
	if (!n)
		return -EINVAL;
	*ret_value = malloc(n);
	*ret_bytes = n;
	return *ret_value ? 0 : -ENOMEM;
}

static void bg_free(void *ctx, void *value)
{
	((struct bg_ctx *)ctx)->frees++;
	free(value);
}

static void test_bgcache(void)
{
	struct bg_ctx ctx = {0};
	struct bgcache_opts o = {
		.max_bytes = 250, .build = bg_build, .free_value = bg_free, .ctx = &ctx};
	struct bgcache *c = bgcache__new(&o);
	struct bgcache_entry *a, *b, *lazy, *bad, *gone;
	struct bgcache_stats st;
	enum bgcache_state state;

	REQUIRE(c != NULL);
	a = bgcache__add(c, 1, (void *)100, false);
	b = bgcache__add(c, 2, (void *)100, false);
	lazy = bgcache__add(c, 3, (void *)100, true);
	bad = bgcache__add(c, 4, (void *)0, false);
	CHECK(bgcache__find(c, 1) == a);
	bgcache__put(c, a); /* the find's reference */
	CHECK(bgcache__find(c, 99) == NULL);
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(ctx.builds == 3); /* not the lazy one */
	CHECK(bgcache__value(c, bad, &state) == NULL && state == BGCACHE_FAILED);
	CHECK(bgcache_entry__error(bad) == -EINVAL);
	CHECK(bgcache__value(c, a, &state) != NULL && state == BGCACHE_READY);
	/* the lazy entry builds when first asked for; 300 bytes in a budget of 250: b goes */
	CHECK(bgcache__value(c, lazy, &state) == NULL && state == BGCACHE_QUEUED);
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(bgcache__value(c, lazy, &state) != NULL);
	bgcache__stats(c, &st);
	CHECK_EQ_U64(st.evictions, 1);
	/* b was the least recently used; asking for it queues its rebuild */
	CHECK(bgcache__value(c, b, &state) == NULL && state == BGCACHE_QUEUED);
	CHECK(st.bytes <= 250);
	/* an evicted entry asked for was queued: it comes back */
	CHECK(bgcache__wait(c, 5000) == 0);
	CHECK(bgcache__value(c, b, &state) != NULL);
	/* the last reference dropped while building: freed when the build returns */
	gone = bgcache__add(c, 5, (void *)10, false);
	bgcache__put(c, gone);
	CHECK(bgcache__wait(c, 5000) == 0);
	bgcache__stats(c, &st);
	CHECK_EQ_U64(st.entries, 4);
	bgcache__free(c);
	/* every built value freed exactly once: 100 x 4 builds of a, b (twice), lazy; 10 */
	CHECK(ctx.frees == ctx.builds - 1); /* the failed build made nothing */
}

int main(void)
{
	RUN(test_bgcache);
	return unit_done();
}
