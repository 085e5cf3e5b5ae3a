// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api_runner.h"
#include "qctl.h"
#include "qpool.h"
#include "../common/util.h"

#define DEFAULT_THREADS 2
#define DEFAULT_QUEUED 64
#define DEFAULT_TIMEOUT_NS (30 * NSEC_PER_SEC)

struct api_job {
	struct api_runner *runner;
	struct MHD_Connection *conn;
	char tenant[72];
	char *path;
	char method[8];
	struct buf body; /* a Connect call's */
	bool has_body;
	struct qctl ctl;
	struct api_reply reply;
	uint64_t t0;
	pthread_mutex_t lock; /* done, between the query thread and the handler */
	bool done;
	struct api_job *prev, *next; /* in runner->running, while queued or running */
};

struct api_runner {
	struct api_runner_opts o;
	struct qpool *pool;
	pthread_mutex_t lock;
	struct api_job *running; /* queued or running: cancelled on stop */
	bool stopping;
};

struct api_runner *api_runner__new(const struct api_runner_opts *o)
{
	struct api_runner *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	if (!r->o.threads)
		r->o.threads = DEFAULT_THREADS;
	if (!r->o.max_queued)
		r->o.max_queued = DEFAULT_QUEUED;
	if (!r->o.timeout_ns)
		r->o.timeout_ns = DEFAULT_TIMEOUT_NS;
	pthread_mutex_init(&r->lock, NULL);
	/* a queue slot per query that may wait, beside those running */
	r->pool = qpool__new(r->o.threads, r->o.max_queued);
	if (!r->pool) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

static void unlink_job(struct api_runner *r, struct api_job *j)
{
	pthread_mutex_lock(&r->lock);
	if (j->prev)
		j->prev->next = j->next;
	else
		r->running = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
	pthread_mutex_unlock(&r->lock);
}

/* A qpool_fn: answers the query, then resumes its connection. */
static void run(void *arg)
{
	struct api_job *j = arg;
	struct api_runner *r = j->runner;

	qctl_set_current(&j->ctl);
	api_handle(r->o.api, j->conn, j->tenant, j->method, j->path, j->has_body ? &j->body : NULL,
		   &j->reply);
	qctl_set_current(NULL);
	unlink_job(r, j);
	pthread_mutex_lock(&j->lock);
	j->done = true;
	MHD_resume_connection(j->conn);
	pthread_mutex_unlock(&j->lock);
}

struct api_job *api_runner__start(struct api_runner *r, struct MHD_Connection *conn,
				  const char *tenant, const char *method, const char *path,
				  struct buf *body, uint64_t timeout_ns, int *ret_err)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct api_job *j = calloc(1, sizeof(*j));
	int e;

	if (!j || !(j->path = strdup(path))) {
		free(j);
		*ret_err = -ENOMEM;
		return NULL;
	}
	j->runner = r;
	j->conn = conn;
	if (body) {
		j->body = *body;
		j->has_body = true;
		memset(body, 0, sizeof(*body));
	}
	str_copy(j->tenant, tenant, sizeof(j->tenant));
	str_copy(j->method, method, sizeof(j->method));
	j->t0 = clock_ns(CLOCK_MONOTONIC);
	qctl_init(&j->ctl,
		  timeout_ns && timeout_ns < r->o.timeout_ns ? timeout_ns : r->o.timeout_ns,
		  ci ? ci->connect_fd : -1);
	pthread_mutex_init(&j->lock, NULL);
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		api_job__free(j);
		*ret_err = -EBUSY;
		return NULL;
	}
	j->next = r->running;
	if (j->next)
		j->next->prev = j;
	r->running = j;
	pthread_mutex_unlock(&r->lock);
	/* held until suspended: the query thread resumes only a suspended connection */
	pthread_mutex_lock(&j->lock);
	e = qpool__submit(r->pool, run, j);
	if (!e)
		MHD_suspend_connection(conn);
	pthread_mutex_unlock(&j->lock);
	if (e) {
		unlink_job(r, j);
		api_job__free(j);
		*ret_err = e;
		return NULL;
	}
	return j;
}

bool api_job__answer(struct api_job *j, struct api_reply **ret_reply, uint64_t *ret_ns)
{
	bool done;

	pthread_mutex_lock(&j->lock);
	done = j->done;
	pthread_mutex_unlock(&j->lock);
	if (!done)
		return false;
	*ret_reply = &j->reply;
	*ret_ns = clock_ns(CLOCK_MONOTONIC) - j->t0;
	return true;
}

void api_job__free(struct api_job *j)
{
	if (!j)
		return;
	buf_free(&j->reply.body);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	buf_free(&j->body);
	free(j);
}

unsigned int api_runner__busy(struct api_runner *r)
{
	return qpool__busy(r->pool);
}

void api_runner__free(struct api_runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	for (struct api_job *j = r->running; j; j = j->next)
		qctl_cancel(&j->ctl);
	pthread_mutex_unlock(&r->lock);
	qpool__free(r->pool); /* the cancelled queries answer at once */
	pthread_mutex_destroy(&r->lock);
	free(r);
}
