// SPDX-License-Identifier: Apache-2.0
/* symbolizer/kallsyms.c: a synthetic file and the running kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../common/util.h"
#include "../../symbolizer/kallsyms.h"

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

int main(void)
{
	RUN(test_kallsyms_synthetic);
	RUN(test_kallsyms_real);
	return unit_done();
}
