// SPDX-License-Identifier: Apache-2.0
/*
 * Calls a tiny function in libhot.so through the PLT in a tight loop, so a good share of samples
 * lands in the PLT stub itself (whose unwind rule is a DWARF expression) or in lib_nop.
 *
 * Where a timer interrupt lands in so short a stub depends on the CPU: it tends to be reported
 * on the instruction after one that stalls, and on some hosts the stub held 1 sample of 587. So
 * on x86-64 each iteration also calls the stub through a pointer just evicted from the cache: the
 * call waits for memory and the interrupt is taken on the stub's jump (571 of 593 samples here).
 * The stub's address comes from lib_nop's GOT slot before the first call (lazy binding: -z lazy).
 * usage: pltload SECONDS
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workload.h"

uint64_t lib_nop(uint64_t x);

static const char *stub; /* lib_nop's PLT stub */

/* Before the first call, lazy binding leaves in lib_nop's GOT slot the address of its stub's
 * second instruction: the 6-byte jump through the slot is followed by the push of the index. */
static int find_stub(struct dl_phdr_info *info, size_t size, void *data)
{
	const ElfW(Rela) *rel = NULL;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	size_t relsz = 0;

	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
			continue;
		/* ld.so has already added the load bias to these addresses */
		for (const ElfW(Dyn) *d =
			     (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
		     d->d_tag != DT_NULL; d++) {
			if (d->d_tag == DT_JMPREL)
				rel = (const ElfW(Rela) *)d->d_un.d_ptr;
			else if (d->d_tag == DT_PLTRELSZ)
				relsz = d->d_un.d_val;
			else if (d->d_tag == DT_SYMTAB)
				sym = (const ElfW(Sym) *)d->d_un.d_ptr;
			else if (d->d_tag == DT_STRTAB)
				str = (const char *)d->d_un.d_ptr;
		}
	}
	for (size_t i = 0; rel && sym && str && i < relsz / sizeof(*rel); i++)
		if (strcmp(str + sym[ELF64_R_SYM(rel[i].r_info)].st_name, "lib_nop") == 0)
			stub = *(const char *const *)(info->dlpi_addr + rel[i].r_offset) - 6;
	if (stub && !((unsigned char)stub[0] == 0xff && stub[1] == 0x25)) /* jmp *rel32(%rip) */
		stub = NULL; /* not the classic PLT (bound now, or IBT's): direct calls only */
	return 1;	     /* the first object is the main program */
}

typedef uint64_t (*nop_fn)(uint64_t);
static nop_fn via_stub; /* lib_nop's stub, called through a pointer evicted each time */

__attribute__((noinline)) static uint64_t call_through_plt(uint64_t n)
{
	uint64_t acc = 0;

	for (uint64_t i = 0; i < n; i++) {
		acc += lib_nop(i);
#if defined(__x86_64__)
		if (stub) {
			__builtin_ia32_clflush((const void *)&via_stub);
			__asm__ volatile("" ::: "memory"); /* load the pointer after the flush */
			acc += via_stub(i);
		}
#endif
	}
	return acc;
}

int main(int argc, char **argv)
{
	double end = wl_now() + (argc > 1 ? atof(argv[1]) : 5);
	volatile uint64_t sink = 0;

	dl_iterate_phdr(find_stub, NULL);
	via_stub = (nop_fn)stub;
	do
		sink += call_through_plt(100000);
	while (wl_now() < end);
	return (int)(sink & 1);
}
