// SPDX-License-Identifier: Apache-2.0
/* Requests to a collector, for the commands that use its API. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../common/buf.h"

static size_t collect(char *p, size_t size, size_t n, void *ctx)
{
	buf_append(ctx, p, size * n);
	return size * n;
}

int cli_http(const struct cli_conn *c, const char *method, const char *url, const void *body,
	     size_t len, long *ret_status, struct buf *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct buf hdr = {0};
	char errbuf[CURL_ERROR_SIZE] = "";
	int ret = CLI_OK;
	CURLcode rc;

	if (!h)
		return CLI_ERROR;
	if (c->tenant) {
		buf_printf(&hdr, "X-Scope-OrgID: %s", c->tenant);
		hdrs = curl_slist_append(hdrs, buf_cstr(&hdr));
	}
	if (c->token) {
		buf_reset(&hdr);
		buf_printf(&hdr, "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, buf_cstr(&hdr));
	}
	if (body) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 300L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "sonde %s: cannot reach %s: %s\n", c->cmd, c->url,
			*errbuf ? errbuf : curl_easy_strerror(rc));
		ret = CLI_ERROR;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, ret_status);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	buf_free(&hdr);
	return ret;
}

void cli_http_error(const struct cli_conn *c, long status, const struct buf *body)
{
	const char *b = body->data ? (const char *)body->data : "", *p;
	struct buf msg = {0};
	size_t n = body->len;

	p = memmem(b, n, "\"error\":\"", 9);
	if (p) {
		for (p += 9; p < b + n && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < b + n)
				p++;
			buf_putc(&msg, (uint8_t)*p);
		}
	} else {
		buf_append(&msg, b, n);
		while (msg.len && (msg.data[msg.len - 1] == '\n'))
			msg.len--;
	}
	fprintf(stderr, "sonde %s: the collector answered %ld: %s\n", c->cmd, status,
		buf_cstr(&msg));
	buf_free(&msg);
}
