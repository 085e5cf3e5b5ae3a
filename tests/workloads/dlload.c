// SPDX-License-Identifier: Apache-2.0
/*
 * Loads libhot.so with dlopen, burns CPU in it for 100 ms, unloads it, and again, so the
 * library's mappings come and go while the process is sampled. usage: dlload SECONDS LIBPATH
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "workload.h"

__attribute__((noinline)) static void use_library(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	void (*hot)(uint64_t);
	double end = wl_now() + 0.1;

	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(1);
	}
	hot = (void (*)(uint64_t))dlsym(h, "lib_hot_a");
	while (wl_now() < end)
		hot(100000);
	dlclose(h);
}

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);

	while (wl_now() < end)
		use_library(argc > 2 ? argv[2] : "libhot.so");
	return 0;
}
