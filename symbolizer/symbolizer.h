/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsonde-symbolizer: (module, address) -> frames.
 *
 * A module is an ELF file known by its GNU build ID (or, lacking one, by its path). Modules are
 * registered once and shared: a binary mapped by a thousand processes is parsed once. Addresses
 * are the addresses the file was linked at (ELF virtual addresses), not process addresses.
 *
 * The library keeps no global state and never logs; errors are negative errno values.
 * A symbolizer is not thread-safe: call it from one thread.
 */
#ifndef SONDE_SYMBOLIZER_H
#define SONDE_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;
struct sym_module;

struct symbolizer_opts {
	size_t sz; /* sizeof(struct symbolizer_opts), for forward compatibility */
	uint64_t cache_bytes; /* memory for loaded symbol data; 0 = 256 MiB */
	const char *kallsyms_path; /* NULL = /proc/kallsyms */
};

#define SYM_MAX_FRAMES 16 /* one function plus up to 15 levels of inlining */
#define SYM_STRINGS 8192 /* bytes of names per lookup result */

struct sym_frame {
	const char *name; /* display name (demangled); never NULL when the result has frames */
	const char *raw_name; /* the name as stored in the file (mangled), or == name */
	const char *file; /* source file, or NULL */
	uint32_t line; /* 0 = unknown */
	uint32_t column;
};

struct sym_result {
	uint32_t nframes; /* innermost (inlined callee) first, the containing function last */
	struct sym_frame frames[SYM_MAX_FRAMES];
	const char *module; /* the module's file name, for display */
	uint32_t strings_len;
	char strings[SYM_STRINGS];
};

/* Returns NULL and sets errno on failure. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);
void symbolizer__free(struct symbolizer *s);

/*
 * Registers (or finds) a module. build_id may be NULL/0; path is the file name used for display
 * and for opening when fd < 0; fd, when >= 0, is duplicated and the module reads through it (a
 * file in another mount namespace, or deleted, stays readable). Returns a module owned by s, or
 * NULL with errno set.
 */
struct sym_module *symbolizer__module(struct symbolizer *s, const uint8_t *build_id,
				      size_t build_id_len, const char *path, int fd);
/* A module for an ELF image in memory (the vDSO); the image is copied. */
struct sym_module *symbolizer__module_mem(struct symbolizer *s, const char *name,
					  const void *image, size_t size);

/*
 * Symbolizes addr in m. Returns 0 with ret->nframes >= 1, -ENOENT when the address has no
 * symbol, or another negative errno when the module cannot be read.
 */
int symbolizer__lookup(struct symbolizer *s, struct sym_module *m, uint64_t addr,
		       struct sym_result *ret);
/* Symbolizes a kernel address from kallsyms. Returns 0, -ENOENT, or -errno loading kallsyms. */
int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *ret);

/* The module's display name (file base name). */
const char *sym_module__name(const struct sym_module *m);

struct symbolizer_stats {
	uint64_t modules;
	uint64_t modules_loaded;
	uint64_t bytes; /* memory held by loaded symbol data */
	uint64_t lookups;
	uint64_t misses;
	uint64_t evictions;
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret);

#endif
