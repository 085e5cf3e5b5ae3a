// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "membudget.h"
#include "../common/httpd.h"
#include "../common/util.h"

/*
 * Allocations from this size up are mmapped, and unmapped when freed. glibc raises its mmap
 * threshold after a large free (up to 32 MiB), after which big decode buffers stay in the heap;
 * setting it fixes it.
 */
#define MMAP_THRESHOLD (1u << 20)
#define MIN_GAP_NS (200 * 1000000ULL) /* between two trims */
#define IDLE_NS (500 * 1000000ULL)    /* the second trim, after the writer freed the data */

struct membudget {
	uint64_t max;
	atomic_uint_fast64_t used;
	atomic_uint_fast64_t trims;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool dirty; /* released since the last trim */
	bool stop;
	pthread_t trimmer;
};

/*
 * Hands freed memory back to the system each time nothing is reserved (ingest idle, if only
 * between two requests), and once more a little later: each thread allocates from its own
 * arena, so memory one request freed in one arena is not reused by the next request decoded in
 * another and would stay resident; and a request's data is freed by the writer just after the
 * request ends. At most every MIN_GAP_NS: a trim walks the heap.
 */
static void *trimmer(void *arg)
{
	struct membudget *m = arg;
	uint64_t last = 0, due = 0; /* CLOCK_MONOTONIC; due 0: no trim due */
	bool again = false;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		if (m->dirty) {
			m->dirty = false;
			due = MAX(last + MIN_GAP_NS, now);
			again = true;
		}
		if (!due) {
			pthread_cond_wait(&m->cond, &m->lock);
			continue;
		}
		if (now < due) {
			struct timespec ts;
			uint64_t t = clock_ns(CLOCK_REALTIME) + (due - now);

			ts.tv_sec = (time_t)(t / NSEC_PER_SEC);
			ts.tv_nsec = (long)(t % NSEC_PER_SEC);
			pthread_cond_timedwait(&m->cond, &m->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&m->lock);
		malloc_trim(0);
		atomic_fetch_add(&m->trims, 1);
		pthread_mutex_lock(&m->lock);
		last = clock_ns(CLOCK_MONOTONIC);
		due = again ? last + IDLE_NS : 0;
		again = false;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

struct membudget *membudget__new(uint64_t max_bytes)
{
	struct membudget *m = calloc(1, sizeof(*m));
	int e;

	if (!m)
		return NULL;
	m->max = max_bytes;
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	e = pthread_create(&m->trimmer, NULL, trimmer, m);
	if (e) {
		pthread_cond_destroy(&m->cond);
		pthread_mutex_destroy(&m->lock);
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

uint64_t membudget_cost(uint64_t inflated_bytes)
{
	return inflated_bytes * MEMBUDGET_FACTOR;
}

bool membudget__fits(const struct membudget *m, uint64_t n)
{
	return !m->max || n <= m->max;
}

int membudget__reserve(struct membudget *m, uint64_t n)
{
	uint64_t cur = atomic_load(&m->used);

	do {
		if (m->max && (cur + n > m->max || cur + n < cur))
			return -EAGAIN;
	} while (!atomic_compare_exchange_weak(&m->used, &cur, cur + n));
	return 0;
}

int membudget__admit(struct membudget *m, uint64_t inflated, uint64_t *reserved, char *msg,
		     size_t msg_size)
{
	uint64_t cost = membudget_cost(inflated);

	if (cost <= *reserved)
		return 0;
	if (!membudget__fits(m, cost)) {
		snprintf(msg, msg_size,
			 "the request (%llu bytes of OTLP) would take about %llu MB to store, over "
			 "the memory bound of the collector, %llu MB (--max-memory): send smaller "
			 "requests",
			 (unsigned long long)inflated, (unsigned long long)(cost >> 20),
			 (unsigned long long)(m->max >> 20));
		return -EFBIG;
	}
	if (membudget__reserve(m, cost - *reserved)) {
		snprintf(msg, msg_size,
			 "the memory of the collector (--max-memory) is taken by other requests "
			 "now; retry");
		return -EAGAIN;
	}
	*reserved = cost;
	return 0;
}

void membudget__release(struct membudget *m, uint64_t n)
{
	if (!n)
		return;
	if (atomic_fetch_sub(&m->used, n) == n) {
		/* nothing reserved now: the trimmer starts counting */
		pthread_mutex_lock(&m->lock);
		m->dirty = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
	}
}

uint64_t membudget__used(const struct membudget *m)
{
	return atomic_load(&((struct membudget *)m)->used);
}

uint64_t membudget__max(const struct membudget *m)
{
	return m->max;
}

uint64_t membudget__trims(const struct membudget *m)
{
	return atomic_load(&((struct membudget *)m)->trims);
}

void membudget__metrics(const struct membudget *m, struct buf *out)
{
	metric_single(out, "sonde_collector_memory_reserved_bytes", "gauge",
		      "Memory reserved by requests being received, decoded or stored (estimated).",
		      (double)membudget__used(m));
	metric_single(out, "sonde_collector_memory_limit_bytes", "gauge",
		      "The bound on that memory (--max-memory).", (double)m->max);
	metric_single(out, "sonde_collector_memory_trims_total", "counter",
		      "Times freed memory was handed back to the system after ingest went idle.",
		      (double)membudget__trims(m));
}

void membudget__free(struct membudget *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->trimmer, NULL);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
