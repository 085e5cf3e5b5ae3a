// SPDX-License-Identifier: Apache-2.0
/*
 * CPU spent in qsort comparator callbacks: cmp_a sorts three times as many elements per round
 * as cmp_b, and each comparison burns a fixed amount of work, so cmp_a gets ~3/4 of the
 * samples. Each leaf comparator is called from inside libc's qsort.
 * usage: qsort SECONDS
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload.h"

#define N 2000

static volatile uint64_t sink;

static inline void spin(void)
{
	for (int i = 0; i < 200; i++)
		sink += (uint64_t)i;
}

/* the distinct stores keep identical-code folding from merging the two comparators */
__attribute__((noinline)) static int cmp_a(const void *x, const void *y)
{
	spin();
	sink += 1;
	return *(const int *)x - *(const int *)y;
}

__attribute__((noinline)) static int cmp_b(const void *x, const void *y)
{
	spin();
	sink += 2;
	return *(const int *)x - *(const int *)y;
}

__attribute__((noinline)) static void sort_with(int *v, const int *src,
						int (*cmp)(const void *, const void *))
{
	memcpy(v, src, N * sizeof(int));
	qsort(v, N, sizeof(int), cmp);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	static int src[N], v[N];
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);

	srand(1);
	for (int i = 0; i < N; i++)
		src[i] = rand();
	while (wl_now() < end) {
		for (int k = 0; k < 3; k++)
			sort_with(v, src, cmp_a);
		sort_with(v, src, cmp_b);
	}
	return 0;
}
