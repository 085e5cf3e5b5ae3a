// SPDX-License-Identifier: Apache-2.0
/*
 * Symbolizes a list of addresses of one ELF file twice in one process: cold (the file's symbols
 * and DWARF loaded on the way) and warm (everything loaded). Prints addresses per second for
 * both, frames found, and the memory the symbolizer holds for the file.
 * usage: symbolize_bench FILE < addresses (hex, one per line)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "../symbolizer/elf_file.h"
#include "../symbolizer/symbolizer.h"

int main(int argc, char **argv)
{
	struct symbolizer_opts o = {.sz = sizeof(o), .no_debuginfod = true};
	struct symbolizer *s = symbolizer__new(&o);
	struct sym_result *r = malloc(sizeof(*r));
	struct symbolizer_stats st;
	uint64_t *addrs = NULL, t0, cold, warm, rss0, rss1, peak, frames = 0, named = 0;
	size_t n = 0, cap = 0;
	char line[64];
	struct elf_info info;
	struct sym_module *m;
	int fd;

	if (argc != 2 || !s || !r)
		return 2;
	while (fgets(line, sizeof(line), stdin)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			addrs = realloc(addrs, cap * sizeof(*addrs));
		}
		addrs[n++] = strtoull(line, NULL, 16);
	}
	proc_self_rss(&rss0, &peak);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elf_info__read(fd, &info))
		return 3;
	t0 = clock_ns(CLOCK_MONOTONIC);
	m = symbolizer__module(s, info.build_id, info.build_id_len, argv[1], fd);
	close(fd);
	for (size_t i = 0; i < n; i++) {
		int err = symbolizer__lookup(s, m, addrs[i], r);

		if (err == -EAGAIN) {
			symbolizer__wait(s, 60000);
			err = symbolizer__lookup(s, m, addrs[i], r);
		}
		if (err == 0) {
			named++;
			frames += r->nframes;
		}
	}
	cold = clock_ns(CLOCK_MONOTONIC) - t0;
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (size_t i = 0; i < n; i++)
		symbolizer__lookup(s, m, addrs[i], r);
	warm = clock_ns(CLOCK_MONOTONIC) - t0;
	proc_self_rss(&rss1, &peak);
	symbolizer__stats(s, &st);
	printf("%zu addresses, %llu named, %.2f frames each (inline chains)\n", n,
	       (unsigned long long)named, named ? (double)frames / named : 0);
	printf("cold: %.0f addresses/s (%.3f s, loading included)\n", n / (cold / 1e9), cold / 1e9);
	printf("warm: %.0f addresses/s (%.3f s)\n", n / (warm / 1e9), warm / 1e9);
	printf("memory: %.1f MiB held for the file (debug sections mapped), RSS +%.1f MiB\n",
	       st.bytes / 1048576.0, (double)(rss1 - rss0) / 1048576.0);
	free(addrs);
	free(r);
	symbolizer__free(s);
	return 0;
}
