/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compaction: the blocks of a time window (--block-duration) are merged into one, so symbols,
 * stacks and series are stored once per service and window instead of once per segment.
 *
 *   - an open window: once it has l0_threshold level-0 blocks, those are merged (level 1);
 *   - a window that ended delay ago: all its blocks are merged into one, for good.
 *
 * A merged block names its inputs ("sources"); readers skip the inputs from the moment it is
 * stored, and the inputs are deleted after (or on a later pass, after a crash). Only one
 * compactor may run per storage.
 */
#ifndef SONDE_COMPACTOR_H
#define SONDE_COMPACTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "objstore.h"

struct compactor_opts {
	struct objstore *store;
	uint64_t block_duration_ns; /* 0 = 10 min */
	uint64_t delay_ns;
	uint64_t interval_ns;	  /* 0 = 30 s */
	uint64_t time_unit_ns;	  /* 0 = 1 ms */
	uint32_t l0_threshold;	  /* 0 = 16 */
	uint64_t max_input_bytes; /* one merge reads at most this much; 0 = 512 MiB */
	int zstd_level;		  /* 0 = 9 */
};

struct compactor_stats {
	uint64_t passes;
	uint64_t compactions; /* blocks written */
	uint64_t blocks_in;   /* blocks merged */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t deleted;
	uint64_t errors;
	uint64_t ns;
};

struct compactor;

/* Starts a thread that runs a pass every interval. NULL on failure (logged). */
struct compactor *compactor__new(const struct compactor_opts *opts);
void compactor__stats(struct compactor *c, struct compactor_stats *ret);
void compactor__free(struct compactor *c);

/*
 * One pass over every tenant (or one), as the thread runs it; force treats every window as
 * ended (everything mergeable is merged now). Adds to *stats. Returns 0, or -errno of the first
 * failure (logged; the pass goes on with other windows).
 */
int compactor_pass(const struct compactor_opts *opts, const char *tenant, bool force,
		   struct compactor_stats *stats);

#endif
