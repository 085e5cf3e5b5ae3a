// SPDX-License-Identifier: Apache-2.0
/*
 * agent/k8s_client.c against a stand-in API server in this process (libmicrohttpd, plain HTTP),
 * answering in the API server's formats: the client lists the node's pods (from the cache,
 * resourceVersion=0), retries a truncated list, watches from the list's resourceVersion, applies
 * watch events, lists again consistently after 410 Gone, sends the bearer token it reads from
 * its file, counts a refused token, and stops at once with a watch in flight.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/k8s_client.h"
#include "../../common/buf.h"
#include "../../common/httpd.h"
#include "../../common/util.h"

#define UID_A "0a0a0a0a-0000-4000-8000-00000000000a"
#define UID_B "0b0b0b0b-0000-4000-8000-00000000000b"
#define POD(uid, name)                                                                           \
	"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" name                 \
	"\",\"namespace\":\"shop\",\"uid\":\"" uid "\",\"resourceVersion\":\"101\",\"labels\":{" \
	"\"app\":\"" name "\"}},\"spec\":{\"nodeName\":\"node-1\"}}"

/* The stand-in API server: what it answers and what it was asked. */
struct fake {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	int lists, watches;
	int malformed_lists; /* answer this many lists with truncated JSON */
	bool stopping;	     /* ends a hanging watch */
	char list_query[4][256];
	char watch_rv[4][32];
	int unauthorized;
};

/* A watch that sends nothing until the test ends (the client must be able to stop anyway). */
static ssize_t hang(void *cls, uint64_t pos, char *out, size_t max)
{
	struct fake *f = cls;
	bool stop;

	(void)pos;
	(void)out;
	(void)max;
	usleep(10000);
	pthread_mutex_lock(&f->lock);
	stop = f->stopping;
	pthread_mutex_unlock(&f->lock);
	return stop ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	struct buf body = {0};

	buf_puts(&body, text);
	return httpd_answer(conn, status, "application/json", &body, NULL, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct fake *f = cls;
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	const char *watch = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch");
	const char *rv =
		MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "resourceVersion");
	const char *sel = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "fieldSelector");
	int n;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, "GET") != 0 || strcmp(url, "/api/v1/pods") != 0 || !sel ||
	    strcmp(sel, "spec.nodeName=node-1") != 0)
		return answer(conn, 400, "{\"kind\":\"Status\",\"code\":400}");
	pthread_mutex_lock(&f->lock);
	if (!auth || strcmp(auth, "Bearer s3cret") != 0) {
		f->unauthorized++;
		pthread_mutex_unlock(&f->lock);
		return answer(conn, 401,
			      "{\"kind\":\"Status\",\"code\":401,\"reason\":\"Unauthorized\"}");
	}
	if (!watch) {
		n = f->lists++;
		if (n < 4)
			snprintf(f->list_query[n], sizeof(f->list_query[n]), "rv=%s", rv ? rv : "");
		pthread_mutex_unlock(&f->lock);
		if (n < f->malformed_lists)
			return answer(conn, 200,
				      "{\"kind\":\"PodList\",\"items\":[" POD(UID_A, "a"));
		return answer(conn, 200,
			      "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
			      "\"resourceVersion\":\"100\"},\"items\":[" POD(UID_A, "a") "]}");
	}
	n = f->watches++;
	if (n < 4)
		snprintf(f->watch_rv[n], sizeof(f->watch_rv[n]), "%s", rv ? rv : "");
	pthread_mutex_unlock(&f->lock);
	if (n == 0) /* one event, then the server ends the watch */
		return answer(conn, 200, "{\"type\":\"ADDED\",\"object\":" POD(UID_B, "b") "}\n");
	if (n == 1) /* the version is too old now */
		return answer(conn, 410,
			      "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}");
	{
		struct MHD_Response *r =
			MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, hang, f, NULL);
		enum MHD_Result ret = MHD_queue_response(conn, 200, r);

		MHD_destroy_response(r);
		return ret;
	}
}

static int fake_start(struct fake *f, char *url, size_t url_size)
{
	const union MHD_DaemonInfo *info;

	pthread_mutex_init(&f->lock, NULL);
	f->d = httpd_listen("127.0.0.1:0",
			    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, handle,
			    f, NULL, "test");
	if (!f->d)
		return -1;
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, url_size, "http://127.0.0.1:%u/", info ? info->port : 0);
	return 0;
}

static void fake_stop(struct fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_mutex_unlock(&f->lock);
	if (f->d)
		MHD_stop_daemon(f->d);
	pthread_mutex_destroy(&f->lock);
}

static char *token_file(const char *token)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/sonde-test-token.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, token, strlen(token)) < 0)
		path[0] = 0;
	close(fd);
	return path;
}

/* Waits up to 15 s for cond (re-evaluated every 20 ms). */
#define WAIT_FOR(cond)                                      \
	do {                                                \
		for (int w_ = 0; w_ < 750 && !(cond); w_++) \
			usleep(20000);                      \
	} while (0)

static void test_list_watch_relist(void)
{
	struct fake f = {.malformed_lists = 1};
	struct k8s_opts o = {.node_name = "node-1", .user_agent = "test"};
	struct label_set ls = {0};
	struct k8s_stats st;
	struct k8s_meta *m;
	char url[64], svc[64], *tok = token_file("s3cret\n");
	uint64_t t0;

	CHECK(tok != NULL);
	if (fake_start(&f, url, sizeof(url)) || !tok) {
		CHECK(0);
		return;
	}
	o.api_url = url;
	o.token_file = tok;
	m = k8s_meta__new(&o);
	CHECK(m != NULL);
	if (!m)
		goto out;
	CHECK(k8s_meta__wait_synced(m, 15000) == 0);
	CHECK(k8s_meta__labels(m, UID_A, "", &ls, svc, sizeof(svc), NULL) > 0);
	CHECK_STR(label_set_get(&ls, "k8s.pod.name"), "a");
	CHECK_STR(label_set_get(&ls, "k8s.namespace.name"), "shop");
	WAIT_FOR(k8s_meta__version(m, UID_B) > 0); /* from the watch */
	CHECK(k8s_meta__version(m, UID_B) > 0);
	k8s_meta__stats(m, &st);
	WAIT_FOR((k8s_meta__stats(m, &st), st.relists >= 1 && st.watch_requests >= 3));
	CHECK(st.synced);
	CHECK_EQ_U64(st.relists, 1);
	CHECK_EQ_U64(st.list_requests, 3);
	CHECK(st.request_errors >= 1); /* the truncated list */
	CHECK_EQ_U64(st.store.pods, 2);
	pthread_mutex_lock(&f.lock);
	CHECK_STR(f.list_query[0], "rv=0"); /* from the API server's cache */
	CHECK_STR(f.list_query[1], "rv=0"); /* retried after the truncated one */
	CHECK_STR(f.list_query[2], "rv=");  /* after 410: a consistent read */
	CHECK_STR(f.watch_rv[0], "100");    /* the list's version */
	CHECK_EQ_U64(f.unauthorized, 0);
	pthread_mutex_unlock(&f.lock);
	/* the third watch hangs: freeing the client aborts it */
	t0 = clock_ns(CLOCK_MONOTONIC);
	k8s_meta__free(m);
	CHECK(clock_ns(CLOCK_MONOTONIC) - t0 < 5 * NSEC_PER_SEC);
out:
	label_set_free(&ls);
	fake_stop(&f);
	unlink(tok);
}

static void test_refused_token(void)
{
	struct fake f = {0};
	struct k8s_opts o = {.node_name = "node-1"};
	struct k8s_stats st;
	struct k8s_meta *m;
	char url[64], *tok = token_file("wrong");
	uint64_t t0;

	if (fake_start(&f, url, sizeof(url)) || !tok) {
		CHECK(0);
		return;
	}
	o.api_url = url;
	o.token_file = tok;
	m = k8s_meta__new(&o);
	CHECK(m != NULL);
	CHECK(k8s_meta__wait_synced(m, 300) != 0);
	WAIT_FOR((k8s_meta__stats(m, &st), st.request_errors >= 1));
	CHECK(!st.synced);
	CHECK(st.request_errors >= 1);
	CHECK_EQ_U64(st.store.pods, 0);
	pthread_mutex_lock(&f.lock);
	CHECK(f.unauthorized >= 1);
	pthread_mutex_unlock(&f.lock);
	t0 = clock_ns(CLOCK_MONOTONIC); /* waiting out its backoff: stops at once */
	k8s_meta__free(m);
	CHECK(clock_ns(CLOCK_MONOTONIC) - t0 < 2 * NSEC_PER_SEC);
	fake_stop(&f);
	unlink(tok);
}

static void test_unusable_options(void)
{
	struct k8s_opts o = {.api_url = "http://127.0.0.1:1"};

	CHECK(k8s_meta__new(&o) == NULL); /* no node name */
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	RUN(test_list_watch_relist);
	RUN(test_refused_token);
	RUN(test_unusable_options);
	curl_global_cleanup();
	return unit_done();
}
