// SPDX-License-Identifier: Apache-2.0
/*
 * agent/unwind_table.c (with agent/cfi.c under it) against an independent implementation: for
 * thousands of addresses in real binaries (this test and every shared library it has loaded:
 * libc, the dynamic loader, libz, libelf, libcurl, ...), the rule our compact table gives must
 * equal what libdw computes from the same .eh_frame. The libraries are the ones the loader
 * found on this system, not paths of one distribution.
 */
#include <dlfcn.h>
#include <link.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zstd.h>

#include "unit.h"
#include "../../agent/cfi.h"
#include "../../agent/unwind_table.h"

#define DW_OP_bregx_ 0x92
#define DW_OP_call_frame_cfa_ 0x9c
#define DW_OP_plus_uconst_ 0x23

struct expect {
	bool covered;
	bool cfa_simple; /* CFA = reg + off */
	int cfa_reg;
	int64_t cfa_off;
	int ra; /* 0 undefined, 1 at cfa+off, 2 other */
	int64_t ra_off;
	int rbp; /* 0 same, 1 at cfa+off, 2 other */
	int64_t rbp_off;
};

static int saved_rule(Dwarf_Frame *frame, int reg, int64_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	if (dwarf_frame_register(frame, reg, mem, &ops, &nops) != 0)
		return 2;
	if (nops == 0)
		return ops == NULL ? 0 : 3; /* undefined : same value */
	if (ops[0].atom == DW_OP_call_frame_cfa_ && nops <= 2) {
		*off = nops == 2 && ops[1].atom == DW_OP_plus_uconst_ ? (int64_t)ops[1].number : 0;
		return nops == 2 && ops[1].atom != DW_OP_plus_uconst_ ? 2 : 1;
	}
	return 2;
}

static struct expect libdw_rule(Dwarf_CFI *cfi, uint64_t addr)
{
	struct expect e = {0};
	Dwarf_Frame *frame;
	Dwarf_Op *ops;
	size_t nops;

	if (dwarf_cfi_addrframe(cfi, addr, &frame) != 0)
		return e;
	e.covered = true;
	if (dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_bregx_) {
		e.cfa_simple = true;
		e.cfa_reg = (int)ops[0].number;
		e.cfa_off = (int64_t)ops[0].number2;
	}
	e.ra = saved_rule(frame, DWARF_REG_RA, &e.ra_off);
	e.rbp = saved_rule(frame, DWARF_REG_RBP, &e.rbp_off);
	free(frame);
	return e;
}

/* Compares at up to ~60000 addresses spread over the file's executable sections. */
static void compare_file(const char *path)
{
	struct unwind_table *t = NULL;
	Dwarf_CFI *cfi;
	Elf_Scn *scn = NULL;
	uint64_t checked = 0, covered = 0, bad = 0, total = 0;
	Elf *elf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		SKIP_PART("%s: %s", path, strerror(errno));
		return;
	}
	CHECK(unwind_table__build(fd, &t) == 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	cfi = dwarf_getcfi_elf(elf);
	CHECK(t != NULL && cfi != NULL);
	if (!t || !cfi)
		goto out;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR))
			total += sh.sh_size;
	}
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		uint64_t step;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		step = total / 60000 + 1;
		for (uint64_t a = sh.sh_addr; a < sh.sh_addr + sh.sh_size; a += step) {
			struct expect e = libdw_rule(cfi, a);
			const struct cfi_rule *r = unwind_table__lookup(t, a);
			bool ok = true;

			checked++;
			if (!e.covered) {
				ok = r == NULL;
			} else if (!r) {
				ok = false;
			} else {
				covered++;
				if (e.cfa_simple)
					ok &= r->cfa_kind == CFA_REG && r->cfa_reg == e.cfa_reg &&
					      r->cfa_off == e.cfa_off;
				else
					ok &= r->cfa_kind != CFA_REG;
				if (e.ra == 0)
					ok &= r->ra_kind == SAVED_UNDEFINED;
				else if (e.ra == 1)
					ok &= r->ra_kind == SAVED_AT_CFA && r->ra_off == e.ra_off;
				if (e.rbp == 3)
					ok &= r->rbp_kind == SAVED_SAME;
				else if (e.rbp == 1)
					ok &= r->rbp_kind == SAVED_AT_CFA &&
					      r->rbp_off == e.rbp_off;
			}
			if (!ok && bad++ < 5)
				fprintf(stderr,
					"%s: mismatch at %#lx: libdw covered=%d cfa=%d:%d%+ld "
					"ra=%d%+ld "
					"rbp=%d%+ld; ours %s cfa=%d:%d%+d ra=%d%+d rbp=%d%+d\n",
					path, (unsigned long)a, e.covered, e.cfa_simple, e.cfa_reg,
					(long)e.cfa_off, e.ra, (long)e.ra_off, e.rbp,
					(long)e.rbp_off, r ? "rule" : "none", r ? r->cfa_kind : -1,
					r ? r->cfa_reg : -1, r ? r->cfa_off : 0,
					r ? r->ra_kind : -1, r ? r->ra_off : 0,
					r ? r->rbp_kind : -1, r ? r->rbp_off : 0);
		}
	}
	printf("%s: %lu addresses, %lu with CFI, %lu mismatches; %u rows, %u rules, %zu bytes\n",
	       path, (unsigned long)checked, (unsigned long)covered, (unsigned long)bad, t->nrows,
	       t->nrules, t->bytes);
	CHECK(covered > 0);
	CHECK_EQ_U64(bad, 0);
out:
	unwind_table__free(t);
	if (cfi)
		dwarf_cfi_end(cfi);
	elf_end(elf);
	close(fd);
}

struct loaded_files {
	char *paths[64];
	size_t n;
};

static int loaded_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct loaded_files *lf = data;

	(void)size;
	/* the main program has no name; the vDSO has no file */
	if (info->dlpi_name && info->dlpi_name[0] == '/' && lf->n < 64)
		lf->paths[lf->n++] = strdup(info->dlpi_name);
	return 0;
}

/* The real path of the object that holds addr (libc for getppid, ...), or NULL. */
static const char *object_of(const void *addr)
{
	Dl_info dli;

	return dladdr(addr, &dli) && dli.dli_fname ? dli.dli_fname : NULL;
}

static void test_against_libdw(void)
{
	/* hundreds of MB, where installed: tables must build, and stay right */
	static const char *const big[] = {"libLLVM-15.so.1", "libLLVM.so.1"};
	struct loaded_files lf = {0};
	const char *libc = object_of((void *)&getppid);

	compare_file("/proc/self/exe");
	dl_iterate_phdr(loaded_cb, &lf);
	CHECK(lf.n >= 5); /* libc, ld.so, libelf, libdw, libz at least */
	REQUIRE(libc != NULL);
	for (size_t i = 0; i < lf.n; i++) {
		compare_file(lf.paths[i]);
		free(lf.paths[i]);
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		void *h = dlopen(big[i], RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD);
		struct link_map *lm = NULL;

		if (!h)
			h = dlopen(big[i], RTLD_LAZY | RTLD_LOCAL);
		if (!h) {
			SKIP_PART("%s: not installed", big[i]);
			continue;
		}
		if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name[0] == '/')
			compare_file(lm->l_name);
		dlclose(h);
		break;
	}
}

static enum unwind_entry_state state_of(struct unwind_cache *c, struct unwind_entry *e)
{
	enum unwind_entry_state st;

	unwind_cache__table(c, e, &st);
	return st;
}

/* The cache: shared by key, built on the worker, LRU-evicted by bytes, rebuilt on demand. */
static void test_cache(void)
{
	/* three real files with tables of ~50-180 KB each: libc, libcurl, libzstd */
	const char *files[] = {object_of((void *)&getppid), object_of((void *)&curl_easy_init),
			       object_of((void *)&ZSTD_compress)};
	struct unwind_cache *c;
	struct unwind_entry *e[3], *again, *bad;
	struct unwind_cache_stats st;
	int fd;

	REQUIRE(files[0] && files[1]);
	c = unwind_cache__new(200 << 10);
	REQUIRE(c != NULL);
	for (int i = 0; i < 3; i++) {
		fd = open(files[i], O_RDONLY | O_CLOEXEC);
		e[i] = unwind_cache__get(c, 100 + (uint64_t)i, fd);
		close(fd);
		CHECK(e[i] != NULL);
	}
	fd = open(files[0], O_RDONLY | O_CLOEXEC);
	again = unwind_cache__get(c, 100, fd); /* same key: the same entry, no second build */
	close(fd);
	CHECK(again == e[0]);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC); /* not ELF */
	bad = unwind_cache__get(c, 999, fd);
	close(fd);
	CHECK(unwind_cache__wait(c, 20000) == 0);
	unwind_cache__stats(c, &st);
	CHECK_EQ_U64(st.builds, 4);
	CHECK_EQ_U64(st.build_failures, 1);
	CHECK(state_of(c, bad) == UNWIND_ENTRY_FAILED);
	/* ~310 KB of tables in a 200 KB budget: the least recently used went */
	CHECK(st.evictions >= 1);
	CHECK(st.bytes <= 200 << 10);
	CHECK(state_of(c, e[2]) == UNWIND_ENTRY_READY); /* the newest stayed */
	/* an evicted table is rebuilt when asked for */
	for (int i = 0; i < 2; i++) {
		if (state_of(c, e[i]) != UNWIND_ENTRY_READY) {
			CHECK(unwind_cache__wait(c, 20000) == 0);
			CHECK(state_of(c, e[i]) == UNWIND_ENTRY_READY);
		}
	}
	unwind_cache__stats(c, &st);
	CHECK(st.builds >= 5);
	unwind_cache__put(c, again);
	for (int i = 0; i < 3; i++)
		unwind_cache__put(c, e[i]);
	unwind_cache__put(c, bad);
	unwind_cache__stats(c, &st);
	CHECK_EQ_U64(st.entries, 0);
	CHECK_EQ_U64(st.bytes, 0);
	unwind_cache__free(c);
}

int main(void)
{
	RUN(test_cache);
	RUN(test_against_libdw);
	return unit_done();
}
