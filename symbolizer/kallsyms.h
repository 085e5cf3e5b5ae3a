/* SPDX-License-Identifier: Apache-2.0 */
/* Kernel symbols from /proc/kallsyms (vmlinux and modules), and the kernel's build ID. */
#ifndef SONDE_KALLSYMS_H
#define SONDE_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

struct kallsyms;

/*
 * Loads text symbols from path (normally "/proc/kallsyms"). Returns NULL and sets errno on
 * failure; EPERM when every address reads as zero (kptr_restrict without privileges).
 * The caller owns the result (kallsyms__free).
 */
struct kallsyms *kallsyms__load(const char *path);
/*
 * The function containing addr: its name, the module ("" for vmlinux) and the offset into the
 * function. Returns 0 or -ENOENT. The strings live as long as ks.
 */
int kallsyms__find(const struct kallsyms *ks, uint64_t addr, const char **ret_name,
		   const char **ret_module, uint64_t *ret_offset);
size_t kallsyms__count(const struct kallsyms *ks);
size_t kallsyms__bytes(const struct kallsyms *ks);
void kallsyms__free(struct kallsyms *ks);

/* The running kernel's GNU build ID as lowercase hex, from /sys/kernel/notes. 0 or -errno. */
int kernel_build_id(char *out, size_t size);

#endif
