/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delivery of OTLP requests to a collector: a queue bounded by bytes (past the bound the
 * oldest requests are dropped and counted) drained by a thread of its own that POSTs each
 * request (gzip, keep-alive) and retries what OTLP says to retry: 429, 502, 503, 504 and
 * connection failures, with exponential backoff and jitter, honouring Retry-After. Other errors
 * are logged once per status code and dropped; a partial success is counted, not retried.
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
	const char *user_agent;
};

#define EXPORTER_CODES 16 /* distinct outcomes counted */

struct exporter_stats {
	uint64_t requests_sent; /* accepted by the collector (2xx) */
	uint64_t profiles_sent;
	uint64_t bytes_sent; /* request bodies, compressed */
	uint64_t retries;
	uint64_t send_cpu_ns;	    /* CPU time of the sending thread in requests */
	uint64_t profiles_rejected; /* by a partial success */
	uint64_t dropped_requests;  /* queue full, non-retryable error, or shutdown */
	uint64_t dropped_profiles;
	uint64_t dropped_bytes;
	uint64_t queue_requests;
	uint64_t queue_profiles;
	uint64_t queue_bytes;
	uint32_t ncodes;
	struct {
		char code[16]; /* HTTP status ("503") or "connect", "timeout", "tls", "response" */
		uint64_t count;
	} errors[EXPORTER_CODES];
};

struct exporter;

/* Starts the sending thread. Returns NULL (logged) on failure. */
struct exporter *exporter__new(const struct exporter_opts *opts);
/*
 * Queues a request (gzip-compressed protobuf, taking ownership of data) of nprofiles
 * profiles. Oldest requests are dropped to make room; a request larger than the whole queue is
 * dropped itself. Returns 0 or -E2BIG when this request was dropped.
 */
int exporter__enqueue(struct exporter *ex, uint8_t *data, size_t len, uint32_t nprofiles);
/*
 * Waits until the queue is empty or deadline_ns (CLOCK_MONOTONIC) passes. Returns 0, or
 * -ETIMEDOUT with requests left.
 */
int exporter__flush(struct exporter *ex, uint64_t deadline_ns);
void exporter__stats(struct exporter *ex, struct exporter_stats *ret);
/* Stops the thread (aborting a request in flight), drops and counts what is left. NULL-safe. */
void exporter__free(struct exporter *ex);

/* Seconds to wait from a Retry-After value (delta-seconds or an HTTP-date), or -1. */
int64_t retry_after_seconds(const char *value, int64_t now_unix);

#endif
