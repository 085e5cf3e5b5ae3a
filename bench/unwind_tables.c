// SPDX-License-Identifier: Apache-2.0
/*
 * Builds Sonde's unwind table for every ELF file named on stdin (one path per line) and prints
 * what they cost: files, rows, bytes, build time, and the largest tables.
 * usage: find /usr -type f | build/bench/unwind_tables
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../agent/unwind_table.h"
#include "../common/util.h"

struct big {
	char path[256];
	size_t bytes;
	uint32_t rows;
};

int main(void)
{
	char line[4096];
	uint64_t files = 0, elf = 0, with_cfi = 0, rows = 0, bytes = 0, ns = 0, failed = 0, go = 0;
	uint64_t file_bytes = 0;
	struct big top[10] = {0};

	while (fgets(line, sizeof(line), stdin)) {
		struct unwind_table *t = NULL;
		unsigned char magic[4];
		uint64_t t0;
		int fd;

		line[strcspn(line, "\n")] = 0;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		files++;
		if (read(fd, magic, 4) != 4 || memcmp(magic, "\177ELF", 4) != 0) {
			close(fd);
			continue;
		}
		elf++;
		file_bytes += (uint64_t)lseek(fd, 0, SEEK_END);
		t0 = clock_ns(CLOCK_MONOTONIC);
		if (unwind_table__build(fd, &t)) {
			failed++;
			close(fd);
			continue;
		}
		ns += clock_ns(CLOCK_MONOTONIC) - t0;
		close(fd);
		rows += t->nrows;
		bytes += t->bytes;
		with_cfi += t->nrows > 0;
		go += t->go != NULL;
		for (int i = 0; i < 10; i++) {
			if (t->bytes > top[i].bytes) {
				memmove(&top[i + 1], &top[i], (size_t)(9 - i) * sizeof(top[0]));
				str_copy(top[i].path, line, sizeof(top[i].path));
				top[i].bytes = t->bytes;
				top[i].rows = t->nrows;
				break;
			}
		}
		unwind_table__free(t);
	}
	printf("files read: %llu, ELF: %llu (%.1f MiB), with CFI: %llu, Go: %llu, not parsed: "
	       "%llu\n",
	       (unsigned long long)files, (unsigned long long)elf, file_bytes / 1048576.0,
	       (unsigned long long)with_cfi, (unsigned long long)go, (unsigned long long)failed);
	printf("unwind tables: %llu rows, %.1f MiB (%.2f%% of the files), built in %.2f s "
	       "(%.1f ms per file)\n",
	       (unsigned long long)rows, bytes / 1048576.0,
	       file_bytes ? 100.0 * bytes / file_bytes : 0, ns / 1e9, elf ? ns / 1e6 / elf : 0);
	printf("largest tables:\n");
	for (int i = 0; i < 10 && top[i].bytes; i++)
		printf("  %8.1f KiB %9u rows  %s\n", top[i].bytes / 1024.0, top[i].rows,
		       top[i].path);
	return 0;
}
