// SPDX-License-Identifier: Apache-2.0
/*
 * symbolizer/dwarf.c against a program the test compiles with cc -g: a function's name, file
 * and line at its entry; an always-inlined callee reported as its own frame, innermost first,
 * with its own line; no DWARF, no compile unit: the documented errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "unit.h"
#include "build_prog.h"
#include "../../symbolizer/dwarf.h"
#include "../../symbolizer/elf_file.h"

/* Line numbers below are what the test checks: keep them in step with the text. */
static const char prog[] = "#include <stdlib.h>\n"					     /* 1 */
			   "static inline __attribute__((always_inline)) int inner(int x)\n" /* 2 */
			   "{\n"							     /* 3 */
			   "\treturn x * x + (int)random();\n"				     /* 4 */
			   "}\n"							     /* 5 */
			   "__attribute__((noinline)) int outer_fn(int n)\n"		     /* 6 */
			   "{\n"							     /* 7 */
			   "\tint s = 0;\n"						     /* 8 */
			   "\tfor (int i = 0; i < n; i++)\n"				     /* 9 */
			   "\t\ts += inner(i);\n"	       /* 10 */
			   "\treturn s;\n"		       /* 11 */
			   "}\n"			       /* 12 */
			   "int main(int argc, char **argv)\n" /* 13 */
			   "{\n"			       /* 14 */
			   "\treturn outer_fn(argc);\n"	       /* 15 */
			   "}\n";

struct frames {
	int n;
	char name[4][64];
	char file[4][128];
	uint32_t line[4];
};

static int collect(void *ctx, const char *name, const char *file, uint32_t line, uint32_t column)
{
	struct frames *f = ctx;

	if (f->n < 4) {
		snprintf(f->name[f->n], sizeof(f->name[0]), "%s", name ? name : "");
		snprintf(f->file[f->n], sizeof(f->file[0]), "%s", file ? file : "");
		f->line[f->n] = line;
	}
	f->n++;
	return 0;
}

/* The address range of a function, from the file's symbol table. */
static int function_range(const char *path, const char *name, uint64_t *lo, uint64_t *hi)
{
	struct elf_symtab tab;
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = -1;

	if (fd < 0 || elf_symtab__load(fd, &tab) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* the symbol's start: search from the low addresses up for the first that resolves to it */
	for (uint64_t a = 0x1000; a < 0x100000 && found; a++) {
		const struct elf_sym *s = elf_symtab__find(&tab, a);

		if (s && strcmp(elf_symtab__name(&tab, s), name) == 0) {
			*lo = a;
			while (elf_symtab__find(&tab, a) == s)
				a++;
			*hi = a;
			found = 0;
		}
	}
	elf_symtab__free(&tab);
	close(fd);
	return found;
}

static void test_lines_and_inlines(void)
{
	char path[256];
	struct sym_dwarf *d = NULL;
	struct frames f;
	uint64_t lo = 0, hi = 0;
	bool inlined = false;
	int fd;

	REQUIRE(build_write("prog.c", prog) == 0);
	if (build_run("cc -g -O2 -fno-omit-frame-pointer -o prog prog.c 2>&1") != 0)
		SKIP("cannot compile with cc -g");
	snprintf(path, sizeof(path), "%s/prog", build_dir);
	REQUIRE(function_range(path, "outer_fn", &lo, &hi) == 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(sym_dwarf__open(fd, &d) == 0);
	CHECK(sym_dwarf__bytes(d) > 0);

	memset(&f, 0, sizeof(f));
	CHECK(sym_dwarf__lookup(d, lo, collect, &f) == 0);
	CHECK_EQ_U64(f.n, 1);
	CHECK_STR(f.name[0], "outer_fn");
	CHECK_STR(f.file[0] + (strlen(f.file[0]) > 6 ? strlen(f.file[0]) - 6 : 0), "prog.c");
	CHECK(f.line[0] >= 6 && f.line[0] <= 8);
	/* somewhere in outer_fn, inner's code: two frames, the inlined callee first */
	for (uint64_t a = lo; a < hi && !inlined; a++) {
		memset(&f, 0, sizeof(f));
		if (sym_dwarf__lookup(d, a, collect, &f) == 0 && f.n == 2 &&
		    strcmp(f.name[0], "inner") == 0) {
			inlined = true;
			CHECK_STR(f.name[1], "outer_fn");
			CHECK_EQ_U64(f.line[0], 4);  /* inner's body */
			CHECK_EQ_U64(f.line[1], 10); /* where outer_fn calls it */
		}
	}
	CHECK(inlined);
	CHECK(sym_dwarf__lookup(d, 0x10, collect, &f) == -ENOENT);
	sym_dwarf__free(d);
	close(fd);

	/* without DWARF */
	REQUIRE(build_run("cc -O2 -o nodebug prog.c 2>&1") == 0);
	snprintf(path, sizeof(path), "%s/nodebug", build_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	d = NULL;
	CHECK(sym_dwarf__open(fd, &d) == -ENODATA);
	sym_dwarf__free(d);
	close(fd);
}

int main(void)
{
	if (build_dir_create())
		return 1;
	RUN(test_lines_and_inlines);
	build_dir_remove();
	return unit_done();
}
