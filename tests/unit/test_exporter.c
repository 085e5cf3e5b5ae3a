// SPDX-License-Identifier: Apache-2.0
/*
 * The OTLP exporter against a local HTTP server this test starts (libmicrohttpd, a thread per
 * connection) that answers from a script: Retry-After in seconds and as an HTTP-date, the
 * backoff cap and its reset once the collector answers, several requests in flight, and every
 * dropped request counted by reason. Assertions are on what the exporter counted and what the
 * server received, not on how long things took.
 */
#include <curl/curl.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/exporter.h"
#include "../../common/buf.h"
#include "../../common/httpd.h"
#include "../../common/util.h"

#define MAX_SCRIPT 16
#define MAX_SEEN 64

/* One answer of the script: a status and, if set, a Retry-After value. */
struct answer {
	unsigned int status;
	const char *retry_after; /* "DATE+N": an HTTP-date N seconds from now */
};

struct server {
	struct MHD_Daemon *daemon;
	unsigned int port;
	struct exporter *ex; /* whose backoff is read as each request arrives */
	pthread_mutex_t lock;
	struct answer script[MAX_SCRIPT]; /* answers in turn; then 200 */
	unsigned int nscript;
	unsigned int nseen;
	uint64_t backoff_ms[MAX_SEEN]; /* the exporter's backoff when request i arrived */
	size_t body_len[MAX_SEEN];
	unsigned int hold_ms; /* each answer waits this long */
	unsigned int active, max_active;
};

struct upload {
	size_t len;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **req_cls)
{
	struct server *s = cls;
	struct upload *u = *req_cls;
	struct exporter_stats st = {0};
	struct answer a = {200, NULL};
	struct buf body = {0};
	char date[64];
	unsigned int i;

	(void)url;
	(void)method;
	(void)version;
	(void)data;
	if (!u) {
		*req_cls = calloc(1, sizeof(*u));
		return *req_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		u->len += *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	if (s->ex)
		exporter__stats(s->ex, &st);
	pthread_mutex_lock(&s->lock);
	i = s->nseen++;
	if (i < MAX_SEEN) {
		s->backoff_ms[i] = st.backoff_ms;
		s->body_len[i] = u->len;
	}
	if (i < s->nscript)
		a = s->script[i];
	s->active++;
	s->max_active = MAX(s->max_active, s->active);
	pthread_mutex_unlock(&s->lock);
	if (s->hold_ms)
		usleep(s->hold_ms * 1000);
	pthread_mutex_lock(&s->lock);
	s->active--;
	pthread_mutex_unlock(&s->lock);
	free(u);
	*req_cls = NULL;
	if (a.retry_after && strncmp(a.retry_after, "DATE+", 5) == 0) {
		time_t t = time(NULL) + atoi(a.retry_after + 5);
		struct tm tm;

		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
		return httpd_answer(conn, a.status, "text/plain", &body, "Retry-After", date);
	}
	return httpd_answer(conn, a.status, "text/plain", &body,
			    a.retry_after ? "Retry-After" : NULL, a.retry_after);
}

static void server_start(struct server *s, const struct answer *script, unsigned int n)
{
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	if (n) /* no script: NULL, which memcpy may not be given */
		memcpy(s->script, script, n * sizeof(*script));
	s->nscript = n;
	s->daemon = httpd_listen("127.0.0.1:0",
				 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				 handle, s, NULL, "test");
	info = s->daemon ? MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	s->port = info ? info->port : 0;
	CHECK(s->port != 0);
}

static void server_stop(struct server *s)
{
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	pthread_mutex_destroy(&s->lock);
}

static struct exporter *exporter_for(unsigned int port, struct exporter_opts *o)
{
	static char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1development/profiles", port);
	o->url = url;
	return exporter__new(o);
}

/* Queues a request of len bytes (any content: the server does not decode it). */
static int enqueue(struct exporter *ex, size_t len, uint32_t nprofiles, uint64_t nsamples)
{
	uint8_t *data = calloc(1, len);

	return data ? exporter__enqueue(ex, data, len, nprofiles, nsamples) : -ENOMEM;
}

static uint64_t in_s(double s)
{
	return clock_ns(CLOCK_MONOTONIC) + (uint64_t)(s * 1e9);
}

static void test_retry_after_values(void)
{
	int64_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */

	CHECK(retry_after_seconds("120", now) == 120);
	CHECK(retry_after_seconds(" 5\r\n", now) == 5);
	CHECK(retry_after_seconds("0", now) == 0);
	CHECK(retry_after_seconds("-3", now) == -1);
	CHECK(retry_after_seconds("soon", now) == -1);
	CHECK(retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30);
	CHECK(retry_after_seconds("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0); /* past */
}

static void test_backoff_capped(void)
{
	static const uint32_t randoms[] = {0, 1, 12345, UINT32_MAX};

	for (uint32_t attempt = 0; attempt < 40; attempt++) {
		uint64_t step = MIN(1000ull << MIN(attempt, 20u), 30000ull);

		for (size_t r = 0; r < ARRAY_SIZE(randoms); r++) {
			uint64_t ms = exporter_backoff_ms(1000, 30000, attempt, randoms[r]);

			CHECK(ms >= step / 2 && ms <= step);
		}
	}
	CHECK(exporter_backoff_ms(1000, 30000, 0, 0) == 500);
	CHECK(exporter_backoff_ms(1000, 30000, 63, UINT32_MAX) <= 30000);
}

/* 503 with Retry-After in seconds, then as an HTTP-date, then 200: the same request, waited. */
static void test_retry_after_honoured(void)
{
	static const struct answer script[] = {{503, "1"}, {503, "DATE+2"}, {200, NULL}};
	struct exporter_opts o = {.initial_backoff_ms = 10, .max_backoff_ms = 50};
	struct exporter_stats st;
	struct server s;
	struct exporter *ex;

	server_start(&s, script, ARRAY_SIZE(script));
	ex = exporter_for(s.port, &o);
	s.ex = ex;
	CHECK(ex != NULL);
	if (!ex)
		goto out;
	CHECK(enqueue(ex, 1000, 2, 77) == 0);
	CHECK(exporter__flush(ex, in_s(20)) == 0);
	exporter__stats(ex, &st);
	CHECK_EQ_U64(s.nseen, 3);
	CHECK_EQ_U64(st.requests_sent, 1);
	CHECK_EQ_U64(st.samples_sent, 77);
	CHECK_EQ_U64(st.retries, 2);
	CHECK_EQ_U64(st.dropped_requests, 0);
	/* the waits the collector asked for, not the (50 ms) backoff */
	CHECK_EQ_U64(s.backoff_ms[1], 1000);
	CHECK(s.backoff_ms[2] >= 1000 && s.backoff_ms[2] <= 2000);
	CHECK(s.body_len[0] == 1000 && s.body_len[1] == 1000 && s.body_len[2] == 1000);
	exporter__free(ex);
out:
	server_stop(&s);
}

/* 503 without Retry-After: the backoff grows to its cap; an answer resets it. */
static void test_backoff_cap_and_reset(void)
{
	static const struct answer script[] = {
		{503, NULL}, {503, NULL}, {503, NULL}, {503, NULL}, {200, NULL}, {503, NULL},
	};
	struct exporter_opts o = {.initial_backoff_ms = 40, .max_backoff_ms = 100};
	struct exporter_stats st;
	struct server s;
	struct exporter *ex;

	server_start(&s, script, ARRAY_SIZE(script));
	ex = exporter_for(s.port, &o);
	s.ex = ex;
	CHECK(ex != NULL);
	if (!ex)
		goto out;
	CHECK(enqueue(ex, 100, 1, 1) == 0);
	CHECK(exporter__flush(ex, in_s(20)) == 0);
	CHECK_EQ_U64(s.nseen, 5);
	/* after failures 1..4: steps of 40, 80, then capped at 100 */
	CHECK(s.backoff_ms[1] >= 20 && s.backoff_ms[1] <= 40);
	CHECK(s.backoff_ms[2] >= 40 && s.backoff_ms[2] <= 80);
	CHECK(s.backoff_ms[3] >= 50 && s.backoff_ms[3] <= 100);
	CHECK(s.backoff_ms[4] >= 50 && s.backoff_ms[4] <= 100);
	/* a new failure after the success starts again from the first step */
	CHECK(enqueue(ex, 100, 1, 1) == 0);
	CHECK(exporter__flush(ex, in_s(20)) == 0);
	CHECK_EQ_U64(s.nseen, 7);
	CHECK(s.backoff_ms[6] >= 20 && s.backoff_ms[6] <= 40);
	exporter__stats(ex, &st);
	CHECK_EQ_U64(st.requests_sent, 2);
	CHECK_EQ_U64(st.retries, 5);
	exporter__free(ex);
out:
	server_stop(&s);
}

/* A backlog is sent several requests at a time. */
static void test_backlog_in_parallel(void)
{
	struct exporter_opts o = {.max_in_flight = 4};
	struct exporter_stats st;
	struct server s;
	struct exporter *ex;

	server_start(&s, NULL, 0);
	s.hold_ms = 300;
	ex = exporter_for(s.port, &o);
	CHECK(ex != NULL);
	if (!ex)
		goto out;
	for (int i = 0; i < 8; i++)
		CHECK(enqueue(ex, 100, 1, 10) == 0);
	CHECK(exporter__flush(ex, in_s(30)) == 0);
	exporter__stats(ex, &st);
	CHECK_EQ_U64(st.requests_sent, 8);
	CHECK_EQ_U64(st.samples_sent, 80);
	CHECK(s.max_active >= 2);
	printf("     at most %u requests in flight\n", s.max_active);
	exporter__free(ex);
out:
	server_stop(&s);
}

/* Refused, queue full and shutdown: every dropped request counted, with its samples. */
static void test_drops_counted(void)
{
	static const struct answer refuse[] = {{400, NULL}};
	struct exporter_opts o = {.max_queue_bytes = 250, .initial_backoff_ms = 10};
	struct exporter_stats st;
	struct server s;
	struct exporter *ex;
	unsigned int port;

	server_start(&s, refuse, 1);
	ex = exporter_for(s.port, &o);
	CHECK(ex != NULL);
	if (!ex)
		goto out;
	CHECK(enqueue(ex, 100, 3, 30) == 0);
	CHECK(exporter__flush(ex, in_s(20)) == 0);
	exporter__stats(ex, &st);
	CHECK_EQ_U64(st.dropped[EXPORTER_DROP_REFUSED], 1);
	CHECK_EQ_U64(st.dropped_samples, 30);
	CHECK_EQ_U64(st.retries, 0);
	exporter__free(ex);

	/* a collector that is not there: the queue fills, then the exporter stops */
	port = s.port;
	server_stop(&s);
	s.daemon = NULL;
	ex = exporter_for(port, &o);
	CHECK(ex != NULL);
	if (!ex)
		return;
	CHECK(enqueue(ex, 300, 1, 1000) == -E2BIG); /* larger than the queue */
	for (int i = 0; i < 5; i++)
		CHECK(enqueue(ex, 100, 1, 10) == 0);
	exporter__stop(ex);
	CHECK(enqueue(ex, 100, 1, 10) == -ESHUTDOWN);
	exporter__stats(ex, &st);
	CHECK_EQ_U64(st.requests_sent, 0);
	CHECK_EQ_U64(st.dropped_requests, 7);
	CHECK_EQ_U64(st.dropped[EXPORTER_DROP_QUEUE_FULL] + st.dropped[EXPORTER_DROP_SHUTDOWN], 7);
	CHECK(st.dropped[EXPORTER_DROP_QUEUE_FULL] >= 4); /* 250 bytes hold two of 100 */
	CHECK(st.dropped[EXPORTER_DROP_SHUTDOWN] >= 2);
	CHECK_EQ_U64(st.dropped_samples, 1000 + 6 * 10);
	CHECK_EQ_U64(st.queue_requests, 0);
	CHECK_EQ_U64(st.queue_samples, 0);
	exporter__free(ex);
	return;
out:
	server_stop(&s);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(test_retry_after_values);
	RUN(test_backoff_capped);
	RUN(test_retry_after_honoured);
	RUN(test_backoff_cap_and_reset);
	RUN(test_backlog_in_parallel);
	RUN(test_drops_counted);
	curl_global_cleanup();
	return unit_done();
}
