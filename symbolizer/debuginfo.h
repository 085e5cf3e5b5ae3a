/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a stripped file's debug information lives: a local debug directory by build ID
 * (/usr/lib/debug/.build-id/xx/rest.debug), the file named by .gnu_debuglink (CRC-checked), or
 * a debuginfod server (libdebuginfod, DEBUGINFOD_URLS, its cache), with a deadline and a
 * negative cache so a build ID the servers lack is not asked for again for a while.
 */
#ifndef SONDE_DEBUGINFO_H
#define SONDE_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_file.h"

struct debuginfo_opts {
	const char *debug_dirs;	 /* ':'-separated; NULL = /usr/lib/debug */
	uint32_t timeout_ms;	 /* per debuginfod fetch; 0 = 10000 */
	uint32_t negative_ttl_s; /* 0 = 600 */
	bool no_debuginfod;
};

struct debuginfo_stats {
	uint64_t local_found;
	uint64_t debuginfod_requests;
	uint64_t debuginfod_found;
	uint64_t debuginfod_failed;
	uint64_t debuginfod_skipped; /* negatively cached */
};

struct debuginfo;

struct debuginfo *debuginfo__new(const struct debuginfo_opts *opts);
void debuginfo__free(struct debuginfo *d);
/*
 * A local debug file for the file at path with these ELF facts. Returns an fd or -ENOENT.
 * Safe to call from one thread at a time (the symbolizer's worker).
 */
int debuginfo__find_local(struct debuginfo *d, const char *path, const struct elf_info *info);
/*
 * Fetches the debug file from debuginfod. Returns an fd, -ENOSYS when no server is configured,
 * -EAGAIN when negatively cached, or the fetch's error (-ENOENT, -ETIMEDOUT, -ECONNREFUSED...).
 */
int debuginfo__fetch(struct debuginfo *d, const uint8_t *build_id, size_t len);
/* Fetches the file itself (not its debug info) by build ID: for symbolizing without the file. */
int debuginfo__fetch_executable(struct debuginfo *d, const uint8_t *build_id, size_t len);
bool debuginfo__enabled(const struct debuginfo *d);
void debuginfo__stats(const struct debuginfo *d, struct debuginfo_stats *ret);

#endif
