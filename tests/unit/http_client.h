/* SPDX-License-Identifier: Apache-2.0 */
/* A real HTTP client (libcurl) and a free local port, for the tests of Sonde's servers. */
#ifndef SONDE_HTTP_CLIENT_H
#define SONDE_HTTP_CLIENT_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/buf.h"

/* A port nobody listens on now (the kernel's pick for a socket bound to port 0). */
static inline unsigned free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unsigned port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static size_t http_collect_(char *p, size_t size, size_t n, void *ctx)
{
	if (ctx)
		buf_append(ctx, p, size * n);
	return size * n;
}

/*
 * One request to http://127.0.0.1:PORT/PATH: a POST of body when body is not NULL, else a GET;
 * headers a NULL-terminated list of "Name: value" (or NULL). Appends the answer's body and
 * headers (either may be NULL). Returns the status, or 0 when there was no answer.
 */
static inline long http_request(unsigned port, const char *path, const char *const *headers,
				const struct buf *body, struct buf *ret_body,
				struct buf *ret_headers)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512];
	long status = 0;

	if (!c)
		return 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	for (size_t i = 0; headers && headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_collect_);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, ret_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_collect_);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, ret_headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

#endif
