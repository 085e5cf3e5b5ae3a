// SPDX-License-Identifier: Apache-2.0
/*
 * Burns CPU in exec_hot for SECONDS, then replaces itself with the command that follows, so a
 * profiler sees one pid change its image mid-run. usage: execer SECONDS [COMMAND ARGS...]
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void exec_hot(double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 100000; i++)
			sink += (uint64_t)i;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	sink += 1;
}

int main(int argc, char **argv)
{
	exec_hot(argc > 1 ? atof(argv[1]) : 1);
	if (argc > 2) {
		execv(argv[2], argv + 2);
		return 127;
	}
	return 0;
}
