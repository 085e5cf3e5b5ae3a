/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which blocks a reader counts: the visible set of a tenant's store, decided from one listing
 * and the footers of the compacted blocks alone, with no coordination between the writers.
 *
 * Any number of compactors may merge the same blocks at once, so the store may hold several
 * outputs that name overlapping sources. A block's closure is its id and, recursively, the ids
 * its sources name (whether or not those are still stored). The roots (blocks no stored block
 * names) are taken in a fixed priority order (level, then profiles, then age, then id); a
 * block is selected when its closure shares no id with what is already selected, covered when
 * its id is in a selected closure, and rejected otherwise; a rejected block's sources become
 * candidates in turn. Every stored block's samples are thus counted exactly once, as long as
 * no block was deleted while a rejected output still needed it: the compactor deletes only
 * covered blocks, only after a grace period no merge outlives (docs/storage.md).
 */
#ifndef SONDE_VIEW_H
#define SONDE_VIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "reader.h"

enum view_state {
	VIEW_SELECTED, /* counted */
	VIEW_COVERED,  /* its samples are in a selected block */
	VIEW_REJECTED, /* overlaps a selected block only in part: its sources count instead */
	VIEW_EXPIRED,  /* past the tenant's retention */
	VIEW_GONE,     /* deleted since the listing */
};

struct view_block {
	struct block_ref ref;
	bool has_info; /* bi holds the footer (every block above level 0) */
	struct block_info bi;
	uint64_t profiles; /* sum over its services, from the footer */
	enum view_state state;
	int64_t cover; /* COVERED: the index of the selected block holding it */
	/* REJECTED: sources neither stored nor in a selected block (their samples count nowhere) */
	uint32_t uncovered;
};

struct store_view {
	VEC(struct view_block) b; /* in key order */
	uint64_t selected, covered, rejected, expired;
	struct hmap index; /* id key -> index in b + 1, for view_find */
	bool indexed;	   /* index holds every block (reader_view) */
};

/*
 * The view of tenant's blocks overlapping [from_ms, to_ms]: blocks whose samples all end
 * before floor_ms are EXPIRED (never read). Returns 0 or -errno with a reason in err.
 */
int reader_view(struct objstore *s, const char *tenant, uint64_t from_ms, uint64_t to_ms,
		uint64_t floor_ms, struct store_view *v, char *err, size_t err_size);
void store_view_free(struct store_view *v);

/*
 * The decision itself, on blocks whose ref, has_info, bi and profiles are set (EXPIRED and GONE
 * ones are left as they are). Sets state and cover. Returns 0 or -ENOMEM.
 */
int view_resolve(struct view_block *b, size_t n);

/* The index of the block whose id is id, or -1. */
int64_t view_find(const struct store_view *v, const char *id);

#endif
