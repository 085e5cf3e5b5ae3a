// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api_runner.h"
#include "block.h"
#include "conn_deadlines.h"
#include "debuginfo_api.h"
#include "engine.h"
#include "membudget.h"
#include "pyro_delta.h"
#include "pyro_ingest.h"
#include "pyro_query.h"
#include "server.h"
#include "server_impl.h"
#include "tenant.h"
#include "../common/gzip.h"
#include "../common/httpd.h"
#include "../common/json.h"
#include "../common/log.h"
#include "../common/util.h"
#include "../proto/otlp_pb.h"

#define OTLP_PATH "/v1development/profiles"
#define DEFAULT_MAX_BODY (64u << 20)
#define CONNECT_MAX_BODY (4u << 20) /* a Connect query's body */
#define DEFAULT_TENANT "anonymous"
#define RETRY_AFTER_STORE "5"
/* libmicrohttpd's idle timeout: a connection silent this long is closed */
#define IDLE_TIMEOUT_S 30

/* gRPC status codes for the google.rpc.Status of an error answer */
enum {
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_NOT_FOUND = 5,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_UNAUTHENTICATED = 16,
};

static const unsigned int counted_codes[SERVER_COUNTED_CODES] = {200, 400, 401, 403, 404,
								 405, 413, 415, 500, 503};

void server_count_code(struct server *s, unsigned int code)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < ARRAY_SIZE(counted_codes); i++) {
		if (counted_codes[i] == code) {
			s->stats.by_code[i]++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
	}
	s->stats.other_codes++;
	pthread_mutex_unlock(&s->lock);
}

static int grpc_code(unsigned int http)
{
	switch (http) {
	case 400:
	case 415:
		return GRPC_INVALID_ARGUMENT;
	case 401:
		return GRPC_UNAUTHENTICATED;
	case 403:
		return GRPC_PERMISSION_DENIED;
	case 404:
	case 405:
		return GRPC_NOT_FOUND;
	case 413:
	case 429:
		return GRPC_RESOURCE_EXHAUSTED;
	case 503:
		return GRPC_UNAVAILABLE;
	default:
		return GRPC_INTERNAL;
	}
}

/* An OTLP error: a google.rpc.Status carrying message, as protobuf. */
static enum MHD_Result otlp_error(struct server *s, struct MHD_Connection *conn,
				  unsigned int status, const char *retry_after, const char *msg)
{
	RpcStatus st = RpcStatus_INIT;
	struct buf body = {0};
	size_t n;

	st.code = grpc_code(status);
	st.message = (char *)msg;
	n = google__rpc__status__get_packed_size(&st);
	if (!buf_reserve(&body, n)) {
		google__rpc__status__pack(&st, body.data);
		body.len = n;
	}
	server_count_code(s, status);
	log_debug("request refused", "status=%u message=\"%s\"", status, msg);
	return httpd_answer(conn, status, "application/x-protobuf", &body,
			    retry_after ? "Retry-After" : NULL, retry_after);
}

/* An error answer in the form of the request's protocol. */
static enum MHD_Result refuse(struct server *s, struct MHD_Connection *conn, enum req_kind kind,
			      unsigned int status, const char *retry_after, const char *msg)
{
	struct api_reply rep = {0};

	if (kind == REQ_OTLP)
		return otlp_error(s, conn, status, retry_after, msg);
	server_count_code(s, status);
	log_debug("request refused", "status=%u message=\"%s\"", status, msg);
	if (kind == REQ_PUSH || kind == REQ_CONNECT) {
		pyro_connect_error(&rep, status, msg);
	} else if (kind == REQ_UPLOAD) {
		api_error(&rep, status, "%s", msg);
	} else {
		buf_puts(&rep.body, msg);
		buf_putc(&rep.body, '\n');
		rep.status = status;
		rep.type = "text/plain; charset=utf-8";
	}
	return httpd_answer(conn, rep.status, rep.type, &rep.body,
			    retry_after ? "Retry-After" : NULL, retry_after);
}

static enum MHD_Result text(struct server *s, struct MHD_Connection *conn, unsigned int status,
			    const char *msg)
{
	struct buf body = {0};

	buf_puts(&body, msg);
	server_count_code(s, status);
	return httpd_answer(conn, status, "text/plain; charset=utf-8", &body, NULL, NULL);
}

static void metrics(struct server *s, struct buf *out)
{
	struct segwriter_stats ws;
	char labels[64];
	uint64_t rss = 0, peak = 0;

	segwriter__stats(s->opts.writer, &ws);
	pthread_mutex_lock(&s->lock);
	metric_header(out, "sonde_collector_requests_total", "counter",
		      "OTLP and other HTTP requests answered, by status.");
	for (size_t i = 0; i < ARRAY_SIZE(counted_codes); i++) {
		snprintf(labels, sizeof(labels), "code=\"%u\"", counted_codes[i]);
		metric_value(out, "sonde_collector_requests_total", labels,
			     (double)s->stats.by_code[i]);
	}
	metric_value(out, "sonde_collector_requests_total", "code=\"other\"",
		     (double)s->stats.other_codes);
	metric_header(out, "sonde_collector_received_bytes_total", "counter",
		      "OTLP request bodies, as sent and inflated.");
	metric_value(out, "sonde_collector_received_bytes_total", "encoding=\"wire\"",
		     (double)s->stats.bytes_received);
	metric_value(out, "sonde_collector_received_bytes_total", "encoding=\"inflated\"",
		     (double)s->stats.bytes_inflated);
	metric_single(out, "sonde_collector_decode_seconds_total", "counter",
		      "Time spent inflating, decoding and validating requests.",
		      (double)s->stats.decode_ns / 1e9);
	metric_single(
		out, "sonde_collector_dropped_attributes_total", "counter",
		"Attribute values with no string form (arrays, maps, bytes), not kept as labels.",
		(double)s->stats.dropped_attributes);
	metric_single(out, "sonde_collector_queries_total", "counter",
		      "Query API and UI requests answered.", (double)s->stats.queries);
	metric_single(out, "sonde_collector_query_seconds_total", "counter",
		      "Time spent answering queries.", (double)s->stats.query_ns / 1e9);
	pthread_mutex_unlock(&s->lock);
	metric_single(out, "sonde_collector_ingested_requests_total", "counter",
		      "Requests taken in by the segment writer.", (double)ws.requests);
	metric_single(out, "sonde_collector_acknowledged_requests_total", "counter",
		      "Requests acknowledged once durable.", (double)ws.acked);
	metric_single(out, "sonde_collector_failed_requests_total", "counter",
		      "Requests failed after being taken in (a storage error); clients resend.",
		      (double)ws.failed);
	metric_single(out, "sonde_collector_refused_requests_total", "counter",
		      "Requests refused for back-pressure (503).", (double)ws.refused);
	metric_single(out, "sonde_collector_profiles_total", "counter", "OTLP profiles taken in.",
		      (double)ws.profiles);
	metric_single(out, "sonde_collector_samples_total", "counter", "Sample values taken in.",
		      (double)ws.samples);
	metric_single(out, "sonde_collector_blocks_written_total", "counter",
		      "Level-0 blocks written.", (double)ws.blocks);
	metric_single(out, "sonde_collector_block_bytes_written_total", "counter",
		      "Bytes of level-0 blocks written.", (double)ws.block_bytes);
	metric_single(out, "sonde_collector_block_write_errors_total", "counter",
		      "Blocks that could not be encoded or stored.", (double)ws.write_errors);
	metric_single(out, "sonde_collector_block_write_seconds_total", "counter",
		      "Time spent encoding and storing blocks.", (double)ws.write_ns / 1e9);
	metric_single(out, "sonde_collector_ack_seconds_total", "counter",
		      "Time from taking a request in to acknowledging it, summed.",
		      (double)ws.ack_ns / 1e9);
	metric_single(out, "sonde_collector_pending_bytes", "gauge",
		      "Memory of data waiting to be written.", (double)ws.pending_bytes);
	metric_single(out, "sonde_collector_open_heads", "gauge",
		      "Tenants with data waiting to be written.", (double)ws.open_heads);
	metric_single(out, "sonde_collector_buffered_request_bytes", "gauge",
		      "Request bodies being received or decoded.",
		      (double)atomic_load(&s->buffered));
	conn_deadlines__metrics(s->deadlines, out);
	membudget__metrics(s->mem, out);
	if (s->opts.extra_metrics)
		s->opts.extra_metrics(s->opts.extra_ctx, out);
	proc_self_rss(&rss, &peak);
	metric_single(out, "sonde_collector_resident_memory_bytes", "gauge",
		      "Resident memory of the collector.", (double)rss);
}

/* Called by a writer thread once the request is durable (err 0) or failed. */
static void on_done(void *ctx, int err)
{
	struct req *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->result = err;
	r->state = REQ_ACKED;
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
	}
	pthread_mutex_unlock(&r->lock);
}

static enum MHD_Result ack(struct server *s, struct req *r)
{
	Response resp = Response_INIT;
	struct buf body = {0};
	size_t n;

	if (r->result == -EBUSY || r->result == -ECANCELED)
		return refuse(s, r->conn, r->kind, 503, RETRY_AFTER_BUSY,
			      "the collector is shutting down; retry");
	if (r->result == -ENOMEM)
		return refuse(s, r->conn, r->kind, 503, RETRY_AFTER_BUSY,
			      "the collector is out of memory; retry later");
	if (r->result)
		return refuse(s, r->conn, r->kind, 503, RETRY_AFTER_STORE,
			      "the collector cannot write to its storage now; retry later");
	if (r->kind != REQ_OTLP) {
		/* Pyroscope: an empty body, or PushResponse{} in the request's codec */
		server_count_code(s, 200);
		if (r->kind == REQ_PUSH && r->json)
			buf_puts(&body, "{}");
		return httpd_answer(r->conn, 200,
				    r->kind == REQ_INGEST ? "text/plain; charset=utf-8"
				    : r->json		  ? "application/json"
							  : "application/proto",
				    &body, NULL, NULL);
	}
	/* a full success: partial_success left unset, as the specification says */
	n = response_get_packed_size(&resp);
	if (n && !buf_reserve(&body, n)) {
		response_pack(&resp, body.data);
		body.len = n;
	}
	server_count_code(s, 200);
	return httpd_answer(r->conn, 200, "application/x-protobuf", &body, NULL, NULL);
}

static void release_body(struct server *s, struct req *r)
{
	atomic_fetch_sub(&s->buffered, r->buffered);
	membudget__release(s->mem, r->buffered);
	r->buffered = 0;
	buf_free(&r->body);
}

/* ---- the memory bound (membudget.h) ---- */

/*
 * Reserves the cost of a request of inflated bytes (beyond what r holds already) until it
 * ends. 0, 413 when it could never fit, or 503 when it does not fit now; msg says which.
 */
static unsigned int reserve_cost(struct server *s, struct req *r, uint64_t inflated, char *msg,
				 size_t size)
{
	int e = membudget__admit(s->mem, inflated, &r->reserved, msg, size);

	return e == -EFBIG ? 413 : e ? 503 : 0;
}

/* A Pyroscope body (inflated) into a batch: pyro_ingest.h's errors, a message in msg. */
static int decode_pyro(struct server *s, struct req *r, const struct buf *body,
		       struct pyro_batch *batch, char *msg, size_t size)
{
	struct MHD_Connection *c = r->conn;
	struct pprof_limits lim = {.max_bytes = s->opts.max_body_bytes};
	const uint8_t *data = body->data ? body->data : (const uint8_t *)"";
	uint64_t now = clock_ns(CLOCK_REALTIME);

	if (r->kind == REQ_PUSH)
		return pyro_push(r->json, data, body->len, &lim, now, s->delta, r->tenant, batch,
				 msg, size);
	struct pyro_ingest_params p = {
		.name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"),
		.from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from"),
		.until = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "until"),
		.sample_rate = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sampleRate"),
		.spy_name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "spyName"),
		.format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format"),
		.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
	};

	return pyro_ingest(&p, data, body->len, &lim, now, batch, msg, size);
}

/*
 * Hands a decoded request to the writer and suspends until it is stored; free(src) is called
 * once the writer has taken it (or refused it).
 */
static enum MHD_Result hand_over(struct server *s, struct req *r, const struct seg_input *in,
				 void (*free_src)(void *src), void *src)
{
	int err;

	pthread_mutex_lock(&r->lock);
	r->state = REQ_WAITING;
	err = segwriter__add_input(s->opts.writer, r->tenant, in, on_done, r);
	free_src(src);
	if (err) {
		pthread_mutex_unlock(&r->lock);
		return refuse(s, r->conn, r->kind, 503, RETRY_AFTER_BUSY,
			      err == -EBUSY ? "the collector is behind writing to storage (or "
					      "shutting down); retry"
					    : "out of memory; retry later");
	}
	if (r->state == REQ_ACKED) {
		/* already durable (a fast writer): answer now */
		pthread_mutex_unlock(&r->lock);
		return ack(s, r);
	}
	r->suspended = true;
	MHD_suspend_connection(r->conn);
	pthread_mutex_unlock(&r->lock);
	return MHD_YES;
}

static void free_batch(void *b)
{
	pyro_batch_free(b);
}

static void free_otlp(void *ir)
{
	ingest_request_free(ir);
}

/* A decoded Pyroscope batch to the writer. */
static enum MHD_Result submit_batch(struct server *s, struct req *r, struct pyro_batch *batch)
{
	struct seg_input in;

	if (batch->samples == 0) {
		pyro_batch_free(batch);
		r->result = 0;
		return ack(s, r);
	}
	pyro_batch_input(batch, &in);
	return hand_over(s, r, &in, free_batch, batch);
}

/* The body is in: inflate, decode, validate, hand to the writer, suspend. */
static enum MHD_Result submit(struct server *s, struct req *r)
{
	struct ingest_limits lim = {.max_body = s->opts.max_body_bytes};
	struct ingest_request *ir = NULL;
	struct pyro_batch batch = {0};
	struct ingest_counts counts;
	struct buf inflated = {0};
	const struct buf *body = &r->body;
	char msg[INGEST_MSG_SIZE];
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	unsigned int status;
	int err;

	pthread_mutex_lock(&s->lock);
	s->stats.bytes_received += r->body.len;
	pthread_mutex_unlock(&s->lock);
	/* gzip: what it inflates to is reserved once known (a trailer may lie) */
	status = reserve_cost(s, r, r->body.len, msg, sizeof(msg));
	if (status) {
		release_body(s, r);
		return refuse(s, r->conn, r->kind, status, status == 503 ? RETRY_AFTER_BUSY : NULL,
			      msg);
	}
	if (r->gzip) {
		err = gunzip_bounded(r->body.data, r->body.len, s->opts.max_body_bytes, &inflated);
		if (err == -EFBIG) {
			snprintf(msg, sizeof(msg),
				 "the request inflates to over %llu bytes (--max-body-size)",
				 (unsigned long long)s->opts.max_body_bytes);
			buf_free(&inflated);
			release_body(s, r);
			return refuse(s, r->conn, r->kind, 413, NULL, msg);
		}
		if (err) {
			buf_free(&inflated);
			release_body(s, r);
			return err == -ENOMEM
				       ? refuse(s, r->conn, r->kind, 503, RETRY_AFTER_BUSY,
						"out of memory; retry later")
				       : refuse(s, r->conn, r->kind, 400, NULL,
						"Content-Encoding is gzip but the body is not "
						"valid gzip (corrupt or truncated)");
		}
		body = &inflated;
		status = reserve_cost(s, r, inflated.len, msg, sizeof(msg));
		if (status) {
			buf_free(&inflated);
			release_body(s, r);
			return refuse(s, r->conn, r->kind, status,
				      status == 503 ? RETRY_AFTER_BUSY : NULL, msg);
		}
	}
	if (r->kind == REQ_OTLP)
		err = ingest_decode(body->data, body->len, &lim, &ir, msg, sizeof(msg));
	else
		err = decode_pyro(s, r, body, &batch, msg, sizeof(msg));
	pthread_mutex_lock(&s->lock);
	s->stats.bytes_inflated += body->len;
	s->stats.decode_ns += clock_ns(CLOCK_MONOTONIC) - t0;
	pthread_mutex_unlock(&s->lock);
	buf_free(&inflated);
	release_body(s, r);
	if (err == -EBADMSG)
		return refuse(s, r->conn, r->kind, 400, NULL, msg);
	if (err == -EFBIG)
		return refuse(s, r->conn, r->kind, 413, NULL, msg);
	if (err == -ENOTSUP)
		return refuse(s, r->conn, r->kind, 422, NULL, msg);
	if (err)
		return refuse(s, r->conn, r->kind, 503, RETRY_AFTER_BUSY,
			      "out of memory; retry later");
	if (r->kind != REQ_OTLP)
		return submit_batch(s, r, &batch);
	ingest_request_counts(ir, &counts);
	pthread_mutex_lock(&s->lock);
	s->stats.dropped_attributes += counts.dropped_attributes;
	pthread_mutex_unlock(&s->lock);
	if (counts.samples == 0) {
		/* nothing to store: an empty request is a success */
		ingest_request_free(ir);
		r->result = 0;
		return ack(s, r);
	}
	{
		struct seg_input in;

		seg_input_otlp(ir, &in);
		return hand_over(s, r, &in, free_otlp, ir);
	}
}

/*
 * The tenant of a request: the token's with --auth-token-file (org, X-Scope-OrgID, may only
 * repeat it), else org, else the default. Returns 0 or an HTTP status with msg.
 */
static unsigned int resolve_tenant(struct server *s, struct MHD_Connection *conn, const char *org,
				   char *tenant, size_t tenant_size, char *msg, size_t size)
{
	if (s->opts.auth) {
		const char *t = auth__tenant(
			s->opts.auth,
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));

		if (!t) {
			snprintf(msg, size,
				 "a valid 'Authorization: Bearer TOKEN' header is required");
			return 401;
		}
		if (org && *org && strcmp(org, t) != 0) {
			snprintf(msg, size, "this token is not for tenant '%.64s' (X-Scope-OrgID)",
				 org);
			return 403;
		}
		str_copy(tenant, t, tenant_size);
		return 0;
	}
	if (org && *org && !tenant_valid(org)) {
		snprintf(msg, size,
			 "invalid X-Scope-OrgID: a tenant is 1 to 64 letters, digits, '.', '_' or "
			 "'-', not starting with '.'");
		return 400;
	}
	str_copy(tenant, org && *org ? org : DEFAULT_TENANT, tenant_size);
	return 0;
}

/* Checks what the headers say before taking the body. Returns 0 or an HTTP status with msg. */
static unsigned int check_headers(struct server *s, struct req *r, struct MHD_Connection *conn,
				  char *msg, size_t size, const char **retry_after)
{
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *cenc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
	const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	const char *org = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID");
	unsigned int status;
	uint64_t len;

	if (!atomic_load(&s->ready)) {
		*retry_after = RETRY_AFTER_BUSY;
		snprintf(msg, size, "the collector is shutting down; retry");
		return 503;
	}
	status = resolve_tenant(s, conn, org, r->tenant, sizeof(r->tenant), msg, size);
	if (status)
		return status;
	r->max_body = r->kind == REQ_CONNECT  ? MIN(s->opts.max_body_bytes, CONNECT_MAX_BODY)
		      : r->kind == REQ_UPLOAD ? s->opts.api.debuginfo_max_bytes
					      : s->opts.max_body_bytes;
	if (r->kind == REQ_PUSH) {
		r->json = ctype && strncasecmp(ctype, "application/json", 16) == 0;
		if (!r->json && (!ctype || strncasecmp(ctype, "application/proto", 17) != 0)) {
			snprintf(msg, size,
				 "Content-Type must be application/proto or application/json");
			return 415;
		}
	} else if (r->kind == REQ_OTLP &&
		   (!ctype || (strncasecmp(ctype, "application/x-protobuf", 22) != 0 &&
			       strncasecmp(ctype, "application/protobuf", 20) != 0))) {
		snprintf(msg, size, "Content-Type must be application/x-protobuf%s",
			 ctype && strncasecmp(ctype, "application/json", 16) == 0
				 ? " (OTLP/JSON is not supported by this collector)"
				 : "");
		return 415;
	}
	if (cenc && *cenc && strcasecmp(cenc, "gzip") != 0 && strcasecmp(cenc, "identity") != 0) {
		snprintf(msg, size, "Content-Encoding '%.32s' is not supported: send gzip or none",
			 cenc);
		return 415;
	}
	r->gzip = cenc && strcasecmp(cenc, "gzip") == 0;
	if (clen && parse_u64(clen, &len) == 0 && len > r->max_body) {
		snprintf(msg, size, "the request is %llu bytes, over the limit of %llu (%s)",
			 (unsigned long long)len, (unsigned long long)r->max_body,
			 r->kind == REQ_UPLOAD ? "--debuginfo-max-size" : "--max-body-size");
		return 413;
	}
	/*
	 * a body inflates to at least its size: refuse now what cannot fit, rather than later (a
	 * debug file is not decoded into samples: its body is reserved as it arrives)
	 */
	if (clen && parse_u64(clen, &len) == 0 && r->kind != REQ_UPLOAD) {
		status = reserve_cost(s, r, len, msg, size);
		if (status == 503)
			*retry_after = RETRY_AFTER_BUSY;
		return status;
	}
	return 0;
}

/*
 * The query API and the UI (GET). The tenant as for ingest; also ?tenant= without tokens. The
 * API's queries run on threads of their own (server_query.c), so ingest never waits for one.
 */
static enum MHD_Result api(struct server *s, struct MHD_Connection *conn, const char *method,
			   const char *url, void **req_cls)
{
	const char *org = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID");
	char tenant[72], msg[256];
	struct api_reply r;
	unsigned int status;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

	if (!org && !s->opts.auth)
		org = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "tenant");
	/* the UI's files are public: they hold no data */
	if (strncmp(url, "/api/", 5) == 0 || pyro_http_path(url)) {
		status = resolve_tenant(s, conn, org, tenant, sizeof(tenant), msg, sizeof(msg));
		if (status) {
			struct buf body = {0};

			buf_puts(&body, "{\"error\":");
			json_string(&body, msg);
			buf_puts(&body, "}\n");
			server_count_code(s, status);
			return httpd_answer(conn, status, "application/json", &body, NULL, NULL);
		}
		return server_query_start(s, conn, tenant, method, url, NULL, req_cls);
	} else {
		str_copy(tenant, DEFAULT_TENANT, sizeof(tenant));
	}
	api_handle(&s->opts.api, conn, tenant, method, url, NULL, &r);
	pthread_mutex_lock(&s->lock);
	s->stats.queries++;
	s->stats.query_ns += clock_ns(CLOCK_MONOTONIC) - t0;
	pthread_mutex_unlock(&s->lock);
	server_count_code(s, r.status);
	log_debug("query", "path=%s status=%u ms=%.1f", url, r.status,
		  (double)(clock_ns(CLOCK_MONOTONIC) - t0) / 1e6);
	return httpd_answer(conn, r.status, r.type, &r.body, r.header, r.header_value);
}

/* What a request to url is (REQ_GET: anything without a body of its own). */
static enum req_kind body_kind(struct server *s, const char *url)
{
	if (strcmp(url, OTLP_PATH) == 0)
		return REQ_OTLP;
	if (strcmp(url, "/ingest") == 0 || strcmp(url, "/pyroscope/ingest") == 0)
		return REQ_INGEST;
	if (strcmp(url, "/push.v1.PusherService/Push") == 0)
		return REQ_PUSH;
	if (s->opts.api.store && pyro_connect_path(url))
		return REQ_CONNECT;
	if (s->opts.api.store && debuginfo_api_path(url))
		return REQ_UPLOAD;
	return REQ_GET;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct server *s = cls;
	struct req *r = *req_cls;

	(void)version;
	if (r && r->query)
		return server_query_answer(s, r);
	if (!r) {
		const char *retry_after = NULL;
		char msg[256];
		unsigned int status;

		enum req_kind kind = body_kind(s, url);

		/* a debug file's GET and DELETE have no body: the API's */
		if (kind == REQ_UPLOAD && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
			kind = REQ_GET;

		if (kind == REQ_CONNECT && s->opts.no_query)
			return refuse(s, conn, kind, 404, NULL,
				      "this collector answers no queries (--target): ask a query "
				      "instance");
		if (kind != REQ_GET && kind != REQ_CONNECT && kind != REQ_UPLOAD &&
		    s->opts.no_ingest)
			return refuse(
				s, conn, kind, 404, NULL,
				"this collector takes no profiles (--target): send them to an "
				"ingest instance");

		/* the head is in: a body now has its own deadline, an answer none */
		conn_deadlines__head(s->deadlines, conn,
				     kind != REQ_GET && (strcmp(method, "POST") == 0 ||
							 strcmp(method, "PUT") == 0));
		if (kind == REQ_GET) {
			if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
			    !(strcmp(method, "DELETE") == 0 && debuginfo_api_path(url)))
				return text(s, conn, 405, "method not allowed\n");
			if (strcmp(url, "/metrics") == 0) {
				struct buf body = {0};

				metrics(s, &body);
				server_count_code(s, 200);
				return httpd_answer(conn, 200,
						    "text/plain; version=0.0.4; charset=utf-8",
						    &body, NULL, NULL);
			}
			if (strcmp(url, "/ready") == 0)
				return atomic_load(&s->ready) ? text(s, conn, 200, "ready\n")
							      : text(s, conn, 503, "not ready\n");
			if (s->opts.api.store && api_path(url) && s->opts.no_query)
				return text(s, conn, 404,
					    "this collector answers no queries (--target): ask a "
					    "query instance\n");
			if (s->opts.api.store && api_path(url))
				return api(s, conn, method, url, req_cls);
			return text(s, conn, 404,
				    "not found: OTLP profiles go to POST " OTLP_PATH "\n");
		}
		if (strcmp(method, "POST") != 0 &&
		    !(kind == REQ_UPLOAD && strcmp(method, "PUT") == 0))
			return refuse(s, conn, kind, 405, NULL,
				      kind == REQ_OTLP ? "OTLP profiles are sent with POST"
						       : "this endpoint takes POST");
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		r->kind = kind;
		pthread_mutex_init(&r->lock, NULL);
		*req_cls = r;
		atomic_fetch_add(&s->live, 1);
		status = check_headers(s, r, conn, msg, sizeof(msg), &retry_after);
		if (status && (kind == REQ_OTLP || status == 413 || status == 503))
			return refuse(s, conn, kind, status, retry_after, msg);
		if (status) {
			/*
			 * Pyroscope's clients write the whole body before they read: answered
			 * now, they would see a broken pipe rather than the reason.
			 */
			r->refused = status;
			r->refused_retry = retry_after;
			str_copy(r->refused_msg, msg, sizeof(r->refused_msg));
		}
		return MHD_YES;
	}
	if (r->state == REQ_ACKED)
		return ack(s, r);
	if (r->state == REQ_WAITING)
		return MHD_YES; /* resumed spuriously: keep waiting */
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big || r->too_busy || r->refused)
			return MHD_YES; /* discarded; answered at the end */
		if (r->body.len + n > r->max_body) {
			r->too_big = true;
			release_body(s, r);
			return MHD_YES;
		}
		if (membudget__reserve(s->mem, n)) {
			r->too_busy = true;
			release_body(s, r);
			return MHD_YES;
		}
		atomic_fetch_add(&s->buffered, n);
		r->buffered += n;
		buf_append(&r->body, upload_data, n);
		if (r->body.oom) {
			r->too_busy = true;
			release_body(s, r);
		}
		return MHD_YES;
	}
	conn_deadlines__body(s->deadlines, conn);
	if (r->refused)
		return refuse(s, conn, r->kind, r->refused, r->refused_retry, r->refused_msg);
	if (r->too_big) {
		char msg[128];

		snprintf(msg, sizeof(msg), "the request is over the limit of %llu bytes (%s)",
			 (unsigned long long)r->max_body,
			 r->kind == REQ_UPLOAD ? "--debuginfo-max-size" : "--max-body-size");
		return refuse(s, conn, r->kind, 413, NULL, msg);
	}
	if (r->too_busy)
		return refuse(s, conn, r->kind, 503, RETRY_AFTER_BUSY,
			      "the memory of the collector (--max-memory) is taken by other "
			      "requests now; retry");
	if (r->kind == REQ_CONNECT || r->kind == REQ_UPLOAD) {
		/*
		 * a query or a debug file: its body goes to the query threads, which answer it; a
		 * debug file's stays reserved under --max-memory until then (it is held whole)
		 */
		if (r->kind == REQ_CONNECT) {
			atomic_fetch_sub(&s->buffered, r->buffered);
			membudget__release(s->mem, r->buffered);
			r->buffered = 0;
		}
		if (server_query_start(s, conn, r->tenant, "POST", url, r, req_cls) == MHD_YES)
			return MHD_YES;
		return refuse(s, conn, r->kind, 503, RETRY_AFTER_BUSY,
			      "too many queries at once; retry later");
	}
	return submit(s, r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **req_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct req *r = *req_cls;

	(void)toe;
	/* the next request on this connection: its head has a deadline again */
	conn_deadlines__answered(s->deadlines, conn);
	if (!r)
		return;
	if (r->query) {
		api_job__free(r->query); /* answered: the connection was suspended until then */
		r->query = NULL;
		if (r->kind != REQ_CONNECT && r->kind != REQ_UPLOAD) {
			pthread_mutex_destroy(&r->lock);
			free(r);
			*req_cls = NULL;
			return;
		}
	}
	/*
	 * A connection closed while its request waits: the writer still holds r. It cannot be
	 * freed before the writer calls back, so the callback owns it then.
	 */
	pthread_mutex_lock(&r->lock);
	if (r->state == REQ_WAITING) {
		/* cannot happen while suspended: MHD keeps suspended connections open */
		log_warn("a connection ended while its request waited to be stored", "tenant=%s",
			 r->tenant);
	}
	pthread_mutex_unlock(&r->lock);
	release_body(s, r);
	membudget__release(s->mem, r->reserved);
	pthread_mutex_destroy(&r->lock);
	free(r);
	*req_cls = NULL;
	atomic_fetch_sub(&s->live, 1);
}

/*
 * What keeps one client from holding the server: a limit per source address under the total
 * one, deadlines for heads and bodies (conn_deadlines.h), and TLS when asked for.
 */
static struct MHD_Daemon *listen_guarded(struct server *s)
{
	struct MHD_OptionItem mopts[] = {
		{MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->opts.threads, NULL},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->opts.max_connections, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, s},
		{MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)conn_deadlines__notify, s->deadlines},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)s->opts.max_connections_per_client,
		 NULL},
		{s->opts.tls ? MHD_OPTION_HTTPS_CERT_CALLBACK2 : MHD_OPTION_END, 0,
		 (void *)tls_certs__retrieve},
		{MHD_OPTION_END, 0, NULL},
	};
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;

	if (s->opts.tls) {
		if (!MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK2)) {
			log_error("this libmicrohttpd cannot serve TLS (built without GnuTLS "
				  "3.6.3+)");
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	return httpd_listen(s->opts.listen, flags, handle, s, mopts, "listen");
}

struct server *server__new(const struct server_opts *opts)
{
	struct server *s = calloc(1, sizeof(*s));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct conn_deadlines_opts dopts = {
		.head_ns = opts->header_timeout_ns,
		.body_ns = opts->body_timeout_ns,
		.idle_ns = IDLE_TIMEOUT_S * NSEC_PER_SEC,
	};

	if (!s)
		return NULL;
	s->opts = *opts;
	if (!s->opts.max_body_bytes)
		s->opts.max_body_bytes = DEFAULT_MAX_BODY;
	if (!s->opts.threads)
		s->opts.threads = ncpu > 0 ? (unsigned int)ncpu : 2;
	if (!s->opts.max_connections)
		s->opts.max_connections = 1024;
	s->mem = membudget__new(s->opts.max_memory_bytes);
	s->delta = pyro_delta__new(0);
	if (!s->mem || !s->delta) {
		membudget__free(s->mem);
		pyro_delta__free(s->delta);
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	atomic_store(&s->ready, true);
	if (s->opts.api.store && server_start_queries(s)) {
		membudget__free(s->mem);
		pyro_delta__free(s->delta);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	/* --header-timeout 0 turns every limit on heads off, the crowded rule with it */
	dopts.max_open = opts->header_timeout_ns ? s->opts.max_connections : 0;
	s->deadlines = conn_deadlines__new(&dopts);
	if (s->deadlines)
		s->daemon = listen_guarded(s);
	else
		log_error("cannot start the thread of connection deadlines", "err=\"%s\"",
			  strerror(errno));
	if (!s->daemon) {
		conn_deadlines__free(s->deadlines);
		api_runner__free(s->queries);
		membudget__free(s->mem);
		pyro_delta__free(s->delta);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	return s;
}

void server__quiesce(struct server *s)
{
	atomic_store(&s->ready, false);
}

bool server__wait_answered(struct server *s, uint64_t deadline_ns)
{
	while (atomic_load(&s->live) > 0) {
		if (clock_ns(CLOCK_MONOTONIC) >= deadline_ns)
			return false;
		usleep(10000);
	}
	return true;
}

void server__free(struct server *s)
{
	if (!s)
		return;
	/* queries cancelled and answered first: MHD cannot stop with connections suspended */
	api_runner__free(s->queries);
	MHD_stop_daemon(s->daemon);
	conn_deadlines__free(s->deadlines);
	membudget__free(s->mem);
	pyro_delta__free(s->delta);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
