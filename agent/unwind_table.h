/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unwind tables: for one ELF file, the CFI rule at every address, built once per build ID off
 * the hot path (a worker thread), shared by every process that maps the file, and kept in an
 * LRU cache bounded by bytes. Go binaries also get their pc-line table (stack deltas).
 *
 * A table is a sorted array of 32-bit address offsets and a parallel array of 16-bit indices
 * into the file's distinct rules (a few thousand at most), so a row costs 6 bytes.
 *
 * Threading: the cache is used from one thread (the agent's); only building runs on the worker.
 */
#ifndef SONDE_UNWIND_TABLE_H
#define SONDE_UNWIND_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "../common/bgcache.h"
#include "../symbolizer/gopclntab.h"

#define UNWIND_NO_RULE 0xffff

struct unwind_table {
	uint64_t base; /* ELF address of offset 0 */
	uint32_t nrows;
	uint32_t *pcs;	    /* row start, as offset from base; sorted */
	uint16_t *rule_idx; /* UNWIND_NO_RULE where no FDE covers the range */
	struct cfi_rule *rules;
	uint32_t nrules;
	struct gopclntab *go; /* Go binaries: stack deltas and names, or NULL */
	size_t bytes;
	struct cfi_stats cfi;
	bool from_debug_frame;
};

/* Builds the table of an ELF file. Returns 0 (even with no CFI: then nrows is 0) or -errno. */
int unwind_table__build(int fd, struct unwind_table **ret);
/* The rule for addr, or NULL when no CFI covers it. */
const struct cfi_rule *unwind_table__lookup(const struct unwind_table *t, uint64_t addr);
void unwind_table__free(struct unwind_table *t);

enum unwind_entry_state {
	UNWIND_ENTRY_QUEUED = BGCACHE_QUEUED, /* waiting for (or in) the worker */
	UNWIND_ENTRY_READY = BGCACHE_READY,
	UNWIND_ENTRY_EVICTED = BGCACHE_EVICTED, /* dropped for memory: rebuilt on next use */
	UNWIND_ENTRY_FAILED = BGCACHE_FAILED,
};

struct unwind_entry;
struct unwind_cache;

#define unwind_cache_stats bgcache_stats

/* max_bytes: memory for tables (0 = 512 MiB). Starts the worker. NULL with errno on failure. */
struct unwind_cache *unwind_cache__new(uint64_t max_bytes);
/* Stops the worker and frees everything. NULL-safe. */
void unwind_cache__free(struct unwind_cache *c);
/*
 * The entry for the file with this key (build ID hash, or device/inode), taking a reference;
 * a new entry is queued for building from fd (duplicated). NULL when out of memory.
 */
struct unwind_entry *unwind_cache__get(struct unwind_cache *c, uint64_t key, int fd);
void unwind_cache__put(struct unwind_cache *c, struct unwind_entry *e);
/*
 * The entry's table when ready (marking it recently used), or NULL with *ret_state saying why:
 * QUEUED (try again later; an evicted table is queued for rebuilding) or FAILED.
 */
const struct unwind_table *unwind_cache__table(struct unwind_cache *c, struct unwind_entry *e,
					       enum unwind_entry_state *ret_state);
/* Takes in finished builds and evicts over budget. Returns how many finished. */
int unwind_cache__collect(struct unwind_cache *c);
/* Waits up to timeout_ms for the worker's queue to drain, collecting. Returns 0 or -ETIMEDOUT. */
int unwind_cache__wait(struct unwind_cache *c, int timeout_ms);
void unwind_cache__stats(const struct unwind_cache *c, struct unwind_cache_stats *ret);

#endif
