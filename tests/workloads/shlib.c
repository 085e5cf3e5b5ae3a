// SPDX-License-Identifier: Apache-2.0
/* The 3:1 split where the hot functions live in libhot.so. usage: shlib SECONDS */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

void lib_hot_a(uint64_t n);
void lib_hot_b(uint64_t n);

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);

	while (wl_now() < end) {
		/* turns of milliseconds: no aliasing with periodic sampling */
		lib_hot_a(9000000);
		lib_hot_b(3000000);
	}
	return 0;
}
