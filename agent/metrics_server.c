// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "metrics_server.h"
#include "../common/httpd.h"
#include "../common/log.h"
#include "../common/util.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	metrics_render_fn fn;
	void *ctx;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct metrics_server *m = cls;
	struct buf body = {0};

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (*upload_data_size)
		return MHD_NO; /* no bodies here */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		buf_puts(&body, "method not allowed\n");
		return httpd_answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", &body, NULL,
				    NULL);
	}
	if (strcmp(url, "/metrics") == 0) {
		m->fn(m->ctx, &body);
		return httpd_answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
				    &body, NULL, NULL);
	}
	if (strcmp(url, "/healthz") == 0 || strcmp(url, "/ready") == 0) {
		buf_puts(&body, "ok\n");
		return httpd_answer(conn, MHD_HTTP_OK, "text/plain", &body, NULL, NULL);
	}
	buf_puts(&body, "not found: try /metrics\n");
	return httpd_answer(conn, MHD_HTTP_NOT_FOUND, "text/plain", &body, NULL, NULL);
}

struct metrics_server *metrics_server__new(const char *addr, metrics_render_fn fn, void *ctx)
{
	static const struct MHD_OptionItem opts[] = {
		{MHD_OPTION_CONNECTION_LIMIT, 32, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, 10, NULL},
		{MHD_OPTION_END, 0, NULL},
	};
	struct metrics_server *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->fn = fn;
	m->ctx = ctx;
	m->daemon = httpd_listen(addr, MHD_USE_INTERNAL_POLLING_THREAD, handle, m, opts,
				 "metrics-addr");
	if (!m->daemon) {
		free(m);
		return NULL;
	}
	return m;
}

void metrics_server__free(struct metrics_server *m)
{
	if (!m)
		return;
	if (m->daemon)
		MHD_stop_daemon(m->daemon);
	free(m);
}
