// SPDX-License-Identifier: Apache-2.0
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_client.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"

#define RV_MAX POD_STORE_RV_MAX
#define LIST_MAX_BYTES (64u << 20) /* a node's PodList: about 10 KiB a pod */
#define EVENT_MAX_BYTES (4u << 20) /* one watch event: a pod of the largest size etcd takes */
#define ERROR_BODY_MAX 2048
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define EXPIRE_EVERY_NS (10 * NSEC_PER_SEC) /* deleted pods are looked for at most this often */

struct k8s_meta {
	uint32_t watch_timeout_s;
	char *api_url, *node_name, *token_file, *ca_file, *user_agent;
	struct pod_store *store;
	CURL *curl;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* guards the store, stats and stop */
	pthread_cond_t cond;
	bool stop;
	struct k8s_stats stats;
	char rv[RV_MAX];	/* thread only (written under the lock) */
	uint64_t expired_ns;	/* when deleted pods were last expired */
	char logged_error[160]; /* the last error logged, so it is logged once */
};

static bool stopping(struct k8s_meta *m)
{
	bool stop;

	pthread_mutex_lock(&m->lock);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return stopping(ctx); /* non-zero aborts the request at shutdown */
}

/* Records (and logs once while it persists) why a request failed. */
static void request_failed(struct k8s_meta *m, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void request_failed(struct k8s_meta *m, const char *what, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&m->lock);
	m->stats.request_errors++;
	pthread_mutex_unlock(&m->lock);
	if (strcmp(why, m->logged_error) != 0) {
		str_copy(m->logged_error, why, sizeof(m->logged_error));
		log_warn("pod metadata: request to the API server failed; retrying with backoff "
			 "(logged once until it changes)",
			 "request=%s url=\"%s\" node=%s err=\"%s\"", what, m->api_url, m->node_name,
			 why);
	}
}

/* A request went through: says so once after failures. */
static void request_ok(struct k8s_meta *m)
{
	if (m->logged_error[0]) {
		m->logged_error[0] = 0;
		log_info("pod metadata: the API server answers again", "url=\"%s\"", m->api_url);
	}
}

/* The request's headers: Accept, and the bearer token read now (it is rotated on disk). */
static struct curl_slist *request_headers(struct k8s_meta *m, int *ret_err)
{
	struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json"), *more;
	char *token = NULL, *line = NULL;
	size_t len;
	int err;

	*ret_err = -ENOMEM;
	if (!h || !m->token_file)
		goto out;
	err = read_file(-1, m->token_file, 64 << 10, &token, &len);
	if (err) {
		*ret_err = err;
		goto fail;
	}
	while (len && (token[len - 1] == '\n' || token[len - 1] == '\r' || token[len - 1] == ' '))
		token[--len] = 0;
	if (asprintf(&line, "Authorization: Bearer %s", token) < 0)
		line = NULL;
	explicit_bzero(token, len);
	free(token);
	more = line ? curl_slist_append(h, line) : NULL;
	if (line) {
		explicit_bzero(line, strlen(line));
		free(line);
	}
	if (!more)
		goto fail;
	h = more;
out:
	if (h)
		*ret_err = 0;
	return h;
fail:
	curl_slist_free_all(h);
	return NULL;
}

struct transfer {
	struct k8s_meta *m;
	struct buf body; /* the list, or the watch's current line */
	size_t max;
	bool too_big;
	bool status_checked, status_ok;
	int event_err;	/* the watch: -ESTALE (410) or -EPROTO ends it */
	size_t scanned; /* bytes of body already searched for a newline */
};

static size_t on_list_body(char *ptr, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;

	if (t->body.len + size * n > t->max) {
		t->too_big = true;
		return 0;
	}
	buf_append(&t->body, ptr, size * n);
	return t->body.oom ? 0 : size * n;
}

/* Forgets the pods deleted long enough ago. Under the lock. */
static void expire_locked(struct k8s_meta *m, uint64_t now)
{
	pod_store__expire(m->store, now);
	m->expired_ns = now;
}

/* One watch event: parsed outside the lock (lookups go on meanwhile), applied under it. */
static int apply_event(struct k8s_meta *m, const char *json, size_t len)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	struct pod_batch b;
	int err;

	pod_store__parse_event(m->store, json, len, &b);
	pthread_mutex_lock(&m->lock);
	err = pod_store__commit(m->store, &b, now, m->rv, sizeof(m->rv));
	if (now - m->expired_ns >= EXPIRE_EVERY_NS)
		expire_locked(m, now);
	pthread_mutex_unlock(&m->lock);
	return err;
}

/*
 * Applies the complete lines (events) in the buffer, keeping a partial last line; with final,
 * that too (the stream ended without a newline).
 */
static int apply_lines(struct transfer *t, bool final)
{
	size_t start = 0;
	int err = 0;

	while (t->scanned < t->body.len) {
		const uint8_t *nl =
			memchr(t->body.data + t->scanned, '\n', t->body.len - t->scanned);
		size_t end;

		if (!nl) {
			t->scanned = t->body.len;
			break;
		}
		end = (size_t)(nl - t->body.data);
		if (end > start)
			err = apply_event(t->m, (const char *)t->body.data + start, end - start);
		start = t->scanned = end + 1;
		if (err == -ESTALE || err == -EPROTO || err == -ENOMEM)
			goto out;
		err = 0;
	}
	if (final && t->body.len > start) {
		err = apply_event(t->m, (const char *)t->body.data + start, t->body.len - start);
		start = t->body.len;
		if (err != -ESTALE && err != -EPROTO && err != -ENOMEM)
			err = 0;
	}
out:
	if (err)
		t->event_err = err;
	if (start) {
		memmove(t->body.data, t->body.data + start, t->body.len - start);
		t->body.len -= start;
		t->scanned = t->scanned > start ? t->scanned - start : 0;
	}
	return err;
}

static size_t on_watch_body(char *ptr, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;

	if (!t->status_checked) {
		long status = 0;

		curl_easy_getinfo(t->m->curl, CURLINFO_RESPONSE_CODE, &status);
		t->status_checked = true;
		t->status_ok = status == 200;
	}
	if (!t->status_ok) {
		/* an error answer: keep its start for the log */
		if (t->body.len < ERROR_BODY_MAX)
			buf_append(&t->body, ptr, MIN(size * n, ERROR_BODY_MAX - t->body.len));
		return size * n;
	}
	buf_append(&t->body, ptr, size * n);
	if (t->body.oom)
		return 0;
	if (apply_lines(t, false))
		return 0;
	if (t->body.len > t->max) {
		t->too_big = true;
		return 0;
	}
	return size * n;
}

/* Builds the pods URL for the node, with extra query parameters. */
static char *pods_url(struct k8s_meta *m, const char *extra)
{
	char *node = curl_easy_escape(m->curl, m->node_name, 0), *url = NULL;

	if (!node)
		return NULL;
	/* spec.nodeName=NODE, itself escaped as the value of fieldSelector */
	if (asprintf(&url, "%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s%s", m->api_url, node,
		     extra) < 0)
		url = NULL;
	curl_free(node);
	return url;
}

/* One GET. Returns 0 with the HTTP status in *ret_status, or a negative errno (logged). */
static int get(struct k8s_meta *m, const char *what, const char *url, struct transfer *t,
	       curl_write_callback on_body, long timeout_s, long *ret_status)
{
	struct curl_slist *headers;
	CURLcode cc;
	int err;

	headers = request_headers(m, &err);
	if (!headers) {
		if (err == -ENOMEM)
			request_failed(m, what, "out of memory");
		else
			request_failed(m, what, "cannot read the token file %s: %s", m->token_file,
				       strerror(-err));
		return err;
	}
	curl_easy_reset(m->curl);
	curl_easy_setopt(m->curl, CURLOPT_URL, url);
	curl_easy_setopt(m->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(m->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(m->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(m->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(m->curl, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(m->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(m->curl, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(m->curl, CURLOPT_XFERINFODATA, m);
	curl_easy_setopt(m->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(m->curl, CURLOPT_USERAGENT, m->user_agent);
	curl_easy_setopt(m->curl, CURLOPT_PROTOCOLS_STR, "https,http");
	if (m->ca_file)
		curl_easy_setopt(m->curl, CURLOPT_CAINFO, m->ca_file);
	cc = curl_easy_perform(m->curl);
	curl_slist_free_all(headers);
	*ret_status = 0;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(m->curl, CURLINFO_RESPONSE_CODE, ret_status);
		return 0;
	}
	if (cc == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (cc == CURLE_WRITE_ERROR && (t->event_err || t->too_big || t->body.oom)) {
		if (t->too_big)
			request_failed(m, what, "the answer is larger than %zu bytes", t->max);
		else if (t->body.oom || t->event_err == -ENOMEM)
			request_failed(m, what, "out of memory");
		return t->event_err ? t->event_err : t->body.oom ? -ENOMEM : -EFBIG;
	}
	request_failed(m, what, "%s", curl_easy_strerror(cc));
	return -EIO;
}

/* The reason an HTTP error status gives, for the log. */
static void status_failed(struct k8s_meta *m, const char *what, long status, const struct buf *body)
{
	char excerpt[200];

	str_printable(excerpt, sizeof(excerpt), body->data, body->len);
	if (status == 401)
		request_failed(m, what,
			       "401 Unauthorized: the service account token was refused (%s)",
			       excerpt);
	else if (status == 403)
		request_failed(m, what,
			       "403 Forbidden: the service account may not list and watch pods "
			       "(see deploy/kubernetes/agent-rbac.yaml): %s",
			       excerpt);
	else
		request_failed(m, what, "HTTP %ld: %s", status, excerpt);
}

/*
 * Lists the node's pods into the store: from the API server's cache (resourceVersion=0, cheap),
 * or, after a watch found that version too old, a consistent read.
 */
static int list_pods(struct k8s_meta *m, bool consistent)
{
	struct transfer t = {.m = m, .max = LIST_MAX_BYTES};
	char *url = pods_url(m, consistent ? "" : "&resourceVersion=0");
	struct pod_batch b;
	long status;
	int err;

	if (!url)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->stats.list_requests++;
	pthread_mutex_unlock(&m->lock);
	err = get(m, "list", url, &t, on_list_body, 60, &status);
	free(url);
	if (!err && status != 200) {
		status_failed(m, "list", status, &t.body);
		err = -EIO;
	}
	if (!err) {
		uint64_t now;

		pod_store__parse_list(m->store, (const char *)t.body.data, t.body.len, &b);
		pthread_mutex_lock(&m->lock);
		now = clock_ns(CLOCK_MONOTONIC);
		err = pod_store__commit(m->store, &b, now, m->rv,
					sizeof(m->rv)); /* a list expires too */
		m->expired_ns = now;
		if (!err && !m->stats.synced) {
			struct pod_store_stats ss;

			pod_store__stats(m->store, &ss);
			m->stats.synced = true;
			pthread_cond_broadcast(&m->cond);
			log_info("pod metadata: the node's pods are listed; watching for changes",
				 "node=%s pods=%llu bytes=%zu", m->node_name,
				 (unsigned long long)ss.pods, t.body.len);
		}
		pthread_mutex_unlock(&m->lock);
		if (err)
			request_failed(m, "list", "the pod list is malformed (%s)", strerror(-err));
		else
			request_ok(m);
	}
	buf_free(&t.body);
	return err;
}

/*
 * Watches from m->rv until the server ends the watch (0), the resourceVersion is too old
 * (-ESTALE), or an error.
 */
static int watch_pods(struct k8s_meta *m)
{
	struct transfer t = {.m = m, .max = EVENT_MAX_BYTES};
	char extra[3 * RV_MAX + 128], *rv = curl_easy_escape(m->curl, m->rv, 0), *url;
	long status;
	int err;

	if (!rv)
		return -ENOMEM;
	snprintf(extra, sizeof(extra),
		 "&watch=true&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=%s",
		 m->watch_timeout_s, rv);
	curl_free(rv);
	url = pods_url(m, extra);
	if (!url)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	m->stats.watch_requests++;
	pthread_mutex_unlock(&m->lock);
	err = get(m, "watch", url, &t, on_watch_body, (long)m->watch_timeout_s + 30, &status);
	free(url);
	if (!err && status == 410)
		err = -ESTALE;
	else if (!err && status != 200) {
		status_failed(m, "watch", status, &t.body);
		err = -EIO;
	} else if (!err && t.body.len) {
		err = apply_lines(&t, true); /* a last event without its newline */
	}
	if (err == -EPROTO)
		request_failed(m, "watch", "the watch ended with an error event");
	buf_free(&t.body);
	if (!err)
		request_ok(m);
	return err;
}

/* Sleeps ms unless stopped; returns whether to stop. */
static bool sleep_ms(struct k8s_meta *m, uint64_t ms)
{
	uint64_t deadline = clock_ns(CLOCK_REALTIME) + ms * 1000000;
	struct timespec ts = {(time_t)(deadline / NSEC_PER_SEC), (long)(deadline % NSEC_PER_SEC)};
	bool stop;

	pthread_mutex_lock(&m->lock);
	while (!m->stop && clock_ns(CLOCK_REALTIME) < deadline)
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	stop = m->stop;
	pthread_mutex_unlock(&m->lock);
	return stop;
}

static void *meta_main(void *arg)
{
	struct k8s_meta *m = arg;
	uint64_t backoff = BACKOFF_MIN_MS;
	unsigned int seed = (unsigned int)clock_ns(CLOCK_MONOTONIC);
	uint32_t stale = 0; /* watches in a row that ended in 410 Gone */

	while (!stopping(m)) {
		int err = list_pods(m, stale > 0);

		while (!err && !stopping(m)) {
			uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

			err = watch_pods(m);
			pthread_mutex_lock(&m->lock);
			expire_locked(m, clock_ns(CLOCK_MONOTONIC));
			if (err == -ESTALE)
				m->stats.relists++;
			pthread_mutex_unlock(&m->lock);
			if (err)
				break;
			stale = 0;
			/* the server ended the watch: renew it, but not in a busy loop */
			if (clock_ns(CLOCK_MONOTONIC) - t0 < NSEC_PER_SEC) {
				if (sleep_ms(m, backoff))
					break;
				backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
			} else {
				backoff = BACKOFF_MIN_MS;
			}
		}
		if (err == -ECANCELED || stopping(m))
			break;
		/* too old to resume: list again (consistently) at once, the first time in a row */
		if (err == -ESTALE && stale++ == 0)
			continue;
		/* with jitter, so a fleet of agents does not come back at once */
		if (sleep_ms(m, backoff / 2 + (uint64_t)rand_r(&seed) % (backoff / 2 + 1)))
			break;
		backoff = MIN(backoff * 2, BACKOFF_MAX_MS);
	}
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct k8s_meta *k8s_meta__new(const struct k8s_opts *opts)
{
	struct k8s_meta *m = calloc(1, sizeof(*m));
	size_t n;

	if (!m)
		return NULL;
	m->watch_timeout_s = opts->watch_timeout_s ? opts->watch_timeout_s : 300;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	m->api_url = dup_or_null(opts->api_url);
	m->node_name = dup_or_null(opts->node_name);
	m->token_file = dup_or_null(opts->token_file);
	m->ca_file = dup_or_null(opts->ca_file);
	m->user_agent = strdup(opts->user_agent ? opts->user_agent : "sonde-agent");
	if (!m->api_url || !m->node_name || !m->user_agent ||
	    (opts->token_file && !m->token_file) || (opts->ca_file && !m->ca_file))
		goto fail;
	n = strlen(m->api_url);
	while (n && m->api_url[n - 1] == '/')
		m->api_url[--n] = 0;
	m->store = pod_store__new(m->node_name, opts->max_pods);
	m->curl = curl_easy_init();
	if (!m->store || !m->curl)
		goto fail;
	if (pthread_create(&m->thread, NULL, meta_main, m))
		goto fail;
	m->started = true;
	pthread_setname_np(m->thread, "sonde-k8s");
	return m;
fail:
	log_error("cannot start the pod metadata client", "url=\"%s\"",
		  opts->api_url ? opts->api_url : "");
	k8s_meta__free(m);
	return NULL;
}

void k8s_meta__free(struct k8s_meta *m)
{
	if (!m)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->thread, NULL);
	}
	if (m->curl)
		curl_easy_cleanup(m->curl);
	pod_store__free(m->store);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m->api_url);
	free(m->node_name);
	free(m->token_file);
	free(m->ca_file);
	free(m->user_agent);
	free(m);
}

int k8s_meta__wait_synced(struct k8s_meta *m, int timeout_ms)
{
	uint64_t deadline = clock_ns(CLOCK_REALTIME) + (uint64_t)timeout_ms * 1000000;
	struct timespec ts = {(time_t)(deadline / NSEC_PER_SEC), (long)(deadline % NSEC_PER_SEC)};
	bool synced;

	pthread_mutex_lock(&m->lock);
	while (!m->stats.synced && !m->stop && clock_ns(CLOCK_REALTIME) < deadline)
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	synced = m->stats.synced;
	pthread_mutex_unlock(&m->lock);
	return synced ? 0 : -ETIMEDOUT;
}

uint64_t k8s_meta__labels(struct k8s_meta *m, const char *uid, const char *container_id,
			  struct label_set *ls, char *service, size_t service_size,
			  uint32_t *ret_dropped)
{
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	v = pod_store__labels(m->store, uid, container_id, ls, service, service_size, ret_dropped);
	pthread_mutex_unlock(&m->lock);
	return v;
}

uint64_t k8s_meta__version(struct k8s_meta *m, const char *uid)
{
	uint64_t v;

	pthread_mutex_lock(&m->lock);
	v = pod_store__version(m->store, uid);
	pthread_mutex_unlock(&m->lock);
	return v;
}

uint64_t k8s_meta__generation(struct k8s_meta *m)
{
	uint64_t g;

	pthread_mutex_lock(&m->lock);
	g = pod_store__generation(m->store);
	pthread_mutex_unlock(&m->lock);
	return g;
}

void k8s_meta__stats(struct k8s_meta *m, struct k8s_stats *ret)
{
	pthread_mutex_lock(&m->lock);
	*ret = m->stats;
	pod_store__stats(m->store, &ret->store);
	pthread_mutex_unlock(&m->lock);
}
