// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <poll.h>
#include <stddef.h>

#include "qctl.h"
#include "../common/util.h"

static _Thread_local struct qctl *current;

void qctl_init(struct qctl *c, uint64_t timeout_ns, int fd)
{
	c->deadline_ns = timeout_ns ? clock_ns(CLOCK_MONOTONIC) + timeout_ns : 0;
	c->fd = fd;
	atomic_init(&c->stopped, 0);
}

static void stop(struct qctl *c, int why)
{
	int none = 0;

	atomic_compare_exchange_strong(&c->stopped, &none, why);
}

/* Whether the peer closed (or reset) the connection: what a client that gave up does. */
static bool hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int qctl_check(struct qctl *c)
{
	if (!c)
		return 0;
	if (atomic_load(&c->stopped))
		return atomic_load(&c->stopped);
	if (c->deadline_ns && clock_ns(CLOCK_MONOTONIC) >= c->deadline_ns)
		stop(c, -ETIMEDOUT);
	else if (hung_up(c->fd))
		stop(c, -ECANCELED);
	return atomic_load(&c->stopped);
}

void qctl_cancel(struct qctl *c)
{
	stop(c, -ECANCELED);
}

int qctl_stopped(const struct qctl *c)
{
	return c ? atomic_load(&((struct qctl *)c)->stopped) : 0;
}

const char *qctl_reason(int e)
{
	return e == -ETIMEDOUT ? "the query ran past its deadline (--query-timeout)"
			       : "the query was cancelled (its client went away, or the "
				 "collector is stopping)";
}

void qctl_set_current(struct qctl *c)
{
	current = c;
}

struct qctl *qctl_current(void)
{
	return current;
}
