/* SPDX-License-Identifier: Apache-2.0 */
/*
 * This test program as the loader mapped it: its load bias and build ID (read from the program
 * headers in memory, an independent path to the bytes the symbolizer reads from the file), and
 * a marker function to look up.
 */
#ifndef SONDE_SELF_ELF_H
#define SONDE_SELF_ELF_H

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

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

#endif
