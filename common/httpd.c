// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "log.h"
#include "util.h"

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

struct MHD_Daemon *httpd_listen(const char *addr, unsigned int flags, MHD_AccessHandlerCallback fn,
				void *cls, const struct MHD_OptionItem *extra, const char *flag)
{
	static const struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	struct MHD_Daemon *d;
	char host[256], port_s[8];
	unsigned int port;
	int gerr;

	if (split_host_port(addr, host, sizeof(host), &port)) {
		log_error("invalid listen address: expected HOST:PORT", "flag=--%s addr=\"%s\"",
			  flag, addr ? addr : "");
		return NULL;
	}
	snprintf(port_s, sizeof(port_s), "%u", port);
	gerr = getaddrinfo(host[0] ? host : NULL, port_s, &hints, &ai);
	if (gerr) {
		log_error("cannot resolve the listen address", "flag=--%s addr=\"%s\" err=\"%s\"",
			  flag, addr, gai_strerror(gerr));
		return NULL;
	}
	d = MHD_start_daemon(flags | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0), (uint16_t)port,
			     NULL, NULL, fn, cls, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_ARRAY, extra ? extra : none, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d)
		log_error("cannot listen (address in use, or not allowed)", "flag=--%s addr=\"%s\"",
			  flag, addr);
	return d;
}

enum MHD_Result httpd_answer(struct MHD_Connection *conn, unsigned int status, const char *type,
			     struct buf *body, const char *header, const char *header_value)
{
	size_t len = body->len;
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, len ? buf_steal(body, &len) : NULL,
					    len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	buf_free(body);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	if (header)
		MHD_add_response_header(r, header, header_value);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
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

void metric_single(struct buf *out, const char *name, const char *type, const char *help,
		   double value)
{
	metric_header(out, name, type, help);
	metric_value(out, name, NULL, value);
}
