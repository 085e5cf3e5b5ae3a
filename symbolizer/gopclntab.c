// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "gopclntab.h"
#include "elf_file.h"

#define GO118_MAGIC 0xfffffff0u	 /* Go 1.18, 1.19 */
#define GO120_MAGIC 0xfffffff1u	 /* Go 1.20 and later: _func gains startLine */
#define GOPCLNTAB_MAX (1u << 30) /* bytes; a bound for hostile files */

struct gopclntab {
	const uint8_t *data;
	size_t size;
	void *map; /* the file mapping data lives in (munmap on free), or NULL if malloc'ed */
	size_t map_size;
	uint32_t magic;
	uint8_t quantum;
	uint64_t nfunc;
	uint64_t text_start;
	const uint8_t *funcnames;
	size_t funcnames_size;
	const uint8_t *cutab;
	size_t cutab_size;
	const uint8_t *filetab;
	size_t filetab_size;
	const uint8_t *pctab;
	size_t pctab_size;
	const uint8_t *functab; /* nfunc+1 pairs of (entryoff, funcoff) uint32 */
	size_t functab_size;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* A sub-range [off, end of table) of the section, or fails. */
static int region(struct gopclntab *t, uint64_t off, const uint8_t **ret, size_t *ret_size)
{
	if (off >= t->size)
		return -EINVAL;
	*ret = t->data + off;
	*ret_size = t->size - off;
	return 0;
}

static int parse(struct gopclntab *t)
{
	uint64_t offs[6];

	if (t->size < 8 + 8 * 8)
		return -EINVAL;
	t->magic = le32(t->data);
	if (t->magic != GO118_MAGIC && t->magic != GO120_MAGIC) {
		if ((t->magic & 0xfffffff0u) == 0xfffffff0u || t->magic == 0xfffffffbu)
			return -ENOTSUP; /* Go 1.2 .. 1.17 layouts */
		return -EINVAL;
	}
	if (t->data[4] || t->data[5] || t->data[7] != 8)
		return -ENOTSUP; /* only 64-bit tables */
	t->quantum = t->data[6];
	if (t->quantum == 0)
		return -EINVAL;
	t->nfunc = le64(t->data + 8);
	/* nfiles at 16 */
	t->text_start = le64(t->data + 24);
	for (int i = 0; i < 5; i++)
		offs[i] = le64(t->data + 32 + 8 * i);
	if (region(t, offs[0], &t->funcnames, &t->funcnames_size) ||
	    region(t, offs[1], &t->cutab, &t->cutab_size) ||
	    region(t, offs[2], &t->filetab, &t->filetab_size) ||
	    region(t, offs[3], &t->pctab, &t->pctab_size) ||
	    region(t, offs[4], &t->functab, &t->functab_size))
		return -EINVAL;
	/* nfunc + 1 entries of 8 bytes (written so that a tiny table cannot underflow it) */
	if (t->nfunc == 0 || t->nfunc >= t->functab_size / 8)
		return -EINVAL;
	return 0;
}

int gopclntab__open_mem(const void *data, size_t size, struct gopclntab **ret)
{
	struct gopclntab *t;
	uint8_t *copy;
	int err;

	if (size > GOPCLNTAB_MAX)
		return -EFBIG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	copy = malloc(size ? size : 1);
	if (!copy) {
		free(t);
		return -ENOMEM;
	}
	memcpy(copy, data, size);
	t->data = copy;
	t->size = size;
	err = parse(t);
	if (err) {
		gopclntab__free(t);
		return err;
	}
	*ret = t;
	return 0;
}

/*
 * Maps the section read-only from the file instead of copying it: tens of MB for large Go
 * binaries, which then live in the page cache, shared and reclaimable, touched where used.
 */
static int map_section(int fd, uint64_t off, uint64_t size, struct gopclntab **ret)
{
	uint64_t start = off & ~(uint64_t)4095;
	struct gopclntab *t;
	struct stat st;
	int err;

	if (size > GOPCLNTAB_MAX)
		return -EFBIG;
	if (fstat(fd, &st) < 0 || off + size > (uint64_t)st.st_size)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->map_size = (size_t)(off + size - start);
	t->map = mmap(NULL, t->map_size, PROT_READ, MAP_PRIVATE, fd, (off_t)start);
	if (t->map == MAP_FAILED) {
		err = errno == ENOMEM ? -ENOMEM : -ENODEV;
		free(t);
		return err;
	}
	t->data = (const uint8_t *)t->map + (off - start);
	t->size = (size_t)size;
	err = parse(t);
	if (err) {
		gopclntab__free(t);
		return err;
	}
	*ret = t;
	return 0;
}

int gopclntab__open(int fd, struct gopclntab **ret)
{
	GElf_Shdr sh, text;
	Elf_Scn *scn;
	Elf_Data *d;
	Elf *elf;
	int err = -ENOENT;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -EINVAL;
	scn = elf_section_by_name(elf, ".gopclntab", &sh);
	if (!scn)
		scn = elf_section_by_name(elf, ".data.rel.ro.gopclntab", &sh);
	if (scn) {
		err = map_section(fd, sh.sh_offset, sh.sh_size, ret);
		if (err == -ENOMEM || err == -ENODEV) {
			/* not mappable (a pipe, a memfd without room): copy it */
			d = elf_getdata(scn, NULL);
			err = d && d->d_buf ? gopclntab__open_mem(d->d_buf, d->d_size, ret)
					    : -EINVAL;
		}
	}
	/* a PIE: the header's text address is filled in by a load-time relocation */
	if (!err && (*ret)->text_start == 0 && elf_section_by_name(elf, ".text", &text))
		(*ret)->text_start = text.sh_addr;
	elf_end(elf);
	return err;
}

void gopclntab__free(struct gopclntab *t)
{
	if (!t)
		return;
	if (t->map)
		munmap(t->map, t->map_size);
	else
		free((void *)t->data);
	free(t);
}

uint64_t gopclntab__nfuncs(const struct gopclntab *t)
{
	return t->nfunc;
}

size_t gopclntab__bytes(const struct gopclntab *t)
{
	/* a file mapping is page cache, not this process's memory */
	return sizeof(*t) + (t->map ? 0 : t->size);
}

static const char *cstr_at(const uint8_t *base, size_t size, uint64_t off)
{
	if (off >= size || !memchr(base + off, 0, size - off))
		return NULL;
	return (const char *)base + off;
}

int gopclntab__find(const struct gopclntab *t, uint64_t pc, struct go_func *ret)
{
	uint64_t lo = 0, hi = t->nfunc, off;
	const uint8_t *f;
	size_t need;

	if (pc < t->text_start)
		return -ENOENT;
	off = pc - t->text_start;
	if (off > UINT32_MAX || off >= le32(t->functab + 8 * t->nfunc))
		return -ENOENT; /* the last entry is the end of text */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (le32(t->functab + 8 * mid) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -ENOENT;
	lo--;
	off = le32(t->functab + 8 * lo + 4);
	need = t->magic == GO120_MAGIC ? 44 : 40;
	if (off > t->functab_size || t->functab_size - off < need)
		return -EINVAL;
	f = t->functab + off;
	memset(ret, 0, sizeof(*ret));
	ret->entry = t->text_start + le32(f);
	ret->end = t->text_start + le32(t->functab + 8 * (lo + 1));
	ret->name = cstr_at(t->funcnames, t->funcnames_size, le32(f + 4));
	if (!ret->name)
		return -EINVAL;
	ret->pcsp = le32(f + 16);
	ret->pcfile = le32(f + 20);
	ret->pcln = le32(f + 24);
	ret->cu_offset = le32(f + 32);
	if (t->magic == GO120_MAGIC)
		ret->start_line = (int32_t)le32(f + 36);
	return 0;
}

static int read_uvarint(const uint8_t **p, const uint8_t *end, uint32_t *ret)
{
	uint32_t v = 0;

	for (unsigned shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*p >= end)
			return -EINVAL;
		b = *(*p)++;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EINVAL;
}

int gopclntab__pcvalue(const struct gopclntab *t, uint32_t table, uint64_t entry, uint64_t pc,
		       int32_t *ret)
{
	const uint8_t *p, *end = t->pctab + t->pctab_size;
	int32_t val = -1;
	uint64_t cur = entry;
	bool first = true;

	if (table == 0 || table >= t->pctab_size)
		return -ENOENT;
	p = t->pctab + table;
	for (unsigned steps = 0; steps < (1u << 20); steps++) {
		uint32_t uvdelta, pcdelta;

		if (read_uvarint(&p, end, &uvdelta))
			return -EINVAL;
		if (uvdelta == 0 && !first)
			return -ENOENT;
		first = false;
		/* int32 arithmetic that wraps, as Go's runtime has it (a signed overflow is UB in
		 * C) */
		val = (int32_t)((uint32_t)val + (-(uvdelta & 1) ^ (uvdelta >> 1)));
		if (read_uvarint(&p, end, &pcdelta))
			return -EINVAL;
		cur += (uint64_t)pcdelta * t->quantum;
		if (pc < cur) {
			*ret = val;
			return 0;
		}
	}
	return -EINVAL;
}

int gopclntab__file_line(const struct gopclntab *t, const struct go_func *fn, uint64_t pc,
			 const char **ret_file, int32_t *ret_line)
{
	int32_t fileno, line;
	uint64_t cu_index;
	uint32_t file_off;

	if (gopclntab__pcvalue(t, fn->pcfile, fn->entry, pc, &fileno) ||
	    gopclntab__pcvalue(t, fn->pcln, fn->entry, pc, &line) || fileno < 0)
		return -ENOENT;
	cu_index = (uint64_t)fn->cu_offset + (uint32_t)fileno;
	if (cu_index >= t->cutab_size / 4)
		return -EINVAL;
	file_off = le32(t->cutab + 4 * cu_index);
	if (file_off == UINT32_MAX)
		return -ENOENT;
	*ret_file = cstr_at(t->filetab, t->filetab_size, file_off);
	if (!*ret_file)
		return -EINVAL;
	*ret_line = line;
	return 0;
}
