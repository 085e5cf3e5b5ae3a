// SPDX-License-Identifier: Apache-2.0
/*
 * collector/engine: selection from a real directory store (selectors, time ranges, types, limits,
 * errors), and series, heatmaps and label listings of a selection with known answers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/engine.h"
#include "../../collector/fetch.h"
#include "../../collector/reader.h"
#include "../../common/util.h"

#define SEC NSEC_PER_SEC

/* The selection of text over [from, to] of tenant "t" (type NULL: any); -errno and err. */
static int sel_of(struct objstore *s, const char *text, uint64_t from, uint64_t to,
		  const char *type, uint64_t collapse_ns, uint64_t max_rows, struct selection *ret,
		  char *err, size_t err_size)
{
	struct selector sel;
	struct engine_query q = {.tenant = "t",
				 .sel = &sel,
				 .from_ns = from,
				 .to_ns = to,
				 .type = type,
				 .collapse_ns = collapse_ns};
	int e = selector_parse(text, &sel, err, err_size);

	memset(ret, 0, sizeof(*ret));
	if (e)
		return e;
	e = engine_select(s, &q, NEED_STACKS, max_rows, ret, err, err_size);
	selector_free(&sel);
	return e;
}

/* The total of service name in sel, -1 when it is not there. */
static int64_t svc_total(const struct selection *sel, const char *name)
{
	for (size_t i = 0; i < sel->svc.len; i++)
		if (strcmp(sel->svc.v[i]->name, name) == 0)
			return fixture_total(sel->svc.v[i]);
	return -1;
}

/*
 * Two level-0 blocks of tenant "t" (the fixture's api and db; then api again: 5 at T0+3s and 7
 * at T0+3.5s, one series and stack) and
 * one of tenant "u": selections read only what they select and count every sample once.
 */
static void test_select(void)
{
	static const char *const late[] = {"main", "late"};
	struct fixture_store f;
	struct svcdata *api, *db, *api2 = svcdata__new("api"), *other = svcdata__new("api");
	struct svcdata *svcs[2];
	struct selection sel;
	char err[256];

	if (!fixture_store_open(&f))
		return;
	fixture_services(&api, &db);
	svcs[0] = api;
	svcs[1] = db;
	CHECK(fixture_put_block(f.store, "t", svcs, 2, 0, NULL, 0, NULL) == 0);
	CHECK(svcdata__row(api2, fixture_series(api2, "api", "p3"), fixture_stack(api2, late, 2),
			   T0 + 3 * SEC, 5) == 0);
	CHECK(svcdata__row(api2, 1, fixture_stack(api2, late, 2), T0 + 3 * SEC + SEC / 2, 7) == 0);
	api2->profiles = 1;
	CHECK(fixture_put_block(f.store, "t", &api2, 1, 0, NULL, 0, NULL) == 0);
	CHECK(svcdata__row(other, fixture_series(other, "api", "p1"), fixture_stack(other, late, 2),
			   T0, 1000) == 0);
	CHECK(fixture_put_block(f.store, "u", &other, 1, 0, NULL, 0, NULL) == 0);

	/* everything of "t": both blocks, merged by service, sorted by name */
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err, sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 2);
	CHECK_STR(sel.svc.v[0]->name, "api");
	CHECK_EQ_U64(svc_total(&sel, "api"), 132);
	CHECK_EQ_U64(svc_total(&sel, "db"), 40);
	CHECK_EQ_U64(sel.stats.blocks, 2);
	CHECK_EQ_U64(sel.stats.services, 3);
	CHECK_EQ_U64(sel.stats.rows, 7);
	/* one profile in each block: counted once each, not once per merge */
	CHECK_EQ_U64(sel.svc.v[0]->profiles, 2);
	CHECK_EQ_U64(sel.svc.v[1]->profiles, 1);
	selection_free(&sel);

	/* a service selector decodes only that service */
	CHECK(sel_of(f.store, "{service_name=\"db\"}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 1);
	CHECK_EQ_U64(svc_total(&sel, "db"), 40);
	CHECK_EQ_U64(sel.stats.services, 1);
	selection_free(&sel);

	/* labels, as selectors name them; a regex and a negation */
	CHECK(sel_of(f.store, "{k8s_pod_name=~\"p[13]\", process_executable_name!=\"db\"}", T0,
		     T0 + 10 * SEC, NULL, 0, 1000, &sel, err, sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 1);
	CHECK_EQ_U64(svc_total(&sel, "api"), 132);
	selection_free(&sel);
	CHECK(sel_of(f.store, "{k8s_pod_name=\"p3\"}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(svc_total(&sel, "api"), 12);
	selection_free(&sel);

	/* the time range is inclusive at both ends, to the nanosecond */
	CHECK(sel_of(f.store, "{}", T0 + 500000000, T0 + 2 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(svc_total(&sel, "api"), 10 + 30 + 20);
	CHECK_EQ_U64(svc_total(&sel, "db"), 40);
	selection_free(&sel);
	CHECK(sel_of(f.store, "{}", T0 + 3 * SEC, T0 + 4 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 1);
	CHECK_EQ_U64(svc_total(&sel, "api"), 12);
	CHECK_EQ_U64(sel.stats.blocks, 1); /* the other block is not read at all */
	selection_free(&sel);

	/* collapsing sums the rows of a series and stack: api has 5 (series, stack) in 6 rows */
	CHECK(sel_of(f.store, "{service_name=\"api\"}", T0, T0 + 10 * SEC, NULL, ENGINE_NO_TIME,
		     1000, &sel, err, sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.v[0]->rows.len, 5);
	CHECK_EQ_U64(svc_total(&sel, "api"), 132);
	selection_free(&sel);

	/* a type, and the reasons for an empty answer */
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, "samples:count", 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 2);
	selection_free(&sel);
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, "cpu:nanoseconds", 0, 1000, &sel, err,
		     sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unknown profile type 'cpu:nanoseconds'") != NULL);
	CHECK(sel_of(f.store, "{nolabel=\"x\"}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unknown label 'nolabel'") != NULL);
	/* a known label with no match, or an unknown one that "" matches: empty, not an error */
	CHECK(sel_of(f.store, "{k8s_pod_name=\"p9\"}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 0);
	CHECK(sel_of(f.store, "{nolabel!=\"x\"}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.svc.len, 2);
	selection_free(&sel);

	/* the row limit: 7 rows are over 6; collapsed as they are read (api 5, db 1) they fit */
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, 0, 6, &sel, err, sizeof(err)) ==
	      -E2BIG);
	CHECK(strstr(err, "over 6 samples") != NULL);
	CHECK_EQ_U64(sel.svc.len, 0);
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, ENGINE_NO_TIME, 6, &sel, err,
		     sizeof(err)) == 0);
	CHECK_EQ_U64(sel.stats.rows, 6);
	CHECK_EQ_U64(svc_total(&sel, "api"), 132);
	selection_free(&sel);
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, ENGINE_NO_TIME, 5, &sel, err,
		     sizeof(err)) == -E2BIG);

	/* merged into one for exports: every sample of both services */
	CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err, sizeof(err)) == 0);
	{
		struct svcdata *m = selection_merge(&sel);

		CHECK(m != NULL);
		if (m) {
			CHECK_STR(m->name, "*");
			CHECK_EQ_U64(fixture_total(m), 172);
			CHECK_EQ_U64(m->profiles, 3);
			svcdata__free(m);
		}
	}
	selection_free(&sel);

	/* a corrupt block is an error with its key, not a wrong answer */
	{
		struct name_list keys = {0};
		struct buf b = {0};

		CHECK(objstore__list(f.store, "t/blocks/", name_list_add, &keys) == 0);
		CHECK_EQ_U64(keys.v.len, 2);
		if (keys.v.len == 2) {
			CHECK(objstore__get(f.store, keys.v.v[0], 0, UINT64_MAX, &b) == 0);
			b.data[BLOCK_HEADER_SIZE + 2] ^= 0xff;
			CHECK(objstore__put(f.store, keys.v.v[0], b.data, b.len) == 0);
		}
		CHECK(sel_of(f.store, "{}", T0, T0 + 10 * SEC, NULL, 0, 1000, &sel, err,
			     sizeof(err)) == -EBADMSG);
		CHECK(keys.v.len == 2 && strstr(err, keys.v.v[0]) != NULL);
		buf_free(&b);
		name_list_free(&keys);
	}
	svcdata__free(api);
	svcdata__free(db);
	svcdata__free(api2);
	svcdata__free(other);
	fixture_store_close(&f);
}

static void test_series_labels(void)
{
	struct selection sel;
	struct buf out = {0};

	fixture_build(&sel);
	/* 1 s steps from T0: api 100 (T0, T0+0.5, T0+0.9), 0, 20; db 0, 40, 0 */
	CHECK(engine_series(&sel, "process_executable_name", T0, T0 + 2000000000ULL, NSEC_PER_SEC,
			    1000, true, &out) == 0);
	CHECK_STR(buf_cstr(&out),
		  "api\t1700000000000\t100\napi\t1700000001000\t0\napi\t1700000002000\t20\n"
		  "db\t1700000000000\t0\ndb\t1700000001000\t40\ndb\t1700000002000\t0\n");
	buf_reset(&out);
	CHECK(engine_series(&sel, NULL, T0, T0 + 2000000000ULL, NSEC_PER_SEC, 1000, false, &out) ==
	      0);
	CHECK(strstr(buf_cstr(&out), "\"values\":[100,40,20]") != NULL);
	/* groups x steps is bounded: 2 groups x 3 steps is over 5 */
	buf_reset(&out);
	CHECK(engine_series(&sel, "process_executable_name", T0, T0 + 2000000000ULL, NSEC_PER_SEC,
			    5, false, &out) == -E2BIG);
	buf_reset(&out);
	CHECK(engine_label_names(&sel, false, &out) == 0);
	CHECK_STR(buf_cstr(&out), "[\"k8s_pod_label_app_kubernetes_io_part_of\",\"k8s_pod_name\","
				  "\"process_executable_name\",\"service_name\"]");
	buf_reset(&out);
	CHECK(engine_label_values(&sel, "k8s_pod_name", false, &out) == 0);
	CHECK_STR(buf_cstr(&out), "[\"p1\",\"p2\"]");
	buf_reset(&out);
	CHECK(engine_label_values(&sel, "k8s_pod_label_app_kubernetes_io_part_of", false, &out) ==
	      0);
	CHECK_STR(buf_cstr(&out), "[\"shop\"]");
	buf_reset(&out);
	CHECK(engine_types(&sel, true, &out) == 0);
	CHECK_STR(buf_cstr(&out), "process_cpu:cpu:nanoseconds:cpu:nanoseconds\n");
	/* heatmap: 4 (series, step) cells with 100, 20, 40 -> buckets of 25 */
	buf_reset(&out);
	CHECK(engine_heatmap(&sel, T0, T0 + 2000000000ULL, NSEC_PER_SEC, 4, &out) == 0);
	CHECK(strstr(buf_cstr(&out), "\"max\":100,\"counts\":[[0,0,0,1],[0,1,0,0],[1,0,0,0]]") !=
	      NULL);
	selection_free(&sel);
	buf_free(&out);
}

struct cached_query {
	struct objstore *s;
	int64_t total;
};

static void *query_thread(void *arg)
{
	struct cached_query *c = arg;

	for (int i = 0; i < 50; i++) {
		struct selection sel;
		char err[256];

		if (sel_of(c->s, "{}", 0, UINT64_MAX / 2, NULL, 0, 1000000, &sel, err,
			   sizeof(err)) == 0) {
			int64_t t = svc_total(&sel, "api") + svc_total(&sel, "db");

			if (c->total != t)
				c->total = -1;
		} else {
			c->total = -2;
		}
		selection_free(&sel);
	}
	return NULL;
}

/*
 * The decoded cache: a second query decodes nothing (all hits) and answers the same; four
 * threads querying at once share entries (ASan checks the references); a cache too small
 * for a service keeps nothing and changes no answer.
 */
static void test_decoded_cache(void)
{
	struct fixture_store f;
	struct svcdata *api, *db, *both[2];
	struct selection sel;
	struct cached_query c[4];
	pthread_t t[4];
	uint64_t h0, m0, b0, h1, m1, b1;
	char err[256];
	int64_t want;

	if (!fixture_store_open(&f))
		return;
	fixture_services(&api, &db);
	both[0] = api;
	both[1] = db;
	CHECK(fixture_put_block(f.store, "t", both, 2, 0, NULL, 0, NULL) == 0);
	CHECK(fixture_put_block(f.store, "t", &api, 1, 0, NULL, 0, NULL) == 0);
	fetcher_set_decoded_cache(64 << 20);
	fetcher_decoded_cache_stats(&h0, &m0, &b0);
	CHECK(sel_of(f.store, "{}", 0, UINT64_MAX / 2, NULL, 0, 1000000, &sel, err, sizeof(err)) ==
	      0);
	want = svc_total(&sel, "api") + svc_total(&sel, "db");
	CHECK_EQ_U64(want, 2 * 120 + 40);
	selection_free(&sel);
	fetcher_decoded_cache_stats(&h1, &m1, &b1);
	CHECK_EQ_U64(m1 - m0, 3); /* api and db of one block, api of the other */
	CHECK(b1 > b0);
	CHECK(sel_of(f.store, "{}", 0, UINT64_MAX / 2, NULL, 0, 1000000, &sel, err, sizeof(err)) ==
	      0);
	CHECK_EQ_U64(svc_total(&sel, "api") + svc_total(&sel, "db"), want);
	selection_free(&sel);
	fetcher_decoded_cache_stats(&h0, &m0, &b0);
	CHECK_EQ_U64(h0 - h1, 3);
	CHECK_EQ_U64(m0, m1);
	for (int i = 0; i < 4; i++) {
		c[i] = (struct cached_query){f.store, want};
		CHECK(pthread_create(&t[i], NULL, query_thread, &c[i]) == 0);
		if (i == 2)
			fetcher_set_decoded_cache(1); /* evicts what the others hold */
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ_U64(c[i].total, want);
	}
	fetcher_decoded_cache_stats(&h1, &m1, &b1);
	CHECK_EQ_U64(b1, 0);
	fetcher_set_decoded_cache(0);
	svcdata__free(api);
	svcdata__free(db);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_select);
	RUN(test_series_labels);
	RUN(test_decoded_cache);
	return unit_done();
}
