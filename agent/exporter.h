/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery of OTLP requests to a collector: a queue bounded by bytes (past the bound the
 * oldest requests are dropped and counted) drained by sending threads of their own that POST
 * requests (gzip, keep-alive), several at once so a backlog drains at the collector's pace.
 * What OTLP says to retry is retried: 429, 502, 503, 504 and connection failures, with
 * exponential backoff and jitter (capped, and reset by any answer), honouring Retry-After;
 * while retrying only one request is in flight. Other errors are logged once per status code
 * and dropped; a partial success is counted, not retried. Every request dropped anywhere is
 * counted by reason.
 */
#ifndef SONDE_EXPORTER_H
#define SONDE_EXPORTER_H

#include <stddef.h>
#include <stdint.h>

#define EXPORTER_MAX_HEADERS 32

struct exporter_opts {
	const char *url;    /* the full endpoint: BASE/v1development/profiles */
	const char *tenant; /* X-Scope-OrgID, or NULL */
	const char *headers[EXPORTER_MAX_HEADERS]; /* "Key: Value" */
	size_t nheaders;
	const char *ca_file;	     /* extra trust for TLS, or NULL for the system store only */
	uint64_t max_queue_bytes;    /* 0 = 64 MiB */
	uint32_t timeout_ms;	     /* per request; 0 = 30 s */
	uint32_t initial_backoff_ms; /* 0 = 1 s */
	uint32_t max_backoff_ms;     /* 0 = 30 s */
	uint32_t max_in_flight; /* requests sent at once; 0 = 8, at most EXPORTER_MAX_IN_FLIGHT */
	const char *user_agent;
};

#define EXPORTER_CODES 16	     /* distinct outcomes counted */
#define EXPORTER_MAX_IN_FLIGHT 16    /* sending threads at most */
#define EXPORTER_UNREACHABLE_MS 5000 /* backoff cap while the collector cannot be reached */

/* Why a request was dropped without delivery. */
enum exporter_drop {
	EXPORTER_DROP_QUEUE_FULL, /* the oldest, to make room; or larger than the whole queue */
	EXPORTER_DROP_REFUSED,	  /* a status not to retry (4xx), or an answer too large */
	EXPORTER_DROP_SHUTDOWN,	  /* still queued (or in flight) when the exporter stopped */
	EXPORTER_DROP_NR,
};

struct exporter_stats {
	uint64_t requests_sent; /* accepted by the collector (2xx) */
	uint64_t profiles_sent;
	uint64_t samples_sent;
	uint64_t bytes_sent; /* request bodies, compressed */
	uint64_t retries;
	uint64_t send_cpu_ns;	    /* CPU time of the sending thread in requests */
	uint64_t profiles_rejected; /* by a partial success */
	uint64_t dropped_requests;  /* the sum of dropped[] */
	uint64_t dropped[EXPORTER_DROP_NR];
	uint64_t dropped_profiles;
	uint64_t dropped_samples;
	uint64_t dropped_bytes;
	uint64_t backoff_ms;	 /* the wait chosen after the latest retryable failure */
	uint64_t queue_requests; /* including those in flight */
	uint64_t queue_samples;
	uint64_t queue_profiles;
	uint64_t queue_bytes;
	uint32_t ncodes;
	struct {
		char code[16]; /* HTTP status ("503") or "connect", "timeout", "tls", "response" */
		uint64_t count;
	} errors[EXPORTER_CODES];
};

struct exporter;

/* Starts the sending threads. Returns NULL (logged) on failure. */
struct exporter *exporter__new(const struct exporter_opts *opts);
/*
 * Queues a request (gzip-compressed protobuf, taking ownership of data) of nprofiles profiles
 * and nsamples samples. Oldest requests are dropped to make room (never one in flight); a
 * request larger than the whole queue is dropped itself. Returns 0 or -E2BIG when this request
 * was dropped.
 */
int exporter__enqueue(struct exporter *ex, uint8_t *data, size_t len, uint32_t nprofiles,
		      uint64_t nsamples);
/*
 * Waits until the queue is empty or deadline_ns (CLOCK_MONOTONIC) passes. Returns 0, or
 * -ETIMEDOUT with requests left.
 */
int exporter__flush(struct exporter *ex, uint64_t deadline_ns);
/*
 * Stops the threads (aborting requests in flight) and drops what is left, counted as
 * EXPORTER_DROP_SHUTDOWN: the stats are final afterwards. Requests queued later are dropped
 * the same way. Idempotent.
 */
void exporter__stop(struct exporter *ex);
void exporter__stats(struct exporter *ex, struct exporter_stats *ret);
/* Stops (as exporter__stop) and frees. NULL-safe. */
void exporter__free(struct exporter *ex);

/* The reason's name for logs and metrics ("queue_full", "refused", "shutdown"). */
const char *exporter_drop_name(enum exporter_drop reason);
/* Seconds to wait from a Retry-After value (delta-seconds or an HTTP-date), or -1. */
int64_t retry_after_seconds(const char *value, int64_t now_unix);
/*
 * The wait after the attempt-th consecutive failure (0 = the first): initial_ms doubled each
 * time, capped at max_ms, of which a random half (random: any uniform 32-bit value) is jitter.
 */
uint64_t exporter_backoff_ms(uint32_t initial_ms, uint32_t max_ms, uint32_t attempt,
			     uint32_t random);

#endif
