/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs query API requests on threads of their own (qpool.h), not on the HTTP threads that take
 * in profiles: the connection is suspended while its query runs, and resumed with the answer.
 * Each query has a deadline and stops when its client hangs up (qctl.h); past the deadline it
 * is answered 503. When every query thread is busy and the queue is full, 503 with Retry-After.
 */
#ifndef SONDE_API_RUNNER_H
#define SONDE_API_RUNNER_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"

struct api_runner_opts {
	const struct api_opts *api; /* must outlive the runner */
	unsigned int threads;	    /* queries run at once; 0 = 2 */
	unsigned int max_queued;    /* queries waiting; 0 = 64 */
	uint64_t timeout_ns;	    /* 0 = 30 s */
};

struct api_runner;
struct api_job;

/* NULL on failure (errno). */
struct api_runner *api_runner__new(const struct api_runner_opts *o);
/*
 * From the access handler: queues method (GET, DELETE) path for tenant (copied), or with body (not
 * NULL; taken: *body is left empty) the Connect call POSTed there, and suspends conn until the
 * answer is ready (the handler is called again then: api_job__answer). timeout_ns (0: none)
 * shortens the runner's deadline for this query (Connect-Timeout-Ms). Returns the job (owned by the
 * caller, freed with api_job__free once the request completes), or NULL with *ret_err -EBUSY (too
 * many queries: answer 503) or -ENOMEM.
 */
struct api_job *api_runner__start(struct api_runner *r, struct MHD_Connection *conn,
				  const char *tenant, const char *method, const char *path,
				  struct buf *body, uint64_t timeout_ns, int *ret_err);
/*
 * Once the handler is called again: false while the query runs (keep waiting), else true with
 * the reply (the caller takes its body) and the time from start to answer in *ret_ns.
 */
bool api_job__answer(struct api_job *j, struct api_reply **ret_reply, uint64_t *ret_ns);
/* NULL-safe; the job must be answered (or never started). */
void api_job__free(struct api_job *j);
/* The queries running or waiting now. */
unsigned int api_runner__busy(struct api_runner *r);
/* Cancels the queries running and waiting (they answer 503 at once), waits, frees. NULL-safe. */
void api_runner__free(struct api_runner *r);

#endif
