// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "conn_deadlines.h"
#include "../common/httpd.h"
#include "../common/util.h"

/* how often late connections are looked for: a cut comes at most this late */
#define SCAN_INTERVAL_NS (200 * 1000000ULL)
/* when crowded, a connection waiting this long for a head gives its place */
#define CROWDED_HEAD_NS (1000 * 1000000ULL)

enum conn_phase {
	PHASE_HEAD,   /* waiting for a request head (or the TLS handshake) */
	PHASE_BODY,   /* receiving a body */
	PHASE_ANSWER, /* the request is being answered: no deadline */
};

struct conn_entry {
	struct conn_entry *prev, *next;
	int fd;
	enum conn_phase phase;
	uint64_t since_ns;    /* when the phase began (CLOCK_MONOTONIC) */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
	bool cut;
};

struct conn_deadlines {
	struct conn_deadlines_opts opts;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	struct conn_entry *head; /* every open connection */
	uint64_t opened, open, cut_head, cut_body, cut_crowded;
};

static uint64_t deadline_after(uint64_t ns)
{
	return ns ? clock_ns(CLOCK_MONOTONIC) + ns : 0;
}

static void cut(struct conn_entry *e, uint64_t *counter)
{
	/* the socket stays open (libmicrohttpd closes it); its reads now see the end */
	shutdown(e->fd, SHUT_RDWR);
	e->cut = true;
	(*counter)++;
}

/* Cuts what is late, and when crowded what waits for a head; called with the lock held. */
static void cut_late(struct conn_deadlines *d, uint64_t now)
{
	uint64_t open = 0;
	bool crowded;

	/* those cut already are on their way out */
	for (struct conn_entry *e = d->head; e; e = e->next)
		open += !e->cut;
	crowded = d->opts.max_open && open * 8 >= (uint64_t)d->opts.max_open * 7;

	for (struct conn_entry *e = d->head; e; e = e->next) {
		if (e->cut)
			continue;
		if (e->deadline_ns && now >= e->deadline_ns) {
			cut(e, e->phase == PHASE_BODY ? &d->cut_body : &d->cut_head);
			open--;
		} else if (crowded && e->phase == PHASE_HEAD &&
			   now - e->since_ns >= CROWDED_HEAD_NS) {
			cut(e, &d->cut_crowded);
			open--;
			crowded = open * 8 >= (uint64_t)d->opts.max_open * 7;
		}
	}
}

static void *run(void *arg)
{
	struct conn_deadlines *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		uint64_t next = clock_ns(CLOCK_MONOTONIC) + SCAN_INTERVAL_NS;
		struct timespec ts = {.tv_sec = (time_t)(next / NSEC_PER_SEC),
				      .tv_nsec = (long)(next % NSEC_PER_SEC)};

		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
		if (!d->stop)
			cut_late(d, clock_ns(CLOCK_MONOTONIC));
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct conn_deadlines *conn_deadlines__new(const struct conn_deadlines_opts *opts)
{
	struct conn_deadlines *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int err;

	if (!d)
		return NULL;
	d->opts = *opts;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	err = pthread_create(&d->thread, NULL, run, d);
	if (err) {
		pthread_cond_destroy(&d->wake);
		pthread_mutex_destroy(&d->lock);
		free(d);
		errno = err;
		return NULL;
	}
	return d;
}

void conn_deadlines__free(struct conn_deadlines *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_signal(&d->wake);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	/* none is left once the daemon has stopped; free any all the same */
	while (d->head) {
		struct conn_entry *e = d->head;

		d->head = e->next;
		free(e);
	}
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void conn_deadlines__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	struct conn_deadlines *d = cls;
	struct conn_entry *e = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		e = calloc(1, sizeof(*e));
		if (!e || !ci) {
			/* out of memory: this connection has only the idle timeout */
			free(e);
			return;
		}
		e->fd = ci->connect_fd;
		e->phase = PHASE_HEAD;
		e->since_ns = clock_ns(CLOCK_MONOTONIC);
		e->deadline_ns = deadline_after(d->opts.head_ns);
		pthread_mutex_lock(&d->lock);
		e->next = d->head;
		if (d->head)
			d->head->prev = e;
		d->head = e;
		d->opened++;
		d->open++;
		pthread_mutex_unlock(&d->lock);
		*socket_context = e;
		return;
	}
	if (!e)
		return;
	pthread_mutex_lock(&d->lock);
	if (e->prev)
		e->prev->next = e->next;
	else
		d->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	d->open--;
	pthread_mutex_unlock(&d->lock);
	free(e);
	*socket_context = NULL;
}

static void set_phase(struct conn_deadlines *d, struct MHD_Connection *conn, enum conn_phase phase,
		      uint64_t limit_ns)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_entry *e = ci ? ci->socket_context : NULL;

	if (!e)
		return;
	pthread_mutex_lock(&d->lock);
	e->phase = phase;
	e->since_ns = clock_ns(CLOCK_MONOTONIC);
	e->deadline_ns = phase == PHASE_ANSWER ? 0 : deadline_after(limit_ns);
	pthread_mutex_unlock(&d->lock);
}

void conn_deadlines__head(struct conn_deadlines *d, struct MHD_Connection *conn, bool body)
{
	set_phase(d, conn, body ? PHASE_BODY : PHASE_ANSWER, d->opts.body_ns);
}

void conn_deadlines__body(struct conn_deadlines *d, struct MHD_Connection *conn)
{
	set_phase(d, conn, PHASE_ANSWER, 0);
}

void conn_deadlines__answered(struct conn_deadlines *d, struct MHD_Connection *conn)
{
	set_phase(d, conn, PHASE_HEAD, d->opts.head_ns ? d->opts.idle_ns + d->opts.head_ns : 0);
}

void conn_deadlines__metrics(struct conn_deadlines *d, struct buf *out)
{
	uint64_t opened, open, cut_head, cut_body, cut_crowded;

	pthread_mutex_lock(&d->lock);
	opened = d->opened;
	open = d->open;
	cut_head = d->cut_head;
	cut_body = d->cut_body;
	cut_crowded = d->cut_crowded;
	pthread_mutex_unlock(&d->lock);
	metric_single(out, "sonde_collector_connections_opened_total", "counter",
		      "HTTP connections accepted (past the per-client and total limits).",
		      (double)opened);
	metric_single(out, "sonde_collector_connections_open", "gauge", "HTTP connections open.",
		      (double)open);
	metric_header(out, "sonde_collector_connections_cut_total", "counter",
		      "Connections cut: a request head (--header-timeout) or body (--body-timeout) "
		      "not received in time, or a head waited for over a second when crowded.");
	metric_value(out, "sonde_collector_connections_cut_total", "reason=\"head\"",
		     (double)cut_head);
	metric_value(out, "sonde_collector_connections_cut_total", "reason=\"body\"",
		     (double)cut_body);
	metric_value(out, "sonde_collector_connections_cut_total", "reason=\"crowded\"",
		     (double)cut_crowded);
}
