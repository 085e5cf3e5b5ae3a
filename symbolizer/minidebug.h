/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MiniDebugInfo: an xz-compressed ELF file in the .gnu_debugdata section, holding the
 * .symtab a stripped binary dropped (Fedora and others ship binaries this way).
 */
#ifndef SONDE_MINIDEBUG_H
#define SONDE_MINIDEBUG_H

#include "elf_file.h"

/*
 * Loads the function symbols of fd's MiniDebugInfo. Returns 0, -ENOENT without
 * .gnu_debugdata, -EINVAL/-EFBIG for bad or oversized data.
 */
int minidebug_symtab(int fd, struct elf_symtab *ret);

#endif
