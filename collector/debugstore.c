// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "debugstore.h"
#include "../common/json.h"
#include "../common/util.h"
#include "../symbolizer/elf_file.h"

bool debugstore_build_id_valid(const char *hex, char *out)
{
	size_t n = strlen(hex);

	if (n < 2 || n >= DEBUGSTORE_MAX_HEX || n % 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		out[i] = c;
	}
	out[n] = 0;
	return true;
}

/* A big-endian u64 (the size in a .zdebug section's header). */
static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Whether a .dynsym defines a function (a stripped executable's only imports them). */
static bool defines_functions(Elf *elf, Elf_Scn *scn)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	GElf_Sym sym;

	for (int i = 1; d && gelf_getsym(d, i, &sym); i++)
		if (GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_shndx != SHN_UNDEF &&
		    sym.st_value)
			return true;
	return false;
}

/*
 * Every section inside the file, and what the compressed ones inflate to. 0 or a status with
 * msg. libelf only checks that the section header table fits; the sections are ours to check.
 */
static unsigned int check_sections(const void *image, size_t size, uint64_t max_inflated,
				   struct debugstore_facts *f, char *msg, size_t msg_size)
{
	Elf *elf = elf_memory((char *)image, size);
	Elf_Scn *scn = NULL;
	size_t shstrndx = 0;
	unsigned int status = 0;

	if (!elf) {
		snprintf(msg, msg_size, "not a readable ELF file: %s", elf_errmsg(-1));
		return 422;
	}
	{
		GElf_Ehdr eh;
		uint64_t end;

		/* a file cut short loses its section headers (at the end) before anything else */
		if (!gelf_getehdr(elf, &eh)) {
			snprintf(msg, msg_size, "not a readable ELF file: %s", elf_errmsg(-1));
			elf_end(elf);
			return 422;
		}
		/* (e_shnum and e_shentsize are 16 bits: no overflow but through e_shoff) */
		end = eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize;
		if (!eh.e_shoff || !eh.e_shnum || end < eh.e_shoff || end > size) {
			snprintf(
				msg, msg_size,
				"truncated: %s (the file has %zu bytes, its section headers end at "
				"byte %llu)",
				!eh.e_shoff || !eh.e_shnum ? "no section headers" : "cut short",
				size, (unsigned long long)end);
			elf_end(elf);
			return 422;
		}
	}
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		shstrndx = 0;
	while (!status && (scn = elf_nextscn(elf, scn)) != NULL) {
		const uint8_t *p = (const uint8_t *)image;
		const char *name = NULL;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh)) {
			snprintf(msg, msg_size, "section %zu: unreadable header", elf_ndxscn(scn));
			status = 422;
			break;
		}
		if (shstrndx)
			name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			name = "?";
		if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL)
			continue;
		if (sh.sh_offset > size || size - sh.sh_offset < sh.sh_size) {
			snprintf(msg, msg_size,
				 "truncated: section %.64s ends at byte %llu, past the end of the "
				 "file (%zu bytes)",
				 name, (unsigned long long)sh.sh_offset + sh.sh_size, size);
			status = 422;
			break;
		}
		p += sh.sh_offset;
		if (sh.sh_type == SHT_DYNSYM && !(sh.sh_flags & SHF_COMPRESSED))
			f->dynsym = f->dynsym || defines_functions(elf, scn);
		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;

			/* the header alone, in the file's byte order: nothing is inflated here */
			if (!gelf_getchdr(scn, &ch)) {
				snprintf(msg, msg_size,
					 "section %.64s: compressed but unreadable: %s", name,
					 elf_errmsg(-1));
				status = 422;
				break;
			}
			f->inflated = ch.ch_size > UINT64_MAX - f->inflated
					      ? UINT64_MAX
					      : f->inflated + ch.ch_size;
		} else if (strncmp(name, ".zdebug", 7) == 0 && sh.sh_size >= 12 &&
			   memcmp(p, "ZLIB", 4) == 0) {
			uint64_t n = be64(p + 4);

			f->inflated = n > UINT64_MAX - f->inflated ? UINT64_MAX : f->inflated + n;
		}
		if (f->inflated > max_inflated) {
			snprintf(msg, msg_size,
				 "its compressed sections claim %llu bytes once inflated, over the "
				 "limit of %llu (--debuginfo-max-size)",
				 (unsigned long long)f->inflated, (unsigned long long)max_inflated);
			status = 413;
		}
	}
	elf_end(elf);
	return status;
}

unsigned int debugstore_check(const void *image, size_t size, const char *want_hex,
			      uint64_t max_inflated, struct debugstore_facts *ret, char *msg,
			      size_t msg_size)
{
	struct debugstore_facts f = {0};
	struct elf_info info;
	unsigned int status;

	if (size < 64 || memcmp(image, "\177ELF", 4) != 0) {
		snprintf(msg, msg_size, "not an ELF file (%zu bytes)", size);
		return 422;
	}
	if (elf_info__read_mem(image, size, &info) != 0) {
		snprintf(msg, msg_size, "not a readable ELF file (corrupt or truncated headers)");
		return 422;
	}
	if (!info.build_id_len) {
		snprintf(msg, msg_size, "the file has no GNU build ID note (link with --build-id)");
		return 422;
	}
	hex_encode(info.build_id, info.build_id_len, f.build_id);
	if (want_hex && strcmp(want_hex, f.build_id) != 0) {
		snprintf(msg, msg_size, "the file's build ID is %s, not %.128s", f.build_id,
			 want_hex);
		return 422;
	}
	status = check_sections(image, size, max_inflated, &f, msg, msg_size);
	if (status)
		return status;
	f.symtab = info.has_symtab || info.has_gnu_debugdata;
	f.dwarf = info.has_debug_info;
	f.gopclntab = info.has_gopclntab;
	if (!f.symtab && !f.dwarf && !f.gopclntab && !f.dynsym) {
		snprintf(msg, msg_size,
			 "the file has no symbols, DWARF or Go line table: upload the debug file "
			 "(objcopy --only-keep-debug) or the unstripped binary");
		return 422;
	}
	*ret = f;
	return 0;
}

void debugstore_key(const char *hex, char *key, size_t size)
{
	snprintf(key, size, DEBUGSTORE_PREFIX "%s.elf", hex);
}

void debugstore_meta_key(const char *hex, char *key, size_t size)
{
	snprintf(key, size, DEBUGSTORE_PREFIX "%s.json", hex);
}

int debugstore_put(struct objstore *s, const struct debugstore_facts *f, const void *image,
		   size_t size, const char *name, const char *source)
{
	char key[OBJSTORE_MAX_KEY], when[32];
	struct buf meta = {0};
	time_t now = time(NULL);
	struct tm tm;
	int err;

	debugstore_key(f->build_id, key, sizeof(key));
	err = objstore__put(s, key, image, size);
	if (err)
		return err;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_puts(&meta, "{\"build_id\":");
	json_string(&meta, f->build_id);
	buf_puts(&meta, ",\"name\":");
	json_string(&meta, name && *name ? name : "");
	buf_printf(&meta, ",\"size\":%zu,\"source\":", size);
	json_string(&meta, source);
	buf_printf(&meta, ",\"added\":\"%s\",\"symbols\":[", when);
	{
		const char *sep = "";

		if (f->symtab) {
			buf_printf(&meta, "%s\"symtab\"", sep);
			sep = ",";
		}
		if (f->dwarf) {
			buf_printf(&meta, "%s\"dwarf\"", sep);
			sep = ",";
		}
		if (f->gopclntab) {
			buf_printf(&meta, "%s\"gopclntab\"", sep);
			sep = ",";
		}
		if (f->dynsym)
			buf_printf(&meta, "%s\"dynsym\"", sep);
	}
	buf_puts(&meta, "]}\n");
	if (meta.oom) {
		buf_free(&meta);
		return -ENOMEM;
	}
	debugstore_meta_key(f->build_id, key, sizeof(key));
	err = objstore__put(s, key, meta.data, meta.len);
	buf_free(&meta);
	return err;
}

int debugstore_delete(struct objstore *s, const char *hex)
{
	char key[OBJSTORE_MAX_KEY];
	int err;

	/* the description first: a listing goes by the .elf, which then goes last */
	debugstore_meta_key(hex, key, sizeof(key));
	err = objstore__delete(s, key);
	if (err)
		return err;
	debugstore_key(hex, key, sizeof(key));
	return objstore__delete(s, key);
}

struct list_ctx {
	debugstore_list_fn fn;
	void *ctx;
};

static int list_one(void *ctx, const char *key, uint64_t size)
{
	struct list_ctx *l = ctx;
	struct debugstore_entry e = {.size = size};
	const char *name = key + strlen(DEBUGSTORE_PREFIX);
	size_t n = strlen(name);
	char hex[DEBUGSTORE_MAX_HEX];

	if (n < 5 || n - 4 >= sizeof(hex) || strcmp(name + n - 4, ".elf") != 0)
		return 0;
	memcpy(hex, name, n - 4);
	hex[n - 4] = 0;
	if (!debugstore_build_id_valid(hex, e.build_id))
		return 0;
	return l->fn(l->ctx, &e);
}

int debugstore_list(struct objstore *s, debugstore_list_fn fn, void *ctx)
{
	struct list_ctx l = {fn, ctx};

	return objstore__list(s, DEBUGSTORE_PREFIX, list_one, &l);
}

int debugstore_meta(struct objstore *s, const char *hex, struct buf *out)
{
	char key[OBJSTORE_MAX_KEY];

	debugstore_meta_key(hex, key, sizeof(key));
	return objstore__get(s, key, 0, UINT64_MAX, out);
}
