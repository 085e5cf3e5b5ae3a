// SPDX-License-Identifier: Apache-2.0
/*
 * Burns CPU in exec_hot for SECONDS, then replaces itself with the command that follows, so a
 * profiler sees one pid change its image mid-run. usage: execer SECONDS [COMMAND ARGS...]
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"
#include <unistd.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void exec_hot(double seconds)
{
	double end = wl_now() + seconds;

	do {
		for (int i = 0; i < 100000; i++)
			sink += (uint64_t)i;
	} while (wl_now() < end);
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
