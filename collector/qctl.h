/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Query control: the deadline of a query and the client that asked for it. The storage reads
 * of a query (reader.h, fetch.h) check the control of their thread before each read, and the
 * work after them (a flame graph's building, every 4096 rows, and its rendering; an export's
 * rendering) before it starts, so a query past its deadline, or whose client hung up, stops and
 * fails with -ETIMEDOUT or -ECANCELED. A thread with no control set runs without limit (the CLI,
 * compaction).
 */
#ifndef SONDE_QCTL_H
#define SONDE_QCTL_H

#include <stdatomic.h>
#include <stdint.h>

struct qctl {
	uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
	int fd;		      /* the client's socket, watched for a hang-up; -1: none */
	atomic_int stopped;   /* 0, then -ETIMEDOUT or -ECANCELED for good */
};

/* A control with a deadline timeout_ns from now (0: none) watching fd (-1: none). */
void qctl_init(struct qctl *c, uint64_t timeout_ns, int fd);
/*
 * 0 while the query may go on, else why not (kept: the first reason stays): -ETIMEDOUT past the
 * deadline, -ECANCELED once the client closed its connection or qctl_cancel was called.
 * Thread-safe; c may be NULL (0).
 */
int qctl_check(struct qctl *c);
/* Stops the query for good (-ECANCELED), as when the collector shuts down. */
void qctl_cancel(struct qctl *c);
/* What qctl_check last decided, without looking again (0 while going on). NULL-safe. */
int qctl_stopped(const struct qctl *c);

/* Why a query stopped, in words, for e from qctl_check. */
const char *qctl_reason(int e);

/* The control of the calling thread's query (not owned), or NULL. */
void qctl_set_current(struct qctl *c);
struct qctl *qctl_current(void);

#endif
