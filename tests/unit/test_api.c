// SPDX-License-Identifier: Apache-2.0
/*
 * collector/api.c behind a plain libmicrohttpd daemon (not the collector's server), over a file
 * store holding one known profile: the answers of top, flamegraph, export and label_values,
 * the parameters (selector, times, limits, type), each bad one refused with a 4xx and a JSON
 * {"error": ...} that says what is wrong, and the UI's files.
 */
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "http_client.h"
#include "agent_profile_fixture.h"
#include "../../collector/api.h"
#include "../../collector/ingest.h"
#include "../../collector/objstore.h"
#include "../../collector/segment.h"
#include "../../common/httpd.h"
#include "../../common/util.h"

static char tmpdir[] = "/tmp/sonde-test-api.XXXXXX";
static struct api_opts opts;

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **state)
{
	struct api_reply r;

	api_handle(&opts, conn, "team-a", "GET", url, NULL, &r);
	return httpd_answer(conn, r.status, r.type, &r.body, r.header, r.header_value);
}

static void done(void *ctx, int err)
{
	*(int *)ctx = err + 1000;
}

/* Stores the fixture's profile for tenant team-a, durably. */
static int store_profile(struct objstore *store)
{
	struct segwriter_opts wo = {.store = store, .max_age_ns = 10000000};
	struct segwriter *w = segwriter__new(&wo);
	struct agent_fixture fx;
	struct ingest_request *r = NULL;
	struct buf req = {0};
	char msg[INGEST_MSG_SIZE];
	int result = 0, err = -1;

	if (w && agent_fixture__init(&fx) == 0 && agent_fixture__encode(&fx, &req) == 0 &&
	    ingest_decode(req.data, req.len, NULL, &r, msg, sizeof(msg)) == 0 &&
	    segwriter__add(w, "team-a", r, done, &result) == 0 &&
	    segwriter__drain(w, clock_ns(CLOCK_MONOTONIC) + 10000000000ULL) == 0)
		err = result == 1000 ? 0 : -1;
	ingest_request_free(r);
	segwriter__free(w);
	agent_fixture__free(&fx);
	buf_free(&req);
	return err;
}

static unsigned port;
static char range[80]; /* from=..&to=.. around the profile */

/* GET /api/v1/OP?range&QUERY: the status; the body in out (reset first). */
static long get(const char *op_query, struct buf *out)
{
	char path[400];

	buf_reset(out);
	snprintf(path, sizeof(path), "/api/v1/%s%s%s", op_query, strchr(op_query, '?') ? "&" : "?",
		 range);
	return http_request(port, path, NULL, NULL, out, NULL);
}

static void test_answers(void)
{
	struct buf b = {0};
	uint64_t total = 0;

	CHECK_EQ_U64(get("top?limit=50", &b), 200);
	CHECK(strstr(buf_cstr(&b), "\"total\":7") != NULL);
	CHECK(strstr(buf_cstr(&b), "std::vector<int>::push_back(int const&)") != NULL);
	CHECK_EQ_U64(get("top?limit=1&sort=total", &b), 200);
	CHECK(strstr(buf_cstr(&b), "\"name\":\"main_[k]\"") != NULL); /* on every stack */
	CHECK(strstr(buf_cstr(&b), "leaf_fn") == NULL);		      /* limit 1 */
	CHECK_EQ_U64(get("flamegraph?format=tsv", &b), 200);
	CHECK(strstr(buf_cstr(&b), "caller_fn") != NULL);
	CHECK_EQ_U64(get("export?format=folded", &b), 200);
	/* each line ends in its count (names have spaces: "int const&") */
	for (char *l = (char *)buf_cstr(&b), *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
		*nl = 0;
		if (strrchr(l, ' '))
			total += strtoull(strrchr(l, ' ') + 1, NULL, 10);
	}
	CHECK_EQ_U64(total, 7);
	CHECK_EQ_U64(get("label_values?name=service_name", &b), 200);
	CHECK(buf_cstr(&b)[0] == '[');
	CHECK_EQ_U64(get("profile_types", &b), 200);
	CHECK_STR(buf_cstr(&b), "[\"process_cpu:cpu:nanoseconds:cpu:nanoseconds\"]");
	/* the stored form of a type selects as well as its ID */
	CHECK_EQ_U64(get("top?type=samples:count", &b), 200);
	CHECK_EQ_U64(get("top?type=process_cpu:cpu:nanoseconds:cpu:nanoseconds", &b), 200);
	/* a selector that matches nothing: an empty answer, not an error */
	CHECK_EQ_U64(get("top?query={service_name=\"nosuch\"}", &b), 200);
	CHECK(strstr(buf_cstr(&b), "push_back") == NULL);
	buf_free(&b);
}

static void test_errors(void)
{
	static const struct {
		const char *op;
		long status;
		const char *msg;
	} bad[] = {
		{"nope", 404, "no such endpoint: /api/v1/nope"},
		{"top?query=%7Ba%3D", 400, "query: "},
		{"top?query=%7Ba%3D~%22(%22%7D", 400, "regular expression"},
		{"top?from=yesterday", 400, "'yesterday' is not a time"},
		{"top?limit=0", 400, "limit"},
		{"top?limit=lots", 400, "limit"},
		{"flamegraph?type=cpu:bogus", 400, "unknown profile type 'cpu:bogus'"},
		{"label_values", 400, "name: the label whose values to list is required"},
		{"series?step=100000d", 400, "longer than the longest range"},
	};
	struct buf b = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long st = get(bad[i].op, &b);

		CHECK_EQ_U64(st, bad[i].status);
		CHECK(strncmp(buf_cstr(&b), "{\"error\":", 9) == 0 &&
		      strstr(buf_cstr(&b), bad[i].msg) != NULL);
		if (!strstr(buf_cstr(&b), bad[i].msg))
			fprintf(stderr, "  %s: %ld %s\n", bad[i].op, st, buf_cstr(&b));
	}
	/* a range longer than the limit */
	{
		char path[200];

		snprintf(path, sizeof(path), "/api/v1/top?from=0&to=%llu",
			 (unsigned long long)(1700000000ULL));
		buf_reset(&b);
		CHECK_EQ_U64(http_request(port, path, NULL, NULL, &b, NULL), 400);
		CHECK(strstr(buf_cstr(&b), "over the limit") != NULL);
	}
	buf_free(&b);
}

static void test_ui_files(void)
{
	struct buf b = {0}, h = {0};

	CHECK(api_path("/api/v1/top") && api_path("/") && api_path("/ui/app.js"));
	CHECK(!api_path("/v1development/profiles") && !api_path("/metrics"));
	CHECK_EQ_U64(http_request(port, "/", NULL, NULL, &b, &h), 200);
	CHECK(strstr(buf_cstr(&b), "<html") != NULL || strstr(buf_cstr(&b), "<!doctype") != NULL ||
	      strstr(buf_cstr(&b), "<!DOCTYPE") != NULL);
	CHECK(strcasestr(buf_cstr(&h), "Content-Type: text/html") != NULL);
	buf_reset(&b);
	CHECK_EQ_U64(http_request(port, "/ui/app.js", NULL, NULL, &b, NULL), 200);
	CHECK(strstr(buf_cstr(&b), "function renderTop") != NULL);
	CHECK_EQ_U64(http_request(port, "/ui/nope.js", NULL, NULL, NULL, NULL), 404);
	buf_free(&b);
	buf_free(&h);
}

int main(void)
{
	char url[128], err[256], addr[32], cmd[128];
	struct MHD_Daemon *d = NULL;
	int ret;

	if (!mkdtemp(tmpdir))
		return 1;
	curl_global_init(CURL_GLOBAL_ALL);
	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	opts.store = objstore__open(url, err, sizeof(err));
	port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	snprintf(range, sizeof(range), "from=%llu&to=%llu", 1700000000ULL - 60, 1700000000ULL + 60);
	if (opts.store && store_profile(opts.store) == 0)
		d = httpd_listen(addr, MHD_USE_INTERNAL_POLLING_THREAD, handler, NULL, NULL,
				 "listen");
	if (!d) {
		fprintf(stderr, "cannot set up the store and the daemon\n");
		return 1;
	}
	RUN(test_answers);
	RUN(test_errors);
	RUN(test_ui_files);
	MHD_stop_daemon(d);
	objstore__free(opts.store);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ret = system(cmd);
	return ret ? 1 : unit_done();
}
