/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An interval's profile as one OTLP ExportProfilesServiceRequest (v1development, v1.10+ wire
 * layout): one shared dictionary (every table starting with its zero entry, each entry stored
 * once) and one ResourceProfiles per process.
 */
#ifndef SONDE_OTLP_H
#define SONDE_OTLP_H

#include <stdbool.h>
#include <stdint.h>

#include "frames.h"
#include "proc.h"
#include "profile.h"
#include "../common/buf.h"

struct otlp_meta {
	uint64_t start_unix_ns; /* the interval's start (wall clock) */
	uint64_t duration_ns;
	uint64_t period_ns;	     /* 1e9 / frequency */
	int64_t mono_to_unix_ns;     /* add to a sample's CLOCK_MONOTONIC time to get unix time */
	bool raw_user_frames;	     /* --symbolize=collector: native user frames without lines */
	const char *kernel_build_id; /* hex, or "" */
	const char *agent_version;
};

struct otlp_stats {
	uint32_t resources; /* processes */
	uint64_t samples;
	uint32_t locations;
	uint32_t functions;
	uint32_t strings;
	uint32_t stacks;
};

/*
 * Encodes the profile (frames named by fs) and appends the serialized request to out.
 * Returns 0 or -ENOMEM.
 */
int otlp_encode(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		const struct otlp_meta *meta, struct buf *out, struct otlp_stats *ret_stats);

#endif
