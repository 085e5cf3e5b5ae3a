/* SPDX-License-Identifier: Apache-2.0 */
/* DWARF debug information (libdw): an address's function, its inlined callees, file and line. */
#ifndef SONDE_SYM_DWARF_H
#define SONDE_SYM_DWARF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sym_dwarf;

/*
 * One frame, innermost (inlined callee) first. name is the linkage name when there is one
 * (mangled), else the plain name; file may be NULL. Return non-zero to stop.
 */
typedef int (*sym_dwarf_frame_fn)(void *ctx, const char *name, const char *file, uint32_t line,
				  uint32_t column);

/*
 * Opens the DWARF of ELF file fd (the file is kept open by the handle, which owns a duplicate).
 * Returns 0, -ENODATA when the file has no .debug_info, or -EINVAL.
 */
int sym_dwarf__open(int fd, struct sym_dwarf **ret);
/* Reports addr's frames. Returns 0, -ENOENT when no compile unit covers addr. */
int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t addr, sym_dwarf_frame_fn fn, void *ctx);
/* An estimate of the memory the handle holds: the size of the debug sections it reads. */
size_t sym_dwarf__bytes(const struct sym_dwarf *d);
void sym_dwarf__free(struct sym_dwarf *d);

#endif
