/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's profile as the shared profile model (profile/svcdata.h), and the one-shot and
 * --output files rendered from it by the shared renderers (profile/folded.h, profile/pprof.h),
 * so they say what a collector's export of the same samples says.
 */
#ifndef SONDE_OUTPUT_H
#define SONDE_OUTPUT_H

#include <stdint.h>

#include "frames.h"
#include "proc.h"
#include "profile.h"
#include "../common/buf.h"
#include "../profile/svcdata.h"

struct output_meta {
	uint64_t start_unix_ns;	     /* when the profile began (wall clock) */
	uint64_t period_ns;	     /* CPU time per sample: 1e9 / frequency */
	int64_t mono_to_unix_ns;     /* add to a sample's CLOCK_MONOTONIC time to get unix time */
	const char *kernel_build_id; /* hex, or "" */
};

/*
 * Adds the profile (frames named by fs) to sd (indexed), as the collector builds it from the
 * agent's OTLP: a location per frame (lines when named, else its mapping and address), type
 * samples/count every period of cpu/nanoseconds, series labelled with the process's labels but
 * service.name, thread.name and thread.id (process.executable.name, when the process has none,
 * is its command name), a row per sample timestamp (or one at start_unix_ns). 0 or -ENOMEM.
 */
int output_model(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct svcdata *sd);

/* Folded stacks of the profile (folded_render of its model). Appends. 0 or -ENOMEM. */
int output_folded(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		  const struct output_meta *meta, struct buf *out);
/* A gzipped pprof profile (pprof_encode of its model). Appends. 0 or -errno. */
int output_pprof(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct buf *out);

#endif
