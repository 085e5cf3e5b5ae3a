// SPDX-License-Identifier: Apache-2.0
/*
 * collector/debugstore: what an upload must be (an ELF file of the claimed build ID, with
 * something to name frames by, every section inside it, compressed sections within a bound),
 * and the objects it keeps in a directory store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "build_prog.h"
#include "collector_fixture.h"
#include "../../collector/debugstore.h"
#include "../../common/util.h"

static char *prog, *debug, *stripped, *zdebug;
static size_t prog_len, debug_len, stripped_len, zdebug_len;
static char hex[DEBUGSTORE_MAX_HEX];

static char *load(const char *name, size_t *len)
{
	char path[256], *data = NULL;

	snprintf(path, sizeof(path), "%s/%s", build_dir, name);
	if (read_file(AT_FDCWD, path, 64u << 20, &data, len))
		return NULL;
	return data;
}

static int build(void)
{
	struct debugstore_facts f;
	char msg[300];

	if (build_write("prog.c", "int work(int x) { return x * 3; }\n"
				  "int main(int c, char **v) { (void)v; return work(c); }\n") ||
	    build_run("cc -g -O1 -Wl,--build-id -o prog prog.c && "
		      "objcopy --only-keep-debug prog prog.debug && strip -o stripped prog && "
		      "objcopy --compress-debug-sections=zlib prog.debug prog.zdebug") != 0)
		return -1;
	prog = load("prog", &prog_len);
	debug = load("prog.debug", &debug_len);
	stripped = load("stripped", &stripped_len);
	zdebug = load("prog.zdebug", &zdebug_len);
	if (!prog || !debug || !stripped || !zdebug)
		return -1;
	/* the build ID, as the check reads it */
	if (debugstore_check(prog, prog_len, NULL, 1ULL << 30, &f, msg, sizeof(msg)))
		return -1;
	memcpy(hex, f.build_id, sizeof(hex));
	return 0;
}

static void test_build_ids(void)
{
	char out[DEBUGSTORE_MAX_HEX];

	CHECK(debugstore_build_id_valid("ABcd01", out));
	CHECK_STR(out, "abcd01");
	CHECK(!debugstore_build_id_valid("abc", out));	 /* odd */
	CHECK(!debugstore_build_id_valid("", out));	 /* empty */
	CHECK(!debugstore_build_id_valid("a", out));	 /* too short */
	CHECK(!debugstore_build_id_valid("zz", out));	 /* not hex */
	CHECK(!debugstore_build_id_valid("../..", out)); /* not a key */
	{
		char longest[2 * DEBUGSTORE_MAX_BUILD_ID + 3];

		memset(longest, 'a', sizeof(longest) - 1);
		longest[sizeof(longest) - 1] = 0;
		CHECK(!debugstore_build_id_valid(longest, out));
		longest[2 * DEBUGSTORE_MAX_BUILD_ID] = 0;
		CHECK(debugstore_build_id_valid(longest, out));
	}
}

static void test_check(void)
{
	struct debugstore_facts f;
	char msg[300], other[DEBUGSTORE_MAX_HEX];

	/* the binary and its debug file are taken; the debug file has DWARF and symbols */
	CHECK(debugstore_check(prog, prog_len, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 0);
	CHECK(debugstore_check(debug, debug_len, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 0);
	CHECK(f.dwarf && f.symtab);
	CHECK_STR(f.build_id, hex);
	/* compressed sections are fine within the bound, refused past it */
	CHECK(debugstore_check(zdebug, zdebug_len, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 0);
	CHECK(f.inflated > 0);
	CHECK(debugstore_check(zdebug, zdebug_len, hex, f.inflated - 1, &f, msg, sizeof(msg)) ==
	      413);
	CHECK(strstr(msg, "compressed sections claim") != NULL);
	/* another build ID than claimed */
	memcpy(other, hex, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	CHECK(debugstore_check(debug, debug_len, other, 1ULL << 30, &f, msg, sizeof(msg)) == 422);
	CHECK(strstr(msg, "build ID is") != NULL);
	/* a stripped executable: its .dynsym only imports */
	CHECK(debugstore_check(stripped, stripped_len, hex, 1ULL << 30, &f, msg, sizeof(msg)) ==
	      422);
	CHECK(strstr(msg, "no symbols") != NULL);
	/* every truncation is refused, none read past the end (ASan would say) */
	for (size_t n = 0; n < debug_len; n += 97) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, debug, n);
		CHECK(debugstore_check(cut, n, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 422);
		free(cut);
	}
	CHECK(debugstore_check("\177ELF", 4, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 422);
	CHECK(debugstore_check("not elf at all, not at all, really not, no ELF here, none at all",
			       64, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 422);
	CHECK(strstr(msg, "not an ELF file") != NULL);
}

struct listed {
	int n;
	char first[DEBUGSTORE_MAX_HEX];
	uint64_t size;
};

static int on_entry(void *ctx, const struct debugstore_entry *e)
{
	struct listed *l = ctx;

	if (!l->n++) {
		memcpy(l->first, e->build_id, sizeof(l->first));
		l->size = e->size;
	}
	return 0;
}

static void test_store(void)
{
	struct fixture_store fs;
	struct debugstore_facts f;
	struct listed l = {0};
	struct buf meta = {0};
	char msg[300];

	if (!fixture_store_open(&fs))
		return;
	REQUIRE(debugstore_check(debug, debug_len, hex, 1ULL << 30, &f, msg, sizeof(msg)) == 0);
	CHECK(debugstore_meta(fs.store, hex, &meta) == -ENOENT);
	/* twice: one object, the same bytes */
	CHECK(debugstore_put(fs.store, &f, debug, debug_len, "prog.debug", "upload") == 0);
	CHECK(debugstore_put(fs.store, &f, debug, debug_len, "prog.debug", "upload") == 0);
	CHECK(debugstore_list(fs.store, on_entry, &l) == 0);
	CHECK_EQ_U64(l.n, 1);
	CHECK_STR(l.first, hex);
	CHECK_EQ_U64(l.size, debug_len);
	CHECK(debugstore_meta(fs.store, hex, &meta) == 0);
	CHECK(strstr(buf_cstr(&meta), "\"source\":\"upload\"") != NULL);
	CHECK(strstr(buf_cstr(&meta), "\"dwarf\"") != NULL);
	CHECK(strstr(buf_cstr(&meta), "\"name\":\"prog.debug\"") != NULL);
	/* tenants never see it: a leading '.' is no tenant's name */
	CHECK(hex[0] != '.');
	CHECK(debugstore_delete(fs.store, hex) == 0);
	CHECK(debugstore_delete(fs.store, hex) == 0); /* not there: not an error */
	l.n = 0;
	CHECK(debugstore_list(fs.store, on_entry, &l) == 0);
	CHECK_EQ_U64(l.n, 0);
	buf_free(&meta);
	fixture_store_close(&fs);
}

int main(void)
{
	if (build_dir_create())
		return 1;
	if (build() == 0) {
		RUN(test_build_ids);
		RUN(test_check);
		RUN(test_store);
	} else {
		fprintf(stderr, "cannot build the test program (cc, objcopy, strip)\n");
		unit_failures++;
	}
	free(prog);
	free(debug);
	free(stripped);
	free(zdebug);
	build_dir_remove();
	return unit_done();
}
