// SPDX-License-Identifier: Apache-2.0
/*
 * DWARF lookups through a per-compile-unit index: the first lookup in a CU walks its DIEs once
 * and flattens every function and inlined instance into sorted address segments, each naming
 * its innermost function; the inline chain follows parent links. Later lookups are a binary
 * search for the CU (aranges), one for the segment, and one in libdw's line table.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf.h"
#include "../common/buf.h"
#include "../common/hash.h"

#define MAX_DEPTH 256 /* DIE nesting we follow */
#define MAX_CHAIN 64  /* inline levels reported */

struct fn_node {
	uint32_t name;	    /* offset into the CU's names */
	uint32_t call_file; /* inlined: where the call was, in the caller */
	uint32_t call_line;
	uint32_t call_col;
	int32_t parent; /* enclosing function or inlined instance, -1 for a root */
	bool inlined;
};

struct segment {
	uint64_t start;
	int32_t node; /* -1: no function here */
};

struct cu_index {
	Dwarf_Die cudie;
	VEC(struct fn_node) nodes;
	VEC(struct segment) segs;
	struct buf names;
	Dwarf_Files *files;
	size_t nfiles;
};

struct sym_dwarf {
	int fd;
	Elf *elf;
	Dwarf *dw;
	size_t bytes;
	struct hmap cus; /* CU offset + 1 -> struct cu_index */
};

int sym_dwarf__open(int fd, struct sym_dwarf **ret)
{
	struct sym_dwarf *d = calloc(1, sizeof(*d));
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	bool has_info = false;

	if (!d)
		return -ENOMEM;
	d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d->fd < 0) {
		free(d);
		return -errno;
	}
	elf_version(EV_CURRENT);
	d->elf = elf_begin(d->fd, ELF_C_READ_MMAP, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF || elf_getshdrstrndx(d->elf, &shstrndx)) {
		sym_dwarf__free(d);
		return -EINVAL;
	}
	while ((scn = elf_nextscn(d->elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (!name ||
		    (strncmp(name, ".debug_", 7) != 0 && strncmp(name, ".zdebug_", 8) != 0))
			continue;
		d->bytes += sh.sh_size;
		if (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)
			has_info = true;
	}
	if (!has_info) {
		sym_dwarf__free(d);
		return -ENODATA;
	}
	d->dw = dwarf_begin_elf(d->elf, DWARF_C_READ, NULL);
	if (!d->dw) {
		sym_dwarf__free(d);
		return -EINVAL;
	}
	*ret = d;
	return 0;
}

size_t sym_dwarf__bytes(const struct sym_dwarf *d)
{
	/* the debug sections bound the indexes built from them */
	return d->bytes + sizeof(*d);
}

static void cu_index_free(struct cu_index *c)
{
	VEC_FREE(&c->nodes);
	VEC_FREE(&c->segs);
	buf_free(&c->names);
	free(c);
}

void sym_dwarf__free(struct sym_dwarf *d)
{
	size_t pos = 0;
	void *v;

	if (!d)
		return;
	while (hmap_next(&d->cus, &pos, NULL, &v))
		cu_index_free(v);
	hmap_free(&d->cus);
	if (d->dw)
		dwarf_end(d->dw);
	if (d->elf)
		elf_end(d->elf);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

/* The name a frame shows: the linkage (mangled) name when present, else DW_AT_name. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	if (!name) {
		Dwarf_Die origin;

		if (dwarf_attr_integrate(die, DW_AT_abstract_origin, &attr) &&
		    dwarf_formref_die(&attr, &origin))
			name = dwarf_diename(&origin);
	}
	return name ? name : "??";
}

static uint32_t attr_udata(Dwarf_Die *die, unsigned int at)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	if (!dwarf_attr(die, at, &attr) || dwarf_formudata(&attr, &v) != 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

struct range {
	uint64_t lo, hi;
	int32_t node;
	uint32_t depth;
};

typedef VEC(struct range) range_vec;

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

/* Appends a segment start; a later one at the same address replaces it. */
static int emit(struct cu_index *c, uint64_t at, int32_t node)
{
	struct segment s = {at, node};

	if (c->segs.len && c->segs.v[c->segs.len - 1].start == at) {
		c->segs.v[c->segs.len - 1].node = node;
		return 0;
	}
	if (c->segs.len && c->segs.v[c->segs.len - 1].node == node)
		return 0;
	return VEC_PUSH(&c->segs, s);
}

/* Nested ranges into non-overlapping segments naming the innermost function. */
static int flatten(struct cu_index *c, range_vec *ranges)
{
	struct range *stack[MAX_DEPTH];
	int top = 0;

	if (ranges->len) /* a CU without ranges has no array at all */
		qsort(ranges->v, ranges->len, sizeof(*ranges->v), range_cmp);
	for (size_t i = 0; i < ranges->len; i++) {
		struct range *r = &ranges->v[i];

		while (top && stack[top - 1]->hi <= r->lo) {
			struct range *t = stack[--top];

			if (emit(c, t->hi, top ? stack[top - 1]->node : -1))
				return -ENOMEM;
		}
		if (emit(c, r->lo, r->node))
			return -ENOMEM;
		if (top < MAX_DEPTH)
			stack[top++] = r;
	}
	while (top) {
		struct range *t = stack[--top];

		if (emit(c, t->hi, top ? stack[top - 1]->node : -1))
			return -ENOMEM;
	}
	return 0;
}

static bool may_contain_code(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_partial_unit:
	case DW_TAG_namespace:
	case DW_TAG_module:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return true;
	}
	return false;
}

/* Walks a CU's DIEs once: every function and inlined instance with code, and its ranges. */
static struct cu_index *build_index(Dwarf_Die *cudie)
{
	struct cu_index *c = calloc(1, sizeof(*c));
	struct {
		Dwarf_Die die;
		int32_t fn;	/* enclosing function node */
		uint32_t depth; /* nesting level: a parent sorts before its children */
	} stack[MAX_DEPTH];
	range_vec ranges = {0};
	int top = 0;

	if (!c)
		return NULL;
	c->cudie = *cudie;
	dwarf_getsrcfiles(cudie, &c->files, &c->nfiles);
	if (dwarf_child(cudie, &stack[0].die) == 0) {
		stack[0].fn = -1;
		stack[0].depth = 1;
		top = 1;
	}
	while (top) {
		Dwarf_Die die = stack[top - 1].die;
		int32_t fn = stack[top - 1].fn, self = fn;
		uint32_t depth = stack[top - 1].depth;
		int tag = dwarf_tag(&die);

		/* this entry's next sibling replaces it on the stack; its children go above */
		if (dwarf_siblingof(&die, &stack[top - 1].die) != 0)
			top--;
		if (!may_contain_code(tag))
			continue;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			bool any = false;
			struct fn_node node = {0};
			const char *name;

			while ((off = dwarf_ranges(&die, off, &base, &lo, &hi)) > 0) {
				struct range r = {lo, hi, (int32_t)c->nodes.len, depth};

				if (hi <= lo)
					continue;
				if (VEC_PUSH(&ranges, r))
					goto oom;
				any = true;
			}
			if (!any)
				continue; /* a declaration or abstract instance: no code of its own
					   */
			name = die_name(&die);
			node.name = (uint32_t)c->names.len;
			buf_append(&c->names, name, strlen(name) + 1);
			node.inlined = tag == DW_TAG_inlined_subroutine;
			node.parent = node.inlined ? fn : -1;
			if (node.inlined) {
				node.call_file = attr_udata(&die, DW_AT_call_file);
				node.call_line = attr_udata(&die, DW_AT_call_line);
				node.call_col = attr_udata(&die, DW_AT_call_column);
			}
			self = (int32_t)c->nodes.len;
			if (VEC_PUSH(&c->nodes, node) || c->names.oom)
				goto oom;
		}
		if (top < MAX_DEPTH && dwarf_child(&die, &stack[top].die) == 0) {
			stack[top].fn = self;
			stack[top].depth = depth + 1;
			top++;
		}
	}
	if (flatten(c, &ranges))
		goto oom;
	VEC_FREE(&ranges);
	return c;
oom:
	VEC_FREE(&ranges);
	cu_index_free(c);
	return NULL;
}

int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t addr, sym_dwarf_frame_fn fn, void *ctx)
{
	Dwarf_Die cudie;
	struct cu_index *c;
	Dwarf_Line *line;
	const char *file = NULL;
	int lineno = 0, col = 0;
	size_t lo = 0, hi;
	int32_t node;
	uint64_t key;

	if (!dwarf_addrdie(d->dw, addr, &cudie))
		return -ENOENT;
	key = dwarf_dieoffset(&cudie) + 1;
	c = hmap_get(&d->cus, key);
	if (!c) {
		c = build_index(&cudie);
		if (!c || hmap_put(&d->cus, key, c)) {
			if (c)
				cu_index_free(c);
			return -ENOMEM;
		}
	}
	hi = c->segs.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->segs.v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || c->segs.v[lo - 1].node < 0)
		return -ENOENT;
	node = c->segs.v[lo - 1].node;
	line = dwarf_getsrc_die(&c->cudie, addr);
	if (line) {
		file = dwarf_linesrc(line, NULL, NULL);
		dwarf_lineno(line, &lineno);
		dwarf_linecol(line, &col);
	}
	for (int n = 0; node >= 0 && n < MAX_CHAIN; n++) {
		const struct fn_node *f = &c->nodes.v[node];

		if (fn(ctx, (const char *)c->names.data + f->name, file,
		       lineno > 0 ? (uint32_t)lineno : 0, col > 0 ? (uint32_t)col : 0))
			break;
		if (!f->inlined)
			break;
		/* the caller's position: where this inlined call was made */
		file = c->files && f->call_file < c->nfiles
			       ? dwarf_filesrc(c->files, f->call_file, NULL, NULL)
			       : NULL;
		lineno = (int)f->call_line;
		col = (int)f->call_col;
		node = f->parent;
	}
	return 0;
}
