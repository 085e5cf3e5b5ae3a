// SPDX-License-Identifier: Apache-2.0
/* symbolizer/: ELF facts, symbol tables, kallsyms, and the module cache. */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../common/util.h"
#include "../../symbolizer/elf_file.h"
#include "../../symbolizer/kallsyms.h"
#include "../../symbolizer/symbolizer.h"

__attribute__((noinline)) int unit_marker_function(int x)
{
	return x * 3 + 1;
}

struct self_info {
	uint64_t bias;
	uint8_t build_id[64];
	uint32_t build_id_len;
};

/* The build ID as the loader mapped it: an independent path to the same bytes. */
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct self_info *si = data;

	(void)size;
	if (info->dlpi_name && info->dlpi_name[0])
		return 0; /* not the main program */
	si->bias = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const uint8_t *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + 12 <= end) {
			const ElfW(Nhdr) *n = (const void *)p;
			const uint8_t *desc = p + 12 + ((n->n_namesz + 3) & ~3u);

			if (n->n_type == NT_GNU_BUILD_ID && n->n_descsz <= 64) {
				memcpy(si->build_id, desc, n->n_descsz);
				si->build_id_len = n->n_descsz;
				return 1;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

static void test_elf_info_self(void)
{
	struct self_info si = {0};
	struct elf_info info;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	uint64_t vaddr;

	dl_iterate_phdr(phdr_cb, &si);
	REQUIRE(fd >= 0);
	CHECK(elf_info__read(fd, &info) == 0);
	CHECK(si.build_id_len > 0);
	CHECK_EQ_U64(info.build_id_len, si.build_id_len);
	CHECK(memcmp(info.build_id, si.build_id, si.build_id_len) == 0);
	CHECK(info.nsegs >= 2);
	CHECK(info.has_symtab);
	CHECK(info.has_eh_frame);
	CHECK(info.has_debug_info); /* built with -g */
	/* offset 0 is in the first PT_LOAD */
	CHECK(elf_info__offset_to_vaddr(&info, 0, &vaddr) == 0);
	CHECK(elf_info__offset_to_vaddr(&info, 1ULL << 40, &vaddr) == -ENOENT);
	close(fd);
}

static void test_symtab_self(void)
{
	struct self_info si = {0};
	struct elf_symtab tab;
	const struct elf_sym *s;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	uint64_t addr;

	dl_iterate_phdr(phdr_cb, &si);
	CHECK(elf_symtab__load(fd, &tab) == 0);
	addr = (uint64_t)(uintptr_t)&unit_marker_function - si.bias;
	s = elf_symtab__find(&tab, addr);
	REQUIRE(s != NULL);
	if (s)
		CHECK_STR(elf_symtab__name(&tab, s), "unit_marker_function");
	s = elf_symtab__find(&tab, addr + 3); /* inside, not at the start */
	CHECK(s != NULL && strcmp(elf_symtab__name(&tab, s), "unit_marker_function") == 0);
	CHECK(elf_symtab__find(&tab, 0) == NULL);
	CHECK(elf_symtab__bytes(&tab) > 0);
	elf_symtab__free(&tab);
	close(fd);
}

static void test_symtab_libc_dynsym(void)
{
	Dl_info dli;
	struct elf_symtab tab;
	const struct elf_sym *s;
	int fd;

	/* libc is stripped of .symtab on Debian: this exercises .dynsym */
	CHECK(dladdr((void *)&getppid, &dli) != 0);
	fd = open(dli.dli_fname, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(elf_symtab__load(fd, &tab) == 0);
	s = elf_symtab__find(&tab,
			     (uint64_t)(uintptr_t)&getppid - (uint64_t)(uintptr_t)dli.dli_fbase);
	REQUIRE(s != NULL);
	if (s)
		CHECK_STR(elf_symtab__name(&tab, s), "getppid");
	elf_symtab__free(&tab);
	close(fd);
}

static void test_hostile_elf(void)
{
	char path[] = "/tmp/sonde-unit-elfXXXXXX";
	struct elf_info info;
	struct elf_symtab tab;
	char *self = NULL;
	size_t len;
	int fd;

	CHECK(read_file(-1, "/proc/self/exe", 64 << 20, &self, &len) == 0);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	/* every truncation of a real ELF file, at a few hundred lengths: no crash, no hang */
	for (size_t cut = 0; cut < len; cut += len / 300 + 1) {
		CHECK(ftruncate(fd, 0) == 0);
		CHECK(pwrite(fd, self, cut, 0) == (ssize_t)cut);
		if (elf_info__read(fd, &info) == 0)
			CHECK(info.nsegs <= ELF_MAX_LOAD_SEGS);
		if (elf_symtab__load(fd, &tab) == 0)
			elf_symtab__free(&tab);
	}
	/* garbage after a valid ELF header */
	for (size_t i = 64; i < len && i < 4096; i++)
		self[i] = (char)(i * 131);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, self, len, 0) == (ssize_t)len);
	if (elf_info__read(fd, &info) == 0)
		CHECK(info.nsegs <= ELF_MAX_LOAD_SEGS);
	if (elf_symtab__load(fd, &tab) == 0)
		elf_symtab__free(&tab);
	/* not an ELF file at all */
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, "hello world", 11, 0) == 11);
	CHECK(elf_info__read(fd, &info) == -EINVAL);
	CHECK(elf_symtab__load(fd, &tab) == -EINVAL);
	close(fd);
	unlink(path);
	free(self);
}

static void test_kallsyms_synthetic(void)
{
	char path[] = "/tmp/sonde-unit-ksymsXXXXXX";
	static const char text[] = "ffffffff81000000 T _stext\n"
				   "ffffffff81000100 t do_thing\n"
				   "ffffffff81000200 D some_data\n"
				   "ffffffff81000300 T other_thing\n"
				   "ffffffffc0000000 t mod_fn\t[mymod]\n"
				   "ffffffffc0000100 t mod_fn2\t[mymod]\n"
				   "garbage line\n";
	struct kallsyms *ks;
	const char *name, *mod;
	uint64_t off;
	int fd = mkstemp(path);

	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	close(fd);
	ks = kallsyms__load(path);
	REQUIRE(ks != NULL);
	if (!ks)
		return;
	CHECK_EQ_U64(kallsyms__count(ks), 5); /* data symbols skipped */
	CHECK(kallsyms__find(ks, 0xffffffff81000105, &name, &mod, &off) == 0);
	CHECK_STR(name, "do_thing");
	CHECK_STR(mod, "");
	CHECK_EQ_U64(off, 5);
	/* the data symbol is not a function: the address belongs to do_thing */
	CHECK(kallsyms__find(ks, 0xffffffff81000250, &name, &mod, &off) == 0);
	CHECK_STR(name, "do_thing");
	CHECK(kallsyms__find(ks, 0xffffffffc0000104, &name, &mod, &off) == 0);
	CHECK_STR(name, "mod_fn2");
	CHECK_STR(mod, "mymod");
	CHECK(kallsyms__find(ks, 0x1000, &name, &mod, &off) == -ENOENT);
	kallsyms__free(ks);
	unlink(path);

	/* every address zero: kptr_restrict without privileges */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, "0000000000000000 T a\n0000000000000000 T b\n", 42) == 42);
	close(fd);
	CHECK(kallsyms__load(path) == NULL && errno == EPERM);
	unlink(path);
}

static void test_kallsyms_real(void)
{
	struct kallsyms *ks = kallsyms__load("/proc/kallsyms");
	const char *name, *mod;
	uint64_t off, addr = 0;
	char *data = NULL, *p;
	size_t len;

	if (!ks)
		SKIP("/proc/kallsyms unreadable (%s)", strerror(errno));
	CHECK(kallsyms__count(ks) > 1000);
	CHECK(read_file(-1, "/proc/kallsyms", 256 << 20, &data, &len) == 0);
	p = data ? strstr(data, " T do_syscall_64\n") : NULL;
	if (p) {
		while (p > data && p[-1] != '\n')
			p--;
		addr = strtoull(p, NULL, 16);
	}
	CHECK(addr != 0);
	CHECK(kallsyms__find(ks, addr + 4, &name, &mod, &off) == 0);
	CHECK_STR(name, "do_syscall_64");
	CHECK_EQ_U64(off, 4);
	free(data);
	kallsyms__free(ks);
}

static void test_symbolizer_cache(void)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .cache_bytes = 1};
	struct symbolizer *s = symbolizer__new(&o);
	struct self_info si = {0};
	struct sym_result *r = malloc(sizeof(*r));
	struct symbolizer_stats st;
	struct sym_module *m, *m2, *libc;
	Dl_info dli;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	dl_iterate_phdr(phdr_cb, &si);
	m = symbolizer__module(s, si.build_id, si.build_id_len, "/proc/self/exe", fd);
	close(fd);
	REQUIRE(m != NULL);
	/* same build ID: the same module, whatever the path */
	m2 = symbolizer__module(s, si.build_id, si.build_id_len, "/some/other/path", -1);
	CHECK(m2 == m);
	/* symbols load in the background: the first lookup only starts it */
	CHECK(symbolizer__lookup(s, m, (uintptr_t)&unit_marker_function - si.bias, r) == -EAGAIN);
	CHECK(symbolizer__wait(s, 10000) == 0);
	CHECK(symbolizer__lookup(s, m, (uintptr_t)&unit_marker_function - si.bias, r) == 0);
	CHECK_EQ_U64(r->nframes, 1);
	CHECK_STR(r->frames[0].name, "unit_marker_function");
	CHECK_STR(r->module, "exe");
	CHECK(symbolizer__lookup(s, m, 1, r) == -ENOENT);

	dladdr((void *)&getppid, &dli);
	libc = symbolizer__module(s, NULL, 0, dli.dli_fname, -1);
	symbolizer__prefetch(s, libc);
	CHECK(symbolizer__wait(s, 10000) == 0);
	CHECK(symbolizer__lookup(s, libc, (uintptr_t)&getppid - (uintptr_t)dli.dli_fbase, r) == 0);
	/* getppid from .dynsym, or __getppid (its real name) from libc6-dbg's DWARF */
	CHECK(r->nframes >= 1 && str_ends_with(r->frames[0].name, "getppid"));
	/* with a 1-byte budget, loading libc evicted our executable's symbols */
	symbolizer__stats(s, &st);
	CHECK_EQ_U64(st.modules, 2);
	CHECK_EQ_U64(st.modules_loaded, 1);
	CHECK(st.evictions >= 1);
	/* and it reloads on demand */
	CHECK(symbolizer__lookup(s, m, (uintptr_t)&unit_marker_function - si.bias, r) == -EAGAIN);
	CHECK(symbolizer__wait(s, 10000) == 0);
	CHECK(symbolizer__lookup(s, m, (uintptr_t)&unit_marker_function - si.bias, r) == 0);
	CHECK_STR(r->frames[0].name, "unit_marker_function");

	/* a module that cannot be read reports it, and does not crash */
	m = symbolizer__module(s, NULL, 0, "/nonexistent/lib.so", -1);
	symbolizer__prefetch(s, m);
	CHECK(symbolizer__wait(s, 10000) == 0);
	CHECK(symbolizer__lookup(s, m, 0x1000, r) == -ENOENT);
	symbolizer__free(s);
	free(r);
	unit_marker_function(1);
}

int main(void)
{
	RUN(test_elf_info_self);
	RUN(test_symtab_self);
	RUN(test_symtab_libc_dynsym);
	RUN(test_hostile_elf);
	RUN(test_kallsyms_synthetic);
	RUN(test_kallsyms_real);
	RUN(test_symbolizer_cache);
	return unit_done();
}
