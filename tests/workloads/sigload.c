// SPDX-License-Identifier: Apache-2.0
/*
 * CPU time inside a signal handler: a profiling timer fires every 40 ms of CPU time and its
 * handler (on_tick) burns 20 ms of CPU time, so about half of the samples are in the handler,
 * above the kernel's signal frame (__restore_rt), above whatever main_loop was doing, however
 * loaded the machine. (A short handler would hide between samples: the timer and the sampling
 * clock both tick on jiffies.)
 * usage: sigload SECONDS
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "workload.h"

static volatile uint64_t sink;

__attribute__((noinline)) static void handler_burn(void)
{
	double end = wl_cpu_now() + 0.020;

	do {
		for (int i = 0; i < 20000; i++)
			sink += (uint64_t)i;
	} while (wl_cpu_now() < end);
}

__attribute__((noinline)) static void on_tick(int sig)
{
	(void)sig;
	handler_burn();
	sink += 1;
}

__attribute__((noinline)) static void main_loop(double seconds)
{
	double end = wl_now() + seconds;

	do {
		for (int i = 0; i < 100000; i++)
			sink += (uint64_t)i * 3;
	} while (wl_now() < end);
	sink += 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerval it = {{0, 40000}, {0, 40000}};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	main_loop(argc > 1 ? atof(argv[1]) : 5);
	return 0;
}
