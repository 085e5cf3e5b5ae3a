// SPDX-License-Identifier: Apache-2.0
/*
 * Runs a hot loop from anonymous executable memory, as a JIT would: code with no file and no
 * unwind information. A correct unwinder shows the JIT frame and stops there, marked.
 * usage: jit SECONDS
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "workload.h"

/* mov rcx, rdi; 1: dec rcx; jnz 1b; ret  -- spins rdi times */
static const uint8_t code[] = {0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3};

__attribute__((noinline)) static void call_jit(void (*fn)(uint64_t))
{
	fn(3000000);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);
	void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem, code, sizeof(code));
	do
		call_jit((void (*)(uint64_t))mem);
	while (wl_now() < end);
	return 0;
}
