/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's state, shared by its parts: server.c (ingest, /metrics, the listener) and
 * server_query.c (handing the query API to its own threads). Not for other modules.
 */
#ifndef SONDE_SERVER_IMPL_H
#define SONDE_SERVER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api_runner.h"
#include "server.h"
#include "../common/buf.h"

#define RETRY_AFTER_BUSY "2"
#define SERVER_COUNTED_CODES 10 /* HTTP statuses counted one by one (the rest as "other") */

struct server {
	struct server_opts opts;
	struct MHD_Daemon *daemon;
	struct api_runner *queries; /* the query API runs there, not on the HTTP threads */
	struct conn_deadlines *deadlines;
	atomic_bool ready;
	atomic_uint_fast64_t buffered; /* request bytes held now, over all connections */
	atomic_uint live; /* OTLP requests begun and not yet completed (their answer not sent) */
	struct membudget *mem;	  /* --max-memory: bodies and requests until stored reserve here */
	struct pyro_delta *delta; /* the previous cumulative profiles of pushed series */
	pthread_mutex_t lock;
	struct {
		uint64_t by_code[SERVER_COUNTED_CODES];
		uint64_t other_codes;
		uint64_t bytes_received; /* bodies as sent */
		uint64_t bytes_inflated;
		uint64_t decode_ns;
		uint64_t dropped_attributes;
		uint64_t queries, query_ns;
	} stats;
};

/* What a request with a body is: how it is decoded, and how it is answered. */
enum req_kind {
	REQ_GET,     /* the query API or the UI (no body) */
	REQ_OTLP,    /* OTLP profiles: google.rpc.Status errors */
	REQ_INGEST,  /* Pyroscope POST /ingest: text errors */
	REQ_PUSH,    /* Pyroscope Push (Connect): Connect errors */
	REQ_CONNECT, /* a Connect query: run by the query threads with its body */
	REQ_UPLOAD,  /* a debug file (debuginfo_api.h): run by the query threads too */
};

enum req_state {
	REQ_BODY,    /* receiving the body */
	REQ_WAITING, /* suspended until the writer acknowledges */
	REQ_ACKED,   /* the writer called back */
};

struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	enum req_state state;
	struct buf body;
	size_t buffered;   /* counted in srv->buffered, and reserved in srv->mem */
	uint64_t reserved; /* the request's estimated cost, reserved in srv->mem until it ends */
	enum req_kind kind;
	bool json; /* REQ_PUSH: the JSON codec */
	size_t max_body;
	bool gzip;
	bool too_big;
	bool too_busy;
	unsigned int refused; /* a refusal answered once the body is in (the client reads it) */
	char refused_msg[256];
	const char *refused_retry;
	char tenant[72];
	pthread_mutex_t lock; /* state and result, between the handler and the writer */
	bool suspended;
	int result;
	struct api_job *query; /* a query API request, run by s->queries */
};

/* Counts an answer of that status for /metrics. */
void server_count_code(struct server *s, unsigned int code);

/* The query API on threads of its own (api_runner.h); server_query.c. */
int server_start_queries(struct server *s);
/*
 * Hands GET url for tenant to the query threads; the connection waits suspended. With r (a
 * REQ_CONNECT request whose body is in), its Connect call instead: r->body is handed over.
 */
enum MHD_Result server_query_start(struct server *s, struct MHD_Connection *conn,
				   const char *tenant, const char *method, const char *url,
				   struct req *r, void **req_cls);
/* The handler called again for a query: its answer, once ready. */
enum MHD_Result server_query_answer(struct server *s, struct req *r);

#endif
