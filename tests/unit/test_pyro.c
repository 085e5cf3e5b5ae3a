// SPDX-License-Identifier: Apache-2.0
/*
 * The Pyroscope API's pieces with known answers: the proto3 JSON codec (common/pbjson), profile
 * type IDs (profile/ptype), flame graph levels (collector/flamegraph), and /ingest and Push
 * decoding (collector/pyro_ingest).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../collector/engine.h"
#include "../../collector/flamegraph.h"
#include "../../collector/pyro_delta.h"
#include "../../collector/pyro_ingest.h"
#include "../../collector/selector.h"
#include "../../common/pbjson.h"
#include "../../common/util.h"
#include "../../profile/ptype.h"
#include "push/v1/push.pb-c.h"
#include "querier/v1/querier.pb-c.h"

static void test_pbjson(void)
{
	/* both spellings of names, int64 as string and number, enum by name, unknown fields */
	static const char in[] =
		"{\"profile_typeID\":\"a:b:c:d:e\",\"labelSelector\":\"{x=\\\"y\\\"}\","
		"\"start\":\"-5\",\"end\":9007199254740993,\"groupBy\":[\"p\",\"q\"],"
		"\"step\":15.5,\"aggregation\":\"TIME_SERIES_AGGREGATION_TYPE_AVERAGE\","
		"\"limit\":null,\"unknown\":{\"deep\":[1,{\"x\":2}]}}";
	ProtobufCMessage *m = NULL;
	Querier__V1__SelectSeriesRequest *r;
	struct buf out = {0};
	char err[256];

	REQUIRE(pbjson_decode(&querier__v1__select_series_request__descriptor, in, strlen(in), &m,
			      err, sizeof(err)) == 0);
	r = (Querier__V1__SelectSeriesRequest *)m;
	CHECK_STR(r->profile_typeid, "a:b:c:d:e");
	CHECK_STR(r->label_selector, "{x=\"y\"}");
	CHECK(r->start == -5 && r->end == 9007199254740993LL);
	CHECK(r->n_group_by == 2 && strcmp(r->group_by[1], "q") == 0);
	CHECK(r->step == 15.5 && r->aggregation == 1 && r->limit == 0);
	REQUIRE(pbjson_encode(m, &out) == 0);
	CHECK_STR(buf_cstr(&out),
		  "{\"profileTypeID\":\"a:b:c:d:e\",\"labelSelector\":\"{x=\\\"y\\\"}\",\"start\":"
		  "\"-5\",\"end\":\"9007199254740993\",\"groupBy\":[\"p\",\"q\"],\"step\":15.5,"
		  "\"aggregation\":\"TIME_SERIES_AGGREGATION_TYPE_AVERAGE\"}");
	protobuf_c_message_free_unpacked(m, NULL);
	buf_free(&out);

	/* bytes in base64 (standard and URL alphabets), nested messages */
	static const char push[] =
		"{\"series\":[{\"labels\":[{\"name\":\"a\",\"value\":\"b\"}],"
		"\"samples\":[{\"rawProfile\":\"AP8=\"},{\"raw_profile\":\"-_8\"}]}]}";
	REQUIRE(pbjson_decode(&push__v1__push_request__descriptor, push, strlen(push), &m, err,
			      sizeof(err)) == 0);
	{
		Push__V1__PushRequest *p = (Push__V1__PushRequest *)m;

		REQUIRE(p->n_series == 1 && p->series[0]->n_samples == 2);
		CHECK(p->series[0]->samples[0]->raw_profile.len == 2 &&
		      p->series[0]->samples[0]->raw_profile.data[1] == 0xff);
		CHECK(p->series[0]->samples[1]->raw_profile.len == 2 &&
		      p->series[0]->samples[1]->raw_profile.data[0] == 0xfb);
		CHECK_STR(p->series[0]->labels[0]->value, "b");
		pbjson_encode(m, &out);
		CHECK(strstr(buf_cstr(&out), "\"rawProfile\":\"AP8=\"") != NULL);
		buf_free(&out);
	}
	protobuf_c_message_free_unpacked(m, NULL);

	/* errors: a reason, nothing leaked */
	static const char *const bad[] = {
		"{\"start\":\"soon\"}",
		"{\"start\":1.5}",
		"{\"groupBy\":\"p\"}",
		"{\"aggregation\":\"NOPE\"}",
		"{\"step\":\"x\"}",
		"{\"start\":1",
		"[]",
		"{} {}",
		"{\"profileTypeID\":7}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = 0;
		CHECK(pbjson_decode(&querier__v1__select_series_request__descriptor, bad[i],
				    strlen(bad[i]), &m, err, sizeof(err)) == -EINVAL);
		CHECK(m == NULL && err[0]);
	}
	/* an empty message encodes as {} */
	{
		Querier__V1__ProfileTypesResponse e = QUERIER__V1__PROFILE_TYPES_RESPONSE__INIT;

		pbjson_encode(&e.base, &out);
		CHECK_STR(buf_cstr(&out), "{}");
		buf_free(&out);
	}
}

static void test_ptype(void)
{
	struct svcdata *sd = svcdata__new("svc");
	struct sd_type otlp = {svcdata__string(sd, "samples", 7), svcdata__string(sd, "count", 5),
			       svcdata__string(sd, "cpu", 3),
			       svcdata__string(sd, "nanoseconds", 11), 10000000};
	struct sd_type mem = {svcdata__string(sd, "inuse_space", 11),
			      svcdata__string(sd, "bytes", 5), 0, 0, 0};
	struct sd_label name = {svcdata__string(sd, "__name__", 8), svcdata__string(sd, "wall", 4)};
	uint32_t s1 = svcdata__series(sd, svcdata__type(sd, &otlp), NULL, 0);
	uint32_t s2 = svcdata__series(sd, svcdata__type(sd, &mem), NULL, 0);
	uint32_t s3 = svcdata__series(sd, svcdata__type(sd, &otlp), &name, 1);
	struct ptype t;
	char id[PTYPE_MAX], buf[PTYPE_MAX];

	ptype_of(sd, s1, &t);
	ptype_id(&t, id, sizeof(id));
	CHECK_STR(id, "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
	CHECK(t.scale == 10000000);
	ptype_of(sd, s2, &t);
	ptype_id(&t, id, sizeof(id));
	CHECK_STR(id, "memory:inuse_space:bytes::");
	CHECK(t.scale == 1);
	/* a __name__ (Pyroscope ingest) keeps the stored type and its values */
	ptype_of(sd, s3, &t);
	ptype_id(&t, id, sizeof(id));
	CHECK_STR(id, "wall:samples:count:cpu:nanoseconds");
	CHECK(t.scale == 1);
	CHECK_STR(selector_label(sd, s1, "__profile_type__"),
		  "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
	CHECK_STR(selector_label(sd, s2, "__name__"), "memory");
	CHECK_STR(selector_label(sd, s2, "__unit__"), "bytes");
	CHECK(ptype_parse("memory:inuse_space:bytes::", buf, sizeof(buf), &t) == 0 &&
	      strcmp(t.sample_unit, "bytes") == 0 && !*t.period_type);
	CHECK(ptype_parse("a:b:c:d:e:delta", buf, sizeof(buf), &t) == 0);
	CHECK(ptype_parse("a:b:c:d:e:f", buf, sizeof(buf), &t) == -EINVAL);
	CHECK(ptype_parse("a:b:c", buf, sizeof(buf), &t) == -EINVAL);
	CHECK(ptype_parse(":b:c:d:e", buf, sizeof(buf), &t) == -EINVAL);
	CHECK_STR(ptype_name_of_sample_type("alloc_objects"), "memory");
	CHECK_STR(ptype_name_of_sample_type("contentions"), "contentions");
	svcdata__free(sd);
}

/* Folded lines into a batch through /ingest. */
static int ingest(const char *name, const char *body, const char *rate, struct pyro_batch *b,
		  char *msg, size_t size)
{
	struct pyro_ingest_params p = {.name = name, .from = "1700000000", .sample_rate = rate};
	struct pprof_limits lim = {0};

	return pyro_ingest(&p, (const uint8_t *)body, strlen(body), &lim, 1, b, msg, size);
}

static void test_levels(void)
{
	struct pyro_batch b = {0};
	struct selection sel = {0};
	struct fgraph g = {.no_process = true};
	struct fg_levels lv;
	char msg[256];

	REQUIRE(ingest("app.alloc_objects", "main;a;hot 3\nmain;b 1\nmain 2\n", NULL, &b, msg,
		       sizeof(msg)) == 0);
	REQUIRE(VEC_PUSH(&sel.svc, b.svc.v[0]) == 0);
	REQUIRE(fgraph_add_selection(&g, &sel, 0) == 0);
	REQUIRE(fgraph_levels(&g, 100, false, &lv) == 0);
	/* main's self (2) first, then a and b by name; x as deltas from the previous node's end */
	REQUIRE(lv.levels.len == 4 && lv.names.len == 5);
	{
		static const int64_t want[4][8] = {
			{0, 6, 0, 0}, {0, 6, 2, 1}, {2, 3, 0, 2, 0, 1, 1, 4}, {2, 3, 3, 3}};
		static const size_t n[4] = {4, 4, 8, 4};

		for (size_t d = 0; d < 4; d++) {
			CHECK_EQ_U64(lv.levels.v[d].values.len, n[d]);
			for (size_t k = 0; k < n[d] && k < lv.levels.v[d].values.len; k++)
				CHECK(lv.levels.v[d].values.v[k] == want[d][k]);
		}
	}
	CHECK_STR(lv.names.v[0], "total");
	CHECK_STR(lv.names.v[3], "hot");
	CHECK_STR(lv.names.v[4], "b");
	CHECK(lv.total[0] == 6 && lv.max_self == 3);
	fg_levels_free(&lv);
	/* at most 2 nodes: the rest folded into "other", the total kept */
	REQUIRE(fgraph_levels(&g, 2, false, &lv) == 0);
	CHECK(lv.total[0] == 6 && lv.levels.len <= 3);
	fg_levels_free(&lv);
	/* a diff: 7 values per node */
	fgraph_free(&g);
	memset(&g, 0, sizeof(g));
	g.no_process = true;
	REQUIRE(fgraph_add_selection(&g, &sel, 0) == 0 && fgraph_add_selection(&g, &sel, 1) == 0);
	REQUIRE(fgraph_levels(&g, 100, true, &lv) == 0);
	CHECK(lv.levels.v[2].values.len == 14 && lv.total[1] == 6);
	CHECK(lv.levels.v[2].values.v[3] == 2 && lv.levels.v[2].values.v[6] == 2);
	fg_levels_free(&lv);
	fgraph_free(&g);
	VEC_FREE(&sel.svc);
	pyro_batch_free(&b);
}

static void test_ingest(void)
{
	struct pyro_batch b = {0};
	char msg[256];
	const struct svcdata *sd;
	uint64_t t;

	/* the name's labels, service_name over the app, private labels dropped, rate applied */
	REQUIRE(ingest("web.cpu{service_name=shop,team=a,__x=1}", "main;f 2\n\nmain;g 0\n", "50",
		       &b, msg, sizeof(msg)) == 0);
	REQUIRE(b.svc.len == 1);
	sd = b.svc.v[0];
	CHECK_STR(sd->name, "shop");
	CHECK(sd->rows.len == 1 && sd->rows.v[0].value == 2 * 20000000LL);
	CHECK(b.samples == 1);
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "app_name"), "web");
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "team"), "a");
	CHECK(svcdata__label(sd, sd->rows.v[0].series, "__x") == NULL);
	CHECK_STR(selector_label(sd, sd->rows.v[0].series, "__profile_type__"),
		  "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
	CHECK(sd->rows.v[0].time_ns == 1700000000ULL * NSEC_PER_SEC);
	pyro_batch_free(&b);

	/* refusals: a reason each, nothing kept */
	static const struct {
		const char *name, *body, *rate;
		int err;
	} bad[] = {
		{"", "a 1", NULL, -EBADMSG},
		{"a{x=1", "a 1", NULL, -EBADMSG},
		{"a{bad-name=1}", "a 1", NULL, -EBADMSG},
		{"a{x}", "a 1", NULL, -EBADMSG},
		{"a.nope", "a 1", NULL, -ENOTSUP},
		{"a", "a;b", NULL, -EBADMSG},
		{"a", "a -1", NULL, -EBADMSG},
		{"a", "a 1", "0", -EBADMSG},
		{"a", "a 1", "x", -EBADMSG},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		msg[0] = 0;
		CHECK(ingest(bad[i].name, bad[i].body, bad[i].rate, &b, msg, sizeof(msg)) ==
		      bad[i].err);
		CHECK(msg[0] && b.svc.len == 0);
	}
	{
		struct pyro_ingest_params p = {.name = "a", .format = "lines"};
		struct pprof_limits lim = {0};

		CHECK(pyro_ingest(&p, (const uint8_t *)"a", 1, &lim, 1, &b, msg, sizeof(msg)) ==
		      -ENOTSUP);
		p.format = NULL;
		p.content_type = "multipart/form-data; boundary=B";
		static const char prev[] =
			"--B\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\n"
			"x\r\n--B\r\nContent-Disposition: form-data; "
			"name=\"prev_profile\"\r\n\r\ny\r\n--B--\r\n";
		CHECK(pyro_ingest(&p, (const uint8_t *)prev, strlen(prev), &lim, 1, &b, msg,
				  sizeof(msg)) == -ENOTSUP);
		CHECK(pyro_ingest(&p, (const uint8_t *)prev, 20, &lim, 1, &b, msg, sizeof(msg)) ==
		      -EBADMSG);
		CHECK(pyro_push(false, (const uint8_t *)"\x0a\x05\x0a", 3, &lim, 1, NULL, NULL, &b,
				msg, sizeof(msg)) == -EBADMSG);
	}
	/* times in the units the SDKs send */
	CHECK(pyro_parse_time("1700000000", 0, &t) == 0 && t == 1700000000ULL * NSEC_PER_SEC);
	CHECK(pyro_parse_time("1700000000123", 0, &t) == 0 && t == 1700000000123ULL * 1000000);
	CHECK(pyro_parse_time("1700000000123456", 0, &t) == 0 && t == 1700000000123456ULL * 1000);
	CHECK(pyro_parse_time("1700000000123456789", 0, &t) == 0 && t == 1700000000123456789ULL);
	CHECK(pyro_parse_time("now-1h", 7200 * NSEC_PER_SEC, &t) == 0 && t == 3600 * NSEC_PER_SEC);
	CHECK(pyro_parse_time("soon", 0, &t) == -EINVAL);
}

/* Rows of sd as "stack-leaf=value" sorted into out, for comparing. */
static void rows_of(const struct svcdata *sd, char *out, size_t size)
{
	size_t n = 0;

	out[0] = 0;
	for (size_t r = 0; r < sd->rows.len; r++) {
		const struct sd_node *nd = &sd->nodes.v[sd->rows.v[r].stack];
		const struct sd_location *l = &sd->locations.v[nd->location];
		const char *fn = strtab_get(
			&sd->strings, sd->functions.v[sd->lines.v[l->first_line].function].name);

		n += (size_t)snprintf(out + n, size - n, "%s%s=%lld", n ? " " : "", fn,
				      (long long)sd->rows.v[r].value);
	}
}

/* One profile through /ingest, then through the deltas; its rows as text. */
static long delta_step(struct pyro_delta *d, const char *tenant, const char *name, const char *body,
		       char *out, size_t size)
{
	struct pyro_batch b = {0};
	char msg[256];
	long dropped = -1;

	out[0] = 0;
	if (ingest(name, body, NULL, &b, msg, sizeof(msg)) == 0) {
		dropped = pyro_delta__apply(d, tenant, b.svc.v[0], 0);
		rows_of(b.svc.v[0], out, size);
	}
	pyro_batch_free(&b);
	return dropped;
}

static void test_delta(void)
{
	struct pyro_delta *d = pyro_delta__new(0);
	char rows[512];

	REQUIRE(d);
	/* the first profile of a series is the baseline only */
	CHECK(delta_step(d, "t", "app.alloc_space", "main;a 100\nmain;b 50\n", rows,
			 sizeof(rows)) == 2);
	CHECK_STR(rows, "");
	/* then the change per stack: a grew by 35 (two rows of it), b did not, c is new */
	CHECK(delta_step(d, "t", "app.alloc_space", "main;a 130\nmain;b 50\nmain;c 7\nmain;a 5\n",
			 rows, sizeof(rows)) == 2);
	CHECK_STR(rows, "a=35 c=7");
	/* lower than before: the process restarted, the value is taken as it is */
	CHECK(delta_step(d, "t", "app.alloc_space", "main;a 20\n", rows, sizeof(rows)) == 0);
	CHECK_STR(rows, "a=20");
	/* another tenant, another label set: their own baselines */
	CHECK(delta_step(d, "u", "app.alloc_space", "main;a 500\n", rows, sizeof(rows)) == 1);
	CHECK(delta_step(d, "t", "app.alloc_space{env=x}", "main;a 500\n", rows, sizeof(rows)) ==
	      1);
	/* in-use memory is not cumulative: stored as sent */
	CHECK(delta_step(d, "t", "app.inuse_space", "main;a 100\n", rows, sizeof(rows)) == 0);
	CHECK_STR(rows, "a=100");
	pyro_delta__free(d);

	/* the bound: past it the least recently used series is forgotten (a baseline again) */
	d = pyro_delta__new(2);
	REQUIRE(d);
	CHECK(delta_step(d, "t", "one.alloc_space", "main;a 1\nmain;b 1\n", rows, sizeof(rows)) ==
	      2);
	CHECK(delta_step(d, "t", "two.alloc_space", "main;a 1\n", rows, sizeof(rows)) == 1);
	CHECK(delta_step(d, "t", "two.alloc_space", "main;a 3\n", rows, sizeof(rows)) == 0);
	CHECK_STR(rows, "a=2");
	CHECK(delta_step(d, "t", "one.alloc_space", "main;a 5\n", rows, sizeof(rows)) == 1);
	pyro_delta__free(d);
}

int main(void)
{
	RUN(test_pbjson);
	RUN(test_ptype);
	RUN(test_levels);
	RUN(test_ingest);
	RUN(test_delta);
	return unit_done();
}
