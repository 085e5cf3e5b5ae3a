// SPDX-License-Identifier: Apache-2.0
/* The hot code in a shared library (built without frame pointers): lib_hot_a and lib_hot_b. */
#include <stdint.h>

static volatile uint64_t sink;

__attribute__((noinline)) static void lib_burn(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sink += i * 7;
}

__attribute__((noinline)) void lib_hot_a(uint64_t n)
{
	lib_burn(n);
	sink += 1; /* distinct from lib_hot_b: no code folding */
}

__attribute__((noinline)) void lib_hot_b(uint64_t n)
{
	lib_burn(n);
	sink += 2;
}

/* For the PLT workload: as small as a function gets. */
__attribute__((noinline)) uint64_t lib_nop(uint64_t x)
{
	return x + 1;
}
