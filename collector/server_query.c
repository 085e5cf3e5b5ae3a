// SPDX-License-Identifier: Apache-2.0
/* The query API on threads of its own (api_runner.h), so ingest never waits for a query. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server_impl.h"
#include "../common/httpd.h"
#include "../common/log.h"
#include "../common/util.h"

int server_start_queries(struct server *s)
{
	struct api_runner_opts ro = {
		.api = &s->opts.api,
		.threads = s->opts.query_threads,
		.timeout_ns = s->opts.query_timeout_ns,
	};

	s->queries = api_runner__new(&ro);
	if (!s->queries)
		log_error("cannot start the query threads", "err=\"%s\"", strerror(errno));
	return s->queries ? 0 : -ENOMEM;
}

/* Hands the query to the query threads; the connection waits suspended for the answer. */
enum MHD_Result server_query_start(struct server *s, struct MHD_Connection *conn,
				   const char *tenant, const char *method, const char *url,
				   struct req *with_body, void **req_cls)
{
	struct req *r = with_body ? with_body : calloc(1, sizeof(*r));
	struct buf body = {0};
	uint64_t timeout_ns = 0;
	int e = -ENOMEM;

	if (with_body) {
		const char *ms =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connect-Timeout-Ms");
		uint64_t v;

		if (ms && !parse_u64(ms, &v) && v && v < UINT64_MAX / 1000000)
			timeout_ns = v * 1000000;
		r->query = api_runner__start(s->queries, conn, tenant, method, url, &r->body,
					     timeout_ns, &e);
		return r->query ? MHD_YES : MHD_NO; /* the caller answers the error */
	}
	if (r) {
		r->srv = s;
		r->conn = conn;
		pthread_mutex_init(&r->lock, NULL);
		r->query = api_runner__start(s->queries, conn, tenant, method, url, NULL, 0, &e);
	}
	if (r && r->query) {
		*req_cls = r;
		return MHD_YES;
	}
	if (r)
		pthread_mutex_destroy(&r->lock);
	free(r);
	buf_puts(&body, e == -EBUSY ? "{\"error\":\"too many queries at once; retry later\"}\n"
				    : "{\"error\":\"out of memory\"}\n");
	server_count_code(s, 503);
	return httpd_answer(conn, 503, "application/json", &body, "Retry-After", RETRY_AFTER_BUSY);
}

/* The handler called again for a query: its answer, once ready. */
enum MHD_Result server_query_answer(struct server *s, struct req *r)
{
	struct api_reply *reply;
	uint64_t ns;

	if (!api_job__answer(r->query, &reply, &ns))
		return MHD_YES; /* resumed spuriously: keep waiting */
	pthread_mutex_lock(&s->lock);
	s->stats.queries++;
	s->stats.query_ns += ns;
	pthread_mutex_unlock(&s->lock);
	server_count_code(s, reply->status);
	log_debug("query", "status=%u ms=%.1f", reply->status, (double)ns / 1e6);
	return httpd_answer(r->conn, reply->status, reply->type, &reply->body, reply->header,
			    reply->header_value);
}
