/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bounded pool of worker threads with a bounded queue: the collector's queries run here, apart
 * from the HTTP threads that take in profiles, so a slow query never holds up ingest and only
 * so many queries run (and wait) at once.
 */
#ifndef SONDE_QPOOL_H
#define SONDE_QPOOL_H

typedef void (*qpool_fn)(void *arg);

struct qpool;

/* threads workers, at most max_queued jobs waiting. NULL on failure (errno). */
struct qpool *qpool__new(unsigned int threads, unsigned int max_queued);
/* Queues fn(arg). 0, or -EBUSY when the queue is full or the pool is stopping. */
int qpool__submit(struct qpool *p, qpool_fn fn, void *arg);
/* Jobs queued or running now. */
unsigned int qpool__busy(struct qpool *p);
/* Runs the queued jobs, then stops the workers and frees p. NULL-safe. */
void qpool__free(struct qpool *p);

#endif
