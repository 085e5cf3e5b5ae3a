// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: an uploaded debug file, as the collector takes it (debuginfo_api.c,
 * namer.c): inflated when gzip (bounded), checked (debugstore_check), and when taken, loaded
 * by the symbolizer from a file as the namer does (symbols, DWARF with inline chains, Go
 * tables) and looked up at addresses of its own symbols and around them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../collector/debugstore.h"
#include "../../common/buf.h"
#include "../../common/gzip.h"
#include "../../symbolizer/elf_file.h"
#include "../../symbolizer/symbolizer.h"

#define MAX_INFLATED (8u << 20)

static void load_and_look_up(const void *image, size_t size)
{
	struct symbolizer_opts o = {
		.sz = sizeof(o), .no_debuginfod = true, .debug_dirs = "/nonexistent"};
	struct symbolizer *s;
	struct sym_module *m;
	struct sym_result *r = malloc(sizeof(*r));
	struct elf_symtab tab;
	char path[64];
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (!r || fd < 0 || write(fd, image, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	s = symbolizer__new(&o);
	if (!s)
		goto out;
	m = symbolizer__module(s, NULL, 0, path, fd);
	if (m) {
		symbolizer__prefetch(s, m);
		symbolizer__wait(s, 5000);
		if (elf_symtab__load(fd, &tab) == 0) {
			for (size_t i = 0; i < tab.nsyms && i < 32; i++) {
				symbolizer__lookup(s, m, tab.syms[i].addr, r);
				symbolizer__lookup(s, m, tab.syms[i].addr + tab.syms[i].size / 2,
						   r);
			}
			elf_symtab__free(&tab);
		}
		for (uint64_t a = 0; a < 0x4000; a += 0x3f1)
			symbolizer__lookup(s, m, a, r);
	}
	symbolizer__free(s);
out:
	if (fd >= 0)
		close(fd);
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct debugstore_facts f;
	struct buf inflated = {0};
	char msg[400];

	if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		if (gunzip_bounded(data, size, MAX_INFLATED, &inflated) == 0) {
			data = inflated.data;
			size = inflated.len;
		} else {
			size = 0;
		}
	}
	if (size && debugstore_check(data, size, NULL, 4 * MAX_INFLATED, &f, msg, sizeof(msg)) == 0)
		load_and_look_up(data, size);
	buf_free(&inflated);
	return 0;
}
