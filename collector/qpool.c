// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "qpool.h"

struct job {
	qpool_fn fn;
	void *arg;
};

struct qpool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *ring; /* max_queued slots */
	unsigned int max_queued, head, len, running;
	bool stop;
	pthread_t *threads;
	unsigned int nthreads;
};

static void *worker(void *arg)
{
	struct qpool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct job j;

		while (!p->len && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->len)
			break; /* stopping, and nothing left */
		j = p->ring[p->head];
		p->head = (p->head + 1) % p->max_queued;
		p->len--;
		p->running++;
		pthread_mutex_unlock(&p->lock);
		j.fn(j.arg);
		pthread_mutex_lock(&p->lock);
		p->running--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct qpool *qpool__new(unsigned int threads, unsigned int max_queued)
{
	struct qpool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->max_queued = max_queued ? max_queued : 1;
	p->ring = calloc(p->max_queued, sizeof(*p->ring));
	p->threads = calloc(threads ? threads : 1, sizeof(*p->threads));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (!p->ring || !p->threads) {
		qpool__free(p);
		errno = ENOMEM;
		return NULL;
	}
	for (; p->nthreads < (threads ? threads : 1); p->nthreads++) {
		int e = pthread_create(&p->threads[p->nthreads], NULL, worker, p);

		if (e) {
			qpool__free(p);
			errno = e;
			return NULL;
		}
	}
	return p;
}

int qpool__submit(struct qpool *p, qpool_fn fn, void *arg)
{
	int e = 0;

	pthread_mutex_lock(&p->lock);
	if (p->stop || p->len == p->max_queued) {
		e = -EBUSY;
	} else {
		p->ring[(p->head + p->len) % p->max_queued] = (struct job){fn, arg};
		p->len++;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return e;
}

unsigned int qpool__busy(struct qpool *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->len + p->running;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void qpool__free(struct qpool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->ring);
	free(p->threads);
	free(p);
}
