/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own metrics over HTTP (libmicrohttpd): GET /metrics in the Prometheus text
 * format, rendered by a callback; GET /healthz for liveness probes.
 */
#ifndef SONDE_METRICS_H
#define SONDE_METRICS_H

#include "../common/buf.h"

/* Appends the metrics page to out. Runs on the server's thread. */
typedef void (*metrics_render_fn)(void *ctx, struct buf *out);

struct metrics_server;

/*
 * Listens on addr ("HOST:PORT", ":PORT", "[::1]:PORT"). Returns NULL (logged) when the address
 * is invalid or taken.
 */
struct metrics_server *metrics_server__new(const char *addr, metrics_render_fn fn, void *ctx);
void metrics_server__free(struct metrics_server *m);

/* Splits "HOST:PORT" into host (NULL for any) and port. Returns 0 or -EINVAL. */
int split_host_port(const char *addr, char *host, size_t host_size, unsigned int *ret_port);

/* Prometheus text helpers: one counter or gauge sample, with optional labels ("k=\"v\""). */
void metric_header(struct buf *out, const char *name, const char *type, const char *help);
void metric_value(struct buf *out, const char *name, const char *labels, double value);
/* A metric of one unlabelled value: its header and the value. */
void metric_single(struct buf *out, const char *name, const char *type, const char *help, double value);

#endif
