// SPDX-License-Identifier: Apache-2.0
/*
 * A known CPU split: hot_a and hot_b run the same loop for A and B units of work in turn, so
 * a correct profiler attributes A/(A+B) of the samples to hot_a. Both reach the loop through
 * the same leaf (burn), so only a correct stack tells them apart.
 *
 * usage: split SECONDS [A B [DEPTH]]   (defaults: 3 1 0)
 * DEPTH > 0 first recurses DEPTH frames of 64 bytes of locals each, so the stack is deep; the
 * stack depth reached is printed to stderr as "stack_bytes=N frames=N".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

/*
 * Loop iterations per unit of work: a few milliseconds, so a turn spans several sampling
 * periods and periodic sampling cannot alias with the alternation of hot_a and hot_b.
 */
#define UNIT 3000000

static volatile uint64_t sink;

__attribute__((noinline)) static void burn(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sink += i * 7;
}

/*
 * The asm after each call keeps it from being a tail call, so the caller stays; the distinct
 * stores keep identical-code folding from merging the two functions into one symbol.
 */
__attribute__((noinline)) void hot_a(uint64_t n)
{
	burn(n);
	sink += 1;
}

__attribute__((noinline)) void hot_b(uint64_t n)
{
	burn(n);
	sink += 2;
}

__attribute__((noinline)) static void work(double seconds, uint64_t a, uint64_t b)
{
	double end = wl_now() + seconds;

	while (wl_now() < end) {
		hot_a(a * UNIT);
		hot_b(b * UNIT);
	}
	__asm__ volatile("" ::: "memory");
}

static uintptr_t stack_top;

__attribute__((noinline)) void deep(int depth, double seconds, uint64_t a, uint64_t b)
{
	volatile char pad[64];

	pad[0] = (char)depth;
	if (depth > 0) {
		deep(depth - 1, seconds, a, b);
	} else {
		fprintf(stderr, "stack_bytes=%lu\n", (unsigned long)(stack_top - (uintptr_t)pad));
		work(seconds, a, b);
	}
	__asm__ volatile("" ::: "memory");
	(void)pad[0];
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	uint64_t a = argc > 3 ? strtoull(argv[2], NULL, 10) : 3;
	uint64_t b = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	int depth = argc > 4 ? atoi(argv[4]) : 0;
	volatile char here;

	stack_top = (uintptr_t)&here;
	deep(depth, seconds, a, b);
	return 0;
}
