// SPDX-License-Identifier: Apache-2.0
/*
 * collector/reader: listing a tenant's blocks and the tenants, footers (one larger than the
 * first read), services decoded by sections, and the visible set hiding what a compaction
 * replaced, on real blocks in a directory store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/reader.h"

#define SEC NSEC_PER_SEC

/* Goes on only with n refs: later checks index them. */
#define REQUIRE_REFS(refs, n)                  \
	do {                                   \
		CHECK_EQ_U64((refs).len, (n)); \
		if ((refs).len != (n))         \
			goto out;              \
	} while (0)

/* The id of the block stored under key. */
static void key_id(const char *key, char *id)
{
	char tenant[80];
	uint64_t lo, hi;
	uint32_t level;

	id[0] = 0;
	CHECK(block_key_parse(key, tenant, sizeof(tenant), &lo, &hi, &level, id));
}

/* The keys of refs as "key," each. */
static const char *keys_of(const block_refs *refs, struct buf *b)
{
	buf_reset(b);
	for (size_t i = 0; i < refs->len; i++)
		buf_printf(b, "%s,", refs->v[i].key);
	return buf_cstr(b);
}

static void test_list(void)
{
	struct fixture_store f;
	struct svcdata *api, *db;
	char k1[OBJSTORE_MAX_KEY], k2[OBJSTORE_MAX_KEY], name[80];
	struct name_list tenants = {0};
	block_refs refs = {0};
	uint64_t size = 0;

	if (!fixture_store_open(&f))
		return;
	fixture_services(&api, &db);
	CHECK(fixture_put_block(f.store, "t", &db, 1, 0, NULL, 0, k2) == 0);
	CHECK(fixture_put_block(f.store, "t", &api, 1, 2, NULL, 0, k1) == 0);
	CHECK(fixture_put_block(f.store, "u", &db, 1, 0, NULL, 0, NULL) == 0);
	/* what is not a block, or not a tenant, is left out */
	CHECK(objstore__put(f.store, "t/blocks/notes.txt", "x", 1) == 0);
	CHECK(objstore__put(f.store, "t/other/x.block", "x", 1) == 0);
	memset(name, 'n', 70);
	strcpy(name + 70, "/blocks/x");
	CHECK(objstore__put(f.store, name, "x", 1) == 0);

	CHECK(reader_list(f.store, "t", &refs) == 0);
	CHECK_EQ_U64(refs.len, 2);
	if (refs.len == 2) {
		/* key order: api's block starts at T0, db's a second later */
		CHECK_STR(refs.v[0].key, k1);
		CHECK_STR(refs.v[1].key, k2);
		CHECK_EQ_U64(refs.v[0].min_ms, T0 / 1000000);
		CHECK_EQ_U64(refs.v[0].max_ms, (T0 + 2 * SEC) / 1000000);
		CHECK_EQ_U64(refs.v[0].level, 2);
		CHECK_EQ_U64(refs.v[1].level, 0);
		CHECK(strstr(k1, refs.v[0].id) != NULL && strlen(refs.v[0].id) > 16);
		CHECK(refs.v[0].size > BLOCK_HEADER_SIZE);
		size = refs.v[0].size;
	}
	VEC_FREE(&refs);
	{
		struct buf b = {0};

		CHECK(objstore__get(f.store, k1, 0, UINT64_MAX, &b) == 0);
		CHECK_EQ_U64(b.len, size);
		buf_free(&b);
	}
	CHECK(reader_list(f.store, "nobody", &refs) == 0);
	CHECK_EQ_U64(refs.len, 0);
	CHECK(reader_list(f.store, "..", &refs) == -EINVAL);
	CHECK(reader_list(f.store, "a/b", &refs) == -EINVAL);

	CHECK(reader_tenants(f.store, name_list_add, &tenants) == 0);
	CHECK_EQ_U64(tenants.v.len, 2);
	if (tenants.v.len == 2) {
		CHECK_STR(tenants.v.v[0], "t");
		CHECK_STR(tenants.v.v[1], "u");
	}
	name_list_free(&tenants);
	svcdata__free(api);
	svcdata__free(db);
	fixture_store_close(&f);
}

/* A footer bigger than the first read from the end, a truncated block, a missing one. */
static void test_footer(void)
{
	enum { NSOURCES = 2000 };
	struct fixture_store f;
	struct svcdata *api, *db;
	static char ids[NSOURCES][BLOCK_ID_MAX];
	const char *sources[NSOURCES];
	char key[OBJSTORE_MAX_KEY], err[512];
	block_refs refs = {0};
	struct block_info bi = {0};
	struct buf b = {0};

	if (!fixture_store_open(&f))
		return;
	fixture_services(&api, &db);
	for (int i = 0; i < NSOURCES; i++) {
		snprintf(ids[i], sizeof(ids[i]), "0000000000001-0000000000002-L0-%016x", i);
		sources[i] = ids[i];
	}
	CHECK(fixture_put_block(f.store, "t", &api, 1, 1, sources, NSOURCES, key) == 0);
	CHECK(reader_list(f.store, "t", &refs) == 0);
	REQUIRE_REFS(refs, 1);
	/* 2000 ids of 47 bytes in the footer: over the 64 KiB read first, so it is read again */
	CHECK(refs.v[0].size > NSOURCES * 47 && NSOURCES * 47 > 64 * 1024);
	CHECK(reader_footer(f.store, &refs.v[0], &bi, err, sizeof(err)) == 0);
	CHECK_EQ_U64(bi.nsources, NSOURCES);
	CHECK(bi.nsources == NSOURCES && strcmp(bi.sources[NSOURCES - 1], ids[NSOURCES - 1]) == 0);
	CHECK_EQ_U64(bi.nservices, 1);
	CHECK_STR(bi.tenant, "t");
	CHECK(bi.size == refs.v[0].size);
	block_info_free(&bi);

	/* the first half of it, under its own block key: corrupt, and the key says which */
	CHECK(objstore__get(f.store, key, 0, UINT64_MAX, &b) == 0);
	CHECK(objstore__put(f.store, key, b.data, b.len / 2) == 0);
	VEC_FREE(&refs);
	CHECK(reader_list(f.store, "t", &refs) == 0);
	REQUIRE_REFS(refs, 1);
	memset(&bi, 0, sizeof(bi));
	CHECK(reader_footer(f.store, &refs.v[0], &bi, err, sizeof(err)) == -EBADMSG);
	CHECK(strstr(err, key) != NULL);
	/* shorter than a header and a trailer */
	CHECK(objstore__put(f.store, key, b.data, 10) == 0);
	refs.v[0].size = 10;
	CHECK(reader_footer(f.store, &refs.v[0], &bi, err, sizeof(err)) == -EBADMSG);
	CHECK(strstr(err, "too short") != NULL);
	/* deleted since the listing */
	CHECK(objstore__delete(f.store, key) == 0);
	refs.v[0].size = b.len;
	CHECK(reader_footer(f.store, &refs.v[0], &bi, err, sizeof(err)) == -ENOENT);
out:
	VEC_FREE(&refs);
	buf_free(&b);
	svcdata__free(api);
	svcdata__free(db);
	fixture_store_close(&f);
}

/* A service decoded whole, or its labels and values only, from the block's bytes. */
static void test_service(void)
{
	struct fixture_store f;
	struct svcdata *svcs[2], *sd;
	block_refs refs = {0};
	struct block_info bi = {0};
	char err[512];
	int e = 0, idx;

	if (!fixture_store_open(&f))
		return;
	fixture_services(&svcs[0], &svcs[1]);
	CHECK(fixture_put_block(f.store, "t", svcs, 2, 0, NULL, 0, NULL) == 0);
	CHECK(reader_list(f.store, "t", &refs) == 0);
	REQUIRE_REFS(refs, 1);
	CHECK(reader_footer(f.store, &refs.v[0], &bi, err, sizeof(err)) == 0);
	idx = block_find_service(&bi, "db");
	CHECK(idx == 1);
	sd = reader_service(f.store, &refs.v[0], &bi, (size_t)idx, SECS_ALL, &e, err, sizeof(err));
	CHECK(sd != NULL);
	if (sd) {
		CHECK_STR(sd->name, "db");
		CHECK_EQ_U64(fixture_total(sd), 40);
		CHECK_EQ_U64(sd->rows.len, 1);
		CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "k8s.pod.name"), "p2");
		CHECK(sd->nodes.len > 1);
	}
	svcdata__free(sd);
	/* values without stacks: the rows are there, the stack tables are not read */
	sd = reader_service(f.store, &refs.v[0], &bi, 0,
			    (1u << SEC_STRINGS) | (1u << SEC_SERIES) | (1u << SEC_COL_SERIES) |
				    (1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE),
			    &e, err, sizeof(err));
	CHECK(sd != NULL);
	if (sd) {
		CHECK_STR(sd->name, "api");
		CHECK_EQ_U64(fixture_total(sd), 120);
		CHECK(sd->locations.len <= 1);
	}
	svcdata__free(sd);
	block_info_free(&bi);
out:
	VEC_FREE(&refs);
	svcdata__free(svcs[0]);
	svcdata__free(svcs[1]);
	fixture_store_close(&f);
}

/* A merged block hides its sources in every range it covers; other blocks by time only. */
static void test_visible(void)
{
	struct fixture_store f;
	struct svcdata *api, *db, *late = svcdata__new("late");
	static const char *const frames[] = {"main", "x"};
	char ka[OBJSTORE_MAX_KEY], kb[OBJSTORE_MAX_KEY], kc[OBJSTORE_MAX_KEY], kl[OBJSTORE_MAX_KEY],
		ida[BLOCK_ID_MAX], idb[BLOCK_ID_MAX], err[512];
	const char *sources[3];
	block_refs refs = {0};
	struct buf b = {0};
	uint64_t t0 = T0 / 1000000, hour = 3600 * 1000;

	if (!fixture_store_open(&f))
		return;
	fixture_services(&api, &db);
	CHECK(svcdata__row(late, fixture_series(late, "late", "p9"), fixture_stack(late, frames, 2),
			   T0 + 3600 * SEC, 1) == 0);
	CHECK(fixture_put_block(f.store, "t", &api, 1, 0, NULL, 0, ka) == 0);
	CHECK(fixture_put_block(f.store, "t", &db, 1, 0, NULL, 0, kb) == 0);
	CHECK(fixture_put_block(f.store, "t", &late, 1, 0, NULL, 0, kl) == 0);
	key_id(ka, ida);
	key_id(kb, idb);
	sources[0] = ida;
	sources[1] = idb;
	sources[2] = "0000000000001-0000000000002-L0-00000000deadbeef"; /* deleted already */
	/* before the merge: both inputs */
	CHECK(reader_visible(f.store, "t", t0, t0 + 10000, &refs, err, sizeof(err)) == 0);
	{
		char want[3 * OBJSTORE_MAX_KEY];

		snprintf(want, sizeof(want), "%s,%s,", ka, kb);
		CHECK_STR(keys_of(&refs, &b), want);
	}
	VEC_FREE(&refs);
	{
		struct svcdata *both[2] = {api, db};

		CHECK(fixture_put_block(f.store, "t", both, 2, 1, sources, 3, kc) == 0);
	}
	/* after: the merged block only, though the inputs are still stored */
	CHECK(reader_visible(f.store, "t", t0, t0 + 10000, &refs, err, sizeof(err)) == 0);
	CHECK_EQ_U64(refs.len, 1);
	CHECK(refs.len == 1 && strcmp(refs.v[0].key, kc) == 0);
	VEC_FREE(&refs);
	/* a range that only touches an input's end still sees the merged block, not the input */
	CHECK(reader_visible(f.store, "t", t0 + 1000, t0 + 1000, &refs, err, sizeof(err)) == 0);
	CHECK(refs.len == 1 && strcmp(refs.v[0].key, kc) == 0);
	VEC_FREE(&refs);
	/* the hour after: the late block only; the whole span: merged and late */
	CHECK(reader_visible(f.store, "t", t0 + hour, t0 + hour + 1, &refs, err, sizeof(err)) == 0);
	CHECK(refs.len == 1 && strcmp(refs.v[0].key, kl) == 0);
	VEC_FREE(&refs);
	CHECK(reader_visible(f.store, "t", 0, UINT64_MAX / 2, &refs, err, sizeof(err)) == 0);
	CHECK_EQ_U64(refs.len, 2);
	VEC_FREE(&refs);
	/* nothing in between */
	CHECK(reader_visible(f.store, "t", t0 + 10000, t0 + hour - 1, &refs, err, sizeof(err)) ==
	      0);
	CHECK_EQ_U64(refs.len, 0);
	/* a merged block that cannot be read is an error: it may hide inputs */
	CHECK(objstore__put(f.store, kc, "SONDEBLK but not a block at all", 31) == 0);
	CHECK(reader_visible(f.store, "t", t0, t0 + 10000, &refs, err, sizeof(err)) == -EBADMSG);
	CHECK(strstr(err, kc) != NULL);
	VEC_FREE(&refs);
	CHECK(reader_visible(f.store, "../x", t0, t0 + 10000, &refs, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "invalid tenant") != NULL);
	VEC_FREE(&refs);
	buf_free(&b);
	svcdata__free(api);
	svcdata__free(db);
	svcdata__free(late);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_list);
	RUN(test_footer);
	RUN(test_service);
	RUN(test_visible);
	return unit_done();
}
