/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hand-built samples with known answers and a real directory store in a temporary directory,
 * shared by the collector's unit tests (test_engine, test_flamegraph, test_reader, ...).
 *
 * The samples of fixture_build():
 *   api (process "api", pod "p1"):  main;a;b 60  main;a 10  main;c 30       at T0 .. T0+1s
 *                                   main;a;a;b 20 (recursion)                at T0+2s
 *   db  (process "db", pod "p2"):   main;q 40                                at T0+1s
 */
#ifndef SONDE_TEST_COLLECTOR_FIXTURE_H
#define SONDE_TEST_COLLECTOR_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/block.h"
#include "../../collector/engine.h"
#include "../../collector/objstore.h"
#include "../../profile/svcdata.h"
#include "../../common/util.h"

#define T0 1700000000000000000ULL

/* A location named fn (one line, one function). */
static inline uint32_t fixture_loc(struct svcdata *sd, const char *fn)
{
	struct sd_function f = {.name = svcdata__string(sd, fn, strlen(fn))};
	struct sd_line ln = {.function = svcdata__function(sd, &f)};
	struct sd_location l = {.address = 0x1000 + strlen(fn), .nlines = 1};

	return svcdata__location(sd, &l, &ln);
}

/* A stack given root first, as names (at most 16). */
static inline uint32_t fixture_stack(struct svcdata *sd, const char *const *frames, size_t n)
{
	uint32_t locs[16];

	for (size_t i = 0; i < n; i++)
		locs[n - 1 - i] = fixture_loc(sd, frames[i]); /* OTLP order: leaf first */
	return svcdata__stack(sd, locs, n);
}

/* A series of type samples:count with process, pod and a pod label. */
static inline uint32_t fixture_series(struct svcdata *sd, const char *proc, const char *pod)
{
	struct sd_type t = {svcdata__string(sd, "samples", 7), svcdata__string(sd, "count", 5),
			    svcdata__string(sd, "cpu", 3), svcdata__string(sd, "nanoseconds", 11),
			    10000000};
	struct sd_label l[3] = {
		{svcdata__string(sd, "process.executable.name", 23),
		 svcdata__string(sd, proc, strlen(proc))},
		{svcdata__string(sd, "k8s.pod.name", 12), svcdata__string(sd, pod, strlen(pod))},
		/* a pod label's key: '.', '/' and '-' are all '_' in selectors */
		{svcdata__string(sd, "k8s.pod.label.app.kubernetes.io/part-of", 39),
		 svcdata__string(sd, "shop", 4)},
	};

	return svcdata__series(sd, svcdata__type(sd, &t), l, 3);
}

/* The two services above, as ret_api and ret_db (each with profiles = 1). */
static inline void fixture_services(struct svcdata **ret_api, struct svcdata **ret_db)
{
	static const char *const s1[] = {"main", "a", "b"}, *const s2[] = {"main", "a"},
				 *const s3[] = {"main", "c"}, *const s4[] = {"main", "a", "a", "b"},
				 *const s5[] = {"main", "q"};
	struct svcdata *api = svcdata__new("api"), *db = svcdata__new("db");
	uint32_t sa = fixture_series(api, "api", "p1"), sd = fixture_series(db, "db", "p2");

	CHECK(svcdata__row(api, sa, fixture_stack(api, s1, 3), T0, 60) == 0);
	CHECK(svcdata__row(api, sa, fixture_stack(api, s2, 2), T0 + 500000000, 10) == 0);
	CHECK(svcdata__row(api, sa, fixture_stack(api, s3, 2), T0 + 900000000, 30) == 0);
	CHECK(svcdata__row(api, sa, fixture_stack(api, s4, 4), T0 + 2000000000ULL, 20) == 0);
	CHECK(svcdata__row(db, sd, fixture_stack(db, s5, 2), T0 + 1000000000, 40) == 0);
	api->profiles = db->profiles = 1;
	*ret_api = api;
	*ret_db = db;
}

/* The services above as a selection (owning them). */
static inline void fixture_build(struct selection *sel)
{
	struct svcdata *api, *db;

	fixture_services(&api, &db);
	memset(sel, 0, sizeof(*sel));
	CHECK(VEC_PUSH(&sel->svc, api) == 0);
	CHECK(VEC_PUSH(&sel->svc, db) == 0);
}

/* The sum of the values of sd's rows. */
static inline int64_t fixture_total(const struct svcdata *sd)
{
	int64_t total = 0;

	for (size_t i = 0; i < sd->rows.len; i++)
		total += sd->rows.v[i].value;
	return total;
}

/* ---- a directory store ------------------------------------------------------------------------
 */

struct fixture_store {
	char dir[64];
	struct objstore *store;
};

/* A new directory store in a fresh temporary directory. false (checked) on failure. */
static inline bool fixture_store_open(struct fixture_store *f)
{
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/sonde-unit.XXXXXX");
	f->store = NULL;
	CHECK(mkdtemp(f->dir) != NULL);
	if (!f->dir[0])
		return false;
	f->store = objstore__open(f->dir, err, sizeof(err));
	CHECK(f->store != NULL);
	return f->store != NULL;
}

/* Frees the store and removes its directory. */
static inline void fixture_store_close(struct fixture_store *f)
{
	char cmd[128];

	objstore__free(f->store);
	f->store = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	CHECK(system(cmd) == 0);
}

/*
 * Encodes services as a block of tenant at level (with sources) and stores it under its key;
 * the block's key into key (OBJSTORE_MAX_KEY bytes) when key is not NULL. Returns 0 or -errno.
 */
static inline int fixture_put_block(struct objstore *s, const char *tenant, struct svcdata **svcs,
				    size_t n, uint32_t level, const char *const *sources,
				    size_t nsources, char *key)
{
	struct block_write_opts o = {
		.tenant = tenant, .level = level, .sources = sources, .nsources = nsources};
	struct buf blk = {0};
	char k[OBJSTORE_MAX_KEY];
	uint64_t lo = UINT64_MAX, hi = 0;
	int e;

	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < svcs[i]->rows.len; r++) {
			lo = MIN(lo, svcs[i]->rows.v[r].time_ns);
			hi = MAX(hi, svcs[i]->rows.v[r].time_ns);
		}
	e = block_encode(svcs, n, &o, &blk);
	if (!e)
		e = block_key(tenant, lo, hi, level, k, sizeof(k));
	if (!e)
		e = objstore__put(s, k, blk.data, blk.len);
	if (!e && key)
		memcpy(key, k, sizeof(k));
	buf_free(&blk);
	return e;
}

#endif
