/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ELF facts the agent and the symbolizer need: build ID, load segments (to turn a file offset into
 * the address the file was linked at), and function symbol tables. Everything is read with libelf
 * and bounds-checked; a malformed file yields -EINVAL or -ENODATA, never a crash.
 */
#ifndef SONDE_ELF_FILE_H
#define SONDE_ELF_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_BUILD_ID_MAX 64 /* bytes; GNU build IDs are 20 (SHA-1) or 16 (MD5/UUID) */
#define ELF_MAX_LOAD_SEGS 16

struct elf_seg {
	uint64_t vaddr;
	uint64_t memsz;
	uint64_t offset;
	uint64_t filesz;
	uint32_t flags; /* PF_X, PF_W, PF_R */
};

struct elf_info {
	uint8_t build_id[ELF_BUILD_ID_MAX];
	uint32_t build_id_len; /* 0 = none */
	uint16_t type;	       /* ET_EXEC, ET_DYN, ... */
	uint16_t machine;
	uint32_t nsegs;
	struct elf_seg segs[ELF_MAX_LOAD_SEGS];
	bool has_symtab;
	bool has_dynsym;
	bool has_debug_info; /* .debug_info present */
	bool has_eh_frame;
	bool has_debug_frame;
	bool has_gopclntab;	/* Go binary with a pc-line table */
	bool has_gnu_debugdata; /* MiniDebugInfo */
	char debuglink[256];	/* .gnu_debuglink file name, "" if none */
	uint32_t debuglink_crc;
};

/* Reads the ELF header, program headers, notes and section names of fd. Returns 0 or -errno. */
int elf_info__read(int fd, struct elf_info *ret_info);
/* Same, on an image in memory (the vDSO). */
int elf_info__read_mem(const void *image, size_t size, struct elf_info *ret_info);
/*
 * The address a file offset was linked at, through the PT_LOAD segment that holds it.
 * Returns 0 or -ENOENT when no segment covers off.
 */
int elf_info__offset_to_vaddr(const struct elf_info *info, uint64_t off, uint64_t *ret_vaddr);
/*
 * The link-time address range [*ret_start, *ret_limit) of all PT_LOAD segments and the file
 * offset of the first: a mapping of the whole file in ELF address space. Returns false (outputs
 * untouched) when there are no segments.
 */
bool elf_info__range(const struct elf_info *info, uint64_t *ret_start, uint64_t *ret_limit,
		     uint64_t *ret_offset);

/*
 * The first section named name (SHT_NOBITS sections skipped), with its header in *ret_shdr.
 * NULL when there is none. For readers holding their own libelf handle.
 */
typedef struct Elf_Scn Elf_Scn;
typedef struct Elf Elf;
Elf_Scn *elf_section_by_name(Elf *elf, const char *name, void *ret_shdr);

struct elf_sym {
	uint64_t addr;
	uint64_t size;
	uint32_t name; /* offset into the table's names */
};

/* Function symbols of one file, sorted by address, one per address. */
struct elf_symtab {
	struct elf_sym *syms;
	size_t nsyms;
	char *names;
	size_t names_len;
};

/*
 * Loads .symtab, falling back to .dynsym, from fd or from a memory image; PLT stubs get
 * synthetic NAME@plt symbols from .rela.plt.
 * On success the caller owns *ret_tab (elf_symtab__free). Returns 0, -ENODATA when the file has no
 * function symbols, or -errno.
 */
int elf_symtab__load(int fd, struct elf_symtab *ret_tab);
int elf_symtab__load_mem(const void *image, size_t size, struct elf_symtab *ret_tab);
/*
 * Adds the symbols of from to into (a stripped file's .dynsym and its debug file's .symtab).
 * At an address both have, into's name wins. Returns 0 or -ENOMEM (into unchanged).
 */
int elf_symtab__merge(struct elf_symtab *into, const struct elf_symtab *from);
/* The symbol containing addr, or NULL. */
const struct elf_sym *elf_symtab__find(const struct elf_symtab *tab, uint64_t addr);
static inline const char *elf_symtab__name(const struct elf_symtab *tab, const struct elf_sym *s)
{
	return tab->names + s->name;
}
/* Bytes of memory the table holds. */
size_t elf_symtab__bytes(const struct elf_symtab *tab);
void elf_symtab__free(struct elf_symtab *tab);

#endif
