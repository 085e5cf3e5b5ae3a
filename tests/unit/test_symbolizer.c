// SPDX-License-Identifier: Apache-2.0
/* symbolizer/symbolizer.c: the module cache: shared by build ID, loaded in the background, evicted
 * and reloaded. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "self_elf.h"
#include "../../common/util.h"
#include "../../symbolizer/symbolizer.h"

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
	RUN(test_symbolizer_cache);
	return unit_done();
}
