// SPDX-License-Identifier: Apache-2.0
/*
 * collector/compactor on real blocks in a directory store: merging overlapping blocks keeps
 * every sample (the same flame graph and series before and after), windows are merged apart,
 * an open window waits for its level-0 threshold, the input bound, a crash between storing a
 * merged block and deleting its inputs, and the background thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/compactor.h"
#include "../../collector/flamegraph.h"
#include "../../collector/reader.h"
#include "../../collector/retention.h"
#include "../../collector/view.h"

#define SEC NSEC_PER_SEC

/*
 * What a query sees of tenant "t": the flame graph of everything and the totals per service
 * and second, as text, so that two states compare with one string comparison.
 */
static void snapshot(struct objstore *s, struct buf *out)
{
	struct selector all = {0};
	struct engine_query q = {.tenant = "t", .sel = &all, .to_ns = UINT64_MAX / 2};
	struct selection sel = {0};
	struct fgraph g = {0};
	char err[256];
	uint64_t lo = UINT64_MAX, hi = 0;

	buf_reset(out);
	CHECK(engine_select(s, &q, NEED_STACKS, 1000000, &sel, err, sizeof(err)) == 0);
	CHECK(fgraph_add_selection(&g, &sel, 0) == 0);
	CHECK(fgraph_tsv(&g, 100000, false, out) == 0);
	for (size_t i = 0; i < sel.svc.len; i++) {
		lo = MIN(lo, sel.svc.v[i]->min_time_ns);
		hi = MAX(hi, sel.svc.v[i]->max_time_ns);
	}
	/* by the second, or coarser when the blocks span years (at most about 1000 steps) */
	if (sel.svc.len)
		CHECK(engine_series(&sel, "service_name", lo / SEC * SEC, hi,
				    MAX(SEC, (hi - lo) / 1000 / SEC * SEC), 1000000, true,
				    out) == 0);
	fgraph_free(&g);
	selection_free(&sel);
}

static size_t count_blocks(struct objstore *s, uint32_t level)
{
	block_refs refs = {0};
	size_t n = 0;

	CHECK(reader_list(s, "t", &refs) == 0);
	for (size_t i = 0; i < refs.len; i++)
		n += refs.v[i].level == level;
	VEC_FREE(&refs);
	return n;
}

static size_t count_tenant(struct objstore *s, const char *tenant)
{
	block_refs refs = {0};
	size_t n;

	CHECK(reader_list(s, tenant, &refs) == 0);
	n = refs.len;
	VEC_FREE(&refs);
	return n;
}

/* A service of one row at t of value v, stack main;fn. */
static struct svcdata *one_row(const char *service, const char *fn, uint64_t t, int64_t v)
{
	const char *const frames[] = {"main", fn};
	struct svcdata *sd = svcdata__new(service);

	CHECK(svcdata__row(sd, fixture_series(sd, service, "p1"), fixture_stack(sd, frames, 2), t,
			   v) == 0);
	sd->profiles = 1;
	return sd;
}

/*
 * Three overlapping level-0 blocks of one window, two of them with the same rows: one level-1
 * block replaces them and reads back the same, sample for sample.
 */
static void test_merge_keeps_samples(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct svcdata *api, *db, *both[2], *extra = one_row("api", "z", T0 + 1500000000, 9);
	struct buf before = {0}, after = {0};

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	fixture_services(&api, &db);
	both[0] = api;
	both[1] = db;
	CHECK(fixture_put_block(f.store, "t", both, 2, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &api, 1, 0, NULL, 0, NULL) == 0); /* same again */
	CHECK(fixture_put_block(f.store, "t", &extra, 1, 0, NULL, 0, NULL) == 0);
	snapshot(f.store, &before);
	CHECK(strstr(buf_cstr(&before), "0\ttotal\t289\t0\n") != NULL); /* 160 + 120 + 9 */
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	CHECK_EQ_U64(st.compactions, 1);
	CHECK_EQ_U64(st.blocks_in, 3);
	CHECK_EQ_U64(st.deleted, 3);
	CHECK(st.bytes_in > 0 && st.bytes_out > 0);
	CHECK_EQ_U64(count_blocks(f.store, 0), 0);
	CHECK_EQ_U64(count_blocks(f.store, 1), 1);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before));
	/* a second pass has nothing to do */
	memset(&st, 0, sizeof(st));
	CHECK(compactor_pass(&o, NULL, true, &st) == 0);
	CHECK_EQ_U64(st.compactions + st.deleted, 0);
	CHECK_EQ_U64(st.passes, 1);
	svcdata__free(api);
	svcdata__free(db);
	svcdata__free(extra);
	buf_free(&before);
	buf_free(&after);
	fixture_store_close(&f);
}

/*
 * Windows are merged apart, a window of one block is left alone, an ended window merges
 * without force (levels add up), and an open window waits for l0_threshold level-0 blocks.
 */
static void test_windows(void)
{
	struct fixture_store f;
	struct compactor_opts o = {.levels = {{600 * SEC, 0}}, .nlevels = 1, .l0_threshold = 3};
	struct compactor_stats st = {0};
	uint64_t now = clock_ns(CLOCK_REALTIME) / SEC * SEC;
	struct svcdata *sd[7];
	struct buf before = {0}, after = {0};

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	/* now's window: open for a few minutes more, unless this runs at its very end */
	if (now % (600 * SEC) > 590 * SEC)
		now -= 20 * SEC;
	sd[0] = one_row("a", "x", T0, 1);
	sd[1] = one_row("a", "y", T0 + SEC, 2);
	sd[2] = one_row("a", "x", T0 + 3600 * SEC, 4); /* alone in its window */
	sd[3] = one_row("b", "x", now, 8);
	sd[4] = one_row("b", "y", now, 16);
	sd[5] = one_row("b", "z", now, 32);
	sd[6] = one_row("a", "w", T0 + 2 * SEC, 64);
	for (int i = 0; i < 5; i++)
		CHECK(fixture_put_block(f.store, "t", &sd[i], 1, 0, NULL, 0, NULL) == 0);
	snapshot(f.store, &before);
	/* not forced: T0's window ended long ago and is merged; now's has 2 of 3 level-0 blocks */
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	CHECK_EQ_U64(st.compactions, 1);
	CHECK_EQ_U64(count_blocks(f.store, 1), 1);
	CHECK_EQ_U64(count_blocks(f.store, 0), 3);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before));
	/* the third level-0 block of the open window: merged now */
	CHECK(fixture_put_block(f.store, "t", &sd[5], 1, 0, NULL, 0, NULL) == 0);
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	CHECK_EQ_U64(st.compactions, 2);
	CHECK_EQ_U64(count_blocks(f.store, 1), 2);
	CHECK_EQ_U64(count_blocks(f.store, 0), 1); /* T0 + 1 h, alone */
	/* a late block in T0's window: merged with its level-1 block into a new one, level 1 */
	CHECK(fixture_put_block(f.store, "t", &sd[6], 1, 0, NULL, 0, NULL) == 0);
	snapshot(f.store, &before);
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	CHECK_EQ_U64(st.compactions, 3);
	CHECK_EQ_U64(count_blocks(f.store, 1), 2);
	CHECK_EQ_U64(count_blocks(f.store, 2), 0);
	CHECK_EQ_U64(count_blocks(f.store, 0), 1);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before));
	for (int i = 0; i < 7; i++)
		svcdata__free(sd[i]);
	buf_free(&before);
	buf_free(&after);
	fixture_store_close(&f);
}

/* Rows of service "a" at T0 + 10 s * k, k < n, each its own stack, as one level-0 block each. */
static void put_spread(struct objstore *s, int n, uint64_t step_ns)
{
	for (int i = 0; i < n; i++) {
		char fn[16];
		struct svcdata *sd;

		snprintf(fn, sizeof(fn), "f%d", i % 7);
		sd = one_row(i % 3 ? "a" : "b", fn,
			     T0 / (10 * SEC) * (10 * SEC) + (uint64_t)i * step_ns, 1 + i);
		CHECK(fixture_put_block(s, "t", &sd, 1, 0, NULL, 0, NULL) == 0);
		svcdata__free(sd);
	}
}

/*
 * Levels: 48 level-0 blocks over two days merge into 10-minute blocks, those into hourly ones
 * at 1 s, those into daily ones at 10 s; each level reads back the same flame graph and series
 * (times are multiples of 10 s), and a second pass has nothing to do.
 */
static void test_levels(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct buf before = {0}, after = {0};
	char err[128];

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	CHECK(compactor_parse_levels("10m,1h:1s,1d:10s", &o, err, sizeof(err)) == 0);
	CHECK_EQ_U64(o.nlevels, 3);
	put_spread(f.store, 48, 3600 * SEC); /* one an hour, two days */
	put_spread(f.store, 12, 10 * SEC);   /* twelve in the first 2 minutes */
	snapshot(f.store, &before);
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	CHECK_EQ_U64(count_blocks(f.store, 0), 0);
	CHECK_EQ_U64(count_blocks(f.store, 1), 0);
	CHECK_EQ_U64(count_blocks(f.store, 2), 0);
	CHECK(count_blocks(f.store, 3) >= 2 && count_blocks(f.store, 3) <= 3);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before));
	memset(&st, 0, sizeof(st));
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	CHECK_EQ_U64(st.compactions + st.deleted, 0);
	/* levels that cannot nest are refused, saying why */
	CHECK(compactor_parse_levels("10m,25m", &o, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "multiple") != NULL);
	CHECK(compactor_parse_levels("1h,10m", &o, err, sizeof(err)) == -EINVAL);
	CHECK(compactor_parse_levels("10m:2m", &o, err, sizeof(err)) == -EINVAL);
	CHECK(compactor_parse_levels("", &o, err, sizeof(err)) == -EINVAL);
	buf_free(&before);
	buf_free(&after);
	fixture_store_close(&f);
}

struct racer {
	struct compactor_opts o;
	struct compactor_stats st;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	r->rc = compactor_pass(&r->o, "t", true, &r->st);
	return NULL;
}

/*
 * Two compactors on one store, at once, 30 times over, on fresh level-0 blocks of two
 * 10-minute windows of one hour each round: whatever they race to store, a reader counts every
 * sample once, before the cleanup and after it; and the store settles to one block an hour.
 */
static void test_concurrent(void)
{
	struct fixture_store f;
	struct racer r[2];
	struct buf want = {0}, got = {0};
	char err[128];
	int rounds = 30, bad = 0;

	memset(r, 0, sizeof(r));
	if (!fixture_store_open(&f))
		return;
	for (int k = 0; k < 2; k++) {
		r[k].o.store = f.store;
		CHECK(compactor_parse_levels("10m,1h", &r[k].o, err, sizeof(err)) == 0);
		r[k].o.grace_ns = 60 * SEC; /* nothing is deleted during the race */
	}
	for (int i = 0; i < rounds && !bad; i++) {
		pthread_t t[2];

		put_spread(f.store, 6, 200 * SEC); /* 20 minutes: two windows */
		snapshot(f.store, &want);
		for (int k = 0; k < 2; k++)
			CHECK(pthread_create(&t[k], NULL, race, &r[k]) == 0);
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		snapshot(f.store, &got);
		bad += strcmp(buf_cstr(&got), buf_cstr(&want)) != 0;
		CHECK(r[0].rc == 0 && r[1].rc == 0);
	}
	CHECK_EQ_U64(bad, 0);
	CHECK(r[0].st.compactions + r[1].st.compactions >= (uint64_t)rounds);
	/* the cleanup, with no grace left: one block for the hour, the same samples */
	r[0].o.grace_ns = 0;
	CHECK(compactor_pass(&r[0].o, "t", true, &r[0].st) == 0);
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	CHECK_EQ_U64(count_blocks(f.store, 0) + count_blocks(f.store, 1), 0);
	CHECK_EQ_U64(count_blocks(f.store, 2), 1);
	buf_free(&want);
	buf_free(&got);
	fixture_store_close(&f);
}

/*
 * Outputs that overlap in part, as compactors with different listings write them: a reader
 * takes one and, of the other, the sources it does not share; a higher level over both counts
 * alone; the cleanup deletes the rejected output, then the sources, then what named them.
 */
static void test_partial_overlap(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct svcdata *a = one_row("a", "x", T0, 1), *b = one_row("a", "y", T0 + SEC, 2),
		       *d = one_row("a", "z", T0 + 2 * SEC, 4), *ab = svcdata__new("a"),
		       *bd = svcdata__new("a");
	char ka[OBJSTORE_MAX_KEY], kb[OBJSTORE_MAX_KEY], kd[OBJSTORE_MAX_KEY],
		kab[OBJSTORE_MAX_KEY];
	char ida[BLOCK_ID_MAX], idb[BLOCK_ID_MAX], idd[BLOCK_ID_MAX], idab[BLOCK_ID_MAX],
		tenant[80];
	const char *s1[2] = {ida, idb}, *s2[2] = {idb, idd}, *s3[2] = {idab, idd};
	uint64_t lo, hi;
	uint32_t level;
	struct buf want = {0}, got = {0};

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	o.grace_ns = 0;
	CHECK(fixture_put_block(f.store, "t", &a, 1, 0, NULL, 0, ka) == 0);
	CHECK(fixture_put_block(f.store, "t", &b, 1, 0, NULL, 0, kb) == 0);
	CHECK(fixture_put_block(f.store, "t", &d, 1, 0, NULL, 0, kd) == 0);
	snapshot(f.store, &want);
	CHECK(strstr(buf_cstr(&want), "\ttotal\t7\t") != NULL);
	CHECK(block_key_parse(ka, tenant, sizeof(tenant), &lo, &hi, &level, ida));
	CHECK(block_key_parse(kb, tenant, sizeof(tenant), &lo, &hi, &level, idb));
	CHECK(block_key_parse(kd, tenant, sizeof(tenant), &lo, &hi, &level, idd));
	CHECK(svcdata__merge(ab, a, NULL, NULL) == 0 && svcdata__merge(ab, b, NULL, NULL) == 0);
	CHECK(svcdata__merge(bd, b, NULL, NULL) == 0 && svcdata__merge(bd, d, NULL, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &ab, 1, 1, s1, 2, kab) == 0);
	CHECK(fixture_put_block(f.store, "t", &bd, 1, 1, s2, 2, NULL) == 0);
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want)); /* b once, not twice; d counted */
	/* a higher level over {ab, d}: it alone counts */
	CHECK(block_key_parse(kab, tenant, sizeof(tenant), &lo, &hi, &level, idab));
	{
		struct svcdata *all = svcdata__new("a");

		CHECK(svcdata__merge(all, ab, NULL, NULL) == 0 &&
		      svcdata__merge(all, d, NULL, NULL) == 0);
		CHECK(fixture_put_block(f.store, "t", &all, 1, 2, s3, 2, NULL) == 0);
		svcdata__free(all);
	}
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	/* the cleanup leaves only the level 2 */
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	CHECK_EQ_U64(count_blocks(f.store, 0) + count_blocks(f.store, 1), 0);
	CHECK_EQ_U64(count_blocks(f.store, 2), 1);
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	svcdata__free(a);
	svcdata__free(b);
	svcdata__free(d);
	svcdata__free(ab);
	svcdata__free(bd);
	buf_free(&want);
	buf_free(&got);
	fixture_store_close(&f);
}

/* Stores svcs merged into one block of level naming sources; its id into id. */
static void put_merged(struct objstore *st, struct svcdata **svcs, size_t n, uint32_t level,
		       const char *const *sources, size_t nsources, char *id)
{
	struct svcdata *m = svcdata__new("a");
	char key[OBJSTORE_MAX_KEY], tenant[80];
	uint64_t lo, hi;
	uint32_t l;

	for (size_t k = 0; k < n; k++)
		CHECK(svcdata__merge(m, svcs[k], NULL, NULL) == 0);
	CHECK(fixture_put_block(st, "t", &m, 1, level, sources, nsources, key) == 0);
	CHECK(block_key_parse(key, tenant, sizeof(tenant), &lo, &hi, &l, id));
	svcdata__free(m);
}

/*
 * As three collectors once left a bucket: two level-2 outputs of the same samples, one over
 * a late level-1 merge of its window (3ac7 below) the other over that merge's inputs. The
 * second is rejected, and so is the level 1 it names; the cleanup deletes the rejected level 2
 * before the level 1 it names, even when the level 1's grace ends first (else the level 2
 * would name a block neither stored nor counted, and stay for ever), and the covered ones:
 * one block is left, read exactly the same throughout.
 */
static void test_rejected_chain(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct svcdata *a0 = one_row("a", "p", T0, 1), *c0 = one_row("a", "c", T0 + SEC, 2),
		       *x = one_row("a", "x", T0 + 2 * SEC, 4),
		       *y = one_row("a", "y", T0 + 3 * SEC, 8),
		       *z = one_row("a", "z", T0 + 4 * SEC, 16);
	char ia0[BLOCK_ID_MAX], ic0[BLOCK_ID_MAX], ix[BLOCK_ID_MAX], iy[BLOCK_ID_MAX],
		iz[BLOCK_ID_MAX];
	char ip[BLOCK_ID_MAX], ic[BLOCK_ID_MAX], i3ac7[BLOCK_ID_MAX], i793d[BLOCK_ID_MAX],
		iebb1[BLOCK_ID_MAX];
	struct svcdata *all[] = {c0, a0, x, y, z};
	struct buf want = {0}, got = {0};
	struct store_view v = {0};
	char err[256];

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	put_merged(f.store, &a0, 1, 0, NULL, 0, ia0);
	put_merged(f.store, &c0, 1, 0, NULL, 0, ic0);
	put_merged(f.store, &x, 1, 0, NULL, 0, ix);
	put_merged(f.store, &y, 1, 0, NULL, 0, iy);
	put_merged(f.store, &z, 1, 0, NULL, 0, iz);
	snapshot(f.store, &want);
	{
		const char *sp[] = {ia0}, *sc[] = {ic0}, *s3[] = {ip, ix, iy, iz},
			   *s7[] = {ic, ip, ix, iy, iz}, *se[] = {ic, i3ac7};

		put_merged(f.store, &a0, 1, 1, sp, 1, ip);
		put_merged(f.store, &c0, 1, 1, sc, 1, ic);
		put_merged(f.store, all + 1, 4, 1, s3, 4, i3ac7);
		put_merged(f.store, all, 5, 2, s7, 5, i793d);
		/* created a grace later: it loses the tie, and outlives 3ac7's grace a while */
		usleep(1200 * 1000);
		put_merged(f.store, all, 5, 2, se, 2, iebb1);
	}
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	CHECK(reader_view(f.store, "t", 0, UINT64_MAX, 0, &v, err, sizeof(err)) == 0);
	CHECK_EQ_U64(v.selected, 1);
	CHECK_EQ_U64(v.rejected, 2);
	store_view_free(&v);
	o.grace_ns = SEC;
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	usleep(1100 * 1000);
	CHECK(compactor_pass(&o, "t", false, &st) == 0);
	CHECK_EQ_U64(st.compactions, 0);
	CHECK_EQ_U64(count_tenant(f.store, "t"), 1);
	CHECK(reader_view(f.store, "t", 0, UINT64_MAX, 0, &v, err, sizeof(err)) == 0);
	CHECK(v.b.len == 1 && strcmp(v.b.v[0].ref.id, i793d) == 0);
	store_view_free(&v);
	snapshot(f.store, &got);
	CHECK_STR(buf_cstr(&got), buf_cstr(&want));
	svcdata__free(a0);
	svcdata__free(c0);
	svcdata__free(x);
	svcdata__free(y);
	svcdata__free(z);
	buf_free(&want);
	buf_free(&got);
	fixture_store_close(&f);
}

/*
 * A crash after the merged block was stored and before its inputs were deleted: queries see
 * each sample once meanwhile, and the next pass deletes the inputs without merging again.
 */
static void test_crash_between(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct svcdata *a = one_row("a", "x", T0, 1), *b = one_row("a", "y", T0 + SEC, 2);
	struct svcdata *m = svcdata__new("a");
	char ka[OBJSTORE_MAX_KEY], kb[OBJSTORE_MAX_KEY], ida[BLOCK_ID_MAX], idb[BLOCK_ID_MAX];
	char tenant[80];
	const char *sources[2] = {ida, idb};
	uint64_t lo, hi;
	uint32_t level;
	struct buf before = {0}, after = {0};

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	CHECK(fixture_put_block(f.store, "t", &a, 1, 0, NULL, 0, ka) == 0);
	CHECK(fixture_put_block(f.store, "t", &b, 1, 0, NULL, 0, kb) == 0);
	snapshot(f.store, &before);
	CHECK(block_key_parse(ka, tenant, sizeof(tenant), &lo, &hi, &level, ida));
	CHECK(block_key_parse(kb, tenant, sizeof(tenant), &lo, &hi, &level, idb));
	CHECK(svcdata__merge(m, a, NULL, NULL) == 0 && svcdata__merge(m, b, NULL, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &m, 1, 1, sources, 2, NULL) == 0);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before)); /* not 2x */
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	CHECK_EQ_U64(st.deleted, 2);
	CHECK_EQ_U64(st.compactions, 0);
	CHECK_EQ_U64(count_blocks(f.store, 0), 0);
	CHECK_EQ_U64(count_blocks(f.store, 1), 1);
	snapshot(f.store, &after);
	CHECK_STR(buf_cstr(&after), buf_cstr(&before));
	svcdata__free(a);
	svcdata__free(b);
	svcdata__free(m);
	buf_free(&before);
	buf_free(&after);
	fixture_store_close(&f);
}

/*
 * Retention: a block that expired 10 minutes ago is hidden from readers at once, kept through
 * a grace of an hour, deleted with none; this minute's block stays; a tenant whose override
 * keeps forever keeps its old block.
 */
static void test_retention(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	char *keep[] = {"forever=0"}, err[128];
	uint64_t now = clock_ns(CLOCK_REALTIME);
	struct svcdata *old = one_row("a", "x", T0, 1), *young = one_row("a", "y", now, 2);
	struct buf got = {0};

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	o.grace_ns = 3600 * SEC;
	CHECK(fixture_put_block(f.store, "t", &old, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &young, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "forever", &old, 1, 0, NULL, 0, NULL) == 0);
	/* the old block expired 10 minutes ago */
	CHECK(retention_configure(now - T0 - 600 * SEC, keep, 1, err, sizeof(err)) == 0);
	CHECK_EQ_U64(retention_ns("t"), now - T0 - 600 * SEC);
	CHECK_EQ_U64(retention_ns("forever"), 0);
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "\ttotal\t2\t") != NULL); /* the old one is hidden */
	CHECK(compactor_pass(&o, NULL, false, &st) == 0);
	CHECK_EQ_U64(st.expired, 0); /* within the grace */
	CHECK_EQ_U64(count_tenant(f.store, "t"), 2);
	o.grace_ns = 0;
	CHECK(compactor_pass(&o, NULL, false, &st) == 0);
	CHECK_EQ_U64(st.expired, 1);
	CHECK(st.expired_bytes > 0);
	CHECK_EQ_U64(count_tenant(f.store, "t"), 1);
	CHECK_EQ_U64(count_tenant(f.store, "forever"), 1);
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "\ttotal\t2\t") != NULL);
	/* bad overrides say why */
	CHECK(retention_configure(0, (char *[]){"nodays"}, 1, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "TENANT=DURATION") != NULL);
	CHECK(retention_configure(0, (char *[]){"../x=1d"}, 1, err, sizeof(err)) == -EINVAL);
	CHECK(retention_configure(0, (char *[]){"t=soon"}, 1, err, sizeof(err)) == -EINVAL);
	CHECK(retention_configure(0, NULL, 0, err, sizeof(err)) == 0);
	svcdata__free(old);
	svcdata__free(young);
	buf_free(&got);
	fixture_store_close(&f);
}

/*
 * Deleting before a time: one service's blocks that end before it go, blocks that straddle it
 * or hold other services are replaced by what remains; readers see exactly the rest, and so
 * after the cleanup; then the whole tenant before a later time: nothing is left.
 */
static void test_delete(void)
{
	struct fixture_store f;
	struct compactor_opts o = {0};
	struct compactor_stats st = {0};
	struct svcdata *a1 = one_row("a", "x", T0, 1), *a2 = svcdata__new("a"),
		       *a2x = one_row("a", "x", T0 + 10 * SEC, 2),
		       *a2y = one_row("a", "y", T0 + 20 * SEC, 4), *b = one_row("b", "x", T0, 8),
		       *m[2] = {one_row("a", "z", T0 + 5 * SEC, 16),
				one_row("b", "z", T0 + 5 * SEC, 32)};
	struct buf got = {0};
	uint64_t rewritten = 0;

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	CHECK(svcdata__merge(a2, a2x, NULL, NULL) == 0 && svcdata__merge(a2, a2y, NULL, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &a1, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &a2, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &b, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", m, 2, 0, NULL, 0, NULL) == 0);
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "0\ttotal\t63\t") != NULL);
	CHECK(compactor_delete(&o, "t", "a", T0 + 15 * SEC, &st, &rewritten) == 0);
	CHECK_EQ_U64(st.deleted, 1); /* a1 */
	CHECK_EQ_U64(rewritten, 2);  /* a2 (straddling), m (two services) */
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "0\ttotal\t44\t") != NULL); /* 4 + 8 + 32 */
	CHECK(strstr(buf_cstr(&got), "1\ta\t4\t") != NULL);
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "0\ttotal\t44\t") != NULL);
	/* the whole tenant before T0 + 25 s */
	memset(&st, 0, sizeof(st));
	CHECK(compactor_delete(&o, "t", NULL, T0 + 25 * SEC, &st, &rewritten) == 0);
	CHECK(compactor_pass(&o, "t", true, &st) == 0);
	snapshot(f.store, &got);
	CHECK(strstr(buf_cstr(&got), "\ttotal\t") == NULL ||
	      strstr(buf_cstr(&got), "0\ttotal\t0\t"));
	CHECK_EQ_U64(count_tenant(f.store, "t"), 0);
	svcdata__free(a1);
	svcdata__free(a2);
	svcdata__free(a2x);
	svcdata__free(a2y);
	svcdata__free(b);
	svcdata__free(m[0]);
	svcdata__free(m[1]);
	buf_free(&got);
	fixture_store_close(&f);
}

/* The thread runs passes every interval until freed; an unreadable block is skipped, counted. */
static void test_thread(void)
{
	struct fixture_store f;
	struct compactor_opts o = {.interval_ns = 20 * 1000000ULL};
	struct compactor_stats st = {0};
	struct compactor *c;
	struct svcdata *a = one_row("a", "x", T0, 1), *b = one_row("a", "y", T0 + SEC, 2);

	if (!fixture_store_open(&f))
		return;
	o.store = f.store;
	CHECK(fixture_put_block(f.store, "t", &a, 1, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &b, 1, 0, NULL, 0, NULL) == 0);
	c = compactor__new(&o);
	CHECK(c != NULL);
	for (int i = 0; c && i < 500 && st.compactions < 1; i++) {
		usleep(10000);
		compactor__stats(c, &st);
	}
	CHECK_EQ_U64(st.compactions, 1);
	CHECK(st.passes >= 1);
	compactor__free(c);
	compactor__free(NULL);
	CHECK_EQ_U64(count_blocks(f.store, 1), 1);
	svcdata__free(a);
	svcdata__free(b);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_merge_keeps_samples);
	RUN(test_windows);
	RUN(test_levels);
	RUN(test_concurrent);
	RUN(test_partial_overlap);
	RUN(test_rejected_chain);
	RUN(test_crash_between);
	RUN(test_retention);
	RUN(test_delete);
	RUN(test_thread);
	return unit_done();
}
