// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "../common/buf.h"
#include "../common/util.h"

#define SYMTAB_MAX_SYMS (16u << 20) /* symbols; a bound for hostile symbol tables */
#define ZERO_SIZE_SYM_SPAN 4096	    /* bytes a size-0 symbol may cover before the next one */

static bool done_init;

static void read_build_id(Elf *elf, const void *data, size_t size, struct elf_info *info)
{
	Elf_Data d = {.d_buf = (void *)data, .d_size = size, .d_type = ELF_T_NHDR};
	GElf_Nhdr nhdr;
	size_t off = 0, name_off, desc_off;

	(void)elf;
	while (off < size && (off = gelf_getnote(&d, off, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
		    memcmp((const char *)data + name_off, "GNU", 4) == 0 && nhdr.n_descsz > 0 &&
		    nhdr.n_descsz <= ELF_BUILD_ID_MAX) {
			memcpy(info->build_id, (const char *)data + desc_off, nhdr.n_descsz);
			info->build_id_len = nhdr.n_descsz;
			return;
		}
	}
}

static int read_info(Elf *elf, struct elf_info *info)
{
	size_t nphdr = 0, shstrndx = 0;
	GElf_Ehdr ehdr;
	Elf_Scn *scn = NULL;

	memset(info, 0, sizeof(*info));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr))
		return -EINVAL;
	info->type = ehdr.e_type;
	info->machine = ehdr.e_machine;
	if (elf_getphdrnum(elf, &nphdr) == 0) {
		for (size_t i = 0; i < nphdr && i < 4096; i++) {
			GElf_Phdr ph;

			if (!gelf_getphdr(elf, (int)i, &ph))
				continue;
			if (ph.p_type == PT_LOAD && info->nsegs < ELF_MAX_LOAD_SEGS) {
				struct elf_seg *s = &info->segs[info->nsegs++];

				s->vaddr = ph.p_vaddr;
				s->memsz = ph.p_memsz;
				s->offset = ph.p_offset;
				s->filesz = ph.p_filesz;
				s->flags = ph.p_flags;
			} else if (ph.p_type == PT_NOTE && !info->build_id_len) {
				Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
								   ph.p_filesz, ELF_T_NHDR);

				if (d && d->d_buf)
					read_build_id(elf, d->d_buf, d->d_size, info);
			}
		}
	}
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0; /* no section headers: a loaded image is still usable */
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			info->has_symtab = true;
		else if (sh.sh_type == SHT_DYNSYM)
			info->has_dynsym = true;
		if (sh.sh_type == SHT_NOBITS)
			continue;
		if (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)
			info->has_debug_info = true;
		else if (strcmp(name, ".eh_frame") == 0)
			info->has_eh_frame = true;
		else if (strcmp(name, ".debug_frame") == 0)
			info->has_debug_frame = true;
		else if (strcmp(name, ".gopclntab") == 0 ||
			 strcmp(name, ".data.rel.ro.gopclntab") == 0)
			info->has_gopclntab = true;
		else if (strcmp(name, ".gnu_debugdata") == 0)
			info->has_gnu_debugdata = true;
		else if (strcmp(name, ".gnu_debuglink") == 0) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (d && d->d_buf && d->d_size >= 8) {
				const char *s = d->d_buf;
				size_t n = strnlen(s, d->d_size);
				size_t crc_off = (n + 4) & ~(size_t)3;

				if (n < sizeof(info->debuglink) && crc_off + 4 <= d->d_size) {
					memcpy(info->debuglink, s, n);
					info->debuglink[n] = 0;
					memcpy(&info->debuglink_crc, s + crc_off, 4);
				}
			}
		} else if (sh.sh_type == SHT_NOTE && !info->build_id_len) {
			Elf_Data *d = elf_getdata(scn, NULL);

			if (d && d->d_buf)
				read_build_id(elf, d->d_buf, d->d_size, info);
		}
	}
	return 0;
}

/* Runs fn on the ELF file fd, or on the image in memory when fd < 0. */
static int with_elf(int fd, const void *image, size_t size, int (*fn)(Elf *, void *), void *arg)
{
	Elf *elf;
	int err;

	if (!done_init) {
		elf_version(EV_CURRENT);
		done_init = true;
	}
	elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : elf_memory((char *)image, size);
	if (!elf)
		return -EINVAL;
	err = fn(elf, arg);
	elf_end(elf);
	return err;
}

static int read_info_cb(Elf *elf, void *arg)
{
	return read_info(elf, arg);
}

Elf_Scn *elf_section_by_name(Elf *elf, const char *name, void *ret_shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && strcmp(n, name) == 0) {
			memcpy(ret_shdr, &sh, sizeof(sh));
			return scn;
		}
	}
	return NULL;
}

int elf_info__read(int fd, struct elf_info *ret_info)
{
	return with_elf(fd, NULL, 0, read_info_cb, ret_info);
}

int elf_info__read_mem(const void *image, size_t size, struct elf_info *ret_info)
{
	return with_elf(-1, image, size, read_info_cb, ret_info);
}

int elf_info__offset_to_vaddr(const struct elf_info *info, uint64_t off, uint64_t *ret_vaddr)
{
	/*
	 * The loader maps each PT_LOAD from its offset rounded down to a page, so a mapping's
	 * offset names its segment exactly; executable segments first, since a page can hold the
	 * tail of one segment and the head of the next.
	 */
	for (int pass = 0; pass < 3; pass++) {
		for (uint32_t i = 0; i < info->nsegs; i++) {
			const struct elf_seg *s = &info->segs[i];
			uint64_t start = s->offset & ~(uint64_t)4095;
			bool match;

			if (pass < 2)
				match = start == off && (pass == 1 || (s->flags & PF_X));
			else
				match = off >= start && off < s->offset + MAX(s->filesz, 1);
			if (match) {
				*ret_vaddr = s->vaddr - (s->offset - off);
				return 0;
			}
		}
	}
	return -ENOENT;
}

struct raw_sym {
	uint64_t addr;
	uint64_t size;
	uint32_t name;
	uint8_t rank; /* lower wins among aliases: global, weak, local */
};

typedef VEC(struct raw_sym) raw_sym_vec;

static int raw_sym_cmp(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int collect_syms(Elf *elf, Elf_Scn *scn, raw_sym_vec *out, struct buf *names)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	GElf_Shdr sh;
	size_t count;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	count = data->d_size / sh.sh_entsize;
	if (count > SYMTAB_MAX_SYMS)
		count = SYMTAB_MAX_SYMS;
	for (size_t i = 0; i < count; i++) {
		struct raw_sym r;
		GElf_Sym sym;
		const char *name;
		int type, bind;

		if (!gelf_getsym(data, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		bind = GELF_ST_BIND(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_value == 0)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		r.addr = sym.st_value;
		r.size = sym.st_size;
		if (!r.size) {
			/* a size-0 label (_init, hand-written asm) covers at most up to its
			 * section's end */
			Elf_Scn *in =
				sym.st_shndx < SHN_LORESERVE ? elf_getscn(elf, sym.st_shndx) : NULL;
			GElf_Shdr ish;

			if (in && gelf_getshdr(in, &ish) && sym.st_value >= ish.sh_addr &&
			    sym.st_value < ish.sh_addr + ish.sh_size)
				r.size = MIN(ish.sh_addr + ish.sh_size - sym.st_value,
					     ZERO_SIZE_SYM_SPAN);
		}
		r.rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		if (names->len > UINT32_MAX - 4096)
			return -EFBIG;
		r.name = (uint32_t)names->len;
		buf_append(names, name, strlen(name) + 1);
		if (VEC_PUSH(out, r))
			return -ENOMEM;
	}
	return names->oom ? -ENOMEM : 0;
}

/*
 * NAME@plt for each PLT stub, as perf and gdb show them: .rela.plt's i-th jump slot is the
 * i-th 16-byte entry of .plt.sec (IBT binaries), or of .plt after its header entry.
 */
static int collect_plt(Elf *elf, raw_sym_vec *out, struct buf *names)
{
	Elf_Scn *scn = NULL, *rela = NULL;
	uint64_t plt = 0, plt_sec = 0, stride = 16;
	size_t shstrndx;
	GElf_Shdr rsh, dsh;
	GElf_Ehdr eh;
	Elf_Data *rd, *dd;

	if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 ||
	    elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (strcmp(name, ".rela.plt") == 0 && sh.sh_type == SHT_RELA)
			rela = scn;
		else if (strcmp(name, ".plt") == 0)
			plt = sh.sh_addr;
		else if (strcmp(name, ".plt.sec") == 0)
			plt_sec = sh.sh_addr;
	}
	if (!rela || (!plt && !plt_sec) || !gelf_getshdr(rela, &rsh) ||
	    !(rd = elf_getdata(rela, NULL)) || !rsh.sh_entsize)
		return 0;
	scn = elf_getscn(elf, rsh.sh_link);
	if (!scn || !gelf_getshdr(scn, &dsh) || !(dd = elf_getdata(scn, NULL)))
		return 0;
	for (size_t i = 0; i < rd->d_size / rsh.sh_entsize && i < SYMTAB_MAX_SYMS; i++) {
		struct raw_sym r;
		GElf_Rela rel;
		GElf_Sym sym;
		const char *name;

		if (!gelf_getrela(rd, (int)i, &rel) ||
		    GELF_R_TYPE(rel.r_info) != R_X86_64_JUMP_SLOT ||
		    !gelf_getsym(dd, (int)GELF_R_SYM(rel.r_info), &sym) ||
		    !(name = elf_strptr(elf, dsh.sh_link, sym.st_name)) || !*name)
			continue;
		r.addr = plt_sec ? plt_sec + stride * i : plt + stride * (i + 1);
		r.size = stride;
		r.rank = 3; /* a real symbol at the same address wins */
		r.name = (uint32_t)names->len;
		buf_printf(names, "%s@plt", name);
		buf_putc(names, 0);
		if (VEC_PUSH(out, r))
			return -ENOMEM;
	}
	return names->oom ? -ENOMEM : 0;
}

static int load_symtab(Elf *elf, struct elf_symtab *ret_tab)
{
	raw_sym_vec raw = {0};
	struct buf names = {0};
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	struct elf_symtab tab = {0};
	int err = 0;

	if (elf_kind(elf) != ELF_K_ELF)
		return -EINVAL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
	}
	buf_putc(&names, 0);
	/* .symtab is a superset of .dynsym when present; a stripped file keeps only .dynsym */
	err = collect_syms(elf, symtab ? symtab : dynsym, &raw, &names);
	if (!err && symtab && dynsym && raw.len == 0)
		err = collect_syms(elf, dynsym, &raw, &names);
	if (!err)
		err = collect_plt(elf, &raw, &names);
	if (err)
		goto cleanup;
	if (!symtab && !dynsym) {
		err = -ENODATA;
		goto cleanup;
	}
	if (raw.len == 0) {
		err = -ENODATA;
		goto cleanup;
	}
	qsort(raw.v, raw.len, sizeof(*raw.v), raw_sym_cmp);
	tab.syms = calloc(raw.len, sizeof(*tab.syms));
	if (!tab.syms) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < raw.len; i++) {
		struct elf_sym *s;

		if (tab.nsyms && tab.syms[tab.nsyms - 1].addr == raw.v[i].addr) {
			/* an alias: keep the preferred name, but the largest size */
			s = &tab.syms[tab.nsyms - 1];
			if (raw.v[i].size > s->size)
				s->size = raw.v[i].size;
			continue;
		}
		s = &tab.syms[tab.nsyms++];
		s->addr = raw.v[i].addr;
		s->size = raw.v[i].size;
		s->name = raw.v[i].name;
	}
	tab.names = (char *)buf_steal(&names, &tab.names_len);
	*ret_tab = tab;
	memset(&tab, 0, sizeof(tab));
cleanup:
	elf_symtab__free(&tab);
	VEC_FREE(&raw);
	buf_free(&names);
	return err;
}

static int load_symtab_cb(Elf *elf, void *arg)
{
	return load_symtab(elf, arg);
}

int elf_symtab__load(int fd, struct elf_symtab *ret_tab)
{
	return with_elf(fd, NULL, 0, load_symtab_cb, ret_tab);
}

int elf_symtab__load_mem(const void *image, size_t size, struct elf_symtab *ret_tab)
{
	return with_elf(-1, image, size, load_symtab_cb, ret_tab);
}

int elf_symtab__merge(struct elf_symtab *into, const struct elf_symtab *from)
{
	size_t n = into->nsyms + from->nsyms, k = 0;
	struct raw_sym *raw = calloc(n ? n : 1, sizeof(*raw));
	struct elf_sym *syms = NULL;
	char *names = NULL;

	if (!raw)
		return -ENOMEM;
	if (into->names_len + from->names_len > UINT32_MAX) {
		free(raw);
		return -EFBIG;
	}
	names = malloc(into->names_len + from->names_len + 1);
	syms = calloc(n ? n : 1, sizeof(*syms));
	if (!names || !syms) {
		free(raw);
		free(names);
		free(syms);
		return -ENOMEM;
	}
	memcpy(names, into->names, into->names_len);
	memcpy(names + into->names_len, from->names, from->names_len);
	for (size_t i = 0; i < into->nsyms; i++)
		raw[i] = (struct raw_sym){into->syms[i].addr, into->syms[i].size,
					  into->syms[i].name, 0};
	for (size_t i = 0; i < from->nsyms; i++)
		raw[into->nsyms + i] =
			(struct raw_sym){from->syms[i].addr, from->syms[i].size,
					 from->syms[i].name + (uint32_t)into->names_len, 1};
	qsort(raw, n, sizeof(*raw), raw_sym_cmp);
	for (size_t i = 0; i < n; i++) {
		if (k && syms[k - 1].addr == raw[i].addr)
			continue;
		syms[k].addr = raw[i].addr;
		syms[k].size = raw[i].size;
		syms[k].name = raw[i].name;
		k++;
	}
	free(raw);
	free(into->syms);
	free(into->names);
	into->syms = syms;
	into->nsyms = k;
	into->names = names;
	into->names_len += from->names_len;
	return 0;
}

const struct elf_sym *elf_symtab__find(const struct elf_symtab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->nsyms;
	const struct elf_sym *s;
	uint64_t end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &tab->syms[lo - 1];
	if (s->size)
		end = s->addr + s->size;
	else if (lo < tab->nsyms)
		end = MIN(tab->syms[lo].addr, s->addr + ZERO_SIZE_SYM_SPAN);
	else
		end = s->addr + ZERO_SIZE_SYM_SPAN;
	return addr < end ? s : NULL;
}

size_t elf_symtab__bytes(const struct elf_symtab *tab)
{
	return tab->nsyms * sizeof(*tab->syms) + tab->names_len;
}

void elf_symtab__free(struct elf_symtab *tab)
{
	if (!tab)
		return;
	free(tab->syms);
	free(tab->names);
	memset(tab, 0, sizeof(*tab));
}

bool elf_info__range(const struct elf_info *info, uint64_t *ret_start, uint64_t *ret_limit,
		     uint64_t *ret_offset)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	if (!info->nsegs)
		return false;
	for (uint32_t s = 0; s < info->nsegs; s++) {
		lo = MIN(lo, info->segs[s].vaddr);
		hi = MAX(hi, info->segs[s].vaddr + info->segs[s].memsz);
	}
	*ret_start = lo;
	*ret_limit = hi;
	*ret_offset = info->segs[0].offset;
	return true;
}
