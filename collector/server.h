/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's HTTP server (libmicrohttpd, a thread pool, connections suspended while their
 * request waits to be durable):
 *   POST /v1development/profiles   OTLP profiles (protobuf, optionally gzip), acknowledged once
 *                                  stored; errors as google.rpc.Status with a message
 *   GET  /ready                    200 once serving, 503 while starting or stopping
 *   GET  /metrics                  Prometheus text
 *   GET  /api/v1/..., /            the query API and the web UI (api.h)
 */
#ifndef SONDE_SERVER_H
#define SONDE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"
#include "api.h"
#include "auth.h"
#include "segment.h"
#include "tls_certs.h"

struct server_opts {
	const char *listen; /* HOST:PORT */
	struct segwriter *writer;
	const struct auth *auth;      /* NULL: no auth; the tenant comes from X-Scope-OrgID */
	uint64_t max_body_bytes;      /* inflated; 0 = 64 MiB */
	uint64_t max_memory_bytes;    /* bodies and requests until stored (membudget.h); 0: none */
	unsigned int threads;	      /* 0 = the CPUs */
	unsigned int max_connections; /* 0 = 1024 */
	struct api_opts api;	      /* the query API and UI; api.store NULL: not served */
	unsigned int query_threads;   /* queries run at once, apart from ingest; 0 = 2 */
	uint64_t query_timeout_ns;    /* a query's deadline; past it, 503; 0 = 30 s */
	/* connections (conn_deadlines.h): what one client may hold, and for how long */
	unsigned int max_connections_per_client; /* per source address; 0: no limit */
	uint64_t header_timeout_ns;		 /* a request head; 0: none */
	uint64_t body_timeout_ns;		 /* a request body; 0: none */
	struct tls_certs *tls;			 /* HTTPS with these (tls_certs.h); NULL: HTTP */
	/* roles (--target): refuse profiles, or queries, with 404 and the reason */
	bool no_ingest;
	bool no_query;
	/* appends more metrics (storage, compaction) to the page; may be NULL */
	void (*extra_metrics)(void *ctx, struct buf *out);
	void *extra_ctx;
};

struct server;

/* Listens and serves. NULL on failure (logged). */
struct server *server__new(const struct server_opts *opts);
/* /ready answers 503 from now on, and new profiles are refused with 503 and Retry-After. */
void server__quiesce(struct server *s);
/*
 * Waits until every OTLP request begun has been answered (after the writer drained, the
 * answers are on their way), or the deadline (CLOCK_MONOTONIC) passes: false then.
 */
bool server__wait_answered(struct server *s, uint64_t deadline_ns);
/* Stops listening; call after the writer has drained. NULL-safe. */
void server__free(struct server *s);

#endif
