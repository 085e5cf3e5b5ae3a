// SPDX-License-Identifier: Apache-2.0
/* The query engine on hand-built data with known answers: selectors, flame graphs, top, series. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../collector/engine.h"
#include "../../common/util.h"

/* A location named fn (one line, one function). */
static uint32_t loc(struct svcdata *sd, const char *fn)
{
	struct sd_function f = {.name = svcdata__string(sd, fn, strlen(fn))};
	struct sd_line ln = {.function = svcdata__function(sd, &f)};
	struct sd_location l = {.address = 0x1000 + strlen(fn), .nlines = 1};

	return svcdata__location(sd, &l, &ln);
}

/* A stack given root first, as names. */
static uint32_t stack(struct svcdata *sd, const char *const *frames, size_t n)
{
	uint32_t locs[16];

	for (size_t i = 0; i < n; i++)
		locs[n - 1 - i] = loc(sd, frames[i]); /* OTLP order: leaf first */
	return svcdata__stack(sd, locs, n);
}

static uint32_t series(struct svcdata *sd, const char *proc, const char *pod)
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

#define T0 1700000000000000000ULL

/*
 * api (process "api", pod "p1"):  main;a;b 60  main;a 10  main;c 30       at T0 .. T0+1s
 *                                 main;a;a;b 20 (recursion)                at T0+2s
 * db  (process "db", pod "p2"):   main;q 40                                at T0+1s
 */
static void build(struct selection *sel)
{
	static const char *const s1[] = {"main", "a", "b"}, *const s2[] = {"main", "a"},
				 *const s3[] = {"main", "c"}, *const s4[] = {"main", "a", "a", "b"},
				 *const s5[] = {"main", "q"};
	struct svcdata *api = svcdata__new("api"), *db = svcdata__new("db");
	uint32_t sa = series(api, "api", "p1"), sd = series(db, "db", "p2");

	CHECK(svcdata__row(api, sa, stack(api, s1, 3), T0, 60) == 0);
	CHECK(svcdata__row(api, sa, stack(api, s2, 2), T0 + 500000000, 10) == 0);
	CHECK(svcdata__row(api, sa, stack(api, s3, 2), T0 + 900000000, 30) == 0);
	CHECK(svcdata__row(api, sa, stack(api, s4, 4), T0 + 2000000000ULL, 20) == 0);
	CHECK(svcdata__row(db, sd, stack(db, s5, 2), T0 + 1000000000, 40) == 0);
	memset(sel, 0, sizeof(*sel));
	CHECK(VEC_PUSH(&sel->svc, api) == 0);
	CHECK(VEC_PUSH(&sel->svc, db) == 0);
}

static void test_selectors(void)
{
	struct selector s;
	char err[256];

	CHECK(selector_parse("{}", &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 0);
	selector_free(&s);
	CHECK(selector_parse("", &s, err, sizeof(err)) == 0);
	selector_free(&s);
	CHECK(selector_parse(" { service_name = \"api\" , k8s_pod_name=~'p[0-9]+', x!=\"a\\\"b\", "
			     "y !~ \"\" } ",
			     &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 4);
	CHECK_STR(s.m.v[0].name, "service_name");
	CHECK(s.m.v[1].op == MATCH_RE);
	CHECK_STR(s.m.v[2].value, "a\"b");
	CHECK(s.m.v[3].op == MATCH_NRE);
	CHECK(selector_has(&s, "k8s_pod_name"));
	selector_free(&s);
	/* unquoted, unterminated, bad operators, bad regex, junk after: position and reason */
	CHECK(selector_parse("{a=b}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "position 4") && strstr(err, "quoted"));
	CHECK(selector_parse("{a=\"b\"", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "missing '}'") != NULL);
	CHECK(selector_parse("{a==\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{a<\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "expected =, !=") != NULL);
	CHECK(selector_parse("{a=~\"(\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "regular expression") != NULL);
	CHECK(selector_parse("{a=~\"(x)\\\\1\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "back-reference") != NULL);
	CHECK(selector_parse("{a=~\"x++\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "repeats a repetition") != NULL);
	CHECK(selector_parse("{a=~\"(x{100}){200}\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "over 10000") != NULL);
	CHECK(selector_parse("{a=~\"[+*]+x{2,5}(a|b)*c?\"}", &s, err, sizeof(err)) == 0);
	selector_free(&s);
	CHECK(selector_parse("{a=\"b\"} x", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{1a=\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{a=\"b\" b=\"c\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "expected ',' or '}'") != NULL);
}

/* The total and self of the node at path "proc;f1;f2" in a TSV flame graph, -1 if absent. */
static long long node_total(const char *tsv, const char *path, int col)
{
	char names[16][64];
	const char *p = tsv;

	while (*p) {
		unsigned int depth;
		char name[64];
		long long t, sf;
		const char *nl = strchr(p, '\n');

		if (sscanf(p, "%u\t%63[^\t]\t%lld\t%lld", &depth, name, &t, &sf) == 4 &&
		    depth < 16) {
			char full[512] = "";

			strcpy(names[depth], name);
			for (unsigned int d = 1; d <= depth; d++) {
				strcat(full, names[d]);
				if (d < depth)
					strcat(full, ";");
			}
			if (strcmp(full, path) == 0)
				return col == 0 ? t : sf;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

static void test_flamegraph(void)
{
	struct selection sel;
	struct fgraph g = {0};
	struct buf out = {0};
	const char *t;

	build(&sel);
	CHECK(fgraph_add_selection(&g, &sel, 0) == 0);
	CHECK(fgraph_tsv(&g, 1000, false, &out) == 0);
	t = buf_cstr(&out);
	CHECK_EQ_U64(node_total(t, "", 0), 160);
	CHECK_EQ_U64(node_total(t, "api", 0), 120);
	CHECK_EQ_U64(node_total(t, "api;main;a", 0), 90);
	CHECK_EQ_U64(node_total(t, "api;main;a", 1), 10);
	CHECK_EQ_U64(node_total(t, "api;main;a;b", 0), 60);
	CHECK_EQ_U64(node_total(t, "api;main;a;a;b", 1), 20);
	CHECK_EQ_U64(node_total(t, "db;main;q", 1), 40);
	CHECK(node_total(t, "db;main;a", 0) == -1);

	/* top: a's total counts the recursive stack once (90, not 110); b's self is 80 */
	buf_reset(&out);
	CHECK(fgraph_top(&g, 10, false, true, &out) == 0);
	t = buf_cstr(&out);
	CHECK(strncmp(t, "b\t80\t80\n", 8) == 0);
	CHECK(strstr(t, "\na\t10\t90\n") != NULL);
	CHECK(strstr(t, "\nmain\t0\t160\n") != NULL);
	CHECK(strstr(t, "api\t") == NULL); /* processes are not functions */
	buf_reset(&out);
	CHECK(fgraph_top(&g, 1, true, true, &out) == 0);
	CHECK_STR(buf_cstr(&out), "main\t0\t160\n");

	/* a limit of 4 nodes keeps the biggest and folds the rest into "other", totals kept */
	buf_reset(&out);
	CHECK(fgraph_json(&g, 4, false, &out) == 0);
	t = buf_cstr(&out);
	CHECK(strstr(t, "\"other\"") != NULL);
	CHECK(strstr(t, "\"total\":160") != NULL);
	CHECK(strstr(t, "\"folded_nodes\":0") == NULL);
	fgraph_free(&g);

	/* diff: the right side is db only */
	{
		struct selection right = {0};
		struct fgraph d = {0};

		CHECK(VEC_PUSH(&right.svc, sel.svc.v[1]) == 0);
		CHECK(fgraph_add_selection(&d, &sel, 0) == 0);
		CHECK(fgraph_add_selection(&d, &right, 1) == 0);
		buf_reset(&out);
		CHECK(fgraph_tsv(&d, 1000, true, &out) == 0);
		CHECK(strstr(buf_cstr(&out), "0\ttotal\t160\t0\t40\t0\n") != NULL);
		CHECK(strstr(buf_cstr(&out), "1\tapi\t120\t0\t0\t0\n") != NULL);
		VEC_FREE(&right.svc);
		fgraph_free(&d);
	}
	selection_free(&sel);
	buf_free(&out);
}

static void test_series_labels(void)
{
	struct selection sel;
	struct buf out = {0};

	build(&sel);
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
	CHECK_STR(buf_cstr(&out), "samples:count\n");
	/* heatmap: 4 (series, step) cells with 100, 20, 40 -> buckets of 25 */
	buf_reset(&out);
	CHECK(engine_heatmap(&sel, T0, T0 + 2000000000ULL, NSEC_PER_SEC, 4, &out) == 0);
	CHECK(strstr(buf_cstr(&out), "\"max\":100,\"counts\":[[0,0,0,1],[0,1,0,0],[1,0,0,0]]") !=
	      NULL);
	selection_free(&sel);
	buf_free(&out);
}

/* JSON out is valid whatever the string: escapes, and U+FFFD for bytes that are not UTF-8 */
static void test_json_string(void)
{
	struct buf b = {0};

	json_string(&b, "a\"\\\n\x01\xc3\xa9\xff\xfe\xc0\x80\xe2\x82");
	CHECK_STR(buf_cstr(&b),
		  "\"a\\\"\\\\\\u000a\\u0001\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	buf_free(&b);
}

int main(void)
{
	RUN(test_selectors);
	RUN(test_flamegraph);
	RUN(test_series_labels);
	RUN(test_json_string);
	return unit_done();
}
