// SPDX-License-Identifier: Apache-2.0
/*
 * symbolizer/gopclntab.c against a Go program the test builds (tests/workloads/split.go, with
 * go build; and the same stripped of its symbol table): functions found by address with their
 * names, entries and source lines; stack deltas at a function's entry; and what is not Go.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "build_prog.h"
#include "../../common/util.h"
#include "../../symbolizer/elf_file.h"
#include "../../symbolizer/gopclntab.h"

/* The line of "func NAME(" in split.go, or 0. */
static int32_t source_line(const char *src, const char *name)
{
	char *data = NULL, needle[64];
	size_t len;
	int32_t line = 0;

	snprintf(needle, sizeof(needle), "\nfunc %s(", name);
	if (read_file(-1, src, 1 << 20, &data, &len) == 0 && strstr(data, needle)) {
		line = 2;
		for (const char *p = data; p < strstr(data, needle); p++)
			line += *p == '\n';
	}
	free(data);
	return line;
}

/* The address of a symbol in the (unstripped) program's symbol table, or 0. */
static uint64_t symbol_address(const char *path, const char *name)
{
	char cmd[512];
	FILE *f;
	unsigned long long addr = 0;

	snprintf(cmd, sizeof(cmd), "nm %s | awk '$3 == \"%s\" { print $1 }'", path, name);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%llx", &addr) != 1)
			addr = 0;
		pclose(f);
	}
	return addr;
}

static void check_file(const char *path, const char *src, uint64_t addr_a, uint64_t addr_burn)
{
	struct gopclntab *t = NULL;
	struct go_func fn;
	const char *file = NULL;
	int32_t line = 0, sp = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	REQUIRE(fd >= 0);
	REQUIRE(gopclntab__open(fd, &t) == 0);
	CHECK(gopclntab__nfuncs(t) > 500); /* the runtime's and ours */
	CHECK(gopclntab__bytes(t) > 0);
	REQUIRE(gopclntab__find(t, addr_a + 5, &fn) == 0);
	CHECK_STR(fn.name, "main.workerA");
	CHECK_EQ_U64(fn.entry, addr_a);
	CHECK(fn.end > addr_a);
	CHECK(gopclntab__file_line(t, &fn, addr_a, &file, &line) == 0);
	CHECK(file && str_ends_with(file, "/split.go"));
	CHECK_EQ_U64(line, source_line(src, "workerA"));
	/* no stack growth before the first instruction */
	CHECK(gopclntab__pcvalue(t, fn.pcsp, fn.entry, fn.entry, &sp) == 0);
	CHECK_EQ_U64(sp, 0);
	REQUIRE(gopclntab__find(t, addr_burn, &fn) == 0);
	CHECK_STR(fn.name, "main.burn");
	CHECK(gopclntab__find(t, 0x10, &fn) == -ENOENT);
	gopclntab__free(t);
	close(fd);
}

static void test_go_binary(void)
{
	char src[512], path[256], stripped[256];
	uint64_t addr_a, addr_burn;
	int fd;
	struct gopclntab *t = NULL;

	if (!realpath("tests/workloads/split.go", src) &&
	    !realpath("../../../tests/workloads/split.go", src))
		SKIP("tests/workloads/split.go not found (run from the source tree)");
	if (build_run("command -v go >/dev/null") != 0)
		SKIP("go is not installed (golang-go)");
	REQUIRE(build_run("GOCACHE=${GOCACHE:-/tmp/sonde-go-cache} GO111MODULE=off GOFLAGS= "
			  "go build -o split_go %s && "
			  "GOCACHE=${GOCACHE:-/tmp/sonde-go-cache} GO111MODULE=off GOFLAGS= "
			  "go build -ldflags='-s -w' -o split_go_stripped %s",
			  src, src) == 0);
	snprintf(path, sizeof(path), "%s/split_go", build_dir);
	snprintf(stripped, sizeof(stripped), "%s/split_go_stripped", build_dir);
	addr_a = symbol_address(path, "main.workerA");
	addr_burn = symbol_address(path, "main.burn");
	REQUIRE(addr_a && addr_burn);
	check_file(path, src, addr_a, addr_burn);
	/* stripped of .symtab: the same, from the pc-line table alone */
	check_file(stripped, src, addr_a, addr_burn);

	/* a C program is not Go */
	REQUIRE(build_write("c.c", "int main(void) { return 0; }\n") == 0);
	REQUIRE(build_run("cc -o c c.c") == 0);
	snprintf(path, sizeof(path), "%s/c", build_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(gopclntab__open(fd, &t) < 0 && t == NULL);
	close(fd);
}

int main(void)
{
	if (build_dir_create())
		return 1;
	RUN(test_go_binary);
	build_dir_remove();
	return unit_done();
}
