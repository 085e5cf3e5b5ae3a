/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Deadlines for the connections of a libmicrohttpd server, which by itself only knows an idle
 * timeout that every byte restarts (so a client sending one byte now and then holds a
 * connection for ever):
 *   - the request head (and the TLS handshake) must arrive whole within head_ns of the
 *     connection opening; on a kept-alive connection, within idle_ns + head_ns of the previous
 *     answer (libmicrohttpd's idle timeout, idle_ns, closes one that stays silent);
 *   - a request body must arrive whole within body_ns of its head.
 * When the server is crowded (max_open given, and 7/8 of it open), room is kept for new clients:
 * connections that have waited over a second for a request head (a slow head, or an idle
 * keep-alive) are cut without waiting for their deadline. A client that sends its requests
 * whole does not wait that long; a flood of slow heads from many addresses does.
 * A connection past its deadline is cut: shutdown(2) of its socket, from a thread of its own;
 * libmicrohttpd then sees the end of the stream and closes the connection in its own thread.
 * A request waiting for its answer (being stored, a query running) has no deadline here.
 *
 * Threads: conn_deadlines__notify runs in libmicrohttpd's threads, the __head/__body/__answered
 * calls in its request handlers; all take one mutex, held briefly. The socket of a connection is
 * only ever shut down between its NOTIFY_STARTED and NOTIFY_CLOSED, which libmicrohttpd calls
 * before it closes the socket: a number reused for another file is never touched.
 */
#ifndef SONDE_CONN_DEADLINES_H
#define SONDE_CONN_DEADLINES_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/buf.h"

struct conn_deadlines_opts {
	uint64_t head_ns;      /* 0: no deadline for heads */
	uint64_t body_ns;      /* 0: no deadline for bodies */
	uint64_t idle_ns;      /* libmicrohttpd's idle timeout (MHD_OPTION_CONNECTION_TIMEOUT) */
	unsigned int max_open; /* the server's connection limit; 0: never crowded */
};

struct conn_deadlines;

/* Starts the thread that cuts late connections. NULL on failure (errno set). */
struct conn_deadlines *conn_deadlines__new(const struct conn_deadlines_opts *opts);
/* Stops the thread; call after the daemon has stopped (every connection closed). NULL-safe. */
void conn_deadlines__free(struct conn_deadlines *d);

/* The MHD_OPTION_NOTIFY_CONNECTION callback (cls: the conn_deadlines). */
void conn_deadlines__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			    enum MHD_ConnectionNotificationCode code);
/* The head of a request is in: a body is expected (its deadline starts) or not (none). */
void conn_deadlines__head(struct conn_deadlines *d, struct MHD_Connection *conn, bool body);
/* The whole body is in: no deadline while the request is answered. */
void conn_deadlines__body(struct conn_deadlines *d, struct MHD_Connection *conn);
/* The request is over (answered): the deadline of the next head on this connection starts. */
void conn_deadlines__answered(struct conn_deadlines *d, struct MHD_Connection *conn);

/* Appends the Prometheus lines of connections opened and cut. */
void conn_deadlines__metrics(struct conn_deadlines *d, struct buf *out);

#endif
