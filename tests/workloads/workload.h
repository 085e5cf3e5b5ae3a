/* SPDX-License-Identifier: Apache-2.0 */
/* What the test workloads share: clocks in seconds. */
#ifndef SONDE_WORKLOAD_H
#define SONDE_WORKLOAD_H

#include <time.h>

/* Seconds on the monotonic clock. clock_gettime is async-signal-safe: handlers may use it. */
static inline double wl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds of CPU time of the calling thread: a burn by this clock is the same share of the
 * thread's samples however loaded the machine is. Async-signal-safe too. */
static inline double wl_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
