/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compaction, in levels: level-0 blocks (written by ingest) are merged per window of the first
 * level (10 min by default), those per window of the next (1 h), and so on (1 d), each level
 * with its own time resolution. Every merge of a window takes all the blocks a reader sees in
 * it (view.h), so any number of compactors may run on one store at once:
 *
 *   - an open first-level window: once it has l0_threshold level-0 blocks, they are merged;
 *   - a window that ended delay ago: all its visible blocks of lower levels (and earlier
 *     merges of it) are merged into one.
 *
 * A merged block names its inputs ("sources"); readers skip them from the moment it is
 * stored. Nothing a reader might still need is deleted: a covered block goes once the block
 * covering it is grace_ns old (a merge that would store its output later than grace_ns / 2
 * after listing gives up), its own sources first; blocks past the tenant's retention go
 * grace_ns after they expired. A crash at any instant leaves a store readers count exactly.
 */
#ifndef SONDE_COMPACTOR_H
#define SONDE_COMPACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "objstore.h"

#define COMPACT_MAX_LEVELS 8
#define COMPACT_DEFAULT_LEVELS "10m,1h:1s,1d:10s"

struct compact_level {
	uint64_t window_ns; /* blocks of this level each hold one such window (aligned to 0) */
	uint64_t unit_ns;   /* time resolution of its samples; 0 = the opts' time_unit_ns */
};

struct compactor_opts {
	struct objstore *store;
	struct compact_level levels[COMPACT_MAX_LEVELS]; /* level n is levels[n - 1] */
	uint32_t nlevels;				 /* 0 = COMPACT_DEFAULT_LEVELS */
	uint64_t delay_ns;
	uint64_t interval_ns;  /* 0 = 30 s */
	uint64_t time_unit_ns; /* 0 = 1 ms: the first level's resolution unless set there */
	uint32_t l0_threshold; /* 0 = 16 */
	int zstd_level;	       /* 0 = 9 */
	/*
	 * How long a replaced or expired block stays after it stopped counting, so that a query
	 * or a slow merge that listed it can still read it. 0 = delete at once (safe only when
	 * one compactor runs and no query is in flight: tests and `sonde compact`).
	 */
	uint64_t grace_ns;
	bool no_retention; /* delete nothing past retention (retention.h) */
};

/*
 * Parses "WINDOW[:RESOLUTION],..." (for example "10m,1h:1s,1d:10s") into o->levels. Windows
 * must grow, each a multiple of the one before; resolutions are 1 ns .. 60 s. Returns 0 or
 * -EINVAL with a reason in err.
 */
int compactor_parse_levels(const char *spec, struct compactor_opts *o, char *err, size_t err_size);

struct compactor_stats {
	uint64_t passes;
	uint64_t compactions; /* blocks written */
	uint64_t blocks_in;   /* blocks merged */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t deleted; /* replaced blocks removed */
	uint64_t expired; /* blocks removed past retention */
	uint64_t expired_bytes;
	uint64_t abandoned; /* merges given up because they outlived grace_ns / 2 */
	uint64_t errors;
	uint64_t ns;
};

struct compactor;

/* Starts a thread that runs a pass every interval. NULL on failure (logged). */
struct compactor *compactor__new(const struct compactor_opts *opts);
void compactor__stats(struct compactor *c, struct compactor_stats *ret);
void compactor__free(struct compactor *c);
/* Merges running now in this process. */
unsigned int compactor_merges_running(void);

/*
 * One pass over every tenant (or one), as the thread runs it; force treats every window as
 * ended (everything mergeable is merged now). Adds to *stats. Returns 0, or -errno of the first
 * failure (logged; the pass goes on with other windows).
 */
int compactor_pass(const struct compactor_opts *opts, const char *tenant, bool force,
		   struct compactor_stats *stats);

/*
 * Deletes tenant's samples from before before_ns (Unix ns), of service only when not NULL:
 * blocks holding nothing else are deleted; a counted block holding some is replaced by one
 * without them (the replaced block goes with the next passes' cleanup, after the grace).
 * Returns 0 or -errno (logged); *ret_rewritten: blocks replaced.
 */
int compactor_delete(const struct compactor_opts *opts, const char *tenant, const char *service,
		     uint64_t before_ns, struct compactor_stats *stats, uint64_t *ret_rewritten);

#endif
