// SPDX-License-Identifier: Apache-2.0
/*
 * collector/server.c, started on a free port with a real segment writer over a file store, and
 * spoken to by a real client (libcurl): readiness; an OTLP profile acknowledged once durable and
 * then found by the query API; bad requests refused with their reason; tenants and bearer
 * tokens; the metrics page; and quiescing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "http_client.h"
#include "agent_profile_fixture.h"
#include "../../collector/auth.h"
#include "../../collector/objstore.h"
#include "../../collector/segment.h"
#include "../../collector/server.h"
#include "../../common/gzip.h"
#include "../../common/util.h"

static char tmpdir[] = "/tmp/sonde-test-server.XXXXXX";

struct fixture {
	struct objstore *store;
	struct segwriter *writer;
	struct auth *auth;
	struct server *server;
	unsigned port;
};

static int start(struct fixture *f, bool with_auth)
{
	char url[128], err[256], listen[32], path[128];
	struct segwriter_opts wo = {.max_age_ns = 50000000};
	struct server_opts so = {0};

	memset(f, 0, sizeof(*f));
	snprintf(url, sizeof(url), "file://%s/store%d", tmpdir, with_auth);
	f->store = objstore__open(url, err, sizeof(err));
	if (!f->store)
		return -1;
	wo.store = f->store;
	f->writer = segwriter__new(&wo);
	if (with_auth) {
		int fd;

		snprintf(path, sizeof(path), "%s/tokens", tmpdir);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, "secret-token-0123456789 team-a\n", 31) != 31)
			return -1;
		close(fd);
		f->auth = auth__load(path, err, sizeof(err));
	}
	f->port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
	so.listen = listen;
	so.writer = f->writer;
	so.auth = f->auth;
	so.threads = 2;
	so.api.store = f->store;
	f->server = f->writer && f->port ? server__new(&so) : NULL;
	return f->server ? 0 : -1;
}

static void stop(struct fixture *f)
{
	server__quiesce(f->server);
	segwriter__drain(f->writer, clock_ns(CLOCK_MONOTONIC) + 10000000000ULL);
	server__wait_answered(f->server, clock_ns(CLOCK_MONOTONIC) + 10000000000ULL);
	server__free(f->server);
	segwriter__free(f->writer);
	auth__free(f->auth);
	objstore__free(f->store);
}

static const char *const proto[] = {"Content-Type: application/x-protobuf", "X-Scope-OrgID: team-a",
				    NULL};

static void test_ingest_and_query(void)
{
	struct fixture f;
	struct agent_fixture fx;
	struct buf req = {0}, gz = {0}, body = {0}, hdr = {0};
	char path[512];

	REQUIRE(start(&f, false) == 0);
	REQUIRE(agent_fixture__init(&fx) == 0);
	REQUIRE(agent_fixture__encode(&fx, &req) == 0);
	CHECK_EQ_U64(http_request(f.port, "/ready", NULL, NULL, NULL, NULL), 200);

	/* a profile, acknowledged once stored; and the same gzip'd */
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", proto, &req, &body, NULL),
		     200);
	{
		const char *const gzh[] = {"Content-Type: application/x-protobuf",
					   "Content-Encoding: gzip", "X-Scope-OrgID: team-a", NULL};

		REQUIRE(gzip_append(req.data, req.len, &gz) == 0);
		CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", gzh, &gz, NULL, NULL),
			     200);
	}

	/* refusals, each with its reason in the body */
	buf_reset(&body);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles",
				  (const char *const[]){"Content-Type: text/plain", NULL}, &req,
				  &body, NULL),
		     415);
	CHECK(strstr(buf_cstr(&body), "Content-Type must be application/x-protobuf") != NULL);
	buf_reset(&body);
	{
		struct buf junk = {0};

		buf_puts(&junk, "\xff\xff\xff not protobuf");
		CHECK_EQ_U64(
			http_request(f.port, "/v1development/profiles", proto, &junk, &body, NULL),
			400);
		CHECK(strstr(buf_cstr(&body), "not a valid ExportProfilesServiceRequest") != NULL);
		buf_free(&junk);
	}
	buf_reset(&body);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles",
				  (const char *const[]){"Content-Type: application/x-protobuf",
							"X-Scope-OrgID: bad/tenant", NULL},
				  &req, &body, NULL),
		     400);
	CHECK(strstr(buf_cstr(&body), "invalid X-Scope-OrgID") != NULL);
	CHECK_EQ_U64(http_request(f.port, "/no/such/path", NULL, NULL, NULL, NULL), 404);

	/* what was stored is what the query API finds: 2 x 7 samples, the long C++ name there */
	buf_reset(&body);
	snprintf(path, sizeof(path), "/api/v1/top?from=%llu&to=%llu&limit=50",
		 (unsigned long long)(1700000000000000000ULL / 1000000000ULL - 60),
		 (unsigned long long)(1700000000000000000ULL / 1000000000ULL + 60));
	CHECK_EQ_U64(http_request(f.port, path,
				  (const char *const[]){"X-Scope-OrgID: team-a", NULL}, NULL, &body,
				  NULL),
		     200);
	CHECK(strstr(buf_cstr(&body), "\"total\":14") != NULL);
	CHECK(strstr(buf_cstr(&body), "std::vector<int>::push_back(int const&)") != NULL);
	/* another tenant sees nothing of it */
	buf_reset(&body);
	http_request(f.port, path, (const char *const[]){"X-Scope-OrgID: team-b", NULL}, NULL,
		     &body, NULL);
	CHECK(strstr(buf_cstr(&body), "push_back") == NULL);

	/* the metrics page counts what happened */
	buf_reset(&body);
	CHECK_EQ_U64(http_request(f.port, "/metrics", NULL, NULL, &body, &hdr), 200);
	CHECK(strstr(buf_cstr(&body), "sonde_collector_requests_total{code=\"200\"}") != NULL);
	CHECK(strstr(buf_cstr(&body), "sonde_collector_requests_total{code=\"400\"} 2") != NULL);
	CHECK(strstr(buf_cstr(&body), "sonde_collector_samples_total 14") != NULL);

	/* quiesced: not ready, and new profiles are refused with a time to retry */
	server__quiesce(f.server);
	CHECK_EQ_U64(http_request(f.port, "/ready", NULL, NULL, NULL, NULL), 503);
	buf_reset(&hdr);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", proto, &req, NULL, &hdr), 503);
	CHECK(strcasestr(buf_cstr(&hdr), "Retry-After:") != NULL);

	stop(&f);
	agent_fixture__free(&fx);
	buf_free(&req);
	buf_free(&gz);
	buf_free(&body);
	buf_free(&hdr);
}

static void test_tokens(void)
{
	struct fixture f;
	struct agent_fixture fx;
	struct buf req = {0}, body = {0};
	const char *const good[] = {"Content-Type: application/x-protobuf",
				    "Authorization: Bearer secret-token-0123456789", NULL};
	const char *const wrong[] = {"Content-Type: application/x-protobuf",
				     "Authorization: Bearer not-the-token-0123456", NULL};
	const char *const other[] = {"Content-Type: application/x-protobuf",
				     "Authorization: Bearer secret-token-0123456789",
				     "X-Scope-OrgID: team-b", NULL};

	REQUIRE(start(&f, true) == 0);
	REQUIRE(agent_fixture__init(&fx) == 0);
	REQUIRE(agent_fixture__encode(&fx, &req) == 0);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", proto, &req, NULL, NULL), 401);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", wrong, &req, NULL, NULL), 401);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", other, &req, &body, NULL),
		     403);
	CHECK(strstr(buf_cstr(&body), "not for tenant 'team-b'") != NULL);
	CHECK_EQ_U64(http_request(f.port, "/v1development/profiles", good, &req, NULL, NULL), 200);
	CHECK_EQ_U64(http_request(f.port, "/api/v1/labels", NULL, NULL, NULL, NULL), 401);
	stop(&f);
	agent_fixture__free(&fx);
	buf_free(&req);
	buf_free(&body);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir))
		return 1;
	curl_global_init(CURL_GLOBAL_ALL);
	RUN(test_ingest_and_query);
	RUN(test_tokens);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	return unit_done();
}
