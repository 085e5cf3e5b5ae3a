// SPDX-License-Identifier: Apache-2.0
/*
 * A known CPU split: hot_a and hot_b run the same loop for A and B units of work in turn, so
 * a correct profiler attributes A/(A+B) of the samples to hot_a. Both reach the loop through
 * the same leaf (burn), so only a correct stack tells them apart.
 *
 * usage: split SECONDS [A B [DEPTH]]   (defaults: 3 1 0)
 * DEPTH > 0 first recurses DEPTH frames of 64 bytes of locals each, so the stack is deep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define UNIT 100000 /* loop iterations per unit of work */

static volatile uint64_t sink;

__attribute__((noinline)) static void burn(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		sink += i * 7;
}

/* the empty asm after each call keeps it from being a tail call, so the caller stays */
__attribute__((noinline)) void hot_a(uint64_t n)
{
	burn(n);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void hot_b(uint64_t n)
{
	burn(n);
	__asm__ volatile("" ::: "memory");
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void work(double seconds, uint64_t a, uint64_t b)
{
	double end = now() + seconds;

	while (now() < end) {
		hot_a(a * UNIT);
		hot_b(b * UNIT);
	}
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void deep(int depth, double seconds, uint64_t a, uint64_t b)
{
	volatile char pad[64];

	pad[0] = (char)depth;
	if (depth > 0)
		deep(depth - 1, seconds, a, b);
	else
		work(seconds, a, b);
	__asm__ volatile("" ::: "memory");
	(void)pad[0];
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	uint64_t a = argc > 3 ? strtoull(argv[2], NULL, 10) : 3;
	uint64_t b = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	int depth = argc > 4 ? atoi(argv[4]) : 0;

	deep(depth, seconds, a, b);
	return 0;
}
