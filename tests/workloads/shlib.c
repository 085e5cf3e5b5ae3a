// SPDX-License-Identifier: Apache-2.0
/* The 3:1 split where the hot functions live in libhot.so. usage: shlib SECONDS */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

void lib_hot_a(uint64_t n);
void lib_hot_b(uint64_t n);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 5);

	while (now() < end) {
		/* turns of milliseconds: no aliasing with periodic sampling */
		lib_hot_a(9000000);
		lib_hot_b(3000000);
	}
	return 0;
}
