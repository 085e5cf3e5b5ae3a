// SPDX-License-Identifier: Apache-2.0
/*
 * Calls a tiny function in libhot.so through the PLT in a tight loop, so a good share of samples
 * lands in the PLT stub itself (whose unwind rule is a DWARF expression) or in lib_nop.
 * usage: pltload SECONDS
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

uint64_t lib_nop(uint64_t x);

__attribute__((noinline)) static uint64_t call_through_plt(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += lib_nop(i);
	return acc;
}

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);
	volatile uint64_t sink = 0;

	do
		sink += call_through_plt(1000000);
	while (wl_now() < end);
	return (int)(sink & 1);
}
