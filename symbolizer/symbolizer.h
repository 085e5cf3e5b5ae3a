/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libsonde-symbolizer: (module, address) -> frames.
 *
 * A module is an ELF file known by its GNU build ID (or, lacking one, by its path). Modules are
 * registered once and shared: a binary mapped by a thousand processes is parsed once. Addresses
 * are the addresses the file was linked at (ELF virtual addresses), not process addresses.
 *
 * Sources, in order: the file's own .symtab/.dynsym and DWARF; separate debug info found by build
 * ID or .gnu_debuglink; debuginfod (DEBUGINFOD_URLS) when those lack DWARF; MiniDebugInfo
 * (.gnu_debugdata) when there is no .symtab; Go's .gopclntab. Names are demangled (C++, Rust).
 *
 * Loading a module (file reads, network) happens on the symbolizer's worker thread, never in
 * a lookup: a lookup of a module still loading returns -EAGAIN and the caller keeps the frame
 * unsymbolized for now. Loaded data lives in a cache bounded by bytes (LRU). A build ID
 * debuginfod did not have is not asked for again before a negative TTL passes.
 *
 * The library keeps no global state and never logs; errors are negative errno values.
 * Calls are not thread-safe: make them from one thread (the worker is internal).
 */
#ifndef SONDE_SYMBOLIZER_H
#define SONDE_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;
struct sym_module;
struct kallsyms;

struct symbolizer_opts {
	size_t sz;		   /* sizeof(struct symbolizer_opts), for forward compatibility */
	uint64_t cache_bytes;	   /* memory for loaded symbol data; 0 = 256 MiB */
	const char *kallsyms_path; /* NULL = /proc/kallsyms */
	const char *debug_dirs;	   /* ':'-separated debug directories; NULL = /usr/lib/debug */
	uint32_t debuginfod_timeout_ms; /* per fetch; 0 = 10 s */
	uint32_t negative_ttl_s; /* a failed debuginfod fetch is retried after this; 0 = 600 */
	bool no_debuginfod;	 /* never ask debuginfod, even with DEBUGINFOD_URLS set */
	uint32_t max_fds;	 /* files kept open for reading later; 0 = 4096 */
	/*
	 * Kernel symbols loaded by the caller (kallsyms__load), taken over by the symbolizer even
	 * when symbolizer__new fails; NULL = loaded from kallsyms_path on first use. Lets a caller
	 * read them while it holds CAP_SYSLOG and drop it afterwards.
	 */
	struct kallsyms *kallsyms;
};

#define SYM_MAX_FRAMES 16 /* one function plus up to 15 levels of inlining */
#define SYM_STRINGS 8192  /* bytes of names per lookup result */

struct sym_frame {
	const char *name;     /* display name (demangled); never NULL when the result has frames */
	const char *raw_name; /* the name as stored in the file (mangled), or == name */
	const char *file;     /* source file, or NULL */
	uint32_t line;	      /* 0 = unknown */
	uint32_t column;
	bool inlined; /* inlined into the next frame */
};

/* Where a module's symbols came from (struct sym_result.sources). */
enum sym_source {
	SYM_SRC_SYMTAB = 1u << 0,
	SYM_SRC_DYNSYM = 1u << 1,
	SYM_SRC_DWARF = 1u << 2,      /* the file's own DWARF */
	SYM_SRC_DEBUG_FILE = 1u << 3, /* a local separate debug file */
	SYM_SRC_DEBUGINFOD = 1u << 4,
	SYM_SRC_MINIDEBUGINFO = 1u << 5,
	SYM_SRC_GOPCLNTAB = 1u << 6,
	SYM_SRC_KALLSYMS = 1u << 7,
};

struct sym_result {
	uint32_t nframes; /* innermost (inlined callee) first, the containing function last */
	struct sym_frame frames[SYM_MAX_FRAMES];
	const char *module; /* the module's file name, for display */
	uint32_t sources;   /* enum sym_source: what the module's symbols were loaded from */
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
struct sym_module *symbolizer__module_mem(struct symbolizer *s, const char *name, const void *image,
					  size_t size);
/*
 * A module known only by its build ID (no file at hand: the collector, `sonde symbolize
 * --build-id`): its symbols come from the debug directories or debuginfod.
 */
struct sym_module *symbolizer__module_by_build_id(struct symbolizer *s, const uint8_t *build_id,
						  size_t build_id_len);

/*
 * Symbolizes addr in m. Returns 0 with ret->nframes >= 1, -EAGAIN while the module is still
 * loading (in the background), -ENOENT when the address has no symbol, -ENODATA when nothing is
 * known for a module registered by build ID, or another negative errno when the module cannot
 * be read.
 */
int symbolizer__lookup(struct symbolizer *s, struct sym_module *m, uint64_t addr,
		       struct sym_result *ret);
/*
 * Starts loading m in the background if it is not loaded (modules load on first use: a module
 * nobody looks up costs nothing).
 */
void symbolizer__prefetch(struct symbolizer *s, struct sym_module *m);
/*
 * Loads m again from its file (which was replaced, or removed and put back): its current
 * symbols serve lookups until the new ones are in, and a failed load is tried again.
 */
void symbolizer__reload(struct symbolizer *s, struct sym_module *m);
/* Waits up to timeout_ms for modules still loading. Returns 0 or -ETIMEDOUT. */
int symbolizer__wait(struct symbolizer *s, int timeout_ms);
/* Symbolizes a kernel address from kallsyms. Returns 0, -ENOENT, or -errno loading kallsyms. */
int symbolizer__lookup_kernel(struct symbolizer *s, uint64_t addr, struct sym_result *ret);

/* The module's display name (file base name). */
const char *sym_module__name(const struct sym_module *m);
/* The running kernel's build ID as hex ("" when unknown). */
const char *symbolizer__kernel_build_id(struct symbolizer *s);

struct symbolizer_stats {
	uint64_t modules;
	uint64_t modules_loaded;
	uint64_t bytes; /* memory held by loaded symbol data */
	uint64_t lookups;
	uint64_t misses;
	uint64_t pending; /* lookups answered -EAGAIN: still loading */
	uint64_t evictions;
	uint64_t loads;
	uint64_t load_ns;
	uint64_t debug_files; /* separate debug files found locally */
	uint64_t debuginfod_requests;
	uint64_t debuginfod_found;
	uint64_t debuginfod_failed;
	uint64_t debuginfod_skipped; /* not asked again: negatively cached */
};
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *ret);

#endif
