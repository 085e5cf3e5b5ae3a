/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent does with each ring-buffer record: a process event updates the process table;
 * a sample has its user stack unwound (DWARF, over the stack copy it carries) or taken from the
 * in-kernel frame-pointer walk, and is added to the profile with its process's label set.
 *
 * A sample whose unwind table is still being built is parked (a copy, with the mappings and
 * labels it was taken under, so a later exec or exit does not change how it resolves) and tried
 * again once tables are ready; parked samples take at most max_parked_bytes, and one that does
 * not fit is kept with its stack marked pending. The pipeline owns the parked list.
 *
 * Single-threaded: every function runs on the thread that drains the ring buffer.
 */
#ifndef SONDE_PIPELINE_H
#define SONDE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proc.h"
#include "profile.h"
#include "unwind.h"

struct pipeline_opts {
	struct proc_table *procs;    /* not owned */
	struct unwind_cache *unwind; /* not owned */
	struct profile *profile;     /* not owned; samples are added to it */
	uint64_t max_parked_bytes;   /* bound on the records parked at once */
};

struct pipeline_stats {
	uint64_t unwind_status[UNWIND_NSTATUS]; /* samples by how their user stack unwound */
	uint64_t samples_kept;			/* added to the profile */
	uint64_t samples_dropped;		/* the profile had no memory for them */
	uint64_t parked_dropped;  /* pending samples not parked: over max_parked_bytes, or OOM */
	uint64_t relabel_dropped; /* samples of processes a relabel rule drops */
	uint64_t bad_records;	  /* malformed ring-buffer records */
	uint64_t user_frames;
	uint64_t unwind_calls;
	uint64_t unwind_ns;	   /* time spent in the unwinder */
	uint64_t stack_copy_bytes; /* user stack bytes the samples carried */
	uint64_t parked;	   /* samples parked now */
	uint64_t parked_bytes;	   /* their records' bytes */
};

struct pipeline;

/* Returns NULL when out of memory. */
struct pipeline *pipeline__new(const struct pipeline_opts *opts);
/* Frees the parked samples without adding them (pipeline__retry_parked(p, true) first to keep
 * them). NULL-safe. */
void pipeline__free(struct pipeline *p);

/*
 * Handles one ring-buffer record (a struct sonde_rec_hdr and what its type says follows);
 * malformed ones are counted. The sampler's callback: ctx is the pipeline. Returns 0.
 */
int pipeline__handle_record(void *ctx, const void *data, size_t size);
/*
 * Tries the parked samples again (call when unwind tables were built); one still pending is
 * parked again. With final, none is: it is added with the frames it has, marked pending.
 */
void pipeline__retry_parked(struct pipeline *p, bool final);
bool pipeline__has_parked(const struct pipeline *p);
void pipeline__stats(const struct pipeline *p, struct pipeline_stats *ret);

#endif
