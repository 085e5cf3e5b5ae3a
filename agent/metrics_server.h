/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own metrics over HTTP (libmicrohttpd): GET /metrics in the Prometheus text
 * format, rendered by a callback; GET /healthz for liveness probes.
 */
#ifndef SONDE_METRICS_SERVER_H
#define SONDE_METRICS_SERVER_H

#include "../common/buf.h"
#include "../common/httpd.h"

/* Appends the metrics page to out. Runs on the server's thread. */
typedef void (*metrics_render_fn)(void *ctx, struct buf *out);

struct metrics_server;

/*
 * Listens on addr ("HOST:PORT", ":PORT", "[::1]:PORT"). Returns NULL (logged) when the address
 * is invalid or taken.
 */
struct metrics_server *metrics_server__new(const char *addr, metrics_render_fn fn, void *ctx);
void metrics_server__free(struct metrics_server *m);

#endif
