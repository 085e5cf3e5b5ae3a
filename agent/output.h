/* SPDX-License-Identifier: Apache-2.0 */
/* One-shot profile files: folded stacks and gzipped pprof. */
#ifndef SONDE_OUTPUT_H
#define SONDE_OUTPUT_H

#include <stdint.h>

#include "frames.h"
#include "options.h"
#include "profile.h"
#include "../common/buf.h"
#include "../common/gzip.h"

struct output_meta {
	uint64_t start_unix_ns; /* when the profile began (wall clock) */
	uint64_t duration_ns;
	uint64_t period_ns; /* CPU time per sample: 1e9 / frequency */
};

/*
 * Folded stacks (PROCESS;outermost;...;leaf COUNT), one line per distinct stack, sorted.
 * Kernel frames end in _[k]; inlined functions are frames of their own; unsymbolized frames are
 * [module+0xADDR]. Appends to out. Returns 0 or -ENOMEM.
 */
int output_folded(struct profile *p, const struct frame_syms *fs, struct buf *out);
/* A gzipped pprof profile.proto. Appends to out. Returns 0 or -errno. */
int output_pprof(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct buf *out);

#endif
