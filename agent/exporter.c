// SPDX-License-Identifier: Apache-2.0
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exporter.h"
#include "../proto/otlp_pb.h"
#include "../common/buf.h"
#include "../common/log.h"
#include "../common/util.h"

#define DEFAULT_QUEUE_BYTES (64ull << 20)
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_INITIAL_BACKOFF_MS 1000
#define DEFAULT_MAX_BACKOFF_MS 30000
#define DEFAULT_IN_FLIGHT 8
#define MAX_RESPONSE_BYTES (4u << 20) /* the OTLP client default */
#define MAX_RETRY_AFTER_S 300	      /* a Retry-After above this is capped */

struct item {
	struct item *next;
	uint8_t *data;
	size_t len;
	uint32_t nprofiles;
	bool in_flight; /* being sent: never dropped to make room */
	uint64_t nsamples;
};

struct sender {
	struct exporter *ex;
	CURL *curl; /* its own connection, kept alive */
	pthread_t thread;
	bool started;
};

struct exporter {
	struct exporter_opts opts;
	struct curl_slist *headers;
	struct sender senders[EXPORTER_MAX_IN_FLIGHT];
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	struct item *head, *tail;
	uint32_t in_flight;   /* requests being sent */
	uint32_t attempt;     /* consecutive retryable failures; 0 once the collector answers */
	uint64_t retry_at_ns; /* CLOCK_MONOTONIC: no request starts before */
	bool stop;
	struct exporter_stats stats;
	uint64_t logged_codes; /* bit per error slot already logged */
	unsigned int rand_state;
};

static const char *const drop_names[EXPORTER_DROP_NR] = {
	[EXPORTER_DROP_QUEUE_FULL] = "queue_full",
	[EXPORTER_DROP_REFUSED] = "refused",
	[EXPORTER_DROP_SHUTDOWN] = "shutdown",
};

const char *exporter_drop_name(enum exporter_drop reason)
{
	return reason < EXPORTER_DROP_NR ? drop_names[reason] : "unknown";
}

uint64_t exporter_backoff_ms(uint32_t initial_ms, uint32_t max_ms, uint32_t attempt,
			     uint32_t random)
{
	uint64_t step = (uint64_t)initial_ms << MIN(attempt, 20u);

	step = MIN(step, (uint64_t)max_ms);
	/* half the step plus a random half: agents that failed together retry apart */
	return step / 2 + random % (step / 2 + 1);
}

int64_t retry_after_seconds(const char *value, int64_t now_unix)
{
	char *end;
	long long v;
	time_t t;

	while (*value == ' ')
		value++;
	v = strtoll(value, &end, 10);
	if (end != value && (*end == 0 || *end == '\r' || *end == '\n' || *end == ' '))
		return v < 0 ? -1 : v;
	/* an HTTP-date (OTLP v1.11 allows it) */
	t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	return t > now_unix ? t - now_unix : 0;
}

/* Counts an outcome, returning whether it is the first of its kind (to be logged once). */
static bool count_error(struct exporter *ex, const char *code)
{
	struct exporter_stats *st = &ex->stats;
	uint32_t i;

	for (i = 0; i < st->ncodes; i++) {
		if (strcmp(st->errors[i].code, code) == 0)
			break;
	}
	if (i == st->ncodes) {
		if (st->ncodes == EXPORTER_CODES)
			i = EXPORTER_CODES - 1; /* the last slot takes the rest */
		else
			str_copy(st->errors[st->ncodes++].code, code, sizeof(st->errors[0].code));
	}
	st->errors[i].count++;
	if (ex->logged_codes & (1ull << i))
		return false;
	ex->logged_codes |= 1ull << i;
	return true;
}

struct response {
	struct buf body;
	char retry_after[64];
	bool too_big;
};

static size_t on_body(char *ptr, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;

	if (r->body.len + size * n > MAX_RESPONSE_BYTES) {
		r->too_big = true;
		return 0; /* aborts the transfer */
	}
	buf_append(&r->body, ptr, size * n);
	return size * n;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ctx)
{
	struct response *r = ctx;
	size_t len = size * n;

	if (len > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		size_t v = len - 12 < sizeof(r->retry_after) - 1 ? len - 12
								 : sizeof(r->retry_after) - 1;

		memcpy(r->retry_after, ptr + 12, v);
		r->retry_after[v] = 0;
		r->retry_after[strcspn(r->retry_after, "\r\n")] = 0;
	}
	return len;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct exporter *ex = ctx;
	bool stop;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	pthread_mutex_lock(&ex->lock);
	stop = ex->stop;
	pthread_mutex_unlock(&ex->lock);
	return stop; /* non-zero aborts the request at shutdown */
}

/* The message of a google.rpc.Status body, for the log. */
static void status_message(const struct buf *body, char *out, size_t size)
{
	RpcStatus *st = google__rpc__status__unpack(NULL, body->len, body->data);

	out[0] = 0;
	if (st) {
		if (st->message)
			str_copy(out, st->message, size);
		google__rpc__status__free_unpacked(st, NULL);
	} else {
		/* not protobuf: show the start of the body */
		str_printable(out, size, body->data, body->len);
	}
}

enum outcome {
	SENT,
	RETRY,
	DROP,
};

/*
 * Sends one request on the sender's connection. Called without the lock. For RETRY, says how
 * long the collector asked to wait (-1: not said) and whether it could not be reached at all.
 */
static enum outcome send_one(struct sender *sd, struct item *it, int64_t *ret_retry_after_s,
			     bool *ret_unreachable)
{
	struct exporter *ex = sd->ex;
	struct response r = {0};
	char code[16], msg[256];
	enum outcome out = DROP;
	long status = 0;
	CURLcode cc;
	bool first;

	*ret_retry_after_s = -1;
	*ret_unreachable = false;
	curl_easy_setopt(sd->curl, CURLOPT_POSTFIELDS, (const char *)it->data);
	curl_easy_setopt(sd->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	curl_easy_setopt(sd->curl, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(sd->curl, CURLOPT_HEADERDATA, &r);
	cc = curl_easy_perform(sd->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(sd->curl, CURLINFO_RESPONSE_CODE, &status);

	pthread_mutex_lock(&ex->lock);
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		/* stopping: the request stays queued and is counted as dropped at shutdown */
		pthread_mutex_unlock(&ex->lock);
		out = RETRY;
		goto done;
	}
	if (cc != CURLE_OK) {
		const char *kind =
			cc == CURLE_OPERATION_TIMEDOUT	       ? "timeout"
			: cc == CURLE_WRITE_ERROR && r.too_big ? "response"
			: cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION
				? "tls"
				: "connect";

		first = count_error(ex, kind);
		/* connection failures and timeouts are retried; an oversized answer is not */
		out = r.too_big ? DROP : RETRY;
		*ret_unreachable = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
		pthread_mutex_unlock(&ex->lock);
		if (first)
			log_warn(out == RETRY
					 ? "cannot reach the collector; retrying with backoff"
					 : "the collector's answer is too large; request dropped",
				 "url=\"%s\" err=\"%s\"", ex->opts.url, curl_easy_strerror(cc));
		goto done;
	}
	if (status >= 200 && status < 300) {
		Response *resp = response_unpack(NULL, r.body.len, r.body.data);
		int64_t rejected = 0;

		ex->stats.requests_sent++;
		ex->stats.bytes_sent += it->len;
		if (resp && resp->partial_success && resp->partial_success->rejected_profiles > 0) {
			rejected = resp->partial_success->rejected_profiles;
			ex->stats.profiles_rejected += (uint64_t)rejected;
			first = count_error(ex, "partial");
			snprintf(msg, sizeof(msg), "%s",
				 resp->partial_success->error_message
					 ? resp->partial_success->error_message
					 : "");
		}
		ex->stats.profiles_sent +=
			it->nprofiles -
			(rejected < (int64_t)it->nprofiles ? (uint64_t)rejected : it->nprofiles);
		if (!rejected)
			ex->stats.samples_sent += it->nsamples;
		pthread_mutex_unlock(&ex->lock);
		if (rejected && first)
			log_warn("the collector rejected part of a request (not retried)",
				 "rejected_profiles=%lld message=\"%s\"", (long long)rejected, msg);
		if (resp)
			response_free_unpacked(resp, NULL);
		out = SENT;
		goto done;
	}
	snprintf(code, sizeof(code), "%ld", status);
	first = count_error(ex, code);
	out = (status == 429 || status == 502 || status == 503 || status == 504) ? RETRY : DROP;
	if (out == RETRY && r.retry_after[0])
		*ret_retry_after_s = retry_after_seconds(r.retry_after, (int64_t)time(NULL));
	pthread_mutex_unlock(&ex->lock);
	if (first) {
		status_message(&r.body, msg, sizeof(msg));
		if (out == RETRY)
			log_warn("the collector asks to retry later",
				 "url=\"%s\" status=%ld retry_after=\"%s\" message=\"%s\"",
				 ex->opts.url, status, r.retry_after, msg);
		else
			log_error("the collector refused a request; it is dropped, not retried "
				  "(logged once per status)",
				  "url=\"%s\" status=%ld message=\"%s\"", ex->opts.url, status,
				  msg);
	}
done:
	buf_free(&r.body);
	return out;
}

static void drop_item(struct exporter *ex, struct item *it, enum exporter_drop reason)
{
	ex->stats.dropped_requests++;
	ex->stats.dropped[reason]++;
	ex->stats.dropped_profiles += it->nprofiles;
	ex->stats.dropped_samples += it->nsamples;
	ex->stats.dropped_bytes += it->len;
}

/* Takes it out of the queue (prev: the item before it, or NULL for the head) and frees it. */
static void unlink_item(struct exporter *ex, struct item *it, struct item *prev)
{
	if (prev)
		prev->next = it->next;
	else
		ex->head = it->next;
	if (ex->tail == it)
		ex->tail = prev;
	ex->stats.queue_requests--;
	ex->stats.queue_profiles -= it->nprofiles;
	ex->stats.queue_samples -= it->nsamples;
	ex->stats.queue_bytes -= it->len;
	free(it->data);
	free(it);
}

static void unlink_sent(struct exporter *ex, struct item *it)
{
	struct item *prev = NULL;

	for (struct item *p = ex->head; p != it; p = p->next)
		prev = p;
	unlink_item(ex, it, prev);
}

/* Waits on the condition, at most until deadline_mono_ns. Called with the lock. */
static void wait_until(struct exporter *ex, uint64_t deadline_mono_ns)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC), wake;
	struct timespec ts;

	if (now >= deadline_mono_ns)
		return;
	wake = clock_ns(CLOCK_REALTIME) + (deadline_mono_ns - now);
	ts.tv_sec = (time_t)(wake / NSEC_PER_SEC);
	ts.tv_nsec = (long)(wake % NSEC_PER_SEC);
	pthread_cond_timedwait(&ex->cond, &ex->lock, &ts);
}

/*
 * The next request to send (the oldest not in flight), or NULL on stop. While retrying (the
 * collector failed last time) one request at a time probes it; nothing starts before the
 * backoff ends. Called with the lock.
 */
static struct item *next_item(struct exporter *ex)
{
	while (!ex->stop) {
		if (clock_ns(CLOCK_MONOTONIC) < ex->retry_at_ns) {
			wait_until(ex, ex->retry_at_ns);
			continue;
		}
		if (!ex->attempt || !ex->in_flight) {
			for (struct item *it = ex->head; it; it = it->next)
				if (!it->in_flight)
					return it;
		}
		pthread_cond_wait(&ex->cond, &ex->lock);
	}
	return NULL;
}

/* After a retryable failure: when the next request may start. Called with the lock. */
static void back_off(struct exporter *ex, int64_t retry_after_s, bool unreachable)
{
	uint64_t delay_ms;

	ex->stats.retries++;
	if (retry_after_s >= 0) {
		delay_ms = (uint64_t)MIN(retry_after_s, MAX_RETRY_AFTER_S) * 1000;
	} else {
		/* a collector that is down costs nothing to probe: find it back soon */
		uint32_t cap = unreachable ? MIN(ex->opts.max_backoff_ms, EXPORTER_UNREACHABLE_MS)
					   : ex->opts.max_backoff_ms;

		delay_ms = exporter_backoff_ms(ex->opts.initial_backoff_ms, cap, ex->attempt,
					       (uint32_t)rand_r(&ex->rand_state));
	}
	ex->attempt++;
	ex->stats.backoff_ms = delay_ms;
	ex->retry_at_ns = MAX(ex->retry_at_ns, clock_ns(CLOCK_MONOTONIC) + delay_ms * 1000000);
}

static void *sender_main(void *arg)
{
	struct sender *sd = arg;
	struct exporter *ex = sd->ex;

	pthread_mutex_lock(&ex->lock);
	for (;;) {
		struct item *it = next_item(ex);
		enum outcome out;
		int64_t retry_after;
		bool unreachable;
		uint64_t cpu;

		if (!it)
			break;
		it->in_flight = true;
		ex->in_flight++;
		pthread_mutex_unlock(&ex->lock);
		cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		out = send_one(sd, it, &retry_after, &unreachable);
		cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
		pthread_mutex_lock(&ex->lock);
		ex->stats.send_cpu_ns += cpu;
		ex->in_flight--;
		it->in_flight = false;
		if (out == RETRY) {
			/* stays queued: sent again (unless dropped for room meanwhile) */
			if (!ex->stop)
				back_off(ex, retry_after, unreachable);
		} else {
			/* the collector answered: the backoff starts again from the beginning */
			ex->attempt = 0;
			ex->retry_at_ns = 0;
			if (out == DROP)
				drop_item(ex, it, EXPORTER_DROP_REFUSED);
			unlink_sent(ex, it);
		}
		pthread_cond_broadcast(&ex->cond);
	}
	pthread_mutex_unlock(&ex->lock);
	return NULL;
}

static CURL *sender_curl(const struct exporter *ex)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, ex->opts.url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, ex->headers);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ex->opts.timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(ex->opts.timeout_ms, 10000u));
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, ex);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT,
			 ex->opts.user_agent ? ex->opts.user_agent : "sonde-agent");
	if (ex->opts.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, ex->opts.ca_file);
	return c;
}

struct exporter *exporter__new(const struct exporter_opts *opts)
{
	struct exporter *ex = calloc(1, sizeof(*ex));
	char line[1024];

	if (!ex)
		return NULL;
	ex->opts = *opts;
	if (!ex->opts.max_queue_bytes)
		ex->opts.max_queue_bytes = DEFAULT_QUEUE_BYTES;
	if (!ex->opts.timeout_ms)
		ex->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!ex->opts.initial_backoff_ms)
		ex->opts.initial_backoff_ms = DEFAULT_INITIAL_BACKOFF_MS;
	if (!ex->opts.max_backoff_ms)
		ex->opts.max_backoff_ms = DEFAULT_MAX_BACKOFF_MS;
	if (!ex->opts.max_in_flight)
		ex->opts.max_in_flight = DEFAULT_IN_FLIGHT;
	ex->opts.max_in_flight = MIN(ex->opts.max_in_flight, EXPORTER_MAX_IN_FLIGHT);
	ex->rand_state = (unsigned int)clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->cond, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ex->headers = curl_slist_append(ex->headers, "Content-Type: application/x-protobuf");
	ex->headers = curl_slist_append(ex->headers, "Content-Encoding: gzip");
	if (opts->tenant && *opts->tenant) {
		snprintf(line, sizeof(line), "X-Scope-OrgID: %s", opts->tenant);
		ex->headers = curl_slist_append(ex->headers, line);
	}
	for (size_t i = 0; i < opts->nheaders; i++)
		ex->headers = curl_slist_append(ex->headers, opts->headers[i]);
	if (!ex->headers)
		goto fail;
	for (uint32_t i = 0; i < ex->opts.max_in_flight; i++) {
		struct sender *sd = &ex->senders[i];

		sd->ex = ex;
		sd->curl = sender_curl(ex);
		if (!sd->curl || pthread_create(&sd->thread, NULL, sender_main, sd))
			goto fail;
		sd->started = true;
		pthread_setname_np(sd->thread, "sonde-export");
	}
	return ex;
fail:
	log_error("cannot start the OTLP exporter", "url=\"%s\"", opts->url);
	exporter__free(ex);
	return NULL;
}

int exporter__enqueue(struct exporter *ex, uint8_t *data, size_t len, uint32_t nprofiles,
		      uint64_t nsamples)
{
	struct item *it = calloc(1, sizeof(*it));
	int err = 0;

	if (!it) {
		free(data);
		return -ENOMEM;
	}
	it->data = data;
	it->len = len;
	it->nprofiles = nprofiles;
	it->nsamples = nsamples;
	pthread_mutex_lock(&ex->lock);
	if (ex->stop || len > ex->opts.max_queue_bytes) {
		drop_item(ex, it, ex->stop ? EXPORTER_DROP_SHUTDOWN : EXPORTER_DROP_QUEUE_FULL);
		err = ex->stop ? -ESHUTDOWN : -E2BIG;
		goto out;
	}
	/* room: drop the oldest requests, never one being sent */
	while (ex->stats.queue_bytes + len > ex->opts.max_queue_bytes) {
		struct item *victim = ex->head, *prev = NULL;

		while (victim && victim->in_flight) {
			prev = victim;
			victim = victim->next;
		}
		if (!victim)
			break;
		drop_item(ex, victim, EXPORTER_DROP_QUEUE_FULL);
		unlink_item(ex, victim, prev);
	}
	if (ex->tail)
		ex->tail->next = it;
	else
		ex->head = it;
	ex->tail = it;
	ex->stats.queue_requests++;
	ex->stats.queue_profiles += nprofiles;
	ex->stats.queue_samples += nsamples;
	ex->stats.queue_bytes += len;
	it = NULL;
	pthread_cond_broadcast(&ex->cond);
out:
	pthread_mutex_unlock(&ex->lock);
	if (it) {
		free(it->data);
		free(it);
	}
	return err;
}

int exporter__flush(struct exporter *ex, uint64_t deadline_ns)
{
	int err = 0;

	pthread_mutex_lock(&ex->lock);
	while (ex->head && !ex->stop) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (now >= deadline_ns) {
			err = -ETIMEDOUT;
			break;
		}
		wait_until(ex, MIN(deadline_ns, now + 100000000ull));
	}
	if (ex->head)
		err = -ETIMEDOUT;
	pthread_mutex_unlock(&ex->lock);
	return err;
}

void exporter__stop(struct exporter *ex)
{
	pthread_mutex_lock(&ex->lock);
	ex->stop = true;
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
	for (uint32_t i = 0; i < EXPORTER_MAX_IN_FLIGHT; i++) {
		if (ex->senders[i].started)
			pthread_join(ex->senders[i].thread, NULL);
		ex->senders[i].started = false;
	}
	/* the threads are gone: no lock needed, but stats readers may still take it */
	pthread_mutex_lock(&ex->lock);
	while (ex->head) {
		drop_item(ex, ex->head, EXPORTER_DROP_SHUTDOWN);
		unlink_item(ex, ex->head, NULL);
	}
	pthread_mutex_unlock(&ex->lock);
}

void exporter__stats(struct exporter *ex, struct exporter_stats *ret)
{
	pthread_mutex_lock(&ex->lock);
	*ret = ex->stats;
	pthread_mutex_unlock(&ex->lock);
}

void exporter__free(struct exporter *ex)
{
	if (!ex)
		return;
	exporter__stop(ex);
	for (uint32_t i = 0; i < EXPORTER_MAX_IN_FLIGHT; i++)
		if (ex->senders[i].curl)
			curl_easy_cleanup(ex->senders[i].curl);
	curl_slist_free_all(ex->headers);
	pthread_mutex_destroy(&ex->lock);
	pthread_cond_destroy(&ex->cond);
	free(ex);
}
