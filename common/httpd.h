/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What Sonde's HTTP servers (libmicrohttpd) share: listening on a "HOST:PORT" flag, answering
 * with a buffer, and the Prometheus text format of their /metrics pages.
 */
#ifndef SONDE_HTTPD_H
#define SONDE_HTTPD_H

#include <microhttpd.h>
#include <stddef.h>

#include "buf.h"

/* Splits "HOST:PORT", ":PORT" or "[::1]:PORT" into host ("" for any) and port. 0 or -EINVAL. */
int split_host_port(const char *addr, char *host, size_t host_size, unsigned int *ret_port);

/*
 * Starts a libmicrohttpd daemon listening on addr with the given flags (plus IPv6 when addr is
 * one) and extra options (an MHD_OPTION_END-terminated array, or NULL). Returns NULL after
 * logging one error line that names flag (the option that gave addr) when the address is
 * invalid, cannot be resolved, or cannot be bound.
 */
struct MHD_Daemon *httpd_listen(const char *addr, unsigned int flags, MHD_AccessHandlerCallback fn,
				void *cls, const struct MHD_OptionItem *extra, const char *flag);

/*
 * Queues a response of body (taken: body is reset) with its content type and, if not NULL, one
 * extra header ("Name", "value"). Returns what MHD_queue_response does.
 */
enum MHD_Result httpd_answer(struct MHD_Connection *conn, unsigned int status, const char *type,
			     struct buf *body, const char *header, const char *header_value);

/* Prometheus text helpers: one counter or gauge sample, with optional labels ("k=\"v\""). */
void metric_header(struct buf *out, const char *name, const char *type, const char *help);
void metric_value(struct buf *out, const char *name, const char *labels, double value);
/* A metric of one unlabelled value: its header and the value. */
void metric_single(struct buf *out, const char *name, const char *type, const char *help,
		   double value);

#endif
