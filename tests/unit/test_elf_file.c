// SPDX-License-Identifier: Apache-2.0
/* symbolizer/elf_file.c: ELF facts and symbol tables of real files, and hostile ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "self_elf.h"
#include "../../common/util.h"
#include "../../symbolizer/elf_file.h"

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

int main(void)
{
	RUN(test_elf_info_self);
	RUN(test_symtab_self);
	RUN(test_symtab_libc_dynsym);
	RUN(test_hostile_elf);
	return unit_done();
}
