// SPDX-License-Identifier: Apache-2.0
/*
 * common/httpd.c: listen addresses; a real daemon answering a real client (libcurl) with a
 * body, its type and an extra header; the errors that name the flag; the metric helpers.
 */
#include <errno.h>

#include "unit.h"
#include "capture.h"
#include "http_client.h"
#include "../../common/httpd.h"

static void test_split_host_port(void)
{
	char host[64];
	unsigned port = 0;

	CHECK(split_host_port("127.0.0.1:4040", host, sizeof(host), &port) == 0);
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ_U64(port, 4040);
	CHECK(split_host_port(":9", host, sizeof(host), &port) == 0);
	CHECK_STR(host, "");
	CHECK_EQ_U64(port, 9);
	CHECK(split_host_port("[::1]:8080", host, sizeof(host), &port) == 0);
	CHECK_STR(host, "::1");
	CHECK_EQ_U64(port, 8080);
	CHECK(split_host_port("localhost", host, sizeof(host), &port) == -EINVAL);
	CHECK(split_host_port("host:65536", host, sizeof(host), &port) == -EINVAL);
	CHECK(split_host_port("host:", host, sizeof(host), &port) == -EINVAL);
	CHECK(split_host_port("host:12x", host, sizeof(host), &port) == -EINVAL);
	CHECK(split_host_port("[::1:80", host, sizeof(host), &port) == -EINVAL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **state)
{
	struct buf body = {0};

	(*(int *)cls)++;
	buf_printf(&body, "%s %s", method, url);
	return httpd_answer(conn, strcmp(url, "/teapot") == 0 ? 418 : 200, "text/plain", &body,
			    "X-Sonde-Test", "yes");
}

static void test_serve(void)
{
	unsigned port = free_port();
	char addr[32];
	int calls = 0;
	struct MHD_Daemon *d;
	struct buf body = {0}, headers = {0};

	REQUIRE(port != 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	d = httpd_listen(addr, MHD_USE_INTERNAL_POLLING_THREAD, handler, &calls, NULL, "listen");
	REQUIRE(d != NULL);
	CHECK_EQ_U64(http_request(port, "/hello", NULL, NULL, &body, &headers), 200);
	CHECK_STR(buf_cstr(&body), "GET /hello");
	CHECK(strcasestr(buf_cstr(&headers), "Content-Type: text/plain\r\n") != NULL);
	CHECK(strcasestr(buf_cstr(&headers), "X-Sonde-Test: yes\r\n") != NULL);
	buf_reset(&body);
	CHECK_EQ_U64(http_request(port, "/teapot", NULL, NULL, &body, &headers), 418);
	CHECK_EQ_U64(calls, 2);

	/* the same address again: in use, and the error names the flag */
	{
		struct capture c;
		struct MHD_Daemon *d2;
		char *err;

		REQUIRE(capture_begin(&c, STDERR_FILENO) == 0);
		d2 = httpd_listen(addr, MHD_USE_INTERNAL_POLLING_THREAD, handler, &calls, NULL,
				  "listen");
		err = capture_end(&c);
		CHECK(d2 == NULL);
		CHECK(err && strstr(err, "cannot listen") && strstr(err, "flag=--listen"));
		free(err);
		if (d2)
			MHD_stop_daemon(d2);
	}
	MHD_stop_daemon(d);
	buf_free(&body);
	buf_free(&headers);

	/* an address that is not one */
	{
		struct capture c;
		char *err;

		REQUIRE(capture_begin(&c, STDERR_FILENO) == 0);
		d = httpd_listen("nonsense", MHD_USE_INTERNAL_POLLING_THREAD, handler, &calls, NULL,
				 "metrics-addr");
		err = capture_end(&c);
		CHECK(d == NULL);
		CHECK(err && strstr(err, "invalid listen address") &&
		      strstr(err, "flag=--metrics-addr addr=\"nonsense\""));
		free(err);
	}
}

static void test_metrics(void)
{
	struct buf out = {0};

	metric_header(&out, "sonde_things_total", "counter", "Things seen.");
	metric_value(&out, "sonde_things_total", "kind=\"a\"", 3);
	metric_value(&out, "sonde_things_total", NULL, 1.5);
	metric_single(&out, "sonde_up", "gauge", "Whether it is up.", 1);
	CHECK_STR(buf_cstr(&out), "# HELP sonde_things_total Things seen.\n"
				  "# TYPE sonde_things_total counter\n"
				  "sonde_things_total{kind=\"a\"} 3\n"
				  "sonde_things_total 1.5\n"
				  "# HELP sonde_up Whether it is up.\n"
				  "# TYPE sonde_up gauge\n"
				  "sonde_up 1\n");
	buf_free(&out);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	RUN(test_split_host_port);
	RUN(test_serve);
	RUN(test_metrics);
	curl_global_cleanup();
	return unit_done();
}
