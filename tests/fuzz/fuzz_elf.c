// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: an arbitrary file handed to every ELF/DWARF entry point the agent and the
 * symbolizer use on files they find on a node: ELF facts, symbol tables (with PLT and merges),
 * unwind tables from CFI, Go pc-line tables, DWARF lookups with inline chains, MiniDebugInfo.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/unwind_table.h"
#include "../../symbolizer/dwarf.h"
#include "../../symbolizer/elf_file.h"
#include "../../symbolizer/gopclntab.h"
#include "../../symbolizer/minidebug.h"

static int count_frame(void *ctx, const char *name, const char *file, uint32_t line,
		       uint32_t column)
{
	(void)name;
	(void)file;
	(void)line;
	(void)column;
	return ++*(int *)ctx > 64;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	struct elf_info info;
	struct elf_symtab tab, tab2;
	struct unwind_table *ut = NULL;
	struct gopclntab *go = NULL;
	struct sym_dwarf *dw = NULL;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (elf_info__read(fd, &info) == 0) {
		uint64_t v;

		for (uint32_t i = 0; i < info.nsegs; i++)
			elf_info__offset_to_vaddr(&info, info.segs[i].offset, &v);
	}
	elf_info__read_mem(data, size, &info);
	if (elf_symtab__load(fd, &tab) == 0) {
		for (size_t i = 0; i < tab.nsyms && i < 64; i++)
			elf_symtab__find(&tab, tab.syms[i].addr + 1);
		if (elf_symtab__load_mem(data, size, &tab2) == 0) {
			elf_symtab__merge(&tab, &tab2);
			elf_symtab__free(&tab2);
		}
		elf_symtab__free(&tab);
	}
	if (unwind_table__build(fd, &ut) == 0) {
		for (uint32_t i = 0; i < ut->nrows && i < 64; i++)
			unwind_table__lookup(ut, ut->base + ut->pcs[i]);
		unwind_table__free(ut);
	}
	if (gopclntab__open(fd, &go) == 0) {
		struct go_func fn;

		for (uint64_t pc = 0; pc < 64; pc++) {
			const char *file;
			int32_t line;

			if (gopclntab__find(go, pc * 64, &fn) == 0)
				gopclntab__file_line(go, &fn, pc * 64, &file, &line);
		}
		gopclntab__free(go);
	}
	if (sym_dwarf__open(fd, &dw) == 0) {
		for (uint32_t i = 0; i < info.nsegs && i < 4; i++) {
			int n = 0;

			sym_dwarf__lookup(dw, info.segs[i].vaddr + 16, count_frame, &n);
		}
		sym_dwarf__free(dw);
	}
	if (minidebug_symtab(fd, &tab) == 0)
		elf_symtab__free(&tab);
	close(fd);
	return 0;
}
