// SPDX-License-Identifier: Apache-2.0
/*
 * collector/query.c's query_export, the one "select, merge, render" of the HTTP API and
 * `sonde export`, over a real file storage holding blocks of two services.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../collector/block.h"
#include "../../collector/objstore.h"
#include "../../collector/query.h"

static char tmpdir[] = "/tmp/sonde-test-profile-export.XXXXXX";

#define T0 1700000000000000000ULL

static uint32_t s(struct svcdata *sd, const char *str)
{
	return svcdata__string(sd, str, strlen(str));
}

/* A service whose process runs main;NAME for value samples at time t. */
static struct svcdata *service(const char *name, const char *fn, uint64_t t, int64_t value)
{
	struct svcdata *sd = svcdata__new(name);
	struct sd_type type = {s(sd, "samples"), s(sd, "count"), s(sd, "cpu"), s(sd, "nanoseconds"),
			       10000000};
	struct sd_label l = {s(sd, "process.executable.name"), s(sd, name)};
	struct sd_function f[2] = {{.name = s(sd, "main")}, {.name = s(sd, fn)}};
	struct sd_line ln[2] = {{.function = svcdata__function(sd, &f[0])},
				{.function = svcdata__function(sd, &f[1])}};
	struct sd_location l0 = {.address = 1, .nlines = 1}, l1 = {.address = 2, .nlines = 1};
	uint32_t locs[2] = {svcdata__location(sd, &l1, &ln[1]), svcdata__location(sd, &l0, &ln[0])};

	CHECK(svcdata__row(sd, svcdata__series(sd, svcdata__type(sd, &type), &l, 1),
			   svcdata__stack(sd, locs, 2), t, value) == 0);
	return sd;
}

static void put_block(struct objstore *st, struct svcdata **svcs, size_t n, uint64_t t)
{
	struct block_write_opts o = {.tenant = "anonymous"};
	struct buf blk = {0};
	char key[256];

	CHECK(block_encode(svcs, n, &o, &blk) == 0);
	CHECK(block_key("anonymous", t, t + 1000000, 0, key, sizeof(key)) == 0);
	CHECK(objstore__put(st, key, blk.data, blk.len) == 0);
	buf_free(&blk);
}

static void test_export(void)
{
	char url[128], err[256];
	struct objstore *st;
	struct svcdata *b1[2] = {service("api", "handle", T0, 5), service("db", "query", T0, 7)};
	struct svcdata *b2[1] = {service("api", "handle", T0 + 2000000000ULL, 3)};
	struct selector sel = {0};
	struct engine_query q = {
		.tenant = "anonymous", .sel = &sel, .from_ns = T0, .to_ns = T0 + 10000000000ULL};
	struct svcdata *back = svcdata__new("back");
	struct buf out = {0}, again = {0};
	enum export_format f;
	size_t rows = 99;

	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	st = objstore__open(url, err, sizeof(err));
	CHECK(st != NULL);
	if (!st)
		return;
	put_block(st, b1, 2, T0);
	put_block(st, b2, 1, T0 + 2000000000ULL);
	CHECK(export_format_parse("folded", &f) == 0 && f == EXPORT_FOLDED);
	CHECK(export_format_parse("pprof", &f) == 0 && f == EXPORT_PPROF);
	CHECK(export_format_parse("json", &f) == -EINVAL);

	/* one service over both blocks: merged, times gone */
	CHECK(selector_service(&sel, "api") == 0);
	CHECK(query_export(st, &q, EXPORT_FOLDED, UINT64_MAX, &out, &rows, err, sizeof(err)) == 0);
	CHECK_STR(buf_cstr(&out), "api;main;handle 8\n");
	CHECK_EQ_U64(rows, 1);
	selector_free(&sel);

	/* every service, as pprof: the same samples once decoded */
	buf_reset(&out);
	CHECK(selector_parse("{}", &sel, err, sizeof(err)) == 0);
	CHECK(query_export(st, &q, EXPORT_PPROF, UINT64_MAX, &out, &rows, err, sizeof(err)) == 0);
	CHECK(pprof_decode(out.data, out.len, NULL, back, err, sizeof(err)) == 0);
	CHECK(folded_render(back, &again) == 0);
	CHECK_STR(buf_cstr(&again), "api;main;handle 8\n"
				    "db;main;query 7\n");

	/* nothing in the range: no rows, an empty rendering */
	buf_reset(&out);
	q.from_ns = q.to_ns = T0 - 5000000000ULL;
	CHECK(query_export(st, &q, EXPORT_FOLDED, UINT64_MAX, &out, &rows, err, sizeof(err)) == 0);
	CHECK_EQ_U64(rows, 0);
	CHECK_EQ_U64(out.len, 0);

	/* over the row limit: engine_select's error, with its reason */
	q.from_ns = T0;
	q.to_ns = T0 + 10000000000ULL;
	CHECK(query_export(st, &q, EXPORT_FOLDED, 1, &out, &rows, err, sizeof(err)) == -E2BIG);
	CHECK(err[0] != 0);
	selector_free(&sel);
	buf_free(&out);
	buf_free(&again);
	svcdata__free(back);
	for (int i = 0; i < 2; i++)
		svcdata__free(b1[i]);
	svcdata__free(b2[0]);
	objstore__free(st);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_export);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return unit_done();
}
