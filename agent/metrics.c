// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics.h"
#include "../common/log.h"
#include "../common/util.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	metrics_render_fn fn;
	void *ctx;
};

int split_host_port(const char *addr, char *host, size_t host_size, unsigned int *ret_port)
{
	const char *colon;
	uint64_t port;

	if (!addr || !*addr)
		return -EINVAL;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= host_size)
			return -EINVAL;
		memcpy(host, addr + 1, (size_t)(close - addr - 1));
		host[close - addr - 1] = 0;
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= host_size)
			return -EINVAL;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
	}
	if (parse_u64(colon + 1, &port) || port > 65535)
		return -EINVAL;
	*ret_port = (unsigned int)port;
	return 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned int status, const char *type,
			      struct buf *body)
{
	size_t len = body->len;
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf_steal(body, &len),
								 MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics_server *m = cls;
	struct buf body = { 0 };

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (*upload_data_size)
		return MHD_NO; /* no bodies here */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		buf_puts(&body, "method not allowed\n");
		return answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body);
	}
	if (strcmp(url, "/metrics") == 0) {
		m->fn(m->ctx, &body);
		return answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/ready") == 0) {
		buf_puts(&body, "ok\n");
		return answer(conn, MHD_HTTP_OK, "text/plain", &body);
	}
	buf_puts(&body, "not found: try /metrics\n");
	return answer(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body);
}

struct metrics_server *metrics_server__new(const char *addr, metrics_render_fn fn, void *ctx)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				  .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char host[256], port_s[8];
	unsigned int port;
	int gerr;

	if (!m)
		return NULL;
	m->fn = fn;
	m->ctx = ctx;
	if (split_host_port(addr, host, sizeof(host), &port)) {
		log_error("invalid --metrics-addr: expected HOST:PORT", "addr=\"%s\"", addr);
		goto fail;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	gerr = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &ai);
	if (gerr) {
		log_error("cannot resolve --metrics-addr", "addr=\"%s\" err=\"%s\"", addr,
			  gai_strerror(gerr));
		goto fail;
	}
	m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				     (uint16_t)port, NULL, NULL, handle, m,
				     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				     MHD_OPTION_CONNECTION_LIMIT, 32u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!m->daemon) {
		log_error("cannot listen on --metrics-addr (in use, or not allowed)", "addr=\"%s\"",
			  addr);
		goto fail;
	}
	return m;
fail:
	free(m);
	return NULL;
}

void metrics_server__free(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	free(m);
}

void metric_header(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metric_value(struct buf *out, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		buf_printf(out, "%s{%s} %.17g\n", name, labels, value);
	else
		buf_printf(out, "%s %.17g\n", name, value);
}

void metric_single(struct buf *out, const char *name, const char *type, const char *help, double value)
{
	metric_header(out, name, type, help);
	metric_value(out, name, NULL, value);
}
