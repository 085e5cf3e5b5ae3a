/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go's pc-line table (.gopclntab), which every Go binary keeps even when stripped: function
 * names, their address ranges, and per-pc tables of stack-pointer delta, file and line.
 * Supports the Go 1.18+ layouts (header magic 0xfffffff0 and 0xfffffff1, the latter 1.20+).
 * Every offset is checked against the section: a malformed table gives errors, not crashes.
 */
#ifndef SONDE_GOPCLNTAB_H
#define SONDE_GOPCLNTAB_H

#include <stddef.h>
#include <stdint.h>

struct gopclntab;

struct go_func {
	uint64_t entry;	  /* ELF address of the first instruction */
	uint64_t end;	  /* the next function's entry */
	const char *name; /* lives as long as the table */
	uint32_t pcsp;	  /* offsets into the pc tables */
	uint32_t pcfile;
	uint32_t pcln;
	uint32_t cu_offset;
	int32_t start_line; /* 0 before Go 1.20 */
};

/*
 * Reads .gopclntab from the ELF file fd (mapped read-only, or copied when the file cannot be
 * mapped; the table does not keep fd). Returns 0, -ENOENT when the file
 * has no pc-line table, -ENOTSUP for an older layout, or -EINVAL. Caller frees with
 * gopclntab__free().
 */
int gopclntab__open(int fd, struct gopclntab **ret);
/* Parses a table from memory (copied). */
int gopclntab__open_mem(const void *data, size_t size, struct gopclntab **ret);
void gopclntab__free(struct gopclntab *t);
/* The function containing pc. Returns 0 or -ENOENT. */
int gopclntab__find(const struct gopclntab *t, uint64_t pc, struct go_func *ret);
/* Value of a pc table (pcsp, pcfile, pcln) at pc. Returns 0 or -ENOENT/-EINVAL. */
int gopclntab__pcvalue(const struct gopclntab *t, uint32_t table, uint64_t entry, uint64_t pc,
		       int32_t *ret);
/* Source file and line of pc in fn. Returns 0 or -ENOENT. */
int gopclntab__file_line(const struct gopclntab *t, const struct go_func *fn, uint64_t pc,
			 const char **ret_file, int32_t *ret_line);
uint64_t gopclntab__nfuncs(const struct gopclntab *t);
/* Memory the table holds (a mapped section is page cache and does not count). */
size_t gopclntab__bytes(const struct gopclntab *t);

#endif
