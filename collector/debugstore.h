/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Debug files in the object store, beside the blocks, by GNU build ID (docs/symbolization.md):
 *
 *   .debuginfo/<BUILD-ID>.elf    the file itself (a debug file, or a whole binary: a Go binary
 *                                with its .gopclntab, an unstripped one)
 *   .debuginfo/<BUILD-ID>.json   what it is: {"name", "size", "source", "added", "symbols"}
 *
 * A leading '.' is never a tenant's name, so these keys never meet a tenant's blocks. One
 * object per build ID whoever stores it and however often: a second PUT of the same build ID
 * writes the same bytes (an ELF file is identified by its build ID), so uploads race safely.
 * The .elf is written before its .json; readers go by the .elf.
 *
 * Uploads are checked before anything is stored (debugstore_check): an ELF file whose build ID
 * is the one claimed, with symbols, DWARF or a Go line table, every section inside the file,
 * and compressed sections that claim no more than a limit once inflated.
 */
#ifndef SONDE_DEBUGSTORE_H
#define SONDE_DEBUGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "objstore.h"
#include "../common/buf.h"

#define DEBUGSTORE_PREFIX ".debuginfo/"
#define DEBUGSTORE_MAX_BUILD_ID 64 /* bytes: a GNU build ID is 20 (SHA-1) or 16 (MD5) */
#define DEBUGSTORE_MAX_HEX (2 * DEBUGSTORE_MAX_BUILD_ID + 1)
#define DEBUGSTORE_DEFAULT_MAX_SIZE (512ULL << 20) /* bytes, an upload after inflation */

/* What a checked file holds. */
struct debugstore_facts {
	char build_id[DEBUGSTORE_MAX_HEX]; /* lowercase hex */
	bool symtab, dwarf, gopclntab, dynsym;
	uint64_t inflated; /* what its compressed sections claim to inflate to, in bytes */
};

/*
 * Whether hex is a build ID as the API takes it: 2 to 128 hex digits, an even number.
 * Writes the lowercase form into out (DEBUGSTORE_MAX_HEX bytes).
 */
bool debugstore_build_id_valid(const char *hex, char *out);

/*
 * Checks a file offered for build ID want_hex (NULL: whatever its own is): 0 with *ret filled,
 * or an HTTP status (413 when its compressed sections would inflate past max_inflated, 422 for
 * anything else) with the reason in msg. Never reads outside image[0..size).
 */
unsigned int debugstore_check(const void *image, size_t size, const char *want_hex,
			      uint64_t max_inflated, struct debugstore_facts *ret, char *msg,
			      size_t msg_size);

/* Keys of a build ID's objects (OBJSTORE_MAX_KEY bytes). */
void debugstore_key(const char *hex, char *key, size_t size);
void debugstore_meta_key(const char *hex, char *key, size_t size);

/*
 * Stores a checked file and its description (name: the file's name as uploaded, for people;
 * source: "upload" or "debuginfod"). Returns 0 or -errno of the store.
 */
int debugstore_put(struct objstore *s, const struct debugstore_facts *f, const void *image,
		   size_t size, const char *name, const char *source);
/* Deletes both objects of a build ID. 0 (also when there was none) or -errno. */
int debugstore_delete(struct objstore *s, const char *hex);

/* One stored build ID, as listed. */
struct debugstore_entry {
	char build_id[DEBUGSTORE_MAX_HEX];
	uint64_t size;
};
typedef int (*debugstore_list_fn)(void *ctx, const struct debugstore_entry *e);
/* Calls fn for every stored file, in build ID order. fn's non-zero return stops it. 0 or -errno. */
int debugstore_list(struct objstore *s, debugstore_list_fn fn, void *ctx);

/* Appends the .json description of a build ID to out. 0, -ENOENT, or -errno. */
int debugstore_meta(struct objstore *s, const char *hex, struct buf *out);

#endif
