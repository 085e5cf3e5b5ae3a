// SPDX-License-Identifier: Apache-2.0
/*
 * sonde inspect on stores whose blocks contradict each other or themselves, built block by
 * block here: it exits 3 and names the block and what is wrong; on a consistent store of
 * merged blocks it exits 0. Runs the built `sonde` ($BUILD/sonde).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/reader.h"

#define SEC NSEC_PER_SEC

static struct svcdata *rows(const char *fn, uint64_t t, int64_t v, uint64_t profiles)
{
	const char *const frames[] = {"main", fn};
	struct svcdata *sd = svcdata__new("a");

	CHECK(svcdata__row(sd, fixture_series(sd, "a", "p1"), fixture_stack(sd, frames, 2), t, v) ==
	      0);
	sd->profiles = profiles;
	return sd;
}

/* Puts a block of one row; its id into id (may be NULL). */
static void put(struct objstore *s, const char *fn, uint64_t t, int64_t v, uint64_t profiles,
		uint32_t level, const char *const *sources, size_t n, char *id)
{
	struct svcdata *sd = rows(fn, t, v, profiles);
	char key[OBJSTORE_MAX_KEY], tenant[80];
	uint64_t lo, hi;
	uint32_t l;

	CHECK(fixture_put_block(s, "t", &sd, 1, level, sources, n, key) == 0);
	if (id)
		CHECK(block_key_parse(key, tenant, sizeof(tenant), &lo, &hi, &l, id));
	svcdata__free(sd);
}

/* Runs sonde inspect on dir: its exit code, and its output (both streams) in out. */
static int inspect(const char *dir, struct buf *out)
{
	char cmd[512], line[1024];
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	FILE *p;
	int st;

	buf_reset(out);
	snprintf(cmd, sizeof(cmd), "%s/sonde inspect %s 2>&1", build, dir);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		buf_puts(out, line);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(const char *dir, int code, const char *a, const char *b)
{
	struct buf out = {0};
	int rc = inspect(dir, &out);

	CHECK_EQ_U64(rc, code);
	if (a)
		CHECK(strstr(buf_cstr(&out), a) != NULL);
	if (b)
		CHECK(strstr(buf_cstr(&out), b) != NULL);
	if (rc != code || (a && !strstr(buf_cstr(&out), a)) || (b && !strstr(buf_cstr(&out), b)))
		fprintf(stderr, "  inspect said:\n%s", buf_cstr(&out));
	buf_free(&out);
}

/* Level-1 blocks over level-0 ones, a level 2 over those, sums right: consistent. */
static void test_consistent(void)
{
	struct fixture_store f;
	char a[BLOCK_ID_MAX], b[BLOCK_ID_MAX], m[BLOCK_ID_MAX], m2[BLOCK_ID_MAX];
	const char *s1[] = {a, b}, *s2[] = {m, m2};

	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, 1, 1, 0, NULL, 0, a);
	put(f.store, "y", T0 + SEC, 2, 1, 0, NULL, 0, b);
	put(f.store, "x", T0, 3, 2, 1, s1, 2, m);
	put(f.store, "z", T0 + 700 * SEC, 5, 4, 1, NULL, 0, m2);
	put(f.store, "x", T0, 8, 6, 2, s2, 2, NULL);
	expect(f.dir, 0, "read and checked, and consistent", NULL);
	fixture_store_close(&f);
}

/*
 * An output overlapping the counted one in part, naming a block no longer stored: its samples
 * are counted by no block.
 */
static void test_lost(void)
{
	struct fixture_store f;
	char a[BLOCK_ID_MAX], b[BLOCK_ID_MAX], key[OBJSTORE_MAX_KEY];
	const char *s1[] = {a, b}, *s2[] = {b, "0000000000000-0000000000000-L0-00000000000000d0"};
	block_refs refs = {0};

	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, 1, 1, 0, NULL, 0, a);
	put(f.store, "y", T0 + SEC, 2, 1, 0, NULL, 0, b);
	put(f.store, "x", T0, 3, 2, 1, s1, 2, NULL);
	put(f.store, "w", T0 + SEC, 6, 2, 1, s2, 2, NULL);
	CHECK(reader_list(f.store, "t", &refs) == 0);
	key[0] = 0;
	for (size_t i = 0; i < refs.len; i++)
		if (refs.v[i].level == 1 && refs.v[i].size && strstr(refs.v[i].key, "-L1-") &&
		    !key[0]) {
			struct block_info bi = {0};
			char err[128];

			CHECK(reader_footer(f.store, &refs.v[i], &bi, err, sizeof(err)) == 0);
			if (bi.nsources == 2 && strcmp(bi.sources[1], s2[1]) == 0)
				str_copy(key, refs.v[i].key, sizeof(key));
			block_info_free(&bi);
		}
	VEC_FREE(&refs);
	CHECK(key[0] != 0);
	expect(f.dir, 3, key, "no counted block holds");
	fixture_store_close(&f);
}

/* Counts that do not add up: a level 2 claiming two level-1 blocks holds only one's samples. */
static void test_sums(void)
{
	struct fixture_store f;
	char a[BLOCK_ID_MAX], b[BLOCK_ID_MAX];
	const char *s[] = {a, b};

	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, 1, 1, 1, NULL, 0, a);
	put(f.store, "y", T0 + 700 * SEC, 2, 1, 1, NULL, 0, b);
	put(f.store, "x", T0, 1, 1, 2, s, 2, NULL);
	expect(f.dir, 3, "its sources add up to 2 and 3", "-L2-");
	fixture_store_close(&f);
}

/* Levels that cannot occur, a level-1 block spanning a day, a block replacing a higher one. */
static void test_levels(void)
{
	struct fixture_store f;
	char h[BLOCK_ID_MAX];
	const char *s[] = {h};

	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, 1, 1, 7, NULL, 0, NULL);
	expect(f.dir, 3, "level 7 cannot occur", "-L7-");
	fixture_store_close(&f);
	if (!fixture_store_open(&f))
		return;
	{
		struct svcdata *sd = rows("x", T0, 1, 1);

		CHECK(svcdata__row(sd, 1, 1, T0 + 86400 * SEC, 1) == 0);
		CHECK(fixture_put_block(f.store, "t", &sd, 1, 1, NULL, 0, NULL) == 0);
		svcdata__free(sd);
	}
	expect(f.dir, 3, "more than a level-1 window allows", "-L1-");
	fixture_store_close(&f);
	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, 1, 1, 2, NULL, 0, h);
	put(f.store, "x", T0, 1, 1, 1, s, 1, NULL);
	expect(f.dir, 3, "of a higher level", NULL);
	fixture_store_close(&f);
	/* a total at the end of int64: samples counted over and over */
	if (!fixture_store_open(&f))
		return;
	put(f.store, "x", T0, INT64_MAX, 1, 0, NULL, 0, NULL);
	expect(f.dir, 3, "saturated", NULL);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_consistent);
	RUN(test_lost);
	RUN(test_sums);
	RUN(test_levels);
	return unit_done();
}
