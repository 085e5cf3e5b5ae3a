// SPDX-License-Identifier: Apache-2.0
/*
 * Hot code made of inlined functions (-O2 -g): mix is inlined into step, step into compute, so
 * most sampled addresses have an inline chain mix <- step <- compute. usage: inline SECONDS
 */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

static inline __attribute__((always_inline)) uint64_t mix(uint64_t x)
{
	return (x * 2654435761u) ^ (x >> 13);
}

static inline __attribute__((always_inline)) uint64_t step(uint64_t x, int k)
{
	for (int i = 0; i < k; i++)
		x = mix(x + (uint64_t)i);
	return x;
}

__attribute__((noinline)) uint64_t compute(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++)
		acc += step(i, 16);
	return acc;
}

/* volatile: compute is pure, and with a constant argument GCC would call it once */
static volatile uint64_t work = 1000000;

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);
	volatile uint64_t sink = 0;

	do
		sink += compute(work);
	while (wl_now() < end);
	return (int)(sink & 1);
}
