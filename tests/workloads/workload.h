/* SPDX-License-Identifier: Apache-2.0 */
/* What the test workloads share: a monotonic clock in seconds. */
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

#endif
